"""What a handshake is told about the configuration it runs under, below the context that sets
it: the option bits and limits the state machines test. ``cytls.context`` (the layer above)
re-exports them for applications."""

from __future__ import annotations

# OpenSSL's SSL_OP_ALLOW_NO_DHE_KEX (the ssl module does not export it): allow resumption with
# psk_ke, the PSK alone without a fresh (EC)DHE exchange, which gives up forward secrecy
# (RFC 8446 §2.2). A client offers psk_ke, a server picks it whenever the client offers it.
OP_ALLOW_NO_DHE_KEX = 0x400

# 0-RTT is accepted only when the ticket age the client claims is within this many seconds of
# the server's own figure (RFC 8446 §8.3).
EARLY_DATA_AGE_WINDOW = 10.0

"""What a handshake is told about the configuration it runs under, below the context that sets
it: the frozen per-connection :class:`HandshakePolicy`, and the option bits and limits the state
machines test (``cytls.context``, the layer above, re-exports them for applications)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cytls.crypto.tickets import StrikeRegister, TicketKeys
from cytls.x509.trust import TrustStore

if TYPE_CHECKING:
    from cryptography import x509

# OpenSSL's SSL_OP_ALLOW_NO_DHE_KEX (the ssl module does not export it): allow resumption with
# psk_ke, the PSK alone without a fresh (EC)DHE exchange, which gives up forward secrecy
# (RFC 8446 §2.2). A client offers psk_ke, a server picks it whenever the client offers it.
OP_ALLOW_NO_DHE_KEX = 0x400

# 0-RTT is accepted only when the ticket age the client claims is within this many seconds of
# the server's own figure (RFC 8446 §8.3).
EARLY_DATA_AGE_WINDOW = 10.0


@dataclass(frozen=True, slots=True)
class HandshakePolicy:
    """The configuration one connection's handshake runs under, frozen when it starts.

    Why a snapshot and not the live ``TLSContext``: a context is shared by every connection
    and may be changed between them (OpenSSL's SSL_new copies from its SSL_CTX for the same
    reason), and the handshake sits below the context layer, so it reads this instead. Only an
    SNI callback replaces it mid-handshake, when it gives the connection another context.
    Shared mutable state (the trust store, ticket keys, the anti-replay register) is held by
    reference: rotating ticket keys reaches running servers.
    """

    owner: object
    """The context this was made from, only as an identity: a session resumes only on the
    context that made it (``ssl``: "Session refers to a different SSLContext")."""
    server_side: bool
    versions: tuple[int, ...]
    """The protocol versions cytls implements within minimum_version..maximum_version, most
    preferred first (cytls.handshake.versions)."""
    check_hostname: bool
    verify_mode: ssl.VerifyMode
    options: int
    cipher_suites: tuple[int, ...]
    tls12_cipher_suites: tuple[int, ...]
    groups: tuple[int, ...]
    alpn_protocols: tuple[bytes, ...]
    post_handshake_auth: bool
    max_cert_list: int
    max_early_data_size: int
    certificate_chain: tuple[x509.Certificate, ...]
    certificate_chain_der: tuple[bytes, ...]
    private_key: Any = field(repr=False)
    trust_store: TrustStore
    num_tickets: int = 0
    ticket_lifetime: int = 0
    ticket_keys: TicketKeys | None = field(default=None, repr=False)
    strike_register: StrikeRegister | None = None
    """The last three only on a server."""

#!/usr/bin/env python3
"""Fuzz a server Connection with any first flight (any ClientHello) and the rest of the
client's side of the handshake.

Input: one mode byte (``_fuzzutil.server_context``: default, secp384r1 only so that our
clients get a HelloRetryRequest, client certificate required, client certificate optional with
ALPN; every mode resumes tickets of the fixed ticket key and accepts 0-RTT), then frames (op,
uint16 length, payload) that ``_fuzzutil.PeerScript`` plays as the client. Before the server
has a read key (ClientHello, a second ClientHello after HelloRetryRequest) records go out in
plaintext as written; after it, the harness seals each one under the key the server reads with
next (0-RTT early data, then the client handshake traffic key, then application traffic), and
two ops compute the client's Finished and an Ed25519 CertificateVerify (the fixed client key)
over the server's transcript, so a fuzzed ClientHello can still be followed through to a
completed handshake and post-handshake messages.

Corpus (``make_corpus.py``): flights recorded from real, deterministic cytls clients (every
suite, HelloRetryRequest, resumption with 0-RTT, mutual TLS, post-handshake auth). Oracle:
``_fuzzutil.run_connection``.

    python tests/fuzz/fuzz_server_flight.py [libFuzzer flags] [corpus dirs]
"""

from __future__ import annotations

import functools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _fuzzutil

with _fuzzutil.instrumented(__name__):
    import cytls
    import cytls.connection
    import cytls.handshake.server13  # noqa: F401


@functools.cache
def signing_key() -> object:
    return _fuzzutil.private_key(_fuzzutil.pki().client_key)


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    victim = _fuzzutil.server_connection(data[0] % _fuzzutil.SERVER_MODES)
    _fuzzutil.run_connection(victim, data[1:], server_peer=False, signing_key=signing_key())


if __name__ == "__main__":
    _fuzzutil.main(TestOneInput)

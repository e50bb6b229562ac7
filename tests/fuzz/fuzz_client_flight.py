#!/usr/bin/env python3
"""Fuzz a client Connection with the server's side of the handshake (and what follows it).

Input: one mode byte (``_fuzzutil.client_context``: default, CERT_NONE, resuming a fixed
session with 0-RTT, client certificate with post-handshake auth and ALPN), then frames (op,
uint16 length, payload) that ``_fuzzutil.PeerScript`` plays as the server: each handshake
message or record is plaintext in the input and sealed by the harness under the key the client
reads with next (the client's own read secret, as the key log exposes it), so mutations reach
EncryptedExtensions, Certificate, CertificateVerify, Finished, NewSessionTicket, KeyUpdate and
post-handshake CertificateRequest instead of dying on the AEAD tag. Two ops compute the
server's Finished and an Ed25519 CertificateVerify over the client's transcript so far.

The client is deterministic (randomness, key shares and clock from ``_fuzzutil``), so the
ServerHellos of the committed corpus (``make_corpus.py``, recorded from a real cytls server)
match its key shares. Oracle: ``_fuzzutil.run_connection``.

    python tests/fuzz/fuzz_client_flight.py [libFuzzer flags] [corpus dirs]
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
    import cytls.handshake.client13  # noqa: F401


@functools.cache
def signing_key() -> object:
    return _fuzzutil.private_key(_fuzzutil.pki().server_key)


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    victim = _fuzzutil.client_connection(data[0] % _fuzzutil.CLIENT_MODES)
    victim.data_to_send()
    _fuzzutil.run_connection(victim, data[1:], server_peer=True, signing_key=signing_key())


if __name__ == "__main__":
    _fuzzutil.main(TestOneInput)

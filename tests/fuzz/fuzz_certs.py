#!/usr/bin/env python3
"""Fuzz certificate chain parsing and verification: what a peer's Certificate message reaches.

Input: one mode byte, then a Certificate message body (request context, then entries of
uint24-length DER and extensions), parsed with ``Certificate.parse`` as the handshake does.
The chain then goes where the handshake sends it:

0. ``verify_server_chain`` for "localhost" (a client with check_hostname),
1. ``verify_server_chain`` without a name (check_hostname off),
2. ``verify_server_chain`` for the IP literal "127.0.0.1",
3. ``verify_client_chain`` (a server requiring a client certificate),
4. ``client13._parse_leaf`` (a client with CERT_NONE: only the leaf's key is read).

The trust store holds the fixed CA of ``pki/`` (a fresh store each run: no verdict cache), so
the corpus's real chains (``make_corpus.py``) verify. After a chain is verified (modes 0-3),
the leaf goes through ``certificate_to_dict`` as ``getpeercert()`` would.

Oracle: ProtocolError (CertificateError is one) for a bad chain; anything else propagates.

    python tests/fuzz/fuzz_certs.py [libFuzzer flags] [corpus dirs]
"""

from __future__ import annotations

import functools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _fuzzutil

with _fuzzutil.instrumented(__name__):
    from cryptography import x509

    from cytls.errors import ProtocolError
    from cytls.handshake.client13 import _parse_leaf
    from cytls.wire.messages import Certificate
    from cytls.x509 import peercert, trust, verify

MODES = 5


@functools.cache
def anchors() -> list[x509.Certificate]:
    return [x509.load_pem_x509_certificate(_fuzzutil.pki().ca_pem.encode())]


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    mode = data[0] % MODES
    try:
        message = Certificate.parse(data[1:])
        chain = [entry.cert_data for entry in message.entries]
        store = trust.TrustStore(anchors())
        if mode == 0:
            verify.verify_server_chain(chain, store, hostname="localhost", check_hostname=True)
        elif mode == 1:
            verify.verify_server_chain(chain, store, hostname="localhost", check_hostname=False)
        elif mode == 2:
            verify.verify_server_chain(chain, store, hostname="127.0.0.1", check_hostname=True)
        elif mode == 3:
            verify.verify_client_chain(chain, store)
        else:
            if chain:
                _parse_leaf(chain[0])
            return  # getpeercert() is {} under CERT_NONE: nothing more reads the leaf
    except ProtocolError:
        return
    # Verified: getpeercert() must be able to describe the leaf.
    peercert.certificate_to_dict(x509.load_der_x509_certificate(chain[0]))


if __name__ == "__main__":
    _fuzzutil.main(TestOneInput)

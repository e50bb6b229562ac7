"""Full TLS 1.3 handshakes per second, cytls beside the ssl module (pytest-benchmark).

Both sides in one process, in memory, configured identically: ECDSA P-256 certificate verified
by the client (name included), x25519, TLS_AES_256_GCM_SHA384; the ssl server sends no
session tickets (cytls does not resume sessions yet). ``credentials`` is in conftest.py.
"""

import pytest

from cytls.benchmark import cytls_handshake, ssl_handshake


@pytest.mark.parametrize("implementation", ["cytls", "ssl"])
def test_full_handshake(benchmark, credentials, implementation: str) -> None:
    benchmark.group = "full handshake"
    build = cytls_handshake if implementation == "cytls" else ssl_handshake
    benchmark(build(credentials))

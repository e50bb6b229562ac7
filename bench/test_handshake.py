"""Full and resumed TLS 1.3 handshakes per second, cytls beside the ssl module.

Both sides in one process, in memory, configured identically: ECDSA P-256 certificate verified
by the client (name included), x25519, TLS_AES_256_GCM_SHA384. For full handshakes neither
server sends session tickets; for resumed ones each sends one, which its client takes in.
``credentials`` is in conftest.py. The "cryptography floor" case makes only the
``cryptography`` calls of a cytls handshake pair: the limit of any handshake built on them.
"""

import pytest
from conftest import goal_label

from cytls.cli.benchmark import (
    client_hello_flights,
    cytls_handshake,
    cytls_resumed_handshake,
    handshake_crypto_floor,
    server_first_flight,
    ssl_handshake,
    ssl_resumed_handshake,
)

BUILDERS = {
    "cytls": cytls_handshake,
    "ssl": ssl_handshake,
    "cryptography floor": handshake_crypto_floor,
}


@pytest.mark.parametrize("implementation", list(BUILDERS))
def test_full_handshake(benchmark, credentials, implementation: str) -> None:
    benchmark.group = "full handshake" + goal_label("full handshake")
    benchmark(BUILDERS[implementation](credentials))


RESUMED = {"cytls": cytls_resumed_handshake, "ssl": ssl_resumed_handshake}


@pytest.mark.parametrize("implementation", list(RESUMED))
def test_resumed_handshake(benchmark, credentials, implementation: str) -> None:
    benchmark.group = "resumed handshake" + goal_label("resumed handshake")
    benchmark(RESUMED[implementation](credentials))


@pytest.mark.parametrize("kind", ["typical", "costliest"])
def test_server_first_flight(benchmark, credentials, kind: str) -> None:
    """The server's work for a typical ClientHello and for the costliest one within the limits
    (issue 12: at most 3 times the typical one)."""
    typical, costly = client_hello_flights(credentials)
    benchmark.group = "server's first flight, by ClientHello"
    benchmark(server_first_flight(credentials, typical if kind == "typical" else costly))

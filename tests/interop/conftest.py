"""Fixtures and the ``interop`` marker for the tests that start real TLS peers."""

from __future__ import annotations

import faulthandler
from collections.abc import Iterator

import pytest

from .peers import TestPKI, bulk_payload, make_pki

WATCHDOG_SECONDS = 600
"""A test still running after this long is stuck: dump every thread's stack and exit."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "interop: starts real TLS peers (openssl, gnutls-cli/-serv, curl, the ssl module) on "
        "127.0.0.1; needs the openssl, gnutls-bin and curl packages",
    )


@pytest.fixture(autouse=True)
def _watchdog() -> Iterator[None]:
    """Every step has its own timeout; this is the backstop that keeps CI from hanging."""
    faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    """Two test roots in one CA file and an ECDSA, an RSA and an Ed25519 server certificate."""
    return make_pki(tmp_path_factory.mktemp("interop-pki"))


@pytest.fixture(scope="session")
def bulk() -> tuple[bytes, str]:
    """64 MiB of random bytes and their SHA-256 hex digest."""
    return bulk_payload()

"""Shared fixtures for the pytest-benchmark suite."""

import pytest

from cytls.cli.benchmark import Credentials, make_credentials


@pytest.fixture(scope="session")
def credentials(tmp_path_factory: pytest.TempPathFactory) -> Credentials:
    """A throwaway ECDSA P-256 CA and "localhost" certificate, generated once per run."""
    return make_credentials(str(tmp_path_factory.mktemp("bench-pki")))

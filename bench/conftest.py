"""Shared fixtures for the pytest-benchmark suite."""

from collections.abc import Iterable

import pytest

from cytls.cli.benchmark import GOALS, Comparison, Credentials, format_table, make_credentials


@pytest.fixture(scope="session")
def credentials(tmp_path_factory: pytest.TempPathFactory) -> Credentials:
    """A throwaway ECDSA P-256 CA and "localhost" certificate, generated once per run."""
    return make_credentials(str(tmp_path_factory.mktemp("bench-pki")))


def goal_label(scenario: str) -> str:
    """The goal of ``scenario`` for a group name: what ratio to ssl cytls aims for."""
    goal = GOALS.get(scenario)
    return "" if goal is None else f" (goal: cytls at {goal:.2f}x ssl's speed or better)"


def print_rows(capsys: pytest.CaptureFixture[str], rows: Iterable[Comparison]) -> None:
    """Rows that are not timings (memory, instruction counts, the proxy), printed as
    ``cytls bench`` prints them, goals included."""
    with capsys.disabled():
        print("\n" + format_table(rows))

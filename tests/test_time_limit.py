"""``handshakeutil.time_limit``, which keeps the fuzz tests from hanging, on every platform."""

import time

import pytest
from handshakeutil import time_limit


def test_a_block_over_the_limit_fails() -> None:
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"took longer than 0.2 s: a hang\?"), time_limit(0.2):
        while time.monotonic() - started < 10:  # bounded: the limit ends it long before
            pass
    assert time.monotonic() - started < 5


def test_a_block_within_the_limit_runs_and_nothing_fires_later() -> None:
    with time_limit(0.2):
        total = sum(range(1000))
    deadline = time.monotonic() + 0.5  # past the limit: a stray exception would surface here
    while time.monotonic() < deadline:
        pass
    assert total == 499500

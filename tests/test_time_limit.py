"""``handshakeutil.time_limit``, which keeps the fuzz tests from hanging, on every platform."""

import signal
import time

import pytest
from handshakeutil import time_limit


def spin_until(deadline: float) -> None:
    """Busy-wait in bytecode, as a parser stuck in a loop would.

    In a function of its own, not in the ``with`` block: on CPython 3.13.0 an exception raised
    by a signal handler at the back edge of a loop written directly in the ``with`` block can skip
    that block's handlers (python/cpython#108214), so ``pytest.raises`` would not see it. Raised in
    a callee, it unwinds to the caller's CALL instruction, which the handlers cover.
    """
    while time.monotonic() < deadline:
        pass


def test_a_busy_block_over_the_limit_fails() -> None:
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"took longer than 0.2 s: a hang\?"), time_limit(0.2):
        spin_until(started + 10)  # bounded: the limit ends it long before
    assert time.monotonic() - started < 5


@pytest.mark.skipif(
    not hasattr(signal, "setitimer"), reason="the watchdog thread cannot interrupt a C call"
)
def test_a_blocked_block_over_the_limit_fails() -> None:
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"took longer than 0.2 s: a hang\?"), time_limit(0.2):
        time.sleep(10)  # waiting in C, as on a socket: the limit interrupts it
    assert time.monotonic() - started < 5


def test_a_block_within_the_limit_runs_and_nothing_fires_later() -> None:
    with time_limit(0.2):
        total = sum(range(1000))
    spin_until(time.monotonic() + 0.5)  # past the limit: a stray exception would surface here
    assert total == 499500

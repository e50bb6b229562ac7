"""``cytls.cli.resident``: the process memory figure of ``cytls bench`` and the buffer-release
tests, on every platform."""

import ctypes
import subprocess
import sys

from cytls.cli import resident

GROWTH = """
from cytls.cli.resident import resident_bytes
before = resident_bytes()
kept = b"\\x01" * (64 << 20)  # written, so every page is resident
print(resident_bytes() - before)
"""


def test_resident_bytes_sees_64_mib_being_written() -> None:
    """In a fresh interpreter, so that a peak (macOS) starts low as a current size does."""
    proc = subprocess.run(
        [sys.executable, "-c", GROWTH], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    growth = int(proc.stdout)
    assert 60 << 20 <= growth < 128 << 20


def test_which_measure() -> None:
    """The size now where the platform tells it (Linux /proc, Windows), else the peak."""
    current = sys.platform.startswith("linux") or sys.platform == "win32"
    assert ("current" if current else "peak") == resident.MEASURE


def test_process_memory_counters_layout() -> None:
    """PROCESS_MEMORY_COUNTERS as psapi.h lays it out: two DWORDs, then eight SIZE_Ts (72
    bytes on 64-bit Windows, 40 on 32-bit). The same on every platform, so checked here."""
    size_t = ctypes.sizeof(ctypes.c_size_t)
    counters = resident.ProcessMemoryCounters
    assert ctypes.sizeof(counters) == 8 + 8 * size_t
    assert counters.PageFaultCount.offset == 4
    assert counters.PeakWorkingSetSize.offset == 8
    assert counters.WorkingSetSize.offset == 8 + size_t
    assert counters.PeakPagefileUsage.offset == 8 + 7 * size_t

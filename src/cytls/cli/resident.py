"""How much memory this process holds, on every platform: for ``cytls bench`` and the tests
that check the record layer's buffers are given back.

The record layer's buffers are plain malloc memory, which tracemalloc does not see, so the
measure is the operating system's: the resident set size on Linux (``/proc/self/statm``) and
the working set on Windows (``K32GetProcessMemoryInfo``), both as they are now. Elsewhere
(macOS, the BSDs) only the peak resident size is at hand without a C extension
(``getrusage``). A peak still measures growth when the memory measured is allocated last and
kept, as the benchmark's idle connections are: :data:`MEASURE` says which one this is.
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Final

__all__ = ["MEASURE", "ProcessMemoryCounters", "resident_bytes"]

MEASURE: Final = (
    "peak" if sys.platform != "win32" and not os.path.exists("/proc/self/statm") else "current"
)
"""``"current"`` where :func:`resident_bytes` is the size now, ``"peak"`` where it is the peak."""


class ProcessMemoryCounters(ctypes.Structure):
    """PROCESS_MEMORY_COUNTERS (psapi.h): DWORD is 32 bits and SIZE_T pointer-sized on every
    Windows, so the layout is spelled with those sizes rather than ctypes.wintypes."""

    _fields_ = (
        ("cb", ctypes.c_uint32),
        ("PageFaultCount", ctypes.c_uint32),
        ("PeakWorkingSetSize", ctypes.c_size_t),
        ("WorkingSetSize", ctypes.c_size_t),
        ("QuotaPeakPagedPoolUsage", ctypes.c_size_t),
        ("QuotaPagedPoolUsage", ctypes.c_size_t),
        ("QuotaPeakNonPagedPoolUsage", ctypes.c_size_t),
        ("QuotaNonPagedPoolUsage", ctypes.c_size_t),
        ("PagefileUsage", ctypes.c_size_t),
        ("PeakPagefileUsage", ctypes.c_size_t),
    )


def resident_bytes() -> int:
    """The memory this process holds now (Linux, Windows) or held at its peak (elsewhere)."""
    if sys.platform == "win32":
        return _working_set()
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def _working_set() -> int:  # pragma: no cover - Windows only
    """WorkingSetSize from K32GetProcessMemoryInfo (kernel32 since Windows 7, no psapi.dll)."""
    if sys.platform != "win32":
        raise OSError("the working set is a Windows measure")
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.GetCurrentProcess.restype = ctypes.c_void_p
    kernel32.GetCurrentProcess.argtypes = ()
    get_info = kernel32.K32GetProcessMemoryInfo
    get_info.restype = ctypes.c_int
    get_info.argtypes = (
        ctypes.c_void_p,
        ctypes.POINTER(ProcessMemoryCounters),
        ctypes.c_uint32,
    )
    counters = ProcessMemoryCounters()
    counters.cb = ctypes.sizeof(ProcessMemoryCounters)
    if not get_info(kernel32.GetCurrentProcess(), ctypes.byref(counters), counters.cb):
        raise ctypes.WinError(ctypes.get_last_error())
    return int(counters.WorkingSetSize)

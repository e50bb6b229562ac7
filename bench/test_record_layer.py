"""Record layer throughput beside the raw AEAD calls it is built on (pytest-benchmark).

Run with ``pytest bench/``. Each group holds one cytls case and its limit, the raw
``cryptography`` encrypt_into + decrypt_into on the same number of bytes, measured in the same
run; compare the medians within a group.
"""

import pytest

from cytls.cli.benchmark import SIZES, SUITES, raw_aead_roundtrip, record_roundtrip


@pytest.mark.parametrize("size_name", list(SIZES))
@pytest.mark.parametrize("suite", list(SUITES))
@pytest.mark.parametrize("case", ["cytls", "raw"])
def test_seal_open(benchmark, case: str, suite: str, size_name: str) -> None:
    size = SIZES[size_name]
    benchmark.group = f"seal+open {size_name} {suite}"
    build = record_roundtrip if case == "cytls" else raw_aead_roundtrip
    benchmark(build(suite, size))

"""``cytls proxy`` against the same proxy written on asyncio + ssl (protocols and streams),
driven by wrk on loopback: requests per second and CPU per request, printed with their goals.

Not a pytest-benchmark timing: wrk measures. ``cytls bench`` runs the same comparison with more
rounds, and on uvloop too when it is installed.
"""

import shutil

import pytest
from conftest import print_rows

from cytls.cli.benchmark import proxy_comparisons


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_proxy_against_asyncio_ssl(credentials, capsys: pytest.CaptureFixture[str]) -> None:
    rows = list(proxy_comparisons(credentials, quick=True))
    assert rows and all(row.cytls_value > 0 and row.reference_value > 0 for row in rows)
    print_rows(capsys, rows)

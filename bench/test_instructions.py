"""Instructions per handshake and per 64 B write+read, cytls beside the ssl module.

Not a timing: both run under ``valgrind --tool=callgrind`` in one subprocess, and the counts do
not move with the machine's load. Printed with the goals of the timed rows they stand beside.
"""

import shutil

import pytest
from conftest import print_rows

from cytls.cli.benchmark import instruction_comparisons


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_instruction_counts(credentials, capsys: pytest.CaptureFixture[str]) -> None:
    rows = list(instruction_comparisons(credentials))
    assert rows and all(row.cytls_value > 0 and row.reference_value > 0 for row in rows)
    print_rows(capsys, rows)

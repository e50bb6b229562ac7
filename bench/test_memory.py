"""Memory per idle established connection, cytls beside the ssl module.

Not a timing: each implementation establishes ``IDLE_CONNECTIONS`` client+server pairs in a
fresh subprocess (cytls ``Connection`` pairs; ssl ``SSLObject`` pairs over MemoryBIOs) and
reports RSS growth per pair. The row is printed with its goal (run with ``-s`` or see the
terminal section); ratio = cytls / ssl, lower is better.
"""

import pytest
from conftest import print_rows

from cytls.cli.benchmark import memory_comparisons


def test_idle_connection_memory(credentials, capsys: pytest.CaptureFixture[str]) -> None:
    rows = list(memory_comparisons(credentials, quick=True))
    assert rows and all(row.cytls_value > 0 and row.reference_value > 0 for row in rows)
    print_rows(capsys, rows)

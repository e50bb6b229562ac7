"""Memory per idle established connection, cytls beside the ssl module.

Not a timing: each implementation establishes ``IDLE_CONNECTIONS`` client+server pairs in a
fresh subprocess (cytls ``Connection`` pairs; ssl ``SSLObject`` pairs over MemoryBIOs) and
reports RSS growth per pair. The figures are printed (run with ``-s`` or see the terminal
section); ratio = cytls / ssl, lower is better.
"""

import pytest

from cytls.cli.benchmark import IDLE_CONNECTIONS, idle_connection_memory


def test_idle_connection_memory(credentials, capsys: pytest.CaptureFixture[str]) -> None:
    cytls_bytes = idle_connection_memory("cytls", credentials)
    ssl_bytes = idle_connection_memory("ssl", credentials)
    assert cytls_bytes > 0 and ssl_bytes > 0
    with capsys.disabled():
        print(
            f"\nmemory per idle connection ({IDLE_CONNECTIONS:,} pairs): "
            f"cytls {cytls_bytes / 1024:.1f} KiB, ssl {ssl_bytes / 1024:.1f} KiB, "
            f"ratio cytls/ssl {cytls_bytes / ssl_bytes:.2f} (lower is better)"
        )

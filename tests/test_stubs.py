"""The stubs of the compiled modules (``_record.pyi``, ``_datapath.pyi``, ``_hello.pyi``)
against the modules as built (``mypy.stubtest``): a signature changed in a ``.pyx`` but not in
its stub fails here, so the strict mypy run over the package checks calls against what really
exists."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

# What Cython adds to every compiled module, which no stub describes, and to a module whose .pxd
# declares C functions: their C-API capsules, for the Cython modules that cimport them.
CYTHON_ADDITIONS = r"""
cytls\._(record|datapath|hello)\.__reduce_cython__
cytls\._(record|datapath|hello)\.__setstate_cython__
cytls\._(record|datapath|hello)\.__test__
cytls\._record\.__pyx_capi__
"""


@pytest.mark.skipif(
    importlib.util.find_spec("mypy") is None, reason="needs mypy (the `test` extra)"
)
def test_the_stubs_match_the_built_modules(tmp_path: Path) -> None:
    allowlist = tmp_path / "allowlist.txt"
    allowlist.write_text(CYTHON_ADDITIONS, encoding="utf-8")
    command = [sys.executable, "-m", "mypy.stubtest", "--allowlist", str(allowlist)]
    result = subprocess.run(
        [*command, "cytls._record", "cytls._datapath", "cytls._hello"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,  # mypy's cache goes there, not into the checkout
    )
    assert result.returncode == 0, result.stdout + result.stderr

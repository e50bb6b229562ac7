"""The ``cytls`` command and the benchmark scenarios it shares with bench/."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cytls import __version__, benchmark, cli


@pytest.mark.parametrize("suite", list(benchmark.SUITES))
def test_scenarios_round_trip_and_fail_on_lost_data(suite: str) -> None:
    """Each scenario runs, and checks on its first call that the bytes made the round trip."""
    benchmark.record_roundtrip(suite, 100)()
    benchmark.raw_aead_roundtrip(suite, 100)()


def test_bench_prints_table_and_writes_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(benchmark, "SIZES", {"64 B": 64})
    monkeypatch.setattr(benchmark, "SUITES", {"AES-128-GCM": benchmark.SUITES["AES-128-GCM"]})
    out = tmp_path / "figures.json"
    assert cli.main(["bench", "--quick", "--json", str(out)]) == 0
    printed = capsys.readouterr()
    assert "record seal+open 64 B, AES-128-GCM" in printed.out
    assert "python: CPython" in printed.out
    assert "measuring record seal+open 64 B" in printed.err  # progress goes to stderr
    assert "full handshake" in printed.out and "ssl module" in printed.out
    figures = json.loads(out.read_text())
    handshake, result = figures["results"]
    assert handshake["reference"] == "ssl module" and handshake["cytls_seconds"] > 0
    assert result["size"] == 64
    assert result["cytls_seconds"] > 0 and result["reference_seconds"] > 0
    assert result["ratio"] == pytest.approx(result["reference_seconds"] / result["cytls_seconds"])
    assert set(figures["machine"]) >= {"cpu", "cores", "python", "cryptography"}


def test_python_dash_m_cytls_runs_the_command() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cytls", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"cytls {__version__}"


def test_format_table_ratio_is_reference_over_cytls() -> None:
    table = benchmark.format_table([benchmark.Comparison("x", 16384, 2e-6, 1e-6, "raw AEAD")])
    assert "0.50" in table
    assert "8.19 GB/s" in table  # 16384 B / 2 µs

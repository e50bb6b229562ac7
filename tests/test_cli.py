"""The ``cytls`` command and the benchmark scenarios it shares with bench/."""

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from interop.peers import require_tool

from cytls import __version__, cli
from cytls.cli import benchmark


@pytest.mark.parametrize("suite", list(benchmark.SUITES))
def test_scenarios_round_trip_and_fail_on_lost_data(suite: str) -> None:
    """Each scenario runs, and checks on its first call that the bytes made the round trip."""
    benchmark.record_roundtrip(suite, 100)()
    benchmark.raw_aead_roundtrip(suite, 100)()


@pytest.fixture(scope="module")
def credentials(tmp_path_factory: pytest.TempPathFactory) -> benchmark.Credentials:
    return benchmark.make_credentials(str(tmp_path_factory.mktemp("bench-pki")))


@pytest.mark.parametrize("implementation", benchmark.IMPLEMENTATIONS)
@pytest.mark.parametrize("size", [64, 20000])  # one record, and two records read in two calls
def test_wrap_bio_transfer_runs_the_same_code_for_both_modules(
    credentials: benchmark.Credentials, implementation: str, size: int
) -> None:
    """Set-up checks TLS 1.3 with TLS_AES_256_GCM_SHA384 and that the bytes arrived."""
    module, client, server = benchmark.make_contexts(implementation, credentials)
    transfer = benchmark.wrap_bio_transfer(module, client, server, size, benchmark.SSL_SUITE)
    transfer()


@pytest.mark.parametrize("suite", list(benchmark.SUITES))
def test_cytls_transfers_with_each_suite(credentials: benchmark.Credentials, suite: str) -> None:
    import cytls

    _, client, server = benchmark.make_contexts("cytls", credentials, suite)
    name = benchmark.SUITE_NAMES[suite]
    benchmark.wrap_bio_transfer(cytls, client, server, 1000, name)()
    benchmark.connection_transfer(client, server, 20000, name)()


def test_transfer_set_up_fails_loudly_on_another_suite(credentials: benchmark.Credentials) -> None:
    import cytls

    _, client, server = benchmark.make_contexts("cytls", credentials, "AES-128-GCM")
    with pytest.raises(AssertionError, match="TLS_AES_128_GCM_SHA256"):
        benchmark.wrap_bio_transfer(cytls, client, server, 64, benchmark.SSL_SUITE)
    with pytest.raises(AssertionError, match="TLS_AES_128_GCM_SHA256"):
        benchmark.connection_transfer(client, server, 64, benchmark.SSL_SUITE)
    with pytest.raises(ValueError, match="cannot choose"):
        benchmark.make_contexts("ssl", credentials, "ChaCha20-Poly1305")


@pytest.mark.parametrize("build", [benchmark.cytls_handshake, benchmark.ssl_handshake])
def test_handshakes_complete(credentials: benchmark.Credentials, build) -> None:
    build(credentials)()


@pytest.mark.parametrize("implementation", benchmark.IMPLEMENTATIONS)
def test_idle_memory_measures_established_pairs_in_a_subprocess(
    credentials: benchmark.Credentials, implementation: str
) -> None:
    """The child establishes (and checks) every pair; a tiny count may not move RSS a page."""
    per_connection = benchmark.idle_connection_memory(implementation, credentials, count=50)
    assert per_connection >= 0


def test_bench_prints_table_and_writes_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(benchmark, "SIZES", {"64 B": 64})
    monkeypatch.setattr(
        benchmark,
        "SUITES",
        {name: benchmark.SUITES[name] for name in ("AES-128-GCM", "AES-256-GCM")},
    )
    monkeypatch.setattr(benchmark, "IDLE_CONNECTIONS", 50)
    out = tmp_path / "figures.json"
    assert cli.main(["bench", "--quick", "--json", str(out)]) == 0
    printed = capsys.readouterr()
    assert "record seal+open 64 B, AES-128-GCM" in printed.out
    assert "wrap_bio write+read 64 B  " in printed.out
    assert "Connection write+read 64 B" in printed.out
    assert "wrap_bio write+read 64 B, AES-128-GCM" in printed.out
    assert "memory per idle connection" in printed.out
    assert "python: CPython" in printed.out
    assert "measuring record seal+open 64 B" in printed.err  # progress goes to stderr
    assert "measuring wrap_bio write+read 64 B" in printed.err
    assert "full handshake" in printed.out and "ssl module" in printed.out
    figures = json.loads(out.read_text())
    results = {entry["scenario"]: entry for entry in figures["results"]}
    handshake = next(entry for name, entry in results.items() if "handshake" in name)
    assert handshake["reference"] == "ssl module" and handshake["cytls_value"] > 0
    wrap_bio = results["wrap_bio write+read 64 B"]
    assert wrap_bio["reference"] == "ssl module" and wrap_bio["better"] == "higher"
    assert results["wrap_bio write+read 64 B, AES-128-GCM"]["reference"] == "cytls AES-256"
    memory = next(entry for name, entry in results.items() if name.startswith("memory"))
    assert memory["unit"] == "B" and memory["better"] == "lower"
    assert memory["ratio"] == pytest.approx(memory["cytls_value"] / memory["reference_value"])
    result = results["record seal+open 64 B, AES-128-GCM"]
    assert result["size"] == 64
    assert result["cytls_value"] > 0 and result["reference_value"] > 0
    assert result["ratio"] == pytest.approx(result["reference_value"] / result["cytls_value"])
    assert set(figures["machine"]) >= {"cpu", "cores", "python", "cryptography"}
    # Every row of issue 14's table carries its goal; other rows have none.
    assert wrap_bio["goal"] == 1.0 and wrap_bio["goal_met"] == (wrap_bio["ratio"] >= 1.0)
    assert results["Connection write+read 64 B"]["goal"] == 1.5
    assert memory["goal"] == 0.5 and memory["goal_met"] == (memory["ratio"] <= 0.5)
    assert handshake["goal"] == 1.5
    assert result["goal"] is None and result["goal_met"] is None
    two_threads = results["Connection write+read 1 MiB, 2 threads"]
    assert two_threads["reference"] == "cytls, 1 thread" and two_threads["size"] == 8 << 20
    assert results["wrap_bio write+read 1 MiB, 2 threads"]["reference"] == "ssl module, 2 threads"
    assert not any(name.endswith(", instructions") for name in results)  # not with --quick
    assert "≥ 1.00 (" in printed.out and "≤ 0.50 (" in printed.out


def test_goal_is_met_in_the_direction_that_favours_cytls() -> None:
    faster = benchmark.Comparison("t", 0, 1e-6, 2e-6, "ssl module", goal=1.5)
    slower = benchmark.Comparison("t", 0, 1e-6, 1.4e-6, "ssl module", goal=1.5)
    smaller = benchmark.Comparison("m", 0, 4.0, 10.0, "ssl module", unit="B", goal=0.5)
    bigger = benchmark.Comparison("m", 0, 6.0, 10.0, "ssl module", unit="B", goal=0.5)
    assert (faster.goal_met, slower.goal_met, smaller.goal_met, bigger.goal_met) == (
        True,
        False,
        True,
        False,
    )
    table = benchmark.format_table([faster, bigger])
    assert "≥ 1.50 (met)" in table and "≤ 0.50 (not met)" in table


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_instruction_counts_come_from_callgrind_one_case_per_dump(
    credentials: benchmark.Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each scenario is counted for cytls and ssl in a callgrind run; a case that does more
    work counts more instructions (a 64 B write+read is far cheaper than a handshake), and
    the rows carry the timed scenario's goal."""
    monkeypatch.setattr(
        benchmark,
        "INSTRUCTION_CASES",
        {
            "full handshake": 2,
            "resumed handshake": 2,
            "wrap_bio write+read 64 B": 50,
            "Connection write+read 64 B": 50,
        },
    )
    counts = benchmark.instruction_counts(credentials)
    assert counts is not None
    assert [(scenario, implementation) for scenario, implementation, _ in counts] == [
        (scenario, implementation)
        for scenario in benchmark.INSTRUCTION_CASES
        for implementation in ("cytls", "ssl")
    ]
    per_call = {(scenario, implementation): n for scenario, implementation, n in counts}
    for implementation in ("cytls", "ssl"):
        handshake = per_call["full handshake", implementation]
        small = per_call["wrap_bio write+read 64 B", implementation]
        assert 100_000 < handshake < 100_000_000 and 1_000 < small < handshake / 20
    rows = list(benchmark.instruction_comparisons(credentials))
    assert [row.scenario for row in rows] == [
        f"{scenario}, instructions" for scenario in benchmark.INSTRUCTION_CASES
    ]
    assert rows[0].unit == "instr" and rows[0].goal == benchmark.GOALS["full handshake"]
    assert "instructions" in benchmark.format_table(rows)


def test_threads_run_each_their_own_pair_and_report_failures(
    credentials: benchmark.Credentials,
) -> None:
    _, client, server = benchmark.make_contexts("cytls", credentials)
    built: list[object] = []

    def build() -> Callable[[], None]:
        transfer = benchmark.connection_transfer(client, server, 1000, benchmark.SSL_SUITE)
        built.append(transfer)
        return transfer

    benchmark.on_threads(build, 3, 2)()
    assert len(built) == 3

    def broken() -> Callable[[], None]:
        def transfer() -> None:
            raise AssertionError("lost data")

        return transfer

    with pytest.raises(AssertionError, match="lost data"):
        benchmark.on_threads(broken, 2, 1)


def test_proxy_rows_skip_with_a_reason_on_windows(
    credentials: benchmark.Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proxy comparison stops its servers with SIGTERM: on Windows the rest of
    ``cytls bench`` runs and the proxy rows are left out, saying why."""
    monkeypatch.setattr(sys, "platform", "win32")
    notes: list[str] = []
    assert list(benchmark.proxy_comparisons(credentials, quick=True, progress=notes.append)) == []
    assert notes == ["proxy comparison skipped: it needs POSIX signals (not on Windows)"]


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


def test_memory_ratio_is_cytls_over_reference_and_lower_is_better() -> None:
    comparison = benchmark.Comparison("memory", 0, 7 * 1024, 10 * 1024, "ssl module", unit="B")
    assert comparison.ratio == pytest.approx(0.7) and comparison.better == "lower"
    table = benchmark.format_table([comparison])
    assert "7.0 KiB" in table and "10.0 KiB (ssl module)" in table and "0.70" in table


@pytest.mark.interop
@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_proxy_comparison_drives_all_proxies_with_wrk(tmp_path: Path, loop: str) -> None:
    """The proxy rows of cytls bench: wrk through cytls proxy and both asyncio+ssl twins, each
    answered by the upstream (16 KiB bodies), with the proxy's CPU time per request."""
    require_tool("wrk")
    from cytls.cli import proxybench

    if loop == "uvloop":
        pytest.importorskip("uvloop", reason="uvloop does not exist on Windows")
    credentials = benchmark.make_credentials(str(tmp_path))
    results = proxybench.measure(
        credentials.certfile,
        credentials.keyfile,
        body=16384,
        seconds=1,
        connections=4,
        rounds=1,
        loop=loop,
    )
    assert list(results) == ["cytls", "ssl protocols", "ssl streams"]
    for runs in results.values():
        (result,) = runs
        assert result.requests_per_second > 10
        assert result.bytes_per_second > 16384 * result.requests_per_second
        if sys.platform == "linux":
            assert result.cpu_per_request is not None and 0 < result.cpu_per_request < 0.1

"""cytls proxy: correctness through real clients, load, faults and graceful shutdown."""

import asyncio
import contextlib
import gc
import hashlib
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from handshakeutil import client_context, credentials, server_context
from interop.peers import require_tool

from cytls import aio
from cytls.proxy import Proxy

TIMEOUT = 60

# Windows has no SIGTERM that a process can catch: Popen.send_signal(SIGTERM) is
# TerminateProcess there, which ends the proxy at once with exit code 1, so the graceful stop
# (drain, log, exit 0) is checked where there are POSIX signals.
GRACEFUL_STOP = sys.platform != "win32"
NO_GRACEFUL_STOP = "Windows has no catchable SIGTERM: TerminateProcess ends the proxy at once"


async def echo_upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1 << 16):
        writer.write(data)
        await writer.drain()
    writer.close()


async def start_pair(max_connections: int = 10000) -> tuple[Proxy, asyncio.Server, int]:
    upstream = await asyncio.start_server(echo_upstream, "127.0.0.1", 0)
    proxy = Proxy(
        server_context(),
        ("127.0.0.1", upstream.sockets[0].getsockname()[1]),
        max_connections=max_connections,
    )
    server = await proxy.start("127.0.0.1", 0)
    return proxy, upstream, server.sockets[0].getsockname()[1]


async def round_trip(port: int, payload: bytes) -> str:
    reader, writer = await aio.open_connection(
        "127.0.0.1", port, ssl_context=client_context(), server_hostname="localhost"
    )

    async def send() -> None:
        for offset in range(0, len(payload), 1 << 16):
            writer.write(payload[offset : offset + (1 << 16)])
            await writer.drain()
        writer.write_eof()

    sender = asyncio.create_task(send())
    digest = hashlib.sha256()
    while chunk := await reader.read(1 << 16):
        digest.update(chunk)
    await sender
    writer.close()
    return digest.hexdigest()


def test_many_concurrent_connections_each_one_mebibyte_both_ways() -> None:
    """1,000 connections through the proxy, 1 MiB each way, every byte checked by hash."""
    connections, size = 1000, 1 << 20

    async def main() -> None:
        proxy, upstream, port = await start_pair()
        payloads = [os.urandom(32) * (size // 32) for _ in range(connections)]
        limit = asyncio.Semaphore(250)  # the client side's own concurrency, to bound memory

        async def one(payload: bytes) -> str:
            async with limit:
                return await round_trip(port, payload)

        digests = await asyncio.gather(*(one(p) for p in payloads))
        assert digests == [hashlib.sha256(p).hexdigest() for p in payloads]
        assert proxy.connections == connections
        await proxy.drain_and_stop(grace=5)
        assert not proxy.active
        upstream.close()

    asyncio.run(asyncio.wait_for(main(), TIMEOUT * 4))


def test_faults_do_not_stop_the_proxy_or_leak() -> None:
    """Upstream closing mid-stream, a client reset mid-handshake, a client that never reads:
    the proxy keeps serving others, and no task is left behind."""

    async def main() -> None:
        async def closes_early(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(10)
            writer.transport.abort()

        early = await asyncio.start_server(closes_early, "127.0.0.1", 0)
        proxy, upstream, port = await start_pair()
        bad_proxy = Proxy(server_context(), ("127.0.0.1", early.sockets[0].getsockname()[1]))
        bad_port = (await bad_proxy.start("127.0.0.1", 0)).sockets[0].getsockname()[1]

        # 1. the upstream closes mid-stream: the client sees the end, the proxy carries on.
        reader, writer = await aio.open_connection(
            "127.0.0.1", bad_port, ssl_context=client_context(), server_hostname="localhost"
        )
        writer.write(b"x" * 100)
        await writer.drain()
        # It must end, cleanly or not, rather than hang.
        with contextlib.suppress(ConnectionError, ssl.SSLEOFError):
            assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()

        # 2. a client resets in the middle of the handshake.
        _, raw_writer = await asyncio.open_connection("127.0.0.1", port)
        raw_writer.write(b"\x16\x03\x01\x00\x10partial-hello")
        await raw_writer.drain()
        raw_writer.transport.abort()

        # 3. a client that never reads while the upstream keeps answering.
        _, stuck_writer = await aio.open_connection(
            "127.0.0.1", port, ssl_context=client_context(), server_hostname="localhost"
        )
        for _ in range(64):
            stuck_writer.write(b"y" * 65536)  # the echo fills the proxy->client direction
        # Others are still served meanwhile.
        assert (
            await round_trip(port, b"still alive" * 1000)
            == hashlib.sha256(b"still alive" * 1000).hexdigest()
        )
        stuck_writer.transport.abort()

        await asyncio.sleep(0.5)
        for p in (proxy, bad_proxy):
            await p.drain_and_stop(grace=5)
            assert not p.active, p.active
        upstream.close()
        early.close()

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    gc.collect()


@pytest.fixture
def http_upstream(tmp_path: Path):
    (tmp_path / "index.html").write_bytes(b"hello from upstream\n" * 100)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_port(port)
    yield port
    proc.terminate()
    proc.wait(TIMEOUT)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def start_proxy_process(upstream_port: int, *extra: str) -> tuple[subprocess.Popen[str], int]:
    creds = credentials()
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cytls",
            "proxy",
            "--listen",
            f"127.0.0.1:{port}",
            "--upstream",
            f"127.0.0.1:{upstream_port}",
            "--cert",
            str(creds.certfile),
            "--key",
            str(creds.keyfile),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    _wait_port(port)
    return proc, port


def stop_proxy_process(proc: subprocess.Popen[str]) -> str:
    """SIGTERM, then its output; it must have exited 0 where SIGTERM can be caught."""
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=TIMEOUT)
    if GRACEFUL_STOP:
        assert proc.returncode == 0, out
    return out


def _readline_with_timeout(stream, timeout: float) -> bytes:
    """One line from a pipe, or b"" after ``timeout`` seconds (never hangs the test)."""
    result: list[bytes] = []
    reader = threading.Thread(target=lambda: result.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return result[0] if result else b""


def ca_file(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    path.write_text(credentials().ca_pem)
    return path


@pytest.mark.interop
def test_curl_through_the_proxy_gets_the_body(http_upstream: int, tmp_path: Path) -> None:
    curl_path = require_tool("curl")
    proc, port = start_proxy_process(http_upstream)
    try:
        curl = subprocess.run(
            [
                curl_path,
                "-q",
                "--noproxy",
                "*",
                "--silent",
                "--show-error",
                "--max-time",
                "20",
                "--cacert",
                str(ca_file(tmp_path)),
                "--resolve",
                f"localhost:{port}:127.0.0.1",
                f"https://localhost:{port}/index.html",
            ],
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert curl.returncode == 0, curl.stderr
        assert curl.stdout == b"hello from upstream\n" * 100
    finally:
        out = stop_proxy_process(proc)
    assert "sni=localhost version=TLSv1.3" in out and "ended=closed" in out


@pytest.mark.interop
def test_openssl_s_client_through_the_proxy(tmp_path: Path) -> None:
    openssl = require_tool("openssl")

    async def serve_echo(ready: "asyncio.Future[int]", stop: asyncio.Event) -> None:
        server = await asyncio.start_server(echo_upstream, "127.0.0.1", 0)
        ready.set_result(server.sockets[0].getsockname()[1])
        await stop.wait()
        server.close()

    loop = asyncio.new_event_loop()
    ready: asyncio.Future[int] = loop.create_future()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve_echo(ready, stop),))
    thread.start()
    while not ready.done():
        time.sleep(0.01)
    proc, port = start_proxy_process(ready.result())
    try:
        client = subprocess.Popen(
            [
                openssl,
                "s_client",
                "-connect",
                f"127.0.0.1:{port}",
                "-servername",
                "localhost",
                "-CAfile",
                str(ca_file(tmp_path)),
                "-quiet",
                "-verify_return_error",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert client.stdin is not None and client.stdout is not None
            client.stdin.write(b"echo through the proxy\n")
            client.stdin.flush()
            line = _readline_with_timeout(client.stdout, TIMEOUT)
            assert line == b"echo through the proxy\n"
        finally:
            client.kill()
            client.communicate(timeout=TIMEOUT)
    finally:
        stop_proxy_process(proc)
        loop.call_soon_threadsafe(stop.set)
        thread.join(TIMEOUT)


@pytest.mark.skipif(not GRACEFUL_STOP, reason=NO_GRACEFUL_STOP)
def test_sigterm_lets_running_transfers_finish_then_exits_zero(tmp_path: Path) -> None:
    """A slow transfer is running when SIGTERM arrives: it completes, then the proxy exits 0."""

    async def main() -> None:
        upstream = await asyncio.start_server(echo_upstream, "127.0.0.1", 0)
        proc, port = start_proxy_process(upstream.sockets[0].getsockname()[1])
        try:
            reader, writer = await aio.open_connection(
                "127.0.0.1", port, ssl_context=client_context(), server_hostname="localhost"
            )
            payload = os.urandom(1 << 20)
            writer.write(payload[: 1 << 19])
            await writer.drain()
            first = await reader.readexactly(1 << 19)
            proc.send_signal(signal.SIGTERM)  # mid-transfer
            await asyncio.sleep(0.3)
            writer.write(payload[1 << 19 :])
            writer.write_eof()
            rest = await reader.read()
            assert first + rest == payload
            writer.close()
            # New connections are refused once shutdown began.
            with pytest.raises(OSError):
                await aio.open_connection(
                    "127.0.0.1", port, ssl_context=client_context(), server_hostname="localhost"
                )
        finally:
            code = await asyncio.to_thread(proc.wait, TIMEOUT)
            upstream.close()
        assert code == 0

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))


def test_cli_errors_are_one_line() -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cytls", "proxy", *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )

    bad = run("--listen", "nowhere", "--upstream", "127.0.0.1:1")
    assert bad.returncode == 2 and bad.stderr.strip() == "cytls proxy: 'nowhere' is not HOST:PORT"
    missing = run("--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--cert", "/nope.pem")
    assert missing.returncode == 1
    assert missing.stderr.startswith("cytls proxy: cannot load the certificate")
    assert "Traceback" not in missing.stderr
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        busy = run("--listen", f"127.0.0.1:{port}", "--upstream", "127.0.0.1:1")
    assert busy.returncode == 1, busy.stderr
    assert f"cytls proxy: cannot listen on 127.0.0.1:{port}: " in busy.stderr
    assert "Traceback" not in busy.stderr


@pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="only Linux spreads connections over SO_REUSEPORT listeners (Windows has no "
    "SO_REUSEPORT, macOS gives every connection to one of them)",
)
def test_workers_refused_without_so_reuseport(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where the socket module has no SO_REUSEPORT (Windows), --workers 2 is a one-line usage
    error before anything listens, not asyncio's ValueError from the second worker."""
    import socket

    from cytls import cli

    monkeypatch.delattr(socket, "SO_REUSEPORT", raising=False)
    argv = ["proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--workers", "2"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err == (
        "cytls proxy: --workers needs SO_REUSEPORT, which this platform lacks; run one process\n"
    )


def test_workers_share_the_port_and_stop_together() -> None:
    """--workers 2: two processes accept on one port (SO_REUSEPORT); SIGTERM stops both."""

    async def main(port: int) -> None:
        payload = b"w" * 1000
        for _ in range(60):
            assert await round_trip(port, payload) == hashlib.sha256(payload).hexdigest()

    async def upstream_main(ready: "asyncio.Future[int]", stop: asyncio.Event) -> None:
        server = await asyncio.start_server(echo_upstream, "127.0.0.1", 0)
        ready.set_result(server.sockets[0].getsockname()[1])
        await stop.wait()
        server.close()

    loop = asyncio.new_event_loop()
    ready: asyncio.Future[int] = loop.create_future()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(upstream_main(ready, stop),))
    thread.start()
    while not ready.done():
        time.sleep(0.01)
    proc, port = start_proxy_process(ready.result(), "--workers", "2")
    try:
        time.sleep(1.0)  # let the second worker bind too
        asyncio.run(asyncio.wait_for(main(port), TIMEOUT))
    finally:
        out = stop_proxy_process(proc)
        loop.call_soon_threadsafe(stop.set)
        thread.join(TIMEOUT)
    served_by = set(re.findall(r"cytls proxy\[(\d+)\]: peer=", out))
    assert len(served_by) == 2, out[-3000:]
    assert len(re.findall(r"\]: stopped$", out, re.M)) == 2, out[-3000:]


def test_connection_limit_refuses_beyond_it() -> None:
    async def main() -> None:
        proxy, upstream, port = await start_pair(max_connections=2)
        held = [
            await aio.open_connection(
                "127.0.0.1", port, ssl_context=client_context(), server_hostname="localhost"
            )
            for _ in range(2)
        ]
        await asyncio.sleep(0.2)
        reader, writer = await aio.open_connection(
            "127.0.0.1", port, ssl_context=client_context(), server_hostname="localhost"
        )
        with contextlib.suppress(ConnectionError, ssl.SSLEOFError):
            assert await asyncio.wait_for(reader.read(), 10) == b""  # closed at once
        writer.close()
        for _, held_writer in held:
            held_writer.close()
        await proxy.drain_and_stop(grace=5)
        upstream.close()
        assert proxy.connections == 3

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))


# This process's open descriptors: /proc/self/fd on Linux, /dev/fd on macOS and the BSDs.
FD_DIR = next((p for p in (Path("/proc/self/fd"), Path("/dev/fd")) if p.is_dir()), None)


@pytest.mark.skipif(FD_DIR is None, reason="no descriptor directory to count (Windows)")
def test_faults_leave_no_file_descriptors_behind() -> None:
    """Run the fault scenarios twice; the second run must not grow the descriptor count."""
    fd_dir = FD_DIR
    assert fd_dir is not None
    test_faults_do_not_stop_the_proxy_or_leak()
    gc.collect()
    before = len(list(fd_dir.iterdir()))
    test_faults_do_not_stop_the_proxy_or_leak()
    gc.collect()
    after = len(list(fd_dir.iterdir()))
    assert after <= before, (before, after)

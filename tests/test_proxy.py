"""cytls proxy: correctness through real clients, load, faults and graceful shutdown."""

import asyncio
import contextlib
import gc
import hashlib
import logging
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from handshakeutil import client_context, credentials, server_context
from interop.peers import require_tool

import cytls
from cytls import aio
from cytls.cli.proxy import Proxy
from cytls.errors import PeerAlert
from cytls.wire.enums import AlertDescription

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
@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_curl_through_the_proxy_gets_the_body(
    http_upstream: int, tmp_path: Path, loop: str
) -> None:
    curl_path = require_tool("curl")
    if loop == "uvloop":
        pytest.importorskip("uvloop", reason="uvloop does not exist on Windows")
    proc, port = start_proxy_process(http_upstream, "--loop", loop)
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
    assert f"({loop} event loop)" in out


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
    no_uvloop = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.modules['uvloop'] = None; from cytls.cli import main; "
            "sys.exit(main(sys.argv[1:]))",
            *("proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--loop", "uvloop"),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert no_uvloop.returncode == 2, no_uvloop.stderr
    assert no_uvloop.stderr.strip() == "cytls proxy: --loop uvloop: uvloop is not installed"
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


# --- the protocol pipe: backpressure, half-close, early data, bad input -----------------------

LOOPS = pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])


def run(main: Callable[[], Awaitable[object]], loop_kind: str = "asyncio") -> object:
    if loop_kind == "uvloop":
        uvloop = pytest.importorskip("uvloop", reason="uvloop does not exist on Windows")
        return uvloop.run(asyncio.wait_for(main(), TIMEOUT))
    return asyncio.run(asyncio.wait_for(main(), TIMEOUT))


def pattern(index: int) -> bytes:
    """Chunk ``index`` of a long stream nobody has to hold in memory."""
    return hashlib.sha256(index.to_bytes(8, "big")).digest() * 2048  # 64 KiB


async def wait_stalled(progress: Callable[[], int], total: int) -> int:
    """Wait until ``progress()`` has not moved for a second; it must stall short of ``total``."""
    last, still = -1, 0
    while still < 4:
        await asyncio.sleep(0.25)
        now = progress()
        still = still + 1 if now == last else 0
        last = now
        assert now < total, "the writer never stalled: nothing pushed back"
    return last


def proxy_buffered(proxy: Proxy) -> int:
    """Bytes the proxy holds in user space for its connections (both transports' buffers)."""
    total = 0
    for pipe in proxy.active:
        for transport in (pipe.client, pipe.upstream):
            if transport is not None:
                total += transport.get_write_buffer_size()
    return total


BACKPRESSURE_BOUND = 1 << 20  # two high-water marks and a read buffer fit well under this


@LOOPS
def test_a_client_that_does_not_read_pauses_the_upstream(loop_kind: str) -> None:
    """The upstream sends 256 MiB; the client reads nothing for a while. The upstream's writes
    must stall (the proxy stops reading it) with the proxy holding under 1 MiB; then the
    client reads all of it, intact."""
    chunks = 4096
    sent = [0]

    async def firehose(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for index in range(chunks):
            writer.write(pattern(index))
            await writer.drain()
            sent[0] += 1 << 16
        writer.close()

    async def main() -> None:
        upstream = await asyncio.start_server(firehose, "127.0.0.1", 0)
        proxy = Proxy(server_context(), ("127.0.0.1", upstream.sockets[0].getsockname()[1]))
        port = (await proxy.start("127.0.0.1", 0)).sockets[0].getsockname()[1]
        reader, writer = await aio.open_connection(
            "127.0.0.1", port, ssl_context=client_context(), server_hostname="localhost"
        )
        await wait_stalled(lambda: sent[0], chunks << 16)
        assert proxy_buffered(proxy) < BACKPRESSURE_BOUND, proxy_buffered(proxy)
        expected, got = hashlib.sha256(), hashlib.sha256()
        for index in range(chunks):
            expected.update(pattern(index))
        received = 0
        while chunk := await reader.read(1 << 16):
            got.update(chunk)
            received += len(chunk)
        assert received == chunks << 16
        assert got.hexdigest() == expected.hexdigest()
        writer.close()
        await proxy.drain_and_stop(grace=5)
        assert not proxy.active
        upstream.close()

    run(main, loop_kind)


@LOOPS
def test_an_upstream_that_does_not_read_pauses_the_client(loop_kind: str) -> None:
    """The other direction: the client's writes stall, the proxy holds under 1 MiB, and once
    the upstream reads, every byte arrives."""
    chunks = 4096
    sent = [0]
    go = asyncio.Event()
    digest: list[str] = []

    async def sluggish(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await go.wait()
        got = hashlib.sha256()
        while chunk := await reader.read(1 << 16):
            got.update(chunk)
        digest.append(got.hexdigest())
        writer.close()

    async def main() -> None:
        nonlocal go
        go = asyncio.Event()
        upstream = await asyncio.start_server(sluggish, "127.0.0.1", 0)
        proxy = Proxy(server_context(), ("127.0.0.1", upstream.sockets[0].getsockname()[1]))
        port = (await proxy.start("127.0.0.1", 0)).sockets[0].getsockname()[1]
        reader, writer = await aio.open_connection(
            "127.0.0.1", port, ssl_context=client_context(), server_hostname="localhost"
        )

        async def send() -> None:
            for index in range(chunks):
                writer.write(pattern(index))
                await writer.drain()
                sent[0] += 1 << 16
            writer.write_eof()

        sender = asyncio.create_task(send())
        await wait_stalled(lambda: sent[0], chunks << 16)
        assert proxy_buffered(proxy) < BACKPRESSURE_BOUND, proxy_buffered(proxy)
        go.set()
        await sender
        assert await reader.read() == b""  # the upstream closed: close_notify
        expected = hashlib.sha256()
        for index in range(chunks):
            expected.update(pattern(index))
        assert digest == [expected.hexdigest()]
        writer.close()
        await proxy.drain_and_stop(grace=5)
        assert not proxy.active
        upstream.close()

    run(main, loop_kind)


async def raw_tls_client(
    port: int,
) -> tuple[cytls.Connection, asyncio.StreamReader, asyncio.StreamWriter]:
    """A sans-I/O client over plain TCP, so that a test decides what goes in each segment.
    Returns once the handshake is complete with the client's Finished still unsent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = cytls.Connection(client_context(), server_hostname="localhost")
    writer.write(conn.data_to_send())
    while not conn.handshake_complete:
        conn.receive_data(await reader.read(1 << 16))
    return conn, reader, writer


async def read_to_end(conn: cytls.Connection, reader: asyncio.StreamReader) -> bytes:
    """Application data until the peer's close_notify (TCP EOF without it fails the read)."""
    received = bytearray()
    while not conn.peer_closed:
        conn.receive_data(await reader.read(1 << 16))
        while conn.pending():
            received += conn.recv()
    return bytes(received)


async def digest_after_eof(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer only once the client has finished sending: needs the half-close to get through."""
    data = await reader.read()
    writer.write(hashlib.sha256(data).hexdigest().encode())
    await writer.drain()
    writer.close()


@LOOPS
def test_client_half_close_reaches_the_upstream_and_the_answer_comes_back(loop_kind: str) -> None:
    payload = os.urandom(300_000)

    async def main() -> None:
        upstream = await asyncio.start_server(digest_after_eof, "127.0.0.1", 0)
        proxy = Proxy(server_context(), ("127.0.0.1", upstream.sockets[0].getsockname()[1]))
        port = (await proxy.start("127.0.0.1", 0)).sockets[0].getsockname()[1]
        reader, writer = await aio.open_connection(
            "127.0.0.1", port, ssl_context=client_context(), server_hostname="localhost"
        )
        writer.write(payload)
        writer.write_eof()  # close_notify; the proxy half-closes the upstream
        assert await reader.read() == hashlib.sha256(payload).hexdigest().encode()
        writer.close()
        await proxy.drain_and_stop(grace=5)
        assert not proxy.active
        upstream.close()

    run(main, loop_kind)


def test_upstream_half_close_reaches_the_client_which_may_still_send() -> None:
    """The upstream sends, then shuts its write side: the client gets close_notify and can still
    send (RFC 8446 §6.1); the upstream receives that too."""

    async def main() -> None:
        received: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        async def greets_first(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"hello, then EOF")
            writer.write_eof()
            received.set_result(await reader.read())
            writer.close()

        upstream = await asyncio.start_server(greets_first, "127.0.0.1", 0)
        proxy = Proxy(server_context(), ("127.0.0.1", upstream.sockets[0].getsockname()[1]))
        port = (await proxy.start("127.0.0.1", 0)).sockets[0].getsockname()[1]
        reader, writer = await aio.open_connection(
            "127.0.0.1", port, ssl_context=client_context(), server_hostname="localhost"
        )
        assert await reader.read() == b"hello, then EOF"  # then close_notify
        writer.write(b"sent after the proxy's close_notify")
        writer.write_eof()
        assert await received == b"sent after the proxy's close_notify"
        await proxy.drain_and_stop(grace=5)
        assert not proxy.active
        writer.close()
        upstream.close()

    run(main)


def test_data_and_close_notify_in_the_handshake_flight_wait_for_the_upstream() -> None:
    """Finished, a request and close_notify in one segment, before the proxy has an upstream
    connection: none of it is lost, and the EOF still reaches the upstream after the data."""

    async def main() -> None:
        upstream = await asyncio.start_server(digest_after_eof, "127.0.0.1", 0)
        proxy = Proxy(server_context(), ("127.0.0.1", upstream.sockets[0].getsockname()[1]))
        port = (await proxy.start("127.0.0.1", 0)).sockets[0].getsockname()[1]
        conn, reader, writer = await raw_tls_client(port)
        conn.send(b"early request")
        conn.close()
        writer.write(conn.data_to_send())  # Finished + application data + close_notify
        answer = await read_to_end(conn, reader)
        assert answer == hashlib.sha256(b"early request").hexdigest().encode()
        writer.close()
        await proxy.drain_and_stop(grace=5)
        assert not proxy.active
        upstream.close()

    run(main)


def test_a_forged_record_gets_bad_record_mac_and_the_proxy_keeps_serving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A record that fails authentication: the client gets the bad_record_mac alert (RFC 8446
    §5.2), its connection and the upstream one close, the log says why, others are served."""
    upstream_saw: list[bytes] = []

    async def recording_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1 << 16):
            upstream_saw.append(data)
            writer.write(data)
            await writer.drain()
        writer.close()

    async def main() -> None:
        upstream = await asyncio.start_server(recording_echo, "127.0.0.1", 0)
        proxy = Proxy(server_context(), ("127.0.0.1", upstream.sockets[0].getsockname()[1]))
        port = (await proxy.start("127.0.0.1", 0)).sockets[0].getsockname()[1]
        conn, reader, writer = await raw_tls_client(port)
        conn.send(b"genuine")
        writer.write(conn.data_to_send())
        echoed = b""
        while echoed != b"genuine":
            conn.receive_data(await reader.read(1 << 16))
            if conn.pending():
                echoed += conn.recv()
        conn.send(b"forged!")
        forged = bytearray(conn.data_to_send())
        forged[-1] ^= 0x01  # the last byte of the AEAD tag
        writer.write(bytes(forged))
        with pytest.raises(PeerAlert) as info:
            while data := await reader.read(1 << 16):
                conn.receive_data(data)
        assert info.value.alert == AlertDescription.bad_record_mac
        assert await reader.read() == b""  # and then the proxy closed the connection
        writer.close()
        payload = b"still serving" * 100
        assert await round_trip(port, payload) == hashlib.sha256(payload).hexdigest()
        await proxy.drain_and_stop(grace=5)
        assert not proxy.active
        upstream.close()
        assert upstream_saw[0] == b"genuine" and b"forged!" not in b"".join(upstream_saw)

    with caplog.at_level(logging.INFO, logger="cytls.cli.proxy"):
        run(main)
    lines = [
        r.getMessage() for r in caplog.records if "ended=error: bad_record_mac" in r.getMessage()
    ]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    assert " in=7 out=7 " in lines[0]


def test_an_unreachable_upstream_closes_the_client_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        proxy = Proxy(server_context(), ("127.0.0.1", _free_port()))  # nothing listens there
        port = (await proxy.start("127.0.0.1", 0)).sockets[0].getsockname()[1]
        reader, writer = await aio.open_connection(
            "127.0.0.1", port, ssl_context=client_context(), server_hostname="localhost"
        )
        writer.write(b"anyone there?")
        assert await asyncio.wait_for(reader.read(), 10) == b""  # close_notify, then closed
        writer.close()
        await proxy.drain_and_stop(grace=5)
        assert not proxy.active

    with caplog.at_level(logging.INFO, logger="cytls.cli.proxy"):
        run(main)
    assert any("ended=upstream unreachable: " in r.getMessage() for r in caplog.records), [
        r.getMessage() for r in caplog.records
    ]

"""The proxy comparison of ``cytls bench``: ``cytls proxy`` against the same proxy written with
asyncio and the ``ssl`` module, both in front of one fast upstream, driven by wrk.

Everything runs on 127.0.0.1 in subprocesses that this module starts and stops. The upstream
answers every HTTP/1.1 request with a fixed body (keep-alive), so it is not the bottleneck.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

UPSTREAM = r"""
import asyncio, sys
size = int(sys.argv[1])
response = (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/octet-stream"
            b"\r\n\r\n" % size) + b"x" * size
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            writer.write(response)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[2]), backlog=1024)
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""

SSL_PROXY = r"""
import asyncio, signal, ssl, sys
listen_port, upstream_port = int(sys.argv[1]), int(sys.argv[2])
certfile, keyfile = sys.argv[3], sys.argv[4]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(certfile, keyfile)
async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()
async def handle(reader, writer):
    try:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
    except OSError:
        writer.close()
        return
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen_port, ssl=context,
                                        backlog=1024)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
asyncio.run(main())
"""


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests_per_second: float
    bytes_per_second: float


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


@contextlib.contextmanager
def running(argv: list[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        wait_listening(port, process)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


_UNITS = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def wrk(port: int, *, seconds: int, connections: int) -> LoadResult:
    """One wrk run against https://127.0.0.1:PORT/ (wrk does not verify certificates)."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    out = subprocess.run(  # noqa: S603
        [binary, "-t1", f"-c{connections}", f"-d{seconds}s", f"https://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    requests = re.search(r"Requests/sec:\s+([\d.]+)", out)
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", out)
    if requests is None or transfer is None or "Non-2xx" in out:
        raise RuntimeError(f"wrk did not report cleanly:\n{out}")
    return LoadResult(
        float(requests.group(1)), float(transfer.group(1)) * _UNITS[transfer.group(2)]
    )


def measure(
    certfile: str, keyfile: str, *, body: int, seconds: int, connections: int, rounds: int
) -> tuple[list[LoadResult], list[LoadResult]]:
    """Alternate wrk runs through the cytls proxy and the asyncio+ssl proxy."""
    upstream_port, cytls_port, ssl_port = free_port(), free_port(), free_port()
    python = sys.executable
    with (
        running([python, "-c", UPSTREAM, str(body), str(upstream_port)], upstream_port),
        running(
            [
                python,
                "-m",
                "cytls",
                "proxy",
                "--listen",
                f"127.0.0.1:{cytls_port}",
                "--upstream",
                f"127.0.0.1:{upstream_port}",
                "--cert",
                certfile,
                "--key",
                keyfile,
            ],
            cytls_port,
        ),
        running(
            [python, "-c", SSL_PROXY, str(ssl_port), str(upstream_port), certfile, keyfile],
            ssl_port,
        ),
    ):
        wrk(cytls_port, seconds=1, connections=connections)  # warm-up (wrk takes whole seconds)
        wrk(ssl_port, seconds=1, connections=connections)
        ours, theirs = [], []
        for _ in range(rounds):
            ours.append(wrk(cytls_port, seconds=seconds, connections=connections))
            theirs.append(wrk(ssl_port, seconds=seconds, connections=connections))
    return ours, theirs

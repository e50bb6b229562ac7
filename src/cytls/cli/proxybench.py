"""The proxy comparison of ``cytls bench``: ``cytls proxy`` against the same proxy written with
asyncio and the ``ssl`` module, all in front of one fast upstream, driven by wrk.

There are two ``ssl`` twins. The streams one is the straightforward program: ``start_server``
with ``ssl=``, and a read/write/drain loop each way. The protocol one is as lean as
``cytls proxy`` itself: ``loop.create_server`` with ``ssl=``, each side's ``data_received``
writing to the other side's transport, ``pause_writing`` pausing the other side's reading. It
is the strongest honest baseline; cytls is reported against both.

Everything runs on 127.0.0.1 in subprocesses that this module starts and stops, all on one kind
of event loop (asyncio's, or uvloop: a comparison of event loops would not be one of TLS). The
upstream answers every HTTP/1.1 request with a fixed body (keep-alive) from a protocol, so it
costs less than either proxy. Runs alternate between the proxies; each one also records the
proxy process's CPU time per request, a figure that other load on the machine disturbs far less
than throughput.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

# Every script below ends with run(main()): asyncio.run, or uvloop's when its last argument
# says "uvloop".
PRELUDE = r"""
import asyncio, sys
def run(main):
    if sys.argv[-1] == "uvloop":
        import uvloop
        return uvloop.run(main)
    return asyncio.run(main)
"""

UPSTREAM = (
    PRELUDE
    + r"""
size, port = int(sys.argv[1]), int(sys.argv[2])
response = (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/octet-stream"
            b"\r\n\r\n" % size) + b"x" * size
class Server(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.partial = transport, b""
    def data_received(self, data):
        data = self.partial + data
        requests = data.count(b"\r\n\r\n")  # wrk sends GETs without bodies
        if requests:
            self.transport.write(response * requests)
            data = data[data.rindex(b"\r\n\r\n") + 4:]
        self.partial = data
async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Server, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()
run(main())
"""
)

SSL_PROXY = (
    PRELUDE
    + r"""
import signal, ssl
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
run(main())
"""
)

SSL_PROTOCOL_PROXY = (
    PRELUDE
    + r"""
import signal, ssl
listen_port, upstream_port = int(sys.argv[1]), int(sys.argv[2])
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[3], sys.argv[4])
class Upstream(asyncio.Protocol):
    def __init__(self, client):
        self.client = client
    def connection_made(self, transport):
        self.client.upstream_made(transport)
    def data_received(self, data):
        if self.client.transport is not None:
            self.client.transport.write(data)
    def eof_received(self):
        self.client.upstream_eof()
        return True
    def connection_lost(self, exc):
        self.client.upstream = None
        self.client.close()
    def pause_writing(self):
        if self.client.transport is not None:
            self.client.transport.pause_reading()
    def resume_writing(self):
        if self.client.transport is not None:
            self.client.transport.resume_reading()
class Client(asyncio.Protocol):
    transport = upstream = None
    client_eof = False
    def connection_made(self, transport):
        self.transport, self.early = transport, []
        transport.pause_reading()
        self.connecting = asyncio.ensure_future(self.connect())
    async def connect(self):
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(lambda: Upstream(self), "127.0.0.1", upstream_port)
        except OSError:
            self.close()
        else:
            if self.transport is not None:
                self.transport.resume_reading()
    def upstream_made(self, transport):
        if self.transport is None:
            transport.close()
            return
        self.upstream = transport
        transport.writelines(self.early)
        if self.client_eof:
            transport.write_eof()
    def data_received(self, data):
        if self.upstream is not None:
            self.upstream.write(data)
        else:
            self.early.append(data)
    def eof_received(self):  # close_notify: asyncio's SSL protocol then shuts down
        self.client_eof = True
        if self.upstream is not None:
            self.upstream.write_eof()
    def upstream_eof(self):  # asyncio's SSL transports cannot half-close
        self.close()
    def connection_lost(self, exc):
        self.transport = None
        self.close()
    def pause_writing(self):
        if self.upstream is not None:
            self.upstream.pause_reading()
    def resume_writing(self):
        if self.upstream is not None:
            self.upstream.resume_reading()
    def close(self):
        for transport in (self.transport, self.upstream):
            if transport is not None:
                transport.close()
async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Client, "127.0.0.1", listen_port, ssl=context,
                                      backlog=1024)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
run(main())
"""
)

PROXIES = ("cytls", "ssl protocols", "ssl streams")
"""What ``measure`` compares: cytls proxy, then the protocol twin, then the streams twin."""


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests_per_second: float
    bytes_per_second: float
    cpu_per_request: float | None = None
    """Seconds of the proxy process's CPU time (user + system) per request; None where
    /proc/PID/stat does not exist."""


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


def wrk(port: int, *, seconds: int, connections: int, pid: int | None = None) -> LoadResult:
    """One wrk run against https://127.0.0.1:PORT/ (wrk does not verify certificates); with
    ``pid``, the CPU time that process spent per request during the run."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    cpu_before = cpu_seconds(pid) if pid is not None else None
    out = subprocess.run(  # noqa: S603
        [binary, "-t1", f"-c{connections}", f"-d{seconds}s", f"https://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    cpu_after = cpu_seconds(pid) if pid is not None else None
    count = re.search(r"(\d+) requests in", out)
    requests = re.search(r"Requests/sec:\s+([\d.]+)", out)
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", out)
    if count is None or requests is None or transfer is None or "Non-2xx" in out:
        raise RuntimeError(f"wrk did not report cleanly:\n{out}")
    cpu = None
    if cpu_before is not None and cpu_after is not None and int(count.group(1)):
        cpu = (cpu_after - cpu_before) / int(count.group(1))
    return LoadResult(
        float(requests.group(1)), float(transfer.group(1)) * _UNITS[transfer.group(2)], cpu
    )


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` so far (Linux), else None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def measure(
    certfile: str,
    keyfile: str,
    *,
    body: int,
    seconds: int,
    connections: int,
    rounds: int,
    loop: str = "asyncio",
    warm_up: bool = True,
) -> dict[str, list[LoadResult]]:
    """wrk through each of :data:`PROXIES` in turn, ``rounds`` times (the order reversed every
    other round), after a one-second warm-up run each; everything on the ``loop`` event loop."""
    python = sys.executable
    upstream_port = free_port()
    ports = {name: free_port() for name in PROXIES}
    argv = {
        "cytls": [
            *(python, "-m", "cytls", "proxy", "--loop", loop),
            *("--listen", f"127.0.0.1:{ports['cytls']}"),
            *("--upstream", f"127.0.0.1:{upstream_port}", "--cert", certfile, "--key", keyfile),
        ],
        "ssl protocols": [python, "-c", SSL_PROTOCOL_PROXY, str(ports["ssl protocols"])],
        "ssl streams": [python, "-c", SSL_PROXY, str(ports["ssl streams"])],
    }
    for name in ("ssl protocols", "ssl streams"):
        argv[name] += [str(upstream_port), certfile, keyfile, loop]
    results: dict[str, list[LoadResult]] = {name: [] for name in PROXIES}
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            running([python, "-c", UPSTREAM, str(body), str(upstream_port), loop], upstream_port)
        )
        pids = {name: stack.enter_context(running(argv[name], ports[name])).pid for name in PROXIES}
        for name in PROXIES if warm_up else ():  # wrk takes whole seconds
            wrk(ports[name], seconds=1, connections=connections)
        for round_number in range(rounds):
            order = PROXIES if round_number % 2 == 0 else PROXIES[::-1]
            for name in order:
                results[name].append(
                    wrk(ports[name], seconds=seconds, connections=connections, pid=pids[name])
                )
    return results

"""``cytls proxy``: TLS termination in front of a TCP service, on the cytls.aio fast path.

Each accepted TLS connection gets one upstream TCP connection. The two are joined by protocols,
not streams: each side's read callback writes straight to the other side's transport, and a full
write buffer on one side pauses reading on the other (backpressure end to end). One log line per
connection. SIGINT/SIGTERM stop accepting, let open connections finish, and exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import ipaddress
import logging
import os
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from cytls import aio
from cytls.context import PROTOCOL_TLS_SERVER, TLSContext

log = logging.getLogger("cytls.cli.proxy")
COPY_CHUNK = 1 << 16


@dataclass
class ProxyStats:
    """What the log line says about one connection."""

    peer: str
    started: float = field(default_factory=time.monotonic)
    sni: str | None = None
    version: str | None = None
    suite: str | None = None
    bytes_in: int = 0  # client -> upstream
    bytes_out: int = 0  # upstream -> client
    ended: str = "closed"

    def line(self) -> str:
        duration = time.monotonic() - self.started
        return (
            f"peer={self.peer} sni={self.sni or '-'} version={self.version or '-'} "
            f"suite={self.suite or '-'} in={self.bytes_in} out={self.bytes_out} "
            f"duration={duration:.3f}s ended={self.ended}"
        )


class Proxy:
    """The listening side and the bookkeeping for graceful shutdown."""

    def __init__(
        self,
        context: TLSContext,
        upstream: tuple[str, int],
        *,
        max_connections: int = 10000,
    ) -> None:
        self.context = context
        self.upstream = upstream
        self.max_connections = max_connections
        self.active: set[_Pipe] = set()
        self.server: asyncio.Server | None = None
        self.connections = 0

    async def start(self, host: str, port: int, *, reuse_port: bool = False) -> asyncio.Server:
        self.server = await aio.create_server(
            lambda: _Pipe(self), host, port, ssl_context=self.context, reuse_port=reuse_port or None
        )
        return self.server

    async def drain_and_stop(self, grace: float = 30.0) -> None:
        """Stop accepting; wait (at most ``grace`` seconds) for open connections to finish."""
        if self.server is not None:
            self.server.close()
        if self.active:
            await asyncio.wait({pipe.finished for pipe in self.active}, timeout=grace)


class _Pipe(asyncio.Protocol):
    """One client connection (plaintext, under :class:`cytls.aio.TLSProtocol`) and its upstream.

    Bytes go straight from one side's read callback to the other side's ``transport.write``: no
    task, future or stream per chunk. Backpressure is the transports' own: when one side's write
    buffer passes its high-water mark (``pause_writing``), reading from the other side pauses
    until it drains. EOF from either side is passed on as a half-close (close_notify towards the
    client); the connection ends when both directions have ended or either side fails.
    """

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.client: asyncio.Transport | None = None
        self.upstream: asyncio.Transport | None = None
        self.stats = ProxyStats(peer="?")
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._client_eof = False
        self._upstream_eof = False
        self._connecting: asyncio.Task[None] | None = None
        self._early: list[bytes] = []  # what arrived with the handshake, before the upstream

    # --- the client side (called by TLSProtocol once the handshake completes) ----------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        client = self.client = cast(asyncio.Transport, transport)
        proxy, stats = self.proxy, self.stats
        peer = client.get_extra_info("peername")
        stats.peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        conn = client.get_extra_info("ssl_object")
        if conn is not None:
            stats.sni, stats.version = conn.server_name, conn.version()
            cipher = conn.cipher()
            stats.suite = cipher[0] if cipher else None
        proxy.connections += 1
        proxy.active.add(self)
        if len(proxy.active) > proxy.max_connections:
            stats.ended = "refused: connection limit"
            client.close()
            return
        client.pause_reading()  # until the upstream is connected
        self._connecting = asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(lambda: _Upstream(self), *self.proxy.upstream)
        except OSError as exc:
            self._connecting = None
            self._end(f"upstream unreachable: {exc.strerror or exc}")
            return
        self._connecting = None
        client = self.client
        if client is not None and not client.is_closing():
            client.resume_reading()

    def data_received(self, data: bytes) -> None:
        self.stats.bytes_in += len(data)
        upstream = self.upstream
        if upstream is not None:
            upstream.write(data)
        else:  # bounded: reading is paused until the upstream is connected
            self._early.append(data)

    def eof_received(self) -> bool:
        """The client sent close_notify: half-close towards the upstream, keep the rest open."""
        self._client_eof = True
        upstream = self.upstream
        if self._upstream_eof:
            self._end()
        elif upstream is not None:  # else upstream_made passes it on
            upstream.write_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self._end(f"error: {exc}")
        self.client = None
        self._end()

    def pause_writing(self) -> None:  # the client reads slower than the upstream sends
        if self.upstream is not None:
            self.upstream.pause_reading()

    def resume_writing(self) -> None:
        if self.upstream is not None:
            self.upstream.resume_reading()

    # --- the upstream side (called by _Upstream) ---------------------------------------------

    def upstream_made(self, transport: asyncio.Transport) -> None:
        if self.client is None:  # the client went away while we connected
            transport.close()
            return
        self.upstream = transport
        if self._early:
            transport.writelines(self._early)
            self._early.clear()
        if self._client_eof:
            transport.write_eof()

    def upstream_data(self, data: bytes | memoryview) -> None:
        self.stats.bytes_out += len(data)
        client = self.client
        if client is not None:
            client.write(data)

    def upstream_eof(self) -> None:
        if self._upstream_eof:  # asyncio reports EOF again if reading is resumed after it
            return
        self._upstream_eof = True
        client = self.client
        if self._client_eof or client is None:
            self._end()
        else:
            client.write_eof()  # close_notify; the client may still send (RFC 8446 §6.1)

    def upstream_lost(self, exc: Exception | None) -> None:
        self.upstream = None
        self._end(f"error: {exc}" if exc is not None else None)

    # --- the end --------------------------------------------------------------------------

    def _end(self, reason: str | None = None) -> None:
        """Close both sides (idempotent); log once both are gone."""
        if reason is not None and self.stats.ended == "closed":
            self.stats.ended = reason
        if self._connecting is not None:
            self._connecting.cancel()
        for transport in (self.client, self.upstream):
            if transport is not None and not transport.is_closing():
                transport.close()
        if self.client is None and self.upstream is None and not self.finished.done():
            self.finished.set_result(None)
            self.proxy.active.discard(self)
            log.info(self.stats.line())


class _Upstream(asyncio.BufferedProtocol):
    """The plaintext connection to the upstream, reading into one reusable buffer."""

    def __init__(self, pipe: _Pipe) -> None:
        self.pipe = pipe
        self.view = memoryview(bytearray(COPY_CHUNK))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.pipe.upstream_made(cast(asyncio.Transport, transport))

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        # The TLS side seals (copies) the bytes at once, so the buffer can be reused.
        self.pipe.upstream_data(self.view[:nbytes])

    def eof_received(self) -> bool:
        self.pipe.upstream_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.pipe.upstream_lost(exc)

    def pause_writing(self) -> None:  # the upstream reads slower than the client sends
        if self.pipe.client is not None:
            self.pipe.client.pause_reading()

    def resume_writing(self) -> None:
        if self.pipe.client is not None:
            self.pipe.client.resume_reading()


def ephemeral_certificate(name: str, directory: str) -> tuple[str, str, str]:
    """A self-signed ECDSA P-256 certificate for ``name``; returns (cert, key, SHA-256)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    try:
        alt_name: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        alt_name = x509.DNSName(name)
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([alt_name]), critical=False)
        .sign(key, hashes.SHA256())
    )
    certfile = os.path.join(directory, "proxy-cert.pem")
    keyfile = os.path.join(directory, "proxy-key.pem")
    der = certificate.public_bytes(serialization.Encoding.DER)
    with open(certfile, "wb") as out:
        out.write(certificate.public_bytes(serialization.Encoding.PEM))
    with open(os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return certfile, keyfile, hashlib.sha256(der).hexdigest()


def loop_factory(kind: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop for ``--loop``: "auto" takes uvloop when it is installed (its transports
    are C, and they are most of what is left per request), else asyncio's own (None)."""
    if kind == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if kind == "uvloop":
            raise ValueError("--loop uvloop: uvloop is not installed") from None
        return None
    return cast(Callable[[], asyncio.AbstractEventLoop], uvloop.new_event_loop)


async def serve(
    listen: tuple[str, int],
    upstream: tuple[str, int],
    context: TLSContext,
    *,
    max_connections: int,
    reuse_port: bool = False,
    ready: asyncio.Future[int] | None = None,
) -> None:
    """Run until SIGINT/SIGTERM, then drain and return."""
    proxy = Proxy(context, upstream, max_connections=max_connections)
    server = await proxy.start(*listen, reuse_port=reuse_port)
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    loop_name = type(loop).__module__.split(".")[0]  # "asyncio" or "uvloop"
    log.info(
        f"listening on {listen[0]}:{port}, forwarding to {upstream[0]}:{upstream[1]} "
        f"({loop_name} event loop)"
    )
    if ready is not None:
        ready.set_result(port)
    await stop.wait()
    log.info(f"shutting down: waiting for {len(proxy.active)} open connection(s)")
    await proxy.drain_and_stop()
    log.info("stopped")


def build_context(
    listen_host: str, cert: str | None, key: str | None, alpn: list[str] | None
) -> tuple[TLSContext, str | None, str | None]:
    """The server context; with no certificate, an ephemeral one (returns its fingerprint)."""
    context = TLSContext(PROTOCOL_TLS_SERVER)
    fingerprint = None
    directory = None
    if cert is None:
        directory = tempfile.mkdtemp(prefix="cytls-proxy-")
        cert, key, fingerprint = ephemeral_certificate(listen_host, directory)
    context.load_cert_chain(cert, key)
    if alpn:
        context.set_alpn_protocols(alpn)
    return context, fingerprint, directory

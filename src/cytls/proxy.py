"""``cytls proxy``: TLS termination in front of a TCP service, on the cytls.aio fast path.

Each accepted TLS connection gets one upstream TCP connection; bytes are copied both ways with
``drain()``, so a slow reader on either side pauses the other (backpressure end to end). One log
line per connection. SIGINT/SIGTERM stop accepting, let open connections finish, and exit 0.
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
from dataclasses import dataclass, field

from cytls import aio
from cytls.context import PROTOCOL_TLS_SERVER, TLSContext

log = logging.getLogger("cytls.proxy")
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
        self.active: set[asyncio.Task[None]] = set()
        self.server: asyncio.Server | None = None
        self.connections = 0

    async def start(self, host: str, port: int, *, reuse_port: bool = False) -> asyncio.Server:
        self.server = await aio.start_server(
            self._handle, host, port, ssl_context=self.context, reuse_port=reuse_port or None
        )
        return self.server

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.active.add(task)
        peer = writer.get_extra_info("peername")
        stats = ProxyStats(peer=f"{peer[0]}:{peer[1]}" if peer else "?")
        conn = writer.get_extra_info("ssl_object")
        if conn is not None:
            stats.sni, stats.version = conn.server_name, conn.version()
            cipher = conn.cipher()
            stats.suite = cipher[0] if cipher else None
        self.connections += 1
        try:
            if len(self.active) > self.max_connections:
                stats.ended = "refused: connection limit"
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            except OSError as exc:
                stats.ended = f"upstream unreachable: {exc.strerror or exc}"
                return
            try:
                await asyncio.gather(
                    self._pipe(reader, up_writer, stats, "bytes_in"),
                    self._pipe(up_reader, writer, stats, "bytes_out"),
                )
            finally:
                up_writer.close()
        except (ConnectionError, OSError) as exc:
            stats.ended = f"error: {exc}"
        except Exception as exc:  # one connection's failure must not stop the proxy
            stats.ended = f"error: {type(exc).__name__}: {exc}"
        finally:
            writer.close()
            self.active.discard(task)
            log.info(stats.line())

    @staticmethod
    async def _pipe(
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        stats: ProxyStats,
        counter: str,
    ) -> None:
        """Copy until EOF; drain() is the backpressure. EOF is passed on as a half-close."""
        while data := await source.read(COPY_CHUNK):
            sink.write(data)
            setattr(stats, counter, getattr(stats, counter) + len(data))
            await sink.drain()
        if sink.can_write_eof():
            with contextlib.suppress(OSError, RuntimeError):
                sink.write_eof()

    async def drain_and_stop(self, grace: float = 30.0) -> None:
        """Stop accepting; wait (at most ``grace`` seconds) for open connections to finish."""
        if self.server is not None:
            self.server.close()
        if self.active:
            await asyncio.wait(set(self.active), timeout=grace)


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
    log.info(f"listening on {listen[0]}:{port}, forwarding to {upstream[0]}:{upstream[1]}")
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

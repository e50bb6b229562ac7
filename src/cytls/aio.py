"""asyncio on the fast path: streams over a BufferedProtocol that feeds the sans-I/O Connection.

``asyncio.open_connection(ssl=context)`` works with a TLSContext too (asyncio only needs
``wrap_bio``), but goes through MemoryBIO copies and asyncio's SSL state machine. Here the
socket's bytes land in one reusable buffer and go straight into :class:`cytls.Connection`;
the application gets the standard ``asyncio.StreamReader``/``StreamWriter``.

    reader, writer = await cytls.aio.open_connection("example.com", 443, ssl_context=context)
    server = await cytls.aio.start_server(handle, "127.0.0.1", 8443, ssl_context=context)
    server = await cytls.aio.create_server(MyProtocol, "127.0.0.1", 8443, ssl_context=context)

Flow control passes through: a full socket pauses the writer (``drain()`` waits), a full
StreamReader pauses reading the socket. ``writer.write_eof()`` sends close_notify and keeps
reading (half-close); ``writer.close()`` sends close_notify and closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, cast

from cytls.connection import Connection
from cytls.context import TLSContext
from cytls.errors import TLSError, WantReadError
from cytls.events import ConnectionClosed, HandshakeComplete

RECEIVE_BUFFER_SIZE = 1 << 16
STREAM_LIMIT = 1 << 16


class _TLSTransport(asyncio.Transport):
    """What the application protocol sees: plaintext in, plaintext out."""

    def __init__(self, tls: TLSProtocol) -> None:
        super().__init__()
        self._tls = tls
        self._closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        conn = self._tls.conn
        # No "sslcontext": asyncio's StreamReaderProtocol closes SSL transports at EOF, and
        # this transport supports half-close (writing after the peer's close_notify).
        info = {
            "tls_context": conn.context if conn else None,
            "ssl_object": conn,
            "cipher": conn.cipher() if conn else None,
            "peercert_der": conn.peer_certificates if conn else None,
            "tls_connection": conn,
            "tls_version": conn.version() if conn else None,
            "alpn_protocol": conn.selected_alpn_protocol() if conn else None,
        }
        if name in info:
            return info[name]
        transport = self._tls.transport
        return transport.get_extra_info(name, default) if transport else default

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closing:
            return
        self._tls.send(data)

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def write_eof(self) -> None:
        """Send close_notify; we keep reading until the peer closes (RFC 8446 §6.1)."""
        self._tls.close_notify()

    def can_write_eof(self) -> bool:
        return True

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            self._tls.close_notify()
            if self._tls.transport is not None:
                self._tls.transport.close()

    def abort(self) -> None:
        self._closing = True
        if self._tls.transport is not None:
            self._tls.transport.abort()

    def is_closing(self) -> bool:
        return self._closing or self._tls.transport is None or self._tls.transport.is_closing()

    def pause_reading(self) -> None:
        if self._tls.transport is not None:
            self._tls.transport.pause_reading()

    def resume_reading(self) -> None:
        if self._tls.transport is not None:
            self._tls.transport.resume_reading()

    def is_reading(self) -> bool:
        transport = self._tls.transport
        return transport is not None and transport.is_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        if self._tls.transport is not None:
            self._tls.transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        transport = self._tls.transport
        return transport.get_write_buffer_size() if transport is not None else 0

    def get_write_buffer_limits(self) -> tuple[int, int]:
        transport = self._tls.transport
        return transport.get_write_buffer_limits() if transport is not None else (0, 0)


class TLSProtocol(asyncio.BufferedProtocol):
    """Between the socket transport and an application protocol (e.g. StreamReaderProtocol).

    The application protocol is connected once the handshake completes; until then nothing
    but the handshake crosses.
    """

    def __init__(
        self,
        context: TLSContext,
        app_protocol: asyncio.BaseProtocol,
        *,
        server_side: bool,
        server_hostname: str | None = None,
        handshake_done: asyncio.Future[None] | None = None,
    ) -> None:
        self.context = context
        self.app_protocol = app_protocol
        self.server_side = server_side
        self.server_hostname = server_hostname
        self.handshake_done = handshake_done
        self.transport: asyncio.Transport | None = None
        self.conn: Connection | None = None
        self.app_transport = _TLSTransport(self)
        self._buffer = bytearray(RECEIVE_BUFFER_SIZE)
        self._view = memoryview(self._buffer)
        self._app_connected = False
        self._closed_by_peer = False

    # --- socket side ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        try:
            self.conn = Connection(
                self.context, server_side=self.server_side, server_hostname=self.server_hostname
            )
        except (TLSError, ValueError) as exc:
            self._fail(exc)
            return
        self._flush()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        conn = self.conn
        if conn is None:
            return
        try:
            conn.receive_data(self._view[:nbytes])
        except (TLSError, ValueError) as exc:
            self._flush()  # the alert (RFC 8446 §6.2)
            self._fail(exc)
            return
        self._flush()  # handshake messages, KeyUpdate or close_notify replies
        self._dispatch()

    def eof_received(self) -> bool | None:
        conn = self.conn
        if conn is not None and not self._closed_by_peer:
            try:
                conn.receive_data(b"")
            except TLSError as exc:  # EOF during the handshake
                self._fail(exc)
                return False
            if self._app_connected:
                # EOF without close_notify: report truncation to the reader (ssl's SSLEOFError).
                try:
                    conn.recv()
                except WantReadError:
                    pass
                except TLSError as exc:
                    self._fail(exc)
                    return False
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.handshake_done is not None and not self.handshake_done.done():
            self.handshake_done.set_exception(exc or ConnectionResetError("connection lost"))
        if self._app_connected:
            self.app_protocol.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._app_connected:
            self.app_protocol.pause_writing()

    def resume_writing(self) -> None:
        if self._app_connected:
            self.app_protocol.resume_writing()

    # --- application side -------------------------------------------------------------------

    def send(self, data: bytes | bytearray | memoryview) -> None:
        assert self.conn is not None
        self.conn.send(data)
        self._flush()  # all records of this write in one transport.write

    def close_notify(self) -> None:
        if self.conn is not None and self.transport is not None:
            self.conn.close()
            self._flush()

    # --- internals --------------------------------------------------------------------------

    def _flush(self) -> None:
        conn = self.conn
        if conn is not None and self.transport is not None:
            data = conn.data_to_send()
            if data:
                self.transport.write(data)

    def _dispatch(self) -> None:
        conn = self.conn
        assert conn is not None
        closed_now = False
        while (event := conn.next_event()) is not None:
            if isinstance(event, HandshakeComplete) and not self._app_connected:
                self._app_connected = True
                self.app_protocol.connection_made(self.app_transport)
                if self.handshake_done is not None and not self.handshake_done.done():
                    self.handshake_done.set_result(None)
            elif isinstance(event, ConnectionClosed):
                self._closed_by_peer = closed_now = True
        if not self._app_connected:
            return
        protocol = cast(asyncio.Protocol, self.app_protocol)
        if conn.pending():  # recv() takes all of it: one data_received per read
            protocol.data_received(conn.recv())
        if closed_now:  # once: bytes after close_notify are ignored (RFC 8446 §6.1)
            keep_open = protocol.eof_received()
            if not keep_open and self.transport is not None:
                self.close_notify()
                self.transport.close()

    def _fail(self, exc: BaseException) -> None:
        if self.handshake_done is not None and not self.handshake_done.done():
            self.handshake_done.set_exception(exc)
        if self._app_connected and isinstance(exc, Exception):
            self.app_protocol.connection_lost(exc)
            self._app_connected = False
        if self.transport is not None:
            self.transport.close()


async def open_connection(
    host: str,
    port: int,
    *,
    ssl_context: TLSContext,
    server_hostname: str | None = None,
    limit: int = STREAM_LIMIT,
    **kwargs: Any,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect, complete the handshake, and return the standard stream pair."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=limit, loop=loop)
    stream_protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    handshake_done: asyncio.Future[None] = loop.create_future()
    name = server_hostname if server_hostname is not None else host
    _, tls = await loop.create_connection(
        lambda: TLSProtocol(
            ssl_context,
            stream_protocol,
            server_side=False,
            server_hostname=name,
            handshake_done=handshake_done,
        ),
        host,
        port,
        **kwargs,
    )
    await handshake_done
    writer = asyncio.StreamWriter(tls.app_transport, stream_protocol, reader, loop)
    return reader, writer


async def create_server(
    protocol_factory: Callable[[], asyncio.BaseProtocol],
    host: str | None = None,
    port: int | None = None,
    *,
    ssl_context: TLSContext,
    **kwargs: Any,
) -> asyncio.Server:
    """Serve TLS to protocols, as ``loop.create_server(factory, ssl=context)`` does.

    Each protocol's ``connection_made`` runs once its handshake completes; its transport carries
    plaintext (and supports ``write_eof``: close_notify, then keep reading).
    """
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: TLSProtocol(ssl_context, protocol_factory(), server_side=True), host, port, **kwargs
    )


async def start_server(
    client_connected_cb: Callable[
        [asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None] | None
    ],
    host: str | None = None,
    port: int | None = None,
    *,
    ssl_context: TLSContext,
    limit: int = STREAM_LIMIT,
    **kwargs: Any,
) -> asyncio.Server:
    """Serve TLS; ``client_connected_cb`` gets the streams once each handshake completes."""
    loop = asyncio.get_running_loop()

    def factory() -> asyncio.StreamReaderProtocol:
        reader = asyncio.StreamReader(limit=limit, loop=loop)
        return asyncio.StreamReaderProtocol(reader, client_connected_cb, loop=loop)

    return await create_server(factory, host, port, ssl_context=ssl_context, **kwargs)

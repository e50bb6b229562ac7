"""TLSSocket: the sans-I/O :class:`~cytls.connection.Connection` over a ``socket.socket``,
behaving like ``ssl.SSLSocket`` for TLS 1.3.

Like ``ssl.SSLSocket`` it *is* a ``socket.socket`` (it takes over the wrapped socket's file
descriptor), so ``select``/``selectors``, ``socket.makefile``, ``settimeout``, ``fileno`` and
``isinstance(sock, socket.socket)`` checks work unchanged. The socket's mode is kept:

* blocking: every call blocks until done;
* timeout (``settimeout(t)``): each wait on the socket is bounded by ``t`` and raises
  ``TimeoutError`` (``socket.timeout``), as ``ssl`` does;
* non-blocking: ``ssl.SSLWantReadError`` / ``ssl.SSLWantWriteError``; retry the same call when
  the socket is ready. Records that the socket did not take yet are kept and flushed first by
  the next ``send``/``recv``/``do_handshake``.

``recv`` returns ``b""`` once the peer sent close_notify; an EOF without close_notify reads as
``b""`` too with ``suppress_ragged_eofs=True`` (the default) and raises
:class:`cytls.TruncationError` (an ``ssl.SSLEOFError``) otherwise.

Not thread-safe beyond what the record layer allows: one thread reading while another writes
works only as long as reading produces nothing to send (a KeyUpdate request does).
"""

from __future__ import annotations

import contextlib
import errno
import socket
import ssl
from typing import TYPE_CHECKING, Any, NoReturn

from cryptography import x509

from cytls.connection import Connection
from cytls.context import TLSContext
from cytls.errors import TruncationError, WantReadError
from cytls.session import Session, check_session
from cytls.x509.peercert import certificate_to_dict

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["TLSSocket", "wrap_socket"]

_RECV_SIZE = 65536
_SEND_CHUNK = 256 * 1024  # plaintext sealed per send() call in blocking and timeout modes
_NONBLOCKING_SEND_CHUNK = 16384  # one record: bounds what we buffer when the socket is full
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)


def wrap_socket(
    context: TLSContext,
    sock: socket.socket,
    *,
    server_side: bool = False,
    do_handshake_on_connect: bool = True,
    suppress_ragged_eofs: bool = True,
    server_hostname: str | None = None,
    session: Session | None = None,
) -> TLSSocket:
    """``ssl.SSLContext.wrap_socket`` for a :class:`~cytls.TLSContext`."""
    return TLSSocket._create(
        sock,
        context,
        server_side=server_side,
        do_handshake_on_connect=do_handshake_on_connect,
        suppress_ragged_eofs=suppress_ragged_eofs,
        server_hostname=server_hostname,
        session=session,
    )


class _Framer:
    """Tracks TLS record boundaries in the byte stream fed to the Connection, so that
    ``unwrap`` can read exactly up to the peer's close_notify and no further."""

    __slots__ = ("_body_left", "_header")

    def __init__(self) -> None:
        self._header = bytearray()
        self._body_left = 0

    def feed(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._body_left:
                taken = min(self._body_left, len(view))
                self._body_left -= taken
                view = view[taken:]
                continue
            taken = min(5 - len(self._header), len(view))
            self._header += view[:taken]
            view = view[taken:]
            if len(self._header) == 5:
                self._body_left = int.from_bytes(self._header[3:5], "big")
                self._header.clear()

    def needed(self) -> int:
        """Bytes that finish the current record header or body (5 at a record boundary)."""
        return self._body_left or 5 - len(self._header)


class TLSSocket(socket.socket):
    """A TLS 1.3 connection over a stream socket, with ``ssl.SSLSocket``'s interface."""

    _conn: Connection | None
    _context: TLSContext
    server_side: bool
    server_hostname: str | None
    do_handshake_on_connect: bool
    suppress_ragged_eofs: bool
    _outgoing: bytearray
    _framer: _Framer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(
            f"{type(self).__name__} does not have a public constructor. "
            "Instances are returned by TLSContext.wrap_socket()."
        )

    @classmethod
    def _create(
        cls,
        sock: socket.socket,
        context: TLSContext,
        *,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | None = None,
        session: Session | None = None,
    ) -> TLSSocket:
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) != socket.SOCK_STREAM:
            raise NotImplementedError("only stream sockets are supported")
        if server_side and server_hostname:
            raise ValueError("server_hostname can only be specified in client mode")
        check_session(session)
        timeout = sock.gettimeout()
        self = cls.__new__(cls)
        socket.socket.__init__(self, sock.family, sock.type, sock.proto, fileno=sock.detach())
        self.settimeout(timeout)
        self._context = context
        self.server_side = server_side
        self.server_hostname = server_hostname
        self.do_handshake_on_connect = do_handshake_on_connect
        self.suppress_ragged_eofs = suppress_ragged_eofs
        self._conn = None
        self._session = session
        self._outgoing = bytearray()
        self._framer = _Framer()
        self._unwrapped = False
        try:
            self.getpeername()
        except OSError as exc:
            if exc.errno != errno.ENOTCONN:
                raise
            return self  # a listening server socket, or a client that will connect()
        try:
            self._start(do_handshake_on_connect)
        except (OSError, ValueError):
            self.close()
            raise
        return self

    def _start(self, handshake: bool) -> None:
        self._conn = Connection(
            self._context,
            server_side=self.server_side,
            server_hostname=self.server_hostname,
            session=self._session,
            events=False,  # ssl.SSLSocket reports none
        )
        if handshake:
            if self.gettimeout() == 0.0:
                raise ValueError(
                    "do_handshake_on_connect should not be specified for non-blocking sockets"
                )
            self.do_handshake()

    # --- attributes as ssl.SSLSocket has them ---------------------------------------------------

    @property
    def context(self) -> TLSContext:
        return self._context

    @context.setter
    def context(self, context: TLSContext) -> None:
        self._context = context
        if self._conn is not None:
            self._conn.context = context

    @property
    def session(self) -> Session | None:
        """The newest session ticket received, or the one to resume (as ssl.SSLSocket)."""
        return self._conn.session if self._conn is not None else self._session

    @session.setter
    def session(self, session: Session | None) -> None:
        check_session(session)
        if self._conn is not None:
            self._conn.session = session
        self._session = session

    @property
    def session_reused(self) -> bool | None:
        return self._conn.session_reused if self._conn is not None else None

    @property
    def connection(self) -> Connection | None:
        """The sans-I/O connection underneath (None before connect, after unwrap)."""
        return self._conn

    def dup(self) -> NoReturn:
        raise NotImplementedError(f"Can't dup() {type(self).__name__} instances")

    # --- raw I/O with ssl's blocking/timeout/non-blocking semantics ------------------------------

    def _flush(self) -> None:
        """Write everything queued; partial progress is kept when the socket would block."""
        outgoing = self._outgoing
        if self._conn is not None:
            outgoing += self._conn.data_to_send()
        while outgoing:
            try:
                sent = socket.socket.send(self, outgoing)
            except BlockingIOError:
                raise ssl.SSLWantWriteError("The operation did not complete (write)") from None
            del outgoing[:sent]

    def _flush_quietly(self) -> None:
        """Best effort, for alerts on the way out: never blocks, never raises."""
        with contextlib.suppress(OSError):
            if self._conn is not None:
                self._outgoing += self._conn.data_to_send()
            if self._outgoing:
                del self._outgoing[: self._send_without_blocking(self._outgoing)]

    def _send_without_blocking(self, data: bytearray) -> int:
        """One send() that takes what fits now, whatever the timeout: with MSG_DONTWAIT, or,
        where there is none (Windows), with the socket non-blocking for that one call."""
        if _DONTWAIT:
            return socket.socket.send(self, data, _DONTWAIT)
        timeout = socket.socket.gettimeout(self)
        socket.socket.settimeout(self, 0.0)
        try:
            return socket.socket.send(self, data)
        finally:
            socket.socket.settimeout(self, timeout)

    def _read_more(self, conn: Connection, *, exact: bool = False) -> None:
        """One read from the socket into the connection (b"" at EOF); flushes any reply."""
        self._flush()
        try:
            data = socket.socket.recv(self, self._framer.needed() if exact else _RECV_SIZE)
        except BlockingIOError:
            raise ssl.SSLWantReadError("The operation did not complete (read)") from None
        self._framer.feed(data)
        try:
            conn.receive_data(data)
        except ssl.SSLError:
            self._flush_quietly()  # the fatal alert, if the connection wrote one
            raise
        # A KeyUpdate response, session tickets...: sent now, or by the next call if it would block.
        with contextlib.suppress(ssl.SSLWantWriteError):
            self._flush()

    def _connection(self) -> Connection:
        conn = self._conn
        if conn is None:
            raise OSError(errno.ENOTCONN, "the TLS connection is not established")
        if not conn.handshake_complete:
            self.do_handshake()
        return conn

    # --- handshake ------------------------------------------------------------------------------

    def do_handshake(self, block: bool = False) -> None:
        conn = self._conn
        if conn is None:
            raise OSError(errno.ENOTCONN, "the socket is not connected")
        while True:
            self._flush()
            if conn.handshake_complete:
                return
            self._read_more(conn)

    # --- reading --------------------------------------------------------------------------------

    def recv(self, bufsize: int = 1024, flags: int = 0) -> bytes:
        if self._conn is None and self._unwrapped:
            return socket.socket.recv(self, bufsize, flags)
        if flags:
            raise ValueError(f"non-zero flags not allowed in calls to recv() on {type(self)}")
        if bufsize < 0:
            raise ValueError("negative buffer size in recv")
        return self._read(bufsize, None)  # type: ignore[return-value]

    def recv_into(self, buffer: Buffer, nbytes: int = 0, flags: int = 0) -> int:
        if self._conn is None and self._unwrapped:
            return socket.socket.recv_into(self, buffer, nbytes, flags)
        if flags:
            raise ValueError(f"non-zero flags not allowed in calls to recv_into() on {type(self)}")
        view = memoryview(buffer).cast("B")
        if nbytes <= 0 or nbytes > len(view):
            nbytes = len(view)
        return self._read(nbytes, view)  # type: ignore[return-value]

    def read(self, len: int = 1024, buffer: Buffer | None = None) -> bytes | int:
        """``ssl.SSLSocket.read``: bytes, or a count when reading into ``buffer``."""
        if buffer is None:
            return self._read(len, None)
        view = memoryview(buffer).cast("B")
        return self._read(min(len, view.nbytes) if len > 0 else view.nbytes, view)

    def _read(self, size: int, buffer: memoryview | None) -> bytes | int:
        conn = self._connection()
        if size == 0:
            return b"" if buffer is None else 0
        while True:
            try:
                if buffer is None:
                    return conn.recv(size)
                return conn.recv_into(buffer, size)
            except WantReadError:
                pass
            except TruncationError:
                if self.suppress_ragged_eofs:
                    return b"" if buffer is None else 0
                raise
            self._read_more(conn)

    def pending(self) -> int:
        return self._conn.pending() if self._conn is not None else 0

    # --- writing --------------------------------------------------------------------------------

    def send(self, data: Buffer, flags: int = 0) -> int:
        if self._conn is None and self._unwrapped:
            return socket.socket.send(self, data, flags)
        if flags:
            raise ValueError(f"non-zero flags not allowed in calls to send() on {type(self)}")
        conn = self._connection()
        self._flush()  # what an earlier non-blocking call left behind
        view = memoryview(data).cast("B")
        if not view:
            return 0
        nonblocking = self.gettimeout() == 0.0
        chunk = view[: _NONBLOCKING_SEND_CHUNK if nonblocking else _SEND_CHUNK]
        conn.send(chunk)
        if nonblocking:
            # The records are ours now; what the socket does not take goes out with the next call.
            with contextlib.suppress(ssl.SSLWantWriteError):
                self._flush()
        else:
            self._flush()
        return len(chunk)

    def sendall(self, data: Buffer, flags: int = 0) -> None:
        if self._conn is None and self._unwrapped:
            socket.socket.sendall(self, data, flags)
            return
        if flags:
            raise ValueError(f"non-zero flags not allowed in calls to sendall() on {type(self)}")
        view = memoryview(data).cast("B")
        sent = 0
        while sent < len(view):
            sent += self.send(view[sent:])

    def write(self, data: Buffer) -> int:
        """``ssl.SSLSocket.write``."""
        return self.send(data)

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        if self._conn is None and self._unwrapped:
            return socket.socket.sendfile(self, file, offset, count)
        return self._sendfile_use_send(file, offset, count)  # type: ignore[attr-defined,no-any-return]

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"this operation is not allowed on {type(self).__name__}")

    sendto = recvfrom = recvfrom_into = sendmsg = recvmsg = recvmsg_into = _refuse

    # --- what was negotiated --------------------------------------------------------------------

    def getpeercert(self, binary_form: bool = False) -> dict[str, Any] | bytes | None:
        conn = self._conn
        if conn is None:
            raise OSError(errno.ENOTCONN, "the TLS connection is not established")
        if not conn.handshake_complete:
            raise ValueError("handshake not done yet")
        certificates = conn.peer_certificates
        if not certificates:
            return None
        if binary_form:
            return certificates[0]
        if self._context.verify_mode == ssl.CERT_NONE:
            return {}  # as ssl: an unverified certificate is not decoded
        return certificate_to_dict(x509.load_der_x509_certificate(certificates[0]))

    def verify_client_post_handshake(self) -> None:
        """Server: request a client certificate now (RFC 8446 §4.6.2). The request is sent at
        once (by the next call on a non-blocking socket that is full); the answer is processed
        by the next ``recv``, after which ``getpeercert()`` returns the new certificate. Errors
        as in ``ssl``: see :meth:`cytls.Connection.verify_client_post_handshake`."""
        conn = self._conn
        if conn is None:
            raise ValueError("No SSL wrapper around " + str(self))
        conn.verify_client_post_handshake()
        with contextlib.suppress(ssl.SSLWantWriteError):
            self._flush()

    def cipher(self) -> tuple[str, str, int] | None:
        return self._conn.cipher() if self._conn is not None else None

    def shared_ciphers(self) -> list[tuple[str, str, int]] | None:
        return None

    def compression(self) -> None:
        return None

    def version(self) -> str | None:
        return self._conn.version() if self._conn is not None else None

    def selected_alpn_protocol(self) -> str | None:
        return self._conn.selected_alpn_protocol() if self._conn is not None else None

    # --- connecting and accepting ---------------------------------------------------------------

    def connect(self, address: Any) -> None:
        self._real_connect(address)

    def connect_ex(self, address: Any) -> int:
        try:
            self._real_connect(address)
        except OSError as exc:
            return exc.errno or errno.EIO
        return 0

    def _real_connect(self, address: Any) -> None:
        if self.server_side:
            raise ValueError("can't connect in server-side mode")
        if self._conn is not None:
            raise ValueError("attempt to connect already-connected TLSSocket!")
        socket.socket.connect(self, address)
        self._start(self.do_handshake_on_connect)

    def accept(self) -> tuple[TLSSocket, Any]:
        """Accept a connection and wrap it server-side (handshake done if
        ``do_handshake_on_connect``)."""
        plain, address = socket.socket.accept(self)
        return (
            wrap_socket(
                self._context,
                plain,
                server_side=True,
                do_handshake_on_connect=self.do_handshake_on_connect,
                suppress_ragged_eofs=self.suppress_ragged_eofs,
            ),
            address,
        )

    # --- closing ------------------------------------------------------------------------------

    def _send_close_notify(self) -> None:
        conn = self._conn
        if conn is not None and conn.handshake_complete:
            conn.close()  # a no-op once sent, or after a fatal error

    def unwrap(self) -> TLSSocket:
        """Exchange close_notify alerts and return this socket, now plain (as ``ssl``: the
        same object, whose recv/send then bypass TLS). Reads exactly up to the peer's
        close_notify, so plain data the peer sends next stays in the socket."""
        conn = self._conn
        if conn is None:
            raise ValueError("No SSL wrapper around " + str(self))
        self._send_close_notify()
        self._flush()
        while not conn.peer_closed:
            try:
                while conn.recv(_RECV_SIZE):  # application data still in flight is dropped
                    pass
            except WantReadError:
                pass
            except TruncationError:
                break  # the peer closed the transport: nothing left to wait for
            if conn.peer_closed:
                break
            self._read_more(conn, exact=True)
        self._conn = None
        self._unwrapped = True
        return self

    def shutdown(self, how: int) -> None:
        """Sends close_notify first when shutting down the write side."""
        if how in (socket.SHUT_WR, socket.SHUT_RDWR) and self._conn is not None:
            self._send_close_notify()
            with contextlib.suppress(ssl.SSLWantWriteError, BrokenPipeError, ConnectionError):
                self._flush()
        socket.socket.shutdown(self, how)

    def detach(self) -> int:
        self._conn = None
        return socket.socket.detach(self)

    def _real_close(self) -> None:
        # ssl.SSLSocket closes without close_notify; sending one (without blocking) lets the
        # peer tell our close from a truncation attack.
        if getattr(self, "_conn", None) is not None and self.fileno() >= 0:
            with contextlib.suppress(ssl.SSLError, OSError):
                self._send_close_notify()
                self._flush_quietly()
        self._conn = None
        socket.socket._real_close(self)  # type: ignore[attr-defined]


TLSContext.sslsocket_class = TLSSocket

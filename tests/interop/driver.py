"""Drive a sans-I/O TLS connection (``cytls.Connection``'s interface) over a blocking socket.

The connection object needs ``receive_data(bytes)`` (b"" = EOF), ``data_to_send()``,
``send(bytes)``, ``recv(max_bytes)`` (application data; b"" once the peer sent close_notify;
raises ``ssl.SSLWantReadError`` when nothing is buffered yet), ``next_event()`` and ``close()``.
Every loop is bounded by a deadline and raises ``TimeoutError`` when it passes. Outgoing bytes
are flushed after every call that can produce them, so answers the engine queues by itself
(a KeyUpdate in response to update_requested, an alert) reach the peer without delay.

Events are recognised by class name ("HandshakeComplete"), so that this module imports nothing
from cytls and can be checked today against an adapter around ``ssl.SSLObject``.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from typing import Any

RECV_SIZE = 1 << 18


def _flush(conn: Any, sock: Any, deadline: float) -> None:
    data = conn.data_to_send()
    if data:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        sock.sendall(data)


def _drain_events(conn: Any, events: list[Any] | None) -> list[Any]:
    drained = []
    while (event := conn.next_event()) is not None:
        drained.append(event)
    if events is not None:
        events.extend(drained)
    return drained


def _read(conn: Any, sock: Any, deadline: float, waiting_for: str) -> bool:
    """Read once from the socket into ``conn`` and flush its answer; False at EOF."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError(f"timed out waiting for {waiting_for}")
    sock.settimeout(remaining)
    try:
        data = sock.recv(RECV_SIZE)
    except TimeoutError:
        raise TimeoutError(f"timed out waiting for {waiting_for}") from None
    try:
        conn.receive_data(data)
    except BaseException:
        with contextlib.suppress(OSError):  # deliver the alert the engine queued, if it can
            _flush(conn, sock, deadline)
        raise
    _flush(conn, sock, deadline)
    return bool(data)


def drive_handshake(
    conn: Any, sock: Any, timeout: float, *, events: list[Any] | None = None
) -> Any:
    """Run the handshake to completion; return the HandshakeComplete event.

    Every event seen is appended to ``events`` if given.
    """
    deadline = time.monotonic() + timeout
    _flush(conn, sock, deadline)  # a client's ClientHello
    while True:
        for event in _drain_events(conn, events):
            if type(event).__name__ == "HandshakeComplete":
                _flush(conn, sock, deadline)  # a client's Finished
                return event
            if type(event).__name__ == "ConnectionClosed":
                raise ConnectionError(f"the peer closed during the handshake: {event!r}")
        if not _read(conn, sock, deadline, "the handshake to complete"):
            raise ConnectionError("the peer closed the TCP connection during the handshake")


def send_all(
    conn: Any, sock: Any, data: bytes, timeout: float = 60.0, *, chunk: int = 1 << 20
) -> None:
    """Send ``data`` as application data and flush it all to the socket."""
    deadline = time.monotonic() + timeout
    view = memoryview(data)
    for offset in range(0, len(view), chunk):
        conn.send(view[offset : offset + chunk])
        _flush(conn, sock, deadline)
    if not data:
        _flush(conn, sock, deadline)


def recv_exactly(
    conn: Any, sock: Any, nbytes: int, timeout: float, *, events: list[Any] | None = None
) -> bytes:
    """Receive exactly ``nbytes`` bytes of application data.

    Raises EOFError if the peer closes first (the engine's own error propagates if it reports
    an EOF without close_notify as a truncation), TimeoutError when the deadline passes.
    """
    deadline = time.monotonic() + timeout
    data = bytearray()
    eof = False
    while len(data) < nbytes:
        try:
            chunk = conn.recv(nbytes - len(data))
        except ssl.SSLWantReadError:
            chunk = None
        if chunk:
            data += chunk
            continue
        _drain_events(conn, events)
        if chunk == b"":
            raise EOFError(f"the peer closed (close_notify) after {len(data)} of {nbytes} bytes")
        if eof:
            raise EOFError(
                f"the peer closed the TCP connection after {len(data)} of {nbytes} bytes"
            )
        eof = not _read(conn, sock, deadline, f"{nbytes - len(data)} more bytes of {nbytes}")
    _drain_events(conn, events)
    return bytes(data)


def close(conn: Any, sock: Any, timeout: float = 10.0, *, events: list[Any] | None = None) -> bool:
    """Send close_notify, then read (discarding data) until the peer closes; close the socket.

    Returns True if the peer answered with close_notify, False if it just closed the TCP
    connection (or reset it). Raises TimeoutError if it does neither in time.
    """
    deadline = time.monotonic() + timeout
    try:
        conn.close()
        with contextlib.suppress(OSError):  # the peer may be gone already
            _flush(conn, sock, deadline)
        eof = False
        while True:
            try:
                chunk = conn.recv()
            except ssl.SSLWantReadError:
                chunk = None
            except ssl.SSLEOFError:  # EOF without close_notify
                return False
            _drain_events(conn, events)
            if chunk == b"":
                return True
            if chunk:
                continue
            if eof:
                return False
            try:
                eof = not _read(conn, sock, deadline, "the peer's close_notify")
            except (ConnectionResetError, BrokenPipeError):
                return False
    finally:
        sock.close()

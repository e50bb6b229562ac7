"""cytls.io.sockets.TLSSocket over real TCP sockets on 127.0.0.1, against the ssl module and
against itself. Every peer runs in a thread that is joined with a timeout."""

from __future__ import annotations

import hashlib
import io
import os
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from handshakeutil import (
    client_context,
    client_credentials,
    credentials,
    root_ca,
    server_context,
)

import cytls
from cytls.io import sockets
from cytls.io.sockets import TLSSocket, wrap_socket

JOIN = 20.0


class Peer:
    """Runs ``target(*args)`` in a thread; ``result()`` joins (bounded) and re-raises."""

    def __init__(self, target: Callable[..., Any], *args: Any) -> None:
        self._value: Any = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._value = target(*args)
            except BaseException as exc:
                self._error = exc

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def result(self, timeout: float = JOIN) -> Any:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the peer thread did not finish"
        if self._error is not None:
            raise self._error
        return self._value


@pytest.fixture
def tcp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(client, server) ends of one TCP connection on 127.0.0.1, each with a 10 s timeout
    as a safety net (tests that need blocking mode set it)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname(), timeout=10)
        server, _ = listener.accept()
    server.settimeout(10)
    yield client, server
    client.close()
    server.close()


def ssl_server_context() -> ssl.SSLContext:
    creds = credentials()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(creds.certfile, creds.keyfile)
    return context


def ssl_client_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=credentials().ca_pem)
    return context


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        assert chunk, "unexpected EOF"
        chunks += chunk
    return bytes(chunks)


def echo_once(tls: Any) -> bytes:
    data = tls.recv(1024)
    tls.sendall(data.upper())
    return data


# --- interoperability, blocking mode -----------------------------------------------------------


def test_cytls_client_ssl_server(tcp_pair: tuple[socket.socket, socket.socket]) -> None:
    client_sock, server_sock = tcp_pair
    server_ctx = ssl_server_context()
    server_ctx.set_alpn_protocols(["h2", "http/1.1"])

    def serve() -> tuple[str | None, bytes]:
        with server_ctx.wrap_socket(server_sock, server_side=True) as tls:
            return tls.version(), echo_once(tls)

    server_address, client_address = server_sock.getsockname(), server_sock.getpeername()
    peer = Peer(serve)
    tls = wrap_socket(client_context(alpn=["http/1.1"]), client_sock, server_hostname="localhost")
    with tls:
        assert isinstance(tls, TLSSocket) and isinstance(tls, socket.socket)
        assert client_sock.fileno() == -1  # detached: the TLSSocket owns the descriptor now
        assert tls.version() == "TLSv1.3"
        assert tls.cipher()[1] == "TLSv1.3"
        assert tls.selected_alpn_protocol() == "http/1.1"
        assert not tls.server_side and tls.server_hostname == "localhost"
        assert tls.session_reused is False
        assert tls.getpeername() == server_address
        assert tls.getsockname() == client_address
        assert tls.gettimeout() == 10  # the wrapped socket's mode is kept
        tls.sendall(b"hello")
        assert recv_exactly(tls, 5) == b"HELLO"
        assert tls.pending() == 0
    assert tls.fileno() == -1
    assert peer.result() == ("TLSv1.3", b"hello")


def test_ssl_client_cytls_server(tcp_pair: tuple[socket.socket, socket.socket]) -> None:
    client_sock, server_sock = tcp_pair

    def connect() -> tuple[str | None, bytes, bytes]:
        with ssl_client_context().wrap_socket(client_sock, server_hostname="localhost") as tls:
            tls.sendall(b"ping")
            reply = recv_exactly(tls, 4)
            return tls.version(), reply, tls.recv(10)  # our close() sends close_notify: b""

    peer = Peer(connect)
    with server_context().wrap_socket(server_sock, server_side=True) as tls:  # the ssl spelling
        assert isinstance(tls, TLSSocket)
        assert tls.server_side and tls.version() == "TLSv1.3"
        assert tls.getpeercert() is None  # no client certificate was asked for
        assert echo_once(tls) == b"ping"
    assert peer.result() == ("TLSv1.3", b"PING", b"")


def test_ssl_client_cytls_server_post_handshake_auth(
    tcp_pair: tuple[socket.socket, socket.socket],
) -> None:
    """TLSSocket.verify_client_post_handshake against the ssl module's client: the request
    goes out at once, the answer is read by the next recv, then getpeercert() has it."""
    client_sock, server_sock = tcp_pair
    client_ctx = ssl_client_context()
    client_ctx.load_cert_chain(client_credentials().certfile, client_credentials().keyfile)
    client_ctx.post_handshake_auth = True

    def connect() -> bytes:
        with client_ctx.wrap_socket(client_sock, server_hostname="localhost") as tls:
            ready = recv_exactly(tls, 5)  # the CertificateRequest is answered while reading
            tls.sendall(b"ping")
            return ready

    server_ctx = server_context()
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    server_ctx.load_verify_locations(cadata=credentials().ca_pem)
    server_ctx.post_handshake_auth = True
    peer = Peer(connect)
    with server_ctx.wrap_socket(server_sock, server_side=True) as tls:
        assert tls.getpeercert() is None  # not asked for during the handshake
        tls.verify_client_post_handshake()
        tls.sendall(b"ready")
        assert recv_exactly(tls, 4) == b"ping"
        assert tls.getpeercert()["subject"] == ((("commonName", "client ecdsa-p256"),),)
        with pytest.raises(ssl.SSLError) as info:
            tls.verify_client_post_handshake()  # answered: a new request would go out...
            tls.verify_client_post_handshake()  # ...but only one at a time
        assert info.value.reason == "REQUEST_SENT"
    assert peer.result() == b"ready"


def test_cytls_to_cytls_accept_on_listening_socket() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    tls_listener = wrap_socket(server_context(), listener, server_side=True)
    with tls_listener:
        assert tls_listener.connection is None
        address = tls_listener.getsockname()

        def connect() -> bytes:
            sock = socket.create_connection(address, timeout=10)
            with wrap_socket(client_context(), sock, server_hostname="localhost") as tls:
                tls.sendall(b"over cytls")
                return recv_exactly(tls, 10)

        peer = Peer(connect)
        conn, addr = tls_listener.accept()
        with conn:
            assert isinstance(conn, TLSSocket) and conn.server_side
            assert conn.connection is not None and conn.connection.handshake_complete
            assert conn.version() == "TLSv1.3" and addr == conn.getpeername()
            assert echo_once(conn) == b"over cytls"
        assert peer.result() == b"OVER CYTLS"


def test_client_connect_after_wrap() -> None:
    """Like ssl: wrap an unconnected socket, then connect() does the handshake."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        sock = socket.socket()
        sock.settimeout(10)
        tls = wrap_socket(client_context(), sock, server_hostname="localhost")

        def serve() -> bytes:
            raw, _ = listener.accept()
            with ssl_server_context().wrap_socket(raw, server_side=True) as server:
                return echo_once(server)

        peer = Peer(serve)
        with tls:
            assert tls.version() is None
            tls.connect(listener.getsockname())
            assert tls.version() == "TLSv1.3"
            tls.sendall(b"late")
            assert recv_exactly(tls, 4) == b"LATE"
        assert peer.result() == b"late"


# --- modes -------------------------------------------------------------------------------------


def test_timeout_fires_when_the_peer_is_silent(
    tcp_pair: tuple[socket.socket, socket.socket],
) -> None:
    client_sock, server_sock = tcp_pair
    done = threading.Event()

    def serve() -> None:
        with ssl_server_context().wrap_socket(server_sock, server_side=True):
            done.wait(JOIN)  # says nothing

    peer = Peer(serve)
    with wrap_socket(client_context(), client_sock, server_hostname="localhost") as tls:
        tls.settimeout(0.3)
        start = time.monotonic()
        with pytest.raises(TimeoutError):  # socket.timeout, as ssl raises
            tls.recv(10)
        assert 0.2 < time.monotonic() - start < 5
        buffer = bytearray(10)
        with pytest.raises(TimeoutError):
            tls.recv_into(buffer)
        done.set()
    peer.result()


def test_handshake_timeout(tcp_pair: tuple[socket.socket, socket.socket]) -> None:
    client_sock, _server_sock = tcp_pair  # the server never answers the ClientHello
    client_sock.settimeout(0.3)
    with pytest.raises(TimeoutError):
        wrap_socket(client_context(), client_sock, server_hostname="localhost")


def test_non_blocking_refuses_handshake_on_connect(
    tcp_pair: tuple[socket.socket, socket.socket],
) -> None:
    client_sock, _server_sock = tcp_pair
    client_sock.setblocking(False)
    with pytest.raises(ValueError, match="non-blocking"):
        wrap_socket(client_context(), client_sock, server_hostname="localhost")


def test_non_blocking_handshake_and_reads() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client_sock = socket.create_connection(listener.getsockname(), timeout=10)
        server_sock, _ = listener.accept()
    server_sock.settimeout(10)
    go = threading.Event()

    def serve() -> bytes:
        with ssl_server_context().wrap_socket(server_sock, server_side=True) as server:
            go.wait(JOIN)
            server.sendall(b"now")
            return recv_exactly(server, 5)

    peer = Peer(serve)
    client_sock.setblocking(False)
    tls = wrap_socket(
        client_context(), client_sock, server_hostname="localhost", do_handshake_on_connect=False
    )
    with tls:
        assert tls.gettimeout() == 0.0
        wants = 0
        deadline = time.monotonic() + JOIN
        while True:
            assert time.monotonic() < deadline
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                wants += 1
                select.select([tls], [], [], 1.0)
        assert tls.version() == "TLSv1.3"  # after `wants` SSLWantReadErrors (usually 1+)
        with pytest.raises(ssl.SSLWantReadError):
            tls.recv(10)
        go.set()
        data = b""
        while not data:
            assert time.monotonic() < deadline
            select.select([tls], [], [], 1.0)
            try:
                data = tls.recv(10)
            except ssl.SSLWantReadError:
                continue
        assert data == b"now"
        assert tls.send(b"after") == 5
    assert peer.result() == b"after"


def test_non_blocking_send_reports_want_write(
    tcp_pair: tuple[socket.socket, socket.socket],
) -> None:
    client_sock, server_sock = tcp_pair
    release = threading.Event()

    def serve() -> str:
        with ssl_server_context().wrap_socket(server_sock, server_side=True) as server:
            release.wait(JOIN)  # does not read until told
            digest = hashlib.sha256()
            while chunk := server.recv(65536):
                digest.update(chunk)
            return digest.hexdigest()

    peer = Peer(serve)
    tls = wrap_socket(client_context(), client_sock, server_hostname="localhost")
    tls.setblocking(False)
    sent = hashlib.sha256()
    block = os.urandom(16384)
    deadline = time.monotonic() + JOIN
    while True:
        assert time.monotonic() < deadline
        try:
            count = tls.send(block)
        except ssl.SSLWantWriteError:
            break
        sent.update(block[:count])
    release.set()
    tls.settimeout(10)
    tls.sendall(b"tail")  # flushes what the full socket did not take first
    sent.update(b"tail")
    # Half-close, then drain: closing with unread data (the server's session tickets) would
    # reset the connection and lose what the server has not read yet.
    tls.shutdown(socket.SHUT_WR)
    assert tls.recv(10) == b""
    tls.close()
    assert peer.result() == sent.hexdigest()


@pytest.mark.parametrize("dontwait", [True, False], ids=["MSG_DONTWAIT", "without_MSG_DONTWAIT"])
def test_close_does_not_block_on_a_full_socket(
    tcp_pair: tuple[socket.socket, socket.socket], monkeypatch: pytest.MonkeyPatch, dontwait: bool
) -> None:
    """close() in blocking mode, with the socket full and a peer that reads nothing, sends
    what fits of close_notify and returns. Without MSG_DONTWAIT (Windows has none) the send
    runs with a zero timeout; before, it waited for the peer forever."""
    if not dontwait:
        monkeypatch.setattr(sockets, "_DONTWAIT", 0)
    client_sock, server_sock = tcp_pair
    release = threading.Event()

    def serve() -> None:
        with ssl_server_context().wrap_socket(server_sock, server_side=True):
            release.wait(JOIN)  # reads nothing; closing then resets a stuck sender

    peer = Peer(serve)
    tls = wrap_socket(client_context(), client_sock, server_hostname="localhost")
    try:
        tls.setblocking(False)
        deadline = time.monotonic() + JOIN
        with pytest.raises(ssl.SSLWantWriteError):
            while time.monotonic() < deadline:
                tls.send(bytes(16384))
        tls.setblocking(True)
        closing = Peer(tls.close)
        closing.result(5)
        assert tls.fileno() == -1
    finally:
        release.set()
        peer.result()


# --- bulk data and files -------------------------------------------------------------------


def test_sendall_8_mib_both_ways(tcp_pair: tuple[socket.socket, socket.socket]) -> None:
    client_sock, server_sock = tcp_pair
    payload = os.urandom(8 << 20)
    expected = hashlib.sha256(payload).hexdigest()

    def serve() -> str:
        with ssl_server_context().wrap_socket(server_sock, server_side=True) as server:
            digest = hashlib.sha256()
            received = 0
            while received < len(payload):
                chunk = server.recv(1 << 20)
                assert chunk
                digest.update(chunk)
                received += len(chunk)
            server.sendall(payload)
            return digest.hexdigest()

    peer = Peer(serve)
    with wrap_socket(client_context(), client_sock, server_hostname="localhost") as tls:
        tls.sendall(payload)
        digest = hashlib.sha256()
        buffer = bytearray(1 << 20)
        received = 0
        while received < len(payload):
            n = tls.recv_into(buffer)
            assert n
            digest.update(memoryview(buffer)[:n])
            received += n
        assert digest.hexdigest() == expected
    assert peer.result() == expected


def test_makefile_readline_round_trip(tcp_pair: tuple[socket.socket, socket.socket]) -> None:
    client_sock, server_sock = tcp_pair

    def serve() -> list[bytes]:
        with wrap_socket(server_context(), server_sock, server_side=True) as server:
            with server.makefile("rwb") as stream:
                lines = [stream.readline(), stream.readline()]
                stream.write(b"HTTP/1.1 200 OK\r\nX: y\r\n\r\nbody")
                stream.flush()
            return lines

    peer = Peer(serve)
    with wrap_socket(client_context(), client_sock, server_hostname="localhost") as tls:
        with tls.makefile("wb") as writer:
            writer.write(b"GET / HTTP/1.1\r\n\r\n")
        reader = tls.makefile("rb")
        assert isinstance(reader, io.BufferedReader)
        assert reader.readline() == b"HTTP/1.1 200 OK\r\n"
        text = io.TextIOWrapper(reader, encoding="ascii", newline="")
        assert text.readline() == "X: y\r\n"
        assert text.readline() == "\r\n"
        tls.close()  # the file still holds the socket open, as with socket.makefile
        assert tls.fileno() != -1
        assert text.read(4) == "body"
        text.close()
        assert tls.fileno() == -1
    assert peer.result() == [b"GET / HTTP/1.1\r\n", b"\r\n"]


def test_makefile_text_mode(tcp_pair: tuple[socket.socket, socket.socket]) -> None:
    client_sock, server_sock = tcp_pair

    def serve() -> None:
        with ssl_server_context().wrap_socket(server_sock, server_side=True) as server:
            server.sendall("héllo\nwörld\n".encode())

    peer = Peer(serve)
    tls = wrap_socket(client_context(), client_sock, server_hostname="localhost")
    with tls, tls.makefile("r", encoding="utf-8") as text:
        assert text.readline() == "héllo\n"
        assert text.readline() == "wörld\n"
        assert text.readline() == ""  # ssl's close is a ragged EOF: suppressed
    peer.result()


# --- closing --------------------------------------------------------------------------------


def test_unwrap_initiated_by_cytls(tcp_pair: tuple[socket.socket, socket.socket]) -> None:
    client_sock, server_sock = tcp_pair

    def serve() -> bytes:
        server = ssl_server_context().wrap_socket(server_sock, server_side=True)
        assert server.recv(10) == b"tls"
        assert server.recv(10) == b""  # our close_notify
        plain = server.unwrap()
        plain.sendall(b"plain from ssl")
        data = recv_exactly(plain, 14)
        plain.close()
        return data

    peer = Peer(serve)
    tls = wrap_socket(client_context(), client_sock, server_hostname="localhost")
    tls.sendall(b"tls")
    plain = tls.unwrap()
    assert plain is tls and tls.connection is None and tls.version() is None
    assert recv_exactly(plain, 14) == b"plain from ssl"
    plain.sendall(b"plain from cyt")
    plain.close()
    assert peer.result() == b"plain from cyt"


def test_unwrap_initiated_by_ssl(tcp_pair: tuple[socket.socket, socket.socket]) -> None:
    client_sock, server_sock = tcp_pair

    def connect() -> bytes:
        tls = ssl_client_context().wrap_socket(client_sock, server_hostname="localhost")
        tls.sendall(b"tls")
        plain = tls.unwrap()
        plain.sendall(b"STARTTLS over")
        data = recv_exactly(plain, 4)
        plain.close()
        return data

    peer = Peer(connect)
    server = wrap_socket(server_context(), server_sock, server_side=True)
    assert server.recv(10) == b"tls"
    assert server.recv(10) == b""  # the peer's close_notify
    plain = server.unwrap()
    assert recv_exactly(plain, 13) == b"STARTTLS over"
    plain.sendall(b"done")
    plain.close()
    assert peer.result() == b"done"


def test_shutdown_write_side_sends_close_notify(
    tcp_pair: tuple[socket.socket, socket.socket],
) -> None:
    client_sock, server_sock = tcp_pair

    def serve() -> bytes:
        with wrap_socket(server_context(), server_sock, server_side=True) as server:
            server.suppress_ragged_eofs = False
            data = server.recv(10)
            assert server.recv(10) == b""  # close_notify, not a ragged EOF
            server.sendall(b"still open")  # TLS 1.3 half-close: we may still write
            return data

    peer = Peer(serve)
    with wrap_socket(client_context(), client_sock, server_hostname="localhost") as tls:
        tls.sendall(b"bye")
        tls.shutdown(socket.SHUT_WR)
        assert recv_exactly(tls, 10) == b"still open"
        assert tls.recv(10) == b""
    assert peer.result() == b"bye"


@pytest.mark.parametrize("suppress", [True, False])
def test_ragged_eof(tcp_pair: tuple[socket.socket, socket.socket], suppress: bool) -> None:
    client_sock, server_sock = tcp_pair

    def serve() -> None:
        server = ssl_server_context().wrap_socket(server_sock, server_side=True)
        server.sendall(b"data")
        server.shutdown(socket.SHUT_RDWR)  # ssl drops TLS here: no close_notify
        server.close()

    peer = Peer(serve)
    with wrap_socket(
        client_context(), client_sock, server_hostname="localhost", suppress_ragged_eofs=suppress
    ) as tls:
        assert recv_exactly(tls, 4) == b"data"
        if suppress:
            assert tls.recv(10) == b""
            assert tls.read(10) == b""
        else:
            with pytest.raises(ssl.SSLEOFError) as info:
                tls.recv(10)
            assert isinstance(info.value, cytls.TruncationError)
    peer.result()


# --- certificates and errors ----------------------------------------------------------------


def test_getpeercert_matches_ssl(tcp_pair: tuple[socket.socket, socket.socket]) -> None:
    client_sock, server_sock = tcp_pair

    def serve() -> None:
        with ssl_server_context().wrap_socket(server_sock, server_side=True) as server:
            server.recv(1)

    peer = Peer(serve)
    with wrap_socket(client_context(), client_sock, server_hostname="localhost") as tls:
        ours = tls.getpeercert()
        der = tls.getpeercert(binary_form=True)
        tls.sendall(b"x")
    peer.result()

    with socket.create_server(("127.0.0.1", 0)) as listener:
        raw = socket.create_connection(listener.getsockname(), timeout=10)
        other, _ = listener.accept()
    other.settimeout(10)
    peer = Peer(lambda: ssl_server_context().wrap_socket(other, server_side=True).close())
    with ssl_client_context().wrap_socket(raw, server_hostname="localhost") as reference:
        theirs = reference.getpeercert()
        assert der == reference.getpeercert(binary_form=True)
    peer.result()
    assert ours == theirs
    assert der == credentials().leaf[0].public_bytes(Encoding.DER)


def test_getpeercert_unverified_is_empty(tcp_pair: tuple[socket.socket, socket.socket]) -> None:
    client_sock, server_sock = tcp_pair
    peer = Peer(lambda: ssl_server_context().wrap_socket(server_sock, server_side=True).close())
    with wrap_socket(client_context(verify=False), client_sock) as tls:
        assert tls.getpeercert() == {}
        assert tls.getpeercert(binary_form=True)
    peer.result()


def test_handshake_failure_raises_after_sending_the_alert(
    tcp_pair: tuple[socket.socket, socket.socket],
) -> None:
    client_sock, server_sock = tcp_pair

    def serve() -> None:
        ssl_server_context().wrap_socket(server_sock, server_side=True)

    peer = Peer(serve)
    stranger = cytls.TLSContext(cytls.PROTOCOL_TLS_CLIENT)  # trusts nothing
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        wrap_socket(stranger, client_sock, server_hostname="localhost")
    assert isinstance(info.value, cytls.CertificateError)
    with pytest.raises(ssl.SSLError) as server_error:
        peer.result()
    assert "ALERT" in str(server_error.value).upper()  # it got our alert, not a bare EOF
    assert root_ca()  # (the server's chain is fine: only the client lacks the anchor)


def test_cytls_server_rejects_ssl_client_cert_check(
    tcp_pair: tuple[socket.socket, socket.socket],
) -> None:
    """A cytls server's handshake error reaches the caller as a cytls (ssl) exception."""
    client_sock, server_sock = tcp_pair

    def connect() -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.maximum_version = ssl.TLSVersion.TLSv1_2  # cytls speaks TLS 1.3 only
        context.wrap_socket(client_sock, server_hostname="localhost")

    peer = Peer(connect)
    with pytest.raises(ssl.SSLError) as info:
        wrap_socket(server_context(), server_sock, server_side=True)
    assert isinstance(info.value, cytls.TLSError)
    with pytest.raises(ssl.SSLError):
        peer.result()


def test_api_edges(tcp_pair: tuple[socket.socket, socket.socket]) -> None:
    client_sock, server_sock = tcp_pair
    with pytest.raises(TypeError):
        TLSSocket()
    with pytest.raises(ValueError, match="server_hostname"):
        wrap_socket(server_context(), socket.socket(), server_side=True, server_hostname="x")
    peer = Peer(lambda: echo_once(ssl_server_context().wrap_socket(server_sock, server_side=True)))
    tls = sockets.wrap_socket(client_context(), client_sock, server_hostname="localhost")
    with pytest.raises(ValueError, match="flags"):
        tls.recv(10, socket.MSG_PEEK)
    with pytest.raises(ValueError, match="flags"):
        tls.send(b"x", socket.MSG_OOB)
    with pytest.raises(NotImplementedError):
        tls.sendto(b"x", ("127.0.0.1", 9))
    with pytest.raises(NotImplementedError):
        tls.dup()
    assert tls.recv(0) == b""
    assert tls.write(b"abc") == 3
    buffer = bytearray(8)
    assert tls.read(3, buffer) == 3 and buffer[:3] == b"ABC"
    assert tls.fileno() >= 0
    tls.close()
    peer.result()

"""urllib3 (the HTTP client under requests) over cytls: PoolManager(ssl_context=TLSContext)."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from handshakeutil import client_context, credentials

import cytls
from cytls.io.sockets import TLSSocket

urllib3 = pytest.importorskip("urllib3")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str | None, str | None]]

    def _reply(self, body: bytes) -> None:
        self.seen.append((self.command, self.connection.version(), self.connection.cipher()[0]))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._reply(f"hello from {self.path}".encode())

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self._reply(b"got:" + body[::-1])

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def https_server() -> Iterator[tuple[str, list[tuple[str, str | None, str | None]]]]:
    """An ssl-backed http.server on 127.0.0.1:0 in a thread; yields (base URL, requests seen)."""
    creds = credentials()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(creds.certfile, creds.keyfile)
    context.set_alpn_protocols(["http/1.1"])
    seen: list[tuple[str, str | None, str | None]] = []
    handler = type("RecordingHandler", (Handler,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"https://localhost:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def tls_sockets(monkeypatch: pytest.MonkeyPatch) -> list[TLSSocket]:
    """Every TLSSocket created during the test (urllib3 calls TLSContext.wrap_socket)."""
    created: list[TLSSocket] = []
    original = TLSSocket._create.__func__  # type: ignore[attr-defined]

    def counting(cls: type[TLSSocket], *args: Any, **kwargs: Any) -> TLSSocket:
        tls = original(cls, *args, **kwargs)
        created.append(tls)
        return tls

    monkeypatch.setattr(TLSSocket, "_create", classmethod(counting))
    return created


def test_get_and_post_through_cytls(
    https_server: tuple[str, list[Any]], tls_sockets: list[TLSSocket]
) -> None:
    url, seen = https_server
    with urllib3.PoolManager(ssl_context=client_context(), timeout=10, retries=False) as pool:
        response = pool.request("GET", f"{url}/path?q=1")
        assert response.status == 200
        assert response.data == b"hello from /path?q=1"

        payload = bytes(range(256)) * 1000
        response = pool.request("POST", f"{url}/upload", body=payload)
        assert response.status == 200
        assert response.data == b"got:" + payload[::-1]

        response = pool.request("GET", f"{url}/stream", preload_content=False)
        sock = response.connection.sock
        assert isinstance(sock, TLSSocket)
        assert sock.version() == "TLSv1.3" and sock.selected_alpn_protocol() == "http/1.1"
        assert response.read() == b"hello from /stream"
        response.release_conn()

    # One keep-alive connection served all three requests, through cytls.
    assert len(tls_sockets) == 1
    assert [method for method, _, _ in seen] == ["GET", "POST", "GET"]
    assert {version for _, version, _ in seen} == {"TLSv1.3"}


def test_certificate_error_surfaces_as_ssl_error(
    https_server: tuple[str, list[Any]], tls_sockets: list[TLSSocket]
) -> None:
    url, seen = https_server
    stranger = cytls.TLSContext(cytls.PROTOCOL_TLS_CLIENT)  # trusts no CA
    with (
        urllib3.PoolManager(ssl_context=stranger, timeout=10, retries=False) as pool,
        pytest.raises(urllib3.exceptions.SSLError) as info,
    ):
        pool.request("GET", f"{url}/")
    assert isinstance(info.value.__context__ or info.value.__cause__, ssl.SSLError)
    assert len(tls_sockets) == 0 or tls_sockets[0].fileno() == -1
    assert seen == []

"""cytls as a TLS 1.3 server against real clients: ``openssl s_client``, the ``ssl`` module,
``gnutls-cli`` and ``curl`` (an HTTPS GET that the test answers) (issue 3, "Interop with real
peers").

Each client is checked from its own side too: what it reports about the connection (suite,
group, ALPN, certificate verification, ClientHellos and KeyUpdates) and what it received.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import socket
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from .driver import close, drive_handshake, recv_exactly, send_all
from .peers import (
    BULK_TIMEOUT,
    CERT_KINDS,
    GROUPS,
    SUITES,
    TIMEOUT,
    CertKey,
    HashSink,
    PeerProcess,
    TappedSocket,
    TestPKI,
    accept,
    curl_get,
    gnutls_client,
    gnutls_priority,
    listening,
    observe_handshake,
    openssl_client,
    parse_curl,
    parse_gnutls,
    parse_openssl_client,
    ssl_client,
    ssl_client_context,
    ssl_read_until_eof,
    ssl_recv_exactly,
    ssl_shutdown,
)

pytestmark = pytest.mark.interop

# How each client names the signature scheme cytls signs with, per server certificate.
OPENSSL_SIGNATURE = {"ecdsa": "ECDSA", "rsa": "RSA-PSS", "ed25519": "ed25519"}
GNUTLS_SIGNATURE = {
    "ecdsa": "ECDSA-SECP256R1-SHA256",
    "rsa": "RSA-PSS-RSAE-SHA256",
    "ed25519": "EdDSA-Ed25519",
}


# --- the cytls side ----------------------------------------------------------------------------


def cytls_server_context(
    certkey: CertKey,
    *,
    suites: str | None = None,
    groups: str | Sequence[str] | None = None,
    alpn: Sequence[str] | None = None,
    sni_callback: Callable[..., Any] | None = None,
) -> Any:
    import cytls

    context = cytls.TLSContext(cytls.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certkey.cert), str(certkey.key))
    if suites is not None:
        context.set_ciphers(suites)
    if groups is not None:
        context.set_groups(groups)
    if alpn is not None:
        context.set_alpn_protocols(list(alpn))
    if sni_callback is not None:
        context.sni_callback = sni_callback
    return context


@dataclasses.dataclass
class Server:
    conn: Any
    sock: TappedSocket
    handshake: Any
    events: list[Any]

    def wire(self) -> Any:
        return observe_handshake(self.sock.received, self.sock.sent)


@contextlib.contextmanager
def cytls_accept(
    listener: socket.socket, context: Any, peer: PeerProcess | None = None
) -> Iterator[Server]:
    """Accept one connection (failing early if ``peer`` exits) and run the cytls handshake."""
    import cytls

    raw = accept(listener, peer)
    sock = TappedSocket(raw)
    events: list[Any] = []
    try:
        conn = cytls.Connection(context, server_side=True)
        handshake = drive_handshake(conn, sock, TIMEOUT, events=events)
        yield Server(conn, sock, handshake, events)
    finally:
        raw.close()


def check_handshake(handshake: Any, *, suite: str, group: str) -> None:
    assert handshake.version == "TLSv1.3"
    assert handshake.cipher_suite == suite
    assert handshake.group == group
    assert handshake.server_name == "localhost"
    assert not handshake.peer_certificates  # no client certificate was asked for


def check_hello_retry(server: Server, group: str) -> None:
    wire = server.wire()
    assert wire.hello_retry_request, f"expected a HelloRetryRequest; wire: {wire}"
    assert wire.server_hellos == ((True, group), (False, group))
    assert len(wire.client_hellos) == 2
    assert group not in wire.client_hellos[0]
    assert wire.client_hellos[1] == (group,)
    assert server.handshake.group == group


def exchange_lines(server: Server, client: PeerProcess) -> None:
    """A line from an interactive client (written to its stdin), a line back (it prints it)."""
    client.write("ping from the client\n")
    line = recv_exactly(server.conn, server.sock, len(b"ping from the client\n"), TIMEOUT)
    assert line == b"ping from the client\n"
    send_all(server.conn, server.sock, b"pong from cytls\n")
    client.wait_for("^pong from cytls$", stream="stdout")


def port_of(listener: socket.socket) -> int:
    return listener.getsockname()[1]


matrix = pytest.mark.parametrize(
    ("suite", "group", "kind"),
    [(s, g, k) for s in SUITES for g in GROUPS for k in CERT_KINDS],
)


# --- openssl s_client --------------------------------------------------------------------------


@matrix
def test_openssl_client(pki: TestPKI, suite: str, group: str, kind: str) -> None:
    context = cytls_server_context(pki.servers[kind], suites=suite, groups=group)
    with (
        listening() as listener,
        openssl_client(
            port_of(listener), cafile=pki.ca_file, ciphersuites=suite, groups=group
        ) as client,
    ):
        with cytls_accept(listener, context, client) as server:
            check_handshake(server.handshake, suite=suite, group=group)
            exchange_lines(server, client)
            client.close_stdin()  # s_client sends close_notify and exits
            assert close(server.conn, server.sock, TIMEOUT) is True
        assert client.wait() == 0
    summary = parse_openssl_client(client.stdout_text)
    assert (summary.protocol, summary.cipher, summary.group) == ("TLSv1.3", suite, group)
    assert (summary.verify_code, summary.verify_message) == (0, "ok")
    assert summary.peer_signature_type == OPENSSL_SIGNATURE[kind]
    assert summary.client_hellos == 1
    assert not server.wire().hello_retry_request


@pytest.mark.parametrize("suite", SUITES)
def test_openssl_client_hello_retry(pki: TestPKI, suite: str) -> None:
    """s_client sends one key share (x25519) and also supports secp384r1, the only group the
    cytls server takes."""
    context = cytls_server_context(pki.servers["ecdsa"], suites=suite, groups=["secp384r1"])
    with (
        listening() as listener,
        openssl_client(
            port_of(listener), cafile=pki.ca_file, ciphersuites=suite, groups="x25519:secp384r1"
        ) as client,
    ):
        with cytls_accept(listener, context, client) as server:
            check_hello_retry(server, "secp384r1")
            exchange_lines(server, client)
            client.close_stdin()
            close(server.conn, server.sock, TIMEOUT)
        assert client.wait() == 0
    summary = parse_openssl_client(client.stdout_text)
    assert (summary.client_hellos, summary.group, summary.cipher) == (2, "secp384r1", suite)


def test_openssl_client_alpn_and_sni(pki: TestPKI) -> None:
    seen: list[str | None] = []
    context = cytls_server_context(
        pki.servers["ecdsa"],
        alpn=["http/1.1"],
        sni_callback=lambda _conn, name, _context: seen.append(name),
    )
    with (
        listening() as listener,
        openssl_client(port_of(listener), cafile=pki.ca_file, alpn="h2,http/1.1") as client,
    ):
        with cytls_accept(listener, context, client) as server:
            assert server.handshake.alpn_protocol == "http/1.1"
            assert server.handshake.server_name == "localhost"
            exchange_lines(server, client)
            client.close_stdin()
            close(server.conn, server.sock, TIMEOUT)
        client.wait()
    assert seen == ["localhost"]
    assert parse_openssl_client(client.stdout_text).alpn == "http/1.1"


@pytest.mark.parametrize("request_peer", [True, False], ids=["update_requested", "not_requested"])
def test_key_update_from_cytls_server(pki: TestPKI, request_peer: bool) -> None:
    """cytls updates its write key; s_client must read what follows, and answer with its own
    KeyUpdate (before its next write) only when asked; cytls must read what s_client sends."""
    context = cytls_server_context(pki.servers["ecdsa"])
    with (
        listening() as listener,
        openssl_client(port_of(listener), cafile=pki.ca_file) as client,
    ):
        with cytls_accept(listener, context, client) as server:
            exchange_lines(server, client)
            server.conn.key_update(request_peer=request_peer)
            send_all(server.conn, server.sock, b"cytls after its key update\n")
            client.wait_for("^cytls after its key update$", stream="stdout")
            client.write("s_client after the key update\n")
            line = recv_exactly(server.conn, server.sock, 30, TIMEOUT)
            assert line == b"s_client after the key update\n"
            client.close_stdin()
            close(server.conn, server.sock, TIMEOUT)
        client.wait()
    summary = parse_openssl_client(client.stdout_text)
    assert summary.key_updates_received == 1
    assert summary.key_updates_sent == (1 if request_peer else 0)


@pytest.mark.parametrize("command", ["K", "k"], ids=["update_requested", "not_requested"])
def test_key_update_from_openssl_client(pki: TestPKI, command: str) -> None:
    """s_client sends KeyUpdate ("K": update_requested); cytls must read what follows and, only
    when asked, answer with its own KeyUpdate, after which s_client must still read cytls."""
    context = cytls_server_context(pki.servers["ecdsa"])
    with (
        listening() as listener,
        openssl_client(port_of(listener), cafile=pki.ca_file) as client,
    ):
        with cytls_accept(listener, context, client) as server:
            exchange_lines(server, client)
            client.write(f"{command}\n")
            client.wait_for(r"^>>> TLS 1\.3, Handshake \[length 0005\], KeyUpdate$")
            client.write("s_client after its key update\n")
            line = recv_exactly(server.conn, server.sock, 30, TIMEOUT)
            assert line == b"s_client after its key update\n"
            send_all(server.conn, server.sock, b"cytls after the key update\n")
            client.wait_for("^cytls after the key update$", stream="stdout")
            client.close_stdin()
            close(server.conn, server.sock, TIMEOUT)
        client.wait()
    summary = parse_openssl_client(client.stdout_text)
    assert summary.key_updates_sent == 1
    assert summary.key_updates_received == (1 if command == "K" else 0)


def test_bulk_to_openssl_client(pki: TestPKI, bulk: tuple[bytes, str]) -> None:
    data, digest = bulk
    sink = HashSink()
    context = cytls_server_context(pki.servers["ecdsa"])
    with (
        listening() as listener,
        openssl_client(
            port_of(listener), cafile=pki.ca_file, quiet=True, stdout_sink=sink
        ) as client,
    ):
        with cytls_accept(listener, context, client) as server:
            send_all(server.conn, server.sock, data, BULK_TIMEOUT)
            assert sink.wait_for(len(data), BULK_TIMEOUT) == digest
            close(server.conn, server.sock, TIMEOUT)
        client.wait()


def test_bulk_from_openssl_client(pki: TestPKI, bulk: tuple[bytes, str]) -> None:
    data, digest = bulk
    context = cytls_server_context(pki.servers["ecdsa"])
    with (
        listening() as listener,
        openssl_client(port_of(listener), cafile=pki.ca_file, quiet=True) as client,
    ):
        with cytls_accept(listener, context, client) as server:
            client.feed_stdin(data)  # then EOF: s_client sends close_notify
            received = recv_exactly(server.conn, server.sock, len(data), BULK_TIMEOUT)
            assert hashlib.sha256(received).hexdigest() == digest
            assert close(server.conn, server.sock, TIMEOUT) is True
        assert client.wait() == 0


# --- the ssl module's client -------------------------------------------------------------------


def ping_pong(tls: Any) -> bytes:
    tls.sendall(b"ping from ssl\n")
    reply = ssl_recv_exactly(tls, len(b"pong from cytls\n"))
    ssl_shutdown(tls)
    return reply


def answer_ping(server: Server) -> None:
    line = recv_exactly(server.conn, server.sock, len(b"ping from ssl\n"), TIMEOUT)
    assert line == b"ping from ssl\n"
    send_all(server.conn, server.sock, b"pong from cytls\n")


@matrix
def test_ssl_client(pki: TestPKI, suite: str, group: str, kind: str) -> None:
    """The ssl module cannot choose TLS 1.3 suites: the cytls server takes only ``suite``; the
    client offers (and sends a key share for) ``group`` only."""
    context = cytls_server_context(pki.servers[kind], suites=suite, groups=group)
    client_context = ssl_client_context(pki.ca_file, group=group)
    with (
        listening() as listener,
        ssl_client(port_of(listener), client_context, action=ping_pong) as client,
    ):
        with cytls_accept(listener, context) as server:
            check_handshake(server.handshake, suite=suite, group=group)
            answer_ping(server)
            assert close(server.conn, server.sock, TIMEOUT) is True
        info = client.wait()
    assert (info.version, info.cipher, info.result) == ("TLSv1.3", suite, b"pong from cytls\n")
    assert not server.wire().hello_retry_request


@pytest.mark.parametrize("suite", SUITES)
def test_ssl_client_hello_retry(pki: TestPKI, suite: str) -> None:
    """The ssl module's client sends an x25519 key share and supports secp384r1 too."""
    context = cytls_server_context(pki.servers["rsa"], suites=suite, groups=["secp384r1"])
    with (
        listening() as listener,
        ssl_client(port_of(listener), ssl_client_context(pki.ca_file), action=ping_pong) as client,
    ):
        with cytls_accept(listener, context) as server:
            check_hello_retry(server, "secp384r1")
            answer_ping(server)
            close(server.conn, server.sock, TIMEOUT)
        assert client.wait().cipher == suite


def test_ssl_client_alpn_and_sni(pki: TestPKI) -> None:
    seen: list[str | None] = []
    context = cytls_server_context(
        pki.servers["ed25519"],
        alpn=["http/1.1"],
        sni_callback=lambda _conn, name, _context: seen.append(name),
    )
    client_context = ssl_client_context(pki.ca_file, alpn=["h2", "http/1.1"])
    with (
        listening() as listener,
        ssl_client(port_of(listener), client_context, action=ping_pong) as client,
    ):
        with cytls_accept(listener, context) as server:
            assert server.handshake.alpn_protocol == "http/1.1"
            answer_ping(server)
            close(server.conn, server.sock, TIMEOUT)
        info = client.wait()
    assert info.alpn == "http/1.1"
    assert seen == ["localhost"]
    assert server.handshake.server_name == "localhost"


def test_bulk_to_ssl_client(pki: TestPKI, bulk: tuple[bytes, str]) -> None:
    data, digest = bulk
    context = cytls_server_context(pki.servers["ecdsa"])

    def receive(tls: Any) -> tuple[int, str]:
        result = ssl_read_until_eof(tls)
        ssl_shutdown(tls)
        return result

    with (
        listening() as listener,
        ssl_client(
            port_of(listener), ssl_client_context(pki.ca_file), action=receive, timeout=BULK_TIMEOUT
        ) as client,
    ):
        with cytls_accept(listener, context) as server:
            send_all(server.conn, server.sock, data, BULK_TIMEOUT)
            assert close(server.conn, server.sock, BULK_TIMEOUT) is True
        assert client.wait(BULK_TIMEOUT).result == (len(data), digest)


def test_bulk_from_ssl_client(pki: TestPKI, bulk: tuple[bytes, str]) -> None:
    data, digest = bulk
    context = cytls_server_context(pki.servers["ecdsa"])

    def send(tls: Any) -> int:
        tls.sendall(data)
        ssl_shutdown(tls)
        return len(data)

    with (
        listening() as listener,
        ssl_client(
            port_of(listener), ssl_client_context(pki.ca_file), action=send, timeout=BULK_TIMEOUT
        ) as client,
    ):
        with cytls_accept(listener, context) as server:
            received = recv_exactly(server.conn, server.sock, len(data), BULK_TIMEOUT)
            assert hashlib.sha256(received).hexdigest() == digest
            assert close(server.conn, server.sock, TIMEOUT) is True
        client.wait(BULK_TIMEOUT)


# --- gnutls-cli --------------------------------------------------------------------------------


@matrix
def test_gnutls_client(pki: TestPKI, suite: str, group: str, kind: str) -> None:
    context = cytls_server_context(pki.servers[kind], suites=suite, groups=group)
    priority = gnutls_priority(suite, group)
    with (
        listening() as listener,
        gnutls_client(port_of(listener), cafile=pki.ca_file, priority=priority) as client,
    ):
        with cytls_accept(listener, context, client) as server:
            check_handshake(server.handshake, suite=suite, group=group)
            exchange_lines(server, client)
            client.close_stdin()  # gnutls-cli sends close_notify and waits for ours
            assert close(server.conn, server.sock, TIMEOUT) is True
        assert client.wait() == 0
    summary = parse_gnutls(client.log)
    assert (summary.protocol, summary.cipher, summary.group) == ("TLS1.3", suite, group)
    assert summary.signature == GNUTLS_SIGNATURE[kind]
    assert not server.wire().hello_retry_request


@pytest.mark.parametrize("suite", SUITES)
def test_gnutls_client_hello_retry(pki: TestPKI, suite: str) -> None:
    """gnutls-cli sends key shares for x25519 and secp384r1 (its first group and the first of
    another kind) and supports secp256r1, the only group the cytls server takes."""
    context = cytls_server_context(pki.servers["ed25519"], suites=suite, groups=["secp256r1"])
    priority = gnutls_priority(suite, ["x25519", "secp384r1", "secp256r1"])
    with (
        listening() as listener,
        gnutls_client(port_of(listener), cafile=pki.ca_file, priority=priority) as client,
    ):
        with cytls_accept(listener, context, client) as server:
            check_hello_retry(server, "secp256r1")
            exchange_lines(server, client)
            client.close_stdin()
            close(server.conn, server.sock, TIMEOUT)
        assert client.wait() == 0
    assert parse_gnutls(client.log).group == "secp256r1"


def test_gnutls_client_alpn_and_sni(pki: TestPKI) -> None:
    seen: list[str | None] = []
    context = cytls_server_context(
        pki.servers["rsa"],
        alpn=["http/1.1"],
        sni_callback=lambda _conn, name, _context: seen.append(name),
    )
    with (
        listening() as listener,
        gnutls_client(port_of(listener), cafile=pki.ca_file, alpn=["h2", "http/1.1"]) as client,
    ):
        with cytls_accept(listener, context, client) as server:
            assert server.handshake.alpn_protocol == "http/1.1"
            assert server.handshake.server_name == "localhost"
            exchange_lines(server, client)
            client.close_stdin()
            close(server.conn, server.sock, TIMEOUT)
        client.wait()
    assert seen == ["localhost"]
    assert parse_gnutls(client.log).alpn == "http/1.1"


# --- curl --------------------------------------------------------------------------------------


def read_http_request(server: Server) -> bytes:
    request = bytearray()
    while not request.endswith(b"\r\n\r\n"):
        assert len(request) < 65536, "no end to the HTTP request head"
        request += recv_exactly(server.conn, server.sock, 1, TIMEOUT)
    return bytes(request)


def answer_http(server: Server, body: bytes) -> None:
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    send_all(server.conn, server.sock, head.encode() + body)


def serve_one_get(
    pki: TestPKI, context: Any, *, path: str, body: bytes, **curl_options: Any
) -> tuple[Server, PeerProcess]:
    """curl GETs https://localhost:PORT/``path``; cytls answers 200 with ``body``."""
    with listening() as listener:
        port = port_of(listener)
        url = f"https://localhost:{port}{path}"
        with curl_get(url, cafile=pki.ca_file, port=port, **curl_options) as curl:
            with cytls_accept(listener, context, curl) as server:
                request = read_http_request(server)
                assert request.startswith(f"GET {path} HTTP/1.1\r\n".encode())
                assert f"\r\nHost: localhost:{port}\r\n".encode() in request
                answer_http(server, body)
                close(server.conn, server.sock, TIMEOUT)  # curl may or may not answer
            assert curl.wait() == 0
    assert curl.stdout_text == body.decode()
    return server, curl


@matrix
def test_curl(pki: TestPKI, suite: str, group: str, kind: str) -> None:
    context = cytls_server_context(pki.servers[kind], suites=suite, groups=group, alpn=["http/1.1"])
    body = f"{suite} {group} {kind}\n".encode()
    server, curl = serve_one_get(
        pki, context, path="/interop", body=body, ciphersuites=suite, curves=group
    )
    check_handshake(server.handshake, suite=suite, group=group)
    assert server.handshake.alpn_protocol == "http/1.1"
    summary = parse_curl(curl.stderr_text)
    assert (summary.protocol, summary.cipher, summary.alpn) == ("TLSv1.3", suite, "http/1.1")


@pytest.mark.parametrize("suite", SUITES)
def test_curl_hello_retry(pki: TestPKI, suite: str) -> None:
    """curl (on OpenSSL) sends one key share, for the first of its curves."""
    context = cytls_server_context(pki.servers["ecdsa"], suites=suite, groups=["secp384r1"])
    server, curl = serve_one_get(
        pki, context, path="/hrr", body=b"retried\n", curves="x25519:secp384r1"
    )
    check_hello_retry(server, "secp384r1")
    assert parse_curl(curl.stderr_text).cipher == suite


def test_curl_without_alpn(pki: TestPKI) -> None:
    context = cytls_server_context(pki.servers["ed25519"], alpn=["http/1.1"])
    server, _curl = serve_one_get(pki, context, path="/no-alpn", body=b"plain\n", alpn=False)
    assert server.handshake.alpn_protocol is None

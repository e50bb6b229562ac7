"""The interop harness checked against the ``ssl`` module, so that a failing cytls interop test
means cytls, not the harness.

The cytls side is played by :class:`SSLObjectConnection`, which gives ``ssl.SSLObject`` the
interface of ``cytls.Connection``, driven by the same ``driver`` functions the cytls tests use.
Every peer fixture is exercised the way the cytls tests exercise it: data both ways, the peer's
own report parsed, HelloRetryRequest forced, KeyUpdate, SNI, ALPN and bulk transfers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import ipaddress
import os
import socket
import ssl
from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from .driver import close, drive_handshake, recv_exactly, send_all
from .peers import (
    CERT_KINDS,
    PEERS_ENV,
    TIMEOUT,
    HashSink,
    PeerProcess,
    TappedSocket,
    TestPKI,
    accept,
    curl_get,
    echo_handler,
    gnutls_client,
    gnutls_priority,
    gnutls_server,
    http_handler,
    implementation_mismatch,
    listening,
    observe_handshake,
    openssl_client,
    openssl_server,
    parse_curl,
    parse_gnutls,
    parse_openssl_client,
    parse_openssl_server,
    require_tool,
    sink_handler,
    source_handler,
    ssl_client,
    ssl_client_context,
    ssl_recv_exactly,
    ssl_server,
    ssl_server_context,
    ssl_shutdown,
)

pytestmark = pytest.mark.interop

SELFCHECK_BULK = 16 << 20


# --- ssl.SSLObject behind cytls.Connection's interface ---------------------------------------


@dataclasses.dataclass(frozen=True)
class HandshakeComplete:
    version: str | None
    cipher_suite: str | None
    group: str | None
    alpn_protocol: str | None
    server_name: str | None
    peer_certificates: tuple[bytes, ...]


@dataclasses.dataclass(frozen=True)
class ConnectionClosed:
    pass


class SSLObjectConnection:
    """``ssl.SSLObject`` with the methods of ``cytls.Connection`` the driver uses."""

    def __init__(
        self,
        context: ssl.SSLContext,
        *,
        server_side: bool = False,
        server_hostname: str | None = None,
    ) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._server_side = server_side
        self._server_name = server_hostname
        self._events: deque[Any] = deque()
        self._closed_reported = False
        self.handshake_complete = False
        if server_side:
            context.sni_callback = self._record_sni
        self._tls = context.wrap_bio(
            self._incoming, self._outgoing, server_side=server_side, server_hostname=server_hostname
        )
        self._advance()

    def _record_sni(self, _sslobj: Any, name: str | None, _context: Any) -> None:
        self._server_name = name

    def _advance(self) -> None:
        if self.handshake_complete:
            return
        try:
            self._tls.do_handshake()
        except ssl.SSLWantReadError:
            return
        self.handshake_complete = True
        cipher = self._tls.cipher()
        peer = self._tls.getpeercert(binary_form=True)
        self._events.append(
            HandshakeComplete(
                version=self._tls.version(),
                cipher_suite=cipher[0] if cipher else None,
                group=None,  # the ssl module does not tell
                alpn_protocol=self._tls.selected_alpn_protocol(),
                server_name=self._server_name,
                peer_certificates=(peer,) if peer else (),
            )
        )

    def receive_data(self, data: bytes) -> None:
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()
        self._advance()

    def data_to_send(self) -> bytes:
        return self._outgoing.read()

    def send(self, data: bytes) -> None:
        self._tls.write(data)

    def recv(self, max_bytes: int = -1) -> bytes:
        try:
            return self._tls.read(max_bytes if max_bytes > 0 else 1 << 20)
        except ssl.SSLZeroReturnError:
            if not self._closed_reported:
                self._closed_reported = True
                self._events.append(ConnectionClosed())
            return b""

    def next_event(self) -> Any:
        return self._events.popleft() if self._events else None

    def close(self) -> None:
        with contextlib.suppress(ssl.SSLWantReadError):
            self._tls.unwrap()


@dataclasses.dataclass
class Session:
    conn: SSLObjectConnection
    sock: TappedSocket
    handshake: HandshakeComplete


@contextlib.contextmanager
def client_session(
    port: int, context: ssl.SSLContext, server_hostname: str = "localhost"
) -> Iterator[Session]:
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock = TappedSocket(raw)
    try:
        conn = SSLObjectConnection(context, server_hostname=server_hostname)
        yield Session(conn, sock, drive_handshake(conn, sock, TIMEOUT))
    finally:
        raw.close()


@contextlib.contextmanager
def server_session(
    listener: socket.socket, context: ssl.SSLContext, peer: PeerProcess | None = None
) -> Iterator[Session]:
    raw = accept(listener, peer)
    sock = TappedSocket(raw)
    try:
        conn = SSLObjectConnection(context, server_side=True)
        yield Session(conn, sock, drive_handshake(conn, sock, TIMEOUT))
    finally:
        raw.close()


def exchange_as_client(session: Session, peer: PeerProcess) -> None:
    """Send a line to an interactive openssl peer, get one back, close."""
    send_all(session.conn, session.sock, b"ping from the test\n")
    peer.wait_for("ping from the test")
    peer.write("pong from the peer\n")
    line = recv_exactly(session.conn, session.sock, len(b"pong from the peer\n"), TIMEOUT)
    assert line == b"pong from the peer\n"


def read_http_request(session: Session) -> bytes:
    request = bytearray()
    while not request.endswith(b"\r\n\r\n"):
        assert len(request) < 65536, "no end of HTTP request head"
        request += recv_exactly(session.conn, session.sock, 1, TIMEOUT)
    return bytes(request)


def answer_http(session: Session, body: bytes) -> None:
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    send_all(session.conn, session.sock, head.encode() + body)


# --- the harness's own pieces ------------------------------------------------------------------


@pytest.mark.parametrize("kind", CERT_KINDS)
def test_pki_verifies_with_cryptography(pki: TestPKI, kind: str) -> None:
    """The chains pass the same checks cytls makes (cryptography.x509.verification)."""
    roots = x509.load_pem_x509_certificates(pki.ca_file.read_bytes())
    leaf = pki.servers[kind].certificate
    for name in (x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))):
        verifier = PolicyBuilder().store(Store(roots)).build_server_verifier(name)
        chain = verifier.verify(leaf, [])
        assert chain[0] == leaf


def test_missing_tool_fails_rather_than_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PEERS_ENV, raising=False)
    with pytest.raises(pytest.fail.Exception, match="apt-get install"):
        require_tool("cytls-no-such-tool")


def test_missing_tool_skips_with_its_reason_where_peers_are_optional(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CYTLS_TEST_PEERS=optional (wheel builds, macOS, Windows): a skip that names the tool."""
    monkeypatch.setenv(PEERS_ENV, "optional")
    with pytest.raises(pytest.skip.Exception, match="'cytls-no-such-tool' is not on PATH"):
        require_tool("cytls-no-such-tool")


@pytest.mark.parametrize(
    ("name", "version_output", "expected"),
    [
        ("openssl", "OpenSSL 3.0.19 27 Jan 2026 (Library: OpenSSL 3.0.19 27 Jan 2026)\n", None),
        ("openssl", "OpenSSL 3.5.0 8 Apr 2025 (Library: OpenSSL 3.5.0 8 Apr 2025)\n", None),
        ("openssl", "LibreSSL 3.3.6\n", "openssl here is 'LibreSSL 3.3.6'; the interop tests"),
        ("openssl", "OpenSSL 1.1.1k  FIPS 25 Mar 2021\n", "need OpenSSL 3"),
        ("openssl", "", "openssl here is 'silent'"),
        ("gnutls-cli", "gnutls-cli 3.7.9\nCopyright (C) 2000-2021\n", None),
        ("gnutls-serv", "gnutls-serv 3.8.10\n", None),
        ("gnutls-serv", "gnutls-serv 3.6.16\n", "need GnuTLS 3.7 or later"),
        (
            "curl",
            "curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1 OpenSSL/3.0.19 zlib/1.2.13\n",
            None,
        ),
        (
            "curl",
            "curl 8.7.1 (x86_64-apple-darwin24.0) libcurl/8.7.1 (SecureTransport) "
            "LibreSSL/3.3.6 zlib/1.2.12\n",
            "need curl built on OpenSSL 3",
        ),
        ("curl", "curl 8.13.0 (Windows) libcurl/8.13.0 Schannel zlib/1.3.1\n", "OpenSSL 3"),
    ],
)
def test_optional_peers_must_be_the_implementations_the_parsers_read(
    name: str, version_output: str, expected: str | None
) -> None:
    """Where peers are optional, a LibreSSL openssl or a Schannel curl skips rather than fails
    on output these tests cannot parse; the tools CI installs pass."""
    mismatch = implementation_mismatch(name, version_output)
    if expected is None:
        assert mismatch is None
    else:
        assert mismatch is not None and expected in mismatch


# --- openssl s_server --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CERT_KINDS)
def test_openssl_server(pki: TestPKI, kind: str) -> None:
    certkey = pki.servers[kind]
    context = ssl_client_context(pki.ca_file, alpn=["h2", "http/1.1"], group="secp256r1")
    with openssl_server(
        certkey.cert,
        certkey.key,
        ciphersuites="TLS_CHACHA20_POLY1305_SHA256",
        groups="secp256r1",
        alpn="http/1.1",
    ) as server:
        with client_session(server.port, context) as session:
            assert session.handshake.cipher_suite == "TLS_CHACHA20_POLY1305_SHA256"
            assert session.handshake.alpn_protocol == "http/1.1"
            assert session.handshake.peer_certificates == (certkey.der,)
            exchange_as_client(session, server)
            assert close(session.conn, session.sock, TIMEOUT) is True
        assert server.wait() == 0
    summary = parse_openssl_server(server.stdout_text)
    assert summary.cipher == "TLS_CHACHA20_POLY1305_SHA256"
    assert summary.server_name == "localhost"
    assert summary.alpn_offered == ("h2", "http/1.1")
    assert summary.alpn_selected == "http/1.1"
    assert summary.shared_groups == ("secp256r1",)
    assert summary.client_hellos == 1
    wire = observe_handshake(session.sock.sent, session.sock.received)
    assert not wire.hello_retry_request
    assert wire.server_hellos == ((False, "secp256r1"),)


def test_openssl_server_hello_retry(pki: TestPKI) -> None:
    certkey = pki.servers["ecdsa"]
    context = ssl_client_context(pki.ca_file)  # offers x25519 first, with the only key share
    with (
        openssl_server(certkey.cert, certkey.key, groups="secp384r1") as server,
        client_session(server.port, context) as session,
    ):
        exchange_as_client(session, server)
        close(session.conn, session.sock, TIMEOUT)
        server.wait()
    assert parse_openssl_server(server.stdout_text).client_hellos == 2
    wire = observe_handshake(session.sock.sent, session.sock.received)
    assert wire.hello_retry_request
    assert wire.client_hellos == (("x25519",), ("secp384r1",))
    assert wire.server_hellos == ((True, "secp384r1"), (False, "secp384r1"))


def test_openssl_server_key_update(pki: TestPKI) -> None:
    """ "K" on s_server's stdin sends KeyUpdate(update_requested); OpenSSL answers with its own
    before its next write."""
    certkey = pki.servers["ed25519"]
    with (
        openssl_server(certkey.cert, certkey.key) as server,
        client_session(server.port, ssl_client_context(pki.ca_file)) as session,
    ):
        exchange_as_client(session, server)
        server.write("K\n")
        server.wait_for(r"^>>> TLS 1\.3, Handshake \[length 0005\], KeyUpdate$")
        server.write("after the key update\n")
        line = recv_exactly(session.conn, session.sock, 21, TIMEOUT)
        assert line == b"after the key update\n"
        send_all(session.conn, session.sock, b"client data after the update\n")
        server.wait_for("client data after the update")
        close(session.conn, session.sock, TIMEOUT)
        server.wait()
    summary = parse_openssl_server(server.stdout_text)
    assert (summary.key_updates_sent, summary.key_updates_received) == (1, 1)


def test_openssl_server_bulk_both_ways(pki: TestPKI) -> None:
    data = os.urandom(SELFCHECK_BULK)
    digest = hashlib.sha256(data).hexdigest()
    certkey = pki.servers["ecdsa"]
    sink = HashSink()
    with (
        openssl_server(certkey.cert, certkey.key, quiet=True, stdout_sink=sink) as server,
        client_session(server.port, ssl_client_context(pki.ca_file)) as session,
    ):
        send_all(session.conn, session.sock, data)
        assert sink.wait_for(len(data)) == digest
        server.feed_stdin(data)
        received = recv_exactly(session.conn, session.sock, len(data), 120)
        assert hashlib.sha256(received).hexdigest() == digest
        close(session.conn, session.sock, TIMEOUT)


# --- openssl s_client --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CERT_KINDS)
def test_openssl_client(pki: TestPKI, kind: str) -> None:
    certkey = pki.servers[kind]
    context = ssl_server_context(certkey, alpn=["http/1.1"])
    with (
        listening() as listener,
        openssl_client(
            listener.getsockname()[1],
            cafile=pki.ca_file,
            ciphersuites="TLS_AES_128_GCM_SHA256",
            groups="secp256r1",
            alpn="h2,http/1.1",
        ) as client,
    ):
        with server_session(listener, context, client) as session:
            assert session.handshake.cipher_suite == "TLS_AES_128_GCM_SHA256"
            assert session.handshake.server_name == "localhost"
            client.write("ping from s_client\n")
            line = recv_exactly(session.conn, session.sock, 19, TIMEOUT)
            assert line == b"ping from s_client\n"
            send_all(session.conn, session.sock, b"pong from the test\n")
            client.wait_for("pong from the test")
            client.close_stdin()  # s_client sends close_notify and exits
            assert close(session.conn, session.sock, TIMEOUT) is True
        assert client.wait() == 0
    summary = parse_openssl_client(client.stdout_text)
    assert summary.protocol == "TLSv1.3"
    assert summary.cipher == "TLS_AES_128_GCM_SHA256"
    assert summary.group == "secp256r1"
    assert summary.alpn == "http/1.1"
    assert summary.verify_code == 0
    assert summary.peer_signature_type == {"ecdsa": "ECDSA", "rsa": "RSA-PSS"}.get(kind, kind)
    assert summary.client_hellos == 1


def test_openssl_client_hello_retry(pki: TestPKI) -> None:
    context = ssl_server_context(pki.servers["ecdsa"], group="secp384r1")
    with (
        listening() as listener,
        openssl_client(
            listener.getsockname()[1], cafile=pki.ca_file, groups="x25519:secp384r1"
        ) as client,
    ):
        with server_session(listener, context, client) as session:
            client.write("ping\n")
            assert recv_exactly(session.conn, session.sock, 5, TIMEOUT) == b"ping\n"
            client.close_stdin()
            close(session.conn, session.sock, TIMEOUT)
        client.wait()
    summary = parse_openssl_client(client.stdout_text)
    assert summary.client_hellos == 2
    assert summary.group == "secp384r1"
    wire = observe_handshake(session.sock.received, session.sock.sent)
    assert wire.client_hellos == (("x25519",), ("secp384r1",))
    assert wire.hello_retry_request


def test_openssl_client_key_update(pki: TestPKI) -> None:
    context = ssl_server_context(pki.servers["rsa"])
    with (
        listening() as listener,
        openssl_client(listener.getsockname()[1], cafile=pki.ca_file) as client,
    ):
        with server_session(listener, context, client) as session:
            client.write("first\n")
            assert recv_exactly(session.conn, session.sock, 6, TIMEOUT) == b"first\n"
            client.write("K\n")
            client.wait_for(r"^>>> TLS 1\.3, Handshake \[length 0005\], KeyUpdate$")
            client.write("second\n")
            assert recv_exactly(session.conn, session.sock, 7, TIMEOUT) == b"second\n"
            send_all(session.conn, session.sock, b"server data after the update\n")
            client.wait_for("server data after the update")
            client.close_stdin()
            close(session.conn, session.sock, TIMEOUT)
        client.wait()
    summary = parse_openssl_client(client.stdout_text)
    assert (summary.key_updates_sent, summary.key_updates_received) == (1, 1)


def test_openssl_client_bulk_both_ways(pki: TestPKI) -> None:
    data = os.urandom(SELFCHECK_BULK)
    digest = hashlib.sha256(data).hexdigest()
    context = ssl_server_context(pki.servers["ecdsa"])
    sink = HashSink()
    with (
        listening() as listener,
        openssl_client(
            listener.getsockname()[1], cafile=pki.ca_file, quiet=True, stdout_sink=sink
        ) as client,
    ):
        with server_session(listener, context, client) as session:
            send_all(session.conn, session.sock, data)
            assert sink.wait_for(len(data)) == digest
            client.feed_stdin(data)  # then EOF: s_client sends close_notify
            received = recv_exactly(session.conn, session.sock, len(data), 120)
            assert hashlib.sha256(received).hexdigest() == digest
            assert close(session.conn, session.sock, TIMEOUT) is True
        assert client.wait() == 0


# --- gnutls-serv -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CERT_KINDS)
def test_gnutls_server(pki: TestPKI, kind: str) -> None:
    certkey = pki.servers[kind]
    priority = gnutls_priority("TLS_AES_256_GCM_SHA384", "secp384r1")
    context = ssl_client_context(pki.ca_file, alpn=["h2", "http/1.1"], group="secp384r1")
    with (
        gnutls_server(certkey.cert, certkey.key, priority=priority, alpn=["http/1.1"]) as server,
        client_session(server.port, context) as session,
    ):
        assert session.handshake.alpn_protocol == "http/1.1"
        assert session.handshake.cipher_suite == "TLS_AES_256_GCM_SHA384"
        send_all(session.conn, session.sock, b"echo me\n")
        assert recv_exactly(session.conn, session.sock, 8, TIMEOUT) == b"echo me\n"
        close(session.conn, session.sock, TIMEOUT)
        server.wait_for(r"^- Application protocol: ", stream="stdout")
    summary = parse_gnutls(server.stdout_text)
    assert summary.protocol == "TLS1.3"
    assert summary.cipher == "TLS_AES_256_GCM_SHA384"
    assert summary.group == "secp384r1"
    assert summary.server_name == "localhost"
    assert summary.alpn == "http/1.1"


def test_gnutls_server_hello_retry(pki: TestPKI) -> None:
    certkey = pki.servers["ecdsa"]
    priority = gnutls_priority(groups="secp384r1")
    with (
        gnutls_server(certkey.cert, certkey.key, priority=priority) as server,
        client_session(server.port, ssl_client_context(pki.ca_file)) as session,
    ):
        send_all(session.conn, session.sock, b"hi\n")
        assert recv_exactly(session.conn, session.sock, 3, TIMEOUT) == b"hi\n"
        close(session.conn, session.sock, TIMEOUT)
    wire = observe_handshake(session.sock.sent, session.sock.received)
    assert wire.hello_retry_request
    assert wire.server_hellos[-1] == (False, "secp384r1")


def test_gnutls_server_requesting_a_client_certificate(pki: TestPKI) -> None:
    """gnutls-serv asks for a client certificate unless told not to; a client without one
    answers with an empty Certificate message and the handshake goes on."""
    certkey = pki.servers["ecdsa"]
    with (
        gnutls_server(certkey.cert, certkey.key, request_client_cert=True) as server,
        client_session(server.port, ssl_client_context(pki.ca_file)) as session,
    ):
        send_all(session.conn, session.sock, b"hi\n")
        assert recv_exactly(session.conn, session.sock, 3, TIMEOUT) == b"hi\n"
        close(session.conn, session.sock, TIMEOUT)


def test_gnutls_server_echoes_many_lines(pki: TestPKI) -> None:
    """The echo is per line, text only, lines up to about 16 KiB: 1 MiB in 4 KiB lines."""
    certkey = pki.servers["ecdsa"]
    with (
        gnutls_server(certkey.cert, certkey.key) as server,
        client_session(server.port, ssl_client_context(pki.ca_file)) as session,
    ):
        for index in range(256):
            line = os.urandom(2047).hex().encode() + b"\n"
            send_all(session.conn, session.sock, line)
            assert recv_exactly(session.conn, session.sock, len(line), TIMEOUT) == line, index
        close(session.conn, session.sock, TIMEOUT)


# --- gnutls-cli --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CERT_KINDS)
def test_gnutls_client(pki: TestPKI, kind: str) -> None:
    context = ssl_server_context(pki.servers[kind], alpn=["http/1.1"])
    priority = gnutls_priority("TLS_CHACHA20_POLY1305_SHA256", "x25519")
    with (
        listening() as listener,
        gnutls_client(
            listener.getsockname()[1],
            cafile=pki.ca_file,
            priority=priority,
            alpn=["h2", "http/1.1"],
        ) as client,
    ):
        with server_session(listener, context, client) as session:
            assert session.handshake.server_name == "localhost"
            assert session.handshake.cipher_suite == "TLS_CHACHA20_POLY1305_SHA256"
            client.write("ping from gnutls-cli\n")
            assert recv_exactly(session.conn, session.sock, 21, TIMEOUT) == (
                b"ping from gnutls-cli\n"
            )
            send_all(session.conn, session.sock, b"pong\n")
            client.wait_for("^pong$", stream="stdout")
            client.close_stdin()  # gnutls-cli sends close_notify, waits for ours
            assert close(session.conn, session.sock, TIMEOUT) is True
        assert client.wait() == 0
    summary = parse_gnutls(client.log)
    assert summary.protocol == "TLS1.3"
    assert summary.cipher == "TLS_CHACHA20_POLY1305_SHA256"
    assert summary.group == "x25519"
    assert summary.alpn == "http/1.1"


def test_gnutls_client_hello_retry(pki: TestPKI) -> None:
    """gnutls-cli sends two key shares (its first group and the first of another kind): a
    server that only takes the third group must ask again."""
    context = ssl_server_context(pki.servers["ecdsa"], group="secp256r1")
    priority = gnutls_priority(groups=["x25519", "secp384r1", "secp256r1"])
    with (
        listening() as listener,
        gnutls_client(listener.getsockname()[1], cafile=pki.ca_file, priority=priority) as client,
    ):
        with server_session(listener, context, client) as session:
            client.write("ping\n")
            assert recv_exactly(session.conn, session.sock, 5, TIMEOUT) == b"ping\n"
            client.close_stdin()
            close(session.conn, session.sock, TIMEOUT)
        client.wait()
    wire = observe_handshake(session.sock.received, session.sock.sent)
    assert wire.client_hellos == (("x25519", "secp384r1"), ("secp256r1",))
    assert wire.hello_retry_request
    assert parse_gnutls(client.log).group == "secp256r1"


def test_gnutls_client_against_ssl_server(pki: TestPKI) -> None:
    context = ssl_server_context(pki.servers["ed25519"])
    with (
        ssl_server(context, handler=echo_handler) as server,
        gnutls_client(server.port, cafile=pki.ca_file) as client,
    ):
        client.write("echo\n")
        client.wait_for("^echo$", stream="stdout")
        client.close_stdin()
        assert client.wait() == 0
        (info,) = server.wait()
    assert info.server_name == "localhost"
    assert info.result == 5


# --- the ssl module as a peer ------------------------------------------------------------------


def test_ssl_server(pki: TestPKI) -> None:
    context = ssl_server_context(pki.servers["ecdsa"], alpn=["http/1.1"], group="secp256r1")
    client_context = ssl_client_context(pki.ca_file, alpn=["h2", "http/1.1"])
    with (
        ssl_server(context) as server,
        client_session(server.port, client_context) as session,
    ):
        send_all(session.conn, session.sock, b"echo this\n")
        assert recv_exactly(session.conn, session.sock, 10, TIMEOUT) == b"echo this\n"
        assert close(session.conn, session.sock, TIMEOUT) is True
        (info,) = server.wait()
    assert info.version == "TLSv1.3"
    assert info.server_name == "localhost"
    assert info.alpn == "http/1.1"
    assert info.result == 10
    wire = observe_handshake(session.sock.sent, session.sock.received)
    assert wire.hello_retry_request  # x25519 share, server takes secp256r1 only


def test_ssl_client(pki: TestPKI) -> None:
    context = ssl_server_context(pki.servers["rsa"], alpn=["http/1.1"])
    client_context = ssl_client_context(pki.ca_file, alpn=["h2", "http/1.1"], group="secp384r1")

    def action(tls: ssl.SSLSocket) -> bytes:
        tls.sendall(b"ping\n")
        reply = ssl_recv_exactly(tls, 5)
        ssl_shutdown(tls)
        return reply

    with listening() as listener, ssl_client(listener.getsockname()[1], client_context,
                                             action=action) as client:  # fmt: skip
        with server_session(listener, context) as session:
            assert session.handshake.server_name == "localhost"
            assert recv_exactly(session.conn, session.sock, 5, TIMEOUT) == b"ping\n"
            send_all(session.conn, session.sock, b"pong\n")
            assert close(session.conn, session.sock, TIMEOUT) is True
        info = client.wait()
    assert info.result == b"pong\n"
    assert info.alpn == "http/1.1"
    wire = observe_handshake(session.sock.received, session.sock.sent)
    assert wire.client_hellos == (("secp384r1",),)


def test_ssl_peers_bulk_both_ways(pki: TestPKI) -> None:
    data = os.urandom(SELFCHECK_BULK)
    digest = hashlib.sha256(data).hexdigest()
    server_context = ssl_server_context(pki.servers["ecdsa"])
    client_context = ssl_client_context(pki.ca_file)
    with (
        ssl_server(server_context, handler=sink_handler) as server,
        client_session(server.port, client_context) as session,
    ):
        send_all(session.conn, session.sock, data)
        assert close(session.conn, session.sock, 120) is True
        (info,) = server.wait(120)
    assert info.result == (len(data), digest)
    with (
        ssl_server(server_context, handler=source_handler(data)) as server,
        client_session(server.port, client_context) as session,
    ):
        received = recv_exactly(session.conn, session.sock, len(data), 120)
        assert hashlib.sha256(received).hexdigest() == digest
        close(session.conn, session.sock, TIMEOUT)
        server.wait(120)


# --- curl --------------------------------------------------------------------------------------


def test_curl_against_ssl_server(pki: TestPKI) -> None:
    context = ssl_server_context(pki.servers["ecdsa"], alpn=["http/1.1"])
    with ssl_server(context, handler=http_handler(b"hello curl\n")) as server:
        url = f"https://localhost:{server.port}/selfcheck"
        with curl_get(url, cafile=pki.ca_file, port=server.port) as curl:
            assert curl.wait() == 0
        (info,) = server.wait()
    assert curl.stdout_text == "hello curl\n"
    assert info.result.startswith(b"GET /selfcheck HTTP/1.1\r\n")
    assert info.server_name == "localhost"
    summary = parse_curl(curl.stderr_text)
    assert summary.protocol == "TLSv1.3"
    assert summary.alpn == "http/1.1"


def test_curl_against_driver(pki: TestPKI) -> None:
    context = ssl_server_context(pki.servers["ed25519"], alpn=["http/1.1"])
    with listening() as listener:
        port = listener.getsockname()[1]
        with curl_get(
            f"https://localhost:{port}/driver",
            cafile=pki.ca_file,
            port=port,
            ciphersuites="TLS_AES_128_GCM_SHA256",
            curves="secp384r1",
        ) as curl:
            with server_session(listener, context, curl) as session:
                assert session.handshake.server_name == "localhost"
                request = read_http_request(session)
                assert request.startswith(b"GET /driver HTTP/1.1\r\n")
                answer_http(session, b"from the driver\n")
                close(session.conn, session.sock, TIMEOUT)
            assert curl.wait() == 0
    assert curl.stdout_text == "from the driver\n"
    summary = parse_curl(curl.stderr_text)
    assert summary.cipher == "TLS_AES_128_GCM_SHA256"
    assert summary.alpn == "http/1.1"
    wire = observe_handshake(session.sock.received, session.sock.sent)
    assert wire.client_hellos == (("secp384r1",),)


# --- mutual TLS: the peers' client-certificate options, against the ssl module ------------------


def test_pki_client_certificates_verify_with_cryptography(pki: TestPKI) -> None:
    """Every client certificate but "untrusted" is a valid clientAuth chain to ca_file (the
    Web PKI client profile without its demand for a subjectAltName, as cytls checks)."""
    roots = x509.load_pem_x509_certificates(pki.ca_file.read_bytes())
    leaf_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )
    builder = PolicyBuilder().store(Store(roots))
    builder = builder.extension_policies(
        ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=leaf_policy
    )
    verifier = builder.build_client_verifier()
    for kind, client in pki.clients.items():
        chain = x509.load_pem_x509_certificates(client.cert.read_bytes())
        assert chain[0] == client.certificate
        if kind == "untrusted":
            with pytest.raises(VerificationError):
                verifier.verify(chain[0], chain[1:])
        else:
            assert verifier.verify(chain[0], chain[1:]).chain[0] == client.certificate


def ssl_mtls_server_context(pki: TestPKI, *, pha: bool = False) -> ssl.SSLContext:
    context = ssl_server_context(pki.servers["ecdsa"])
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(pki.ca_file)
    context.post_handshake_auth = pha
    return context


def test_openssl_server_verifying_clients(pki: TestPKI) -> None:
    """s_server -Verify 1 -verify_return_error -CAfile prints the client's certificate after
    "Client certificate" (what test_interop_mtls reads)."""
    client = pki.clients["chain"]
    context = ssl_client_context(pki.ca_file)
    context.load_cert_chain(client.cert, client.key)
    certkey = pki.servers["ecdsa"]
    args = ["-Verify", "1", "-verify_return_error", "-CAfile", str(pki.ca_file)]
    with openssl_server(certkey.cert, certkey.key, extra_args=args) as server:
        with client_session(server.port, context) as session:
            exchange_as_client(session, server)
            close(session.conn, session.sock, TIMEOUT)
        server.wait()
    printed = server.stdout_text.split("Client certificate\n", 1)[1]
    assert x509.load_pem_x509_certificate(printed.encode()) == client.certificate


def test_openssl_client_certificate_and_post_handshake_auth(pki: TestPKI) -> None:
    """s_client -enable_pha -cert/-key answers the ssl module's verify_client_post_handshake."""
    client = pki.clients["ecdsa"]
    args = ["-enable_pha", "-cert", str(client.cert), "-key", str(client.key)]
    with (
        listening() as listener,
        openssl_client(listener.getsockname()[1], cafile=pki.ca_file, extra_args=args) as peer,
    ):
        with server_session(listener, ssl_mtls_server_context(pki, pha=True), peer) as session:
            assert session.handshake.peer_certificates == ()
            session.conn._tls.verify_client_post_handshake()
            send_all(session.conn, session.sock, b"authenticate, please\n")
            peer.wait_for("^authenticate, please$", stream="stdout")
            peer.write("done\n")
            assert recv_exactly(session.conn, session.sock, 5, TIMEOUT) == b"done\n"
            assert session.conn._tls.getpeercert(binary_form=True) == client.der
            peer.close_stdin()
            close(session.conn, session.sock, TIMEOUT)
        assert peer.wait() == 0


def test_curl_and_gnutls_client_certificates(pki: TestPKI) -> None:
    """curl --cert/--key and gnutls-cli --x509certfile/--x509keyfile present their
    certificates to the ssl module's server."""
    client = pki.clients["rsa"]

    def peer_certificate(tls: ssl.SSLSocket) -> Any:
        certificate = tls.getpeercert(binary_form=True)
        http_handler(b"hello\n")(tls)
        return certificate

    with ssl_server(ssl_mtls_server_context(pki), handler=peer_certificate) as server:
        url = f"https://localhost:{server.port}/"
        args = ["--cert", str(client.cert), "--key", str(client.key)]
        with curl_get(url, cafile=pki.ca_file, port=server.port, extra_args=args) as curl:
            assert curl.wait() == 0
        (info,) = server.wait()
    assert info.result == client.der
    args = ["--x509certfile", str(client.cert), "--x509keyfile", str(client.key)]
    with (
        listening() as listener,
        gnutls_client(listener.getsockname()[1], cafile=pki.ca_file, extra_args=args) as peer,
    ):
        with server_session(listener, ssl_mtls_server_context(pki), peer) as session:
            assert session.handshake.peer_certificates == (client.der,)
            peer.write("ping\n")
            assert recv_exactly(session.conn, session.sock, 5, TIMEOUT) == b"ping\n"
            peer.close_stdin()
            close(session.conn, session.sock, TIMEOUT)
        assert peer.wait() == 0

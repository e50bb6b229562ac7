"""cytls as a TLS 1.3 client against real servers: ``openssl s_server``, the ``ssl`` module and
``gnutls-serv`` (issue 3, "Interop with real peers"), plus cytls against itself for the hybrid
post-quantum group no peer here speaks yet.

Each server is checked from its own side too: what it printed about the connection (suite,
group, SNI, ALPN, ClientHellos and KeyUpdates received) and what it received.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import hashlib
import re
import socket
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from handshakeutil import mlkem_marks

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
    gnutls_priority,
    gnutls_server,
    listening,
    observe_handshake,
    openssl_server,
    parse_gnutls,
    parse_openssl_server,
    sink_handler,
    source_handler,
    ssl_server,
    ssl_server_context,
)

pytestmark = pytest.mark.interop

ALL_GROUPS = (*GROUPS, "X25519MLKEM768")


# --- the cytls side ----------------------------------------------------------------------------


def cytls_client_context(
    pki: TestPKI,
    *,
    suites: str | None = None,
    groups: str | Sequence[str] | None = None,
    alpn: Sequence[str] | None = None,
) -> Any:
    import cytls

    context = cytls.TLSContext(cytls.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(pki.ca_file))
    if suites is not None:
        context.set_ciphers(suites)
    if groups is not None:
        context.set_groups(groups)
    if alpn is not None:
        context.set_alpn_protocols(list(alpn))
    return context


def cytls_server_context(
    certkey: CertKey,
    *,
    suites: str | None = None,
    groups: str | Sequence[str] | None = None,
) -> Any:
    import cytls

    context = cytls.TLSContext(cytls.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certkey.cert), str(certkey.key))
    if suites is not None:
        context.set_ciphers(suites)
    if groups is not None:
        context.set_groups(groups)
    return context


@dataclasses.dataclass
class Client:
    conn: Any
    sock: TappedSocket
    handshake: Any
    events: list[Any]

    def wire(self) -> Any:
        return observe_handshake(self.sock.sent, self.sock.received)


@contextlib.contextmanager
def cytls_client(port: int, context: Any, server_hostname: str = "localhost") -> Iterator[Client]:
    """A cytls client connected to 127.0.0.1:``port``, handshake done."""
    import cytls

    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock = TappedSocket(raw)
    events: list[Any] = []
    try:
        conn = cytls.Connection(context, server_side=False, server_hostname=server_hostname)
        handshake = drive_handshake(conn, sock, TIMEOUT, events=events)
        yield Client(conn, sock, handshake, events)
    finally:
        raw.close()


def _der(certificate: Any) -> bytes:
    if isinstance(certificate, bytes | bytearray | memoryview):
        return bytes(certificate)
    from cryptography.hazmat.primitives.serialization import Encoding

    return certificate.public_bytes(Encoding.DER)


def check_handshake(handshake: Any, *, suite: str, group: str, certkey: CertKey) -> None:
    assert handshake.version == "TLSv1.3"
    assert handshake.cipher_suite == suite
    assert handshake.group == group
    assert handshake.server_name == "localhost"
    assert _der(handshake.peer_certificates[0]) == certkey.der


def check_hello_retry(client: Client, group: str) -> None:
    wire = client.wire()
    assert wire.hello_retry_request, (
        f"expected a HelloRetryRequest for {group}; cytls offered key shares {wire.client_hellos}"
    )
    assert wire.server_hellos == ((True, group), (False, group))
    assert len(wire.client_hellos) == 2
    assert wire.client_hellos[1] == (group,)
    assert client.handshake.group == group


def exchange_lines(client: Client, server: PeerProcess) -> None:
    """A line to an interactive s_server (it prints it), a line back (written to its stdin)."""
    send_all(client.conn, client.sock, b"ping from cytls\n")
    server.wait_for("^ping from cytls$")
    server.write("pong from openssl\n")
    reply = recv_exactly(client.conn, client.sock, len(b"pong from openssl\n"), TIMEOUT)
    assert reply == b"pong from openssl\n"


def echo_line(client: Client, line: bytes = b"ping from cytls\n") -> None:
    send_all(client.conn, client.sock, line)
    assert recv_exactly(client.conn, client.sock, len(line), TIMEOUT) == line


matrix = pytest.mark.parametrize(
    ("suite", "group", "kind"),
    [(s, g, k) for s in SUITES for g in GROUPS for k in CERT_KINDS],
)


# --- openssl s_server --------------------------------------------------------------------------


@matrix
def test_openssl_server(pki: TestPKI, suite: str, group: str, kind: str) -> None:
    certkey = pki.servers[kind]
    context = cytls_client_context(pki, suites=suite, groups=group)
    with (
        openssl_server(certkey.cert, certkey.key, ciphersuites=suite, groups=group) as server,
        cytls_client(server.port, context) as client,
    ):
        check_handshake(client.handshake, suite=suite, group=group, certkey=certkey)
        exchange_lines(client, server)
        assert close(client.conn, client.sock, TIMEOUT) is True
        assert server.wait() == 0
    summary = parse_openssl_server(server.stdout_text)
    assert summary.cipher == suite
    assert summary.shared_groups == (group,)
    assert summary.server_name == "localhost"
    assert summary.client_hellos == 1
    assert not client.wire().hello_retry_request


@pytest.mark.parametrize("suite", SUITES)
def test_openssl_server_hello_retry(pki: TestPKI, suite: str) -> None:
    """s_server takes secp384r1 only; cytls's first (only) key share is x25519."""
    certkey = pki.servers["ecdsa"]
    context = cytls_client_context(pki, suites=suite, groups=["x25519", "secp384r1"])
    with openssl_server(
        certkey.cert, certkey.key, ciphersuites=suite, groups="secp384r1"
    ) as server:
        with cytls_client(server.port, context) as client:
            check_hello_retry(client, "secp384r1")
            exchange_lines(client, server)
            close(client.conn, client.sock, TIMEOUT)
        server.wait()
    assert parse_openssl_server(server.stdout_text).client_hellos == 2


def test_openssl_server_sees_alpn_and_sni(pki: TestPKI) -> None:
    certkey = pki.servers["ecdsa"]
    context = cytls_client_context(pki, alpn=["h2", "http/1.1"])
    with (
        openssl_server(certkey.cert, certkey.key, alpn="http/1.1") as server,
        cytls_client(server.port, context) as client,
    ):
        assert client.handshake.alpn_protocol == "http/1.1"
        exchange_lines(client, server)
        close(client.conn, client.sock, TIMEOUT)
        server.wait()
    summary = parse_openssl_server(server.stdout_text)
    assert summary.alpn_offered == ("h2", "http/1.1")
    assert summary.alpn_selected == "http/1.1"
    assert summary.server_name == "localhost"


def test_openssl_server_ip_address_sends_no_sni(pki: TestPKI) -> None:
    """server_hostname="127.0.0.1": no SNI (RFC 6066 §3), the IP SAN is what gets verified."""
    certkey = pki.servers["ecdsa"]
    with openssl_server(certkey.cert, certkey.key) as server:
        context = cytls_client_context(pki)
        with cytls_client(server.port, context, server_hostname="127.0.0.1") as client:
            exchange_lines(client, server)
            close(client.conn, client.sock, TIMEOUT)
        server.wait()
    assert parse_openssl_server(server.stdout_text).server_name is None


@pytest.mark.parametrize("request_peer", [True, False], ids=["update_requested", "not_requested"])
def test_key_update_from_cytls_client(pki: TestPKI, request_peer: bool) -> None:
    """cytls updates its write key; s_server must read what follows, and answer with its own
    KeyUpdate (before its next write) only when asked; cytls must read what s_server sends."""
    certkey = pki.servers["ecdsa"]
    with (
        openssl_server(certkey.cert, certkey.key) as server,
        cytls_client(server.port, cytls_client_context(pki)) as client,
    ):
        exchange_lines(client, server)
        client.conn.key_update(request_peer=request_peer)
        send_all(client.conn, client.sock, b"cytls after its key update\n")
        server.wait_for("^cytls after its key update$")
        server.write("openssl after the key update\n")
        reply = recv_exactly(client.conn, client.sock, 29, TIMEOUT)
        assert reply == b"openssl after the key update\n"
        close(client.conn, client.sock, TIMEOUT)
        server.wait()
    summary = parse_openssl_server(server.stdout_text)
    assert summary.key_updates_received == 1
    assert summary.key_updates_sent == (1 if request_peer else 0)


@pytest.mark.parametrize("command", ["K", "k"], ids=["update_requested", "not_requested"])
def test_key_update_from_openssl_server(pki: TestPKI, command: str) -> None:
    """s_server sends KeyUpdate ("K": update_requested); cytls must read what follows and, only
    when asked, answer with its own KeyUpdate, after which s_server must still read cytls."""
    certkey = pki.servers["ecdsa"]
    with (
        openssl_server(certkey.cert, certkey.key) as server,
        cytls_client(server.port, cytls_client_context(pki)) as client,
    ):
        exchange_lines(client, server)
        server.write(f"{command}\n")
        server.wait_for(r"^>>> TLS 1\.3, Handshake \[length 0005\], KeyUpdate$")
        server.write("openssl after its key update\n")
        reply = recv_exactly(client.conn, client.sock, 29, TIMEOUT)
        assert reply == b"openssl after its key update\n"
        send_all(client.conn, client.sock, b"cytls after the key update\n")
        server.wait_for("^cytls after the key update$")
        close(client.conn, client.sock, TIMEOUT)
        server.wait()
    summary = parse_openssl_server(server.stdout_text)
    assert summary.key_updates_sent == 1
    assert summary.key_updates_received == (1 if command == "K" else 0)


def test_bulk_to_openssl_server(pki: TestPKI, bulk: tuple[bytes, str]) -> None:
    data, digest = bulk
    certkey = pki.servers["ecdsa"]
    sink = HashSink()
    with (
        openssl_server(certkey.cert, certkey.key, quiet=True, stdout_sink=sink) as server,
        cytls_client(server.port, cytls_client_context(pki)) as client,
    ):
        send_all(client.conn, client.sock, data, BULK_TIMEOUT)
        assert sink.wait_for(len(data), BULK_TIMEOUT) == digest
        close(client.conn, client.sock, TIMEOUT)


def test_bulk_from_openssl_server(pki: TestPKI, bulk: tuple[bytes, str]) -> None:
    data, digest = bulk
    certkey = pki.servers["ecdsa"]
    with (
        openssl_server(certkey.cert, certkey.key, quiet=True) as server,
        cytls_client(server.port, cytls_client_context(pki)) as client,
    ):
        server.feed_stdin(data)
        received = recv_exactly(client.conn, client.sock, len(data), BULK_TIMEOUT)
        assert hashlib.sha256(received).hexdigest() == digest
        close(client.conn, client.sock, TIMEOUT)


# --- the ssl module's server -------------------------------------------------------------------


@matrix
def test_ssl_server(pki: TestPKI, suite: str, group: str, kind: str) -> None:
    """The ssl module cannot choose TLS 1.3 suites: cytls offers only ``suite``."""
    certkey = pki.servers[kind]
    context = cytls_client_context(pki, suites=suite, groups=group)
    with (
        ssl_server(ssl_server_context(certkey, group=group)) as server,
        cytls_client(server.port, context) as client,
    ):
        check_handshake(client.handshake, suite=suite, group=group, certkey=certkey)
        echo_line(client)
        assert close(client.conn, client.sock, TIMEOUT) is True
        (info,) = server.wait()
    assert (info.version, info.cipher, info.server_name) == ("TLSv1.3", suite, "localhost")
    assert info.result == len(b"ping from cytls\n")
    assert not client.wire().hello_retry_request


@pytest.mark.parametrize("suite", SUITES)
def test_ssl_server_hello_retry(pki: TestPKI, suite: str) -> None:
    context = cytls_client_context(pki, suites=suite, groups=["x25519", "secp384r1"])
    with (
        ssl_server(ssl_server_context(pki.servers["rsa"], group="secp384r1")) as server,
        cytls_client(server.port, context) as client,
    ):
        check_hello_retry(client, "secp384r1")
        echo_line(client)
        close(client.conn, client.sock, TIMEOUT)
        server.wait()


def test_ssl_server_sees_alpn_and_sni(pki: TestPKI) -> None:
    context = cytls_client_context(pki, alpn=["h2", "http/1.1"])
    with (
        ssl_server(ssl_server_context(pki.servers["ed25519"], alpn=["http/1.1"])) as server,
        cytls_client(server.port, context) as client,
    ):
        assert client.handshake.alpn_protocol == "http/1.1"
        echo_line(client)
        close(client.conn, client.sock, TIMEOUT)
        (info,) = server.wait()
    assert (info.alpn, info.server_name) == ("http/1.1", "localhost")


def test_bulk_to_ssl_server(pki: TestPKI, bulk: tuple[bytes, str]) -> None:
    data, digest = bulk
    with (
        ssl_server(ssl_server_context(pki.servers["ecdsa"]), handler=sink_handler) as server,
        cytls_client(server.port, cytls_client_context(pki)) as client,
    ):
        send_all(client.conn, client.sock, data, BULK_TIMEOUT)
        assert close(client.conn, client.sock, BULK_TIMEOUT) is True
        (info,) = server.wait(BULK_TIMEOUT)
    assert info.result == (len(data), digest)


def test_bulk_from_ssl_server(pki: TestPKI, bulk: tuple[bytes, str]) -> None:
    data, digest = bulk
    context = ssl_server_context(pki.servers["ecdsa"])
    with (
        ssl_server(context, handler=source_handler(data)) as server,
        cytls_client(server.port, cytls_client_context(pki)) as client,
    ):
        received = recv_exactly(client.conn, client.sock, len(data), BULK_TIMEOUT)
        assert hashlib.sha256(received).hexdigest() == digest
        assert close(client.conn, client.sock, TIMEOUT) is True
        server.wait(BULK_TIMEOUT)


# --- gnutls-serv -------------------------------------------------------------------------------


@matrix
def test_gnutls_server(pki: TestPKI, suite: str, group: str, kind: str) -> None:
    certkey = pki.servers[kind]
    context = cytls_client_context(pki, suites=suite, groups=group)
    priority = gnutls_priority(suite, group)
    with (
        gnutls_server(certkey.cert, certkey.key, priority=priority) as server,
        cytls_client(server.port, context) as client,
    ):
        check_handshake(client.handshake, suite=suite, group=group, certkey=certkey)
        echo_line(client)
        close(client.conn, client.sock, TIMEOUT)
        server.wait_for(r"^- Description: ", stream="stdout")
    summary = parse_gnutls(server.stdout_text)
    assert (summary.protocol, summary.cipher, summary.group) == ("TLS1.3", suite, group)
    assert summary.server_name == "localhost"
    assert not client.wire().hello_retry_request


@pytest.mark.parametrize("suite", SUITES)
def test_gnutls_server_hello_retry(pki: TestPKI, suite: str) -> None:
    certkey = pki.servers["ed25519"]
    context = cytls_client_context(pki, suites=suite, groups=["x25519", "secp384r1"])
    priority = gnutls_priority(suite, "secp384r1")
    with (
        gnutls_server(certkey.cert, certkey.key, priority=priority) as server,
        cytls_client(server.port, context) as client,
    ):
        check_hello_retry(client, "secp384r1")
        echo_line(client)
        close(client.conn, client.sock, TIMEOUT)


def test_gnutls_server_sees_alpn_and_sni(pki: TestPKI) -> None:
    certkey = pki.servers["rsa"]
    context = cytls_client_context(pki, alpn=["h2", "http/1.1"])
    with (
        gnutls_server(certkey.cert, certkey.key, alpn=["http/1.1"]) as server,
        cytls_client(server.port, context) as client,
    ):
        assert client.handshake.alpn_protocol == "http/1.1"
        echo_line(client)
        close(client.conn, client.sock, TIMEOUT)
        server.wait_for(r"^- Application protocol: ", stream="stdout")
    summary = parse_gnutls(server.stdout_text)
    assert (summary.alpn, summary.server_name) == ("http/1.1", "localhost")


def test_gnutls_server_requests_a_client_certificate(pki: TestPKI) -> None:
    """gnutls-serv's default: a CertificateRequest, which a client without a certificate
    answers with an empty Certificate (RFC 8446 §4.4.2.4 leaves the rest to the server)."""
    certkey = pki.servers["ecdsa"]
    with (
        gnutls_server(certkey.cert, certkey.key, request_client_cert=True) as server,
        cytls_client(server.port, cytls_client_context(pki)) as client,
    ):
        echo_line(client)
        close(client.conn, client.sock, TIMEOUT)


def test_gnutls_server_echoes_a_mebibyte(pki: TestPKI) -> None:
    """gnutls-serv echoes text lines only (up to about 16 KiB each): 1 MiB in 4 KiB lines."""
    certkey = pki.servers["ecdsa"]
    with (
        gnutls_server(certkey.cert, certkey.key) as server,
        cytls_client(server.port, cytls_client_context(pki)) as client,
    ):
        digest_sent, digest_received = hashlib.sha256(), hashlib.sha256()
        for index in range(256):
            line = hashlib.sha256(index.to_bytes(4, "big")).hexdigest().encode() * 64
            line = line[:4095] + b"\n"
            send_all(client.conn, client.sock, line)
            digest_sent.update(line)
            digest_received.update(recv_exactly(client.conn, client.sock, 4096, TIMEOUT))
        assert digest_received.hexdigest() == digest_sent.hexdigest()
        close(client.conn, client.sock, TIMEOUT)


# --- cytls against cytls -----------------------------------------------------------------------


@pytest.mark.parametrize("group", [pytest.param(g, marks=mlkem_marks(g)) for g in ALL_GROUPS])
@pytest.mark.parametrize("suite", SUITES)
def test_cytls_to_cytls(pki: TestPKI, suite: str, group: str) -> None:
    """No peer here speaks X25519MLKEM768 yet, so the hybrid group is checked cytls to cytls
    over TCP (with the classical groups alongside, as a baseline)."""
    import cytls

    certkey = pki.servers["ecdsa"]
    server_context = cytls_server_context(certkey, suites=suite, groups=group)
    client_context = cytls_client_context(pki, suites=suite, groups=group)

    def serve(listener: socket.socket) -> Any:
        raw = accept(listener)
        try:
            conn = cytls.Connection(server_context, server_side=True)
            handshake = drive_handshake(conn, raw, TIMEOUT)
            line = recv_exactly(conn, raw, len(b"ping from cytls\n"), TIMEOUT)
            send_all(conn, raw, line.upper())
            close(conn, raw, TIMEOUT)
            return handshake
        finally:
            raw.close()

    with (
        listening() as listener,
        concurrent.futures.ThreadPoolExecutor(1) as pool,
    ):
        served = pool.submit(serve, listener)
        with cytls_client(listener.getsockname()[1], client_context) as client:
            check_handshake(client.handshake, suite=suite, group=group, certkey=certkey)
            send_all(client.conn, client.sock, b"ping from cytls\n")
            reply = recv_exactly(client.conn, client.sock, len(b"PING FROM CYTLS\n"), TIMEOUT)
            assert reply == b"PING FROM CYTLS\n"
            assert close(client.conn, client.sock, TIMEOUT) is True
        server_handshake = served.result(TIMEOUT)
    assert (server_handshake.cipher_suite, server_handshake.group) == (suite, group)
    assert server_handshake.server_name == "localhost"


@pytest.mark.parametrize("suite", SUITES)
def test_openssl_server_exporter_agrees(pki: TestPKI, suite: str) -> None:
    """RFC 8446 §7.5: both ends export the same keying material (s_server -keymatexport)."""
    certkey = pki.servers["ecdsa"]
    context = cytls_client_context(pki, suites=suite)
    label = "EXPERIMENTAL-cytls-interop"
    with (
        openssl_server(
            certkey.cert,
            certkey.key,
            ciphersuites=suite,
            extra_args=["-keymatexport", label, "-keymatexportlen", "48"],
        ) as server,
        cytls_client(server.port, context) as client,
    ):
        exchange_lines(client, server)
        ours = client.conn.export_keying_material(label, None, 48)
        close(client.conn, client.sock, TIMEOUT)
        server.wait()
    match = re.search(r"Keying material: ([0-9A-Fa-f]+)", server.stdout_text)
    assert match is not None, server.stdout_text[-2000:]
    assert bytes.fromhex(match.group(1)) == ours
    assert client.conn.export_keying_material(label, b"", 48) == ours  # no context == empty
    assert client.conn.export_keying_material(label, b"x", 48) != ours

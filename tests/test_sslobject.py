"""TLSObject: ``ssl.SSLObject``'s behaviour over ``ssl.MemoryBIO``, against cytls and ``ssl``."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pki
import pytest
from handshakeutil import (
    SSL_READS_TRUNCATION_AS_CLOSE,
    client_context,
    client_credentials,
    credentials,
    root_ca,
    server_context,
    write_credentials,
)

import cytls
from cytls.io.sslobject import TLSObject

Endpoint = Any  # a TLSObject or an ssl.SSLObject


class Side:
    """One end of a connection: the object and its two BIOs."""

    def __init__(
        self,
        context: Any,
        *,
        server_side: bool = False,
        server_hostname: str | None = None,
    ) -> None:
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = context.wrap_bio(
            self.incoming, self.outgoing, server_side=server_side, server_hostname=server_hostname
        )

    def send_to(self, peer: Side) -> int:
        data = self.outgoing.read()
        peer.incoming.write(data)
        return len(data)


def ssl_server_context() -> ssl.SSLContext:
    creds = credentials()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(creds.certfile, creds.keyfile)
    return context


def ssl_client_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=credentials().ca_pem)
    return context


PAIRS: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
    "cytls-cytls": (client_context, server_context),
    "cytls-ssl": (client_context, ssl_server_context),
    "ssl-cytls": (ssl_client_context, server_context),
}


def sides(
    client_ctx: Any = None, server_ctx: Any = None, hostname: str = "localhost"
) -> tuple[Side, Side]:
    client = Side(client_ctx or client_context(), server_hostname=hostname)
    server = Side(server_ctx or server_context(), server_side=True)
    return client, server


def step(side: Side) -> None:
    with contextlib.suppress(ssl.SSLWantReadError):
        side.obj.do_handshake()


def handshake(client: Side, server: Side, rounds: int = 6) -> None:
    for _ in range(rounds):
        step(client)
        client.send_to(server)
        step(server)
        server.send_to(client)
    client.obj.do_handshake()
    server.obj.do_handshake()


def connected(pair: str = "cytls-cytls") -> tuple[Side, Side]:
    make_client, make_server = PAIRS[pair]
    client, server = sides(make_client(), make_server())
    handshake(client, server)
    return client, server


# --- handshake ------------------------------------------------------------------------------------


@pytest.mark.parametrize("pair", PAIRS)
def test_handshake_and_round_trip(pair: str) -> None:
    client, server = connected(pair)
    assert client.obj.version() == server.obj.version() == "TLSv1.3"
    assert client.obj.cipher() == server.obj.cipher()
    assert client.obj.write(b"ping") == 4
    client.send_to(server)
    assert server.obj.read() == b"ping"
    assert server.obj.write(memoryview(b"pong!")) == 5
    server.send_to(client)
    assert client.obj.read(1024) == b"pong!"


def test_do_handshake_wants_read_and_writes_the_client_hello() -> None:
    client, server = sides()
    assert isinstance(client.obj, TLSObject)
    assert client.outgoing.pending == 0  # nothing is sent before the first call, as with ssl
    with pytest.raises(ssl.SSLWantReadError) as info:
        client.obj.do_handshake()
    assert isinstance(info.value, cytls.WantReadError)
    assert client.outgoing.pending > 0
    with pytest.raises(ssl.SSLWantReadError):
        client.obj.do_handshake()  # again: still nothing from the server
    client.send_to(server)
    with pytest.raises(ssl.SSLWantReadError):
        server.obj.do_handshake()  # sent its flight, waits for the client's Finished
    server.send_to(client)
    client.obj.do_handshake()
    client.send_to(server)
    server.obj.do_handshake()
    client.obj.do_handshake()  # done: further calls are no-ops


def test_handshake_fed_one_byte_at_a_time() -> None:
    client, server = sides()
    for _ in range(6):
        step(client)
        for byte in client.outgoing.read():
            server.incoming.write(bytes([byte]))
            step(server)
        for byte in server.outgoing.read():
            client.incoming.write(bytes([byte]))
            step(client)
    client.obj.do_handshake()
    server.obj.do_handshake()
    assert client.obj.cipher() is not None


def test_before_the_handshake() -> None:
    client, _ = sides()
    obj = client.obj
    assert obj.cipher() is None
    assert obj.version() is None
    assert obj.selected_alpn_protocol() is None
    assert obj.shared_ciphers() is None
    with pytest.raises(ValueError, match="handshake not done yet"):
        obj.getpeercert()
    with pytest.raises(ssl.SSLError) as info:
        obj.unwrap()
    assert info.value.reason == "SHUTDOWN_WHILE_IN_INIT"
    # read and write attempt the handshake, as SSLObject's do
    with pytest.raises(ssl.SSLWantReadError):
        obj.write(b"early")
    assert client.outgoing.pending > 0
    with pytest.raises(ssl.SSLWantReadError):
        obj.read()


def test_write_drives_the_handshake() -> None:
    client, server = sides()
    with pytest.raises(ssl.SSLWantReadError):
        client.obj.write(b"x")
    client.send_to(server)
    step(server)
    server.send_to(client)
    assert client.obj.write(b"after") == 5  # completes the handshake, then writes
    client.send_to(server)
    assert server.obj.read() == b"after"


# --- reading and writing --------------------------------------------------------------------------


def test_read_len_buffer_and_pending() -> None:
    client, server = connected()
    with pytest.raises(ssl.SSLWantReadError):
        server.obj.read()
    assert server.obj.pending() == 0
    client.obj.write(b"0123456789")
    client.send_to(server)
    assert server.obj.read(3) == b"012"
    assert server.obj.pending() == 7
    buffer = bytearray(4)
    assert server.obj.read(100, buffer) == 4  # len larger than the buffer: the buffer's size
    assert buffer == b"3456"
    buffer = bytearray(10)
    assert server.obj.read(2, buffer) == 2
    assert buffer[:2] == b"78"
    assert server.obj.read(0) == b""
    with pytest.raises(ValueError):
        server.obj.read(-1)
    assert server.obj.read(0, bytearray(8)) == 1  # 0 with a buffer: the buffer's size
    assert server.obj.pending() == 0
    with pytest.raises(ssl.SSLWantReadError):
        server.obj.read()


def test_large_transfer_in_chunks() -> None:
    client, server = connected("cytls-ssl")
    payload = bytes(range(256)) * 1024  # 256 KiB: many records
    assert client.obj.write(payload) == len(payload)
    client.send_to(server)
    received = bytearray()
    while True:
        try:
            received += server.obj.read(65536)
        except ssl.SSLWantReadError:
            break
    assert received == payload


# --- shutdown -------------------------------------------------------------------------------------


@pytest.mark.parametrize("pair", PAIRS)
def test_unwrap_and_clean_shutdown(pair: str) -> None:
    client, server = connected(pair)
    with pytest.raises(ssl.SSLWantReadError):
        client.obj.unwrap()  # close_notify sent, the server's not here yet
    with pytest.raises(ssl.SSLWantReadError):
        client.obj.unwrap()  # idempotent: still waiting
    client.send_to(server)
    assert server.obj.read() == b""  # the peer closed cleanly; we have not
    assert server.obj.read() == b""
    assert server.obj.read(10, bytearray(10)) == 0
    assert server.obj.write(b"last words") == 10  # the server may still send
    server.obj.unwrap()
    with pytest.raises(ssl.SSLZeroReturnError):
        server.obj.read()  # closed both ways
    server.send_to(client)
    assert client.obj.read() == b"last words"
    assert client.obj.unwrap() is None
    with pytest.raises(ssl.SSLZeroReturnError) as info:
        client.obj.read()
    if pair.startswith("cytls"):
        assert isinstance(info.value, cytls.errors.ZeroReturnError)
    with pytest.raises(ssl.SSLError) as shut:
        client.obj.write(b"too late")
    assert shut.value.reason == "PROTOCOL_IS_SHUTDOWN"


@pytest.mark.parametrize("pair", PAIRS)
def test_eof_without_close_notify_is_truncation(pair: str, request: pytest.FixtureRequest) -> None:
    if pair.startswith("ssl"):
        request.applymarker(SSL_READS_TRUNCATION_AS_CLOSE)
    client, server = connected(pair)
    server.obj.write(b"partial")
    server.send_to(client)
    client.incoming.write_eof()
    assert client.obj.read() == b"partial"  # what arrived is still readable
    with pytest.raises(ssl.SSLEOFError) as info:
        client.obj.read()
    assert info.value.reason == "UNEXPECTED_EOF_WHILE_READING"
    if pair.startswith("cytls"):
        assert isinstance(info.value, cytls.TruncationError)


def test_eof_during_handshake() -> None:
    client, server = sides()
    step(client)
    client.send_to(server)
    server.incoming.write_eof()
    with pytest.raises(ssl.SSLEOFError):
        server.obj.do_handshake()
    with pytest.raises(ssl.SSLEOFError):
        server.obj.do_handshake()  # the failure sticks


def test_unwrap_after_eof_without_close_notify() -> None:
    client, _ = connected()
    client.incoming.write_eof()
    with pytest.raises(ssl.SSLEOFError):
        client.obj.unwrap()


# --- certificates ---------------------------------------------------------------------------------


def test_getpeercert_matches_ssl() -> None:
    ours, _ = connected("cytls-ssl")
    theirs, _ = connected("ssl-cytls")
    reference = theirs.obj.getpeercert()
    assert reference  # ssl decoded it
    assert ours.obj.getpeercert() == reference
    assert ours.obj.getpeercert(binary_form=True) == theirs.obj.getpeercert(True)
    assert ours.obj.getpeercert(True) == pki.der(credentials().leaf[0])[0]


def test_getpeercert_with_extensions_matches_ssl(tmp_path: Path) -> None:
    """A leaf with more in it (AIA, CRL points, a rich subject) decodes the same way."""
    from cryptography import x509
    from cryptography.x509.oid import AuthorityInformationAccessOID

    ca = root_ca()
    leaf = pki.make_leaf(
        ca,
        common_name="localhost",
        extensions=[
            (
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            AuthorityInformationAccessOID.OCSP,
                            x509.UniformResourceIdentifier("http://ocsp.example/"),
                        ),
                        x509.AccessDescription(
                            AuthorityInformationAccessOID.CA_ISSUERS,
                            x509.UniformResourceIdentifier("http://ca.example/ca.der"),
                        ),
                    ]
                ),
                False,
            ),
            (
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            [x509.UniformResourceIdentifier("http://crl.example/ca.crl")],
                            None,
                            None,
                            None,
                        )
                    ]
                ),
                False,
            ),
        ],
    )
    creds = write_credentials(ca, leaf)
    results = []
    for make_client in (client_context, ssl_client_context):
        client, _ = sides(make_client(), server_context(creds))
        handshake(client, _)
        results.append(client.obj.getpeercert())
    assert "OCSP" in results[1] and "crlDistributionPoints" in results[1]
    assert results[0] == results[1]


def test_getpeercert_unverified_and_server_side() -> None:
    client, server = sides(client_context(verify=False))
    handshake(client, server)
    assert client.obj.getpeercert() == {}  # not verified: an empty dict, as with ssl
    assert client.obj.getpeercert(binary_form=True) == pki.der(credentials().leaf[0])[0]
    assert server.obj.getpeercert() is None  # no client certificate
    assert server.obj.getpeercert(True) is None


@pytest.mark.parametrize("server", ["cytls", "ssl"])
def test_hostname_mismatch(server: str) -> None:
    make_server = server_context if server == "cytls" else ssl_server_context
    client, srv = sides(client_context(), make_server(), hostname="wrong.example")
    step(client)
    client.send_to(srv)
    step(srv)
    srv.send_to(client)
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        client.obj.do_handshake()
    assert isinstance(info.value, ssl.CertificateError)  # what asyncio checks for
    assert info.value.verify_code == 62  # X509_V_ERR_HOSTNAME_MISMATCH
    assert "wrong.example" in info.value.verify_message
    assert client.outgoing.pending > 0  # the fatal alert is on its way
    client.send_to(srv)
    with pytest.raises(ssl.SSLError):
        srv.obj.do_handshake()
    with pytest.raises(ssl.SSLCertVerificationError):
        client.obj.do_handshake()  # the failure sticks


def test_unknown_ca() -> None:
    other = pki.make_ca(common_name="someone else")
    context = cytls.TLSContext(cytls.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=pki.pem(other[0]).decode())
    client, server = sides(context)
    step(client)
    client.send_to(server)
    step(server)
    server.send_to(client)
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        client.obj.do_handshake()
    assert info.value.verify_code == 20  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY


# --- what was negotiated --------------------------------------------------------------------------


def test_negotiated_parameters() -> None:
    client, server = sides(client_context(alpn=["h2", "http/1.1"]), server_context(alpn=["h2"]))
    handshake(client, server)
    for obj in (client.obj, server.obj):
        assert obj.selected_alpn_protocol() == "h2"
        assert obj.selected_npn_protocol() is None
        assert obj.compression() is None
        assert obj.session_reused is False
    assert server.obj.session is None  # sessions are the client's (tickets)
    assert isinstance(client.obj.session, cytls.Session)  # the server's tickets came along
    assert client.obj.cipher() == ("TLS_AES_256_GCM_SHA384", "TLSv1.3", 256)
    assert client.obj.shared_ciphers() is None
    assert server.obj.shared_ciphers() == [server.obj.cipher()]
    assert client.obj.server_side is False and server.obj.server_side is True
    assert client.obj.server_hostname == "localhost"
    assert server.obj.server_hostname is None
    assert isinstance(client.obj.context, cytls.TLSContext)
    assert isinstance(client.obj.connection, cytls.Connection)
    assert len(client.obj.export_keying_material("EXPORTER-test", b"", 32)) == 32
    assert client.obj.export_keying_material(
        "EXPORTER-test", None, 16
    ) == server.obj.export_keying_material("EXPORTER-test", None, 16)


@pytest.mark.parametrize("suite", ["TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"])
def test_cipher_follows_the_suite(suite: str) -> None:
    client, server = sides(client_context(suites=suite), server_context())
    handshake(client, server)
    assert client.obj.cipher() == (suite, "TLSv1.3", 128 if "128" in suite else 256)


def test_alpn_against_ssl() -> None:
    ctx = ssl_server_context()
    ctx.set_alpn_protocols(["http/1.1"])
    client, server = sides(client_context(alpn=["h2", "http/1.1"]), ctx)
    handshake(client, server)
    assert client.obj.selected_alpn_protocol() == server.obj.selected_alpn_protocol() == "http/1.1"


def test_channel_binding() -> None:
    client, _ = connected()
    assert client.obj.get_channel_binding() is None  # undefined for TLS 1.3 (RFC 9266)
    assert client.obj.get_channel_binding("tls-unique") is None
    for bad in ("tls-server-end-point", "bogus"):
        with pytest.raises(ValueError, match="not implemented"):
            client.obj.get_channel_binding(bad)


def test_verify_client_post_handshake() -> None:
    client, server = connected()
    with pytest.raises(ssl.SSLError) as info:
        client.obj.verify_client_post_handshake()
    assert info.value.reason == "NOT_SERVER"
    with pytest.raises(ssl.SSLError) as info:
        server.obj.verify_client_post_handshake()
    assert info.value.reason == "EXTENSION_NOT_RECEIVED"


def test_session_must_be_a_session() -> None:
    client, _ = sides()
    client.obj.session = None
    with pytest.raises(TypeError, match="not a SSLSession"):
        client.obj.session = object()
    with pytest.raises(TypeError, match="not a SSLSession"):
        client_context().wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), session=object())


def test_wrap_bio_argument_checks() -> None:
    with pytest.raises(ValueError, match="server_hostname"):
        server_context().wrap_bio(
            ssl.MemoryBIO(), ssl.MemoryBIO(), server_side=True, server_hostname="x"
        )
    with pytest.raises(ValueError, match="check_hostname requires server_hostname"):
        client_context().wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO())


# --- SNI ------------------------------------------------------------------------------------------


def test_sni_callback_sees_the_object_and_switches_context() -> None:
    other_ca = pki.make_ca(common_name="other CA")
    other_creds = write_credentials(other_ca, pki.make_leaf(other_ca, names=["other.example"]))
    other = server_context(other_creds)
    seen: list[tuple[Any, str | None]] = []

    def callback(obj: Any, name: str | None, ctx: Any) -> None:
        seen.append((obj, name))
        if name == "other.example":
            obj.context = other

    default = server_context()
    default.sni_callback = callback
    client_ctx = cytls.TLSContext(cytls.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(cadata=other_creds.ca_pem)
    client, server = sides(client_ctx, default, hostname="other.example")
    handshake(client, server)
    assert seen == [(server.obj, "other.example")]
    assert server.obj.context is other
    assert client.obj.getpeercert()["subjectAltName"] == (("DNS", "other.example"),)


def test_sni_callback_refusal_sends_the_alert() -> None:
    default = server_context()
    default.sni_callback = lambda obj, name, ctx: ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
    client, server = sides(ssl_client_context(), default)
    step(client)
    client.send_to(server)
    with pytest.raises(ssl.SSLError):
        server.obj.do_handshake()
    server.send_to(client)
    with pytest.raises(ssl.SSLError) as info:
        client.obj.do_handshake()
    assert "UNRECOGNIZED_NAME" in info.value.reason


# --- exception classes ----------------------------------------------------------------------------


def test_exception_classes_are_the_ssl_ones() -> None:
    assert issubclass(cytls.WantReadError, ssl.SSLWantReadError)
    assert issubclass(cytls.TruncationError, ssl.SSLEOFError)
    assert issubclass(cytls.errors.ZeroReturnError, ssl.SSLZeroReturnError)
    assert issubclass(cytls.CertificateError, ssl.SSLCertVerificationError)
    assert issubclass(cytls.TLSError, ssl.SSLError)
    assert cytls.SSLWantReadError is ssl.SSLWantReadError
    assert cytls.SSLContext is cytls.TLSContext
    assert cytls.SSLObject is TLSObject
    assert cytls.MemoryBIO is ssl.MemoryBIO


# --- BIO duck typing ------------------------------------------------------------------------------


class ListBIO:
    """Not a MemoryBIO: read/write/pending/eof/write_eof over a bytearray."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self._eof = False

    @property
    def pending(self) -> int:
        return len(self.buffer)

    @property
    def eof(self) -> bool:
        return self._eof and not self.buffer

    def read(self, size: int = -1) -> bytes:
        size = len(self.buffer) if size < 0 else size
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def write(self, data: bytes) -> int:
        self.buffer += data
        return len(data)

    def write_eof(self) -> None:
        self._eof = True


def test_any_bio_like_object_works() -> None:
    c_in, c_out, s_in, s_out = ListBIO(), ListBIO(), ListBIO(), ListBIO()
    client = client_context().wrap_bio(c_in, c_out, server_hostname="localhost")
    server = server_context().wrap_bio(s_in, s_out, server_side=True)
    for _ in range(4):
        for obj in (client, server):
            with contextlib.suppress(ssl.SSLWantReadError):
                obj.do_handshake()
        s_in.write(c_out.read())
        c_in.write(s_out.read())
    client.write(b"duck")
    s_in.write(c_out.read())
    assert server.read() == b"duck"
    s_in.write_eof()
    with pytest.raises(ssl.SSLEOFError):
        server.read()


# --- the context's new methods --------------------------------------------------------------------


def test_create_default_context_client() -> None:
    context = cytls.create_default_context(cadata=credentials().ca_pem)
    assert context.protocol == cytls.PROTOCOL_TLS_CLIENT
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    client, server = sides(context)
    handshake(client, server)
    assert client.obj.getpeercert()["subject"] == ((("commonName", "localhost"),),)


def test_create_default_context_purposes() -> None:
    server = cytls.create_default_context(ssl.Purpose.CLIENT_AUTH)
    assert server.protocol == cytls.PROTOCOL_TLS_SERVER
    assert server.verify_mode == ssl.CERT_NONE
    assert len(server.trust_store) == 0  # no CA loaded for a server that asks for nothing
    with pytest.raises(TypeError):
        cytls.create_default_context("serverAuth")  # type: ignore[arg-type]
    system = cytls.create_default_context()
    reference = ssl.create_default_context()
    assert (len(system.trust_store) > 0) == (reference.cert_store_stats()["x509_ca"] > 0)


def test_create_default_context_cafile(tmp_path: Path) -> None:
    cafile = tmp_path / "ca.pem"
    cafile.write_text(credentials().ca_pem)
    context = cytls.create_default_context(cafile=str(cafile))
    assert len(context.trust_store) == 1


def test_sslkeylogfile_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keylog = tmp_path / "keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(keylog))
    context = cytls.create_default_context(cadata=credentials().ca_pem)
    assert context.keylog_filename == str(keylog)
    assert ssl.create_default_context().keylog_filename == str(keylog)  # the same rule
    client, server = sides(context)
    handshake(client, server)
    labels = {line.split()[0] for line in keylog.read_text().splitlines()}
    assert "CLIENT_TRAFFIC_SECRET_0" in labels
    monkeypatch.delenv("SSLKEYLOGFILE")
    assert cytls.create_default_context(cadata=credentials().ca_pem).keylog_filename is None


def test_wrap_socket_makes_the_contexts_sslsocket_class() -> None:
    """As ssl.SSLContext: wrap_socket makes ``sslsocket_class`` (through its ``_create``) and
    wrap_bio ``sslobject_class``, so that a subclass can bring its own."""
    assert cytls.TLSContext.sslsocket_class is cytls.TLSSocket
    assert cytls.TLSContext.sslobject_class is cytls.TLSObject
    calls: list[tuple[Any, ...]] = []

    class Socket:
        @classmethod
        def _create(cls, sock: Any, context: Any, **kwargs: Any) -> str:
            calls.append((context, sock, kwargs))
            return "wrapped"

    class Context(cytls.TLSContext):
        sslsocket_class = Socket  # type: ignore[assignment]

    context = Context(cytls.PROTOCOL_TLS_CLIENT)
    sentinel = object()
    result = context.wrap_socket(sentinel, server_hostname="localhost")  # type: ignore[arg-type]
    assert result == "wrapped"
    assert calls == [
        (
            context,
            sentinel,
            {
                "server_side": False,
                "do_handshake_on_connect": True,
                "suppress_ragged_eofs": True,
                "server_hostname": "localhost",
                "session": None,
            },
        )
    ]


# --- mutual TLS: the server's getpeercert and verify_client_post_handshake, against ssl -------


def mtls_server_context(kind: str, *, pha: bool = False, mode: int = ssl.CERT_REQUIRED) -> Any:
    context = server_context() if kind == "cytls" else ssl_server_context()
    context.verify_mode = mode
    context.load_verify_locations(cadata=credentials().ca_pem)
    context.post_handshake_auth = pha
    return context


def mtls_client_context(kind: str, *, pha: bool = False, certificate: bool = True) -> Any:
    context = client_context() if kind == "cytls" else ssl_client_context()
    if certificate:
        context.load_cert_chain(client_credentials().certfile, client_credentials().keyfile)
    context.post_handshake_auth = pha
    return context


MTLS_PAIRS = ["cytls-cytls", "cytls-ssl", "ssl-cytls"]


def mtls_sides(pair: str, **kwargs: Any) -> tuple[Side, Side]:
    client_kind, server_kind = pair.split("-")
    pha = kwargs.pop("pha", False)
    return sides(
        mtls_client_context(client_kind, pha=pha, **kwargs),
        mtls_server_context(server_kind, pha=pha),
    )


@pytest.mark.parametrize("pair", MTLS_PAIRS)
def test_server_getpeercert(pair: str) -> None:
    """The server's getpeercert() after mutual TLS: the same dict and DER as ssl's server."""
    client, server = mtls_sides(pair)
    handshake(client, server)
    reference_client, reference_server = mtls_sides("cytls-ssl")
    handshake(reference_client, reference_server)
    assert server.obj.getpeercert() == reference_server.obj.getpeercert()
    assert server.obj.getpeercert()["subject"] == ((("commonName", "client ecdsa-p256"),),)
    assert server.obj.getpeercert(binary_form=True) == pki.der(client_credentials().leaf[0])[0]


@pytest.mark.parametrize("pair", MTLS_PAIRS)
def test_server_cert_optional_without_certificate(pair: str) -> None:
    client_kind, server_kind = pair.split("-")
    client, server = sides(
        mtls_client_context(client_kind, certificate=False),
        mtls_server_context(server_kind, mode=ssl.CERT_OPTIONAL),
    )
    handshake(client, server)
    assert server.obj.getpeercert() is None
    assert server.obj.getpeercert(binary_form=True) is None


@pytest.mark.parametrize("pair", MTLS_PAIRS)
def test_server_cert_required_without_certificate(pair: str) -> None:
    """The client finishes its handshake; the server refuses it with certificate_required,
    which the client reads as an alert, on either side of the ssl/cytls pair."""
    client, server = mtls_sides(pair, certificate=False)
    step(client)
    client.send_to(server)
    step(server)
    server.send_to(client)
    client.obj.do_handshake()  # TLS 1.3: the client is done before the server has checked
    client.send_to(server)
    with pytest.raises(ssl.SSLError) as refused:
        server.obj.do_handshake()
    assert refused.value.reason == "PEER_DID_NOT_RETURN_A_CERTIFICATE"
    server.send_to(client)
    with pytest.raises(ssl.SSLError) as info:
        client.obj.read()
    assert "CERTIFICATE_REQUIRED" in info.value.reason


@pytest.mark.parametrize("pair", MTLS_PAIRS)
def test_verify_client_post_handshake_round_trip(pair: str) -> None:
    """Post-handshake authentication with ssl on either side: no certificate after the
    handshake, the client's after the request has been answered."""
    client, server = mtls_sides(pair, pha=True)
    handshake(client, server)
    assert server.obj.getpeercert() is None
    server.obj.verify_client_post_handshake()
    server.obj.write(b"ping")  # ssl sends its request with the next I/O; cytls at once
    server.send_to(client)
    assert client.obj.read() == b"ping"  # the request is answered while reading
    client.obj.write(b"pong")
    client.send_to(server)
    assert server.obj.read() == b"pong"
    assert server.obj.getpeercert()["subject"] == ((("commonName", "client ecdsa-p256"),),)
    with pytest.raises(ssl.SSLError) as info:
        client.obj.verify_client_post_handshake()
    assert info.value.reason == "NOT_SERVER"

"""The drop-in claim: the same code, written against the ``ssl`` module's names, runs with
``tls = ssl`` and with ``tls = cytls``, and sees the same results.

Every scenario takes the module object ``tls`` and uses nothing but ``tls.<name>``; the fixture
runs each one against both modules.
"""

from __future__ import annotations

import ssl
import sys
from types import ModuleType
from typing import Any

import pki
import pytest
from handshakeutil import SSL_READS_TRUNCATION_AS_CLOSE, credentials, write_credentials

import cytls


@pytest.fixture(params=[ssl, cytls], ids=["ssl", "cytls"])
def tls(request: pytest.FixtureRequest) -> ModuleType:
    return request.param


# --- written once, against `tls` ------------------------------------------------------------------


def server_context(tls: ModuleType, creds: Any = None, alpn: list[str] | None = None) -> Any:
    creds = creds or credentials()
    context = tls.SSLContext(tls.PROTOCOL_TLS_SERVER)
    context.minimum_version = tls.TLSVersion.TLSv1_3
    context.load_cert_chain(str(creds.certfile), str(creds.keyfile))
    if alpn:
        context.set_alpn_protocols(alpn)
    return context


def client_context(tls: ModuleType, cadata: str | None = None) -> Any:
    return tls.create_default_context(
        tls.Purpose.SERVER_AUTH, cadata=cadata or credentials().ca_pem
    )


class Endpoint:
    def __init__(self, tls: ModuleType, context: Any, **kwargs: Any) -> None:
        self.incoming = tls.MemoryBIO()
        self.outgoing = tls.MemoryBIO()
        self.obj = context.wrap_bio(self.incoming, self.outgoing, **kwargs)
        self.tls = tls

    def step(self) -> bool:
        try:
            self.obj.do_handshake()
        except self.tls.SSLWantReadError:
            return False
        return True

    def send_to(self, peer: Endpoint) -> None:
        peer.incoming.write(self.outgoing.read())


def pair(
    tls: ModuleType, client_ctx: Any = None, server_ctx: Any = None, hostname: str = "localhost"
) -> tuple[Endpoint, Endpoint]:
    client = Endpoint(tls, client_ctx or client_context(tls), server_hostname=hostname)
    server = Endpoint(tls, server_ctx or server_context(tls), server_side=True)
    return client, server


def handshake(client: Endpoint, server: Endpoint) -> None:
    for _ in range(6):
        client_done = client.step()
        client.send_to(server)
        server_done = server.step()
        server.send_to(client)
        if client_done and server_done:
            return
    raise AssertionError("the handshake did not finish")


def connected(tls: ModuleType, **kwargs: Any) -> tuple[Endpoint, Endpoint]:
    client, server = pair(tls, **kwargs)
    handshake(client, server)
    return client, server


# --- scenarios ------------------------------------------------------------------------------------


def test_verified_handshake_and_round_trip(tls: ModuleType) -> None:
    client, server = connected(tls)
    assert isinstance(client.obj, tls.SSLObject)
    assert client.obj.write(b"hello over TLS") == 14
    client.send_to(server)
    assert server.obj.read(5) == b"hello"
    assert server.obj.pending() == 9
    assert server.obj.read() == b" over TLS"
    with pytest.raises(tls.SSLWantReadError):
        server.obj.read()
    buffer = bytearray(16)
    server.obj.write(b"reply")
    server.send_to(client)
    assert client.obj.read(16, buffer) == 5
    assert bytes(buffer[:5]) == b"reply"


def test_hostname_mismatch(tls: ModuleType) -> None:
    client, server = pair(tls, hostname="not-localhost.example")
    with pytest.raises(tls.SSLCertVerificationError) as info:
        handshake(client, server)
    assert isinstance(info.value, tls.SSLError)
    assert info.value.verify_code == 62
    assert info.value.reason == "CERTIFICATE_VERIFY_FAILED"
    assert "not-localhost.example" in info.value.verify_message


def test_unknown_issuer(tls: ModuleType) -> None:
    stranger = pki.make_ca(common_name="a CA nobody trusts")
    context = client_context(tls, cadata=pki.pem(stranger[0]).decode("ascii"))
    client, server = pair(tls, client_ctx=context)
    with pytest.raises(tls.SSLCertVerificationError) as info:
        handshake(client, server)
    assert info.value.verify_code == 20  # unable to get local issuer certificate


def test_clean_shutdown(tls: ModuleType) -> None:
    client, server = connected(tls)
    with pytest.raises(tls.SSLWantReadError):
        client.obj.unwrap()
    client.send_to(server)
    assert server.obj.read() == b""  # close_notify reads as end of stream
    server.obj.unwrap()
    server.send_to(client)
    client.obj.unwrap()
    with pytest.raises(tls.SSLZeroReturnError):
        client.obj.read()
    with pytest.raises(tls.SSLError):
        client.obj.write(b"after the end")


def test_truncation(tls: ModuleType, request: pytest.FixtureRequest) -> None:
    if tls is ssl:
        request.applymarker(SSL_READS_TRUNCATION_AS_CLOSE)
    client, _ = connected(tls)
    client.incoming.write_eof()
    with pytest.raises(tls.SSLEOFError):
        client.obj.read()


def test_getpeercert_shape(tls: ModuleType) -> None:
    client, server = connected(tls)
    cert = client.obj.getpeercert()
    assert set(cert) == {
        "subject",
        "issuer",
        "version",
        "serialNumber",
        "notBefore",
        "notAfter",
        "subjectAltName",
    }
    assert cert["subject"] == ((("commonName", "localhost"),),)
    assert cert["issuer"] == (
        (("organizationName", "cytls tests"),),
        (("commonName", "cytls handshake tests root CA"),),
    )
    assert cert["version"] == 3
    assert cert["subjectAltName"] == (("DNS", "localhost"), ("IP Address", "127.0.0.1"))
    assert cert["notAfter"].endswith(" GMT")
    assert tls.cert_time_to_seconds(cert["notAfter"]) > tls.cert_time_to_seconds(cert["notBefore"])
    assert client.obj.getpeercert(binary_form=True) == pki.der(credentials().leaf[0])[0]
    assert server.obj.getpeercert() is None


def test_getpeercert_unverified(tls: ModuleType) -> None:
    context = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = tls.CERT_NONE
    client, _ = connected(tls, client_ctx=context)
    assert client.obj.getpeercert() == {}
    assert client.obj.getpeercert(True) == pki.der(credentials().leaf[0])[0]


def test_cipher_and_version(tls: ModuleType) -> None:
    client, server = pair(tls)
    assert client.obj.cipher() is None and client.obj.version() is None
    handshake(client, server)
    assert client.obj.version() == server.obj.version() == "TLSv1.3"
    name, protocol, bits = client.obj.cipher()
    assert (name, protocol, bits) == server.obj.cipher()
    assert name == "TLS_AES_256_GCM_SHA384" and protocol == "TLSv1.3" and bits == 256
    assert client.obj.compression() is None
    if tls is cytls or sys.version_info >= (3, 11, 3):
        # Before 3.11.3, ssl gave a client its own cipher list (python/cpython#96931).
        assert client.obj.shared_ciphers() is None
    assert (name, protocol, bits) in server.obj.shared_ciphers()
    assert client.obj.server_side is False and server.obj.server_side is True
    assert client.obj.server_hostname == "localhost"
    assert client.obj.session_reused is False


def test_alpn(tls: ModuleType) -> None:
    context = client_context(tls)
    context.set_alpn_protocols(["h2", "http/1.1"])
    client, server = connected(
        tls, client_ctx=context, server_ctx=server_context(tls, alpn=["http/1.1"])
    )
    assert client.obj.selected_alpn_protocol() == "http/1.1"
    assert server.obj.selected_alpn_protocol() == "http/1.1"
    plain_client, _plain_server = connected(tls)
    assert plain_client.obj.selected_alpn_protocol() is None


def test_sni_callback_switches_context(tls: ModuleType) -> None:
    other_ca = pki.make_ca(common_name="the other CA")
    other_creds = write_credentials(other_ca, pki.make_leaf(other_ca, names=["other.example"]))
    other = server_context(tls, other_creds)
    names: list[str | None] = []

    def choose(obj: Any, server_name: str | None, context: Any) -> None:
        names.append(server_name)
        if server_name == "other.example":
            obj.context = other

    default = server_context(tls)
    default.sni_callback = choose
    context = client_context(tls, cadata=pki.pem(other_ca[0]).decode("ascii"))
    client, server = connected(
        tls, client_ctx=context, server_ctx=default, hostname="other.example"
    )
    assert names == ["other.example"]
    assert server.obj.context is other
    assert client.obj.getpeercert()["subjectAltName"] == (("DNS", "other.example"),)


def test_sni_callback_can_refuse(tls: ModuleType) -> None:
    default = server_context(tls)
    default.sni_callback = lambda obj, name, ctx: tls.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
    client, server = pair(tls, server_ctx=default)
    with pytest.raises(tls.SSLError):
        handshake(client, server)


def test_sni_callback_that_raises(tls: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception in the callback fails the handshake with handshake_failure, on both sides
    (ssl reports the exception as unraisable; cytls chains it), and the server is done."""
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    def broken(obj: Any, server_name: str | None, context: Any) -> None:
        raise KeyError(server_name)

    default = server_context(tls)
    default.sni_callback = broken
    client, server = pair(tls, server_ctx=default)
    client.step()
    client.send_to(server)
    with pytest.raises(tls.SSLError) as info:
        server.step()
    if tls is cytls:
        assert isinstance(info.value.__cause__, KeyError)
        assert info.value.alert == cytls.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
    else:
        assert len(unraisable) == 1
    server.send_to(client)
    with pytest.raises(tls.SSLError, match=r"(?i)handshake.failure"):
        client.step()
    with pytest.raises(tls.SSLError):
        server.step()  # the failure sticks


def test_except_ssl_error_catches_everything(tls: ModuleType) -> None:
    client, server = pair(tls, hostname="nowhere.example")
    caught = None
    try:
        handshake(client, server)
    except ssl.SSLError as exc:  # code written for the ssl module
        caught = exc
    assert caught is not None
    assert caught.library == "SSL"

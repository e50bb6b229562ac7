"""Mutual TLS and post-handshake authentication against real peers (issue 6).

cytls as the server asking for a client certificate from ``openssl s_client -cert``, ``curl
--cert`` and ``gnutls-cli --x509certfile``; cytls as the client presenting one to ``openssl
s_server -Verify 1 -verify_return_error`` and to the ``ssl`` module with CERT_REQUIRED. Both
directions of post-handshake authentication: ``openssl s_client -enable_pha`` against
``Connection.verify_client_post_handshake``, and a cytls client with ``post_handshake_auth``
against ``ssl``'s ``verify_client_post_handshake``. Refusals are checked on both sides: the
exception and alert of the one that refuses, the alert the other reports.
"""

from __future__ import annotations

import re
import socket
import ssl
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from .driver import close, recv_exactly, send_all
from .peers import (
    CERT_KINDS,
    TIMEOUT,
    CertKey,
    TestPKI,
    gnutls_client,
    listening,
    openssl_client,
    openssl_server,
    parse_gnutls,
    ssl_recv_exactly,
    ssl_server,
    ssl_server_context,
    ssl_shutdown,
)
from .test_interop_client import cytls_client, cytls_client_context
from .test_interop_client import exchange_lines as exchange_lines_with_server
from .test_interop_server import cytls_accept, cytls_server_context, port_of, serve_one_get
from .test_interop_server import exchange_lines as exchange_lines_with_client

pytestmark = pytest.mark.interop

CLIENT_CERT_KINDS = (*CERT_KINDS, "chain")


def mtls_server_context(pki: TestPKI, *, mode: int = ssl.CERT_REQUIRED, pha: bool = False) -> Any:
    """A cytls server (ECDSA certificate) that verifies client certificates against the test
    roots; with ``pha`` it asks only after the handshake."""
    context = cytls_server_context(pki.servers["ecdsa"])
    context.verify_mode = mode
    context.load_verify_locations(cafile=str(pki.ca_file))
    context.post_handshake_auth = pha
    return context


def mtls_client_context(pki: TestPKI, client: CertKey | None, *, pha: bool = False) -> Any:
    context = cytls_client_context(pki)
    if client is not None:
        context.load_cert_chain(str(client.cert), str(client.key))
    context.post_handshake_auth = pha
    return context


def chain_of(client: CertKey) -> tuple[bytes, ...]:
    """The DER certificates of a client's certificate file, leaf first."""
    pem = client.cert.read_bytes()
    return tuple(c.public_bytes(Encoding.DER) for c in x509.load_pem_x509_certificates(pem))


def subject_of(client: CertKey) -> tuple[tuple[tuple[str, str], ...], ...]:
    """The subject as ``getpeercert()`` spells it."""
    return ((("commonName", f"cytls interop client {client.kind}"),),)


def cert_args(client: CertKey) -> list[str]:
    return ["-cert", str(client.cert), "-key", str(client.key)]


# --- cytls server, openssl s_client --------------------------------------------------------------


@pytest.mark.parametrize("kind", CERT_KINDS)
def test_openssl_client_certificate(pki: TestPKI, kind: str) -> None:
    """s_client -cert/-key: it sees our CertificateRequest (CA names, schemes) and cytls sees
    and verifies its certificate."""
    client_cert = pki.clients[kind]
    context = mtls_server_context(pki)
    with (
        listening() as listener,
        openssl_client(
            port_of(listener), cafile=pki.ca_file, extra_args=cert_args(client_cert)
        ) as client,
    ):
        with cytls_accept(listener, context, client) as server:
            # s_client adds the issuer it finds in its -CAfile (OpenSSL's automatic chain).
            assert server.handshake.peer_certificates[0] == client_cert.der
            assert server.conn.peer_certificates == server.handshake.peer_certificates
            exchange_lines_with_client(server, client)
            client.close_stdin()
            assert close(server.conn, server.sock, TIMEOUT) is True
        assert client.wait() == 0
    output = client.stdout_text
    assert re.search(
        r"^<<< TLS 1\.3, Handshake \[length [0-9a-f]+\], CertificateRequest$", output, re.M
    )
    assert re.search(
        r"^>>> TLS 1\.3, Handshake \[length [0-9a-f]+\], CertificateVerify$", output, re.M
    )
    names = output.split("Acceptable client certificate CA names\n", 1)[1]
    assert names.startswith("O = cytls tests, CN = cytls interop ECDSA root\n")
    assert "CN = cytls interop RSA root\n" in names
    assert "Requested Signature Algorithms: " in output


def test_openssl_client_without_certificate(pki: TestPKI) -> None:
    """CERT_REQUIRED and no certificate: certificate_required from cytls (with ssl's
    reason), which s_client reports as alert 116."""
    import cytls

    context = mtls_server_context(pki)
    with (
        listening() as listener,
        openssl_client(port_of(listener), cafile=pki.ca_file) as client,
    ):
        with pytest.raises(cytls.ProtocolError) as info, cytls_accept(listener, context, client):
            pass
        client.wait_for(r"SSL alert number 116")
    assert info.value.alert == cytls.AlertDescription.certificate_required
    assert info.value.reason == "PEER_DID_NOT_RETURN_A_CERTIFICATE"


def test_openssl_client_cert_optional_without_certificate(pki: TestPKI) -> None:
    context = mtls_server_context(pki, mode=ssl.CERT_OPTIONAL)
    with (
        listening() as listener,
        openssl_client(port_of(listener), cafile=pki.ca_file) as client,
    ):
        with cytls_accept(listener, context, client) as server:
            assert server.conn.peer_certificates == ()
            exchange_lines_with_client(server, client)
            client.close_stdin()
            close(server.conn, server.sock, TIMEOUT)
        assert client.wait() == 0


def test_openssl_client_untrusted_certificate(pki: TestPKI) -> None:
    """A certificate from a CA we do not trust: unknown_ca (X509_V_ERR 20), alert 48."""
    import cytls

    context = mtls_server_context(pki)
    args = cert_args(pki.clients["untrusted"])
    with (
        listening() as listener,
        openssl_client(port_of(listener), cafile=pki.ca_file, extra_args=args) as client,
    ):
        with pytest.raises(cytls.CertificateError) as info, cytls_accept(listener, context, client):
            pass
        client.wait_for(r"SSL alert number 48")
    assert info.value.alert == cytls.AlertDescription.unknown_ca
    assert info.value.verify_code == 20


def test_openssl_client_post_handshake_auth(pki: TestPKI) -> None:
    """s_client -enable_pha: nothing asked in the handshake; verify_client_post_handshake
    sends a CertificateRequest, s_client answers with Certificate, CertificateVerify and
    Finished, and cytls reports the verified chain."""
    import cytls

    client_cert = pki.clients["rsa"]
    context = mtls_server_context(pki, pha=True)
    args = ["-enable_pha", *cert_args(client_cert)]
    with (
        listening() as listener,
        openssl_client(port_of(listener), cafile=pki.ca_file, extra_args=args) as client,
    ):
        with cytls_accept(listener, context, client) as server:
            assert server.conn.peer_certificates == ()
            exchange_lines_with_client(server, client)
            server.conn.verify_client_post_handshake()
            send_all(server.conn, server.sock, b"authenticate, please\n")
            client.wait_for("^authenticate, please$", stream="stdout")
            client.write("done\n")
            assert recv_exactly(server.conn, server.sock, 5, TIMEOUT, events=server.events) == (
                b"done\n"
            )
            (completed,) = [
                e for e in server.events if isinstance(e, cytls.events.PostHandshakeAuthComplete)
            ]
            assert completed.peer_certificates[0] == client_cert.der
            assert server.conn.peer_certificates == completed.peer_certificates
            client.close_stdin()
            close(server.conn, server.sock, TIMEOUT)
        assert client.wait() == 0
    output = client.stdout_text
    after_request = output.split("], CertificateRequest\n", 1)[1]
    for message in ("Certificate", "CertificateVerify", "Finished"):
        assert re.search(
            rf"^>>> TLS 1\.3, Handshake \[length [0-9a-f]+\], {message}$", after_request, re.M
        )


def test_openssl_client_post_handshake_auth_without_certificate(pki: TestPKI) -> None:
    """s_client -enable_pha without a certificate answers with an empty one: under
    CERT_REQUIRED that is certificate_required."""
    import cytls

    context = mtls_server_context(pki, pha=True)
    with (
        listening() as listener,
        openssl_client(port_of(listener), cafile=pki.ca_file, extra_args=["-enable_pha"]) as client,
    ):
        with cytls_accept(listener, context, client) as server:
            server.conn.verify_client_post_handshake()
            send_all(server.conn, server.sock, b"authenticate, please\n")
            client.wait_for("^authenticate, please$", stream="stdout")
            client.write("done\n")
            with pytest.raises(cytls.ProtocolError) as info:
                recv_exactly(server.conn, server.sock, 5, TIMEOUT)
        client.wait_for(r"SSL alert number 116")
    assert info.value.alert == cytls.AlertDescription.certificate_required


# --- cytls server, curl and gnutls-cli -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["ecdsa", "chain"])
def test_curl_client_certificate(pki: TestPKI, kind: str) -> None:
    """curl --cert/--key (the "chain" file holds leaf + intermediate, which curl sends)."""
    client_cert = pki.clients[kind]
    context = mtls_server_context(pki)
    context.set_alpn_protocols(["http/1.1"])
    server, _ = serve_one_get(
        pki,
        context,
        path="/mtls",
        body=b"hello, client\n",
        extra_args=["--cert", str(client_cert.cert), "--key", str(client_cert.key)],
    )
    # curl (on OpenSSL) sends the file's chain, and adds the root it finds in --cacert.
    sent = chain_of(client_cert)
    assert server.conn.peer_certificates[: len(sent)] == sent
    assert len(sent) == (2 if kind == "chain" else 1)


@pytest.mark.parametrize("kind", CLIENT_CERT_KINDS)
def test_gnutls_client_certificate(pki: TestPKI, kind: str) -> None:
    client_cert = pki.clients[kind]
    context = mtls_server_context(pki)
    args = ["--x509certfile", str(client_cert.cert), "--x509keyfile", str(client_cert.key)]
    with (
        listening() as listener,
        gnutls_client(port_of(listener), cafile=pki.ca_file, extra_args=args) as client,
    ):
        with cytls_accept(listener, context, client) as server:
            assert server.conn.peer_certificates == chain_of(client_cert)
            exchange_lines_with_client(server, client)
            client.close_stdin()
            assert close(server.conn, server.sock, TIMEOUT) is True
        assert client.wait() == 0
    assert parse_gnutls(client.log).protocol == "TLS1.3"


def test_gnutls_client_post_handshake_auth(pki: TestPKI) -> None:
    """gnutls-cli --post-handshake-auth answers verify_client_post_handshake (GnuTLS's own
    TLS 1.3 code, not OpenSSL's)."""
    import cytls

    client_cert = pki.clients["ed25519"]
    args = ["--post-handshake-auth"]
    args += ["--x509certfile", str(client_cert.cert), "--x509keyfile", str(client_cert.key)]
    context = mtls_server_context(pki, pha=True)
    with (
        listening() as listener,
        gnutls_client(port_of(listener), cafile=pki.ca_file, extra_args=args) as client,
    ):
        with cytls_accept(listener, context, client) as server:
            exchange_lines_with_client(server, client)
            assert server.conn.peer_certificates == ()
            server.conn.verify_client_post_handshake()
            send_all(server.conn, server.sock, b"authenticate, please\n")
            client.wait_for("^authenticate, please$", stream="stdout")
            client.write("done\n")
            done = recv_exactly(server.conn, server.sock, 5, TIMEOUT, events=server.events)
            assert done == b"done\n"
            assert cytls.events.PostHandshakeAuthComplete(chain_of(client_cert)) in server.events
            assert server.conn.peer_certificates == chain_of(client_cert)
            client.close_stdin()
            close(server.conn, server.sock, TIMEOUT)
        assert client.wait() == 0
    assert "Re-authentication was requested by the peer" in client.stderr_text


# --- cytls client, openssl s_server --------------------------------------------------------------

S_SERVER_VERIFY = ["-Verify", "1", "-verify_return_error"]


def s_server_args(pki: TestPKI) -> list[str]:
    return [*S_SERVER_VERIFY, "-CAfile", str(pki.ca_file)]


@pytest.mark.parametrize("kind", CLIENT_CERT_KINDS)
def test_openssl_server_requires_certificate(pki: TestPKI, kind: str) -> None:
    """s_server -Verify 1 -verify_return_error accepts cytls's certificate (and chain), and
    prints it."""
    client_cert = pki.clients[kind]
    context = mtls_client_context(pki, client_cert)
    server_cert = pki.servers["ecdsa"]
    with openssl_server(server_cert.cert, server_cert.key, extra_args=s_server_args(pki)) as server:
        assert server.port is not None
        with cytls_client(server.port, context) as client:
            exchange_lines_with_server(client, server)
            close(client.conn, client.sock, TIMEOUT)
        server.wait()
    text = server.stdout_text
    pem = re.search(
        r"^Client certificate\n(-----BEGIN CERTIFICATE-----\n.*?-----END CERTIFICATE-----\n)",
        text,
        re.M | re.S,
    )
    assert pem, "s_server printed no client certificate"
    assert (
        x509.load_pem_x509_certificate(pem.group(1).encode()).public_bytes(Encoding.DER)
        == (chain_of(client_cert)[0])
    )
    assert "verify error" not in text


def test_openssl_server_without_client_certificate(pki: TestPKI) -> None:
    """cytls completes its side of the handshake, then reads s_server's certificate_required."""
    import cytls

    context = mtls_client_context(pki, None)
    server_cert = pki.servers["ecdsa"]
    with openssl_server(server_cert.cert, server_cert.key, extra_args=s_server_args(pki)) as server:
        assert server.port is not None
        with cytls_client(server.port, context) as client, pytest.raises(cytls.PeerAlert) as info:
            recv_exactly(client.conn, client.sock, 1, TIMEOUT)
        server.wait_for("peer did not return a certificate")
    assert info.value.alert == cytls.AlertDescription.certificate_required


def test_openssl_server_unknown_client_ca(pki: TestPKI) -> None:
    import cytls

    context = mtls_client_context(pki, pki.clients["untrusted"])
    server_cert = pki.servers["ecdsa"]
    with openssl_server(server_cert.cert, server_cert.key, extra_args=s_server_args(pki)) as server:
        assert server.port is not None
        with cytls_client(server.port, context) as client, pytest.raises(cytls.PeerAlert) as info:
            recv_exactly(client.conn, client.sock, 1, TIMEOUT)
        server.wait_for("unable to get local issuer certificate")
    assert info.value.alert == cytls.AlertDescription.unknown_ca


# --- cytls client, the ssl module's server -------------------------------------------------------


def ssl_mtls_context(pki: TestPKI, *, pha: bool = False) -> ssl.SSLContext:
    context = ssl_server_context(pki.servers["rsa"])
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(pki.ca_file)
    context.post_handshake_auth = pha
    return context


def peer_cert_then_echo(tls: ssl.SSLSocket) -> Any:
    """What the ssl server saw of the client's certificate, then echo one line."""
    seen = tls.getpeercert()
    line = ssl_recv_exactly(tls, len(b"ping from cytls\n"))
    tls.sendall(line)
    ssl_shutdown(tls)
    return seen


@pytest.mark.parametrize("kind", CLIENT_CERT_KINDS)
def test_ssl_server_requires_certificate(pki: TestPKI, kind: str) -> None:
    client_cert = pki.clients[kind]
    context = mtls_client_context(pki, client_cert)
    with ssl_server(ssl_mtls_context(pki), handler=peer_cert_then_echo) as server:
        with cytls_client(server.port, context) as client:
            send_all(client.conn, client.sock, b"ping from cytls\n")
            assert recv_exactly(client.conn, client.sock, 16, TIMEOUT) == b"ping from cytls\n"
            close(client.conn, client.sock, TIMEOUT)
        (info,) = server.wait()
    assert info.result["subject"] == subject_of(client_cert)


def test_ssl_server_post_handshake_auth(pki: TestPKI) -> None:
    """A cytls client with post_handshake_auth answers ssl's verify_client_post_handshake;
    ssl's getpeercert() has no certificate before and the client's after."""
    client_cert = pki.clients["ed25519"]
    context = mtls_client_context(pki, client_cert, pha=True)

    def authenticate(tls: ssl.SSLSocket) -> Any:
        before = tls.getpeercert()
        tls.verify_client_post_handshake()
        tls.sendall(b"authenticate\n")  # the request goes out with this write
        line = ssl_recv_exactly(tls, len(b"done\n"))  # the answer is read before the line
        after = tls.getpeercert()
        ssl_shutdown(tls)
        return before, line, after

    with ssl_server(ssl_mtls_context(pki, pha=True), handler=authenticate) as server:
        with cytls_client(server.port, context) as client:
            assert recv_exactly(client.conn, client.sock, 13, TIMEOUT) == b"authenticate\n"
            send_all(client.conn, client.sock, b"done\n")
            close(client.conn, client.sock, TIMEOUT)
        (info,) = server.wait()
    before, line, after = info.result
    assert before is None
    assert line == b"done\n"
    assert after["subject"] == subject_of(client_cert)


def test_ssl_server_post_handshake_auth_without_certificate(pki: TestPKI) -> None:
    """Without a certificate the cytls client answers with an empty one, which ssl's server
    refuses under CERT_REQUIRED (PEER_DID_NOT_RETURN_A_CERTIFICATE, alert 116)."""
    import cytls

    context = mtls_client_context(pki, None, pha=True)

    def authenticate(tls: ssl.SSLSocket) -> Any:
        tls.verify_client_post_handshake()
        tls.sendall(b"authenticate\n")
        try:
            tls.recv(5)
        except ssl.SSLError as exc:
            reason = exc.reason
        else:
            reason = None
        # Drain the TCP stream until the client closes: closing with unread bytes would send a
        # reset, which could overtake the alert.
        while socket.socket.recv(tls, 4096):
            pass
        return reason

    with ssl_server(ssl_mtls_context(pki, pha=True), handler=authenticate) as server:
        with cytls_client(server.port, context) as client:
            assert recv_exactly(client.conn, client.sock, 13, TIMEOUT) == b"authenticate\n"
            with pytest.raises(cytls.PeerAlert) as info:
                recv_exactly(client.conn, client.sock, 1, TIMEOUT)
        (result,) = server.wait()
    assert result.result == "PEER_DID_NOT_RETURN_A_CERTIFICATE"
    assert info.value.alert == cytls.AlertDescription.certificate_required

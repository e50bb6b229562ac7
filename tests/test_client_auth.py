"""Mutual TLS and post-handshake authentication between a cytls client and a cytls server, in
process (RFC 8446 §4.3.2, §4.4.2, §4.4.3, §4.6.2).

What goes over the wire is read back with the man in the middle of ``handshakeutil`` (its own
record protection, not cytls's), and expected values come from the test PKI, never from the
code under test. Every rejection checks the alert sent, the exception and the peer's view.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import ssl
from collections.abc import Callable
from typing import Any

import pki
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from handshakeutil import (
    HANDSHAKE,
    Credentials,
    ManInTheMiddle,
    PeerAlert,
    ProtocolError,
    Rewrite,
    assert_aborts,
    client_context,
    client_credentials,
    client_hello_of,
    connections,
    credentials,
    encode_extensions_raw,
    extension_map,
    handshake,
    message,
    pump,
    read_protection,
    rewrite_body,
    rewrite_type,
    root_ca,
    server_context,
    split_messages,
    split_records,
    write_credentials,
    write_protection,
)

import cytls
from cytls.crypto.keyschedule import SUITES, finished_verify_data
from cytls.crypto.signatures import SignatureScheme, certificate_signature_schemes
from cytls.errors import CertificateError, TLSError
from cytls.events import HandshakeComplete, PostHandshakeAuthComplete
from cytls.handshake import client_auth
from cytls.wire import extensions as ext
from cytls.wire.enums import AlertDescription
from cytls.wire.messages import (
    Certificate,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    ExtensionType,
    HandshakeType,
    find_extension,
)
from cytls.x509.trust import TrustStore

# --- credentials and contexts -------------------------------------------------------------------


@functools.cache
def intermediate_creds() -> tuple[Credentials, pki.Pair]:
    """A client certificate under an intermediate CA (the file holds leaf + intermediate), and
    the intermediate."""
    ca = root_ca()
    intermediate = pki.make_intermediate(ca, common_name="cytls client issuing CA")
    leaf = pki.make_leaf(intermediate, names=[], common_name="client via intermediate")
    return write_credentials(ca, leaf, intermediate[0]), intermediate


@functools.cache
def untrusted_creds() -> Credentials:
    """A client certificate under a root no test server trusts."""
    other = pki.make_ca("ecdsa-p256", common_name="cytls untrusted client root")
    return write_credentials(other, pki.make_leaf(other, names=[], common_name="mallory"))


def mtls_server(mode: int = ssl.CERT_REQUIRED, *, pha: bool = False) -> cytls.TLSContext:
    """A server that verifies client certificates against :func:`root_ca`."""
    context = server_context()
    context.verify_mode = mode
    context.load_verify_locations(cadata=credentials().ca_pem)
    context.post_handshake_auth = pha
    return context


def mtls_client(creds: Credentials | None = None, *, pha: bool = False) -> cytls.TLSContext:
    context = client_context()
    if creds is not None:
        context.load_cert_chain(creds.certfile, creds.keyfile)
    context.post_handshake_auth = pha
    return context


def der_chain(creds: Credentials, *extra: pki.Pair) -> tuple[bytes, ...]:
    return tuple(pki.der(creds.leaf[0], *(pair[0] for pair in extra)))


def events(conn: cytls.Connection) -> list[object]:
    return list(iter(conn.next_event, None))


def relayed_handshake(
    client_ctx: cytls.TLSContext, server_ctx: cytls.TLSContext
) -> tuple[cytls.Connection, cytls.Connection, ManInTheMiddle]:
    """A handshake through the man in the middle, which keeps every message it relays."""
    client, server = connections(client_ctx, server_ctx)
    mitm = ManInTheMiddle(client, server)
    mitm.pump()
    assert client.handshake_complete and server.handshake_complete
    return client, server, mitm


def transcript_messages(mitm: ManInTheMiddle) -> list[bytes]:
    """The handshake's messages in transcript order (no HelloRetryRequest here): the
    ClientHello, the server's flight up to its Finished (not the NewSessionTickets after
    it), then the client's second flight."""
    client_side = [raw for _, _, raw in mitm.to_server.seen]
    server_side = [raw for _, _, raw in mitm.to_client.seen]
    server_side = server_side[: [raw[0] for raw in server_side].index(HandshakeType.finished) + 1]
    return [client_side[0], *server_side, *client_side[1:]]


def seen_types(direction: Any) -> list[int]:
    return [msg_type for _, msg_type, _ in direction.seen]


def seen_message(direction: Any, msg_type: int) -> bytes:
    """The first message of ``msg_type`` the man in the middle relayed in ``direction``."""
    return next(raw for _, kind, raw in direction.seen if kind == msg_type)


# --- mutual TLS in the handshake ----------------------------------------------------------------


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ecdsa-p384", "rsa2048", "ed25519"])
def test_mutual_tls(key_type: str) -> None:
    """CERT_REQUIRED: CertificateRequest, then the client's Certificate, CertificateVerify
    (a scheme its key makes) and Finished; the server sees the client's chain."""
    creds = client_credentials(key_type)
    client, server, mitm = relayed_handshake(mtls_client(creds), mtls_server())
    assert seen_types(mitm.to_client)[1:3] == [
        HandshakeType.encrypted_extensions,
        HandshakeType.certificate_request,
    ]
    assert seen_types(mitm.to_server)[1:] == [
        HandshakeType.certificate,
        HandshakeType.certificate_verify,
        HandshakeType.finished,
    ]
    sent = Certificate.parse(seen_message(mitm.to_server, HandshakeType.certificate)[4:])
    assert sent.certificate_request_context == b""
    assert [entry.cert_data for entry in sent.entries] == list(der_chain(creds))
    verify = CertificateVerify.parse(
        seen_message(mitm.to_server, HandshakeType.certificate_verify)[4:]
    )
    expected_scheme = {
        "ecdsa-p256": SignatureScheme.ecdsa_secp256r1_sha256,
        "ecdsa-p384": SignatureScheme.ecdsa_secp384r1_sha384,
        "rsa2048": SignatureScheme.rsa_pss_rsae_sha256,
        "ed25519": SignatureScheme.ed25519,
    }[key_type]
    assert verify.algorithm == expected_scheme
    assert server.peer_certificates == der_chain(creds)
    (complete,) = [e for e in events(server) if isinstance(e, HandshakeComplete)]
    assert complete.peer_certificates == der_chain(creds)
    client.send(b"authenticated")
    pump(client, server)
    assert server.recv() == b"authenticated"


def test_certificate_request_contents() -> None:
    """§4.3.2: an empty context, signature_algorithms, signature_algorithms_cert, and the
    subject names of the trusted CAs (RFC 8446 §4.2.4), as OpenSSL lists its CA file."""
    other_root = pki.make_ca("rsa2048", common_name="second trusted root")
    server_ctx = mtls_server()
    server_ctx.load_verify_locations(cadata=pki.pem(other_root[0]).decode())
    _, _, mitm = relayed_handshake(mtls_client(client_credentials()), server_ctx)
    request = CertificateRequest.parse(
        seen_message(mitm.to_client, HandshakeType.certificate_request)[4:]
    )
    assert request.certificate_request_context == b""
    found = dict(request.extensions)
    schemes = ext.decode_signature_algorithms(found[ExtensionType.signature_algorithms])
    assert (
        SignatureScheme.ecdsa_secp256r1_sha256 in schemes
        and SignatureScheme.rsa_pss_rsae_sha256 in schemes
    )
    assert SignatureScheme.rsa_pkcs1_sha256 not in schemes  # never in a TLS 1.3 CertificateVerify
    assert SignatureScheme.rsa_pkcs1_sha256 in ext.decode_signature_algorithms(
        found[ExtensionType.signature_algorithms_cert]
    )
    names = ext.decode_certificate_authorities(found[ExtensionType.certificate_authorities])
    assert names == [root_ca()[0].subject.public_bytes(), other_root[0].subject.public_bytes()]


def test_certificate_authorities_left_out_when_too_big() -> None:
    """A trust store whose names exceed the bound is not listed (the extension is optional)."""
    server_ctx = mtls_server()
    while sum(2 + len(n) for n in server_ctx.trust_store.subject_names()) <= 16384:
        long_name = "x" * 60 + str(len(server_ctx.trust_store))
        server_ctx.trust_store.add(pki.make_ca("ecdsa-p256", common_name=long_name)[0])
    _, _, mitm = relayed_handshake(mtls_client(client_credentials()), server_ctx)
    request = CertificateRequest.parse(
        seen_message(mitm.to_client, HandshakeType.certificate_request)[4:]
    )
    assert find_extension(request.extensions, ExtensionType.certificate_authorities) is None
    assert find_extension(request.extensions, ExtensionType.signature_algorithms) is not None


def test_certificate_authorities_skip_unreadable_names() -> None:
    """A trusted certificate whose subject does not decode (cryptography parses names lazily)
    is left out of certificate_authorities rather than breaking the handshake."""
    unreadable = pki.make_ca("ecdsa-p256", common_name="unreadable")[0]
    common_name = b"\x06\x03U\x04\x03\x0c\x0aunreadable"  # OID 2.5.4.3, UTF8String
    der = unreadable.public_bytes(Encoding.DER)
    assert common_name in der
    broken = der.replace(common_name, common_name[:5] + b"\x0d" + common_name[6:])
    store = TrustStore([x509.load_der_x509_certificate(broken), root_ca()[0]])
    assert store.subject_names() == (root_ca()[0].subject.public_bytes(),)


def test_chain_with_intermediate() -> None:
    """The client sends leaf + intermediate; the server trusts only the root."""
    creds, intermediate = intermediate_creds()
    _, server = handshake(mtls_client(creds), mtls_server())
    assert server.peer_certificates == der_chain(creds, intermediate)


def test_cert_optional_with_certificate_verifies_it() -> None:
    creds = client_credentials()
    _, server = handshake(mtls_client(creds), mtls_server(ssl.CERT_OPTIONAL))
    assert server.peer_certificates == der_chain(creds)


def test_cert_optional_without_certificate() -> None:
    """CERT_OPTIONAL: an empty Certificate and no CertificateVerify complete the handshake."""
    client, server, mitm = relayed_handshake(mtls_client(None), mtls_server(ssl.CERT_OPTIONAL))
    assert seen_types(mitm.to_server)[1:] == [HandshakeType.certificate, HandshakeType.finished]
    assert (
        Certificate.parse(seen_message(mitm.to_server, HandshakeType.certificate)[4:]).entries == []
    )
    assert server.peer_certificates == ()
    client.send(b"anonymous")
    pump(client, server)
    assert server.recv() == b"anonymous"


def test_cert_none_asks_for_nothing() -> None:
    """The default server context (CERT_NONE) sends no CertificateRequest, so a client with a
    certificate keeps it to itself."""
    server_ctx = server_context()
    assert server_ctx.verify_mode == ssl.CERT_NONE
    _, server, mitm = relayed_handshake(mtls_client(client_credentials()), server_ctx)
    assert HandshakeType.certificate_request not in seen_types(mitm.to_client)
    assert seen_types(mitm.to_server)[1:] == [HandshakeType.finished]
    assert server.peer_certificates == ()


def with_entry_extension(ext_type: int) -> Any:
    """A rewrite of the client's Certificate giving every entry an empty ``ext_type``."""
    return rewrite_body(
        HandshakeType.certificate,
        lambda body: Certificate(
            b"",
            [
                CertificateEntry(entry.cert_data, [(ext_type, b"")])
                for entry in Certificate.parse(body).entries
            ],
        ).serialize(),
    )


def client_flight_to_server(
    client_ctx: cytls.TLSContext, server_ctx: cytls.TLSContext
) -> tuple[cytls.Connection, cytls.Connection, bytes]:
    """Run the handshake up to the client's second flight, which is returned undelivered."""
    client, server = connections(client_ctx, server_ctx)
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    assert client.handshake_complete and not server.handshake_complete
    return client, server, client.data_to_send()


def test_cert_required_without_certificate() -> None:
    """§4.4.2.4: CERT_REQUIRED and an empty Certificate -> certificate_required, on both
    sides, with ssl's reason on the server."""
    client, server, flight = client_flight_to_server(mtls_client(None), mtls_server())
    error = assert_aborts(
        server, flight, ProtocolError, AlertDescription.certificate_required, peer=client
    )
    assert isinstance(error, ssl.SSLError)
    assert error.reason == "PEER_DID_NOT_RETURN_A_CERTIFICATE"
    assert not server.handshake_complete


@pytest.mark.parametrize(
    ("creds", "alert", "verify_code"),
    [
        pytest.param(untrusted_creds, AlertDescription.unknown_ca, 20, id="unknown_ca"),
        pytest.param(
            lambda: write_credentials(
                root_ca(),
                pki.make_leaf(
                    root_ca(),
                    names=[],
                    not_before=pki.now() - datetime.timedelta(days=9),
                    not_after=pki.now() - datetime.timedelta(days=1),
                ),
            ),
            AlertDescription.certificate_expired,
            10,
            id="expired",
        ),
        pytest.param(
            lambda: write_credentials(root_ca(), pki.make_leaf(root_ca(), eku="serverAuth")),
            AlertDescription.unsupported_certificate,
            26,
            id="server_auth_only",
        ),
    ],
)
@pytest.mark.parametrize("mode", [ssl.CERT_REQUIRED, ssl.CERT_OPTIONAL])
def test_client_chain_rejected(
    creds: Callable[[], Credentials], alert: AlertDescription, verify_code: int, mode: int
) -> None:
    """A chain that fails verification ends the handshake under CERT_OPTIONAL too (as with
    OpenSSL's SSL_VERIFY_PEER), with the alert and X509_V_ERR code OpenSSL's server uses."""
    client, server, flight = client_flight_to_server(mtls_client(creds()), mtls_server(mode))
    error = assert_aborts(server, flight, CertificateError, alert, peer=client)
    assert isinstance(error, ssl.SSLCertVerificationError)
    assert error.verify_code == verify_code
    assert server.peer_certificates == ()


def test_certificate_verify_signed_with_another_key() -> None:
    """§4.4.3: the client's CertificateVerify made with a key that is not its certificate's
    -> decrypt_error."""
    client_ctx = mtls_client(client_credentials("ecdsa-p256"))
    client_ctx.private_key = ec.generate_private_key(ec.SECP256R1())  # bypasses the key check
    client, server, flight = client_flight_to_server(client_ctx, mtls_server())
    error = assert_aborts(
        server, flight, ProtocolError, AlertDescription.decrypt_error, peer=client
    )
    assert "CertificateVerify signature does not verify" in str(error)


def test_certificate_verify_with_a_scheme_not_offered() -> None:
    """§4.4.3: a CertificateVerify scheme outside our signature_algorithms ->
    illegal_parameter (here ecdsa_sha1, which TLS 1.3 forbids)."""
    creds = client_credentials("ecdsa-p256")
    client, server = connections(mtls_client(creds), mtls_server())
    mitm = ManInTheMiddle(client, server)
    server.receive_data(mitm.client_flight())
    client.receive_data(mitm.server_flight())
    key = creds.leaf[1]
    forged = CertificateVerify(
        SignatureScheme.ecdsa_sha1, key.sign(b"whatever", ec.ECDSA(hashes.SHA1()))
    )
    flight = mitm.client_flight(
        rewrite_type(
            HandshakeType.certificate_verify,
            lambda raw: message(HandshakeType.certificate_verify, forged.serialize()),
        )
    )
    assert_aborts(
        server,
        flight,
        ProtocolError,
        AlertDescription.illegal_parameter,
        peer=client,
        to_peer=lambda d: mitm.relay(mitm.to_client, d),
    )


@pytest.mark.parametrize(
    ("rewrite", "alert"),
    [
        pytest.param(
            rewrite_type(HandshakeType.certificate_verify, lambda raw: []),
            AlertDescription.unexpected_message,
            id="no_certificate_verify",
        ),
        pytest.param(
            rewrite_body(
                HandshakeType.certificate,
                lambda body: Certificate(b"\x01", Certificate.parse(body).entries).serialize(),
            ),
            AlertDescription.illegal_parameter,
            id="certificate_with_a_context",
        ),
        pytest.param(
            with_entry_extension(ExtensionType.signed_certificate_timestamp),
            AlertDescription.unsupported_extension,
            id="unrequested_entry_extension",
        ),
        pytest.param(
            with_entry_extension(ExtensionType.key_share),
            AlertDescription.illegal_parameter,
            id="entry_extension_not_allowed_in_certificate",
        ),
        pytest.param(
            rewrite_body(
                HandshakeType.certificate, lambda body: body[:1] + b"\x00\x00\x05\x00\x00\x02ab"
            ),
            AlertDescription.decode_error,
            id="malformed_certificate",
        ),
    ],
)
def test_server_rejects_client_flight(rewrite: Rewrite, alert: AlertDescription) -> None:
    client, server = connections(mtls_client(client_credentials()), mtls_server())
    mitm = ManInTheMiddle(client, server)
    server.receive_data(mitm.client_flight())
    client.receive_data(mitm.server_flight())
    assert_aborts(
        server,
        mitm.client_flight(rewrite),
        ProtocolError,
        alert,
        peer=client,
        to_peer=lambda d: mitm.relay(mitm.to_client, d),
    )


@pytest.mark.parametrize("tag", pki.UNDECODABLE_NAME_TAGS.values(), ids=pki.UNDECODABLE_NAME_TAGS)
def test_server_rejects_client_certificate_whose_name_does_not_decode(tag: int) -> None:
    """A client certificate signed by the trusted CA whose subject does not decode ->
    bad_certificate from the server, not the KeyError or TypeError cryptography raises."""
    creds = client_credentials()
    broken = pki.with_undecodable_name(creds.leaf[0], creds.ca[1], "client ecdsa-p256", tag)
    rewrite = rewrite_body(
        HandshakeType.certificate,
        lambda body: Certificate(b"", [CertificateEntry(broken, [])]).serialize(),
    )
    client, server = connections(mtls_client(creds), mtls_server())
    mitm = ManInTheMiddle(client, server)
    server.receive_data(mitm.client_flight())
    client.receive_data(mitm.server_flight())
    assert_aborts(
        server,
        mitm.client_flight(rewrite),
        CertificateError,
        AlertDescription.bad_certificate,
        peer=client,
        to_peer=lambda d: mitm.relay(mitm.to_client, d),
        match="subject name does not decode",
    )
    assert server.peer_certificates == ()


@pytest.mark.parametrize(
    ("extensions", "alert"),
    [
        pytest.param(
            [(0xFEFE, b"")], AlertDescription.missing_extension, id="no_signature_algorithms"
        ),
        pytest.param(
            [
                (ExtensionType.signature_algorithms, b"\x00\x02\x04\x03"),
                (ExtensionType.key_share, b"\x00\x1d"),
            ],
            AlertDescription.illegal_parameter,
            id="key_share",
        ),
        pytest.param(
            [
                (ExtensionType.signature_algorithms, b"\x00\x02\x04\x03"),
                (ExtensionType.certificate_authorities, b"\x00\x00"),
            ],
            AlertDescription.decode_error,
            id="empty_certificate_authorities",
        ),
    ],
)
def test_client_rejects_certificate_request(
    extensions: list[tuple[int, bytes]], alert: AlertDescription
) -> None:
    """§4.3.2 and §4.2: what a client refuses in a CertificateRequest."""
    client, server = connections(mtls_client(client_credentials()), mtls_server())
    mitm = ManInTheMiddle(client, server)
    server.receive_data(mitm.client_flight())
    body = b"\x00" + encode_extensions_raw(extensions)
    flight = mitm.server_flight(
        rewrite_type(HandshakeType.certificate_request, lambda raw: message(13, body))
    )
    assert_aborts(client, flight, ProtocolError, alert, peer=server)


def test_client_ignores_unknown_certificate_request_extension() -> None:
    """Unknown extensions in CertificateRequest are ignored (§4.2); the client answers."""
    extensions = [(ExtensionType.signature_algorithms, b"\x00\x02\x04\x03"), (0xFEFE, b"ab")]
    request = client_auth.check_certificate_request(
        b"\x00" + encode_extensions_raw(extensions), post_handshake=False
    )
    assert find_extension(request.extensions, 0xFEFE) == b"ab"


# --- which certificate a client sends ---------------------------------------------------------


def request_with(schemes: list[int], cert_schemes: list[int] | None = None) -> CertificateRequest:
    extensions = [(ExtensionType.signature_algorithms, ext.encode_signature_algorithms(schemes))]
    if cert_schemes is not None:
        extensions.append(
            (ExtensionType.signature_algorithms_cert, ext.encode_signature_algorithms(cert_schemes))
        )
    return CertificateRequest(b"", extensions)


def test_client_credentials_without_a_certificate() -> None:
    assert client_auth.client_credentials(
        mtls_client(None), request_with([SignatureScheme.ed25519])
    ) == (
        (),
        None,
    )


def test_client_credentials_follow_the_request() -> None:
    """The scheme comes from the request's signature_algorithms; our chain is sent as is."""
    rsa = mtls_client(client_credentials("rsa2048"))
    chain = der_chain(client_credentials("rsa2048"))
    offered = [
        SignatureScheme.ed25519,
        SignatureScheme.rsa_pss_rsae_sha512,
        SignatureScheme.rsa_pss_rsae_sha384,
    ]
    assert client_auth.client_credentials(rsa, request_with(offered)) == (
        chain,
        SignatureScheme.rsa_pss_rsae_sha384,
    )


def test_client_credentials_no_common_scheme() -> None:
    """Our key can make none of the server's schemes: an empty Certificate, as OpenSSL's
    client does (and the server decides)."""
    ecdsa = mtls_client(client_credentials("ecdsa-p256"))
    request = request_with([SignatureScheme.ed25519, SignatureScheme.rsa_pss_rsae_sha256])
    assert client_auth.client_credentials(ecdsa, request) == ((), None)


def test_client_credentials_respect_signature_algorithms_cert() -> None:
    """§4.4.2.3: with signature_algorithms_cert, every signature in our chain must be in it
    (the root CA signs with ecdsa-with-SHA256 here)."""
    context = mtls_client(intermediate_creds()[0])
    assert certificate_signature_schemes(context.certificate_chain[0]) == {
        SignatureScheme.ecdsa_secp256r1_sha256
    }
    refused = request_with(
        [SignatureScheme.ecdsa_secp256r1_sha256],
        [SignatureScheme.rsa_pkcs1_sha256, SignatureScheme.ed25519],
    )
    assert client_auth.client_credentials(context, refused) == ((), None)
    accepted = request_with(
        [SignatureScheme.ecdsa_secp256r1_sha256], [SignatureScheme.ecdsa_secp256r1_sha256]
    )
    chain, scheme = client_auth.client_credentials(context, accepted)
    assert len(chain) == 2 and scheme == SignatureScheme.ecdsa_secp256r1_sha256


def test_self_signed_client_certificate_is_exempt() -> None:
    """§4.2.3: the signature on a self-signed certificate is not checked against
    signature_algorithms_cert (it begins the path)."""
    own = pki.make_self_signed("ecdsa-p256", names=["client.example"])
    context = mtls_client(write_credentials(own, own))
    request = request_with([SignatureScheme.ecdsa_secp256r1_sha256], [SignatureScheme.ed25519])
    assert (
        client_auth.client_credentials(context, request)[1]
        == SignatureScheme.ecdsa_secp256r1_sha256
    )


@pytest.mark.parametrize(
    ("key_type", "expected"),
    [
        ("rsa2048", {SignatureScheme.rsa_pkcs1_sha256}),
        ("ecdsa-p384", {SignatureScheme.ecdsa_secp384r1_sha384}),
        ("ed25519", {SignatureScheme.ed25519}),
    ],
)
def test_certificate_signature_schemes(key_type: str, expected: set[int]) -> None:
    """What a certificate's signature is called in signature_algorithms_cert: it depends on
    the issuer's key (the leaf's key does not matter)."""
    issuer = pki.make_ca(key_type)
    leaf = pki.make_leaf(issuer, "ecdsa-p256")
    assert certificate_signature_schemes(leaf[0]) == expected


def test_certificate_signature_schemes_pss() -> None:
    """An RSASSA-PSS certificate signature may be rsae or pss (the issuer's key decides)."""
    issuer = pki.make_ca("rsa-pss")
    leaf = pki.make_leaf(issuer, "ecdsa-p256")
    assert certificate_signature_schemes(leaf[0]) == {
        SignatureScheme.rsa_pss_rsae_sha256,
        SignatureScheme.rsa_pss_pss_sha256,
    }


# --- post-handshake authentication (RFC 8446 §4.6.2) --------------------------------------------


def test_post_handshake_auth_extension_offered_only_when_enabled() -> None:
    """§4.2.6: post_handshake_auth is empty and only sent when the context enables it."""
    assert mtls_client(pha=False).post_handshake_auth is False
    plain, _ = connections(mtls_client())
    assert ExtensionType.post_handshake_auth not in extension_map(
        client_hello_of(plain.data_to_send()).extensions
    )
    offering, _ = connections(mtls_client(pha=True))
    extensions = extension_map(client_hello_of(offering.data_to_send()).extensions)
    assert extensions[ExtensionType.post_handshake_auth] == b""


def test_post_handshake_auth() -> None:
    """A server with post_handshake_auth asks nothing in the handshake; later its request gets
    Certificate, CertificateVerify and Finished over the handshake transcript plus this
    exchange, with Finished keyed by the client application traffic secret (§4.4)."""
    creds = client_credentials()
    client, server, mitm = relayed_handshake(mtls_client(creds, pha=True), mtls_server(pha=True))
    assert HandshakeType.certificate_request not in seen_types(mitm.to_client)
    assert server.peer_certificates == ()
    handshake_messages = transcript_messages(mitm)
    events(server)

    server.verify_client_post_handshake()
    client.receive_data(mitm.server_flight())
    server.receive_data(mitm.client_flight())
    (done,) = events(server)
    assert done == PostHandshakeAuthComplete(der_chain(creds))
    assert server.peer_certificates == der_chain(creds)

    request_raw = mitm.to_client.seen[-1][2]
    request = CertificateRequest.parse(request_raw[4:])
    assert len(request.certificate_request_context) == 32
    answer = [raw for _, _, raw in mitm.to_server.seen[-3:]]
    assert [raw[0] for raw in answer] == [
        HandshakeType.certificate,
        HandshakeType.certificate_verify,
        HandshakeType.finished,
    ]
    assert Certificate.parse(answer[0][4:]).certificate_request_context == (
        request.certificate_request_context
    )
    # Finished, recomputed here from the client's traffic secret and the transcript.
    suite = SUITES[client._handshake.suite]
    transcript = hashlib.new(
        suite.hash_name, b"".join([*handshake_messages, request_raw, *answer[:2]])
    )
    expected = finished_verify_data(
        suite.hash_name, mitm.secrets["CLIENT_TRAFFIC_SECRET_0"], transcript.digest()
    )
    assert hmac.compare_digest(answer[2][4:], expected)


def test_post_handshake_auth_repeated_and_after_key_update() -> None:
    """A second request after the first is answered works too (each over the handshake
    transcript, not the previous exchange), also after KeyUpdates in both directions."""
    creds = client_credentials("ed25519")
    client, server = handshake(mtls_client(creds, pha=True), mtls_server(pha=True))
    events(server)
    for _ in range(2):
        server.verify_client_post_handshake()
        client.key_update(request_peer=True)
        pump(client, server)
        assert [type(e) for e in events(server)][-1] is PostHandshakeAuthComplete
        assert server.peer_certificates == der_chain(creds)


def test_post_handshake_auth_one_request_at_a_time() -> None:
    client, server = handshake(mtls_client(client_credentials(), pha=True), mtls_server(pha=True))
    server.verify_client_post_handshake()
    with pytest.raises(TLSError) as info:
        server.verify_client_post_handshake()
    assert info.value.reason == "REQUEST_SENT"
    pump(client, server)
    server.verify_client_post_handshake()  # answered: a new one may go


def test_post_handshake_auth_in_addition_to_the_handshake() -> None:
    """Without post_handshake_auth on the server context, it asks in the handshake and may ask
    again later (OpenSSL's behaviour); the answer replaces the peer's chain. The client answers
    with its connection's configuration: a context swapped in (as ``SSLObject.context =``, which
    is OpenSSL's SSL_set_SSL_CTX) brings another certificate."""
    first = client_credentials("ecdsa-p256")
    client_ctx = mtls_client(first, pha=True)
    client, server = handshake(client_ctx, mtls_server())
    assert server.peer_certificates == der_chain(first)
    second = client_credentials("rsa2048")
    client.context = mtls_client(second, pha=True)
    server.verify_client_post_handshake()
    pump(client, server)
    assert server.peer_certificates == der_chain(second)


def test_post_handshake_auth_without_certificate_cert_required() -> None:
    """An empty Certificate (and Finished) under CERT_REQUIRED -> certificate_required."""
    client, server = handshake(mtls_client(None, pha=True), mtls_server(pha=True))
    server.verify_client_post_handshake()
    client.receive_data(server.data_to_send())
    answer = client.data_to_send()
    error = assert_aborts(
        server, answer, ProtocolError, AlertDescription.certificate_required, peer=client
    )
    assert error.reason == "PEER_DID_NOT_RETURN_A_CERTIFICATE"


def test_post_handshake_auth_without_certificate_cert_optional() -> None:
    client, server = handshake(
        mtls_client(None, pha=True), mtls_server(ssl.CERT_OPTIONAL, pha=True)
    )
    events(server)
    server.verify_client_post_handshake()
    pump(client, server)
    assert events(server) == [PostHandshakeAuthComplete(())]
    assert server.peer_certificates == ()


def test_post_handshake_auth_unknown_ca() -> None:
    client, server = handshake(mtls_client(untrusted_creds(), pha=True), mtls_server(pha=True))
    server.verify_client_post_handshake()
    client.receive_data(server.data_to_send())
    assert_aborts(
        server, client.data_to_send(), CertificateError, AlertDescription.unknown_ca, peer=client
    )


def test_post_handshake_auth_bad_finished() -> None:
    """§4.4.4: a wrong post-handshake Finished -> decrypt_error, and the chain is not taken."""
    client, server, mitm = relayed_handshake(
        mtls_client(client_credentials(), pha=True), mtls_server(pha=True)
    )
    server.verify_client_post_handshake()
    client.receive_data(mitm.server_flight())
    flipped = rewrite_type(HandshakeType.finished, lambda raw: raw[:-1] + bytes([raw[-1] ^ 1]))
    assert_aborts(
        server,
        mitm.client_flight(flipped),
        ProtocolError,
        AlertDescription.decrypt_error,
        peer=client,
        to_peer=lambda d: mitm.relay(mitm.to_client, d),
    )
    assert server.peer_certificates == ()


def test_post_handshake_key_update_inside_the_answer() -> None:
    """Between the client's Certificate and its Finished only CertificateVerify may come."""
    client, server, mitm = relayed_handshake(
        mtls_client(client_credentials(), pha=True), mtls_server(pha=True)
    )
    server.verify_client_post_handshake()
    client.receive_data(mitm.server_flight())
    key_update = message(HandshakeType.key_update, b"\x00")
    inserted = rewrite_type(HandshakeType.certificate_verify, lambda raw: [key_update, raw])
    assert_aborts(
        server,
        mitm.client_flight(inserted),
        ProtocolError,
        AlertDescription.unexpected_message,
        peer=client,
        to_peer=lambda d: mitm.relay(mitm.to_client, d),
    )


def test_unsolicited_post_handshake_certificate() -> None:
    """A Certificate after the handshake that we did not ask for -> unexpected_message."""
    client, server = handshake(mtls_client(client_credentials(), pha=True), mtls_server(pha=True))
    forged = read_protection(server).seal(
        HANDSHAKE, message(HandshakeType.certificate, b"\x00\x00\x00\x00")
    )
    assert_aborts(server, forged, ProtocolError, AlertDescription.unexpected_message, peer=client)


def test_client_answers_outstanding_requests_in_turn() -> None:
    """Two CertificateRequests in a row (§4.6.2 allows several outstanding): the client
    answers each with its own context, each Finished over the handshake transcript plus that
    request and answer only."""
    creds = client_credentials()
    client, _, mitm = relayed_handshake(mtls_client(creds, pha=True), mtls_server(pha=True))
    handshake_messages = transcript_messages(mitm)
    sealing = read_protection(client)
    requests = []
    for context in (b"first", b"second"):
        request = client_auth.certificate_request(mtls_server(), context)
        requests.append(message(HandshakeType.certificate_request, request.serialize()))
    client.receive_data(b"".join(sealing.seal(HANDSHAKE, raw) for raw in requests))
    opening = write_protection(client)
    opening.seq = 0
    answers = b""
    for _, _, fragment in split_records(client.data_to_send()):
        content_type, content = opening.open(fragment)
        assert content_type == HANDSHAKE
        answers += content
    messages = split_messages(answers)
    assert [raw[0] for raw in messages] == [
        HandshakeType.certificate,
        HandshakeType.certificate_verify,
        HandshakeType.finished,
    ] * 2
    suite = SUITES[client._handshake.suite]
    secret = mitm.secrets["CLIENT_TRAFFIC_SECRET_0"]
    for index, context in enumerate((b"first", b"second")):
        certificate, _, finished = messages[3 * index : 3 * index + 3]
        assert Certificate.parse(certificate[4:]).certificate_request_context == context
        exchange = [requests[index], *messages[3 * index : 3 * index + 2]]
        digest = hashlib.new(suite.hash_name, b"".join([*handshake_messages, *exchange])).digest()
        assert hmac.compare_digest(
            finished[4:], finished_verify_data(suite.hash_name, secret, digest)
        )


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        pytest.param("client", "NOT_SERVER", id="client"),
        pytest.param("handshaking", "STILL_IN_INIT", id="handshaking"),
        pytest.param("not_offered", "EXTENSION_NOT_RECEIVED", id="not_offered"),
        pytest.param("cert_none", "INVALID_CONFIG", id="cert_none"),
    ],
)
def test_verify_client_post_handshake_refused(setup: str, reason: str) -> None:
    """The errors of ssl's verify_client_post_handshake (OpenSSL's reason codes); nothing is
    sent and the connection stays usable."""
    if setup == "handshaking":
        client, server = connections(mtls_client(pha=True), mtls_server(pha=True))
        target = server
    else:
        server_ctx = mtls_server(pha=True)
        if setup == "cert_none":
            server_ctx.verify_mode = ssl.CERT_NONE
        client, server = handshake(
            mtls_client(client_credentials(), pha=setup != "not_offered"), server_ctx
        )
        target = client if setup == "client" else server
    target.data_to_send()
    with pytest.raises(TLSError) as info:
        target.verify_client_post_handshake()
    assert info.value.reason == reason
    assert not isinstance(info.value, ProtocolError)
    assert target.data_to_send() == b""


def test_client_without_offer_refuses_post_handshake_request() -> None:
    """§4.6.2: a client that did not offer post_handshake_auth refuses the request."""
    client, server = handshake(mtls_client(client_credentials()), mtls_server())
    forged = read_protection(client).seal(
        HANDSHAKE,
        message(HandshakeType.certificate_request, b"\x01\x07\x00\x06\x00\x0d\x00\x02\x04\x03"),
    )
    error = assert_aborts(
        client, forged, ProtocolError, AlertDescription.unexpected_message, peer=server
    )
    assert "we did not offer post_handshake_auth" in str(error)


def test_server_rejects_non_empty_post_handshake_auth_extension() -> None:
    """§4.2.6: the extension is empty -> decode_error otherwise."""
    client, server = connections(mtls_client(pha=True), mtls_server(pha=True))
    mitm = ManInTheMiddle(client, server)

    def fill(raw: bytes) -> bytes:
        hello = ClientHello.parse(raw[4:])
        hello.extensions = [
            (t, b"\x00" if t == ExtensionType.post_handshake_auth else d)
            for t, d in hello.extensions
        ]
        return message(HandshakeType.client_hello, hello.serialize())

    flight = mitm.client_flight(rewrite_type(HandshakeType.client_hello, fill))
    assert_aborts(server, flight, ProtocolError, AlertDescription.decode_error, peer=client)


def test_peer_alert_seen_by_the_client() -> None:
    """The client completed its handshake before the server checked its certificate: it
    learns of the refusal from the alert, as a PeerAlert naming certificate_required."""
    client, server, flight = client_flight_to_server(mtls_client(None), mtls_server())
    with pytest.raises(ProtocolError):
        server.receive_data(flight)
    with pytest.raises(PeerAlert) as info:
        client.receive_data(server.data_to_send())
    assert info.value.alert == AlertDescription.certificate_required


# --- with session resumption ---------------------------------------------------------------------


def resume(
    client_ctx: cytls.TLSContext, server_ctx: cytls.TLSContext, session: cytls.Session
) -> tuple[cytls.Connection, cytls.Connection, ManInTheMiddle]:
    client = cytls.Connection(client_ctx, server_hostname="localhost", session=session)
    server = cytls.Connection(server_ctx, server_side=True)
    mitm = ManInTheMiddle(client, server)
    mitm.pump()
    assert client.handshake_complete and server.handshake_complete
    return client, server, mitm


def test_resumption_keeps_the_client_certificate() -> None:
    """§4.3.2: a server resuming with a PSK sends no CertificateRequest; the client's
    certificate is the one of the handshake that issued the ticket."""
    creds = client_credentials()
    client_ctx, server_ctx = mtls_client(creds), mtls_server()
    client, _ = handshake(client_ctx, server_ctx)
    assert client.session is not None
    resumed, server, mitm = resume(client_ctx, server_ctx, client.session)
    assert resumed.session_reused
    assert HandshakeType.certificate_request not in seen_types(mitm.to_client)
    assert seen_types(mitm.to_server)[1:] == [HandshakeType.finished]
    assert server.peer_certificates == der_chain(creds)


def test_ticket_without_client_certificate_is_not_resumed_under_cert_required() -> None:
    """A ticket issued without a client certificate (CERT_OPTIONAL) cannot satisfy
    CERT_REQUIRED: the server ignores it and asks for a certificate in a full handshake."""
    client_ctx, server_ctx = mtls_client(None), mtls_server(ssl.CERT_OPTIONAL)
    client, _ = handshake(client_ctx, server_ctx)
    assert client.session is not None
    server_ctx.verify_mode = ssl.CERT_REQUIRED  # the same context: the same ticket keys
    creds = client_credentials()
    client_ctx.load_cert_chain(creds.certfile, creds.keyfile)
    again, server, mitm = resume(client_ctx, server_ctx, client.session)
    assert not again.session_reused
    assert HandshakeType.certificate_request in seen_types(mitm.to_client)
    assert server.peer_certificates == der_chain(creds)


def test_post_handshake_auth_after_resumption() -> None:
    """A post_handshake_auth server resumes a ticket issued before any certificate (it asks
    when it wants); the post-handshake transcript is the resumed handshake's (§4.4.1)."""
    creds = client_credentials("ed25519")
    client_ctx, server_ctx = mtls_client(creds, pha=True), mtls_server(pha=True)
    client, _ = handshake(client_ctx, server_ctx)
    assert client.session is not None
    resumed, server, _ = resume(client_ctx, server_ctx, client.session)
    assert resumed.session_reused and server.peer_certificates == ()
    server.verify_client_post_handshake()
    pump(resumed, server)
    assert server.peer_certificates == der_chain(creds)

"""TLS 1.2 handshake message codecs (cytls.wire.messages12) and TLS 1.2 extension codecs
(renegotiation_info, ec_point_formats in cytls.wire.extensions) on what OpenSSL sent, and on
malformed input.

The messages come from a real TLS 1.2 handshake of Python's ``ssl`` with itself
(tests/test_tls12_records.py captures it): each parses, re-serializes to the same bytes, and
means what it should (the ServerKeyExchange signature verifies with the certificate's key over
the randoms and the parameters as parsed, RFC 8422 §5.4).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from hypothesis import given
from hypothesis import strategies as st
from test_tls12_records import handshake_payload, ssl_tls12_handshake

from cytls.errors import ProtocolError
from cytls.registry import CipherSuite, NamedGroup, SignatureScheme
from cytls.wire import extensions as ext
from cytls.wire.enums import AlertDescription
from cytls.wire.messages import (
    ClientHello,
    ExtensionType,
    HandshakeType,
    ServerHello,
    find_extension,
)
from cytls.wire.messages12 import (
    Certificate12,
    CertificateRequest12,
    ClientCertificateType,
    ClientKeyExchangeECDHE,
    NewSessionTicket12,
    ServerHelloDone,
    ServerKeyExchangeECDHE,
)

CODECS = [
    Certificate12,
    ServerKeyExchangeECDHE,
    ServerHelloDone,
    ClientKeyExchangeECDHE,
    CertificateRequest12,
    NewSessionTicket12,
]


def messages(payload: bytes) -> list[tuple[int, bytes]]:
    """(type, body) of each handshake message in a payload."""
    out = []
    while payload:
        length = int.from_bytes(payload[1:4], "big")
        out.append((payload[0], payload[4 : 4 + length]))
        payload = payload[4 + length :]
    return out


def verify(certificate: x509.Certificate, algorithm: int, signature: bytes, data: bytes) -> None:
    key = certificate.public_key()
    if algorithm == SignatureScheme.ecdsa_secp256r1_sha256:
        assert isinstance(key, ec.EllipticCurvePublicKey)
        key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    elif algorithm == SignatureScheme.rsa_pss_rsae_sha256:
        assert isinstance(key, rsa.RSAPublicKey)
        pss = padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH)
        key.verify(signature, data, pss, hashes.SHA256())
    else:
        raise AssertionError(f"OpenSSL signed with 0x{algorithm:04x}, not expected here")


@pytest.mark.parametrize(
    "suite",
    [
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ],
    ids=lambda s: s.name,
)
def test_openssl_messages(suite: int, tmp_path: Path) -> None:
    capture = ssl_tls12_handshake(suite, tmp_path, request_certificate=True)
    server_flight = messages(handshake_payload(capture.flights[1]))
    client_flight = messages(handshake_payload(capture.flights[2]))
    assert [t for t, _ in server_flight] == [
        HandshakeType.server_hello,
        HandshakeType.certificate,
        HandshakeType.server_key_exchange,
        HandshakeType.certificate_request,
        HandshakeType.server_hello_done,
    ]
    assert [t for t, _ in client_flight] == [
        HandshakeType.certificate,
        HandshakeType.client_key_exchange,
    ]
    bodies = dict(server_flight)

    certificate = Certificate12.parse(bodies[HandshakeType.certificate])
    assert certificate.serialize() == bodies[HandshakeType.certificate]
    # The leaf first; OpenSSL adds the CA it found in its store (RFC 5246 §7.4.2 allows it).
    chain = [x509.load_der_x509_certificate(der) for der in certificate.certificates]
    leaf = chain[0]
    assert all(c.issuer == p.subject for c, p in itertools.pairwise(chain))

    key_exchange = ServerKeyExchangeECDHE.parse(bodies[HandshakeType.server_key_exchange])
    assert key_exchange.serialize() == bodies[HandshakeType.server_key_exchange]
    assert key_exchange.group == NamedGroup.x25519 and len(key_exchange.public) == 32
    signed = key_exchange.signed_content(capture.client_random, capture.server_random)
    verify(leaf, key_exchange.algorithm, key_exchange.signature, signed)

    request = CertificateRequest12.parse(bodies[HandshakeType.certificate_request])
    assert request.serialize() == bodies[HandshakeType.certificate_request]
    assert ClientCertificateType.ecdsa_sign in request.certificate_types
    assert ClientCertificateType.rsa_sign in request.certificate_types
    assert SignatureScheme.ecdsa_secp256r1_sha256 in request.signature_algorithms
    assert request.certificate_authorities == []  # ssl sets no client CA list
    named = CertificateRequest12([64], [0x0403], [leaf.issuer.public_bytes()])
    assert CertificateRequest12.parse(named.serialize()) == named

    assert ServerHelloDone.parse(bodies[HandshakeType.server_hello_done]).serialize() == b""

    client = dict(client_flight)
    empty = Certificate12.parse(client[HandshakeType.certificate])
    assert empty.certificates == [] and empty.serialize() == client[HandshakeType.certificate]
    client_key = ClientKeyExchangeECDHE.parse(client[HandshakeType.client_key_exchange])
    assert len(client_key.public) == 32
    assert client_key.serialize() == client[HandshakeType.client_key_exchange]


def decode_failure(codec: type, body: bytes) -> str:
    with pytest.raises(ProtocolError) as info:
        codec.parse(body)
    assert info.value.alert == AlertDescription.decode_error
    return str(info.value)


def test_malformed_messages_are_decode_errors() -> None:
    key_exchange = ServerKeyExchangeECDHE(NamedGroup.secp256r1, b"\x04" + bytes(64), 0x0403, b"s")
    body = key_exchange.serialize()
    for cut in range(len(body)):
        decode_failure(ServerKeyExchangeECDHE, body[:cut])
    decode_failure(ServerKeyExchangeECDHE, body + b"\x00")
    assert "named_curve" in decode_failure(ServerKeyExchangeECDHE, b"\x01" + body[1:])
    decode_failure(ServerKeyExchangeECDHE, b"\x03\x00\x17\x00\x04\x03\x00\x00")  # empty point
    decode_failure(ServerHelloDone, b"\x00")
    decode_failure(ClientKeyExchangeECDHE, b"\x00")  # the implicit form: no point
    decode_failure(ClientKeyExchangeECDHE, b"\x02\x01")
    decode_failure(Certificate12, b"\x00\x00\x03\x00\x00\x00")  # an empty ASN.1Cert
    decode_failure(Certificate12, b"\x00\x00\x05\x00\x00\x01\xaa")  # list longer than its cert
    decode_failure(CertificateRequest12, b"\x00\x00\x02\x04\x03\x00\x00")  # no types
    decode_failure(CertificateRequest12, b"\x01\x40\x00\x03\x04\x03\x01\x00\x00")  # odd list
    decode_failure(CertificateRequest12, b"\x01\x40\x00\x02\x04\x03\x00\x02\x00\x00")  # empty DN
    decode_failure(NewSessionTicket12, b"\x00\x00\x00\x01\x00\x02\xaa")
    with pytest.raises(ValueError):
        ClientKeyExchangeECDHE(b"").serialize()
    with pytest.raises(ValueError):
        Certificate12([b""]).serialize()


@given(st.sampled_from(CODECS), st.binary(max_size=80))
def test_parse_is_strict_and_canonical(codec: type, body: bytes) -> None:
    """Any input either fails with decode_error or parses to a message that serializes back to
    exactly the input: nothing is skipped, guessed or normalized."""
    try:
        message = codec.parse(body)
    except ProtocolError as exc:
        assert exc.alert == AlertDescription.decode_error
    else:
        assert message.serialize() == body


def test_reprs_show_no_contents() -> None:
    assert "ab" * 8 not in repr(NewSessionTicket12(3600, bytes.fromhex("ab" * 40)))
    assert "ab" * 8 not in repr(Certificate12([bytes.fromhex("ab" * 40)]))


def test_openssl_tls12_hello_extensions(tmp_path: Path) -> None:
    """OpenSSL's TLS 1.2 ServerHello carries renegotiation_info (empty: an initial handshake,
    RFC 5746 §3.6), extended_master_secret (RFC 7627 §5.1) and ec_point_formats with
    uncompressed (RFC 8422 §5.2); its ClientHello lists uncompressed among its point formats."""
    capture = ssl_tls12_handshake(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tmp_path)
    [(_, client_body)] = messages(handshake_payload(capture.flights[0]))
    server_body = messages(handshake_payload(capture.flights[1]))[0][1]
    client_hello, server_hello = ClientHello.parse(client_body), ServerHello.parse(server_body)
    formats = find_extension(client_hello.extensions, ExtensionType.ec_point_formats)
    assert formats is not None and ext.UNCOMPRESSED in ext.decode_ec_point_formats(formats)
    server = dict(server_hello.extensions)
    assert ext.decode_renegotiation_info(server[ExtensionType.renegotiation_info]) == b""
    assert server[ExtensionType.renegotiation_info] == ext.encode_renegotiation_info()
    ext.decode_empty(server[ExtensionType.extended_master_secret], "extended_master_secret")
    assert ext.decode_ec_point_formats(server[ExtensionType.ec_point_formats])[0] == 0


def test_tls12_extension_errors() -> None:
    assert ext.decode_ec_point_formats(ext.encode_ec_point_formats()) == [ext.UNCOMPRESSED]
    with pytest.raises(ProtocolError) as info:
        ext.decode_ec_point_formats(b"\x01\x01")  # compressed only
    assert info.value.alert == AlertDescription.illegal_parameter
    for bad in (b"", b"\x00", b"\x02\x00"):
        with pytest.raises(ProtocolError) as info:
            ext.decode_ec_point_formats(bad)
        assert info.value.alert == AlertDescription.decode_error
    assert ext.decode_renegotiation_info(b"\x02ab") == b"ab"  # the caller refuses it
    for bad in (b"", b"\x01", b"\x00\x00"):
        with pytest.raises(ProtocolError) as info:
            ext.decode_renegotiation_info(bad)
        assert info.value.alert == AlertDescription.decode_error

"""TLS 1.2 signatures (cytls.crypto.signatures12): OpenSSL's ServerKeyExchange signatures verify,
cytls's signatures verify with the ``openssl`` command, and the RFC 5246 §7.4.1.4.1 rules."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pki
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from test_tls12_records import handshake_payload, ssl_tls12_handshake
from test_wire_messages12 import messages

from cytls.crypto import signatures12
from cytls.errors import ProtocolError
from cytls.registry import CipherSuite, SignatureScheme
from cytls.wire.enums import AlertDescription
from cytls.wire.messages import HandshakeType
from cytls.wire.messages12 import Certificate12, ServerKeyExchangeECDHE

S = SignatureScheme


@pytest.mark.parametrize(
    "suite",
    [
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ],
    ids=lambda s: s.name,
)
def test_openssl_server_key_exchange_verifies(suite: int, tmp_path: Path) -> None:
    capture = ssl_tls12_handshake(suite, tmp_path)
    bodies = dict(messages(handshake_payload(capture.flights[1])))
    leaf = x509.load_der_x509_certificate(
        Certificate12.parse(bodies[HandshakeType.certificate]).certificates[0]
    )
    exchange = ServerKeyExchangeECDHE.parse(bodies[HandshakeType.server_key_exchange])
    signed = exchange.signed_content(capture.client_random, capture.server_random)
    signatures12.verify(leaf, exchange.algorithm, exchange.signature, signed)
    # Any other content (here: the randoms swapped) is decrypt_error (RFC 5246 §7.2.2).
    swapped = exchange.signed_content(capture.server_random, capture.client_random)
    with pytest.raises(ProtocolError) as info:
        signatures12.verify(leaf, exchange.algorithm, exchange.signature, swapped)
    assert info.value.alert == AlertDescription.decrypt_error


def openssl_verifies(key: object, scheme: int, signature: bytes, data: bytes, tmp: Path) -> bool:
    """The ``openssl`` command's verdict on a signature, with the scheme's hash and padding."""
    assert isinstance(
        key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    )
    public = tmp / "public.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (tmp / "data").write_bytes(data)
    (tmp / "sig").write_bytes(signature)
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(public), "-rawin"]
    command += ["-in", str(tmp / "data"), "-sigfile", str(tmp / "sig")]
    name = S(scheme).name
    if scheme != S.ed25519:
        command += ["-digest", name.rsplit("_", 1)[1]]
    if "pss" in name:
        command += ["-pkeyopt", "rsa_padding_mode:pss", "-pkeyopt", "rsa_pss_saltlen:digest"]
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


KEYS = {
    "ecdsa-p256": [S.ecdsa_secp256r1_sha256, S.ecdsa_secp384r1_sha384, S.ecdsa_secp521r1_sha512],
    "ecdsa-p384": [S.ecdsa_secp384r1_sha384, S.ecdsa_secp256r1_sha256, S.ecdsa_secp521r1_sha512],
    "rsa2048": [
        S.rsa_pss_rsae_sha256,
        S.rsa_pss_rsae_sha384,
        S.rsa_pss_rsae_sha512,
        S.rsa_pkcs1_sha256,
        S.rsa_pkcs1_sha384,
        S.rsa_pkcs1_sha512,
    ],
    "ed25519": [S.ed25519],
}


@pytest.mark.parametrize("key_type", sorted(KEYS))
def test_every_scheme_a_key_makes_verifies_with_openssl(key_type: str, tmp_path: Path) -> None:
    """In TLS 1.2 an ECDSA key signs with any of the three hashes (its curve's first); RSA with
    PSS and PKCS#1 v1.5."""
    key = pki.new_key(key_type)
    assert signatures12.schemes_for_key(key) == KEYS[key_type]
    data = b"client_random || server_random || params" * 3
    for scheme in KEYS[key_type]:
        signature = signatures12.sign(key, scheme, data)
        assert openssl_verifies(key, scheme, signature, data, tmp_path), S(scheme).name
        assert not openssl_verifies(key, scheme, signature, data + b"!", tmp_path)
        signatures12.verify(key.public_key(), scheme, signature, data)


def test_choosing_and_refusing() -> None:
    rsa_key, ec_key = pki.new_key("rsa2048"), pki.new_key("ecdsa-p256")
    assert signatures12.choose_scheme(rsa_key, [S.rsa_pkcs1_sha256]) == S.rsa_pkcs1_sha256
    assert signatures12.choose_scheme(ec_key, [S.rsa_pkcs1_sha256, S.ecdsa_secp384r1_sha384]) == (
        S.ecdsa_secp384r1_sha384
    )
    with pytest.raises(ProtocolError) as info:
        signatures12.choose_scheme(ec_key, [S.rsa_pkcs1_sha256, S.ecdsa_sha1])
    assert info.value.alert == AlertDescription.handshake_failure
    with pytest.raises(ValueError, match="too small"):
        signatures12.schemes_for_key(pki.new_key("rsa1024"))
    with pytest.raises(ValueError, match="cannot be made"):
        signatures12.sign(ec_key, S.ecdsa_sha1, b"data")
    signature = signatures12.sign(ec_key, S.ecdsa_secp256r1_sha256, b"data")
    for scheme, allowed in (
        (S.ecdsa_sha1, signatures12.SCHEMES),  # SHA-1: never (RFC 9155)
        (S.rsa_pkcs1_sha256, signatures12.SCHEMES),  # an RSA scheme with an EC key
        (S.ecdsa_secp256r1_sha256, (S.rsa_pkcs1_sha256,)),  # not offered
        (S.rsa_pss_pss_sha256, signatures12.SCHEMES),  # not supported in TLS 1.2 here
    ):
        with pytest.raises(ProtocolError) as info:
            signatures12.verify(ec_key.public_key(), scheme, signature, b"data", allowed=allowed)
        assert info.value.alert == AlertDescription.illegal_parameter, S(scheme).name

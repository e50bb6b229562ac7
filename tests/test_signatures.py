"""Signature schemes and CertificateVerify (RFC 8446 §4.2.3, §4.4.3).

Known answer: the server CertificateVerify of RFC 8448 §3 (rsa_pss_rsae_sha256 over the
transcript of ClientHello..Certificate), copied into tests/vectors/rfc8448_certificate_verify.json
from the trace. Everything else is round trips over every scheme and key type, and every way a
peer's CertificateVerify can be wrong, each with the alert RFC 8446 asks for: illegal_parameter
for a scheme that is not allowed or does not fit the key, decrypt_error for a signature that
does not verify (§4.4.3).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pki
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x25519

from cytls.crypto import signatures
from cytls.crypto.signatures import (
    CERTIFICATE_SCHEMES,
    CERTIFICATE_VERIFY_SCHEMES,
    SignatureScheme,
    certificate_verify_input,
    choose_scheme,
    schemes_for_key,
    sign,
    verify,
)
from cytls.errors import ProtocolError
from cytls.wire.enums import AlertDescription

VECTORS = json.loads(
    (Path(__file__).parent / "vectors" / "rfc8448_certificate_verify.json").read_text("utf-8")
)

# (key type in tests/pki.py, the schemes that key makes, preferred first)
KEY_SCHEMES = {
    "ecdsa-p256": [SignatureScheme.ecdsa_secp256r1_sha256],
    "ecdsa-p384": [SignatureScheme.ecdsa_secp384r1_sha384],
    "ecdsa-p521": [SignatureScheme.ecdsa_secp521r1_sha512],
    "rsa2048": [
        SignatureScheme.rsa_pss_rsae_sha256,
        SignatureScheme.rsa_pss_rsae_sha384,
        SignatureScheme.rsa_pss_rsae_sha512,
    ],
    "rsa3072": [
        SignatureScheme.rsa_pss_rsae_sha256,
        SignatureScheme.rsa_pss_rsae_sha384,
        SignatureScheme.rsa_pss_rsae_sha512,
    ],
    "rsa-pss": [
        SignatureScheme.rsa_pss_pss_sha256,
        SignatureScheme.rsa_pss_pss_sha384,
        SignatureScheme.rsa_pss_pss_sha512,
    ],
    "ed25519": [SignatureScheme.ed25519],
    "ed448": [SignatureScheme.ed448],
}
ROUND_TRIPS = [
    (key_type, scheme) for key_type, schemes in KEY_SCHEMES.items() for scheme in schemes
]
TRANSCRIPT = hashlib.sha256(b"a transcript").digest()


@pytest.fixture(scope="module")
def ca() -> pki.Pair:
    return pki.make_ca("ecdsa-p256")


@pytest.fixture(scope="module")
def leaves(ca: pki.Pair) -> dict[str, pki.Pair]:
    """One leaf certificate and key per key type (the rsa-pss one with the RSASSA-PSS OID)."""
    return {key_type: pki.make_leaf(ca, key_type) for key_type in KEY_SCHEMES}


def expect(alert: AlertDescription, call, *args, **kwargs) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        call(*args, **kwargs)
    assert info.value.alert == alert, str(info.value)
    return info.value


# -- the registry ---------------------------------------------------------------------------------


def test_code_points_are_rfc8446s() -> None:
    """RFC 8446 §4.2.3 and Appendix B.3.1.3."""
    assert {scheme.name: scheme.value for scheme in SignatureScheme} == {
        "rsa_pkcs1_sha256": 0x0401,
        "rsa_pkcs1_sha384": 0x0501,
        "rsa_pkcs1_sha512": 0x0601,
        "ecdsa_secp256r1_sha256": 0x0403,
        "ecdsa_secp384r1_sha384": 0x0503,
        "ecdsa_secp521r1_sha512": 0x0603,
        "rsa_pss_rsae_sha256": 0x0804,
        "rsa_pss_rsae_sha384": 0x0805,
        "rsa_pss_rsae_sha512": 0x0806,
        "ed25519": 0x0807,
        "ed448": 0x0808,
        "rsa_pss_pss_sha256": 0x0809,
        "rsa_pss_pss_sha384": 0x080A,
        "rsa_pss_pss_sha512": 0x080B,
        "rsa_pkcs1_sha1": 0x0201,
        "ecdsa_sha1": 0x0203,
    }


def test_offered_lists() -> None:
    expected = (
        SignatureScheme.ed25519,
        SignatureScheme.ecdsa_secp256r1_sha256,
        SignatureScheme.ecdsa_secp384r1_sha384,
        SignatureScheme.rsa_pss_rsae_sha256,
        SignatureScheme.rsa_pss_rsae_sha384,
        SignatureScheme.rsa_pss_rsae_sha512,
        SignatureScheme.rsa_pss_pss_sha256,
        SignatureScheme.rsa_pss_pss_sha384,
        SignatureScheme.rsa_pss_pss_sha512,
    )
    assert expected == CERTIFICATE_VERIFY_SCHEMES
    # PKCS#1 v1.5 only inside certificates, SHA-1 nowhere (RFC 8446 §4.2.3).
    assert set(CERTIFICATE_SCHEMES) == {
        *CERTIFICATE_VERIFY_SCHEMES,
        SignatureScheme.rsa_pkcs1_sha256,
        SignatureScheme.rsa_pkcs1_sha384,
        SignatureScheme.rsa_pkcs1_sha512,
        SignatureScheme.ecdsa_secp521r1_sha512,
    }
    assert CERTIFICATE_SCHEMES[: len(CERTIFICATE_VERIFY_SCHEMES)] == CERTIFICATE_VERIFY_SCHEMES
    assert len(set(CERTIFICATE_SCHEMES)) == len(CERTIFICATE_SCHEMES)
    assert all(isinstance(scheme, int) for scheme in CERTIFICATE_SCHEMES)


def test_scheme_name() -> None:
    assert signatures.scheme_name(0x0804) == "rsa_pss_rsae_sha256"
    assert signatures.scheme_name(0xFEFE) == "0xfefe"


def test_certificate_verify_input_layout() -> None:
    """RFC 8446 §4.4.3: 64 spaces, the context string, one zero byte, the transcript hash."""
    server = certificate_verify_input(TRANSCRIPT, server=True)
    client = certificate_verify_input(TRANSCRIPT, server=False)
    assert server == b" " * 64 + b"TLS 1.3, server CertificateVerify" + b"\x00" + TRANSCRIPT
    assert client == b" " * 64 + b"TLS 1.3, client CertificateVerify" + b"\x00" + TRANSCRIPT
    assert len(server) == 64 + 33 + 1 + 32
    sha384 = hashlib.sha384(b"x").digest()
    assert certificate_verify_input(sha384, server=True).endswith(b"\x00" + sha384)


# -- which schemes a key can make -----------------------------------------------------------------


@pytest.mark.parametrize("key_type", list(KEY_SCHEMES))
def test_schemes_for_key(key_type: str, leaves: dict[str, pki.Pair]) -> None:
    cert, key = leaves[key_type]
    assert schemes_for_key(key, certificate=cert) == KEY_SCHEMES[key_type]


def test_rsa_key_without_certificate_is_rsae(leaves: dict[str, pki.Pair]) -> None:
    _, key = leaves["rsa-pss"]
    assert schemes_for_key(key) == KEY_SCHEMES["rsa2048"]


@pytest.mark.parametrize("hash_name", ["sha256", "sha384", "sha512"])
def test_pss_parameters_restrict_the_scheme(ca: pki.Pair, hash_name: str) -> None:
    """RFC 4055 §3.1: RSASSA-PSS-params bind the key to one hash."""
    cert, key = pki.make_leaf(ca, "rsa-pss", pss_hash=hash_name)
    assert signatures.pss_key_hash(cert) == hash_name
    (scheme,) = schemes_for_key(key, certificate=cert)
    assert scheme.name == f"rsa_pss_pss_{hash_name}"


def test_pss_parameters_with_sha1_leave_nothing(ca: pki.Pair) -> None:
    cert, key = pki.make_leaf(ca, "rsa-pss", pss_hash="sha1")
    assert signatures.pss_key_hash(cert) == "sha1"
    with pytest.raises(ValueError, match="restricted to SHA1"):
        schemes_for_key(key, certificate=cert)


@pytest.mark.parametrize(
    ("make_key", "words"),
    [
        (lambda: pki.new_key("rsa1024"), "1024-bit RSA key is too small"),
        (lambda: ec.generate_private_key(ec.SECP256K1()), "secp256k1"),
        (lambda: dsa.generate_private_key(1024), "DSAPrivateKey"),
        (x25519.X25519PrivateKey.generate, "X25519PrivateKey"),
    ],
    ids=["rsa1024", "secp256k1", "dsa", "x25519"],
)
def test_keys_that_cannot_sign(make_key, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        schemes_for_key(make_key())


# -- choosing -------------------------------------------------------------------------------------


def test_choose_our_preference_among_the_peers(leaves: dict[str, pki.Pair]) -> None:
    _, key = leaves["rsa2048"]
    peer = [
        SignatureScheme.rsa_pss_rsae_sha512,
        SignatureScheme.rsa_pss_rsae_sha384,
        SignatureScheme.rsa_pss_rsae_sha256,
    ]
    assert choose_scheme(key, peer) == SignatureScheme.rsa_pss_rsae_sha256
    assert (
        choose_scheme(key, [SignatureScheme.rsa_pkcs1_sha256, SignatureScheme.rsa_pss_rsae_sha384])
        == 0x0805
    )
    pss_cert, pss_key = leaves["rsa-pss"]
    both = [SignatureScheme.rsa_pss_rsae_sha256, SignatureScheme.rsa_pss_pss_sha384]
    assert choose_scheme(pss_key, both, certificate=pss_cert) == SignatureScheme.rsa_pss_pss_sha384
    assert choose_scheme(pss_key, both) == SignatureScheme.rsa_pss_rsae_sha256


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ed25519", "ed448", "ecdsa-p521"])
def test_choose_single_scheme_keys(key_type: str, leaves: dict[str, pki.Pair]) -> None:
    _, key = leaves[key_type]
    assert (
        choose_scheme(key, list(signatures.TLS13_CERTIFICATE_VERIFY_SCHEMES))
        == (KEY_SCHEMES[key_type][0])
    )


def test_no_scheme_in_common(leaves: dict[str, pki.Pair]) -> None:
    """An ECDSA P-384 key and a peer that accepts only P-256 and RSA: handshake_failure."""
    _, key = leaves["ecdsa-p384"]
    error = expect(
        AlertDescription.handshake_failure,
        choose_scheme,
        key,
        [SignatureScheme.ecdsa_secp256r1_sha256, SignatureScheme.rsa_pss_rsae_sha256],
    )
    message = str(error)
    assert "no signature scheme in common" in message
    assert "we can make ecdsa_secp384r1_sha384" in message
    assert "the peer accepts ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256" in message


def test_no_scheme_in_common_with_unknown_peer_schemes(leaves: dict[str, pki.Pair]) -> None:
    _, key = leaves["ed25519"]
    error = expect(AlertDescription.handshake_failure, choose_scheme, key, [0x0101, 0xFEFE])
    assert "the peer accepts 0x0101, 0xfefe" in str(error)
    error = expect(AlertDescription.handshake_failure, choose_scheme, key, [])
    assert "the peer accepts nothing" in str(error)


# -- sign and verify ------------------------------------------------------------------------------


@pytest.mark.parametrize(("key_type", "scheme"), ROUND_TRIPS)
@pytest.mark.parametrize("server", [True, False], ids=["server", "client"])
def test_round_trip(
    key_type: str, scheme: SignatureScheme, server: bool, leaves: dict[str, pki.Pair]
) -> None:
    cert, key = leaves[key_type]
    content = certificate_verify_input(TRANSCRIPT, server=server)
    signature = sign(key, scheme, content)
    verify(key.public_key(), scheme, signature, content)
    verify(key.public_key(), scheme, signature, content, certificate=cert)
    verify(cert, scheme, signature, content, allowed=KEY_SCHEMES[key_type])
    # The other side's context, another transcript, a flipped bit: decrypt_error (§4.4.3).
    other_side = certificate_verify_input(TRANSCRIPT, server=not server)
    expect(AlertDescription.decrypt_error, verify, cert, scheme, signature, other_side)
    other = certificate_verify_input(hashlib.sha256(b"other").digest(), server=server)
    expect(AlertDescription.decrypt_error, verify, cert, scheme, signature, other)
    flipped = bytes([signature[0] ^ 0x01]) + signature[1:]
    expect(AlertDescription.decrypt_error, verify, cert, scheme, flipped, content)


@pytest.mark.parametrize(("key_type", "scheme"), ROUND_TRIPS)
def test_malformed_signatures(key_type: str, scheme: int, leaves: dict[str, pki.Pair]) -> None:
    cert, key = leaves[key_type]
    content = certificate_verify_input(TRANSCRIPT, server=True)
    signature = sign(key, scheme, content)
    for bad in (b"", signature[:-1], signature + b"\x00", b"\x30\x00", bytes(len(signature))):
        error = expect(AlertDescription.decrypt_error, verify, cert, scheme, bad, content)
        assert str(error).startswith("decrypt_error: CertificateVerify signature does not verify")


def test_signature_of_another_key_does_not_verify(ca: pki.Pair) -> None:
    content = certificate_verify_input(TRANSCRIPT, server=True)
    for key_type in ("ecdsa-p256", "rsa2048", "ed25519"):
        _, key = pki.make_leaf(ca, key_type)
        other, _ = pki.make_leaf(ca, key_type)
        scheme = KEY_SCHEMES[key_type][0]
        signature = sign(key, scheme, content)
        expect(AlertDescription.decrypt_error, verify, other, scheme, signature, content)


def test_eddsa_signature_is_the_keys_own(leaves: dict[str, pki.Pair]) -> None:
    """sign() signs exactly what it is given (EdDSA is deterministic, so this is checkable)."""
    _, ed_key = leaves["ed25519"]
    content = certificate_verify_input(TRANSCRIPT, server=True)
    assert sign(ed_key, SignatureScheme.ed25519, content) == ed_key.sign(content)


@pytest.mark.parametrize(
    "scheme",
    [
        SignatureScheme.rsa_pkcs1_sha256,
        SignatureScheme.rsa_pkcs1_sha384,
        SignatureScheme.rsa_pkcs1_sha512,
        SignatureScheme.rsa_pkcs1_sha1,
        SignatureScheme.ecdsa_sha1,
        0x0402,  # dsa_sha256 (TLS 1.2 only)
        0x0000,
        0xFEFE,
    ],
)
def test_verify_refuses_schemes_not_allowed_in_tls13(
    scheme: int, leaves: dict[str, pki.Pair]
) -> None:
    """RFC 8446 §4.2.3: no PKCS#1 v1.5 and no SHA-1 in CertificateVerify: illegal_parameter."""
    cert, key = leaves["rsa2048"]
    content = certificate_verify_input(TRANSCRIPT, server=True)
    error = expect(AlertDescription.illegal_parameter, verify, cert, scheme, b"x" * 256, content)
    assert "not allowed in TLS 1.3" in str(error)
    with pytest.raises(ValueError, match=r"not allowed in a TLS 1\.3 CertificateVerify"):
        sign(key, scheme, content)


MISFITS = [
    # (key type, scheme, words in the message)
    (
        "ecdsa-p256",
        SignatureScheme.ecdsa_secp384r1_sha384,
        "needs a P-384 key, not a P-256 ECDSA key",
    ),
    (
        "ecdsa-p384",
        SignatureScheme.ecdsa_secp256r1_sha256,
        "needs a P-256 key, not a P-384 ECDSA key",
    ),
    ("ecdsa-p256", SignatureScheme.ecdsa_secp521r1_sha512, "needs a P-521 key"),
    ("ecdsa-p256", SignatureScheme.rsa_pss_rsae_sha256, "needs an RSA key, not a P-256 ECDSA key"),
    ("ecdsa-p256", SignatureScheme.ed25519, "needs an Ed25519 key"),
    (
        "rsa2048",
        SignatureScheme.ecdsa_secp256r1_sha256,
        "needs an ECDSA key, not a 2048-bit RSA key",
    ),
    ("rsa2048", SignatureScheme.ed25519, "needs an Ed25519 key, not a 2048-bit RSA key"),
    ("ed25519", SignatureScheme.ed448, "needs an Ed448 key, not an Ed25519 key"),
    ("ed448", SignatureScheme.ed25519, "needs an Ed25519 key, not an Ed448 key"),
    ("ed25519", SignatureScheme.rsa_pss_pss_sha256, "needs an RSA key"),
]


@pytest.mark.parametrize(("key_type", "scheme", "words"), MISFITS)
def test_scheme_that_does_not_fit_the_key(
    key_type: str, scheme: int, words: str, leaves: dict[str, pki.Pair]
) -> None:
    """The scheme names the key type and, for ECDSA, the curve (RFC 8446 §4.2.3)."""
    cert, key = leaves[key_type]
    content = certificate_verify_input(TRANSCRIPT, server=True)
    error = expect(AlertDescription.illegal_parameter, verify, cert, scheme, b"\x00" * 64, content)
    assert words in str(error)
    with pytest.raises(ValueError, match=re.escape(words.split(",")[0])):
        sign(key, scheme, content)


def test_rsae_scheme_with_a_pss_certificate(leaves: dict[str, pki.Pair]) -> None:
    """rsa_pss_rsae_* needs an rsaEncryption key in the certificate (RFC 8446 §4.2.3)."""
    cert, key = leaves["rsa-pss"]
    content = certificate_verify_input(TRANSCRIPT, server=True)
    signature = sign(key, SignatureScheme.rsa_pss_rsae_sha256, content)
    verify(
        key.public_key(), SignatureScheme.rsa_pss_rsae_sha256, signature, content
    )  # the key alone: fine
    error = expect(
        AlertDescription.illegal_parameter,
        verify,
        key.public_key(),
        SignatureScheme.rsa_pss_rsae_sha256,
        signature,
        content,
        certificate=cert,
    )
    assert "certificate's key is RSASSA-PSS" in str(error)


def test_pss_scheme_with_an_rsaencryption_certificate(leaves: dict[str, pki.Pair]) -> None:
    cert, key = leaves["rsa2048"]
    content = certificate_verify_input(TRANSCRIPT, server=True)
    signature = sign(key, SignatureScheme.rsa_pss_pss_sha256, content)
    error = expect(
        AlertDescription.illegal_parameter,
        verify,
        cert,
        SignatureScheme.rsa_pss_pss_sha256,
        signature,
        content,
    )
    assert "certificate's key is rsaEncryption" in str(error)


def test_pss_scheme_outside_the_certificates_parameters(ca: pki.Pair) -> None:
    cert, key = pki.make_leaf(ca, "rsa-pss", pss_hash="sha384")
    content = certificate_verify_input(TRANSCRIPT, server=True)
    verify(
        cert,
        SignatureScheme.rsa_pss_pss_sha384,
        sign(key, SignatureScheme.rsa_pss_pss_sha384, content),
        content,
    )
    signature = sign(key, SignatureScheme.rsa_pss_pss_sha256, content)
    error = expect(
        AlertDescription.illegal_parameter,
        verify,
        cert,
        SignatureScheme.rsa_pss_pss_sha256,
        signature,
        content,
    )
    assert "restrict to sha384" in str(error)


def test_scheme_we_did_not_offer(leaves: dict[str, pki.Pair]) -> None:
    """RFC 8446 §4.4.3: the scheme must be one we offered; ecdsa_secp521r1_sha512 is valid
    TLS 1.3 but not in CERTIFICATE_VERIFY_SCHEMES."""
    cert, key = leaves["ecdsa-p521"]
    content = certificate_verify_input(TRANSCRIPT, server=True)
    signature = sign(key, SignatureScheme.ecdsa_secp521r1_sha512, content)
    verify(cert, SignatureScheme.ecdsa_secp521r1_sha512, signature, content)
    error = expect(
        AlertDescription.illegal_parameter,
        verify,
        cert,
        SignatureScheme.ecdsa_secp521r1_sha512,
        signature,
        content,
        allowed=CERTIFICATE_VERIFY_SCHEMES,
    )
    assert "which we did not offer" in str(error)


def test_rsa_key_too_small_for_the_hash() -> None:
    """RSASSA-PSS with SHA-512 and a 64-byte salt needs emLen >= 130 (RFC 8017 §9.1.1): a
    1024-bit key cannot make it, so the scheme does not fit the key."""
    public_key = _rfc8448_private_key().public_key()
    content = certificate_verify_input(TRANSCRIPT, server=True)
    error = expect(
        AlertDescription.illegal_parameter,
        verify,
        public_key,
        SignatureScheme.rsa_pss_rsae_sha512,
        b"\x00" * 128,
        content,
    )
    assert "too small for rsa_pss_rsae_sha512" in str(error)


def test_sign_refuses_what_verify_refuses(leaves: dict[str, pki.Pair]) -> None:
    _, key = leaves["ecdsa-p256"]
    with pytest.raises(ValueError, match="needs a P-384 key"):
        sign(key, SignatureScheme.ecdsa_secp384r1_sha384, b"data")
    with pytest.raises(ValueError):
        sign(dsa.generate_private_key(1024), SignatureScheme.ecdsa_secp256r1_sha256, b"data")  # type: ignore[arg-type]


# -- RFC 8448 §3 -----------------------------------------------------------------------------------


def _rfc8448_private_key() -> rsa.RSAPrivateKey:
    numbers = {name: int(value, 16) for name, value in VECTORS["rsa_private_key"].items()}
    public = rsa.RSAPublicNumbers(numbers["public_exponent"], numbers["modulus"])
    return rsa.RSAPrivateNumbers(
        p=numbers["prime1"],
        q=numbers["prime2"],
        d=numbers["private_exponent"],
        dmp1=numbers["exponent1"],
        dmq1=numbers["exponent2"],
        iqmp=rsa.rsa_crt_iqmp(numbers["prime1"], numbers["prime2"]),
        public_numbers=public,
    ).private_key()


def _rfc8448_transcript_hash() -> bytes:
    messages = VECTORS["transcript_messages"]
    order = ["ClientHello", "ServerHello", "EncryptedExtensions", "Certificate"]
    assert list(messages) == order
    return hashlib.sha256(b"".join(bytes.fromhex(messages[name]) for name in order)).digest()


def test_rfc8448_vector_is_consistent() -> None:
    transcript_hash = _rfc8448_transcript_hash()
    assert transcript_hash.hex() == VECTORS["transcript_hash_sha256"]
    certificate_message = bytes.fromhex(VECTORS["transcript_messages"]["Certificate"])
    certificate = bytes.fromhex(VECTORS["certificate"])
    assert certificate in certificate_message  # the Certificate message carries it (§4.4.2)
    message = bytes.fromhex(VECTORS["certificate_verify"])
    # struct { SignatureScheme algorithm; opaque signature<0..2^16-1>; } (RFC 8446 §4.4.3)
    assert message[0] == 15 and int.from_bytes(message[1:4], "big") == len(message) - 4
    assert int.from_bytes(message[4:6], "big") == VECTORS["signature_scheme"] == 0x0804
    assert message[8:] == bytes.fromhex(VECTORS["signature"])
    assert int.from_bytes(message[6:8], "big") == len(message) - 8
    cert = x509.load_der_x509_certificate(certificate)
    assert cert.public_key() == _rfc8448_private_key().public_key()


def test_rfc8448_server_certificate_verify() -> None:
    """The server's CertificateVerify of RFC 8448 §3 verifies with verify()."""
    cert = x509.load_der_x509_certificate(bytes.fromhex(VECTORS["certificate"]))
    signature = bytes.fromhex(VECTORS["signature"])
    content = certificate_verify_input(_rfc8448_transcript_hash(), server=True)
    verify(cert.public_key(), VECTORS["signature_scheme"], signature, content)
    verify(
        cert,
        SignatureScheme.rsa_pss_rsae_sha256,
        signature,
        content,
        allowed=CERTIFICATE_VERIFY_SCHEMES,
    )
    # The same bytes as a client CertificateVerify, or under another scheme, are refused.
    client = certificate_verify_input(_rfc8448_transcript_hash(), server=False)
    expect(
        AlertDescription.decrypt_error,
        verify,
        cert,
        SignatureScheme.rsa_pss_rsae_sha256,
        signature,
        client,
    )
    expect(
        AlertDescription.decrypt_error,
        verify,
        cert,
        SignatureScheme.rsa_pss_rsae_sha384,
        signature,
        content,
    )
    expect(
        AlertDescription.illegal_parameter,
        verify,
        cert,
        SignatureScheme.rsa_pss_pss_sha256,
        signature,
        content,
    )
    expect(
        AlertDescription.illegal_parameter,
        verify,
        cert,
        SignatureScheme.rsa_pkcs1_sha256,
        signature,
        content,
    )


def test_rfc8448_key_signs_what_verify_accepts() -> None:
    """RSASSA-PSS is randomized, so the trace's signature cannot be reproduced; a fresh one
    from the trace's private key must verify against the trace's certificate."""
    cert = x509.load_der_x509_certificate(bytes.fromhex(VECTORS["certificate"]))
    content = certificate_verify_input(_rfc8448_transcript_hash(), server=True)
    key = _rfc8448_private_key()
    signature = sign(key, SignatureScheme.rsa_pss_rsae_sha256, content)
    assert signature != bytes.fromhex(VECTORS["signature"])
    assert len(signature) == 128
    verify(cert, SignatureScheme.rsa_pss_rsae_sha256, signature, content)
    # schemes_for_key refuses to sign with a 1024-bit key (CA/B Forum BR §6.1.5)
    with pytest.raises(ValueError, match="too small"):
        schemes_for_key(key)


def test_eddsa_key_classes_accepted_by_verify() -> None:
    """Public keys straight from cryptography work as well as certificates."""
    for key in (ed25519.Ed25519PrivateKey.generate(), ed448.Ed448PrivateKey.generate()):
        (scheme,) = schemes_for_key(key)
        verify(key.public_key(), scheme, sign(key, scheme, b"m"), b"m")

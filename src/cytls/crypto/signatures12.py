"""Signatures in TLS 1.2: ServerKeyExchange and CertificateVerify (RFC 5246 §4.7, §7.4.1.4.1).

TLS 1.2 names a signature by a SignatureAndHashAlgorithm pair (hash byte, signature byte), which
TLS 1.3 reuses as SignatureScheme code points with other meanings (RFC 8446 §4.2.3, §11):

- ECDSA: ecdsa_secp256r1_sha256, ecdsa_secp384r1_sha384 and ecdsa_secp521r1_sha512 are ECDSA
  with SHA-256, SHA-384 and SHA-512 on *any* curve the peer supports; TLS 1.3 binds each to one
  curve.
- RSASSA-PKCS1-v1_5 (rsa_pkcs1_sha256/384/512) signs handshakes in TLS 1.2, where TLS 1.3
  allows it only in certificates; RSASSA-PSS with an rsaEncryption key (rsa_pss_rsae_*) applies
  to TLS 1.2 too (RFC 8446 §4.2.3), with a salt as long as the hash.
- Ed25519 and Ed448 (RFC 8422 §5.1.3).

SHA-1 and MD5 pairs are never made nor accepted (RFC 9155 deprecates them in TLS 1.2), and
neither are rsa_pss_pss_* schemes (certificates with RSASSA-PSS keys, which TLS 1.2 peers
rarely have; refused with a clear error). The rest of certificate handling (chains, names) is
the same as TLS 1.3's (cytls.x509).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa

from cytls.crypto.signatures import (
    HASH_ALGORITHMS,
    MINIMUM_RSA_BITS,
    PrivateKey,
    PublicKey,
    scheme_name,
)
from cytls.errors import ProtocolError
from cytls.registry import SignatureScheme
from cytls.wire.enums import AlertDescription

__all__ = ["SCHEMES", "choose_scheme", "schemes_for_key", "sign", "verify"]

_S = SignatureScheme
# scheme -> (family, hash name); families "ecdsa", "pkcs1", "pss", "eddsa".
_PARAMS: dict[int, tuple[str, str | None]] = {
    _S.ecdsa_secp256r1_sha256: ("ecdsa", "sha256"),
    _S.ecdsa_secp384r1_sha384: ("ecdsa", "sha384"),
    _S.ecdsa_secp521r1_sha512: ("ecdsa", "sha512"),
    _S.rsa_pss_rsae_sha256: ("pss", "sha256"),
    _S.rsa_pss_rsae_sha384: ("pss", "sha384"),
    _S.rsa_pss_rsae_sha512: ("pss", "sha512"),
    _S.rsa_pkcs1_sha256: ("pkcs1", "sha256"),
    _S.rsa_pkcs1_sha384: ("pkcs1", "sha384"),
    _S.rsa_pkcs1_sha512: ("pkcs1", "sha512"),
    _S.ed25519: ("eddsa", None),
    _S.ed448: ("eddsa", None),
}
SCHEMES: tuple[int, ...] = tuple(_PARAMS)
"""What a TLS 1.2 handshake offers in signature_algorithms and accepts, preferred first."""

# The hash that matches each curve's strength comes first for an ECDSA key.
_CURVE_HASH = {"secp256r1": "sha256", "secp384r1": "sha384", "secp521r1": "sha512"}


def _family_of(key: object) -> str | None:
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return "ecdsa"
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "rsa"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "ed25519"
    if isinstance(key, ed448.Ed448PrivateKey | ed448.Ed448PublicKey):
        return "ed448"
    return None


def _fits(key: object, scheme: int) -> bool:
    family, _ = _PARAMS[scheme]
    key_family = _family_of(key)
    if family == "ecdsa":
        return key_family == "ecdsa"
    if family in ("pss", "pkcs1"):
        return key_family == "rsa"
    return key_family == ("ed25519" if scheme == _S.ed25519 else "ed448")


def schemes_for_key(private_key: PrivateKey) -> list[int]:
    """The schemes ``private_key`` makes in TLS 1.2, preferred first: for ECDSA the hash of
    the curve's strength first; for RSA, PSS before PKCS#1 v1.5."""
    family = _family_of(private_key)
    if family == "rsa":
        assert isinstance(private_key, rsa.RSAPrivateKey)
        if private_key.key_size < MINIMUM_RSA_BITS:
            raise ValueError(
                f"a {private_key.key_size}-bit RSA key is too small: signing needs at least "
                f"{MINIMUM_RSA_BITS} bits"
            )
    if family is None:
        raise ValueError(f"a {type(private_key).__name__} cannot sign in TLS 1.2")
    schemes = [scheme for scheme in SCHEMES if _fits(private_key, scheme)]
    if family == "ecdsa":
        assert isinstance(private_key, ec.EllipticCurvePrivateKey)
        best = _CURVE_HASH.get(private_key.curve.name)
        schemes.sort(key=lambda scheme: _PARAMS[scheme][1] != best)
    return schemes


def choose_scheme(private_key: PrivateKey, peer_schemes: Iterable[int]) -> int:
    """Our most preferred scheme for ``private_key`` that the peer listed in
    signature_algorithms; handshake_failure if there is none (RFC 5246 §7.4.1.4.1)."""
    peer = list(peer_schemes)
    offered = set(peer)
    ours = schemes_for_key(private_key)
    for scheme in ours:
        if scheme in offered:
            return scheme
    raise ProtocolError(
        AlertDescription.handshake_failure,
        "no TLS 1.2 signature scheme in common: we can make "
        f"{', '.join(scheme_name(s) for s in ours)}, the peer accepts "
        f"{', '.join(scheme_name(s) for s in peer[:16]) or 'none'} (RFC 5246 §7.4.1.4.1)",
    )


def _padding(family: str, algorithm: hashes.HashAlgorithm) -> padding.AsymmetricPadding:
    if family == "pss":  # the salt as long as the hash (RFC 8446 §4.2.3)
        return padding.PSS(mgf=padding.MGF1(algorithm), salt_length=algorithm.digest_size)
    return padding.PKCS1v15()


def sign(private_key: PrivateKey, scheme: int, data: bytes) -> bytes:
    """Sign ``data`` with ``scheme``; ``ValueError`` if TLS 1.2 has no such scheme here or it
    does not fit the key."""
    if scheme not in _PARAMS or not _fits(private_key, scheme):
        raise ValueError(f"{scheme_name(scheme)} cannot be made with this key in TLS 1.2")
    family, hash_name = _PARAMS[scheme]
    if family == "eddsa":
        assert isinstance(private_key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey)
        return private_key.sign(data)
    assert hash_name is not None
    algorithm = HASH_ALGORITHMS[hash_name]()
    if family == "ecdsa":
        assert isinstance(private_key, ec.EllipticCurvePrivateKey)
        return private_key.sign(data, ec.ECDSA(algorithm))
    assert isinstance(private_key, rsa.RSAPrivateKey)
    return private_key.sign(data, _padding(family, algorithm), algorithm)


def verify(
    public_key: PublicKey | x509.Certificate,
    scheme: int,
    signature: bytes,
    data: bytes,
    *,
    allowed: Collection[int] = SCHEMES,
) -> None:
    """Check a peer's TLS 1.2 signature.

    illegal_parameter if the scheme is not one we offered (``allowed``), is SHA-1 or unknown,
    or does not fit the key (RFC 5246 §7.4.1.4.1: the peer must use one of ours);
    decrypt_error if the signature does not verify (RFC 5246 §7.2.2).
    """
    key: object = (
        public_key.public_key() if isinstance(public_key, x509.Certificate) else public_key
    )
    if scheme not in _PARAMS or scheme not in allowed:
        raise ProtocolError(
            AlertDescription.illegal_parameter,
            f"the peer signed with {scheme_name(scheme)}, which we did not offer for TLS 1.2 "
            "(RFC 5246 §7.4.1.4.1)",
        )
    if not _fits(key, scheme):
        raise ProtocolError(
            AlertDescription.illegal_parameter,
            f"the peer signed with {scheme_name(scheme)}, which its certificate's "
            f"{type(key).__name__} cannot make",
        )
    family, hash_name = _PARAMS[scheme]
    try:
        if family == "eddsa":
            assert isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey)
            key.verify(bytes(signature), bytes(data))
            return
        assert hash_name is not None
        algorithm = HASH_ALGORITHMS[hash_name]()
        if family == "ecdsa":
            assert isinstance(key, ec.EllipticCurvePublicKey)
            key.verify(bytes(signature), bytes(data), ec.ECDSA(algorithm))
        else:
            assert isinstance(key, rsa.RSAPublicKey)
            key.verify(bytes(signature), bytes(data), _padding(family, algorithm), algorithm)
    except (InvalidSignature, ValueError) as exc:
        raise ProtocolError(
            AlertDescription.decrypt_error,
            f"the peer's {scheme_name(scheme)} signature does not verify",
        ) from exc

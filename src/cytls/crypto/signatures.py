"""Signature schemes and CertificateVerify (RFC 8446 §4.2.3 and §4.4.3).

TLS 1.3 names a whole signature operation with one code point: the algorithm, the hash, and for
ECDSA the curve (RFC 8446 §4.2.3). This module knows which schemes a key can make, picks one the
peer accepts, builds the signed content of CertificateVerify and signs or verifies it with
``cryptography``.

What is allowed where (RFC 8446 §4.2.3):

- In CertificateVerify: ECDSA with the curve bound to the hash (P-256/SHA-256, P-384/SHA-384,
  P-521/SHA-512), RSASSA-PSS (rsae with an rsaEncryption key, pss with an RSASSA-PSS key),
  Ed25519 and Ed448. RSASSA-PKCS1-v1_5 and SHA-1 are not allowed ("legacy" schemes, only for
  signatures in certificates).
- In certificates (signature_algorithms_cert): the above plus RSASSA-PKCS1-v1_5, which is what
  most certificates are signed with.

RSASSA-PSS everywhere in TLS 1.3 uses MGF1 with the scheme's hash and a salt as long as the hash
output (RFC 8446 §4.2.3).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import TypeAlias

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import SignatureAlgorithmOID

from cytls.errors import ProtocolError
from cytls.registry import SignatureScheme
from cytls.wire.enums import AlertDescription

__all__ = [
    "CERTIFICATE_SCHEMES",
    "CERTIFICATE_VERIFY_SCHEMES",
    "HASH_ALGORITHMS",
    "TLS13_CERTIFICATE_VERIFY_SCHEMES",
    "PrivateKey",
    "PublicKey",
    "SignatureScheme",
    "certificate_signature_schemes",
    "certificate_verify_input",
    "choose_scheme",
    "scheme_name",
    "schemes_for_key",
    "sign",
    "verify",
]

PrivateKey: TypeAlias = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)
PublicKey: TypeAlias = (
    rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
)

_PRIVATE_KEY_TYPES = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
)

MINIMUM_RSA_BITS = 2048
"""Smallest RSA key we sign with (CA/Browser Forum BR §6.1.5; OpenSSL security level 2)."""


CERTIFICATE_VERIFY_SCHEMES: tuple[int, ...] = (
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
"""What we offer in signature_algorithms and accept in CertificateVerify, preferred first."""

CERTIFICATE_SCHEMES: tuple[int, ...] = (
    *CERTIFICATE_VERIFY_SCHEMES,
    SignatureScheme.ecdsa_secp521r1_sha512,
    SignatureScheme.rsa_pkcs1_sha256,
    SignatureScheme.rsa_pkcs1_sha384,
    SignatureScheme.rsa_pkcs1_sha512,
)
"""What we offer in signature_algorithms_cert: PKCS#1 v1.5 is allowed inside certificates
(RFC 8446 §4.2.3)."""

HASH_ALGORITHMS: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
"""The hashes signature schemes use, by name (TLS 1.2's too: cytls.crypto.signatures12)."""
# scheme -> (family, hash). Families: "ecdsa", "rsae", "pss", "eddsa".
_PARAMS: dict[int, tuple[str, str | None]] = {
    SignatureScheme.ecdsa_secp256r1_sha256: ("ecdsa", "sha256"),
    SignatureScheme.ecdsa_secp384r1_sha384: ("ecdsa", "sha384"),
    SignatureScheme.ecdsa_secp521r1_sha512: ("ecdsa", "sha512"),
    SignatureScheme.rsa_pss_rsae_sha256: ("rsae", "sha256"),
    SignatureScheme.rsa_pss_rsae_sha384: ("rsae", "sha384"),
    SignatureScheme.rsa_pss_rsae_sha512: ("rsae", "sha512"),
    SignatureScheme.rsa_pss_pss_sha256: ("pss", "sha256"),
    SignatureScheme.rsa_pss_pss_sha384: ("pss", "sha384"),
    SignatureScheme.rsa_pss_pss_sha512: ("pss", "sha512"),
    SignatureScheme.ed25519: ("eddsa", None),
    SignatureScheme.ed448: ("eddsa", None),
}
TLS13_CERTIFICATE_VERIFY_SCHEMES: frozenset[int] = frozenset(_PARAMS)
"""Every scheme RFC 8446 §4.2.3 allows in a TLS 1.3 CertificateVerify (a superset of what we
offer: ecdsa_secp521r1_sha512 and ed448 are valid, just not offered)."""

# The curve each ECDSA scheme is bound to (RFC 8446 §4.2.3), by cryptography's curve name.
_ECDSA_CURVES: dict[int, str] = {
    SignatureScheme.ecdsa_secp256r1_sha256: "secp256r1",
    SignatureScheme.ecdsa_secp384r1_sha384: "secp384r1",
    SignatureScheme.ecdsa_secp521r1_sha512: "secp521r1",
}
_CURVE_SCHEME = {curve: scheme for scheme, curve in _ECDSA_CURVES.items()}
_CURVE_LABEL = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}

_RSAE = (
    SignatureScheme.rsa_pss_rsae_sha256,
    SignatureScheme.rsa_pss_rsae_sha384,
    SignatureScheme.rsa_pss_rsae_sha512,
)
_PSS = (
    SignatureScheme.rsa_pss_pss_sha256,
    SignatureScheme.rsa_pss_pss_sha384,
    SignatureScheme.rsa_pss_pss_sha512,
)

# id-RSASSA-PSS (RFC 4055 §3.1) and the hash OIDs its parameters may name (RFC 4055 §2.1).
RSASSA_PSS_OID = x509.ObjectIdentifier("1.2.840.113549.1.1.10")
_HASH_OIDS = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}

_SERVER_CONTEXT = b"TLS 1.3, server CertificateVerify"
_CLIENT_CONTEXT = b"TLS 1.3, client CertificateVerify"


def scheme_name(scheme: int) -> str:
    """The registry name of a scheme (``rsa_pss_rsae_sha256``), or ``0x....`` if unknown."""
    try:
        return SignatureScheme(scheme).name
    except ValueError:
        return f"0x{scheme:04x}"


def _names(schemes: Iterable[int]) -> str:
    listed = ", ".join(scheme_name(scheme) for scheme in schemes)
    return listed or "nothing"


def _describe_key(key: PrivateKey | PublicKey | object) -> str:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return f"{key.key_size}-bit RSA key"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return f"{_CURVE_LABEL.get(key.curve.name, key.curve.name)} ECDSA key"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "Ed25519 key"
    if isinstance(key, ed448.Ed448PrivateKey | ed448.Ed448PublicKey):
        return "Ed448 key"
    return f"{type(key).__name__}"


def _a_key(key: object) -> str:
    """``_describe_key`` with its indefinite article: "an Ed25519 key", "a P-256 ECDSA key"."""
    words = _describe_key(key)
    return f"an {words}" if words[:1] in "AEIOU8" else f"a {words}"


# -- RSASSA-PSS public keys in certificates ------------------------------------------------------


class DerElement:
    """One DER element inside ``data``: its tag, where it starts, where its contents start and
    where it ends (X.690 §8.1; definite lengths only, which is all DER allows)."""

    __slots__ = ("body", "end", "start", "tag")

    def __init__(self, data: bytes, offset: int) -> None:
        if offset + 2 > len(data):
            raise ValueError("truncated DER")
        self.start = offset
        self.tag = data[offset]
        first = data[offset + 1]
        body = offset + 2
        if first & 0x80:
            count = first & 0x7F
            if count == 0 or count > 4 or body + count > len(data):
                raise ValueError("bad DER length")
            length = int.from_bytes(data[body : body + count], "big")
            body += count
        else:
            length = first
        if body + length > len(data):
            raise ValueError("truncated DER")
        self.body = body
        self.end = body + length

    def children(self, data: bytes) -> list[DerElement]:
        """The elements inside this one (for a SEQUENCE or an explicit tag)."""
        children = []
        offset = self.body
        while offset < self.end:
            child = DerElement(data, offset)
            children.append(child)
            offset = child.end
        return children


def certificate_spki(certificate: x509.Certificate) -> bytes:
    """The subjectPublicKeyInfo exactly as encoded in the certificate (RFC 5280 §4.1).

    ``certificate.public_key()`` re-encodes an RSASSA-PSS key as rsaEncryption, so the original
    algorithm identifier and its parameters are only available from the TBSCertificate bytes.
    """
    tbs = certificate.tbs_certificate_bytes
    fields = DerElement(tbs, 0).children(tbs)
    if fields and fields[0].tag == 0xA0:  # [0] EXPLICIT version
        fields = fields[1:]
    # serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
    spki = fields[5]
    return tbs[spki.start : spki.end]


def pss_key_hash(certificate: x509.Certificate) -> str | None:
    """The hash an RSASSA-PSS certificate key is restricted to, or None if unrestricted.

    RFC 4055 §3.1: absent parameters leave the key usable with any hash; present parameters
    bind it to their hashAlgorithm, whose default is SHA-1 (RSASSA-PSS-params, §3.1).
    """
    spki = certificate_spki(certificate)
    algorithm = DerElement(spki, 0).children(spki)[0]
    parts = algorithm.children(spki)
    if len(parts) < 2 or parts[1].tag == 0x05:  # no parameters, or NULL
        return None
    params = parts[1]
    if params.tag != 0x30:
        return "unknown"
    for field in params.children(spki):
        if field.tag == 0xA0:  # [0] hashAlgorithm, an AlgorithmIdentifier
            oid = field.children(spki)[0].children(spki)[0]
            if oid.tag != 0x06:
                return "unknown"
            return _HASH_OIDS.get(_decode_oid(spki[oid.body : oid.end]), "unknown")
    return "sha1"


def _decode_oid(body: bytes) -> str:
    arcs: list[int] = []
    value = 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        return ""
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in [first, arcs[0] - 40 * first, *arcs[1:]])


def _is_pss_certificate(certificate: x509.Certificate | None) -> bool:
    return certificate is not None and certificate.public_key_algorithm_oid == RSASSA_PSS_OID


# -- which schemes a key can make ----------------------------------------------------------------


def schemes_for_key(
    private_key: PrivateKey, *, certificate: x509.Certificate | None = None
) -> list[int]:
    """The CertificateVerify schemes ``private_key`` can make, preferred first (RFC 8446 §4.2.3).

    EC keys are bound to their curve's scheme; an RSA key makes rsa_pss_rsae_* unless
    ``certificate`` carries it under the RSASSA-PSS OID, which calls for rsa_pss_pss_* (and,
    with RFC 4055 parameters, only the scheme of the named hash). RSA keys under 2048 bits and
    keys that cannot sign in TLS 1.3 (DSA, X25519, other curves) raise ``ValueError``.
    """
    if isinstance(private_key, rsa.RSAPrivateKey):
        if private_key.key_size < MINIMUM_RSA_BITS:
            raise ValueError(
                f"a {private_key.key_size}-bit RSA key is too small: TLS 1.3 signing needs "
                f"at least {MINIMUM_RSA_BITS} bits"
            )
        if _is_pss_certificate(certificate):
            assert certificate is not None
            restriction = pss_key_hash(certificate)
            if restriction is None:
                return list(_PSS)
            allowed: list[int] = [scheme for scheme in _PSS if _PARAMS[scheme][1] == restriction]
            if not allowed:
                raise ValueError(
                    "the certificate's RSASSA-PSS key is restricted to "
                    f"{restriction.upper()} by its parameters (RFC 4055 §3.1), which no TLS 1.3 "
                    "signature scheme uses"
                )
            return allowed
        return list(_RSAE)
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        scheme = _CURVE_SCHEME.get(private_key.curve.name)
        if scheme is None:
            raise ValueError(
                f"an EC key on {private_key.curve.name} cannot sign in TLS 1.3: only P-256, "
                "P-384 and P-521 have signature schemes (RFC 8446 §4.2.3)"
            )
        return [scheme]
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return [SignatureScheme.ed25519]
    if isinstance(private_key, ed448.Ed448PrivateKey):
        return [SignatureScheme.ed448]
    raise ValueError(
        f"a {type(private_key).__name__} cannot sign in TLS 1.3 (RFC 8446 §4.2.3 has schemes "
        "for RSA, ECDSA P-256/P-384/P-521, Ed25519 and Ed448 only)"
    )


def choose_scheme(
    private_key: PrivateKey,
    peer_schemes: Iterable[int],
    certificate: x509.Certificate | None = None,
) -> int:
    """Our most preferred scheme for ``private_key`` that the peer offered (RFC 8446 §4.4.3).

    Raises ``ProtocolError(handshake_failure)`` if there is none (RFC 8446 §4.2.3: the peer's
    signature_algorithms lists what it will accept).
    """
    peer = list(peer_schemes)
    ours = schemes_for_key(private_key, certificate=certificate)
    offered = set(peer)
    for scheme in ours:
        if scheme in offered:
            return scheme
    raise ProtocolError(
        AlertDescription.handshake_failure,
        f"no signature scheme in common: we can make {_names(ours)} "
        f"(with {_a_key(private_key)}), the peer accepts {_names(peer)}",
    )


# -- signatures in certificates ------------------------------------------------------------------

_O = SignatureAlgorithmOID
# The code points naming each certificate signature algorithm (RFC 8446 §4.2.3): in a
# certificate an ECDSA signature names only its hash, so ecdsa_secp256r1_sha256 stands for
# ecdsa-with-SHA256 whatever the curve.
_CERTIFICATE_SIGNATURES: dict[x509.ObjectIdentifier, frozenset[int]] = {
    _O.ECDSA_WITH_SHA1: frozenset({SignatureScheme.ecdsa_sha1}),
    _O.ECDSA_WITH_SHA256: frozenset({SignatureScheme.ecdsa_secp256r1_sha256}),
    _O.ECDSA_WITH_SHA384: frozenset({SignatureScheme.ecdsa_secp384r1_sha384}),
    _O.ECDSA_WITH_SHA512: frozenset({SignatureScheme.ecdsa_secp521r1_sha512}),
    _O.RSA_WITH_SHA1: frozenset({SignatureScheme.rsa_pkcs1_sha1}),
    _O.RSA_WITH_SHA256: frozenset({SignatureScheme.rsa_pkcs1_sha256}),
    _O.RSA_WITH_SHA384: frozenset({SignatureScheme.rsa_pkcs1_sha384}),
    _O.RSA_WITH_SHA512: frozenset({SignatureScheme.rsa_pkcs1_sha512}),
    _O.ED25519: frozenset({SignatureScheme.ed25519}),
    _O.ED448: frozenset({SignatureScheme.ed448}),
}


def certificate_signature_schemes(certificate: x509.Certificate) -> frozenset[int]:
    """The schemes that name the signature on ``certificate`` (for signature_algorithms_cert,
    RFC 8446 §4.2.3); empty if none does.

    An RSASSA-PSS signature is rsa_pss_rsae_* or rsa_pss_pss_* depending on the issuer's key,
    which the certificate alone does not tell, so both are returned.
    """
    oid = certificate.signature_algorithm_oid
    if oid == _O.RSASSA_PSS:
        try:
            algorithm = certificate.signature_hash_algorithm
        except UnsupportedAlgorithm:  # a hash in the PSS parameters that cryptography lacks
            return frozenset()
        name = algorithm.name if algorithm is not None else ""
        return frozenset(scheme for scheme in (*_RSAE, *_PSS) if _PARAMS[scheme][1] == name)
    return _CERTIFICATE_SIGNATURES.get(oid, frozenset())


# -- CertificateVerify ---------------------------------------------------------------------------


def certificate_verify_input(transcript_hash: bytes, server: bool) -> bytes:
    """The content a CertificateVerify signs (RFC 8446 §4.4.3).

    64 octets of 0x20, the context string ("TLS 1.3, server CertificateVerify" or "TLS 1.3,
    client CertificateVerify"), one 0 octet, then Transcript-Hash(Handshake Context,
    Certificate).
    """
    context = _SERVER_CONTEXT if server else _CLIENT_CONTEXT
    return b"\x20" * 64 + context + b"\x00" + bytes(transcript_hash)


def _pss(hash_name: str) -> tuple[padding.PSS, hashes.HashAlgorithm]:
    algorithm = HASH_ALGORITHMS[hash_name]()
    return (
        padding.PSS(mgf=padding.MGF1(algorithm), salt_length=algorithm.digest_size),
        algorithm,
    )


def _fits(key: object, scheme: int) -> str | None:
    """None if ``key`` can make/check ``scheme``, else why not (in words)."""
    family, hash_name = _PARAMS[scheme]
    if family == "ecdsa":
        if not isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
            return f"{scheme_name(scheme)} needs an ECDSA key, not {_a_key(key)}"
        if key.curve.name != _ECDSA_CURVES[scheme]:
            return (
                f"{scheme_name(scheme)} needs a {_CURVE_LABEL[_ECDSA_CURVES[scheme]]} key, not "
                f"{_a_key(key)} (TLS 1.3 binds the curve to the scheme, "
                "RFC 8446 §4.2.3)"
            )
        return None
    if family in ("rsae", "pss"):
        if not isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
            return f"{scheme_name(scheme)} needs an RSA key, not {_a_key(key)}"
        assert hash_name is not None
        digest_size = HASH_ALGORITHMS[hash_name]().digest_size
        # RFC 8017 §9.1.1: emLen >= hLen + sLen + 2, with emBits = modBits - 1.
        em_len = (key.key_size - 1 + 7) // 8
        if em_len < 2 * digest_size + 2:
            return (
                f"{_a_key(key)} is too small for {scheme_name(scheme)} "
                "(RSASSA-PSS with a salt as long as the hash, RFC 8017 §9.1.1)"
            )
        return None
    if scheme == SignatureScheme.ed25519 and not isinstance(
        key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey
    ):
        return f"ed25519 needs an Ed25519 key, not {_a_key(key)}"
    if scheme == SignatureScheme.ed448 and not isinstance(
        key, ed448.Ed448PrivateKey | ed448.Ed448PublicKey
    ):
        return f"ed448 needs an Ed448 key, not {_a_key(key)}"
    return None


def sign(private_key: PrivateKey, scheme: int, data: bytes) -> bytes:
    """Sign ``data`` with ``scheme`` (RFC 8446 §4.4.3); ``ValueError`` if the scheme does not
    fit the key or is not allowed in TLS 1.3 CertificateVerify."""
    if scheme not in _PARAMS:
        raise ValueError(
            f"{scheme_name(scheme)} is not allowed in a TLS 1.3 CertificateVerify (RFC 8446 §4.2.3)"
        )
    problem = _fits(private_key, scheme)
    if problem is not None:
        raise ValueError(problem)
    family, hash_name = _PARAMS[scheme]
    if family == "ecdsa":
        assert isinstance(private_key, ec.EllipticCurvePrivateKey) and hash_name is not None
        return private_key.sign(data, ec.ECDSA(HASH_ALGORITHMS[hash_name]()))
    if family in ("rsae", "pss"):
        assert isinstance(private_key, rsa.RSAPrivateKey) and hash_name is not None
        pss, algorithm = _pss(hash_name)
        return private_key.sign(data, pss, algorithm)
    assert isinstance(private_key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey)
    return private_key.sign(data)


def verify(
    public_key: PublicKey | x509.Certificate,
    scheme: int,
    signature: bytes,
    data: bytes,
    *,
    certificate: x509.Certificate | None = None,
    allowed: Collection[int] | None = None,
) -> None:
    """Check the peer's CertificateVerify signature (RFC 8446 §4.4.3).

    ``public_key`` is the peer's leaf key (or its certificate). Pass ``certificate`` (or the
    certificate as ``public_key``) to also enforce that rsa_pss_rsae_* comes with an
    rsaEncryption key and rsa_pss_pss_* with an RSASSA-PSS one (RFC 8446 §4.2.3); pass
    ``allowed`` (what we offered) to refuse anything else.

    Raises ``ProtocolError``: illegal_parameter if the scheme is not allowed in TLS 1.3
    CertificateVerify (rsa_pkcs1_*, SHA-1, unknown), was not offered, or does not fit the key's
    type, curve or size; decrypt_error if the signature does not verify (RFC 8446 §4.4.3).
    """
    key: object
    if isinstance(public_key, x509.Certificate):
        certificate = public_key
        key = public_key.public_key()
    elif isinstance(public_key, _PRIVATE_KEY_TYPES):
        key = public_key.public_key()  # a caller's slip; the public half is what we need
    else:
        key = public_key
    illegal = AlertDescription.illegal_parameter
    if scheme not in _PARAMS:
        raise ProtocolError(
            illegal,
            f"the peer signed CertificateVerify with {scheme_name(scheme)}, which is not "
            "allowed in TLS 1.3 (RFC 8446 §4.2.3: no PKCS#1 v1.5, no SHA-1)",
        )
    if allowed is not None and scheme not in allowed:
        raise ProtocolError(
            illegal,
            f"the peer signed CertificateVerify with {scheme_name(scheme)}, which we did not "
            f"offer (we offered {_names(allowed)}; RFC 8446 §4.4.3)",
        )
    problem = _fits(key, scheme)
    if problem is not None:
        raise ProtocolError(illegal, f"CertificateVerify scheme does not fit the key: {problem}")
    family, hash_name = _PARAMS[scheme]
    if certificate is not None and family in ("rsae", "pss"):
        pss_key = _is_pss_certificate(certificate)
        if family == "rsae" and pss_key:
            raise ProtocolError(
                illegal,
                f"{scheme_name(scheme)} needs an rsaEncryption certificate key, but the "
                "certificate's key is RSASSA-PSS (use rsa_pss_pss_*, RFC 8446 §4.2.3)",
            )
        if family == "pss":
            if not pss_key:
                raise ProtocolError(
                    illegal,
                    f"{scheme_name(scheme)} needs an RSASSA-PSS certificate key, but the "
                    "certificate's key is rsaEncryption (use rsa_pss_rsae_*, RFC 8446 §4.2.3)",
                )
            restriction = pss_key_hash(certificate)
            if restriction is not None and restriction != hash_name:
                raise ProtocolError(
                    illegal,
                    f"{scheme_name(scheme)} does not fit the certificate's RSASSA-PSS key, "
                    f"which its parameters restrict to {restriction} (RFC 4055 §3.1)",
                )
    try:
        if family == "ecdsa":
            assert isinstance(key, ec.EllipticCurvePublicKey) and hash_name is not None
            key.verify(bytes(signature), bytes(data), ec.ECDSA(HASH_ALGORITHMS[hash_name]()))
        elif family in ("rsae", "pss"):
            assert isinstance(key, rsa.RSAPublicKey) and hash_name is not None
            pss, algorithm = _pss(hash_name)
            key.verify(bytes(signature), bytes(data), pss, algorithm)
        else:
            assert isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey)
            key.verify(bytes(signature), bytes(data))
    except (InvalidSignature, ValueError) as exc:
        raise ProtocolError(
            AlertDescription.decrypt_error,
            f"CertificateVerify signature does not verify ({scheme_name(scheme)}, "
            f"{_describe_key(key)})",
        ) from exc

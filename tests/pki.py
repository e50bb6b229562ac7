"""A throwaway test PKI built with ``cryptography``: root CAs, intermediates, leaves, PEM files.

Not a test module. Everything is generated at run time so that no expiring fixture is ever
checked in. RSA keys are the slow part, so they come from a small module-level pool (a few keys
per size, handed out round robin); EC and EdDSA keys are fresh on every call.

Certificates follow the shape the Web PKI expects (RFC 5280 §4.2 as profiled by the CA/Browser
Forum baseline requirements, which ``cryptography.x509.verification`` enforces): CAs carry a
critical basicConstraints and keyUsage and a subjectKeyIdentifier, everything below a root
carries an authorityKeyIdentifier, leaves carry a subjectAltName and an extendedKeyUsage.

Key types: ``ecdsa-p256``, ``ecdsa-p384``, ``ecdsa-p521``, ``rsa2048``, ``rsa3072``, ``rsa1024``
(too small on purpose), ``rsa-pss`` (an RSA key whose certificate carries the id-RSASSA-PSS
public key OID, RFC 4055 §3.1; see :func:`_pss_spki_certificate`), ``ed25519``, ``ed448``.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import itertools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = Any  # one of cryptography's private key types
Pair = tuple[x509.Certificate, PrivateKey]

KEY_TYPES = (
    "ecdsa-p256",
    "ecdsa-p384",
    "ecdsa-p521",
    "rsa2048",
    "rsa3072",
    "rsa1024",
    "rsa-pss",
    "ed25519",
    "ed448",
)

SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH
UTC = datetime.UTC
_EKU_WORDS = {
    "serverAuth": [SERVER_AUTH],
    "clientAuth": [CLIENT_AUTH],
    "serverAuth|clientAuth": [SERVER_AUTH, CLIENT_AUTH],
}

_RSA_BITS = {"rsa2048": 2048, "rsa3072": 3072, "rsa1024": 1024, "rsa-pss": 2048}
_RSA_POOL_SIZE = 6
_RSA_POOL: dict[int, list[rsa.RSAPrivateKey]] = {}
_RSA_NEXT: dict[int, itertools.count[int]] = {}
_SERIALS = itertools.count(0x1000)
_NAMES = itertools.count(1)

# id-RSASSA-PSS (RFC 4055 §3.1), and rsaEncryption (RFC 8017 Appendix C) as it appears in a SPKI.
_RSA_PSS_OID = x509.ObjectIdentifier("1.2.840.113549.1.1.10")


def now() -> datetime.datetime:
    """The current time, timezone-aware UTC, truncated to whole seconds (X.509 has no less)."""
    return datetime.datetime.now(UTC).replace(microsecond=0)


def new_key(key_type: str) -> PrivateKey:
    """A private key of ``key_type``; RSA keys come from the module-level pool."""
    if key_type in _RSA_BITS:
        bits = _RSA_BITS[key_type]
        pool = _RSA_POOL.setdefault(bits, [])
        counter = _RSA_NEXT.setdefault(bits, itertools.count())
        slot = next(counter) % _RSA_POOL_SIZE
        while len(pool) <= slot:
            pool.append(rsa.generate_private_key(public_exponent=65537, key_size=bits))
        return pool[slot]
    if key_type == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ecdsa-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if key_type == "ecdsa-p521":
        return ec.generate_private_key(ec.SECP521R1())
    if key_type == "ecdsa-secp256k1":
        return ec.generate_private_key(ec.SECP256K1())
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "ed448":
        return ed448.Ed448PrivateKey.generate()
    if key_type == "dsa":
        return dsa.generate_private_key(2048)
    raise ValueError(f"unknown key type {key_type!r}")


def key_type_of(key: PrivateKey) -> str:
    """The signing flavour of ``key`` for certificate signatures (see :func:`_sign_args`)."""
    if isinstance(key, rsa.RSAPrivateKey):
        return "rsa"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.curve.name
    return type(key).__name__


def _sign_args(key: PrivateKey, pss: bool = False) -> dict[str, Any]:
    """Arguments of ``CertificateBuilder.sign`` for an issuer key: the hash that matches the
    key's strength, PSS padding for an RSASSA-PSS issuer, no hash for EdDSA."""
    if isinstance(key, rsa.RSAPrivateKey):
        args: dict[str, Any] = {"algorithm": hashes.SHA256()}
        if pss:
            args["rsa_padding"] = padding.PSS(
                mgf=padding.MGF1(hashes.SHA256()), salt_length=hashes.SHA256.digest_size
            )
        return args
    if isinstance(key, ec.EllipticCurvePrivateKey):
        size = key.curve.key_size
        algorithm = hashes.SHA256() if size <= 256 else hashes.SHA384() if size <= 384 else None
        return {"algorithm": algorithm or hashes.SHA512()}
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return {"algorithm": None}
    if isinstance(key, dsa.DSAPrivateKey):
        return {"algorithm": hashes.SHA256()}
    raise TypeError(f"cannot sign with {type(key).__name__}")


def name(common_name: str, **attributes: str) -> x509.Name:
    """An X.509 Name: the given attributes (NameOID member names, lower case) then the CN."""
    rdns = [
        x509.NameAttribute(getattr(NameOID, key.upper()), value)
        for key, value in attributes.items()
    ]
    rdns.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(rdns)


def general_names(names: Iterable[str]) -> list[x509.GeneralName]:
    """dNSName for host names (wildcards included), iPAddress for IPv4/IPv6 literals."""
    result: list[x509.GeneralName] = []
    for entry in names:
        try:
            result.append(x509.IPAddress(ipaddress.ip_address(entry)))
        except ValueError:
            result.append(x509.DNSName(entry))
    return result


def _validity(
    not_before: datetime.datetime | None, not_after: datetime.datetime | None, days: int = 30
) -> tuple[datetime.datetime, datetime.datetime]:
    start = not_before if not_before is not None else now() - datetime.timedelta(days=1)
    end = not_after if not_after is not None else now() + datetime.timedelta(days=days)
    return start, end


def is_pss(cert: x509.Certificate) -> bool:
    """Whether the certificate's public key carries the id-RSASSA-PSS OID."""
    return cert.public_key_algorithm_oid == _RSA_PSS_OID


def _issuer_pss(issuer_cert: x509.Certificate | None, key_type: str | None) -> bool:
    if issuer_cert is not None:
        return issuer_cert.public_key_algorithm_oid == _RSA_PSS_OID
    return key_type == "rsa-pss"


def make_ca(
    key_type: str = "ecdsa-p256",
    *,
    common_name: str | None = None,
    issuer: Pair | None = None,
    path_length: int | None = None,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    key: PrivateKey | None = None,
    eku: Sequence[x509.ObjectIdentifier] | None = None,
    key_usage: bool = True,
    ca: bool = True,
) -> Pair:
    """A CA certificate and its key: a self-signed root, or an intermediate if ``issuer``.

    ``ca=False`` makes a certificate that is used as an issuer but says it is not a CA (for
    X509_V_ERR_INVALID_CA); ``eku`` restricts the CA's extendedKeyUsage.
    """
    key = key if key is not None else new_key(key_type)
    counter = next(_NAMES)
    default_cn = f"cytls test {'intermediate' if issuer else 'root'} CA {counter}"
    subject = name(common_name or default_cn, organization_name="cytls tests")
    not_before, not_after = _validity(not_before, not_after, days=365)
    issuer_cert, issuer_key = issuer if issuer is not None else (None, key)
    public_key = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert is not None else subject)
        .public_key(public_key)
        .serial_number(next(_SERIALS))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if key_usage:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),
            critical=False,
        )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    pss_issuer = _issuer_pss(issuer_cert, key_type if issuer is None else None)
    cert = builder.sign(issuer_key, **_sign_args(issuer_key, pss_issuer))
    if key_type == "rsa-pss":
        cert = _pss_spki_certificate(cert, issuer_key, pss_issuer)
    return cert, key


def make_intermediate(issuer: Pair, key_type: str = "ecdsa-p256", **kwargs: Any) -> Pair:
    """An intermediate CA under ``issuer`` (a :func:`make_ca` pair); see :func:`make_ca`."""
    return make_ca(key_type, issuer=issuer, **kwargs)


def make_leaf(
    ca: Pair,
    key_type: str = "ecdsa-p256",
    names: Sequence[str] = ("localhost", "127.0.0.1"),
    *,
    common_name: str | None = None,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    eku: str | Sequence[x509.ObjectIdentifier] | None = (SERVER_AUTH, CLIENT_AUTH),
    key: PrivateKey | None = None,
    subject: x509.Name | None = None,
    extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
    san: bool = True,
    san_entries: Sequence[x509.GeneralName] | None = None,
    aki: bool = True,
    pss_hash: str | None = None,
) -> Pair:
    """An end-entity certificate signed by ``ca`` (a pair from :func:`make_ca`) and its key.

    ``names`` become the subjectAltName (IP literals as iPAddress entries) unless
    ``san_entries`` gives the entries exactly; ``san=False`` leaves it out. ``eku`` is the
    extendedKeyUsage: OIDs, or "serverAuth", "clientAuth", "serverAuth|clientAuth" (None leaves
    the extension out); ``extensions`` are added as given;
    ``aki=False`` leaves out the authorityKeyIdentifier. For ``rsa-pss`` keys, ``pss_hash``
    ("sha256", ...) writes RSASSA-PSS-params that restrict the key to that hash.
    """
    key = key if key is not None else new_key(key_type)
    ca_cert, ca_key = ca
    cn = common_name if common_name is not None else (names[0] if names else "cytls test leaf")
    subject = subject if subject is not None else name(cn)
    not_before, not_after = _validity(not_before, not_after)
    public_key = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(next(_SERIALS))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=isinstance(key, rsa.RSAPrivateKey) and key_type != "rsa-pss",
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if aki:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),
            critical=False,
        )
    entries = list(san_entries) if san_entries is not None else general_names(names)
    if san and entries:
        builder = builder.add_extension(x509.SubjectAlternativeName(entries), critical=False)
    if eku is not None:
        usages = _EKU_WORDS[eku] if isinstance(eku, str) else list(eku)
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    pss_issuer = _issuer_pss(ca_cert, None)
    cert = builder.sign(ca_key, **_sign_args(ca_key, pss_issuer))
    if key_type == "rsa-pss":
        cert = _pss_spki_certificate(cert, ca_key, pss_issuer, pss_hash)
    return cert, key


def make_self_signed(
    key_type: str = "ecdsa-p256",
    names: Sequence[str] = ("localhost", "127.0.0.1"),
    *,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    key: PrivateKey | None = None,
    ca_style: bool = False,
) -> Pair:
    """A self-signed server certificate. ``ca_style`` adds what ``openssl req -x509`` puts in
    by default (its v3_ca section): basicConstraints cA=TRUE, subject and authority key
    identifiers."""
    key = key if key is not None else new_key(key_type)
    subject = name(names[0] if names else "self-signed")
    not_before, not_after = _validity(not_before, not_after)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(next(_SERIALS))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(general_names(names)), critical=False)
        .add_extension(x509.ExtendedKeyUsage([SERVER_AUTH, CLIENT_AUTH]), critical=False)
    )
    if ca_style:
        public_key = key.public_key()
        builder = (
            builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False
            )
        )
    cert = builder.sign(key, **_sign_args(key, key_type == "rsa-pss"))
    if key_type == "rsa-pss":
        cert = _pss_spki_certificate(cert, key, True)
    return cert, key


# -- RSASSA-PSS subject public keys --------------------------------------------------------------
#
# cryptography's CertificateBuilder always writes an RSA public key as rsaEncryption. A
# certificate for rsa_pss_pss_* (RFC 8446 §4.2.3) needs the id-RSASSA-PSS algorithm identifier
# in its subjectPublicKeyInfo, so the builder's output is rewritten: the SPKI is swapped for one
# with the PSS OID (parameters absent, RFC 4055 §3.1: any hash may be used) and the new
# TBSCertificate is signed again with the issuer's key. A minimal DER writer is enough for that.


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(body)) + body


def _der_oid(oid: str) -> bytes:
    arcs = [int(arc) for arc in oid.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return _der(0x06, bytes(body))


def _der_header_length(der: bytes) -> int:
    """Length of the tag and length octets at the start of ``der``."""
    return 2 + (der[1] & 0x7F if der[1] & 0x80 else 0)


_HASH_OIDS = {
    "sha1": "1.3.14.3.2.26",
    "sha256": "2.16.840.1.101.3.4.2.1",
    "sha384": "2.16.840.1.101.3.4.2.2",
    "sha512": "2.16.840.1.101.3.4.2.3",
}
_MGF1_OID = "1.2.840.113549.1.1.8"
_HASH_SIZES = {"sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64}


def pss_params(hash_name: str) -> bytes:
    """RSASSA-PSS-params (RFC 4055 §3.1) naming ``hash_name``, MGF1 with it, salt = hash size.

    SHA-1 is the default of every field, which DER leaves out: an empty SEQUENCE.
    """
    if hash_name == "sha1":
        return _der(0x30, b"")
    hash_algorithm = _der(0x30, _der_oid(_HASH_OIDS[hash_name]) + b"\x05\x00")
    mgf = _der(0x30, _der_oid(_MGF1_OID) + hash_algorithm)
    salt = _der(0x02, bytes([_HASH_SIZES[hash_name]]))
    return _der(0x30, _der(0xA0, hash_algorithm) + _der(0xA1, mgf) + _der(0xA2, salt))


def pss_spki(public_key: rsa.RSAPublicKey, hash_name: str | None = None) -> bytes:
    """A SubjectPublicKeyInfo with the id-RSASSA-PSS OID (RFC 4055 §3.1): no parameters, or
    parameters that restrict the key to ``hash_name``."""
    rsa_public_key = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1
    )
    params = pss_params(hash_name) if hash_name is not None else b""
    algorithm = _der(0x30, _der_oid(_RSA_PSS_OID.dotted_string) + params)
    return _der(0x30, algorithm + _der(0x03, b"\x00" + rsa_public_key))


def _pss_spki_certificate(
    cert: x509.Certificate, issuer_key: PrivateKey, pss_issuer: bool, hash_name: str | None = None
) -> x509.Certificate:
    """``cert`` with its rsaEncryption SPKI replaced by an id-RSASSA-PSS one, re-signed."""
    public_key = cert.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    old_spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    new_spki = pss_spki(public_key, hash_name)
    return x509.load_der_x509_certificate(
        resigned(cert, issuer_key, old_spki, new_spki, pss_issuer=pss_issuer)
    )


def resigned(
    cert: x509.Certificate,
    issuer_key: PrivateKey,
    old: bytes,
    new: bytes,
    *,
    pss_issuer: bool = False,
) -> bytes:
    """The DER of ``cert`` with ``old`` (found exactly once in its TBSCertificate) replaced by
    ``new`` and signed again with ``issuer_key``: a certificate no builder would write, whose
    signature still verifies."""
    tbs = cert.tbs_certificate_bytes
    assert tbs.count(old) == 1
    body = tbs[_der_header_length(tbs) :].replace(old, new)
    new_tbs = _der(0x30, body)
    args = _sign_args(issuer_key, pss_issuer)
    if isinstance(issuer_key, rsa.RSAPrivateKey):
        signature = issuer_key.sign(
            new_tbs, args.get("rsa_padding", padding.PKCS1v15()), args["algorithm"]
        )
    elif isinstance(issuer_key, ec.EllipticCurvePrivateKey):
        signature = issuer_key.sign(new_tbs, ec.ECDSA(args["algorithm"]))
    else:
        signature = issuer_key.sign(new_tbs)
    der = cert.public_bytes(serialization.Encoding.DER)
    outer = der[_der_header_length(der) :]
    tbs_end = outer.index(tbs) + len(tbs)
    signature_algorithm = outer[tbs_end:]
    signature_algorithm = signature_algorithm[: _element_length(signature_algorithm)]
    return _der(0x30, new_tbs + signature_algorithm + _der(0x03, b"\x00" + signature))


# ASN.1 tags that make a name attribute's value undecodable by cryptography, each failing the
# way one of its versions fails: RELATIVE-OID (13) is no string type (KeyError before 50,
# ValueError since) and a BIT STRING (3) is allowed only for x500UniqueIdentifier (TypeError).
UNDECODABLE_NAME_TAGS = {"relative_oid": 0x0D, "bit_string": 0x03}


def with_undecodable_name(
    cert: x509.Certificate, issuer_key: PrivateKey, common_name: str, tag: int
) -> bytes:
    """The DER of ``cert``, re-signed, with the commonName ``common_name`` (a UTF8String, in its
    subject, issuer or a directoryName) re-tagged ``tag``: it loads, verifies, and one of its
    names does not decode."""
    value = common_name.encode()
    attribute = _der_oid(NameOID.COMMON_NAME.dotted_string) + _der(0x0C, value)
    offset = len(_der_oid(NameOID.COMMON_NAME.dotted_string))
    retagged = attribute[:offset] + bytes([tag]) + attribute[offset + 1 :]
    return resigned(cert, issuer_key, attribute, retagged)


def _element_length(der: bytes) -> int:
    """Total length of the first DER element of ``der``."""
    if der[1] & 0x80:
        count = der[1] & 0x7F
        return 2 + count + int.from_bytes(der[2 : 2 + count], "big")
    return 2 + der[1]


# -- files -----------------------------------------------------------------------------------


def pem(*certs: x509.Certificate) -> bytes:
    """The certificates as concatenated PEM."""
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)


def pss_pkcs8(key: rsa.RSAPrivateKey) -> bytes:
    """A PEM PKCS#8 PrivateKeyInfo with the id-RSASSA-PSS OID (RFC 8017 Appendix A.1.2), the
    form OpenSSL wants next to a certificate with an RSASSA-PSS public key."""
    rsa_private_key = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    algorithm = _der(0x30, _der_oid(_RSA_PSS_OID.dotted_string))
    info = _der(0x30, b"\x02\x01\x00" + algorithm + _der(0x04, rsa_private_key))
    body = base64.encodebytes(info).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"-----BEGIN PRIVATE KEY-----\n" + b"\n".join(lines) + b"\n-----END PRIVATE KEY-----\n"


def key_pem(
    key: PrivateKey,
    password: bytes | None = None,
    traditional: bool = False,
    pss: bool = False,
) -> bytes:
    """The private key as PEM (PKCS#8, or the traditional format), encrypted if ``password``;
    ``pss`` writes an RSA key with the id-RSASSA-PSS OID (unencrypted only)."""
    if pss:
        assert password is None and isinstance(key, rsa.RSAPrivateKey)
        return pss_pkcs8(key)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password is not None
        else serialization.NoEncryption()
    )
    fmt = (
        serialization.PrivateFormat.TraditionalOpenSSL
        if traditional
        else serialization.PrivateFormat.PKCS8
    )
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption)


def write_pem(
    tmp_path: Path,
    filename: str,
    *certs: x509.Certificate,
    key: PrivateKey | None = None,
    password: bytes | None = None,
) -> Path:
    """Write the certificates (then the key, if given) as PEM to ``tmp_path / filename``."""
    path = tmp_path / filename
    data = pem(*certs)
    if key is not None:
        data += key_pem(key, password, pss=bool(certs) and is_pss(certs[0]))
    path.write_bytes(data)
    return path


def write_chain(
    tmp_path: Path,
    leaf: Pair,
    *intermediates: x509.Certificate,
    prefix: str = "server",
    password: bytes | None = None,
) -> tuple[Path, Path]:
    """Write ``leaf`` + intermediates to ``<prefix>.pem`` and its key to ``<prefix>.key``."""
    cert, key = leaf
    certfile = write_pem(tmp_path, f"{prefix}.pem", cert, *intermediates)
    keyfile = tmp_path / f"{prefix}.key"
    keyfile.write_bytes(key_pem(key, password, pss=is_pss(cert)))
    return certfile, keyfile


def der(*certs: x509.Certificate) -> list[bytes]:
    """The certificates as a list of DER encodings (the form a Certificate message carries)."""
    return [cert.public_bytes(serialization.Encoding.DER) for cert in certs]

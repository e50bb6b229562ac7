"""Loading certificates and keys: PEM and DER parsing, our own chain, tolerant field access.

What ``ssl.SSLContext.load_cert_chain`` and ``load_verify_locations`` read, read the way
``ssl`` reads it (PEM with RFC 1421 headers, OpenSSL's TRUSTED CERTIFICATE blocks, concatenated
DER), with ``ssl``'s errors. Kept apart from the trust store and from verification because
both of them, and the handshake (a peer's leaf under CERT_NONE, ``cytls connect``), parse
certificates with :func:`load_der_certificate`, and because our own chain and key
(:func:`load_cert_chain`) are never verified, only checked to fit together and to be able to
sign in TLS 1.3. :func:`_extension` reads an extension of a certificate that may be malformed
without raising; every later module reads extensions through it.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeAlias

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.utils import CryptographyDeprecationWarning

from cytls.crypto.signatures import DerElement, PrivateKey, schemes_for_key
from cytls.errors import TLSError
from cytls.x509.errors import _name

__all__ = ["CertificateLoadError", "Password", "StrPath", "load_cert_chain", "load_der_certificate"]

StrPath: TypeAlias = str | bytes | os.PathLike[str] | os.PathLike[bytes]
Password: TypeAlias = str | bytes | bytearray | Callable[[], str | bytes | bytearray] | None


class CertificateLoadError(TLSError, ValueError):
    """Our own certificate chain or key could not be loaded or does not fit together.

    An ``ssl.SSLError`` (what ``ssl.SSLContext.load_cert_chain`` raises) and a ``ValueError``.
    """


# -- PEM and DER ---------------------------------------------------------------------------------

_PEM_BLOCK = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL | re.ASCII
)
_CERTIFICATE_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"}


def _pem_blocks(data: bytes) -> Iterator[tuple[bytes, bytes, bytes]]:
    """(label, body, whole block) of each PEM block (RFC 7468), in order."""
    for match in _PEM_BLOCK.finditer(data):
        yield match.group(1), match.group(2), match.group(0)


def _pem_der(body: bytes) -> bytes:
    """The DER inside a PEM body, skipping RFC 1421 headers (``Name: value`` lines)."""
    lines = [line.strip() for line in body.splitlines()]
    if any(b":" in line for line in lines):
        lines = [line for line in lines if b":" not in line]
    return base64.b64decode(b"".join(lines), validate=True)


def _first_der(data: bytes) -> bytes:
    """The first DER element of ``data`` (a TRUSTED CERTIFICATE adds OpenSSL trust data)."""
    element = DerElement(data, 0)
    return data[: element.end]


# What cryptography raises when a certificate's name does not decode. It decodes names only
# when they are first read, and the exception depends on its version: ValueError ("error
# parsing asn1 value", 50 and later), KeyError (before 50, for an attribute value whose ASN.1
# tag is no string type) and TypeError (every version, for a BIT STRING value of an attribute
# other than x500UniqueIdentifier). The same goes for names inside extensions.
_UNDECODABLE = (ValueError, KeyError, TypeError)


def load_der_certificate(der: bytes) -> x509.Certificate:
    """A DER certificate whose subject and issuer are known to decode; ValueError if not.

    A name cryptography cannot decode could be neither named in an error nor returned by
    getpeercert(), so such a certificate is malformed here (a peer's gets bad_certificate, RFC
    8446 §6.2), even though cryptography's verifier would accept it: OpenSSL's parser refuses
    some of these, and ``ssl``'s getpeercert() fails on the others. Reading both names now
    also keeps later reads from raising, with an exception that depends on the version.
    Raises ``x509.InvalidVersion`` too, as ``load_der_x509_certificate`` does.
    """
    certificate = x509.load_der_x509_certificate(der)
    for field in ("subject", "issuer"):
        try:
            getattr(certificate, field)
        except _UNDECODABLE as exc:
            raise ValueError(f"its {field} name does not decode ({exc!r})") from None
    return certificate


def _certificate_blocks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(label, body) of each PEM block of ``data`` that holds a certificate."""
    for label, body, _ in _pem_blocks(data):
        if label in _CERTIFICATE_LABELS:
            yield label, body


def _pem_certificate(label: bytes, body: bytes) -> x509.Certificate:
    """The certificate of one PEM certificate block; ValueError if it does not parse."""
    der = _pem_der(body)
    if label == b"TRUSTED CERTIFICATE":
        der = _first_der(der)
    return load_der_certificate(der)


def _certificates_from_pem(data: bytes, source: str) -> list[x509.Certificate]:
    certificates = []
    for label, body in _certificate_blocks(data):
        try:
            certificates.append(_pem_certificate(label, body))
        except (ValueError, binascii.Error) as exc:
            raise TLSError(
                f"{source}: a PEM certificate could not be parsed: {exc}", reason="PEM_LIB"
            ) from exc
    return certificates


def _lenient_certificates(data: bytes) -> list[x509.Certificate]:
    """Every PEM certificate of ``data`` that parses (system stores hold oddities)."""
    certificates = []
    for label, body in _certificate_blocks(data):
        try:
            certificates.append(_pem_certificate(label, body))
        except (ValueError, binascii.Error):
            continue
    return certificates


def _certificates_from_der(data: bytes, source: str) -> list[x509.Certificate]:
    """Certificates from concatenated DER (what ``ssl`` accepts as bytes ``cadata``)."""
    certificates = []
    offset = 0
    view = bytes(data)
    while offset < len(view):
        try:
            element = DerElement(view, offset)
            certificates.append(load_der_certificate(view[offset : element.end]))
        except ValueError as exc:
            raise TLSError(
                f"{source}: DER certificate data could not be parsed at offset {offset}: {exc}",
                reason="NESTED_ASN1_ERROR",
            ) from exc
        offset = element.end
    return certificates


def _read(path: StrPath) -> bytes:
    with open(path, "rb") as file:  # FileNotFoundError etc. propagate, as with ssl
        return file.read()


def _display(path: StrPath) -> str:
    return os.fsdecode(path)


# -- our own chain --------------------------------------------------------------------------------


def _password_bytes(password: Password, needed: bool) -> bytes | None:
    if password is None:
        return None
    if callable(password):
        if not needed:
            return None
        password = password()
    if isinstance(password, str):
        return password.encode("utf-8")
    if isinstance(password, bytes | bytearray):
        return bytes(password)
    raise TypeError("password should be a string, bytes or a callable returning one of them")


def _is_dsa(key: Any) -> bool:
    """Whether ``key`` is DSA. ``cryptography`` 51 deprecates DSA and warns whenever its classes
    are used, so this is asked only of a key that is already refused."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return isinstance(key, dsa.DSAPrivateKey)


def _check_own_key(key: Any, source: str) -> None:
    """Refuse keys that cannot sign a TLS 1.3 CertificateVerify (RFC 8446 §4.2.3)."""
    if not isinstance(
        key,
        rsa.RSAPrivateKey
        | ec.EllipticCurvePrivateKey
        | ed25519.Ed25519PrivateKey
        | ed448.Ed448PrivateKey,
    ):
        if _is_dsa(key):
            raise CertificateLoadError(
                f"{source}: DSA keys cannot sign in TLS 1.3 (RFC 8446 §4.2.3 has no DSA scheme)",
                reason="UNSUPPORTED_KEY_TYPE",
            )
        raise CertificateLoadError(
            f"{source}: a {type(key).__name__} cannot sign in TLS 1.3; use an RSA (2048 bits "
            "or more), ECDSA P-256/P-384/P-521, Ed25519 or Ed448 key",
            reason="UNSUPPORTED_KEY_TYPE",
        )
    try:
        schemes_for_key(key)
    except ValueError as exc:
        raise CertificateLoadError(f"{source}: {exc}", reason="UNSUPPORTED_KEY_TYPE") from exc


def load_cert_chain(
    certfile: StrPath, keyfile: StrPath | None = None, password: Password = None
) -> tuple[list[x509.Certificate], PrivateKey]:
    """Load our certificate chain and private key, like ``ssl.SSLContext.load_cert_chain``.

    ``certfile`` is PEM: the leaf certificate first, then any intermediates (and the key, if
    ``keyfile`` is None). ``password`` decrypts the key: str, bytes, or a callable returning
    one, called only if the key is encrypted. Errors are :class:`CertificateLoadError` (an
    ``ssl.SSLError`` and a ``ValueError``): no certificate, no key, a wrong password, a key that
    does not match the leaf, or a key that cannot sign in TLS 1.3 (DSA, RSA under 2048 bits,
    curves other than P-256/P-384/P-521). Missing files raise ``FileNotFoundError``.
    """
    cert_source = _display(certfile)
    cert_data = _read(certfile)
    try:
        chain = _certificates_from_pem(cert_data, cert_source)
    except TLSError as exc:
        raise CertificateLoadError(str(exc), reason="PEM_LIB") from exc
    if not chain:
        raise CertificateLoadError(
            f"{cert_source}: no PEM certificate found (expected '-----BEGIN CERTIFICATE-----')",
            reason="PEM_LIB",
        )
    key_source = _display(keyfile) if keyfile is not None else cert_source
    key_data = _read(keyfile) if keyfile is not None else cert_data
    blocks = [block for label, _, block in _pem_blocks(key_data) if b"PRIVATE KEY" in label]
    if not blocks:
        raise CertificateLoadError(
            f"{key_source}: no PEM private key found (expected '-----BEGIN PRIVATE KEY-----' "
            "or the RSA/EC variants)",
            reason="PEM_LIB",
        )
    block = blocks[0]
    encrypted = b"ENCRYPTED" in block.split(b"\n", 1)[0] or b"Proc-Type: 4,ENCRYPTED" in block
    secret = _password_bytes(password, needed=encrypted)
    try:
        key = serialization.load_pem_private_key(block, password=secret if encrypted else None)
    except TypeError as exc:
        raise CertificateLoadError(
            f"{key_source}: the private key is encrypted and no password was given",
            reason="PEM_LIB",
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        why = "wrong password, or a malformed key" if encrypted else "malformed or unsupported"
        raise CertificateLoadError(
            f"{key_source}: the private key could not be loaded ({why}: {exc})",
            reason="PEM_LIB",
        ) from exc
    _check_own_key(key, key_source)
    leaf = chain[0]
    if leaf.public_key() != key.public_key():
        raise CertificateLoadError(
            f"key values mismatch: the private key in {key_source} does not belong to the "
            f"certificate {_name(leaf)} in {cert_source}",
            reason="KEY_VALUES_MISMATCH",
        )
    return chain, key  # type: ignore[return-value]


# -- reading certificates -------------------------------------------------------------------------


def _extension(certificate: x509.Certificate, kind: type[Any]) -> Any:
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None
    # Malformed extensions, the verifier reports those. cryptography parses every extension
    # on first access and raises DuplicateExtension (not a ValueError) for one that appears
    # twice (RFC 5280 §4.2), whatever extension was asked for.
    except (*_UNDECODABLE, x509.DuplicateExtension, x509.UnsupportedGeneralNameType):
        return None

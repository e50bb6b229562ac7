"""Certificates: loading our own chain, trust stores, peer chain validation, ``getpeercert()``.

Path validation is ``cryptography.x509.verification`` (RFC 5280 path building with the CA/Browser
Forum Web PKI profile; RFC 6125 name matching). This module adds what a TLS stack needs around it:

- ``ssl``-compatible loading (:func:`load_cert_chain`, :class:`TrustStore`).
- Errors that say what failed: ``VerificationError`` only carries a string, so when it rejects a
  chain, :func:`_diagnose` walks the chain the way OpenSSL's ``X509_verify_cert`` does (build the
  path to a trust anchor, then check CA flags and purposes, key sizes, the host name, and finally
  signatures and validity dates from the anchor down) and reports the first problem with
  OpenSSL's ``X509_V_ERR_*`` code, OpenSSL's text and the alert OpenSSL would send
  (``ssl_x509err2alert`` in OpenSSL's ssl/statem/statem_lib.c). The diagnosis never turns a
  rejection into an acceptance: it only names the reason.
- Verification without host name checking (``check_hostname=False``), which
  ``ServerVerifier`` cannot do (it requires a subject). See :func:`_chain_verifier`.
- Trust in a certificate that is itself in the trust store (a self-signed server certificate
  loaded as the CA file, as ``ssl`` users do), which the Web PKI leaf profile would reject for
  lacking an authorityKeyIdentifier or for saying ``cA=TRUE``.

Differences from the ``ssl`` module that remain, on purpose:

- The subject common name is never used as a host name (RFC 6125 §6.4.4, CA/B Forum BR
  §7.1.4.3); a certificate must list the name in its subjectAltName.
- CA certificates are held to the Web PKI profile: RSA (2048 bits or more) or ECDSA P-256/P-384/
  P-521 keys, SHA-2 signatures, basicConstraints and keyUsage present. Ed25519, Ed448 and
  RSASSA-PSS keys are fine in leaf certificates, which is what TLS 1.3 signs with.
- A leaf issued by a CA must be X.509 v3 and carry an authorityKeyIdentifier, and must not
  say cA=TRUE (the Web PKI leaf profile; Python 3.13's VERIFY_X509_STRICT asks the same).
- Any certificate in the trust store is a trust anchor, as with OpenSSL's
  ``X509_V_FLAG_PARTIAL_CHAIN`` (the default of ``ssl.create_default_context`` since Python 3.13).

Where OpenSSL has no verification code for a failure (an empty or unparsable chain, a key type
TLS 1.3 cannot use, an algorithm the Web PKI profile refuses), ``verify_code`` is
X509_V_ERR_UNSPECIFIED (1) and ``verify_message`` says what happened in words.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import ipaddress
import os
import re
import ssl
import sys
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from cytls.errors import CertificateError, TLSError
from cytls.handshake.signatures import (
    MINIMUM_RSA_BITS,
    RSASSA_PSS_OID,
    DerElement,
    PrivateKey,
    schemes_for_key,
)
from cytls.wire.enums import AlertDescription

__all__ = [
    "CertificateLoadError",
    "TrustStore",
    "X509VerifyError",
    "certificate_to_dict",
    "load_cert_chain",
    "load_der_certificate",
    "verify_client_chain",
    "verify_server_chain",
]

StrPath: TypeAlias = str | bytes | os.PathLike[str] | os.PathLike[bytes]
Password: TypeAlias = str | bytes | bytearray | Callable[[], str | bytes | bytearray] | None

A = AlertDescription
UTC = datetime.UTC


class X509VerifyError:
    """OpenSSL's ``X509_V_ERR_*`` codes used here (include/openssl/x509_vfy.h, OpenSSL 3.x)."""

    UNSPECIFIED = 1
    UNABLE_TO_GET_ISSUER_CERT = 2
    CERT_SIGNATURE_FAILURE = 7
    CERT_NOT_YET_VALID = 9
    CERT_HAS_EXPIRED = 10
    DEPTH_ZERO_SELF_SIGNED_CERT = 18
    SELF_SIGNED_CERT_IN_CHAIN = 19
    UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
    UNABLE_TO_VERIFY_LEAF_SIGNATURE = 21
    CERT_CHAIN_TOO_LONG = 22
    PATH_LENGTH_EXCEEDED = 25
    INVALID_PURPOSE = 26
    KEYUSAGE_NO_CERTSIGN = 32
    INVALID_NON_CA = 37
    KEYUSAGE_NO_DIGITAL_SIGNATURE = 39
    INVALID_EXTENSION = 41
    PERMITTED_VIOLATION = 47
    EXCLUDED_VIOLATION = 48
    HOSTNAME_MISMATCH = 62
    IP_ADDRESS_MISMATCH = 64
    EE_KEY_TOO_SMALL = 66
    CA_KEY_TOO_SMALL = 67
    CA_MD_TOO_WEAK = 68
    INVALID_CA = 79
    KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA = 82
    MISSING_AUTHORITY_KEY_IDENTIFIER = 85
    EMPTY_SUBJECT_ALT_NAME = 87
    EMPTY_SUBJECT_SAN_NOT_CRITICAL = 88
    CA_CERT_MISSING_KEY_USAGE = 92
    EXTENSIONS_REQUIRE_VERSION_3 = 93


V = X509VerifyError

# X509_verify_cert_error_string() of OpenSSL 3.0 (crypto/x509/x509_txt.c), what
# ssl.SSLCertVerificationError.verify_message holds for these codes.
_OPENSSL_TEXT: dict[int, str] = {
    V.UNSPECIFIED: "unspecified certificate verification error",
    V.UNABLE_TO_GET_ISSUER_CERT: "unable to get issuer certificate",
    V.CERT_SIGNATURE_FAILURE: "certificate signature failure",
    V.CERT_NOT_YET_VALID: "certificate is not yet valid",
    V.CERT_HAS_EXPIRED: "certificate has expired",
    V.DEPTH_ZERO_SELF_SIGNED_CERT: "self-signed certificate",
    V.SELF_SIGNED_CERT_IN_CHAIN: "self-signed certificate in certificate chain",
    V.UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "unable to get local issuer certificate",
    V.UNABLE_TO_VERIFY_LEAF_SIGNATURE: "unable to verify the first certificate",
    V.CERT_CHAIN_TOO_LONG: "certificate chain too long",
    V.PATH_LENGTH_EXCEEDED: "path length constraint exceeded",
    V.INVALID_PURPOSE: "unsuitable certificate purpose",
    V.KEYUSAGE_NO_CERTSIGN: "key usage does not include certificate signing",
    V.INVALID_NON_CA: "invalid non-CA certificate (has CA markings)",
    V.KEYUSAGE_NO_DIGITAL_SIGNATURE: "key usage does not include digital signature",
    V.INVALID_EXTENSION: "invalid or inconsistent certificate extension",
    V.PERMITTED_VIOLATION: "permitted subtree violation",
    V.EXCLUDED_VIOLATION: "excluded subtree violation",
    V.HOSTNAME_MISMATCH: "hostname mismatch",
    V.IP_ADDRESS_MISMATCH: "IP address mismatch",
    V.EE_KEY_TOO_SMALL: "EE certificate key too weak",
    V.CA_KEY_TOO_SMALL: "CA certificate key too weak",
    V.CA_MD_TOO_WEAK: "CA signature digest algorithm too weak",
    V.INVALID_CA: "invalid CA certificate",
    V.KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA: "Key usage keyCertSign invalid for non-CA cert",
    V.MISSING_AUTHORITY_KEY_IDENTIFIER: "Missing Authority Key Identifier",
    V.EMPTY_SUBJECT_ALT_NAME: "Empty Subject Alternative Name extension",
    V.EMPTY_SUBJECT_SAN_NOT_CRITICAL: "Subject empty and Subject Alt Name extension not critical",
    V.CA_CERT_MISSING_KEY_USAGE: "CA cert does not include key usage extension",
    V.EXTENSIONS_REQUIRE_VERSION_3: "Using cert extension requires at least X509v3",
}

# The alert OpenSSL sends for a verification error: x509table / ssl_x509err2alert() in
# ssl/statem/statem_lib.c (OpenSSL 3.x). Codes not listed there get certificate_unknown.
_OPENSSL_ALERT: dict[int, AlertDescription] = {
    V.UNSPECIFIED: A.internal_error,
    V.UNABLE_TO_GET_ISSUER_CERT: A.unknown_ca,
    V.CERT_SIGNATURE_FAILURE: A.decrypt_error,
    V.CERT_NOT_YET_VALID: A.bad_certificate,
    V.CERT_HAS_EXPIRED: A.certificate_expired,
    V.DEPTH_ZERO_SELF_SIGNED_CERT: A.unknown_ca,
    V.SELF_SIGNED_CERT_IN_CHAIN: A.unknown_ca,
    V.UNABLE_TO_GET_ISSUER_CERT_LOCALLY: A.unknown_ca,
    V.UNABLE_TO_VERIFY_LEAF_SIGNATURE: A.unknown_ca,
    V.CERT_CHAIN_TOO_LONG: A.unknown_ca,
    V.PATH_LENGTH_EXCEEDED: A.unknown_ca,
    V.INVALID_PURPOSE: A.unsupported_certificate,
    V.HOSTNAME_MISMATCH: A.bad_certificate,
    V.IP_ADDRESS_MISMATCH: A.bad_certificate,
    V.EE_KEY_TOO_SMALL: A.bad_certificate,
    V.CA_KEY_TOO_SMALL: A.bad_certificate,
    V.CA_MD_TOO_WEAK: A.bad_certificate,
    V.INVALID_CA: A.unknown_ca,
}


def openssl_alert(verify_code: int) -> AlertDescription:
    """The alert OpenSSL sends for ``verify_code`` (``ssl_x509err2alert``)."""
    return _OPENSSL_ALERT.get(verify_code, A.certificate_unknown)


def _error(
    code: int,
    message: str,
    *,
    alert: AlertDescription | None = None,
    verify_message: str | None = None,
) -> CertificateError:
    """A CertificateError for X509_V_ERR ``code``: OpenSSL's alert and text unless given."""
    return CertificateError(
        alert if alert is not None else openssl_alert(code),
        message,
        verify_code=code,
        verify_message=verify_message
        or (message if code == V.UNSPECIFIED else _OPENSSL_TEXT.get(code, message)),
    )


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


def _certificates_from_pem(data: bytes, source: str) -> list[x509.Certificate]:
    certificates = []
    for label, body, _ in _pem_blocks(data):
        if label not in _CERTIFICATE_LABELS:
            continue
        try:
            der = _pem_der(body)
            if label == b"TRUSTED CERTIFICATE":
                der = _first_der(der)
            certificates.append(load_der_certificate(der))
        except (ValueError, binascii.Error) as exc:
            raise TLSError(
                f"{source}: a PEM certificate could not be parsed: {exc}", reason="PEM_LIB"
            ) from exc
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


def _check_own_key(key: Any, source: str) -> None:
    """Refuse keys that cannot sign a TLS 1.3 CertificateVerify (RFC 8446 §4.2.3)."""
    if isinstance(key, dsa.DSAPrivateKey):
        raise CertificateLoadError(
            f"{source}: DSA keys cannot sign in TLS 1.3 (RFC 8446 §4.2.3 has no DSA scheme)",
            reason="UNSUPPORTED_KEY_TYPE",
        )
    if not isinstance(
        key,
        rsa.RSAPrivateKey
        | ec.EllipticCurvePrivateKey
        | ed25519.Ed25519PrivateKey
        | ed448.Ed448PrivateKey,
    ):
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


# -- trust store ----------------------------------------------------------------------------------


class TrustStore:
    """The certificates we trust as anchors, like the CA side of an ``ssl.SSLContext``.

    Every certificate added is a trust anchor (OpenSSL's X509_V_FLAG_PARTIAL_CHAIN behaviour);
    duplicates are ignored.
    """

    def __init__(self, certificates: Iterable[x509.Certificate] = ()) -> None:
        self._certificates: list[x509.Certificate] = []
        self._der: set[bytes] = set()
        self._store: Store | None = None
        self._verified: OrderedDict[VerificationKey, VerifiedPath] = OrderedDict()
        self._subject_names: tuple[bytes, ...] | None = None
        for certificate in certificates:
            self.add(certificate)

    # - adding -

    def add(self, certificate: x509.Certificate) -> bool:
        """Trust ``certificate``; False if it was already trusted."""
        der = certificate.public_bytes(serialization.Encoding.DER)
        if der in self._der:
            return False
        self._der.add(der)
        self._certificates.append(certificate)
        self._store = None
        self._subject_names = None
        self._verified.clear()  # a new anchor can change any verdict
        return True

    # - verification results -

    def cached_path(
        self, key: VerificationKey, when: datetime.datetime
    ) -> list[x509.Certificate] | None:
        """A path this store verified before for the same chain bytes, name and purpose,
        if ``when`` is still inside the validity window of every certificate in it."""
        entry = self._verified.get(key)
        if entry is None or not entry.not_before <= when <= entry.not_after:
            return None
        self._verified.move_to_end(key)
        return list(entry.path)

    def remember_path(self, key: VerificationKey, path: Sequence[x509.Certificate]) -> None:
        """Keep a successful verification (a few hundred microseconds of signature checks and
        path building) for the next connection that presents the same chain."""
        self._verified[key] = VerifiedPath(
            tuple(path),
            max(certificate.not_valid_before_utc for certificate in path),
            min(certificate.not_valid_after_utc for certificate in path),
        )
        if len(self._verified) > VERIFIED_PATH_CACHE_SIZE:
            self._verified.popitem(last=False)

    def add_pem(self, data: bytes | str) -> int:
        """Trust every PEM certificate in ``data``; returns how many were new.

        Raises ``ssl.SSLError`` (a :class:`~cytls.errors.TLSError`) if a certificate is
        malformed or if there is none at all.
        """
        raw = data.encode("ascii") if isinstance(data, str) else bytes(data)
        certificates = _certificates_from_pem(raw, "PEM data")
        if not certificates:
            raise TLSError(
                "no certificate found in the PEM data", reason="NO_CERTIFICATE_OR_CRL_FOUND"
            )
        return sum(self.add(certificate) for certificate in certificates)

    def add_der(self, data: bytes) -> int:
        """Trust the DER certificate(s) in ``data`` (concatenation allowed); returns how many
        were new."""
        certificates = _certificates_from_der(bytes(data), "DER data")
        if not certificates:
            raise TLSError("no certificate found in the DER data", reason="NOT_ENOUGH_DATA")
        return sum(self.add(certificate) for certificate in certificates)

    def load_verify_locations(
        self,
        cafile: StrPath | None = None,
        capath: StrPath | None = None,
        cadata: str | bytes | bytearray | memoryview | None = None,
    ) -> None:
        """``ssl.SSLContext.load_verify_locations``: a PEM file, a directory, or data.

        ``cadata`` as str is PEM, as bytes-like it is DER (one or more certificates
        concatenated). A ``capath`` directory is read whole: every file in it that holds PEM
        certificates is loaded (OpenSSL looks up ``<subject hash>.N`` files lazily; reading them
        all trusts the same certificates). A missing ``capath`` is ignored, like ``ssl``.
        """
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        if cafile is not None:
            self._load_file(cafile, strict=True)
        if capath is not None:
            self._load_directory(capath, strict=True)
        if cadata is not None:
            if isinstance(cadata, str):
                certificates = _certificates_from_pem(cadata.encode("ascii"), "cadata")
            elif isinstance(cadata, bytes | bytearray | memoryview):
                certificates = _certificates_from_der(bytes(cadata), "cadata")
            else:
                raise TypeError("cadata should be an ASCII string or a bytes-like object")
            if not certificates:
                raise TLSError(
                    "no certificate found in cadata", reason="NO_CERTIFICATE_OR_CRL_FOUND"
                )
            for certificate in certificates:
                self.add(certificate)

    def load_default_certs(self, purpose: object = None) -> int:
        """Trust the system's CA certificates; returns how many were added.

        Where ``ssl.get_default_verify_paths()`` points (which honours SSL_CERT_FILE and
        SSL_CERT_DIR), plus the Windows "CA" and "ROOT" stores on Windows. If that finds
        nothing, the ``certifi`` bundle, when certifi is installed. ``purpose`` is accepted for
        ``ssl`` compatibility (server authentication is assumed).
        """
        before = len(self)
        found = 0
        with warnings.catch_warnings():
            # System stores keep a few old roots that cryptography warns about (serial 0).
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            if sys.platform == "win32":  # pragma: no cover - Windows only
                found += self._load_windows_stores()
            paths = ssl.get_default_verify_paths()
            if paths.cafile:
                found += self._load_file(paths.cafile, strict=False)
            if paths.capath and os.path.isdir(paths.capath):
                found += self._load_directory(paths.capath, strict=False)
            if found == 0:
                try:
                    import certifi  # type: ignore[import-not-found, unused-ignore]
                except ImportError:
                    pass
                else:
                    self._load_file(certifi.where(), strict=False)
        return len(self) - before

    # - reading -

    @property
    def certificates(self) -> list[x509.Certificate]:
        """The trusted certificates, in the order they were added."""
        return list(self._certificates)

    def __len__(self) -> int:
        return len(self._certificates)

    def __iter__(self) -> Iterator[x509.Certificate]:
        return iter(list(self._certificates))

    def __contains__(self, certificate: object) -> bool:
        if not isinstance(certificate, x509.Certificate):
            return False
        return certificate.public_bytes(serialization.Encoding.DER) in self._der

    def __repr__(self) -> str:
        return f"<TrustStore: {len(self)} certificates>"

    def subject_names(self) -> tuple[bytes, ...]:
        """The distinct DER subject names of the trusted certificates, in the order added: what
        a server lists in certificate_authorities (RFC 8446 §4.2.4), as OpenSSL does."""
        if self._subject_names is None:
            names = []
            for certificate in self._certificates:
                try:
                    names.append(certificate.subject.public_bytes())
                except _UNDECODABLE:  # one given to add() whose name does not decode: left out
                    continue
            self._subject_names = tuple(dict.fromkeys(names))
        return self._subject_names

    def issuers_of(self, certificate: x509.Certificate) -> list[x509.Certificate]:
        """Trusted certificates whose subject is ``certificate``'s issuer."""
        return [ca for ca in self._certificates if ca.subject == certificate.issuer]

    def stats(self) -> dict[str, int]:
        """``ssl.SSLContext.cert_store_stats()``: counts of certificates, CRLs and CAs."""
        cas = sum(1 for certificate in self._certificates if _is_ca(certificate))
        return {"x509": len(self._certificates), "crl": 0, "x509_ca": cas}

    def cryptography_store(self) -> Store:
        """The ``cryptography.x509.verification.Store`` of these certificates (cached)."""
        if self._store is None:
            if not self._certificates:
                raise ValueError("the trust store is empty")
            self._store = Store(list(self._certificates))
        return self._store

    # - files -

    def _load_file(self, path: StrPath, *, strict: bool) -> int:
        """Trust the PEM certificates of a file; returns how many it holds."""
        source = _display(path)
        try:
            data = _read(path)
        except OSError:
            if strict:
                raise
            return 0
        try:
            certificates = _certificates_from_pem(data, source)
        except TLSError:
            if strict:
                raise
            certificates = _lenient_certificates(data)
        if strict and not certificates:
            raise TLSError(
                f"{source}: no certificate found (expected PEM)",
                reason="NO_CERTIFICATE_OR_CRL_FOUND",
            )
        for certificate in certificates:
            self.add(certificate)
        return len(certificates)

    def _load_directory(self, path: StrPath, *, strict: bool) -> int:
        """Trust the PEM certificates of every file in a directory; returns how many."""
        directory = Path(os.fsdecode(path))
        if not directory.is_dir():
            return 0
        found = 0
        for entry in sorted(directory.iterdir()):
            try:
                if not entry.is_file():
                    continue
                data = entry.read_bytes()
            except OSError:
                continue
            for certificate in _lenient_certificates(data):
                self.add(certificate)
                found += 1
        return found

    def _load_windows_stores(self) -> int:  # pragma: no cover - Windows only
        found = 0
        server_auth = ExtendedKeyUsageOID.SERVER_AUTH.dotted_string
        for store_name in ("CA", "ROOT"):
            try:
                entries = ssl.enum_certificates(store_name)  # type: ignore[attr-defined]
            except (OSError, AttributeError):
                continue
            for data, encoding, trust in entries:
                if encoding != "x509_asn" or not (trust is True or server_auth in trust):
                    continue
                try:
                    self.add(load_der_certificate(data))
                except ValueError:
                    continue
                found += 1
        return found


def _lenient_certificates(data: bytes) -> list[x509.Certificate]:
    """Every PEM certificate of ``data`` that parses (system stores hold oddities)."""
    certificates = []
    for label, body, _ in _pem_blocks(data):
        if label not in _CERTIFICATE_LABELS:
            continue
        try:
            der = _pem_der(body)
            if label == b"TRUSTED CERTIFICATE":
                der = _first_der(der)
            certificates.append(load_der_certificate(der))
        except (ValueError, binascii.Error):
            continue
    return certificates


# -- describing certificates ---------------------------------------------------------------------


def _name(certificate: x509.Certificate) -> str:
    """How messages name a certificate: its subject in RFC 4514 form, quoted."""
    return _quote_name(certificate.subject, certificate)


def _quote_name(name: x509.Name, certificate: x509.Certificate | None = None) -> str:
    try:
        text = name.rfc4514_string()
    except ValueError:
        text = ""
    if text:
        return f"'{text}'"
    if certificate is not None:
        return f"with an empty subject (serial {certificate.serial_number:#x})"
    return "(empty name)"


def _utc(moment: datetime.datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


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


def _is_ca(certificate: x509.Certificate) -> bool:
    constraints = _extension(certificate, x509.BasicConstraints)
    return bool(constraints is not None and constraints.ca)


def _san_names(certificate: x509.Certificate) -> list[str]:
    san = _extension(certificate, x509.SubjectAlternativeName)
    if san is None:
        return []
    names: list[str] = list(san.get_values_for_type(x509.DNSName))
    names += [str(address) for address in san.get_values_for_type(x509.IPAddress)]
    return names


def _describe_key(key: Any) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        return f"{key.key_size}-bit RSA"
    if isinstance(key, ec.EllipticCurvePublicKey):
        labels = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
        return f"{labels.get(key.curve.name, key.curve.name)} EC"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448"
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA"
    return type(key).__name__.removesuffix("PublicKey") or "unknown"


def _a(word: str) -> str:
    """``word`` with its indefinite article ("an Ed25519", "a P-256 EC", "an RSASSA-PSS")."""
    return f"an {word}" if word[:1] in "AEIOUaeiou8" or word.startswith("RSA") else f"a {word}"


def _public_key(certificate: x509.Certificate) -> Any:
    try:
        return certificate.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return None


# -- host names ------------------------------------------------------------------------------------

_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def _ip_literal(hostname: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = hostname[1:-1] if hostname.startswith("[") and hostname.endswith("]") else hostname
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _dns_name(hostname: str) -> str | None:
    """``hostname`` as the A-label DNS name the verifier compares, or None if it is not one.

    Non-ASCII names are IDNA-encoded as the ``ssl`` module does; one trailing dot (a fully
    qualified name) is dropped; case does not matter (RFC 6125 §6.4.1).
    """
    name = hostname[:-1] if hostname.endswith(".") else hostname
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        return None
    return name.lower()


def _subject_for(hostname: str) -> x509.DNSName | x509.IPAddress:
    """The ``ServerVerifier`` subject for ``hostname``: an IP literal must match an iPAddress
    SAN, anything else a dNSName SAN (RFC 6125 §6.2, RFC 5280 §4.2.1.6)."""
    address = _ip_literal(hostname)
    if address is not None:
        return x509.IPAddress(address)
    name = _dns_name(hostname)
    if name is None:
        raise _error(
            V.HOSTNAME_MISMATCH,
            f"{hostname!r} is not a valid DNS host name, so no certificate can be valid for it",
            verify_message=f"Hostname mismatch, certificate is not valid for '{hostname}'.",
        )
    return x509.DNSName(name)


def _dns_pattern_matches(pattern: str, name: str) -> bool:
    """RFC 6125 §6.4.3 as ``cryptography`` implements it: exact (case-insensitive) or one
    ``*`` as the whole left-most label, matching exactly one label."""
    pattern = pattern.lower()
    if pattern.startswith("*."):
        parent = pattern[2:]
        if "." not in name or _dns_name(parent) is None:
            return False
        return name.split(".", 1)[1] == parent
    return _dns_name(pattern) is not None and pattern == name


def _name_mismatch(certificate: x509.Certificate, hostname: str) -> CertificateError | None:
    """A hostname/IP mismatch error if ``certificate`` is not valid for ``hostname``."""
    san = _extension(certificate, x509.SubjectAlternativeName)
    dns_names: list[str] = list(san.get_values_for_type(x509.DNSName)) if san else []
    addresses = list(san.get_values_for_type(x509.IPAddress)) if san else []
    address = _ip_literal(hostname)
    if address is not None:
        if address in addresses:
            return None
        code, what = V.IP_ADDRESS_MISMATCH, f"IP address {address}"
        verify_message = f"IP address mismatch, certificate is not valid for '{hostname}'."
    else:
        name = _dns_name(hostname)
        if name is not None and any(_dns_pattern_matches(p, name) for p in dns_names):
            return None
        code, what = V.HOSTNAME_MISMATCH, f"'{hostname}'"
        verify_message = f"Hostname mismatch, certificate is not valid for '{hostname}'."
    if san is None:
        detail = (
            "it has no subjectAltName extension, and the subject common name is not used, "
            "RFC 6125 §6.4.4"
        )
    else:
        listed = ", ".join(_san_names(certificate)) or "none usable"
        detail = f"names in it: {listed}"
    return _error(
        code,
        f"certificate {_name(certificate)} is not valid for {what} ({detail})",
        verify_message=verify_message,
    )


# -- verification ---------------------------------------------------------------------------------

_PURPOSES = {
    "server": (ExtendedKeyUsageOID.SERVER_AUTH, "TLS server authentication (serverAuth)"),
    "client": (ExtendedKeyUsageOID.CLIENT_AUTH, "TLS client authentication (clientAuth)"),
}
_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
}
_PURPOSE_MARK = "cytls purpose check: "


def _eku_list(usage: x509.ExtendedKeyUsage) -> str:
    return ", ".join(_EKU_NAMES.get(oid, oid.dotted_string) for oid in usage) or "nothing"


def _allows(
    usage: x509.ExtendedKeyUsage | None, purpose: x509.ObjectIdentifier, *, leaf: bool
) -> bool:
    """Whether a certificate's extendedKeyUsage allows ``purpose``. A leaf must name it: its
    anyExtendedKeyUsage alone does not do, as ServerVerifier and OpenSSL's purpose check
    (X509_PURPOSE_SSL_SERVER) refuse it, whether or not the host name is checked. A CA may
    allow any purpose."""
    if usage is None or purpose in usage:
        return True
    return not leaf and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usage


def _eku_validator(purpose: x509.ObjectIdentifier, *, leaf: bool) -> Callable[..., None]:
    def check(policy: Any, certificate: x509.Certificate, usage: Any) -> None:
        if not _allows(usage, purpose, leaf=leaf):
            raise ValueError(f"{_PURPOSE_MARK}extendedKeyUsage excludes {purpose.dotted_string}")

    return check


def _chain_verifier(
    store: TrustStore, when: datetime.datetime, purpose: str, directly_trusted: bool
) -> Any:
    """A verifier that checks the chain and the purpose but no name.

    ``ServerVerifier`` needs a subject to match, so without host name checking we use the
    client verifier (the same RFC 5280 path building and Web PKI profile, no name matching) and
    replace its extendedKeyUsage checks with ones that require ``purpose`` in the leaf and
    allow it in the CAs, exactly what ``ServerVerifier`` checks for serverAuth. The client
    profile's demand for a subjectAltName in the leaf is dropped: with no name to match there
    is nothing to look for (OpenSSL does not ask for one either). Expired, untrusted or
    mis-signed chains fail as they would with a name.
    """
    oid = _PURPOSES[purpose][0]
    ee = _leaf_policy(directly_trusted).may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )
    ee = ee.may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, _eku_validator(oid, leaf=True)
    )
    ca = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, _eku_validator(oid, leaf=False)
    )
    builder = PolicyBuilder().store(store.cryptography_store()).time(when)
    return builder.extension_policies(ca_policy=ca, ee_policy=ee).build_client_verifier()


def _leaf_policy(directly_trusted: bool) -> ExtensionPolicy:
    """The Web PKI leaf profile; relaxed for a leaf that is itself in the trust store.

    A certificate the user put in the trust store is trusted as it is (OpenSSL accepts it as its
    own trust anchor), so the checks on how a CA-issued leaf must look (an
    authorityKeyIdentifier, no cA flag, keyUsage bits) do not apply; the validity period,
    the name and the extendedKeyUsage still do.
    """
    policy = ExtensionPolicy.webpki_defaults_ee()
    if directly_trusted:
        for kind in (x509.AuthorityKeyIdentifier, x509.BasicConstraints, x509.KeyUsage):
            policy = policy.may_be_present(kind, Criticality.AGNOSTIC, None)
    return policy


def _verify(
    certificates: list[x509.Certificate],
    store: TrustStore,
    *,
    purpose: str,
    hostname: str | None,
    when: datetime.datetime,
) -> list[x509.Certificate]:
    leaf, intermediates = certificates[0], certificates[1:]
    if len(store) == 0:
        raise _diagnose(certificates, store, purpose, hostname, when, "the trust store is empty")
    directly_trusted = leaf in store
    try:
        if purpose == "server" and hostname is not None:
            subject = _subject_for(hostname)
            builder = PolicyBuilder().store(store.cryptography_store()).time(when)
            if directly_trusted:
                builder = builder.extension_policies(
                    ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                    ee_policy=_leaf_policy(True).require_present(
                        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
                    ),
                )
            path = builder.build_server_verifier(subject).verify(leaf, intermediates)
        elif purpose == "server":
            verifier = _chain_verifier(store, when, purpose, directly_trusted)
            path = verifier.verify(leaf, intermediates).chain
        else:
            ee = _leaf_policy(directly_trusted).may_be_present(
                x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
            )
            builder = PolicyBuilder().store(store.cryptography_store()).time(when)
            builder = builder.extension_policies(
                ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee
            )
            path = builder.build_client_verifier().verify(leaf, intermediates).chain
    except VerificationError as exc:
        raise _diagnose(certificates, store, purpose, hostname, when, str(exc)) from None
    problem = _check_leaf_key(path[0])
    if problem is not None:
        raise problem
    return list(path)


def _parse_chain(
    chain: Sequence[bytes], empty_alert: AlertDescription, who: str
) -> list[x509.Certificate]:
    if not chain:
        raise _error(
            V.UNSPECIFIED,
            f"the {who} sent no certificate (RFC 8446 §4.4.2.4)",
            alert=empty_alert,
            verify_message=f"the {who} sent no certificate",
        )
    certificates = []
    for index, der in enumerate(chain):
        try:
            certificates.append(load_der_certificate(bytes(der)))
        except (ValueError, x509.InvalidVersion) as exc:
            position = "leaf certificate" if index == 0 else f"certificate #{index} of the chain"
            raise _error(
                V.UNSPECIFIED,
                f"the {who}'s {position} is not a valid DER X.509 certificate ({exc})",
                alert=A.bad_certificate,
                verify_message="malformed certificate",
            ) from exc
    return certificates


def _validation_time(now: datetime.datetime | None) -> datetime.datetime:
    if now is None:
        return datetime.datetime.now(UTC).replace(microsecond=0)
    if now.tzinfo is None:
        return now.replace(tzinfo=UTC)
    return now.astimezone(UTC)


VERIFIED_PATH_CACHE_SIZE = 256

# (purpose, name or None, the chain's DER certificates): everything a verdict depends on
# besides the trust store (whose changes clear the cache) and the time (checked on use).
VerificationKey: TypeAlias = tuple[str, str | None, tuple[bytes, ...]]


@dataclass(frozen=True, slots=True)
class VerifiedPath:
    path: tuple[x509.Certificate, ...]
    not_before: datetime.datetime
    not_after: datetime.datetime


def verify_server_chain(
    chain: Sequence[bytes],
    store: TrustStore,
    *,
    hostname: str | None,
    check_hostname: bool,
    now: datetime.datetime | None = None,
) -> list[x509.Certificate]:
    """Validate the server's certificate chain (DER, leaf first); return the verified path.

    The path runs from the leaf to a trust anchor in ``store``. With ``check_hostname`` and a
    ``hostname``, the leaf must be valid for it: an IP literal must match an iPAddress SAN, a
    name a dNSName SAN (wildcards as RFC 6125 §6.4.3 allows). Without, the chain, its dates and
    the serverAuth purpose are still checked (see :func:`_chain_verifier`). ``now`` (default:
    the current time) is the validation time; naive values are taken as UTC.

    Every failure is a :class:`~cytls.errors.CertificateError` carrying the alert to send, the
    OpenSSL ``X509_V_ERR_*`` code and text, and a message naming the certificate at fault. An
    empty chain is decode_error (RFC 8446 §4.4.2.4).
    """
    name = hostname if check_hostname else None
    return _verify_cached(chain, store, purpose="server", hostname=name, now=now)


def verify_client_chain(
    chain: Sequence[bytes], store: TrustStore, *, now: datetime.datetime | None = None
) -> list[x509.Certificate]:
    """Validate a client's certificate chain (DER, leaf first); return the verified path.

    Like :func:`verify_server_chain` with the clientAuth purpose and no name; the leaf needs no
    subjectAltName. An empty chain is certificate_required (RFC 8446 §4.4.2.4, the server
    requires a certificate when it calls this).
    """
    return _verify_cached(chain, store, purpose="client", hostname=None, now=now)


def _verify_cached(
    chain: Sequence[bytes],
    store: TrustStore,
    *,
    purpose: str,
    hostname: str | None,
    now: datetime.datetime | None,
) -> list[x509.Certificate]:
    """Verify, or reuse the store's verdict on the same chain bytes, name and purpose."""
    when = _validation_time(now)
    key: VerificationKey = (purpose, hostname, tuple(bytes(der) for der in chain))
    cached = store.cached_path(key, when)
    if cached is not None:
        return cached
    # RFC 8446 §4.4.2.4: an empty server chain is decode_error; a server that calls this for a
    # client requires a certificate, so an empty client chain is certificate_required.
    empty = A.decode_error if purpose == "server" else A.certificate_required
    certificates = _parse_chain(chain, empty, purpose)
    path = _verify_parsed(certificates, store, purpose=purpose, hostname=hostname, when=when)
    store.remember_path(key, path)
    return path


def _verify_parsed(
    certificates: list[x509.Certificate],
    store: TrustStore,
    *,
    purpose: str,
    hostname: str | None,
    when: datetime.datetime,
) -> list[x509.Certificate]:
    """``_verify``, with fields that only fail when read (cryptography parses certificates
    lazily: a bad subject surfaces on first access) turned into bad_certificate."""
    try:
        return _verify(certificates, store, purpose=purpose, hostname=hostname, when=when)
    except (ValueError, x509.InvalidVersion, UnsupportedAlgorithm) as exc:
        if isinstance(exc, CertificateError):
            raise
        raise _error(
            V.UNSPECIFIED,
            f"the {purpose}'s certificate chain holds a malformed certificate ({exc})",
            alert=A.bad_certificate,
            verify_message="malformed certificate",
        ) from None


# -- diagnosis -------------------------------------------------------------------------------------


def _key_identifier(certificate: x509.Certificate, kind: type[Any]) -> bytes | None:
    value = _extension(certificate, kind)
    if value is None:
        return None
    return getattr(value, "key_identifier", None) or getattr(value, "digest", None)


def _could_issue(issuer: x509.Certificate, child: x509.Certificate) -> bool:
    """Name chaining plus the key identifier check OpenSSL's X509_check_issued makes."""
    if issuer.subject != child.issuer:
        return False
    wanted = _key_identifier(child, x509.AuthorityKeyIdentifier)
    have = _key_identifier(issuer, x509.SubjectKeyIdentifier)
    return wanted is None or have is None or wanted == have


def _signed_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _valid_at(certificate: x509.Certificate, when: datetime.datetime) -> bool:
    return certificate.not_valid_before_utc <= when <= certificate.not_valid_after_utc


def _pick_issuer(
    child: x509.Certificate, candidates: Iterable[x509.Certificate], when: datetime.datetime
) -> x509.Certificate | None:
    """The likeliest issuer of ``child``: one that signed it and is valid now, else one that
    signed it, else one whose name and key identifier fit (its signature then fails later)."""
    fitting = [candidate for candidate in candidates if _could_issue(candidate, child)]
    signed = [candidate for candidate in fitting if _signed_by(child, candidate)]
    current = [candidate for candidate in signed if _valid_at(candidate, when)]
    for group in (current, signed, fitting):
        if group:
            return group[0]
    return None


def _self_issued(certificate: x509.Certificate) -> bool:
    return _could_issue(certificate, certificate)


def _build_path(
    certificates: list[x509.Certificate], store: TrustStore, when: datetime.datetime
) -> tuple[list[x509.Certificate], CertificateError | None]:
    """OpenSSL's build_chain, simplified: from the leaf, issuer by issuer, to a trusted
    certificate; or the error that stops it (18, 19 or 20)."""
    path = [certificates[0]]
    untrusted = certificates[1:]
    trusted = store.certificates
    while True:
        current = path[-1]
        if current in store:
            return path, None
        anchor = _pick_issuer(current, trusted, when)
        if anchor is not None:
            path.append(anchor)
            return path, None
        if _self_issued(current):
            if len(path) == 1:
                return path, _error(
                    V.DEPTH_ZERO_SELF_SIGNED_CERT,
                    f"self-signed certificate {_name(current)} is not trusted (it is not in "
                    "the trust store)",
                )
            return path, _error(
                V.SELF_SIGNED_CERT_IN_CHAIN,
                f"self-signed certificate in certificate chain: {_name(current)} is not a "
                "trusted CA",
            )
        issuer = _pick_issuer(current, [c for c in untrusted if c not in path], when)
        if issuer is None:
            why = (
                "no CA certificates are trusted: the trust store is empty"
                if len(store) == 0
                else f"issuer {_quote_name(current.issuer)} is not a trusted CA"
            )
            return path, _error(
                V.UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
                f"unable to get local issuer certificate for {_name(current)} ({why})",
            )
        if len(path) > 32:
            return path, _error(
                V.CERT_CHAIN_TOO_LONG, f"certificate chain too long at {_name(current)}"
            )
        path.append(issuer)


def _check_extensions(path: list[x509.Certificate], purpose: str) -> CertificateError | None:
    """OpenSSL's check_chain_extensions, leaf first: purpose, CA flag, path length."""
    oid, words = _PURPOSES[purpose]
    intermediates_below = 0
    for depth, certificate in enumerate(path):
        usage = _extension(certificate, x509.ExtendedKeyUsage)
        if not _allows(usage, oid, leaf=depth == 0):
            role = "certificate" if depth == 0 else "CA certificate"
            return _error(
                V.INVALID_PURPOSE,
                f"{role} {_name(certificate)} is not valid for {words}: its extendedKeyUsage "
                f"allows {_eku_list(usage)}",
            )
        if depth == 0:
            # A trusted leaf may say anything; an issued one must not claim to be a CA (the
            # Web PKI leaf profile; OpenSSL lets it pass).
            constraints = _extension(certificate, x509.BasicConstraints)
            if len(path) > 1 and constraints is not None and constraints.ca:
                return _error(
                    V.INVALID_NON_CA,
                    f"leaf certificate {_name(certificate)} is a CA certificate "
                    "(basicConstraints cA=TRUE), which cannot identify a TLS peer",
                )
            continue
        constraints = _extension(certificate, x509.BasicConstraints)
        if constraints is None or not constraints.ca:
            return _error(
                V.INVALID_CA,
                f"certificate {_name(certificate)} issued {_name(path[depth - 1])} but is "
                "not a CA certificate (basicConstraints cA is not set)",
            )
        key_usage = _extension(certificate, x509.KeyUsage)
        if key_usage is not None and not key_usage.key_cert_sign:
            return _error(
                V.KEYUSAGE_NO_CERTSIGN,
                f"CA certificate {_name(certificate)} may not sign certificates (its keyUsage "
                "lacks keyCertSign)",
            )
        if constraints.path_length is not None and intermediates_below > constraints.path_length:
            return _error(
                V.PATH_LENGTH_EXCEEDED,
                f"CA certificate {_name(certificate)} allows {constraints.path_length} "
                f"intermediate CA certificate(s) below it (pathLenConstraint), the chain "
                f"has {intermediates_below}",
            )
        if not _self_issued(certificate):
            intermediates_below += 1
    return None


def _check_leaf_key(leaf: x509.Certificate) -> CertificateError | None:
    """The leaf's key must be able to sign a TLS 1.3 CertificateVerify and be strong enough
    (OpenSSL security level 2, the ``ssl`` module's default, asks for 2048-bit RSA)."""
    key = _public_key(leaf)
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MINIMUM_RSA_BITS:
            return _error(
                V.EE_KEY_TOO_SMALL,
                f"certificate {_name(leaf)} has a {key.key_size}-bit RSA key; at least "
                f"{MINIMUM_RSA_BITS} bits are required",
            )
        return None
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in (
        "secp256r1",
        "secp384r1",
        "secp521r1",
    ):
        return None
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return None
    what = _describe_key(key) if key is not None else "unreadable"
    return _error(
        V.UNSPECIFIED,
        f"certificate {_name(leaf)} has {_a(what)} public key, which cannot sign in TLS 1.3 "
        "(RFC 8446 §4.2.3: RSA, ECDSA P-256/P-384/P-521, Ed25519 or Ed448)",
        alert=A.unsupported_certificate,
    )


_CA_KEY_ALGORITHMS = "RSA and ECDSA P-256/P-384/P-521 keys"
_WEAK_HASHES = (hashes.SHA1, hashes.MD5)
_PERMITTED_SIGNATURE_HASHES = (hashes.SHA256, hashes.SHA384, hashes.SHA512)


def _check_keys(path: list[x509.Certificate]) -> CertificateError | None:
    """OpenSSL's check_auth_level (key sizes, digests) and the Web PKI algorithm rules that
    ``cryptography`` applies to CA keys and certificate signatures (CA/B Forum BR §7.1.3)."""
    problem = _check_leaf_key(path[0])
    if problem is not None:
        return problem
    for depth, certificate in enumerate(path):
        if depth > 0:
            key = _public_key(certificate)
            if isinstance(key, rsa.RSAPublicKey) and key.key_size < MINIMUM_RSA_BITS:
                return _error(
                    V.CA_KEY_TOO_SMALL,
                    f"CA certificate {_name(certificate)} has a {key.key_size}-bit RSA key; "
                    f"at least {MINIMUM_RSA_BITS} bits are required",
                )
            curve_ok = isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in (
                "secp256r1",
                "secp384r1",
                "secp521r1",
            )
            rsa_ok = (
                isinstance(key, rsa.RSAPublicKey)
                and certificate.public_key_algorithm_oid != RSASSA_PSS_OID
            )
            if not (curve_ok or rsa_ok):
                if isinstance(key, rsa.RSAPublicKey):
                    what = "RSASSA-PSS"
                else:
                    what = _describe_key(key) if key is not None else "unreadable"
                return _error(
                    V.UNSPECIFIED,
                    f"CA certificate {_name(certificate)} has {_a(what)} key; certificate "
                    f"validation (the Web PKI profile) accepts only {_CA_KEY_ALGORITHMS} "
                    "for CAs",
                    alert=A.unsupported_certificate,
                )
        if depth == len(path) - 1:
            break  # the anchor's own signature is not checked
        try:
            algorithm = certificate.signature_hash_algorithm
        except UnsupportedAlgorithm:
            return _error(
                V.UNSPECIFIED,
                f"certificate {_name(certificate)} is signed with an algorithm that "
                "certificate validation does not support "
                f"({certificate.signature_algorithm_oid.dotted_string})",
                alert=A.unsupported_certificate,
            )
        if isinstance(algorithm, _WEAK_HASHES):
            return _error(
                V.CA_MD_TOO_WEAK,
                f"certificate {_name(certificate)} is signed with {algorithm.name.upper()}, "
                "which is too weak",
            )
        if algorithm is not None and not isinstance(algorithm, _PERMITTED_SIGNATURE_HASHES):
            return _error(
                V.UNSPECIFIED,
                f"certificate {_name(certificate)} is signed with {algorithm.name}, which "
                "certificate validation does not accept (SHA-256, SHA-384 or SHA-512 only)",
                alert=A.unsupported_certificate,
            )
    return None


def _check_signatures_and_dates(
    path: list[x509.Certificate], when: datetime.datetime
) -> CertificateError | None:
    """OpenSSL's internal_verify: from the anchor down, each signature, then each date."""
    for depth in range(len(path) - 1, -1, -1):
        certificate = path[depth]
        if depth < len(path) - 1:
            issuer = path[depth + 1]
            if not _signed_by(certificate, issuer):
                return _error(
                    V.CERT_SIGNATURE_FAILURE,
                    f"the signature on certificate {_name(certificate)} does not verify with "
                    f"the key of its issuer {_name(issuer)}",
                )
        if when < certificate.not_valid_before_utc:
            return _error(
                V.CERT_NOT_YET_VALID,
                f"certificate {_name(certificate)} is not valid before "
                f"{_utc(certificate.not_valid_before_utc)}",
            )
        if when > certificate.not_valid_after_utc:
            return _error(
                V.CERT_HAS_EXPIRED,
                f"certificate {_name(certificate)} expired at "
                f"{_utc(certificate.not_valid_after_utc)}",
            )
    return None


# What cryptography's VerificationError says -> (X509_V_ERR code, alert if not OpenSSL's).
# Only reached when the diagnosis above finds nothing; the texts are those of
# cryptography-x509-verification (src/rust/cryptography-x509-verification/src/policy).
_MESSAGE_MAP: list[tuple[str, int, AlertDescription | None]] = [
    ("no matching subjectAltName", V.HOSTNAME_MISMATCH, None),
    ("has no subjectAltName", V.EMPTY_SUBJECT_ALT_NAME, None),
    ("2.5.29.17: Certificate is missing", V.EMPTY_SUBJECT_ALT_NAME, None),
    ("no permitted name constraints matched", V.PERMITTED_VIOLATION, None),
    ("excluded name constraint matched", V.EXCLUDED_VIOLATION, None),
    ("path length constraint violated", V.PATH_LENGTH_EXCEEDED, None),
    ("basicConstraints.cA must be asserted", V.INVALID_CA, None),
    ("basicConstraints.cA must not be asserted", V.INVALID_NON_CA, None),
    ("keyUsage.keyCertSign must be asserted", V.KEYUSAGE_NO_CERTSIGN, None),
    ("2.5.29.15: Certificate is missing", V.CA_CERT_MISSING_KEY_USAGE, None),
    ("EE keyUsage must not assert keyCertSign", V.KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA, None),
    ("subjectAltName MUST be critical", V.EMPTY_SUBJECT_SAN_NOT_CRITICAL, None),
    ("required EKU not found", V.INVALID_PURPOSE, None),
    ("Neither EKU nor anyEKU", V.INVALID_PURPOSE, None),
    (_PURPOSE_MARK, V.INVALID_PURPOSE, None),
    ("signature does not match", V.CERT_SIGNATURE_FAILURE, None),
    ("RSA key is too weak", V.CA_KEY_TOO_SMALL, None),
    ("Forbidden public key algorithm", V.UNSPECIFIED, A.unsupported_certificate),
    ("Forbidden signature algorithm", V.UNSPECIFIED, A.unsupported_certificate),
    ("2.5.29.35: Certificate is missing", V.MISSING_AUTHORITY_KEY_IDENTIFIER, None),
    ("X509v3", V.EXTENSIONS_REQUIRE_VERSION_3, None),
    ("Exceeded maximum", V.CERT_CHAIN_TOO_LONG, None),
    ("exceeds max depth", V.CERT_CHAIN_TOO_LONG, None),
    ("candidates exhausted with no interior errors", V.UNABLE_TO_GET_ISSUER_CERT_LOCALLY, None),
    ("invalid extension", V.INVALID_EXTENSION, None),
]


def _from_message(detail: str, leaf: x509.Certificate) -> CertificateError:
    """Map a ``VerificationError`` the diagnosis could not explain by its text."""
    text = detail.removeprefix("validation failed: ")
    text = re.sub(r" \(encountered processing <Certificate\(.*$", "", text)
    for fragment, code, alert in _MESSAGE_MAP:
        if fragment in detail:
            return _error(
                code,
                f"certificate verification failed for {_name(leaf)}: {text}",
                alert=alert,
                verify_message=None if code != V.UNSPECIFIED else text,
            )
    return _error(
        V.UNSPECIFIED,
        f"certificate verification failed for {_name(leaf)}: {text}",
        alert=A.certificate_unknown,
        verify_message=text,
    )


def _duplicate_extension(certificates: list[x509.Certificate]) -> CertificateError | None:
    """bad_certificate for a certificate with an extension that appears twice (RFC 5280
    §4.2): it is malformed, and none of its extensions can be read to diagnose further."""
    for index, certificate in enumerate(certificates):
        try:
            certificate.extensions  # noqa: B018 - parsed on first access
        except x509.DuplicateExtension as exc:
            position = "leaf certificate" if index == 0 else f"certificate #{index} of the chain"
            return _error(
                V.UNSPECIFIED,
                f"the {position} is malformed: {exc} (RFC 5280 §4.2)",
                alert=A.bad_certificate,
                verify_message="malformed certificate",
            )
        except (*_UNDECODABLE, x509.UnsupportedGeneralNameType):
            continue  # diagnosed below
    return None


def _diagnose(
    certificates: list[x509.Certificate],
    store: TrustStore,
    purpose: str,
    hostname: str | None,
    when: datetime.datetime,
    detail: str,
) -> CertificateError:
    """Why ``cryptography`` rejected the chain, in OpenSSL's terms and order.

    X509_verify_cert (crypto/x509/x509_vfy.c, verify_chain) builds the chain first, then
    checks extensions and purpose, key strength, the host name, and last signatures and dates
    (internal_verify); the first failure is the one reported, so an expired certificate from
    an unknown CA is reported as the unknown CA, and an expired certificate for the wrong name
    as the wrong name, as the ``ssl`` module does.
    """
    problem = _duplicate_extension(certificates)
    if problem is not None:
        return problem
    path, problem = _build_path(certificates, store, when)
    if problem is None:
        problem = _check_extensions(path, purpose)
    if problem is None:
        problem = _check_keys(path)
    if problem is None and hostname is not None:
        problem = _name_mismatch(path[0], hostname)
    if problem is None:
        problem = _check_signatures_and_dates(path, when)
    if problem is None:
        problem = _from_message(detail, certificates[0])
    return problem


# -- getpeercert() ---------------------------------------------------------------------------------

# OpenSSL's long names (OBJ_nid2ln), which ssl's getpeercert() uses for name attributes.
_ATTRIBUTE_NAMES: dict[str, str] = {
    NameOID.COMMON_NAME.dotted_string: "commonName",
    NameOID.COUNTRY_NAME.dotted_string: "countryName",
    NameOID.LOCALITY_NAME.dotted_string: "localityName",
    NameOID.STATE_OR_PROVINCE_NAME.dotted_string: "stateOrProvinceName",
    NameOID.STREET_ADDRESS.dotted_string: "streetAddress",
    NameOID.ORGANIZATION_NAME.dotted_string: "organizationName",
    NameOID.ORGANIZATIONAL_UNIT_NAME.dotted_string: "organizationalUnitName",
    NameOID.SERIAL_NUMBER.dotted_string: "serialNumber",
    NameOID.SURNAME.dotted_string: "surname",
    NameOID.GIVEN_NAME.dotted_string: "givenName",
    NameOID.TITLE.dotted_string: "title",
    NameOID.INITIALS.dotted_string: "initials",
    NameOID.GENERATION_QUALIFIER.dotted_string: "generationQualifier",
    NameOID.X500_UNIQUE_IDENTIFIER.dotted_string: "x500UniqueIdentifier",
    NameOID.DN_QUALIFIER.dotted_string: "dnQualifier",
    NameOID.PSEUDONYM.dotted_string: "pseudonym",
    NameOID.USER_ID.dotted_string: "userId",
    NameOID.DOMAIN_COMPONENT.dotted_string: "domainComponent",
    NameOID.EMAIL_ADDRESS.dotted_string: "emailAddress",
    NameOID.JURISDICTION_COUNTRY_NAME.dotted_string: "jurisdictionCountryName",
    NameOID.JURISDICTION_LOCALITY_NAME.dotted_string: "jurisdictionLocalityName",
    NameOID.JURISDICTION_STATE_OR_PROVINCE_NAME.dotted_string: "jurisdictionStateOrProvinceName",
    NameOID.BUSINESS_CATEGORY.dotted_string: "businessCategory",
    NameOID.POSTAL_ADDRESS.dotted_string: "postalAddress",
    NameOID.POSTAL_CODE.dotted_string: "postalCode",
    NameOID.UNSTRUCTURED_NAME.dotted_string: "unstructuredName",
    NameOID.ORGANIZATION_IDENTIFIER.dotted_string: "organizationIdentifier",
    "2.5.4.13": "description",
    "2.5.4.14": "searchGuide",
    "2.5.4.18": "postOfficeBox",
    "2.5.4.20": "telephoneNumber",
    "2.5.4.26": "registeredAddress",
    "2.5.4.41": "name",
    "2.5.4.51": "houseIdentifier",
    "2.5.4.72": "role",
    "0.9.2342.19200300.100.1.3": "rfc822Mailbox",
    "1.2.840.113549.1.9.8": "unstructuredAddress",
    "1.2.643.100.1": "OGRN",
    "1.2.643.100.3": "SNILS",
    "1.2.643.3.131.1.1": "INN",
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _oid_text(oid: x509.ObjectIdentifier) -> str:
    """OBJ_obj2txt(no_name=0): OpenSSL's long name if it has one, else the dotted form."""
    return _ATTRIBUTE_NAMES.get(oid.dotted_string, oid.dotted_string)


def _attribute_value(value: str | bytes) -> str:
    if isinstance(value, bytes):  # a BIT STRING (x500UniqueIdentifier): ASN1_STRING_to_UTF8
        return value.decode("latin-1")
    return value


def _name_tuple(name: x509.Name) -> tuple[tuple[tuple[str, str], ...], ...]:
    """``_create_tuple_for_X509_NAME``: one tuple per RDN, of (long name, value) pairs."""
    return tuple(
        tuple((_oid_text(attribute.oid), _attribute_value(attribute.value)) for attribute in rdn)
        for rdn in name.rdns
    )


def _openssl_time(moment: datetime.datetime) -> str:
    """ASN1_TIME_print: ``Jan  5 09:34:43 2018 GMT``."""
    moment = moment.astimezone(UTC)
    return (
        f"{_MONTHS[moment.month - 1]} {moment.day:2d} {moment.hour:02d}:{moment.minute:02d}:"
        f"{moment.second:02d} {moment.year} GMT"
    )


def _openssl_serial(serial: int) -> str:
    """i2a_ASN1_INTEGER as ``BIO_gets`` reads it back: upper-case hex of the magnitude, two
    digits per octet, a leading '-' if negative, and a line break after 35 octets."""
    magnitude = abs(serial)
    octets = magnitude.to_bytes(max(1, (magnitude.bit_length() + 7) // 8), "big")
    text = "-" if serial < 0 else ""
    if len(octets) > 35:
        return text + octets[:35].hex().upper() + "\\\n"
    return text + octets.hex().upper()


def _ipv6_text(address: ipaddress.IPv6Address) -> str:
    packed = address.packed
    return ":".join(f"{(packed[i] << 8) | packed[i + 1]:X}" for i in range(0, 16, 2))


def _general_name(name: x509.GeneralName) -> tuple[str, Any]:
    """One subjectAltName entry as ``_get_peer_alt_names`` renders it."""
    if isinstance(name, x509.DNSName):
        return ("DNS", name.value)
    if isinstance(name, x509.RFC822Name):
        return ("email", name.value)
    if isinstance(name, x509.UniformResourceIdentifier):
        return ("URI", name.value)
    if isinstance(name, x509.DirectoryName):
        return ("DirName", _name_tuple(name.value))
    if isinstance(name, x509.RegisteredID):
        return ("Registered ID", _oid_text(name.value))
    if isinstance(name, x509.IPAddress):
        address = name.value
        if isinstance(address, ipaddress.IPv4Address):
            return ("IP Address", str(address))
        if isinstance(address, ipaddress.IPv6Address):
            return ("IP Address", _ipv6_text(address))
        return ("IP Address", "<invalid>")
    # OtherName: GENERAL_NAME_print writes "othername:<unsupported>" for types it does not know
    return ("othername", "<unsupported>")


def _uris(names: Iterable[x509.GeneralName]) -> list[str]:
    return [name.value for name in names if isinstance(name, x509.UniformResourceIdentifier)]


def certificate_to_dict(cert: x509.Certificate) -> dict[str, Any]:
    """The certificate as ``ssl.SSLSocket.getpeercert()`` returns it (CPython's
    ``_decode_certificate`` in Modules/_ssl.c, with OpenSSL's formatting).

    Keys: subject, issuer, version, serialNumber, notBefore, notAfter, and when present
    subjectAltName, OCSP, caIssuers, crlDistributionPoints.
    """
    result: dict[str, Any] = {
        "subject": _name_tuple(cert.subject),
        "issuer": _name_tuple(cert.issuer),
        "version": cert.version.value + 1,
        "serialNumber": _openssl_serial(cert.serial_number),
        "notBefore": _openssl_time(cert.not_valid_before_utc),
        "notAfter": _openssl_time(cert.not_valid_after_utc),
    }
    san = _extension(cert, x509.SubjectAlternativeName)
    if san is not None:
        result["subjectAltName"] = tuple(_general_name(name) for name in san)
    access = _extension(cert, x509.AuthorityInformationAccess)
    if access is not None:
        for key, method in (
            ("OCSP", x509.AuthorityInformationAccessOID.OCSP),
            ("caIssuers", x509.AuthorityInformationAccessOID.CA_ISSUERS),
        ):
            uris = _uris(d.access_location for d in access if d.access_method == method)
            if uris:
                result[key] = tuple(uris)
    points = _extension(cert, x509.CRLDistributionPoints)
    if points is not None:
        uris = []
        for point in points:
            if point.full_name is not None:
                uris += _uris(point.full_name)
        if uris:
            result["crlDistributionPoints"] = tuple(uris)
    return result

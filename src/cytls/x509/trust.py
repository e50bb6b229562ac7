"""The trust store: the certificates we trust as anchors, and its cache of verified paths.

The CA side of an ``ssl.SSLContext`` (``load_verify_locations``, ``load_default_certs``,
``cert_store_stats``, ``get_ca_certs``) and what a server lists in certificate_authorities. It
is separate from verification because the context and the handshake hold a store without
verifying anything (a server that does not ask for client certificates), and because it is
what verification depends on, never the reverse. The cache of verified paths lives here with
its key and entry types because the store owns it: adding an anchor can change any verdict, so
:meth:`TrustStore.add` clears it.
"""

from __future__ import annotations

import datetime
import os
import ssl
import sys
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import Store

from cytls.errors import TLSError
from cytls.x509.loading import (
    _UNDECODABLE,
    StrPath,
    _certificates_from_der,
    _certificates_from_pem,
    _display,
    _extension,
    _lenient_certificates,
    _read,
    load_der_certificate,
)

__all__ = ["VERIFIED_PATH_CACHE_SIZE", "TrustStore", "VerificationKey", "VerifiedPath"]


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


def _is_ca(certificate: x509.Certificate) -> bool:
    constraints = _extension(certificate, x509.BasicConstraints)
    return bool(constraints is not None and constraints.ca)


# -- the cache of verified paths ----------------------------------------------------------------

VERIFIED_PATH_CACHE_SIZE = 256

# (purpose, name or None, the chain's DER certificates): everything a verdict depends on
# besides the trust store (whose changes clear the cache) and the time (checked on use).
VerificationKey: TypeAlias = tuple[str, str | None, tuple[bytes, ...]]


@dataclass(frozen=True, slots=True)
class VerifiedPath:
    path: tuple[x509.Certificate, ...]
    not_before: datetime.datetime
    not_after: datetime.datetime

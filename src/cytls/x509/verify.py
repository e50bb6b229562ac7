"""Chain verification: a peer's chain to a trust anchor, and why it failed when it does.

Path validation is ``cryptography.x509.verification`` (RFC 5280 path building with the CA/Browser
Forum Web PKI profile; RFC 6125 name matching). This module adds what a TLS stack needs around it:

- Errors that say what failed: ``VerificationError`` only carries a string, so when it rejects a
  chain, :func:`_diagnose` walks the chain the way OpenSSL's ``X509_verify_cert`` does (build the
  path to a trust anchor, then check CA flags and purposes, key sizes, the host name, and finally
  signatures and validity dates from the anchor down) and reports the first problem with
  OpenSSL's ``X509_V_ERR_*`` code, OpenSSL's text and the alert OpenSSL would send
  (:mod:`cytls.x509.errors`). The diagnosis never turns a rejection into an acceptance: it only
  names the reason.
- Verification without host name checking (``check_hostname=False``), which
  ``ServerVerifier`` cannot do (it requires a subject). See :func:`_chain_verifier`.
- Trust in a certificate that is itself in the trust store (a self-signed server certificate
  loaded as the CA file, as ``ssl`` users do), which the Web PKI leaf profile would reject for
  lacking an authorityKeyIdentifier or for saying ``cA=TRUE``.
- A verdict reused for the next connection that presents the same chain (the trust store's
  cache, :mod:`cytls.x509.trust`).

It is the top of the package: it uses the trust store, the host name rules and the error codes,
and nothing below it depends on it, so the parts that the context and the I/O adapters need
without verifying (loading, the store, ``getpeercert()``) do not pull it in.

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
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    VerificationError,
)

from cytls.crypto.signatures import MINIMUM_RSA_BITS, RSASSA_PSS_OID
from cytls.errors import CertificateError
from cytls.wire.enums import AlertDescription
from cytls.x509.errors import X509VerifyError, _error, _name, _quote_name
from cytls.x509.hostname import _name_mismatch, _subject_for
from cytls.x509.loading import _UNDECODABLE, _extension, load_der_certificate
from cytls.x509.trust import TrustStore, VerificationKey

__all__ = ["verify_client_chain", "verify_server_chain"]


# -- describing certificates in messages ---------------------------------------------------------


def _utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


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
            X509VerifyError.UNSPECIFIED,
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
                X509VerifyError.UNSPECIFIED,
                f"the {who}'s {position} is not a valid DER X.509 certificate ({exc})",
                alert=AlertDescription.bad_certificate,
                verify_message="malformed certificate",
            ) from exc
    return certificates


def _validation_time(now: datetime.datetime | None) -> datetime.datetime:
    if now is None:
        return datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    if now.tzinfo is None:
        return now.replace(tzinfo=datetime.UTC)
    return now.astimezone(datetime.UTC)


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
    empty = (
        AlertDescription.decode_error
        if purpose == "server"
        else AlertDescription.certificate_required
    )
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
            X509VerifyError.UNSPECIFIED,
            f"the {purpose}'s certificate chain holds a malformed certificate ({exc})",
            alert=AlertDescription.bad_certificate,
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
                    X509VerifyError.DEPTH_ZERO_SELF_SIGNED_CERT,
                    f"self-signed certificate {_name(current)} is not trusted (it is not in "
                    "the trust store)",
                )
            return path, _error(
                X509VerifyError.SELF_SIGNED_CERT_IN_CHAIN,
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
                X509VerifyError.UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
                f"unable to get local issuer certificate for {_name(current)} ({why})",
            )
        if len(path) > 32:
            return path, _error(
                X509VerifyError.CERT_CHAIN_TOO_LONG,
                f"certificate chain too long at {_name(current)}",
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
                X509VerifyError.INVALID_PURPOSE,
                f"{role} {_name(certificate)} is not valid for {words}: its extendedKeyUsage "
                f"allows {_eku_list(usage)}",
            )
        if depth == 0:
            # A trusted leaf may say anything; an issued one must not claim to be a CA (the
            # Web PKI leaf profile; OpenSSL lets it pass).
            constraints = _extension(certificate, x509.BasicConstraints)
            if len(path) > 1 and constraints is not None and constraints.ca:
                return _error(
                    X509VerifyError.INVALID_NON_CA,
                    f"leaf certificate {_name(certificate)} is a CA certificate "
                    "(basicConstraints cA=TRUE), which cannot identify a TLS peer",
                )
            continue
        constraints = _extension(certificate, x509.BasicConstraints)
        if constraints is None or not constraints.ca:
            return _error(
                X509VerifyError.INVALID_CA,
                f"certificate {_name(certificate)} issued {_name(path[depth - 1])} but is "
                "not a CA certificate (basicConstraints cA is not set)",
            )
        key_usage = _extension(certificate, x509.KeyUsage)
        if key_usage is not None and not key_usage.key_cert_sign:
            return _error(
                X509VerifyError.KEYUSAGE_NO_CERTSIGN,
                f"CA certificate {_name(certificate)} may not sign certificates (its keyUsage "
                "lacks keyCertSign)",
            )
        if constraints.path_length is not None and intermediates_below > constraints.path_length:
            return _error(
                X509VerifyError.PATH_LENGTH_EXCEEDED,
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
                X509VerifyError.EE_KEY_TOO_SMALL,
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
        X509VerifyError.UNSPECIFIED,
        f"certificate {_name(leaf)} has {_a(what)} public key, which cannot sign in TLS 1.3 "
        "(RFC 8446 §4.2.3: RSA, ECDSA P-256/P-384/P-521, Ed25519 or Ed448)",
        alert=AlertDescription.unsupported_certificate,
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
                    X509VerifyError.CA_KEY_TOO_SMALL,
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
                    X509VerifyError.UNSPECIFIED,
                    f"CA certificate {_name(certificate)} has {_a(what)} key; certificate "
                    f"validation (the Web PKI profile) accepts only {_CA_KEY_ALGORITHMS} "
                    "for CAs",
                    alert=AlertDescription.unsupported_certificate,
                )
        if depth == len(path) - 1:
            break  # the anchor's own signature is not checked
        try:
            algorithm = certificate.signature_hash_algorithm
        except UnsupportedAlgorithm:
            return _error(
                X509VerifyError.UNSPECIFIED,
                f"certificate {_name(certificate)} is signed with an algorithm that "
                "certificate validation does not support "
                f"({certificate.signature_algorithm_oid.dotted_string})",
                alert=AlertDescription.unsupported_certificate,
            )
        if isinstance(algorithm, _WEAK_HASHES):
            return _error(
                X509VerifyError.CA_MD_TOO_WEAK,
                f"certificate {_name(certificate)} is signed with {algorithm.name.upper()}, "
                "which is too weak",
            )
        if algorithm is not None and not isinstance(algorithm, _PERMITTED_SIGNATURE_HASHES):
            return _error(
                X509VerifyError.UNSPECIFIED,
                f"certificate {_name(certificate)} is signed with {algorithm.name}, which "
                "certificate validation does not accept (SHA-256, SHA-384 or SHA-512 only)",
                alert=AlertDescription.unsupported_certificate,
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
                    X509VerifyError.CERT_SIGNATURE_FAILURE,
                    f"the signature on certificate {_name(certificate)} does not verify with "
                    f"the key of its issuer {_name(issuer)}",
                )
        if when < certificate.not_valid_before_utc:
            return _error(
                X509VerifyError.CERT_NOT_YET_VALID,
                f"certificate {_name(certificate)} is not valid before "
                f"{_utc(certificate.not_valid_before_utc)}",
            )
        if when > certificate.not_valid_after_utc:
            return _error(
                X509VerifyError.CERT_HAS_EXPIRED,
                f"certificate {_name(certificate)} expired at "
                f"{_utc(certificate.not_valid_after_utc)}",
            )
    return None


# What cryptography's VerificationError says -> (X509_V_ERR code, alert if not OpenSSL's).
# Only reached when the diagnosis above finds nothing; the texts are those of
# cryptography-x509-verification (src/rust/cryptography-x509-verification/src/policy).
_MESSAGE_MAP: list[tuple[str, int, AlertDescription | None]] = [
    ("no matching subjectAltName", X509VerifyError.HOSTNAME_MISMATCH, None),
    ("has no subjectAltName", X509VerifyError.EMPTY_SUBJECT_ALT_NAME, None),
    ("2.5.29.17: Certificate is missing", X509VerifyError.EMPTY_SUBJECT_ALT_NAME, None),
    ("no permitted name constraints matched", X509VerifyError.PERMITTED_VIOLATION, None),
    ("excluded name constraint matched", X509VerifyError.EXCLUDED_VIOLATION, None),
    ("path length constraint violated", X509VerifyError.PATH_LENGTH_EXCEEDED, None),
    ("basicConstraints.cA must be asserted", X509VerifyError.INVALID_CA, None),
    ("basicConstraints.cA must not be asserted", X509VerifyError.INVALID_NON_CA, None),
    ("keyUsage.keyCertSign must be asserted", X509VerifyError.KEYUSAGE_NO_CERTSIGN, None),
    # cryptography < 51 writes "2.5.29.15: ...", 51 "keyUsage (2.5.29.15): ..."
    ("2.5.29.15: Certificate is missing", X509VerifyError.CA_CERT_MISSING_KEY_USAGE, None),
    ("2.5.29.15): Certificate is missing", X509VerifyError.CA_CERT_MISSING_KEY_USAGE, None),
    (
        "EE keyUsage must not assert keyCertSign",
        X509VerifyError.KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA,
        None,
    ),
    ("subjectAltName MUST be critical", X509VerifyError.EMPTY_SUBJECT_SAN_NOT_CRITICAL, None),
    ("required EKU not found", X509VerifyError.INVALID_PURPOSE, None),
    ("Neither EKU nor anyEKU", X509VerifyError.INVALID_PURPOSE, None),
    (_PURPOSE_MARK, X509VerifyError.INVALID_PURPOSE, None),
    ("signature does not match", X509VerifyError.CERT_SIGNATURE_FAILURE, None),
    ("RSA key is too weak", X509VerifyError.CA_KEY_TOO_SMALL, None),
    (
        "Forbidden public key algorithm",
        X509VerifyError.UNSPECIFIED,
        AlertDescription.unsupported_certificate,
    ),
    (
        "Forbidden signature algorithm",
        X509VerifyError.UNSPECIFIED,
        AlertDescription.unsupported_certificate,
    ),
    ("2.5.29.35: Certificate is missing", X509VerifyError.MISSING_AUTHORITY_KEY_IDENTIFIER, None),
    ("2.5.29.35): Certificate is missing", X509VerifyError.MISSING_AUTHORITY_KEY_IDENTIFIER, None),
    ("X509v3", X509VerifyError.EXTENSIONS_REQUIRE_VERSION_3, None),
    ("Exceeded maximum", X509VerifyError.CERT_CHAIN_TOO_LONG, None),
    ("exceeds max depth", X509VerifyError.CERT_CHAIN_TOO_LONG, None),
    (
        "candidates exhausted with no interior errors",
        X509VerifyError.UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
        None,
    ),
    ("invalid extension", X509VerifyError.INVALID_EXTENSION, None),
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
                verify_message=None if code != X509VerifyError.UNSPECIFIED else text,
            )
    return _error(
        X509VerifyError.UNSPECIFIED,
        f"certificate verification failed for {_name(leaf)}: {text}",
        alert=AlertDescription.certificate_unknown,
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
                X509VerifyError.UNSPECIFIED,
                f"the {position} is malformed: {exc} (RFC 5280 §4.2)",
                alert=AlertDescription.bad_certificate,
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

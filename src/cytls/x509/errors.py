"""X.509 verification errors in OpenSSL's terms: ``X509_V_ERR_*`` codes, texts and alerts.

An ``ssl`` user reads ``verify_code`` and ``verify_message`` off an
``ssl.SSLCertVerificationError``, and a peer sees the alert OpenSSL would have sent
(``ssl_x509err2alert`` in OpenSSL's ssl/statem/statem_lib.c). Every module of the package that
rejects a certificate builds its :class:`~cytls.errors.CertificateError` here with
:func:`_error`, and names the certificate at fault with :func:`_name`, so that the codes, the
texts, the alerts and the wording stay in one place. It is the bottom of the package: it imports
none of the other modules.

Where OpenSSL has no verification code for a failure (an empty or unparsable chain, a key type
TLS 1.3 cannot use, an algorithm the Web PKI profile refuses), ``verify_code`` is
X509_V_ERR_UNSPECIFIED (1) and ``verify_message`` says what happened in words.
"""

from __future__ import annotations

from cryptography import x509

from cytls.errors import CertificateError
from cytls.wire.enums import AlertDescription

__all__ = ["X509VerifyError", "openssl_alert"]


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


# X509_verify_cert_error_string() of OpenSSL 3.0 (crypto/x509/x509_txt.c), what
# ssl.SSLCertVerificationError.verify_message holds for these codes.
_OPENSSL_TEXT: dict[int, str] = {
    X509VerifyError.UNSPECIFIED: "unspecified certificate verification error",
    X509VerifyError.UNABLE_TO_GET_ISSUER_CERT: "unable to get issuer certificate",
    X509VerifyError.CERT_SIGNATURE_FAILURE: "certificate signature failure",
    X509VerifyError.CERT_NOT_YET_VALID: "certificate is not yet valid",
    X509VerifyError.CERT_HAS_EXPIRED: "certificate has expired",
    X509VerifyError.DEPTH_ZERO_SELF_SIGNED_CERT: "self-signed certificate",
    X509VerifyError.SELF_SIGNED_CERT_IN_CHAIN: "self-signed certificate in certificate chain",
    X509VerifyError.UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "unable to get local issuer certificate",
    X509VerifyError.UNABLE_TO_VERIFY_LEAF_SIGNATURE: "unable to verify the first certificate",
    X509VerifyError.CERT_CHAIN_TOO_LONG: "certificate chain too long",
    X509VerifyError.PATH_LENGTH_EXCEEDED: "path length constraint exceeded",
    X509VerifyError.INVALID_PURPOSE: "unsuitable certificate purpose",
    X509VerifyError.KEYUSAGE_NO_CERTSIGN: "key usage does not include certificate signing",
    X509VerifyError.INVALID_NON_CA: "invalid non-CA certificate (has CA markings)",
    X509VerifyError.KEYUSAGE_NO_DIGITAL_SIGNATURE: "key usage does not include digital signature",
    X509VerifyError.INVALID_EXTENSION: "invalid or inconsistent certificate extension",
    X509VerifyError.PERMITTED_VIOLATION: "permitted subtree violation",
    X509VerifyError.EXCLUDED_VIOLATION: "excluded subtree violation",
    X509VerifyError.HOSTNAME_MISMATCH: "hostname mismatch",
    X509VerifyError.IP_ADDRESS_MISMATCH: "IP address mismatch",
    X509VerifyError.EE_KEY_TOO_SMALL: "EE certificate key too weak",
    X509VerifyError.CA_KEY_TOO_SMALL: "CA certificate key too weak",
    X509VerifyError.CA_MD_TOO_WEAK: "CA signature digest algorithm too weak",
    X509VerifyError.INVALID_CA: "invalid CA certificate",
    X509VerifyError.KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA: (
        "Key usage keyCertSign invalid for non-CA cert"
    ),
    X509VerifyError.MISSING_AUTHORITY_KEY_IDENTIFIER: "Missing Authority Key Identifier",
    X509VerifyError.EMPTY_SUBJECT_ALT_NAME: "Empty Subject Alternative Name extension",
    X509VerifyError.EMPTY_SUBJECT_SAN_NOT_CRITICAL: (
        "Subject empty and Subject Alt Name extension not critical"
    ),
    X509VerifyError.CA_CERT_MISSING_KEY_USAGE: "CA cert does not include key usage extension",
    X509VerifyError.EXTENSIONS_REQUIRE_VERSION_3: "Using cert extension requires at least X509v3",
}

# The alert OpenSSL sends for a verification error: x509table / ssl_x509err2alert() in
# ssl/statem/statem_lib.c (OpenSSL 3.x). Codes not listed there get certificate_unknown.
_OPENSSL_ALERT: dict[int, AlertDescription] = {
    X509VerifyError.UNSPECIFIED: AlertDescription.internal_error,
    X509VerifyError.UNABLE_TO_GET_ISSUER_CERT: AlertDescription.unknown_ca,
    X509VerifyError.CERT_SIGNATURE_FAILURE: AlertDescription.decrypt_error,
    X509VerifyError.CERT_NOT_YET_VALID: AlertDescription.bad_certificate,
    X509VerifyError.CERT_HAS_EXPIRED: AlertDescription.certificate_expired,
    X509VerifyError.DEPTH_ZERO_SELF_SIGNED_CERT: AlertDescription.unknown_ca,
    X509VerifyError.SELF_SIGNED_CERT_IN_CHAIN: AlertDescription.unknown_ca,
    X509VerifyError.UNABLE_TO_GET_ISSUER_CERT_LOCALLY: AlertDescription.unknown_ca,
    X509VerifyError.UNABLE_TO_VERIFY_LEAF_SIGNATURE: AlertDescription.unknown_ca,
    X509VerifyError.CERT_CHAIN_TOO_LONG: AlertDescription.unknown_ca,
    X509VerifyError.PATH_LENGTH_EXCEEDED: AlertDescription.unknown_ca,
    X509VerifyError.INVALID_PURPOSE: AlertDescription.unsupported_certificate,
    X509VerifyError.HOSTNAME_MISMATCH: AlertDescription.bad_certificate,
    X509VerifyError.IP_ADDRESS_MISMATCH: AlertDescription.bad_certificate,
    X509VerifyError.EE_KEY_TOO_SMALL: AlertDescription.bad_certificate,
    X509VerifyError.CA_KEY_TOO_SMALL: AlertDescription.bad_certificate,
    X509VerifyError.CA_MD_TOO_WEAK: AlertDescription.bad_certificate,
    X509VerifyError.INVALID_CA: AlertDescription.unknown_ca,
}


def openssl_alert(verify_code: int) -> AlertDescription:
    """The alert OpenSSL sends for ``verify_code`` (``ssl_x509err2alert``)."""
    return _OPENSSL_ALERT.get(verify_code, AlertDescription.certificate_unknown)


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
        or (message if code == X509VerifyError.UNSPECIFIED else _OPENSSL_TEXT.get(code, message)),
    )


# -- naming certificates in messages -------------------------------------------------------------


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

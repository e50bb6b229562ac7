"""cytls exceptions.

They subclass the standard library's ``ssl.SSLError`` so that code written against the ``ssl``
module (``except ssl.SSLError``) keeps working when it is handed cytls. Messages say what went
wrong in words; they never contain key material or plaintext.
"""

import ssl

from cytls.wire.enums import AlertDescription

__all__ = [
    "CertificateError",
    "PeerAlert",
    "ProtocolError",
    "TLSError",
    "TruncationError",
    "WantReadError",
    "ZeroReturnError",
]


class TLSError(ssl.SSLError):
    """Base class of every error cytls raises.

    ``reason`` and ``library`` are filled in like OpenSSL's so that code inspecting
    ``ssl.SSLError.reason`` gets a meaningful value.
    """

    def __init__(self, message: str, *, reason: str = "TLS_ERROR") -> None:
        super().__init__(message)
        self.reason = reason
        self.library = "SSL"

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else self.reason


class ProtocolError(TLSError):
    """The peer sent something the protocol forbids; the connection is over.

    ``alert`` is the fatal alert (RFC 8446 §6.2) that must be, or has been, sent to the peer.
    """

    def __init__(self, alert: AlertDescription | int, message: str) -> None:
        self.alert = AlertDescription(alert)
        super().__init__(f"{self.alert.name}: {message}", reason=self.alert.name.upper())

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), self._constructor_args())

    def _constructor_args(self) -> tuple[int, str]:
        """(alert, message) as __init__ takes them, for pickling."""
        return (int(self.alert), str(self.args[0]).split(": ", 1)[-1])


class CertificateError(ProtocolError, ssl.SSLCertVerificationError):
    """The peer's certificate chain failed verification.

    ``alert`` is the alert sent (bad_certificate, unknown_ca, certificate_expired, ...);
    ``verify_code``/``verify_message`` mirror ``ssl.SSLCertVerificationError`` (OpenSSL's
    X509_V_ERR_* numbers where one applies).
    """

    def __init__(
        self,
        alert: AlertDescription | int,
        message: str,
        *,
        verify_code: int = 0,
        verify_message: str = "",
    ) -> None:
        super().__init__(alert, message)
        self.reason = "CERTIFICATE_VERIFY_FAILED"  # what ssl reports, whatever the alert
        self.verify_code = verify_code
        self.verify_message = verify_message or message

    def __reduce__(self) -> tuple[object, ...]:
        args = self._constructor_args()
        return (_rebuild_certificate_error, (*args, self.verify_code, self.verify_message))


def _rebuild_certificate_error(
    alert: int, message: str, verify_code: int, verify_message: str
) -> CertificateError:
    return CertificateError(alert, message, verify_code=verify_code, verify_message=verify_message)


class PeerAlert(TLSError):
    """The peer sent a fatal alert (or an unexpected warning); ``alert`` says which."""

    def __init__(self, alert: AlertDescription | int) -> None:
        try:
            self.alert: AlertDescription | int = AlertDescription(alert)
            name = self.alert.name
        except ValueError:
            self.alert = alert
            name = f"alert {alert}"
        super().__init__(
            f"the peer sent a fatal {name} alert", reason=f"TLSV1_ALERT_{name.upper()}"
        )


class ZeroReturnError(TLSError, ssl.SSLZeroReturnError):
    """The peer closed the TLS connection cleanly (close_notify), as ``ssl`` reports it."""

    def __init__(self, message: str = "TLS/SSL connection has been closed (EOF)") -> None:
        super().__init__(message, reason="ZERO_RETURN")


class WantReadError(TLSError, ssl.SSLWantReadError):
    """No application data is available yet: feed more bytes with ``receive_data``."""

    def __init__(self) -> None:
        super().__init__("no application data is available yet", reason="WANT_READ")


class TruncationError(TLSError, ssl.SSLEOFError):
    """The transport closed without a close_notify alert: the data may have been truncated
    by an attacker (RFC 8446 §6.1). Distinct from a clean close, which reads as b""."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="UNEXPECTED_EOF_WHILE_READING")

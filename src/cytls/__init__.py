"""cytls: a fast TLS engine for Python.

A Python control plane (handshake, key schedule, certificates) drives a Cython record layer
(:mod:`cytls._record`) that does framing, fragmentation, nonces, AEAD calls and buffering.
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version

from cytls import events
from cytls.connection import Connection, TruncationError, WantReadError
from cytls.context import (
    CERT_NONE,
    CERT_OPTIONAL,
    CERT_REQUIRED,
    PROTOCOL_TLS_CLIENT,
    PROTOCOL_TLS_SERVER,
    TLSContext,
    TLSVersion,
)
from cytls.errors import CertificateError, PeerAlert, ProtocolError, TLSError
from cytls.wire.enums import AlertDescription, AlertLevel, CipherSuite, ContentType

try:
    __version__ = _distribution_version("cytls")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "CERT_NONE",
    "CERT_OPTIONAL",
    "CERT_REQUIRED",
    "PROTOCOL_TLS_CLIENT",
    "PROTOCOL_TLS_SERVER",
    "AlertDescription",
    "AlertLevel",
    "CertificateError",
    "CipherSuite",
    "Connection",
    "ContentType",
    "PeerAlert",
    "ProtocolError",
    "TLSContext",
    "TLSError",
    "TLSVersion",
    "TruncationError",
    "WantReadError",
    "__version__",
    "events",
]

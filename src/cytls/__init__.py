"""cytls: a fast TLS engine for Python.

A Python control plane (handshake, key schedule, certificates) drives a Cython record layer
(:mod:`cytls._record`) that does framing, fragmentation, nonces, AEAD calls and buffering.
"""

import ssl as _ssl

from cytls import events
from cytls.connection import Connection
from cytls.context import (
    CERT_NONE,
    CERT_OPTIONAL,
    CERT_REQUIRED,
    PROTOCOL_TLS_CLIENT,
    PROTOCOL_TLS_SERVER,
    TLSContext,
    TLSVersion,
    create_default_context,
)
from cytls.errors import (
    CertificateError,
    PeerAlert,
    ProtocolError,
    TLSError,
    TruncationError,
    WantReadError,
    ZeroReturnError,
)
from cytls.handshake.policy import OP_ALLOW_NO_DHE_KEX
from cytls.io.sockets import TLSSocket
from cytls.io.sslobject import TLSObject
from cytls.registry import CipherSuite
from cytls.session import Session
from cytls.wire.enums import AlertDescription, AlertLevel, ContentType

# The ssl module's names, so that code written for ``ssl`` runs unchanged with ``cytls`` in its
# place: cytls raises these classes or subclasses of them, and accepts these constants.
SSLContext = TLSContext
SSLObject = TLSObject
SSLSocket = TLSSocket
SSLSession = Session
MemoryBIO = _ssl.MemoryBIO
Purpose = _ssl.Purpose
VerifyMode = _ssl.VerifyMode
CHANNEL_BINDING_TYPES = _ssl.CHANNEL_BINDING_TYPES
HAS_SNI = True
HAS_ALPN = True
HAS_TLSv1_3 = True
PROTOCOL_TLS = _ssl.PROTOCOL_TLS
OP_NO_COMPRESSION = _ssl.OP_NO_COMPRESSION
OP_CIPHER_SERVER_PREFERENCE = _ssl.OP_CIPHER_SERVER_PREFERENCE
ALERT_DESCRIPTION_HANDSHAKE_FAILURE = _ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
ALERT_DESCRIPTION_INTERNAL_ERROR = _ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
ALERT_DESCRIPTION_UNRECOGNIZED_NAME = _ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
cert_time_to_seconds = _ssl.cert_time_to_seconds
DER_cert_to_PEM_cert = _ssl.DER_cert_to_PEM_cert
PEM_cert_to_DER_cert = _ssl.PEM_cert_to_DER_cert
SSLError = _ssl.SSLError
SSLZeroReturnError = _ssl.SSLZeroReturnError
SSLWantReadError = _ssl.SSLWantReadError
SSLWantWriteError = _ssl.SSLWantWriteError
SSLSyscallError = _ssl.SSLSyscallError
SSLEOFError = _ssl.SSLEOFError
SSLCertVerificationError = _ssl.SSLCertVerificationError

# The one place the version is written: pyproject.toml reads it from here (setuptools' dynamic
# version, by static inspection), so the wheel, the sdist and the running code always agree.
__version__ = "0.1.0.dev0"

__all__ = [
    "ALERT_DESCRIPTION_HANDSHAKE_FAILURE",
    "ALERT_DESCRIPTION_INTERNAL_ERROR",
    "ALERT_DESCRIPTION_UNRECOGNIZED_NAME",
    "CERT_NONE",
    "CERT_OPTIONAL",
    "CERT_REQUIRED",
    "CHANNEL_BINDING_TYPES",
    "HAS_ALPN",
    "HAS_SNI",
    "OP_ALLOW_NO_DHE_KEX",
    "OP_CIPHER_SERVER_PREFERENCE",
    "OP_NO_COMPRESSION",
    "PROTOCOL_TLS",
    "PROTOCOL_TLS_CLIENT",
    "PROTOCOL_TLS_SERVER",
    "AlertDescription",
    "AlertLevel",
    "CertificateError",
    "CipherSuite",
    "Connection",
    "ContentType",
    "DER_cert_to_PEM_cert",
    "HAS_TLSv1_3",
    "MemoryBIO",
    "PEM_cert_to_DER_cert",
    "PeerAlert",
    "ProtocolError",
    "Purpose",
    "SSLCertVerificationError",
    "SSLContext",
    "SSLEOFError",
    "SSLError",
    "SSLObject",
    "SSLSession",
    "SSLSocket",
    "SSLSyscallError",
    "SSLWantReadError",
    "SSLWantWriteError",
    "SSLZeroReturnError",
    "Session",
    "TLSContext",
    "TLSError",
    "TLSObject",
    "TLSSocket",
    "TLSVersion",
    "TruncationError",
    "VerifyMode",
    "WantReadError",
    "ZeroReturnError",
    "__version__",
    "cert_time_to_seconds",
    "create_default_context",
    "events",
]

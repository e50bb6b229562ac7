"""cytls: a fast TLS engine for Python.

A Python control plane (handshake, key schedule, certificates) drives a Cython record layer
(:mod:`cytls._record`) that does framing, fragmentation, nonces, AEAD calls and buffering.
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version

from cytls.errors import ProtocolError, TLSError
from cytls.wire.enums import AlertDescription, AlertLevel, CipherSuite, ContentType

try:
    __version__ = _distribution_version("cytls")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "AlertDescription",
    "AlertLevel",
    "CipherSuite",
    "ContentType",
    "ProtocolError",
    "TLSError",
    "__version__",
]

"""What a :class:`cytls.Connection` reports through ``next_event()`` (h11's vocabulary).

Application data is not an event: it is read with ``recv``/``recv_into``, so it never becomes a
Python object per record.
"""

from __future__ import annotations

from dataclasses import dataclass

from cytls.wire.enums import AlertDescription


@dataclass(frozen=True, slots=True)
class HandshakeComplete:
    """The handshake finished; these are the negotiated parameters."""

    version: str
    """"TLSv1.3", as ``ssl.SSLObject.version()`` spells it."""
    cipher_suite: str
    """IANA name, e.g. "TLS_AES_256_GCM_SHA384"."""
    group: str | None
    """Key exchange group name, e.g. "x25519"."""
    alpn_protocol: str | None
    server_name: str | None
    """SNI: what the client asked for (on both sides)."""
    peer_certificates: tuple[bytes, ...]
    """The peer's certificate chain as sent, DER, leaf first (empty if it sent none)."""
    session_resumed: bool = False


@dataclass(frozen=True, slots=True)
class AlertReceived:
    """The peer sent a non-fatal alert (user_canceled). Fatal alerts raise instead."""

    description: AlertDescription | int
    level: int


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The peer sent close_notify: it will send nothing more. We may still send until we
    close ourselves (half-close, RFC 8446 §6.1)."""


@dataclass(frozen=True, slots=True)
class KeyUpdated:
    """The peer updated its traffic keys (RFC 8446 §4.6.3); informational."""

    peer_requested_update: bool


@dataclass(frozen=True, slots=True)
class PostHandshakeAuthComplete:
    """The client answered our post-handshake CertificateRequest (RFC 8446 §4.6.2), and its
    answer verified (server side). ``Connection.peer_certificates`` is now this chain."""

    peer_certificates: tuple[bytes, ...]
    """The client's chain as sent, DER, leaf first (empty if it sent none, which only
    verify_mode CERT_OPTIONAL accepts)."""


Event = (
    HandshakeComplete | AlertReceived | ConnectionClosed | KeyUpdated | PostHandshakeAuthComplete
)

"""A resumable TLS 1.3 session as the client keeps it: the ``ssl.SSLSession`` of cytls.

A server's NewSessionTicket (RFC 8446 §4.6.1) becomes a :class:`Session`. Passing it to a new
connection (``session=`` in ``wrap_bio``/``wrap_socket``/``Connection``) offers the ticket as a
PSK, skipping the certificate exchange and, with ``early_data``, sending data in the first
flight (0-RTT, §2.3).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False, slots=True)
class Session:
    """One ticket and the state it resumes. Attributes named as ``ssl.SSLSession``'s."""

    ticket: bytes
    psk: bytes = field(repr=False)
    suite: int
    ticket_lifetime_hint: int
    """Seconds the server lets us use the ticket (at most 7 days, §4.6.1)."""
    age_add: int = field(repr=False)
    received_at: float
    """Our clock (seconds since the epoch) when the ticket arrived."""
    max_early_data_size: int
    """0-RTT bytes the server accepts with this ticket; 0: no early data."""
    alpn_protocol: bytes | None
    server_name: str | None
    peer_certificates: tuple[bytes, ...]
    """The server's chain from the original handshake (DER, leaf first)."""
    context: Any = field(repr=False)
    """The TLSContext of the connection that received it (a session resumes only there)."""

    def __repr__(self) -> str:
        return (
            f"<cytls.Session {self.id.hex()[:16]}... lifetime={self.ticket_lifetime_hint}s"
            f" early_data={self.max_early_data_size}>"
        )

    # --- ssl.SSLSession's interface -------------------------------------------------------------

    @property
    def id(self) -> bytes:
        """A stable identifier: TLS 1.3 has no session ID, so a hash of the ticket."""
        return hashlib.sha256(self.ticket).digest()

    @property
    def time(self) -> int:
        return int(self.received_at)

    @property
    def timeout(self) -> int:
        return self.ticket_lifetime_hint

    @property
    def has_ticket(self) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Session) and other.ticket == self.ticket

    def __hash__(self) -> int:
        return hash(self.ticket)

    # --- for the handshake ----------------------------------------------------------------------

    def obfuscated_age(self, now: float) -> int:
        """RFC 8446 §4.2.11.1: our view of the ticket's age in milliseconds plus
        ticket_age_add, modulo 2^32."""
        age_ms = max(0, int((now - self.received_at) * 1000))
        return (age_ms + self.age_add) & 0xFFFFFFFF

    def expired(self, now: float) -> bool:
        return now - self.received_at >= self.ticket_lifetime_hint


def check_session(session: object) -> None:
    """``session=`` takes a cytls Session or None (``ssl`` says the same of SSLSession)."""
    if session is not None and not isinstance(session, Session):
        raise TypeError("Value is not a SSLSession.")

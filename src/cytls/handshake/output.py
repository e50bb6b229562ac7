"""The one narrow interface between a handshake state machine and everything below and around
it: what the handshake emits (messages, key changes, events, the negotiated parameters) and the
few facts it asks about the records.

Why a port: the state machines must not drive a record layer or read a live context.
They say *what* happens ("a handshake key for reading", "this message"), and
:class:`cytls.connection.Connection` implements :class:`HandshakeOutput` and decides *how*: which
record protection, which buffer, which event queue. A TLS 1.2 or DTLS state machine talks to the
same port, and a test can implement it to watch a handshake without any records (rustls'
``common_state.rs`` ``Output`` trait, aioquic's key callback).
"""

from __future__ import annotations

import enum
from typing import NamedTuple, Protocol

from cytls.events import Event
from cytls.handshake.policy import HandshakePolicy
from cytls.registry import Suite
from cytls.session import Session


class Direction(enum.Enum):
    READ = "read"
    WRITE = "write"


class KeyLevel(enum.Enum):
    """What a traffic key protects (RFC 8446 §7.1, §7.3); the record layer lets application
    data through only under early and application keys."""

    INITIAL = "initial"  # no key: plaintext records
    EARLY = "early"  # 0-RTT (§2.3)
    HANDSHAKE = "handshake"
    APPLICATION = "application"


class KeyChange(NamedTuple):
    """Switch one direction to a new key (or, at INITIAL, to no protection).

    A NamedTuple, immutable like a frozen dataclass at a seventh of its construction cost: eight
    are made per handshake.
    """

    direction: Direction
    level: KeyLevel
    suite: Suite | None = None
    key: bytes = b""
    iv: bytes = b""

    def __repr__(self) -> str:  # never the key or the IV
        suite = self.suite.name if self.suite is not None else None
        return f"KeyChange({self.direction.name}, {self.level.name}, {suite})"

    @property
    def carries_application_data(self) -> bool:
        return self.level in (KeyLevel.EARLY, KeyLevel.APPLICATION)


class Negotiated(NamedTuple):
    """What a completed handshake agreed, as one immutable value; replaced (not changed) when
    post-handshake authentication brings a new peer chain."""

    version: str
    suite: Suite
    group: int | None
    """None when a PSK alone resumed (psk_ke, RFC 8446 §4.2.9)."""
    alpn_protocol: bytes | None
    server_name: str | None
    peer_certificates: tuple[bytes, ...]
    session_resumed: bool
    early_data_accepted: bool
    early_data_length: int
    """Server: bytes at the start of the received stream that came as 0-RTT data."""


class HandshakeOutput(Protocol):
    """What a handshake state machine may do to the world around it."""

    def send_handshake(self, raw: bytes) -> None:
        """Queue one handshake message (header included) under the current write key."""

    def send_change_cipher_spec(self) -> None:
        """The middlebox-compatibility change_cipher_spec (RFC 8446 §D.4)."""

    def send_early_data(self, data: bytes, max_plaintext: int) -> None:
        """0-RTT application data, in records of at most ``max_plaintext`` bytes."""

    def change_key(self, change: KeyChange) -> None:
        """Install a key for one direction from the next record on."""

    def set_record_version(self, version: int) -> None:
        """legacy_record_version of the records we write next (RFC 8446 §5.1)."""

    def skip_early_data(self, limit: int) -> None:
        """Drop up to ``limit`` bytes of 0-RTT records we cannot or will not read (§4.2.10)."""

    def accept_plaintext_alerts(self, accept: bool) -> None:
        """Whether an unprotected alert may arrive while we expect protected records: from a
        client that could not process our ServerHello and so has no keys."""

    def accept_application_data(self) -> None:
        """From now on application data may come under the current read key: TLS 1.2's key
        takes effect at change_cipher_spec, its application data only after Finished."""

    def log_secret(self, label: str, client_random: bytes, secret: bytes) -> None:
        """A traffic secret for the NSS key log, if one is configured."""

    def event(self, event: Event) -> None:
        """Something the application learns from ``next_event()``."""

    def resumed(self) -> None:
        """This handshake resumes a session: the server accepted our PSK, or we accepted the
        client's (known before the handshake completes, as ``ssl``'s session_reused is)."""

    def negotiated(self, parameters: Negotiated) -> None:
        """The handshake completed (or post-handshake authentication changed the peer)."""

    def new_session(self, session: Session) -> None:
        """Client: a ticket the server sent became a resumable session."""

    def server_name_received(self, server_name: str | None) -> HandshakePolicy:
        """Server: the client's SNI is known; the policy to go on with (an SNI callback may
        switch contexts, or refuse with a ProtocolError)."""
        ...

    def early_data_received(self) -> int:
        """Bytes of application data read so far (the 0-RTT limit, §4.2.10)."""
        ...

    def records_written_under_write_key(self) -> int:
        """Records sealed under the current write key (one KeyUpdate answers many, §4.6.3)."""
        ...

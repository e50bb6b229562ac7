"""Stateless session tickets and 0-RTT anti-replay for the server (RFC 8446 §4.6.1, §8).

A ticket is the resumption state sealed under a ticket key, so the server keeps nothing per
session and several processes that load the same key file resume each other's sessions:

    ticket = key_name (8) || nonce (12) || AES-256-GCM(key, nonce, state, aad = key_name)

``key_name`` is the first 8 bytes of SHA-256("cytls ticket key name" || key): it picks the
key to try without trial decryption. A ticket that does not open, was sealed under a key we
no longer hold, or has expired is simply not used: the handshake falls back to a full one.

The ticket key file (``TLSContext.load_ticket_keys``) is text, one key per line as 64
hexadecimal digits (32 random bytes, e.g. ``openssl rand -hex 32``); blank lines and lines
starting with ``#`` are ignored. The first key seals new tickets; every key opens them. To
rotate, put a new key on the first line, keep the previous ones below it for one ticket
lifetime, and load the file again in every process.
"""

from __future__ import annotations

import heapq
import os
import threading
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cytls.errors import ProtocolError
from cytls.wire.codec import Reader, Writer

KEY_LENGTH = 32
NAME_LENGTH = 8
NONCE_LENGTH = 12
MAX_KEYS = 16
_STATE_VERSION = 1
_NAME_LABEL = b"cytls ticket key name"

# RFC 8446 §4.6.1: a ticket lives at most seven days.
MAX_TICKET_LIFETIME = 7 * 24 * 3600
# Tickets one key seals at most. Nonces are random 96-bit values: NIST SP 800-38D §8.3 allows
# 2^32 invocations of AES-GCM with random nonces under one key.
MAX_SEALS_PER_KEY = 1 << 32


def _digest(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(data)
    return digest.finalize()


def _key_name(key: bytes) -> bytes:
    return _digest(_NAME_LABEL + key)[:NAME_LENGTH]


@dataclass(frozen=True, slots=True)
class TicketState:
    """What a ticket carries: enough to resume, and to check 0-RTT against (§4.2.10)."""

    suite: int
    created_ms: int
    """Server clock (milliseconds since the epoch) when the ticket was issued."""
    lifetime: int
    age_add: int
    max_early_data_size: int
    psk: bytes
    alpn_protocol: bytes
    server_name: str
    peer_certificate: bytes
    """The client's leaf certificate (DER) of the original handshake, or b""."""

    def __repr__(self) -> str:  # the PSK is a secret
        return f"<TicketState suite=0x{self.suite:04x} lifetime={self.lifetime}>"

    def serialize(self) -> bytes:
        w = Writer()
        w.uint8(_STATE_VERSION)
        w.uint16(self.suite)
        w.bytes(self.created_ms.to_bytes(8, "big"))
        w.uint32(self.lifetime)
        w.uint32(self.age_add)
        w.uint32(self.max_early_data_size)
        w.opaque8(self.psk)
        w.opaque8(self.alpn_protocol)
        w.opaque16(self.server_name.encode("utf-8"))
        w.opaque16(self.peer_certificate)
        return w.getvalue()

    @classmethod
    def parse(cls, data: bytes) -> TicketState | None:
        """None for anything but a state this version wrote (an old format after an
        upgrade, say): such a ticket is ignored, never an error. That includes a state with
        an empty PSK, which resumption could not use (the key schedule refuses it)."""
        try:
            r = Reader(data, "ticket state")
            if r.uint8() != _STATE_VERSION:
                return None
            state = cls(
                suite=r.uint16(),
                created_ms=int.from_bytes(r.bytes(8), "big"),
                lifetime=r.uint32(),
                age_add=r.uint32(),
                max_early_data_size=r.uint32(),
                psk=r.opaque8(),
                alpn_protocol=r.opaque8(),
                server_name=r.opaque16().decode("utf-8"),
                peer_certificate=r.opaque16(),
            )
            r.finish()
        except (ProtocolError, UnicodeDecodeError):
            return None
        return state if state.psk else None


class TicketKeys:
    """The keys that seal and open tickets: the first seals, all of them open.

    Random keys (the default) rotate by themselves every ``rotate_after`` seconds, the previous
    one kept to open the tickets it sealed. Keys loaded from a file do not rotate by
    themselves: the file is the one source of truth shared by every server.
    """

    def __init__(self, keys: list[bytes], *, rotate_after: float | None = None) -> None:
        if not keys:
            raise ValueError("at least one ticket key is needed")
        if len(keys) > MAX_KEYS:
            raise ValueError(f"at most {MAX_KEYS} ticket keys")
        for key in keys:
            if len(key) != KEY_LENGTH:
                raise ValueError(f"a ticket key is {KEY_LENGTH} bytes")
        self._keys = [(_key_name(key), AESGCM(key)) for key in keys]
        self._by_name = dict(self._keys)
        self._rotate_after = rotate_after
        self._created = time.monotonic()
        self._sealed = 0  # tickets the current sealing key has sealed
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<TicketKeys {len(self._keys)} key(s)>"

    @classmethod
    def generate(cls, rotate_after: float) -> TicketKeys:
        return cls([os.urandom(KEY_LENGTH)], rotate_after=rotate_after)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> TicketKeys:
        """Read the key file format described in the module docstring."""
        keys = []
        with open(path, encoding="ascii") as file:
            for number, line in enumerate(file, 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                try:
                    key = bytes.fromhex(line)
                except ValueError:
                    key = b""
                if len(key) != KEY_LENGTH:
                    raise ValueError(
                        f"{os.fspath(path)}, line {number}: a ticket key is "
                        f"{2 * KEY_LENGTH} hexadecimal digits"
                    )
                keys.append(key)
        if not keys:
            raise ValueError(f"{os.fspath(path)} holds no ticket key")
        return cls(keys)

    def rotate(self) -> None:
        """A new random sealing key; the current one is kept to open its tickets."""
        with self._lock:
            self._rotate_locked()

    def _rotate_locked(self) -> None:
        key = os.urandom(KEY_LENGTH)
        self._keys = [(_key_name(key), AESGCM(key)), *self._keys[:1]]
        self._by_name = dict(self._keys)
        self._created = time.monotonic()
        self._sealed = 0

    def seal(self, state: TicketState) -> bytes | None:
        """A ticket for ``state``; None once the sealing key has sealed MAX_SEALS_PER_KEY
        tickets and cannot be replaced here (keys from a file: load new ones), so that the
        server sends no ticket rather than repeat a random nonce's odds past the limit."""
        with self._lock:
            if self._rotate_after is not None and (
                time.monotonic() - self._created >= self._rotate_after
                or self._sealed >= MAX_SEALS_PER_KEY
            ):
                self._rotate_locked()
            if self._sealed >= MAX_SEALS_PER_KEY:
                return None
            self._sealed += 1
            name, aead = self._keys[0]
        nonce = os.urandom(NONCE_LENGTH)
        return name + nonce + aead.encrypt(nonce, state.serialize(), name)

    def open(self, ticket: bytes) -> TicketState | None:
        """The state inside ``ticket``, or None if it is not one of ours (any reason)."""
        if len(ticket) < NAME_LENGTH + NONCE_LENGTH + 16:
            return None
        name = ticket[:NAME_LENGTH]
        aead = self._by_name.get(name)
        if aead is None:
            return None
        nonce = ticket[NAME_LENGTH : NAME_LENGTH + NONCE_LENGTH]
        try:
            plaintext = aead.decrypt(nonce, ticket[NAME_LENGTH + NONCE_LENGTH :], name)
        except InvalidTag:
            return None
        return TicketState.parse(plaintext)


class StrikeRegister:
    """Tickets already used for 0-RTT, each remembered until it expires (RFC 8446 §8.1, §8.2).

    A ticket opens 0-RTT at most once in this process: a replayed ClientHello carries the
    same ticket, and so does a client that reuses one. With the freshness check of §8.3 on
    top (the ticket age the client claims must be within a few seconds of ours), a replay
    also has to arrive quickly. When full, it refuses new entries: 0-RTT is then rejected,
    which costs a round trip, never safety. See the README for what one process's register
    cannot see when several servers share ticket keys.
    """

    def __init__(self, capacity: int = 65536) -> None:
        self.capacity = capacity
        self._expiry: dict[bytes, float] = {}
        self._queue: list[tuple[float, bytes]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiry)

    def first_use(self, ticket: bytes, expires_at: float, now: float) -> bool:
        """True the first time ``ticket`` is presented, False after (or when full)."""
        key = _digest(ticket)[:16]
        with self._lock:
            queue, expiry = self._queue, self._expiry
            while queue and queue[0][0] <= now:
                _, old = heapq.heappop(queue)
                expiry.pop(old, None)
            if key in expiry or len(expiry) >= self.capacity:
                return False
            expiry[key] = expires_at
            heapq.heappush(queue, (expires_at, key))
            return True

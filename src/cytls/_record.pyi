"""Type stub of cytls._record, the Cython TLS 1.3 record layer (RFC 8446 §5).

Python code runs per call; the record layer runs per record. Application data never becomes a
Python object per record: it is decrypted into an internal plaintext buffer that ``read`` and
``read_into`` drain. Only handshake, alert and change_cipher_spec records come back to Python,
one per ``next_record`` call, so that the handshake can change keys at that record boundary.
"""

from collections.abc import Callable
from typing import Final

from typing_extensions import Buffer, disjoint_base

# Content types, RFC 8446 §5.1.
CHANGE_CIPHER_SPEC: Final[int]  # 20
ALERT: Final[int]  # 21
HANDSHAKE: Final[int]  # 22
APPLICATION_DATA: Final[int]  # 23

# Limits, RFC 8446 §5.1 and §5.2.
MAX_PLAINTEXT: Final[int]  # 2**14: TLSPlaintext.length and the content of one record
MAX_CIPHERTEXT: Final[int]  # 2**14 + 256: TLSCiphertext.length
HEADER_SIZE: Final[int]  # 5
TAG_SIZE: Final[int]  # 16, every supported AEAD
MAX_EMPTY_RECORDS: Final[int]  # records in a row that deliver nothing before unexpected_message
MAX_SKIPPED_EARLY_RECORDS: Final[int]  # rejected 0-RTT records dropped before unexpected_message

# TLS 1.3 cipher suites (RFC 8446 §B.4), cytls.registry.CipherSuite's.
TLS_AES_128_GCM_SHA256: Final[int]
TLS_AES_256_GCM_SHA384: Final[int]
TLS_CHACHA20_POLY1305_SHA256: Final[int]

_PaddingPolicy = Callable[[int, int], int]
"""Called as ``policy(content_type, content_length)`` for each outgoing protected record;
returns how many zero bytes of padding to add (RFC 8446 §5.4). The result is clamped so the
record stays within the write limit."""

@disjoint_base
class RecordLayer:
    """Both directions of one TLS connection's record protection.

    Starts unprotected in both directions. Any error raised for peer input is a
    :class:`cytls.errors.ProtocolError` carrying the alert to send; after it, reading and writing
    raise the same error again, except :meth:`write_alert` (once, to send that alert) and
    :meth:`data_to_send` (to flush it).

    Not thread-safe within one direction: a second call into the reading (or writing) side
    while one is under way (from another thread, a finalizer or the padding policy) raises
    RuntimeError. One thread may read while another writes.
    """

    legacy_version: int
    """legacy_record_version of outgoing unprotected records: 0x0303, or 0x0301 for an initial
    ClientHello (RFC 8446 §5.1). Protected records always carry 0x0303."""

    padding_policy: _PaddingPolicy | None
    """Padding hook for outgoing protected records; None means no padding."""

    allow_plaintext_alerts: bool
    """Accept unprotected alert records while the read side is protected (a server that has
    sent ServerHello may get a plaintext alert from a client that could not process it)."""

    hold_application_data: bool
    """Refuse application data (unexpected_message) while set: the handshake sets it while a
    handshake message is partly received, as nothing may come between its fragments (RFC 8446
    §5.1)."""

    def __init__(self) -> None: ...

    # Keys -------------------------------------------------------------------------------------
    def set_write_key(self, cipher_suite: int, key: Buffer, iv: Buffer) -> None:
        """Protect every later record with this key; the write sequence number restarts at 0.

        Records written before the change keep the previous protection. Raises ValueError for an
        unknown suite or a key/IV of the wrong length (the IV is always 12 bytes)."""

    def clear_write_key(self) -> None:
        """Write unprotected records again (a client's second ClientHello after 0-RTT)."""

    def set_read_key(
        self,
        cipher_suite: int,
        key: Buffer,
        iv: Buffer,
        *,
        allow_application_data: bool = True,
    ) -> None:
        """Open every later record with this key; the read sequence number restarts at 0.

        Takes effect at the next record boundary not yet processed. With
        ``allow_application_data=False`` (handshake traffic keys) an application_data record
        ends in unexpected_message."""

    def allow_application_data(self) -> None:
        """Let application data through under the current read key (TLS 1.2, after the
        peer's Finished verified); ``ValueError`` without a read key."""

    @property
    def write_protected(self) -> bool: ...
    @property
    def read_protected(self) -> bool: ...
    @property
    def write_sequence_number(self) -> int:
        """Sequence number the next outgoing record will use."""
    @property
    def read_sequence_number(self) -> int:
        """Sequence number the next incoming protected record must have used."""

    write_limit: int
    """Most content bytes in one outgoing record, 1..2**14 (RFC 8449 lowers it)."""
    read_limit: int
    """Most content bytes accepted in one incoming protected record, 1..2**14; the
    TLSInnerPlaintext may be one byte longer and the ciphertext 256 bytes longer."""

    # Output -----------------------------------------------------------------------------------
    def write(self, content_type: int, data: Buffer) -> None:
        """Queue ``data`` as records of ``content_type``, fragmented at ``write_limit``.

        Empty application data makes one empty record; empty handshake, alert or
        change_cipher_spec data raises ValueError (RFC 8446 §5.1), and so does application data
        while the write side is unprotected."""

    def write_alert(self, level: int, description: int) -> None:
        """Queue one alert record. Allowed after a failure, so the fatal alert can be sent."""

    def data_to_send(self) -> bytes:
        """Every queued record, sealed, as one bytes object; b"" when there is none."""

    @property
    def bytes_to_send(self) -> int:
        """Size in bytes of what :meth:`data_to_send` would return now."""

    # Input ------------------------------------------------------------------------------------
    def receive_data(self, data: Buffer) -> bool:
        """Take bytes from the peer, any amount, cut anywhere.

        Application data records are opened at once, straight from ``data`` when nothing is
        buffered; processing stops at the first other record, which waits for
        :meth:`next_record`. Returns whether one waits: when False, :meth:`next_record` would
        return None. Raises ProtocolError for a bad record."""

    def next_record(self) -> tuple[int, bytes] | None:
        """The next handshake, alert or change_cipher_spec record, or None if no complete one
        is buffered. Application data records before it are opened into the plaintext buffer.
        Nothing after the returned record is processed until the next call, so the caller may
        change the read key in between."""

    def pending(self) -> int:
        """Number of application-data bytes ready to read."""

    def read(self, max_bytes: int = -1) -> bytes:
        """Up to ``max_bytes`` bytes of application data (all of it if negative)."""

    def read_into(self, buffer: Buffer, nbytes: int = 0) -> int:
        """Copy up to ``nbytes`` (0: ``len(buffer)``) bytes of application data into
        ``buffer``; returns how many."""

    def skip_early_data(self, max_bytes: int) -> None:
        """Drop application_data records that do not open, until one opens, as long as the
        data in them (tag and content type byte not counted) stays within ``max_bytes`` and
        their number within MAX_SKIPPED_EARLY_RECORDS: what a server that rejects 0-RTT must
        do (RFC 8446 §4.2.10)."""

    @property
    def application_bytes_received(self) -> int:
        """Application-data bytes opened so far, read or not (a server counts 0-RTT with it)."""

    @property
    def buffered_input(self) -> int:
        """Bytes received but not yet processed (an incomplete record, or records waiting
        behind one that :meth:`next_record` has not returned yet)."""

    # State ------------------------------------------------------------------------------------
    @property
    def error(self) -> BaseException | None:
        """The error that ended this record layer, if any."""

    def fail(self, exc: BaseException) -> None:
        """Fail the layer for an error found above it (a TLSError from the handshake): what was
        received and not yet read is wiped and dropped, and reading raises ``exc``."""

    def buffer_capacities(self) -> tuple[int, int, int]:
        """Bytes allocated for (input, plaintext, output); all 0 when idle."""

    def _set_sequence_numbers(self, *, read: int | None = None, write: int | None = None) -> None:
        """Testing hook: jump a sequence number (e.g. to just below 2**64)."""

def aead_seal(
    cipher_suite: int, key: Buffer, iv: Buffer, sequence_number: int, aad: Buffer, plaintext: Buffer
) -> bytes:
    """Seal one buffer exactly as the record layer seals a record (nonce = iv XOR seq).

    For known-answer tests of the AEAD call path."""

def aead_open(
    cipher_suite: int,
    key: Buffer,
    iv: Buffer,
    sequence_number: int,
    aad: Buffer,
    ciphertext: Buffer,
) -> bytes:
    """Open one buffer exactly as the record layer opens a record; ProtocolError
    (bad_record_mac) if it does not authenticate."""

"""Independent record-layer model for the cytls._record tests.

Everything here is written from RFC 8446 §5 with ``cryptography``'s AEADs, not with cytls, so
that the tests check the record layer against a second implementation instead of against itself.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from cytls._record import RecordLayer
from cytls.errors import ProtocolError, TLSError
from cytls.wire.enums import AlertDescription

CCS = 20
ALERT = 21
HANDSHAKE = 22
APPDATA = 23

MAX_PLAINTEXT = 2**14
MAX_CIPHERTEXT = 2**14 + 256
TAG = 16
HEADER = 5

KEY_SIZES = {0x1301: 16, 0x1302: 32, 0x1303: 32}
SUITES = sorted(KEY_SIZES)
SUITE_IDS = ["aes128gcm", "aes256gcm", "chacha20poly1305"]

suite_param = pytest.mark.parametrize("suite", SUITES, ids=SUITE_IDS)


@dataclass(frozen=True)
class Keys:
    """One direction's traffic key material: suite, key and 12-byte static IV."""

    suite: int
    key: bytes
    iv: bytes

    def aead(self) -> AESGCM | ChaCha20Poly1305:
        """The reference AEAD object for this suite."""
        return ChaCha20Poly1305(self.key) if self.suite == 0x1303 else AESGCM(self.key)

    def nonce(self, seq: int) -> bytes:
        """RFC 8446 §5.3: iv XOR the 64-bit sequence number left-padded to the IV length."""
        padded = seq.to_bytes(len(self.iv), "big")
        return bytes(a ^ b for a, b in zip(self.iv, padded, strict=True))


def make_keys(suite: int, label: str = "A") -> Keys:
    """Deterministic, label-dependent key and IV so that key A and key B really differ."""
    material = hashlib.sha512(f"cytls-test-{suite:#06x}-{label}".encode()).digest()
    return Keys(suite, material[: KEY_SIZES[suite]], material[32:44])


def header(content_type: int, length: int, version: int = 0x0303) -> bytes:
    """The 5-byte record header."""
    return struct.pack("!BHH", content_type, version, length)


def plain_record(content_type: int, body: bytes, version: int = 0x0303) -> bytes:
    """An unprotected TLSPlaintext record."""
    return header(content_type, len(body), version) + body


def seal_record(
    keys: Keys, seq: int, inner: bytes, *, outer_type: int = APPDATA, version: int = 0x0303
) -> bytes:
    """A TLSCiphertext record around an arbitrary (possibly malformed) TLSInnerPlaintext."""
    aad = header(outer_type, len(inner) + TAG, version)
    return aad + keys.aead().encrypt(keys.nonce(seq), inner, aad)


def seal_content(
    keys: Keys, seq: int, content_type: int, content: bytes, padding: int = 0
) -> bytes:
    """A well-formed protected record: content || type || zeros."""
    return seal_record(keys, seq, content + bytes([content_type]) + bytes(padding))


def open_record(keys: Keys, seq: int, record: bytes) -> bytes:
    """Decrypt one complete protected record; returns the raw TLSInnerPlaintext."""
    assert record[0] == APPDATA, f"protected record has outer type {record[0]}"
    assert record[1:3] == b"\x03\x03", f"protected record has version {record[1:3].hex()}"
    length = int.from_bytes(record[3:5], "big")
    assert len(record) == HEADER + length
    return keys.aead().decrypt(keys.nonce(seq), record[HEADER:], record[:HEADER])


def split_inner(inner: bytes) -> tuple[bytes, int, int]:
    """(content, content type, padding length) of a TLSInnerPlaintext."""
    stripped = inner.rstrip(b"\x00")
    assert stripped, "inner plaintext has no content type"
    return stripped[:-1], stripped[-1], len(inner) - len(stripped)


@dataclass(frozen=True)
class Record:
    """One record as parsed from the wire."""

    type: int
    version: int
    body: bytes

    @property
    def raw(self) -> bytes:
        """The record's wire bytes."""
        return header(self.type, len(self.body), self.version) + self.body


def split_records(stream: bytes) -> list[Record]:
    """Parse a stream of complete records; fails on trailing partial data."""
    records = []
    pos = 0
    while pos < len(stream):
        assert len(stream) - pos >= HEADER, "truncated header"
        ctype, version, length = struct.unpack_from("!BHH", stream, pos)
        body = stream[pos + HEADER : pos + HEADER + length]
        assert len(body) == length, "truncated body"
        records.append(Record(ctype, version, body))
        pos += HEADER + length
    return records


def open_stream(keys: Keys, stream: bytes, first_seq: int = 0) -> list[tuple[int, bytes, int]]:
    """Decrypt every record of a protected stream: [(content type, content, padding)]."""
    out = []
    for i, rec in enumerate(split_records(stream)):
        content, ctype, pad = split_inner(open_record(keys, first_seq + i, rec.raw))
        out.append((ctype, content, pad))
    return out


def layer_with(
    *, write: Keys | None = None, read: Keys | None = None, allow_app: bool = True
) -> RecordLayer:
    """A RecordLayer with the given keys installed."""
    layer = RecordLayer()
    if write is not None:
        layer.set_write_key(write.suite, write.key, write.iv)
    if read is not None:
        layer.set_read_key(read.suite, read.key, read.iv, allow_application_data=allow_app)
    return layer


def pair(suite: int, label: str = "A") -> tuple[RecordLayer, RecordLayer, Keys]:
    """A writer and a reader sharing one key."""
    keys = make_keys(suite, label)
    return layer_with(write=keys), layer_with(read=keys), keys


def drain(layer: RecordLayer) -> list[tuple[int, bytes]]:
    """Every complete non-application record the layer can return now, in order."""
    out = []
    while (rec := layer.next_record()) is not None:
        out.append(rec)
    return out


def feed(layer: RecordLayer, data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """receive_data, then take every record and all application data."""
    layer.receive_data(data)
    records = drain(layer)
    return records, layer.read()


def alert_record(level: int, description: int) -> bytes:
    """An unprotected alert record."""
    return plain_record(ALERT, bytes([level, description]))


def assert_failed(layer: RecordLayer, alert: AlertDescription, write_keys: Keys | None) -> None:
    """The layer is failed with ``alert``: input and write() raise it again (sticky), but one
    fatal alert can still be written and flushed, protected when write keys are set."""
    err = layer.error
    assert isinstance(err, ProtocolError), f"error is {err!r}"
    assert err.alert == alert
    seq = layer.write_sequence_number
    calls = {
        "receive_data": lambda: layer.receive_data(plain_record(HANDSHAKE, b"\x01")),
        "next_record": layer.next_record,
        "read": layer.read,
        "read_into": lambda: layer.read_into(bytearray(64)),
        "write": lambda: layer.write(HANDSHAKE, b"\x01"),
    }
    for name, call in calls.items():
        with pytest.raises(ProtocolError) as info:
            call()
        assert info.value.alert == alert, name
    # Whatever was decrypted before or during the failure must not be readable.
    try:
        pending = layer.pending()
    except ProtocolError as exc:
        assert exc.alert == alert
    else:
        assert pending == 0
    layer.write_alert(2, int(alert))
    out = layer.data_to_send()
    if write_keys is None:
        assert out == alert_record(2, int(alert))
    else:
        inner = open_record(write_keys, seq, out)
        assert inner == bytes([2, int(alert), ALERT])
        assert len(out) == HEADER + 3 + TAG
    # Only one alert: a second one is refused (exactly how is test_second_alert_after_failure's).
    with pytest.raises(TLSError):
        layer.write_alert(2, int(alert))
    assert layer.data_to_send() == b""

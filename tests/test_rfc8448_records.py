"""Known-answer tests of the record layer against the RFC 8448 §3 trace (Simple 1-RTT Handshake).

The vectors (tests/vectors/rfc8448_simple_1rtt.json) were extracted from the RFC text by
tests/vectors/make_rfc8448_vectors.py: traffic keys, sequence numbers, plaintext and the
complete protected records exactly as the trace prints them. Nothing expected here comes from
cytls itself. Suite: TLS_AES_128_GCM_SHA256 (0x1301); no padding is used in §3.

Expected errors follow RFC 8446 §5 and §5.2: a record that does not authenticate is
bad_record_mac, a record type other than application_data under protection is
unexpected_message, a TLSCiphertext.length above 2^14 + 256 is record_overflow.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cytls._record import RecordLayer, aead_open, aead_seal
from cytls.errors import ProtocolError
from cytls.wire.enums import AlertDescription, AlertLevel, ContentType

VECTORS = json.loads(
    (Path(__file__).parent / "vectors" / "rfc8448_simple_1rtt.json").read_text(encoding="utf-8")
)
SUITE: int = VECTORS["cipher_suite"]
MAX_CIPHERTEXT = 2**14 + 256  # RFC 8446 §5.2, with the default read limit of 2^14
PROTECTED_TYPE = ContentType.application_data  # TLSCiphertext.opaque_type, RFC 8446 §5.2
HANDSHAKE_KEYS = frozenset({"server_handshake", "client_handshake"})


@dataclass(frozen=True)
class TrafficKey:
    """One write key and IV of the trace."""

    name: str
    key: bytes
    iv: bytes


@dataclass(frozen=True)
class Rec:
    """One record of the trace: who wrote it, under which key and sequence number."""

    name: str
    writer: str
    key: TrafficKey | None
    seq: int
    content_type: int
    plaintext: bytes
    record: bytes

    @property
    def header(self) -> bytes:
        """The 5-byte record header, which is also the AEAD additional data (RFC 8446 §5.2)."""
        return self.record[:5]

    @property
    def inner(self) -> bytes:
        """TLSInnerPlaintext without padding: content || type (RFC 8446 §5.2)."""
        return self.plaintext + bytes([self.content_type])


KEYS = {
    name: TrafficKey(name, bytes.fromhex(k["key"]), bytes.fromhex(k["iv"]))
    for name, k in VECTORS["keys"].items()
}
RECORDS = [
    Rec(
        r["name"],
        r["writer"],
        KEYS[r["key"]],
        r["sequence_number"],
        r["content_type"],
        bytes.fromhex(r["plaintext"]),
        bytes.fromhex(r["record"]),
    )
    for r in VECTORS["records"]
]
UNPROTECTED = {r["writer"]: (r["legacy_record_version"], r) for r in VECTORS["unprotected_records"]}
BY_NAME = {r.name: r for r in RECORDS}


def records_of(key_name: str) -> list[Rec]:
    """The records sealed under one key, in sequence-number order."""
    found = [r for r in RECORDS if r.key is not None and r.key.name == key_name]
    return sorted(found, key=lambda r: r.seq)


def key_of(rec: Rec) -> TrafficKey:
    """The key of a protected record (narrows the Optional for the type checker)."""
    assert rec.key is not None
    return rec.key


SHORT_RECORDS = [r for r in RECORDS if len(r.record) < 100]
RECORD_IDS = [r.name for r in RECORDS]
SHORT_IDS = [r.name for r in SHORT_RECORDS]


def writer(key: TrafficKey, seq: int = 0) -> RecordLayer:
    """A record layer whose next outgoing record uses ``key`` at sequence number ``seq``."""
    rl = RecordLayer()
    rl.padding_policy = None  # §3 uses no padding
    rl.set_write_key(SUITE, key.key, key.iv)
    if seq:
        rl._set_sequence_numbers(write=seq)
    assert rl.write_sequence_number == seq
    return rl


def reader(key: TrafficKey, seq: int = 0) -> RecordLayer:
    """A record layer that expects the next incoming record under ``key`` at ``seq``.

    Handshake traffic keys are installed as a handshake would install them, refusing
    application data; plaintext alerts are refused so that a changed record type has one
    well-defined outcome.
    """
    rl = RecordLayer()
    rl.allow_plaintext_alerts = False
    rl.read_limit = 2**14
    rl.set_read_key(SUITE, key.key, key.iv, allow_application_data=key.name not in HANDSHAKE_KEYS)
    if seq:
        rl._set_sequence_numbers(read=seq)
    assert rl.read_sequence_number == seq
    return rl


def drain(rl: RecordLayer, data: bytes) -> list[tuple[int, bytes]]:
    """Feed ``data`` and collect every non-application record now complete.

    Errors may be raised by receive_data or next_record; the contract leaves open which one,
    so tests that expect an error go through this helper.
    """
    rl.receive_data(data)
    out = []
    while (item := rl.next_record()) is not None:
        out.append(item)
    return out


def assert_fails(rl: RecordLayer, data: bytes, alert: AlertDescription, what: str) -> None:
    """``data`` must end ``rl`` with ``alert``, and the failure must be sticky."""
    with pytest.raises(ProtocolError) as info:
        drain(rl, data)
    assert info.value.alert == alert, f"{what}: got {info.value.alert!r}, want {alert!r}"
    assert rl.error is not None, what
    assert isinstance(rl.error, ProtocolError), what
    assert rl.error.alert == alert, what
    with pytest.raises(ProtocolError) as again:
        rl.next_record()
    assert again.value.alert == alert, f"{what}: next_record after failure"
    with pytest.raises(ProtocolError) as again:
        rl.receive_data(b"\x17\x03\x03")
    assert again.value.alert == alert, f"{what}: receive_data after failure"


def flipped(data: bytes, index: int, mask: int) -> bytes:
    """``data`` with byte ``index`` XORed with ``mask``."""
    out = bytearray(data)
    out[index] ^= mask
    return bytes(out)


def replaced(data: bytes, index: int, value: int) -> bytes:
    """``data`` with byte ``index`` set to ``value``."""
    out = bytearray(data)
    out[index] = value
    return bytes(out)


def other_values(original: int) -> Iterator[int]:
    """Every byte value except ``original``."""
    return (v for v in range(256) if v != original)


# The vector file -------------------------------------------------------------------------------


def test_vectors_match_the_trace_layout() -> None:
    """The JSON holds the seven protected records of §3, in trace order, with the writer, key,
    sequence number and content type read off the trace by hand; each record's header length
    is 5 + content + type byte + 16-byte tag (no padding). Guards against a bad regeneration."""
    layout = [(r.writer, key_of(r).name, r.seq, r.content_type) for r in RECORDS]
    assert layout == [
        ("server", "server_handshake", 0, ContentType.handshake),  # EE..Finished
        ("client", "client_handshake", 0, ContentType.handshake),  # Finished
        ("server", "server_application", 0, ContentType.handshake),  # NewSessionTicket
        ("client", "client_application", 0, ContentType.application_data),
        ("server", "server_application", 1, ContentType.application_data),
        ("client", "client_application", 1, ContentType.alert),  # close_notify
        ("server", "server_application", 2, ContentType.alert),  # close_notify
    ]
    for rec in RECORDS:
        assert rec.header[:3] == b"\x17\x03\x03", rec.name
        length = int.from_bytes(rec.header[3:5], "big")
        assert length == len(rec.record) - 5 == len(rec.plaintext) + 1 + 16, rec.name
    assert [len(r.record) for r in RECORDS] == [679, 58, 227, 72, 72, 24, 24]
    assert VECTORS["cipher_suite"] == 0x1301
    assert BY_NAME["client_application-seq1-alert"].plaintext == b"\x01\x00"  # warning, close


# Sealing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("rec", RECORDS, ids=RECORD_IDS)
def test_seal_record_alone(rec: Rec) -> None:
    """Each record, sealed on its own at its sequence number, is the trace's record."""
    rl = writer(key_of(rec), rec.seq)
    rl.write(rec.content_type, rec.plaintext)
    assert rl.write_sequence_number == rec.seq + 1
    assert rl.bytes_to_send == len(rec.record)
    assert rl.data_to_send().hex() == rec.record.hex()
    assert rl.data_to_send() == b""
    assert rl.bytes_to_send == 0


@pytest.mark.parametrize("key_name", sorted(KEYS))
@pytest.mark.parametrize("flush_each", [True, False], ids=["flush-each", "flush-once"])
def test_seal_records_in_order(key_name: str, flush_each: bool) -> None:
    """All records of one key through one record layer: sequence numbers advance by one per
    record, whether records are flushed one by one or queued and flushed together."""
    recs = records_of(key_name)
    rl = writer(KEYS[key_name])
    out = b""
    for i, rec in enumerate(recs):
        assert rl.write_sequence_number == rec.seq == i
        rl.write(rec.content_type, rec.plaintext)
        if flush_each:
            out += rl.data_to_send()
    out += rl.data_to_send()
    assert out.hex() == b"".join(r.record for r in recs).hex()
    assert rl.write_sequence_number == len(recs)


@pytest.mark.parametrize(
    "rec", [r for r in RECORDS if r.content_type == ContentType.alert], ids=lambda r: r.name
)
def test_write_alert_is_the_trace_alert(rec: Rec) -> None:
    """write_alert(warning, close_notify) seals the same record as the trace's alert."""
    rl = writer(key_of(rec), rec.seq)
    rl.write_alert(AlertLevel.warning, AlertDescription.close_notify)
    assert rl.data_to_send().hex() == rec.record.hex()


@pytest.mark.parametrize("side", ["client", "server"])
def test_unprotected_records(side: str) -> None:
    """ClientHello (legacy_record_version 0x0301) and ServerHello (0x0303) are framed exactly
    as printed, and read back unchanged (RFC 8446 §5.1)."""
    version, vec = UNPROTECTED[side]
    payload, record = bytes.fromhex(vec["plaintext"]), bytes.fromhex(vec["record"])
    rl = RecordLayer()
    rl.legacy_version = version
    rl.write(vec["content_type"], payload)
    assert rl.data_to_send().hex() == record.hex()
    assert drain(RecordLayer(), record) == [(vec["content_type"], payload)]


# Opening ---------------------------------------------------------------------------------------


def assert_delivered(rl: RecordLayer, got: list[tuple[int, bytes]], recs: list[Rec]) -> None:
    """``got`` (from next_record) and the plaintext buffer hold exactly ``recs``' content."""
    app = [r for r in recs if r.content_type == ContentType.application_data]
    other = [(r.content_type, r.plaintext) for r in recs if r not in app]
    assert got == other
    expected_app = b"".join(r.plaintext for r in app)
    assert rl.pending() == len(expected_app)
    assert rl.read() == expected_app
    assert rl.pending() == 0
    assert rl.buffered_input == 0
    assert rl.error is None


@pytest.mark.parametrize("rec", RECORDS, ids=RECORD_IDS)
def test_open_record_alone(rec: Rec) -> None:
    """Each record opens at its sequence number to the trace's content and type."""
    rl = reader(key_of(rec), rec.seq)
    assert_delivered(rl, drain(rl, rec.record), [rec])
    assert rl.read_sequence_number == rec.seq + 1


@pytest.mark.parametrize("rec", RECORDS, ids=RECORD_IDS)
def test_open_record_byte_by_byte(rec: Rec) -> None:
    """Fed one byte at a time, a record delivers nothing until its last byte (no plaintext
    before the tag is checked), then exactly its content."""
    rl = reader(key_of(rec), rec.seq)
    for i in range(len(rec.record) - 1):
        assert drain(rl, rec.record[i : i + 1]) == [], i
        assert rl.pending() == 0, i
        assert rl.buffered_input == i + 1, i
    assert_delivered(rl, drain(rl, rec.record[-1:]), [rec])


@pytest.mark.parametrize("key_name", sorted(KEYS))
@pytest.mark.parametrize("chunk", [None, 1, 7], ids=["whole", "bytes", "chunks7"])
def test_open_records_in_order(key_name: str, chunk: int | None) -> None:
    """All records of one key as one stream, whole or cut anywhere, open in order."""
    recs = records_of(key_name)
    stream = b"".join(r.record for r in recs)
    rl = reader(KEYS[key_name])
    got: list[tuple[int, bytes]] = []
    step = chunk or len(stream)
    for i in range(0, len(stream), step):
        got += drain(rl, stream[i : i + step])
    assert_delivered(rl, got, recs)
    assert rl.read_sequence_number == len(recs)


def test_open_stops_at_each_non_application_record() -> None:
    """Server application stream (NST, data, alert): receive_data stops at the NST, and the
    data behind a returned record is not opened until the next next_record call (so a
    handshake could change keys there)."""
    nst, data, alert = records_of("server_application")
    rl = reader(KEYS["server_application"])
    rl.receive_data(nst.record + data.record + alert.record)
    assert rl.pending() == 0
    assert rl.next_record() == (nst.content_type, nst.plaintext)
    assert rl.pending() == 0
    assert rl.next_record() == (alert.content_type, alert.plaintext)
    assert rl.pending() == len(data.plaintext)
    assert rl.next_record() is None
    assert rl.read() == data.plaintext
    assert rl.read_sequence_number == 3


def test_full_section3_exchange() -> None:
    """Client and server record layers replay §3: every byte each side writes is the trace's,
    and each side changes keys at the record boundaries where the handshake would."""
    client, server = RecordLayer(), RecordLayer()
    for rl in (client, server):
        rl.padding_policy = None
        rl.allow_plaintext_alerts = False

    def install(rl: RecordLayer, direction: str, name: str) -> None:
        key = KEYS[name]
        if direction == "write":
            rl.set_write_key(SUITE, key.key, key.iv)
        else:
            allow = name not in HANDSHAKE_KEYS
            rl.set_read_key(SUITE, key.key, key.iv, allow_application_data=allow)

    ch_version, ch = UNPROTECTED["client"]
    sh_version, sh = UNPROTECTED["server"]
    ch_payload, sh_payload = bytes.fromhex(ch["plaintext"]), bytes.fromhex(sh["plaintext"])
    flight = BY_NAME["server_handshake-seq0-handshake"]
    finished = BY_NAME["client_handshake-seq0-handshake"]
    ticket = BY_NAME["server_application-seq0-handshake"]
    c_data = BY_NAME["client_application-seq0-application_data"]
    s_data = BY_NAME["server_application-seq1-application_data"]
    c_alert = BY_NAME["client_application-seq1-alert"]
    s_alert = BY_NAME["server_application-seq2-alert"]

    client.legacy_version = ch_version
    client.write(ContentType.handshake, ch_payload)
    wire = client.data_to_send()
    assert wire.hex() == ch["record"]
    assert drain(server, wire) == [(ContentType.handshake, ch_payload)]

    # ServerHello in the clear, then the flight under the handshake key; the application key
    # is installed before flushing, which must not change records already written.
    server.legacy_version = sh_version
    server.write(ContentType.handshake, sh_payload)
    install(server, "write", "server_handshake")
    server.write(ContentType.handshake, flight.plaintext)
    install(server, "write", "server_application")
    install(server, "read", "client_handshake")
    wire = server.data_to_send()
    assert wire.hex() == sh["record"] + flight.record.hex()

    client.receive_data(wire)
    assert client.next_record() == (ContentType.handshake, sh_payload)
    install(client, "read", "server_handshake")
    assert client.next_record() == (ContentType.handshake, flight.plaintext)
    assert client.next_record() is None
    install(client, "write", "client_handshake")
    client.write(ContentType.handshake, finished.plaintext)
    install(client, "write", "client_application")
    install(client, "read", "server_application")
    wire = client.data_to_send()
    assert wire.hex() == finished.record.hex()

    assert drain(server, wire) == [(ContentType.handshake, finished.plaintext)]
    install(server, "read", "client_application")
    server.write(ContentType.handshake, ticket.plaintext)
    wire = server.data_to_send()
    assert wire.hex() == ticket.record.hex()
    assert drain(client, wire) == [(ContentType.handshake, ticket.plaintext)]

    client.write(ContentType.application_data, c_data.plaintext)
    wire = client.data_to_send()
    assert wire.hex() == c_data.record.hex()
    assert drain(server, wire) == []
    assert server.read() == c_data.plaintext

    server.write(ContentType.application_data, s_data.plaintext)
    wire = server.data_to_send()
    assert wire.hex() == s_data.record.hex()
    assert drain(client, wire) == []
    assert client.read() == s_data.plaintext

    client.write_alert(AlertLevel.warning, AlertDescription.close_notify)
    wire = client.data_to_send()
    assert wire.hex() == c_alert.record.hex()
    assert drain(server, wire) == [(ContentType.alert, c_alert.plaintext)]

    server.write_alert(AlertLevel.warning, AlertDescription.close_notify)
    wire = server.data_to_send()
    assert wire.hex() == s_alert.record.hex()
    assert drain(client, wire) == [(ContentType.alert, s_alert.plaintext)]

    assert (client.write_sequence_number, client.read_sequence_number) == (2, 3)
    assert (server.write_sequence_number, server.read_sequence_number) == (3, 2)


# Wrong key or sequence number ------------------------------------------------------------------


@pytest.mark.parametrize("rec", RECORDS, ids=RECORD_IDS)
@pytest.mark.parametrize("delta", [-1, 1])
def test_wrong_sequence_number_is_bad_record_mac(rec: Rec, delta: int) -> None:
    """The nonce depends on the sequence number (RFC 8446 §5.3): a record replayed, dropped
    or reordered does not authenticate."""
    seq = rec.seq + delta
    if seq < 0:
        seq = 2**64 - 1
    assert_fails(reader(key_of(rec), seq), rec.record, AlertDescription.bad_record_mac, rec.name)


@pytest.mark.parametrize("rec", RECORDS, ids=RECORD_IDS)
def test_reflected_record_is_bad_record_mac(rec: Rec) -> None:
    """A record sent back to its writer (opened with the peer's key of the same phase) does
    not authenticate: client and server keys differ."""
    mirror = {
        "server_handshake": "client_handshake",
        "client_handshake": "server_handshake",
        "server_application": "client_application",
        "client_application": "server_application",
    }
    rl = reader(KEYS[mirror[key_of(rec).name]], rec.seq)
    assert_fails(rl, rec.record, AlertDescription.bad_record_mac, rec.name)


def test_reordered_records_are_bad_record_mac() -> None:
    """Server application data (seq 1) arriving before the NewSessionTicket (seq 0) fails."""
    nst, data, _ = records_of("server_application")
    rl = reader(KEYS["server_application"])
    assert_fails(rl, data.record + nst.record, AlertDescription.bad_record_mac, "reordered")


# Tampering -------------------------------------------------------------------------------------


@pytest.mark.parametrize("rec", RECORDS, ids=RECORD_IDS)
def test_tampered_encrypted_record_is_bad_record_mac(rec: Rec) -> None:
    """Any change to encrypted_record (ciphertext or tag), one bit or a whole byte, at every
    position, is bad_record_mac (RFC 8446 §5.2)."""
    for index in range(5, len(rec.record)):
        for mask in (0x01, 0x80, 0xFF):
            rl = reader(key_of(rec), rec.seq)
            what = f"{rec.name}: byte {index} ^ {mask:#04x}"
            assert_fails(
                rl, flipped(rec.record, index, mask), AlertDescription.bad_record_mac, what
            )


@pytest.mark.parametrize("rec", SHORT_RECORDS, ids=SHORT_IDS)
def test_changed_record_type_is_unexpected_message(rec: Rec) -> None:
    """Under read protection only application_data (23) records may arrive; any other type
    is an unexpected record type (RFC 8446 §5), including a plaintext alert while
    allow_plaintext_alerts is off. change_cipher_spec (20) has its own test."""
    for value in other_values(PROTECTED_TYPE):
        if value == ContentType.change_cipher_spec:
            continue
        rl = reader(key_of(rec), rec.seq)
        what = f"{rec.name}: type {value}"
        assert_fails(rl, replaced(rec.record, 0, value), AlertDescription.unexpected_message, what)


@pytest.mark.parametrize("rec", SHORT_RECORDS, ids=SHORT_IDS)
def test_changed_type_to_change_cipher_spec_never_decrypts(rec: Rec) -> None:
    """A record retyped to change_cipher_spec is not the single byte 0x01 that RFC 8446 §5
    allows in the clear: it is either refused (unexpected_message) or handed to the handshake
    unchanged, as the raw unprotected body, to refuse there. It never yields the plaintext."""
    rl = reader(key_of(rec), rec.seq)
    body = rec.record[5:]
    try:
        got = drain(rl, replaced(rec.record, 0, ContentType.change_cipher_spec))
    except ProtocolError as exc:
        assert exc.alert == AlertDescription.unexpected_message
        assert rl.error is not None
    else:
        assert got == [(ContentType.change_cipher_spec, body)]
        assert rl.pending() == 0


@pytest.mark.parametrize("rec", SHORT_RECORDS, ids=SHORT_IDS)
@pytest.mark.parametrize("index", [1, 2], ids=["version-hi", "version-lo"])
def test_changed_legacy_version_is_bad_record_mac(rec: Rec, index: int) -> None:
    """legacy_record_version is otherwise ignored (RFC 8446 §5.1) but is part of the
    additional data (§5.2), so a changed version fails authentication."""
    for value in other_values(rec.record[index]):
        rl = reader(key_of(rec), rec.seq)
        what = f"{rec.name}: byte {index} = {value:#04x}"
        assert_fails(rl, replaced(rec.record, index, value), AlertDescription.bad_record_mac, what)


@pytest.mark.parametrize("rec", RECORDS, ids=RECORD_IDS)
@pytest.mark.parametrize("index", [3, 4], ids=["length-hi", "length-lo"])
def test_changed_length(rec: Rec, index: int) -> None:
    """A changed TLSCiphertext.length, every value, per RFC 8446 §5.2:

    - above 2^14 + 256: record_overflow (checked here once the claimed record is complete;
      test_overflowing_length_is_refused_from_the_header checks it from the header alone);
    - longer than the record: it is incomplete, nothing is delivered and nothing fails;
      completed with zeros, it does not authenticate: bad_record_mac;
    - shorter: the truncated record (and its changed additional data) does not authenticate:
      bad_record_mac.
    """
    length = len(rec.record) - 5
    for value in other_values(rec.record[index]):
        tampered = replaced(rec.record, index, value)
        claimed = int.from_bytes(tampered[3:5], "big")
        what = f"{rec.name}: length {length} -> {claimed}"
        rl = reader(key_of(rec), rec.seq)
        if claimed > MAX_CIPHERTEXT:
            padded = tampered + bytes(claimed - length)
            assert_fails(rl, padded, AlertDescription.record_overflow, what)
        elif claimed > length:
            assert drain(rl, tampered) == [], what
            assert rl.pending() == 0, what
            assert rl.error is None, what
            assert rl.buffered_input == len(tampered), what
            rest = bytes(claimed - length)
            assert_fails(rl, rest, AlertDescription.bad_record_mac, what)
        else:
            assert_fails(rl, tampered, AlertDescription.bad_record_mac, what)


@pytest.mark.parametrize("claimed", [MAX_CIPHERTEXT + 1, 0x4113, 0xFFFF])
def test_overflowing_length_is_refused_from_the_header(claimed: int) -> None:
    """A header announcing more than 2^14 + 256 bytes is record_overflow as soon as the header
    is in (RFC 8446 §5.2): there is no point buffering a record that cannot be valid."""
    rl = reader(KEYS["client_application"])
    header = b"\x17\x03\x03" + claimed.to_bytes(2, "big")
    assert_fails(rl, header, AlertDescription.record_overflow, f"length {claimed}")


def test_largest_length_is_not_refused_from_the_header() -> None:
    """2^14 + 256 itself is allowed by RFC 8446 §5.2: the header alone is just incomplete."""
    rl = reader(KEYS["client_application"])
    assert drain(rl, b"\x17\x03\x03" + MAX_CIPHERTEXT.to_bytes(2, "big")) == []
    assert rl.error is None
    assert rl.buffered_input == 5


# The AEAD call path ----------------------------------------------------------------------------


@pytest.mark.parametrize("rec", RECORDS, ids=RECORD_IDS)
def test_aead_seal_and_open(rec: Rec) -> None:
    """aead_seal/aead_open with the record's key, IV, sequence number and header as additional
    data give encrypted_record and content || type (RFC 8446 §5.2)."""
    key = key_of(rec)
    encrypted = rec.record[5:]
    sealed = aead_seal(SUITE, key.key, key.iv, rec.seq, rec.header, rec.inner)
    assert sealed.hex() == encrypted.hex()
    assert aead_open(SUITE, key.key, key.iv, rec.seq, rec.header, encrypted) == rec.inner
    with pytest.raises(ProtocolError) as info:
        aead_open(SUITE, key.key, key.iv, rec.seq + 1, rec.header, encrypted)
    assert info.value.alert == AlertDescription.bad_record_mac

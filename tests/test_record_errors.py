"""Every record-layer error of RFC 8446 §5, provoked on purpose.

Each peer error must be a ProtocolError (so also an ssl.SSLError) carrying the exact alert, and
must leave the layer failed: input and write() raise again, while one fatal alert can still be
written and flushed (checked by ``assert_failed``). Malformed protected records are built here
with ``cryptography``, since a correct writer cannot produce them.
"""

from __future__ import annotations

import pathlib
import ssl
import subprocess
import sys
from collections.abc import Callable

import pytest
from recordutil import (
    ALERT,
    APPDATA,
    CCS,
    HANDSHAKE,
    MAX_PLAINTEXT,
    SUITES,
    TAG,
    Keys,
    assert_failed,
    drain,
    feed,
    header,
    layer_with,
    make_keys,
    open_record,
    open_stream,
    pair,
    plain_record,
    seal_content,
    seal_record,
    suite_param,
)

from cytls import _record
from cytls._record import RecordLayer
from cytls.errors import ProtocolError, TLSError
from cytls.wire.enums import AlertDescription


def hexid(value: bytes) -> str:
    """Readable test id for a byte string parameter."""
    return value.hex() if len(value) <= 8 else f"{value[:2].hex()}..{len(value)}B"


UNEXPECTED = AlertDescription.unexpected_message
BAD_MAC = AlertDescription.bad_record_mac
OVERFLOW = AlertDescription.record_overflow


@pytest.fixture(params=["alert-plain", "alert-protected"])
def wkeys(request: pytest.FixtureRequest) -> Keys | None:
    """The failing layer's own write keys: the final alert is then sent protected."""
    return make_keys(0x1302, "W") if request.param == "alert-protected" else None


def reader(read: Keys | None, wkeys: Keys | None, *, allow_app: bool = True) -> RecordLayer:
    """A receiving layer, protected for reading if ``read`` is given."""
    return layer_with(write=wkeys, read=read, allow_app=allow_app)


def expect_alert(
    layer: RecordLayer,
    stream: bytes,
    alert: AlertDescription,
    wkeys: Keys | None,
    *,
    chunk: int = 0,
) -> list[tuple[int, bytes]]:
    """Feed ``stream`` (whole, or in ``chunk``-byte pieces), taking records as they come; the
    layer must fail with ``alert`` and stay failed. Returns the records seen before it."""
    assert layer.error is None
    seen: list[tuple[int, bytes]] = []
    pieces = (
        [stream] if chunk == 0 else [stream[i : i + chunk] for i in range(0, len(stream), chunk)]
    )
    with pytest.raises(ProtocolError) as info:
        for piece in pieces:
            layer.receive_data(piece)
            while (rec := layer.next_record()) is not None:
                seen.append(rec)
    exc = info.value
    assert isinstance(exc, ssl.SSLError)
    assert isinstance(exc, TLSError)
    assert exc.alert == alert, f"expected {alert.name}, got {exc.alert.name}: {exc}"
    assert layer.error is not None
    assert_failed(layer, alert, wkeys)
    return seen


# record_overflow ----------------------------------------------------------------------------


@suite_param
@pytest.mark.parametrize("length", [2**14 + 257, 2**14 + 1000, 0xFFFF])
def test_ciphertext_too_long_fails_on_header(suite: int, length: int, wkeys: Keys | None) -> None:
    """TLSCiphertext.length > 2**14+256 is record_overflow as soon as the header is in,
    without waiting for (and buffering) the body."""
    layer = reader(make_keys(suite), wkeys)
    with pytest.raises(ProtocolError) as info:
        layer.receive_data(header(APPDATA, length))
        layer.next_record()
    assert info.value.alert == OVERFLOW
    assert_failed(layer, OVERFLOW, wkeys)


@pytest.mark.parametrize("ctype", [HANDSHAKE, ALERT])
def test_plaintext_too_long(ctype: int, wkeys: Keys | None) -> None:
    """TLSPlaintext.length > 2**14 is record_overflow."""
    layer = reader(None, wkeys)
    expect_alert(layer, plain_record(ctype, bytes(MAX_PLAINTEXT + 1)), OVERFLOW, wkeys)


def test_plaintext_max_length_accepted() -> None:
    """Exactly 2**14 bytes of unprotected handshake is fine (the boundary of the above)."""
    body = bytes(range(256)) * 64
    assert feed(RecordLayer(), plain_record(HANDSHAKE, body)) == ([(HANDSHAKE, body)], b"")


@suite_param
@pytest.mark.parametrize(
    "inner",
    [
        b"\xaa" * (MAX_PLAINTEXT + 1) + b"\x17",
        b"\xaa" * (MAX_PLAINTEXT + 1) + b"\x16",
        b"\xaa" * MAX_PLAINTEXT + b"\x17\x00",
        b"\xaa" + b"\x17" + bytes(MAX_PLAINTEXT),
    ],
    ids=["content-2**14+1", "handshake-2**14+1", "one-byte-padding", "mostly-padding"],
)
def test_inner_plaintext_too_long(suite: int, inner: bytes, wkeys: Keys | None) -> None:
    """A TLSInnerPlaintext over 2**14+1 bytes (padding included) is record_overflow."""
    keys = make_keys(suite)
    expect_alert(reader(keys, wkeys), seal_record(keys, 0, inner), OVERFLOW, wkeys)


@suite_param
@pytest.mark.parametrize(
    ("limit", "inner"),
    [
        (100, b"\xaa" * 101 + b"\x17"),
        (100, b"\xaa" * 100 + b"\x17\x00"),
        (100, b"\xaa" * 101 + b"\x16"),
        (1, b"ab\x17"),
        (1, b"\x16\x00\x00"),
    ],
)
def test_inner_plaintext_over_read_limit(
    suite: int, limit: int, inner: bytes, wkeys: Keys | None
) -> None:
    """With read_limit L the inner plaintext may be at most L+1 bytes (RFC 8449 §4)."""
    keys = make_keys(suite)
    layer = reader(keys, wkeys)
    layer.read_limit = limit
    expect_alert(layer, seal_record(keys, 0, inner), OVERFLOW, wkeys)


# bad_record_mac -------------------------------------------------------------------------------


def _flip(pos: int) -> Callable[[bytes], bytes]:
    def mutate(record: bytes) -> bytes:
        b = bytearray(record)
        b[pos] ^= 0x01
        return bytes(b)

    return mutate


TAMPERINGS = {
    "first-ciphertext-byte": _flip(5),
    "middle-ciphertext-byte": _flip(40),
    "last-tag-byte": _flip(-1),
    "first-tag-byte": _flip(-16),
    "aad-version": _flip(2),
}


@suite_param
@pytest.mark.parametrize("how", sorted(TAMPERINGS))
@pytest.mark.parametrize("chunk", [0, 1, 7])
def test_tampered_record(suite: int, how: str, chunk: int, wkeys: Keys | None) -> None:
    """Any changed bit of ciphertext, tag or AAD is bad_record_mac, and the unauthenticated
    plaintext never becomes readable."""
    keys = make_keys(suite)
    secret = b"SECRET-PLAINTEXT-" * 10
    record = TAMPERINGS[how](seal_content(keys, 0, APPDATA, secret))
    layer = reader(keys, wkeys)
    expect_alert(layer, record, BAD_MAC, wkeys, chunk=chunk)
    # Received bytes and the plaintext buffer (which held the unauthenticated decryption) are
    # dropped, not kept around in a failed layer.
    assert layer.buffer_capacities()[:2] == (0, 0)


@suite_param
def test_tampered_record_after_good_one(suite: int, wkeys: Keys | None) -> None:
    """A forged record behind a genuine one still fails, whatever was delivered before."""
    keys = make_keys(suite)
    good = seal_content(keys, 0, HANDSHAKE, b"\x08ee")
    bad = _flip(10)(seal_content(keys, 1, APPDATA, b"forged data"))
    seen = expect_alert(reader(keys, wkeys), good + bad, BAD_MAC, wkeys)
    assert seen == [(HANDSHAKE, b"\x08ee")]


@suite_param
@pytest.mark.parametrize("case", ["replay", "skip", "wrong-key", "wrong-iv", "other-suite"])
def test_wrong_nonce_or_key(suite: int, case: str, wkeys: Keys | None) -> None:
    """Replayed, reordered or foreign-key records do not authenticate."""
    keys = make_keys(suite)
    first = seal_content(keys, 0, APPDATA, b"one")
    if case == "replay":
        stream = first + first
    elif case == "skip":
        stream = first + seal_content(keys, 2, APPDATA, b"three")
    elif case == "wrong-key":
        stream = seal_content(make_keys(suite, "other"), 0, APPDATA, b"x")
    elif case == "wrong-iv":
        stream = seal_content(Keys(suite, keys.key, bytes(12)), 0, APPDATA, b"x")
    else:
        other = 0x1301 if suite != 0x1301 else 0x1303
        stream = seal_content(make_keys(other), 0, APPDATA, b"x")
    expect_alert(reader(keys, wkeys), stream, BAD_MAC, wkeys)


@suite_param
@pytest.mark.parametrize("length", [0, 1, 15])
def test_ciphertext_shorter_than_tag(suite: int, length: int, wkeys: Keys | None) -> None:
    """A protected record too short to hold the 16-byte tag is bad_record_mac."""
    stream = header(APPDATA, length) + b"\x5a" * length
    expect_alert(reader(make_keys(suite), wkeys), stream, BAD_MAC, wkeys)


@suite_param
def test_key_not_changed(suite: int, wkeys: Keys | None) -> None:
    """Records under a new key, read with the old one, are bad_record_mac."""
    key_a, key_b = make_keys(suite, "A"), make_keys(suite, "B")
    stream = seal_content(key_a, 0, HANDSHAKE, b"\x14fin") + seal_content(key_b, 0, APPDATA, b"x")
    seen = expect_alert(reader(key_a, wkeys), stream, BAD_MAC, wkeys)
    assert seen == [(HANDSHAKE, b"\x14fin")]


# unexpected_message: outer content type ----------------------------------------------------


@pytest.mark.parametrize("ctype", [0, 1, 19, 24, 25, 128, 255])
@pytest.mark.parametrize("protected", [False, True], ids=["plain", "protected"])
def test_unknown_outer_type(ctype: int, protected: bool, wkeys: Keys | None) -> None:
    """An undefined record type is unexpected_message (RFC 8446 §5)."""
    layer = reader(make_keys(0x1301) if protected else None, wkeys)
    expect_alert(layer, plain_record(ctype, b"\x01" * 20), UNEXPECTED, wkeys)


def test_appdata_while_unprotected(wkeys: Keys | None) -> None:
    """Application data is never accepted unprotected (RFC 8446 §5.1)."""
    layer = reader(None, wkeys)
    stream = plain_record(HANDSHAKE, b"\x02sh") + plain_record(APPDATA, b"hello")
    assert expect_alert(layer, stream, UNEXPECTED, wkeys) == [(HANDSHAKE, b"\x02sh")]


@suite_param
@pytest.mark.parametrize("content", [b"data", b""])
def test_appdata_under_handshake_key(suite: int, content: bytes, wkeys: Keys | None) -> None:
    """allow_application_data=False rejects application data (also empty) under that key."""
    keys = make_keys(suite)
    layer = reader(keys, wkeys, allow_app=False)
    stream = seal_content(keys, 0, HANDSHAKE, b"\x08ee") + seal_content(keys, 1, APPDATA, content)
    assert expect_alert(layer, stream, UNEXPECTED, wkeys) == [(HANDSHAKE, b"\x08ee")]


@suite_param
@pytest.mark.parametrize(
    ("ctype", "allow_alerts"), [(HANDSHAKE, False), (ALERT, False), (HANDSHAKE, True)]
)
def test_plaintext_record_while_protected(
    suite: int, ctype: int, allow_alerts: bool, wkeys: Keys | None
) -> None:
    """Unprotected handshake (and alert, unless allowed) records after keys are in place."""
    layer = reader(make_keys(suite), wkeys)
    layer.allow_plaintext_alerts = allow_alerts
    body = b"\x02\x28" if ctype == ALERT else b"\x14" + bytes(35)
    expect_alert(layer, plain_record(ctype, body), UNEXPECTED, wkeys)


# unexpected_message: change_cipher_spec ----------------------------------------------------


@pytest.mark.parametrize(
    "body", [b"\x00", b"\x02", b"\xff", b"\x01\x01", b"\x01\x00", b""], ids=hexid
)
@pytest.mark.parametrize("protected", [False, True], ids=["plain", "protected"])
def test_bad_change_cipher_spec(body: bytes, protected: bool, wkeys: Keys | None) -> None:
    """CCS must be exactly b'\\x01' (RFC 8446 §5)."""
    layer = reader(make_keys(0x1303) if protected else None, wkeys)
    expect_alert(layer, plain_record(CCS, body), UNEXPECTED, wkeys)


@suite_param
@pytest.mark.parametrize("inner", [b"\x01\x14", b"\x01\x14\x00\x00", b"\x00\x14"], ids=hexid)
def test_protected_change_cipher_spec(suite: int, inner: bytes, wkeys: Keys | None) -> None:
    """A protected change_cipher_spec record is unexpected_message (RFC 8446 §5)."""
    keys = make_keys(suite)
    expect_alert(reader(keys, wkeys), seal_record(keys, 0, inner), UNEXPECTED, wkeys)


# unexpected_message: inner plaintext -------------------------------------------------------


@suite_param
@pytest.mark.parametrize(
    "inner",
    [b"hello\x18", b"hello\x13", b"hello\xff", b"hello\x01", b"hello\x18\x00\x00", b"\x00\x80"],
    ids=hexid,
)
def test_unknown_inner_type(suite: int, inner: bytes, wkeys: Keys | None) -> None:
    """An undefined inner content type is unexpected_message."""
    keys = make_keys(suite)
    expect_alert(reader(keys, wkeys), seal_record(keys, 0, inner), UNEXPECTED, wkeys)


@suite_param
@pytest.mark.parametrize("size", [0, 1, 2, 100])
def test_inner_all_zeros(suite: int, size: int, wkeys: Keys | None) -> None:
    """No non-zero octet in the inner plaintext: unexpected_message (RFC 8446 §5.4)."""
    keys = make_keys(suite)
    record = seal_record(keys, 0, bytes(size))
    assert len(record) == 5 + size + TAG
    expect_alert(reader(keys, wkeys), record, UNEXPECTED, wkeys)


@pytest.mark.parametrize("ctype", [HANDSHAKE, ALERT, CCS])
def test_empty_plaintext_record(ctype: int, wkeys: Keys | None) -> None:
    """Zero-length unprotected handshake/alert/CCS records are unexpected_message."""
    expect_alert(reader(None, wkeys), plain_record(ctype, b""), UNEXPECTED, wkeys)


def test_empty_plaintext_alert_when_allowed(wkeys: Keys | None) -> None:
    """allow_plaintext_alerts does not make an empty alert record acceptable."""
    layer = reader(make_keys(0x1301), wkeys)
    layer.allow_plaintext_alerts = True
    expect_alert(layer, plain_record(ALERT, b""), UNEXPECTED, wkeys)


@suite_param
@pytest.mark.parametrize(
    "inner", [b"\x16", b"\x15", b"\x16\x00\x00\x00", b"\x15" + bytes(50)], ids=hexid
)
def test_empty_protected_handshake_or_alert(suite: int, inner: bytes, wkeys: Keys | None) -> None:
    """Protected handshake/alert records with no content, padded or not (RFC 8446 §5.4)."""
    keys = make_keys(suite)
    expect_alert(reader(keys, wkeys), seal_record(keys, 0, inner), UNEXPECTED, wkeys)


# unexpected_message: empty application data flood ----------------------------------------


def _empties(keys: Keys, start: int, count: int, padding: int = 0) -> bytes:
    return b"".join(seal_content(keys, start + i, APPDATA, b"", padding) for i in range(count))


@suite_param
@pytest.mark.parametrize("one_by_one", [False, True])
def test_too_many_empty_records(suite: int, one_by_one: bool, wkeys: Keys | None) -> None:
    """MAX_EMPTY_RECORDS consecutive empty records are tolerated, one more is not."""
    keys = make_keys(suite)
    n = _record.MAX_EMPTY_RECORDS
    layer = reader(keys, wkeys)
    stream = _empties(keys, 0, n)
    if one_by_one:
        for rec_start in range(0, len(stream), 5 + 1 + TAG):
            layer.receive_data(stream[rec_start : rec_start + 5 + 1 + TAG])
    else:
        layer.receive_data(stream)
    assert layer.next_record() is None
    assert layer.pending() == 0
    assert layer.read_sequence_number == n
    expect_alert(layer, seal_content(keys, n, APPDATA, b"", 7), UNEXPECTED, wkeys)


@suite_param
def test_empty_record_count_resets(suite: int) -> None:
    """A record that delivers data resets the count of consecutive empty records."""
    keys = make_keys(suite)
    n = _record.MAX_EMPTY_RECORDS
    layer = reader(keys, None)
    stream = _empties(keys, 0, n) + seal_content(keys, n, APPDATA, b"a")
    stream += _empties(keys, n + 1, n) + seal_content(keys, 2 * n + 1, APPDATA, b"b")
    stream += _empties(keys, 2 * n + 2, n)
    assert feed(layer, stream) == ([], b"ab")
    assert layer.error is None
    assert layer.read_sequence_number == 3 * n + 2


@suite_param
@pytest.mark.parametrize("control", [HANDSHAKE, ALERT], ids=["handshake", "alert"])
def test_control_records_do_not_reset_the_empty_record_count(suite: int, control: int) -> None:
    """Only data ends a run of empty records: a handshake or alert record between two runs
    would otherwise let a peer send empty records without end (issue 12)."""
    keys = make_keys(suite)
    n = _record.MAX_EMPTY_RECORDS
    layer = reader(keys, None)
    body = b"\x04t" if control == HANDSHAKE else b"\x01\x5a"
    stream = _empties(keys, 0, n // 2) + seal_content(keys, n // 2, control, body)
    layer.receive_data(stream + _empties(keys, n // 2 + 1, n - n // 2))
    assert layer.next_record() == (control, body)
    assert layer.next_record() is None  # n empty records so far: the limit, not past it
    expect_alert(layer, seal_content(keys, n + 1, APPDATA, b"", 3), UNEXPECTED, None)


@pytest.mark.parametrize("count", [_record.MAX_EMPTY_RECORDS, _record.MAX_EMPTY_RECORDS + 1])
def test_change_cipher_spec_records_count_as_empty(count: int) -> None:
    """A change_cipher_spec record delivers nothing: a run of them is limited like empty
    records (RFC 8446 §5 lets a peer send one, not any number)."""
    layer = RecordLayer()
    stream = bytes([CCS, 3, 3, 0, 1, 1]) * count
    if count > _record.MAX_EMPTY_RECORDS:
        with pytest.raises(ProtocolError) as info:
            feed(layer, stream)
        assert info.value.alert == UNEXPECTED
    else:
        assert feed(layer, stream) == ([(CCS, b"\x01")] * count, b"")


def test_empty_records_from_writer_are_limited() -> None:
    """The layer's own writer can produce the flood too (write(23, b'') is allowed)."""
    writer, rd, _ = pair(0x1301)
    for _ in range(_record.MAX_EMPTY_RECORDS + 1):
        writer.write(APPDATA, b"")
    with pytest.raises(ProtocolError) as info:
        feed(rd, writer.data_to_send())
    assert info.value.alert == UNEXPECTED
    assert_failed(rd, UNEXPECTED, None)


# Ordering: records after the one returned are not processed early ------------------------


@suite_param
def test_error_after_returned_record_is_deferred(suite: int) -> None:
    """Garbage behind a handshake record is only examined after next_record() returned it
    (the caller may change keys there), and then fails."""
    keys = make_keys(suite)
    layer = reader(keys, None)
    layer.receive_data(seal_content(keys, 0, HANDSHAKE, b"\x14fin") + header(0, 3) + b"abc")
    assert layer.error is None
    assert layer.next_record() == (HANDSHAKE, b"\x14fin")
    assert layer.error is None
    with pytest.raises(ProtocolError) as info:
        layer.next_record()
    assert info.value.alert == UNEXPECTED
    assert_failed(layer, UNEXPECTED, None)


# Sequence number exhaustion (RFC 8446 §5.3) ------------------------------------------------

LAST_SEQ = 2**64 - 1


@suite_param
def test_write_sequence_exhaustion(suite: int) -> None:
    """The record at seq 2**64-1 is written; the next one is refused, never wrapped to 0."""
    keys = make_keys(suite)
    layer = layer_with(write=keys)
    layer._set_sequence_numbers(write=LAST_SEQ)
    assert layer.write_sequence_number == LAST_SEQ
    layer.write(APPDATA, b"last")
    out = layer.data_to_send()
    nonce = keys.iv[:4] + bytes(b ^ 0xFF for b in keys.iv[4:])
    assert keys.nonce(LAST_SEQ) == nonce
    assert keys.aead().decrypt(nonce, out[5:], out[:5]) == b"last\x17"
    with pytest.raises(TLSError):
        layer.write(APPDATA, b"next")
        layer.data_to_send()
    try:
        leftover = layer.data_to_send()
    except TLSError:
        leftover = b""
    assert leftover == b""


@suite_param
def test_read_sequence_exhaustion(suite: int) -> None:
    """A record at read seq 2**64-1 opens; the next one is refused, even though it is a
    valid record for the wrapped sequence number 0."""
    keys = make_keys(suite)
    layer = layer_with(read=keys)
    layer._set_sequence_numbers(read=LAST_SEQ)
    assert layer.read_sequence_number == LAST_SEQ
    assert feed(layer, seal_content(keys, LAST_SEQ, APPDATA, b"last")) == ([], b"last")
    with pytest.raises(TLSError):
        feed(layer, seal_content(keys, 0, APPDATA, b"wrapped"))
    try:
        got = layer.read()
    except TLSError:
        got = b""
    assert got == b""


# Programming errors: ValueError, and the layer stays usable ------------------------------


@pytest.mark.parametrize("protected", [False, True], ids=["plain", "protected"])
@pytest.mark.parametrize("ctype", [HANDSHAKE, ALERT, CCS])
def test_write_empty_non_appdata(ctype: int, protected: bool) -> None:
    """Empty handshake/alert/CCS data is ValueError (RFC 8446 §5.1, §5.4)."""
    layer = layer_with(write=make_keys(0x1301) if protected else None)
    with pytest.raises(ValueError):
        layer.write(ctype, b"")
    assert layer.error is None
    assert layer.data_to_send() == b""
    assert layer.write_sequence_number == 0


@pytest.mark.parametrize("data", [b"x", b""])
def test_write_appdata_unprotected(data: bytes) -> None:
    """Application data is never sent unprotected."""
    layer = RecordLayer()
    with pytest.raises(ValueError):
        layer.write(APPDATA, data)
    assert layer.data_to_send() == b""
    assert layer.error is None


@pytest.mark.parametrize("suite", [0x0000, 0x1300, 0x1304, 0x1305, 0xC02F, 0xFFFF])
@pytest.mark.parametrize("side", ["write", "read"])
def test_unknown_suite(suite: int, side: str) -> None:
    """Only the three TLS 1.3 AEAD suites exist."""
    layer = RecordLayer()
    setter = layer.set_write_key if side == "write" else layer.set_read_key
    with pytest.raises(ValueError):
        setter(suite, bytes(16), bytes(12))
    assert (layer.write_protected, layer.read_protected) == (False, False)


@pytest.mark.parametrize(
    ("suite", "key_len", "iv_len"),
    [(s, k, 12) for s in SUITES for k in (0, 15, 16, 24, 32, 33) if k != {0x1301: 16}.get(s, 32)]
    + [(s, {0x1301: 16}.get(s, 32), v) for s in SUITES for v in (0, 8, 11, 13, 16)],
)
@pytest.mark.parametrize("side", ["write", "read"])
def test_wrong_key_or_iv_length(suite: int, key_len: int, iv_len: int, side: str) -> None:
    """Key length must match the suite and the IV is always 12 bytes."""
    layer = RecordLayer()
    setter = layer.set_write_key if side == "write" else layer.set_read_key
    with pytest.raises(ValueError):
        setter(suite, bytes(key_len), bytes(iv_len))
    assert (layer.write_protected, layer.read_protected) == (False, False)


@pytest.mark.parametrize("value", [0, -1, 2**14 + 1, 2**16, 2**31])
@pytest.mark.parametrize("attr", ["write_limit", "read_limit"])
def test_limit_out_of_range(attr: str, value: int) -> None:
    """write_limit/read_limit must be within 1..2**14 and stay unchanged on refusal."""
    layer = RecordLayer()
    setattr(layer, attr, 77)
    with pytest.raises(ValueError):
        setattr(layer, attr, value)
    assert getattr(layer, attr) == 77
    setattr(layer, attr, 1)
    assert getattr(layer, attr) == 1
    setattr(layer, attr, 2**14)
    assert getattr(layer, attr) == 2**14


# Alerts produced by a layer that has not failed -----------------------------------------


@suite_param
def test_alert_record_is_not_a_failure(suite: int) -> None:
    """An alert record is just returned; judging it is the caller's job, not a failure."""
    writer, rd, keys = pair(suite)
    writer.write_alert(1, 0)
    out = writer.data_to_send()
    assert open_record(keys, 0, out) == b"\x01\x00\x15"
    rd.receive_data(out)
    assert drain(rd) == [(ALERT, b"\x01\x00")]
    assert rd.error is None


@suite_param
def test_failed_layer_alert_uses_current_write_sequence(suite: int) -> None:
    """After some protected output, the fatal alert uses the next write sequence number."""
    keys = make_keys(suite)
    wk = make_keys(suite, "W")
    layer = layer_with(write=wk, read=keys)
    layer.write(APPDATA, b"hello")
    layer.write(HANDSHAKE, b"\x04t")
    first = layer.data_to_send()
    assert open_record(wk, 0, first[: 5 + 6 + TAG]) == b"hello\x17"
    assert layer.write_sequence_number == 2
    expect_alert(layer, header(APPDATA, 3) + b"abc", BAD_MAC, wk)


@pytest.mark.parametrize("level", [2, 1])
def test_second_alert_after_failure(level: int) -> None:
    """The stub: after a failure, reading and writing raise the same error again, except one
    write_alert to send the fatal alert; so a second write_alert raises that same error."""
    layer = RecordLayer()
    with pytest.raises(ProtocolError):
        feed(layer, plain_record(APPDATA, b"x"))
    layer.write_alert(2, int(UNEXPECTED))
    assert layer.data_to_send() == plain_record(ALERT, bytes([2, int(UNEXPECTED)]))
    with pytest.raises(ProtocolError) as info:
        layer.write_alert(level, 0)
    assert info.value.alert == UNEXPECTED
    assert layer.data_to_send() == b""


# Hostile padding policies: a Python callback runs in the middle of write() ------------------


@suite_param
def test_failing_padding_policy_keeps_stream_consistent(suite: int) -> None:
    """A policy that raises makes write() raise it; what was written before and after still
    comes out as records at consecutive sequence numbers."""
    keys = make_keys(suite)
    layer = layer_with(write=keys)
    layer.write_limit = 100
    layer.write(HANDSHAKE, b"\x08before")
    calls = 0

    def policy(content_type: int, length: int) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("policy failed")
        return 3

    layer.padding_policy = policy
    with pytest.raises(RuntimeError, match="policy failed"):
        layer.write(APPDATA, b"a" * 250)
    layer.padding_policy = None
    layer.write(APPDATA, b"after")
    stream = layer.data_to_send()
    opened = open_stream(keys, stream)
    assert opened[0] == (HANDSHAKE, b"\x08before", 0)
    assert opened[-1] == (APPDATA, b"after", 0)
    assert layer.write_sequence_number == len(opened)
    reader = layer_with(read=keys)
    records, app = feed(reader, stream)
    assert records == [(HANDSHAKE, b"\x08before")]
    assert app.endswith(b"after")


@suite_param
def test_padding_policy_flushing_reentrantly(suite: int) -> None:
    """A policy that calls data_to_send() on its own layer must not make the layer reuse a
    nonce: every record that comes out opens at consecutive sequence numbers (or the
    reentrant call is refused)."""
    keys = make_keys(suite)
    layer = layer_with(write=keys)
    layer.write_limit = 100
    flushed: list[bytes] = []
    calls = 0

    def policy(content_type: int, length: int) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            try:
                flushed.append(layer.data_to_send())
            except Exception:  # refusing the reentrant call is fine
                flushed.append(b"")
        return 0

    layer.padding_policy = policy
    data = b"a" * 100 + b"b" * 100 + b"c" * 50
    layer.write(APPDATA, data)
    stream = b"".join(flushed) + layer.data_to_send()
    opened = open_stream(keys, stream)  # InvalidTag here: a record sealed with a reused seq
    assert b"".join(c for _, c, _ in opened) == data
    assert layer.write_sequence_number == len(opened) == 3


PROBE = """
import sys
sys.path.insert(0, {tests!r})
from recordutil import APPDATA, HANDSHAKE, layer_with, make_keys, open_stream
keys = make_keys({suite})
layer = layer_with(write=keys)
layer.write_limit = 100
layer.write(HANDSHAKE, b"\\x08before")
calls = 0
def policy(content_type, length):
    global calls
    calls += 1
    if calls == 2:
        try:
            flushed.append(layer.data_to_send())
        except Exception:
            pass
        raise RuntimeError("policy failed")
    return 0
flushed = []
layer.padding_policy = policy
try:
    layer.write(APPDATA, b"a" * 250)
except RuntimeError:
    pass
layer.padding_policy = None
layer.write(APPDATA, b"after")
opened = open_stream(keys, b"".join(flushed) + layer.data_to_send())
assert opened[0][:2] == (HANDSHAKE, b"\\x08before"), opened
assert opened[-1][:2] == (APPDATA, b"after"), opened
print("OK")
"""


@suite_param
def test_padding_policy_flushing_then_failing(suite: int) -> None:
    """A policy that flushes and then raises must leave a usable layer (no dangling output
    buffer): run in a subprocess, since the failure mode is a crash."""
    script = PROBE.format(tests=str(pathlib.Path(__file__).parent), suite=suite)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    assert proc.stdout.strip() == "OK"

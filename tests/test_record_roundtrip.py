"""Round trips through cytls._record, checked against an independent model of RFC 8446 §5.

A writer RecordLayer and a reader RecordLayer share a key; every stream the writer produces is
also parsed and decrypted here with ``cryptography`` so that framing, nonces, AAD and inner
plaintext are verified byte for byte, not only "the reader accepted what the writer wrote".
"""

from __future__ import annotations

import gc
import itertools
import math
import random
import threading
import tracemalloc

import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recordutil import (
    ALERT,
    APPDATA,
    CCS,
    HANDSHAKE,
    HEADER,
    MAX_PLAINTEXT,
    SUITES,
    TAG,
    Keys,
    alert_record,
    drain,
    feed,
    layer_with,
    make_keys,
    open_record,
    open_stream,
    pair,
    plain_record,
    seal_content,
    split_records,
    suite_param,
)

from cytls import _record
from cytls._record import RecordLayer
from cytls.cli.resident import resident_bytes

HYPOTHESIS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def hyp(max_examples: int) -> settings:
    """Hypothesis settings for this file: no deadline (records up to 1 MiB), sized budgets."""
    return settings(HYPOTHESIS, max_examples=max_examples)


def payload(n: int, seed: int = 0) -> bytes:
    """Deterministic pseudo-random bytes (no zero-run structure the padding scan could hide)."""
    return random.Random(seed * 1_000_003 + n).randbytes(n)


# Module surface --------------------------------------------------------------------------------


def test_constants() -> None:
    """The constants are the RFC 8446 values the rest of cytls relies on."""
    assert (_record.CHANGE_CIPHER_SPEC, _record.ALERT) == (20, 21)
    assert (_record.HANDSHAKE, _record.APPLICATION_DATA) == (22, 23)
    assert _record.MAX_PLAINTEXT == 2**14
    assert _record.MAX_CIPHERTEXT == 2**14 + 256
    assert _record.HEADER_SIZE == 5
    assert _record.TAG_SIZE == 16
    assert _record.TLS_AES_128_GCM_SHA256 == 0x1301
    assert _record.TLS_AES_256_GCM_SHA384 == 0x1302
    assert _record.TLS_CHACHA20_POLY1305_SHA256 == 0x1303
    assert isinstance(_record.MAX_EMPTY_RECORDS, int)
    assert _record.MAX_EMPTY_RECORDS >= 1


def test_fresh_layer_state() -> None:
    """A new layer is unprotected, idle and holds no memory."""
    layer = RecordLayer()
    assert layer.write_protected is False
    assert layer.read_protected is False
    assert layer.write_sequence_number == 0
    assert layer.read_sequence_number == 0
    assert layer.legacy_version == 0x0303
    assert layer.padding_policy is None
    assert layer.allow_plaintext_alerts is False
    assert layer.write_limit == 2**14
    assert layer.read_limit == 2**14
    assert layer.error is None
    assert layer.pending() == 0
    assert layer.buffered_input == 0
    assert layer.bytes_to_send == 0
    assert layer.data_to_send() == b""
    assert layer.next_record() is None
    assert layer.read() == b""
    assert layer.read_into(bytearray(8)) == 0
    assert layer.buffer_capacities() == (0, 0, 0)


@suite_param
def test_set_keys_flags(suite: int) -> None:
    """set_write_key/set_read_key switch exactly their own direction to protected."""
    keys = make_keys(suite)
    layer = RecordLayer()
    layer.set_write_key(keys.suite, keys.key, keys.iv)
    assert (layer.write_protected, layer.read_protected) == (True, False)
    layer.set_read_key(keys.suite, bytearray(keys.key), memoryview(keys.iv))
    assert (layer.write_protected, layer.read_protected) == (True, True)


# Application data round trips ------------------------------------------------------------------

SIZES = [0, 1, 2**14 - 1, 2**14, 2**14 + 1, 2**20]


@suite_param
@pytest.mark.parametrize("n", SIZES, ids=[f"n={n}" for n in SIZES])
@pytest.mark.parametrize("via", ["read", "read_into"])
def test_appdata_roundtrip(suite: int, n: int, via: str) -> None:
    """Framing, fragmentation at 2**14 and AEAD are right, and the reader returns the data."""
    writer, reader, keys = pair(suite)
    data = payload(n)
    writer.write(APPDATA, data)
    n_records = max(1, math.ceil(n / MAX_PLAINTEXT))
    assert writer.write_sequence_number == n_records
    size = writer.bytes_to_send
    out = writer.data_to_send()
    assert len(out) == size
    assert writer.bytes_to_send == 0
    assert writer.data_to_send() == b""

    records = split_records(out)
    assert len(records) == n_records
    assert len(out) == n + n_records * (HEADER + 1 + TAG)
    contents = []
    for seq, rec in enumerate(records):
        assert rec.type == APPDATA
        assert rec.version == 0x0303
        inner = open_record(keys, seq, rec.raw)
        assert inner[-1] == APPDATA  # no padding without a policy
        content = inner[:-1]
        assert len(content) <= MAX_PLAINTEXT
        assert len(rec.body) == len(content) + 1 + TAG
        contents.append(content)
    assert b"".join(contents) == data

    reader.receive_data(out)
    assert reader.buffered_input == 0
    assert reader.pending() == n
    assert reader.read_sequence_number == n_records
    assert reader.next_record() is None
    if via == "read":
        got = reader.read()
    else:
        buf = bytearray(n + 10)
        assert reader.read_into(buf) == n
        got = bytes(buf[:n])
    assert got == data
    assert reader.pending() == 0
    assert reader.read() == b""
    assert writer.buffer_capacities() == (0, 0, 0)
    assert reader.buffer_capacities() == (0, 0, 0)


@suite_param
def test_partial_reads(suite: int) -> None:
    """read(max_bytes) and read_into(buf, nbytes) hand out the buffer in order, piece by piece."""
    writer, reader, _ = pair(suite)
    data = payload(1000, seed=3)
    writer.write(APPDATA, data)
    reader.receive_data(writer.data_to_send())
    assert reader.read(0) == b""
    assert reader.read(10) == data[:10]
    assert reader.pending() == 990
    buf = bytearray(100)
    assert reader.read_into(buf, 7) == 7
    assert bytes(buf[:7]) == data[10:17]
    assert bytes(buf[7:]) == bytes(93)
    view = memoryview(bytearray(50))
    assert reader.read_into(view) == 50
    assert bytes(view) == data[17:67]
    assert reader.pending() == 1000 - 67
    assert reader.buffer_capacities()[1] >= reader.pending()
    assert reader.read(2000) == data[67:]
    assert reader.pending() == 0
    assert reader.read_into(buf) == 0
    assert reader.buffer_capacities() == (0, 0, 0)


@suite_param
def test_reads_interleaved_with_receives(suite: int) -> None:
    """Data appended to a partly read plaintext buffer keeps its order."""
    writer, reader, _ = pair(suite)
    chunks = [payload(n, seed=n) for n in (5000, 1, 20000, 300)]
    got = b""
    for chunk in chunks:
        writer.write(APPDATA, chunk)
        reader.receive_data(writer.data_to_send())
        got += reader.read(3333)
    got += reader.read()
    assert got == b"".join(chunks)


# Hypothesis: chunking and interleaving ---------------------------------------------------------


@hyp(60)
@given(
    suite=st.sampled_from(SUITES),
    n=st.integers(0, 3 * MAX_PLAINTEXT + 5),
    seed=st.integers(0, 2**32),
    cuts=st.lists(st.floats(0, 1), max_size=12),
    read_between=st.booleans(),
)
def test_chunked_ciphertext(
    suite: int, n: int, seed: int, cuts: list[float], read_between: bool
) -> None:
    """Any cut of the ciphertext stream gives the same data; complete records are opened at
    once and only the incomplete tail stays buffered."""
    writer, reader, _ = pair(suite)
    data = payload(n, seed)
    writer.write(APPDATA, data)
    stream = writer.data_to_send()
    ends = []  # (end offset of record, cumulative content)
    pos = total = 0
    for rec in split_records(stream):
        pos += HEADER + len(rec.body)
        total += len(rec.body) - 1 - TAG
        ends.append((pos, total))
    points = sorted({int(c * len(stream)) for c in cuts} | {0, len(stream)})
    got = b""
    for start, stop in itertools.pairwise(points):
        reader.receive_data(stream[start:stop])
        complete_end, complete_content = max(((e, c) for e, c in ends if e <= stop), default=(0, 0))
        assert reader.buffered_input == stop - complete_end
        assert len(got) + reader.pending() == complete_content
        assert reader.buffer_capacities()[0] >= reader.buffered_input
        if read_between:
            got += reader.read()
    got += reader.read()
    assert got == data
    assert reader.buffered_input == 0
    assert reader.buffer_capacities() == (0, 0, 0)


@suite_param
def test_one_byte_at_a_time(suite: int) -> None:
    """Feeding single bytes: exact buffered_input/pending after every byte, then a mixed
    stream (app data, handshake, app data) comes out identical."""
    writer, reader, _ = pair(suite)
    writer.write_limit = 10
    data = payload(50, seed=7)
    writer.write(APPDATA, data)
    stream = writer.data_to_send()
    rec_size = HEADER + 10 + 1 + TAG
    assert len(stream) == 5 * rec_size
    for i in range(len(stream)):
        reader.receive_data(stream[i : i + 1])
        fed = i + 1
        assert reader.buffered_input == fed % rec_size
        assert reader.pending() == 10 * (fed // rec_size)
        assert reader.next_record() is None
    assert reader.read() == data

    hs = payload(7, seed=8)
    tail = payload(15, seed=9)
    writer.write(APPDATA, data[:3])
    writer.write(HANDSHAKE, hs)
    writer.write(APPDATA, tail)
    stream = writer.data_to_send()
    assert len(split_records(stream)) == 4
    events: list[tuple[int, bytes]] = []
    for i in range(len(stream)):
        reader.receive_data(stream[i : i + 1])
        for rec in drain(reader):
            events.append(rec)
            assert reader.read() == data[:3]
    assert events == [(HANDSHAKE, hs)]
    assert reader.read() == tail
    assert reader.buffered_input == 0


@hyp(60)
@given(
    suite=st.sampled_from(SUITES),
    ops=st.lists(
        st.tuples(st.sampled_from([HANDSHAKE, APPDATA]), st.integers(1, 20000), st.integers()),
        min_size=1,
        max_size=12,
    ),
    cuts=st.lists(st.floats(0, 1), max_size=10),
    flush_points=st.lists(st.booleans(), max_size=12),
)
def test_interleaved_handshake_and_appdata(
    suite: int, ops: list[tuple[int, int, int]], cuts: list[float], flush_points: list[bool]
) -> None:
    """Handshake records come back one per next_record() in order, and when one comes back
    exactly the application data written before it has been delivered."""
    writer, reader, keys = pair(suite)
    expected_hs: list[bytes] = []
    app_before: list[int] = []
    app = b""
    stream = b""
    for i, (ctype, size, seed) in enumerate(ops):
        if ctype == HANDSHAKE:
            size = min(size, MAX_PLAINTEXT)  # one record per message
            msg = payload(size, seed)
            expected_hs.append(msg)
            app_before.append(len(app))
        else:
            msg = payload(size, seed)
            app += msg
        writer.write(ctype, msg)
        if i < len(flush_points) and flush_points[i]:
            stream += writer.data_to_send()
    stream += writer.data_to_send()

    # Independent check of the inner content types and contents.
    opened = open_stream(keys, stream)
    assert [c for t, c, _ in opened if t == HANDSHAKE] == expected_hs
    assert b"".join(c for t, c, _ in opened if t == APPDATA) == app
    assert {t for t, _, _ in opened} <= {HANDSHAKE, APPDATA}
    assert all(p == 0 for _, _, p in opened)

    points = sorted({int(c * len(stream)) for c in cuts} | {0, len(stream)})
    got_hs: list[bytes] = []
    got_app = b""
    for start, stop in itertools.pairwise(points):
        reader.receive_data(stream[start:stop])
        assert reader.buffered_input <= stop
        while (rec := reader.next_record()) is not None:
            assert rec[0] == HANDSHAKE
            k = len(got_hs)
            assert rec[1] == expected_hs[k]
            assert len(got_app) + reader.pending() == app_before[k]
            got_hs.append(rec[1])
            got_app += reader.read()
    got_app += reader.read()
    assert got_hs == expected_hs
    assert got_app == app
    assert reader.buffered_input == 0
    assert reader.read_sequence_number == len(opened)
    assert reader.buffer_capacities() == (0, 0, 0)


# Independent AEAD check --------------------------------------------------------------------------


@suite_param
@pytest.mark.parametrize("ctype", [HANDSHAKE, APPDATA, ALERT])
def test_record_is_aead_of_inner_plaintext(suite: int, ctype: int) -> None:
    """Each record is AEAD(key, iv XOR seq, header, content || type) for consecutive seqs."""
    keys = make_keys(suite)
    writer = layer_with(write=keys)
    msgs = [payload(n, seed=ctype) for n in (1, 2, 33)]
    if ctype == ALERT:
        msgs = [b"\x01\x00", b"\x02\x28", b"\x01\x5a"]
    for m in msgs:
        writer.write(ctype, m)
    stream = writer.data_to_send()
    records = split_records(stream)
    assert len(records) == 3
    for seq, (rec, m) in enumerate(zip(records, msgs, strict=True)):
        assert rec.raw[:5] == bytes([23, 3, 3]) + (len(m) + 1 + TAG).to_bytes(2, "big")
        assert open_record(keys, seq, rec.raw) == m + bytes([ctype])
        # The same record under the wrong sequence number must not open (nonce really varies).
        with pytest.raises(InvalidTag):
            open_record(keys, seq + 1, rec.raw)


@suite_param
def test_write_alert_protected(suite: int) -> None:
    """write_alert under write keys is a protected record with inner type 21."""
    keys = make_keys(suite)
    writer = layer_with(write=keys)
    writer.write_alert(1, 0)
    assert open_record(keys, 0, writer.data_to_send()) == b"\x01\x00\x15"


@hyp(40)
@given(suite=st.sampled_from(SUITES), start=st.integers(0, 2**64 - 4))
def test_nonce_uses_full_64_bit_sequence(suite: int, start: int) -> None:
    """Nonces for arbitrary 64-bit sequence numbers, on both sides."""
    keys = make_keys(suite)
    writer = layer_with(write=keys)
    writer._set_sequence_numbers(write=start)
    assert writer.write_sequence_number == start
    writer.write(APPDATA, b"abc")
    writer.write(HANDSHAKE, b"defg")
    assert writer.write_sequence_number == start + 2
    stream = writer.data_to_send()
    recs = split_records(stream)
    assert open_record(keys, start, recs[0].raw) == b"abc\x17"
    assert open_record(keys, start + 1, recs[1].raw) == b"defg\x16"
    reader = layer_with(read=keys)
    reader._set_sequence_numbers(read=start)
    assert reader.read_sequence_number == start
    assert feed(reader, stream) == ([(HANDSHAKE, b"defg")], b"abc")
    assert reader.read_sequence_number == start + 2


# Key changes -----------------------------------------------------------------------------------


@suite_param
@pytest.mark.parametrize("flush_before_change", [False, True])
def test_key_change_at_record_boundary(suite: int, flush_before_change: bool) -> None:
    """Records written before set_write_key keep key A; the reader switches to key B after
    next_record() returned the record before the change; sequence numbers restart at 0."""
    key_a = make_keys(suite, "A")
    key_b = make_keys(0x1303 if suite != 0x1303 else 0x1301, "B")  # also change the suite
    writer = layer_with(write=key_a)
    hs1, fin, hs2 = b"\x08" + payload(40), b"\x14" + payload(32), b"\x18" + payload(5)
    app_a, app_b = payload(3000, 1), payload(20000, 2)
    writer.write(HANDSHAKE, hs1)
    writer.write(APPDATA, app_a)
    writer.write(HANDSHAKE, fin)
    assert writer.write_sequence_number == 3
    stream = writer.data_to_send() if flush_before_change else b""
    writer.set_write_key(key_b.suite, key_b.key, key_b.iv)
    assert writer.write_sequence_number == 0
    writer.write(APPDATA, app_b)
    writer.write(HANDSHAKE, hs2)
    assert writer.write_sequence_number == 3
    stream += writer.data_to_send()

    records = split_records(stream)
    assert len(records) == 6
    assert open_record(key_a, 0, records[0].raw) == hs1 + b"\x16"
    assert open_record(key_a, 1, records[1].raw) == app_a + b"\x17"
    assert open_record(key_a, 2, records[2].raw) == fin + b"\x16"
    inner_b = [open_record(key_b, seq, records[3 + seq].raw) for seq in (0, 1)]
    assert all(inner[-1] == APPDATA for inner in inner_b)
    assert inner_b[0][:-1] + inner_b[1][:-1] == app_b
    assert open_record(key_b, 2, records[5].raw) == hs2 + b"\x16"

    reader = layer_with(read=key_a)
    reader.receive_data(stream)
    assert reader.next_record() == (HANDSHAKE, hs1)
    assert reader.next_record() == (HANDSHAKE, fin)
    assert reader.read() == app_a
    assert reader.read_sequence_number == 3
    rest = sum(HEADER + len(r.body) for r in records[3:])
    assert reader.buffered_input == rest
    reader.set_read_key(key_b.suite, key_b.key, key_b.iv)
    assert reader.read_sequence_number == 0
    assert reader.next_record() == (HANDSHAKE, hs2)
    assert reader.read_sequence_number == 3
    assert reader.read() == app_b
    assert reader.next_record() is None
    assert reader.buffered_input == 0


@suite_param
def test_plaintext_to_protected_in_one_stream(suite: int) -> None:
    """A plaintext ServerHello followed by protected records in the same read: the reader
    installs the key after next_record() returns the ServerHello."""
    keys = make_keys(suite)
    server = RecordLayer()
    server.write(HANDSHAKE, b"\x02serverhello")
    server.write(CCS, b"\x01")
    server.set_write_key(keys.suite, keys.key, keys.iv)
    server.write(HANDSHAKE, b"\x08encrypted-extensions")
    server.write(APPDATA, b"0.5-RTT data")
    stream = server.data_to_send()
    assert stream.startswith(plain_record(HANDSHAKE, b"\x02serverhello"))
    client = RecordLayer()
    client.receive_data(stream)
    assert client.next_record() == (HANDSHAKE, b"\x02serverhello")
    assert client.read_protected is False
    client.set_read_key(keys.suite, keys.key, keys.iv)
    assert client.next_record() == (CCS, b"\x01")
    assert client.read_sequence_number == 0
    assert client.next_record() == (HANDSHAKE, b"\x08encrypted-extensions")
    assert client.next_record() is None
    assert client.read() == b"0.5-RTT data"
    assert client.read_sequence_number == 2


# Plaintext records ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", [0x0303, 0x0301])
def test_plaintext_records(version: int) -> None:
    """Unprotected records are header || data with legacy_version, and are read back as is."""
    writer = RecordLayer()
    writer.legacy_version = version
    ch = b"\x01\x00\x00\x05hello"
    writer.write(HANDSHAKE, ch)
    writer.write(CCS, b"\x01")
    writer.write_alert(2, 40)
    out = writer.data_to_send()
    v = version.to_bytes(2, "big")
    assert out == (
        b"\x16"
        + v
        + b"\x00\x09"
        + ch
        + b"\x14"
        + v
        + b"\x00\x01\x01"
        + b"\x15"
        + v
        + b"\x00\x02\x02\x28"
    )
    assert writer.write_sequence_number == 0  # plaintext records use no sequence number
    reader = RecordLayer()
    assert feed(reader, out) == ([(HANDSHAKE, ch), (CCS, b"\x01"), (ALERT, b"\x02\x28")], b"")
    assert reader.read_sequence_number == 0
    assert reader.buffer_capacities() == (0, 0, 0)


def test_plaintext_fragmentation() -> None:
    """A 2**14+1-byte unprotected handshake write becomes two records of at most 2**14."""
    writer = RecordLayer()
    data = payload(MAX_PLAINTEXT + 1)
    writer.write(HANDSHAKE, data)
    out = writer.data_to_send()
    records = split_records(out)
    assert len(records) == 2
    assert all(r.type == HANDSHAKE and r.version == 0x0303 for r in records)
    assert all(1 <= len(r.body) <= MAX_PLAINTEXT for r in records)
    assert records[0].body + records[1].body == data
    reader = RecordLayer()
    assert feed(reader, out) == ([(HANDSHAKE, r.body) for r in records], b"")


@suite_param
def test_protected_records_always_0303(suite: int) -> None:
    """legacy_version applies to unprotected records only."""
    keys = make_keys(suite)
    writer = RecordLayer()
    writer.legacy_version = 0x0301
    writer.write(HANDSHAKE, b"\x01abc")
    writer.set_write_key(keys.suite, keys.key, keys.iv)
    writer.write(HANDSHAKE, b"\x14xyz")
    out = writer.data_to_send()
    assert out[:9] == b"\x16\x03\x01\x00\x04\x01abc"
    assert out[9:14] == b"\x17\x03\x03\x00\x15"
    assert open_record(keys, 0, out[9:]) == b"\x14xyz\x16"


@suite_param
def test_plaintext_ccs_while_protected(suite: int) -> None:
    """An unprotected CCS b'\\x01' is accepted while reading protected and uses no sequence
    number (RFC 8446 §5)."""
    keys = make_keys(suite)
    reader = layer_with(read=keys)
    stream = plain_record(CCS, b"\x01") + seal_content(keys, 0, HANDSHAKE, b"\x0bcert")
    stream += plain_record(CCS, b"\x01") + seal_content(keys, 1, APPDATA, b"data")
    reader.receive_data(stream)
    assert reader.next_record() == (CCS, b"\x01")
    assert reader.read_sequence_number == 0
    assert reader.next_record() == (HANDSHAKE, b"\x0bcert")
    assert reader.next_record() == (CCS, b"\x01")
    assert reader.next_record() is None
    assert reader.read() == b"data"
    assert reader.read_sequence_number == 2


@suite_param
def test_plaintext_alert_allowed_when_enabled(suite: int) -> None:
    """allow_plaintext_alerts lets an unprotected alert through a protected read side."""
    keys = make_keys(suite)
    reader = layer_with(read=keys)
    reader.allow_plaintext_alerts = True
    stream = seal_content(keys, 0, APPDATA, b"x") + alert_record(2, 50)
    assert feed(reader, stream) == ([(ALERT, b"\x02\x32")], b"x")
    assert reader.read_sequence_number == 1


@pytest.mark.parametrize("version", [0x0301, 0x0302, 0x0303])
def test_reader_ignores_legacy_version(version: int) -> None:
    """legacy_record_version MUST be ignored (RFC 8446 §5.1)."""
    reader = RecordLayer()
    assert feed(reader, plain_record(HANDSHAKE, b"\x02sh", version)) == ([(22, b"\x02sh")], b"")


# Padding and write_limit ---------------------------------------------------------------------


@suite_param
@pytest.mark.parametrize("pad", [0, 1, 255, 1000])
@pytest.mark.parametrize("ctype", [APPDATA, HANDSHAKE])
def test_padding_policy(suite: int, pad: int, ctype: int) -> None:
    """Records carry exactly the policy's zero padding and the reader strips it."""
    keys = make_keys(suite)
    calls: list[tuple[int, int]] = []

    def policy(content_type: int, length: int) -> int:
        calls.append((content_type, length))
        return pad

    writer = layer_with(write=keys)
    writer.padding_policy = policy
    data = payload(100)
    writer.write(ctype, data)
    out = writer.data_to_send()
    assert calls == [(ctype, 100)]
    assert len(out) == HEADER + 100 + 1 + pad + TAG
    assert open_record(keys, 0, out) == data + bytes([ctype]) + bytes(pad)
    reader = layer_with(read=keys)
    expected = ([(ctype, data)], b"") if ctype == HANDSHAKE else ([], data)
    assert feed(reader, out) == expected


def test_padding_policy_not_used_unprotected() -> None:
    """Unprotected records cannot be padded, so the policy is not consulted."""
    calls: list[tuple[int, int]] = []
    writer = RecordLayer()
    writer.padding_policy = lambda t, n: calls.append((t, n)) or 10
    writer.write(HANDSHAKE, b"abc")
    assert writer.data_to_send() == plain_record(HANDSHAKE, b"abc")
    assert calls == []


@suite_param
@pytest.mark.parametrize(
    ("limit", "size", "pad", "expected_pad"),
    [
        (2**14, 2**14, 50, 0),
        (2**14, 2**14 - 10, 100, 10),
        (2**14, 0, 10**6, 2**14),
        (100, 60, 1000, 40),
        (100, 100, 1, 0),
    ],
)
def test_padding_clamped_to_write_limit(
    suite: int, limit: int, size: int, pad: int, expected_pad: int
) -> None:
    """content + 1 + padding never exceeds write_limit + 1 (RFC 8446 §5.4, RFC 8449)."""
    keys = make_keys(suite)
    writer = layer_with(write=keys)
    writer.write_limit = limit
    writer.padding_policy = lambda t, n: pad
    data = payload(size)
    writer.write(APPDATA, data)
    out = writer.data_to_send()
    assert len(out) == HEADER + size + 1 + expected_pad + TAG
    assert open_record(keys, 0, out) == data + b"\x17" + bytes(expected_pad)
    reader = layer_with(read=keys)
    reader.read_limit = limit
    assert feed(reader, out) == ([], data)


@suite_param
def test_padding_per_fragment(suite: int) -> None:
    """The policy is asked once per record, with that record's content length."""
    keys = make_keys(suite)
    calls: list[tuple[int, int]] = []

    def policy(content_type: int, length: int) -> int:
        calls.append((content_type, length))
        return 30

    writer = layer_with(write=keys)
    writer.write_limit = 100
    writer.padding_policy = policy
    data = payload(250)
    writer.write(APPDATA, data)
    opened = open_stream(keys, writer.data_to_send())
    assert calls == [(23, 100), (23, 100), (23, 50)]
    assert [(t, len(c), p) for t, c, p in opened] == [(23, 100, 0), (23, 100, 0), (23, 50, 30)]
    assert b"".join(c for _, c, _ in opened) == data


@suite_param
@pytest.mark.parametrize("n", [1000, 1001, 99])
def test_write_limit(suite: int, n: int) -> None:
    """write_limit=100 makes records of at most 100 content bytes."""
    writer, reader, keys = pair(suite)
    writer.write_limit = 100
    assert writer.write_limit == 100
    data = payload(n)
    writer.write(APPDATA, data)
    out = writer.data_to_send()
    opened = open_stream(keys, out)
    assert len(opened) == math.ceil(n / 100)
    assert all(len(c) <= 100 and t == APPDATA and p == 0 for t, c, p in opened)
    assert b"".join(c for _, c, _ in opened) == data
    assert feed(reader, out) == ([], data)


def test_write_limit_handshake_plaintext() -> None:
    """Handshake messages are fragmented at write_limit, also unprotected."""
    writer = RecordLayer()
    writer.write_limit = 100
    data = payload(250)
    writer.write(HANDSHAKE, data)
    records = split_records(writer.data_to_send())
    assert len(records) == 3
    assert all(len(r.body) <= 100 for r in records)
    assert b"".join(r.body for r in records) == data


@suite_param
def test_read_limit_accepts_up_to_limit(suite: int) -> None:
    """With read_limit L, content L (plus type) is accepted."""
    keys = make_keys(suite)
    reader = layer_with(read=keys)
    reader.read_limit = 100
    assert reader.read_limit == 100
    data = payload(100)
    assert feed(reader, seal_content(keys, 0, APPDATA, data)) == ([], data)


# Memory ---------------------------------------------------------------------------------------


@suite_param
def test_buffers_released(suite: int) -> None:
    """buffer_capacities() returns to (0, 0, 0) once everything is drained."""
    writer, reader, _ = pair(suite)
    data = payload(40000)
    writer.write(APPDATA, data)
    out = writer.data_to_send()
    assert writer.buffer_capacities() == (0, 0, 0)
    reader.receive_data(out[:30000])
    assert reader.buffered_input > 0
    assert reader.buffer_capacities()[0] >= reader.buffered_input
    assert reader.buffer_capacities()[1] >= reader.pending() > 0
    reader.receive_data(out[30000:])
    assert reader.buffered_input == 0
    assert reader.read(1) == data[:1]
    assert reader.buffer_capacities()[1] >= reader.pending()
    assert reader.read() == data[1:]
    assert reader.buffer_capacities() == (0, 0, 0)

    writer.write(HANDSHAKE, b"\x04ticket")
    reader.receive_data(writer.data_to_send())
    assert reader.next_record() == (HANDSHAKE, b"\x04ticket")
    assert reader.buffer_capacities() == (0, 0, 0)
    assert writer.buffer_capacities() == (0, 0, 0)


def test_no_memory_growth_over_10000_round_trips() -> None:
    """10,000 round trips through one pair of layers leave neither buffers, nor the Python heap,
    nor the process's resident memory grown."""
    writer, reader, _ = pair(0x1301)
    messages = [payload(n, seed=n) for n in (0, 1, 100, 1500, 17000)]
    hs = b"\x04" + payload(60)

    def round_trip(i: int) -> None:
        msg = messages[i % len(messages)]
        writer.write(APPDATA, msg)
        if i % 7 == 0:
            writer.write(HANDSHAKE, hs)
        out = writer.data_to_send()
        cut = len(out) // 2 if i % 3 == 0 else len(out)
        reader.receive_data(out[:cut])
        reader.receive_data(out[cut:])
        records = drain(reader)
        assert records == ([(HANDSHAKE, hs)] if i % 7 == 0 else [])
        assert reader.read() == msg
        assert reader.buffer_capacities() == (0, 0, 0)
        assert writer.buffer_capacities() == (0, 0, 0)

    for i in range(500):
        round_trip(i)
    gc.collect()
    rss_before = resident_bytes()
    tracemalloc.start()
    try:
        for i in range(500, 1000):
            round_trip(i)
        gc.collect()
        base, _ = tracemalloc.get_traced_memory()
        for i in range(1000, 10000):
            round_trip(i)
        gc.collect()
        current, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_growth = resident_bytes() - rss_before
    assert current - base < 64 * 1024, f"traced memory grew by {current - base} bytes"
    assert rss_growth < 16 * 2**20, f"resident memory grew by {rss_growth} bytes"
    assert writer.write_sequence_number == reader.read_sequence_number


def test_independent_layers_in_threads() -> None:
    """Layers used from several threads at once (one layer per thread) never see each other's
    bytes: buffers may be recycled between layers, never shared."""
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            suite = SUITES[index % len(SUITES)]
            writer, reader, _ = pair(suite, label=f"thread-{index}")
            for i in range(150):
                msg = payload(4096 + (i * 977 + index * 131) % 40000, seed=index)
                writer.write(APPDATA, msg)
                out = writer.data_to_send()
                reader.receive_data(out[: len(out) // 3])
                reader.receive_data(out[len(out) // 3 :])
                assert reader.read() == msg
            assert reader.buffer_capacities() == (0, 0, 0)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# Cross-check of the module's own AEAD entry points ---------------------------------------------


@suite_param
def test_write_matches_reference_seal(suite: int) -> None:
    """A record built by this file's model is accepted, and the layer's output equals the
    model's record byte for byte (same key, seq, inner plaintext)."""
    keys: Keys = make_keys(suite)
    writer = layer_with(write=keys)
    writer.write(HANDSHAKE, b"\x14" + bytes(32))
    assert writer.data_to_send() == seal_content(keys, 0, HANDSHAKE, b"\x14" + bytes(32))

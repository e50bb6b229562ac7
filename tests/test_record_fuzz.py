"""Hostile input for the record layer's parser, in the plaintext and every protected state.

Whatever bytes arrive, cut wherever, the only outcomes allowed are records from next_record(),
application data, or a ProtocolError with a record-layer alert; never an IndexError,
struct.error, KeyError, MemoryError, SystemError or a crash. In protected states the AEAD also
means a mutated stream can only ever deliver a prefix of what was really sent.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recordutil import (
    ALERT,
    APPDATA,
    CCS,
    HANDSHAKE,
    MAX_PLAINTEXT,
    SUITES,
    Keys,
    header,
    layer_with,
    make_keys,
    plain_record,
)

from cytls._record import RecordLayer
from cytls.errors import ProtocolError
from cytls.wire.enums import AlertDescription

ALLOWED = {
    AlertDescription.unexpected_message,
    AlertDescription.bad_record_mac,
    AlertDescription.record_overflow,
    AlertDescription.decode_error,
}
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass
class Outcome:
    """What a reader produced from one input."""

    records: list[tuple[int, bytes]] = field(default_factory=list)
    app: bytes = b""
    error: ProtocolError | None = None


@dataclass(frozen=True)
class State:
    """A reader configuration: unprotected, or protected with one suite and options."""

    suite: int | None
    allow_app: bool = True
    allow_alerts: bool = False

    @property
    def keys(self) -> Keys | None:
        """The peer's (and so the reader's) traffic key, if protected."""
        return None if self.suite is None else make_keys(self.suite, "fuzz")

    @property
    def forgeable(self) -> frozenset[int]:
        """Record types that arrive unprotected here, so a mutation can fabricate them."""
        return frozenset({CCS, ALERT} if self.allow_alerts else {CCS})

    def reader(self) -> RecordLayer:
        """A fresh receiving layer in this state."""
        layer = layer_with(read=self.keys, allow_app=self.allow_app)
        layer.allow_plaintext_alerts = self.allow_alerts
        return layer


PROTECTED_STATES = [
    *(State(s) for s in SUITES),
    State(0x1302, allow_app=False),
    State(0x1303, allow_alerts=True),
]
STATES = [State(None), *PROTECTED_STATES]
states = st.sampled_from(STATES)


def check_record(rec: object) -> None:
    """A returned record must obey RFC 8446 §5 whatever the input was."""
    assert isinstance(rec, tuple)
    assert len(rec) == 2
    ctype, body = rec
    assert isinstance(body, bytes)
    assert ctype in (CCS, ALERT, HANDSHAKE)
    if ctype == CCS:
        assert body == b"\x01"
    else:
        assert 1 <= len(body) <= MAX_PLAINTEXT


def run(layer: RecordLayer, chunks: list[bytes]) -> Outcome:
    """Feed chunks, taking every record and all data, until done or a ProtocolError."""
    out = Outcome()
    fed = 0
    for chunk in chunks:
        fed += len(chunk)
        try:
            layer.receive_data(chunk)
            while (rec := layer.next_record()) is not None:
                check_record(rec)
                out.records.append(rec)
            out.app += layer.read()
        except ProtocolError as exc:
            assert exc.alert in ALLOWED, f"alert {exc.alert.name}: {exc}"
            assert layer.error is not None
            assert getattr(layer.error, "alert", None) == exc.alert
            with pytest.raises(ProtocolError):
                layer.next_record()
            with pytest.raises(ProtocolError):
                layer.receive_data(b"\x16")
            out.error = exc
            return out
        assert 0 <= layer.buffered_input <= fed
        assert layer.pending() == 0
    return out


def cut(data: bytes, fractions: list[float]) -> list[bytes]:
    """Split ``data`` at the given relative positions (always at least one chunk)."""
    points = sorted({int(f * len(data)) for f in fractions} | {0, len(data)})
    chunks = [data[a:b] for a, b in itertools.pairwise(points)]
    return chunks or [b""]


# Arbitrary bytes ---------------------------------------------------------------------------

record_types = st.sampled_from([0, 1, 19, CCS, ALERT, HANDSHAKE, APPDATA, 24, 255])
versions = st.sampled_from([0x0303, 0x0301, 0x0300, 0x0304, 0x0000, 0xFFFF])


@st.composite
def fake_record(draw: st.DrawFn) -> bytes:
    """A header with any type/version, a length that may or may not match, and a body."""
    body = draw(st.binary(max_size=80))
    length = draw(
        st.one_of(
            st.just(len(body)),
            st.integers(0, 0xFFFF),
            st.sampled_from([16, 17, 2**14, 2**14 + 1, 2**14 + 256, 2**14 + 257]),
        )
    )
    return header(draw(record_types), length, draw(versions)) + body


@settings(FUZZ, max_examples=1500)
@given(
    state=states,
    data=st.one_of(
        st.binary(max_size=300),
        st.lists(fake_record(), max_size=6).map(b"".join),
    ),
    fractions=st.lists(st.floats(0, 1), max_size=8),
)
def test_arbitrary_bytes(state: State, data: bytes, fractions: list[float]) -> None:
    """Random bytes and random header soup only produce allowed outcomes."""
    out = run(state.reader(), cut(data, fractions))
    if state.suite is not None:
        # Nothing forged authenticates: random input can only deliver unprotected records.
        assert out.app == b""
        assert all(rec[0] in state.forgeable for rec in out.records)


# Mutations of valid streams ----------------------------------------------------------------

ops_strategy = st.lists(
    st.tuples(
        st.sampled_from([HANDSHAKE, APPDATA, ALERT, CCS]),
        st.binary(min_size=1, max_size=60),
    ),
    min_size=1,
    max_size=8,
)

mutation = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1), st.just(0), st.just(b"")),
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(0, 7), st.just(b"")),
    st.tuples(st.just("insert"), st.floats(0, 1), st.just(0), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 30), st.just(b"")),
)


def mutate(stream: bytes, mutations: list[tuple[str, float, int, bytes]]) -> bytes:
    """Apply truncations, bit flips, insertions and deletions at relative positions."""
    data = bytearray(stream)
    for kind, where, arg, extra in mutations:
        pos = min(int(where * len(data)), max(len(data) - 1, 0))
        if kind == "truncate":
            del data[pos:]
        elif kind == "flip" and data:
            data[pos] ^= 1 << arg
        elif kind == "insert":
            data[pos:pos] = extra
        elif kind == "delete":
            del data[pos : pos + arg]
    return bytes(data)


def valid_stream(
    state: State, ops: list[tuple[int, bytes]]
) -> tuple[bytes, list[tuple[int, bytes]], bytes]:
    """A correct stream for the reader's state: (bytes, non-CCS records, application data).

    CCS records are the plaintext b'\\x01' that RFC 8446 §5 lets through anywhere;
    application data only exists where the state accepts it (else it becomes handshake)."""
    keys = state.keys
    writer = layer_with(write=keys)
    stream = b""
    records: list[tuple[int, bytes]] = []
    app = b""
    for ctype, body in ops:
        if ctype == CCS:
            stream += writer.data_to_send() + plain_record(CCS, b"\x01")
            continue
        if ctype == APPDATA and (keys is None or not state.allow_app):
            ctype = HANDSHAKE
        if ctype == ALERT:
            body = (body * 2)[:2]
        writer.write(ctype, body)
        if ctype == APPDATA:
            app += body
        else:
            records.append((ctype, body))
    return stream + writer.data_to_send(), records, app


def authentic(records: list[tuple[int, bytes]], state: State) -> list[tuple[int, bytes]]:
    """The records that only the key holder can have produced."""
    return [r for r in records if r[0] not in state.forgeable]


@settings(FUZZ, max_examples=1500)
@given(
    state=states,
    ops=ops_strategy,
    mutations=st.lists(mutation, max_size=3),
    fractions=st.lists(st.floats(0, 1), max_size=10),
)
def test_mutated_valid_stream(
    state: State,
    ops: list[tuple[int, bytes]],
    mutations: list[tuple[str, float, int, bytes]],
    fractions: list[float],
) -> None:
    """Truncated, flipped, spliced streams in any chunking: allowed outcomes only, and under
    protection never anything but a prefix of what was really sent."""
    layer = state.reader()
    stream, records, app = valid_stream(state, ops)
    damaged = mutate(stream, mutations)
    out = run(layer, cut(damaged, fractions))
    if not mutations:
        assert out.error is None
        assert [r for r in out.records if r[0] != CCS] == records
        assert out.app == app
        assert layer.buffered_input == 0
    if state.suite is not None:
        got = authentic(out.records, state)
        assert got == authentic(records, state)[: len(got)]
        assert app.startswith(out.app)


@settings(FUZZ, max_examples=400)
@given(
    state=st.sampled_from(PROTECTED_STATES),
    ops=ops_strategy,
    position=st.floats(0, 1),
    bit=st.integers(0, 7),
)
def test_single_bit_flip_never_authenticates(
    state: State, ops: list[tuple[int, bytes]], position: float, bit: int
) -> None:
    """One flipped bit anywhere in a protected record's header, body or tag is detected:
    the stream ends in an error, and everything delivered precedes the damaged record."""
    layer = state.reader()
    stream, records, app = valid_stream(state, ops)
    pos = int(position * (len(stream) - 1))
    damaged = bytearray(stream)
    damaged[pos] ^= 1 << bit
    # Find the record the flip landed in; a flip inside a plaintext CCS may go unnoticed.
    start = 0
    while True:
        length = int.from_bytes(stream[start + 3 : start + 5], "big")
        if pos < start + 5 + length:
            break
        start += 5 + length
    in_ccs = stream[start] == CCS
    # A protected record whose outer type flips to alert (0x17 -> 0x15) is a plaintext alert
    # when those are allowed: the record layer returns it and the alert layer judges it.
    to_alert = pos == start and damaged[pos] == ALERT and state.allow_alerts
    out = run(layer, [bytes(damaged)])
    if not in_ccs and not to_alert:
        # Detected, or (a flipped length bit) still waiting for bytes that never came.
        assert out.error is not None or layer.buffered_input > 0
    got = authentic(out.records, state)
    assert got == authentic(records, state)[: len(got)]
    assert app.startswith(out.app)


@settings(FUZZ, max_examples=120)
@given(state=st.sampled_from(STATES), ops=ops_strategy)
def test_one_byte_at_a_time_valid(state: State, ops: list[tuple[int, bytes]]) -> None:
    """A valid stream fed one byte per call delivers exactly what was sent."""
    layer = state.reader()
    stream, records, app = valid_stream(state, ops)
    out = run(layer, [stream[i : i + 1] for i in range(len(stream))])
    assert out.error is None
    assert [r for r in out.records if r[0] != CCS] == records
    assert out.app == app
    assert layer.buffered_input == 0
    assert layer.buffer_capacities() == (0, 0, 0)

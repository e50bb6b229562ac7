"""The pull/push codec of the TLS presentation language (cytls.wire.codec, RFC 8446 §3).

Writer and Reader must be exact mirrors; every way of running off the end of the data, or of
leaving bytes behind, is a ProtocolError(decode_error) naming the structure; values that do not
fit on the writing side are ValueError (a local bug, not the peer's).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cytls.errors import ProtocolError
from cytls.wire.codec import Reader, Writer, decode_error
from cytls.wire.enums import AlertDescription

FAST = settings(deadline=None, max_examples=100)

UINT_MAX = {"uint8": 0xFF, "uint16": 0xFFFF, "uint24": 0xFFFFFF, "uint32": 0xFFFFFFFF}
UINT_SIZE = {"uint8": 1, "uint16": 2, "uint24": 3, "uint32": 4}
OPAQUE_MAX = {"opaque8": 0xFF, "opaque16": 0xFFFF, "opaque24": 0xFFFFFF}


def decode_fails(excinfo: pytest.ExceptionInfo[ProtocolError], *words: str) -> None:
    """The error is a decode_error whose message contains every word."""
    assert excinfo.value.alert == AlertDescription.decode_error
    for word in words:
        assert word in str(excinfo.value)


# -- known encodings ---------------------------------------------------------------------------


def test_integers_are_big_endian() -> None:
    w = Writer()
    w.uint8(0x01)
    w.uint16(0x0203)
    w.uint24(0x040506)
    w.uint32(0x0708090A)
    assert w.getvalue() == bytes(range(1, 11))
    assert len(w) == 10
    r = Reader(w.getvalue())
    assert (r.uint8(), r.uint16(), r.uint24(), r.uint32()) == (1, 0x0203, 0x040506, 0x0708090A)
    assert r.at_end() and r.remaining() == 0
    r.finish()


def test_opaque_vectors_have_their_length_first() -> None:
    w = Writer()
    w.opaque8(b"ab")
    w.opaque16(b"cde")
    w.opaque24(b"")
    w.bytes(b"xy")
    assert w.getvalue() == b"\x02ab\x00\x03cde\x00\x00\x00xy"
    r = Reader(w.getvalue())
    assert r.opaque8() == b"ab"
    assert r.opaque16() == b"cde"
    assert r.opaque24() == b""
    assert r.bytes(2) == b"xy"
    r.finish()


def test_blocks_write_the_length_after_the_body() -> None:
    w = Writer()
    with w.block16():
        w.uint8(7)
        with w.block8():
            w.bytes(b"abc")
        with w.block24():
            pass
    assert w.getvalue() == b"\x00\x08\x07\x03abc\x00\x00\x00"
    r = Reader(w.getvalue(), "Thing")
    outer = r.block16()
    r.finish()
    assert outer.what == "Thing"
    assert outer.uint8() == 7
    inner = outer.block8()
    assert inner.bytes(3) == b"abc"
    inner.finish()
    assert outer.block24().at_end()
    outer.finish()


@pytest.mark.parametrize("method", ["block8", "block16"])
def test_a_block_too_long_for_its_length_is_refused(method: str) -> None:
    limit = 0xFF if method == "block8" else 0xFFFF
    w = Writer()
    with getattr(w, method)():
        w.bytes(bytes(limit))
    with pytest.raises(ValueError, match=f"{limit + 1} bytes do not fit"), getattr(w, method)():
        w.bytes(bytes(limit + 1))


def test_a_block_whose_body_raised_gets_no_length() -> None:
    """An exception inside the body propagates as it is; no length is written after it."""
    w = Writer()
    with pytest.raises(KeyError), w.block16():
        w.uint8(1)
        raise KeyError("body")
    assert w.getvalue() == b"\x00\x00\x01"


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_reader_accepts_any_buffer(kind: type) -> None:
    r = Reader(kind(b"\x00\x02hi"))
    assert r.opaque16() == b"hi"
    assert isinstance(Reader(kind(b"\x01x")).opaque8(), bytes)


def test_reader_of_a_non_byte_memoryview() -> None:
    view = memoryview(bytearray(b"\x00\x01\x00\x02")).cast("H")
    r = Reader(view)
    assert r.remaining() == 4
    assert r.uint32() == 0x00010002


def test_sub_reader_is_bounded_by_its_length() -> None:
    r = Reader(b"\x02\x01\x02\x03", "Outer")
    block = r.block8()
    assert block.remaining() == 2
    assert r.remaining() == 1
    block.uint16()
    with pytest.raises(ProtocolError) as excinfo:
        block.uint8()
    decode_fails(excinfo, "Outer is truncated")
    assert r.uint8() == 3


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["uint8", "uint16", "uint24", "uint32"])
def test_truncated_integer(method: str) -> None:
    size = UINT_SIZE[method]
    for cut in range(size):
        r = Reader(bytes(cut), "ClientHello")
        with pytest.raises(ProtocolError) as excinfo:
            getattr(r, method)()
        decode_fails(excinfo, "ClientHello is truncated")


def test_truncated_fixed_bytes_name_the_field() -> None:
    with pytest.raises(ProtocolError) as excinfo:
        Reader(bytes(31), "ServerHello").bytes(32, "random")
    decode_fails(excinfo, "ServerHello", "random", "32", "31")


@pytest.mark.parametrize(
    "method", ["opaque8", "opaque16", "opaque24", "block8", "block16", "block24"]
)
def test_length_past_the_end(method: str) -> None:
    size = {"8": 1, "16": 2, "24": 3}[method.removeprefix("opaque").removeprefix("block")]
    data = (5).to_bytes(size, "big") + b"abcd"
    with pytest.raises(ProtocolError) as excinfo:
        getattr(Reader(data, "Certificate"), method)("cert_data")
    decode_fails(excinfo, "Certificate", "cert_data", "runs past the end")
    # A missing or partial length prefix.
    for cut in range(size):
        with pytest.raises(ProtocolError) as excinfo:
            getattr(Reader(data[:cut], "Certificate"), method)("cert_data")
        decode_fails(excinfo, "Certificate is truncated", "the length of cert_data")


@pytest.mark.parametrize(
    "method", ["opaque8", "opaque16", "opaque24", "block8", "block16", "block24"]
)
def test_vector_bounds(method: str) -> None:
    size = {"8": 1, "16": 2, "24": 3}[method.removeprefix("opaque").removeprefix("block")]
    for length, ok in [(0, False), (1, False), (2, True), (3, True), (4, False)]:
        data = length.to_bytes(size, "big") + bytes(length)
        reader = Reader(data, "X")
        if ok:
            getattr(reader, method)("v", minimum=2, maximum=3)
            reader.finish()
        else:
            with pytest.raises(ProtocolError) as excinfo:
                getattr(reader, method)("v", minimum=2, maximum=3)
            decode_fails(excinfo, "the length of v", "outside 2..3")


def test_finish_rejects_trailing_bytes() -> None:
    r = Reader(b"\x00\x01\x02", "KeyUpdate")
    r.uint8()
    with pytest.raises(ProtocolError) as excinfo:
        r.finish()
    decode_fails(excinfo, "KeyUpdate", "2 unexpected trailing bytes")
    block = Reader(b"\x02ab", "EncryptedExtensions").block8("the extensions block")
    block.uint8()
    with pytest.raises(ProtocolError) as excinfo:
        block.finish()
    decode_fails(excinfo, "1 unexpected trailing byte inside the extensions block")


def test_decode_error_helper() -> None:
    error = decode_error("broken")
    assert isinstance(error, ProtocolError)
    assert error.alert == AlertDescription.decode_error
    assert "broken" in str(error)


def test_negative_length_is_a_local_error() -> None:
    with pytest.raises(ValueError):
        Reader(b"abc").bytes(-1)


@pytest.mark.parametrize("method", ["uint8", "uint16", "uint24", "uint32"])
def test_writer_rejects_integers_that_do_not_fit(method: str) -> None:
    w = Writer()
    getattr(w, method)(UINT_MAX[method])
    for bad in (-1, UINT_MAX[method] + 1):
        with pytest.raises(ValueError):
            getattr(w, method)(bad)


@pytest.mark.parametrize("method", ["opaque8", "opaque16"])
def test_writer_rejects_vectors_that_do_not_fit(method: str) -> None:
    w = Writer()
    getattr(w, method)(bytes(OPAQUE_MAX[method]))
    with pytest.raises(ValueError):
        getattr(w, method)(bytes(OPAQUE_MAX[method] + 1))
    with pytest.raises(ValueError):
        getattr(w, method)(memoryview(bytes(OPAQUE_MAX[method] + 1)))


def test_writer_rejects_blocks_that_do_not_fit() -> None:
    w = Writer()
    with pytest.raises(ValueError), w.block8():
        w.bytes(bytes(256))
    w = Writer()
    with w.block8():
        w.bytes(bytes(255))
    assert w.getvalue()[0] == 255


def test_repr_does_not_dump_data() -> None:
    assert "secret" not in repr(Reader(b"secret", "Finished"))


# -- properties --------------------------------------------------------------------------------

FIELDS = st.one_of(
    *[st.tuples(st.just(m), st.integers(0, top)) for m, top in UINT_MAX.items()],
    st.tuples(st.just("opaque8"), st.binary(max_size=40)),
    st.tuples(st.just("opaque16"), st.binary(max_size=300)),
    st.tuples(st.just("opaque24"), st.binary(max_size=40)),
    st.tuples(st.just("bytes"), st.binary(max_size=40)),
)
PROGRAMS = st.recursive(
    st.lists(FIELDS, max_size=6),
    lambda inner: st.lists(
        st.one_of(FIELDS, st.tuples(st.sampled_from(["block8", "block16", "block24"]), inner)),
        max_size=4,
    ),
    max_leaves=20,
)


def write_program(w: Writer, program: list) -> None:
    for op, value in program:
        if op.startswith("block"):
            with getattr(w, op)():
                write_program(w, value)
        else:
            getattr(w, op)(value)


def read_program(r: Reader, program: list) -> list:
    values = []
    for op, value in program:
        if op.startswith("block"):
            sub = getattr(r, op)()
            values.append((op, read_program(sub, value)))
            sub.finish()
        elif op == "bytes":
            values.append((op, r.bytes(len(value))))
        else:
            values.append((op, getattr(r, op)()))
    return values


@FAST
@given(PROGRAMS)
def test_reader_mirrors_writer(program: list) -> None:
    w = Writer()
    write_program(w, program)
    r = Reader(w.getvalue())
    assert read_program(r, program) == program
    r.finish()


@FAST
@given(PROGRAMS, st.data())
def test_truncation_is_always_a_decode_error(program: list, data: st.DataObject) -> None:
    w = Writer()
    write_program(w, program)
    encoded = w.getvalue()
    if not encoded:
        return
    cut = data.draw(st.integers(0, len(encoded) - 1))
    r = Reader(encoded[:cut], "Fuzz")
    with pytest.raises(ProtocolError) as excinfo:
        read_program(r, program)
        r.finish()
    decode_fails(excinfo, "Fuzz")


@FAST
@given(PROGRAMS, st.binary(min_size=1, max_size=300))
def test_arbitrary_bytes_only_ever_give_values_or_decode_error(
    program: list, garbage: bytes
) -> None:
    r = Reader(garbage, "Fuzz")
    try:
        read_program(r, program)
        r.finish()
    except ProtocolError as error:
        assert error.alert == AlertDescription.decode_error

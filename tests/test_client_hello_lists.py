"""cytls._hello, the C walk over the lists of a ClientHello, held to the Python codec.

The server reads a ClientHello's peer-sized lists in C (issue 12: in Python a 64 KiB ClientHello
cost 20 to 90 times a typical one). The Python codec in cytls.wire stays the definition: on
valid, truncated, mutated and duplicated input generated here, each C function must give what
the Python decoders give (the same value, or a ProtocolError with the same alert), with the
order rule of RFC 8446 §4.2.8 written out below as its own reference.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cytls._hello import read_key_exchange_offer, sift_client_hello
from cytls.wire.messages import ClientHello, ExtensionType

sys.path.insert(0, str(Path(__file__).resolve().parent / "fuzz"))
from fuzz_client_hello_lists import (  # the oracle is the fuzz harness's
    KNOWN_SUITES,
    KNOWN_TYPES,
    OUR_GROUPS,
    SCHEMES,
    SUITE_BITS,
    TYPE_BITS,
    check_offer,
    check_psks,
    check_schemes,
    check_sift,
    v16,
)

SETTINGS = settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])


def v8(data: bytes) -> bytes:
    return bytes([len(data)]) + data


def mutate(data: bytes, draw: st.DrawFn) -> bytes:
    """Leave, truncate, extend or overwrite one byte of ``data``: the error paths."""
    how = draw(st.sampled_from(["keep", "keep", "truncate", "extend", "overwrite"]))
    if how == "truncate" and data:
        return data[: draw(st.integers(0, len(data) - 1))]
    if how == "extend":
        return data + draw(st.binary(min_size=1, max_size=4))
    if how == "overwrite" and data:
        at = draw(st.integers(0, len(data) - 1))
        return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    return data


# --- sift_client_hello -----------------------------------------------------------------------

SUITE = st.one_of(st.sampled_from(sorted(KNOWN_SUITES)), st.integers(0, 0xFFFF))
EXTENSION_TYPE = st.one_of(st.sampled_from(sorted(KNOWN_TYPES)), st.integers(0, 0xFFFF))


@st.composite
def client_hello_bodies(draw: st.DrawFn) -> bytes:
    suites = draw(st.lists(SUITE, min_size=1, max_size=12))
    extensions = draw(st.lists(st.tuples(EXTENSION_TYPE, st.binary(max_size=6)), max_size=12))
    if draw(st.booleans()) and extensions:  # a repeated type, somewhere
        extensions.insert(draw(st.integers(0, len(extensions))), draw(st.sampled_from(extensions)))
    if draw(st.booleans()):  # pre_shared_key, last or not
        at = draw(st.sampled_from([len(extensions), draw(st.integers(0, len(extensions)))]))
        extensions.insert(at, (ExtensionType.pre_shared_key, draw(st.binary(max_size=4))))
    block = b"".join(t.to_bytes(2, "big") + v16(d) for t, d in extensions)
    body = (
        b"\x03\x03"
        + draw(st.binary(min_size=32, max_size=32))
        + v8(draw(st.binary(max_size=33)))
        + v16(b"".join(s.to_bytes(2, "big") for s in suites))
        + v8(draw(st.sampled_from([b"\x00", b"", b"\x00\x01"])))
        + (b"" if draw(st.integers(0, 9)) == 0 else v16(block))
    )
    return mutate(body, draw)


@SETTINGS
@given(client_hello_bodies())
def test_a_sifted_client_hello_parses_as_the_whole_one(body: bytes) -> None:
    check_sift(body)


def test_sifting_a_costly_client_hello_leaves_what_cytls_reads() -> None:
    """16,000 unknown extensions and 30,000 unknown suites around the recognized ones."""
    unknown = b"".join((0x5000 + i).to_bytes(2, "big") + b"\x00\x00" for i in range(12000))
    suites = b"".join((0x5A00 + i % 0x2000).to_bytes(2, "big") for i in range(10000))
    known = ExtensionType.supported_versions.to_bytes(2, "big") + v16(b"\x02\x03\x04")
    body = (
        b"\x03\x03"
        + bytes(32)
        + v8(b"")
        + v16(suites + b"\x13\x01")
        + v8(b"\x00")
        + v16(unknown + known)
    )
    sifted, ignored_suites, ignored_extensions = sift_client_hello(body, SUITE_BITS, TYPE_BITS)
    hello = ClientHello.parse(sifted)
    assert hello.cipher_suites == [0x1301]
    assert hello.extensions == [(ExtensionType.supported_versions, b"\x02\x03\x04")]
    assert (ignored_suites, ignored_extensions) == (suites, unknown)


@pytest.mark.parametrize(
    ("suites", "kept"),
    [
        pytest.param([0x0A0A, 0x5A5A], [0x0A0A], id="none-recognized-keeps-the-first"),
        pytest.param([0x0A0A, 0x1302, 0x1301], [0x1302, 0x1301], id="recognized-in-order"),
    ],
)
def test_sifted_cipher_suites(suites: list[int], kept: list[int]) -> None:
    body = (
        b"\x03\x03"
        + bytes(32)
        + v8(b"")
        + v16(b"".join(s.to_bytes(2, "big") for s in suites))
        + v8(b"\x00")
    )
    sifted, _, _ = sift_client_hello(body, SUITE_BITS, TYPE_BITS)
    assert ClientHello.parse(sifted).cipher_suites == kept


def test_sift_client_hello_refuses_bad_bitmaps_and_none() -> None:
    with pytest.raises(ValueError, match="8192-byte bitmap"):
        sift_client_hello(b"", b"\x00", TYPE_BITS)
    with pytest.raises(TypeError):
        sift_client_hello(None, SUITE_BITS, TYPE_BITS)  # type: ignore[arg-type]


# --- read_key_exchange_offer -------------------------------------------------------------------

GROUP = st.one_of(st.sampled_from(OUR_GROUPS), st.integers(0, 0xFFFF))


@st.composite
def offers(draw: st.DrawFn) -> tuple[bytes, bytes]:
    groups = draw(st.lists(GROUP, max_size=10))
    if draw(st.booleans()) and groups:  # shares drawn from the list, in order or not
        shares = [(g, draw(st.binary(min_size=0, max_size=3))) for g in groups]
        shares = draw(st.lists(st.sampled_from(shares), max_size=4))
    else:
        shares = draw(st.lists(st.tuples(GROUP, st.binary(max_size=3)), max_size=4))
    groups_data = v16(b"".join(g.to_bytes(2, "big") for g in groups))
    shares_data = v16(b"".join(g.to_bytes(2, "big") + v16(k) for g, k in shares))
    return mutate(groups_data, draw), mutate(shares_data, draw)


@SETTINGS
@given(offers(), st.lists(GROUP, max_size=4, unique=True))
def test_the_key_exchange_offer_reads_as_the_python_decoders(
    offer: tuple[bytes, bytes], ours: list[int]
) -> None:
    check_offer(*offer, tuple(ours))


def test_the_costliest_key_exchange_offer() -> None:
    """16,000 groups and 6,500 one-byte shares (the bench case): only ours come out."""
    groups = [0x4000 + i for i in range(16000)] + [0x001D]
    shares = [(g, b"\x00") for g in groups[:6499]] + [(0x001D, bytes(32))]
    groups_data = v16(b"".join(g.to_bytes(2, "big") for g in groups))
    shares_data = v16(b"".join(g.to_bytes(2, "big") + v16(k) for g, k in shares))
    listed, shared, count = read_key_exchange_offer(groups_data, shares_data, (0x0017, 0x001D))
    assert (listed, shared, count) == ([0x001D], {0x001D: bytes(32)}, 6500)


# --- listed_code_points --------------------------------------------------------------------------


@st.composite
def signature_algorithm_lists(draw: st.DrawFn) -> bytes:
    schemes = draw(st.lists(st.one_of(st.sampled_from(SCHEMES), st.integers(0, 0xFFFF))))
    return mutate(v16(struct.pack(f">{len(schemes)}H", *schemes)), draw)


@SETTINGS
@given(signature_algorithm_lists())
def test_signature_algorithms_among_reads_as_the_python_decoder(raw: bytes) -> None:
    check_schemes(raw)


# --- read_offered_psks ---------------------------------------------------------------------------


@st.composite
def offered_psks(draw: st.DrawFn) -> bytes:
    identities = draw(
        st.lists(
            st.tuples(st.binary(min_size=0, max_size=4), st.integers(0, 2**32 - 1)), max_size=6
        )
    )
    binders = draw(st.lists(st.binary(min_size=31, max_size=33), max_size=6))
    if draw(st.booleans()):
        binders = binders[: len(identities)] + [bytes(32)] * (len(identities) - len(binders))
    ids = b"".join(v16(i) + age.to_bytes(4, "big") for i, age in identities)
    return mutate(v16(ids) + v16(b"".join(v8(b) for b in binders)), draw)


@SETTINGS
@given(offered_psks(), st.integers(0, 5))
def test_offered_psks_read_as_the_python_decoder(data: bytes, keep: int) -> None:
    check_psks(data, keep)

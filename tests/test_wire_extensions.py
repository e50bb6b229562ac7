"""Codecs of extension data (cytls.wire.extensions).

Known answers come from the extensions of the RFC 8448 traces; hypothesis checks every
encode/decode pair as a round trip, and that arbitrary, truncated or extended data only ever
decodes to a value that re-encodes to the same bytes, or raises a ProtocolError with the
alert the RFCs name (decode_error for syntax; illegal_parameter or unrecognized_name where a
document says so).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cytls.errors import ProtocolError
from cytls.wire import extensions as ext
from cytls.wire.enums import AlertDescription
from cytls.wire.messages import (
    ClientHello,
    EncryptedExtensions,
    Extensions,
    ExtensionType,
    NewSessionTicket,
    ServerHello,
    find_extension,
)

VECTORS = json.loads(
    (Path(__file__).parent / "vectors" / "rfc8448_handshake_messages.json").read_text(
        encoding="utf-8"
    )
)
PUBLIC_KEYS: dict[str, dict[str, str]] = VECTORS["x25519_public_keys"]
FAST = settings(deadline=None, max_examples=50)
FUZZ = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])

X25519, SECP256R1 = 0x001D, 0x0017
TLS13 = 0x0304
DECODE_ERROR = AlertDescription.decode_error
ILLEGAL = AlertDescription.illegal_parameter


def rfc8448(section: str, type_name: str, nth: int = 0) -> dict[str, Any]:
    return [m for m in VECTORS["messages"] if m["section"] == section and m["type"] == type_name][
        nth
    ]


def extensions_of(section: str, type_name: str, nth: int = 0) -> Extensions:
    cls = {
        "ClientHello": ClientHello,
        "ServerHello": ServerHello,
        "EncryptedExtensions": EncryptedExtensions,
        "NewSessionTicket": NewSessionTicket,
    }[type_name]
    return cls.parse(bytes.fromhex(rfc8448(section, type_name, nth)["message"])[4:]).extensions


def data(extensions: Extensions, ext_type: ExtensionType) -> bytes:
    found = find_extension(extensions, ext_type)
    assert found is not None
    return found


def early_data_in_ticket(raw: bytes) -> int | None:
    return ext.decode_early_data_indication(raw, in_new_session_ticket=True)


def fails(alert: AlertDescription, decode: Callable[[bytes], Any], raw: bytes, *words: str) -> None:
    with pytest.raises(ProtocolError) as excinfo:
        decode(raw)
    assert excinfo.value.alert == alert, excinfo.value
    for word in words:
        assert word in str(excinfo.value)


# -- known answers (RFC 8448) ------------------------------------------------------------------

SIGNATURE_SCHEMES_8448 = [
    0x0403, 0x0503, 0x0603, 0x0203, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0201,
    0x0402, 0x0502, 0x0602, 0x0202,
]  # fmt: skip
GROUPS_8448 = [X25519, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104]


def test_rfc8448_client_hello_extensions() -> None:
    exts = extensions_of("3", "ClientHello")
    assert ext.decode_server_name(data(exts, ExtensionType.server_name)) == "server"
    assert ext.decode_supported_groups(data(exts, ExtensionType.supported_groups)) == GROUPS_8448
    assert ext.decode_key_share_client(data(exts, ExtensionType.key_share)) == [
        (X25519, bytes.fromhex(PUBLIC_KEYS["3"]["client"]))
    ]
    assert ext.decode_supported_versions_client(data(exts, ExtensionType.supported_versions)) == [
        TLS13
    ]
    assert (
        ext.decode_signature_algorithms(data(exts, ExtensionType.signature_algorithms))
        == SIGNATURE_SCHEMES_8448
    )
    assert ext.decode_psk_key_exchange_modes(data(exts, ExtensionType.psk_key_exchange_modes)) == [
        1  # psk_dhe_ke
    ]
    assert ext.decode_record_size_limit(data(exts, ExtensionType.record_size_limit)) == 0x4001
    # And back, byte for byte.
    assert ext.encode_server_name("server") == data(exts, ExtensionType.server_name)
    assert ext.encode_supported_groups(GROUPS_8448) == data(exts, ExtensionType.supported_groups)
    assert ext.encode_key_share_client(
        [(X25519, bytes.fromhex(PUBLIC_KEYS["3"]["client"]))]
    ) == data(exts, ExtensionType.key_share)
    assert ext.encode_supported_versions_client([TLS13]) == data(
        exts, ExtensionType.supported_versions
    )
    assert ext.encode_signature_algorithms(SIGNATURE_SCHEMES_8448) == data(
        exts, ExtensionType.signature_algorithms
    )
    assert ext.encode_psk_key_exchange_modes([1]) == data(
        exts, ExtensionType.psk_key_exchange_modes
    )
    assert ext.encode_record_size_limit(0x4001) == data(exts, ExtensionType.record_size_limit)


def test_rfc8448_server_extensions() -> None:
    server = extensions_of("3", "ServerHello")
    share = (X25519, bytes.fromhex(PUBLIC_KEYS["3"]["server"]))
    assert ext.decode_key_share_server(data(server, ExtensionType.key_share)) == share
    assert ext.encode_key_share_server(*share) == data(server, ExtensionType.key_share)
    versions = data(server, ExtensionType.supported_versions)
    assert ext.decode_supported_versions_server(versions) == TLS13
    assert ext.encode_supported_versions_server(TLS13) == versions

    encrypted = extensions_of("3", "EncryptedExtensions")
    assert ext.decode_supported_groups(data(encrypted, ExtensionType.supported_groups)) == (
        GROUPS_8448
    )
    assert ext.decode_record_size_limit(data(encrypted, ExtensionType.record_size_limit)) == 0x4001
    ext.decode_empty(data(encrypted, ExtensionType.server_name), "server_name extension")

    ticket = extensions_of("3", "NewSessionTicket")
    early = data(ticket, ExtensionType.early_data)
    assert ext.decode_early_data_indication(early, in_new_session_ticket=True) == 1024
    assert ext.encode_early_data_indication(1024) == early


def test_rfc8448_resumption_extensions() -> None:
    vector = rfc8448("4", "ClientHello")
    exts = extensions_of("4", "ClientHello")
    assert ext.decode_early_data_indication(data(exts, ExtensionType.early_data), False) is None
    assert ext.encode_early_data_indication(None) == b""
    psk = data(exts, ExtensionType.pre_shared_key)
    identities, binders = ext.decode_pre_shared_key_client(psk)
    # The identity is the ticket of §3's NewSessionTicket; the binder is the value that the
    # trace's "calculate PSK binder" step prints.
    ticket = NewSessionTicket.parse(bytes.fromhex(rfc8448("3", "NewSessionTicket")["message"])[4:])
    assert [identity for identity, _ in identities] == [ticket.ticket]
    assert identities[0][1] == 0xFAD6AACB  # obfuscated_ticket_age
    assert binders == [bytes.fromhex(vector["binder"])]
    assert ext.encode_pre_shared_key_client(identities, binders) == psk
    # The binder covers the ClientHello up to (not including) the binders list.
    message = bytes.fromhex(vector["message"])
    cut = len(message) - ext.pre_shared_key_binders_length(binders)
    assert message[:cut] == bytes.fromhex(vector["truncated_for_binders"])

    server = extensions_of("4", "ServerHello")
    assert ext.decode_pre_shared_key_server(data(server, ExtensionType.pre_shared_key)) == 0
    assert ext.encode_pre_shared_key_server(0) == data(server, ExtensionType.pre_shared_key)
    encrypted = extensions_of("4", "EncryptedExtensions")
    assert (
        ext.decode_early_data_indication(data(encrypted, ExtensionType.early_data), False) is None
    )


def test_rfc8448_hello_retry_extensions() -> None:
    retry = extensions_of("5", "ServerHello", nth=0)
    assert ext.decode_key_share_hrr(data(retry, ExtensionType.key_share)) == SECP256R1
    assert ext.encode_key_share_hrr(SECP256R1) == data(retry, ExtensionType.key_share)
    cookie = ext.decode_cookie(data(retry, ExtensionType.cookie))
    assert ext.encode_cookie(cookie) == data(retry, ExtensionType.cookie)
    # The second ClientHello echoes the cookie and sends a P-256 share (65-byte point).
    second = extensions_of("5", "ClientHello", nth=1)
    assert ext.decode_cookie(data(second, ExtensionType.cookie)) == cookie
    ((group, point),) = ext.decode_key_share_client(data(second, ExtensionType.key_share))
    assert group == SECP256R1 and len(point) == 65 and point[0] == 4
    # The first ClientHello offers x25519 only.
    first = extensions_of("5", "ClientHello", nth=0)
    assert ext.decode_key_share_client(data(first, ExtensionType.key_share)) == [
        (X25519, bytes.fromhex(PUBLIC_KEYS["5"]["client"]))
    ]


# -- round trips -------------------------------------------------------------------------------

uint16 = st.integers(0, 0xFFFF)
LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)
HOSTS = st.lists(LABEL, min_size=1, max_size=4).map(".".join)
BINDERS = st.binary(min_size=32, max_size=64)

ROUND_TRIPS: list[tuple[str, Callable[..., bytes], Callable[[bytes], Any], Any]] = [
    ("server_name", ext.encode_server_name, ext.decode_server_name, HOSTS),
    (
        "supported_groups",
        ext.encode_supported_groups,
        ext.decode_supported_groups,
        st.lists(uint16, min_size=1, max_size=40),
    ),
    (
        "signature_algorithms",
        ext.encode_signature_algorithms,
        ext.decode_signature_algorithms,
        st.lists(uint16, min_size=1, max_size=40),
    ),
    (
        "supported_versions_client",
        ext.encode_supported_versions_client,
        ext.decode_supported_versions_client,
        st.lists(uint16, min_size=1, max_size=127),
    ),
    (
        "supported_versions_server",
        ext.encode_supported_versions_server,
        ext.decode_supported_versions_server,
        uint16,
    ),
    (
        "key_share_client",
        ext.encode_key_share_client,
        ext.decode_key_share_client,
        st.lists(
            st.tuples(uint16, st.binary(min_size=1, max_size=100)),
            unique_by=lambda share: share[0],
            max_size=5,
        ),
    ),
    (
        "key_share_server",
        lambda share: ext.encode_key_share_server(*share),
        ext.decode_key_share_server,
        st.tuples(uint16, st.binary(min_size=1, max_size=200)),
    ),
    ("key_share_hrr", ext.encode_key_share_hrr, ext.decode_key_share_hrr, uint16),
    (
        "alpn",
        ext.encode_alpn,
        ext.decode_alpn,
        st.lists(st.binary(min_size=1, max_size=255), min_size=1, max_size=8),
    ),
    ("cookie", ext.encode_cookie, ext.decode_cookie, st.binary(min_size=1, max_size=500)),
    (
        "psk_key_exchange_modes",
        ext.encode_psk_key_exchange_modes,
        ext.decode_psk_key_exchange_modes,
        st.lists(st.integers(0, 255), min_size=1, max_size=255),
    ),
    (
        "record_size_limit",
        ext.encode_record_size_limit,
        ext.decode_record_size_limit,
        st.integers(64, 0xFFFF),
    ),
    (
        "certificate_authorities",
        ext.encode_certificate_authorities,
        ext.decode_certificate_authorities,
        st.lists(st.binary(min_size=1, max_size=80), min_size=1, max_size=6),
    ),
    (
        "early_data_in_ticket",
        ext.encode_early_data_indication,
        early_data_in_ticket,
        st.integers(0, 0xFFFFFFFF),
    ),
    (
        "early_data_in_hello",
        ext.encode_early_data_indication,
        lambda raw: ext.decode_early_data_indication(raw, in_new_session_ticket=False),
        st.none(),
    ),
    (
        "pre_shared_key_client",
        lambda offered: ext.encode_pre_shared_key_client(*offered),
        ext.decode_pre_shared_key_client,
        st.integers(1, 4).flatmap(
            lambda n: st.tuples(
                st.lists(
                    st.tuples(st.binary(min_size=1, max_size=60), st.integers(0, 0xFFFFFFFF)),
                    min_size=n,
                    max_size=n,
                ),
                st.lists(BINDERS, min_size=n, max_size=n),
            )
        ),
    ),
    (
        "pre_shared_key_server",
        ext.encode_pre_shared_key_server,
        ext.decode_pre_shared_key_server,
        uint16,
    ),
]
CODEC_IDS = [name for name, *_ in ROUND_TRIPS]
DECODERS = [decode for _, _, decode, _ in ROUND_TRIPS]


def normalize(value: Any) -> Any:
    """Tuples in, lists or tuples out: compare structurally."""
    if isinstance(value, tuple | list):
        return [normalize(item) for item in value]
    return value


@pytest.mark.parametrize(("name", "encode", "decode", "values"), ROUND_TRIPS, ids=CODEC_IDS)
def test_round_trip(name: str, encode: Callable, decode: Callable, values: Any) -> None:
    @FAST
    @given(values)
    def check(value: Any) -> None:
        encoded = encode(value)
        assert normalize(decode(encoded)) == normalize(value)
        assert encode(decode(encoded)) == encoded

    check()


# -- malformed input ---------------------------------------------------------------------------


def check_outcome(decode: Callable[[bytes], Any], encode: Callable[..., bytes], raw: bytes) -> None:
    """The oracle: a ProtocolError with an RFC-named alert, or a value that encodes back."""
    try:
        value = decode(raw)
    except ProtocolError as error:
        assert error.alert in (DECODE_ERROR, ILLEGAL, AlertDescription.unrecognized_name), error
        return
    if encode is ext.encode_server_name:
        # Names of other types are skipped, so only the host_name itself is comparable.
        assert (0, value.encode()) in ext.decode_server_names(raw)
        return
    assert encode(value) == raw


@pytest.mark.parametrize(("name", "encode", "decode", "values"), ROUND_TRIPS, ids=CODEC_IDS)
def test_arbitrary_and_mutated_data(
    name: str, encode: Callable, decode: Callable, values: Any
) -> None:
    @FUZZ
    @given(st.binary(max_size=80), values, st.data())
    def check(garbage: bytes, value: Any, draw: st.DataObject) -> None:
        check_outcome(decode, encode, garbage)
        encoded = encode(value)
        # Every truncation, one byte more, and a flipped byte (length bytes included).
        for cut in range(len(encoded)):
            check_outcome(decode, encode, encoded[:cut])
        check_outcome(decode, encode, encoded + b"\x00")
        if encoded:
            flipped = bytearray(encoded)
            pos = draw.draw(st.integers(0, len(encoded) - 1))
            flipped[pos] ^= draw.draw(st.integers(1, 255))
            check_outcome(decode, encode, bytes(flipped))

    check()


SAMPLES: dict[str, Any] = {
    "server_name": "example.com",
    "supported_groups": [X25519, SECP256R1],
    "signature_algorithms": [0x0804],
    "supported_versions_client": [TLS13, 0x0303],
    "supported_versions_server": TLS13,
    "key_share_client": [(X25519, bytes(32))],
    "key_share_server": (X25519, bytes(32)),
    "key_share_hrr": SECP256R1,
    "alpn": [b"h2", b"http/1.1"],
    "cookie": b"c",
    "psk_key_exchange_modes": [1],
    "record_size_limit": 16385,
    "certificate_authorities": [b"\x30\x00"],
    "early_data_in_ticket": 1024,
    "early_data_in_hello": None,
    "pre_shared_key_client": ([(b"id", 7)], [bytes(32)]),
    "pre_shared_key_server": 0,
}


@pytest.mark.parametrize(("name", "encode", "decode", "values"), ROUND_TRIPS, ids=CODEC_IDS)
def test_truncation_and_trailing_bytes_are_decode_errors(
    name: str, encode: Callable, decode: Callable, values: Any
) -> None:
    encoded = encode(SAMPLES[name])
    assert normalize(decode(encoded)) == normalize(SAMPLES[name])
    for cut in range(len(encoded)):
        fails(DECODE_ERROR, decode, encoded[:cut])
    fails(DECODE_ERROR, decode, encoded + b"\x00", "trailing")


def test_server_name_rules() -> None:
    host = b"\x00\x07example"
    entry = b"\x00" + host
    assert ext.decode_server_name(b"\x00\x0a" + entry) == "example"
    assert ext.decode_server_names(b"\x00\x0a" + entry) == [(0, b"example")]
    # RFC 6066 §3: one name per type.
    fails(ILLEGAL, ext.decode_server_name, b"\x00\x14" + entry + entry, "more than one")
    # Other name types begin with a 16-bit length and are skipped.
    other = b"\x05\x00\x02ab"
    assert ext.decode_server_name(b"\x00\x0f" + other + entry) == "example"
    assert ext.decode_server_names(b"\x00\x0f" + other + entry) == [(5, b"ab"), (0, b"example")]
    fails(AlertDescription.unrecognized_name, ext.decode_server_name, b"\x00\x05" + other)
    # server_name_list<1..2^16-1>, HostName<1..2^16-1>
    fails(DECODE_ERROR, ext.decode_server_name, b"\x00\x00", "server_name_list")
    fails(DECODE_ERROR, ext.decode_server_name, b"\x00\x03\x00\x00\x00", "host_name is empty")
    assert ext.decode_server_names(b"\x00\x03\x07\x00\x00") == [(7, b"")]
    fails(DECODE_ERROR, ext.decode_server_name, b"", "truncated")
    # ASCII only (an IDN travels as an A-label), no NUL, controls or spaces.
    for bad in (b"caf\xc3\xa9", b"a\x00b", b"a b", b"a\x7fb", b"\tx"):
        raw = b"\x00" + len(bad).to_bytes(2, "big") + bad
        fails(ILLEGAL, ext.decode_server_name, len(raw).to_bytes(2, "big") + raw, "ASCII")


def test_server_name_encoding() -> None:
    assert ext.encode_server_name("example.com.") == ext.encode_server_name("example.com")
    assert ext.decode_server_name(ext.encode_server_name("xn--caf-dma.example")) == (
        "xn--caf-dma.example"
    )
    for bad in ("café.example", "", "."):
        with pytest.raises(ValueError):
            ext.encode_server_name(bad)


def test_empty_lists_are_decode_errors() -> None:
    fails(DECODE_ERROR, ext.decode_supported_groups, b"\x00\x00", "named_group_list")
    fails(DECODE_ERROR, ext.decode_supported_groups, b"\x00\x03\x00\x1d\x00", "odd")
    fails(DECODE_ERROR, ext.decode_signature_algorithms, b"\x00\x00")
    fails(DECODE_ERROR, ext.decode_signature_algorithms, b"\x00\x01\x04")
    fails(DECODE_ERROR, ext.decode_supported_versions_client, b"\x00")
    fails(DECODE_ERROR, ext.decode_supported_versions_client, b"\x03\x03\x04\x03", "odd")
    fails(DECODE_ERROR, ext.decode_alpn, b"\x00\x00", "protocol_name_list")
    fails(DECODE_ERROR, ext.decode_alpn, b"\x00\x03\x02h2\x00", "trailing")
    fails(DECODE_ERROR, ext.decode_alpn, b"\x00\x01", "runs past the end")
    fails(DECODE_ERROR, ext.decode_alpn, b"\x00\x04\x02h2\x00", "ProtocolName")
    fails(DECODE_ERROR, ext.decode_cookie, b"\x00\x00", "cookie")
    fails(DECODE_ERROR, ext.decode_psk_key_exchange_modes, b"\x00", "ke_modes")
    fails(DECODE_ERROR, ext.decode_certificate_authorities, b"\x00\x00", "authorities")
    fails(DECODE_ERROR, ext.decode_certificate_authorities, b"\x00\x04\x00\x00\x00\x00")
    fails(DECODE_ERROR, ext.decode_key_share_client, b"\x00\x04\x00\x1d\x00\x00", "key_exchange")
    fails(DECODE_ERROR, ext.decode_key_share_server, b"\x00\x1d\x00\x00", "key_exchange")
    fails(DECODE_ERROR, early_data_in_ticket, b"", "max_early_data_size")
    assert ext.decode_key_share_client(b"\x00\x00") == []  # client_shares<0..2^16-1>


def test_early_data_indication_forms() -> None:
    with pytest.raises(ProtocolError) as excinfo:
        ext.decode_early_data_indication(b"\x00\x00\x04\x00", in_new_session_ticket=False)
    assert excinfo.value.alert == DECODE_ERROR
    with pytest.raises(ProtocolError):
        ext.decode_early_data_indication(b"", in_new_session_ticket=True)
    fails(DECODE_ERROR, lambda raw: ext.decode_empty(raw, "server_name extension"), b"\x00")


def test_key_share_group_offered_twice() -> None:
    raw = ext.encode_key_share_client([(X25519, b"a")])[2:] * 2
    fails(ILLEGAL, ext.decode_key_share_client, len(raw).to_bytes(2, "big") + raw, "twice")


def test_record_size_limit_minimum() -> None:
    assert ext.decode_record_size_limit(b"\x00\x40") == 64
    assert ext.decode_record_size_limit(b"\xff\xff") == 0xFFFF
    for value in (0, 1, 63):
        fails(ILLEGAL, ext.decode_record_size_limit, value.to_bytes(2, "big"), str(value))
    with pytest.raises(ValueError):
        ext.encode_record_size_limit(63)


def test_pre_shared_key_syntax() -> None:
    good = ext.encode_pre_shared_key_client([(b"id", 1), (b"id2", 2)], [bytes(32), bytes(48)])
    assert ext.decode_pre_shared_key_client(good)[1] == [bytes(32), bytes(48)]
    identities = good[: 2 + int.from_bytes(good[:2], "big")]
    one_binder = b"\x00\x21\x20" + bytes(32)
    fails(ILLEGAL, ext.decode_pre_shared_key_client, identities + one_binder, "binders")
    # PskBinderEntry<32..255>
    short = b"\x00\x21\x1f" + bytes(31) + b"\x00"
    fails(DECODE_ERROR, ext.decode_pre_shared_key_client, identities + short)
    # identities<7..2^16-1>, PskIdentity.identity<1..2^16-1>
    empty_identity = b"\x00\x07\x00\x00\x00\x00\x00\x00\x00"
    fails(DECODE_ERROR, ext.decode_pre_shared_key_client, empty_identity + one_binder)
    fails(DECODE_ERROR, ext.decode_pre_shared_key_client, b"\x00\x00" + one_binder, "identities")
    assert ext.pre_shared_key_binders_length([bytes(32), bytes(48)]) == 2 + 33 + 49


def test_encoders_reject_what_cannot_be_sent() -> None:
    bad_calls: list[Callable[[], bytes]] = [
        lambda: ext.encode_supported_groups([]),
        lambda: ext.encode_signature_algorithms([]),
        lambda: ext.encode_supported_versions_client([]),
        lambda: ext.encode_supported_versions_client([TLS13] * 128),
        lambda: ext.encode_key_share_client([(X25519, b"")]),
        lambda: ext.encode_key_share_server(X25519, b""),
        lambda: ext.encode_alpn([]),
        lambda: ext.encode_alpn([b""]),
        lambda: ext.encode_alpn([bytes(256)]),
        lambda: ext.encode_cookie(b""),
        lambda: ext.encode_psk_key_exchange_modes([]),
        lambda: ext.encode_psk_key_exchange_modes([256]),
        lambda: ext.encode_record_size_limit(0x10000),
        lambda: ext.encode_certificate_authorities([]),
        lambda: ext.encode_certificate_authorities([b""]),
        lambda: ext.encode_early_data_indication(1 << 32),
        lambda: ext.encode_pre_shared_key_client([], []),
        lambda: ext.encode_pre_shared_key_client([(b"id", 0)], []),
        lambda: ext.encode_pre_shared_key_client([(b"", 0)], [bytes(32)]),
        lambda: ext.encode_pre_shared_key_client([(b"id", 0)], [bytes(31)]),
        lambda: ext.encode_pre_shared_key_server(-1),
        lambda: ext.encode_key_share_hrr(0x10000),
    ]
    for call in bad_calls:
        with pytest.raises(ValueError):
            call()

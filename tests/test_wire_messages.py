"""TLS 1.3 handshake messages and their reassembly (cytls.wire.messages, RFC 8446 §4, §5.1).

Known answers are the messages of the RFC 8448 traces (tests/vectors/
rfc8448_handshake_messages.json, extracted by make_rfc8448_handshake_messages.py), checked
field by field against the trace text and re-serialized byte for byte. Hypothesis then checks
round trips of every message, and that arbitrary, truncated and mutated bodies only ever give
a message that re-serializes to the same bytes or a ProtocolError with an RFC alert.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cytls.errors import ProtocolError
from cytls.wire.codec import Reader, Writer
from cytls.wire.enums import AlertDescription
from cytls.wire.messages import (
    HELLO_RETRY_REQUEST_RANDOM,
    Certificate,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    EndOfEarlyData,
    ExtensionType,
    Finished,
    HandshakeReassembler,
    HandshakeType,
    KeyUpdate,
    NewSessionTicket,
    ServerHello,
    find_extension,
    handshake_message,
    parse_extensions,
    serialize_extensions,
)

VECTORS = json.loads(
    (Path(__file__).parent / "vectors" / "rfc8448_handshake_messages.json").read_text(
        encoding="utf-8"
    )
)
MESSAGES: list[dict[str, Any]] = VECTORS["messages"]
PUBLIC_KEYS: dict[str, dict[str, str]] = VECTORS["x25519_public_keys"]

CLASSES: dict[int, Any] = {
    HandshakeType.client_hello: ClientHello,
    HandshakeType.server_hello: ServerHello,
    HandshakeType.new_session_ticket: NewSessionTicket,
    HandshakeType.end_of_early_data: EndOfEarlyData,
    HandshakeType.encrypted_extensions: EncryptedExtensions,
    HandshakeType.certificate: Certificate,
    HandshakeType.certificate_request: CertificateRequest,
    HandshakeType.certificate_verify: CertificateVerify,
    HandshakeType.finished: Finished,
    HandshakeType.key_update: KeyUpdate,
}
ALL_CLASSES = sorted(CLASSES.values(), key=lambda c: c.msg_type)
RFC_ALERTS = {AlertDescription.decode_error, AlertDescription.illegal_parameter}
FAST = settings(deadline=None, max_examples=100)
FUZZ = settings(deadline=None, max_examples=120, suppress_health_check=[HealthCheck.too_slow])


def vector_id(vector: dict[str, Any]) -> str:
    return f"s{vector['section']}-{vector['side']}-{vector['type']}"


def message(section: str, type_name: str, side: str | None = None, nth: int = 0) -> bytes:
    """The nth message of that type (and side) in the given section of RFC 8448."""
    found = [
        m
        for m in MESSAGES
        if m["section"] == section and m["type"] == type_name and side in (None, m["side"])
    ]
    return bytes.fromhex(found[nth]["message"])


def parse(data: bytes) -> Any:
    """Check the 4-byte header and parse the body with the class of its type."""
    assert int.from_bytes(data[1:4], "big") == len(data) - 4
    return CLASSES[data[0]].parse(data[4:])


def check_outcome(cls: Any, body: bytes) -> None:
    """The fuzzing oracle: a ProtocolError with an RFC alert, or a canonical message.

    The only non-canonical input accepted is a hello without an extension block (RFC 8446
    §4.1.2), which re-serializes with an empty one.
    """
    try:
        parsed = cls.parse(body)
    except ProtocolError as error:
        assert error.alert in RFC_ALERTS, error
        return
    again = parsed.serialize()
    if again != body:
        assert cls in (ClientHello, ServerHello)
        assert parsed.extensions == []
        assert again == body + b"\x00\x00"


# -- known answers: RFC 8448 §3 ----------------------------------------------------------------


def test_vectors_cover_every_message_of_the_traces() -> None:
    assert VECTORS["source_sha256"]
    assert len(MESSAGES) == 40
    assert {m["type"] for m in MESSAGES} == {
        "ClientHello",
        "ServerHello",
        "EncryptedExtensions",
        "Certificate",
        "CertificateRequest",
        "CertificateVerify",
        "Finished",
        "NewSessionTicket",
        "EndOfEarlyData",
    }


def test_rfc8448_client_hello() -> None:
    data = message("3", "ClientHello")
    hello = parse(data)
    assert isinstance(hello, ClientHello)
    assert hello.legacy_version == 0x0303
    assert hello.random == bytes.fromhex(
        "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7"
    )
    assert hello.legacy_session_id == b""
    assert hello.cipher_suites == [0x1301, 0x1303, 0x1302]
    assert hello.legacy_compression_methods == b"\x00"
    assert [t for t, _ in hello.extensions] == [
        ExtensionType.server_name,
        ExtensionType.renegotiation_info,
        ExtensionType.supported_groups,
        ExtensionType.session_ticket,
        ExtensionType.key_share,
        ExtensionType.supported_versions,
        ExtensionType.signature_algorithms,
        ExtensionType.psk_key_exchange_modes,
        ExtensionType.record_size_limit,
    ]
    # The client's x25519 public key, printed by "create an ephemeral x25519 key pair".
    key_share = find_extension(hello.extensions, ExtensionType.key_share)
    assert key_share == b"\x00\x24\x00\x1d\x00\x20" + bytes.fromhex(PUBLIC_KEYS["3"]["client"])
    assert find_extension(hello.extensions, ExtensionType.session_ticket) == b""
    assert find_extension(hello.extensions, ExtensionType.renegotiation_info) == b"\x00"
    assert find_extension(hello.extensions, ExtensionType.early_data) is None
    assert hello.to_message() == data


def test_rfc8448_server_hello() -> None:
    data = message("3", "ServerHello")
    hello = parse(data)
    assert isinstance(hello, ServerHello)
    assert not hello.is_hello_retry_request
    assert hello.random == bytes.fromhex(
        "a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e26928"
    )
    assert hello.cipher_suite == 0x1301
    assert hello.legacy_session_id_echo == b""
    assert hello.legacy_compression_method == 0
    assert hello.extensions == [
        (ExtensionType.key_share, b"\x00\x1d\x00\x20" + bytes.fromhex(PUBLIC_KEYS["3"]["server"])),
        (ExtensionType.supported_versions, b"\x03\x04"),
    ]
    assert hello.to_message() == data


def test_rfc8448_encrypted_extensions() -> None:
    ee = parse(message("3", "EncryptedExtensions"))
    assert [t for t, _ in ee.extensions] == [
        ExtensionType.supported_groups,
        ExtensionType.record_size_limit,
        ExtensionType.server_name,
    ]
    assert find_extension(ee.extensions, ExtensionType.server_name) == b""
    assert find_extension(ee.extensions, ExtensionType.record_size_limit) == b"\x40\x01"


def test_rfc8448_certificate() -> None:
    cert = parse(message("3", "Certificate"))
    assert cert.certificate_request_context == b""
    assert len(cert.entries) == 1
    entry = cert.entries[0]
    assert len(entry.cert_data) == 0x1B0 and entry.extensions == []
    # The trace's certificate: a self-signed "CN=rsa" (RFC 8448 §2).
    parsed = x509.load_der_x509_certificate(entry.cert_data)
    assert parsed.subject.rfc4514_string() == "CN=rsa"
    assert CertificateEntry.parse(entry.serialize()) == entry


def test_rfc8448_certificate_verify() -> None:
    verify = parse(message("3", "CertificateVerify"))
    assert verify.algorithm == 0x0804  # rsa_pss_rsae_sha256
    assert len(verify.signature) == 128  # the 1024-bit RSA key of RFC 8448 §2
    assert verify.signature.startswith(bytes.fromhex("5a747c5d88fa9bd2e55ab085a61015b7"))


@pytest.mark.parametrize("vector", [m for m in MESSAGES if m["type"] == "Finished"], ids=vector_id)
def test_rfc8448_finished(vector: dict[str, Any]) -> None:
    finished = parse(bytes.fromhex(vector["message"]))
    # The value the trace prints when it computes it, apart from the message.
    assert finished.verify_data == bytes.fromhex(vector["computed_verify_data"])
    assert "9b9b" not in repr(finished)


def test_rfc8448_new_session_ticket() -> None:
    ticket = parse(message("3", "NewSessionTicket"))
    assert ticket.ticket_lifetime == 30
    assert ticket.ticket_age_add == 0xFAD6AAC5
    assert ticket.ticket_nonce == b"\x00\x00"
    assert len(ticket.ticket) == 0xB2
    assert ticket.ticket.startswith(bytes.fromhex("2c035d829359ee5ff7af4ec900000000"))
    assert ticket.extensions == [(ExtensionType.early_data, b"\x00\x00\x04\x00")]
    assert ticket.ticket.hex() not in repr(ticket)
    # §4 resumes with this ticket as its PSK identity.
    hello = parse(message("4", "ClientHello"))
    psk = find_extension(hello.extensions, ExtensionType.pre_shared_key)
    assert psk is not None and ticket.ticket in psk


def test_rfc8448_resumption_and_retry_messages() -> None:
    hello = parse(message("4", "ClientHello"))
    assert hello.extensions[-1][0] == ExtensionType.pre_shared_key
    assert find_extension(hello.extensions, ExtensionType.early_data) == b""
    server_hello = parse(message("4", "ServerHello"))
    assert find_extension(server_hello.extensions, ExtensionType.pre_shared_key) == b"\x00\x00"
    assert parse(message("4", "EndOfEarlyData")) == EndOfEarlyData()
    # §5: the server answers the first ClientHello with a HelloRetryRequest.
    retry = parse(message("5", "ServerHello", nth=0))
    assert retry.is_hello_retry_request
    assert retry.random == HELLO_RETRY_REQUEST_RANDOM
    assert find_extension(retry.extensions, ExtensionType.key_share) == b"\x00\x17"
    assert find_extension(retry.extensions, ExtensionType.cookie) is not None
    assert not parse(message("5", "ServerHello", nth=1)).is_hello_retry_request
    # §6: client authentication.
    request = parse(message("6", "CertificateRequest"))
    assert request.certificate_request_context == b""
    assert [t for t, _ in request.extensions] == [ExtensionType.signature_algorithms]
    client_cert = parse(message("6", "Certificate", side="client"))
    assert len(client_cert.entries) == 1
    # §7: middlebox compatibility mode echoes a 32-byte session id.
    hello7 = parse(message("7", "ClientHello"))
    assert len(hello7.legacy_session_id) == 32
    assert parse(message("7", "ServerHello")).legacy_session_id_echo == hello7.legacy_session_id


@pytest.mark.parametrize("vector", MESSAGES, ids=vector_id)
def test_rfc8448_messages_round_trip(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["message"])
    parsed = parse(data)
    assert parsed.msg_type == data[0] == vector["msg_type"]
    assert parsed.serialize() == data[4:]
    assert handshake_message(data[0], parsed.serialize()) == data
    assert type(parsed).parse(parsed.serialize()) == parsed


def test_hello_retry_request_random() -> None:
    assert hashlib.sha256(b"HelloRetryRequest").digest() == HELLO_RETRY_REQUEST_RANDOM


def test_registry_values() -> None:
    assert HandshakeType.message_hash == 254 and HandshakeType.compressed_certificate == 25
    assert ExtensionType.renegotiation_info == 0xFF01 and ExtensionType.key_share == 51


# -- hypothesis round trips --------------------------------------------------------------------

uint16 = st.integers(0, 0xFFFF)
uint32 = st.integers(0, 0xFFFFFFFF)
EXTENSIONS = st.lists(
    st.tuples(uint16, st.binary(max_size=24)), unique_by=lambda e: e[0], max_size=6
)


@st.composite
def hello_extensions(draw: st.DrawFn) -> list[tuple[int, bytes]]:
    """Extensions with pre_shared_key, if any, last (RFC 8446 §4.2.11)."""
    extensions = [e for e in draw(EXTENSIONS) if e[0] != ExtensionType.pre_shared_key]
    if draw(st.booleans()):
        extensions.append((ExtensionType.pre_shared_key, draw(st.binary(max_size=40))))
    return extensions


CLIENT_HELLOS = st.builds(
    ClientHello,
    random=st.binary(min_size=32, max_size=32),
    legacy_session_id=st.binary(max_size=32),
    cipher_suites=st.lists(uint16, min_size=1, max_size=10),
    extensions=hello_extensions(),
    legacy_version=uint16,
    legacy_compression_methods=st.binary(min_size=1, max_size=4),
)
SERVER_HELLOS = st.builds(
    ServerHello,
    random=st.one_of(st.binary(min_size=32, max_size=32), st.just(HELLO_RETRY_REQUEST_RANDOM)),
    legacy_session_id_echo=st.binary(max_size=32),
    cipher_suite=uint16,
    extensions=EXTENSIONS,
    legacy_version=uint16,
    legacy_compression_method=st.integers(0, 255),
)
ENTRIES = st.builds(CertificateEntry, st.binary(min_size=1, max_size=40), EXTENSIONS)
ALL_MESSAGES = st.one_of(
    CLIENT_HELLOS,
    SERVER_HELLOS,
    st.builds(EncryptedExtensions, EXTENSIONS),
    st.builds(
        CertificateRequest,
        st.binary(max_size=255),
        st.lists(st.tuples(uint16, st.binary(max_size=8)), min_size=1, unique_by=lambda e: e[0]),
    ),
    st.builds(Certificate, st.binary(max_size=20), st.lists(ENTRIES, max_size=4)),
    st.builds(CertificateVerify, uint16, st.binary(max_size=300)),
    st.builds(Finished, st.binary(min_size=1, max_size=64)),
    st.builds(
        NewSessionTicket,
        uint32,
        uint32,
        st.binary(max_size=255),
        st.binary(min_size=1, max_size=60),
        EXTENSIONS,
    ),
    st.builds(KeyUpdate, st.integers(0, 1)),
    st.builds(EndOfEarlyData),
)


@FAST
@given(ALL_MESSAGES)
def test_every_message_round_trips(msg: Any) -> None:
    body = msg.serialize()
    assert type(msg).parse(body) == msg
    whole = msg.to_message()
    assert whole == handshake_message(msg.msg_type, body)
    assert whole[0] == msg.msg_type and int.from_bytes(whole[1:4], "big") == len(body)


@FAST
@given(EXTENSIONS)
def test_extension_blocks_round_trip(extensions: list[tuple[int, bytes]]) -> None:
    w = Writer()
    serialize_extensions(w, extensions)
    r = Reader(w.getvalue())
    assert parse_extensions(r) == extensions
    r.finish()
    for ext_type, data in extensions:
        assert find_extension(extensions, ext_type) == data


# -- malformed input ---------------------------------------------------------------------------


@pytest.mark.parametrize("vector", MESSAGES, ids=vector_id)
def test_truncated_and_flipped_rfc8448_messages(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["message"])
    cls, body = CLASSES[data[0]], data[4:]
    for cut in range(len(body)):
        check_outcome(cls, body[:cut])
    for pos in range(len(body)):
        for flip in (0x01, 0x80, 0xFF):
            mutated = bytearray(body)
            mutated[pos] ^= flip
            check_outcome(cls, bytes(mutated))
    # One byte more is trailing garbage (Finished is the whole body: nothing can trail it).
    if cls is not Finished:
        with pytest.raises(ProtocolError) as excinfo:
            cls.parse(body + b"\x00")
        assert excinfo.value.alert == AlertDescription.decode_error


@FUZZ
@given(st.sampled_from(ALL_CLASSES), st.binary(max_size=200))
def test_arbitrary_bodies(cls: Any, body: bytes) -> None:
    check_outcome(cls, body)


@FUZZ
@given(ALL_MESSAGES, st.data())
def test_mutated_bodies(msg: Any, data: st.DataObject) -> None:
    body = bytearray(msg.serialize())
    for _ in range(data.draw(st.integers(1, 3))):
        action = data.draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
        pos = data.draw(st.integers(0, len(body)))
        if action == "replace" and pos < len(body):
            body[pos] = data.draw(st.integers(0, 255))
        elif action == "insert":
            body[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
        elif action == "delete":
            del body[pos : pos + data.draw(st.integers(1, 4))]
        else:
            del body[pos:]
    check_outcome(type(msg), bytes(body))


def expect(alert: AlertDescription, cls: Any, body: bytes, *words: str) -> None:
    with pytest.raises(ProtocolError) as excinfo:
        cls.parse(body)
    assert excinfo.value.alert == alert
    for word in words:
        assert word in str(excinfo.value)


def client_hello_body(**changes: Any) -> bytes:
    fields: dict[str, Any] = {
        "random": bytes(32),
        "legacy_session_id": b"",
        "cipher_suites": [0x1301],
        "extensions": [(ExtensionType.supported_versions, b"\x02\x03\x04")],
    }
    fields.update(changes)
    return ClientHello(**fields).serialize()


def ext_block(*extensions: tuple[int, bytes]) -> bytes:
    """An extension block written by hand, duplicates allowed."""
    body = b"".join(t.to_bytes(2, "big") + len(d).to_bytes(2, "big") + d for t, d in extensions)
    return len(body).to_bytes(2, "big") + body


def test_duplicate_extension_is_illegal_parameter() -> None:
    items = [(10, b"a"), (0, b""), (10, b"b")]
    block = ext_block(*items)
    expect(AlertDescription.illegal_parameter, EncryptedExtensions, block, "supported_groups")
    with pytest.raises(ValueError):
        EncryptedExtensions(items).serialize()
    body = client_hello_body(extensions=[])[:-2] + block
    expect(AlertDescription.illegal_parameter, ClientHello, body, "ClientHello", "more than once")
    # A truncated block is a decode_error, whatever it holds.
    expect(AlertDescription.decode_error, EncryptedExtensions, block[:-1])


def test_pre_shared_key_must_be_last_in_client_hello() -> None:
    psk, other = (ExtensionType.pre_shared_key, b"x"), (ExtensionType.early_data, b"")
    ClientHello.parse(client_hello_body(extensions=[other, psk]))
    expect(
        AlertDescription.illegal_parameter,
        ClientHello,
        client_hello_body(extensions=[psk, other]),
        "pre_shared_key",
    )
    # Anywhere in a ServerHello (RFC 8446 §4.2).
    server = ServerHello(bytes(32), b"", 0x1301, [(ExtensionType.pre_shared_key, b"\0\0"), other])
    assert ServerHello.parse(server.serialize()) == server


def test_client_hello_syntax() -> None:
    good = client_hello_body()
    assert ClientHello.parse(good).cipher_suites == [0x1301]
    # legacy_session_id<0..32>
    long_id = good[:34] + b"\x21" + bytes(33) + good[35:]
    expect(AlertDescription.decode_error, ClientHello, long_id, "legacy_session_id", "0..32")
    # cipher_suites<2..2^16-2>, an even number of bytes
    empty = good[:35] + b"\x00\x00" + good[39:]
    expect(AlertDescription.decode_error, ClientHello, empty, "cipher_suites")
    odd = good[:35] + b"\x00\x03\x13\x01\x13" + good[39:]
    expect(AlertDescription.decode_error, ClientHello, odd, "odd number")
    # legacy_compression_methods<1..2^8-1>
    no_compression = good[:39] + b"\x00" + good[41:]
    expect(AlertDescription.decode_error, ClientHello, no_compression, "compression")


def test_hellos_without_extensions_are_tls12_hellos() -> None:
    """RFC 8446 §4.1.2: no bytes after the compression methods means no extensions."""
    body = client_hello_body(extensions=[])
    assert body.endswith(b"\x00\x00")
    assert ClientHello.parse(body[:-2]).extensions == []
    assert ClientHello.parse(body).extensions == []
    server = ServerHello(bytes(32), b"", 0x002F, []).serialize()
    assert ServerHello.parse(server[:-2]).extensions == []
    # A lone byte where the block length would be is still a decode_error.
    expect(AlertDescription.decode_error, ClientHello, body[:-1], "truncated")


def test_server_hello_keeps_what_the_state_machine_checks() -> None:
    hello = ServerHello(
        bytes(32), b"", 0x1301, [], legacy_version=0x0301, legacy_compression_method=7
    )
    assert ServerHello.parse(hello.serialize()) == hello
    # Errors in a HelloRetryRequest say so.
    raw = bytes(2) + HELLO_RETRY_REQUEST_RANDOM + b"\x21" + bytes(33) + b"\x13\x01\x00\x00\x00"
    expect(AlertDescription.decode_error, ServerHello, raw, "HelloRetryRequest")


def test_certificate_syntax() -> None:
    expect(AlertDescription.decode_error, Certificate, b"\x00\x00\x00\x05\x00\x00\x00\x00\x00")
    expect(AlertDescription.decode_error, CertificateEntry, b"\x00\x00\x00\x00\x00", "cert_data")
    empty = Certificate(b"", [])
    assert Certificate.parse(empty.serialize()) == empty
    with pytest.raises(ValueError):
        Certificate(b"", [CertificateEntry(b"", [])]).serialize()
    entry = b"\x00\x00\x01x" + ext_block((5, b""), (5, b""))
    dup = b"\x00" + len(entry).to_bytes(3, "big") + entry
    expect(AlertDescription.illegal_parameter, Certificate, dup, "status_request")


def test_certificate_request_needs_extensions() -> None:
    expect(AlertDescription.decode_error, CertificateRequest, b"\x00\x00\x00", "extensions")
    assert CertificateRequest.parse(b"\x01c\x00\x04\x00\x0d\x00\x00").extensions == [(13, b"")]


def test_new_session_ticket_syntax() -> None:
    expect(AlertDescription.decode_error, NewSessionTicket, bytes(9) + b"\x00\x00\x00\x00")
    with pytest.raises(ValueError):
        NewSessionTicket(0, 0, b"", b"", []).serialize()
    # extensions<0..2^16-2>
    big = NewSessionTicket(0, 0, b"", b"t", [(1, bytes(0xFFFF - 4))]).serialize()
    expect(AlertDescription.decode_error, NewSessionTicket, big, "0..65534")


def test_key_update_values() -> None:
    assert KeyUpdate.parse(b"\x00") == KeyUpdate(0)
    assert KeyUpdate.parse(b"\x01") == KeyUpdate(1)
    for value in (2, 0x80, 0xFF):
        expect(AlertDescription.illegal_parameter, KeyUpdate, bytes([value]), str(value))
    expect(AlertDescription.decode_error, KeyUpdate, b"")
    expect(AlertDescription.decode_error, KeyUpdate, b"\x00\x00")
    with pytest.raises(ValueError):
        KeyUpdate(2).serialize()


def test_small_messages() -> None:
    expect(AlertDescription.decode_error, EndOfEarlyData, b"\x00", "trailing")
    expect(AlertDescription.decode_error, Finished, b"", "empty")
    expect(AlertDescription.decode_error, CertificateVerify, b"\x08\x04\x00\x02\x00")
    assert CertificateVerify.parse(b"\x08\x04\x00\x00") == CertificateVerify(0x0804, b"")


def test_local_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        ClientHello(bytes(31), b"", [0x1301], []).serialize()
    with pytest.raises(ValueError):
        ClientHello(bytes(32), bytes(33), [0x1301], []).serialize()
    with pytest.raises(ValueError):
        ClientHello(bytes(32), b"", [], []).serialize()
    with pytest.raises(ValueError):
        ClientHello(bytes(32), b"", [1], [], legacy_compression_methods=b"").serialize()
    with pytest.raises(ValueError):
        handshake_message(256, b"")
    with pytest.raises(ValueError):
        handshake_message(1, bytes(1 << 24))


# -- reassembly --------------------------------------------------------------------------------

STREAM_MESSAGES = [bytes.fromhex(m["message"]) for m in MESSAGES]
STREAM = b"".join(STREAM_MESSAGES)
BOUNDARIES = {0}
for _m in STREAM_MESSAGES:
    BOUNDARIES.add(max(BOUNDARIES) + len(_m))


def drain(reassembler: HandshakeReassembler) -> list[tuple[int, bytes, bytes]]:
    out = []
    while (item := reassembler.next_message()) is not None:
        out.append(item)
    return out


def expected_items(messages: list[bytes]) -> list[tuple[int, bytes, bytes]]:
    return [(m[0], m[4:], m) for m in messages]


@FAST
@given(st.lists(st.integers(1, 700), max_size=40))
def test_reassembler_any_chunking(sizes: list[int]) -> None:
    reassembler = HandshakeReassembler()
    got: list[tuple[int, bytes, bytes]] = []
    pos = 0
    for size in [*sizes, len(STREAM)]:
        chunk = STREAM[pos : pos + size]
        pos += len(chunk)
        reassembler.feed(chunk)
        assert reassembler.has_partial() == (pos not in BOUNDARIES)
        got.extend(drain(reassembler))
        assert reassembler.buffered() == pos - sum(len(m) for _, _, m in got)
        if pos == len(STREAM):
            break
    assert got == expected_items(STREAM_MESSAGES)
    assert not reassembler.has_partial() and reassembler.buffered() == 0


def test_reassembler_one_byte_at_a_time_and_collect_late() -> None:
    messages = [handshake_message(20, bytes([i % 256]) * (i % 300)) for i in range(400)]
    reassembler = HandshakeReassembler()
    stream = b"".join(messages)
    for i in range(len(stream)):
        reassembler.feed(stream[i : i + 1])
    assert reassembler.buffered() == len(stream) and not reassembler.has_partial()
    # Collected after everything was buffered: exercises the prefix compaction.
    got = []
    for _ in range(150):
        got.append(reassembler.next_message())
    reassembler.feed(memoryview(messages[0]))
    got.extend(drain(reassembler))
    assert got == expected_items([*messages, messages[0]])


def test_reassembler_zero_length_messages() -> None:
    reassembler = HandshakeReassembler()
    reassembler.feed(b"\x05\x00\x00\x00\x05\x00")
    assert reassembler.has_partial()
    assert reassembler.next_message() == (5, b"", b"\x05\x00\x00\x00")
    assert reassembler.next_message() is None
    reassembler.feed(b"")
    assert reassembler.has_partial() and reassembler.buffered() == 2
    reassembler.feed(b"\x00\x00")
    assert not reassembler.has_partial()
    assert drain(reassembler) == [(5, b"", b"\x05\x00\x00\x00")]


def test_reassembler_rejects_an_oversized_header_before_its_body() -> None:
    reassembler = HandshakeReassembler(max_message_size=100)
    reassembler.feed(handshake_message(11, bytes(100)))  # exactly the limit is fine
    reassembler.feed(b"\x0b\x00")
    reassembler.feed(b"\x00")  # three header bytes: nothing to judge yet
    with pytest.raises(ProtocolError) as excinfo:
        reassembler.feed(b"\x65")  # 101
    assert excinfo.value.alert == AlertDescription.decode_error
    assert "101" in str(excinfo.value) and "100" in str(excinfo.value)
    assert reassembler.buffered() == 0
    # The error is sticky.
    with pytest.raises(ProtocolError):
        reassembler.next_message()
    with pytest.raises(ProtocolError):
        reassembler.feed(b"\x00")


def test_reassembler_default_limit() -> None:
    reassembler = HandshakeReassembler()
    with pytest.raises(ProtocolError) as excinfo:
        reassembler.feed(b"\x01\xff\xff\xff")
    assert excinfo.value.alert == AlertDescription.decode_error
    reassembler = HandshakeReassembler()
    reassembler.feed(b"\x0b\x01\x00\x00")  # 65536: allowed, and waiting for its body
    assert reassembler.has_partial() and reassembler.next_message() is None
    with pytest.raises(ValueError):
        HandshakeReassembler(1 << 24)


def test_reassembler_checks_every_header_in_a_chunk() -> None:
    reassembler = HandshakeReassembler(max_message_size=10)
    with pytest.raises(ProtocolError):
        reassembler.feed(b"\x14\x00\x00\x01x" + b"\x14\x00\x00\x0b")

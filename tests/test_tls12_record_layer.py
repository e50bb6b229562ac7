"""The record layer's TLS 1.2 AEAD protection (RFC 5246 §6.2.3.3, RFC 5288, RFC 7905): its
records checked against a reference written here from the RFCs with ``cryptography``'s AEADs,
delivery in arbitrary pieces, and every malformed record's alert.

tests/test_tls12_records.py checks the same protection against OpenSSL.
"""

from __future__ import annotations

import hashlib
import random

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from hypothesis import given, settings
from hypothesis import strategies as st
from recordutil import ALERT, APPDATA, CCS, HANDSHAKE, drain, plain_record

from cytls._record import RecordLayer
from cytls.errors import ProtocolError
from cytls.registry import SUITES, ProtocolVersion
from cytls.wire.enums import AlertDescription

TLS12 = sorted(code for code, suite in SUITES.items() if suite.version == ProtocolVersion.TLSv1_2)


def keys(suite: int) -> tuple[bytes, bytes]:
    """A key and the implicit IV (AES-GCM: the 4-byte salt; ChaCha20-Poly1305: 12 bytes)."""
    material = hashlib.sha512(f"tls12-{suite:#06x}".encode()).digest()
    gcm = SUITES[suite].aead is AESGCM
    return material[: SUITES[suite].key_length], material[40 : 44 if gcm else 52]


def reference_open(suite: int, seq: int, record: bytes) -> tuple[int, bytes]:
    """Open one TLS 1.2 AEAD record as the RFCs describe it, without cytls."""
    key, iv = keys(suite)
    content_type, version, body = record[0], record[1:3], record[5:]
    if SUITES[suite].aead is AESGCM:
        nonce, body = iv + body[:8], body[8:]  # salt || nonce_explicit (RFC 5288 §3)
        aead: AESGCM | ChaCha20Poly1305 = AESGCM(key)
    else:  # iv XOR the padded sequence number (RFC 7905 §2)
        nonce = bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big"), strict=True))
        aead = ChaCha20Poly1305(key)
    length = len(body) - 16
    aad = seq.to_bytes(8, "big") + bytes((content_type,)) + version + length.to_bytes(2, "big")
    return content_type, aead.decrypt(nonce, body, aad)


def reference_seal(suite: int, seq: int, content_type: int, data: bytes) -> bytes:
    key, iv = keys(suite)
    aad = seq.to_bytes(8, "big") + bytes((content_type, 3, 3)) + len(data).to_bytes(2, "big")
    if SUITES[suite].aead is AESGCM:
        explicit = random.randbytes(8)  # the peer may choose any distinct value
        body = explicit + AESGCM(key).encrypt(iv + explicit, data, aad)
    else:
        nonce = bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big"), strict=True))
        body = ChaCha20Poly1305(key).encrypt(nonce, data, aad)
    return bytes((content_type, 3, 3)) + len(body).to_bytes(2, "big") + body


def writer(suite: int) -> RecordLayer:
    layer = RecordLayer()
    layer.set_write_key(suite, *keys(suite))
    return layer


def reader(suite: int) -> RecordLayer:
    layer = RecordLayer()
    layer.set_read_key(suite, *keys(suite))
    return layer


def split(stream: bytes) -> list[bytes]:
    out = []
    while stream:
        end = 5 + int.from_bytes(stream[3:5], "big")
        out.append(stream[:end])
        stream = stream[end:]
    return out


messages = st.lists(
    st.tuples(st.sampled_from([HANDSHAKE, ALERT, APPDATA]), st.integers(0, 40000)),
    min_size=1,
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(suite=st.sampled_from(TLS12), writes=messages, cuts=st.lists(st.integers(1, 50000)))
def test_records_are_what_the_rfcs_describe(
    suite: int, writes: list[tuple[int, int]], cuts: list[int]
) -> None:
    """Each record cytls seals opens with the reference under its sequence number, carrying its
    real content type and no more than 2^14 bytes; and cytls's reader, fed the stream in
    arbitrary pieces, gets every byte back in order."""
    layer = writer(suite)
    sent: list[tuple[int, bytes]] = []
    for content_type, size in writes:
        if content_type != APPDATA:
            size = max(size, 1)  # handshake and alert records cannot be empty (§6.2.1)
        data = random.randbytes(size)
        layer.write(content_type, data)
        sent.append((content_type, data))
    stream = layer.data_to_send()
    opened = [reference_open(suite, seq, record) for seq, record in enumerate(split(stream))]
    assert all(len(data) <= 2**14 for _, data in opened)
    for content_type, data in sent:  # the records of each write, in order
        got = b""
        while len(got) < len(data) or (not data and not got):
            kind, fragment = opened.pop(0)
            assert kind == content_type
            got += fragment
            if not data:
                break
        assert got == data
    assert opened == []

    receiver = reader(suite)
    received: dict[int, bytes] = {HANDSHAKE: b"", ALERT: b"", APPDATA: b""}
    position = 0
    for cut in [*sorted(set(cuts)), len(stream)]:
        if cut <= position:
            continue
        receiver.receive_data(stream[position:cut])
        position = cut
        for content_type, fragment in drain(receiver):
            received[content_type] += fragment
        received[APPDATA] += receiver.read()
    for content_type in received:
        assert received[content_type] == b"".join(d for t, d in sent if t == content_type)


@pytest.mark.parametrize("suite", TLS12)
def test_records_the_reference_sealed_open(suite: int) -> None:
    layer = reader(suite)
    stream = reference_seal(suite, 0, HANDSHAKE, b"\x14\x00\x00\x0c" + bytes(12))
    stream += reference_seal(suite, 1, APPDATA, b"application data")
    stream += reference_seal(suite, 2, APPDATA, b"")
    layer.receive_data(stream)
    assert drain(layer) == [(HANDSHAKE, b"\x14\x00\x00\x0c" + bytes(12))]
    assert layer.read() == b"application data"
    assert layer.read_sequence_number == 3


def failure(layer: RecordLayer, data: bytes) -> AlertDescription:
    with pytest.raises(ProtocolError) as info:
        layer.receive_data(data)
        drain(layer)
    return AlertDescription(info.value.alert)


@pytest.mark.parametrize("suite", TLS12)
def test_malformed_records_get_their_alerts(suite: int) -> None:
    explicit = SUITES[suite].explicit_nonce_length
    good = reference_seal(suite, 0, APPDATA, b"data")
    # Shorter than its explicit nonce and tag: bad_record_mac (RFC 5246 §6.2.3.3).
    short = bytes((APPDATA, 3, 3, 0, explicit + 15)) + bytes(explicit + 15)
    assert failure(reader(suite), short) == AlertDescription.bad_record_mac
    # Any byte changed, the header included (it is in the AAD): bad_record_mac.
    for index, flip in ((0, 2), (5, 1), (len(good) - 1, 1)):  # 2: type 23 -> 21
        tampered = bytearray(good)
        tampered[index] ^= flip
        assert failure(reader(suite), bytes(tampered)) == AlertDescription.bad_record_mac
    # Another version in the header: protocol_version (RFC 5246 §6.2.1), before any AEAD work.
    assert failure(reader(suite), good[:2] + b"\x02" + good[3:]) == (
        AlertDescription.protocol_version
    )
    # Under the wrong sequence number: bad_record_mac.
    assert failure(reader(suite), reference_seal(suite, 1, APPDATA, b"x")) == (
        AlertDescription.bad_record_mac
    )
    # More plaintext than the limit: record_overflow (RFC 5246 §6.2.1).
    layer = reader(suite)
    layer.read_limit = 100
    assert failure(layer, reference_seal(suite, 0, APPDATA, bytes(101))) == (
        AlertDescription.record_overflow
    )
    # Ciphertext longer than 2^14 + 256 is refused from its header alone.
    header = bytes((APPDATA, 3, 3)) + (2**14 + 257).to_bytes(2, "big")
    assert failure(reader(suite), header) == AlertDescription.record_overflow
    # A second change_cipher_spec once the keys changed: unexpected_message (§7.1).
    assert failure(reader(suite), plain_record(CCS, b"\x01")) == (
        AlertDescription.unexpected_message
    )
    # An unprotected handshake record after the keys changed cannot authenticate.
    assert failure(reader(suite), plain_record(HANDSHAKE, b"\x14\x00\x00\x00")) == (
        AlertDescription.bad_record_mac
    )
    # An empty handshake record, correctly sealed: unexpected_message (§6.2.1).
    assert failure(reader(suite), reference_seal(suite, 0, HANDSHAKE, b"")) == (
        AlertDescription.unexpected_message
    )


@pytest.mark.parametrize("suite", TLS12)
def test_writing(suite: int) -> None:
    layer = writer(suite)
    with pytest.raises(ValueError, match="change_cipher_spec"):
        layer.write(CCS, b"\x01")  # sent before the key, never under it (§7.1)
    asked = []
    layer.padding_policy = lambda content_type, length: asked.append(length) or 100
    layer.write(APPDATA, b"no padding in TLS 1.2")
    assert asked == []
    [record] = split(layer.data_to_send())
    assert reference_open(suite, 0, record) == (APPDATA, b"no padding in TLS 1.2")
    key, iv = keys(suite)
    assert key.hex() not in repr(layer) and iv.hex() not in repr(layer)


@pytest.mark.parametrize("suite", TLS12)
def test_key_and_iv_lengths_are_checked(suite: int) -> None:
    key, iv = keys(suite)
    layer = RecordLayer()
    with pytest.raises(ValueError, match="IV"):
        layer.set_write_key(suite, key, iv + b"\x00")
    with pytest.raises(ValueError, match="key"):
        layer.set_read_key(suite, key[:-1], iv)

#!/usr/bin/env python3
"""Fuzz the record layer's input side: ``RecordLayer.receive_data``, ``next_record`` and
``read`` in every key state.

Input: byte 0 picks the state (``STATES``: no key; a read key of each of the three TLS 1.3
suites; handshake keys, where application data is refused; plaintext alerts allowed; a server
skipping rejected 0-RTT within a budget; no key, then a read key installed after the first
record as a ServerHello would; a TLS 1.2 AES-GCM and ChaCha20-Poly1305 read key; no key, then a
TLS 1.2 key installed after the first record as change_cipher_spec would). Byte 1's low
nibble is how many cut points follow, each a uint16 taken modulo the stream's length; the rest
is the stream, fed in the chunks the cuts make. Keys are fixed, so the corpus
(``make_corpus.py``) holds records sealed by a writer RecordLayer under the same keys and the
fuzzer starts past the tag.

Oracle: a ProtocolError with a record-layer alert, after which the layer stays failed;
returned records obey RFC 8446 §5 (RFC 5246 §6.2 for TLS 1.2); anything else propagates.

    python tests/fuzz/fuzz_record.py [libFuzzer flags] [corpus dirs]
"""

from __future__ import annotations

import hashlib
import itertools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _fuzzutil

with _fuzzutil.instrumented(__name__):
    from cytls._record import RecordLayer
    from cytls.errors import ProtocolError
    from cytls.registry import SUITES
    from cytls.wire.enums import AlertDescription

ALLOWED = {
    AlertDescription.unexpected_message,
    AlertDescription.bad_record_mac,
    AlertDescription.record_overflow,
    AlertDescription.decode_error,
    AlertDescription.protocol_version,  # a TLS 1.2 record with another version
}
# (suite or None, allow_application_data, allow_plaintext_alerts, skip_early_data budget or
# None, suite installed after the first record or None)
STATES: list[tuple[int | None, bool, bool, int | None, int | None]] = [
    (None, True, False, None, None),
    (0x1301, True, False, None, None),
    (0x1302, True, False, None, None),
    (0x1303, True, False, None, None),
    (0x1302, False, False, None, None),
    (0x1303, True, True, None, None),
    (0x1301, False, True, 512, None),
    (None, True, False, None, 0x1303),
    (0xC02C, True, False, None, None),
    (0xCCA9, True, False, None, None),
    (None, True, False, None, 0xC02B),
]


def keys(suite: int) -> tuple[bytes, bytes]:
    """The fixed (key, iv) of ``suite``."""
    material = hashlib.sha512(f"cytls-fuzz-{suite:#06x}".encode()).digest()
    return material[: SUITES[suite].key_length], material[
        32 : 32 + SUITES[suite].implicit_iv_length
    ]


def reader(state: int) -> RecordLayer:
    suite, allow_app, alerts, budget, _ = STATES[state]
    layer = RecordLayer()
    if suite is not None:
        layer.set_read_key(suite, *keys(suite), allow_application_data=allow_app)
    layer.allow_plaintext_alerts = alerts
    if budget is not None:
        layer.skip_early_data(budget)
    return layer


def writer(suite: int | None) -> RecordLayer:
    """A layer that seals what ``reader`` opens (for the corpus)."""
    layer = RecordLayer()
    if suite is not None:
        layer.set_write_key(suite, *keys(suite))
    return layer


def chunks(data: bytes) -> tuple[int, list[bytes]]:
    state = data[0] % len(STATES)
    count = data[1] & 0x0F if len(data) > 1 else 0
    stream = data[2 + 2 * count :]
    cuts = {
        int.from_bytes(data[2 + 2 * i : 4 + 2 * i], "big") % (len(stream) + 1) for i in range(count)
    }
    points = sorted(cuts | {0, len(stream)})
    return state, [stream[a:b] for a, b in itertools.pairwise(points) if b > a]


def check_record(record: object) -> None:
    assert isinstance(record, tuple) and len(record) == 2
    content_type, body = record
    assert isinstance(body, bytes)
    assert content_type in (20, 21, 22), content_type
    if content_type == 20:
        assert body == b"\x01"
    else:
        assert 1 <= len(body) <= 2**14


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    state, pieces = chunks(data)
    layer = reader(state)
    switch = STATES[state][4]
    try:
        for piece in pieces:
            layer.receive_data(piece)
            while (record := layer.next_record()) is not None:
                check_record(record)
                if switch is not None:
                    layer.set_read_key(switch, *keys(switch))
                    switch = None
            layer.read(len(piece) & 0xFF or -1)
            layer.read()
            assert layer.pending() == 0
    except ProtocolError as exc:
        assert exc.alert in ALLOWED, f"alert {exc.alert.name}: {exc}"
        assert getattr(layer.error, "alert", None) == exc.alert
        try:
            layer.next_record()
        except ProtocolError:
            pass
        else:
            raise AssertionError("the failed layer returned a record") from None


if __name__ == "__main__":
    _fuzzutil.main(TestOneInput)

"""Memory-safety regressions of the record layer (issue 11), one test per class of mistake.

``_record.pyx`` is compiled with ``boundscheck=False``, ``wraparound=False`` and
``initializedcheck=False``, and Cython does no None check on typed attributes, so each of these
mistakes was silent: the suite passed on the CPython build it had always run on, while
Debian's ``python3``, 3.12 and 3.13 crashed. The crashing cases run in a child process, so a
crash is reported as this test failing (with the child's signal) instead of taking pytest down;
the sanitizer build (``.ci/sanitize``) runs them too, where UBSan reports the bad access even on
builds that happen not to crash.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from typing import ClassVar

import pytest
from handshakeutil import credentials
from recordutil import SUITES, make_keys

from cytls import _record
from cytls._record import RecordLayer
from cytls.wire.enums import AlertDescription

CHILD_TIMEOUT = 60


def run_child(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (this one), failing with its signal if it crashed."""
    child = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    assert child.returncode == 0, (
        f"child exited with {child.returncode} (negative: killed by that signal)\n"
        f"stdout:\n{child.stdout}\nstderr:\n{child.stderr}"
    )
    return child


# --- a key state read while the direction has no key --------------------------------------------
#
# RecordLayer._emit read ``state.aad`` from ``_write_state`` while it was None (only unprotected
# records staged): every client's first data_to_send(), the ClientHello, went through it.


def test_unprotected_output_in_a_fresh_interpreter() -> None:
    """The reproducer of issue 11, exactly as reported."""
    child = run_child(
        """
        from cytls import _record
        r = _record.RecordLayer(); r.write(_record.HANDSHAKE, b"\\x01\\x00\\x00\\x00")
        print(r.data_to_send().hex())
        """
    )
    assert child.stdout.split() == ["160303000401000000"]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (_record.HANDSHAKE, b"\x01\x00\x00\x00"),
        (_record.ALERT, b"\x02\x32"),
        (_record.CHANGE_CIPHER_SPEC, b"\x01"),
    ],
    ids=["handshake", "alert", "change_cipher_spec"],
)
def test_unprotected_output_of_every_content_type(content_type: int, body: bytes) -> None:
    layer = RecordLayer()
    layer.write(content_type, body)
    assert layer.data_to_send() == bytes([content_type, 3, 3, 0, len(body)]) + body
    assert layer.write_protected is False


@pytest.mark.parametrize("suite", SUITES)
def test_unprotected_output_after_the_write_key_is_cleared(suite: int) -> None:
    """A client's second ClientHello after 0-RTT: protected records, then unprotected again.

    The protected record is sealed when the key goes, the later ones stay plain, and the
    unprotected state behind the cleared key is never used to seal."""
    keys = make_keys(suite)
    layer = RecordLayer()
    layer.set_write_key(suite, keys.key, keys.iv)
    layer.write(_record.APPLICATION_DATA, b"early")
    layer.clear_write_key()
    layer.write(_record.HANDSHAKE, b"\x01\x00\x00\x00")
    out = layer.data_to_send()
    sealed = 5 + len(b"early") + 1 + 16
    assert out[:3] == b"\x17\x03\x03"
    assert out[sealed:] == b"\x16\x03\x03\x00\x04\x01\x00\x00\x00"
    reader = RecordLayer()
    reader.set_read_key(suite, keys.key, keys.iv)
    reader.receive_data(out[:sealed])
    assert reader.read() == b"early"
    assert (layer.write_protected, layer.write_sequence_number) == (False, 0)


def test_sequence_numbers_of_an_unprotected_direction() -> None:
    layer = RecordLayer()
    assert (layer.read_sequence_number, layer.write_sequence_number) == (0, 0)
    with pytest.raises(ValueError, match="no key is set"):
        layer._set_sequence_numbers(write=5)
    with pytest.raises(ValueError, match="no key is set"):
        layer._set_sequence_numbers(read=5)
    # The shared unprotected state was not touched: a new layer still starts at 0.
    assert RecordLayer().write_sequence_number == 0


NINE_BYTES = bytes.fromhex("160301000401000000")  # a ClientHello record of an empty ClientHello

SERVER = """
    import socket, sys
    import cytls

    context = cytls.TLSContext(cytls.PROTOCOL_TLS_SERVER)
    context.load_cert_chain({certfile!r}, {keyfile!r})
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout({timeout})
        print(listener.getsockname()[1], flush=True)
        sock, _ = listener.accept()
        sock.settimeout({timeout})
        try:
            context.wrap_socket(sock, server_side=True)
        except cytls.SSLError as exc:
            print("refused:", type(exc).__name__, exc.reason, flush=True)
        else:
            sys.exit("the handshake succeeded")
"""


def test_nine_bytes_do_not_crash_a_wrap_socket_server() -> None:
    """The nine bytes of issue 11 killed a wrap_socket server (exit 139) while it answered them
    with its unprotected decode_error alert."""
    creds = credentials()
    code = SERVER.format(certfile=str(creds.certfile), keyfile=str(creds.keyfile), timeout=30)
    server = subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
            client.sendall(NINE_BYTES)
            reply = b""
            while len(reply) < 7:
                chunk = client.recv(7 - len(reply))
                if not chunk:
                    break
                reply += chunk
        out, err = server.communicate(timeout=CHILD_TIMEOUT)
    finally:
        server.kill()
        server.wait()
    assert server.returncode == 0, f"server exited with {server.returncode}\n{err}"
    # A fatal decode_error alert, unprotected (RFC 8446 §6): the ClientHello body is empty.
    assert reply == bytes([21, 3, 3, 0, 2, 2, AlertDescription.decode_error])
    assert out.startswith("refused: ProtocolError DECODE_ERROR")


# --- a buffer window used after the memory behind it moved on -----------------------------------
#
# The AEAD calls read and write record-layer memory through a reusable buffer-protocol object.
# It stayed pointed at the last span after the call, so a window that escaped could read or
# write memory the layer had since freed or reused. An export now unpoints it when released.


class _KeepingAEAD:
    """An AEAD that keeps the buffer objects it is handed (what any Python code could do)."""

    kept: ClassVar[list[object]] = []

    def __init__(self, key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(key)

    def encrypt_into(self, nonce: bytes, data: object, aad: object, buf: object) -> int:
        self.kept.extend((data, buf))
        result: int = self._aead.encrypt_into(nonce, data, aad, buf)
        return result

    def decrypt_into(self, nonce: bytes, data: object, aad: object, buf: object) -> int:
        self.kept.extend((data, buf))
        result: int = self._aead.decrypt_into(nonce, data, aad, buf)
        return result


def test_a_window_that_escaped_cannot_reach_record_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    suite = _record.TLS_AES_128_GCM_SHA256
    monkeypatch.setitem(_record._SUITES, suite, (_KeepingAEAD, 16, 12, 0))  # type: ignore[attr-defined]
    monkeypatch.setattr(_KeepingAEAD, "kept", [])
    keys = make_keys(suite)
    writer, reader = RecordLayer(), RecordLayer()
    writer.set_write_key(suite, keys.key, keys.iv)
    reader.set_read_key(suite, keys.key, keys.iv)
    writer.write(_record.APPLICATION_DATA, b"secret" * 1000)
    reader.receive_data(writer.data_to_send())
    assert reader.read() == b"secret" * 1000
    windows = _KeepingAEAD.kept
    assert len(windows) == 4
    del writer, reader  # the memory the windows last pointed at is freed
    for window in windows:
        with pytest.raises(BufferError, match="not pointed at any memory"):
            memoryview(window)  # type: ignore[call-overload]


def test_a_window_made_from_python_exports_nothing() -> None:
    with pytest.raises(BufferError, match="not pointed at any memory"):
        memoryview(_record._Window())  # type: ignore[attr-defined]


# --- pointer arithmetic on a buffer that does not exist -----------------------------------------
#
# A server skipping rejected 0-RTT data tries each record with its handshake key. An empty
# application_data record there reserved 0 bytes of the (unallocated) plaintext buffer and
# computed NULL + 0 as the output pointer before the AEAD refused the record: undefined
# behaviour that UBSan reports (found by fuzz_record in the sanitizer build). A record shorter
# than a tag is now refused before any buffer is touched.


@pytest.mark.parametrize("length", [0, 1, 15])
@pytest.mark.parametrize("suite", SUITES)
def test_a_record_shorter_than_a_tag_while_skipping_early_data(suite: int, length: int) -> None:
    keys = make_keys(suite)
    writer, reader = RecordLayer(), RecordLayer()
    writer.set_write_key(suite, keys.key, keys.iv)
    reader.set_read_key(suite, keys.key, keys.iv)
    reader.skip_early_data(100)
    reader.receive_data(bytes([_record.APPLICATION_DATA, 3, 3, 0, length]) + bytes(length))
    assert reader.pending() == 0  # skipped as undecryptable early data, within the budget
    writer.write(_record.APPLICATION_DATA, b"after")
    reader.receive_data(writer.data_to_send())
    assert reader.read() == b"after"


# --- plaintext left in the shared block cache (issue 12) ----------------------------------------
#
# Buffers of 4 KiB and more go to a process-wide cache when released, from which any
# connection's next buffer comes. The plaintext in them (data read, records staged for
# encryption) is wiped first.


@pytest.mark.parametrize("suite", SUITES)
def test_no_plaintext_reaches_the_block_cache(suite: int) -> None:
    marker = b"cytls-plaintext-marker-" + bytes([suite & 0xFF]) * 9
    keys = make_keys(suite)
    writer, reader = RecordLayer(), RecordLayer()
    writer.set_write_key(suite, keys.key, keys.iv)
    reader.set_read_key(suite, keys.key, keys.iv)
    data = marker * (65536 // len(marker))
    _record._block_cache_clear()  # type: ignore[attr-defined]  # room for what is released
    writer.write(_record.APPLICATION_DATA, data)
    sealed = writer.data_to_send()  # the staged plaintext buffer is released here
    reader.receive_data(sealed)
    assert reader.read() == data  # and the opened one here
    del writer, reader
    assert _record._block_cache_count() >= 1  # type: ignore[attr-defined]  # what was released
    assert not _record._block_cache_contains(marker)  # type: ignore[attr-defined]


def test_the_block_cache_probe_finds_what_is_there() -> None:
    """The probe's control: ciphertext is not wiped, and is found in the cache."""
    keys = make_keys(_record.TLS_AES_128_GCM_SHA256)
    writer = RecordLayer()
    writer.set_write_key(_record.TLS_AES_128_GCM_SHA256, keys.key, keys.iv)
    writer.write(_record.APPLICATION_DATA, bytes(65536))
    sealed = writer.data_to_send()
    _record._block_cache_clear()  # type: ignore[attr-defined]  # room for what is released
    reader = RecordLayer()
    reader.set_read_key(_record.TLS_AES_128_GCM_SHA256, keys.key, keys.iv)
    reader.receive_data(sealed[:10000])  # an incomplete record: held in the input buffer
    del reader
    assert _record._block_cache_contains(sealed[100:132])  # type: ignore[attr-defined]

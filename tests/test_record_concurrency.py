"""The record layer under threads and reentrancy (findings of a review).

cryptography releases the GIL inside encrypt_into/decrypt_into and may run the garbage
collector there, so another thread or a finalizer can call into a RecordLayer while a call is
under way. Reading and writing use separate buffers and may overlap; a second call into the
same direction must be refused with RuntimeError, never corrupt memory or reuse a nonce.
Crashes would kill the test process, so the risky scenarios run in a subprocess.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

TESTS = Path(__file__).parent

COMMON = """
import struct, sys, threading, faulthandler, gc
faulthandler.enable()
sys.path.insert(0, {tests!r})
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cytls._record import RecordLayer
from cytls.errors import ProtocolError
KEY, IV = bytes(range(16)), bytes(range(100, 112))
def nonce(seq, iv=IV):
    return bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big")))
def seal(seq, inner, key=KEY, iv=IV):
    aad = struct.pack("!BHH", 23, 0x0303, len(inner) + 16)
    return aad + AESGCM(key).encrypt(nonce(seq, iv), inner, aad)
def open_stream(stream, key=KEY, iv=IV):
    pos = seq = 0
    out = []
    while pos < len(stream):
        n = struct.unpack("!H", stream[pos + 3:pos + 5])[0]
        rec = stream[pos:pos + 5 + n]
        out.append(AESGCM(key).decrypt(nonce(seq, iv), rec[5:], rec[:5]))
        pos += 5 + n
        seq += 1
    return out
"""


def run(script: str) -> str:
    code = COMMON.format(tests=str(TESTS)) + textwrap.dedent(script)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, f"exit {proc.returncode}:\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_full_duplex_threads_each_direction_intact() -> None:
    """One thread reads while another writes: every record authenticates both ways (the two
    directions once shared one AAD buffer, which an AEAD call in the other thread overwrote).
    """
    out = run(
        """
        incoming = b"".join(seal(i, b"r" * 100 + b"\\x17") for i in range(60000))
        rl = RecordLayer()
        rl.set_read_key(0x1301, KEY, IV)
        rl.set_write_key(0x1301, bytes(16), bytes(12))
        stop = False
        wrote = []
        def writer():
            while not stop:
                rl.write(23, b"w" * 16000)
                wrote.append(rl.data_to_send())
        t = threading.Thread(target=writer)
        t.start()
        received = 0
        for off in range(0, len(incoming), 1 << 16):
            rl.receive_data(incoming[off:off + (1 << 16)])
            received += len(rl.read())
        stop = True
        t.join()
        assert received == 60000 * 100, received
        records = open_stream(b"".join(wrote), bytes(16), bytes(12))
        assert records and all(r == b"w" * 16000 + b"\\x17" for r in records)
        print("OK", len(records))
        """
    )
    assert out.startswith("OK")


def test_two_writers_are_refused_not_corrupted() -> None:
    """write() in one thread and data_to_send() in another: each call either completes or
    raises RuntimeError; what was sent is a valid stream at consecutive sequence numbers."""
    out = run(
        """
        rl = RecordLayer()
        rl.set_write_key(0x1301, KEY, IV)
        sent, refused, stop = [], [0], False
        lock = threading.Lock()
        def flusher():
            while not stop:
                try:
                    data = rl.data_to_send()
                except RuntimeError:
                    refused[0] += 1
                    continue
                with lock:
                    sent.append(data)
        t = threading.Thread(target=flusher)
        t.start()
        for _ in range(3000):
            try:
                rl.write(23, b"x" * 20000)
            except RuntimeError:
                refused[0] += 1
        stop = True
        t.join()
        sent.append(rl.data_to_send())
        records = open_stream(b"".join(sent))
        assert all(r[-1] == 23 and set(r[:-1]) == {ord("x")} for r in records)
        print("OK", len(records), refused[0])
        """
    )
    assert out.startswith("OK")


def test_finalizer_cannot_reenter_during_open() -> None:
    """A __del__ run by the collector inside decrypt_into that reads the same layer gets
    RuntimeError; the tag failure still ends in bad_record_mac."""
    out = run(
        """
        rl = RecordLayer()
        rl.set_read_key(0x1301, KEY, IV)
        good = seal(0, b"A" * 5000 + b"\\x17")
        bad = bytearray(seal(1, b"B" * 5000 + b"\\x17"))
        bad[-1] ^= 1
        outcome = []
        class Bomb:
            def __init__(self):
                self.me = self
            def __del__(self):
                if outcome:
                    return
                if rl.pending() == 0:
                    Bomb()
                    return
                try:
                    rl.read()
                    outcome.append("read ran inside receive_data")
                except RuntimeError:
                    outcome.append("refused")
        gc.disable()
        Bomb()
        gc.set_threshold(1)
        gc.enable()
        try:
            rl.receive_data(good + bytes(bad))
        except ProtocolError as exc:
            assert exc.alert == 20, exc
        gc.set_threshold(700)
        assert outcome in ([], ["refused"]), outcome
        print("OK", outcome)
        """
    )
    assert out.startswith("OK")


def test_threads_with_their_own_layers_share_only_the_block_cache() -> None:
    """Four threads move 1 MiB writes through layers of their own at once: the process-wide
    block cache (under its lock) hands each block to one thread at a time, so every byte comes
    back intact, and the cache never holds more than its slots allow."""
    out = run(
        """
        import os
        from cytls import _record
        failures = []
        def worker(index):
            try:
                key, iv = os.urandom(32), os.urandom(12)
                writer, reader = RecordLayer(), RecordLayer()
                writer.set_write_key(0x1302, key, iv)
                reader.set_read_key(0x1302, key, iv)
                sink = bytearray(1 << 20)
                for round in range(40):
                    data = bytes([index, round]) * (1 << 19)
                    writer.write(23, data)
                    reader.receive_data(writer.data_to_send())
                    got = 0
                    while got < len(data):
                        got += reader.read_into(memoryview(sink)[got:])
                    assert sink == data, (index, round)
                    assert _record._block_cache_count() <= 16
            except BaseException as exc:
                failures.append(repr(exc))
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not failures, failures
        print("OK", _record._block_cache_count())
        """
    )
    assert out.startswith("OK")

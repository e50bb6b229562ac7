"""The C data path under Connection and TLSObject (cytls._datapath): its typed state can never
be None, the cycle collector does not clear it, and its shortcut past next_record is exact.

A NULL dereference would kill the test process, so the risky scenarios run in a subprocess.
"""

from __future__ import annotations

import itertools
import os
import struct
import subprocess
import sys
import textwrap

import pytest
from handshakeutil import client_context, handshake, pump, server_context
from hypothesis import given, settings
from hypothesis import strategies as st

from cytls import Connection, _record
from cytls._datapath import ConnectionCore, TLSObjectCore
from cytls.errors import ProtocolError
from cytls.events import ConnectionClosed


def run(script: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}:\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_the_typed_state_refuses_none() -> None:
    core = ConnectionCore()
    with pytest.raises(TypeError):
        core._record = None  # type: ignore[assignment]
    assert isinstance(core._record, _record.RecordLayer)  # made with the object
    wrapper = TLSObjectCore()
    with pytest.raises(TypeError):
        wrapper._conn = None  # type: ignore[assignment]
    assert isinstance(wrapper._conn, ConnectionCore)


def test_uninitialised_objects_raise_instead_of_crashing() -> None:
    """``__new__`` without ``__init__`` (as a careless subclass or copy would) still has a
    record layer and a connection under it: every call raises, none dereferences NULL."""
    out = run(
        """
        from cytls import Connection, TLSObject
        for obj, calls in (
            (Connection.__new__(Connection), ("send", "recv", "recv_into", "receive_data",
                                              "data_to_send", "pending")),
            (TLSObject.__new__(TLSObject), ("read", "write")),
        ):
            for name in calls:
                args = {"recv_into": (bytearray(4),), "send": (b"x",),
                        "receive_data": (b"\\x17\\x03\\x03\\x00\\x01x",),
                        "write": (b"x",)}.get(name, ())
                try:
                    getattr(obj, name)(*args)
                except Exception as exc:
                    print(type(obj).__name__, name, type(exc).__name__)
                else:
                    print(type(obj).__name__, name, "returned")
        """
    )
    lines = out.splitlines()
    assert len(lines) == 8, out
    raised = [line for line in lines if not line.endswith("returned")]
    # Only data_to_send and pending have nothing to refuse: b"" and 0.
    assert {line.rsplit(" ", 1)[0] for line in lines if line.endswith("returned")} <= {
        "Connection data_to_send",
        "Connection pending",
    }, out
    assert len(raised) >= 6, out


def test_a_collected_cycle_keeps_the_record_layer_for_its_finalizers() -> None:
    """A Connection is always in a reference cycle. A finalizer in a cycle the collector breaks
    still finds the connection whole and can seal a record with it; the connection is freed
    afterwards (its C state does not keep the cycle alive)."""
    out = run(
        f"""
        import gc, sys, weakref
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from handshakeutil import handshake
        client, server = handshake()
        outcome = []
        class Finalizer:
            def __init__(self, conn):
                self.conn = conn
                conn.finalizer = self   # the cycle: conn -> finalizer -> conn
            def __del__(self):
                try:
                    self.conn.send(b"late")
                    outcome.append(len(self.conn.data_to_send()))
                except Exception as exc:
                    outcome.append(type(exc).__name__)
        Finalizer(client)
        alive = weakref.ref(client)
        del client
        gc.collect()
        gc.collect()
        print(outcome, alive() is None)
        """
    )
    assert out.strip() == "[26] True", out  # 5-byte header, 4 + 1 inner bytes, 16-byte tag


def _records(kinds: list[int]) -> bytes:
    """Plaintext records of the given content types (the layer has no read key)."""
    body = {
        _record.HANDSHAKE: b"\x14\x00\x00\x00",
        _record.ALERT: b"\x01\x00",
        _record.CHANGE_CIPHER_SPEC: b"\x01",
    }
    return b"".join(
        struct.pack("!BHH", kind, 0x0303, len(body[kind])) + body[kind] for kind in kinds
    )


@settings(max_examples=200, deadline=None)
@given(
    kinds=st.lists(
        st.sampled_from([_record.HANDSHAKE, _record.ALERT, _record.CHANGE_CIPHER_SPEC]),
        max_size=6,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=6),
)
def test_receive_data_says_exactly_when_next_record_has_something(
    kinds: list[int], cuts: list[int]
) -> None:
    """Connection skips next_record when receive_data returns False: that must never hide a
    record. Whatever the records and wherever the stream is cut, False means next_record
    returns None, and True means it returns a record."""
    layer = _record.RecordLayer()
    layer.allow_plaintext_alerts = True
    stream = _records(kinds)
    points = sorted({min(cut, len(stream)) for cut in cuts} | {0, len(stream)})
    taken: list[int] = []
    for start, end in itertools.pairwise(points):
        try:
            waiting = layer.receive_data(stream[start:end])
            record = layer.next_record()
            assert (record is not None) == waiting
            while record is not None:
                taken.append(record[0])
                record = layer.next_record()
        except ProtocolError:
            return  # a sequence the layer refuses (checked elsewhere) ends the example
    assert taken == kinds


@pytest.mark.parametrize("events", [True, False])
def test_events_false_keeps_no_events(events: bool) -> None:
    """``Connection(events=False)``, what TLSObject and TLSSocket use, since ssl reports no
    events: nothing queues up, however many the connection would have reported."""
    client = Connection(client_context(), server_hostname="localhost", events=events)
    server = Connection(server_context(), server_side=True)
    pump(client, server)
    server.close()
    client.receive_data(server.data_to_send())
    kinds = []
    while (event := client.next_event()) is not None:
        kinds.append(type(event))
    assert (ConnectionClosed in kinds) is events
    assert kinds if events else not kinds


def test_a_buffer_without_len_is_data_not_eof() -> None:
    """``receive_data`` and ``send`` take any buffer, as their Python versions did: an object
    with the buffer protocol but no ``len()`` is data (its truth), never end of file."""
    import pickle

    client, server = handshake()
    client.send(pickle.PickleBuffer(b"no len here"))
    server.receive_data(pickle.PickleBuffer(client.data_to_send()))
    assert server.recv() == b"no len here"

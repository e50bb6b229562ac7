"""Connection behaviour that is neither a handshake failure nor interop: rekeying, key log,
reading semantics."""

import dataclasses
import re
from pathlib import Path

import pytest
from handshakeutil import client_context, handshake, pump, server_context

import cytls
from cytls.events import HandshakeComplete, KeyUpdated
from cytls.handshake import common
from cytls.registry import SUITES


def drain_events(conn: cytls.Connection) -> list[object]:
    events = []
    while (event := conn.next_event()) is not None:
        events.append(event)
    return events


def lower_record_limits(monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    """The registry's record limits, lowered to ``limit`` for the suites that have one."""
    suites = {
        code: dataclasses.replace(suite, record_limit=limit if suite.record_limit else None)
        for code, suite in SUITES.items()
    }
    monkeypatch.setattr(common, "SUITES", suites)  # what the Negotiated parameters carry


@pytest.mark.parametrize("suite", ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"])
def test_sender_rekeys_before_the_aes_gcm_limit(
    monkeypatch: pytest.MonkeyPatch, suite: str
) -> None:
    """RFC 8446 §5.5: a sender updates its keys before the AEAD usage limit; here the limit is
    lowered to 3 records so the KeyUpdate must appear in a short exchange."""
    lower_record_limits(monkeypatch, 3)
    ctx = client_context()
    ctx.set_ciphers(suite)
    client, server = handshake(ctx)
    drain_events(server)
    received = b""
    for index in range(10):
        client.send(b"record %d;" % index)
        server.receive_data(client.data_to_send())
        received += server.recv()
    assert received == b"".join(b"record %d;" % index for index in range(10))
    updates = [event for event in drain_events(server) if isinstance(event, KeyUpdated)]
    assert len(updates) >= 2  # the limit was crossed more than once
    assert all(not update.peer_requested_update for update in updates)
    assert client._record.write_sequence_number <= 3


def test_chacha20_has_no_record_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    lower_record_limits(monkeypatch, 3)
    ctx = client_context()
    ctx.set_ciphers("TLS_CHACHA20_POLY1305_SHA256")
    client, server = handshake(ctx)
    for _ in range(10):
        client.send(b"x")
    server.receive_data(client.data_to_send())
    assert not [e for e in drain_events(server) if isinstance(e, KeyUpdated)]
    assert client._record.write_sequence_number == 10


def test_keylog_file_has_the_nss_lines_of_both_directions(tmp_path: Path) -> None:
    keylog = tmp_path / "keys.log"
    ctx = client_context()
    ctx.keylog_filename = str(keylog)
    _client, server = handshake(ctx)
    lines = keylog.read_text().splitlines()
    labels = [line.split()[0] for line in lines]
    assert labels == [
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "EXPORTER_SECRET",
        "SERVER_TRAFFIC_SECRET_0",
        "CLIENT_TRAFFIC_SECRET_0",
    ]
    for line in lines:
        assert re.fullmatch(r"[A-Z_0-9]+ [0-9a-f]{64} (?:[0-9a-f]{64}|[0-9a-f]{96})", line), line
    # The server's key log, when not configured, stays empty: nothing is written by default.
    assert server.context.keylog_filename is None


def test_recv_semantics_want_read_clean_close_and_truncation() -> None:
    client, server = handshake()
    with pytest.raises(cytls.WantReadError):
        server.recv()
    client.send(b"data")
    client.close()
    server.receive_data(client.data_to_send())
    assert server.recv() == b"data"
    assert server.recv() == b""  # close_notify: a clean end
    assert server.peer_closed
    # Half-close (RFC 8446 §6.1): the server may still send after the client closed.
    server.send(b"reply")
    client.receive_data(server.data_to_send())
    assert client.recv() == b"reply"
    client.receive_data(b"")  # EOF without the server's close_notify
    with pytest.raises(cytls.TruncationError):
        client.recv()


def test_handshake_complete_event_describes_the_connection() -> None:
    ctx = client_context()
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    sctx = server_context()
    sctx.set_alpn_protocols(["http/1.1"])
    client, server = handshake(ctx, sctx)
    (event,) = [e for e in drain_events(client) if isinstance(e, HandshakeComplete)]
    assert event.version == "TLSv1.3" and event.alpn_protocol == "http/1.1"
    assert event.server_name == "localhost" and event.peer_certificates
    assert client.cipher() == (event.cipher_suite, "TLSv1.3", client.cipher()[2])
    assert client.selected_alpn_protocol() == server.selected_alpn_protocol() == "http/1.1"
    assert client.export_keying_material("label", b"ctx", 32) == server.export_keying_material(
        "label", b"ctx", 32
    )
    pump(client, server)


def test_close_before_the_client_hello_still_holds_after_it() -> None:
    """A server that sent close_notify before the ClientHello sends nothing more after the
    handshake (RFC 8446 §6.1), not even the KeyUpdate a client requests: the hello phase hands
    "closed" on to the TLS 1.3 state machine."""
    client = cytls.Connection(client_context(), server_hostname="localhost")
    server = cytls.Connection(server_context(), server_side=True)
    server.close()
    server.data_to_send()  # the close_notify, which a man in the middle drops
    pump(client, server)
    assert client.handshake_complete and server.handshake_complete
    client.key_update(request_peer=True)
    server.receive_data(client.data_to_send())
    assert server.data_to_send() == b""

"""Hostile peers (issue 12): work and memory a peer can cause stay bounded, and what RFC 8446
forbids ends in its alert. Each test states the bound, checks the alert sent and that the
connection is unusable afterwards (``assert_aborts``), and has a control that stays within it.
"""

from __future__ import annotations

import dataclasses
import ssl
import struct

import pki
import pytest
from handshakeutil import (
    ALERT,
    APPDATA,
    HANDSHAKE,
    Credentials,
    assert_aborts,
    client_context,
    client_credentials,
    client_hello_of,
    connections,
    credentials,
    handshake,
    message,
    pump,
    read_protection,
    record,
    replace_extension,
    root_ca,
    server_context,
    write_credentials,
)

import cytls
from cytls import _record
from cytls.connection import MAX_WARNING_ALERTS
from cytls.errors import ProtocolError, TLSError
from cytls.events import AlertReceived, KeyUpdated
from cytls.handshake.client13 import MAX_POST_HANDSHAKE_REQUESTS
from cytls.wire.enums import AlertDescription as A

USER_CANCELED = bytes([1, A.user_canceled])
KEY_UPDATE = 24


def events(conn: cytls.Connection) -> list[object]:
    out = []
    while (event := conn.next_event()) is not None:
        out.append(event)
    return out


# --- non-fatal alerts are counted (OpenSSL's MAX_WARN_ALERT_COUNT) -------------------------------


def test_user_canceled_flood_before_the_client_hello() -> None:
    """A million plaintext user_canceled alerts were each accepted (55 MiB of events, 11 s);
    the fifth in a row is now unexpected_message, so the flood costs at most four events."""
    server = cytls.Connection(server_context(), server_side=True)
    flood = record(ALERT, USER_CANCELED) * 10_000
    assert_aborts(server, flood, ProtocolError, A.unexpected_message, match="non-fatal alerts")
    assert len(events(server)) == MAX_WARNING_ALERTS - 1


def test_user_canceled_alerts_with_data_between_them() -> None:
    """Application data between the alerts is progress: the count starts again."""
    client, _ = handshake()
    send = read_protection(client)
    for _ in range(3):
        client.receive_data(
            b"".join(send.seal(ALERT, USER_CANCELED) for _ in range(MAX_WARNING_ALERTS - 1))
        )
        client.receive_data(send.seal(APPDATA, b"data"))
    assert client.recv() == b"data" * 3
    assert events(client).count(AlertReceived(A.user_canceled, 1)) == 3 * (MAX_WARNING_ALERTS - 1)
    flood = b"".join(send.seal(ALERT, USER_CANCELED) for _ in range(MAX_WARNING_ALERTS))
    assert_aborts(client, flood, ProtocolError, A.unexpected_message)


# --- the event queue and wrap_bio ----------------------------------------------------------------


def test_wrap_bio_keeps_no_events() -> None:
    """TLSObject never reads Connection events (ssl.SSLObject has none): they were kept for the
    connection's lifetime, one per KeyUpdate or user_canceled alert."""
    context = client_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    server = cytls.Connection(server_context(), server_side=True)
    for _ in range(10):
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            server.receive_data(outgoing.read())
            incoming.write(server.data_to_send())
    server.receive_data(outgoing.read())  # the client's Finished
    assert server.handshake_complete
    for _ in range(200):
        server.key_update(request_peer=False)
        server.send(b"x")
        incoming.write(server.data_to_send())
        assert tls.read() == b"x"
    assert tls.connection.next_event() is None


# --- KeyUpdate (RFC 8446 §4.6.3) ------------------------------------------------------------------


def key_update_records(out: bytes) -> int:
    """How many records of KeyUpdate size (5 + 5 + 1 + 16 bytes) ``out`` holds, all of it."""
    assert len(out) % 27 == 0, len(out)
    return len(out) // 27


def test_many_update_requests_get_one_reply_control() -> None:
    """One request, one reply."""
    client, server = handshake()
    server.key_update(request_peer=True)
    client.receive_data(server.data_to_send())
    reply = client.data_to_send()
    assert key_update_records(reply) == 1
    server.receive_data(reply)
    assert events(server)[-1] == KeyUpdated(peer_requested_update=False)


def test_many_update_requests_get_one_reply() -> None:
    """Requests that arrive before our next record are all answered by one KeyUpdate: each
    used to cost a key derivation and a queued record."""
    client, server = handshake()
    for _ in range(50):
        server.key_update(request_peer=True)
    client.receive_data(server.data_to_send())
    assert [type(e) for e in events(client)].count(KeyUpdated) == 50
    reply = client.data_to_send()
    assert key_update_records(reply) == 1
    # Once we wrote under the new key, a new request needs a new reply.
    client.send(b"after")
    server.receive_data(reply + client.data_to_send())
    assert server.recv() == b"after"
    server.key_update(request_peer=True)
    client.receive_data(server.data_to_send())
    reply = client.data_to_send()
    assert key_update_records(reply) == 1
    client.send(b"again")
    server.receive_data(reply + client.data_to_send())
    assert server.recv() == b"again"


# --- nothing is sent after close_notify (RFC 8446 §6.1) -------------------------------------------


def test_no_key_update_reply_after_close_notify() -> None:
    client, server = handshake()
    client.close()
    close_notify = client.data_to_send()
    server.key_update(request_peer=True)
    client.receive_data(server.data_to_send())
    assert client.data_to_send() == b""
    assert close_notify  # sent before, and nothing after it
    with pytest.raises(TLSError) as info:
        client.key_update()
    assert info.value.reason == "PROTOCOL_IS_SHUTDOWN"


def post_handshake_auth_pair() -> tuple[cytls.Connection, cytls.Connection]:
    """A client with a certificate and a server that asks for it after the handshake."""
    creds = client_credentials()
    client_ctx = client_context()
    client_ctx.load_cert_chain(creds.certfile, creds.keyfile)
    client_ctx.post_handshake_auth = True
    server_ctx = server_context()
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    server_ctx.load_verify_locations(cadata=credentials().ca_pem)
    server_ctx.post_handshake_auth = True
    return handshake(client_ctx, server_ctx)


def test_post_handshake_certificate_requests_are_limited() -> None:
    """Each request makes the client sign: a server gets MAX_POST_HANDSHAKE_REQUESTS answers,
    and the next request is unexpected_message."""
    client, server = post_handshake_auth_pair()
    for _ in range(MAX_POST_HANDSHAKE_REQUESTS):
        server.verify_client_post_handshake()
        client.receive_data(server.data_to_send())
        server.receive_data(client.data_to_send())
        assert server.peer_certificates
    server.verify_client_post_handshake()
    assert_aborts(
        client, server.data_to_send(), ProtocolError, A.unexpected_message, match="post-handshake"
    )


def test_no_certificate_for_a_post_handshake_request_after_close_notify() -> None:
    client, server = post_handshake_auth_pair()
    # The control: a request before close_notify is answered.
    server.verify_client_post_handshake()
    client.receive_data(server.data_to_send())
    server.receive_data(client.data_to_send())
    assert server.peer_certificates
    client.close()
    client.data_to_send()
    server.verify_client_post_handshake()  # the server has not seen the close_notify yet
    client.receive_data(server.data_to_send())
    assert client.data_to_send() == b""


# --- handshake messages are not interleaved with other records (RFC 8446 §5.1) ------------------


def fragmented_key_update(client: cytls.Connection, between: tuple[int, bytes] | None) -> bytes:
    """A KeyUpdate from the server in two handshake records, with ``between`` sealed between."""
    send = read_protection(client)
    update = message(KEY_UPDATE, b"\x00")
    records = [send.seal(HANDSHAKE, update[:2])]
    if between is not None:
        records.append(send.seal(*between))
    records.append(send.seal(HANDSHAKE, update[2:]))
    return b"".join(records)


def test_a_fragmented_key_update_is_reassembled() -> None:
    """The control: fragments alone are fine."""
    client, _ = handshake()
    events(client)
    client.receive_data(fragmented_key_update(client, None))
    assert events(client) == [KeyUpdated(peer_requested_update=False)]


@pytest.mark.parametrize(
    "between",
    [(APPDATA, b"data"), (ALERT, USER_CANCELED)],
    ids=["application_data", "alert"],
)
def test_a_record_between_handshake_fragments(between: tuple[int, bytes]) -> None:
    client, _ = handshake()
    assert_aborts(
        client,
        fragmented_key_update(client, between),
        ProtocolError,
        A.unexpected_message,
        match="between the fragments",
    )


# --- rejected and excessive 0-RTT data (RFC 8446 §4.2.10) -----------------------------------------


def early_session(size: int) -> tuple[cytls.TLSContext, cytls.TLSContext, cytls.Session]:
    client_ctx, server_ctx = client_context(), server_context()
    server_ctx.max_early_data_size = size
    client, _ = handshake(client_ctx, server_ctx)
    session = client.session
    assert session is not None and session.max_early_data_size == size
    return client_ctx, server_ctx, session


def test_early_data_past_the_limit_is_never_readable() -> None:
    """Early data that opened in the same receive_data call as the record that broke
    max_early_data_size was readable after the error."""
    client_ctx, server_ctx, session = early_session(64)
    greedy = dataclasses.replace(session, max_early_data_size=1 << 20)
    client = cytls.Connection(
        client_ctx, server_hostname="localhost", session=greedy, early_data=b"a" * 40
    )
    client._record.write(APPDATA, b"b" * 40)  # a second 0-RTT record: 80 bytes in all
    server = cytls.Connection(server_ctx, server_side=True)
    with pytest.raises(ProtocolError) as info:
        server.receive_data(client.data_to_send())
    assert info.value.alert == A.unexpected_message
    assert server.pending() == 0
    with pytest.raises(ProtocolError):
        server.recv()


@pytest.mark.parametrize("extra", [0, 1])
def test_rejected_early_data_records_are_counted(extra: int) -> None:
    """A server that rejects 0-RTT skips what it cannot open up to max_early_data_size bytes:
    empty records counted no bytes, so any number of them were skipped."""
    client_ctx, _, session = early_session(1024)
    server_ctx = server_context()  # max_early_data_size 0, other ticket keys: rejects 0-RTT
    server_ctx.max_early_data_size = 0
    client = cytls.Connection(
        client_ctx, server_hostname="localhost", session=session, early_data=b"early"
    )
    for _ in range(_record.MAX_SKIPPED_EARLY_RECORDS - 1 + extra):
        client._record.write(APPDATA, b"")
    flight = client.data_to_send()
    server = cytls.Connection(server_ctx, server_side=True)
    if extra:
        assert_aborts(server, flight, ProtocolError, A.unexpected_message, match="rejected early")
    else:
        server.receive_data(flight)
        client.receive_data(server.data_to_send())
        pump(client, server)
        assert client.handshake_complete and not client.early_data_accepted


# --- handshake message limits (README, "Limits and hostile input") --------------------------------


def big_certificate_credentials() -> Credentials:
    """A server certificate of about 80 KB (3,500 subjectAltNames): over the 64 KiB that
    capped every handshake message, under OpenSSL's 100 KiB max_cert_list."""
    ca = root_ca()
    names = ["localhost", *(f"host-{i:05}.example.test" for i in range(3500))]
    return write_credentials(ca, pki.make_leaf(ca, names=names))


def test_a_certificate_message_up_to_max_cert_list() -> None:
    creds = big_certificate_credentials()
    assert 65536 < len(pki.der(creds.leaf[0])[0]) < 102400
    client, _ = handshake(client_context(), server_context(creds))
    assert client.peer_certificates == tuple(pki.der(creds.leaf[0]))


def test_a_certificate_message_over_max_cert_list() -> None:
    creds = big_certificate_credentials()
    client_ctx = client_context()
    assert client_ctx.max_cert_list == 102400
    client_ctx.max_cert_list = 65536
    client = cytls.Connection(client_ctx, server_hostname="localhost")
    server = cytls.Connection(server_context(creds), server_side=True)
    server.receive_data(client.data_to_send())
    assert_aborts(
        client, server.data_to_send(), ProtocolError, A.decode_error, match="65536-byte limit"
    )
    with pytest.raises(ValueError):
        client_ctx.max_cert_list = 1 << 24


def test_the_largest_signature_algorithms_extension() -> None:
    """signature_algorithms as large as the ClientHello's extensions block allows (over 32,000
    schemes, 65,535 bytes of extensions in all): processed, not refused as too large, though
    the ClientHello is then over 64 KiB."""
    client, server = connections()
    hello = client_hello_of(client.data_to_send())
    others = [(t, d) for t, d in hello.extensions if t != 13]
    room = 0xFFFF - sum(4 + len(d) for _, d in others) - 4 - 2
    count = room // 2
    assert count > 32_000
    schemes = [0x0403] + [0xFE00 + i % 256 for i in range(count - 1)]  # a usable one first
    body = struct.pack("!H", 2 * count) + b"".join(struct.pack("!H", s) for s in schemes)
    hello = dataclasses.replace(hello, extensions=replace_extension(hello.extensions, 13, body))
    raw = hello.to_message()
    assert len(raw) > 65536
    server.receive_data(
        b"".join(record(HANDSHAKE, raw[i : i + 16384]) for i in range(0, len(raw), 16384))
    )
    flight = server.data_to_send()
    assert (flight[0], flight[5]) == (HANDSHAKE, 2)  # a ServerHello: the server went on

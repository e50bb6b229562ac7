"""Hostile peers (issue 12): work and memory a peer can cause stay bounded, and what RFC 8446
forbids ends in its alert. Each test states the bound, checks the alert sent and that the
connection is unusable afterwards (``assert_aborts``), and has a control that stays within it.

Items of issue 12 whose tests live beside the code they cover:
- the second ClientHello after a HelloRetryRequest (§4.1.2): test_handshake_negative.py,
  ``test_server_rejects_second_client_hello`` (SNI, ALPN, schemes, groups, version, suites);
- the EKU policy whatever check_hostname says: test_certs.py (anyExtendedKeyUsage-only leaf);
- an exception from sni_callback: test_dropin.py, ``test_sni_callback_that_raises``, on ssl
  and on cytls;
- the empty-record count that control records do not reset: test_record_errors.py;
- plaintext wiped before a buffer is cached: test_record_memory_safety.py;
- 2^32 seals per ticket key: test_ticket_key_file.py;
- the C walk over a ClientHello's lists against the Python codec: test_client_hello_lists.py.
"""

from __future__ import annotations

import dataclasses
import gc
import ssl
import struct
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pki
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from handshakeutil import (
    ALERT,
    APPDATA,
    HANDSHAKE,
    SECP256R1,
    X25519,
    Credentials,
    assert_aborts,
    client_context,
    client_credentials,
    client_hello_of,
    connections,
    credentials,
    handshake,
    hello_record,
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
from cytls.cli.benchmark import as_records, costly_client_hellos
from cytls.connection import MAX_WARNING_ALERTS
from cytls.errors import CertificateError, ProtocolError, TLSError
from cytls.events import AlertReceived, KeyUpdated
from cytls.handshake.client13 import MAX_POST_HANDSHAKE_REQUESTS
from cytls.wire.enums import AlertDescription

USER_CANCELED = bytes([1, AlertDescription.user_canceled])
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

    def receive() -> None:
        assert_aborts(
            server, flood, ProtocolError, AlertDescription.unexpected_message, match="non-fatal"
        )

    assert peak_allocated(receive) <= len(flood) + 64 * 1024  # the input, and no more
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
    assert events(client).count(AlertReceived(AlertDescription.user_canceled, 1)) == 3 * (
        MAX_WARNING_ALERTS - 1
    )
    flood = b"".join(send.seal(ALERT, USER_CANCELED) for _ in range(MAX_WARNING_ALERTS))
    assert_aborts(client, flood, ProtocolError, AlertDescription.unexpected_message)


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

    def updates(count: int) -> None:
        for _ in range(count):
            server.key_update(request_peer=False)
            server.send(b"x")
            incoming.write(server.data_to_send())
            assert tls.read() == b"x"

    updates(50)  # the caches settle
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        updates(200)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 4096  # an event kept per KeyUpdate: some 11 KiB for these 200
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
        client,
        server.data_to_send(),
        ProtocolError,
        AlertDescription.unexpected_message,
        match="post-handshake",
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
        AlertDescription.unexpected_message,
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
    assert info.value.alert == AlertDescription.unexpected_message
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
        assert_aborts(
            server,
            flight,
            ProtocolError,
            AlertDescription.unexpected_message,
            match="rejected early",
        )
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
        client,
        server.data_to_send(),
        ProtocolError,
        AlertDescription.decode_error,
        match="65536-byte limit",
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


# --- the costliest ClientHello costs about a typical one (README, "Limits and hostile input") ----


def profile_events(run: Callable[[], None]) -> int:
    """Python calls and returns (and C calls from Python) while ``run`` runs: a count of the
    work that does not move with the machine's load, unlike a time."""
    count = 0

    def count_event(frame: object, event: str, arg: object) -> None:
        nonlocal count
        count += 1

    sys.setprofile(count_event)
    try:
        run()
    finally:
        sys.setprofile(None)
    return count


def peak_allocated(run: Callable[[], None]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def typical_client_hello() -> bytes:
    return cytls.Connection(client_context(), server_hostname="localhost").data_to_send()


@pytest.mark.parametrize(
    "shape", ["unrecognized extensions", "groups and key shares", "signature algorithms"]
)
def test_the_costliest_client_hellos_cost_about_a_typical_one(
    typical_client_hello: bytes, shape: str
) -> None:
    """Each fills the 128 KiB a ClientHello can hold with one kind of peer-sized list, beside
    32,767 cipher suites none of which the server knows. Bounds: the server's Python work
    (profile events) within 1.5 times a typical ClientHello's, where a call per list item
    made it 25 times; memory at its peak within 4 times the message. Timings are for `cytls
    bench` (the same shapes), not for a test."""
    costly = costly_client_hellos(typical_client_hello)[shape]
    assert len(costly) > 128_000

    def answer(flight: bytes) -> Callable[[], None]:
        def run() -> None:
            server = cytls.Connection(server_context(), server_side=True)
            server.receive_data(flight)
            reply = server.data_to_send()
            assert (reply[0], reply[5]) == (HANDSHAKE, 2)  # a ServerHello

        return run

    typical_work = profile_events(answer(typical_client_hello))
    assert profile_events(answer(as_records(costly))) <= 1.5 * typical_work
    assert peak_allocated(answer(as_records(costly))) <= 4 * len(costly)


# --- every exception a peer can cause is a ProtocolError with an alert ---------------------------

# The DER of the authorityKeyIdentifier and subjectKeyIdentifier OIDs (RFC 5280 §4.2.1.1-2).
AKI_OID = b"\x06\x03\x55\x1d\x23"
SKI_OID = b"\x06\x03\x55\x1d\x0e"


def duplicate_extension_credentials() -> Credentials:
    """A leaf (server and client auth) under an intermediate whose authorityKeyIdentifier was
    relabelled subjectKeyIdentifier and re-signed: cryptography parses it, then raises
    DuplicateExtension on the first read of an extension."""
    ca = root_ca()
    inter = pki.make_intermediate(ca, common_name="duplicate extension intermediate")
    bad = x509.load_der_x509_certificate(pki.resigned(inter[0], ca[1], AKI_OID, SKI_OID))
    with pytest.raises(x509.DuplicateExtension):
        bad.extensions  # noqa: B018
    leaf = pki.make_leaf(inter, names=["localhost"], eku="serverAuth|clientAuth")
    return write_credentials(ca, leaf, bad)


def test_a_server_chain_with_a_duplicate_extension() -> None:
    client, server = connections(
        client_context(), server_context(duplicate_extension_credentials())
    )
    server.receive_data(client.data_to_send())
    assert_aborts(
        client,
        server.data_to_send(),
        CertificateError,
        AlertDescription.bad_certificate,
        peer=server,
        match="certificate #1 of the chain is malformed",
    )


def test_a_client_chain_with_a_duplicate_extension() -> None:
    server_ctx = server_context()
    server_ctx.verify_mode = cytls.CERT_REQUIRED
    server_ctx.load_verify_locations(cadata=credentials().ca_pem)
    client_ctx = client_context()
    bad = duplicate_extension_credentials()
    client_ctx.load_cert_chain(bad.certfile, bad.keyfile)
    client, server = connections(client_ctx, server_ctx)
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())  # the client's Certificate flight follows
    assert_aborts(
        server,
        client.data_to_send(),
        CertificateError,
        AlertDescription.bad_certificate,
        peer=client,
        match="certificate #1 of the chain is malformed",
    )


def test_a_key_log_file_that_cannot_be_written_fails_the_connection(tmp_path: Path) -> None:
    """As ssl, an unwritable path fails when set. One that stops being writable mid-handshake
    (here, replaced by a directory) fails the connection with internal_error, the OSError
    chained, instead of leaving it half-way through the ServerHello."""
    with pytest.raises(OSError):
        client_context().keylog_filename = str(tmp_path / "missing" / "keys.log")
    context = client_context()
    path = tmp_path / "keys.log"
    context.keylog_filename = str(path)
    client, server = connections(context, server_context())
    server.receive_data(client.data_to_send())
    path.unlink()
    path.mkdir()
    error = assert_aborts(
        client, server.data_to_send(), ProtocolError, AlertDescription.internal_error, peer=server
    )
    assert isinstance(error.__cause__, IsADirectoryError)


# --- invalid key shares: the alert OpenSSL answers (the ssl module, on the same bytes) -----------


def p256_point(*, on_curve: bool = True, compressed: bool = False) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    fmt = PublicFormat.CompressedPoint if compressed else PublicFormat.UncompressedPoint
    raw = key.public_bytes(Encoding.X962, fmt)
    return raw if on_curve else raw[:-1] + bytes([raw[-1] ^ 1])  # y + 1: off the curve


INVALID_SHARES = {
    "x25519_empty": ("x25519", lambda: (X25519, b"")),
    "x25519_31_bytes": ("x25519", lambda: (X25519, bytes(range(1, 32)))),
    "x25519_33_bytes": ("x25519", lambda: (X25519, bytes(range(1, 34)))),
    "x25519_all_zero_output": ("x25519", lambda: (X25519, bytes(32))),  # a low-order point
    "p256_off_curve": ("secp256r1", lambda: (SECP256R1, p256_point(on_curve=False))),
    "p256_compressed": ("secp256r1", lambda: (SECP256R1, p256_point(compressed=True))),
    "p256_not_a_point": ("secp256r1", lambda: (SECP256R1, b"\x04" + bytes(64))),
}


def with_share(group_names: str, share: tuple[int, bytes]) -> bytes:
    """A cytls client's ClientHello for ``group_names``, its one key share replaced."""
    client = cytls.Connection(client_context(groups=group_names), server_hostname="localhost")
    hello = client_hello_of(client.data_to_send())
    group, key = share
    entry = struct.pack("!HH", group, len(key)) + key
    data = struct.pack("!H", len(entry)) + entry
    return hello_record(
        dataclasses.replace(hello, extensions=replace_extension(hello.extensions, 51, data))
    )


def ssl_server_alert(flight: bytes) -> int:
    """The alert an ssl (OpenSSL) server answers ``flight`` with."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(credentials().certfile, credentials().keyfile)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    server = context.wrap_bio(incoming, outgoing, server_side=True)
    incoming.write(flight)
    with pytest.raises(ssl.SSLError):
        server.do_handshake()
    answer = outgoing.read()
    assert answer[:1] == b"\x15" and answer[5] == 2, answer.hex()  # a fatal alert, in the clear
    return answer[6]


@pytest.mark.parametrize("case", sorted(INVALID_SHARES))
def test_an_invalid_key_share_gets_the_alert_openssl_sends(case: str) -> None:
    group_names, share = INVALID_SHARES[case]
    flight = with_share(group_names, share())
    expected = AlertDescription(ssl_server_alert(flight))
    server = cytls.Connection(server_context(), server_side=True)
    assert_aborts(server, flight, ProtocolError, expected)


# --- secrets live no longer than needed (RFC 8446 §7.1, §7.2) ------------------------------------


def test_handshake_and_superseded_traffic_secrets_are_dropped() -> None:
    """After the handshake no key schedule (the handshake secrets) stays; after a KeyUpdate in
    both directions nothing keeps the traffic secrets it replaced. Python cannot zero a bytes
    object: dropping every reference is what it can do. (Wiping plaintext buffers and the
    ticket key's seal count: tests/test_record_memory_safety.py, tests/test_ticket_key_file.py.)
    """
    client, server = handshake()
    handshakes = [client._handshake, server._handshake]
    assert [h.key_schedule for h in handshakes] == [None, None]
    replaced = [(h.read_secret, h.write_secret) for h in handshakes]
    client.key_update(request_peer=True)
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    for pair, h in zip(replaced, handshakes, strict=True):
        assert h.read_secret not in pair and h.write_secret not in pair
        for secret in pair:
            assert gc.get_referrers(secret) == [pair], "a replaced secret is still referenced"


def test_max_cert_list_of_the_context_an_sni_callback_switches_to() -> None:
    """The server's limit on the client's Certificate is the one of the context its SNI
    callback chose, not the one it started with."""
    client_creds = client_credentials()
    client_ctx = client_context()
    client_ctx.load_cert_chain(client_creds.certfile, client_creds.keyfile)
    chosen = server_context()
    chosen.verify_mode = ssl.CERT_REQUIRED
    chosen.load_verify_locations(cadata=credentials().ca_pem)
    chosen.max_cert_list = 200  # below any certificate
    first = server_context()

    def switch(target: Any, name: str | None, context: cytls.TLSContext) -> None:
        target.context = chosen

    first.sni_callback = switch
    client = cytls.Connection(client_ctx, server_hostname="localhost")
    server = cytls.Connection(first, server_side=True)
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    assert_aborts(
        server, client.data_to_send(), ProtocolError, AlertDescription.decode_error, match="200"
    )

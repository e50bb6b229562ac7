"""Session resumption and 0-RTT between two in-memory cytls connections (RFC 8446 §2.2, §2.3,
§4.2.9-§4.2.11, §4.6.1, §8): when a ticket resumes, when it silently falls back to a full
handshake, when 0-RTT is accepted or rejected, and the aborts a bad PSK offer or answer must
end in (checked with :func:`handshakeutil.assert_aborts`: exception, alert, unusable connection).

The interop counterparts (real peers, several processes) are in
``tests/interop/test_interop_resumption.py``.
"""

from __future__ import annotations

import dataclasses
import os
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from handshakeutil import (
    DEFAULT_GROUP,
    ManInTheMiddle,
    ProtocolError,
    assert_aborts,
    client_context,
    client_hello_of,
    extension_map,
    handshake,
    message,
    plaintext_messages,
    pump,
    record,
    replace_extension,
    rewrite_body,
    rewrite_type,
    server_context,
    split_records,
)

import cytls
from cytls.crypto.groups import GROUP_NAMES
from cytls.events import HandshakeComplete
from cytls.handshake.common import Environment
from cytls.wire import extensions as ext
from cytls.wire.enums import AlertDescription
from cytls.wire.messages import (
    ClientHello,
    EncryptedExtensions,
    ExtensionType,
    HandshakeType,
    ServerHello,
)

EARLY = b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"
PSK_KE, PSK_DHE_KE = 0, 1


def new_session(client_ctx: cytls.TLSContext, server_ctx: cytls.TLSContext) -> cytls.Session:
    """A full handshake; the tickets it ends with (pump delivers them) give the session."""
    client, server = handshake(client_ctx, server_ctx)
    assert not client.session_reused and not server.session_reused
    session = client.session
    assert session is not None
    return session


def resumption(
    client_ctx: cytls.TLSContext,
    server_ctx: cytls.TLSContext,
    session: cytls.Session | None,
    *,
    early_data: bytes = b"",
    client_env: Environment | None = None,
    server_env: Environment | None = None,
    hostname: str = "localhost",
) -> tuple[cytls.Connection, cytls.Connection]:
    """A client offering ``session`` (and 0-RTT ``early_data``) and a fresh server, unstarted."""
    client = cytls.Connection(
        client_ctx,
        server_hostname=hostname,
        session=session,
        early_data=early_data,
        environment=client_env,
    )
    return client, cytls.Connection(server_ctx, server_side=True, environment=server_env)


def events(conn: cytls.Connection) -> list[object]:
    out = []
    while (event := conn.next_event()) is not None:
        out.append(event)
    return out


def completed(conn: cytls.Connection) -> HandshakeComplete:
    (done,) = [event for event in events(conn) if isinstance(event, HandshakeComplete)]
    return done


def contexts(**server_options: object) -> tuple[cytls.TLSContext, cytls.TLSContext]:
    server_ctx = server_context()
    for name, value in server_options.items():
        setattr(server_ctx, name, value)
    return client_context(), server_ctx


def shared_keys(tmp_path: Path, *server_contexts: cytls.TLSContext) -> None:
    """Make server contexts resume each other's tickets: one ticket key file for all."""
    path = tmp_path / "ticket.keys"
    path.write_text(os.urandom(32).hex() + "\n", encoding="ascii")
    for context in server_contexts:
        context.load_ticket_keys(path)


def server_hello_of(flight: bytes) -> ServerHello:
    raw = plaintext_messages(flight)[0]
    assert raw[0] == HandshakeType.server_hello
    return ServerHello.parse(raw[4:])


# --- resumption that works ---------------------------------------------------------------------


def test_resumption_skips_the_certificate() -> None:
    """The control for everything below: a ticket resumes, both sides say so, and the server
    sends no Certificate or CertificateVerify (§2.2)."""
    client_ctx, server_ctx = contexts()
    session = new_session(client_ctx, server_ctx)
    assert session.server_name == "localhost"
    assert session.max_early_data_size == 0
    client, server = resumption(client_ctx, server_ctx, session)
    mitm = ManInTheMiddle(client, server)
    mitm.pump()
    assert client.session_reused and server.session_reused
    assert completed(client).session_resumed and completed(server).session_resumed
    sent_by_server = [msg_type for _, msg_type, _ in mitm.to_client.seen]
    assert (
        HandshakeType.certificate not in sent_by_server
        and HandshakeType.certificate_verify not in sent_by_server
    )
    assert sent_by_server[:3] == [
        HandshakeType.server_hello,
        HandshakeType.encrypted_extensions,
        HandshakeType.finished,
    ]
    assert client.peer_certificates == session.peer_certificates
    client.send(b"after resumption")
    server.receive_data(client.data_to_send())
    assert server.recv() == b"after resumption"


def test_each_ticket_resumes_once_more() -> None:
    """num_tickets tickets per connection, each a distinct session; a resumed connection gets
    new tickets of its own."""
    client_ctx, server_ctx = contexts(num_tickets=3)
    client, _ = handshake(client_ctx, server_ctx)
    sessions = client._sessions
    assert len(sessions) == 3 and len({session.ticket for session in sessions}) == 3
    for session in sessions:
        resumed, server = resumption(client_ctx, server_ctx, session)
        pump(resumed, server)
        assert resumed.session_reused and server.session_reused
        assert resumed.session is not None and resumed.session != session


# --- falling back to a full handshake -----------------------------------------------------------


def full_handshake(client: cytls.Connection, server: cytls.Connection) -> None:
    """The handshake completes as a full one (certificate verified), with no error."""
    pump(client, server)
    assert client.handshake_complete and server.handshake_complete
    assert not client.session_reused and not server.session_reused
    assert not completed(client).session_resumed
    client.send(b"still works")
    server.receive_data(client.data_to_send())
    assert server.recv() == b"still works"


def tampered(ticket: bytes, where: str) -> bytes:
    if where == "truncated":
        return ticket[:24]
    position = {"key_name": 0, "nonce": 10, "ciphertext": len(ticket) // 2, "tag": -1}[where]
    changed = bytearray(ticket)
    changed[position] ^= 0x01
    return bytes(changed)


@pytest.mark.parametrize("where", ["key_name", "nonce", "ciphertext", "tag", "truncated"])
def test_tampered_ticket_is_a_full_handshake(where: str) -> None:
    """A ticket that does not open (the client holds the PSK, so its binder is fine: only the
    ticket is wrong) is not ours: full handshake, never an error (§4.6.1)."""
    client_ctx, server_ctx = contexts()
    session = new_session(client_ctx, server_ctx)
    forged = dataclasses.replace(session, ticket=tampered(session.ticket, where))
    client, server = resumption(client_ctx, server_ctx, forged)
    flight = client.data_to_send()
    assert ExtensionType.pre_shared_key in extension_map(client_hello_of(flight).extensions)
    server.receive_data(flight)
    full_handshake(client, server)


@pytest.mark.parametrize(
    ("server_clock", "resumed"),
    [(7199.0, True), (7201.0, False)],
    ids=["just_before_expiry", "expired"],
)
def test_ticket_lifetime_on_the_server_clock(server_clock: float, resumed: bool) -> None:
    """The server checks the age of the ticket on its own clock: past ticket_lifetime (7200 s
    by default) it does a full handshake."""
    client_ctx, server_ctx = contexts()
    session = new_session(client_ctx, server_ctx)
    later = Environment(now=lambda: time.time() + server_clock)
    client, server = resumption(client_ctx, server_ctx, session, server_env=later)
    pump(client, server)
    assert client.handshake_complete and server.handshake_complete
    assert client.session_reused is resumed and server.session_reused is resumed


def test_expired_session_is_not_offered() -> None:
    """A client whose session is past its lifetime does not offer it."""
    client_ctx, server_ctx = contexts(ticket_lifetime=60)
    session = new_session(client_ctx, server_ctx)
    assert session.ticket_lifetime_hint == 60
    later = Environment(now=lambda: time.time() + 61)
    client, server = resumption(client_ctx, server_ctx, session, client_env=later)
    flight = client.data_to_send()
    assert ExtensionType.pre_shared_key not in extension_map(client_hello_of(flight).extensions)
    server.receive_data(flight)
    full_handshake(client, server)


def test_ticket_from_another_server_context() -> None:
    """Another server context has other (random) ticket keys: full handshake."""
    client_ctx, server_ctx = contexts()
    session = new_session(client_ctx, server_ctx)
    client, server = resumption(client_ctx, server_context(), session)
    full_handshake(client, server)


def test_ticket_for_another_hash(tmp_path: Path) -> None:
    """A PSK goes with its suite's hash (§4.2.11): a SHA-384 ticket taken to a server (sharing
    the ticket keys) that only has SHA-256 suites is passed over."""
    client_ctx, issuer = contexts()
    sha256_only = server_context(suites="TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256")
    shared_keys(tmp_path, issuer, sha256_only)
    session = new_session(client_ctx, issuer)
    assert session.suite == 0x1302  # TLS_AES_256_GCM_SHA384, the default first choice
    client, server = resumption(client_ctx, sha256_only, session)
    full_handshake(client, server)


def test_session_of_another_client_context_is_refused() -> None:
    """As ``ssl``: a session belongs to the context that received it."""
    client_ctx, server_ctx = contexts()
    session = new_session(client_ctx, server_ctx)
    with pytest.raises(ValueError, match="different SSLContext"):
        cytls.Connection(client_context(), server_hostname="localhost", session=session)


def test_session_for_another_hostname_is_not_offered() -> None:
    client_ctx, server_ctx = contexts()
    session = new_session(client_ctx, server_ctx)
    client_ctx.check_hostname = False
    client_ctx.verify_mode = cytls.CERT_NONE
    client, server = resumption(client_ctx, server_ctx, session, hostname="example.com")
    flight = client.data_to_send()
    assert ExtensionType.pre_shared_key not in extension_map(client_hello_of(flight).extensions)
    server.receive_data(flight)
    full_handshake(client, server)


def test_early_data_needs_a_ticket_that_allows_it() -> None:
    client_ctx, server_ctx = contexts()
    session = new_session(client_ctx, server_ctx)
    with pytest.raises(ValueError, match="0-RTT"):
        resumption(client_ctx, server_ctx, session, early_data=b"too early")
    with pytest.raises(ValueError, match="0-RTT"):
        resumption(client_ctx, server_ctx, None, early_data=b"too early")


# --- psk_ke and psk_dhe_ke (§4.2.9) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_allows", "server_allows", "expected_mode"),
    [
        (True, True, PSK_KE),
        (True, False, PSK_DHE_KE),
        (False, True, PSK_DHE_KE),
        (False, False, PSK_DHE_KE),
    ],
)
def test_psk_key_exchange_mode(
    client_allows: bool, server_allows: bool, expected_mode: int
) -> None:
    """psk_ke (no key_share in ServerHello, no group) only when both sides set
    OP_ALLOW_NO_DHE_KEX; otherwise psk_dhe_ke, a fresh (EC)DHE exchange."""
    client_ctx, server_ctx = contexts()
    session = new_session(client_ctx, server_ctx)
    if client_allows:
        client_ctx.options |= cytls.OP_ALLOW_NO_DHE_KEX
    if server_allows:
        server_ctx.options |= cytls.OP_ALLOW_NO_DHE_KEX
    client, server = resumption(client_ctx, server_ctx, session)
    client_flight = client.data_to_send()
    modes = extension_map(client_hello_of(client_flight).extensions)[
        ExtensionType.psk_key_exchange_modes
    ]
    offered = ext.decode_psk_key_exchange_modes(modes)
    assert offered == ([PSK_DHE_KE, PSK_KE] if client_allows else [PSK_DHE_KE])
    server.receive_data(client_flight)
    flight = server.data_to_send()
    has_share = ExtensionType.key_share in extension_map(server_hello_of(flight).extensions)
    client.receive_data(flight)
    pump(client, server)
    assert client.session_reused and server.session_reused
    assert has_share is (expected_mode == PSK_DHE_KE)
    group = None if expected_mode == PSK_KE else GROUP_NAMES[DEFAULT_GROUP]
    assert completed(client).group == group and completed(server).group == group


def test_psk_ke_alone_to_a_server_that_refuses_it() -> None:
    """A client offering only psk_ke to a server without OP_ALLOW_NO_DHE_KEX: no mode in
    common, so a full handshake (with the key share it sent)."""

    def psk_ke_only(hello: ClientHello) -> ClientHello:
        modes = ext.encode_psk_key_exchange_modes([PSK_KE])
        extensions = replace_extension(
            hello.extensions, ExtensionType.psk_key_exchange_modes, modes
        )
        return dataclasses.replace(hello, extensions=extensions)

    client_ctx, server_ctx = contexts()
    session = new_session(client_ctx, server_ctx)
    client_ctx.options |= cytls.OP_ALLOW_NO_DHE_KEX
    env = Environment(client_hello_hook=psk_ke_only)
    client, server = resumption(client_ctx, server_ctx, session, client_env=env)
    full_handshake(client, server)


# --- 0-RTT -------------------------------------------------------------------------------------


def early_contexts(size: int = 1024) -> tuple[cytls.TLSContext, cytls.TLSContext, cytls.Session]:
    client_ctx, server_ctx = contexts(max_early_data_size=size)
    session = new_session(client_ctx, server_ctx)
    assert session.max_early_data_size == size
    return client_ctx, server_ctx, session


def test_early_data_accepted() -> None:
    client_ctx, server_ctx, session = early_contexts()
    client, server = resumption(client_ctx, server_ctx, session, early_data=EARLY)
    server.receive_data(client.data_to_send())
    assert server.early_data_accepted
    assert server.recv() == EARLY  # readable before the handshake completes
    assert not server.handshake_complete
    pump(client, server)
    assert client.early_data_accepted and server.early_data_length == len(EARLY)
    client.send(b"1-RTT")
    server.receive_data(client.data_to_send())
    assert server.recv() == b"1-RTT"


def test_early_data_of_exactly_max_early_data_size() -> None:
    client_ctx, server_ctx, session = early_contexts(size=64)
    client, server = resumption(client_ctx, server_ctx, session, early_data=bytes(64))
    pump(client, server)
    assert client.early_data_accepted and server.early_data_length == 64


def test_too_much_early_data_is_unexpected_message() -> None:
    """§4.2.10: more 0-RTT data than max_early_data_size ends in unexpected_message. The client
    here ignores what the ticket said."""
    client_ctx, server_ctx, session = early_contexts(size=64)
    greedy = dataclasses.replace(session, max_early_data_size=1 << 20)
    client, server = resumption(client_ctx, server_ctx, greedy, early_data=bytes(65))
    assert_aborts(
        server,
        client.data_to_send(),
        ProtocolError,
        AlertDescription.unexpected_message,
        peer=client,
    )


def test_early_data_split_over_records_beyond_the_limit() -> None:
    """The limit counts all 0-RTT records, not each one."""
    client_ctx, server_ctx, session = early_contexts(size=64)
    greedy = dataclasses.replace(session, max_early_data_size=1 << 20)
    client, server = resumption(client_ctx, server_ctx, greedy, early_data=bytes(40))
    first_flight = client.data_to_send()
    client._record.write(23, bytes(40))  # a second 0-RTT record, still under the early key
    server.receive_data(first_flight)
    assert server.early_data_accepted
    assert_aborts(server, client.data_to_send(), ProtocolError, AlertDescription.unexpected_message)


def second_server(tmp_path: Path, change: str) -> tuple[cytls.Connection, cytls.Connection]:
    """A client with 0-RTT data and a ticket from one server context, and a connection of a
    second context sharing its ticket keys, configured as ``change`` says."""
    client_ctx, issuer = contexts(max_early_data_size=1024)
    if change == "alpn_changed":
        client_ctx.set_alpn_protocols(["h2", "http/1.1"])
        issuer.set_alpn_protocols(["h2"])
    elif change == "other_suite_same_hash":
        issuer.set_ciphers("TLS_AES_128_GCM_SHA256")
    server_ctx = server_context()
    server_ctx.max_early_data_size = 1024
    shared_keys(tmp_path, issuer, server_ctx)
    session = new_session(client_ctx, issuer)
    server_env = None
    if change == "max_early_data_size_0":
        server_ctx.max_early_data_size = 0
    elif change == "alpn_changed":
        server_ctx.set_alpn_protocols(["http/1.1"])
    elif change == "other_suite_same_hash":
        server_ctx.set_ciphers("TLS_CHACHA20_POLY1305_SHA256")
    elif change == "hello_retry_request":
        server_ctx.set_groups("secp384r1")  # the client sends no share for it
    elif change == "ticket_age_skew":
        server_env = Environment(now=lambda: time.time() + 60)  # §8.3 freshness
    return resumption(client_ctx, server_ctx, session, early_data=EARLY, server_env=server_env)


def test_early_data_accepted_by_a_server_sharing_the_keys(tmp_path: Path) -> None:
    """The control for the rejections below: the same setup, nothing changed, accepts."""
    client, server = second_server(tmp_path, "nothing")
    pump(client, server)
    assert client.early_data_accepted and server.early_data_accepted
    assert server.recv() == EARLY


@pytest.mark.parametrize(
    "change",
    [
        "max_early_data_size_0",
        "alpn_changed",
        "other_suite_same_hash",
        "hello_retry_request",
        "ticket_age_skew",
    ],
)
def test_early_data_rejected_but_session_resumed(tmp_path: Path, change: str) -> None:
    """§4.2.10, §8.3: the 0-RTT data is skipped, never delivered; the handshake resumes the
    session anyway; the client learns the data was rejected and sends it again."""
    client, server = second_server(tmp_path, change)
    pump(client, server)
    assert client.session_reused and server.session_reused
    assert not client.early_data_accepted and not server.early_data_accepted
    assert server.early_data_length == 0
    with pytest.raises(ssl.SSLWantReadError):
        server.recv()
    client.send(EARLY)
    server.receive_data(client.data_to_send())
    assert server.recv() == EARLY


def test_replayed_first_flight_is_accepted_once() -> None:
    """The same ClientHello + 0-RTT bytes to two connections of one server context (§8): the
    first accepts the data; the replay resumes (the binder is valid) but skips the data, and
    the client, finishing its handshake with that second connection, learns it was rejected."""
    client_ctx, server_ctx, session = early_contexts()
    client, first = resumption(client_ctx, server_ctx, session, early_data=EARLY)
    flight = client.data_to_send()
    first.receive_data(flight)
    assert first.early_data_accepted and first.recv() == EARLY

    replay = cytls.Connection(server_ctx, server_side=True)
    replay.receive_data(flight)
    assert replay.session_reused and not replay.early_data_accepted
    with pytest.raises(ssl.SSLWantReadError):
        replay.recv()
    pump(client, replay)
    assert client.handshake_complete and replay.handshake_complete
    assert not client.early_data_accepted and replay.early_data_length == 0
    with pytest.raises(ssl.SSLWantReadError):
        replay.recv()


def test_same_session_twice_for_early_data() -> None:
    """One ticket opens 0-RTT once; the second connection resumes without it."""
    client_ctx, server_ctx, session = early_contexts()
    outcomes = []
    for _ in range(2):
        client, server = resumption(client_ctx, server_ctx, session, early_data=EARLY)
        pump(client, server)
        assert client.session_reused and server.session_reused
        outcomes.append((client.early_data_accepted, server.early_data_accepted))
    assert outcomes == [(True, True), (False, False)]


@pytest.mark.parametrize(
    ("allowed", "records"),
    [(16384, 1), (16384, 2), (16384, 64), (65536, 4)],
    ids=["16k_in_1_record", "16k_in_2_records", "16k_in_64_records", "64k_in_4_records"],
)
def test_rejected_early_data_up_to_the_allowance_is_skipped(allowed: int, records: int) -> None:
    """A client may send max_early_data_size bytes of 0-RTT data, in as many records as it
    likes; a server rejecting it (here: the ticket's second use) must skip all of it and carry
    on (§4.2.10). Only application data counts toward the limit, not the content type byte
    each record adds (§4.6.1).

    Regression: the skip budget was 16384 bytes whatever max_early_data_size said, and counted
    one byte too many per record, so a rejected maximal 0-RTT flight (such as s_client's 16 KiB
    in two 8 KiB records) ended in unexpected_message.
    """
    client_ctx, server_ctx, session = early_contexts(size=allowed)
    chunk = allowed // records
    for expected in (True, False):
        client, server = resumption(client_ctx, server_ctx, session, early_data=bytes(chunk))
        for _ in range(records - 1):
            client._record.write(23, bytes(chunk))  # more 0-RTT records, under the early key
        pump(client, server)
        assert client.handshake_complete and server.handshake_complete
        assert client.session_reused and server.session_reused
        assert client.early_data_accepted is expected and server.early_data_accepted is expected
        assert server.early_data_length == (allowed if expected else 0)


def test_rejected_early_data_beyond_the_allowance_is_unexpected_message() -> None:
    """The other side of that budget: one byte more than max_early_data_size, rejected, is
    still unexpected_message (§4.2.10)."""
    client_ctx, server_ctx, session = early_contexts(size=65536)
    client, server = resumption(client_ctx, server_ctx, session, early_data=b"first use")
    pump(client, server)
    assert server.early_data_accepted
    greedy = dataclasses.replace(session, max_early_data_size=1 << 20)
    client, server = resumption(client_ctx, server_ctx, greedy, early_data=bytes(65537))
    assert_aborts(server, client.data_to_send(), ProtocolError, AlertDescription.unexpected_message)


# --- aborts ------------------------------------------------------------------------------------


def flip_last_byte(raw: bytes) -> bytes:
    return raw[:-1] + bytes((raw[-1] ^ 0x01,))


def test_bad_binder_is_decrypt_error() -> None:
    """The binder is the last thing in the ClientHello (§4.2.11): a wrong one is decrypt_error
    (§4.2.11.2), and the client gets that alert."""
    client_ctx, server_ctx = contexts()
    session = new_session(client_ctx, server_ctx)
    client, server = resumption(client_ctx, server_ctx, session)
    mitm = ManInTheMiddle(client, server)
    flight = mitm.client_flight(rewrite_type(HandshakeType.client_hello, flip_last_byte))
    assert_aborts(server, flight, ProtocolError, AlertDescription.decrypt_error, peer=client)


def test_binder_of_another_client_hello_is_decrypt_error() -> None:
    """The binder covers the whole ClientHello: a changed random with the old binder fails."""
    client_ctx, server_ctx = contexts()
    session = new_session(client_ctx, server_ctx)
    client, server = resumption(client_ctx, server_ctx, session)

    def new_random(body: bytes) -> bytes:
        hello = ClientHello.parse(body)
        return dataclasses.replace(hello, random=bytes(32)).serialize()

    flight = ManInTheMiddle(client, server).client_flight(
        rewrite_body(HandshakeType.client_hello, new_random)
    )
    assert_aborts(server, flight, ProtocolError, AlertDescription.decrypt_error, peer=client)


def server_hello_rewrite(change: Callable[[ServerHello], ServerHello]) -> Callable[[bytes], bytes]:
    return lambda body: change(ServerHello.parse(body)).serialize()


def test_server_selecting_identity_we_did_not_offer() -> None:
    """We offer one identity (index 0): a ServerHello selecting index 1 is illegal_parameter."""
    client_ctx, server_ctx = contexts()
    session = new_session(client_ctx, server_ctx)
    client, server = resumption(client_ctx, server_ctx, session)
    mitm = ManInTheMiddle(client, server)
    server.receive_data(mitm.client_flight())

    def select_1(hello: ServerHello) -> ServerHello:
        psk = ext.encode_pre_shared_key_server(1)
        extensions = replace_extension(hello.extensions, ExtensionType.pre_shared_key, psk)
        return dataclasses.replace(hello, extensions=extensions)

    flight = mitm.server_flight(
        rewrite_body(HandshakeType.server_hello, server_hello_rewrite(select_1))
    )
    assert_aborts(client, flight, ProtocolError, AlertDescription.illegal_parameter, peer=server)


def with_early_data_indication(raw: bytes) -> bytes:
    extensions = EncryptedExtensions.parse(raw[4:]).extensions
    extensions = [*extensions, (ExtensionType.early_data, ext.encode_early_data_indication(None))]
    return message(HandshakeType.encrypted_extensions, EncryptedExtensions(extensions).serialize())


def test_encrypted_extensions_accepting_early_data_never_offered() -> None:
    """A resumption without 0-RTT: EncryptedExtensions with early_data answers an extension the
    client did not send, unsupported_extension (§4.2)."""
    client_ctx, server_ctx = contexts(max_early_data_size=1024)
    session = new_session(client_ctx, server_ctx)
    client, server = resumption(client_ctx, server_ctx, session)
    mitm = ManInTheMiddle(client, server)
    server.receive_data(mitm.client_flight())
    flight = mitm.server_flight(
        rewrite_type(HandshakeType.encrypted_extensions, with_early_data_indication)
    )
    assert_aborts(
        client, flight, ProtocolError, AlertDescription.unsupported_extension, peer=server
    )


def test_encrypted_extensions_accepting_early_data_without_the_psk() -> None:
    """The client sent 0-RTT data but the server did a full handshake (the ticket is not its
    own): accepting the early data then is illegal_parameter (§4.2.10)."""
    client_ctx, server_ctx = contexts(max_early_data_size=1024)
    session = new_session(client_ctx, server_ctx)
    stranger = server_context()
    client, server = resumption(client_ctx, stranger, session, early_data=EARLY)
    mitm = ManInTheMiddle(client, server)  # records the server's secrets from here on
    server.receive_data(client.data_to_send())  # the 0-RTT records are not for the MITM
    assert not server.session_reused
    flight = mitm.relay(
        mitm.to_client,
        server.data_to_send(),
        rewrite_type(HandshakeType.encrypted_extensions, with_early_data_indication),
    )
    error = assert_aborts(client, flight, ProtocolError, AlertDescription.illegal_parameter)
    assert "early data" in str(error)


def test_early_data_status_holds_between_end_of_early_data_and_finished() -> None:
    """The 0-RTT bytes stay readable after EndOfEarlyData, before the client's Finished (which
    a replayer never sends): the server must still say they came as early data, and how many."""
    client_ctx, server_ctx, session = early_contexts()
    client, server = resumption(client_ctx, server_ctx, session, early_data=EARLY)
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    end_of_early_data, finished = [
        record(content_type, fragment)
        for content_type, _, fragment in split_records(client.data_to_send())
    ]
    server.receive_data(end_of_early_data)
    assert not server.handshake_complete
    assert server.early_data_accepted and server.early_data_length == len(EARLY)
    assert server.recv() == EARLY
    server.receive_data(finished)
    assert server.handshake_complete
    assert server.early_data_accepted and server.early_data_length == len(EARLY)

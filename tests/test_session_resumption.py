"""Resumption between cytls peers in memory: HelloRetryRequest with a PSK, the session
setter, ticket counts and lifetimes, and the ticket and strike-register units.
tests/test_resumption.py has the fallbacks and aborts, tests/interop the real peers."""

from __future__ import annotations

import dataclasses

import pki
import pytest

import cytls
from cytls.connection import Connection
from cytls.context import TLSContext
from cytls.crypto.tickets import StrikeRegister, TicketKeys, TicketState
from cytls.events import HandshakeComplete


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    directory = tmp_path_factory.mktemp("pki")
    ca = pki.make_ca("ecdsa-p256")
    certfile, keyfile = pki.write_chain(directory, pki.make_leaf(ca, "ecdsa-p256"))
    return str(certfile), str(keyfile), pki.pem(ca[0]).decode("ascii")


def contexts(identity: tuple[str, str, str]) -> tuple[TLSContext, TLSContext]:
    certfile, keyfile, ca = identity
    server = TLSContext(cytls.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(certfile, keyfile)
    client = TLSContext(cytls.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cadata=ca)
    return client, server


def exchange(client: Connection, server: Connection) -> None:
    """Flush anything pending both ways (the server's tickets, the client's Finished)."""
    while data := client.data_to_send():
        server.receive_data(data)
    while data := server.data_to_send():
        client.receive_data(data)


def full_then_resume(
    client_context: TLSContext, server_context: TLSContext, **resume: object
) -> tuple[Connection, Connection]:
    client, _ = handshake(client_context, server_context)
    assert client.session is not None and not client.session_reused
    return handshake(client_context, server_context, session=client.session, **resume)


def handshake(
    client_context: TLSContext,
    server_context: TLSContext,
    session: cytls.Session | None = None,
    early_data: bytes = b"",
) -> tuple[Connection, Connection]:
    client = Connection(
        client_context, server_hostname="localhost", session=session, early_data=early_data
    )
    server = Connection(server_context, server_side=True)
    for _ in range(3):  # a HelloRetryRequest takes a second round trip
        exchange(client, server)
    assert client.handshake_complete and server.handshake_complete
    return client, server


def completion(connection: Connection) -> HandshakeComplete:
    while (event := connection.next_event()) is not None:
        if isinstance(event, HandshakeComplete):
            return event
    raise AssertionError("no HandshakeComplete event")


def test_resumption_after_hello_retry_request(identity: tuple[str, str, str]) -> None:
    client_context, server_context = contexts(identity)
    client, _ = handshake(client_context, server_context)
    session = client.session
    # The client's first share is x25519; a server that only takes P-256 asks again (HRR).
    server_context.set_groups("secp256r1")
    client, server = handshake(client_context, server_context, session=session)
    assert client.session_reused and server.session_reused
    assert completion(server).group == "secp256r1"


def test_early_data_is_refused_after_hello_retry_request(
    identity: tuple[str, str, str],
) -> None:
    client_context, server_context = contexts(identity)
    server_context.max_early_data_size = 1024
    client, _ = handshake(client_context, server_context)
    server_context.set_groups("secp256r1")
    client, server = handshake(
        client_context, server_context, session=client.session, early_data=b"too early"
    )
    # Resumed, but the 0-RTT data was skipped: the second ClientHello went in clear.
    assert client.session_reused and server.session_reused
    assert not client.early_data_accepted and not server.early_data_accepted
    assert server.pending() == 0 and server.early_data_length == 0


def test_a_psk_of_another_hash_is_dropped_after_hello_retry_request(
    identity: tuple[str, str, str],
) -> None:
    client_context, server_context = contexts(identity)
    client, _ = handshake(client_context, server_context)
    session = client.session
    assert session is not None and session.suite == 0x1302  # AES-256-GCM, SHA-384
    server_context.set_ciphers("TLS_AES_128_GCM_SHA256")  # SHA-256 now
    server_context.set_groups("secp256r1")
    client, server = handshake(client_context, server_context, session=session)
    assert not client.session_reused and not server.session_reused
    assert server.peer_certificates == () and client.peer_certificates  # certificates ran


def test_resumed_peer_certificates_are_the_originals(identity: tuple[str, str, str]) -> None:
    client_context, server_context = contexts(identity)
    first, _ = handshake(client_context, server_context)
    client, _ = handshake(client_context, server_context, session=first.session)
    assert client.session_reused and client.peer_certificates == first.peer_certificates


def test_num_tickets(identity: tuple[str, str, str]) -> None:
    client_context, server_context = contexts(identity)
    server_context.num_tickets = 0
    client, _ = handshake(client_context, server_context)
    assert client.session is None
    server_context.num_tickets = 3
    client, _ = handshake(client_context, server_context)
    assert len(client._sessions) == 3
    assert len({s.ticket for s in client._sessions}) == 3
    with pytest.raises(ValueError, match="not a server context"):
        client_context.num_tickets = 1


def test_session_set_before_the_client_hello_leaves(identity: tuple[str, str, str]) -> None:
    client_context, server_context = contexts(identity)
    client, _ = handshake(client_context, server_context)
    session = client.session
    assert session is not None
    assert session.psk.hex() not in repr(session)
    # Set after creation: fine until the ClientHello is taken.
    conn = Connection(client_context, server_hostname="localhost")
    conn.session = session
    server = Connection(server_context, server_side=True)
    server.receive_data(conn.data_to_send())
    with pytest.raises(ValueError, match="after handshake"):
        conn.session = session
    conn.receive_data(server.data_to_send())
    exchange(conn, server)
    assert conn.session_reused and server.session_reused


def test_the_server_caps_ticket_lifetime_at_seven_days(
    identity: tuple[str, str, str],
) -> None:
    client_context, server_context = contexts(identity)
    server_context.ticket_lifetime = 8 * 24 * 3600  # capped to 7 days by the server
    client, _ = handshake(client_context, server_context)
    assert client.session is not None and client.session.ticket_lifetime_hint == 7 * 24 * 3600


# --- the ticket machinery ------------------------------------------------------------------------


def state() -> TicketState:
    return TicketState(0x1301, 1, 60, 7, 0, b"k" * 32, b"h2", "localhost", b"")


def test_tickets_open_only_under_their_keys() -> None:
    keys = TicketKeys([bytes(32)])
    ticket = keys.seal(state())
    assert keys.open(ticket) == state()
    assert TicketKeys([bytes(31) + b"\x01"]).open(ticket) is None
    for position in range(len(ticket)):
        tampered = bytearray(ticket)
        tampered[position] ^= 1
        assert keys.open(bytes(tampered)) is None
    assert keys.open(ticket[:20]) is None
    assert "k" * 32 not in repr(state())


def test_a_ticket_state_without_a_psk_is_no_ticket(identity: tuple[str, str, str]) -> None:
    """A state with an empty PSK (this version never seals one; it takes the ticket key to)
    is no ticket of ours: a full handshake, not a ValueError out of the server's key schedule
    (found by tests/fuzz/fuzz_tickets.py, tests/fuzz/regressions/fuzz_tickets/)."""
    client_context, server_context = contexts(identity)
    client, _ = handshake(client_context, server_context)
    assert client.session is not None
    keys = server_context.ticket_keys
    issued = keys.open(client.session.ticket)
    assert issued is not None
    ticket = keys.seal(dataclasses.replace(issued, psk=b""))
    assert keys.open(ticket) is None
    session = dataclasses.replace(client.session, ticket=ticket)  # the client's PSK is intact
    client, server = handshake(client_context, server_context, session=session)
    assert not client.session_reused and not server.session_reused


def test_strike_register() -> None:
    register = StrikeRegister(capacity=2)
    assert register.first_use(b"a", expires_at=10, now=0)
    assert not register.first_use(b"a", expires_at=10, now=1)  # a replay
    assert register.first_use(b"b", expires_at=5, now=1)
    assert not register.first_use(b"c", expires_at=10, now=2)  # full: refuse, never forget
    assert register.first_use(b"c", expires_at=10, now=6)  # b expired, room again
    assert not register.first_use(b"a", expires_at=10, now=6)
    assert register.first_use(b"a", expires_at=20, now=11)  # a's ticket expired

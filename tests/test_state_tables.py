"""The handshake state tables drive the negative tests (issue 13, item 3).

Each role's ``TRANSITIONS`` says which handshake messages each state accepts. Two tests follow
from it, cell by cell:

- every (state, message type) pair the table leaves out ends in unexpected_message (RFC 8446
  §4: "an unexpected message ... MUST abort the handshake with an unexpected_message alert"),
  decided before any handler runs, so a missing or misplaced entry cannot hide behind a handler;
- every entry the table has is taken by some real handshake between cytls peers (full, HRR,
  mutual TLS, resumption with 0-RTT, post-handshake authentication, KeyUpdate; TLS 1.2 with
  ``ssl`` as the client), so the table has no entry nothing can reach, and what these
  handshakes do is all in the table.

The handshakes here run against a recording :class:`HandshakeOutput` (no record layer), which
is also what shows that the state machines need nothing but that port.
"""

from __future__ import annotations

import contextlib
import logging
import ssl

import pytest
from handshakeutil import (
    client_context,
    client_credentials,
    credentials,
    handshake,
    pump,
    server_context,
)
from test_client_auth import mtls_client, mtls_server

import cytls
from cytls.errors import ProtocolError
from cytls.events import Event
from cytls.handshake.client13 import ClientHandshake, ClientState
from cytls.handshake.common import Environment, Handshake, HandshakeState
from cytls.handshake.hello import HelloState, ServerHelloPhase
from cytls.handshake.output import KeyChange, Negotiated
from cytls.handshake.policy import HandshakePolicy
from cytls.handshake.server12 import Server12State, ServerHandshake12
from cytls.handshake.server13 import ServerHandshake, ServerState
from cytls.session import Session
from cytls.wire.enums import AlertDescription
from cytls.wire.messages import HandshakeType, handshake_message

ROLES: dict[str, type[Handshake]] = {
    "client": ClientHandshake,
    "server": ServerHandshake,
    "server hello phase": ServerHelloPhase,
    "TLS 1.2 server": ServerHandshake12,
}
# Every message type RFC 8446 §4 defines, and two it does not (a peer may send anything).
MESSAGE_TYPES = [*(int(t) for t in HandshakeType), 3, 200]


class RecordingOutput:
    """A HandshakeOutput that keeps what a handshake emits, with no records at all."""

    def __init__(self, policy: HandshakePolicy) -> None:
        self.policy = policy
        self.messages: list[bytes] = []
        self.key_changes: list[KeyChange] = []
        self.events: list[Event] = []

    def send_handshake(self, raw: bytes) -> None:
        self.messages.append(raw)

    def send_change_cipher_spec(self) -> None:
        pass

    def send_early_data(self, data: bytes, max_plaintext: int) -> None:
        pass

    def change_key(self, change: KeyChange) -> None:
        self.key_changes.append(change)

    def set_record_version(self, version: int) -> None:
        pass

    def skip_early_data(self, limit: int) -> None:
        pass

    def accept_plaintext_alerts(self, accept: bool) -> None:
        pass

    def accept_application_data(self) -> None:
        pass

    def log_secret(self, label: str, client_random: bytes, secret: bytes) -> None:
        pass

    def event(self, event: Event) -> None:
        self.events.append(event)

    def resumed(self) -> None:
        pass

    def negotiated(self, parameters: Negotiated) -> None:
        pass

    def new_session(self, session: Session) -> None:
        pass

    def server_name_received(self, server_name: str | None) -> HandshakePolicy:
        return self.policy

    def early_data_received(self) -> int:
        return 0

    def records_written_under_write_key(self) -> int:
        return 0


def machine(role: str) -> Handshake:
    server_side = role.startswith("server")
    context = server_context() if server_side else client_context()
    policy = context.handshake_policy(server_side)
    return ROLES[role](policy, RecordingOutput(policy), Environment())


def cells(accepted: bool) -> list[object]:
    """(role, state, message type) for each cell the tables accept, or each they leave out."""
    return [
        pytest.param(role, state, msg_type, id=f"{role}-{state.name}-{msg_type}")
        for role, cls in ROLES.items()
        for state, accepts in cls.TRANSITIONS.items()
        for msg_type in MESSAGE_TYPES
        if (msg_type in accepts) == accepted
    ]


def test_every_state_has_a_row() -> None:
    assert set(ClientHandshake.TRANSITIONS) == set(ClientState)
    assert set(ServerHandshake.TRANSITIONS) == set(ServerState)
    assert set(ServerHelloPhase.TRANSITIONS) == set(HelloState)
    assert set(ServerHandshake12.TRANSITIONS) == set(Server12State)
    for cls in ROLES.values():
        for accepts in cls.TRANSITIONS.values():
            for handler in accepts.values():
                assert callable(getattr(cls, handler)), handler


@pytest.mark.parametrize(("role", "state", "msg_type"), cells(accepted=False))
def test_messages_outside_the_table_are_unexpected(
    role: str, state: HandshakeState, msg_type: int
) -> None:
    hs = machine(role)
    hs.enter(state)
    emitted = hs.output
    assert isinstance(emitted, RecordingOutput)
    with pytest.raises(ProtocolError) as info:
        hs.receive_handshake_record(handshake_message(msg_type, b""))
    assert info.value.alert == AlertDescription.unexpected_message
    assert f"is not expected in state {state.name}" in str(info.value)
    assert hs.state is state and not emitted.messages and not emitted.key_changes


@pytest.fixture(scope="module")
def taken_cells() -> set[tuple[str, str, int]]:
    """(role, state, message type) of every message real handshakes dispatched."""
    taken: set[tuple[str, str, int]] = set()
    original = Handshake._dispatch

    roles = {cls: role for role, cls in ROLES.items()}

    def recording(self: Handshake, msg_type: int, body: bytes, raw: bytes) -> None:
        taken.add((roles[type(self)], self.state.name, msg_type))
        original(self, msg_type, body, raw)

    Handshake._dispatch = recording  # type: ignore[method-assign]
    try:
        run_every_kind_of_handshake()
    finally:
        Handshake._dispatch = original  # type: ignore[method-assign]
    return taken


def run_every_kind_of_handshake() -> None:
    # Full handshake, tickets, KeyUpdate both ways.
    client, server = handshake()
    client.key_update(request_peer=True)
    pump(client, server)
    # HelloRetryRequest: the server wants a group the client has no share for.
    handshake(client_context(groups="x25519:secp256r1"), server_context(groups="secp256r1"))
    # Mutual TLS in the handshake, then post-handshake authentication (RFC 8446 §4.6.2).
    client, server = handshake(mtls_client(client_credentials(), pha=True), mtls_server())
    server.verify_client_post_handshake()
    pump(client, server)
    # Resumption with 0-RTT data (EndOfEarlyData).
    client_ctx, server_ctx = client_context(), server_context()
    server_ctx.max_early_data_size = 1024
    first, _ = handshake(client_ctx, server_ctx)
    session = first.session
    assert session is not None
    client = cytls.Connection(
        client_ctx, server_hostname="localhost", session=session, early_data=b"early"
    )
    server = cytls.Connection(server_ctx, server_side=True)
    pump(client, server)
    assert client.session_reused and client.early_data_accepted
    # TLS 1.2: the ssl module as the client (cytls has no TLS 1.2 client yet).
    ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ssl_context.load_verify_locations(cadata=credentials().ca_pem)
    ssl_context.maximum_version = ssl.TLSVersion.TLSv1_2
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls12 = ssl_context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    server = cytls.Connection(server_context(), server_side=True)
    for _ in range(3):
        with contextlib.suppress(ssl.SSLWantReadError):
            tls12.do_handshake()
        server.receive_data(outgoing.read())
        incoming.write(server.data_to_send())
    assert server.handshake_complete and server.version() == "TLSv1.2"


@pytest.mark.parametrize(("role", "state", "msg_type"), cells(accepted=True))
def test_every_table_entry_is_taken_by_a_real_handshake(
    taken_cells: set[tuple[str, str, int]], role: str, state: HandshakeState, msg_type: int
) -> None:
    assert (role, state.name, msg_type) in taken_cells


def test_transitions_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="cytls.handshake"):
        handshake()
    lines = [record.getMessage() for record in caplog.records if record.name == "cytls.handshake"]
    assert "client START -> WAIT_SERVER_HELLO" in lines
    assert "server WAIT_CLIENT_HELLO -> HANDED_OVER" in lines  # the hello phase
    assert "server START -> WAIT_FINISHED" in lines  # the TLS 1.3 state machine
    assert "client WAIT_FINISHED -> CONNECTED" in lines
    assert "server WAIT_FINISHED -> CONNECTED" in lines

"""The hello phase: the start of every handshake, before the protocol version is known, and the
dispatch to the state machine of the version negotiated.

Server: :class:`ServerHelloPhase` waits for the ClientHello, reads it once, chooses the version
(:func:`cytls.handshake.versions.server_choice`) and hands the ClientHello to that version's
state machine (:data:`SERVER_HANDSHAKES`), which takes every message after it
(``Handshake.successor``). Client: :func:`new_client` starts the state machine whose ClientHello
offers every enabled version (TLS 1.3's: its ClientHello is also a valid TLS 1.2 one, RFC 8446
§4.1.2), which reads the server's choice with :func:`cytls.handshake.versions.client_learns`.

The TLS 1.2 server (``server12.py``) is the second entry of :data:`SERVER_HANDSHAKES`; a TLS 1.2
client (``client12.py``) will be one more in :data:`CLIENT_HANDSHAKES` and
``versions.CLIENT_IMPLEMENTED``. DTLS gets its own hello phase (its ClientHello carries a
cookie).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from cytls.handshake.client13 import ClientHandshake
from cytls.handshake.common import (
    Environment,
    Handshake,
    HandshakeState,
    read_client_hello,
    require,
)
from cytls.handshake.output import HandshakeOutput
from cytls.handshake.policy import HandshakePolicy
from cytls.handshake.server12 import ServerHandshake12
from cytls.handshake.server13 import ServerHandshake
from cytls.handshake.versions import server_choice
from cytls.registry import ProtocolVersion
from cytls.wire.enums import AlertDescription
from cytls.wire.messages import ExtensionType, HandshakeType, find_extension

SERVER_HANDSHAKES: Mapping[int, type[ServerHandshake] | type[ServerHandshake12]] = {
    ProtocolVersion.TLSv1_3: ServerHandshake,
    ProtocolVersion.TLSv1_2: ServerHandshake12,
}
"""The server state machine for each version cytls implements."""
CLIENT_HANDSHAKES: Mapping[int, type[ClientHandshake]] = {
    ProtocolVersion.TLSv1_3: ClientHandshake,
}
"""The client state machine that builds the ClientHello when this version is the highest
enabled."""


class HelloState(HandshakeState):
    WAIT_CLIENT_HELLO = "wait_client_hello"
    HANDED_OVER = "handed_over"


class ServerHelloPhase(Handshake):
    """A server before the ClientHello: only ClientHello is acceptable (RFC 8446 §4.1.2)."""

    ROLE = "server"
    INITIAL = HelloState.WAIT_CLIENT_HELLO
    TRANSITIONS: ClassVar[Mapping[HandshakeState, Mapping[int, str]]] = {
        HelloState.WAIT_CLIENT_HELLO: {HandshakeType.client_hello: "_client_hello"},
        HelloState.HANDED_OVER: {},  # the successor takes every message
    }

    def start(self) -> None:
        self.peer_change_cipher_spec_allowed = False  # only after a ClientHello (RFC 8446 §5)

    def _client_hello(self, msg_type: int, body: bytes, raw: bytes) -> None:
        hello, ignored = read_client_hello(body)
        version = server_choice(
            find_extension(hello.extensions, ExtensionType.supported_versions),
            self.policy.versions,
            hello.legacy_version,
        )
        machine = SERVER_HANDSHAKES[version](self.policy, self.output, self.environment)
        # What follows the ClientHello is the machine's, under the machine's limits.
        machine.reassembler = self.reassembler
        self.reassembler.set_limit(machine.message_limit)
        machine.start()
        machine.close_notify_sent = self.close_notify_sent  # close() before the ClientHello
        self.successor = machine
        self.enter(HelloState.HANDED_OVER)
        machine.receive_client_hello(hello, ignored, raw)


def new_server(
    policy: HandshakePolicy, output: HandshakeOutput, environment: Environment
) -> Handshake:
    """A server handshake, waiting for the ClientHello."""
    _require_a_version(policy)
    phase = ServerHelloPhase(policy, output, environment)
    phase.start()
    return phase


def new_client(
    policy: HandshakePolicy, output: HandshakeOutput, environment: Environment
) -> ClientHandshake:
    """The client state machine for the highest enabled version (not started)."""
    _require_a_version(policy)
    return CLIENT_HANDSHAKES[policy.versions[0]](policy, output, environment)


def _require_a_version(policy: HandshakePolicy) -> None:
    """A connection whose context enables no version cytls implements fails as it starts."""
    require(
        bool(policy.versions),
        AlertDescription.protocol_version,
        "no protocol version cytls implements is within minimum_version..maximum_version",
    )

"""What the client and server handshakes share: the plumbing to the record layer, the
transcript, the rules for extensions, and the injectable sources of randomness and time."""

from __future__ import annotations

import enum
import hmac
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from cytls._hello import code_point_bitmap, sift_client_hello
from cytls.crypto.groups import GROUP_NAMES, ClientKeyShare, server_key_exchange
from cytls.crypto.keyschedule import (
    SUITES,
    KeySchedule,
    Transcript,
    export_keying_material,
    finished_verify_data,
    next_application_traffic_secret,
    traffic_keys,
)
from cytls.errors import ProtocolError
from cytls.events import HandshakeComplete, KeyUpdated
from cytls.handshake.output import Direction, HandshakeOutput, KeyChange, KeyLevel, Negotiated
from cytls.handshake.policy import HandshakePolicy
from cytls.registry import (
    EMPTY_RENEGOTIATION_INFO_SCSV,
    TLS_FALLBACK_SCSV,
    CipherSuite,
    ProtocolVersion,
)
from cytls.wire import extensions as ext
from cytls.wire.enums import AlertDescription
from cytls.wire.messages import (
    ClientHello,
    ExtensionType,
    Finished,
    HandshakeReassembler,
    HandshakeType,
    KeyUpdate,
    find_extension,
    handshake_message,
)

_log = logging.getLogger("cytls.handshake")

TLS13 = ProtocolVersion.TLSv1_3
TLS12 = ProtocolVersion.TLSv1_2

# PskKeyExchangeMode (RFC 8446 §4.2.9): the PSK alone, or the PSK with a fresh (EC)DHE.
PSK_KE, PSK_DHE_KE = 0, 1

# Handshake message limits (README, "Limits and hostile input"): a Certificate may be as large
# as the context's max_cert_list (OpenSSL's 100 KiB by default), a ClientHello as OpenSSL's
# CLIENT_HELLO_MAX_LENGTH (room for every list at its largest legal size), anything else 64 KiB.
MAX_HANDSHAKE_MESSAGE = 1 << 16
MAX_CLIENT_HELLO = 131396


# RFC 8446 §4.2: the messages each extension may appear in (CH, SH, HRR, EE, CT, CR, NST).
# An extension we recognise in a message not listed here ends in illegal_parameter.
ALLOWED_IN_SERVER_HELLO = frozenset(
    {ExtensionType.key_share, ExtensionType.pre_shared_key, ExtensionType.supported_versions}
)
ALLOWED_IN_HELLO_RETRY_REQUEST = frozenset(
    {ExtensionType.key_share, ExtensionType.cookie, ExtensionType.supported_versions}
)
ALLOWED_IN_ENCRYPTED_EXTENSIONS = frozenset(
    {
        ExtensionType.server_name,
        ExtensionType.max_fragment_length,
        ExtensionType.supported_groups,
        ExtensionType.use_srtp,
        ExtensionType.heartbeat,
        ExtensionType.application_layer_protocol_negotiation,
        ExtensionType.client_certificate_type,
        ExtensionType.server_certificate_type,
        ExtensionType.early_data,
        ExtensionType.record_size_limit,
    }
)
ALLOWED_IN_CERTIFICATE = frozenset(
    {ExtensionType.status_request, ExtensionType.signed_certificate_timestamp}
)
KNOWN_EXTENSIONS = frozenset(int(e) for e in ExtensionType)


def require(condition: bool, alert: AlertDescription, message: str) -> None:
    """Abort the handshake with ``alert`` unless ``condition`` holds."""
    if not condition:
        raise ProtocolError(alert, message)


def check_server_extensions(
    extensions: list[tuple[int, bytes]],
    allowed: frozenset[int],
    offered: set[int],
    message: str,
) -> None:
    """RFC 8446 §4.2: a server may only send extensions the client offered (else
    unsupported_extension), and each only in the messages the RFC lists (else illegal_parameter).
    """
    for ext_type, _ in extensions:
        if ext_type not in offered and ext_type != ExtensionType.cookie:
            raise ProtocolError(
                AlertDescription.unsupported_extension,
                f"{message} carries extension {_ext_name(ext_type)}, "
                "which the client did not offer",
            )
        if ext_type not in allowed:
            raise ProtocolError(
                AlertDescription.illegal_parameter,
                f"{message} carries extension {_ext_name(ext_type)}, not allowed there",
            )


def _ext_name(ext_type: int) -> str:
    try:
        return ExtensionType(ext_type).name
    except ValueError:
        return str(ext_type)


def message_name(msg_type: int) -> str:
    """``certificate (11)``: a handshake message type as errors name it."""
    try:
        return f"{HandshakeType(msg_type).name} ({msg_type})"
    except ValueError:
        return f"handshake message {msg_type}"


# The two SCSVs are kept with the suites for the TLS 1.2 server to see (RFC 5746 §3.6,
# RFC 7507 §3).
_RECOGNIZED_SUITES = code_point_bitmap(
    (*CipherSuite, EMPTY_RENEGOTIATION_INFO_SCSV, TLS_FALLBACK_SCSV)
)
_RECOGNIZED_EXTENSIONS = code_point_bitmap(ExtensionType)


def read_client_hello(body: bytes) -> tuple[ClientHello, tuple[bytes, bytes]]:
    """The ClientHello without the cipher suites and extensions cytls does not recognize (a
    server ignores them, RFC 8446 §4.1.2, §4.2), and those as raw bytes (suites, extensions).

    Sifted out in C before the parse, so that a peer who fills 64 KiB with them costs no more
    than one who does not (README, "Limits and hostile input"); the parse fails as it would on
    the whole message.
    """
    sifted, ignored_suites, ignored_extensions = sift_client_hello(
        body, _RECOGNIZED_SUITES, _RECOGNIZED_EXTENSIONS
    )
    return ClientHello.parse(sifted), (ignored_suites, ignored_extensions)


def check_finished(expected: bytes, body: bytes, peer: str, section: str) -> None:
    """The peer's Finished body against the verify_data we computed: decode_error if its
    length differs, decrypt_error if it does not match (compared in constant time)."""
    received = Finished.parse(body).verify_data
    require(
        len(received) == len(expected),
        AlertDescription.decode_error,
        f"Finished of {len(received)} bytes, not {len(expected)} ({section})",
    )
    require(
        hmac.compare_digest(expected, received),
        AlertDescription.decrypt_error,
        f"the {peer}'s Finished does not match the handshake ({section})",
    )


def choose_alpn(policy: HandshakePolicy, hello: ClientHello) -> bytes | None:
    """As the ssl module: our first protocol that the client offers, else no ALPN."""
    alpn_data = find_extension(
        hello.extensions, ExtensionType.application_layer_protocol_negotiation
    )
    if alpn_data is None or not policy.alpn_protocols:
        return None
    offered = ext.decode_alpn(alpn_data)
    return next((protocol for protocol in policy.alpn_protocols if protocol in offered), None)


class HandshakeState(enum.Enum):
    """The base of each role's state enum (members are the roles')."""


@dataclass
class Environment:
    """Sources of randomness, time and ephemeral keys; replaced in tests (RFC 8448 traces)."""

    random_bytes: Callable[[int], bytes] = os.urandom
    now: Callable[[], float] = time.time
    client_key_share: Callable[[int], ClientKeyShare] = ClientKeyShare.generate
    server_key_exchange: Callable[[int, bytes], tuple[bytes, bytes]] = field(
        default=server_key_exchange
    )
    client_hello_hook: Callable[[ClientHello], ClientHello] | None = None
    """Rewrites our ClientHello before it is sent: known-answer tests replay a trace's."""


class Handshake:
    """State shared by both roles; subclasses hold the state machine.

    States are explicit: ``self.state`` is a member of the role's state enum, and the role's
    ``TRANSITIONS`` table names, for each state, the handshake messages it accepts and the
    method that handles each. Anything else is unexpected_message, decided in one place
    (:meth:`_dispatch`) and tested cell by cell from the same table.

    The handshake never touches records or the live context: it reads a frozen
    :class:`HandshakePolicy` and acts through a :class:`HandshakeOutput`.
    """

    # Slots, not a __dict__: a handshake object lives as long as its connection, and with more
    # than 30 attributes CPython gives each instance a dict of its own (issue 14: memory per
    # idle connection). Subclasses list theirs.
    __slots__ = (
        "_accepts",
        "_key_update_reply_pending",
        "_log_transitions",
        "alpn_protocol",
        "client_random",
        "close_notify_sent",
        "early_data_accepted",
        "early_data_length",
        "environment",
        "exporter_master_secret",
        "group",
        "handshake_transcript",
        "key_schedule",
        "output",
        "peer_certificates",
        "peer_change_cipher_spec_allowed",
        "policy",
        "psk_accepted",
        "read_secret",
        "reading_early_data",
        "reassembler",
        "resumption_master_secret",
        "server_name",
        "state",
        "successor",
        "suite",
        "transcript",
        "write_secret",
    )

    ROLE: ClassVar[str]
    INITIAL: ClassVar[HandshakeState]
    TRANSITIONS: ClassVar[Mapping[HandshakeState, Mapping[int, str]]]
    """state -> {handshake message type -> name of the method that handles it}."""

    def __init__(
        self, policy: HandshakePolicy, output: HandshakeOutput, environment: Environment
    ) -> None:
        self.policy = policy
        self.output = output
        self.environment = environment
        self.reassembler = HandshakeReassembler(limit_for=self.message_limit)
        self.state: HandshakeState = self.INITIAL
        self._accepts = self.TRANSITIONS[self.INITIAL]  # the state's row, looked up on entry
        # Whether transitions are logged, decided once per handshake (a check per transition
        # costs more than the transition).
        self._log_transitions = _log.isEnabledFor(logging.DEBUG)
        self.suite: int | None = None
        self.group: int | None = None
        self.alpn_protocol: bytes | None = None
        self.server_name: str | None = None
        self.peer_certificates: tuple[bytes, ...] = ()
        self.transcript: Transcript | None = None
        self.handshake_transcript: Transcript | None = None
        """The transcript up to the client Finished, kept for post-handshake authentication."""
        self.key_schedule: KeySchedule | None = None
        self.client_random = b""
        self.read_secret = b""
        self.write_secret = b""
        self.exporter_master_secret = b""
        self.resumption_master_secret = b""
        self.peer_change_cipher_spec_allowed = True
        self.psk_accepted = False  # a resumed session
        self.early_data_accepted = False
        self.early_data_length = 0
        self.reading_early_data = False  # a server between accepting 0-RTT and EndOfEarlyData
        self.close_notify_sent = False
        """We sent close_notify: nothing more may be sent (RFC 8446 §6.1), not even a reply."""
        self._key_update_reply_pending = False
        self.successor: Handshake = self
        """Who takes the next message: this machine, or the one the hello phase handed over to
        once the protocol version was known (cytls.handshake.hello)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.state.name}>"

    def enter(self, state: HandshakeState) -> None:
        """Move to ``state``; logged at DEBUG on the ``cytls.handshake`` logger (when DEBUG was
        enabled as the handshake started)."""
        if self._log_transitions:
            _log.debug("%s %s -> %s", self.ROLE, self.state.name, state.name)
        self.state = state
        self._accepts = self.TRANSITIONS[state]

    def stop_sending(self) -> None:
        """We sent close_notify: from now on nothing is sent, not even a reply (§6.1)."""
        self.close_notify_sent = True

    # --- input --------------------------------------------------------------------------------

    def receive_handshake_record(self, payload: bytes) -> None:
        """Reassemble handshake messages (RFC 8446 §5.1) and run each through the state."""
        self.reassembler.feed(payload)
        machine = self
        while (message := self.reassembler.next_message()) is not None:
            machine._dispatch(*message)
            machine = machine.successor

    def _dispatch(self, msg_type: int, body: bytes, raw: bytes) -> None:
        handler = self._accepts.get(msg_type)
        if handler is None:
            raise ProtocolError(
                AlertDescription.unexpected_message,
                f"{message_name(msg_type)} is not expected in state {self.state.name} "
                "(RFC 8446 §4)",
            )
        getattr(self, handler)(msg_type, body, raw)

    def has_partial_message(self) -> bool:
        """Part of a handshake message is buffered: nothing else may come until its end."""
        return self.reassembler.has_partial()

    def receive_change_cipher_spec(self) -> None:
        """The byte 0x01, only while the handshake may still see one (RFC 8446 §5)."""
        require(
            self.peer_change_cipher_spec_allowed,
            AlertDescription.unexpected_message,
            "change_cipher_spec outside the handshake (RFC 8446 §5)",
        )

    def message_limit(self, msg_type: int) -> int:
        """The largest body of a handshake message of this type we buffer."""
        if msg_type == HandshakeType.certificate:
            return self.policy.max_cert_list
        if msg_type == HandshakeType.client_hello:
            return MAX_CLIENT_HELLO
        return MAX_HANDSHAKE_MESSAGE

    # --- output -------------------------------------------------------------------------------

    def send(self, msg_type: int, body: bytes) -> bytes:
        """Write one handshake message and add it to the transcript."""
        return self.send_to(self.transcript, msg_type, body)

    def send_to(self, transcript: Transcript | None, msg_type: int, body: bytes) -> bytes:
        """Write one handshake message and add it to ``transcript``: post-handshake
        authentication hashes the handshake plus its own messages only (RFC 8446 §4.4.1)."""
        raw = handshake_message(msg_type, body)
        self.output.send_handshake(raw)
        if transcript is not None:
            transcript.update(raw)
        return raw

    # --- keys ---------------------------------------------------------------------------------

    def set_read_secret(self, secret: bytes, label: str, level: KeyLevel) -> None:
        """Switch the read side; handshake messages must not span the change (RFC 8446 §5.1)."""
        require(
            self.reassembler.buffered() == 0,
            AlertDescription.unexpected_message,
            "a handshake message spans a key change (RFC 8446 §5.1)",
        )
        self.output.change_key(self._key_change(Direction.READ, level, secret))
        self.read_secret = secret
        self.log_secret(label, secret)

    def set_write_secret(self, secret: bytes, label: str, level: KeyLevel) -> None:
        self.output.change_key(self._key_change(Direction.WRITE, level, secret))
        self.write_secret = secret
        self.log_secret(label, secret)

    def _key_change(self, direction: Direction, level: KeyLevel, secret: bytes) -> KeyChange:
        assert self.suite is not None
        key, iv = traffic_keys(self.suite, secret)
        return KeyChange(direction, level, SUITES[self.suite], key, iv)

    def log_secret(self, label: str, secret: bytes) -> None:
        if label:
            self.output.log_secret(label, self.client_random, secret)

    @property
    def hash_name(self) -> str:
        assert self.suite is not None
        return SUITES[self.suite].hash_name

    def finished_data(self, base_key: bytes, transcript: Transcript | None = None) -> bytes:
        """Finished.verify_data over ``transcript`` (the handshake's by default)."""
        if transcript is None:
            transcript = self.transcript
        assert transcript is not None
        return finished_verify_data(self.hash_name, base_key, transcript.digest())

    def check_peer_finished(
        self, body: bytes, base_key: bytes, peer: str, transcript: Transcript | None = None
    ) -> None:
        """The peer's Finished against the transcript so far (RFC 8446 §4.4.4)."""
        check_finished(self.finished_data(base_key, transcript), body, peer, "RFC 8446 §4.4.4")

    def finish(self) -> None:
        """The handshake is complete: report what was negotiated."""
        assert self.suite is not None and self.group is not None
        self.peer_change_cipher_spec_allowed = False
        # Only post-handshake authentication reads the transcript again (§4.4.1); an idle
        # connection keeps no hash state otherwise.
        self.handshake_transcript = self.transcript if self.post_handshake_auth_possible() else None
        self.transcript = None
        parameters = self.negotiated()
        self.output.negotiated(parameters)
        self.output.event(
            HandshakeComplete(
                version=parameters.version,
                cipher_suite=parameters.suite.name,
                group=GROUP_NAMES.get(self.group, str(self.group)) if self.group else None,
                alpn_protocol=self.alpn_protocol.decode("ascii") if self.alpn_protocol else None,
                server_name=self.server_name,
                peer_certificates=self.peer_certificates,
                session_resumed=self.psk_accepted,
            )
        )

    def negotiated(self) -> Negotiated:
        """What was agreed, as the connection and the I/O adapters see it."""
        assert self.suite is not None
        return Negotiated(
            version="TLSv1.3",
            suite=SUITES[self.suite],
            group=self.group or None,
            alpn_protocol=self.alpn_protocol,
            server_name=self.server_name,
            peer_certificates=self.peer_certificates,
            session_resumed=self.psk_accepted,
            early_data_accepted=self.early_data_accepted,
            early_data_length=self.early_data_length,
        )

    def forget_handshake_secrets(self) -> None:
        """Once all that derives from a secret is computed, it "SHOULD be erased" (RFC 8446
        §7.1): after the handshake only the current traffic secrets, the exporter master
        secret and the resumption master secret stay. Python cannot zero a bytes object; it
        can drop the last reference, which is what this does."""
        self.key_schedule = None

    def check_early_data_size(self) -> None:
        """RFC 8446 §4.2.10: more 0-RTT data than max_early_data_size is unexpected_message."""
        if not self.reading_early_data:
            return
        limit = self.policy.max_early_data_size
        require(
            self.output.early_data_received() <= limit,
            AlertDescription.unexpected_message,
            f"more than max_early_data_size ({limit}) bytes of 0-RTT data (RFC 8446 §4.2.10)",
        )

    def export_keying_material(self, label: bytes, context: bytes | None, length: int) -> bytes:
        """RFC 8446 §7.5, once the handshake is complete (no context is the empty one)."""
        return export_keying_material(
            self.hash_name, self.exporter_master_secret, label, context or b"", length
        )

    def post_handshake_auth_possible(self) -> bool:
        """Whether post-handshake authentication was offered (RFC 8446 §4.2.6)."""
        return False

    # --- after the handshake ------------------------------------------------------------------

    def receive_key_update(self, body: bytes) -> None:
        """RFC 8446 §4.6.3: a new read key; a request is answered with our own KeyUpdate."""
        message = KeyUpdate.parse(body)
        self.set_read_secret(
            next_application_traffic_secret(self.hash_name, self.read_secret),
            "",
            KeyLevel.APPLICATION,
        )
        # One reply answers every request that came before our next record (§4.6.3): while the
        # last one is the newest thing we wrote, another would only cost a key derivation and
        # a record per request. After close_notify nothing is sent at all (§6.1).
        reply_pending = (
            self._key_update_reply_pending and self.output.records_written_under_write_key() == 0
        )
        if message.request_update and not reply_pending and not self.close_notify_sent:
            self.send_key_update(request_peer=False)
            self._key_update_reply_pending = True
        self.output.event(KeyUpdated(peer_requested_update=bool(message.request_update)))

    def send_key_update(self, *, request_peer: bool) -> None:
        """Send KeyUpdate under the old key, then switch the write side (RFC 8446 §4.6.3)."""
        self._key_update_reply_pending = False
        self.send(HandshakeType.key_update, KeyUpdate(1 if request_peer else 0).serialize())
        self.set_write_secret(
            next_application_traffic_secret(self.hash_name, self.write_secret),
            "",
            KeyLevel.APPLICATION,
        )

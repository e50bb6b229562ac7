"""The sans-I/O TLS connection: bytes in, bytes out, events, application data.

    conn = Connection(context, server_hostname="example.com")
    sock.sendall(conn.data_to_send())            # ClientHello
    conn.receive_data(sock.recv(65536))          # b"" means the peer closed the TCP stream
    while (event := conn.next_event()) is not None: ...
    conn.send(b"GET / HTTP/1.1\\r\\n...")
    data = conn.recv()

Python runs per call; the record layer (cytls._record) runs per record. Application data is
never an event: ``recv``/``recv_into`` drain it straight from the record layer's buffer.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable

from cytls import _record
from cytls._datapath import ConnectionCore
from cytls.context import TLSContext
from cytls.errors import PeerAlert, ProtocolError, TLSError, TruncationError, WantReadError
from cytls.events import AlertReceived, ConnectionClosed, Event
from cytls.handshake import hello
from cytls.handshake.common import Environment, Handshake, require
from cytls.handshake.output import Direction, KeyChange, KeyLevel, Negotiated
from cytls.handshake.policy import HandshakePolicy
from cytls.handshake.server13 import ServerHandshake
from cytls.session import Session, check_session
from cytls.wire.enums import AlertDescription, AlertLevel

# WantReadError and TruncationError live in cytls.errors (the C data path raises them); they are
# still importable from here, where they were first defined.
__all__ = ["Connection", "TruncationError", "WantReadError"]

# Non-fatal alerts (user_canceled) in a row without a handshake message or application data
# between them before the connection fails with unexpected_message: OpenSSL's
# MAX_WARN_ALERT_COUNT. Each is also an event, so an unbounded run would grow the queue.
MAX_WARNING_ALERTS = 5
MAX_KEPT_SESSIONS = 8  # a server may send any number of tickets; we keep the newest


class Connection(ConnectionCore):
    """One TLS 1.3 connection, client or server, with no I/O of its own.

    The data path (``send``, ``data_to_send``, ``receive_data``, ``pending``, ``recv``,
    ``recv_into``) and the state it reads are in the C base class,
    :class:`cytls._datapath.ConnectionCore`; it calls back into this class for control records,
    end of file and failures.
    """

    def __init__(
        self,
        context: TLSContext,
        *,
        server_side: bool = False,
        server_hostname: str | None = None,
        environment: Environment | None = None,
        session: Session | None = None,
        early_data: bytes = b"",
        events: bool = True,
    ) -> None:
        """``session`` (client) resumes a session a server gave earlier (:attr:`session`);
        ``early_data`` is sent with the ClientHello as 0-RTT when its ticket allows it:
        :attr:`early_data_accepted` says afterwards whether the server took it (if not,
        send it again with :meth:`send`). ``events=False`` keeps no events, for wrappers that
        report none (``TLSObject`` and ``TLSSocket``, as ``ssl``'s)."""
        if server_side and server_hostname:
            raise ValueError("server_hostname can only be specified in client mode")
        check_session(session)
        if server_side and (session is not None or early_data):
            raise ValueError("session and early_data are for client connections")
        self._context = context
        self.server_side = server_side
        self.server_hostname = server_hostname
        self.sni_target: object = self
        """What an SNI callback gets as its first argument (``TLSObject`` puts itself here)."""
        self._events: deque[Event] = deque() if events else deque(maxlen=0)
        self._error: BaseException | None = None
        self._peer_closed = False
        self._closed = False
        self._eof = False
        self._warning_alerts = 0  # in a row, without progress (MAX_WARNING_ALERTS)
        self._bytes_at_last_alert = 0
        self._negotiated: Negotiated | None = None
        self._policy: HandshakePolicy  # the handshake's: frozen when it starts (_start_handshake)
        self._resumed = False
        self._sessions: list[Session] = []  # tickets received, newest last
        self._offered_session: Session | None = None
        self._sent_early_data = False
        self._environment = environment or Environment()
        self._output = _Output(self, _keylog_writer(context.keylog_filename))
        self._handshake: Handshake = self._start_handshake(session, bytes(early_data))

    def _start_handshake(self, session: Session | None, early_data: bytes) -> Handshake:
        policy = self._policy = self._context.handshake_policy(self.server_side)
        if self.server_side:
            return hello.new_server(policy, self._output, self._environment)
        client = hello.new_client(policy, self._output, self._environment)
        client.start(self.server_hostname, session, early_data)  # raises if it cannot offer them
        self._offered_session = session  # what session_reused (from the handshake) refers to
        self._sent_early_data = bool(early_data)
        return client

    def __repr__(self) -> str:
        side = "server" if self.server_side else "client"
        state = "failed" if self._error else "open" if self.handshake_complete else "handshaking"
        return f"<cytls.Connection {side} {state}>"

    # --- configuration ------------------------------------------------------------------------

    @property
    def context(self) -> TLSContext:
        return self._context

    @context.setter
    def context(self, context: TLSContext) -> None:
        """An SNI callback may switch the context, as with ``ssl.SSLObject.context``."""
        self._context = context
        self._policy = self._handshake.policy = context.handshake_policy(self.server_side)

    @property
    def negotiated(self) -> Negotiated | None:
        """What the handshake agreed (None until it completes): one immutable value."""
        return self._negotiated

    # --- resumption and 0-RTT (RFC 8446 §2.2, §2.3) ----------------------------------------------

    @property
    def session(self) -> Session | None:
        """Client: the newest session ticket the server sent on this connection (they come
        after the handshake, so read some data first), or the session being resumed; None
        on a server."""
        if self.server_side:
            return None
        if self._sessions:
            return self._sessions[-1]
        return self._offered_session if self.session_reused else None

    @session.setter
    def session(self, session: Session | None) -> None:
        """Offer ``session`` instead: possible until the ClientHello has been taken with
        :meth:`data_to_send` (``ssl``: "Cannot set session after handshake")."""
        check_session(session)
        if self.server_side:
            raise ValueError("Cannot set session for server-side SSLSocket")
        if self._record.bytes_to_send == 0 or self._sent_early_data:
            raise ValueError("Cannot set session after handshake.")
        self._record = _record.RecordLayer()
        self._output = _Output(self, self._output.keylog)
        self._resumed = False
        self._handshake = self._start_handshake(session, b"")

    @property
    def session_reused(self) -> bool:
        """Whether the handshake resumed a session (a PSK was accepted)."""
        return self._resumed

    @property
    def early_data_accepted(self) -> bool:
        """Whether 0-RTT data was accepted: by the server (client side, known once the
        handshake completes) or by us (server side)."""
        if self._negotiated is not None:
            return self._negotiated.early_data_accepted
        return self._output.early_data_accepted  # a server that accepted 0-RTT, mid-handshake

    @property
    def early_data_length(self) -> int:
        """Server: how many bytes at the start of the received stream came as 0-RTT data
        (replayable, RFC 8446 §8); final once the handshake is complete."""
        if self._negotiated is not None:
            return self._negotiated.early_data_length
        output = self._output
        if output.reading_early_data:
            return self._record.application_bytes_received
        return output.early_data_length

    # --- bytes in ------------------------------------------------------------------------------

    def _receive_eof(self) -> None:
        self._eof = True
        if self._peer_closed:
            return
        if not self.handshake_complete:
            self._error = TruncationError("the peer closed the connection during the handshake")
            raise self._error

    def _process_records(self) -> None:
        handshake = self._handshake
        while not self._peer_closed:
            record = self._record.next_record()
            if record is None:
                return
            content_type, payload = record
            if content_type == _record.HANDSHAKE:
                self._warning_alerts = 0
                try:
                    handshake.receive_handshake_record(payload)
                finally:
                    # The hello phase hands over to the negotiated version's state machine
                    # (even when a message after the ClientHello then fails).
                    handshake = self._handshake = handshake.successor
                # Nothing but the rest of a handshake message may follow a fragment (§5.1).
                self._record.hold_application_data = handshake.has_partial_message()
            elif content_type == _record.ALERT:
                self._receive_alert(payload)
            else:  # change_cipher_spec, already checked to be the byte 0x01
                handshake.receive_change_cipher_spec()

    def _receive_alert(self, payload: bytes) -> None:
        """RFC 8446 §6: close_notify and user_canceled are the only non-error alerts."""
        require(
            not self._record.hold_application_data,
            AlertDescription.unexpected_message,
            "an alert between the fragments of a handshake message (RFC 8446 §5.1)",
        )
        require(len(payload) == 2, AlertDescription.decode_error, "an alert is two bytes (§6)")
        level, description = payload
        if description == AlertDescription.close_notify:
            if not self.handshake_complete:
                self._error = PeerAlert(description)
                raise self._error
            self._peer_closed = True
            self._events.append(ConnectionClosed())
        elif description == AlertDescription.user_canceled:
            received = self._record.application_bytes_received
            if received != self._bytes_at_last_alert:  # application data came in between
                self._bytes_at_last_alert = received
                self._warning_alerts = 0
            self._warning_alerts += 1
            require(
                self._warning_alerts < MAX_WARNING_ALERTS,
                AlertDescription.unexpected_message,
                f"{MAX_WARNING_ALERTS} non-fatal alerts in a row without data or handshake "
                "progress",
            )
            self._events.append(AlertReceived(AlertDescription.user_canceled, level))
        else:
            # Every other alert is fatal in TLS 1.3, whatever its level says (§6.2).
            self._error = PeerAlert(description)
            self._closed = True
            raise self._error

    def _fail(self, error: ProtocolError) -> None:
        """Send the fatal alert the error names; the connection is unusable from now on."""
        if self._error is None:
            self._error = error
            # Nothing received may be read any more: early data past the limit, say, that
            # opened in the same call as the record that broke it.
            self._record.fail(error)
            with contextlib.suppress(TLSError):  # the write side may already be closed
                self._record.write_alert(AlertLevel.fatal, error.alert)
            self._closed = True

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error.with_traceback(None)

    # --- events and application data ----------------------------------------------------------

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def discard_events(self) -> None:
        """Drop the events not yet read: for wrappers that report none (``TLSObject``, as
        ``ssl.SSLObject``), so that the queue does not grow for the connection's lifetime."""
        self._events.clear()

    # --- control -------------------------------------------------------------------------------

    def close(self) -> None:
        """Send close_notify; we may still read until the peer closes too (§6.1)."""
        if self._closed or self._error is not None:
            return
        self._closed = True
        self._handshake.stop_sending()
        self._record.write_alert(AlertLevel.warning, AlertDescription.close_notify)

    def key_update(self, request_peer: bool = True) -> None:
        """Send KeyUpdate and switch to the next write key (RFC 8446 §4.6.3)."""
        self._raise_if_failed()
        if self._negotiated is None:
            raise TLSError("KeyUpdate needs a completed handshake", reason="HANDSHAKE_NOT_COMPLETE")
        if self._closed:
            raise TLSError("the connection is closed for sending", reason="PROTOCOL_IS_SHUTDOWN")
        if self._negotiated.version != "TLSv1.3":
            raise TLSError(
                f"KeyUpdate is TLS 1.3's (RFC 8446 §4.6.3); this is {self._negotiated.version}",
                reason="WRONG_SSL_VERSION",
            )
        self._handshake.send_key_update(request_peer=request_peer)

    def verify_client_post_handshake(self) -> None:
        """Server: ask the client for a certificate now (RFC 8446 §4.6.2), as ``ssl``'s method
        of that name; the CertificateRequest is queued for ``data_to_send``.

        The client's answer arrives through ``receive_data``: a verified chain (or, with
        CERT_OPTIONAL, none) ends in a :class:`~cytls.events.PostHandshakeAuthComplete` event
        and becomes ``peer_certificates``; a failure is the usual ``ProtocolError`` with its
        alert sent. Raises :class:`TLSError` with ssl's reasons: NOT_SERVER, STILL_IN_INIT,
        EXTENSION_NOT_RECEIVED (the client did not offer post_handshake_auth), REQUEST_SENT
        (one is outstanding), INVALID_CONFIG (verify_mode CERT_NONE).
        """
        self._raise_if_failed()
        if not self.server_side:
            raise TLSError("not server", reason="NOT_SERVER")
        if self._closed:
            raise TLSError("the connection is closed for sending", reason="PROTOCOL_IS_SHUTDOWN")
        if self._negotiated is None:
            raise TLSError("still in init: the handshake is not complete", reason="STILL_IN_INIT")
        handshake = self._handshake
        if not isinstance(handshake, ServerHandshake):  # as ssl: TLS 1.3 only (RFC 8446 §4.6.2)
            raise TLSError(
                f"post-handshake authentication is TLS 1.3's; this is {self._negotiated.version}",
                reason="WRONG_SSL_VERSION",
            )
        handshake.request_post_handshake_auth()

    def export_keying_material(
        self, label: str | bytes, context: bytes | None, length: int
    ) -> bytes:
        """RFC 8446 §7.5 exporter, or RFC 5705's in TLS 1.2 (where no context and an empty one
        differ)."""
        if self._negotiated is None:
            raise TLSError("exporters need a completed handshake", reason="HANDSHAKE_NOT_COMPLETE")
        if isinstance(label, str):
            label = label.encode("ascii")
        return self._handshake.export_keying_material(label, context, length)

    # --- what was negotiated -------------------------------------------------------------------

    def version(self) -> str | None:
        return self._negotiated.version if self._negotiated is not None else None

    def cipher(self) -> tuple[str, str, int] | None:
        """(name, protocol, secret bits) as ``ssl.SSLObject.cipher()``."""
        negotiated = self._negotiated
        if negotiated is None:
            return None
        suite = negotiated.suite
        return (suite.name, negotiated.version, suite.key_length * 8)

    def selected_alpn_protocol(self) -> str | None:
        negotiated = self._negotiated
        if negotiated is None or negotiated.alpn_protocol is None:
            return None
        return negotiated.alpn_protocol.decode("ascii")

    @property
    def peer_certificates(self) -> tuple[bytes, ...]:
        """The peer's chain (DER, leaf first), once the handshake is complete."""
        return self._negotiated.peer_certificates if self._negotiated is not None else ()

    @property
    def server_name(self) -> str | None:
        """SNI: the name the client asked for (on both sides), once the handshake is complete."""
        return self._negotiated.server_name if self._negotiated is not None else None


class _Output:
    """The connection's side of :class:`~cytls.handshake.output.HandshakeOutput`: what the
    handshake emits becomes records in ``record`` and events in the connection's queue."""

    def __init__(
        self, connection: Connection, keylog: Callable[[str, bytes, bytes], None] | None
    ) -> None:
        self.connection = connection
        self.record = connection._record
        self.keylog = keylog
        # A server that accepted 0-RTT: reading it, and how much came (final at EndOfEarlyData,
        # before the handshake completes and Negotiated says so too).
        self.reading_early_data = False
        self.early_data_accepted = False
        self.early_data_length = 0

    def send_handshake(self, raw: bytes) -> None:
        self.record.write(_record.HANDSHAKE, raw)

    def send_change_cipher_spec(self) -> None:
        self.record.write(_record.CHANGE_CIPHER_SPEC, b"\x01")

    def send_early_data(self, data: bytes, max_plaintext: int) -> None:
        record = self.record
        limit = record.write_limit
        record.write_limit = min(limit, max_plaintext)
        try:
            record.write(_record.APPLICATION_DATA, data)
        finally:
            record.write_limit = limit

    def change_key(self, change: KeyChange) -> None:
        record = self.record
        if change.direction is Direction.WRITE:
            if change.suite is None:
                record.clear_write_key()
            else:
                record.set_write_key(change.suite.suite, change.key, change.iv)
            return
        assert change.suite is not None  # nothing goes back to reading plaintext
        record.set_read_key(
            change.suite.suite,
            change.key,
            change.iv,
            allow_application_data=change.carries_application_data,
        )
        if change.level is KeyLevel.EARLY:
            self.reading_early_data = self.early_data_accepted = True
        elif self.reading_early_data:  # EndOfEarlyData: the handshake key follows (§4.5)
            self.reading_early_data = False
            self.early_data_length = record.application_bytes_received

    def set_record_version(self, version: int) -> None:
        self.record.legacy_version = version

    def skip_early_data(self, limit: int) -> None:
        self.record.skip_early_data(limit)

    def accept_plaintext_alerts(self, accept: bool) -> None:
        self.record.allow_plaintext_alerts = accept

    def accept_application_data(self) -> None:
        self.record.allow_application_data()

    def log_secret(self, label: str, client_random: bytes, secret: bytes) -> None:
        if self.keylog is not None:
            self.keylog(label, client_random, secret)

    def event(self, event: Event) -> None:
        self.connection._events.append(event)

    def resumed(self) -> None:
        self.connection._resumed = True

    def negotiated(self, parameters: Negotiated) -> None:
        self.connection._negotiated = parameters

    def new_session(self, session: Session) -> None:
        sessions = self.connection._sessions
        sessions.append(session)
        del sessions[:-MAX_KEPT_SESSIONS]

    def server_name_received(self, server_name: str | None) -> HandshakePolicy:
        """Run the context's SNI callback, as ``ssl`` does: it gets the connection (or its
        TLSObject), the name and the context, and may switch contexts."""
        connection = self.connection
        context = connection.context
        callback = context.sni_callback
        if callback is not None:
            try:
                result = callback(connection.sni_target, server_name, context)
            except Exception as exc:
                # As ssl: the handshake fails with handshake_failure; the exception is chained.
                raise ProtocolError(
                    AlertDescription.handshake_failure,
                    f"the SNI callback raised {type(exc).__name__}: {exc}",
                ) from exc
            if result is not None:
                raise ProtocolError(result, f"the SNI callback refused {server_name!r}")
        return connection._policy  # the callback's context, if it switched to another

    def early_data_received(self) -> int:
        return self.record.application_bytes_received

    def records_written_under_write_key(self) -> int:
        return self.record.write_sequence_number


def _keylog_writer(filename: str | None) -> Callable[[str, bytes, bytes], None] | None:
    """NSS key log lines (read by Wireshark), only when explicitly configured."""
    if not filename:
        return None

    def write(label: str, client_random: bytes, secret: bytes) -> None:
        with open(filename, "a", encoding="ascii") as keylog:
            keylog.write(f"{label} {client_random.hex()} {secret.hex()}\n")

    return write

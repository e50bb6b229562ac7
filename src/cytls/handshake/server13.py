"""The TLS 1.3 server handshake (RFC 8446 §2, §4), as an explicit state machine.

START                     receive_client_hello() (from the hello phase, cytls.handshake.hello):
                             HelloRetryRequest -> (then WAIT_SECOND_CLIENT_HELLO)
                             or ServerHello, EncryptedExtensions, [CertificateRequest],
                             Certificate, CertificateVerify, Finished ->
WAIT_SECOND_CLIENT_HELLO  <- ClientHello (after HelloRetryRequest);  our flight as above
WAIT_END_OF_EARLY_DATA    <- EndOfEarlyData (after accepted 0-RTT data)
WAIT_CERTIFICATE          <- Certificate (if we sent CertificateRequest)
WAIT_CERTIFICATE_VERIFY   <- CertificateVerify (if that Certificate was not empty)
WAIT_FINISHED             <- Finished;  NewSessionTicket ->
CONNECTED                 <- KeyUpdate | Certificate (answering verify_client_post_handshake,
                             then POST_HANDSHAKE_CERTIFICATE_VERIFY, POST_HANDSHAKE_FINISHED)

``TRANSITIONS`` below is the table of what each state accepts; everything else is
unexpected_message (tests/test_state_tables.py checks every cell).

A ClientHello whose pre_shared_key names one of our tickets, with a valid binder, resumes:
no Certificate or CertificateVerify (RFC 8446 §2.2), and 0-RTT data if everything in §4.2.10
and the anti-replay checks of §8 allow it. Nor a CertificateRequest (§4.3.2): the client's
certificate is the one the ticket carries from the original handshake.
"""

from __future__ import annotations

import hmac
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from cytls._hello import (
    read_key_exchange_offer,
    read_offered_psks,
)
from cytls.crypto import signatures
from cytls.crypto.keyschedule import (
    SUITES,
    KeySchedule,
    Transcript,
    finished_verify_data,
    resumption_psk,
)
from cytls.crypto.tickets import MAX_TICKET_LIFETIME, TicketState
from cytls.errors import ProtocolError, TLSError
from cytls.events import PostHandshakeAuthComplete
from cytls.handshake import client_auth
from cytls.handshake.client_auth import ClientAuthExchange
from cytls.handshake.common import (
    PSK_DHE_KE,
    PSK_KE,
    TLS13,
    Handshake,
    HandshakeState,
    choose_alpn,
    read_client_hello,
    require,
)
from cytls.handshake.output import KeyLevel
from cytls.handshake.policy import EARLY_DATA_AGE_WINDOW, OP_ALLOW_NO_DHE_KEX
from cytls.handshake.versions import server_choice
from cytls.registry import SignatureScheme
from cytls.wire import extensions as ext
from cytls.wire.enums import AlertDescription
from cytls.wire.messages import (
    HELLO_RETRY_REQUEST_RANDOM,
    Certificate,
    CertificateEntry,
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    EndOfEarlyData,
    ExtensionType,
    Finished,
    HandshakeType,
    NewSessionTicket,
    ServerHello,
    find_extension,
    handshake_message,
)

# Extensions cytls knows that RFC 8446 §4.2 allows only in other messages than ClientHello.
NOT_IN_CLIENT_HELLO = frozenset({ExtensionType.oid_filters})
# Rejected 0-RTT data we drop before failing, at least (OpenSSL's default recv_max_early_data);
# max_early_data_size if it is larger, since our tickets let clients send that much.
MAX_REJECTED_EARLY_DATA = 16384
# PSK identities we try to open; the rest of a long list is ignored (§4.2.11 lets us choose).
MAX_PSK_IDENTITIES = 4


@dataclass(frozen=True, slots=True)
class Resumption:
    """A ticket we accepted: its state, where it was offered, and how (§4.2.9, §4.2.11)."""

    state: TicketState
    index: int
    mode: int
    identity: bytes
    age_skew_ms: int
    """The client's view of the ticket age minus ours (§8.3)."""
    key_schedule: KeySchedule
    """At the Early Secret of the ticket's PSK."""


class ServerState(HandshakeState):
    START = "start"
    WAIT_SECOND_CLIENT_HELLO = "wait_second_client_hello"
    WAIT_END_OF_EARLY_DATA = "wait_end_of_early_data"
    WAIT_CERTIFICATE = "wait_certificate"
    WAIT_CERTIFICATE_VERIFY = "wait_certificate_verify"
    WAIT_FINISHED = "wait_finished"
    CONNECTED = "connected"
    POST_HANDSHAKE_CERTIFICATE_VERIFY = "post_handshake_certificate_verify"
    POST_HANDSHAKE_FINISHED = "post_handshake_finished"


class ServerHandshake(Handshake):
    """Server side of one TLS 1.3 handshake and of the post-handshake messages."""

    __slots__ = (
        "client_application_secret",
        "client_auth",
        "client_handshake_secret",
        "first_client_hello",
        "first_client_hello_ignored",
        "peer_offered_post_handshake_auth",
        "peer_signature_schemes",
        "sent_change_cipher_spec",
        "signature_scheme",
    )

    ROLE = "server"
    INITIAL = ServerState.START
    TRANSITIONS: ClassVar[Mapping[HandshakeState, Mapping[int, str]]] = {
        ServerState.START: {},  # the hello phase hands us the first ClientHello
        ServerState.WAIT_SECOND_CLIENT_HELLO: {HandshakeType.client_hello: "_second_client_hello"},
        ServerState.WAIT_END_OF_EARLY_DATA: {HandshakeType.end_of_early_data: "_end_of_early_data"},
        ServerState.WAIT_CERTIFICATE: {HandshakeType.certificate: "_client_certificate"},
        ServerState.WAIT_CERTIFICATE_VERIFY: {
            HandshakeType.certificate_verify: "_client_certificate_verify",
        },
        ServerState.WAIT_FINISHED: {HandshakeType.finished: "_client_finished"},
        ServerState.CONNECTED: {
            HandshakeType.key_update: "_key_update",
            # Only answering our verify_client_post_handshake: checked by the handler.
            HandshakeType.certificate: "_post_handshake_certificate",
        },
        ServerState.POST_HANDSHAKE_CERTIFICATE_VERIFY: {
            HandshakeType.certificate_verify: "_client_certificate_verify",
        },
        ServerState.POST_HANDSHAKE_FINISHED: {HandshakeType.finished: "_post_handshake_finished"},
    }

    def start(self) -> None:
        self.client_auth: ClientAuthExchange | None = None  # our CertificateRequest, if any
        self.peer_offered_post_handshake_auth = False
        self.sent_change_cipher_spec = False
        self.first_client_hello: ClientHello | None = None
        self.first_client_hello_ignored: tuple[bytes, bytes] = (b"", b"")
        self.peer_change_cipher_spec_allowed = False  # only after a ClientHello (RFC 8446 §5)

    # --- ClientHello ----------------------------------------------------------------------------

    def receive_client_hello(
        self, hello: ClientHello, ignored: tuple[bytes, bytes], raw: bytes
    ) -> None:
        """The first ClientHello, read by the hello phase (cytls.handshake.hello), which chose
        TLS 1.3 for it."""
        self.first_client_hello_ignored = ignored
        self.client_random = hello.random
        self.peer_change_cipher_spec_allowed = True
        self._check_client_hello(hello)
        suite, group, client_share = self._negotiate(hello)
        self.suite = suite
        self.transcript = Transcript(SUITES[suite].hash_name)
        self._answer(hello, raw, group, client_share)

    def _answer(
        self, hello: ClientHello, raw: bytes, group: int | None, client_share: bytes | None
    ) -> None:
        """Resume or not, then HelloRetryRequest or our flight."""
        assert self.transcript is not None and self.suite is not None
        resumption = self._accept_psk(hello, raw)
        self.transcript.update(raw)
        if resumption is not None and resumption.mode == PSK_KE:
            group, client_share = 0, None  # the PSK alone (§4.2.9)
        elif client_share is None:
            require(
                group is not None,
                AlertDescription.missing_extension,
                "ClientHello without key_share, and no PSK we can resume (RFC 8446 §9.2)",
            )
            assert group is not None
            if find_extension(hello.extensions, ExtensionType.early_data) is not None:
                self._skip_early_data()  # §4.2.10: HRR rejects
            self._send_hello_retry_request(hello, self.suite, group)
            return
        if resumption is not None:  # resuming: decided only now that no HRR comes between
            self.key_schedule = resumption.key_schedule
            self.psk_accepted = True
            self.output.resumed()
            if resumption.state.peer_certificate:
                self.peer_certificates = (resumption.state.peer_certificate,)
        self.alpn_protocol = choose_alpn(self.policy, hello)
        self._early_data(hello, resumption)
        assert group is not None
        self._send_server_flight(hello, self.suite, group, client_share, resumption)

    def _accept_psk(self, hello: ClientHello, raw: bytes) -> Resumption | None:
        """The first offered ticket we can open, unexpired and of our suite's hash, with its
        binder verified; None means a full handshake (RFC 8446 §4.2.11)."""
        data = find_extension(hello.extensions, ExtensionType.pre_shared_key)
        modes_data = find_extension(hello.extensions, ExtensionType.psk_key_exchange_modes)
        if data is None or modes_data is None:
            return None
        # The first MAX_PSK_IDENTITIES of up to some 1,500 (README, "Limits").
        identities, binders, binders_length = read_offered_psks(data, MAX_PSK_IDENTITIES)
        modes = ext.decode_psk_key_exchange_modes(modes_data)
        if PSK_KE in modes and self.policy.options & OP_ALLOW_NO_DHE_KEX:
            mode = PSK_KE
        elif (
            PSK_DHE_KE in modes
            and find_extension(hello.extensions, ExtensionType.key_share) is not None
        ):
            mode = PSK_DHE_KE
        else:
            return None
        assert self.suite is not None and self.transcript is not None
        hash_name = SUITES[self.suite].hash_name
        found = self._open_ticket(identities, SUITES[self.suite].hash_name)
        if found is None:
            return None
        index, state, age_ms = found
        # The binder proves the client holds the PSK and binds it to this ClientHello (and,
        # after HelloRetryRequest, to the first one): a wrong one aborts (§4.2.11.2).
        schedule = KeySchedule(self.suite, state.psk)
        transcript = self.transcript.copy()
        transcript.update(raw[:-binders_length])
        expected = finished_verify_data(
            hash_name, schedule.binder_key(external=False), transcript.digest()
        )
        require(
            hmac.compare_digest(expected, binders[index]),
            AlertDescription.decrypt_error,
            "the PSK binder does not verify (RFC 8446 §4.2.11.2)",
        )
        client_age_ms = (identities[index][1] - state.age_add) & 0xFFFFFFFF
        return Resumption(
            state, index, mode, identities[index][0], client_age_ms - age_ms, schedule
        )

    def _open_ticket(
        self, identities: list[tuple[bytes, int]], hash_name: str
    ) -> tuple[int, TicketState, int] | None:
        """(index, state, our age of it in ms) of the first identity that is a live ticket of
        ours for this hash; tickets from elsewhere, expired or tampered with are passed over."""
        now_ms = int(self.environment.now() * 1000)
        keys = self.policy.ticket_keys
        assert keys is not None  # a server's policy has them
        for index, (identity, _) in enumerate(identities):
            state = keys.open(identity)
            if state is None or state.suite not in SUITES:
                continue
            if not state.peer_certificate and self._handshake_requires_client_certificate():
                continue  # resuming would skip the client certificate CERT_REQUIRED demands
            age_ms = now_ms - state.created_ms
            if SUITES[state.suite].hash_name == hash_name and 0 <= age_ms <= state.lifetime * 1000:
                return index, state, age_ms
        return None

    def _early_data(self, hello: ClientHello, resumption: Resumption | None) -> None:
        """Accept 0-RTT (read it under the client early traffic key) or skip it (§4.2.10)."""
        if find_extension(hello.extensions, ExtensionType.early_data) is None:
            return
        policy = self.policy
        assert policy.strike_register is not None  # a server's policy has one
        accept = (
            resumption is not None
            and resumption.index == 0
            and self.first_client_hello is None
            and policy.max_early_data_size > 0
            and resumption.state.max_early_data_size > 0
            and resumption.state.suite == self.suite
            and resumption.state.alpn_protocol == (self.alpn_protocol or b"")
            and abs(resumption.age_skew_ms) <= EARLY_DATA_AGE_WINDOW * 1000
            and policy.strike_register.first_use(
                resumption.identity,
                resumption.state.created_ms / 1000 + resumption.state.lifetime,
                self.environment.now(),
            )
        )
        if not accept:
            self._skip_early_data()
            return
        assert self.key_schedule is not None and self.transcript is not None
        secret = self.key_schedule.client_early_traffic_secret(self.transcript.digest())
        self.set_read_secret(secret, "CLIENT_EARLY_TRAFFIC_SECRET", KeyLevel.EARLY)
        self.early_data_accepted = True
        self.reading_early_data = True

    def _skip_early_data(self) -> None:
        """Drop the 0-RTT records we rejected, as much as a client of ours may send (§4.2.10)."""
        self.output.skip_early_data(max(self.policy.max_early_data_size, MAX_REJECTED_EARLY_DATA))

    def _check_client_hello(self, hello: ClientHello) -> None:
        """What every TLS 1.3 ClientHello must satisfy, first or second (RFC 8446 §4.1.2,
        §4.2, §9.2, §D.5)."""
        extensions = hello.extensions
        require(
            hello.legacy_version > 0x0300,
            AlertDescription.protocol_version,
            "ClientHello.legacy_version is SSL 3.0 or older (RFC 8446 §D.5)",
        )
        # supported_versions lists TLS 1.3: the hello phase chose it (RFC 8446 §4.2.1).
        require(
            hello.legacy_compression_methods == b"\x00",
            AlertDescription.illegal_parameter,
            "a TLS 1.3 ClientHello must offer only the null compression method (§4.1.2)",
        )
        for index, (ext_type, _) in enumerate(extensions):
            require(
                ext_type != ExtensionType.pre_shared_key or index == len(extensions) - 1,
                AlertDescription.illegal_parameter,
                "pre_shared_key is not the last extension of the ClientHello (RFC 8446 §4.2.11)",
            )
        if find_extension(extensions, ExtensionType.pre_shared_key) is not None:
            require(
                find_extension(extensions, ExtensionType.psk_key_exchange_modes) is not None,
                AlertDescription.missing_extension,
                "pre_shared_key without psk_key_exchange_modes (RFC 8446 §4.2.9)",
            )
        for ext_type, _ in extensions:
            if ext_type in NOT_IN_CLIENT_HELLO:
                raise ProtocolError(
                    AlertDescription.illegal_parameter,
                    f"ClientHello carries {ExtensionType(ext_type).name}, not allowed there (§4.2)",
                )
        require(
            find_extension(extensions, ExtensionType.signature_algorithms) is not None,
            AlertDescription.missing_extension,
            "ClientHello without signature_algorithms (RFC 8446 §9.2)",
        )
        has_groups = find_extension(extensions, ExtensionType.supported_groups) is not None
        has_shares = find_extension(extensions, ExtensionType.key_share) is not None
        require(
            has_groups == has_shares
            and (
                has_groups or find_extension(extensions, ExtensionType.pre_shared_key) is not None
            ),
            AlertDescription.missing_extension,
            "ClientHello without supported_groups and key_share (RFC 8446 §9.2)",
        )
        self._note_post_handshake_auth(hello)

    def _negotiate(self, hello: ClientHello) -> tuple[int, int | None, bytes | None]:
        """Choose suite and group (RFC 8446 §4.1.1); no group for a client that offers none
        (it can only resume with psk_ke)."""
        extensions = hello.extensions
        server_name = find_extension(extensions, ExtensionType.server_name)
        if server_name is not None:
            self.server_name = ext.decode_server_name(server_name)
        # An SNI callback may refuse the name or switch to another context's policy.
        self.policy = policy = self.output.server_name_received(self.server_name)

        suites = hello.cipher_suites
        if policy.options & ssl.OP_CIPHER_SERVER_PREFERENCE:
            common = [suite for suite in policy.cipher_suites if suite in suites]
        else:
            common = [suite for suite in suites if suite in policy.cipher_suites]
        require(bool(common), AlertDescription.handshake_failure, "no cipher suite in common")

        groups_data = find_extension(extensions, ExtensionType.supported_groups)
        shares_data = find_extension(extensions, ExtensionType.key_share)
        signature_data = find_extension(extensions, ExtensionType.signature_algorithms)
        assert signature_data is not None
        # Only the schemes cytls knows: the peer may list 32,767 (README, "Limits").
        self.peer_signature_schemes = ext.signature_algorithms_among(
            signature_data, _RECOGNIZED_SCHEMES
        )
        require(
            policy.private_key is not None,
            AlertDescription.handshake_failure,
            "the server has no certificate (call load_cert_chain)",
        )
        try:
            self.signature_scheme = signatures.choose_scheme(
                policy.private_key,
                self.peer_signature_schemes,
                certificate=policy.certificate_chain[0],
            )
        except ValueError as exc:  # a key set on the context by hand that TLS 1.3 cannot use
            raise ProtocolError(
                AlertDescription.internal_error, f"the server's key cannot sign: {exc}"
            ) from None

        if groups_data is None or shares_data is None:
            return common[0], None, None
        # Our groups, in our order, that the client lists; its shares for them (§4.2.7-4.2.8).
        candidates, shared, _ = read_key_exchange_offer(
            groups_data, shares_data, tuple(policy.groups)
        )
        require(
            bool(candidates), AlertDescription.handshake_failure, "no key exchange group in common"
        )
        for group in candidates:
            if group in shared:
                return common[0], group, shared[group]
        return common[0], candidates[0], None

    def _send_hello_retry_request(self, hello: ClientHello, suite: int, group: int) -> None:
        """RFC 8446 §4.1.4: ask for a share of ``group``; the transcript restarts (§4.4.1)."""
        require(
            self.first_client_hello is None,
            AlertDescription.illegal_parameter,
            "the second ClientHello still has no key share for the group we asked for",
        )
        self.first_client_hello = hello
        self.group = group
        assert self.transcript is not None
        self.transcript.hello_retry_request_reset()
        retry = ServerHello(
            random=HELLO_RETRY_REQUEST_RANDOM,
            legacy_session_id_echo=hello.legacy_session_id,
            cipher_suite=suite,
            extensions=[
                (ExtensionType.supported_versions, ext.encode_supported_versions_server(TLS13)),
                (ExtensionType.key_share, ext.encode_key_share_hrr(group)),
            ],
        )
        self.send(HandshakeType.server_hello, retry.serialize())
        self._send_change_cipher_spec(hello)
        self.enter(ServerState.WAIT_SECOND_CLIENT_HELLO)

    def _second_client_hello(self, msg_type: int, body: bytes, raw: bytes) -> None:
        hello, ignored = read_client_hello(body)
        # Still TLS 1.3 (the hello phase checked the first ClientHello's versions).
        server_choice(find_extension(hello.extensions, ExtensionType.supported_versions), (TLS13,))
        self._check_client_hello(hello)
        first = self.first_client_hello
        assert first is not None and self.transcript is not None and self.suite is not None
        require(
            hello.legacy_version == first.legacy_version
            and hello.random == first.random
            and hello.legacy_session_id == first.legacy_session_id
            and hello.cipher_suites == first.cipher_suites
            and hello.legacy_compression_methods == first.legacy_compression_methods
            and _fixed_extensions(hello) == _fixed_extensions(first)
            and ignored == self.first_client_hello_ignored,
            AlertDescription.illegal_parameter,
            "the second ClientHello changed more than RFC 8446 §4.1.2 allows",
        )
        require(
            find_extension(hello.extensions, ExtensionType.early_data) is None,
            AlertDescription.illegal_parameter,
            "the second ClientHello has early_data, which RFC 8446 §4.1.2 rules out",
        )
        require(
            find_extension(hello.extensions, ExtensionType.pre_shared_key) is None
            or find_extension(first.extensions, ExtensionType.pre_shared_key) is not None,
            AlertDescription.illegal_parameter,
            "the second ClientHello added pre_shared_key (RFC 8446 §4.1.2 allows updating it)",
        )
        # supported_groups is the first ClientHello's (checked above), which listed self.group.
        groups_data = find_extension(hello.extensions, ExtensionType.supported_groups)
        shares_data = find_extension(hello.extensions, ExtensionType.key_share)
        if groups_data is None or self.group is None:
            raise ProtocolError(
                AlertDescription.missing_extension, "the second ClientHello has no supported_groups"
            )
        _, shared, share_count = read_key_exchange_offer(
            groups_data, shares_data if shares_data is not None else b"\x00\x00", (self.group,)
        )
        require(
            share_count == 1 and self.group in shared,
            AlertDescription.illegal_parameter,
            "the second ClientHello must carry exactly one key share, for the group asked for",
        )
        self._answer(hello, raw, self.group, shared[self.group])

    # --- our flight -------------------------------------------------------------------------------

    def _send_server_flight(
        self,
        hello: ClientHello,
        suite: int,
        group: int,
        client_share: bytes | None,
        resumption: Resumption | None,
    ) -> None:
        """ServerHello, then EncryptedExtensions..Finished under the handshake key (§2)."""
        policy = self.policy
        self.group = group
        extensions: list[tuple[int, bytes]] = []
        shared_secret = None
        if client_share is not None:
            server_share, shared_secret = self.environment.server_key_exchange(group, client_share)
            extensions.append(
                (ExtensionType.key_share, ext.encode_key_share_server(group, server_share))
            )
        extensions.append(
            (ExtensionType.supported_versions, ext.encode_supported_versions_server(TLS13))
        )
        if resumption is not None:
            extensions.append(
                (ExtensionType.pre_shared_key, ext.encode_pre_shared_key_server(resumption.index))
            )
        else:
            self.key_schedule = KeySchedule(suite)
        server_hello = ServerHello(
            random=self.environment.random_bytes(32),
            legacy_session_id_echo=hello.legacy_session_id,
            cipher_suite=suite,
            extensions=extensions,
        )
        self.send(HandshakeType.server_hello, server_hello.serialize())
        assert self.transcript is not None and self.key_schedule is not None
        client_secret, server_secret = self.key_schedule.handshake(
            shared_secret, self.transcript.digest()
        )
        self.client_handshake_secret = client_secret
        self._send_change_cipher_spec(hello)
        self.set_write_secret(server_secret, "SERVER_HANDSHAKE_TRAFFIC_SECRET", KeyLevel.HANDSHAKE)

        extensions = []
        if self.server_name is not None:
            extensions.append((ExtensionType.server_name, b""))  # RFC 6066 §3: we used the name
        if self.alpn_protocol is not None:
            extensions.append(
                (
                    ExtensionType.application_layer_protocol_negotiation,
                    ext.encode_alpn([self.alpn_protocol]),
                )
            )
        if self.early_data_accepted:
            extensions.append((ExtensionType.early_data, ext.encode_early_data_indication(None)))
        self.send(HandshakeType.encrypted_extensions, EncryptedExtensions(extensions).serialize())
        if resumption is None:  # a PSK authenticates us: no certificate (§2.2)
            if policy.verify_mode != ssl.CERT_NONE and not policy.post_handshake_auth:
                self._send_certificate_request(b"", self.transcript, post_handshake=False)
            entries = [CertificateEntry(der, []) for der in policy.certificate_chain_der]
            self.send(HandshakeType.certificate, Certificate(b"", entries).serialize())
            signature = signatures.sign(
                policy.private_key,
                self.signature_scheme,
                signatures.certificate_verify_input(self.transcript.digest(), server=True),
            )
            self.send(
                HandshakeType.certificate_verify,
                CertificateVerify(self.signature_scheme, signature).serialize(),
            )
        self.send(HandshakeType.finished, Finished(self.finished_data(server_secret)).serialize())

        client_app, server_app, exporter = self.key_schedule.application(self.transcript.digest())
        self.client_application_secret = client_app
        self.exporter_master_secret = exporter
        self.log_secret("CLIENT_HANDSHAKE_TRAFFIC_SECRET", client_secret)
        self.log_secret("EXPORTER_SECRET", exporter)
        self.set_write_secret(server_app, "SERVER_TRAFFIC_SECRET_0", KeyLevel.APPLICATION)
        # A client that cannot process our ServerHello has no keys: its alert comes in clear.
        self.output.accept_plaintext_alerts(True)
        if self.reading_early_data:
            self.enter(ServerState.WAIT_END_OF_EARLY_DATA)  # the early key stays (§4.5)
            return
        self.set_read_secret(client_secret, "", KeyLevel.HANDSHAKE)
        if self.client_auth is not None:
            self.enter(ServerState.WAIT_CERTIFICATE)
        else:
            self.enter(ServerState.WAIT_FINISHED)

    def _send_change_cipher_spec(self, hello: ClientHello) -> None:
        """Middlebox compatibility (RFC 8446 §D.4): one CCS after our first handshake message,
        when the client asked for the mode with a non-empty legacy_session_id."""
        if hello.legacy_session_id and not self.sent_change_cipher_spec:
            self.sent_change_cipher_spec = True
            self.output.send_change_cipher_spec()

    # --- the client's second flight ------------------------------------------------------------

    def _end_of_early_data(self, msg_type: int, body: bytes, raw: bytes) -> None:
        EndOfEarlyData.parse(body)
        self.check_early_data_size()
        self.early_data_length = self.output.early_data_received()
        self.reading_early_data = False
        assert self.transcript is not None
        self.transcript.update(raw)
        self.set_read_secret(self.client_handshake_secret, "", KeyLevel.HANDSHAKE)
        self.enter(ServerState.WAIT_FINISHED)

    def _client_finished(self, msg_type: int, body: bytes, raw: bytes) -> None:
        self.check_peer_finished(body, self.client_handshake_secret, "client")
        assert self.transcript is not None and self.key_schedule is not None
        self.transcript.update(raw)
        self.resumption_master_secret = self.key_schedule.resumption_master_secret(
            self.transcript.digest()
        )
        self.set_read_secret(
            self.client_application_secret, "CLIENT_TRAFFIC_SECRET_0", KeyLevel.APPLICATION
        )
        self.output.accept_plaintext_alerts(False)
        self.enter(ServerState.CONNECTED)
        self.finish()
        self._send_session_tickets()
        self.forget_handshake_secrets()

    def forget_handshake_secrets(self) -> None:
        super().forget_handshake_secrets()
        self.client_handshake_secret = self.client_application_secret = b""

    def _send_session_tickets(self) -> None:
        """``num_tickets`` NewSessionTickets (RFC 8446 §4.6.1), each sealing its own PSK.

        They are post-handshake messages: not part of the transcript (§4.4.1).
        """
        policy = self.policy
        assert self.suite is not None and policy.ticket_keys is not None
        lifetime = min(policy.ticket_lifetime, MAX_TICKET_LIFETIME)
        if lifetime <= 0:
            return
        created_ms = int(self.environment.now() * 1000)
        early = policy.max_early_data_size
        extensions: list[tuple[int, bytes]] = (
            [(ExtensionType.early_data, ext.encode_early_data_indication(early))] if early else []
        )
        for number in range(policy.num_tickets):
            nonce = number.to_bytes(8, "big")
            age_add = int.from_bytes(self.environment.random_bytes(4), "big")
            state = TicketState(
                suite=self.suite,
                created_ms=created_ms,
                lifetime=lifetime,
                age_add=age_add,
                max_early_data_size=early,
                psk=resumption_psk(self.hash_name, self.resumption_master_secret, nonce),
                alpn_protocol=self.alpn_protocol or b"",
                server_name=self.server_name or "",
                peer_certificate=self.peer_certificates[0] if self.peer_certificates else b"",
            )
            sealed = policy.ticket_keys.seal(state)
            if sealed is None:
                return  # the sealing key is spent (MAX_SEALS_PER_KEY): no ticket
            ticket = NewSessionTicket(lifetime, age_add, nonce, sealed, extensions)
            self.output.send_handshake(
                handshake_message(HandshakeType.new_session_ticket, ticket.serialize())
            )

    def _key_update(self, msg_type: int, body: bytes, raw: bytes) -> None:
        self.receive_key_update(body)

    def _post_handshake_certificate(self, msg_type: int, body: bytes, raw: bytes) -> None:
        require(
            self.client_auth is not None,
            AlertDescription.unexpected_message,
            "certificate (11) after the handshake, and we sent no CertificateRequest "
            "(RFC 8446 §4.6.2)",
        )
        self._client_certificate(msg_type, body, raw)

    # --- client authentication (RFC 8446 §4.3.2, §4.4.2, §4.4.3, §4.6.2) ------------------------

    def _note_post_handshake_auth(self, hello: ClientHello) -> None:
        """Whether the client offered post-handshake authentication (an empty extension,
        RFC 8446 §4.2.6)."""
        data = find_extension(hello.extensions, ExtensionType.post_handshake_auth)
        if data is not None:
            ext.decode_empty(data, "post_handshake_auth extension")
        self.peer_offered_post_handshake_auth = data is not None

    def post_handshake_auth_possible(self) -> bool:
        return self.peer_offered_post_handshake_auth

    def _handshake_requires_client_certificate(self) -> bool:
        """CERT_REQUIRED, asked for in the handshake (with post_handshake_auth the application
        asks when it wants, resumed or not)."""
        policy = self.policy
        return policy.verify_mode == ssl.CERT_REQUIRED and not policy.post_handshake_auth

    def _send_certificate_request(
        self, request_context: bytes, transcript: Transcript | None, *, post_handshake: bool
    ) -> None:
        assert transcript is not None
        request = client_auth.certificate_request(self.policy, request_context)
        self.send_to(transcript, HandshakeType.certificate_request, request.serialize())
        self.client_auth = ClientAuthExchange(request_context, transcript, post_handshake)

    def request_post_handshake_auth(self) -> None:
        """Send a CertificateRequest now (RFC 8446 §4.6.2), with the errors of ``ssl``'s
        ``verify_client_post_handshake`` (OpenSSL's reason codes)."""
        if not self.peer_offered_post_handshake_auth:
            raise TLSError(
                "extension not received: post-handshake authentication was not offered",
                reason="EXTENSION_NOT_RECEIVED",
            )
        if self.client_auth is not None:
            raise TLSError(
                "request sent: the client has not answered the previous CertificateRequest",
                reason="REQUEST_SENT",
            )
        if self.policy.verify_mode == ssl.CERT_NONE:
            raise TLSError(
                "invalid config: verify_mode CERT_NONE asks for no client certificate",
                reason="INVALID_CONFIG",
            )
        assert self.handshake_transcript is not None
        self._send_certificate_request(
            self.environment.random_bytes(client_auth.POST_HANDSHAKE_CONTEXT_SIZE),
            self.handshake_transcript.copy(),
            post_handshake=True,
        )

    def _client_certificate(self, msg_type: int, body: bytes, raw: bytes) -> None:
        exchange = self.client_auth
        assert exchange is not None
        client_auth.check_client_certificate(body, exchange, self.policy)
        exchange.transcript.update(raw)
        if not exchange.post_handshake:
            self.peer_certificates = exchange.chain
        if exchange.leaf is None:
            self._expect_client_auth_finished(exchange)
        elif exchange.post_handshake:
            self.enter(ServerState.POST_HANDSHAKE_CERTIFICATE_VERIFY)
        else:
            self.enter(ServerState.WAIT_CERTIFICATE_VERIFY)

    def _client_certificate_verify(self, msg_type: int, body: bytes, raw: bytes) -> None:
        exchange = self.client_auth
        assert exchange is not None
        client_auth.check_client_certificate_verify(body, exchange)
        exchange.transcript.update(raw)
        self._expect_client_auth_finished(exchange)

    def _expect_client_auth_finished(self, exchange: ClientAuthExchange) -> None:
        if exchange.post_handshake:
            self.enter(ServerState.POST_HANDSHAKE_FINISHED)
        else:
            self.client_auth = None  # the handshake's Finished goes through _client_finished
            self.enter(ServerState.WAIT_FINISHED)

    def _post_handshake_finished(self, msg_type: int, body: bytes, raw: bytes) -> None:
        """Finished of post-handshake authentication, keyed by the client application traffic
        secret in use (RFC 8446 §4.4): only now does the new chain become the peer's."""
        exchange = self.client_auth
        assert exchange is not None
        self.check_peer_finished(body, self.read_secret, "client", exchange.transcript)
        self.client_auth = None
        self.peer_certificates = exchange.chain
        self.enter(ServerState.CONNECTED)
        self.output.negotiated(self.negotiated())
        self.output.event(PostHandshakeAuthComplete(exchange.chain))


# What the second ClientHello may change (RFC 8446 §4.1.2): the key shares, early_data (which
# must go) and pre_shared_key (which may only be updated), checked on their own, the cookie
# (we send none, and ignore one, as OpenSSL outside its stateless mode) and padding.
_MAY_CHANGE_AFTER_HRR = frozenset(
    {
        ExtensionType.key_share,
        ExtensionType.early_data,
        ExtensionType.cookie,
        ExtensionType.pre_shared_key,
        ExtensionType.padding,
    }
)


_RECOGNIZED_SCHEMES = tuple(SignatureScheme)


def _fixed_extensions(hello: ClientHello) -> dict[int, bytes]:
    """The extensions a second ClientHello must repeat exactly (in any order)."""
    return {t: d for t, d in hello.extensions if t not in _MAY_CHANGE_AFTER_HRR}

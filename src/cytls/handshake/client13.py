"""The TLS 1.3 client handshake (RFC 8446 §2, §4), as an explicit state machine.

START                        start(): ClientHello ->
WAIT_SERVER_HELLO            <- ServerHello | HelloRetryRequest (then ClientHello again)
WAIT_ENCRYPTED_EXTENSIONS    <- EncryptedExtensions
WAIT_CERTIFICATE_OR_REQUEST  <- CertificateRequest | Certificate
WAIT_CERTIFICATE             <- Certificate (after a CertificateRequest)
WAIT_CERTIFICATE_VERIFY      <- CertificateVerify
WAIT_FINISHED                <- Finished;  [EndOfEarlyData] [Certificate, [CertificateVerify]]
                                Finished ->
CONNECTED                    <- NewSessionTicket | KeyUpdate | CertificateRequest (if we offered
                                post_handshake_auth: Certificate, [CertificateVerify], Finished ->)

``TRANSITIONS`` below is the table of what each state accepts; everything else is
unexpected_message (tests/test_state_tables.py checks every cell).

With a session (RFC 8446 §2.2) the ClientHello offers its ticket as a PSK, 0-RTT data may
follow it under the early traffic key (§2.3), and a server that accepts the PSK skips
Certificate and CertificateVerify.
"""

from __future__ import annotations

import hmac
import ipaddress
import ssl
from collections.abc import Mapping
from typing import ClassVar

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from cytls.crypto import signatures
from cytls.crypto.groups import X25519, X25519MLKEM768, ClientKeyShare
from cytls.crypto.keyschedule import (
    SUITES,
    KeySchedule,
    Transcript,
    finished_verify_data,
    resumption_psk,
)
from cytls.crypto.tickets import MAX_TICKET_LIFETIME
from cytls.errors import ProtocolError
from cytls.handshake import client_auth
from cytls.handshake.common import (
    ALLOWED_IN_CERTIFICATE,
    ALLOWED_IN_ENCRYPTED_EXTENSIONS,
    ALLOWED_IN_HELLO_RETRY_REQUEST,
    ALLOWED_IN_SERVER_HELLO,
    KNOWN_EXTENSIONS,
    PSK_DHE_KE,
    PSK_KE,
    TLS12,
    Handshake,
    HandshakeState,
    check_server_extensions,
    require,
)
from cytls.handshake.output import Direction, KeyChange, KeyLevel
from cytls.handshake.policy import OP_ALLOW_NO_DHE_KEX
from cytls.handshake.versions import client_learns
from cytls.registry import ProtocolVersion
from cytls.session import Session
from cytls.wire import extensions as ext
from cytls.wire.enums import AlertDescription
from cytls.wire.messages import (
    Certificate,
    CertificateEntry,
    CertificateRequest,
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
from cytls.x509.loading import load_der_certificate
from cytls.x509.verify import verify_server_chain

# 2^14 bytes on the wire, with the content type byte and the 16-byte AEAD tag.
EARLY_DATA_RECORD_LIMIT = (1 << 14) - 17
# Post-handshake CertificateRequests answered per connection: each costs us a signature, so a
# server could otherwise make a client sign without end (README, "Limits and hostile input").
MAX_POST_HANDSHAKE_REQUESTS = 32


class ClientState(HandshakeState):
    START = "start"
    WAIT_SERVER_HELLO = "wait_server_hello"
    WAIT_ENCRYPTED_EXTENSIONS = "wait_encrypted_extensions"
    WAIT_CERTIFICATE_OR_REQUEST = "wait_certificate_or_request"
    WAIT_CERTIFICATE = "wait_certificate"
    WAIT_CERTIFICATE_VERIFY = "wait_certificate_verify"
    WAIT_FINISHED = "wait_finished"
    CONNECTED = "connected"


class ClientHandshake(Handshake):
    """Client side of one TLS 1.3 handshake and of the post-handshake messages."""

    __slots__ = (
        "certificate_request",
        "client_handshake_secret",
        "client_hello_raw",
        "cookie",
        "early_data_offered",
        "early_data_sent",
        "hello_retry_request",
        "key_shares",
        "leaf_certificate",
        "offered_extensions",
        "offered_session",
        "post_handshake_requests",
        "psk_schedule",
        "sent_change_cipher_spec",
        "server_handshake_secret",
        "server_hostname",
        "session_id",
    )

    ROLE = "client"
    INITIAL = ClientState.START
    TRANSITIONS: ClassVar[Mapping[HandshakeState, Mapping[int, str]]] = {
        ClientState.START: {},
        ClientState.WAIT_SERVER_HELLO: {HandshakeType.server_hello: "_server_hello"},
        ClientState.WAIT_ENCRYPTED_EXTENSIONS: {
            HandshakeType.encrypted_extensions: "_encrypted_extensions",
        },
        ClientState.WAIT_CERTIFICATE_OR_REQUEST: {
            HandshakeType.certificate_request: "_certificate_request",
            HandshakeType.certificate: "_certificate",
        },
        ClientState.WAIT_CERTIFICATE: {HandshakeType.certificate: "_certificate"},
        ClientState.WAIT_CERTIFICATE_VERIFY: {
            HandshakeType.certificate_verify: "_certificate_verify"
        },
        ClientState.WAIT_FINISHED: {HandshakeType.finished: "_server_finished"},
        ClientState.CONNECTED: {
            HandshakeType.new_session_ticket: "_new_session_ticket",
            HandshakeType.key_update: "_key_update",
            # Only if we offered post_handshake_auth (RFC 8446 §4.6.2): checked by the handler.
            HandshakeType.certificate_request: "_post_handshake_certificate_request",
        },
    }

    server_hostname: str | None  # set by start(), before anything reads it

    def start(
        self,
        server_hostname: str | None,
        session: Session | None = None,
        early_data: bytes = b"",
    ) -> None:
        """Queue the first ClientHello (RFC 8446 §4.1.2), and ``early_data`` after it when
        ``session`` allows 0-RTT (§4.2.10)."""
        policy = self.policy
        if policy.check_hostname and not server_hostname:
            raise ValueError("check_hostname requires server_hostname")
        self.server_hostname = server_hostname
        self.offered_session = self._usable_session(session, server_hostname)
        self.psk_accepted = False
        self.early_data_sent = False
        self.early_data_accepted = False
        if early_data:
            if self.offered_session is None or not self.offered_session.max_early_data_size:
                raise ValueError("early_data needs a session whose ticket allows 0-RTT")
            if len(early_data) > self.offered_session.max_early_data_size:
                raise ValueError(
                    f"{len(early_data)} bytes of early data; the ticket allows "
                    f"{self.offered_session.max_early_data_size}"
                )
        self.client_random = self.environment.random_bytes(32)
        # Middlebox compatibility mode (RFC 8446 §D.4): a non-empty legacy_session_id.
        self.session_id = self.environment.random_bytes(32)
        self.key_shares = self._initial_key_shares()
        self.offered_extensions: set[int] = set()
        self.hello_retry_request: ServerHello | None = None
        self.cookie: bytes | None = None
        self.sent_change_cipher_spec = False
        self.certificate_request: CertificateRequest | None = None
        self.post_handshake_requests = 0
        self.leaf_certificate: x509.Certificate | None = None
        # An initial ClientHello may say TLS 1.0 in its record header (§5.1).
        self.output.set_record_version(ProtocolVersion.TLSv1_0)
        self.early_data_offered = bool(early_data)
        self.psk_schedule: KeySchedule | None = None
        self.client_hello_raw = self._send_client_hello()
        self.output.set_record_version(ProtocolVersion.TLSv1_2)
        if early_data:
            self._send_early_data(early_data)
        self.enter(ClientState.WAIT_SERVER_HELLO)

    def _usable_session(self, session: Session | None, hostname: str | None) -> Session | None:
        """The session to offer, if it can resume here; else a full handshake (§4.6.1: only
        for the same server name, and never an expired ticket)."""
        if session is None:
            return None
        if session.context is not self.policy.owner:
            raise ValueError("Session refers to a different SSLContext.")
        if (
            session.expired(self.environment.now())
            or session.suite not in self.policy.cipher_suites
            or session.server_name != hostname
        ):
            return None
        return session

    def _send_early_data(self, data: bytes) -> None:
        """0-RTT (RFC 8446 §2.3): application data under client_early_traffic_secret, right
        after the ClientHello (and the middlebox-compatibility CCS, §D.4)."""
        session = self.offered_session
        assert session is not None and self.psk_schedule is not None
        early_transcript = Transcript(SUITES[session.suite].hash_name)
        early_transcript.update(self.client_hello_raw)
        secret = self.psk_schedule.client_early_traffic_secret(early_transcript.digest())
        self._send_change_cipher_spec()
        self.suite = session.suite  # the early data uses the ticket's suite (§4.2.10)
        self.set_write_secret(secret, "CLIENT_EARLY_TRAFFIC_SECRET", KeyLevel.EARLY)
        self.suite = None
        # A server that rejected the early data (after a HelloRetryRequest, say) reads these
        # records without a key: OpenSSL then holds them to the plaintext limit of 2^14 bytes
        # (§5.1), so each stays within it sealed, as OpenSSL's own client does.
        self.output.send_early_data(data, EARLY_DATA_RECORD_LIMIT)
        self.early_data_sent = True

    def _initial_key_shares(self) -> list[ClientKeyShare]:
        """A share for the most preferred group; with the hybrid group first, also one for
        x25519, which most servers speak (as browsers do)."""
        groups = list(self.policy.groups)
        chosen = [groups[0]]
        if groups[0] == X25519MLKEM768 and X25519 in groups:
            chosen.append(X25519)
        return [self.environment.client_key_share(group) for group in chosen]

    def _client_hello(self) -> ClientHello:
        policy = self.policy
        extensions: list[tuple[int, bytes]] = []
        hostname = self.server_hostname
        if hostname and not _is_ip_address(hostname):
            # RFC 6066 §3: names only, no IP literals; no trailing dot.
            self.server_name = hostname.rstrip(".")
            extensions.append((ExtensionType.server_name, ext.encode_server_name(self.server_name)))
        extensions += [
            (
                ExtensionType.supported_versions,
                ext.encode_supported_versions_client(list(policy.versions)),
            ),
            (ExtensionType.supported_groups, ext.encode_supported_groups(list(policy.groups))),
            (
                ExtensionType.key_share,
                ext.encode_key_share_client([(s.group, s.key_exchange) for s in self.key_shares]),
            ),
            (
                ExtensionType.signature_algorithms,
                ext.encode_signature_algorithms(list(signatures.CERTIFICATE_VERIFY_SCHEMES)),
            ),
            (
                ExtensionType.signature_algorithms_cert,
                ext.encode_signature_algorithms(list(signatures.CERTIFICATE_SCHEMES)),
            ),
            (
                ExtensionType.psk_key_exchange_modes,
                ext.encode_psk_key_exchange_modes(self._psk_modes()),
            ),
        ]
        if policy.alpn_protocols:
            extensions.append(
                (
                    ExtensionType.application_layer_protocol_negotiation,
                    ext.encode_alpn(list(policy.alpn_protocols)),
                )
            )
        if policy.post_handshake_auth:
            extensions.append((ExtensionType.post_handshake_auth, b""))  # RFC 8446 §4.2.6
        if self.cookie is not None:
            extensions.append((ExtensionType.cookie, ext.encode_cookie(self.cookie)))
        if self.early_data_offered and self.hello_retry_request is None:
            extensions.append((ExtensionType.early_data, ext.encode_early_data_indication(None)))
        session = self.offered_session
        if session is not None:
            # Last (§4.2.11), with a placeholder binder that _send_client_hello computes.
            identity = (session.ticket, session.obfuscated_age(self.environment.now()))
            binder = bytes(SUITES[session.suite].hash_length)
            extensions.append(
                (
                    ExtensionType.pre_shared_key,
                    ext.encode_pre_shared_key_client([identity], [binder]),
                )
            )
        self.offered_extensions |= {ext_type for ext_type, _ in extensions}
        return ClientHello(
            random=self.client_random,
            legacy_session_id=self.session_id,
            cipher_suites=list(policy.cipher_suites),
            extensions=extensions,
        )

    def _psk_modes(self) -> list[int]:
        """psk_dhe_ke always; psk_ke too with OP_ALLOW_NO_DHE_KEX (RFC 8446 §4.2.9)."""
        return [PSK_DHE_KE, PSK_KE] if self.policy.options & OP_ALLOW_NO_DHE_KEX else [PSK_DHE_KE]

    def _send_client_hello(self) -> bytes:
        hello = self._client_hello()
        hook = self.environment.client_hello_hook
        if hook is not None:
            hello = hook(hello)
            self.client_random = hello.random
            self.session_id = hello.legacy_session_id
            self.offered_extensions = {ext_type for ext_type, _ in hello.extensions}
        body = hello.serialize()
        if self.offered_session is not None:
            body = self._with_binder(body)
        return self.send(HandshakeType.client_hello, body)

    def _with_binder(self, body: bytes) -> bytes:
        """Fill in the PSK binder: the Finished MAC, under the binder key, of the transcript
        through this ClientHello truncated before the binders (RFC 8446 §4.2.11.2). After a
        HelloRetryRequest the transcript holds ClientHello1 (as message_hash) and the HRR."""
        session = self.offered_session
        assert session is not None
        hash_name = SUITES[session.suite].hash_name
        self.psk_schedule = KeySchedule(session.suite, session.psk)
        binder_length = SUITES[session.suite].hash_length
        cut = ext.pre_shared_key_binders_length([bytes(binder_length)])
        partial = handshake_message(HandshakeType.client_hello, body)[:-cut]
        transcript = (
            self.transcript.copy() if self.transcript is not None else Transcript(hash_name)
        )
        transcript.update(partial)
        binder = finished_verify_data(
            hash_name, self.psk_schedule.binder_key(external=False), transcript.digest()
        )
        return body[:-binder_length] + binder

    def _send_change_cipher_spec(self) -> None:
        """The one dummy change_cipher_spec of middlebox compatibility mode (RFC 8446 §D.4),
        which a non-empty legacy_session_id announces."""
        if self.session_id and not self.sent_change_cipher_spec:
            self.sent_change_cipher_spec = True
            self.output.send_change_cipher_spec()

    # --- ServerHello / HelloRetryRequest --------------------------------------------------------

    def _server_hello(self, msg_type: int, body: bytes, raw: bytes) -> None:
        hello = ServerHello.parse(body)
        version = self._check_server_hello_common(hello)
        if hello.is_hello_retry_request:
            self._hello_retry_request(hello, raw, version)
            return
        check_server_extensions(
            hello.extensions, ALLOWED_IN_SERVER_HELLO, self.offered_extensions, "ServerHello"
        )
        if self.hello_retry_request is not None:
            require(
                hello.cipher_suite == self.hello_retry_request.cipher_suite,
                AlertDescription.illegal_parameter,
                "ServerHello changed the cipher suite chosen in HelloRetryRequest (§4.1.4)",
            )
        psk = self._accepted_psk(hello)
        share_data = find_extension(hello.extensions, ExtensionType.key_share)
        if share_data is None:
            # psk_ke: the PSK alone, no (EC)DHE (§4.2.9); only if we offered that mode.
            require(
                psk is not None and PSK_KE in self._psk_modes(),
                AlertDescription.missing_extension,
                "ServerHello has no key_share",
            )
            shared_secret = None
            self.group = 0
        else:
            group, server_share = ext.decode_key_share_server(share_data)
            mine = [share for share in self.key_shares if share.group == group]
            require(
                bool(mine),
                AlertDescription.illegal_parameter,
                f"the server answered with a key share for group {group}, for which we sent none",
            )
            shared_secret = mine[0].shared_secret(server_share)
            self.group = group
        self._start_key_schedule(hello.cipher_suite, psk)
        assert self.transcript is not None and self.key_schedule is not None
        self.transcript.update(raw)
        client_secret, server_secret = self.key_schedule.handshake(
            shared_secret, self.transcript.digest()
        )
        self.client_handshake_secret = client_secret
        self.server_handshake_secret = server_secret
        self.set_read_secret(server_secret, "SERVER_HANDSHAKE_TRAFFIC_SECRET", KeyLevel.HANDSHAKE)
        if not self.early_data_sent:
            # From here on our records, alerts included, are protected (the CCS stays
            # plaintext). After 0-RTT the early key stays until EncryptedExtensions says
            # whether the server took the early data.
            self.set_write_secret(
                client_secret, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", KeyLevel.HANDSHAKE
            )
        self.enter(ClientState.WAIT_ENCRYPTED_EXTENSIONS)

    def _accepted_psk(self, hello: ServerHello) -> bytes | None:
        """The PSK if the ServerHello selects our ticket (RFC 8446 §4.2.11), else None."""
        data = find_extension(hello.extensions, ExtensionType.pre_shared_key)
        session = self.offered_session
        if data is None or session is None:
            return None  # (an unoffered pre_shared_key was refused by check_server_extensions)
        require(
            ext.decode_pre_shared_key_server(data) == 0,
            AlertDescription.illegal_parameter,
            "the server selected a PSK identity we did not offer (RFC 8446 §4.2.11)",
        )
        require(
            SUITES[hello.cipher_suite].hash_name == SUITES[session.suite].hash_name,
            AlertDescription.illegal_parameter,
            "the server resumed with a cipher suite whose hash is not the PSK's (§4.2.11)",
        )
        self.psk_accepted = True
        self.output.resumed()
        self.peer_certificates = session.peer_certificates
        return session.psk

    def _check_server_hello_common(self, hello: ServerHello) -> int:
        """Checks of RFC 8446 §4.1.3 shared by ServerHello and HelloRetryRequest."""
        version = client_learns(
            find_extension(hello.extensions, ExtensionType.supported_versions),
            hello.legacy_version,
            hello.random,
            self.policy.versions,
        )
        # Only TLS 1.3 is implemented, so that is what client_learns returned; a TLS 1.2
        # ServerHello will go to hello.CLIENT_HANDSHAKES[version] from here.
        require(
            hello.legacy_version > 0x0300,
            AlertDescription.protocol_version,
            "ServerHello.legacy_version is SSL 3.0 or older (RFC 8446 §D.5)",
        )
        require(
            hello.legacy_version == TLS12,
            AlertDescription.illegal_parameter,
            "ServerHello.legacy_version is not 0x0303",
        )
        require(
            hmac.compare_digest(hello.legacy_session_id_echo, self.session_id),
            AlertDescription.illegal_parameter,
            "ServerHello does not echo our legacy_session_id",
        )
        require(
            hello.cipher_suite in self.policy.cipher_suites,
            AlertDescription.illegal_parameter,
            f"the server chose cipher suite 0x{hello.cipher_suite:04x}, which we did not offer",
        )
        require(
            hello.legacy_compression_method == 0,
            AlertDescription.illegal_parameter,
            "ServerHello.legacy_compression_method is not 0",
        )
        return version

    def _hello_retry_request(self, hello: ServerHello, raw: bytes, version: int) -> None:
        """RFC 8446 §4.1.4: send a second ClientHello with the share the server asked for."""
        require(
            self.hello_retry_request is None,
            AlertDescription.unexpected_message,
            "a second HelloRetryRequest (RFC 8446 §4.1.4)",
        )
        check_server_extensions(
            hello.extensions,
            ALLOWED_IN_HELLO_RETRY_REQUEST,
            self.offered_extensions,
            "HelloRetryRequest",
        )
        share_data = find_extension(hello.extensions, ExtensionType.key_share)
        cookie_data = find_extension(hello.extensions, ExtensionType.cookie)
        require(
            share_data is not None or cookie_data is not None,
            AlertDescription.illegal_parameter,
            "HelloRetryRequest would not change the ClientHello (RFC 8446 §4.1.4)",
        )
        if share_data is not None:
            group = ext.decode_key_share_hrr(share_data)
            require(
                group in self.policy.groups,
                AlertDescription.illegal_parameter,
                f"HelloRetryRequest asks for group {group}, which we did not offer",
            )
            require(
                all(share.group != group for share in self.key_shares),
                AlertDescription.illegal_parameter,
                f"HelloRetryRequest asks for group {group}, for which we already sent a share",
            )
            self.key_shares = [self.environment.client_key_share(group)]
        if cookie_data is not None:
            self.cookie = ext.decode_cookie(cookie_data)
        session = self.offered_session
        if session is not None and (
            SUITES[session.suite].hash_name != SUITES[hello.cipher_suite].hash_name
        ):
            self.offered_session = None  # a PSK must match the suite's hash (§4.1.4)
        self.hello_retry_request = hello
        if self.early_data_sent:
            # The second ClientHello goes in clear (§4.1.2).
            self.output.change_key(KeyChange(Direction.WRITE, KeyLevel.INITIAL))
        self._start_key_schedule(hello.cipher_suite)
        assert self.transcript is not None
        self.transcript.hello_retry_request_reset()
        self.transcript.update(raw)
        self._send_change_cipher_spec()
        self._send_client_hello()

    def _start_key_schedule(self, suite: int, psk: bytes | None = None) -> None:
        """The suite fixes the hash: the transcript starts with the stored ClientHello."""
        if self.transcript is None:
            self.transcript = Transcript(SUITES[suite].hash_name)
            self.transcript.update(self.client_hello_raw)
        self.suite = suite
        self.key_schedule = KeySchedule(suite, psk)

    # --- server's encrypted flight -----------------------------------------------------------

    def _encrypted_extensions(self, msg_type: int, body: bytes, raw: bytes) -> None:
        extensions = EncryptedExtensions.parse(body).extensions
        check_server_extensions(
            extensions,
            ALLOWED_IN_ENCRYPTED_EXTENSIONS,
            self.offered_extensions,
            "EncryptedExtensions",
        )
        alpn = find_extension(extensions, ExtensionType.application_layer_protocol_negotiation)
        if alpn is not None:
            protocols = ext.decode_alpn(alpn)
            require(
                len(protocols) == 1 and protocols[0] in self.policy.alpn_protocols,
                AlertDescription.illegal_parameter,
                "the server selected an ALPN protocol we did not offer (RFC 7301 §3.2)",
            )
            self.alpn_protocol = protocols[0]
        server_name = find_extension(extensions, ExtensionType.server_name)
        require(
            server_name in (None, b""),
            AlertDescription.decode_error,
            "the server's server_name extension must be empty (RFC 6066 §3)",
        )
        early_data = find_extension(extensions, ExtensionType.early_data)
        if early_data is not None:
            # §4.2.10: only for the early data we sent, with the first PSK, without HRR.
            require(
                self.early_data_sent and self.psk_accepted and self.hello_retry_request is None,
                AlertDescription.illegal_parameter,
                "the server accepted early data we did not send (RFC 8446 §4.2.10)",
            )
            ext.decode_early_data_indication(early_data, in_new_session_ticket=False)
            self.early_data_accepted = True
        elif self.early_data_sent:
            # Rejected: the server skips our 0-RTT records; we go on under the handshake key.
            self.set_write_secret(
                self.client_handshake_secret, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", KeyLevel.HANDSHAKE
            )
        self.transcript_update(raw)
        # A PSK authenticates the server: no Certificate or CertificateVerify (§2.2).
        self.enter(
            ClientState.WAIT_FINISHED
            if self.psk_accepted
            else ClientState.WAIT_CERTIFICATE_OR_REQUEST
        )

    def transcript_update(self, raw: bytes) -> None:
        assert self.transcript is not None
        self.transcript.update(raw)

    def _certificate_request(self, msg_type: int, body: bytes, raw: bytes) -> None:
        request = client_auth.check_certificate_request(body, post_handshake=False)
        self.certificate_request = request
        self.transcript_update(raw)
        self.enter(ClientState.WAIT_CERTIFICATE)

    def _certificate(self, msg_type: int, body: bytes, raw: bytes) -> None:
        message = Certificate.parse(body)
        require(
            message.certificate_request_context == b"",
            AlertDescription.illegal_parameter,
            "the server's Certificate has a non-empty request context (RFC 8446 §4.4.2)",
        )
        require(
            bool(message.entries),
            AlertDescription.decode_error,
            "the server sent an empty Certificate message (RFC 8446 §4.4.2.4)",
        )
        for entry in message.entries:
            check_server_extensions(
                entry.extensions, ALLOWED_IN_CERTIFICATE, self.offered_extensions, "Certificate"
            )
        chain = [entry.cert_data for entry in message.entries]
        self.peer_certificates = tuple(chain)
        policy = self.policy
        if policy.verify_mode == ssl.CERT_NONE:
            self.leaf_certificate = _parse_leaf(chain[0])
        else:
            verified = verify_server_chain(
                chain,
                policy.trust_store,
                hostname=self.server_hostname,
                check_hostname=policy.check_hostname,
            )
            self.leaf_certificate = verified[0]
        self.transcript_update(raw)
        self.enter(ClientState.WAIT_CERTIFICATE_VERIFY)

    def _certificate_verify(self, msg_type: int, body: bytes, raw: bytes) -> None:
        message = CertificateVerify.parse(body)
        require(
            message.algorithm in signatures.CERTIFICATE_VERIFY_SCHEMES,
            AlertDescription.illegal_parameter,
            f"CertificateVerify uses scheme 0x{message.algorithm:04x}, which we did not offer",
        )
        assert self.leaf_certificate is not None and self.transcript is not None
        signatures.verify(
            self.leaf_certificate,
            message.algorithm,
            message.signature,
            signatures.certificate_verify_input(self.transcript.digest(), server=True),
            allowed=signatures.CERTIFICATE_VERIFY_SCHEMES,
        )
        self.transcript_update(raw)
        self.enter(ClientState.WAIT_FINISHED)

    def _server_finished(self, msg_type: int, body: bytes, raw: bytes) -> None:
        self.check_peer_finished(body, self.server_handshake_secret, "server")
        self.transcript_update(raw)
        assert self.key_schedule is not None and self.transcript is not None
        client_app, server_app, exporter = self.key_schedule.application(self.transcript.digest())
        self.exporter_master_secret = exporter
        self.log_secret("EXPORTER_SECRET", exporter)
        self.set_read_secret(server_app, "SERVER_TRAFFIC_SECRET_0", KeyLevel.APPLICATION)
        # Our second flight, under the client handshake traffic key (RFC 8446 §4.4), after
        # EndOfEarlyData under the early key if the server took our 0-RTT data (§4.5).
        self._send_change_cipher_spec()
        if self.early_data_accepted:
            self.send(HandshakeType.end_of_early_data, EndOfEarlyData().serialize())
            self.set_write_secret(
                self.client_handshake_secret, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", KeyLevel.HANDSHAKE
            )
        if self.certificate_request is not None:
            self._send_client_certificate(self.certificate_request, self.transcript)
        self.send(
            HandshakeType.finished,
            Finished(self.finished_data(self.client_handshake_secret)).serialize(),
        )
        self.resumption_master_secret = self.key_schedule.resumption_master_secret(
            self.transcript.digest()
        )
        self.set_write_secret(client_app, "CLIENT_TRAFFIC_SECRET_0", KeyLevel.APPLICATION)
        self.enter(ClientState.CONNECTED)
        self.finish()
        self.forget_handshake_secrets()

    def forget_handshake_secrets(self) -> None:
        super().forget_handshake_secrets()
        self.psk_schedule = None
        self.client_handshake_secret = self.server_handshake_secret = b""

    # --- after the handshake --------------------------------------------------------------------

    def _key_update(self, msg_type: int, body: bytes, raw: bytes) -> None:
        self.receive_key_update(body)

    # --- client authentication (RFC 8446 §4.4.2, §4.4.3, §4.6.2) --------------------------------

    def _send_client_certificate(
        self, request: CertificateRequest, transcript: Transcript | None
    ) -> None:
        """Certificate, and CertificateVerify unless it is empty (§4.4.2.4), added to
        ``transcript``: the handshake's, or a post-handshake exchange's own."""
        chain, scheme = client_auth.client_credentials(self.policy, request)
        entries = [CertificateEntry(der, []) for der in chain]
        certificate = Certificate(request.certificate_request_context, entries)
        self.send_to(transcript, HandshakeType.certificate, certificate.serialize())
        if scheme is None:
            return
        assert transcript is not None
        signature = signatures.sign(
            self.policy.private_key,
            scheme,
            signatures.certificate_verify_input(transcript.digest(), server=False),
        )
        self.send_to(
            transcript,
            HandshakeType.certificate_verify,
            CertificateVerify(scheme, signature).serialize(),
        )

    def post_handshake_auth_possible(self) -> bool:
        return ExtensionType.post_handshake_auth in self.offered_extensions

    def _post_handshake_certificate_request(self, msg_type: int, body: bytes, raw: bytes) -> None:
        """Answer at once (§4.6.2), over the handshake transcript plus this exchange, with a
        Finished keyed by our current application traffic secret (§4.4), so several requests
        are simply answered in turn."""
        require(
            ExtensionType.post_handshake_auth in self.offered_extensions,
            AlertDescription.unexpected_message,
            "certificate_request (13) after the handshake, and we did not offer "
            "post_handshake_auth (RFC 8446 §4.6.2)",
        )
        if self.close_notify_sent:
            return  # nothing more is sent after close_notify (§6.1)
        request = client_auth.check_certificate_request(body, post_handshake=True)
        self.post_handshake_requests += 1
        require(
            self.post_handshake_requests <= MAX_POST_HANDSHAKE_REQUESTS,
            AlertDescription.unexpected_message,
            f"more than {MAX_POST_HANDSHAKE_REQUESTS} post-handshake CertificateRequests",
        )
        assert self.handshake_transcript is not None
        transcript = self.handshake_transcript.copy()
        transcript.update(raw)
        self._send_client_certificate(request, transcript)
        finished = Finished(self.finished_data(self.write_secret, transcript))
        self.send_to(transcript, HandshakeType.finished, finished.serialize())

    def _new_session_ticket(self, msg_type: int, body: bytes, raw: bytes) -> None:
        """A ticket becomes a Session (RFC 8446 §4.6.1)."""
        ticket = NewSessionTicket.parse(body)
        max_early_data_size = 0
        for ext_type, data in ticket.extensions:
            # §4.6.1: early_data is the only one defined; unknown ones are ignored.
            require(
                ext_type == ExtensionType.early_data or ext_type not in KNOWN_EXTENSIONS,
                AlertDescription.illegal_parameter,
                f"NewSessionTicket carries extension {ext_type}, not allowed there (§4.2)",
            )
            if ext_type == ExtensionType.early_data:
                max_early_data_size = (
                    ext.decode_early_data_indication(data, in_new_session_ticket=True) or 0
                )
        require(
            ticket.ticket_lifetime <= MAX_TICKET_LIFETIME,
            AlertDescription.illegal_parameter,
            "NewSessionTicket lifetime beyond 7 days (RFC 8446 §4.6.1)",
        )
        if ticket.ticket_lifetime == 0:
            return  # "the ticket should be discarded immediately"
        assert self.suite is not None
        self.output.new_session(
            Session(
                ticket=ticket.ticket,
                psk=resumption_psk(
                    self.hash_name, self.resumption_master_secret, ticket.ticket_nonce
                ),
                suite=self.suite,
                ticket_lifetime_hint=ticket.ticket_lifetime,
                age_add=ticket.ticket_age_add,
                received_at=self.environment.now(),
                max_early_data_size=max_early_data_size,
                alpn_protocol=self.alpn_protocol,
                server_name=self.server_hostname,
                peer_certificates=self.peer_certificates,
                context=self.policy.owner,
            )
        )


def _is_ip_address(hostname: str) -> bool:
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True


def _parse_leaf(der: bytes) -> x509.Certificate:
    """The unverified leaf (verify_mode CERT_NONE): only its key is used, for CertificateVerify.

    cryptography parses lazily, so the names and the key are decoded here, where a failure can
    be named.
    """
    try:
        certificate = load_der_certificate(der)
    except (ValueError, x509.InvalidVersion) as exc:
        raise ProtocolError(
            AlertDescription.bad_certificate, f"the server's certificate is malformed: {exc}"
        ) from None
    try:
        certificate.public_key()
    except UnsupportedAlgorithm as exc:
        raise ProtocolError(
            AlertDescription.unsupported_certificate,
            f"the server's certificate has an unusable key: {exc}",
        ) from None
    except ValueError as exc:
        raise ProtocolError(
            AlertDescription.bad_certificate, f"the server's certificate key is malformed: {exc}"
        ) from None
    return certificate

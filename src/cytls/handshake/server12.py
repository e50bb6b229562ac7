"""The TLS 1.2 server handshake (RFC 5246 §7.3), ECDHE with AEAD suites, as a state machine.

START                     receive_client_hello() (from the hello phase, which chose TLS 1.2):
                             ServerHello, Certificate, ServerKeyExchange, ServerHelloDone ->
WAIT_CLIENT_KEY_EXCHANGE  <- ClientKeyExchange (the master secret, the key block)
WAIT_CHANGE_CIPHER_SPEC   <- change_cipher_spec (the client's key takes effect)
WAIT_FINISHED             <- Finished;  change_cipher_spec, Finished ->
CONNECTED                 (renegotiation is refused)

Not yet (issue 15): resumption (session IDs, RFC 5077 tickets), CertificateRequest, the
warning no_renegotiation answer to a ClientHello after the handshake.

The extended master secret (RFC 7627) is used whenever the client offers it; the secure
renegotiation indication (RFC 5746) is answered with an empty renegotiation_info.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import ClassVar

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cytls.crypto import prf, signatures12
from cytls.crypto.groups import ClientKeyShare
from cytls.crypto.keyschedule import Transcript
from cytls.errors import ProtocolError
from cytls.handshake.common import (
    Handshake,
    HandshakeState,
    check_finished,
    choose_alpn,
    require,
)
from cytls.handshake.output import Direction, KeyChange, KeyLevel, Negotiated
from cytls.handshake.versions import DOWNGRADE_TLS12
from cytls.registry import (
    EMPTY_RENEGOTIATION_INFO_SCSV,
    SUITES,
    TLS_FALLBACK_SCSV,
    NamedGroup,
    ProtocolVersion,
)
from cytls.wire import extensions as ext
from cytls.wire.enums import AlertDescription
from cytls.wire.messages import (
    ClientHello,
    ExtensionType,
    Finished,
    HandshakeType,
    ServerHello,
    find_extension,
)
from cytls.wire.messages12 import (
    Certificate12,
    ClientKeyExchangeECDHE,
    ServerHelloDone,
    ServerKeyExchangeECDHE,
)

# cryptography's curve names -> NamedGroup, for the certificate check of RFC 8422 §5.1.1.
_CURVE_GROUPS = {
    "secp256r1": NamedGroup.secp256r1,
    "secp384r1": NamedGroup.secp384r1,
}
# The groups TLS 1.2 ECDHE can use: an ECDH point exchange (not the hybrid KEM).
_ECDHE_GROUPS = (NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1)


class Server12State(HandshakeState):
    START = "start"
    WAIT_CLIENT_KEY_EXCHANGE = "wait_client_key_exchange"
    WAIT_CHANGE_CIPHER_SPEC = "wait_change_cipher_spec"
    WAIT_FINISHED = "wait_finished"
    CONNECTED = "connected"


class ServerHandshake12(Handshake):
    """One TLS 1.2 server handshake; see the module docstring."""

    __slots__ = (
        "extended_master_secret",
        "key_share",
        "master_secret",
        "record_keys",
        "renegotiation_scsv",
        "server_random",
    )

    ROLE = "server"
    INITIAL = Server12State.START
    TRANSITIONS: ClassVar[Mapping[HandshakeState, Mapping[int, str]]] = {
        Server12State.START: {},
        Server12State.WAIT_CLIENT_KEY_EXCHANGE: {
            HandshakeType.client_key_exchange: "_client_key_exchange"
        },
        Server12State.WAIT_CHANGE_CIPHER_SPEC: {},
        Server12State.WAIT_FINISHED: {HandshakeType.finished: "_finished"},
        Server12State.CONNECTED: {},
    }

    def start(self) -> None:
        self.peer_change_cipher_spec_allowed = False
        self.key_share: ClientKeyShare | None = None
        self.extended_master_secret = False
        self.master_secret = b""
        self.record_keys: prf.RecordKeys | None = None
        self.server_random = b""

    # --- ClientHello ------------------------------------------------------------------------------

    def receive_client_hello(
        self, hello: ClientHello, ignored: tuple[bytes, bytes], raw: bytes
    ) -> None:
        self.client_random = hello.random
        self.renegotiation_scsv = EMPTY_RENEGOTIATION_INFO_SCSV in hello.cipher_suites
        require(
            TLS_FALLBACK_SCSV not in hello.cipher_suites
            or self.policy.versions[0] <= ProtocolVersion.TLSv1_2,
            AlertDescription.inappropriate_fallback,
            "the client fell back to TLS 1.2 (TLS_FALLBACK_SCSV), and this server supports "
            "TLS 1.3 (RFC 7507 §3)",
        )
        require(
            b"\x00" in hello.legacy_compression_methods,
            AlertDescription.illegal_parameter,
            "the ClientHello does not offer the null compression method (RFC 5246 §7.4.1.2)",
        )
        extensions = hello.extensions
        renegotiation = find_extension(extensions, ExtensionType.renegotiation_info)
        if renegotiation is not None:
            require(
                ext.decode_renegotiation_info(renegotiation) == b"",
                AlertDescription.handshake_failure,
                "renegotiation_info is not empty in an initial handshake (RFC 5746 §3.6)",
            )
        formats = find_extension(extensions, ExtensionType.ec_point_formats)
        if formats is not None:
            ext.decode_ec_point_formats(formats)
        server_name = find_extension(extensions, ExtensionType.server_name)
        if server_name is not None:
            self.server_name = ext.decode_server_name(server_name)
        self.policy = policy = self.output.server_name_received(self.server_name)
        require(
            policy.private_key is not None,
            AlertDescription.handshake_failure,
            "the server has no certificate (call load_cert_chain)",
        )
        self.suite = self._choose_suite(hello)
        self.group = self._choose_group(hello)
        signature_data = find_extension(extensions, ExtensionType.signature_algorithms)
        require(
            signature_data is not None,
            AlertDescription.handshake_failure,
            "ClientHello without signature_algorithms: its default is SHA-1, which cytls does "
            "not sign with (RFC 5246 §7.4.1.4.1, RFC 9155)",
        )
        assert signature_data is not None
        scheme = signatures12.choose_scheme(
            policy.private_key, ext.decode_signature_algorithms(signature_data)
        )
        ems = find_extension(extensions, ExtensionType.extended_master_secret)
        if ems is not None:
            ext.decode_empty(ems, "extended_master_secret extension")  # RFC 7627 §5.1
        self.extended_master_secret = ems is not None
        self.alpn_protocol = choose_alpn(self.policy, hello)
        self.transcript = Transcript(SUITES[self.suite].hash_name)
        self.transcript.update(raw)
        self._send_flight(hello, scheme, server_name is not None)

    def _choose_suite(self, hello: ClientHello) -> int:
        """Our TLS 1.2 suites the client offers and our certificate can serve (ECDSA or RSA
        authentication, RFC 8422 §6), in the client's order unless the server prefers."""
        # EdDSA certificates serve the ECDHE_ECDSA suites too (RFC 8422 §5.1.3).
        key = self.policy.private_key
        key_kind = "RSA" if isinstance(key, rsa.RSAPrivateKey) else "ECDSA"
        groups = find_extension(hello.extensions, ExtensionType.supported_groups)
        if isinstance(key, ec.EllipticCurvePrivateKey) and groups is not None:
            # The client's supported_groups bounds the curves of the ECDSA keys it accepts too
            # (RFC 8422 §5.1.1: "the server's certificate ... MUST use a curve the client
            # supports"); OpenSSL clients refuse a P-256 certificate after "-groups x25519".
            curve = _CURVE_GROUPS.get(key.curve.name)  # P-521: not a cytls group, unchecked
            require(
                curve is None or curve in ext.decode_supported_groups(groups),
                AlertDescription.handshake_failure,
                f"the client does not support {key.curve.name}, the curve of this server's "
                "ECDSA certificate (RFC 8422 §5.1.1)",
            )
        ours = [
            code
            for code in self.policy.tls12_cipher_suites
            if f"_ECDHE_{key_kind}_" in SUITES[code].name
        ]
        if self.policy.options & ssl.OP_CIPHER_SERVER_PREFERENCE:
            common = [code for code in ours if code in hello.cipher_suites]
        else:
            common = [code for code in hello.cipher_suites if code in ours]
        require(
            bool(common),
            AlertDescription.handshake_failure,
            f"no TLS 1.2 cipher suite in common for a server with an {key_kind} certificate",
        )
        return common[0]

    def _choose_group(self, hello: ClientHello) -> int:
        """Our first ECDHE group the client lists; a client without supported_groups is taken
        to support secp256r1 (the RFC 8422 §4 default every implementation has)."""
        data = find_extension(hello.extensions, ExtensionType.supported_groups)
        offered = ext.decode_supported_groups(data) if data is not None else [NamedGroup.secp256r1]
        for group in self.policy.groups:
            if group in _ECDHE_GROUPS and group in offered:
                return group
        raise ProtocolError(
            AlertDescription.handshake_failure, "no ECDHE group in common (RFC 8422 §5.1.1)"
        )

    def _send_flight(self, hello: ClientHello, scheme: int, acknowledge_sni: bool) -> None:
        """ServerHello, Certificate, ServerKeyExchange, ServerHelloDone (RFC 5246 §7.3)."""
        assert self.suite is not None and self.group is not None
        policy = self.policy
        random = self.environment.random_bytes(32)
        if ProtocolVersion.TLSv1_3 in policy.versions:
            random = random[:24] + DOWNGRADE_TLS12  # RFC 8446 §4.1.3
        self.server_random = random
        # Only answers: renegotiation_info to the client's extension or SCSV (RFC 5746 §3.6),
        # ec_point_formats to its extension (RFC 8422 §5.2); anything else is unsolicited.
        offered = {ext_type for ext_type, _ in hello.extensions}
        extensions: list[tuple[int, bytes]] = []
        if ExtensionType.renegotiation_info in offered or self.renegotiation_scsv:
            extensions.append((ExtensionType.renegotiation_info, ext.encode_renegotiation_info()))
        if ExtensionType.ec_point_formats in offered:
            extensions.append((ExtensionType.ec_point_formats, ext.encode_ec_point_formats()))
        if self.extended_master_secret:
            extensions.append((ExtensionType.extended_master_secret, b""))
        if acknowledge_sni:
            extensions.append((ExtensionType.server_name, b""))
        if self.alpn_protocol is not None:
            extensions.append(
                (
                    ExtensionType.application_layer_protocol_negotiation,
                    ext.encode_alpn([self.alpn_protocol]),
                )
            )
        server_hello = ServerHello(
            random=random,
            legacy_session_id_echo=b"",  # no session cache yet: not resumable
            cipher_suite=self.suite,
            extensions=extensions,
        )
        self.send(HandshakeType.server_hello, server_hello.serialize())
        self.send(
            HandshakeType.certificate, Certificate12(list(policy.certificate_chain_der)).serialize()
        )
        self.key_share = share = self.environment.client_key_share(self.group)
        exchange = ServerKeyExchangeECDHE(self.group, share.key_exchange, scheme, b"")
        exchange.signature = signatures12.sign(
            policy.private_key, scheme, exchange.signed_content(self.client_random, random)
        )
        self.send(HandshakeType.server_key_exchange, exchange.serialize())
        self.send(HandshakeType.server_hello_done, ServerHelloDone().serialize())
        self.enter(Server12State.WAIT_CLIENT_KEY_EXCHANGE)

    # --- the client's flight ----------------------------------------------------------------------

    def _client_key_exchange(self, msg_type: int, body: bytes, raw: bytes) -> None:
        assert self.key_share is not None and self.transcript is not None
        assert self.suite is not None
        public = ClientKeyExchangeECDHE.parse(body).public
        pre_master = self.key_share.shared_secret(public)  # illegal_parameter if invalid
        self.key_share = None
        self.transcript.update(raw)
        hash_name = SUITES[self.suite].hash_name
        if self.extended_master_secret:
            master = prf.extended_master_secret(hash_name, pre_master, self.transcript.digest())
        else:
            master = prf.master_secret(
                hash_name, pre_master, self.client_random, self.server_random
            )
        self.master_secret = master
        self.record_keys = prf.key_block(self.suite, master, self.client_random, self.server_random)
        self.output.log_secret("CLIENT_RANDOM", self.client_random, master)
        self.peer_change_cipher_spec_allowed = True
        self.enter(Server12State.WAIT_CHANGE_CIPHER_SPEC)

    def receive_change_cipher_spec(self) -> None:
        """The client's keys take effect from the next record (RFC 5246 §7.1)."""
        require(
            self.state is Server12State.WAIT_CHANGE_CIPHER_SPEC,
            AlertDescription.unexpected_message,
            f"change_cipher_spec in state {self.state.name} (RFC 5246 §7.1)",
        )
        require(
            self.reassembler.buffered() == 0,
            AlertDescription.unexpected_message,
            "a handshake message spans change_cipher_spec (RFC 5246 §7.1)",
        )
        assert self.record_keys is not None and self.suite is not None
        self.peer_change_cipher_spec_allowed = False
        self.output.change_key(
            KeyChange(
                Direction.READ,
                KeyLevel.HANDSHAKE,  # no application data before Finished (§7.4.9)
                SUITES[self.suite],
                self.record_keys.client_write_key,
                self.record_keys.client_write_iv,
            )
        )
        self.enter(Server12State.WAIT_FINISHED)

    def _finished(self, msg_type: int, body: bytes, raw: bytes) -> None:
        assert self.transcript is not None and self.suite is not None
        assert self.record_keys is not None
        hash_name = SUITES[self.suite].hash_name
        expected = prf.finished_verify_data(
            hash_name, self.master_secret, server=False, handshake_hash=self.transcript.digest()
        )
        check_finished(expected, body, "client", "RFC 5246 §7.4.9")
        self.transcript.update(raw)
        self.output.accept_application_data()
        self.output.send_change_cipher_spec()
        self.output.change_key(
            KeyChange(
                Direction.WRITE,
                KeyLevel.APPLICATION,
                SUITES[self.suite],
                self.record_keys.server_write_key,
                self.record_keys.server_write_iv,
            )
        )
        verify_data = prf.finished_verify_data(
            hash_name, self.master_secret, server=True, handshake_hash=self.transcript.digest()
        )
        self.send(HandshakeType.finished, Finished(verify_data).serialize())
        self.record_keys = None
        self.enter(Server12State.CONNECTED)
        self.finish()

    def negotiated(self) -> Negotiated:
        assert self.suite is not None
        return Negotiated(
            version="TLSv1.2",
            suite=SUITES[self.suite],
            group=self.group,
            alpn_protocol=self.alpn_protocol,
            server_name=self.server_name,
            peer_certificates=self.peer_certificates,
            session_resumed=False,
            early_data_accepted=False,
            early_data_length=0,
        )

    def export_keying_material(self, label: bytes, context: bytes | None, length: int) -> bytes:
        """RFC 5705 §4, from the master secret (kept for this, as OpenSSL keeps it)."""
        assert self.suite is not None
        return prf.export_keying_material(
            SUITES[self.suite].hash_name,
            self.master_secret,
            label,
            self.client_random,
            self.server_random,
            context,
            length,
        )

"""The TLS 1.2 server (cytls.handshake.server12) against the ``ssl`` module and against a TLS 1.2
client written here from RFC 5246, RFC 8422 and RFC 7627, whose every message can be wrong.

The client's ClientHello is the one Python's ``ssl`` makes with maximum_version TLS 1.2 (so it is
a real one), edited where a test needs it; the rest of its flight (ClientKeyExchange with its own
x25519 key, change_cipher_spec, Finished) and its record protection are computed here with
``cryptography`` and cytls.crypto.prf (known-answer tested in test_tls12_prf.py), not with the
record layer under test.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import ssl
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from handshakeutil import (
    client_hello_of,
    credentials,
    hello_record,
    record,
    replace_extension,
    server_context,
    split_messages,
    split_records,
)

import cytls
from cytls.crypto import prf
from cytls.errors import ProtocolError, TLSError
from cytls.registry import EMPTY_RENEGOTIATION_INFO_SCSV, TLS_FALLBACK_SCSV, CipherSuite, NamedGroup
from cytls.wire import extensions as ext
from cytls.wire.enums import AlertDescription
from cytls.wire.messages import ClientHello, ExtensionType, HandshakeType, ServerHello
from cytls.wire.messages12 import ServerKeyExchangeECDHE

HANDSHAKE, CCS, ALERT, APPLICATION_DATA = 22, 20, 21, 23
SUITE = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256


def ssl_client(keylog: Path | None = None) -> tuple[ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=credentials().ca_pem)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    if keylog is not None:
        context.keylog_filename = str(keylog)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    return context.wrap_bio(incoming, outgoing, server_hostname="localhost"), incoming, outgoing


def ssl_client_hello() -> ClientHello:
    """What ``ssl`` sends as a TLS 1.2 client, offering only our test suite (and the secure
    renegotiation SCSV it sends, RFC 5746 §3.3)."""
    client, _, outgoing = ssl_client()
    with contextlib.suppress(ssl.SSLWantReadError):
        client.do_handshake()
    hello = client_hello_of(outgoing.read())
    assert EMPTY_RENEGOTIATION_INFO_SCSV in hello.cipher_suites
    return dataclasses.replace(hello, cipher_suites=[SUITE, EMPTY_RENEGOTIATION_INFO_SCSV])


def test_ssl_client_with_every_default_suite_and_the_same_master_secret(tmp_path: Path) -> None:
    """A full handshake with ``ssl`` limited to TLS 1.2; cytls's key log line (the master
    secret) is the one OpenSSL logs."""
    keylog = tmp_path / "ssl.log"
    client, incoming, outgoing = ssl_client(keylog)
    context = server_context()
    context.keylog_filename = str(tmp_path / "cytls.log")
    server = cytls.Connection(context, server_side=True)
    for _ in range(3):
        with contextlib.suppress(ssl.SSLWantReadError):
            client.do_handshake()
        server.receive_data(outgoing.read())
        incoming.write(server.data_to_send())
    client.do_handshake()
    assert server.handshake_complete and server.version() == "TLSv1.2"
    assert client.cipher()[0] == "ECDHE-ECDSA-AES256-GCM-SHA384"
    assert server.cipher()[0] == "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
    ssl_lines = [line for line in keylog.read_text().splitlines() if line.startswith("CLIENT_")]
    assert (tmp_path / "cytls.log").read_text().splitlines() == ssl_lines
    client.write(b"ping")
    server.receive_data(outgoing.read())
    assert server.recv(10) == b"ping"
    server.send(b"pong")
    incoming.write(server.data_to_send())
    assert client.read() == b"pong"


def test_the_downgrade_sentinel_is_set_only_when_tls13_is_enabled() -> None:
    """RFC 8446 §4.1.3: a server that could do TLS 1.3 but negotiates TLS 1.2 ends its random
    with DOWNGRD\\x01, so that a TLS 1.3 client can detect an attacker's downgrade."""
    for maximum, sentinel in (
        (ssl.TLSVersion.MAXIMUM_SUPPORTED, True),
        (ssl.TLSVersion.TLSv1_2, False),
    ):
        context = server_context()
        context.maximum_version = maximum
        server = cytls.Connection(context, server_side=True)
        server.receive_data(hello_record(ssl_client_hello()))
        flight = TLS12Client.server_flight(server.data_to_send())
        assert (flight.server_hello.random[-8:] == b"DOWNGRD\x01") is sentinel


@dataclasses.dataclass
class Flight:
    server_hello: ServerHello
    key_exchange: ServerKeyExchangeECDHE
    messages: list[bytes]


class TLS12Client:
    """Just enough of a TLS 1.2 client for TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 over
    x25519, each step a method, so that a test can send something else at any point."""

    def __init__(self, hello: ClientHello | None = None, context: cytls.TLSContext | None = None):
        self.hello = hello or ssl_client_hello()
        self.server = cytls.Connection(context or server_context(), server_side=True)
        self.transcript = self.hello.to_message()
        self.server.receive_data(hello_record(self.hello))
        flight = self.server_flight(self.server.data_to_send())
        self.flight = flight
        self.transcript += b"".join(flight.messages)
        self.ems = any(
            t == ExtensionType.extended_master_secret for t, _ in flight.server_hello.extensions
        )
        self.seq = 0

    @staticmethod
    def server_flight(data: bytes) -> Flight:
        payload = b"".join(f for t, _, f in split_records(data) if t == HANDSHAKE)
        messages = split_messages(payload)
        assert [m[0] for m in messages] == [
            HandshakeType.server_hello,
            HandshakeType.certificate,
            HandshakeType.server_key_exchange,
            HandshakeType.server_hello_done,
        ]
        return Flight(
            ServerHello.parse(messages[0][4:]),
            ServerKeyExchangeECDHE.parse(messages[2][4:]),
            messages,
        )

    def key_exchange(self, public: bytes | None = None) -> bytes:
        """The ClientKeyExchange record; the master secret and keys follow from it."""
        assert self.flight.key_exchange.group == NamedGroup.x25519
        private = x25519.X25519PrivateKey.generate()
        if public is None:
            public = private.public_key().public_bytes_raw()
        cke = bytes((HandshakeType.client_key_exchange, 0, 0, 33, 32)) + public
        self.transcript += cke
        if public == private.public_key().public_bytes_raw():
            pre_master = private.exchange(
                x25519.X25519PublicKey.from_public_bytes(self.flight.key_exchange.public)
            )
            if self.ems:
                self.master = prf.extended_master_secret(
                    "sha256", pre_master, hashlib.sha256(self.transcript).digest()
                )
            else:
                self.master = prf.master_secret(
                    "sha256", pre_master, self.hello.random, self.flight.server_hello.random
                )
            self.keys = prf.key_block(
                SUITE, self.master, self.hello.random, self.flight.server_hello.random
            )
        return record(HANDSHAKE, cke)

    def seal(self, content_type: int, data: bytes) -> bytes:
        """A record under the client's write key (RFC 5246 §6.2.3.3, RFC 5288)."""
        explicit = self.seq.to_bytes(8, "big")
        aad = explicit + bytes((content_type, 3, 3)) + len(data).to_bytes(2, "big")
        sealed = AESGCM(self.keys.client_write_key).encrypt(
            self.keys.client_write_iv + explicit, data, aad
        )
        self.seq += 1
        return record(content_type, explicit + sealed)

    def finished(self, verify_data: bytes | None = None) -> bytes:
        if verify_data is None:
            verify_data = prf.finished_verify_data(
                "sha256",
                self.master,
                server=False,
                handshake_hash=hashlib.sha256(self.transcript).digest(),
            )
        message = bytes((HandshakeType.finished, 0, 0, len(verify_data))) + verify_data
        self.transcript += message
        return self.seal(HANDSHAKE, message)

    def fails_with(self, data: bytes, alert: AlertDescription) -> str:
        with pytest.raises(ProtocolError) as info:
            self.server.receive_data(data)
        assert info.value.alert == alert, str(info.value)
        sent = self.server.data_to_send()
        assert any(t == ALERT for t, _, _ in split_records(sent)) or sent  # the alert goes out
        return str(info.value)


CHANGE_CIPHER_SPEC = record(CCS, b"\x01")


def test_the_client_written_here_completes_and_reads_the_server_finished() -> None:
    client = TLS12Client()
    assert client.ems  # ssl offers it; cytls uses it (RFC 7627)
    client.server.receive_data(client.key_exchange() + CHANGE_CIPHER_SPEC + client.finished())
    assert client.server.handshake_complete
    reply = split_records(client.server.data_to_send())
    assert [t for t, _, _ in reply] == [CCS, HANDSHAKE]
    fragment = reply[1][2]
    explicit, sealed = fragment[:8], fragment[8:]
    aad = explicit + bytes((HANDSHAKE, 3, 3)) + (len(sealed) - 16).to_bytes(2, "big")
    finished = AESGCM(client.keys.server_write_key).decrypt(
        client.keys.server_write_iv + explicit, sealed, aad
    )
    expected = prf.finished_verify_data(
        "sha256",
        client.master,
        server=True,
        handshake_hash=hashlib.sha256(client.transcript).digest(),
    )
    assert finished == bytes((HandshakeType.finished, 0, 0, 12)) + expected


def test_the_server_hello_answers_only_what_was_offered() -> None:
    """renegotiation_info answers the SCSV or the extension (RFC 5746 §3.6), ec_point_formats
    and extended_master_secret their extensions (RFC 8422 §5.2, RFC 7627 §5.1)."""
    answered = {t for t, _ in TLS12Client().flight.server_hello.extensions}
    assert {
        ExtensionType.renegotiation_info,
        ExtensionType.ec_point_formats,
        ExtensionType.extended_master_secret,
    } <= answered
    bare = ssl_client_hello()
    bare = dataclasses.replace(
        bare,
        cipher_suites=[SUITE],
        extensions=[
            (t, d)
            for t, d in bare.extensions
            if t
            not in (
                ExtensionType.ec_point_formats,
                ExtensionType.extended_master_secret,
                ExtensionType.renegotiation_info,
            )
        ],
    )
    answered = {t for t, _ in TLS12Client(bare).flight.server_hello.extensions}
    assert not answered & {
        ExtensionType.renegotiation_info,
        ExtensionType.ec_point_formats,
        ExtensionType.extended_master_secret,
    }


def test_without_extended_master_secret_the_rfc5246_derivation_is_used() -> None:
    hello = ssl_client_hello()
    hello = dataclasses.replace(
        hello,
        extensions=replace_extension(hello.extensions, ExtensionType.extended_master_secret, None),
    )
    client = TLS12Client(hello)
    assert not client.ems
    client.server.receive_data(client.key_exchange() + CHANGE_CIPHER_SPEC + client.finished())
    assert client.server.handshake_complete


def test_a_wrong_finished_is_decrypt_error() -> None:
    client = TLS12Client()
    data = client.key_exchange() + CHANGE_CIPHER_SPEC + client.finished(bytes(12))
    assert "Finished" in client.fails_with(data, AlertDescription.decrypt_error)


def test_an_invalid_key_share_is_illegal_parameter() -> None:
    client = TLS12Client()
    client.fails_with(client.key_exchange(bytes(32)), AlertDescription.illegal_parameter)


def test_change_cipher_spec_before_client_key_exchange_is_unexpected() -> None:
    client = TLS12Client()
    client.fails_with(CHANGE_CIPHER_SPEC, AlertDescription.unexpected_message)


def test_finished_without_change_cipher_spec_is_unexpected() -> None:
    client = TLS12Client()
    data = client.key_exchange() + record(
        HANDSHAKE, bytes((HandshakeType.finished, 0, 0, 12)) + bytes(12)
    )
    client.fails_with(data, AlertDescription.unexpected_message)


def test_application_data_before_finished_is_unexpected() -> None:
    client = TLS12Client()
    data = client.key_exchange() + CHANGE_CIPHER_SPEC + client.seal(APPLICATION_DATA, b"too early")
    client.fails_with(data, AlertDescription.unexpected_message)


def test_a_second_change_cipher_spec_is_unexpected() -> None:
    client = TLS12Client()
    data = client.key_exchange() + CHANGE_CIPHER_SPEC + CHANGE_CIPHER_SPEC
    client.fails_with(data, AlertDescription.unexpected_message)


def test_a_client_hello_after_the_handshake_is_refused() -> None:
    """No renegotiation (README): for now the connection fails (RFC 5746 §4.2 would allow a
    warning no_renegotiation instead, which issue 15 still asks for)."""
    client = TLS12Client()
    client.server.receive_data(client.key_exchange() + CHANGE_CIPHER_SPEC + client.finished())
    client.server.data_to_send()
    client.fails_with(
        client.seal(HANDSHAKE, client.hello.to_message()), AlertDescription.unexpected_message
    )


def edited_hello(ext_type: int, data: bytes | None) -> ClientHello:
    hello = ssl_client_hello()
    return dataclasses.replace(
        hello, extensions=replace_extension(hello.extensions, ext_type, data)
    )


@pytest.mark.parametrize(
    ("hello", "alert", "words"),
    [
        (
            edited_hello(
                ExtensionType.renegotiation_info, ext.encode_renegotiation_info(b"x" * 12)
            ),
            AlertDescription.handshake_failure,
            "renegotiation_info",
        ),
        (
            edited_hello(ExtensionType.ec_point_formats, b"\x01\x01"),
            AlertDescription.illegal_parameter,
            "uncompressed",
        ),
        (
            edited_hello(ExtensionType.signature_algorithms, None),
            AlertDescription.handshake_failure,
            "signature_algorithms",
        ),
        (
            edited_hello(
                ExtensionType.supported_groups, ext.encode_supported_groups([NamedGroup.x25519])
            ),
            AlertDescription.handshake_failure,
            "curve",
        ),
        (
            dataclasses.replace(ssl_client_hello(), cipher_suites=[0x009C, 0x1301]),
            AlertDescription.handshake_failure,
            "cipher suite",
        ),
        (
            dataclasses.replace(ssl_client_hello(), legacy_compression_methods=b"\x01"),
            AlertDescription.illegal_parameter,
            "compression",
        ),
    ],
    ids=[
        "renegotiation-info",
        "compressed-points",
        "no-signature-algorithms",
        "p256-cert-unsupported",
        "no-suite",
        "compression",
    ],
)
def test_client_hellos_that_are_refused(
    hello: ClientHello, alert: AlertDescription, words: str
) -> None:
    server = cytls.Connection(server_context(), server_side=True)
    with pytest.raises(ProtocolError) as info:
        server.receive_data(hello_record(hello))
    assert info.value.alert == alert and words in str(info.value)


def completed() -> TLS12Client:
    client = TLS12Client()
    client.server.receive_data(client.key_exchange() + CHANGE_CIPHER_SPEC + client.finished())
    client.server.data_to_send()
    return client


def test_tls13_only_operations_are_refused_on_tls12() -> None:
    """KeyUpdate and post-handshake authentication do not exist in TLS 1.2: refused, as ``ssl``
    refuses them, with nothing sent."""
    server = completed().server
    with pytest.raises(TLSError) as info:
        server.key_update()
    assert info.value.reason == "WRONG_SSL_VERSION"
    with pytest.raises(TLSError) as info:
        server.verify_client_post_handshake()
    assert info.value.reason == "WRONG_SSL_VERSION"
    assert server.data_to_send() == b""


def test_a_record_with_another_version_is_protocol_version() -> None:
    """Once negotiated, every record carries {3, 3} (RFC 5246 §6.2.1, Appendix E)."""
    client = completed()
    sealed = bytearray(client.seal(APPLICATION_DATA, b"data"))
    sealed[1:3] = b"\x03\x01"
    client.fails_with(bytes(sealed), AlertDescription.protocol_version)


def test_fallback_scsv() -> None:
    """RFC 7507 §3: a client that says it fell back to TLS 1.2 is refused by a server that could
    have done TLS 1.3, and served by one that could not."""
    hello = ssl_client_hello()
    hello = dataclasses.replace(hello, cipher_suites=[*hello.cipher_suites, TLS_FALLBACK_SCSV])
    server = cytls.Connection(server_context(), server_side=True)
    with pytest.raises(ProtocolError) as info:
        server.receive_data(hello_record(hello))
    assert info.value.alert == AlertDescription.inappropriate_fallback
    context = server_context()
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    client = TLS12Client(hello, context)
    client.server.receive_data(client.key_exchange() + CHANGE_CIPHER_SPEC + client.finished())
    assert client.server.handshake_complete


@pytest.mark.parametrize(
    ("ext_type", "data"),
    [(ExtensionType.supported_versions, b""), (ExtensionType.extended_master_secret, b"\x00")],
    ids=["empty-supported-versions", "extended-master-secret-with-data"],
)
def test_malformed_extensions_are_decode_errors(ext_type: int, data: bytes) -> None:
    server = cytls.Connection(server_context(), server_side=True)
    with pytest.raises(ProtocolError) as info:
        server.receive_data(hello_record(edited_hello(ext_type, data)))
    assert info.value.alert == AlertDescription.decode_error

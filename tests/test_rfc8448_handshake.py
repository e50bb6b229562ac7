"""Known-answer tests of the TLS 1.3 handshake: cytls replays the RFC 8448 traces §3 and §5.

The client side runs with the trace client's ephemeral keys injected (``Environment``'s
``client_key_share``) and the trace's ClientHello put in place of ours
(``client_hello_hook``), so that the transcript is the trace's: everything the client writes
after that is then fixed by the trace, and is compared with it byte for byte.

The server side runs with the trace server's random and ephemeral key injected
(``random_bytes``, ``server_key_exchange``) and is fed the trace's ClientHello. Its ServerHello
and handshake traffic secrets are fixed by those inputs and compared with the trace. What comes
after is not: the server's CertificateVerify is RSA-PSS, which is randomized, so its bytes, the
Finished that covers them and the application traffic secrets all differ from the trace's.
Those are checked with an independent implementation instead (the ``cryptography`` package's
AES-GCM, HMAC and HKDF, from the trace's secrets) and by running the trace's client (a cytls
client with the trace's ClientHello and keys) against the server.

The trace's server key is a 1024-bit RSA key (RFC 8448 §2), which cytls refuses to sign with
(``signatures.MINIMUM_RSA_BITS`` = 2048): the server tests use a stand-in RSA-2048 certificate,
which changes nothing that the trace fixes (the ServerHello and the handshake secrets do not
depend on the certificate). ``test_the_traces_1024_bit_server_key_is_refused`` records the
refusal.

Inputs: tests/vectors/rfc8448_handshake_inputs.json (records and ephemeral keys of §3 and §5,
extracted by make_rfc8448_handshake_inputs.py) and rfc8448_certificate_verify.json (the trace's
certificate and RSA key). Expected secrets: rfc8448_keyschedule.json, a separate extraction.
Secrets are read from the NSS key log (``TLSContext.keylog_filename``), and the resumption
master secret, which is never logged, from the handshake object.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path

import pki
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

import cytls
from cytls import Connection, TLSContext, WantReadError
from cytls.context import OP_CIPHER_SERVER_PREFERENCE
from cytls.crypto.groups import ClientKeyShare, server_key_exchange
from cytls.errors import ProtocolError
from cytls.events import ConnectionClosed, HandshakeComplete
from cytls.handshake.common import Environment
from cytls.wire.enums import AlertDescription
from cytls.wire.messages import (
    HELLO_RETRY_REQUEST_RANDOM,
    ClientHello,
    EncryptedExtensions,
    ServerHello,
)
from cytls.x509.loading import CertificateLoadError

VECTORS = Path(__file__).parent / "vectors"


def _load(name: str) -> dict:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


INPUTS = _load("rfc8448_handshake_inputs.json")["sections"]
SCHEDULE = _load("rfc8448_keyschedule.json")["sections"]
CERTIFICATE_VECTORS = _load("rfc8448_certificate_verify.json")

X25519 = 0x001D
SECP256R1 = 0x0017
GROUP_IDS = {"x25519": X25519, "secp256r1": SECP256R1}
TLS_AES_128_GCM_SHA256 = 0x1301
TLS_AES_256_GCM_SHA384 = 0x1302
SUITE_NAMES = {
    TLS_AES_128_GCM_SHA256: "TLS_AES_128_GCM_SHA256",
    TLS_AES_256_GCM_SHA384: "TLS_AES_256_GCM_SHA384",
}
# The trace's client offers TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256 and
# TLS_AES_256_GCM_SHA384, in this order, and the groups x25519, secp256r1, secp384r1 (and
# others cytls does not implement).
CLIENT_SUITES = "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"
CLIENT_GROUPS = "x25519:secp256r1:secp384r1"
SERVER_NAME = "server"  # the trace's server_name extension

# NSS key log labels -> the RFC 8446 §7.1 names rfc8448_keyschedule.json uses.
KEYLOG_SECRETS = {
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET": "client_handshake_traffic_secret",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET": "server_handshake_traffic_secret",
    "CLIENT_TRAFFIC_SECRET_0": "client_application_traffic_secret_0",
    "SERVER_TRAFFIC_SECRET_0": "server_application_traffic_secret_0",
    "EXPORTER_SECRET": "exporter_master_secret",
}

HANDSHAKE, APPLICATION_DATA = 22, 23  # ContentType


# --- the traces ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One record of a trace, as the RFC prints it."""

    writer: str
    content: str
    payload: bytes
    record: bytes
    key: str | None
    sequence_number: int | None


@dataclass(frozen=True)
class Trace:
    """One section of RFC 8448: its records in order, ephemeral keys and key schedule."""

    section: str
    records: tuple[Record, ...]
    private_keys: dict[tuple[str, int], bytes]
    public_keys: dict[tuple[str, int], bytes]
    values: dict[str, bytes]
    messages: dict[str, bytes] = field(default_factory=dict)

    def record(self, writer: str, content: str, index: int = 0) -> Record:
        """The ``index``-th record of ``content`` type that ``writer`` sends."""
        matching = [r for r in self.records if r.writer == writer and r.content == content]
        return matching[index]

    @property
    def client_hellos(self) -> list[bytes]:
        """The ClientHello messages (with their 4-byte header), in order."""
        return [r.payload for r in self.records if r.writer == "client" and r.key is None]

    @property
    def client_random(self) -> bytes:
        return self.client_hellos[0][6:38]


def load_trace(section: str) -> Trace:
    data = INPUTS[section]
    records = tuple(
        Record(
            writer=r["writer"],
            content=r["content"],
            payload=bytes.fromhex(r["payload"]),
            record=bytes.fromhex(r["record"]),
            key=r["key"],
            sequence_number=r["sequence_number"],
        )
        for r in data["records"]
    )
    schedule = SCHEDULE[section]
    messages: dict[str, bytes] = {}
    for message in schedule["handshake_messages"]:
        messages.setdefault(
            f"{message['sender']} {message['name']}", bytes.fromhex(message["data"])
        )
    return Trace(
        section=section,
        records=records,
        private_keys={
            (k["side"], GROUP_IDS[k["group"]]): bytes.fromhex(k["private"])
            for k in data["key_pairs"]
        },
        public_keys={
            (k["side"], GROUP_IDS[k["group"]]): bytes.fromhex(k["public"])
            for k in data["key_pairs"]
        },
        values={name: bytes.fromhex(value) for name, value in schedule["values"].items()},
        messages=messages,
    )


S3 = load_trace("3")
S5 = load_trace("5")


# --- an independent TLS 1.3 key schedule and record opener (RFC 8446 §5.2, §7) ---------------
# Written from the RFC with the standard library and ``cryptography``, not with cytls.


def hkdf_extract(hash_name: str, salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or bytes(hashlib.new(hash_name).digest_size), ikm, hash_name).digest()


def hkdf_expand_label(hash_name: str, secret: bytes, label: bytes, context: bytes, n: int) -> bytes:
    full_label = b"tls13 " + label
    info = n.to_bytes(2, "big") + bytes([len(full_label)]) + full_label
    info += bytes([len(context)]) + context
    algorithm = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384()}[hash_name]
    return HKDFExpand(algorithm, n, info).derive(secret)


def derive_secret(hash_name: str, secret: bytes, label: bytes, transcript_hash: bytes) -> bytes:
    length = hashlib.new(hash_name).digest_size
    return hkdf_expand_label(hash_name, secret, label, transcript_hash, length)


def transcript_hash(hash_name: str, *messages: bytes) -> bytes:
    return hashlib.new(hash_name, b"".join(messages)).digest()


def handshake_secret_from_shared(hash_name: str, shared_secret: bytes) -> bytes:
    """Handshake Secret of a handshake without PSK (RFC 8446 §7.1)."""
    zeros = bytes(hashlib.new(hash_name).digest_size)
    early = hkdf_extract(hash_name, b"", zeros)
    salt = derive_secret(hash_name, early, b"derived", transcript_hash(hash_name))
    return hkdf_extract(hash_name, salt, shared_secret)


def master_secret(hash_name: str, handshake_secret: bytes) -> bytes:
    zeros = bytes(hashlib.new(hash_name).digest_size)
    salt = derive_secret(hash_name, handshake_secret, b"derived", transcript_hash(hash_name))
    return hkdf_extract(hash_name, salt, zeros)


def finished_verify_data(hash_name: str, base_key: bytes, th: bytes) -> bytes:
    length = hashlib.new(hash_name).digest_size
    finished_key = hkdf_expand_label(hash_name, base_key, b"finished", b"", length)
    return hmac.new(finished_key, th, hash_name).digest()


def traffic_key(secret: bytes, key_length: int = 16) -> tuple[bytes, bytes]:
    """(key, iv) of a traffic secret (RFC 8446 §7.3); SHA-384 goes with the 32-byte key of
    TLS_AES_256_GCM_SHA384, SHA-256 with TLS_AES_128_GCM_SHA256."""
    hash_name = "sha256" if key_length == 16 else "sha384"
    key = hkdf_expand_label(hash_name, secret, b"key", b"", key_length)
    return key, hkdf_expand_label(hash_name, secret, b"iv", b"", 12)


def open_records(records: list[bytes], key: bytes, iv: bytes) -> list[tuple[int, bytes]]:
    """Open AES-GCM records sealed from sequence number 0 on (RFC 8446 §5.2, §5.3).

    Returns (content type, content) for each, the padding removed.
    """
    opened = []
    for sequence, record in enumerate(records):
        assert record[:3] == b"\x17\x03\x03", f"not a protected record: {record[:5].hex()}"
        nonce = (int.from_bytes(iv, "big") ^ sequence).to_bytes(12, "big")
        inner = AESGCM(key).decrypt(nonce, record[5:], record[:5]).rstrip(b"\x00")
        opened.append((inner[-1], inner[:-1]))
    return opened


def split_records(data: bytes) -> list[bytes]:
    """Cut a byte stream into whole TLS records (5-byte header + fragment)."""
    records = []
    while data:
        assert len(data) >= 5, f"a truncated record header: {data.hex()}"
        end = 5 + int.from_bytes(data[3:5], "big")
        assert len(data) >= end, f"a truncated record: {data[:5].hex()}"
        records.append(data[:end])
        data = data[end:]
    return records


def split_messages(data: bytes) -> list[bytes]:
    """Cut concatenated handshake messages (1-byte type, 3-byte length, body)."""
    messages = []
    while data:
        end = 4 + int.from_bytes(data[1:4], "big")
        assert len(data) >= end, "a truncated handshake message"
        messages.append(data[:end])
        data = data[end:]
    return messages


def handshake_message(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def extensions_of(hello_message: bytes) -> dict[int, bytes]:
    """A ClientHello's extensions (by type), parsed by cytls's codec."""
    return dict(ClientHello.parse(hello_message[4:]).extensions)


def read_keylog(path: Path, client_random: bytes) -> dict[str, bytes]:
    """The NSS key log as {RFC 8446 secret name: secret}; every line is for ``client_random``."""
    secrets: dict[str, bytes] = {}
    for line in path.read_text(encoding="ascii").splitlines():
        label, random_hex, secret_hex = line.split()
        assert bytes.fromhex(random_hex) == client_random, f"{label} logged for another hello"
        name = KEYLOG_SECRETS[label]
        assert name not in secrets, f"{label} logged twice"
        secrets[name] = bytes.fromhex(secret_hex)
    return secrets


# --- injected randomness ---------------------------------------------------------------------


class ScriptedRandom:
    """``random_bytes`` that hands out the given values in order and fails on anything else."""

    def __init__(self, *values: bytes) -> None:
        self.values = list(values)
        self.calls: list[int] = []

    def __call__(self, n: int) -> bytes:
        self.calls.append(n)
        if not self.values:
            raise AssertionError(f"unexpected random_bytes({n}): the trace fixes no more random")
        value = self.values.pop(0)
        if len(value) != n:
            raise AssertionError(f"random_bytes({n}) where the trace has {len(value)} bytes")
        return value


class FillerRandom:
    """The client's random_bytes: what it draws (random, legacy_session_id) only goes into
    the ClientHello that the hook replaces with the trace's, so any bytes will do."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, n: int) -> bytes:
        self.calls.append(n)
        return bytes([0xA5]) * n


@dataclass
class TraceClient:
    """A cytls client that plays the trace's client: its keys, its ClientHello(s)."""

    connection: Connection
    keylog: Path
    trace: Trace
    our_hellos: list[ClientHello]
    key_share_groups: list[int]


def trace_client(trace: Trace, tmp_path: Path, *, name: str = "client") -> TraceClient:
    """A client Connection whose ClientHello(s) are the trace's, with the trace's keys.

    ``client_key_share`` returns the trace client's key for each group asked for (x25519,
    then, after a HelloRetryRequest, P-256); the hook returns the trace's first ClientHello
    on its first call and the second on its second.
    """
    context = TLSContext(cytls.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = cytls.CERT_NONE  # the trace's certificate is self-signed
    context.set_ciphers(CLIENT_SUITES)
    context.set_groups(CLIENT_GROUPS)
    keylog = tmp_path / f"{name}.keylog"
    context.keylog_filename = str(keylog)
    our_hellos: list[ClientHello] = []
    groups: list[int] = []
    hellos = trace.client_hellos

    def key_share(group: int) -> ClientKeyShare:
        groups.append(group)
        private = trace.private_keys.get(("client", group))
        if private is None:
            raise AssertionError(f"the trace's client has no key for group 0x{group:04x}")
        return ClientKeyShare.from_private_bytes(group, private)

    def hook(hello: ClientHello) -> ClientHello:
        our_hellos.append(hello)
        if len(our_hellos) > len(hellos):
            raise AssertionError(f"ClientHello number {len(our_hellos)}: the trace has none")
        return ClientHello.parse(hellos[len(our_hellos) - 1][4:])

    environment = Environment(
        random_bytes=FillerRandom(), client_key_share=key_share, client_hello_hook=hook
    )
    connection = Connection(context, server_hostname=SERVER_NAME, environment=environment)
    return TraceClient(connection, keylog, trace, our_hellos, groups)


def events(connection: Connection) -> list[object]:
    found = []
    while (event := connection.next_event()) is not None:
        found.append(event)
    return found


# --- client side, RFC 8448 §3 ----------------------------------------------------------------


def test_client_hello_is_the_traces(tmp_path: Path) -> None:
    client = trace_client(S3, tmp_path)
    # The first record of a connection says TLS 1.0 (0x0301) in its header (RFC 8446 §5.1).
    assert client.connection.data_to_send() == S3.record("client", "handshake").record
    assert client.key_share_groups == [X25519]
    # The hello cytls built (and the hook replaced) carries the injected key: its key_share
    # extension is byte for byte the trace's.
    [ours] = client.our_hellos
    assert dict(ours.extensions)[51] == extensions_of(S3.client_hellos[0])[51]
    injected = ClientKeyShare.from_private_bytes(X25519, S3.private_keys[("client", X25519)])
    assert injected.key_exchange == S3.public_keys[("client", X25519)]


def run_client_handshake(trace: Trace, tmp_path: Path) -> TraceClient:
    """Replay the server's ServerHello(s) and first flight into a trace client."""
    client = trace_client(trace, tmp_path)
    connection = client.connection
    assert connection.data_to_send() == trace.records[0].record
    server_records = [r for r in trace.records if r.writer == "server" and r.content == "handshake"]
    # ServerHello (after a HelloRetryRequest and our second ClientHello, in §5), then the
    # encrypted flight EncryptedExtensions..Finished.
    if trace is S5:
        connection.receive_data(server_records[0].record)
        assert connection.data_to_send() == trace.record("client", "handshake", 1).record
        server_records = server_records[1:]
    connection.receive_data(server_records[0].record)
    assert connection.data_to_send() == b""
    assert not connection.handshake_complete
    connection.receive_data(server_records[1].record)
    return client


def test_client_verifies_server_finished_and_sends_the_traces_finished(tmp_path: Path) -> None:
    client = run_client_handshake(S3, tmp_path)
    connection = client.connection
    # The client Finished under the client handshake key, byte for byte; nothing before it:
    # the trace's legacy_session_id is empty, so no change_cipher_spec (RFC 8446 §D.4).
    client_finished = [r for r in S3.records if r.key == "client_handshake"]
    assert connection.data_to_send() == client_finished[0].record
    assert connection.handshake_complete
    assert events(connection) == [
        HandshakeComplete(
            version="TLSv1.3",
            cipher_suite="TLS_AES_128_GCM_SHA256",
            group="x25519",
            alpn_protocol=None,
            server_name=SERVER_NAME,
            peer_certificates=(bytes.fromhex(CERTIFICATE_VECTORS["certificate"]),),
        )
    ]
    assert connection.version() == "TLSv1.3"
    assert connection.cipher() == ("TLS_AES_128_GCM_SHA256", "TLSv1.3", 128)


def test_client_secrets_are_the_traces(tmp_path: Path) -> None:
    client = run_client_handshake(S3, tmp_path)
    logged = read_keylog(client.keylog, S3.client_random)
    assert logged == {name: S3.values[name] for name in KEYLOG_SECRETS.values()}
    handshake = client.connection._handshake  # internal: the secrets nobody logs
    # The handshake secrets (logged, checked above) are gone once the handshake is (§7.1).
    assert handshake.client_handshake_secret == handshake.server_handshake_secret == b""
    assert handshake.key_schedule is None and handshake.psk_schedule is None
    assert handshake.resumption_master_secret == S3.values["resumption_master_secret"]
    assert handshake.read_secret == S3.values["server_application_traffic_secret_0"]
    assert handshake.write_secret == S3.values["client_application_traffic_secret_0"]


def test_client_application_data_and_close_are_the_traces(tmp_path: Path) -> None:
    connection = run_client_handshake(S3, tmp_path).connection
    connection.data_to_send()
    events(connection)
    # NewSessionTicket (under the server application key, sequence 0): no answer, no event.
    connection.receive_data(S3.record("server", "handshake", 2).record)
    assert connection.data_to_send() == b""
    assert events(connection) == []
    with pytest.raises(WantReadError):
        connection.recv()
    # The server's 50 bytes of application data.
    server_data = S3.record("server", "application_data")
    connection.receive_data(server_data.record)
    assert len(server_data.payload) == 50
    assert connection.recv() == server_data.payload
    # The client's 50 bytes, sealed under the client application key, sequence 0.
    client_data = S3.record("client", "application_data")
    connection.send(client_data.payload)
    assert connection.data_to_send() == client_data.record
    # close_notify, sequence 1; then the server's close_notify.
    connection.close()
    assert connection.data_to_send() == S3.record("client", "alert").record
    connection.receive_data(S3.record("server", "alert").record)
    assert events(connection) == [ConnectionClosed()]
    assert connection.peer_closed
    assert connection.recv() == b""


# --- client side, RFC 8448 §5 (HelloRetryRequest) --------------------------------------------


def test_client_answers_hello_retry_request_with_the_traces_second_hello(tmp_path: Path) -> None:
    client = trace_client(S5, tmp_path)
    connection = client.connection
    assert connection.data_to_send() == S5.record("client", "handshake", 0).record
    hello_retry_request = S5.record("server", "handshake", 0)
    assert hello_retry_request.payload[6:38] == HELLO_RETRY_REQUEST_RANDOM
    connection.receive_data(hello_retry_request.record)
    # The second ClientHello, with a 0x0303 record header and no change_cipher_spec before
    # it (empty legacy_session_id).
    assert connection.data_to_send() == S5.record("client", "handshake", 1).record
    # The HelloRetryRequest asks for secp256r1: the client drew the trace's P-256 key, and the
    # hello it built (before the hook swapped in the trace's) carries that share and echoes
    # the cookie, each extension byte for byte as in the trace's second ClientHello.
    assert client.key_share_groups == [X25519, SECP256R1]
    assert len(client.our_hellos) == 2
    ours = dict(client.our_hellos[1].extensions)
    theirs = extensions_of(S5.client_hellos[1])
    assert ours[51] == theirs[51]  # key_share
    assert ours[44] == theirs[44]  # cookie
    injected = ClientKeyShare.from_private_bytes(SECP256R1, S5.private_keys[("client", SECP256R1)])
    assert injected.key_exchange == S5.public_keys[("client", SECP256R1)]
    # The ServerHello: the transcript is now message_hash(ClientHello1), HelloRetryRequest,
    # ClientHello2, ServerHello (RFC 8446 §4.4.1), whose hash the trace prints.
    server_hello = S5.record("server", "handshake", 1)
    connection.receive_data(server_hello.record)
    message_hash = handshake_message(254, transcript_hash("sha256", S5.client_hellos[0]))
    th = transcript_hash(
        "sha256",
        message_hash,
        hello_retry_request.payload,
        S5.client_hellos[1],
        server_hello.payload,
    )
    assert th == S5.values["th_server_hello"]
    assert connection._handshake.transcript.digest() == th  # internal


def test_client_after_hello_retry_request_finishes_as_the_trace(tmp_path: Path) -> None:
    client = run_client_handshake(S5, tmp_path)
    connection = client.connection
    assert connection.data_to_send() == S5.record("client", "handshake", 2).record
    [complete] = events(connection)
    assert isinstance(complete, HandshakeComplete)
    assert (complete.cipher_suite, complete.group) == ("TLS_AES_128_GCM_SHA256", "secp256r1")
    # The secrets, whose transcript starts with message_hash(ClientHello1) (RFC 8446 §4.4.1).
    logged = read_keylog(client.keylog, S5.client_random)
    assert logged == {name: S5.values[name] for name in KEYLOG_SECRETS.values()}
    handshake = connection._handshake
    assert handshake.resumption_master_secret == S5.values["resumption_master_secret"]
    # §5 ends with close_notify both ways (no application data).
    connection.close()
    assert connection.data_to_send() == S5.record("client", "alert").record
    connection.receive_data(S5.record("server", "alert").record)
    assert events(connection) == [ConnectionClosed()]


# --- server side -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stand_in_identity(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    """An RSA-2048 self-signed certificate for "server": the trace's RSA key is 1024 bits,
    which cytls refuses (see test_server_with_the_trace_certificate)."""
    certificate, key = pki.make_self_signed("rsa2048", (SERVER_NAME,))
    certfile, keyfile = pki.write_chain(tmp_path_factory.mktemp("identity"), (certificate, key))
    return certfile, keyfile, certificate.public_bytes(serialization.Encoding.DER)


@dataclass
class TraceServer:
    connection: Connection
    keylog: Path
    random: ScriptedRandom
    key_exchanges: list[tuple[int, bytes]]


def trace_server(
    trace: Trace,
    tmp_path: Path,
    certfile: Path,
    keyfile: Path | None = None,
    *,
    suites: str = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
    groups: str | None = None,
    server_preference: bool = True,
) -> TraceServer:
    """A server Connection with the trace server's random and ephemeral key injected."""
    context = TLSContext(cytls.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    context.set_ciphers(suites)
    if groups is not None:
        context.set_groups(groups)
    if not server_preference:
        context.options &= ~OP_CIPHER_SERVER_PREFERENCE
    keylog = tmp_path / "server.keylog"
    context.keylog_filename = str(keylog)
    # The trace's NewSessionTicket seals state in its server's own format: none from ours.
    context.num_tickets = 0
    server_hello = trace.record("server", "handshake", 1 if trace is S5 else 0).payload
    # random_bytes is called once, for ServerHello.random (a HelloRetryRequest's is fixed).
    random = ScriptedRandom(server_hello[6:38])
    exchanges: list[tuple[int, bytes]] = []

    def key_exchange(group: int, client_share: bytes) -> tuple[bytes, bytes]:
        exchanges.append((group, bytes(client_share)))
        private = trace.private_keys.get(("server", group))
        if private is None:
            raise AssertionError(f"the trace's server has no key for group 0x{group:04x}")
        return server_key_exchange(group, client_share, private=private)

    environment = Environment(random_bytes=random, server_key_exchange=key_exchange)
    connection = Connection(context, server_side=True, environment=environment)
    return TraceServer(connection, keylog, random, exchanges)


def test_server_hello_and_handshake_secrets_are_the_traces(
    tmp_path: Path, stand_in_identity: tuple[Path, Path, bytes]
) -> None:
    certfile, keyfile, _ = stand_in_identity
    server = trace_server(S3, tmp_path, certfile, keyfile)
    server.connection.receive_data(S3.record("client", "handshake").record)
    records = split_records(server.connection.data_to_send())
    # The ServerHello record, byte for byte (record version 0x0303), and nothing in clear
    # after it: no change_cipher_spec for an empty legacy_session_id.
    assert records[0] == S3.record("server", "handshake", 0).record
    assert all(record[0] == APPLICATION_DATA for record in records[1:])
    assert server.random.calls == [32]
    assert server.key_exchanges == [(X25519, S3.public_keys[("client", X25519)])]
    logged = read_keylog(server.keylog, S3.client_random)
    for name in ("client_handshake_traffic_secret", "server_handshake_traffic_secret"):
        assert logged[name] == S3.values[name], name
    handshake = server.connection._handshake  # internal
    assert handshake.client_handshake_secret == S3.values["client_handshake_traffic_secret"]
    # The server reads with the trace's client handshake key: the trace's client Finished
    # record opens (no bad_record_mac), and only its verify_data, over the trace's transcript
    # and not the one this server sent, is refused: decrypt_error (RFC 8446 §4.4.4).
    with pytest.raises(ProtocolError) as refused:
        server.connection.receive_data(S3.record("client", "handshake", 1).record)
    assert refused.value.alert == AlertDescription.decrypt_error


def test_server_flight_under_the_traces_handshake_key(
    tmp_path: Path, stand_in_identity: tuple[Path, Path, bytes]
) -> None:
    """The flight opens with the trace's server handshake key; each message is checked
    independently. CertificateVerify is RSA-PSS, randomized, so it and the Finished over it
    differ from the trace's; so do the application secrets, derived here from the trace's
    master secret (fixed by the shared secret) and the transcript the server really sent."""
    certfile, keyfile, certificate_der = stand_in_identity
    server = trace_server(S3, tmp_path, certfile, keyfile)
    server.connection.receive_data(S3.record("client", "handshake").record)
    records = split_records(server.connection.data_to_send())
    # The trace's printed server handshake key and IV.
    key, iv = S3.values["server_handshake_key"], S3.values["server_handshake_iv"]
    opened = open_records(records[1:], key, iv)
    assert {content_type for content_type, _ in opened} == {HANDSHAKE}
    messages = split_messages(b"".join(content for _, content in opened))
    assert [message[0] for message in messages] == [8, 11, 15, 20]
    encrypted_extensions, certificate, certificate_verify, finished = messages
    client_hello = S3.client_hellos[0]
    server_hello = S3.record("server", "handshake", 0).payload

    # EncryptedExtensions: well formed, and only extensions the trace's client offered.
    offered = set(extensions_of(client_hello))
    extensions = EncryptedExtensions.parse(encrypted_extensions[4:]).extensions
    assert {ext_type for ext_type, _ in extensions} <= offered
    # Certificate: empty request context, our one certificate, no extensions (§4.4.2).
    entry = len(certificate_der).to_bytes(3, "big") + certificate_der + b"\x00\x00"
    body = b"\x00" + len(entry).to_bytes(3, "big") + entry
    assert certificate == handshake_message(11, body)
    # CertificateVerify: rsa_pss_rsae_sha256 (the trace's scheme too) over
    # Transcript-Hash(ClientHello..Certificate) (RFC 8446 §4.4.3).
    assert certificate_verify[4:6] == b"\x08\x04"
    signature_length = int.from_bytes(certificate_verify[6:8], "big")
    assert len(certificate_verify) == 8 + signature_length
    th = transcript_hash("sha256", client_hello, server_hello, encrypted_extensions, certificate)
    content = b" " * 64 + b"TLS 1.3, server CertificateVerify\x00" + th
    public_key = x509.load_der_x509_certificate(certificate_der).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    public_key.verify(certificate_verify[8:], content, pss, hashes.SHA256())
    # Finished: HMAC over ClientHello..CertificateVerify with the trace's server handshake
    # traffic secret's finished key (RFC 8446 §4.4.4).
    th = transcript_hash("sha256", client_hello, server_hello, *messages[:3])
    expected = finished_verify_data("sha256", S3.values["server_handshake_traffic_secret"], th)
    assert finished == handshake_message(20, expected)
    # The application secrets: the trace's master secret with this transcript (§7.1).
    th = transcript_hash("sha256", client_hello, server_hello, *messages)
    master = S3.values["master_secret"]
    assert (
        master_secret("sha256", handshake_secret_from_shared("sha256", S3.values["shared_secret"]))
        == master
    )
    logged = read_keylog(server.keylog, S3.client_random)
    assert logged["server_application_traffic_secret_0"] == derive_secret(
        "sha256", master, b"s ap traffic", th
    )
    assert logged["exporter_master_secret"] == derive_secret("sha256", master, b"exp master", th)
    assert server.connection._handshake.client_application_secret == derive_secret(
        "sha256", master, b"c ap traffic", th
    )


def test_trace_client_accepts_the_server(
    tmp_path: Path, stand_in_identity: tuple[Path, Path, bytes]
) -> None:
    certfile, keyfile, certificate_der = stand_in_identity
    server = trace_server(S3, tmp_path, certfile, keyfile)
    client = trace_client(S3, tmp_path)
    server.connection.receive_data(client.connection.data_to_send())
    flight = server.connection.data_to_send()
    client.connection.receive_data(flight)
    client_events = events(client.connection)
    assert [type(event) for event in client_events] == [HandshakeComplete]
    assert client_events[0].peer_certificates == (certificate_der,)  # type: ignore[attr-defined]
    client_flight = client.connection.data_to_send()
    server.connection.receive_data(client_flight)
    assert events(server.connection) == [
        HandshakeComplete(
            version="TLSv1.3",
            cipher_suite="TLS_AES_128_GCM_SHA256",
            group="x25519",
            alpn_protocol=None,
            server_name=SERVER_NAME,
            peer_certificates=(),
        )
    ]
    assert server.connection.data_to_send() == b""  # no NewSessionTicket (no resumption yet)
    # Both sides hold the same secrets (each logs the ones it derives).
    server_log = read_keylog(server.keylog, S3.client_random)
    client_log = read_keylog(client.keylog, S3.client_random)
    assert server_log == client_log
    # The trace's application data both ways; the server's record opens, independently,
    # under its application traffic secret at sequence 0.
    client.connection.send(S3.record("client", "application_data").payload)
    server.connection.receive_data(client.connection.data_to_send())
    assert server.connection.recv() == S3.record("client", "application_data").payload
    server_payload = S3.record("server", "application_data").payload
    server.connection.send(server_payload)
    record = server.connection.data_to_send()
    secret = server_log["server_application_traffic_secret_0"]
    assert open_records([record], *traffic_key(secret)) == [(APPLICATION_DATA, server_payload)]
    client.connection.receive_data(record)
    assert client.connection.recv() == server_payload
    # close_notify both ways.
    client.connection.close()
    server.connection.receive_data(client.connection.data_to_send())
    assert events(server.connection) == [ConnectionClosed()]
    server.connection.close()
    client.connection.receive_data(server.connection.data_to_send())
    assert events(client.connection) == [ConnectionClosed()]


@pytest.mark.parametrize(
    ("suites", "server_preference", "chosen"),
    [
        ("TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256", True, TLS_AES_256_GCM_SHA384),
        ("TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256", False, TLS_AES_128_GCM_SHA256),
    ],
    ids=["server-preference-picks-0x1302", "client-preference-picks-0x1301"],
)
def test_server_suite_choice(
    tmp_path: Path,
    stand_in_identity: tuple[Path, Path, bytes],
    suites: str,
    server_preference: bool,
    chosen: int,
) -> None:
    """The trace's client offers 0x1301, 0x1303, 0x1302. The ServerHello is the trace's with
    only the suite changed; with SHA-384 the handshake secrets are derived here from the
    trace's shared secret; and the trace's client completes the handshake."""
    certfile, keyfile, _ = stand_in_identity
    server = trace_server(
        S3, tmp_path, certfile, keyfile, suites=suites, server_preference=server_preference
    )
    client_hello = S3.client_hellos[0]
    server.connection.receive_data(S3.record("client", "handshake").record)
    records = split_records(server.connection.data_to_send())
    trace_server_hello = S3.record("server", "handshake", 0).payload
    suite_offset = 4 + 2 + 32 + 1 + trace_server_hello[38]  # header, version, random, session id
    assert trace_server_hello[suite_offset : suite_offset + 2] == b"\x13\x01"
    server_hello = bytearray(trace_server_hello)
    server_hello[suite_offset : suite_offset + 2] = chosen.to_bytes(2, "big")
    assert records[0] == b"\x16\x03\x03" + len(server_hello).to_bytes(2, "big") + server_hello
    hash_name = "sha384" if chosen == TLS_AES_256_GCM_SHA384 else "sha256"
    handshake_secret = handshake_secret_from_shared(hash_name, S3.values["shared_secret"])
    th = transcript_hash(hash_name, client_hello, bytes(server_hello))
    logged = read_keylog(server.keylog, S3.client_random)
    for label in (b"c hs traffic", b"s hs traffic"):
        name = f"{'client' if label[0] == ord('c') else 'server'}_handshake_traffic_secret"
        assert logged[name] == derive_secret(hash_name, handshake_secret, label, th), name
    key_length = 32 if chosen == TLS_AES_256_GCM_SHA384 else 16
    key, iv = traffic_key(logged["server_handshake_traffic_secret"], key_length)
    opened = open_records(records[1:], key, iv)
    assert [content[0] for _, content in opened] == [8, 11, 15, 20]
    # The trace's client (which offers the suite) completes the handshake.
    client = trace_client(S3, tmp_path)
    client.connection.data_to_send()
    client.connection.receive_data(b"".join(records))
    [complete] = events(client.connection)
    assert isinstance(complete, HandshakeComplete)
    assert complete.cipher_suite == SUITE_NAMES[chosen]
    server.connection.receive_data(client.connection.data_to_send())
    assert server.connection.handshake_complete


def test_the_traces_1024_bit_server_key_is_refused(tmp_path: Path) -> None:
    """The trace's server key is 1024-bit RSA (RFC 8448 §2), which cytls refuses for its own
    signatures (known-weak; signatures.MINIMUM_RSA_BITS): the server tests use a stand-in."""
    numbers = {
        name: int(value, 16) for name, value in CERTIFICATE_VECTORS["rsa_private_key"].items()
    }
    p, q = numbers["prime1"], numbers["prime2"]
    key = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=numbers["private_exponent"],
        dmp1=numbers["exponent1"],
        dmq1=numbers["exponent2"],
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(numbers["public_exponent"], numbers["modulus"]),
    ).private_key()
    certificate = x509.load_der_x509_certificate(bytes.fromhex(CERTIFICATE_VECTORS["certificate"]))
    assert certificate.public_key() == key.public_key()
    certfile = tmp_path / "rfc8448.pem"
    certfile.write_bytes(
        certificate.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(CertificateLoadError, match="1024-bit RSA key is too small"):
        trace_server(S3, tmp_path, certfile)


# --- server side, RFC 8448 §5 (HelloRetryRequest) --------------------------------------------


def test_server_hello_retry_request_then_the_traces_server_hello(
    tmp_path: Path, stand_in_identity: tuple[Path, Path, bytes]
) -> None:
    """As far as the trace allows: the trace's server sends a cookie in its HelloRetryRequest,
    which cytls does not, so cytls's HelloRetryRequest differs and so does every transcript
    hash after it. The ServerHello after the trace's second ClientHello is the trace's byte for
    byte (random and P-256 key injected), the (EC)DHE shared secret gives the trace's handshake
    secret, and the handshake traffic secrets follow from it over cytls's transcript, which
    starts with message_hash(ClientHello1) (RFC 8446 §4.4.1)."""
    certfile, keyfile, _ = stand_in_identity
    # The trace's server prefers P-256; cytls uses any group the client sent a share for, so
    # only a server that speaks P-256 alone asks for a retry.
    server = trace_server(S5, tmp_path, certfile, keyfile, groups="secp256r1")
    first_hello, second_hello = S5.client_hellos
    server.connection.receive_data(S5.record("client", "handshake", 0).record)
    [retry_record] = split_records(server.connection.data_to_send())
    assert retry_record[:3] == b"\x16\x03\x03"
    hello_retry_request = retry_record[5:]
    retry = ServerHello.parse(hello_retry_request[4:])
    trace_retry = ServerHello.parse(S5.record("server", "handshake", 0).payload[4:])
    assert retry.is_hello_retry_request
    assert (retry.legacy_session_id_echo, retry.cipher_suite) == (b"", TLS_AES_128_GCM_SHA256)
    # The same key_share (secp256r1) and supported_versions as the trace's; no cookie.
    assert dict(retry.extensions) == {
        ext_type: data for ext_type, data in trace_retry.extensions if ext_type != 44
    }
    assert server.random.calls == []

    server.connection.receive_data(S5.record("client", "handshake", 1).record)
    records = split_records(server.connection.data_to_send())
    server_hello = S5.record("server", "handshake", 1)
    assert records[0] == server_hello.record
    assert server.random.calls == [32]
    assert server.key_exchanges == [(SECP256R1, S5.public_keys[("client", SECP256R1)])]
    handshake_secret = handshake_secret_from_shared("sha256", S5.values["shared_secret"])
    assert handshake_secret == S5.values["handshake_secret"]
    message_hash = handshake_message(254, transcript_hash("sha256", first_hello))
    th = transcript_hash(
        "sha256", message_hash, hello_retry_request, second_hello, server_hello.payload
    )
    logged = read_keylog(server.keylog, S5.client_random)
    assert logged["server_handshake_traffic_secret"] == derive_secret(
        "sha256", handshake_secret, b"s hs traffic", th
    )
    assert logged["client_handshake_traffic_secret"] == derive_secret(
        "sha256", handshake_secret, b"c hs traffic", th
    )
    opened = open_records(records[1:], *traffic_key(logged["server_handshake_traffic_secret"]))
    assert [content[0] for _, content in opened] == [8, 11, 15, 20]


def test_trace_client_accepts_the_server_after_hello_retry_request(
    tmp_path: Path, stand_in_identity: tuple[Path, Path, bytes]
) -> None:
    certfile, keyfile, _ = stand_in_identity
    server = trace_server(S5, tmp_path, certfile, keyfile, groups="secp256r1")
    client = trace_client(S5, tmp_path)
    server.connection.receive_data(client.connection.data_to_send())
    client.connection.receive_data(server.connection.data_to_send())
    # The client's second hello: the trace's (the hook's), which echoes the trace server's
    # cookie, which this server never sent and ignores.
    second_hello = client.connection.data_to_send()
    assert second_hello == S5.record("client", "handshake", 1).record
    assert client.key_share_groups == [X25519, SECP256R1]
    server.connection.receive_data(second_hello)
    client.connection.receive_data(server.connection.data_to_send())
    assert [type(event) for event in events(client.connection)] == [HandshakeComplete]
    server.connection.receive_data(client.connection.data_to_send())
    [complete] = events(server.connection)
    assert isinstance(complete, HandshakeComplete)
    assert complete.group == "secp256r1"
    assert read_keylog(server.keylog, S5.client_random) == read_keylog(
        client.keylog, S5.client_random
    )

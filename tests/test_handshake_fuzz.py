"""Hypothesis-mutated handshake messages: every run ends in a completed handshake or in a cytls
exception with the matching fatal alert queued; never another exception, never a hang, and
never unbounded buffering.

Mutated: the ClientHello a server receives (bytes, and random extension lists sent by a real
client, so that a harmless change can still complete the handshake), the ServerHello a client
receives (bytes and extension lists), and the server's protected EncryptedExtensions,
Certificate and CertificateVerify (opened and re-sealed by the man in the middle so that the
mutation reaches the client's state machine), plus arbitrary bytes as a whole first flight.

Flights are deterministic (injected randomness and ephemeral keys, an Ed25519 server key) so
that hypothesis can replay and shrink what it finds.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import os
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from handshakeutil import (
    APPDATA,
    HANDSHAKE,
    ManInTheMiddle,
    alerts_sent,
    client_context,
    credentials,
    deterministic_environment,
    encode_extensions_raw,
    message,
    read_protection,
    record,
    rewrite_type,
    server_context,
    split_records,
    time_limit,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context, event

import cytls
from cytls import PeerAlert, ProtocolError, TLSError, TruncationError
from cytls.handshake.common import Environment
from cytls.wire.messages import (
    HELLO_RETRY_REQUEST_RANDOM,
    ClientHello,
    ExtensionType,
    HandshakeType,
    ServerHello,
)

FUZZ = settings(
    max_examples=int(os.environ.get("CYTLS_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
BUFFER_LIMIT = 1 << 17  # bytes any one buffer of a connection may hold after a run
MAX_ROUNDS = 8


# --- contexts and connections ---------------------------------------------------------------------


@functools.cache
def contexts() -> tuple[cytls.TLSContext, cytls.TLSContext]:
    """(client, server): x25519 then secp256r1 on the client, an Ed25519 certificate."""
    return (
        client_context(groups="x25519:secp256r1"),
        server_context(credentials("ed25519")),
    )


def new_pair(hook: object = None) -> tuple[cytls.Connection, cytls.Connection]:
    client_ctx, server_ctx = contexts()
    client_env = deterministic_environment(b"fuzz client")
    if hook is not None:
        client_env = dataclasses.replace(client_env, client_hello_hook=hook)
    client = cytls.Connection(client_ctx, server_hostname="localhost", environment=client_env)
    server = cytls.Connection(
        server_ctx, server_side=True, environment=deterministic_environment(b"fuzz server")
    )
    return client, server


@functools.cache
def client_hello_message() -> bytes:
    """The deterministic client's ClientHello, as a whole handshake message."""
    client, _ = new_pair()
    (content_type, _, payload) = split_records(client.data_to_send())[0]
    assert content_type == HANDSHAKE
    return payload


@functools.cache
def server_hello_message() -> bytes:
    client, server = new_pair()
    server.receive_data(client.data_to_send())
    (content_type, _, payload) = split_records(server.data_to_send())[0]
    assert content_type == HANDSHAKE and payload[0] == HandshakeType.server_hello
    return payload


# --- outcomes -------------------------------------------------------------------------------------


def check_failure(conn: cytls.Connection, error: BaseException) -> None:
    """A receive_data failure must be a cytls error; a ProtocolError comes with its alert
    queued, and the connection stays failed."""
    assert isinstance(error, TLSError), f"not a cytls error: {error!r}"
    assert type(error) in (ProtocolError, cytls.CertificateError, PeerAlert, TruncationError), (
        f"unexpected cytls error type {type(error).__name__}: {error}"
    )
    if isinstance(error, ProtocolError):
        out = conn.data_to_send()
        sent = alerts_sent(out, conn)
        assert (2, int(error.alert)) in sent, f"{error!r} but alerts queued: {sent}"
    with pytest.raises(TLSError):
        conn.receive_data(b"\x16\x03\x03\x00\x01\x01")
    check_bounded(conn)


def check_bounded(conn: cytls.Connection) -> None:
    capacities = conn._record.buffer_capacities()
    assert max(capacities) <= BUFFER_LIMIT, capacities
    assert conn._handshake.reassembler.buffered() <= (1 << 16) + 4


def feed(conn: cytls.Connection, data: bytes) -> BaseException | None:
    try:
        conn.receive_data(data)
    except TLSError as error:
        check_failure(conn, error)
        note_outcome(f"{'server' if conn.server_side else 'client'}: {_describe(error)}")
        return error
    check_bounded(conn)
    return None


def note_outcome(what: str) -> None:
    """Count outcomes (pytest --hypothesis-show-statistics) when run under hypothesis."""
    if currently_in_test_context():
        event(what)


def _describe(error: BaseException) -> str:
    alert = getattr(error, "alert", None)
    return f"{type(error).__name__} {getattr(alert, 'name', alert)}"


def finish(client: cytls.Connection, server: cytls.Connection) -> str:
    """Relay until the handshake completes or one side fails (bounded); a stall ends with EOF
    to both sides, which must then fail too. Returns what happened."""
    for _ in range(MAX_ROUNDS):
        moved = False
        for sender, receiver in ((client, server), (server, client)):
            data = sender.data_to_send()
            if data:
                moved = True
                error = feed(receiver, data)
                if error is not None:
                    return type(error).__name__
        if client.handshake_complete and server.handshake_complete:
            note_outcome("complete")
            return "complete"
        if not moved:
            break
    else:
        raise AssertionError("the handshake neither completed nor failed: a loop?")
    for conn in (client, server):
        if not conn.handshake_complete:
            error = feed(conn, b"")
            assert isinstance(error, TruncationError), f"EOF mid-handshake gave {error!r}"
    return "stalled"


# --- mutation strategies --------------------------------------------------------------------------


Op = tuple[str, int, int, bytes]
KINDS = ("flip", "truncate", "insert", "delete", "overwrite", "mark")
OPS = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.integers(0, 1 << 16),
        st.integers(0, 255),
        st.binary(min_size=1, max_size=8),
    ),
    min_size=1,
    max_size=4,
)
"""1-4 mutations: (kind, where, value, blob). ``where`` is taken modulo the data's length, so
that a list of operations applies to any message (and can be written in an ``@example``)."""


def apply_ops(data: bytes, ops: list[Op], marks: tuple[bytes, ...] = ()) -> bytes:
    """``data`` after the bit flips, truncations, insertions, deletions and overwrites of
    ``ops``. A "mark" operation is structure-aware: it XORs ``value`` into the last byte of
    the first occurrence of one of ``marks`` (e.g. an X.509 attribute's string tag, or the last
    byte of a public key); when there is none to find it is an overwrite."""
    out = bytearray(data)
    for kind, where, value, blob in ops:
        if kind == "mark" and marks:
            mark = marks[where % len(marks)]
            i = out.find(mark)
            if i >= 0:
                out[i + len(mark) - 1] ^= value or 1
                continue
        if kind == "insert" or not out:
            i = where % (len(out) + 1)
            out[i:i] = blob
            continue
        i = where % len(out)
        if kind == "flip":
            out[i] ^= 1 << (value % 8)
        elif kind == "truncate":
            del out[i:]
        elif kind == "delete":
            del out[i : i + 1 + value % 8]
        else:  # overwrite, or a mark with nothing to find
            out[i] = value
    return bytes(out)


def mutations(data: bytes, marks: tuple[bytes, ...] = ()) -> st.SearchStrategy[bytes]:
    return OPS.map(lambda ops: apply_ops(data, ops, marks))


EXTENSION_TYPES = st.one_of(
    st.sampled_from([int(e) for e in ExtensionType]),
    st.integers(0, 0xFFFF),
    st.sampled_from([0x0A0A, 0x1A1A, 0xFAFA]),  # GREASE
)


@st.composite
def extension_lists(
    draw: st.DrawFn, original: list[tuple[int, bytes]], *, duplicates: bool
) -> list[tuple[int, bytes]]:
    """A random extension block built from ``original``'s extensions (kept, dropped,
    reordered, data mutated) and random new ones."""
    kept = draw(st.lists(st.sampled_from(original), unique=True, max_size=len(original)))
    kept = [(t, draw(mutations(d)) if draw(st.integers(0, 4)) == 0 else d) for t, d in kept]
    extra = draw(st.lists(st.tuples(EXTENSION_TYPES, st.binary(max_size=24)), max_size=4))
    extensions = kept + extra
    extensions = draw(st.permutations(extensions))
    if not duplicates:
        unique: dict[int, bytes] = {}
        for ext_type, ext_data in extensions:
            unique.setdefault(ext_type, ext_data)
        return list(unique.items())
    return list(extensions)


def certificate_marks(certificate: x509.Certificate) -> tuple[bytes, ...]:
    """Structure-aware targets in a certificate: the string tags of its names' attributes
    (commonName, organizationName) and the last bytes of its public key."""
    key = certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return (b"\x06\x03U\x04\x03\x0c", b"\x06\x03U\x04\n\x0c", key[-8:])


# --- the ClientHello ------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_mutated_client_hello_bytes(data: st.DataObject) -> None:
    hello = data.draw(mutations(client_hello_message()), label="ClientHello")
    with time_limit(10):
        client, server = new_pair()
        client.data_to_send()
        error = feed(server, record(HANDSHAKE, hello) if hello else b"")
        outcome = type(error).__name__ if error is not None else finish(client, server)
    # The transcripts differ unless the bytes do not: only an unchanged hello completes.
    assert outcome != "complete" or hello == client_hello_message()


@FUZZ
@given(data=st.data())
def test_mutated_client_hello_fields(data: st.DataObject) -> None:
    """Random extension lists, suites and compression methods, sent by a real client (its
    transcript matches), so that harmless changes complete the handshake."""
    original = ClientHello.parse(client_hello_message()[4:])
    extensions = data.draw(extension_lists(original.extensions, duplicates=False))
    suites = data.draw(
        st.one_of(
            st.just(original.cipher_suites),
            st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=6),
            st.permutations(original.cipher_suites),
        )
    )
    compression = data.draw(st.sampled_from([b"\x00", b"\x00\x01", b"\x01"]))

    def hook(hello: ClientHello) -> ClientHello:
        return dataclasses.replace(
            hello,
            extensions=extensions,
            cipher_suites=list(suites),
            legacy_compression_methods=compression,
        )

    with time_limit(10):
        client, server = new_pair(hook)
        outcome = finish(client, server)
    if outcome == "complete":
        assert ExtensionType.supported_versions in dict(extensions)


@FUZZ
@given(data=st.data())
def test_client_hello_with_duplicate_extensions(data: st.DataObject) -> None:
    original = ClientHello.parse(client_hello_message()[4:])
    extensions = data.draw(extension_lists(original.extensions, duplicates=True))
    body = dataclasses.replace(original, extensions=[]).serialize()[:-2]
    hello = message(HandshakeType.client_hello, body + encode_extensions_raw(extensions))
    with time_limit(10):
        client, server = new_pair()
        client.data_to_send()
        error = feed(server, record(HANDSHAKE, hello))
        types = [t for t, _ in extensions]
        if len(types) != len(set(types)):
            assert isinstance(error, ProtocolError), "a duplicate extension was accepted"
        if error is None:
            finish(client, server)


# --- the ServerHello ------------------------------------------------------------------------------


def server_flight_after(client: cytls.Connection, server: cytls.Connection) -> list[bytes]:
    """The server's first flight, as records."""
    server.receive_data(client.data_to_send())
    return [
        record(t, payload, version) for t, version, payload in split_records(server.data_to_send())
    ]


@FUZZ
@given(data=st.data())
def test_mutated_server_hello_bytes(data: st.DataObject) -> None:
    mutated = data.draw(mutations(server_hello_message()), label="ServerHello")
    with time_limit(10):
        client, server = new_pair()
        flight = server_flight_after(client, server)
        first = record(HANDSHAKE, mutated) if mutated else b""
        error = feed(client, first + b"".join(flight[1:]))
        outcome = type(error).__name__ if error is not None else finish(client, server)
    assert outcome != "complete" or mutated == server_hello_message()


@FUZZ
@given(data=st.data())
def test_mutated_server_hello_fields(data: st.DataObject) -> None:
    original = ServerHello.parse(server_hello_message()[4:])
    extensions = data.draw(extension_lists(original.extensions, duplicates=True))
    suite = data.draw(st.sampled_from([original.cipher_suite, 0x1301, 0x1303, 0xC02F, 0xFFFF]))
    retry = data.draw(st.booleans())

    def change(raw: bytes) -> bytes:
        hello = ServerHello.parse(raw[4:])
        random = HELLO_RETRY_REQUEST_RANDOM if retry else hello.random
        body = dataclasses.replace(hello, random=random, cipher_suite=suite, extensions=[])
        return message(
            HandshakeType.server_hello, body.serialize()[:-2] + encode_extensions_raw(extensions)
        )

    with time_limit(10):
        client, server = new_pair()
        mitm = ManInTheMiddle(client, server)
        server.receive_data(mitm.client_flight())
        error = feed(client, mitm.server_flight(rewrite_type(HandshakeType.server_hello, change)))
        if error is None:
            finish(client, server)


# --- the server's protected messages --------------------------------------------------------------


@FUZZ
@given(
    data=st.data(),
    target=st.sampled_from(
        [
            HandshakeType.encrypted_extensions,
            HandshakeType.certificate,
            HandshakeType.certificate_verify,
        ]
    ),
)
def test_mutated_protected_server_messages(data: st.DataObject, target: int) -> None:
    with time_limit(10):
        client, server = new_pair()
        mitm = ManInTheMiddle(client, server)
        server.receive_data(mitm.client_flight())
        seen: list[tuple[bytes, bytes]] = []

        marks = certificate_marks(credentials("ed25519").leaf[0])

        def change(msg_type: int, raw: bytes) -> bytes | None:
            if msg_type != target:
                return None
            mutated = data.draw(mutations(raw, marks), label=HandshakeType(target).name)
            seen.append((raw, mutated))
            return mutated

        error = feed(client, mitm.server_flight(change))
        outcome = type(error).__name__ if error is not None else finish(client, server)
        # Any changed byte changes the transcript: only an unchanged message may complete.
        ((original, mutated),) = seen
        assert outcome != "complete" or mutated == original


@FUZZ
@given(data=st.data())
def test_random_encrypted_extensions(data: st.DataObject) -> None:
    original = [
        (int(ExtensionType.server_name), b""),
        (int(ExtensionType.application_layer_protocol_negotiation), b"\x00\x03\x02h2"),
        (int(ExtensionType.supported_groups), b"\x00\x02\x00\x1d"),
    ]
    extensions = data.draw(extension_lists(original, duplicates=True))
    with time_limit(10):
        client, server = new_pair()
        mitm = ManInTheMiddle(client, server)
        server.receive_data(mitm.client_flight())
        rewrite = rewrite_type(
            HandshakeType.encrypted_extensions,
            lambda raw: message(
                HandshakeType.encrypted_extensions, encode_extensions_raw(extensions)
            ),
        )
        error = feed(client, mitm.server_flight(rewrite))
        if error is None:
            finish(client, server)


@FUZZ
@given(data=st.data())
def test_random_certificate_entries(data: st.DataObject) -> None:
    leaf = credentials("ed25519").leaf[0]
    der = leaf.public_bytes(Encoding.DER)
    marks = certificate_marks(leaf)
    entry_data = st.one_of(st.just(der), mutations(der, marks), st.binary(min_size=1, max_size=64))
    entries = data.draw(
        st.lists(
            st.tuples(
                entry_data, st.lists(st.tuples(EXTENSION_TYPES, st.binary(max_size=8)), max_size=2)
            ),
            max_size=3,
        )
    )
    context = data.draw(st.sampled_from([b"", b"\x01"]))

    def build(raw: bytes) -> bytes:
        body = bytearray()
        for cert_data, extensions in entries:
            body += len(cert_data).to_bytes(3, "big") + cert_data
            body += encode_extensions_raw(extensions)
        payload = bytes((len(context),)) + context + len(body).to_bytes(3, "big") + body
        return message(HandshakeType.certificate, payload)

    with time_limit(10):
        client, server = new_pair()
        mitm = ManInTheMiddle(client, server)
        server.receive_data(mitm.client_flight())
        error = feed(client, mitm.server_flight(rewrite_type(HandshakeType.certificate, build)))
        if error is None:
            finish(client, server)


@FUZZ
@example(ops=[("mark", 2, 1, b"\x00")])  # the last byte of the public key: off the curve
@given(ops=OPS)
def test_mutated_certificate_without_verification(ops: list[Op]) -> None:
    """The same, for a client that does not verify certificates (CERT_NONE): it still has to
    read the leaf's key, whatever the certificate looks like."""
    creds = credentials("ecdsa-p256")  # EC points are validated when the key is loaded
    marks = certificate_marks(creds.leaf[0])
    with time_limit(10):
        client = cytls.Connection(
            client_context(groups="x25519", verify=False),
            server_hostname="localhost",
            environment=deterministic_environment(b"fuzz client"),
        )
        server = cytls.Connection(
            server_context(creds),
            server_side=True,
            environment=deterministic_environment(b"fuzz server"),
        )
        mitm = ManInTheMiddle(client, server)
        server.receive_data(mitm.client_flight())
        seen: list[tuple[bytes, bytes]] = []

        def change(raw: bytes) -> bytes:
            seen.append((raw, apply_ops(raw, ops, marks)))
            return seen[-1][1]

        error = feed(client, mitm.server_flight(rewrite_type(HandshakeType.certificate, change)))
        outcome = type(error).__name__ if error is not None else finish(client, server)
    ((original, mutated),) = seen
    assert outcome != "complete" or mutated == original


# --- the client's second flight, HelloRetryRequest flows ------------------------------------------


@FUZZ
@given(data=st.data())
def test_mutated_client_finished(data: st.DataObject) -> None:
    with time_limit(10):
        client, server = new_pair()
        mitm = ManInTheMiddle(client, server)
        server.receive_data(mitm.client_flight())
        client.receive_data(mitm.server_flight())
        seen: list[tuple[bytes, bytes]] = []

        def change(raw: bytes) -> bytes:
            seen.append((raw, data.draw(mutations(raw), label="Finished")))
            return seen[-1][1]

        error = feed(server, mitm.client_flight(rewrite_type(HandshakeType.finished, change)))
        outcome = type(error).__name__ if error is not None else finish(client, server)
    ((original, mutated),) = seen
    assert outcome != "complete" or mutated == original


def retry_pair() -> tuple[cytls.Connection, cytls.Connection]:
    """A pair whose server answers the first ClientHello with a HelloRetryRequest."""
    client = cytls.Connection(
        client_context(groups="secp256r1:x25519"),
        server_hostname="localhost",
        environment=deterministic_environment(b"fuzz retry client"),
    )
    server = cytls.Connection(
        server_context(credentials("ed25519"), groups="x25519"),
        server_side=True,
        environment=deterministic_environment(b"fuzz retry server"),
    )
    return client, server


@FUZZ
@given(data=st.data(), mutate_retry=st.booleans())
def test_mutated_hello_retry_flow(data: st.DataObject, mutate_retry: bool) -> None:
    """The HelloRetryRequest fed to the client, or the second ClientHello fed to the server."""
    with time_limit(10):
        client, server = retry_pair()
        mitm = ManInTheMiddle(client, server)
        server.receive_data(mitm.client_flight())

        seen: list[tuple[bytes, bytes]] = []

        def change(msg_type: int, raw: bytes) -> bytes | None:
            if msg_type not in (HandshakeType.server_hello, HandshakeType.client_hello):
                return None
            seen.append((raw, data.draw(mutations(raw), label=HandshakeType(msg_type).name)))
            return seen[-1][1]

        if mutate_retry:
            error = feed(client, mitm.server_flight(change))
        else:
            client.receive_data(mitm.server_flight())
            error = feed(server, mitm.client_flight(change))
        outcome = type(error).__name__ if error is not None else finish(client, server)
    ((original, mutated),) = seen
    assert outcome != "complete" or mutated == original


# --- records cut anywhere; protected records after the handshake ----------------------------------


def refragment(direction: Any, data: bytes, sizes: list[int]) -> bytes:
    """``data`` (records from one side) with the handshake bytes of each key epoch re-cut into
    records of ``sizes`` (cycled), re-sealed by the man in the middle."""
    out = bytearray()
    pending: list[tuple[int, bytes]] = []  # (epoch, handshake bytes) not yet emitted

    def flush() -> None:
        if not pending:
            return
        epoch = pending[0][0]
        stream = b"".join(chunk for _, chunk in pending)
        pending.clear()
        i = 0
        for size in itertools.cycle(sizes):
            if i >= len(stream):
                break
            out.extend(direction.seal(epoch, HANDSHAKE, stream[i : i + size]))
            i += size

    for content_type, _, fragment in split_records(data):
        if content_type == APPDATA:
            epoch, content_type, content = direction.open(fragment)
        else:
            epoch, content = 0, fragment
        if content_type == HANDSHAKE and (not pending or pending[0][0] == epoch):
            pending.append((epoch, content))
            continue
        flush()
        if content_type == HANDSHAKE:
            pending.append((epoch, content))
        else:
            out.extend(direction.seal(epoch, content_type, content))
    flush()
    return bytes(out)


@FUZZ
@given(sizes=st.lists(st.integers(1, 300), min_size=1, max_size=6))
def test_handshake_records_cut_anywhere_complete(sizes: list[int]) -> None:
    """Harmless by construction: the same handshake bytes in records of any size (within each
    key epoch) complete the handshake (RFC 8446 §5.1)."""
    with time_limit(10):
        client, server = new_pair()
        mitm = ManInTheMiddle(client, server)
        server.receive_data(refragment(mitm.to_server, client.data_to_send(), sizes))
        client.receive_data(refragment(mitm.to_client, server.data_to_send(), sizes))
        server.receive_data(refragment(mitm.to_server, client.data_to_send(), sizes))
        assert client.handshake_complete and server.handshake_complete


@FUZZ
@given(
    content=st.binary(max_size=80),
    content_type=st.one_of(st.sampled_from([20, 21, 22, 23]), st.integers(0, 255)),
    padding=st.integers(0, 8),
    to_server=st.booleans(),
)
def test_arbitrary_protected_record_after_handshake(
    content: bytes, content_type: int, padding: int, to_server: bool
) -> None:
    with time_limit(10):
        client, server = new_pair()
        finish(client, server)
        victim = server if to_server else client
        sealed = read_protection(victim).seal(content_type, content, padding)
        feed(victim, sealed)


# --- arbitrary first flights ----------------------------------------------------------------------


FIRST_FLIGHTS = st.one_of(
    st.binary(min_size=1, max_size=300),
    st.binary(min_size=1, max_size=300).map(lambda b: record(HANDSHAKE, b)),
    st.tuples(st.integers(0, 255), st.binary(max_size=200)).map(
        lambda tb: record(HANDSHAKE, message(*tb))
    ),
    st.tuples(st.sampled_from([20, 21, 22, 23]), st.binary(max_size=64)).map(
        lambda tb: record(*tb)
    ),
)


@FUZZ
@given(flight=FIRST_FLIGHTS, chunk=st.integers(1, 64))
def test_arbitrary_first_flight_to_server(flight: bytes, chunk: int) -> None:
    with time_limit(10):
        _, server = new_pair()
        for i in range(0, len(flight), chunk):
            if feed(server, flight[i : i + chunk]) is not None:
                return
        error = feed(server, b"")
        assert error is not None and not server.handshake_complete


@FUZZ
@given(flight=FIRST_FLIGHTS, chunk=st.integers(1, 64))
def test_arbitrary_first_flight_to_client(flight: bytes, chunk: int) -> None:
    with time_limit(10):
        client, _ = new_pair()
        client.data_to_send()
        for i in range(0, len(flight), chunk):
            if feed(client, flight[i : i + chunk]) is not None:
                return
        error = feed(client, b"")
        assert error is not None and not client.handshake_complete


def test_unmutated_runs_complete() -> None:
    """Control: without a mutation each harness completes the handshake."""
    client, server = new_pair()
    assert finish(client, server) == "complete"
    client, server = new_pair(lambda hello: hello)
    assert finish(client, server) == "complete"
    client, server = new_pair()
    mitm = ManInTheMiddle(client, server)
    server.receive_data(mitm.client_flight())
    client.receive_data(mitm.server_flight())
    server.receive_data(mitm.client_flight())
    assert client.handshake_complete and server.handshake_complete


def test_bounded_buffering_of_a_long_handshake_stream() -> None:
    """A peer trickling a maximal handshake message never makes cytls hold more than one
    message: the 64 KiB message completes (and fails to parse), nothing piles up."""
    _, server = new_pair()
    body = bytes(1 << 16)
    stream = message(HandshakeType.client_hello, body)
    records = b"".join(
        record(HANDSHAKE, stream[i : i + (1 << 14)]) for i in range(0, len(stream), 1 << 14)
    )
    error = None
    for i in range(0, len(records), 997):
        error = feed(server, records[i : i + 997])
        if error is not None:
            break
    assert isinstance(error, ProtocolError)


def test_environment_is_deterministic() -> None:
    """The harness itself: two fresh pairs produce byte-identical first flights."""
    a, _ = new_pair()
    b, _ = new_pair()
    assert a.data_to_send() == b.data_to_send()
    assert isinstance(deterministic_environment(b"x"), Environment)

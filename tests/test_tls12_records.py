"""TLS 1.2 record protection and key derivation against a real peer: OpenSSL, through ``ssl``.

Python's ``ssl`` module, limited to TLS 1.2, runs a handshake with itself over MemoryBIOs and
logs its master secret (``keylog_filename``, the NSS key log format's CLIENT_RANDOM line). From
that secret and the randoms on the wire, cytls derives the key block (cytls.crypto.prf), then its
record layer opens what OpenSSL sealed (both Finished messages and application data, each
Finished checked against cytls's own verify_data over the captured transcript) and seals records
that OpenSSL's peer then reads. Every TLS 1.2 suite cytls has, ECDSA and RSA certificates.

No cytls handshake is involved: this checks the record layer's TLS 1.2 AEAD protection (RFC 5246
§6.2.3.3, RFC 5288, RFC 7905) and the PRF's key block and Finished (RFC 5246 §6.3, §7.4.9)
byte for byte against an independent implementation.
"""

from __future__ import annotations

import contextlib
import hashlib
import ssl
from dataclasses import dataclass
from pathlib import Path

import pki
import pytest

from cytls._record import RecordLayer
from cytls.crypto import prf
from cytls.errors import ProtocolError
from cytls.registry import SUITES, CipherSuite, ProtocolVersion

# IANA name -> OpenSSL's name (what ssl's set_ciphers takes), and the certificate it needs.
OPENSSL_NAMES = {
    CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: ("ECDHE-ECDSA-AES128-GCM-SHA256", "ecdsa"),
    CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: ("ECDHE-ECDSA-AES256-GCM-SHA384", "ecdsa"),
    CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: ("ECDHE-RSA-AES128-GCM-SHA256", "rsa"),
    CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: ("ECDHE-RSA-AES256-GCM-SHA384", "rsa"),
    CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: ("ECDHE-RSA-CHACHA20-POLY1305", "rsa"),
    CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ecdsa",
    ),
}
HANDSHAKE, CHANGE_CIPHER_SPEC, APPLICATION_DATA = 22, 20, 23
FINISHED = 20


def test_every_tls12_suite_is_exercised() -> None:
    tls12 = {code for code, suite in SUITES.items() if suite.version == ProtocolVersion.TLSv1_2}
    assert tls12 == set(OPENSSL_NAMES)


def records(stream: bytes) -> list[tuple[int, bytes]]:
    """(content type, whole record) for each record of a captured byte stream."""
    out = []
    while stream:
        length = int.from_bytes(stream[3:5], "big")
        out.append((stream[0], stream[: 5 + length]))
        stream = stream[5 + length :]
    return out


def handshake_payload(flight: bytes) -> bytes:
    """The handshake messages of a flight's unprotected handshake records (those before its
    change_cipher_spec: the protected ones after it keep the handshake type), in order."""
    payload = b""
    for kind, record in records(flight):
        if kind == CHANGE_CIPHER_SPEC:
            break
        if kind == HANDSHAKE:
            payload += record[5:]
    return payload


def after_ccs(flight: bytes) -> bytes:
    """The records a flight sends after its change_cipher_spec: those under the new keys."""
    kinds = [t for t, _ in records(flight)]
    index = kinds.index(CHANGE_CIPHER_SPEC)
    return b"".join(r for _, r in records(flight)[index + 1 :])


@dataclass
class Capture:
    """One ssl TLS 1.2 handshake, each flight's bytes, and what a decrypting observer needs."""

    suite: int
    client: ssl.SSLObject
    server: ssl.SSLObject
    client_in: ssl.MemoryBIO
    client_out: ssl.MemoryBIO
    server_in: ssl.MemoryBIO
    server_out: ssl.MemoryBIO
    flights: list[bytes]  # client hello, server hello..done, client kex..finished, server finished
    master: bytes
    client_random: bytes
    server_random: bytes

    @property
    def keys(self) -> prf.RecordKeys:
        return prf.key_block(self.suite, self.master, self.client_random, self.server_random)

    @property
    def hash_name(self) -> str:
        return SUITES[self.suite].hash_name


def _step(obj: ssl.SSLObject) -> None:
    with contextlib.suppress(ssl.SSLWantReadError):
        obj.do_handshake()


def ssl_tls12_handshake(
    suite: int, tmp_path: Path, *, request_certificate: bool = False
) -> Capture:
    """``request_certificate``: the server sends a CertificateRequest naming its CA, and the
    client, which has no certificate, answers with an empty Certificate."""
    openssl_name, key_type = OPENSSL_NAMES[CipherSuite(suite)]
    ca = pki.make_ca("ecdsa-p256" if key_type == "ecdsa" else "rsa2048")
    leaf = pki.make_leaf(ca, "ecdsa-p256" if key_type == "ecdsa" else "rsa2048")
    certfile, keyfile = pki.write_chain(tmp_path, leaf)
    keylog = tmp_path / "keys.log"
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(certfile, keyfile)
    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_context.load_verify_locations(cadata=pki.pem(ca[0]).decode())
    for context in (server_context, client_context):
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(openssl_name)
    client_context.keylog_filename = str(keylog)
    server_context.options |= ssl.OP_NO_TICKET  # the server's last flight: CCS and Finished
    if request_certificate:
        server_context.verify_mode = ssl.CERT_OPTIONAL
        server_context.load_verify_locations(cadata=pki.pem(ca[0]).decode())
    bios = [ssl.MemoryBIO() for _ in range(4)]
    client_in, client_out, server_in, server_out = bios
    client = client_context.wrap_bio(client_in, client_out, server_hostname="localhost")
    server = server_context.wrap_bio(server_in, server_out, server_side=True)
    flights = []
    for sender, out, peer_in in (
        (client, client_out, server_in),
        (server, server_out, client_in),
        (client, client_out, server_in),
        (server, server_out, client_in),
    ):
        _step(sender)
        flights.append(out.read())
        peer_in.write(flights[-1])
    _step(client)
    assert client.version() == server.version() == "TLSv1.2"
    assert client.cipher()[0] == server.cipher()[0] == openssl_name
    client_hello = handshake_payload(flights[0])
    server_hello = handshake_payload(flights[1])
    client_random, server_random = client_hello[6:38], server_hello[6:38]
    session_id_length = server_hello[38]
    chosen = int.from_bytes(server_hello[39 + session_id_length : 41 + session_id_length], "big")
    assert chosen == suite
    line = next(
        line.split()
        for line in keylog.read_text().splitlines()
        if line.startswith("CLIENT_RANDOM ")
    )
    assert bytes.fromhex(line[1]) == client_random
    return Capture(
        suite,
        client,
        server,
        *bios,
        flights=flights,
        master=bytes.fromhex(line[2]),
        client_random=client_random,
        server_random=server_random,
    )


@pytest.fixture(scope="module", params=sorted(OPENSSL_NAMES), ids=lambda s: CipherSuite(s).name)
def capture(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Capture:
    return ssl_tls12_handshake(request.param, tmp_path_factory.mktemp("tls12"))


def opened(layer: RecordLayer, data: bytes) -> list[tuple[int, bytes]]:
    """Every record ``layer`` opens from ``data``: control records and application data."""
    out = []
    waiting = layer.receive_data(data)
    while True:
        application = layer.read()
        if application:
            out.append((APPLICATION_DATA, application))
        if not waiting:
            return out
        out.append(layer.next_record())
        waiting = layer.receive_data(b"")


def test_both_finished_messages_open_and_verify(capture: Capture) -> None:
    """OpenSSL's encrypted Finished messages (sequence number 0 under each new key) open with
    the key block cytls derives, and hold the verify_data cytls computes over the transcript."""
    keys = capture.keys
    transcript = (
        handshake_payload(capture.flights[0])
        + handshake_payload(capture.flights[1])
        + handshake_payload(capture.flights[2])
    )
    client_reader = RecordLayer()
    client_reader.set_read_key(capture.suite, keys.client_write_key, keys.client_write_iv)
    [(kind, client_finished)] = opened(client_reader, after_ccs(capture.flights[2]))
    assert kind == HANDSHAKE and client_finished[:4] == bytes((FINISHED, 0, 0, 12))
    expected = prf.finished_verify_data(
        capture.hash_name,
        capture.master,
        server=False,
        handshake_hash=hashlib.new(capture.hash_name, transcript).digest(),
    )
    assert client_finished[4:] == expected

    server_reader = RecordLayer()
    server_reader.set_read_key(capture.suite, keys.server_write_key, keys.server_write_iv)
    [(kind, server_finished)] = opened(server_reader, after_ccs(capture.flights[3]))
    assert kind == HANDSHAKE
    expected = prf.finished_verify_data(
        capture.hash_name,
        capture.master,
        server=True,
        handshake_hash=hashlib.new(capture.hash_name, transcript + client_finished).digest(),
    )
    assert server_finished[4:] == expected


def test_application_data_both_ways(capture: Capture) -> None:
    """cytls opens OpenSSL's application records, and OpenSSL reads records cytls sealed under
    the same keys at the next sequence numbers (each side's Finished took number 0)."""
    keys = capture.keys
    # OpenSSL -> cytls: the client's first two application records, numbers 1 and 2.
    capture.client.write(b"first from OpenSSL")
    capture.client.write(b"x" * 20000)  # two records: 16384 and 3616 bytes
    wire = capture.client_out.read()
    reader = RecordLayer()
    reader.set_read_key(capture.suite, keys.client_write_key, keys.client_write_iv)
    reader._set_sequence_numbers(read=1)
    assert b"".join(d for _, d in opened(reader, wire)) == b"first from OpenSSL" + b"x" * 20000
    assert reader.read_sequence_number == 4

    # cytls -> OpenSSL, as the server would: number 1 onwards under the server's key.
    writer = RecordLayer()
    writer.set_write_key(capture.suite, keys.server_write_key, keys.server_write_iv)
    writer._set_sequence_numbers(write=1)
    writer.write(APPLICATION_DATA, b"hello from cytls")
    writer.write(APPLICATION_DATA, b"")  # an empty record, which RFC 5246 §6.2.1 allows
    writer.write(APPLICATION_DATA, bytes(range(256)) * 100)
    capture.client_in.write(writer.data_to_send())
    got = b""
    while True:
        try:
            got += capture.client.read(65536)
        except ssl.SSLWantReadError:
            break
    assert got == b"hello from cytls" + bytes(range(256)) * 100

    # A record that was tampered with is refused with bad_record_mac (RFC 5246 §7.2.2).
    capture.client.write(b"tampered")
    wire = bytearray(capture.client_out.read())
    wire[-1] ^= 1
    with pytest.raises(ProtocolError) as failure:
        reader.receive_data(bytes(wire))
    assert failure.value.alert == 20  # bad_record_mac


def test_gcm_sends_the_sequence_number_as_nonce_explicit() -> None:
    """RFC 5288 §3 lets nonce_explicit be the sequence number; cytls uses it (distinct for
    every record under one key). ChaCha20-Poly1305 sends no nonce (RFC 7905 §2)."""
    for suite, overhead in ((0xC02B, 8 + 16), (0xCCA9, 16)):
        key_length = SUITES[suite].key_length
        writer = RecordLayer()
        writer.set_write_key(suite, bytes(key_length), bytes(SUITES[suite].implicit_iv_length))
        writer._set_sequence_numbers(write=0x0102030405060708)
        writer.write(APPLICATION_DATA, b"abc")
        wire = writer.data_to_send()
        assert wire[:5] == bytes((23, 3, 3, 0, 3 + overhead))
        if overhead == 24:
            assert wire[5:13] == bytes.fromhex("0102030405060708")

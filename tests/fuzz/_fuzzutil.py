"""Shared pieces of the atheris harnesses in this directory (see README.md).

Not a harness itself. Importable without atheris: the harnesses import atheris only when run
as scripts (:func:`main`), so that ``tests/test_fuzz_corpus.py`` can replay the corpus through
their ``TestOneInput`` in the normal test suite.

What is here: the fixed PKI and ticket key of ``pki/`` (so that the committed corpus keeps
matching the harnesses), deterministic connections, the oracle, and :class:`PeerScript`, the
"scripted peer" that the two connection harnesses share.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import struct
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PKI = HERE / "pki"
CORPUS = HERE / "corpus"
REGRESSIONS = HERE / "regressions"

NOW = 1_800_000_000.0
"""The clock of every connection the harnesses make (January 2027): tickets sealed into the
committed corpus never expire. Certificates are checked against the real time; the fixed
PKI is valid from 2020 to 2099."""

TICKET_KEY = hashlib.sha256(b"cytls fuzz ticket key").digest()
PSK = hashlib.sha256(b"cytls fuzz session psk").digest()

CCS, ALERT, HANDSHAKE, APPDATA = 20, 21, 22, 23
ED25519 = 0x0807


@contextlib.contextmanager
def instrumented(name: str) -> Iterator[None]:
    """Coverage-instrument the cytls modules imported in the block when ``name`` is
    ``"__main__"`` (a harness run as a fuzzer); a no-op otherwise (the pytest replay)."""
    if name != "__main__":
        yield
        return
    import atheris

    with atheris.instrument_imports(include=["cytls"]):
        yield


def main(test_one_input: Callable[[bytes], None]) -> None:
    """Run ``test_one_input`` under libFuzzer with the command line's flags and corpora."""
    import atheris

    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


# --- input framing -----------------------------------------------------------------------------


def frames(data: bytes) -> Iterator[tuple[int, bytes]]:
    """``data`` as (op, payload) frames: op (1 byte), length (2 bytes, big-endian), payload.

    A length past the end takes what is left, so every input means something."""
    pos = 0
    while pos < len(data):
        op = data[pos]
        length = int.from_bytes(data[pos + 1 : pos + 3], "big")
        pos += 3
        yield op, data[pos : pos + length]
        pos += length


def frame(op: int, payload: bytes = b"") -> bytes:
    return struct.pack("!BH", op, len(payload)) + payload


def record(content_type: int, payload: bytes, version: int = 0x0303) -> bytes:
    return struct.pack("!BHH", content_type, version, len(payload)) + payload


def split_records(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    pos = 0
    while pos + 5 <= len(data):
        length = int.from_bytes(data[pos + 3 : pos + 5], "big")
        out.append((data[pos], data[pos + 5 : pos + 5 + length]))
        pos += 5 + length
    return out


def split_messages(data: bytes) -> list[bytes]:
    out = []
    pos = 0
    while pos < len(data):
        length = int.from_bytes(data[pos + 1 : pos + 4], "big")
        out.append(data[pos : pos + 4 + length])
        pos += 4 + length
    return out


# --- the fixed PKI and contexts ------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca_pem: str
    server_chain: Path
    server_key: Path
    client_chain: Path
    client_key: Path


def pki() -> Pki:
    return Pki(
        (PKI / "ca.pem").read_text("ascii"),
        PKI / "server.pem",
        PKI / "server.key",
        PKI / "client.pem",
        PKI / "client.key",
    )


def private_key(path: Path) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(path.read_bytes(), None)


def deterministic_environment(seed: bytes) -> Any:
    """Randomness and ephemeral keys derived from ``seed`` and a fixed clock: the same flights
    on every run (x25519, secp256r1 and secp384r1; the hybrid group is never offered)."""
    from cytls.crypto import groups
    from cytls.crypto.groups import ClientKeyShare
    from cytls.handshake.common import Environment

    counter = itertools.count()

    def draw(n: int) -> bytes:
        return hashlib.shake_256(seed + next(counter).to_bytes(4, "big")).digest(n)

    def private(group: int) -> bytes:
        return draw(32) if group == 0x001D else b"\x00" + draw(31 if group == 0x0017 else 47)

    def client_key_share(group: int) -> Any:
        return ClientKeyShare.from_private_bytes(group, private(group))

    def server_key_exchange(group: int, client_share: bytes) -> tuple[bytes, bytes]:
        if group not in (0x001D, 0x0017, 0x0018):
            return groups.server_key_exchange(group, client_share)
        return groups.server_key_exchange(group, client_share, private=private(group))

    return Environment(
        random_bytes=draw,
        now=lambda: NOW,
        client_key_share=client_key_share,
        server_key_exchange=server_key_exchange,
    )


CLIENT_GROUPS = "x25519:secp256r1:secp384r1"
SERVER_MODES = 4
CLIENT_MODES = 4


def fixed_ticket_keys() -> Any:
    from cytls.crypto.tickets import TicketKeys

    return TicketKeys([TICKET_KEY])


@functools.cache
def server_context(mode: int) -> Any:
    """0 default, 1 secp384r1 only (HelloRetryRequest for our clients), 2 client certificate
    required, 3 client certificate optional, ALPN. All resume with the fixed ticket key and
    accept 0-RTT."""
    import cytls

    p = pki()
    context = cytls.TLSContext(cytls.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(p.server_chain, p.server_key)
    context._ticket_keys = fixed_ticket_keys()
    context.max_early_data_size = 1024
    if mode == 1:
        context.set_groups("secp384r1")
    if mode in (2, 3):
        context.load_verify_locations(cadata=p.ca_pem)
        context.verify_mode = cytls.CERT_REQUIRED if mode == 2 else cytls.CERT_OPTIONAL
    if mode == 3:
        context.set_alpn_protocols(["h2", "http/1.1"])
    return context


@functools.cache
def client_context(mode: int) -> Any:
    """0 default (verifies "localhost"), 1 CERT_NONE, 2 resumes a fixed session with 0-RTT,
    3 client certificate, post-handshake authentication, ALPN."""
    import cytls

    p = pki()
    context = cytls.TLSContext(cytls.PROTOCOL_TLS_CLIENT)
    context.set_groups(CLIENT_GROUPS)
    if mode == 1:
        context.check_hostname = False
        context.verify_mode = cytls.CERT_NONE
    else:
        context.load_verify_locations(cadata=p.ca_pem)
    if mode == 3:
        context.load_cert_chain(p.client_chain, p.client_key)
        context.post_handshake_auth = True
        context.set_alpn_protocols(["h2", "http/1.1"])
    return context


def fixed_session(context: Any, suite: int = 0x1302, psk: bytes = PSK) -> Any:
    """A session whose ticket the fixed ticket key opens (sealed with a fixed nonce); its suite
    is the one cytls servers pick by default, so that the PSK's hash matches and it resumes."""
    from cytls.crypto.tickets import TicketState
    from cytls.session import Session

    state = TicketState(
        suite=suite,
        created_ms=int(NOW * 1000) - 5000,
        lifetime=86400,
        age_add=0x01020304,
        max_early_data_size=1024,
        psk=psk,
        alpn_protocol=b"",
        server_name="localhost",
        peer_certificate=b"",
    )
    return Session(
        ticket=seal_ticket(state.serialize()),
        psk=psk,
        suite=suite,
        ticket_lifetime_hint=86400,
        age_add=0x01020304,
        received_at=NOW - 5,
        max_early_data_size=1024,
        alpn_protocol=None,
        server_name="localhost",
        peer_certificates=(),
        context=context,
    )


@functools.cache
def client_session(mode: int) -> Any:
    return fixed_session(client_context(mode))


def seal_ticket(plaintext: bytes, nonce: bytes = bytes(12)) -> bytes:
    """``plaintext`` sealed as a ticket under the fixed ticket key (tickets.py's format)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from cytls.crypto.tickets import _key_name

    name = _key_name(TICKET_KEY)
    return name + nonce + AESGCM(TICKET_KEY).encrypt(nonce, plaintext, name)


def fresh(context: Any) -> None:
    """Make a cached context forget what earlier runs left in it, so that every run is the
    same: the tickets used for 0-RTT (its strike register would refuse them as replays) and
    the verdicts on certificate chains (a cached one would skip the verification)."""
    context._strike_register = None
    context.trust_store._verified.clear()


def server_connection(mode: int) -> Any:
    """A fresh server (its cached context made :func:`fresh`)."""
    import cytls

    context = server_context(mode)
    fresh(context)
    return cytls.Connection(
        context, server_side=True, environment=deterministic_environment(b"server")
    )


def client_connection(mode: int) -> Any:
    import cytls

    context = client_context(mode)
    fresh(context)
    session = client_session(mode) if mode == 2 else None
    return cytls.Connection(
        context,
        server_hostname="localhost",
        environment=deterministic_environment(b"client"),
        session=session,
        early_data=b"early data" if mode == 2 else b"",
    )


# --- the scripted peer ---------------------------------------------------------------------------

# Ops of PeerScript.apply (op % 8).
OP_HANDSHAKE = 0  # payload: handshake bytes, one record under the victim's current read key
OP_RECORD = 1  # payload: content type, padding length, content; one record, any inner type
OP_RAW = 2  # payload: bytes fed as they are (plaintext records, garbage, cut records)
OP_FINISHED = 3  # the peer's correct Finished for the victim's transcript so far
OP_CERTIFICATE_VERIFY = 4  # the peer's correct Ed25519 CertificateVerify for that transcript
OP_APPDATA = 5  # payload: application data, one record under the current read key
OP_APP = 6  # the application reads (payload empty: EOF from the transport; else it sends it)
OP_KEY_UPDATE = 7  # key_update(); payload 0x02 on a server: verify_client_post_handshake()


class Protection:
    """One direction's AEAD (RFC 8446 §5.2-5.3) with cryptography, not with cytls._record."""

    def __init__(self, suite: int, secret: bytes, seq: int) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

        from cytls.crypto.keyschedule import traffic_keys

        key, self.iv = traffic_keys(suite, secret)
        self.aead = ChaCha20Poly1305(key) if suite == 0x1303 else AESGCM(key)
        self.seq = seq

    def _nonce(self) -> bytes:
        padded = self.seq.to_bytes(len(self.iv), "big")
        return bytes(a ^ b for a, b in zip(self.iv, padded, strict=True))

    def seal(self, inner: bytes) -> bytes:
        aad = struct.pack("!BHH", APPDATA, 0x0303, len(inner) + 16)
        return aad + self.aead.encrypt(self._nonce(), inner, aad)

    def open(self, fragment: bytes) -> bytes:
        aad = struct.pack("!BHH", APPDATA, 0x0303, len(fragment))
        return self.aead.decrypt(self._nonce(), fragment, aad)


class PeerScript:
    """Plays the peer of ``victim`` (a cytls Connection) from a list of ops.

    The point: the victim's handshake is mostly encrypted, and a fuzzer cannot produce records
    that open. So the fuzz input is *plaintext* (handshake messages, records of any content
    type), and this class seals each one under the key the victim will read it with next: the
    victim's own current read secret and sequence number (what ``tests/handshakeutil.py``
    obtains through the key log hook). Before the victim has a read key the record goes out in
    plaintext. Two ops compute what the fuzzer cannot: the peer's Finished and an Ed25519
    CertificateVerify (with the fixed PKI's key) over the victim's transcript so far, so that
    a mutated earlier message can still be followed by the rest of the handshake.
    """

    def __init__(self, victim: Any, signing_key: Any, *, server_peer: bool) -> None:
        self.victim = victim
        self.signing_key = signing_key
        self.server_peer = server_peer

    def protection(self) -> Protection | None:
        layer = self.victim._record
        hs = self.victim._handshake
        if not layer.read_protected or hs.suite is None:
            return None
        return Protection(hs.suite, hs.read_secret, layer.read_sequence_number)

    def sealed(self, content_type: int, content: bytes, padding: int = 0) -> bytes:
        protection = self.protection()
        if protection is None:
            return record(content_type, content)
        return protection.seal(content + bytes((content_type,)) + bytes(padding))

    def computed(self, op: int) -> bytes | None:
        """The Finished or CertificateVerify message the peer would send now, or None."""
        from cytls.crypto import signatures
        from cytls.crypto.keyschedule import finished_verify_data

        hs = self.victim._handshake
        if hs.suite is None or hs.transcript is None:
            return None
        digest = hs.transcript.digest()
        if op == OP_FINISHED:
            if not hs.read_secret:
                return None
            body = finished_verify_data(hs.hash_name, hs.read_secret, digest)
            return bytes((20,)) + len(body).to_bytes(3, "big") + body
        data = signatures.certificate_verify_input(digest, server=self.server_peer)
        signature = signatures.sign(self.signing_key, ED25519, data)
        body = struct.pack("!HH", ED25519, len(signature)) + signature
        return bytes((15,)) + len(body).to_bytes(3, "big") + body

    def apply(self, op: int, payload: bytes) -> bytes:
        """Run one op; return what the victim sends in answer. Exceptions propagate (the
        caller is the oracle)."""
        from cytls.connection import WantReadError

        op %= 8
        victim = self.victim
        if op in (OP_HANDSHAKE, OP_APPDATA):
            victim.receive_data(self.sealed(HANDSHAKE if op == OP_HANDSHAKE else APPDATA, payload))
        elif op == OP_RECORD:
            content_type = payload[0] if payload else 0
            padding = payload[1] if len(payload) > 1 else 0
            victim.receive_data(self.sealed(content_type, payload[2:], padding))
        elif op == OP_RAW:
            if payload:  # b"" would be EOF: that is OP_APP's
                victim.receive_data(payload)
        elif op in (OP_FINISHED, OP_CERTIFICATE_VERIFY):
            message = self.computed(op)
            if message is not None:
                victim.receive_data(self.sealed(HANDSHAKE, message))
        elif op == OP_APP:
            if not payload:
                victim.receive_data(b"")
            elif victim.handshake_complete:
                victim.send(payload)
                with contextlib.suppress(WantReadError):
                    victim.recv()
        elif payload[:1] == b"\x02" and victim.server_side:
            victim.verify_client_post_handshake()
        elif victim.handshake_complete:
            victim.key_update(request_peer=payload[:1] == b"\x01")
        return victim.data_to_send()


# The reasons Connection documents for refusing the application's send, key_update and
# verify_client_post_handshake calls in the wrong state.
APPLICATION_REFUSALS = {
    "HANDSHAKE_NOT_COMPLETE",
    "PROTOCOL_IS_SHUTDOWN",
    "STILL_IN_INIT",
    "EXTENSION_NOT_RECEIVED",
    "REQUEST_SENT",
    "INVALID_CONFIG",
}


def run_connection(victim: Any, data: bytes, *, server_peer: bool, signing_key: Any) -> None:
    """The oracle of the connection harnesses: run every op of ``data`` against ``victim``.

    Allowed endings: the ops run out; a ProtocolError (its alert queued, the connection
    failed for good); PeerAlert (the script sent an alert); TruncationError (the script sent
    EOF during the handshake). Anything else propagates, and libFuzzer reports it."""
    from cytls import PeerAlert, ProtocolError, TLSError, TruncationError

    script = PeerScript(victim, signing_key, server_peer=server_peer)
    for op, payload in frames(data):
        try:
            script.apply(op, payload)
        except ProtocolError:
            assert victim._error is not None, "a ProtocolError left the connection usable"
            try:
                victim.receive_data(b"\x16")
            except TLSError:
                pass
            else:
                raise AssertionError("a failed connection took more data") from None
            return
        except (PeerAlert, TruncationError):
            return
        except TLSError as exc:
            # The application's own calls (send, key_update) refuse in some states: only
            # with the reasons they document.
            if exc.reason not in APPLICATION_REFUSALS:
                raise
            return

"""Shared helpers for the handshake tests: contexts, an in-memory pump, record and handshake
framing, and a man in the middle that can rewrite any handshake message between two
:class:`cytls.Connection` objects.

Not a test module. The record framing and the AEAD here are written from RFC 8446 §5 with
``cryptography``, not with ``cytls._record``, so that what the tests feed a connection does not
depend on the code under test; only the traffic secrets come from the connections themselves
(through the NSS key log hook each handshake calls) and ``traffic_keys`` turns them into keys.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import hashlib
import itertools
import shutil
import signal
import struct
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cryptography
import pki
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

import cytls
from cytls.crypto import groups as groups_module
from cytls.crypto.groups import ClientKeyShare
from cytls.crypto.keyschedule import traffic_keys
from cytls.errors import PeerAlert, ProtocolError, TLSError
from cytls.handshake.common import Environment
from cytls.wire.enums import AlertDescription
from cytls.wire.messages import ClientHello, HandshakeType, ServerHello

# The ssl module of CPython before 3.11.3 (Debian 12's python3 is 3.11.2) reads a transport EOF
# without close_notify as a clean close, where later releases raise SSLEOFError
# (python/cpython#95494). The tests that run the same code on ssl and cytls expect the later
# behaviour, which cytls has; on those builds their ssl half is an expected failure.
SSL_READS_TRUNCATION_AS_CLOSE = pytest.mark.xfail(
    sys.version_info < (3, 11, 3),
    reason="the ssl module before CPython 3.11.3 takes an EOF without close_notify for a clean "
    "close (python/cpython#95494)",
    raises=pytest.fail.Exception,
    strict=True,
)

CCS = 20
ALERT = 21
HANDSHAKE = 22
APPDATA = 23
HEADER = 5
TAG = 16

X25519 = 0x001D
SECP256R1 = 0x0017
SECP384R1 = 0x0018
X25519MLKEM768 = 0x11EC

# X25519MLKEM768 needs ML-KEM-768 from cryptography: its OpenSSL-backed wheels have it from 48
# on (47 has the API, but its backend refuses the algorithm). The hybrid's tests skip without.
needs_mlkem = pytest.mark.skipif(
    not groups_module.MLKEM_AVAILABLE,
    reason=f"X25519MLKEM768 needs ML-KEM-768, which cryptography {cryptography.__version__} "
    "lacks here",
)
DEFAULT_GROUP = X25519MLKEM768 if groups_module.MLKEM_AVAILABLE else X25519
"""The group a default client offers first and a default server picks (README: the hybrid,
where cryptography has ML-KEM)."""


def mlkem_marks(groups: object) -> tuple[pytest.MarkDecorator, ...]:
    """``needs_mlkem`` for a parametrization whose groups name X25519MLKEM768, else nothing."""
    return (needs_mlkem,) if "x25519mlkem768" in str(groups).lower() else ()


# --- certificates and contexts ------------------------------------------------------------------

_TMP = Path(tempfile.mkdtemp(prefix="cytls-handshake-tests-"))
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
_FILES = itertools.count()


@dataclass(frozen=True)
class Credentials:
    """A CA and a server leaf under it, with the files ``load_cert_chain`` reads."""

    ca: pki.Pair
    leaf: pki.Pair
    certfile: Path
    keyfile: Path

    @property
    def ca_pem(self) -> str:
        return pki.pem(self.ca[0]).decode("ascii")


def write_credentials(ca: pki.Pair, leaf: pki.Pair, *intermediates: Any) -> Credentials:
    """Write ``leaf`` (+ intermediates) and its key to fresh files."""
    directory = _TMP / f"creds{next(_FILES)}"
    directory.mkdir()
    certfile, keyfile = pki.write_chain(directory, leaf, *intermediates)
    return Credentials(ca, leaf, certfile, keyfile)


_MADE_ONCE = threading.RLock()


def _once(function: Callable[..., Any]) -> Callable[..., Any]:
    """``functools.cache`` that also holds when the first calls race: a test's peer thread
    may build its context while the test builds the other side's, and two root CAs made at
    once leave the client trusting the one the server's certificate does not chain to."""
    cached = functools.cache(function)

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        with _MADE_ONCE:
            return cached(*args, **kwargs)

    return call


@_once
def root_ca() -> pki.Pair:
    """The CA every test client trusts by default."""
    return pki.make_ca("ecdsa-p256", common_name="cytls handshake tests root CA")


@_once
def credentials(key_type: str = "ecdsa-p256") -> Credentials:
    """A leaf for localhost/127.0.0.1 under :func:`root_ca`, one per key type."""
    ca = root_ca()
    return write_credentials(ca, pki.make_leaf(ca, key_type))


@_once
def client_credentials(key_type: str = "ecdsa-p256") -> Credentials:
    """A client certificate under :func:`root_ca`: clientAuth, no subjectAltName, common name
    "client <key_type>" (for mutual TLS)."""
    ca = root_ca()
    leaf = pki.make_leaf(ca, key_type, names=[], common_name=f"client {key_type}", eku="clientAuth")
    return write_credentials(ca, leaf)


def server_context(
    creds: Credentials | None = None,
    *,
    suites: str | None = None,
    groups: str | None = None,
    alpn: Sequence[str] = (),
) -> cytls.TLSContext:
    creds = creds or credentials()
    context = cytls.TLSContext(cytls.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(creds.certfile, creds.keyfile)
    if suites:
        context.set_ciphers(suites)
    if groups:
        context.set_groups(groups)
    if alpn:
        context.set_alpn_protocols(alpn)
    return context


def client_context(
    creds: Credentials | None = None,
    *,
    suites: str | None = None,
    groups: str | None = None,
    alpn: Sequence[str] = (),
    verify: bool = True,
) -> cytls.TLSContext:
    creds = creds or credentials()
    context = cytls.TLSContext(cytls.PROTOCOL_TLS_CLIENT)
    if verify:
        context.load_verify_locations(cadata=creds.ca_pem)
    else:
        context.check_hostname = False
        context.verify_mode = cytls.CERT_NONE
    if suites:
        context.set_ciphers(suites)
    if groups:
        context.set_groups(groups)
    if alpn:
        context.set_alpn_protocols(alpn)
    return context


def deterministic_environment(seed: bytes) -> Environment:
    """Randomness and ephemeral keys derived from ``seed``: the same flights on every run
    (x25519, secp256r1 and secp384r1 only; the hybrid group takes no injected key)."""
    counter = itertools.count()

    def draw(n: int) -> bytes:
        return hashlib.shake_256(seed + next(counter).to_bytes(4, "big")).digest(n)

    def private(group: int) -> bytes:
        # An EC scalar below the group order: a leading zero byte keeps it small enough.
        return draw(32) if group == X25519 else b"\x00" + draw(31 if group == SECP256R1 else 47)

    def client_key_share(group: int) -> ClientKeyShare:
        return ClientKeyShare.from_private_bytes(group, private(group))

    def server_key_exchange(group: int, client_share: bytes) -> tuple[bytes, bytes]:
        if group == X25519MLKEM768:
            return groups_module.server_key_exchange(group, client_share)
        return groups_module.server_key_exchange(group, client_share, private=private(group))

    return Environment(
        random_bytes=draw,
        client_key_share=client_key_share,
        server_key_exchange=server_key_exchange,
    )


def connections(
    client_ctx: cytls.TLSContext | None = None,
    server_ctx: cytls.TLSContext | None = None,
    *,
    hostname: str | None = "localhost",
    client_env: Environment | None = None,
    server_env: Environment | None = None,
) -> tuple[cytls.Connection, cytls.Connection]:
    client = cytls.Connection(
        client_ctx or client_context(), server_hostname=hostname, environment=client_env
    )
    server = cytls.Connection(
        server_ctx or server_context(), server_side=True, environment=server_env
    )
    return client, server


def pump(client: cytls.Connection, server: cytls.Connection, *, max_rounds: int = 10) -> None:
    """Exchange flights until neither side has anything to send (bounded)."""
    for _ in range(max_rounds):
        moved = False
        data = client.data_to_send()
        if data:
            server.receive_data(data)
            moved = True
        data = server.data_to_send()
        if data:
            client.receive_data(data)
            moved = True
        if not moved:
            return
    raise AssertionError(f"the handshake did not settle in {max_rounds} rounds")


def handshake(
    client_ctx: cytls.TLSContext | None = None,
    server_ctx: cytls.TLSContext | None = None,
    **kwargs: Any,
) -> tuple[cytls.Connection, cytls.Connection]:
    """Two connections that completed a handshake."""
    client, server = connections(client_ctx, server_ctx, **kwargs)
    pump(client, server)
    assert client.handshake_complete and server.handshake_complete
    return client, server


# --- record and handshake framing ----------------------------------------------------------------


def record(content_type: int, payload: bytes, version: int = 0x0303) -> bytes:
    """A TLSPlaintext (or, for type 23, an already sealed) record."""
    return struct.pack("!BHH", content_type, version, len(payload)) + payload


def split_records(data: bytes) -> list[tuple[int, int, bytes]]:
    """Complete records of ``data`` as (type, version, fragment); a partial tail is an error."""
    out = []
    pos = 0
    while pos < len(data):
        content_type, version, length = struct.unpack_from("!BHH", data, pos)
        fragment = data[pos + HEADER : pos + HEADER + length]
        assert len(fragment) == length, "truncated record"
        out.append((content_type, version, fragment))
        pos += HEADER + length
    return out


def message(msg_type: int, body: bytes) -> bytes:
    """A Handshake structure: type, uint24 length, body."""
    return bytes((msg_type,)) + len(body).to_bytes(3, "big") + body


def split_messages(data: bytes) -> list[bytes]:
    """Whole handshake messages (header included) in ``data``."""
    out = []
    pos = 0
    while pos < len(data):
        length = int.from_bytes(data[pos + 1 : pos + 4], "big")
        out.append(data[pos : pos + 4 + length])
        pos += 4 + length
    return out


def plaintext_messages(data: bytes) -> list[bytes]:
    """Handshake messages of the unprotected handshake records of ``data``."""
    payload = b"".join(frag for typ, _, frag in split_records(data) if typ == HANDSHAKE)
    return split_messages(payload)


def client_hello_of(data: bytes) -> ClientHello:
    """The ClientHello in a client's first flight."""
    (raw,) = plaintext_messages(data)
    assert raw[0] == HandshakeType.client_hello
    return ClientHello.parse(raw[4:])


def hello_record(hello: ClientHello | ServerHello, version: int = 0x0303) -> bytes:
    """A plaintext handshake record holding ``hello``."""
    return record(HANDSHAKE, hello.to_message(), version)


def extension_map(extensions: Sequence[tuple[int, bytes]]) -> dict[int, bytes]:
    return dict(extensions)


def replace_extension(
    extensions: Sequence[tuple[int, bytes]], ext_type: int, data: bytes | None
) -> list[tuple[int, bytes]]:
    """``extensions`` with ``ext_type`` replaced (in place), removed (None) or appended."""
    out = []
    found = False
    for t, d in extensions:
        if t == ext_type:
            found = True
            if data is not None:
                out.append((t, data))
        else:
            out.append((t, d))
    if not found and data is not None:
        out.append((ext_type, data))
    return out


def encode_extensions_raw(extensions: Sequence[tuple[int, bytes]]) -> bytes:
    """An extension block, duplicates allowed (``serialize_extensions`` refuses them)."""
    body = b"".join(struct.pack("!HH", t, len(d)) + d for t, d in extensions)
    return struct.pack("!H", len(body)) + body


# --- record protection (RFC 8446 §5.2-5.4), independent of cytls._record -----------------------


@dataclass
class Protection:
    """One direction's AEAD key for one traffic secret, with its sequence number."""

    suite: int
    key: bytes
    iv: bytes
    seq: int = 0

    @classmethod
    def from_secret(cls, suite: int, secret: bytes) -> Protection:
        key, iv = traffic_keys(suite, secret)
        return cls(suite, key, iv)

    def _aead(self) -> AESGCM | ChaCha20Poly1305:
        return ChaCha20Poly1305(self.key) if self.suite == 0x1303 else AESGCM(self.key)

    def _nonce(self, seq: int) -> bytes:
        padded = seq.to_bytes(len(self.iv), "big")
        return bytes(a ^ b for a, b in zip(self.iv, padded, strict=True))

    def seal_inner(self, inner: bytes) -> bytes:
        """A TLSCiphertext around an arbitrary TLSInnerPlaintext (the next sequence number)."""
        aad = struct.pack("!BHH", APPDATA, 0x0303, len(inner) + TAG)
        sealed = aad + self._aead().encrypt(self._nonce(self.seq), inner, aad)
        self.seq += 1
        return sealed

    def seal(self, content_type: int, content: bytes, padding: int = 0) -> bytes:
        return self.seal_inner(content + bytes((content_type,)) + bytes(padding))

    def open(self, fragment: bytes, seq: int | None = None) -> tuple[int, bytes]:
        """(inner content type, content) of a sealed fragment; InvalidTag if it does not open."""
        seq = self.seq if seq is None else seq
        aad = struct.pack("!BHH", APPDATA, 0x0303, len(fragment))
        inner = self._aead().decrypt(self._nonce(seq), fragment, aad).rstrip(b"\x00")
        self.seq = seq + 1
        return inner[-1], inner[:-1]


def write_protection(conn: cytls.Connection) -> Protection:
    """A copy of ``conn``'s current write key (its next record's sequence number included)."""
    hs = conn._handshake
    assert hs.suite is not None
    protection = Protection.from_secret(hs.suite, hs.write_secret)
    protection.seq = conn._record.write_sequence_number
    return protection


def read_protection(conn: cytls.Connection) -> Protection:
    """A key that seals records ``conn`` will accept next (its current read key)."""
    hs = conn._handshake
    assert hs.suite is not None
    protection = Protection.from_secret(hs.suite, hs.read_secret)
    protection.seq = conn._record.read_sequence_number
    return protection


def alerts_sent(data: bytes, sender: cytls.Connection) -> list[tuple[int, int]]:
    """(level, description) of every alert record in ``data``, which ``sender`` just produced:
    plaintext ones as they are, protected ones opened with ``sender``'s current write key."""
    alerts = []
    protection: Protection | None = None
    if sender._handshake.suite is not None and sender._handshake.write_secret:
        protection = Protection.from_secret(sender._handshake.suite, sender._handshake.write_secret)
    for content_type, _, fragment in split_records(data):
        if content_type == ALERT:
            alerts.append((fragment[0], fragment[1]) if len(fragment) == 2 else (-1, -1))
        elif content_type == APPDATA and protection is not None:
            # The alert is the last record under the current key: try the recent sequence numbers.
            top = sender._record.write_sequence_number
            for seq in range(top, max(-1, top - 64), -1):
                try:
                    inner_type, content = protection.open(fragment, seq)
                except InvalidTag:
                    continue
                if inner_type == ALERT:
                    alerts.append((content[0], content[1]))
                break
    return alerts


# --- the man in the middle -----------------------------------------------------------------------

Rewrite = Callable[[int, bytes], "bytes | Sequence[bytes] | None"]
"""Called with (msg_type, whole message) for each handshake message; returns the message(s)
to forward in its place (None: unchanged, [] drops it)."""


@dataclass
class _Direction:
    sender: str  # "CLIENT" or "SERVER": the prefix of the NSS key log labels
    secrets: dict[str, bytes]
    suite: Callable[[], int | None]
    epoch: int = 0  # 0 plaintext, 1 handshake traffic key, 2 application traffic key
    read: dict[int, Protection] = field(default_factory=dict)
    write: dict[int, Protection] = field(default_factory=dict)
    pending: bytearray = field(default_factory=bytearray)  # partial handshake message
    seen: list[tuple[int, int, bytes]] = field(default_factory=list)  # (epoch, type, message)

    def protection(self, table: dict[int, Protection], epoch: int) -> Protection | None:
        if epoch not in table:
            label = (
                f"{self.sender}_HANDSHAKE_TRAFFIC_SECRET"
                if epoch == 1
                else f"{self.sender}_TRAFFIC_SECRET_0"
            )
            suite = self.suite()
            if label not in self.secrets or suite is None:
                return None
            table[epoch] = Protection.from_secret(suite, self.secrets[label])
        return table[epoch]

    def open(self, fragment: bytes) -> tuple[int, int, bytes]:
        """Open a protected record with the current key or, failing that, the next one."""
        for epoch in (max(self.epoch, 1), max(self.epoch, 1) + 1):
            protection = self.protection(self.read, epoch)
            if protection is None or epoch > 2:
                continue
            try:
                content_type, content = protection.open(fragment)
            except InvalidTag:
                continue
            self.epoch = epoch
            return epoch, content_type, content
        raise AssertionError(f"the man in the middle cannot open a {self.sender} record")

    def seal(self, epoch: int, content_type: int, content: bytes) -> bytes:
        if epoch == 0:
            return record(content_type, content)
        protection = self.protection(self.write, epoch)
        assert protection is not None
        return protection.seal(content_type, content)


class ManInTheMiddle:
    """Sits between a client and a server Connection and relays (and rewrites) their records.

    Each handshake message is handed to a rewrite callback in plaintext, whether it travelled
    in a plaintext record (ClientHello, ServerHello) or a protected one: protected records are
    opened with the sender's traffic secrets (recorded through the handshake's key log hook)
    and what is forwarded is sealed again, one record per message, with sequence numbers of the
    man in the middle's own. So a modified message reaches the receiver's state machine instead
    of failing its AEAD. Once a direction goes through the man in the middle, everything in it
    must (the sequence numbers are his).
    """

    def __init__(self, client: cytls.Connection, server: cytls.Connection) -> None:
        self.client = client
        self.server = server
        self.secrets: dict[str, bytes] = {}
        for conn in (client, server):
            previous = conn._output.keylog
            conn._output.keylog = self._recorder(previous)
        self.to_server = _Direction("CLIENT", self.secrets, lambda: self.client._handshake.suite)
        self.to_client = _Direction("SERVER", self.secrets, lambda: self.server._handshake.suite)

    def _recorder(
        self, previous: Callable[[str, bytes, bytes], None] | None
    ) -> Callable[[str, bytes, bytes], None]:
        def record_secret(label: str, client_random: bytes, secret: bytes) -> None:
            self.secrets[label] = secret
            if previous is not None:
                previous(label, client_random, secret)

        return record_secret

    def relay(self, direction: _Direction, data: bytes, rewrite: Rewrite | None = None) -> bytes:
        """What the receiver gets for ``data``, after ``rewrite``."""
        out = bytearray()
        for content_type, _, fragment in split_records(data):
            if content_type == APPDATA:
                epoch, content_type, content = direction.open(fragment)
            else:
                epoch, content = 0, fragment
            if content_type != HANDSHAKE:
                out += direction.seal(epoch, content_type, content)
                continue
            direction.pending += content
            for raw in split_messages(bytes(direction.pending)):
                if len(raw) < 4 or len(raw) < 4 + int.from_bytes(raw[1:4], "big"):
                    break  # partial: wait for the rest
                del direction.pending[: len(raw)]
                direction.seen.append((epoch, raw[0], raw))
                replaced = rewrite(raw[0], raw) if rewrite is not None else None
                if replaced is None:
                    replaced = [raw]
                elif isinstance(replaced, bytes | bytearray):
                    replaced = [bytes(replaced)]
                for item in replaced:
                    out += direction.seal(epoch, HANDSHAKE, item)
        return bytes(out)

    def client_flight(self, rewrite: Rewrite | None = None) -> bytes:
        """The client's pending output as the server will receive it."""
        return self.relay(self.to_server, self.client.data_to_send(), rewrite)

    def server_flight(self, rewrite: Rewrite | None = None) -> bytes:
        """The server's pending output as the client will receive it."""
        return self.relay(self.to_client, self.server.data_to_send(), rewrite)

    def seal_to_client(self, content_type: int, content: bytes) -> bytes:
        """A record as the server would send it now (to forge messages for the client)."""
        return self.to_client.seal(self.to_client.epoch, content_type, content)

    def seal_to_server(self, content_type: int, content: bytes) -> bytes:
        return self.to_server.seal(self.to_server.epoch, content_type, content)

    def pump(self, max_rounds: int = 10) -> None:
        """Relay unchanged until quiet."""
        for _ in range(max_rounds):
            moved = False
            data = self.client_flight()
            if data:
                self.server.receive_data(data)
                moved = True
            data = self.server_flight()
            if data:
                self.client.receive_data(data)
                moved = True
            if not moved:
                return
        raise AssertionError("the relayed handshake did not settle")


def rewrite_type(msg_type: int, change: Callable[[bytes], bytes | Sequence[bytes]]) -> Rewrite:
    """A rewrite that applies ``change`` to the messages of one type only."""

    def rewrite(actual: int, raw: bytes) -> bytes | Sequence[bytes] | None:
        return change(raw) if actual == msg_type else None

    return rewrite


def rewrite_body(msg_type: int, change: Callable[[bytes], bytes]) -> Rewrite:
    """A rewrite that replaces the body of the messages of one type (the header is redone)."""
    return rewrite_type(msg_type, lambda raw: message(msg_type, change(raw[4:])))


# --- checking an abort ---------------------------------------------------------------------------


def assert_aborts(
    victim: cytls.Connection,
    data: bytes,
    exc_type: type[TLSError] | tuple[type[TLSError], ...],
    alert: AlertDescription | int | tuple[AlertDescription | int, ...],
    *,
    peer: cytls.Connection | None = None,
    to_peer: Callable[[bytes], bytes] | None = None,
    match: str | None = None,
) -> BaseException:
    """Feed ``data`` to ``victim`` and check the whole abort path:

    - ``receive_data`` raises exactly ``exc_type`` with ``.alert == alert`` (and ``match``);
      tuples list the acceptable classes/alerts where the RFC leaves the choice open;
    - the fatal alert is queued for the peer (decoded here, and if ``peer`` is given the peer,
      fed it through ``to_peer``, raises ``PeerAlert`` with that description);
    - the victim is unusable afterwards: receive_data and send raise, nothing more is sent.
    """
    exc_types = exc_type if isinstance(exc_type, tuple) else (exc_type,)
    alerts = tuple(int(a) for a in (alert if isinstance(alert, tuple) else (alert,)))
    with pytest.raises(TLSError) as info:
        victim.receive_data(data)
    error = info.value
    names = " or ".join(t.__name__ for t in exc_types)
    assert type(error) in exc_types, f"expected {names}, got {error!r}"
    assert isinstance(error, ProtocolError | PeerAlert)
    wanted = " or ".join(AlertDescription(a).name for a in alerts)
    assert error.alert in alerts, f"expected {wanted}, got {error}"
    if match is not None:
        assert match in str(error), f"{match!r} not in {str(error)!r}"
    out = victim.data_to_send()
    assert (2, int(error.alert)) in alerts_sent(out, victim), (
        f"no fatal {wanted} alert queued: {alerts_sent(out, victim)}"
    )
    if peer is not None:
        delivered = to_peer(out) if to_peer is not None else out
        assert_peer_alert(peer, delivered, error.alert)
    assert_unusable(victim)
    return error


def assert_peer_alert(peer: cytls.Connection, data: bytes, alert: int) -> None:
    """``peer``, fed ``data``, raises PeerAlert(alert) and is unusable afterwards."""
    with pytest.raises(PeerAlert) as info:
        peer.receive_data(data)
    assert type(info.value) is PeerAlert
    assert info.value.alert == alert, f"the peer saw {info.value}, expected alert {alert}"
    assert_unusable(peer)


def assert_unusable(conn: cytls.Connection) -> None:
    """After a fatal error nothing works any more, and nothing more goes out (what was queued
    before the error, e.g. a Finished written just before an alert arrived, may still be)."""
    conn.data_to_send()
    with pytest.raises(TLSError):
        conn.receive_data(record(HANDSHAKE, b"\x01\x00\x00\x00"))
    with pytest.raises(TLSError):
        conn.send(b"more")
    with pytest.raises(TLSError):
        conn.receive_data(record(APPDATA, bytes(40)))
    with pytest.raises(TLSError):
        conn.key_update()
    # Application data authenticated before the error may still be read; then recv() raises
    # (it must never return b"", which would read as a clean close).
    for _ in range(100):
        if not conn.pending():
            break
        conn.recv(1 << 16)
    with pytest.raises(TLSError):
        conn.recv()
    with pytest.raises(TLSError):
        conn.recv_into(bytearray(8))
    assert conn.data_to_send() == b""


# --- bounding time -------------------------------------------------------------------------------


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail (instead of hanging) if the block runs longer than ``seconds``.

    SIGALRM raises AssertionError in the block where the platform has it (in the main thread,
    where pytest runs tests). Elsewhere (Windows has no SIGALRM) a watchdog thread raises it in
    the block's thread with PyThreadState_SetAsyncExc, at its next bytecode as a signal handler
    would. Not the thread everywhere: CPython 3.13 sometimes delivers such an exception past
    every handler of the block (python/cpython#139622). The watchdog cannot interrupt a C call.

    Either way, on CPython 3.13.0 an exception raised at the back edge of a loop written directly
    in the block can skip the block's handlers (python/cpython#108214): the test still fails, as
    it should, but not through an enclosing ``pytest.raises``.
    """
    message = f"took longer than {seconds} s: a hang?"

    class Expired(AssertionError):
        def __init__(self) -> None:  # raised by class, without arguments
            super().__init__(message)

    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():

        def expire(signum: int, frame: object) -> None:
            raise Expired()

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        return

    target = ctypes.c_ulong(threading.get_ident())
    finished = threading.Event()
    fired = threading.Event()

    def watch() -> None:
        if not finished.wait(seconds):
            fired.set()
            ctypes.pythonapi.PyThreadState_SetAsyncExc(target, ctypes.py_object(Expired))

    watchdog = threading.Thread(target=watch, daemon=True)
    watchdog.start()
    try:
        yield
    finally:
        finished.set()
        watchdog.join()
        if fired.is_set():  # expired as the block ended: drop the exception if still pending
            ctypes.pythonapi.PyThreadState_SetAsyncExc(target, None)


__all__ = [
    "ALERT",
    "APPDATA",
    "CCS",
    "DEFAULT_GROUP",
    "HANDSHAKE",
    "SECP256R1",
    "SECP384R1",
    "X25519",
    "X25519MLKEM768",
    "Credentials",
    "ManInTheMiddle",
    "PeerAlert",
    "Protection",
    "ProtocolError",
    "alerts_sent",
    "assert_aborts",
    "assert_peer_alert",
    "assert_unusable",
    "client_context",
    "client_credentials",
    "client_hello_of",
    "connections",
    "credentials",
    "deterministic_environment",
    "encode_extensions_raw",
    "extension_map",
    "handshake",
    "hello_record",
    "message",
    "mlkem_marks",
    "needs_mlkem",
    "plaintext_messages",
    "pump",
    "read_protection",
    "record",
    "replace_extension",
    "rewrite_body",
    "rewrite_type",
    "root_ca",
    "server_context",
    "split_messages",
    "split_records",
    "time_limit",
    "write_credentials",
    "write_protection",
]

"""Every path a TLS 1.3 session takes through the record layer, in one process, for valgrind.

``.ci/memcheck`` runs this under ``valgrind --tool=memcheck`` (GitHub issue 11, item 5). It is
also an ordinary script: ``python tests/memcheck/session.py`` runs the same checks natively in a
few seconds. It is not a pytest module (the name does not start with ``test_``).

What it does, asserting the data and the end states rather than just running:

* cytls client with cytls server, once per TLS 1.3 cipher suite: full handshake; bulk transfer
  both ways (sizes 1, 2^14 - 1, 2^14, 2^14 + 1, ... and a larger block, SHA-256 checked), fed to
  the receiver in awkward slices (1 byte, a split header, a record and a bit) and read with both
  ``recv`` and ``recv_into``; KeyUpdate from each side, with records still waiting to be sealed
  under the old key; close_notify both ways. Then a resumed handshake with 0-RTT data that is
  accepted, and one whose 0-RTT data is refused (a replay) and skipped by the server.
* cytls against Python's ``ssl`` module (OpenSSL, ``MemoryBIO`` + ``SSLObject``) in both roles,
  once per suite, so each role of cytls also runs against another implementation: handshake,
  bulk transfer both ways, a KeyUpdate that asks OpenSSL to update too, close_notify both ways.

Exit status 0 means every check held; an assertion or TLS error ends it with a traceback.
"""

from __future__ import annotations

import argparse
import hashlib
import ssl
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/, for pki

import pki

import cytls
from cytls.events import ConnectionClosed, HandshakeComplete, KeyUpdated

SUITES = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
MAX_FRAGMENT = 1 << 14
# Single writes around the record boundaries, then some that span several records.
WRITE_SIZES = (1, MAX_FRAGMENT - 1, MAX_FRAGMENT, MAX_FRAGMENT + 1, 2, 3 * MAX_FRAGMENT + 7, 65536)
# How the receiver is fed each flight: 1 byte, the rest of a header, part of a record, a record
# and a bit (so one record ends and the next starts inside one call), then large slices.
FEED_SLICES = (1, 4, 10, MAX_FRAGMENT + 5 + 17 + 1, 3)
FEED_REST = 65536
# recv_into buffer sizes a cytls receiver cycles through (0 means "recv()": all there is).
READ_SIZES = (1, 100, MAX_FRAGMENT, MAX_FRAGMENT + 1, 70000, 0)
EARLY = b"GET /early HTTP/1.1\r\nHost: localhost\r\n\r\n" * 100  # 4.2 KB of 0-RTT data


# --- the two kinds of endpoint, behind one interface --------------------------------------------


class End:
    """One side of an in-memory connection: bytes out, bytes in, application data collected."""

    name = ""

    def __init__(self) -> None:
        self.received = bytearray()
        self.closed_by_peer = False

    def outgoing(self) -> bytes:
        raise NotImplementedError

    def incoming(self, data: bytes) -> None:
        raise NotImplementedError

    def advance(self) -> None:
        """Progress the handshake and read whatever application data is ready."""
        raise NotImplementedError

    @property
    def complete(self) -> bool:
        raise NotImplementedError

    def send(self, data: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class CytlsEnd(End):
    def __init__(self, conn: cytls.Connection) -> None:
        super().__init__()
        self.conn = conn
        self.name = "cytls " + ("server" if conn.server_side else "client")
        self.events: list[object] = []
        self._reads = _cycle(READ_SIZES)
        self._buffer = bytearray(max(READ_SIZES))

    def outgoing(self) -> bytes:
        return self.conn.data_to_send()

    def incoming(self, data: bytes) -> None:
        self.conn.receive_data(data)

    def advance(self) -> None:
        while (event := self.conn.next_event()) is not None:
            self.events.append(event)
            if isinstance(event, ConnectionClosed):
                self.closed_by_peer = True
        while self.conn.pending():
            size = next(self._reads)
            if size == 0:
                self.received += self.conn.recv()
            else:
                view = memoryview(self._buffer)[:size]
                n = self.conn.recv_into(view)
                assert 0 < n <= size, (n, size)
                self.received += view[:n]

    @property
    def complete(self) -> bool:
        return self.conn.handshake_complete

    def send(self, data: bytes) -> None:
        self.conn.send(data)

    def close(self) -> None:
        self.conn.close()

    def take_events(self, kind: type) -> list[object]:
        found = [event for event in self.events if isinstance(event, kind)]
        self.events = [event for event in self.events if not isinstance(event, kind)]
        return found


class SSLEnd(End):
    """Python's ssl module (OpenSSL) over two MemoryBIOs."""

    def __init__(self, context: ssl.SSLContext, server_side: bool) -> None:
        super().__init__()
        self.inbio = ssl.MemoryBIO()
        self.outbio = ssl.MemoryBIO()
        self.obj = context.wrap_bio(
            self.inbio,
            self.outbio,
            server_side=server_side,
            server_hostname=None if server_side else "localhost",
        )
        self.name = "ssl " + ("server" if server_side else "client")
        self._complete = False
        self.unwrapped = False

    def outgoing(self) -> bytes:
        return self.outbio.read()

    def incoming(self, data: bytes) -> None:
        self.inbio.write(data)

    def advance(self) -> None:
        if not self._complete:
            try:
                self.obj.do_handshake()
            except ssl.SSLWantReadError:
                return
            self._complete = True
        while not self.closed_by_peer:
            try:
                data = self.obj.read(1 << 20)
            except ssl.SSLWantReadError:
                return
            except ssl.SSLZeroReturnError:  # close_notify after our own (unwrap) was sent
                data = b""
            if not data:
                self.closed_by_peer = True  # close_notify
            self.received += data

    @property
    def complete(self) -> bool:
        return self._complete

    def send(self, data: bytes) -> None:
        assert self.obj.write(data) == len(data)

    def close(self) -> None:
        try:
            self.obj.unwrap()
            self.unwrapped = True
        except ssl.SSLWantReadError:
            pass  # close_notify sent; the peer's has not arrived yet


def _cycle(values: tuple[int, ...]) -> Iterator[int]:
    while True:
        yield from values


def deliver(source: End, target: End) -> bool:
    """Move what ``source`` has to send into ``target``, in the slices of FEED_SLICES."""
    data = source.outgoing()
    if not data:
        return False
    pos = 0
    for size in FEED_SLICES:
        if pos >= len(data):
            break
        target.incoming(data[pos : pos + size])
        target.advance()
        pos += size
    while pos < len(data):
        target.incoming(data[pos : pos + FEED_REST])
        target.advance()
        pos += FEED_REST
    return True


def pump(a: End, b: End, *, rounds: int = 20) -> None:
    """Exchange flights until neither side has anything to send (bounded)."""
    for _ in range(rounds):
        a.advance()
        b.advance()
        moved = deliver(a, b)
        moved = deliver(b, a) or moved
        if not moved:
            return
    raise AssertionError(f"{a.name} and {b.name} did not settle in {rounds} rounds")


# --- what is checked ---------------------------------------------------------------------------


def payload(size: int, seed: int) -> bytes:
    """``size`` bytes that differ from one write to the next (so misordering shows)."""
    block = hashlib.sha256(seed.to_bytes(8, "big")).digest()
    return (block * (size // len(block) + 1))[:size]


def transfer(sender: End, receiver: End, total: int, seed: int) -> None:
    """WRITE_SIZES, then writes of ``total``'s remainder, sender to receiver, SHA-256 checked.

    Several writes queue up before each flight goes out, so one data_to_send seals many records.
    """
    sent = hashlib.sha256()
    start = len(receiver.received)
    sizes = list(WRITE_SIZES)
    rest = total - sum(sizes)
    while rest > 0:
        sizes.append(min(rest, 1 << 18))
        rest -= sizes[-1]
    count = 0
    for index, size in enumerate(sizes):
        data = payload(size, seed + index)
        sender.send(data)
        sent.update(data)
        count += size
        if index % 3 == 2 or index == len(sizes) - 1:
            deliver(sender, receiver)
    receiver.advance()
    got = bytes(receiver.received[start:])
    assert len(got) == count, f"{receiver.name} got {len(got)} of {count} bytes"
    assert hashlib.sha256(got).digest() == sent.digest(), f"{receiver.name}: data differs"


def check_handshake(a: End, b: End, suite: str) -> None:
    assert a.complete and b.complete
    for end in (a, b):
        cipher = end.conn.cipher() if isinstance(end, CytlsEnd) else end.obj.cipher()
        version = end.conn.version() if isinstance(end, CytlsEnd) else end.obj.version()
        assert cipher is not None and cipher[0] == suite, (end.name, cipher, suite)
        assert version == "TLSv1.3", (end.name, version)
        if isinstance(end, CytlsEnd):
            (done,) = end.take_events(HandshakeComplete)
            assert isinstance(done, HandshakeComplete) and done.cipher_suite == suite


def key_update(updater: CytlsEnd, peer: End, bulk: int, seed: int) -> None:
    """KeyUpdate asking the peer to update too, sent between two writes that are still staged
    (the first must stay under the old key), then data both ways under the new keys."""
    before = payload(MAX_FRAGMENT + 1, seed)
    after = payload(MAX_FRAGMENT + 3, seed + 1)
    start = len(peer.received)
    updater.send(before)
    updater.conn.key_update(request_peer=True)
    updater.send(after)
    pump(updater, peer)
    assert bytes(peer.received[start:]) == before + after
    if isinstance(peer, CytlsEnd):
        assert [e.peer_requested_update for e in peer.take_events(KeyUpdated)] == [True]
    transfer(peer, updater, bulk // 4, seed + 10)  # carries OpenSSL's answering KeyUpdate
    assert [e.peer_requested_update for e in updater.take_events(KeyUpdated)] == [False]
    transfer(updater, peer, bulk // 4, seed + 20)


def close_both(first: End, second: End) -> None:
    """close_notify from ``first``, then from ``second``; both end cleanly."""
    first.close()
    pump(first, second)
    assert second.closed_by_peer, f"{second.name} saw no close_notify"
    second.close()
    pump(first, second)
    assert first.closed_by_peer, f"{first.name} saw no close_notify"
    for end in (first, second):
        assert end.outgoing() == b""
        if isinstance(end, CytlsEnd):
            assert end.conn.peer_closed and end.conn.pending() == 0
            assert end.conn.recv() == b""  # a clean close reads as EOF
            assert end.take_events(ConnectionClosed) and not end.events, end.events
    if isinstance(first, SSLEnd) and not first.unwrapped:
        first.obj.unwrap()  # its close_notify has now been answered


# --- the scenarios ------------------------------------------------------------------------------


class PKI:
    def __init__(self, directory: Path) -> None:
        ca = pki.make_ca("ecdsa-p256", common_name="cytls memcheck root CA")
        self.certfile, self.keyfile = pki.write_chain(directory, pki.make_leaf(ca, "ecdsa-p256"))
        self.ca_pem = pki.pem(ca[0]).decode("ascii")

    def cytls_server(self, suite: str, early: int = 0) -> cytls.TLSContext:
        context = cytls.TLSContext(cytls.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certfile, self.keyfile)
        context.set_ciphers(suite)
        context.max_early_data_size = early
        return context

    def cytls_client(self, suite: str) -> cytls.TLSContext:
        context = cytls.TLSContext(cytls.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cadata=self.ca_pem)
        context.set_ciphers(suite)
        return context

    def ssl_server(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        context.load_cert_chain(self.certfile, self.keyfile)
        return context

    def ssl_client(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        context.load_verify_locations(cadata=self.ca_pem)
        return context


def session_between(client: End, server: End, suite: str, bulk: int, seed: int) -> None:
    pump(client, server)
    check_handshake(client, server, suite)
    transfer(client, server, bulk, seed)
    transfer(server, client, bulk, seed + 100)
    for end in (client, server):
        if isinstance(end, CytlsEnd):
            key_update(end, server if end is client else client, bulk, seed + 200)
    close_both(client, server)


def resumption(
    client_ctx: cytls.TLSContext, server_ctx: cytls.TLSContext, session: cytls.Session
) -> tuple[CytlsEnd, CytlsEnd]:
    """A client offering ``session`` with EARLY as 0-RTT data, and a fresh server."""
    client = cytls.Connection(
        client_ctx, server_hostname="localhost", session=session, early_data=EARLY
    )
    return CytlsEnd(client), CytlsEnd(cytls.Connection(server_ctx, server_side=True))


def cytls_pair(keys: PKI, suite: str, bulk: int, seed: int) -> None:
    client_ctx, server_ctx = keys.cytls_client(suite), keys.cytls_server(suite, early=len(EARLY))
    client = CytlsEnd(cytls.Connection(client_ctx, server_hostname="localhost"))
    server = CytlsEnd(cytls.Connection(server_ctx, server_side=True))
    session_between(client, server, suite, bulk, seed)
    session = client.conn.session
    assert session is not None and session.max_early_data_size == len(EARLY)

    # Resumed, with 0-RTT data the server accepts and can read before the handshake completes.
    client, server = resumption(client_ctx, server_ctx, session)
    deliver(client, server)
    assert server.conn.early_data_accepted and not server.complete
    assert bytes(server.received) == EARLY
    pump(client, server)
    check_handshake(client, server, suite)
    assert client.conn.session_reused and server.conn.session_reused
    assert client.conn.early_data_accepted and server.conn.early_data_length == len(EARLY)
    transfer(client, server, MAX_FRAGMENT * 3, seed + 300)
    transfer(server, client, MAX_FRAGMENT * 3, seed + 400)
    close_both(server, client)

    # The same ticket's 0-RTT again: a replay, refused; the server skips the early records and
    # the session still resumes.
    client, server = resumption(client_ctx, server_ctx, session)
    pump(client, server)
    check_handshake(client, server, suite)
    assert client.conn.session_reused and server.conn.session_reused
    assert not client.conn.early_data_accepted and not server.conn.early_data_accepted
    assert server.received == b"" and server.conn.early_data_length == 0
    client.send(EARLY)  # refused early data is sent again
    pump(client, server)
    assert bytes(server.received) == EARLY
    close_both(client, server)


def ssl_pairs(keys: PKI, suite: str, bulk: int, seed: int) -> None:
    # cytls client, OpenSSL server: the client's suite list decides.
    client = CytlsEnd(cytls.Connection(keys.cytls_client(suite), server_hostname="localhost"))
    session_between(client, SSLEnd(keys.ssl_server(), server_side=True), suite, bulk, seed)
    assert client.conn.session is not None  # OpenSSL's tickets arrived and parsed

    # OpenSSL client (offering all three suites), cytls server: the server's list decides.
    server = CytlsEnd(cytls.Connection(keys.cytls_server(suite), server_side=True))
    session_between(SSLEnd(keys.ssl_client(), server_side=False), server, suite, bulk, seed + 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--bulk",
        type=int,
        default=1 << 20,
        help="bytes each way per session (at least the fixed write sizes; default %(default)s)",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cytls-memcheck-") as directory:
        keys = PKI(Path(directory))
        for number, suite in enumerate(SUITES):
            cytls_pair(keys, suite, args.bulk, seed=1000 * number)
            ssl_pairs(keys, suite, args.bulk, seed=1000 * number + 500)
            print(f"{suite}: cytls<->cytls (with 0-RTT) and cytls<->ssl both roles: ok", flush=True)
    print(f"memcheck session driver: all checks passed in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Session resumption and 0-RTT with real peers (issue 6): ``openssl s_client``/``s_server``,
the ``ssl`` module (also against cytls's ``wrap_socket``), ``gnutls-cli``, and cytls servers
in separate processes sharing a ticket key file (``ticket_server.py``).

Each resumption is checked on the peer's side too: s_client's "Reused, TLSv1.3" line and its
"Early data was accepted/rejected", s_server's "Reused session-id" and the early data it
prints, ``session_reused`` of the ``ssl`` module, gnutls-cli's "This is a resumed session",
and the reports of the server processes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from handshakeutil import split_records

import cytls
from cytls.handshake.common import Environment
from cytls.wire import extensions as ext
from cytls.wire.messages import ClientHello, ExtensionType

from .driver import close, drive_handshake, recv_exactly, send_all
from .peers import (
    TIMEOUT,
    OpenSSLClientSummary,
    PeerError,
    PeerProcess,
    TappedSocket,
    TestPKI,
    gnutls_client,
    listening,
    observe_handshake,
    openssl_client,
    openssl_server,
    parse_openssl_client,
    parse_openssl_server,
    plaintext_handshake,
    ssl_client,
    ssl_client_context,
    ssl_server,
    ssl_server_context,
    ssl_shutdown,
)
from .test_interop_client import cytls_client_context
from .test_interop_server import Server, cytls_accept, cytls_server_context, port_of

pytestmark = pytest.mark.interop

TICKET_SERVER = Path(__file__).with_name("ticket_server.py")
# s_client's -msg lines for a Certificate it received: a resumed handshake has none (§2.2).
CERTIFICATE_RECEIVED = r"^<<< TLS 1\.3, Handshake \[length [0-9a-f]+\], Certificate$"
CERTIFICATE_SENT = r"^>>> TLS 1\.3, Handshake \[length [0-9a-f]+\], Certificate$"


def ticket_key_file(path: Path, *keys: bytes) -> Path:
    """Write a ticket key file: the first key seals, every key opens."""
    lines = ["# cytls ticket keys: the first one seals new tickets"]
    lines += [key.hex() for key in keys]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


# --- cytls as the client -------------------------------------------------------------------------


@dataclasses.dataclass
class Client:
    conn: cytls.Connection
    sock: TappedSocket
    handshake: Any


@contextlib.contextmanager
def cytls_connect(
    port: int,
    context: cytls.TLSContext,
    *,
    session: cytls.Session | None = None,
    early_data: bytes = b"",
    environment: Environment | None = None,
) -> Iterator[Client]:
    """A cytls client on 127.0.0.1:``port`` offering ``session`` (and 0-RTT ``early_data``),
    handshake done."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock = TappedSocket(raw)
    try:
        conn = cytls.Connection(
            context,
            server_hostname="localhost",
            session=session,
            early_data=early_data,
            environment=environment,
        )
        handshake = drive_handshake(conn, sock, TIMEOUT)
        yield Client(conn, sock, handshake)
    finally:
        raw.close()


def line_with_openssl_server(client: Client, server: PeerProcess, tag: str) -> None:
    """A line to an interactive s_server (it prints it) and one back; ``tag`` tells apart the
    connections of one s_server. The answer comes after the session tickets."""
    send_all(client.conn, client.sock, f"ping {tag} from cytls\n".encode())
    server.wait_for(f"^ping {tag} from cytls$")
    reply = f"pong {tag} from openssl\n".encode()
    server.write(reply)
    assert recv_exactly(client.conn, client.sock, len(reply), TIMEOUT) == reply


def echo_line(client: Client, line: bytes) -> None:
    """A line to an echo server and back (the tickets arrive before the echo)."""
    send_all(client.conn, client.sock, line)
    assert recv_exactly(client.conn, client.sock, len(line), TIMEOUT) == line


# --- openssl s_client against a cytls server ----------------------------------------------------


@dataclasses.dataclass
class OpenSSLRun:
    server: Server
    early_data: bytes
    """What the cytls server received as 0-RTT data."""
    summary: OpenSSLClientSummary
    output: str


def serve_openssl_client(pki: TestPKI, context: cytls.TLSContext, *args: str) -> OpenSSLRun:
    """One ``openssl s_client`` connection (with ``args``, e.g. -sess_out FILE) to a cytls
    server on ``context``: a line each way (so the tickets reach s_client), then close."""
    with (
        listening() as listener,
        openssl_client(port_of(listener), cafile=pki.ca_file, extra_args=args) as client,
    ):
        with cytls_accept(listener, context, client) as server:
            conn = server.conn
            early = recv_exactly(conn, server.sock, conn.early_data_length, TIMEOUT)
            client.write("ping from s_client\n")
            line = recv_exactly(conn, server.sock, len(b"ping from s_client\n"), TIMEOUT)
            assert line == b"ping from s_client\n"
            send_all(conn, server.sock, b"pong from cytls\n")
            client.wait_for("^pong from cytls$", stream="stdout")
            client.close_stdin()
            assert close(conn, server.sock, TIMEOUT) is True
        assert client.wait() == 0
    return OpenSSLRun(server, early, parse_openssl_client(client.stdout_text), client.stdout_text)


def test_openssl_client_resumes(pki: TestPKI, tmp_path: Path) -> None:
    """s_client -sess_out, then -sess_in: the second handshake is a resumption on both sides,
    without the server's certificate."""
    context = cytls_server_context(pki.servers["ecdsa"])
    session_file = tmp_path / "session.pem"
    first = serve_openssl_client(pki, context, "-sess_out", str(session_file))
    assert session_file.stat().st_size > 0
    assert first.summary.session == "New"
    assert not first.server.conn.session_reused
    assert len(re.findall(CERTIFICATE_RECEIVED, first.output, re.M)) == 1

    second = serve_openssl_client(pki, context, "-sess_in", str(session_file))
    assert second.summary.session == "Reused"
    assert second.summary.protocol == "TLSv1.3"
    assert second.server.conn.session_reused
    assert second.server.handshake.session_resumed
    assert second.server.handshake.group == "x25519"  # psk_dhe_ke: a fresh key exchange
    assert re.search(CERTIFICATE_RECEIVED, second.output, re.M) is None


@pytest.mark.parametrize(
    ("same_key", "outcome"), [(True, "Reused"), (False, "New")], ids=["same_key", "other_key"]
)
def test_openssl_client_ticket_on_another_server(
    pki: TestPKI, tmp_path: Path, same_key: bool, outcome: str
) -> None:
    """A ticket taken to a second server context: resumed there if it loaded the same ticket
    key file, else a full handshake (no error: the ticket is just not ours)."""
    keys = ticket_key_file(tmp_path / "a.keys", os.urandom(32))
    issuer = cytls_server_context(pki.servers["ecdsa"])
    issuer.load_ticket_keys(keys)
    other = cytls_server_context(pki.servers["ecdsa"])
    other.load_ticket_keys(keys if same_key else ticket_key_file(tmp_path / "b", os.urandom(32)))
    session_file = tmp_path / "session.pem"
    serve_openssl_client(pki, issuer, "-sess_out", str(session_file))

    run = serve_openssl_client(pki, other, "-sess_in", str(session_file))
    assert run.summary.session == outcome
    assert run.server.conn.session_reused is same_key
    assert run.summary.verify_code == 0  # the full handshake verified the certificate


# --- cytls against openssl s_server ------------------------------------------------------------


def test_resume_against_openssl_server(pki: TestPKI) -> None:
    certkey = pki.servers["ecdsa"]
    context = cytls_client_context(pki)
    with openssl_server(certkey.cert, certkey.key, extra_args=["-naccept", "2"]) as server:
        with cytls_connect(server.port, context) as first:
            assert first.conn.session is None  # tickets come after the handshake
            line_with_openssl_server(first, server, "1")
            session = first.conn.session
            close(first.conn, first.sock, TIMEOUT)
        assert first.conn.session_reused is False
        assert session is not None and session.max_early_data_size == 0

        with cytls_connect(server.port, context, session=session) as second:
            assert second.conn.session_reused
            assert second.handshake.session_resumed
            # The server's certificate is the one of the original handshake (§4.6.1).
            assert second.conn.peer_certificates == first.conn.peer_certificates
            line_with_openssl_server(second, server, "2")
            assert second.conn.session is not None and second.conn.session != session
            close(second.conn, second.sock, TIMEOUT)
        assert server.wait() == 0
    summary = parse_openssl_server(server.stdout_text)
    assert summary.sessions_reused == 1
    assert server.count(CERTIFICATE_SENT) == 1  # to the first client only


def test_no_tickets_from_openssl_server(pki: TestPKI) -> None:
    """s_server -num_tickets 0: no session to resume."""
    certkey = pki.servers["ecdsa"]
    with openssl_server(certkey.cert, certkey.key, extra_args=["-num_tickets", "0"]) as server:
        with cytls_connect(server.port, cytls_client_context(pki)) as client:
            line_with_openssl_server(client, server, "1")
            assert client.conn.session is None
            close(client.conn, client.sock, TIMEOUT)
        server.wait()


# --- the ssl module ----------------------------------------------------------------------------


def echo_once(tls: Any) -> None:
    """Echo one line, then close_notify."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = tls.recv(1024)
        if not chunk:
            break
        data += chunk
    tls.sendall(data)
    ssl_shutdown(tls)


def test_resume_against_ssl_server(pki: TestPKI) -> None:
    """cytls resumes with a ticket of an ``ssl`` server (num_tickets 2 by default), which
    reports the session as reused."""
    server_ctx = ssl_server_context(pki.servers["ecdsa"])
    assert server_ctx.num_tickets == 2
    context = cytls_client_context(pki)
    with ssl_server(server_ctx, handler=echo_once, connections=2) as server:
        with cytls_connect(server.port, context) as first:
            echo_line(first, b"first\n")
            session = first.conn.session
            close(first.conn, first.sock, TIMEOUT)
        assert session is not None
        with cytls_connect(server.port, context, session=session) as second:
            assert second.conn.session_reused
            echo_line(second, b"second\n")
            close(second.conn, second.sock, TIMEOUT)
        infos = server.wait()
    assert [info.session_reused for info in infos] == [False, True]


@pytest.mark.parametrize("num_tickets", [2, 0])
def test_ssl_client_resumes(pki: TestPKI, num_tickets: int) -> None:
    """``ssl`` client, cytls server: the first connection's ``SSLSocket.session`` resumes on the
    second (``session_reused`` on both sides); a server with num_tickets 0 gives no ticket."""
    context = cytls_server_context(pki.servers["ecdsa"])
    context.num_tickets = num_tickets
    client_ctx = ssl_client_context(pki.ca_file)

    def ping(tls: Any) -> bytes:
        tls.sendall(b"ping\n")
        return tls.recv(64)

    session = None
    reused = []
    with listening() as listener:
        for _ in range(2):
            with ssl_client(port_of(listener), client_ctx, action=ping, session=session) as client:
                with cytls_accept(listener, context) as server:
                    assert recv_exactly(server.conn, server.sock, 5, TIMEOUT) == b"ping\n"
                    send_all(server.conn, server.sock, b"pong\n")
                    close(server.conn, server.sock, TIMEOUT)
                info = client.wait()
            assert info.result == b"pong\n"
            assert info.session_reused is server.conn.session_reused
            reused.append(server.conn.session_reused)
            session = info.session
            assert session is not None
            assert session.has_ticket is (num_tickets > 0)
    assert reused == [False, num_tickets > 0]


def test_tls_socket_resumes_against_ssl_server(pki: TestPKI) -> None:
    """The ``ssl``-style API: ``wrap_socket(session=...)``, and ``tls.session = ...`` before
    the handshake, as ``ssl.SSLSocket`` allows; ``session_reused`` on both sides."""
    context = cytls_client_context(pki)
    session = None
    reused = []
    with ssl_server(
        ssl_server_context(pki.servers["ecdsa"]), handler=echo_once, connections=3
    ) as server:
        for setter in (False, False, True):
            raw = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
            if setter:
                tls = context.wrap_socket(
                    raw, server_hostname="localhost", do_handshake_on_connect=False
                )
                tls.session = session
                tls.do_handshake()
            else:
                tls = context.wrap_socket(raw, server_hostname="localhost", session=session)
            with tls:
                reused.append(tls.session_reused)
                tls.sendall(b"echo me\n")
                assert tls.recv(64) == b"echo me\n"
                session = tls.session
                assert session is not None and session.has_ticket
        infos = server.wait()
    assert reused == [False, True, True]
    assert [info.session_reused for info in infos] == reused


# --- 0-RTT -------------------------------------------------------------------------------------

EARLY = b"GET /early HTTP/1.1 (0-RTT from openssl)\n"


def test_openssl_client_early_data(pki: TestPKI, tmp_path: Path) -> None:
    """s_client -sess_in -early_data: the cytls server takes the data as 0-RTT and hands it to
    the application ahead of the rest of the stream."""
    context = cytls_server_context(pki.servers["ecdsa"])
    context.max_early_data_size = 4096
    session_file = tmp_path / "session.pem"
    early_file = tmp_path / "early.txt"
    early_file.write_bytes(EARLY)
    first = serve_openssl_client(pki, context, "-sess_out", str(session_file))
    assert "Max Early Data: 4096" in first.output  # what the ticket said, as s_client saw it

    run = serve_openssl_client(
        pki, context, "-sess_in", str(session_file), "-early_data", str(early_file)
    )
    assert run.summary.session == "Reused"
    assert run.summary.early_data == "accepted"
    assert run.server.conn.early_data_accepted
    assert run.server.conn.early_data_length == len(EARLY)
    assert run.early_data == EARLY
    assert re.search(r"^>>> .*, EndOfEarlyData$", run.output, re.M)


def test_openssl_client_early_data_rejected(pki: TestPKI, tmp_path: Path) -> None:
    """A server that takes no 0-RTT (max_early_data_size 0, say after a configuration change,
    sharing the ticket keys) rejects it: the data is skipped, the connection works."""
    keys = ticket_key_file(tmp_path / "ticket.keys", os.urandom(32))
    issuer = cytls_server_context(pki.servers["ecdsa"])
    issuer.max_early_data_size = 4096
    issuer.load_ticket_keys(keys)
    refuser = cytls_server_context(pki.servers["ecdsa"])
    refuser.load_ticket_keys(keys)
    assert refuser.max_early_data_size == 0  # the default
    session_file = tmp_path / "session.pem"
    early_file = tmp_path / "early.txt"
    early_file.write_bytes(EARLY)
    serve_openssl_client(pki, issuer, "-sess_out", str(session_file))

    run = serve_openssl_client(
        pki, refuser, "-sess_in", str(session_file), "-early_data", str(early_file)
    )
    assert run.summary.session == "Reused"
    assert run.summary.early_data == "rejected"
    assert run.server.conn.session_reused
    assert not run.server.conn.early_data_accepted
    assert run.server.conn.early_data_length == 0
    assert run.early_data == b""  # the line after it was the first data the app saw


@pytest.mark.parametrize("early", [EARLY, bytes(16383) + b"\n"], ids=["short", "maximal"])
def test_openssl_client_early_data_after_hello_retry_request(
    pki: TestPKI, tmp_path: Path, early: bytes
) -> None:
    """A server that needs a HelloRetryRequest (its only group is secp384r1; s_client sends an
    x25519 share) rejects the 0-RTT data (§4.2.10), skips it, and resumes after the second
    ClientHello.

    Regression (maximal): s_client's 16 KiB of 0-RTT data, the most the ticket allows, comes in
    two records; skipping them failed with unexpected_message ("more rejected early data than
    max_early_data_size"), as the content type byte of each record was counted as data.
    """
    keys = ticket_key_file(tmp_path / "ticket.keys", os.urandom(32))
    issuer = cytls_server_context(pki.servers["ecdsa"])
    issuer.max_early_data_size = 16384
    issuer.load_ticket_keys(keys)
    retrier = cytls_server_context(pki.servers["ecdsa"], groups=["secp384r1"])
    retrier.max_early_data_size = 16384
    retrier.load_ticket_keys(keys)
    session_file = tmp_path / "session.pem"
    early_file = tmp_path / "early.txt"
    early_file.write_bytes(early)
    groups = ("-groups", "x25519:secp384r1")
    serve_openssl_client(pki, issuer, *groups, "-sess_out", str(session_file))

    run = serve_openssl_client(
        pki, retrier, *groups, "-sess_in", str(session_file), "-early_data", str(early_file)
    )
    assert run.summary.client_hellos == 2
    assert run.summary.session == "Reused"
    assert run.summary.early_data == "rejected"
    assert run.server.conn.session_reused and not run.server.conn.early_data_accepted
    assert run.early_data == b""
    assert run.server.handshake.group == "secp384r1"


def test_openssl_client_same_session_twice_for_early_data(pki: TestPKI, tmp_path: Path) -> None:
    """0-RTT opens once per ticket (RFC 8446 §8.1): the same session file again resumes, but its
    early data is rejected."""
    context = cytls_server_context(pki.servers["ecdsa"])
    context.max_early_data_size = 4096
    session_file = tmp_path / "session.pem"
    early_file = tmp_path / "early.txt"
    early_file.write_bytes(EARLY)
    serve_openssl_client(pki, context, "-sess_out", str(session_file))
    args = ("-sess_in", str(session_file), "-early_data", str(early_file))

    first = serve_openssl_client(pki, context, *args)
    again = serve_openssl_client(pki, context, *args)
    assert (first.summary.early_data, first.early_data) == ("accepted", EARLY)
    assert (again.summary.early_data, again.early_data) == ("rejected", b"")
    assert again.summary.session == "Reused"
    assert not again.server.conn.early_data_accepted


def test_gnutls_client_resumes_with_early_data(pki: TestPKI, tmp_path: Path) -> None:
    """gnutls-cli --resume --earlydata: a full handshake, then a resumption carrying 0-RTT data
    that the cytls server accepts; gnutls-cli reports the resumed session."""
    context = cytls_server_context(pki.servers["ecdsa"])
    context.max_early_data_size = 4096
    early_file = tmp_path / "early.txt"
    early_file.write_bytes(b"early from gnutls\n")
    args = ["--resume", "--waitresumption", "--earlydata", str(early_file)]
    with (
        listening() as listener,
        gnutls_client(port_of(listener), cafile=pki.ca_file, extra_args=args) as client,
    ):
        with cytls_accept(listener, context, client) as first:
            assert not first.conn.session_reused
            assert close(first.conn, first.sock, TIMEOUT) is True  # gnutls-cli has its ticket
        with cytls_accept(listener, context, client) as second:
            conn = second.conn
            assert conn.session_reused and conn.early_data_accepted
            early = recv_exactly(conn, second.sock, conn.early_data_length, TIMEOUT)
            assert early == b"early from gnutls\n"
            client.write("ping from gnutls\n")
            line = recv_exactly(conn, second.sock, len(b"ping from gnutls\n"), TIMEOUT)
            assert line == b"ping from gnutls\n"
            send_all(conn, second.sock, b"pong from cytls\n")
            client.wait_for("^pong from cytls$", stream="stdout")
            client.close_stdin()
            close(conn, second.sock, TIMEOUT)
        assert client.wait() == 0
    assert "*** This is a resumed session" in client.log


def session_from_openssl_server(
    server: PeerProcess, context: cytls.TLSContext, tag: str = "1"
) -> cytls.Session:
    with cytls_connect(server.port, context) as client:
        line_with_openssl_server(client, server, tag)
        session = client.conn.session
        close(client.conn, client.sock, TIMEOUT)
    assert session is not None
    return session


def test_early_data_to_openssl_server(pki: TestPKI) -> None:
    """cytls 0-RTT to s_server -early_data: accepted, printed by s_server as early data."""
    certkey = pki.servers["ecdsa"]
    context = cytls_client_context(pki)
    early = b"early line from cytls\n"
    with openssl_server(
        certkey.cert, certkey.key, extra_args=["-naccept", "2", "-early_data"]
    ) as server:
        session = session_from_openssl_server(server, context)
        assert session.max_early_data_size == 16384  # s_server's default with -early_data
        with cytls_connect(server.port, context, session=session, early_data=early) as client:
            assert client.conn.session_reused
            assert client.conn.early_data_accepted
            line_with_openssl_server(client, server, "2")
            close(client.conn, client.sock, TIMEOUT)
        assert server.wait() == 0
    output = server.text()
    assert re.search(r"^Early data received:$", output, re.M)
    assert len(re.findall(r"^early line from cytls$", output, re.M)) == 1
    assert parse_openssl_server(output).sessions_reused == 1


def test_early_data_rejected_by_openssl_server(pki: TestPKI) -> None:
    """s_server -max_early_data without -early_data: its tickets allow 0-RTT but it does not
    read any, so it rejects ours; cytls says so and the application sends the data again."""
    certkey = pki.servers["ecdsa"]
    context = cytls_client_context(pki)
    early = b"early line from cytls\n"
    with openssl_server(
        certkey.cert, certkey.key, extra_args=["-naccept", "2", "-max_early_data", "1000"]
    ) as server:
        session = session_from_openssl_server(server, context)
        assert session.max_early_data_size == 1000
        with cytls_connect(server.port, context, session=session, early_data=early) as client:
            assert client.conn.session_reused
            assert not client.conn.early_data_accepted
            send_all(client.conn, client.sock, early)  # the resend
            server.wait_for("^early line from cytls$")
            line_with_openssl_server(client, server, "2")
            close(client.conn, client.sock, TIMEOUT)
        assert server.wait() == 0
    output = server.text()
    assert len(re.findall(r"^early line from cytls$", output, re.M)) == 1  # the resent copy
    assert "Early data received" not in output
    assert parse_openssl_server(output).sessions_reused == 1


@pytest.mark.parametrize("size", ["short", "maximal"])
def test_early_data_to_openssl_server_after_hello_retry_request(pki: TestPKI, size: str) -> None:
    """s_server -early_data whose only group is secp384r1: our 0-RTT data comes before its
    HelloRetryRequest, so it is rejected; the second ClientHello goes in clear (not under the
    early key) and resumes; the application sends the data again. (-no_anti_replay: with its
    anti-replay on, OpenSSL 3.0 spends the ticket on the first ClientHello and does a full
    handshake after the HelloRetryRequest, even for its own s_client.) The maximal flight
    fills the ticket's allowance: OpenSSL reads those records without a key, so each must
    stay within 2^14 bytes on the wire."""
    certkey = pki.servers["ecdsa"]
    context = cytls_client_context(pki, groups=["x25519", "secp384r1"])
    early = b"early line from cytls\n"
    args = ["-naccept", "2", "-early_data", "-no_anti_replay"]
    with openssl_server(certkey.cert, certkey.key, groups="secp384r1", extra_args=args) as server:
        session = session_from_openssl_server(server, context)
        if size == "maximal":
            early = early[:-1] + b"." * (session.max_early_data_size - len(early)) + b"\n"
            assert len(early) == session.max_early_data_size >= 16384
        with cytls_connect(server.port, context, session=session, early_data=early) as client:
            assert client.conn.session_reused
            assert not client.conn.early_data_accepted
            assert client.handshake.group == "secp384r1"
            wire = observe_handshake(client.sock.sent, client.sock.received)
            assert wire.server_hellos == ((True, "secp384r1"), (False, "secp384r1"))
            send_all(client.conn, client.sock, early)
            server.wait_for(r"^early line from cytls\.*$")
            line_with_openssl_server(client, server, "2")
            close(client.conn, client.sock, TIMEOUT)
        assert server.wait() == 0
    output = server.text()
    assert parse_openssl_server(output).client_hellos == 4  # each connection starts with x25519
    assert parse_openssl_server(output).sessions_reused == 1
    assert re.search(r"^Early data was rejected$", output, re.M)
    assert len(re.findall(r"^early line from cytls\.*$", output, re.M)) == 1


# --- cytls servers in separate processes sharing a ticket key file -----------------------------


class TicketServer:
    """tests/interop/ticket_server.py running in its own process (see its docstring)."""

    def __init__(self, peer: PeerProcess, port: int) -> None:
        self.peer = peer
        self.port = port

    def lines(self, pattern: str, count: int, timeout: float = TIMEOUT) -> list[str]:
        """The first group of the first ``count`` stdout lines matching ``pattern``, once
        that many have been printed."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.findall(pattern, self.peer.stdout_text, re.M)
            if len(found) >= count:
                return found[:count]
            if time.monotonic() > deadline or self.peer.returncode is not None:
                raise PeerError(f"{count} lines {pattern!r} expected\n{self.peer.describe()}")
            time.sleep(0.02)

    def reports(self, count: int) -> list[dict[str, Any]]:
        """The first ``count`` connection reports, waiting for them."""
        return [json.loads(line) for line in self.lines(r"^CONNECTION (.*)$", count)]

    def reload(self) -> None:
        """Load the ticket key file again (as after a rotation)."""
        done = len(re.findall(r"^(RELOADED)$", self.peer.stdout_text, re.M))
        self.peer.write("reload\n")
        self.lines(r"^(RELOADED)$", done + 1)


@contextlib.contextmanager
def ticket_server(
    pki: TestPKI, *, keys: Path | None = None, max_early_data: int = 0, connections: int = 8
) -> Iterator[TicketServer]:
    certkey = pki.servers["ecdsa"]
    argv = [sys.executable, "-u", str(TICKET_SERVER), "--cert", str(certkey.cert)]
    argv += ["--key", str(certkey.key), "--max-early-data", str(max_early_data)]
    argv += ["--connections", str(connections), "--timeout", str(TIMEOUT)]
    if keys is not None:
        argv += ["--ticket-keys", str(keys)]
    with PeerProcess("cytls ticket_server.py", argv) as peer:
        try:
            port = int(peer.wait_for(r"^LISTENING (\d+)$", stream="stdout").group(1))
            yield TicketServer(peer, port)
        except Exception as exc:
            exc.add_note(peer.describe())
            raise


def connect_and_echo(
    server: TicketServer, context: cytls.TLSContext, session: cytls.Session | None = None
) -> tuple[bool, cytls.Session]:
    """One connection to a ticket server: (whether it resumed, the newest session)."""
    with cytls_connect(server.port, context, session=session) as client:
        echo_line(client, b"hello across processes\n")
        reused, newest = client.conn.session_reused, client.conn.session
        close(client.conn, client.sock, TIMEOUT)
    assert newest is not None
    return reused, newest


def test_processes_sharing_a_key_file_resume_each_other(pki: TestPKI, tmp_path: Path) -> None:
    keys = ticket_key_file(tmp_path / "ticket.keys", os.urandom(32))
    context = cytls_client_context(pki)
    with ticket_server(pki, keys=keys) as a, ticket_server(pki, keys=keys) as b:
        reused, session = connect_and_echo(a, context)
        assert not reused
        reused, _ = connect_and_echo(b, context, session)
        assert reused
        (report_a,) = a.reports(1)
        (report_b,) = b.reports(1)
    assert (report_a["reused"], report_a["error"]) == (False, None)
    assert (report_b["reused"], report_b["error"]) == (True, None)
    assert report_b["received"] == "hello across processes\n"


def test_processes_without_a_shared_key_do_not_resume(pki: TestPKI) -> None:
    """The control: two processes with their own random keys do a full handshake."""
    context = cytls_client_context(pki)
    with ticket_server(pki) as a, ticket_server(pki) as b:
        _, session = connect_and_echo(a, context)
        reused, _ = connect_and_echo(b, context, session)
        assert not reused
        (report_b,) = b.reports(1)
    assert (report_b["reused"], report_b["error"]) == (False, None)


def test_ticket_key_rotation_across_processes(pki: TestPKI, tmp_path: Path) -> None:
    """Rotation as the key file format describes it: a new key on the first line with the old
    one kept: old tickets still resume, new ones are sealed with the new key; then the old key
    removed: old tickets fall back to a full handshake, new ones still resume."""
    old_key, new_key = os.urandom(32), os.urandom(32)
    keys = ticket_key_file(tmp_path / "ticket.keys", old_key)
    context = cytls_client_context(pki)
    with ticket_server(pki, keys=keys) as a, ticket_server(pki, keys=keys) as b:
        _, old_session = connect_and_echo(a, context)

        ticket_key_file(keys, new_key, old_key)
        a.reload()
        b.reload()
        assert connect_and_echo(b, context, old_session)[0]  # the old key still opens
        reused, new_session = connect_and_echo(a, context)
        assert not reused

        ticket_key_file(keys, new_key)
        a.reload()
        b.reload()
        assert not connect_and_echo(b, context, old_session)[0]  # a full handshake, no error
        # Only the new key is left: this ticket resuming proves it was sealed with it.
        assert connect_and_echo(b, context, new_session)[0]
        reports = b.reports(3)
    assert [(r["reused"], r["error"]) for r in reports] == [
        (True, None),
        (False, None),
        (True, None),
    ]


# --- replay of 0-RTT (RFC 8446 §8) -------------------------------------------------------------


def test_replayed_early_data_is_rejected(pki: TestPKI) -> None:
    """The first flight of a 0-RTT connection (ClientHello + early data), captured and replayed
    as raw bytes to the same server: the original is accepted, the replay resumes (its binder
    is valid) but its early data is rejected and never reaches the application."""
    early = b"POST /transfer?amount=100 (0-RTT)\n"
    context = cytls_client_context(pki)
    with ticket_server(pki, max_early_data=1024, connections=3) as server:
        _, session = connect_and_echo(server, context)
        assert session.max_early_data_size == 1024

        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
            conn = cytls.Connection(
                context, server_hostname="localhost", session=session, early_data=early
            )
            first_flight = conn.data_to_send()
            sock.sendall(first_flight)
            drive_handshake(conn, sock, TIMEOUT)
            assert conn.early_data_accepted
            assert recv_exactly(conn, sock, len(early), TIMEOUT) == early  # the echo
            close(conn, sock, TIMEOUT)

        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as attacker:
            attacker.sendall(first_flight)
            attacker.shutdown(socket.SHUT_WR)  # the server reads all of it, then EOF
            while attacker.recv(65536):
                pass  # its flight, until it gives up and closes
        original, replay = server.reports(3)[1:]

    # What was replayed: a ClientHello offering the ticket and 0-RTT, then CCS and the early
    # data in a protected record.
    ((msg_type, body),) = plaintext_handshake(first_flight)
    extensions = [ext_type for ext_type, _ in ClientHello.parse(body).extensions]
    assert msg_type == 1 and ExtensionType.early_data in extensions
    assert extensions[-1] == ExtensionType.pre_shared_key
    assert [content_type for content_type, _, _ in split_records(first_flight)] == [22, 20, 23]

    assert (original["reused"], original["early_data_accepted"]) == (True, True)
    assert original["early_data_length"] == len(early)
    assert original["received"] == early.decode()
    assert replay["reused"] is True
    assert replay["early_data_accepted"] is False
    assert replay["early_data_length"] == 0
    assert replay["received"] == ""
    assert "TruncationError" in str(replay["error"])


# --- psk_ke: resumption without (EC)DHE (RFC 8446 §4.2.9) --------------------------------------


def psk_ke_only(hello: ClientHello) -> ClientHello:
    """A client that offers psk_ke alone (cytls offers psk_dhe_ke too)."""
    modes = ext.encode_psk_key_exchange_modes([0])
    extensions = [
        (ext_type, modes if ext_type == ExtensionType.psk_key_exchange_modes else data)
        for ext_type, data in hello.extensions
    ]
    return dataclasses.replace(hello, extensions=extensions)


def test_psk_ke_against_openssl_server(pki: TestPKI) -> None:
    """s_server -allow_no_dhe_kex: OpenSSL 3.0 prefers psk_dhe_ke when both modes are offered
    (cytls's default with OP_ALLOW_NO_DHE_KEX), and resumes with psk_ke when it is the only
    one: a ServerHello without key_share, no group."""
    certkey = pki.servers["ecdsa"]
    context = cytls_client_context(pki)
    context.options |= cytls.OP_ALLOW_NO_DHE_KEX
    with openssl_server(
        certkey.cert, certkey.key, extra_args=["-naccept", "3", "-allow_no_dhe_kex"]
    ) as server:
        session = session_from_openssl_server(server, context)
        with cytls_connect(server.port, context, session=session) as both_modes:
            assert both_modes.conn.session_reused
            assert both_modes.handshake.group == "x25519"
            line_with_openssl_server(both_modes, server, "2")
            close(both_modes.conn, both_modes.sock, TIMEOUT)
        with cytls_connect(
            server.port,
            context,
            session=session,
            environment=Environment(client_hello_hook=psk_ke_only),
        ) as psk_ke:
            assert psk_ke.conn.session_reused
            assert psk_ke.handshake.group is None
            line_with_openssl_server(psk_ke, server, "3")
            close(psk_ke.conn, psk_ke.sock, TIMEOUT)
        assert server.wait() == 0
    assert observe_handshake(both_modes.sock.sent, both_modes.sock.received).server_hellos == (
        (False, "x25519"),
    )
    assert observe_handshake(psk_ke.sock.sent, psk_ke.sock.received).server_hellos == (
        (False, None),
    )
    assert parse_openssl_server(server.stdout_text).sessions_reused == 2


@pytest.mark.parametrize("allow", [True, False], ids=["allow_no_dhe_kex", "default"])
def test_openssl_client_psk_ke(pki: TestPKI, tmp_path: Path, allow: bool) -> None:
    """s_client -allow_no_dhe_kex offers both modes; a cytls server with OP_ALLOW_NO_DHE_KEX
    picks psk_ke (no key_share, no "Server Temp Key"), one without it psk_dhe_ke."""
    context = cytls_server_context(pki.servers["ecdsa"])
    if allow:
        context.options |= cytls.OP_ALLOW_NO_DHE_KEX
    session_file = tmp_path / "session.pem"
    serve_openssl_client(pki, context, "-sess_out", str(session_file), "-allow_no_dhe_kex")

    run = serve_openssl_client(pki, context, "-sess_in", str(session_file), "-allow_no_dhe_kex")
    assert run.summary.session == "Reused"
    expected_group = None if allow else "x25519"
    assert run.summary.group == expected_group
    assert run.server.handshake.group == expected_group
    assert run.server.wire().server_hellos == ((False, expected_group),)

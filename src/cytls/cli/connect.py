"""``cytls connect HOST:PORT``: a TLS client for people, like ``openssl s_client``.

It prints what was negotiated and the server's certificate chain on stderr, then relays stdin
to the server and the server's data to stdout until either side closes.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import queue
import selectors
import socket
import sys
import threading
from typing import BinaryIO, TextIO

from cryptography import x509

from cytls.cli.addresses import parse_host_port
from cytls.connection import Connection
from cytls.context import CERT_NONE, PROTOCOL_TLS_CLIENT, TLSContext
from cytls.errors import TLSError, WantReadError
from cytls.events import HandshakeComplete
from cytls.x509.loading import load_der_certificate

CONNECT_TIMEOUT = 10.0


class UsageError(Exception):
    """A problem with what the user asked for, reported as one line."""


def build_context(*, cafile: str | None, insecure: bool, alpn: list[str] | None) -> TLSContext:
    context = TLSContext(PROTOCOL_TLS_CLIENT)
    if insecure:
        context.check_hostname = False
        context.verify_mode = CERT_NONE
    elif cafile:
        if not os.path.isfile(cafile):
            raise UsageError(f"cannot read CA file {cafile!r}: no such file")
        try:
            context.load_verify_locations(cafile=cafile)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot use CA file {cafile!r}: {exc}") from None
    else:
        context.load_default_certs()
    if alpn:
        context.set_alpn_protocols(alpn)
    return context


def connect(
    address: str,
    *,
    servername: str | None,
    cafile: str | None,
    insecure: bool,
    alpn: list[str] | None,
    stdin: BinaryIO,
    stdout: BinaryIO,
    stderr: TextIO,
) -> int:
    """Run the session; returns the exit status."""
    try:
        host, port = parse_host_port(address)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    context = build_context(cafile=cafile, insecure=insecure, alpn=alpn)
    try:
        sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT)
    except OSError as exc:
        raise UsageError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
    with sock:
        conn = Connection(context, server_hostname=servername or host)
        event = _handshake(conn, sock)
        _describe(event, stderr)
        sock.settimeout(None)
        _relay(conn, sock, stdin, stdout)
    return 0


def _handshake(conn: Connection, sock: socket.socket) -> HandshakeComplete:
    while not conn.handshake_complete:
        sock.sendall(conn.data_to_send())
        data = sock.recv(65536)
        conn.receive_data(data)  # b"" (EOF) raises TruncationError during the handshake
    sock.sendall(conn.data_to_send())
    while (event := conn.next_event()) is not None:
        if isinstance(event, HandshakeComplete):
            return event
    raise TLSError("the handshake completed without reporting its parameters")


def _describe(event: HandshakeComplete, out: TextIO) -> None:
    """What was negotiated and the chain as sent (unverified with --insecure: any of it may
    be unreadable)."""
    out.write(
        f"{event.version}, {event.cipher_suite}, group {event.group}, "
        f"ALPN {event.alpn_protocol or '(none)'}, SNI {event.server_name or '(none)'}\n"
    )
    out.write("certificate chain:\n")
    for depth, der in enumerate(event.peer_certificates):
        fingerprint = hashlib.sha256(der).hexdigest()
        try:
            certificate = load_der_certificate(der)
            subject = certificate.subject.rfc4514_string()
            issuer = certificate.issuer.rfc4514_string()
            expires = certificate.not_valid_after_utc.strftime("%Y-%m-%d %H:%M:%S UTC")
        except (ValueError, x509.InvalidVersion):
            subject = issuer = expires = "(unreadable)"
        out.write(f" {depth} subject: {subject}\n   issuer: {issuer}\n")
        out.write(f"   not after: {expires}\n   sha256: {fingerprint}\n")
    out.write("---\n")
    out.flush()


def _relay(conn: Connection, sock: socket.socket, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """stdin -> server, server -> stdout, until the server closes; stdin EOF sends close_notify
    and keeps reading (half-close, RFC 8446 §6.1)."""
    chunks: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    wake, waker = socket.socketpair()
    threading.Thread(target=_read_stdin, args=(stdin, chunks, waker), daemon=True).start()
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ, "socket")
    selector.register(wake, selectors.EVENT_READ, "stdin")
    reading_stdin = True
    with wake, waker, selector:
        while True:
            for key, _ in selector.select():
                if key.data == "stdin":
                    wake.recv(4096)
                    while reading_stdin and not chunks.empty():
                        chunk = chunks.get_nowait()
                        if chunk:
                            conn.send(chunk)
                        else:
                            conn.close()
                            selector.unregister(wake)
                            reading_stdin = False
                    sock.sendall(conn.data_to_send())
                    continue
                data = sock.recv(65536)
                conn.receive_data(data)
                sock.sendall(conn.data_to_send())
                while True:
                    try:
                        plaintext = conn.recv()
                    except WantReadError:
                        break
                    if not plaintext:  # close_notify
                        if reading_stdin:
                            conn.close()
                            sock.sendall(conn.data_to_send())
                        return
                    stdout.write(plaintext)
                    stdout.flush()
                if not data:
                    return


def _read_stdin(stdin: BinaryIO, chunks: queue.SimpleQueue[bytes], waker: socket.socket) -> None:
    """Hand stdin to the relay chunk by chunk, b"" at EOF, each followed by a byte on ``waker``.

    A thread, because select() waits only on sockets on Windows, and epoll refuses a regular
    file (``cytls connect ... < request.txt``) on Linux.
    """
    while True:
        try:
            chunk = os.read(stdin.fileno(), 65536)
        except OSError:
            chunk = b""
        chunks.put(chunk)
        try:
            waker.send(b"\0")
        except OSError:  # the relay is over
            return
        if not chunk:
            return


def main_connect(
    args: argparse.Namespace, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None
) -> int:
    """Entry point for the CLI: one-line errors, no tracebacks."""
    try:
        return connect(
            args.address,
            servername=args.servername,
            cafile=args.cafile,
            insecure=args.insecure,
            alpn=args.alpn,
            stdin=stdin or sys.stdin.buffer,
            stdout=stdout or sys.stdout.buffer,
            stderr=sys.stderr,
        )
    except UsageError as exc:
        print(f"cytls connect: {exc}", file=sys.stderr)
        return 2
    except TLSError as exc:
        print(f"cytls connect: TLS failed: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cytls connect: connection error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130

"""A cytls TLS 1.3 server in a process of its own, for resumption tests across processes.

    python ticket_server.py --cert C --key K [--ticket-keys FILE] [--max-early-data N]
                            [--connections N] [--timeout S]

It listens on 127.0.0.1 (an ephemeral port, printed as ``LISTENING <port>``), handles up to
``--connections`` connections one at a time, then exits; it also exits when ``--timeout``
seconds pass without a connection, so a test that dies cannot leave it behind. Each connection:
handshake, read up to the first newline (0-RTT data included), echo what was read, close. Then
one line ``CONNECTION {json}`` on stdout says what the server saw:

    reused, early_data_accepted, early_data_length, received (the application data, latin-1),
    error (None, or the exception that ended the connection, e.g. a client that went away)

A line ``reload`` on stdin reloads the ticket key file (``TLSContext.load_ticket_keys``), as an
operator would after rotating it; the answer is ``RELOADED`` (or ``RELOAD FAILED ...``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import ssl
import sys
import threading
from typing import Any

import driver  # tests/interop/driver.py: this script's directory is sys.path[0]

import cytls

_output_lock = threading.Lock()


def _print(line: str) -> None:
    """One whole line at a time: the stdin thread prints too."""
    with _output_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def _watch_stdin(context: cytls.TLSContext, keyfile: str | None) -> None:
    for line in sys.stdin:
        if line.strip() != "reload" or keyfile is None:
            continue
        try:
            context.load_ticket_keys(keyfile)
        except (OSError, ValueError) as exc:
            _print(f"RELOAD FAILED {exc}")
        else:
            _print("RELOADED")


def _serve_one(conn: cytls.Connection, sock: socket.socket, timeout: float) -> dict[str, Any]:
    report: dict[str, Any] = {"error": None}
    received = bytearray()
    try:
        driver.drive_handshake(conn, sock, timeout)
        while b"\n" not in received:
            received += driver.recv_exactly(conn, sock, 1, timeout)
            with contextlib.suppress(ssl.SSLWantReadError):
                received += conn.recv()
        driver.send_all(conn, sock, bytes(received), timeout)
        driver.close(conn, sock, timeout)
    except (OSError, EOFError, ssl.SSLError) as exc:  # TimeoutError is an OSError
        report["error"] = f"{type(exc).__name__}: {exc}"
        # What the client sent before it went away (0-RTT data, say) is still reported.
        with contextlib.suppress(ssl.SSLError):
            while conn.pending():
                received += conn.recv()
    report.update(
        reused=conn.session_reused,
        early_data_accepted=conn.early_data_accepted,
        early_data_length=conn.early_data_length,
        received=received.decode("latin-1"),
    )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--ticket-keys")
    parser.add_argument("--max-early-data", type=int, default=0)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()

    context = cytls.TLSContext(cytls.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    context.max_early_data_size = args.max_early_data
    if args.ticket_keys:
        context.load_ticket_keys(args.ticket_keys)
    threading.Thread(target=_watch_stdin, args=(context, args.ticket_keys), daemon=True).start()

    with socket.create_server(("127.0.0.1", 0)) as listener:
        _print(f"LISTENING {listener.getsockname()[1]}")
        for _ in range(args.connections):
            listener.settimeout(args.timeout)
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                _print("IDLE TIMEOUT")
                return
            with raw:
                raw.settimeout(args.timeout)
                conn = cytls.Connection(context, server_side=True)
                report = _serve_one(conn, raw, args.timeout)
            _print(f"CONNECTION {json.dumps(report)}")


if __name__ == "__main__":
    main()

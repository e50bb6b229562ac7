"""The ``cytls`` command (also ``python -m cytls``).

``bench`` measures cytls against its references (the ssl module, the raw AEAD calls);
``connect`` is a TLS client for people, like ``openssl s_client``. ``proxy`` is to come.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from cytls import __version__
from cytls.cli import benchmark


def _bench(args: argparse.Namespace) -> int:
    def progress(name: str) -> None:
        if not args.no_progress:
            print(f"  measuring {name} ...", file=sys.stderr, flush=True)

    machine = benchmark.machine_description()
    print(f"cytls {__version__} benchmark", flush=True)
    for key, value in machine.items():
        print(f"  {key}: {value}")
    results = list(
        benchmark.all_comparisons(
            quick=args.quick, progress=progress, instructions=args.instructions
        )
    )
    print()
    print(benchmark.format_table(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(benchmark.as_json(results), out, indent=2)
        print(f"figures written to {args.json}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cytls", description="cytls: fast TLS for Python")
    parser.add_argument("--version", action="version", version=f"cytls {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    bench = commands.add_parser(
        "bench",
        help="measure cytls against its references (the ssl module, raw AEAD calls) in one run",
        description="Beside the ssl module doing the same in the same run: full TLS 1.3 "
        "handshakes, write+read of 64 B to 1 MiB through wrap_bio and through the sans-I/O "
        "Connection (and 1 MiB on two threads), instructions per handshake and per 64 B "
        "write+read (callgrind), memory per idle connection and the proxy; then record "
        "seal+open beside the raw cryptography encrypt_into+decrypt_into calls on the same "
        "bytes (the limit). Each row shows its goal.",
    )
    bench.add_argument("--quick", action="store_true", help="fewer rounds (under 30 seconds)")
    bench.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    bench.add_argument(
        "--instructions",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="count instructions per handshake and per 64 B write+read with valgrind's "
        "callgrind (about a minute; default: on, off with --quick)",
    )
    bench.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    bench.set_defaults(handler=_bench)

    connect = commands.add_parser(
        "connect",
        help="connect to a TLS server, show what was negotiated, relay stdin/stdout",
        description="Like openssl s_client: handshake with HOST:PORT, print the version, suite, "
        "group, ALPN and the certificate chain on stderr, then relay stdin to the server and "
        "the server's data to stdout.",
    )
    connect.add_argument("address", metavar="HOST:PORT")
    connect.add_argument("--servername", help="SNI and the name to verify (default: HOST)")
    connect.add_argument("--alpn", action="append", metavar="PROTOCOL", help="offer PROTOCOL")
    connect.add_argument("--cafile", help="trust these CA certificates (PEM)")
    connect.add_argument(
        "--insecure", action="store_true", help="do not verify the certificate or the name"
    )
    connect.set_defaults(handler=_connect)

    proxy = commands.add_parser(
        "proxy",
        help="terminate TLS in front of a TCP service",
        description="Accept TLS on --listen and forward the plaintext to --upstream, on the "
        "cytls.aio fast path. Without --cert, an ephemeral self-signed certificate is made for "
        "the listen name and its SHA-256 fingerprint printed. SIGINT/SIGTERM stop accepting "
        "and let open connections finish.",
    )
    proxy.add_argument("--listen", required=True, metavar="HOST:PORT")
    proxy.add_argument("--upstream", required=True, metavar="HOST:PORT")
    proxy.add_argument("--cert", help="certificate chain (PEM)")
    proxy.add_argument("--key", help="private key (PEM; default: in --cert)")
    proxy.add_argument("--alpn", action="append", metavar="PROTOCOL", help="offer PROTOCOL")
    proxy.add_argument("--max-connections", type=int, default=10000, metavar="N")
    proxy.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="N processes sharing the port (SO_REUSEPORT: not on Windows, and only Linux "
        "spreads the connections over them)",
    )
    proxy.add_argument(
        "--loop",
        choices=("auto", "asyncio", "uvloop"),
        default="auto",
        help="event loop (auto: uvloop when installed)",
    )
    proxy.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    proxy.set_defaults(handler=_proxy)
    return parser


def _connect(args: argparse.Namespace) -> int:
    from cytls.cli.connect import main_connect

    return main_connect(args)


def _proxy(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import shutil
    import signal
    import socket
    import subprocess

    from cytls.cli import proxy
    from cytls.cli.addresses import parse_host_port

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s cytls proxy[%(process)d]: %(message)s"
    )
    try:
        listen = parse_host_port(args.listen, allow_port_zero=True)
        upstream = parse_host_port(args.upstream, allow_port_zero=True)
    except ValueError as exc:
        print(f"cytls proxy: {exc}", file=sys.stderr)
        return 2
    if args.workers < 1 or args.max_connections < 1:
        print("cytls proxy: --workers and --max-connections must be at least 1", file=sys.stderr)
        return 2
    if args.key and not args.cert:
        print("cytls proxy: --key needs --cert", file=sys.stderr)
        return 2
    if args.workers > 1 and not hasattr(socket, "SO_REUSEPORT"):  # Windows
        print(
            "cytls proxy: --workers needs SO_REUSEPORT, which this platform lacks; run one process",
            file=sys.stderr,
        )
        return 2
    try:
        loop_factory = proxy.loop_factory(args.loop)
    except ValueError as exc:
        print(f"cytls proxy: {exc}", file=sys.stderr)
        return 2
    try:
        context, fingerprint, directory = proxy.build_context(
            listen[0], args.cert, args.key, args.alpn
        )
    except (OSError, ValueError) as exc:
        print(f"cytls proxy: cannot load the certificate: {exc}", file=sys.stderr)
        return 1
    if fingerprint:
        print(
            f"cytls proxy: ephemeral certificate for {listen[0]}, SHA-256 {fingerprint}",
            file=sys.stderr,
            flush=True,
        )
    children: list[subprocess.Popen[bytes]] = []
    try:
        if args.workers > 1:
            cert = args.cert or os.path.join(directory or "", "proxy-cert.pem")
            key = args.key or (
                None if args.cert else os.path.join(directory or "", "proxy-key.pem")
            )
            argv = [
                sys.executable,
                "-m",
                "cytls",
                "proxy",
                "--listen",
                args.listen,
                "--upstream",
                args.upstream,
                "--cert",
                cert,
                "--max-connections",
                str(args.max_connections),
                "--workers",
                "1",
                "--loop",
                args.loop,
                "--reuse-port",
            ]
            if key:
                argv += ["--key", key]
            for protocol in args.alpn or ():
                argv += ["--alpn", protocol]
            # Our own interpreter and module with our own arguments: no shell, no outside input.
            children = [subprocess.Popen(argv) for _ in range(args.workers - 1)]  # noqa: S603
        try:
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(
                    proxy.serve(
                        listen,
                        upstream,
                        context,
                        max_connections=args.max_connections,
                        reuse_port=args.workers > 1 or args.reuse_port,
                    )
                )
        except OSError as exc:
            print(
                f"cytls proxy: cannot listen on {args.listen}: {exc.strerror or exc}",
                file=sys.stderr,
            )
            return 1
        except KeyboardInterrupt:
            pass
        return 0
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            child.wait()
        if directory:
            shutil.rmtree(directory, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())

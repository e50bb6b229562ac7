"""The ``cytls`` command (also ``python -m cytls``).

``bench`` measures cytls against its references (the ssl module, the raw AEAD calls);
``connect`` is a TLS client for people, like ``openssl s_client``. ``proxy`` is to come.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from cytls import __version__, benchmark


def _bench(args: argparse.Namespace) -> int:
    def progress(name: str) -> None:
        if not args.no_progress:
            print(f"  measuring {name} ...", file=sys.stderr, flush=True)

    machine = benchmark.machine_description()
    print(f"cytls {__version__} benchmark", flush=True)
    for key, value in machine.items():
        print(f"  {key}: {value}")
    results = list(benchmark.handshake_comparisons(quick=args.quick, progress=progress))
    results += benchmark.record_layer_comparisons(quick=args.quick, progress=progress)
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
        description="Full TLS 1.3 handshakes beside the ssl module doing the same, and seal+open "
        "of 64 B to 1 MiB records with each TLS 1.3 suite beside the raw cryptography "
        "encrypt_into+decrypt_into calls on the same bytes (the limit).",
    )
    bench.add_argument("--quick", action="store_true", help="fewer rounds (under 30 seconds)")
    bench.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
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
    return parser


def _connect(args: argparse.Namespace) -> int:
    from cytls.client_tool import main_connect

    return main_connect(args)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())

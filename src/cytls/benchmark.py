"""Benchmark scenarios shared by ``cytls bench`` and the pytest-benchmark suite in ``bench/``.

Every cytls case has a twin that sets the limit it is measured against, run on the same bytes
in the same process: for the record layer that is the raw ``cryptography`` AEAD calls
(``encrypt_into`` + ``decrypt_into`` into preallocated buffers), which no record layer can beat.
Figures are medians of interleaved rounds, because this kind of machine is shared and noisy.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from cytls import _record

SUITES: dict[str, tuple[int, int]] = {
    "AES-128-GCM": (_record.TLS_AES_128_GCM_SHA256, 16),
    "AES-256-GCM": (_record.TLS_AES_256_GCM_SHA384, 32),
    "ChaCha20-Poly1305": (_record.TLS_CHACHA20_POLY1305_SHA256, 32),
}
SIZES: dict[str, int] = {"64 B": 64, "1 KiB": 1024, "16 KiB": 16384, "1 MiB": 1 << 20}


def record_roundtrip(suite: str, size: int) -> Callable[[], None]:
    """One write of ``size`` bytes sealed by one RecordLayer and opened by another.

    The reader drains into a preallocated buffer, so the figure measures TLS, not the
    allocator. The first call checks that the bytes really made the round trip.
    """
    suite_id, key_length = SUITES[suite]
    key, iv = os.urandom(key_length), os.urandom(12)
    writer, reader = _record.RecordLayer(), _record.RecordLayer()
    writer.set_write_key(suite_id, key, iv)
    reader.set_read_key(suite_id, key, iv)
    data = os.urandom(size)
    sink = bytearray(size)
    write, data_to_send = writer.write, writer.data_to_send
    receive_data, read_into = reader.receive_data, reader.read_into

    def roundtrip() -> None:
        write(_record.APPLICATION_DATA, data)
        receive_data(data_to_send())
        read_into(sink)

    roundtrip()
    if sink != data or reader.pending():
        raise AssertionError(f"record round trip of {size} bytes with {suite} lost data")
    return roundtrip


def raw_aead_roundtrip(suite: str, size: int) -> Callable[[], None]:
    """The limit: one ``encrypt_into`` and one ``decrypt_into`` on the same number of bytes."""
    _, key_length = SUITES[suite]
    aead_class = ChaCha20Poly1305 if suite == "ChaCha20-Poly1305" else AESGCM
    aead = aead_class(os.urandom(key_length))
    nonce, aad = os.urandom(12), b"\x17\x03\x03\x40\x11"
    data = os.urandom(size)
    sealed = memoryview(bytearray(size + 16))
    opened = bytearray(size)
    encrypt_into, decrypt_into = aead.encrypt_into, aead.decrypt_into

    def roundtrip() -> None:
        encrypt_into(nonce, data, aad, sealed)
        decrypt_into(nonce, sealed, aad, opened)

    roundtrip()
    if opened != data:
        raise AssertionError("raw AEAD round trip lost data")
    return roundtrip


@dataclass(frozen=True, slots=True)
class Comparison:
    """Median seconds per operation of a cytls case and of its reference twin."""

    scenario: str
    size: int
    cytls_seconds: float
    reference_seconds: float
    reference: str

    @property
    def ratio(self) -> float:
        """Reference time / cytls time: 1.0 means as fast as the reference."""
        return self.reference_seconds / self.cytls_seconds


def _per_call(function: Callable[[], None], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def compare(
    scenario: str,
    size: int,
    cytls_case: Callable[[], None],
    reference_case: Callable[[], None],
    reference: str,
    *,
    rounds: int,
    seconds_per_round: float,
) -> Comparison:
    """Interleave rounds of both cases after a warm-up round; return the medians."""
    calls = max(1, int(seconds_per_round / max(_per_call(cytls_case, 3), 1e-9)))
    _per_call(reference_case, calls)  # warm-up
    cytls_times, reference_times = [], []
    for _ in range(rounds):
        cytls_times.append(_per_call(cytls_case, calls))
        reference_times.append(_per_call(reference_case, calls))
    return Comparison(
        scenario,
        size,
        statistics.median(cytls_times),
        statistics.median(reference_times),
        reference,
    )


def record_layer_comparisons(
    *, quick: bool, progress: Callable[[str], None] | None = None
) -> Iterable[Comparison]:
    """Seal+open through the record layer against raw AEAD calls, every suite and size."""
    rounds, seconds = (5, 0.05) if quick else (11, 0.2)
    for suite in SUITES:
        for size_name, size in SIZES.items():
            name = f"record seal+open {size_name}, {suite}"
            if progress:
                progress(name)
            yield compare(
                name,
                size,
                record_roundtrip(suite, size),
                raw_aead_roundtrip(suite, size),
                "raw AEAD",
                rounds=rounds,
                seconds_per_round=seconds,
            )


# --- full handshakes: cytls against the ssl module ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Credentials:
    """A throwaway ECDSA P-256 CA and a leaf certificate for "localhost", as PEM files."""

    certfile: str
    keyfile: str
    cafile: str


def make_credentials(directory: str) -> Credentials:
    """Generate the benchmark's certificates: nothing is needed from the user."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cytls bench CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = Credentials(
        os.path.join(directory, "cert.pem"),
        os.path.join(directory, "key.pem"),
        os.path.join(directory, "ca.pem"),
    )
    pem = serialization.Encoding.PEM
    with open(paths.certfile, "wb") as out:
        out.write(leaf.public_bytes(pem))
    with open(paths.keyfile, "wb") as out:
        out.write(
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
    with open(paths.cafile, "wb") as out:
        out.write(ca.public_bytes(pem))
    return paths


def cytls_handshake(credentials: Credentials) -> Callable[[], None]:
    """One full handshake, client and server in this process, in memory.

    Same configuration as :func:`ssl_handshake`: x25519, TLS_AES_256_GCM_SHA384, the client
    verifying the server's ECDSA P-256 certificate and name.
    """
    from cytls.connection import Connection
    from cytls.context import PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER, TLSContext

    server_context = TLSContext(PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(credentials.certfile, credentials.keyfile)
    client_context = TLSContext(PROTOCOL_TLS_CLIENT)
    client_context.load_verify_locations(credentials.cafile)
    for context in (server_context, client_context):
        context.set_groups("x25519")
        context.set_ciphers("TLS_AES_256_GCM_SHA384")

    def handshake() -> None:
        client = Connection(client_context, server_hostname="localhost")
        server = Connection(server_context, server_side=True)
        server.receive_data(client.data_to_send())
        client.receive_data(server.data_to_send())
        server.receive_data(client.data_to_send())
        if not (client.handshake_complete and server.handshake_complete):
            raise AssertionError("cytls handshake did not complete in one round trip")

    handshake()
    return handshake


def ssl_handshake(credentials: Credentials) -> Callable[[], None]:
    """The ssl module doing exactly what :func:`cytls_handshake` does, over MemoryBIOs."""
    import ssl

    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(credentials.certfile, credentials.keyfile)
    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_context.load_verify_locations(credentials.cafile)
    for context in (server_context, client_context):
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        context.set_ecdh_curve("X25519")

    def handshake() -> None:
        client_in, client_out = ssl.MemoryBIO(), ssl.MemoryBIO()
        server_in, server_out = ssl.MemoryBIO(), ssl.MemoryBIO()
        client = client_context.wrap_bio(client_in, client_out, server_hostname="localhost")
        server = server_context.wrap_bio(server_in, server_out, server_side=True)
        for _ in range(4):
            for obj, incoming, outgoing in (
                (client, server_out, client_in),
                (server, client_out, server_in),
            ):
                with contextlib.suppress(ssl.SSLWantReadError):
                    obj.do_handshake()
                if incoming.pending:
                    outgoing.write(incoming.read())
        if client.version() != "TLSv1.3" or client.cipher()[0] != "TLS_AES_256_GCM_SHA384":
            raise AssertionError(f"ssl handshake negotiated {client.version()} {client.cipher()}")

    handshake()
    return handshake


def handshake_comparisons(
    *, quick: bool, progress: Callable[[str], None] | None = None
) -> Iterable[Comparison]:
    """Full handshakes per second, cytls against the ssl module (higher ratio = cytls faster)."""
    import tempfile

    rounds, seconds = (5, 0.2) if quick else (11, 0.5)
    with tempfile.TemporaryDirectory() as directory:
        credentials = make_credentials(directory)
        name = "full handshake (ECDSA P-256, x25519, AES-256-GCM)"
        if progress:
            progress(name)
        yield compare(
            name,
            0,
            cytls_handshake(credentials),
            ssl_handshake(credentials),
            "ssl module",
            rounds=rounds,
            seconds_per_round=seconds,
        )


def machine_description() -> dict[str, str]:
    """What the figures were measured on."""
    import cryptography
    from cryptography.hazmat.backends.openssl import backend

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "openssl (cryptography)": backend.openssl_version_text(),
        "cryptography": cryptography.__version__,
    }


def format_table(comparisons: Iterable[Comparison]) -> str:
    """One line per scenario: cytls figure, reference figure, ratio."""
    rows = [("scenario", "cytls", "reference", "ratio")]
    for c in comparisons:
        rows.append(
            (
                c.scenario,
                _format_figure(c.cytls_seconds, c.size),
                f"{_format_figure(c.reference_seconds, c.size)} ({c.reference})",
                f"{c.ratio:.2f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.append("ratio = reference time / cytls time (1.00 = as fast as the reference)")
    return "\n".join(lines)


def _format_figure(seconds: float, size: int) -> str:
    if size == 0:  # an operation without a payload: a handshake
        return f"{seconds * 1e6:.0f} µs = {1 / seconds:,.0f}/s"
    per_op = f"{seconds * 1e6:.2f} µs"
    if size >= 16384:
        return f"{per_op} = {size / seconds / 1e9:.2f} GB/s"
    return per_op


def as_json(comparisons: Iterable[Comparison]) -> dict[str, object]:
    """The figures and the machine, for ``--json``."""
    results = []
    for c in comparisons:
        entry = asdict(c)
        entry["ratio"] = c.ratio
        results.append(entry)
    return {"machine": machine_description(), "results": results}

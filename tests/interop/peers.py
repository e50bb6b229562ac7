"""Real TLS peers for the interop tests, started on 127.0.0.1 and always stopped.

Every peer is a context manager. Processes are started with all three standard streams as
pipes; reader threads capture stdout and stderr (or hash stdout, for bulk transfers) so that a
test can wait for a line of output with a timeout and parse the peer's own account of the
connection afterwards. Leaving the ``with`` block stops the peer (terminate, then kill) whatever
happened, and an exception raised inside the block gets the peer's output attached as a note.

Peers and what each needs:

- ``openssl_server`` / ``openssl_client``: ``openssl s_server`` / ``s_client`` (OpenSSL 3.0+).
  Interactive mode (the default) runs with ``-msg``, so the output names every handshake message
  sent (``>>>``) and received (``<<<``); a line "K" or "k" on stdin sends a KeyUpdate (with or
  without update_requested). Bulk mode (``quiet=True``) makes stdout the pure application data
  stream and stdin a pure data source, with no command letters.
- ``gnutls_server`` / ``gnutls_client``: ``gnutls-serv --echo`` (a line echo server) and
  ``gnutls-cli`` (stdin to the server, the server's data to stdout, details to a log file).
- ``curl_get``: ``curl`` fetching one URL over TLS 1.3.
- ``ssl_server`` / ``ssl_client``: the ``ssl`` module in a background thread.

Nothing here imports cytls: the same peers are checked against the ``ssl`` module in
``test_peers_selfcheck.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

TIMEOUT = 20.0
"""Seconds any single step (start, handshake, exchange, exit) may take."""
BULK_TIMEOUT = 180.0
"""Seconds a bulk transfer may take."""

SUITES = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
GROUPS = ("x25519", "secp256r1", "secp384r1")
"""The groups every peer here supports (OpenSSL 3.0, GnuTLS 3.7, curl on OpenSSL 3.0)."""
CERT_KINDS = ("ecdsa", "rsa", "ed25519")
"""Server certificate keys: ECDSA P-256, RSA 2048 (rsaEncryption, so rsa_pss_rsae_*), Ed25519."""

# Which package provides each tool, for the message of a test that cannot find one.
_PACKAGES = {
    "openssl": "openssl",
    "gnutls-serv": "gnutls-bin",
    "gnutls-cli": "gnutls-bin",
    "curl": "curl",
    "wrk": "wrk",
}

PEERS_ENV = "CYTLS_TEST_PEERS"
"""Unset (or "required"): a missing tool fails the test, since CI installs every one. "optional"
(the wheel builds' test runs, macOS and Windows runners): a tool that is missing, or is not the
implementation these tests parse the output of, skips the test and says why."""

# The version command of each tool and what its output must show in "optional" mode: the
# parsers here read OpenSSL 3 (not LibreSSL, not 1.1), GnuTLS 3.7+ and curl's OpenSSL backend.
_IMPLEMENTATIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "openssl": (("version",), r"^OpenSSL 3\.", "OpenSSL 3"),
    "gnutls-serv": (("--version",), r"^gnutls-serv 3\.([7-9]|\d\d)", "GnuTLS 3.7 or later"),
    "gnutls-cli": (("--version",), r"^gnutls-cli 3\.([7-9]|\d\d)", "GnuTLS 3.7 or later"),
    "curl": (("--version",), r"^curl .* OpenSSL/3\.", "curl built on OpenSSL 3"),
}


class PeerError(RuntimeError):
    """A peer did not start, exited early, or said something unexpected."""


def require_tool(name: str) -> str:
    """The path of an executable; a missing tool fails the test (CI installs all of them), or,
    with CYTLS_TEST_PEERS=optional, skips it with the reason."""
    optional = os.environ.get(PEERS_ENV, "required") == "optional"
    path = shutil.which(name)
    if path is None:
        package = _PACKAGES.get(name, name)
        message = (
            f"{name!r} is not on PATH: the interop tests need it "
            f"(Debian/Ubuntu: apt-get install {package})"
        )
        if optional:
            pytest.skip(message)
        pytest.fail(message, pytrace=False)
    if optional and name in _IMPLEMENTATIONS:
        mismatch = implementation_mismatch(name, _version_output(path, name))
        if mismatch is not None:
            pytest.skip(mismatch)
    return path


def implementation_mismatch(name: str, version_output: str) -> str | None:
    """Why the tool that printed ``version_output`` is not one these tests can drive, or None."""
    _, pattern, wanted = _IMPLEMENTATIONS[name]
    first_line = version_output.strip().splitlines()[0] if version_output.strip() else ""
    if re.search(pattern, first_line):
        return None
    return f"{name} here is {first_line or 'silent'!r}; the interop tests need {wanted}"


@functools.cache
def _version_output(path: str, name: str) -> str:
    try:
        proc = subprocess.run(
            [path, *_IMPLEMENTATIONS[name][0]],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unusable: {exc}"
    return proc.stdout or proc.stderr


# --- a test PKI --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CertKey:
    """A server certificate (leaf only, PEM) and its private key (PKCS#8 PEM, unencrypted)."""

    kind: str
    cert: Path
    key: Path
    certificate: x509.Certificate

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)


@dataclasses.dataclass(frozen=True)
class TestPKI:
    """Two roots (ECDSA P-256 and RSA 2048) in one CA file, and a server certificate per kind.

    The ECDSA root signs the ECDSA and Ed25519 leaves (ecdsa-with-SHA256); the RSA root signs
    the RSA leaf (sha256WithRSAEncryption, i.e. rsa_pkcs1_sha256 in a certificate signature).
    Every leaf is valid for DNS:localhost and IP:127.0.0.1, with EKU serverAuth.

    ``clients`` holds client certificates (EKU clientAuth, no names, common name "cytls
    interop client KIND") for mutual TLS: one per kind of ``CERT_KINDS`` under the same roots,
    "chain" (ECDSA, under an intermediate CA of the ECDSA root; its ``cert`` file holds the
    leaf then the intermediate), and "untrusted" (ECDSA, under a root not in ``ca_file``).
    """

    __test__ = False  # not a test class, despite the name

    directory: Path
    ca_file: Path
    servers: dict[str, CertKey]
    clients: dict[str, CertKey] = dataclasses.field(default_factory=dict)


# Key type (tests/pki.py's names) and issuing root of each server certificate.
_LEAVES = {
    "ecdsa": ("ecdsa-p256", "ecdsa"),
    "rsa": ("rsa2048", "rsa"),
    "ed25519": ("ed25519", "ecdsa"),
}


def make_pki(directory: Path) -> TestPKI:
    """Write a fresh test PKI into ``directory``, built with the suite's ``tests/pki.py``."""
    import pki  # tests/pki.py: tests/ is on sys.path, as for every other test module

    directory.mkdir(parents=True, exist_ok=True)
    roots = {
        "ecdsa": pki.make_ca("ecdsa-p256", common_name="cytls interop ECDSA root"),
        "rsa": pki.make_ca("rsa2048", common_name="cytls interop RSA root"),
    }
    ca_file = pki.write_pem(directory, "ca.pem", roots["ecdsa"][0], roots["rsa"][0])
    servers = {}
    for kind, (key_type, root) in _LEAVES.items():
        leaf = pki.make_leaf(
            roots[root],
            key_type,
            ("localhost", "127.0.0.1"),
            common_name="localhost",
            eku="serverAuth",
        )
        cert_path, key_path = pki.write_chain(directory, leaf, prefix=kind)
        servers[kind] = CertKey(kind, cert_path, key_path, leaf[0])
    issuers = {kind: roots[root] for kind, (_, root) in _LEAVES.items()}
    issuers["chain"] = pki.make_intermediate(roots["ecdsa"], common_name="cytls interop client CA")
    issuers["untrusted"] = pki.make_ca("ecdsa-p256", common_name="cytls untrusted root")
    clients = {}
    for kind, issuer in issuers.items():
        key_type = _LEAVES[kind][0] if kind in _LEAVES else "ecdsa-p256"
        leaf = pki.make_leaf(
            issuer, key_type, (), common_name=f"cytls interop client {kind}", eku="clientAuth"
        )
        chain = (issuer[0],) if kind == "chain" else ()
        cert_path, key_path = pki.write_chain(directory, leaf, *chain, prefix=f"client-{kind}")
        clients[kind] = CertKey(kind, cert_path, key_path, leaf[0])
    return TestPKI(directory, ca_file, servers, clients)


# --- processes ---------------------------------------------------------------------------------


class HashSink:
    """Counts and SHA-256-hashes a byte stream (a peer's stdout in bulk mode)."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._count = 0
        self._closed = False
        self._cond = threading.Condition()

    def update(self, data: bytes) -> None:
        with self._cond:
            self._hash.update(data)
            self._count += len(data)
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def count(self) -> int:
        with self._cond:
            return self._count

    def wait_for(self, nbytes: int, timeout: float = BULK_TIMEOUT) -> str:
        """Wait until ``nbytes`` bytes arrived; return their SHA-256 hex digest."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._count < nbytes:
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    why = "the stream ended" if self._closed else f"timed out after {timeout} s"
                    raise PeerError(f"{why} after {self._count} of {nbytes} bytes")
                self._cond.wait(min(remaining, 1.0))
            if self._count != nbytes:
                raise PeerError(f"expected {nbytes} bytes, got {self._count}")
            return self._hash.hexdigest()


class PeerProcess:
    """A peer process with captured output. Use as a context manager, or call ``stop()``."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str | os.PathLike[str]],
        *,
        stdout_sink: HashSink | None = None,
    ) -> None:
        self.name = name
        self.argv = [os.fspath(arg) for arg in argv]
        self.port: int | None = None
        self.log = ""
        """Text of the peer's log file, if it writes one (read when it stops)."""
        self.logfile: Path | None = None
        self._sink = stdout_sink
        self._cond = threading.Condition()
        self._buffers = {"stdout": bytearray(), "stderr": bytearray()}
        self._open_streams = 2
        self._stopped = False
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, "stdout"), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, "stderr"), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def __enter__(self) -> PeerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _pump(self, pipe: Any, stream: str) -> None:
        try:
            while True:
                chunk = pipe.read1(1 << 20)
                if not chunk:
                    break
                if stream == "stdout" and self._sink is not None:
                    self._sink.update(chunk)
                    continue
                with self._cond:
                    self._buffers[stream] += chunk
                    self._cond.notify_all()
        except (OSError, ValueError):  # the pipe was closed under us by stop()
            pass
        finally:
            if stream == "stdout" and self._sink is not None:
                self._sink.close()
            with self._cond:
                self._open_streams -= 1
                self._cond.notify_all()

    # --- output ---

    def text(self, stream: str = "all") -> str:
        """Captured output so far, decoded leniently: "stdout", "stderr" or "all" (both)."""
        with self._cond:
            if stream == "all":
                raw = bytes(self._buffers["stdout"]) + b"\n" + bytes(self._buffers["stderr"])
            else:
                raw = bytes(self._buffers[stream])
        return raw.decode("utf-8", errors="replace")

    @property
    def stdout_text(self) -> str:
        return self.text("stdout")

    @property
    def stderr_text(self) -> str:
        return self.text("stderr")

    def describe(self, limit: int = 6000) -> str:
        """argv, exit status and the tail of the output, for failure messages."""
        status = self.proc.poll()
        parts = [f"{self.name}: {' '.join(self.argv)}", f"exit status: {status}"]
        for stream in ("stdout", "stderr"):
            text = self.text(stream)
            if len(text) > limit:
                text = f"[... {len(text) - limit} characters ...]\n" + text[-limit:]
            parts.append(f"--- {stream} ---\n{text}")
        if self.log:
            parts.append(f"--- log ---\n{self.log[-limit:]}")
        return "\n".join(parts)

    def wait_for(
        self, pattern: str | re.Pattern[str], *, stream: str = "all", timeout: float = TIMEOUT
    ) -> re.Match[str]:
        """Wait until ``pattern`` (a regular expression) matches the output; return the match."""
        regex = re.compile(pattern, re.MULTILINE) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.text(stream))
            if match:
                return match
            with self._cond:
                if self._open_streams == 0 and self.proc.poll() is not None:
                    ended = True
                else:
                    ended = False
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise PeerError(
                            f"timed out after {timeout} s waiting for {regex.pattern!r} "
                            f"from {self.name}\n{self.describe()}"
                        )
                    self._cond.wait(min(remaining, 0.5))
            if ended:
                match = regex.search(self.text(stream))
                if match:
                    return match
                raise PeerError(
                    f"{self.name} ended before printing {regex.pattern!r}\n{self.describe()}"
                )

    def count(self, pattern: str, stream: str = "all") -> int:
        return len(re.findall(pattern, self.text(stream), re.MULTILINE))

    # --- input ---

    def write(self, data: bytes | str) -> None:
        """Write to the peer's stdin now (a line for an interactive peer)."""
        if isinstance(data, str):
            data = data.encode()
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError) as exc:
            raise PeerError(f"cannot write to {self.name}: {exc}\n{self.describe()}") from exc

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError, ValueError):
            self.proc.stdin.close()

    def feed_stdin(self, data: bytes, *, close: bool = True, chunk: int = 1 << 20) -> None:
        """Write ``data`` to stdin from a background thread (for bulk transfers)."""

        def feed() -> None:
            assert self.proc.stdin is not None
            view = memoryview(data)
            try:
                for offset in range(0, len(view), chunk):
                    self.proc.stdin.write(view[offset : offset + chunk])
                self.proc.stdin.flush()
            except (OSError, ValueError):
                return  # the peer went away; the test notices the missing data
            if close:
                self.close_stdin()

        thread = threading.Thread(target=feed, daemon=True)
        self._threads.append(thread)
        thread.start()

    # --- lifetime ---

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def wait(self, timeout: float = TIMEOUT) -> int:
        """Wait for the peer to exit by itself; return its exit status."""
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise PeerError(
                f"{self.name} did not exit within {timeout} s\n{self.describe()}"
            ) from None
        self._join_readers(timeout)
        return status

    def _join_readers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads[:2]:
            thread.join(max(0.0, deadline - time.monotonic()))

    def stop(self) -> None:
        """Stop the peer (terminate, then kill) and collect its output. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self.close_stdin()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._join_readers(5)
        for thread in self._threads[2:]:
            thread.join(5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        if self.logfile is not None and self.logfile.exists():
            self.log = self.logfile.read_text(errors="replace")


@contextlib.contextmanager
def _running(peer: PeerProcess) -> Iterator[PeerProcess]:
    """Stop ``peer`` on the way out, and attach its output to any exception raised inside."""
    try:
        yield peer
    except BaseException as exc:
        peer.stop()
        if isinstance(exc, Exception):
            exc.add_note(peer.describe())
        raise
    finally:
        peer.stop()


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago (callers retry if it is taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_listening(peer: PeerProcess, port: int, timeout: float) -> bool:
    """Connect to ``port`` until it accepts (True) or ``peer`` exits (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if peer.proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return True
        except OSError:
            time.sleep(0.02)
    raise PeerError(f"{peer.name} is not listening on port {port} after {timeout} s")


@contextlib.contextmanager
def listening(timeout: float = TIMEOUT) -> Iterator[socket.socket]:
    """A listening socket on 127.0.0.1 with an ephemeral port, for peers that are clients."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(timeout)
    try:
        yield listener
    finally:
        listener.close()


def accept(
    listener: socket.socket, peer: PeerProcess | None = None, timeout: float = TIMEOUT
) -> socket.socket:
    """Accept one connection; fail early (with its output) if ``peer`` exits first."""
    deadline = time.monotonic() + timeout
    listener.settimeout(0.2)
    while True:
        try:
            sock, _ = listener.accept()
        except TimeoutError:
            if peer is not None and peer.proc.poll() is not None:
                raise PeerError(
                    f"{peer.name} exited before connecting\n{peer.describe()}"
                ) from None
            if time.monotonic() > deadline:
                detail = f"\n{peer.describe()}" if peer is not None else ""
                raise PeerError(f"no connection within {timeout} s{detail}") from None
            continue
        sock.settimeout(timeout)
        return sock


# --- OpenSSL -----------------------------------------------------------------------------------

_OPENSSL_GROUP_NAMES = {
    "X25519": "x25519",
    "prime256v1": "secp256r1",
    "secp384r1": "secp384r1",
    "secp521r1": "secp521r1",
    "X448": "x448",
}


def _openssl_options(
    ciphersuites: str | None, groups: str | Sequence[str] | None, alpn: str | Sequence[str] | None
) -> list[str]:
    args = []
    if ciphersuites:
        args += ["-ciphersuites", ciphersuites]
    if groups:
        args += ["-groups", groups if isinstance(groups, str) else ":".join(groups)]
    if alpn:
        args += ["-alpn", alpn if isinstance(alpn, str) else ",".join(alpn)]
    return args


@contextlib.contextmanager
def openssl_server(
    cert: Path,
    key: Path,
    *,
    ciphersuites: str | None = None,
    groups: str | Sequence[str] | None = None,
    alpn: str | Sequence[str] | None = None,
    quiet: bool = False,
    stdout_sink: HashSink | None = None,
    extra_args: Iterable[str] = (),
    timeout: float = TIMEOUT,
) -> Iterator[PeerProcess]:
    """``openssl s_server -tls1_3`` on 127.0.0.1; ``peer.port`` is where it listens.

    Interactive (default): one connection (``-naccept 1``), then it exits. Output: ``-msg`` and
    ``-tlsextdebug`` traces, the session summary ("CIPHER is ..."), the client's ALPN list, and
    the application data it receives; lines written to stdin are sent to the client, except "K"
    and "k", which send a KeyUpdate with and without update_requested. Its stdin must stay open:
    s_server quits at EOF on stdin.

    ``quiet=True`` (bulk): stdout is exactly the data received (hash it with ``stdout_sink``),
    stdin is sent as is. Quiet s_server prints no "ACCEPT" line, so the port is chosen here
    (retried if taken) and readiness is checked by connecting once; that probe connection costs
    s_server a failed handshake, so quiet mode accepts any number of connections until stopped.
    """
    openssl = require_tool("openssl")
    base = [
        openssl,
        "s_server",
        "-tls1_3",
        "-cert",
        str(cert),
        "-key",
        str(key),
        *_openssl_options(ciphersuites, groups, alpn),
    ]
    if not quiet:
        argv = [*base, "-accept", "127.0.0.1:0", "-naccept", "1", "-msg", "-tlsextdebug"]
        peer = PeerProcess("openssl s_server", [*argv, *extra_args], stdout_sink=stdout_sink)
        with _running(peer):
            match = peer.wait_for(r"^ACCEPT 127\.0\.0\.1:(\d+)$", stream="stdout", timeout=timeout)
            peer.port = int(match.group(1))
            yield peer
        return
    for _attempt in range(5):
        port = free_port()
        argv = [*base, "-quiet", "-accept", f"127.0.0.1:{port}", *extra_args]
        peer = PeerProcess("openssl s_server", argv, stdout_sink=stdout_sink)
        with _running(peer):
            if not _wait_listening(peer, port, timeout):
                if "in use" in peer.text():
                    continue  # somebody took the port: try another
                raise PeerError(f"openssl s_server failed to start\n{peer.describe()}")
            peer.port = port
            yield peer
            return
    raise PeerError("openssl s_server: no free port after 5 attempts")


@contextlib.contextmanager
def openssl_client(
    port: int,
    *,
    cafile: Path,
    servername: str = "localhost",
    ciphersuites: str | None = None,
    groups: str | Sequence[str] | None = None,
    alpn: str | Sequence[str] | None = None,
    quiet: bool = False,
    stdout_sink: HashSink | None = None,
    extra_args: Iterable[str] = (),
    version: str = "-tls1_3",
) -> Iterator[PeerProcess]:
    """``openssl s_client -tls1_3`` (or ``version``) to 127.0.0.1:``port``, verifying
    ``servername`` (SNI too).

    Interactive (default): ``-msg`` trace and session summary on stdout, then the data received.
    Lines on stdin are sent; "K"/"k" send a KeyUpdate (with/without update_requested); EOF on
    stdin sends close_notify and exits. ``quiet=True`` (bulk): stdout is exactly the data
    received, stdin is sent as is (no command letters), EOF on stdin closes.
    """
    openssl = require_tool("openssl")
    argv = [
        openssl,
        "s_client",
        "-connect",
        f"127.0.0.1:{port}",
        version,
        "-CAfile",
        str(cafile),
        "-verify_return_error",
        "-verify_hostname",
        servername,
        "-servername",
        servername,
        *_openssl_options(ciphersuites, groups, alpn),
    ]
    argv += ["-quiet", "-no_ign_eof", "-nocommands"] if quiet else ["-msg"]
    peer = PeerProcess("openssl s_client", [*argv, *extra_args], stdout_sink=stdout_sink)
    with _running(peer):
        yield peer


@dataclasses.dataclass(frozen=True)
class OpenSSLClientSummary:
    """What ``openssl s_client`` reports about the connection it made."""

    protocol: str | None
    cipher: str | None
    group: str | None
    """The server's key share group ("Server Temp Key"), in cytls's names."""
    alpn: str | None
    peer_signature_type: str | None
    verify_code: int | None
    verify_message: str | None
    client_hellos: int
    """ClientHello messages sent: 2 after a HelloRetryRequest (needs ``-msg``)."""
    key_updates_sent: int
    key_updates_received: int
    session: str | None = None
    """"New" (a full handshake) or "Reused" (a resumed session, e.g. with ``-sess_in``)."""
    early_data: str | None = None
    """What became of ``-early_data``: "accepted", "rejected" or "not sent"."""


def _search(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text, re.MULTILINE)
    return match.group(1) if match else None


def _msg_count(text: str, direction: str, message: str) -> int:
    marker = re.escape(direction)
    return len(
        re.findall(rf"^{marker} TLS 1\.3, Handshake \[length [0-9a-f]+\], {message}$", text, re.M)
    )


def _openssl_group(description: str | None) -> str | None:
    """ "X25519, 253 bits" or "ECDH, prime256v1, 256 bits" -> "x25519" / "secp256r1"."""
    if description is None:
        return None
    parts = [part.strip() for part in description.split(",")]
    name = parts[1] if parts[0] == "ECDH" and len(parts) > 1 else parts[0]
    return _OPENSSL_GROUP_NAMES.get(name, name)


def parse_openssl_client(text: str) -> OpenSSLClientSummary:
    verify = re.search(r"^Verify return code: (\d+) \(([^)]*)\)", text, re.MULTILINE)
    alpn = _search(r"^ALPN protocol: (\S+)", text)
    return OpenSSLClientSummary(
        protocol=_search(r"^(?:New|Reused), (\S+), Cipher is", text),
        cipher=_search(r"^(?:New|Reused), \S+, Cipher is (\S+)", text),
        group=_openssl_group(_search(r"^Server Temp Key: (.+)$", text)),
        alpn=alpn,
        peer_signature_type=_search(r"^Peer signature type: (\S+)", text),
        verify_code=int(verify.group(1)) if verify else None,
        verify_message=verify.group(2) if verify else None,
        client_hellos=_msg_count(text, ">>>", "ClientHello"),
        key_updates_sent=_msg_count(text, ">>>", "KeyUpdate"),
        key_updates_received=_msg_count(text, "<<<", "KeyUpdate"),
        session=_search(r"^(New|Reused), \S+, Cipher is", text),
        early_data=_search(r"^Early data was (accepted|rejected|not sent)$", text),
    )


@dataclasses.dataclass(frozen=True)
class OpenSSLServerSummary:
    """What ``openssl s_server`` (interactive) reports about the connection it accepted."""

    cipher: str | None
    shared_groups: tuple[str, ...]
    alpn_offered: tuple[str, ...]
    """The client's ALPN list (printed only when s_server has ``-alpn``)."""
    alpn_selected: str | None
    server_name: str | None
    """The client's SNI, from the ``-tlsextdebug`` dump of its server_name extension."""
    client_hellos: int
    """ClientHello messages received: 2 after a HelloRetryRequest."""
    key_updates_sent: int
    key_updates_received: int
    sessions_reused: int = 0
    """Connections that resumed a session ("Reused session-id"), with ``-naccept`` above 1."""


def _tlsext_dump(text: str, extension: str) -> bytes | None:
    """The bytes of a client extension from s_server's ``-tlsextdebug`` hex dump."""
    match = re.search(
        rf'^TLS client extension "{re.escape(extension)}" \(id=\d+\), len=(\d+)\n'
        r"((?:[0-9a-f]{4} - .*\n?)*)",
        text,
        re.MULTILINE,
    )
    if match is None:
        return None
    length = int(match.group(1))
    data = bytearray()
    for line in match.group(2).splitlines():
        hex_part = line[7 : 7 + 16 * 3]
        data += bytes(int(byte, 16) for byte in re.findall(r"[0-9a-f]{2}", hex_part))
    return bytes(data[:length])


def _sni_from_extension(data: bytes | None) -> str | None:
    """server_name extension body (RFC 6066 §3) -> the host_name, if well formed."""
    if data is None or len(data) < 5 or data[2] != 0:
        return None
    length = int.from_bytes(data[3:5], "big")
    return data[5 : 5 + length].decode("ascii", errors="replace")


def parse_openssl_server(text: str) -> OpenSSLServerSummary:
    offered = _search(r"^ALPN protocols advertised by the client: (.*)$", text)
    shared = _search(r"^Shared groups: (\S+)", text)
    return OpenSSLServerSummary(
        cipher=_search(r"^CIPHER is (\S+)", text),
        shared_groups=tuple(shared.split(":")) if shared else (),
        alpn_offered=tuple(p.strip() for p in offered.split(",")) if offered else (),
        alpn_selected=_search(r"^ALPN protocols selected: (\S+)", text),
        server_name=_sni_from_extension(_tlsext_dump(text, "server name")),
        client_hellos=_msg_count(text, "<<<", "ClientHello"),
        key_updates_sent=_msg_count(text, ">>>", "KeyUpdate"),
        key_updates_received=_msg_count(text, "<<<", "KeyUpdate"),
        sessions_reused=len(re.findall(r"^Reused session-id$", text, re.MULTILINE)),
    )


# --- GnuTLS ------------------------------------------------------------------------------------

_GNUTLS_SUITES = {
    "TLS_AES_128_GCM_SHA256": "AES-128-GCM",
    "TLS_AES_256_GCM_SHA384": "AES-256-GCM",
    "TLS_CHACHA20_POLY1305_SHA256": "CHACHA20-POLY1305",
}
_GNUTLS_GROUPS = {"x25519": "X25519", "secp256r1": "SECP256R1", "secp384r1": "SECP384R1"}


def gnutls_priority(
    suites: str | Sequence[str] | None = None,
    groups: str | Sequence[str] | None = None,
    version: str = "TLS1.3",
) -> str:
    """A GnuTLS priority string for TLS 1.3 only, restricted to ``suites`` and ``groups``
    (cytls names, in preference order). GnuTLS has no TLS 1.3 suite names: a suite is its AEAD
    (the hash follows), e.g. TLS_AES_256_GCM_SHA384 is "+AES-256-GCM"."""
    priority = f"NORMAL:-VERS-ALL:+VERS-{version}"
    if suites:
        names = suites.split(":") if isinstance(suites, str) else list(suites)
        priority += ":-CIPHER-ALL" + "".join(f":+{_GNUTLS_SUITES[name]}" for name in names)
    if groups:
        names = groups.split(":") if isinstance(groups, str) else list(groups)
        priority += ":-GROUP-ALL" + "".join(f":+GROUP-{_GNUTLS_GROUPS[name]}" for name in names)
    return priority


def _line_buffered(argv: list[str]) -> list[str]:
    """gnutls-serv prints with stdio, fully buffered on a pipe: ask stdbuf for line buffering."""
    stdbuf = shutil.which("stdbuf")
    return [stdbuf, "-oL", *argv] if stdbuf else argv


@contextlib.contextmanager
def gnutls_server(
    cert: Path,
    key: Path,
    *,
    priority: str | None = None,
    alpn: Sequence[str] = (),
    request_client_cert: bool = False,
    extra_args: Iterable[str] = (),
    timeout: float = TIMEOUT,
) -> Iterator[PeerProcess]:
    """``gnutls-serv --echo``: a line echo server (text lines up to about 16 KiB; no NUL bytes).

    gnutls-serv cannot bind one address: it listens on 0.0.0.0 and :: (on a port chosen here,
    retried if taken) for as long as the ``with`` block lasts. By default it would request a
    client certificate; ``request_client_cert=False`` passes ``--disable-client-cert``.
    Stdout gets the connection details ("- Description: ...", "- Given server name[1]: ...",
    "- Application protocol: ...") as each handshake completes.
    """
    serv = require_tool("gnutls-serv")
    for _attempt in range(5):
        port = free_port()
        argv = [serv, "--echo", "-p", str(port), "--x509certfile", str(cert)]
        argv += ["--x509keyfile", str(key)]
        if priority:
            argv += ["--priority", priority]
        for protocol in alpn:
            argv += ["--alpn", protocol]
        if not request_client_cert:
            argv.append("--disable-client-cert")
        peer = PeerProcess("gnutls-serv", _line_buffered([*argv, *extra_args]))
        with _running(peer):
            match = peer.wait_for(
                r"listening on IPv4 .*?port \d+\.\.\.(done|.*failed.*)$",
                stream="stderr",
                timeout=timeout,
            )
            if match.group(1) != "done":
                continue  # the port was taken: gnutls-serv keeps running on IPv6 only
            if not _wait_listening(peer, port, timeout):
                raise PeerError(f"gnutls-serv exited\n{peer.describe()}")
            peer.port = port
            yield peer
            return
    raise PeerError("gnutls-serv: no free port after 5 attempts")


@contextlib.contextmanager
def gnutls_client(
    port: int,
    *,
    cafile: Path,
    servername: str = "localhost",
    priority: str | None = None,
    alpn: Sequence[str] = (),
    stdout_sink: HashSink | None = None,
    extra_args: Iterable[str] = (),
) -> Iterator[PeerProcess]:
    """``gnutls-cli`` to 127.0.0.1:``port`` with SNI ``servername``, verifying that name.

    Stdin is sent to the server, the server's data goes to stdout (unbuffered), and EOF on
    stdin sends close_notify and waits for the server's. The connection details go to a log
    file that gnutls-cli only flushes when it exits: read ``peer.log`` after ``peer.wait()``.
    """
    cli = require_tool("gnutls-cli")
    with tempfile.TemporaryDirectory(prefix="cytls-gnutls-cli-") as logdir:
        logfile = Path(logdir) / "gnutls-cli.log"
        argv = [cli, "127.0.0.1", "-p", str(port), "--x509cafile", str(cafile)]
        argv += ["--sni-hostname", servername, "--verify-hostname", servername]
        argv += ["--logfile", str(logfile)]
        if priority:
            argv += ["--priority", priority]
        for protocol in alpn:
            argv += ["--alpn", protocol]
        peer = PeerProcess("gnutls-cli", [*argv, *extra_args], stdout_sink=stdout_sink)
        peer.logfile = logfile
        with _running(peer):
            yield peer


@dataclasses.dataclass(frozen=True)
class GnuTLSSummary:
    """The "- Description: (TLS1.3-X.509)-(ECDHE-X25519)-(EdDSA-Ed25519)-(AES-256-GCM)" line
    and friends, from gnutls-serv's stdout or gnutls-cli's log."""

    protocol: str | None
    group: str | None
    signature: str | None
    cipher: str | None
    """The TLS 1.3 suite, in IANA spelling."""
    alpn: str | None
    server_name: str | None
    """The SNI the server received (gnutls-serv only)."""


def parse_gnutls(text: str) -> GnuTLSSummary:
    described = re.search(
        r"^- Description: \(([^)]*)\)-\(([^)]*)\)-\(([^)]*)\)-\(([^)]*)\)", text, re.MULTILINE
    )
    protocol = group = signature = cipher = None
    if described:
        protocol = described.group(1).split("-")[0]
        kx = described.group(2)
        group = kx.removeprefix("ECDHE-").lower() if kx.startswith("ECDHE-") else kx
        signature = described.group(3)
        aead = described.group(4)
        cipher = next((s for s, a in _GNUTLS_SUITES.items() if a == aead), aead)
    return GnuTLSSummary(
        protocol=protocol,
        group=group,
        signature=signature,
        cipher=cipher,
        alpn=_search(r"^- Application protocol: (\S+)", text),
        server_name=_search(r"^- Given server name\[\d+\]: (\S+)", text),
    )


# --- curl --------------------------------------------------------------------------------------


@contextlib.contextmanager
def curl_get(
    url: str,
    *,
    cafile: Path,
    port: int,
    http1_1: bool = True,
    alpn: bool = True,
    ciphersuites: str | None = None,
    curves: str | Sequence[str] | None = None,
    extra_args: Iterable[str] = (),
    timeout: float = TIMEOUT,
    tls: str = "1.3",
) -> Iterator[PeerProcess]:
    """``curl`` GETs ``url`` (https://localhost:PORT/...) with TLS ``tls`` only, "localhost"
    resolved to 127.0.0.1, no proxy and no ~/.curlrc. The body goes to stdout, the ``-v``
    trace to stderr (see :func:`parse_curl`). ``peer.wait()`` gives curl's exit status."""
    curl = require_tool("curl")
    argv = [
        curl,
        "-q",
        "--silent",
        "--show-error",
        "--verbose",
        "--noproxy",
        "*",
        f"--tlsv{tls}",
        "--tls-max",
        tls,
        "--cacert",
        str(cafile),
        "--resolve",
        f"localhost:{port}:127.0.0.1",
        "--max-time",
        str(int(timeout)),
    ]
    if http1_1:
        argv.append("--http1.1")
    if not alpn:
        argv.append("--no-alpn")
    if ciphersuites:
        argv += ["--tls13-ciphers", ciphersuites]
    if curves:
        argv += ["--curves", curves if isinstance(curves, str) else ":".join(curves)]
    peer = PeerProcess("curl", [*argv, *extra_args, url])
    with _running(peer):
        yield peer


@dataclasses.dataclass(frozen=True)
class CurlSummary:
    protocol: str | None
    cipher: str | None
    alpn: str | None
    """What curl says the server accepted ("ALPN: server accepted http/1.1")."""


def parse_curl(stderr: str) -> CurlSummary:
    connection = re.search(r"SSL connection using (\S+) / (\S+)", stderr)
    return CurlSummary(
        protocol=connection.group(1) if connection else None,
        cipher=connection.group(2) if connection else None,
        alpn=_search(r"ALPN[:,] server accepted(?: to use)? (\S+)", stderr),
    )


# --- the ssl module ----------------------------------------------------------------------------

_SSL_CURVES = {"x25519": "X25519", "secp256r1": "prime256v1", "secp384r1": "secp384r1"}


def _restrict_ssl_group(context: ssl.SSLContext, group: str) -> None:
    """Make an ``ssl`` context use ``group`` alone, where its ``set_ecdh_curve`` can.

    Older CPython builds (Debian's 3.11.2, for one) set the curve through OpenSSL's EC_KEY API,
    which knows no X25519 (python/cpython#77063) and raises. X25519 is OpenSSL's first default
    group, so leaving the defaults negotiates it all the same with a peer that offers it, which
    the tests check from the cytls side."""
    try:
        context.set_ecdh_curve(_SSL_CURVES[group])
    except ssl.SSLError:
        if group != "x25519":
            raise


def ssl_server_context(
    certkey: CertKey, *, alpn: Sequence[str] | None = None, group: str | None = None
) -> ssl.SSLContext:
    """A TLS 1.3-only ``ssl`` server context; ``group`` restricts it to that one group (the
    ``ssl`` module of Python 3.11 cannot set TLS 1.3 suites or several groups)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(certkey.cert, certkey.key)
    if alpn:
        context.set_alpn_protocols(list(alpn))
    if group:
        _restrict_ssl_group(context, group)
    return context


def ssl_client_context(
    cafile: Path, *, alpn: Sequence[str] | None = None, group: str | None = None
) -> ssl.SSLContext:
    """A TLS 1.3-only ``ssl`` client context trusting ``cafile``; ``group`` makes it offer (and
    send a key share for) that one group only."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_verify_locations(cafile)
    if alpn:
        context.set_alpn_protocols(list(alpn))
    if group:
        _restrict_ssl_group(context, group)
    return context


@dataclasses.dataclass
class SSLPeerInfo:
    """One connection as the ``ssl`` peer saw it."""

    version: str | None = None
    cipher: str | None = None
    alpn: str | None = None
    server_name: str | None = None
    """SNI received (server side, through the context's sni_callback)."""
    result: Any = None
    """What the handler / action returned."""
    error: BaseException | None = None
    session_reused: bool | None = None
    """Whether the handshake resumed a session (``SSLSocket.session_reused``)."""
    session: ssl.SSLSession | None = None
    """The client's session after its action ran (tickets arrive after the handshake)."""


SSLHandler = Callable[[ssl.SSLSocket], Any]


def ssl_recv_exactly(tls: ssl.SSLSocket, nbytes: int) -> bytes:
    data = bytearray()
    while len(data) < nbytes:
        chunk = tls.recv(min(nbytes - len(data), 1 << 20))
        if not chunk:
            raise EOFError(f"the peer closed after {len(data)} of {nbytes} bytes")
        data += chunk
    return bytes(data)


def ssl_read_until_eof(tls: ssl.SSLSocket) -> tuple[int, str]:
    """Read until close_notify; return (byte count, SHA-256 hex digest)."""
    digest = hashlib.sha256()
    count = 0
    while chunk := tls.recv(1 << 20):
        digest.update(chunk)
        count += len(chunk)
    return count, digest.hexdigest()


def ssl_shutdown(tls: ssl.SSLSocket) -> None:
    """Send close_notify and wait for the peer's (bounded by the socket timeout)."""
    with contextlib.suppress(OSError, ValueError):
        tls.unwrap()


def echo_handler(tls: ssl.SSLSocket) -> int:
    """Echo everything until close_notify, then close_notify back; return bytes echoed."""
    total = 0
    while chunk := tls.recv(1 << 16):
        tls.sendall(chunk)
        total += len(chunk)
    ssl_shutdown(tls)
    return total


def http_handler(body: bytes) -> SSLHandler:
    """Answer one HTTP/1.1 request with 200 and ``body``; return the request head."""

    def handle(tls: ssl.SSLSocket) -> bytes:
        request = bytearray()
        while b"\r\n\r\n" not in request and len(request) < 65536:
            chunk = tls.recv(4096)
            if not chunk:
                break
            request += chunk
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        tls.sendall(head.encode() + body)
        ssl_shutdown(tls)
        return bytes(request)

    return handle


def sink_handler(tls: ssl.SSLSocket) -> tuple[int, str]:
    """Hash everything until close_notify, then close_notify back."""
    result = ssl_read_until_eof(tls)
    ssl_shutdown(tls)
    return result


def source_handler(data: bytes) -> SSLHandler:
    """Send ``data``, then close_notify (and wait for the peer's)."""

    def handle(tls: ssl.SSLSocket) -> int:
        tls.sendall(data)
        ssl_shutdown(tls)
        return len(data)

    return handle


class SSLServer:
    """An ``ssl``-module server in a background thread (see :func:`ssl_server`)."""

    def __init__(
        self, context: ssl.SSLContext, handler: SSLHandler, connections: int, timeout: float
    ) -> None:
        self.context = context
        self.handler = handler
        self.connections = connections
        self.timeout = timeout
        self.infos: list[SSLPeerInfo] = []
        self._server_names: list[str | None] = []
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="ssl server", daemon=True)
        context.sni_callback = self._record_sni

    def _record_sni(self, _sslobj: Any, server_name: str | None, _context: Any) -> None:
        self._server_names.append(server_name)

    def _serve(self) -> None:
        deadline = time.monotonic() + self.timeout * max(1, self.connections)
        while len(self.infos) < self.connections and not self._stop.is_set():
            if time.monotonic() > deadline:
                break
            try:
                raw, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            info = SSLPeerInfo()
            self.infos.append(info)
            raw.settimeout(self.timeout)
            try:
                with self.context.wrap_socket(raw, server_side=True) as tls:
                    info.session_reused = tls.session_reused
                    info.version = tls.version()
                    cipher = tls.cipher()
                    info.cipher = cipher[0] if cipher else None
                    info.alpn = tls.selected_alpn_protocol()
                    info.server_name = self._server_names[-1] if self._server_names else None
                    info.result = self.handler(tls)
            except BaseException as exc:
                info.error = exc
            finally:
                raw.close()

    def wait(self, timeout: float = TIMEOUT) -> list[SSLPeerInfo]:
        """Wait for the server to handle its connections; raise the first error it met."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise PeerError(f"the ssl server is still busy after {timeout} s")
        for info in self.infos:
            if info.error is not None:
                raise PeerError(f"the ssl server failed: {info.error!r}") from info.error
        return self.infos

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self.timeout)
        self._listener.close()


@contextlib.contextmanager
def ssl_server(
    context: ssl.SSLContext,
    *,
    handler: SSLHandler = echo_handler,
    connections: int = 1,
    timeout: float = TIMEOUT,
) -> Iterator[SSLServer]:
    """Serve ``connections`` TLS connections one at a time with ``handler`` in a thread.

    ``server.port`` is the port; ``server.wait()`` waits for the connections to be handled and
    returns one :class:`SSLPeerInfo` each (raising the first error). The context's
    ``sni_callback`` is replaced, to record the SNI each client sent.
    """
    server = SSLServer(context, handler, connections, timeout)
    server._thread.start()
    try:
        yield server
    finally:
        server.stop()


class SSLClient:
    """An ``ssl``-module client in a background thread (see :func:`ssl_client`)."""

    def __init__(self, thread: threading.Thread, info: SSLPeerInfo) -> None:
        self._thread = thread
        self.info = info

    def wait(self, timeout: float = TIMEOUT) -> SSLPeerInfo:
        """Wait for the client to finish; raise what it raised; return what it saw."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise PeerError(f"the ssl client is still busy after {timeout} s")
        if self.info.error is not None:
            raise PeerError(f"the ssl client failed: {self.info.error!r}") from self.info.error
        return self.info


@contextlib.contextmanager
def ssl_client(
    port: int,
    context: ssl.SSLContext,
    *,
    action: SSLHandler,
    server_hostname: str = "localhost",
    session: ssl.SSLSession | None = None,
    timeout: float = TIMEOUT,
) -> Iterator[SSLClient]:
    """Connect to 127.0.0.1:``port`` in a thread, handshake (resuming ``session`` if given),
    then run ``action(tls)``; ``info.session`` is the session to resume next time."""
    info = SSLPeerInfo()

    def run() -> None:
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw,
                context.wrap_socket(raw, server_hostname=server_hostname, session=session) as tls,
            ):
                info.session_reused = tls.session_reused
                info.version = tls.version()
                cipher = tls.cipher()
                info.cipher = cipher[0] if cipher else None
                info.alpn = tls.selected_alpn_protocol()
                info.result = action(tls)
                info.session = tls.session
        except BaseException as exc:
            info.error = exc

    thread = threading.Thread(target=run, name="ssl client", daemon=True)
    thread.start()
    client = SSLClient(thread, info)
    try:
        yield client
    finally:
        thread.join(timeout)


# --- reading the handshake off the wire -------------------------------------------------------

HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
"""ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3)."""

_GROUP_NAMES = {
    0x0017: "secp256r1",
    0x0018: "secp384r1",
    0x0019: "secp521r1",
    0x001D: "x25519",
    0x001E: "x448",
    0x11EC: "X25519MLKEM768",
}


class TappedSocket:
    """A socket wrapper keeping the first ``limit`` bytes sent and received: enough to see the
    plaintext handshake (ClientHello, HelloRetryRequest, ServerHello) from outside the engine."""

    def __init__(self, sock: socket.socket, limit: int = 1 << 16) -> None:
        self.sock = sock
        self.limit = limit
        self.sent = bytearray()
        self.received = bytearray()

    def sendall(self, data: bytes) -> None:
        if len(self.sent) < self.limit:
            self.sent += data[: self.limit - len(self.sent)]
        self.sock.sendall(data)

    def recv(self, bufsize: int) -> bytes:
        data = self.sock.recv(bufsize)
        if len(self.received) < self.limit:
            self.received += data[: self.limit - len(self.received)]
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


def plaintext_handshake(stream: bytes) -> list[tuple[int, bytes]]:
    """The handshake messages (type, body) at the start of one direction of a TLS stream, up to
    the first protected record. change_cipher_spec records are skipped."""
    messages = []
    buffer = bytearray()
    offset = 0
    while offset + 5 <= len(stream):
        content_type = stream[offset]
        length = int.from_bytes(stream[offset + 3 : offset + 5], "big")
        fragment = stream[offset + 5 : offset + 5 + length]
        if len(fragment) < length or content_type not in (20, 22):
            break
        offset += 5 + length
        if content_type == 20:
            continue
        buffer += fragment
        while len(buffer) >= 4:
            size = int.from_bytes(buffer[1:4], "big")
            if len(buffer) < 4 + size:
                break
            messages.append((buffer[0], bytes(buffer[4 : 4 + size])))
            del buffer[: 4 + size]
    return messages


def _extensions(data: bytes) -> dict[int, bytes]:
    extensions = {}
    offset = 2
    end = 2 + int.from_bytes(data[:2], "big")
    while offset + 4 <= end:
        kind = int.from_bytes(data[offset : offset + 2], "big")
        size = int.from_bytes(data[offset + 2 : offset + 4], "big")
        extensions[kind] = data[offset + 4 : offset + 4 + size]
        offset += 4 + size
    return extensions


def _group_name(code: int) -> str:
    return _GROUP_NAMES.get(code, f"0x{code:04x}")


def client_hello_key_shares(body: bytes) -> tuple[str, ...]:
    """The groups of the key shares a ClientHello carries."""
    offset = 2 + 32
    offset += 1 + body[offset]  # legacy_session_id
    offset += 2 + int.from_bytes(body[offset : offset + 2], "big")  # cipher_suites
    offset += 1 + body[offset]  # legacy_compression_methods
    share = _extensions(body[offset:]).get(51, b"")
    groups = []
    position = 2
    while position + 4 <= len(share):
        groups.append(_group_name(int.from_bytes(share[position : position + 2], "big")))
        position += 4 + int.from_bytes(share[position + 2 : position + 4], "big")
    return tuple(groups)


def server_hello_group(body: bytes) -> tuple[bool, str | None]:
    """(is a HelloRetryRequest, the group it selects or asks for)."""
    hello_retry = body[2:34] == HRR_RANDOM
    offset = 2 + 32
    offset += 1 + body[offset]  # legacy_session_id_echo
    offset += 2 + 1  # cipher_suite, legacy_compression_method
    share = _extensions(body[offset:]).get(51)
    group = _group_name(int.from_bytes(share[:2], "big")) if share and len(share) >= 2 else None
    return hello_retry, group


@dataclasses.dataclass(frozen=True)
class WireHandshake:
    """The plaintext start of a handshake as seen on the wire."""

    client_hellos: tuple[tuple[str, ...], ...]
    """Key share groups offered by each ClientHello (two ClientHellos after an HRR)."""
    server_hellos: tuple[tuple[bool, str | None], ...]
    """(is HelloRetryRequest, group) for each ServerHello."""

    @property
    def hello_retry_request(self) -> bool:
        return any(hrr for hrr, _ in self.server_hellos)


def observe_handshake(client_to_server: bytes, server_to_client: bytes) -> WireHandshake:
    hellos = [body for kind, body in plaintext_handshake(client_to_server) if kind == 1]
    servers = [body for kind, body in plaintext_handshake(server_to_client) if kind == 2]
    return WireHandshake(
        client_hellos=tuple(client_hello_key_shares(body) for body in hellos),
        server_hellos=tuple(server_hello_group(body) for body in servers),
    )


# --- bulk data ---------------------------------------------------------------------------------

BULK_SIZE = 64 << 20


def bulk_payload(size: int = BULK_SIZE) -> tuple[bytes, str]:
    """``size`` random bytes and their SHA-256 hex digest."""
    data = os.urandom(size)
    return data, hashlib.sha256(data).hexdigest()

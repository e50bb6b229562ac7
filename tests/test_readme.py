"""The README's examples run, as written, against local servers.

Each example follows a ``<!-- example: NAME -->`` marker. They talk to localhost:8443 (and the
proxy's upstream to 8080); the test serves those on free ports and rewrites the port numbers.
"""

import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pki
import pytest
from interop.peers import require_tool

import cytls

README = Path(__file__).resolve().parent.parent / "README.md"
TIMEOUT = 30


def example(name: str) -> str:
    if not README.exists():
        pytest.fail(f"{README} is missing: run the tests from the source tree or an sdist")
    match = re.search(
        rf"<!-- example: {re.escape(name)} -->\n```\w+\n(.*?)```",
        README.read_text(encoding="utf-8"),
        re.S,
    )
    assert match, f"no example {name!r} in the README"
    return match.group(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_lines(tmp_path: Path, module: Any, **settings: Any) -> Iterator[int]:
    """A TLS server for "localhost" (``module``: ssl or cytls) that answers each connection's
    first line with itself; ca.pem in tmp_path."""
    ca = pki.make_ca("ecdsa-p256")
    certfile, keyfile = pki.write_chain(tmp_path, pki.make_leaf(ca, "ecdsa-p256"))
    pki.write_pem(tmp_path, "ca.pem", ca[0])
    context = module.SSLContext(module.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    for name, value in settings.items():
        setattr(context, name, value)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            raw.settimeout(TIMEOUT)
            try:
                with context.wrap_socket(raw, server_side=True) as tls:
                    tls.sendall(tls.makefile("rb").readline())
            except (OSError, ssl.SSLError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(TIMEOUT)
    listener.close()


@pytest.fixture
def line_echo_server(tmp_path: Path) -> Iterator[int]:
    """Python's ssl module serving lines (it sends two session tickets per connection)."""
    yield from serve_lines(tmp_path, ssl)


@pytest.fixture
def early_data_server(tmp_path: Path) -> Iterator[int]:
    """A cytls server serving lines that accepts 0-RTT data."""
    yield from serve_lines(tmp_path, cytls, max_early_data_size=16384)


def run_python(code: str, cwd: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sockets", r"^TLSv1\.3 TLS_AES_256_GCM_SHA384 b'hello\\n'$"),
        ("asyncio", r"^b'hello\\n'$"),
        ("sans-io", r"^b'hello\\n'$"),
        ("resumption", r"^False\nTrue$"),
    ],
)
def test_python_examples(name: str, expected: str, line_echo_server: int, tmp_path: Path) -> None:
    code = example(name).replace("8443", str(line_echo_server))
    assert re.match(expected, run_python(code, tmp_path).strip()), name


def test_early_data_example(early_data_server: int, tmp_path: Path) -> None:
    code = example("early-data").replace("8443", str(early_data_server))
    assert run_python(code, tmp_path).strip() == "(b'again\\n', True)"


def test_mtls_example(tmp_path: Path) -> None:
    """The mutual TLS server example, with the ssl module's client presenting a certificate."""
    server_ca, client_ca = pki.make_ca("ecdsa-p256"), pki.make_ca("ecdsa-p256")
    pki.write_chain(tmp_path, pki.make_leaf(server_ca), prefix="server")
    pki.write_pem(tmp_path, "client-ca.pem", client_ca[0])
    client_leaf = pki.make_leaf(client_ca, names=[], common_name="alice", eku="clientAuth")
    certfile, keyfile = pki.write_chain(tmp_path, client_leaf, prefix="client")
    client_context = ssl.create_default_context(cadata=pki.pem(server_ca[0]).decode())
    client_context.load_cert_chain(certfile, keyfile)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", example("mtls").replace("8443", str(port))],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                sock = socket.create_connection(("localhost", port), timeout=TIMEOUT)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr
                time.sleep(0.05)
        with client_context.wrap_socket(sock, server_hostname="localhost") as tls:
            tls.sendall(b"hello\n")
        out, err = server.communicate(timeout=TIMEOUT)
    finally:
        server.kill()
        server.wait(TIMEOUT)
    assert server.returncode == 0, err
    assert out.strip() == "((('commonName', 'alice'),),) b'hello\\n'"


@pytest.mark.interop
def test_proxy_example(tmp_path: Path) -> None:
    curl_path = require_tool("curl")
    (tmp_path / "index.html").write_text("upstream says hi\n")
    upstream_port, proxy_port = free_port(), free_port()
    upstream = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(upstream_port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    proxy_line, curl_line = example("proxy").strip().splitlines()
    proxy_argv = proxy_line.rstrip(" &").replace("8443", str(proxy_port))
    proxy_argv = proxy_argv.replace("8080", str(upstream_port)).split()
    assert proxy_argv[0] == "cytls"
    proxy = subprocess.Popen(
        [sys.executable, "-m", "cytls", *proxy_argv[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", proxy_port), timeout=1).close()
                socket.create_connection(("127.0.0.1", upstream_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        curl_argv = curl_line.replace("8443", str(proxy_port)).split()
        assert curl_argv[0] == "curl"
        curl = subprocess.run(
            [
                curl_path,
                "-q",
                "--noproxy",
                "*",
                "--silent",
                "--max-time",
                "20",
                *curl_argv[1:],
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert curl.returncode == 0, curl.stderr
        assert "upstream says hi" in curl.stdout or "index.html" in curl.stdout
    finally:
        proxy.send_signal(signal.SIGTERM)
        out, _ = proxy.communicate(timeout=TIMEOUT)
        upstream.terminate()
        upstream.wait(TIMEOUT)
    if sys.platform != "win32":  # SIGTERM is TerminateProcess there (tests/test_proxy.py)
        assert proxy.returncode == 0, out
    assert "ephemeral certificate for 127.0.0.1, SHA-256" in out

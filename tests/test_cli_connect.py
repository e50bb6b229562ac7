"""``cytls connect``: handshake, description on stderr, relay, and one-line errors."""

import io
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pki
import pytest

from cytls.cli.connect import _describe
from cytls.events import HandshakeComplete

TIMEOUT = 30


@pytest.fixture(scope="module")
def credentials(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    directory = tmp_path_factory.mktemp("connect-pki")
    ca = pki.make_ca("ecdsa-p256")
    certfile, keyfile = pki.write_chain(directory, pki.make_leaf(ca, "ecdsa-p256"))
    return certfile, keyfile, pki.write_pem(directory, "ca.pem", ca[0])


@pytest.fixture
def echo_server(credentials: tuple[Path, Path, Path]) -> Iterator[int]:
    """A Python ssl server on 127.0.0.1 that upper-cases one connection's data, then closes."""
    certfile, keyfile, _ = credentials
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    context.set_alpn_protocols(["echo/1"])
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():  # bounded: the fixture stops it
            try:
                raw, _ = listener.accept()
                break
            except TimeoutError:
                continue
            except OSError:
                return
        else:
            return
        raw.settimeout(TIMEOUT)
        try:
            with context.wrap_socket(raw, server_side=True) as tls:
                received = b""
                while chunk := tls.recv(65536):
                    received += chunk
                tls.sendall(received.upper())
                tls.unwrap()
        except (OSError, ssl.SSLError):
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(TIMEOUT)
    listener.close()


def run(*args: str, stdin: bytes | BinaryIO = b"") -> subprocess.CompletedProcess[bytes]:
    """``cytls connect`` with ``stdin`` through a pipe (bytes) or as the given file."""
    piped = isinstance(stdin, bytes)
    return subprocess.run(
        [sys.executable, "-m", "cytls", "connect", *args],
        input=stdin if piped else None,
        stdin=None if piped else stdin,
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_connect_shows_the_session_and_relays(echo_server: int, credentials) -> None:
    _, _, cafile = credentials
    proc = run(
        f"127.0.0.1:{echo_server}",
        "--servername",
        "localhost",
        "--cafile",
        str(cafile),
        "--alpn",
        "echo/1",
        stdin=b"hello through cytls\n",
    )
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert proc.stdout == b"HELLO THROUGH CYTLS\n"  # stdin EOF half-closed, the server answered
    assert "TLSv1.3, TLS_AES_256_GCM_SHA384" in err
    assert "ALPN echo/1, SNI localhost" in err
    assert " 0 subject: CN=localhost" in err and "sha256: " in err


def test_connect_relays_stdin_from_a_regular_file(
    echo_server: int, credentials, tmp_path: Path
) -> None:
    """``cytls connect ... < request.txt``: stdin is a regular file, which epoll refuses to
    watch (it failed with "Operation not permitted"), and select() cannot watch on Windows."""
    _, _, cafile = credentials
    request = tmp_path / "request.txt"
    request.write_bytes(b"GET / HTTP/1.0\r\n\r\n")
    with request.open("rb") as stdin:
        proc = run(
            f"127.0.0.1:{echo_server}",
            "--servername",
            "localhost",
            "--cafile",
            str(cafile),
            stdin=stdin,
        )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b"GET / HTTP/1.0\r\n\r\n".upper()


def test_unusable_ca_files_are_one_line_and_exit_2(tmp_path: Path) -> None:
    not_pem = run("127.0.0.1:9", "--cafile", __file__)
    assert not_pem.returncode == 2
    assert not_pem.stderr.decode().strip() == (
        f"cytls connect: cannot use CA file {__file__!r}: {__file__}: no certificate found "
        "(expected PEM)"
    )
    missing = tmp_path / "missing.pem"
    absent = run("127.0.0.1:9", "--cafile", str(missing))
    assert absent.returncode == 2
    assert absent.stderr.decode().strip() == (
        f"cytls connect: cannot read CA file {str(missing)!r}: no such file"
    )


def test_unknown_ca_names_the_problem(echo_server: int, tmp_path: Path) -> None:
    other = pki.write_pem(tmp_path, "other.pem", pki.make_ca("ecdsa-p256")[0])
    proc = run(f"127.0.0.1:{echo_server}", "--servername", "localhost", "--cafile", str(other))
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert err.startswith("cytls connect: TLS failed: unknown_ca:"), err
    assert "Traceback" not in err


def test_refused_connection_and_bad_address_are_one_line() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    refused = run(f"127.0.0.1:{port}", "--insecure")
    assert refused.returncode == 2
    assert refused.stderr.decode().startswith(f"cytls connect: cannot connect to 127.0.0.1:{port}")
    bad = run("no-port-here", "--insecure")
    assert bad.returncode == 2
    assert bad.stderr.decode().strip() == "cytls connect: 'no-port-here' is not HOST:PORT"


def test_host_port_parsing_shared_by_connect_and_proxy() -> None:
    from cytls.cli.addresses import parse_host_port

    assert parse_host_port("example.com:443") == ("example.com", 443)
    assert parse_host_port("[::1]:8443") == ("::1", 8443)
    assert parse_host_port("127.0.0.1:0", allow_port_zero=True) == ("127.0.0.1", 0)
    for bad in ("127.0.0.1:0", "host:65536", "host:", ":443", "host:http", "host"):
        with pytest.raises(ValueError, match="is not HOST:PORT"):
            parse_host_port(bad)


@pytest.mark.parametrize("tag", pki.UNDECODABLE_NAME_TAGS.values(), ids=pki.UNDECODABLE_NAME_TAGS)
def test_chain_description_survives_a_name_that_does_not_decode(tag: int) -> None:
    """``connect`` describes the chain as sent, unverified extra certificates included: one
    whose name does not decode is shown as unreadable, not a KeyError or TypeError."""
    ca = pki.make_ca("ecdsa-p256")
    leaf = pki.make_leaf(ca)[0]
    extra = pki.make_leaf(ca, common_name="extra")[0]
    broken = pki.with_undecodable_name(extra, ca[1], "extra", tag)
    event = HandshakeComplete(
        "TLSv1.3", "TLS_AES_128_GCM_SHA256", "x25519", None, None, (*pki.der(leaf), broken)
    )
    out = io.StringIO()
    _describe(event, out)
    lines = out.getvalue().splitlines()
    assert " 0 subject: CN=localhost" in lines
    assert " 1 subject: (unreadable)" in lines

"""cytls.aio: streams over the BufferedProtocol fast path, against cytls and asyncio+ssl."""

import asyncio
import hashlib
import ssl
from collections.abc import Callable

import pytest
from handshakeutil import client_context, credentials, server_context

import cytls
from cytls import aio

TIMEOUT = 30


def run(main: Callable[[], object], loop_kind: str) -> object:
    if loop_kind == "uvloop":
        uvloop = pytest.importorskip("uvloop", reason="uvloop does not exist on Windows")
        return uvloop.run(asyncio.wait_for(main(), TIMEOUT))
    return asyncio.run(asyncio.wait_for(main(), TIMEOUT))


LOOPS = pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Echo until EOF (the client's close_notify), then answer 'bye' (half-close) and close."""
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.write(b"bye")
    await writer.drain()
    writer.close()
    await writer.wait_closed()


@LOOPS
def test_cytls_client_and_server_echo_with_half_close(loop_kind: str) -> None:
    async def main() -> bytes:
        server = await aio.start_server(echo, "127.0.0.1", 0, ssl_context=server_context())
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await aio.open_connection(
                "127.0.0.1", port, ssl_context=client_context(), server_hostname="localhost"
            )
            conn = writer.get_extra_info("ssl_object")
            assert conn.version() == "TLSv1.3"
            writer.write(b"hello ")
            writer.write(b"world")
            await writer.drain()
            assert await reader.readexactly(11) == b"hello world"
            writer.write_eof()  # close_notify; we keep reading
            rest = await reader.read()
            writer.close()
            await writer.wait_closed()
            return rest

    assert run(main, loop_kind) == b"bye"


@LOOPS
def test_large_transfer_both_ways_with_flow_control(loop_kind: str) -> None:
    """8 MiB each way: the echo server's drain() and the reader's limit both engage."""
    payload = bytes(range(256)) * (8 * 4096)

    async def main() -> tuple[str, str]:
        server = await aio.start_server(echo, "127.0.0.1", 0, ssl_context=server_context())
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await aio.open_connection(
                "127.0.0.1", port, ssl_context=client_context(), server_hostname="localhost"
            )

            async def send() -> None:
                for offset in range(0, len(payload), 1 << 16):
                    writer.write(payload[offset : offset + (1 << 16)])
                    await writer.drain()
                writer.write_eof()

            sender = asyncio.create_task(send())
            received = hashlib.sha256()
            while chunk := await reader.read(1 << 16):  # until the server's close_notify
                received.update(chunk)
            await sender
            writer.close()
            await writer.wait_closed()
            return received.hexdigest(), hashlib.sha256(payload + b"bye").hexdigest()

    got, expected = run(main, loop_kind)
    assert got == expected


def test_cytls_client_against_asyncio_ssl_server() -> None:
    files = credentials()

    async def main() -> bytes:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(files.certfile, files.keyfile)
        server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=context)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await aio.open_connection(
                "127.0.0.1", port, ssl_context=client_context(), server_hostname="localhost"
            )
            writer.write(b"ping")
            await writer.drain()
            answer = await reader.readexactly(4)
            writer.close()
            await writer.wait_closed()
            return answer

    assert run(main, "asyncio") == b"ping"


async def echo_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Echo one read, then close (OpenSSL refuses data after it has sent close_notify)."""
    writer.write(await reader.read(65536))
    await writer.drain()
    writer.close()
    await writer.wait_closed()


def test_asyncio_ssl_client_against_cytls_server() -> None:
    files = credentials()

    async def main() -> bytes:
        server = await aio.start_server(echo_once, "127.0.0.1", 0, ssl_context=server_context())
        port = server.sockets[0].getsockname()[1]
        async with server:
            context = ssl.create_default_context(cadata=files.ca_pem)
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=context, server_hostname="localhost"
            )
            writer.write(b"ping")
            await writer.drain()
            answer = await reader.readexactly(4)
            assert writer.get_extra_info("ssl_object").version() == "TLSv1.3"
            writer.close()
            await writer.wait_closed()
            return answer

    assert run(main, "asyncio") == b"ping"


def test_handshake_failure_raises_from_open_connection() -> None:
    async def main() -> None:
        server = await aio.start_server(echo, "127.0.0.1", 0, ssl_context=server_context())
        port = server.sockets[0].getsockname()[1]
        async with server:
            with pytest.raises(cytls.CertificateError) as info:
                await aio.open_connection(
                    "127.0.0.1", port, ssl_context=client_context(), server_hostname="wrong.example"
                )
            assert info.value.verify_code == 62

    run(main, "asyncio")


def test_truncation_reaches_the_reader() -> None:
    """The server's TCP closes without close_notify: the client's reader raises SSLEOFError."""

    async def abrupt(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"partial")
        await writer.drain()
        writer.transport.abort()

    async def main() -> None:
        server = await aio.start_server(abrupt, "127.0.0.1", 0, ssl_context=server_context())
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await aio.open_connection(
                "127.0.0.1", port, ssl_context=client_context(), server_hostname="localhost"
            )
            assert await reader.readexactly(7) == b"partial"
            with pytest.raises(ssl.SSLEOFError):
                await reader.read()
            writer.close()

    run(main, "asyncio")


ANSWER = b"answer after the client's close_notify"


class Recorder(asyncio.Protocol):
    """What a plain protocol under aio.create_server sees."""

    def __init__(self) -> None:
        self.events: list[object] = []
        self.done = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.events.append(("made", transport.get_extra_info("tls_version")))

    def data_received(self, data: bytes) -> None:
        self.events.append(data)

    def eof_received(self) -> bool:
        self.events.append("eof")
        self.transport.write(ANSWER)
        return True  # half-open: we may still write

    def connection_lost(self, exc: Exception | None) -> None:
        self.events.append(("lost", exc))
        self.done.set_result(None)


@LOOPS
def test_create_server_gives_protocols_plaintext_and_one_eof(loop_kind: str) -> None:
    """aio.create_server: connection_made after the handshake, the data, eof_received exactly
    once at close_notify even when bytes follow it (they are ignored, RFC 8446 §6.1)."""

    async def main() -> tuple[list[object], bytes]:
        protocols: list[Recorder] = []

        def factory() -> Recorder:
            protocols.append(Recorder())
            return protocols[-1]

        server = await aio.create_server(factory, "127.0.0.1", 0, ssl_context=server_context())
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            conn = cytls.Connection(client_context(), server_hostname="localhost")
            writer.write(conn.data_to_send())
            while not conn.handshake_complete:
                conn.receive_data(await reader.read(65536))
            conn.send(b"request")
            conn.close()
            writer.write(conn.data_to_send())
            answer = bytearray()
            while len(answer) < len(ANSWER):
                conn.receive_data(await reader.read(65536))
                while conn.pending():
                    answer += conn.recv()
            writer.write(b"\x17\x03\x03\x00\x05after")  # ignored: it follows close_notify
            await writer.drain()
            await asyncio.sleep(0.2)
            writer.close()  # TCP EOF: the server side closes too
            await protocols[0].done
            return protocols[0].events, bytes(answer)

    events, answer = run(main, loop_kind)
    assert events == [("made", "TLSv1.3"), b"request", "eof", ("lost", None)]
    assert answer == ANSWER

"""asyncio's own TLS support (``sslproto``) driven by a cytls context: it only calls ``wrap_bio``
and the SSLObject methods, so ``ssl=TLSContext`` works for clients and servers, against cytls
and against the ``ssl`` module on the other end."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import Any

import pytest
from handshakeutil import client_context, credentials, server_context

import cytls

TIMEOUT = 10.0


def ssl_server_context() -> ssl.SSLContext:
    creds = credentials()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(creds.certfile, creds.keyfile)
    return context


def ssl_client_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=credentials().ca_pem)
    return context


COMBINATIONS: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
    "cytls-cytls": (client_context, server_context),
    "cytls-client-ssl-server": (client_context, ssl_server_context),
    "ssl-client-cytls-server": (ssl_client_context, server_context),
}


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()
        await writer.wait_closed()


async def exchange(client_ctx: Any, server_ctx: Any, payloads: list[bytes]) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen["server_cipher"] = writer.get_extra_info("cipher")
        seen["server_object"] = writer.get_extra_info("ssl_object")
        await echo(reader, writer)

    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
        )
        seen["peercert"] = writer.get_extra_info("peercert")
        seen["cipher"] = writer.get_extra_info("cipher")
        seen["client_object"] = writer.get_extra_info("ssl_object")
        echoed = []
        for payload in payloads:
            writer.write(payload)
            await writer.drain()
            echoed.append(await reader.readexactly(len(payload)))
        seen["echoed"] = echoed
        writer.close()
        await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()
    return seen


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_echo_through_asyncio_sslproto(combination: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="asyncio")
    make_client, make_server = COMBINATIONS[combination]
    payloads = [b"hello", b"x" * 100_000, bytes(range(256)) * 64]
    seen = asyncio.run(asyncio.wait_for(exchange(make_client(), make_server(), payloads), TIMEOUT))
    assert seen["echoed"] == payloads
    assert seen["cipher"][1] == "TLSv1.3"
    assert seen["cipher"] == seen["server_cipher"]
    assert seen["peercert"]["subject"] == ((("commonName", "localhost"),),)
    client_side, server_side = combination.split("-")[0], combination.split("-")[-2]
    assert isinstance(seen["client_object"], cytls.TLSObject) == (client_side == "cytls")
    assert isinstance(seen["server_object"], cytls.TLSObject) == (server_side == "cytls")
    assert not caplog.records  # asyncio logged no error: a clean close on both ends


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_server_closes_first(combination: str, caplog: pytest.LogCaptureFixture) -> None:
    """The server writes and closes: the client reads everything, then a clean EOF."""
    caplog.set_level(logging.WARNING, logger="asyncio")
    make_client, make_server = COMBINATIONS[combination]

    async def main() -> bytes:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"goodbye" * 1000)
            await writer.drain()
            writer.close()
            await writer.wait_closed()

        server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=make_server())
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=make_client(), server_hostname="localhost"
            )
            data = await reader.read()  # to EOF: the server's close_notify
            writer.close()
            await writer.wait_closed()
        finally:
            server.close()
            await server.wait_closed()
        return data

    assert asyncio.run(asyncio.wait_for(main(), TIMEOUT)) == b"goodbye" * 1000
    assert not caplog.records


def test_certificate_failure_surfaces_as_ssl_error() -> None:
    async def main() -> None:
        server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_context())
        port = server.sockets[0].getsockname()[1]
        try:
            with pytest.raises(ssl.SSLCertVerificationError) as info:
                await asyncio.open_connection(
                    "127.0.0.1", port, ssl=client_context(), server_hostname="elsewhere.example"
                )
            assert info.value.verify_code == 62
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))


def test_alpn_through_asyncio() -> None:
    async def main() -> tuple[str | None, str | None]:
        chosen: dict[str, str | None] = {}

        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            chosen["server"] = writer.get_extra_info("ssl_object").selected_alpn_protocol()
            await echo(reader, writer)

        server = await asyncio.start_server(
            handler, "127.0.0.1", 0, ssl=server_context(alpn=["h2"])
        )
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1",
                port,
                ssl=client_context(alpn=["h2", "http/1.1"]),
                server_hostname="localhost",
            )
            client_choice = writer.get_extra_info("ssl_object").selected_alpn_protocol()
            writer.write(b"ping")
            assert await reader.readexactly(4) == b"ping"
            writer.close()
            await writer.wait_closed()
        finally:
            server.close()
            await server.wait_closed()
        return client_choice, chosen.get("server")

    assert asyncio.run(asyncio.wait_for(main(), TIMEOUT)) == ("h2", "h2")

"""The version-neutral hello phase (issue 13, item 4): the server reads the ClientHello once,
chooses the version by RFC 8446 §4.2.1 and hands the ClientHello to that version's state
machine; a version with a state machine registered plugs in without touching the others.

TLS 1.2 does not exist yet, so a stand-in registered for it here shows the dispatch: a
ClientHello offering only TLS 1.2 reaches the stand-in, one offering TLS 1.3 as well reaches
the TLS 1.3 state machine (the server's preference), and one offering neither ends in
protocol_version.
"""

from __future__ import annotations

import dataclasses
import ssl
from typing import ClassVar

import pytest
from handshakeutil import (
    client_context,
    client_hello_of,
    hello_record,
    replace_extension,
    server_context,
)

import cytls
from cytls.errors import ProtocolError
from cytls.handshake import hello, versions
from cytls.handshake.server13 import ServerHandshake
from cytls.registry import ProtocolVersion
from cytls.wire import extensions as ext
from cytls.wire.enums import AlertDescription
from cytls.wire.messages import ClientHello, ExtensionType


class StandInServer12(ServerHandshake):
    """Where a TLS 1.2 server state machine will go: it only records what it was given."""

    given: ClassVar[list[ClientHello]] = []

    def receive_client_hello(
        self, hello: ClientHello, ignored: tuple[bytes, bytes], raw: bytes
    ) -> None:
        StandInServer12.given.append(hello)


@pytest.fixture
def tls12_registered(monkeypatch: pytest.MonkeyPatch) -> list[ClientHello]:
    StandInServer12.given = []
    monkeypatch.setattr(versions, "IMPLEMENTED", (ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2))
    monkeypatch.setattr(
        hello,
        "SERVER_HANDSHAKES",
        {**hello.SERVER_HANDSHAKES, ProtocolVersion.TLSv1_2: StandInServer12},
    )
    return StandInServer12.given


def client_hello_offering(*offered: int) -> tuple[ClientHello, bytes]:
    """A cytls client's ClientHello whose supported_versions lists ``offered`` (none: without
    the extension, as a TLS 1.2 client's), and its record."""
    client = cytls.Connection(client_context(), server_hostname="localhost")
    first = client_hello_of(client.data_to_send())
    data = ext.encode_supported_versions_client(list(offered)) if offered else None
    extensions = replace_extension(first.extensions, ExtensionType.supported_versions, data)
    changed = dataclasses.replace(first, extensions=extensions)
    return changed, hello_record(changed)


def test_only_tls12_goes_to_the_tls12_state_machine(tls12_registered: list[ClientHello]) -> None:
    server = cytls.Connection(server_context(), server_side=True)
    sent, data = client_hello_offering(ProtocolVersion.TLSv1_2)
    server.receive_data(data)
    assert tls12_registered == [sent]
    assert type(server._handshake) is StandInServer12


def test_tls13_is_preferred_when_both_are_offered(tls12_registered: list[ClientHello]) -> None:
    server = cytls.Connection(server_context(), server_side=True)
    _, data = client_hello_offering(ProtocolVersion.TLSv1_2, ProtocolVersion.TLSv1_3)
    server.receive_data(data)
    assert tls12_registered == []
    assert type(server._handshake) is ServerHandshake
    assert server.data_to_send()  # the TLS 1.3 flight


def test_maximum_version_leaves_out_the_newer_machine(
    tls12_registered: list[ClientHello],
) -> None:
    context = server_context()
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    server = cytls.Connection(context, server_side=True)
    _, data = client_hello_offering(ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2)
    server.receive_data(data)
    assert len(tls12_registered) == 1


def test_a_client_hello_without_supported_versions_offers_tls12(
    tls12_registered: list[ClientHello],
) -> None:
    """A TLS 1.2 client sends no supported_versions: its legacy_version 0x0303 is its offer
    (RFC 8446 §4.2.1, RFC 5246 §E.1)."""
    server = cytls.Connection(server_context(), server_side=True)
    sent, data = client_hello_offering()
    server.receive_data(data)
    assert tls12_registered == [sent]


@pytest.mark.parametrize(
    "offered, minimum",
    [((0x0302,), None), ((0x7F1C,), None), ((), ssl.TLSVersion.TLSv1_3)],
    ids=["tls11", "draft", "none-to-a-tls13-only-server"],
)
def test_no_version_in_common_is_protocol_version(
    offered: tuple[int, ...], minimum: ssl.TLSVersion | None
) -> None:
    context = server_context()
    if minimum is not None:
        context.minimum_version = minimum
    server = cytls.Connection(context, server_side=True)
    _, data = client_hello_offering(*offered)
    with pytest.raises(ProtocolError) as info:
        server.receive_data(data)
    assert info.value.alert == AlertDescription.protocol_version
    assert "no protocol version in common" in str(info.value)
    assert not server.data_to_send().startswith(b"\x16")  # an alert, no ServerHello


def test_no_version_enabled_fails_at_the_start() -> None:
    for server_side, maximum in (
        (False, ssl.TLSVersion.TLSv1_2),  # no TLS 1.2 client yet
        (True, ssl.TLSVersion.TLSv1_1),
    ):
        context = server_context() if server_side else client_context()
        context.maximum_version = maximum
        with pytest.raises(ProtocolError) as info:
            cytls.Connection(
                context, server_side=server_side, server_hostname=None if server_side else "x"
            )
        assert info.value.alert == AlertDescription.protocol_version


def test_enabled_versions_follow_the_context_bounds() -> None:
    context = client_context()
    assert context.handshake_policy(False).versions == (ProtocolVersion.TLSv1_3,)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    assert context.handshake_policy(False).versions == (ProtocolVersion.TLSv1_3,)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    assert context.handshake_policy(False).versions == ()
    server = server_context()
    assert server.handshake_policy(True).versions == (
        ProtocolVersion.TLSv1_3,
        ProtocolVersion.TLSv1_2,
    )

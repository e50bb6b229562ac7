"""The frozen per-connection HandshakePolicy a TLSContext builds (issue 13, item 1): each
connection runs under its context's configuration as it was when the connection started, a
later change reaches new connections, and no change is lost to the policy cache."""

from __future__ import annotations

import ssl

import pytest
from handshakeutil import client_context, credentials, handshake, server_context

import cytls
from cytls.handshake.policy import HandshakePolicy


def test_a_change_reaches_the_next_connection_not_the_running_one() -> None:
    client_ctx, server_ctx = client_context(), server_context()
    server_ctx.set_ciphers("TLS_AES_256_GCM_SHA384")
    server = cytls.Connection(server_ctx, server_side=True)
    server_ctx.set_ciphers("TLS_CHACHA20_POLY1305_SHA256")  # after the server connection started
    client = cytls.Connection(client_ctx, server_hostname="localhost")
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    server.receive_data(client.data_to_send())
    assert server.cipher() is not None and server.cipher()[0] == "TLS_AES_256_GCM_SHA384"
    client, server = handshake(client_context(), server_ctx)
    assert server.cipher() is not None and server.cipher()[0] == "TLS_CHACHA20_POLY1305_SHA256"


def test_a_change_made_while_a_policy_is_built_is_not_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another thread sets verify_mode while this one builds a policy from the old value: the
    stale policy must not be cached for every later connection (a server would go on accepting
    clients without a certificate)."""
    context = server_context()
    context.load_verify_locations(cadata=credentials().ca_pem)
    build = context._make_policy

    def build_while_another_thread_writes(server_side: bool) -> HandshakePolicy:
        policy = build(server_side)
        context.verify_mode = ssl.CERT_REQUIRED
        return policy

    monkeypatch.setattr(context, "_make_policy", build_while_another_thread_writes)
    assert context.handshake_policy(True).verify_mode == ssl.CERT_NONE  # built before the write
    monkeypatch.undo()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.handshake_policy(True).verify_mode == ssl.CERT_REQUIRED


def test_the_policy_is_shared_until_the_context_changes() -> None:
    context = client_context()
    first = context.handshake_policy(False)
    assert context.handshake_policy(False) is first
    context.check_hostname = False
    assert context.handshake_policy(False) is not first
    assert context.handshake_policy(False).check_hostname is False


@pytest.mark.parametrize("name", ["cipher_suites", "groups", "alpn_protocols", "certificate_chain"])
def test_sequences_cannot_change_in_place(name: str) -> None:
    """A list changed in place would reach no policy; stored as a tuple it cannot be."""
    context = server_context()
    setattr(context, name, list(getattr(context, name)))
    value = getattr(context, name)
    assert isinstance(value, tuple)
    with pytest.raises(AttributeError):
        value.append(value[0] if value else b"h2")  # type: ignore[attr-defined]


def test_no_secret_in_the_policy_repr() -> None:
    context = server_context()
    policy = context.handshake_policy(True)
    text = repr(policy)
    assert "private_key" not in text and "ticket_keys" not in text
    assert "verify_mode" in text

"""Every abort of the TLS 1.3 handshake that RFC 8446 mandates, client and server side.

Each test drives a :class:`cytls.Connection` into the condition, through a crafted hello, a man
in the middle that rewrites (and re-seals) a protected message, or a forged record, and checks
the whole abort path with :func:`handshakeutil.assert_aborts`: the exact exception class and
alert, the fatal alert queued for the peer (which, fed it, raises ``PeerAlert``), and a
connection that refuses any further use.

Where cytls does not do what the RFC requires, the test keeps the RFC's expectation and is
marked ``xfail(strict=True)`` with the discrepancy as its reason. Tests whose docstring says
"Regression" found a bug that has since been fixed.
"""

from __future__ import annotations

import dataclasses
import datetime
import ssl
import struct
from collections.abc import Callable

import pki
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from handshakeutil import (
    ALERT,
    APPDATA,
    CCS,
    DEFAULT_GROUP,
    HANDSHAKE,
    SECP256R1,
    SECP384R1,
    X25519,
    X25519MLKEM768,
    Credentials,
    ManInTheMiddle,
    alerts_sent,
    assert_aborts,
    assert_peer_alert,
    assert_unusable,
    client_context,
    client_hello_of,
    connections,
    credentials,
    encode_extensions_raw,
    extension_map,
    handshake,
    hello_record,
    message,
    mlkem_marks,
    plaintext_messages,
    pump,
    read_protection,
    record,
    replace_extension,
    rewrite_body,
    rewrite_type,
    server_context,
    split_records,
    write_credentials,
)

import cytls
from cytls import CertificateError, PeerAlert, ProtocolError, TruncationError
from cytls.crypto.groups import ClientKeyShare
from cytls.events import AlertReceived, ConnectionClosed
from cytls.handshake.common import Environment
from cytls.wire import extensions as ext
from cytls.wire.enums import AlertDescription
from cytls.wire.messages import (
    HELLO_RETRY_REQUEST_RANDOM,
    Certificate,
    CertificateEntry,
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    ExtensionType,
    HandshakeType,
    ServerHello,
)

TLS13 = b"\x03\x04"
UNKNOWN_EXTENSION = 0x4A4A  # a GREASE value (RFC 8701): no implementation knows it
NST_BODY = b"\x00" * 9 + b"\x00\x01x\x00\x00"  # lifetime 0, age_add 0, no nonce, ticket "x"

Rewrite = Callable[[int, bytes], object]


# =================================================================================================
# Server side: crafted ClientHellos
# =================================================================================================


def fresh_client(**kwargs: object) -> tuple[cytls.Connection, ClientHello]:
    """A client that has queued its ClientHello, and that ClientHello parsed."""
    context = client_context(**kwargs)  # type: ignore[arg-type]
    client = cytls.Connection(context, server_hostname="localhost")
    return client, client_hello_of(client.data_to_send())


def new_server(context: cytls.TLSContext | None = None) -> cytls.Connection:
    return cytls.Connection(context or server_context(), server_side=True)


def with_ext(hello: ClientHello, ext_type: int, data: bytes | None) -> ClientHello:
    return dataclasses.replace(
        hello, extensions=replace_extension(hello.extensions, ext_type, data)
    )


def raw_hello_record(hello: ClientHello, extensions_block: bytes) -> bytes:
    """A ClientHello record whose extension block is given raw (duplicates allowed)."""
    body = dataclasses.replace(hello, extensions=[]).serialize()[:-2] + extensions_block
    return record(HANDSHAKE, message(HandshakeType.client_hello, body))


def key_share(*shares: tuple[int, bytes]) -> bytes:
    return ext.encode_key_share_client(list(shares))


def share(group: int) -> bytes:
    return ClientKeyShare.generate(group).key_exchange


def psk_extension() -> bytes:
    return ext.encode_pre_shared_key_client([(b"ticket", 0)], [bytes(32)])


def p256_off_curve() -> bytes:
    point = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = point.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return raw[:-1] + bytes([raw[-1] ^ 1])  # y + 1: not on the curve


def server_rejects(
    hello: ClientHello | bytes,
    alert: AlertDescription,
    client: cytls.Connection,
    server_ctx: cytls.TLSContext | None = None,
    match: str | None = None,
) -> None:
    data = hello if isinstance(hello, bytes) else hello_record(hello)
    assert_aborts(new_server(server_ctx), data, ProtocolError, alert, peer=client, match=match)


Mutation = Callable[[ClientHello], ClientHello]

CLIENT_HELLO_CASES: list[tuple[str, dict[str, str], Mutation, AlertDescription]] = [
    # RFC 8446 §4.2.1, D.2: no supported_versions means TLS 1.2 or older, so the TLS 1.2
    # server takes it, and finds none of its suites in this TLS 1.3 client's list.
    (
        "no_supported_versions",
        {},
        lambda h: with_ext(h, ExtensionType.supported_versions, None),
        AlertDescription.handshake_failure,
    ),
    (
        "supported_versions_without_tls13",
        {},
        lambda h: with_ext(h, ExtensionType.supported_versions, b"\x04\x03\x03\x03\x02"),
        AlertDescription.handshake_failure,
    ),
    (
        "supported_versions_tls11_only",
        {},
        lambda h: with_ext(h, ExtensionType.supported_versions, b"\x02\x03\x02"),
        AlertDescription.protocol_version,
    ),
    (
        "supported_versions_draft_only",
        {},
        lambda h: with_ext(h, ExtensionType.supported_versions, b"\x02\x7f\x1c"),
        AlertDescription.protocol_version,
    ),
    # §D.5: a Hello with legacy_version 0x0300 -> protocol_version.
    # Regression (found by these tests, since fixed): it was accepted.
    (
        "legacy_version_ssl3",
        {},
        lambda h: dataclasses.replace(h, legacy_version=0x0300),
        AlertDescription.protocol_version,
    ),
    # §4.1.2: exactly one compression method, null.
    (
        "compression_deflate",
        {},
        lambda h: dataclasses.replace(h, legacy_compression_methods=b"\x01"),
        AlertDescription.illegal_parameter,
    ),
    (
        "compression_null_and_deflate",
        {},
        lambda h: dataclasses.replace(h, legacy_compression_methods=b"\x00\x01"),
        AlertDescription.illegal_parameter,
    ),
    (
        "compression_deflate_and_null",
        {},
        lambda h: dataclasses.replace(h, legacy_compression_methods=b"\x01\x00"),
        AlertDescription.illegal_parameter,
    ),
    # §9.2: without pre_shared_key, signature_algorithms and supported_groups are mandatory,
    # and supported_groups comes with key_share and vice versa.
    (
        "missing_signature_algorithms",
        {},
        lambda h: with_ext(h, ExtensionType.signature_algorithms, None),
        AlertDescription.missing_extension,
    ),
    (
        "missing_key_share",
        {},
        lambda h: with_ext(h, ExtensionType.key_share, None),
        AlertDescription.missing_extension,
    ),
    (
        "missing_supported_groups",
        {},
        lambda h: with_ext(h, ExtensionType.supported_groups, None),
        AlertDescription.missing_extension,
    ),
    (
        "missing_groups_and_shares",
        {},
        lambda h: with_ext(
            with_ext(h, ExtensionType.supported_groups, None), ExtensionType.key_share, None
        ),
        AlertDescription.missing_extension,
    ),
    # §4.2.8: shares only for listed groups, in supported_groups order, one per group.
    (
        "share_for_unlisted_group",
        {"groups": "x25519:secp256r1"},
        lambda h: with_ext(
            with_ext(h, ExtensionType.supported_groups, ext.encode_supported_groups([X25519])),
            ExtensionType.key_share,
            key_share((X25519, share(X25519)), (SECP256R1, share(SECP256R1))),
        ),
        AlertDescription.illegal_parameter,
    ),
    (
        "shares_out_of_order",
        {"groups": "x25519:secp256r1"},
        lambda h: with_ext(
            h,
            ExtensionType.key_share,
            key_share((SECP256R1, share(SECP256R1)), (X25519, share(X25519))),
        ),
        AlertDescription.illegal_parameter,
    ),
    (
        "two_shares_for_one_group",
        {"groups": "x25519:secp256r1"},
        lambda h: with_ext(
            h, ExtensionType.key_share, key_share((X25519, share(X25519)), (X25519, share(X25519)))
        ),
        AlertDescription.illegal_parameter,
    ),
    # §4.2.11: pre_shared_key must be last; §4.2.9: and comes with psk_key_exchange_modes.
    (
        "pre_shared_key_not_last",
        {},
        lambda h: dataclasses.replace(
            h, extensions=[(ExtensionType.pre_shared_key, psk_extension()), *h.extensions]
        ),
        AlertDescription.illegal_parameter,
    ),
    (
        "pre_shared_key_without_psk_modes",
        {},
        lambda h: with_ext(
            with_ext(h, ExtensionType.psk_key_exchange_modes, None),
            ExtensionType.pre_shared_key,
            psk_extension(),
        ),
        AlertDescription.missing_extension,
    ),
    # §4.2: a recognised extension in a message it is not specified for -> illegal_parameter.
    # Regression (found by these tests, since fixed): oid_filters (CertificateRequest only)
    # was accepted in a ClientHello.
    (
        "oid_filters_in_client_hello",
        {},
        lambda h: with_ext(h, ExtensionType.oid_filters, b"\x00\x00"),
        AlertDescription.illegal_parameter,
    ),
    # §4.2.8.2 / §7.4.2 / RFC 7748 §6: invalid shares.
    (
        "x25519_share_all_zero",
        {"groups": "x25519"},
        lambda h: with_ext(h, ExtensionType.key_share, key_share((X25519, bytes(32)))),
        AlertDescription.illegal_parameter,
    ),
    (
        "x25519_share_too_short",
        {"groups": "x25519"},
        lambda h: with_ext(h, ExtensionType.key_share, key_share((X25519, share(X25519)[:31]))),
        AlertDescription.illegal_parameter,
    ),
    (
        "p256_share_off_curve",
        {"groups": "secp256r1"},
        lambda h: with_ext(h, ExtensionType.key_share, key_share((SECP256R1, p256_off_curve()))),
        AlertDescription.illegal_parameter,
    ),
    (
        "p256_share_compressed",
        {"groups": "secp256r1"},
        lambda h: with_ext(
            h, ExtensionType.key_share, key_share((SECP256R1, b"\x02" + share(SECP256R1)[1:33]))
        ),
        AlertDescription.illegal_parameter,
    ),
    # draft-ietf-tls-ecdhe-mlkem: the encapsulation key check, and the share's length.
    (
        "mlkem_encapsulation_key_out_of_range",
        {"groups": "X25519MLKEM768"},
        lambda h: with_ext(
            h, ExtensionType.key_share, key_share((X25519MLKEM768, b"\xff" * 1184 + share(X25519)))
        ),
        AlertDescription.illegal_parameter,
    ),
    (
        "mlkem_share_wrong_length",
        {"groups": "X25519MLKEM768"},
        lambda h: with_ext(
            h, ExtensionType.key_share, key_share((X25519MLKEM768, share(X25519MLKEM768)[:-1]))
        ),
        AlertDescription.illegal_parameter,
    ),
    # §4.1.1: nothing in common.
    (
        "only_unknown_suites",
        {},
        lambda h: dataclasses.replace(h, cipher_suites=[0xC02F, 0x00FF, 0x1305]),
        AlertDescription.handshake_failure,
    ),
    (
        "no_common_signature_scheme",
        {},
        lambda h: with_ext(
            h, ExtensionType.signature_algorithms, ext.encode_signature_algorithms([0x0804])
        ),
        AlertDescription.handshake_failure,
    ),
    # §6: a malformed supported_versions cannot be parsed -> decode_error.
    (
        "supported_versions_odd_length",
        {},
        lambda h: with_ext(h, ExtensionType.supported_versions, b"\x03\x03\x04\x03"),
        AlertDescription.decode_error,
    ),
]


@pytest.mark.parametrize(
    ("client_kwargs", "mutate", "alert"),
    [
        pytest.param(kw, m, a, id=name, marks=mlkem_marks(kw))
        for name, kw, m, a in CLIENT_HELLO_CASES
    ],
)
def test_server_rejects_client_hello(
    client_kwargs: dict[str, str], mutate: Mutation, alert: AlertDescription
) -> None:
    client, hello = fresh_client(**client_kwargs)
    server_rejects(mutate(hello), alert, client)


def test_server_no_common_suite() -> None:
    """§4.1.1: no overlap in cipher suites -> handshake_failure."""
    client, _ = connections(client_context(suites="TLS_AES_128_GCM_SHA256"))
    server = new_server(server_context(suites="TLS_AES_256_GCM_SHA384"))
    assert_aborts(
        server,
        client.data_to_send(),
        ProtocolError,
        AlertDescription.handshake_failure,
        peer=client,
    )


def test_server_no_common_group() -> None:
    """§4.1.1: no overlap between supported_groups and the server's groups -> handshake_failure."""
    client, _ = connections(client_context(groups="secp384r1"))
    server = new_server(server_context(groups="x25519:secp256r1"))
    assert_aborts(
        server,
        client.data_to_send(),
        ProtocolError,
        AlertDescription.handshake_failure,
        peer=client,
    )


def test_server_duplicate_extension() -> None:
    """§4.2: no two extensions of one type in a block (cytls: illegal_parameter)."""
    client, hello = fresh_client()
    extensions = [
        *hello.extensions,
        (ExtensionType.supported_groups, ext.encode_supported_groups([X25519])),
    ]
    server_rejects(
        raw_hello_record(hello, encode_extensions_raw(extensions)),
        AlertDescription.illegal_parameter,
        client,
    )


def test_server_duplicate_unknown_extension() -> None:
    client, hello = fresh_client()
    extensions = [(0x1234, b""), *hello.extensions, (0x1234, b"x")]
    server_rejects(
        raw_hello_record(hello, encode_extensions_raw(extensions)),
        AlertDescription.illegal_parameter,
        client,
    )


@pytest.mark.parametrize(
    "body_change",
    [
        pytest.param(lambda body: body[:-1], id="truncated"),
        pytest.param(lambda body: body + b"\x00", id="trailing_byte"),
        pytest.param(lambda body: body[:34] + b"\x21" + body[35:], id="session_id_too_long"),
        pytest.param(lambda body: body[:40], id="cut_in_session_id"),
    ],
)
def test_server_malformed_client_hello(body_change: Callable[[bytes], bytes]) -> None:
    """§6: a message that cannot be parsed -> decode_error."""
    client, hello = fresh_client()
    body = body_change(hello.serialize())
    server_rejects(
        record(HANDSHAKE, message(HandshakeType.client_hello, body)),
        AlertDescription.decode_error,
        client,
    )


def test_server_oversized_handshake_message_is_refused_at_its_header() -> None:
    """Bounded buffering: a header announcing 16 MiB is refused before any body arrives."""
    client, _ = fresh_client()
    header_only = record(HANDSHAKE, b"\x01\xff\xff\xff")
    assert_aborts(
        new_server(), header_only, ProtocolError, AlertDescription.decode_error, peer=client
    )


# --- harmless ClientHellos: the server must NOT abort (positive controls) ---------------------


def hooked_handshake(hook: Callable[[ClientHello], ClientHello], **client_kwargs: str) -> None:
    """A handshake whose ClientHello ``hook`` rewrote before the client sent it (so that the
    client's transcript matches what the server receives)."""
    client, server = connections(
        client_context(**client_kwargs), client_env=Environment(client_hello_hook=hook)
    )
    pump(client, server)
    assert client.handshake_complete and server.handshake_complete


def grease_groups(hello: ClientHello) -> ClientHello:
    groups = ext.decode_supported_groups(
        extension_map(hello.extensions)[ExtensionType.supported_groups]
    )
    return with_ext(
        hello, ExtensionType.supported_groups, ext.encode_supported_groups([0x2A2A, *groups])
    )


@pytest.mark.parametrize(
    "hook",
    [
        pytest.param(
            lambda h: dataclasses.replace(
                h, extensions=[(UNKNOWN_EXTENSION, b""), *h.extensions, (0xFE33, b"\x01\x02")]
            ),
            id="unknown_extensions_ignored",
        ),
        pytest.param(
            lambda h: with_ext(
                h, ExtensionType.supported_versions, b"\x06\x7a\x7a\x03\x04\x03\x03"
            ),
            id="grease_version_ignored",
        ),
        pytest.param(
            lambda h: dataclasses.replace(h, cipher_suites=[0x0A0A, 0xC02F, *h.cipher_suites]),
            id="unknown_suites_ignored",
        ),
        pytest.param(
            lambda h: dataclasses.replace(h, legacy_version=0x0301),
            id="legacy_version_tls10_ignored",
        ),
        pytest.param(
            lambda h: with_ext(h, ExtensionType.padding, bytes(300)), id="padding_extension"
        ),
        pytest.param(
            lambda h: with_ext(h, ExtensionType.pre_shared_key, psk_extension()),
            id="unknown_psk_ignored",
        ),
        pytest.param(grease_groups, id="grease_group_ignored"),
    ],
)
def test_server_tolerates(hook: Callable[[ClientHello], ClientHello]) -> None:
    hooked_handshake(hook, groups="x25519:secp256r1")


def test_server_empty_key_share_gets_hello_retry_request() -> None:
    """§4.2.8: an empty client_shares is legal and answered with a HelloRetryRequest."""
    _, hello = fresh_client()
    server = new_server()
    server.receive_data(hello_record(with_ext(hello, ExtensionType.key_share, key_share())))
    (raw,) = plaintext_messages(server.data_to_send())
    retry = ServerHello.parse(raw[4:])
    assert retry.is_hello_retry_request
    assert (
        ext.decode_key_share_hrr(extension_map(retry.extensions)[ExtensionType.key_share])
        == DEFAULT_GROUP
    )


def test_server_skips_rejected_early_data() -> None:
    """§4.2.10: a server that does not accept early data MUST skip the 0-RTT records that fail
    deprotection (up to max_early_data_size) and carry on.

    Regression (found by these tests, since fixed): the 0-RTT record failed the handshake with
    bad_record_mac.
    """

    def offer_early_data(hello: ClientHello) -> ClientHello:
        extensions = [(t, d) for t, d in hello.extensions if t != ExtensionType.pre_shared_key]
        extensions += [
            (ExtensionType.early_data, b""),
            (ExtensionType.pre_shared_key, psk_extension()),
        ]
        return dataclasses.replace(hello, extensions=extensions)

    client, server = connections(
        client_ctx=client_context(groups="x25519"),
        client_env=Environment(client_hello_hook=offer_early_data),
    )
    early_data = record(APPDATA, bytes(range(200)))  # sealed under a key the server lacks
    server.receive_data(client.data_to_send() + early_data + early_data)
    pump(client, server)
    assert client.handshake_complete and server.handshake_complete


# --- the second ClientHello (§4.1.2, §4.1.4, §4.2.8) ----------------------------------------------


def after_hello_retry_request() -> tuple[cytls.Connection, cytls.Connection, ClientHello]:
    """A server that sent HelloRetryRequest (for x25519) and the client's second hello."""
    client, server = connections(
        client_context(groups="secp256r1:x25519"), server_context(groups="x25519")
    )
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    return client, server, client_hello_of(client.data_to_send())


SECOND_HELLO_CASES: list[tuple[str, Mutation, AlertDescription]] = [
    (
        "changed_random",
        lambda h: dataclasses.replace(h, random=bytes(32)),
        AlertDescription.illegal_parameter,
    ),
    (
        "changed_suites",
        lambda h: dataclasses.replace(h, cipher_suites=h.cipher_suites[::-1]),
        AlertDescription.illegal_parameter,
    ),
    (
        "dropped_a_suite",
        lambda h: dataclasses.replace(h, cipher_suites=h.cipher_suites[:1]),
        AlertDescription.illegal_parameter,
    ),
    (
        "changed_session_id",
        lambda h: dataclasses.replace(h, legacy_session_id=bytes(32)),
        AlertDescription.illegal_parameter,
    ),
    (
        "share_for_the_wrong_group",
        lambda h: with_ext(h, ExtensionType.key_share, key_share((SECP256R1, share(SECP256R1)))),
        AlertDescription.illegal_parameter,
    ),
    (
        "two_shares",
        lambda h: with_ext(
            h,
            ExtensionType.key_share,
            key_share((SECP256R1, share(SECP256R1)), (X25519, share(X25519))),
        ),
        AlertDescription.illegal_parameter,
    ),
    (
        "empty_key_share",
        lambda h: with_ext(h, ExtensionType.key_share, key_share()),
        AlertDescription.illegal_parameter,
    ),
    # Everything but key_share, early_data, cookie, pre_shared_key and padding stays (§4.1.2).
    (
        "changed_server_name",
        lambda h: with_ext(h, ExtensionType.server_name, b"\x00\x0e\x00\x00\x0bexample.com"),
        AlertDescription.illegal_parameter,
    ),
    (
        "added_alpn",
        lambda h: with_ext(
            h, ExtensionType.application_layer_protocol_negotiation, b"\x00\x03\x02h2"
        ),
        AlertDescription.illegal_parameter,
    ),
    (
        "changed_signature_algorithms",
        lambda h: with_ext(h, ExtensionType.signature_algorithms, b"\x00\x02\x04\x03"),
        AlertDescription.illegal_parameter,
    ),
    (
        "changed_supported_groups",
        lambda h: with_ext(h, ExtensionType.supported_groups, b"\x00\x02\x00\x1d"),
        AlertDescription.illegal_parameter,
    ),
    (
        "added_early_data",
        lambda h: with_ext(h, ExtensionType.early_data, b""),
        AlertDescription.illegal_parameter,
    ),
    # Every ClientHello follows the TLS 1.3 rules, the second one too. Regressions (found by
    # these tests, since fixed): the second ClientHello was not re-checked, so each of these
    # was accepted (or, without key_share, refused with illegal_parameter).
    (
        "compression_null_and_deflate",
        lambda h: dataclasses.replace(h, legacy_compression_methods=b"\x00\x01"),
        AlertDescription.illegal_parameter,
    ),
    (
        "no_signature_algorithms",
        lambda h: with_ext(h, ExtensionType.signature_algorithms, None),
        AlertDescription.missing_extension,
    ),
    (
        "no_key_share",
        lambda h: with_ext(h, ExtensionType.key_share, None),
        AlertDescription.missing_extension,
    ),
    (
        "no_supported_versions",
        lambda h: with_ext(h, ExtensionType.supported_versions, None),
        AlertDescription.protocol_version,
    ),
    (
        "changed_legacy_version",
        lambda h: dataclasses.replace(h, legacy_version=0x0301),
        AlertDescription.illegal_parameter,
    ),
    # The server skips what it does not recognize without parsing it (cytls._hello), but the
    # second ClientHello must still repeat it (§4.1.2).
    (
        "added_unknown_extension",
        lambda h: with_ext(h, UNKNOWN_EXTENSION, b"grease"),
        AlertDescription.illegal_parameter,
    ),
    (
        "added_unknown_suite",
        lambda h: dataclasses.replace(h, cipher_suites=[0x0A0A, *h.cipher_suites]),
        AlertDescription.illegal_parameter,
    ),
]


@pytest.mark.parametrize(
    ("mutate", "alert"), [pytest.param(m, a, id=name) for name, m, a in SECOND_HELLO_CASES]
)
def test_server_rejects_second_client_hello(mutate: Mutation, alert: AlertDescription) -> None:
    client, server, hello = after_hello_retry_request()
    assert_aborts(server, hello_record(mutate(hello)), ProtocolError, alert, peer=client)


@pytest.mark.parametrize("padding", [b"", bytes(100)], ids=["empty", "100"])
def test_server_second_client_hello_with_other_padding(padding: bytes) -> None:
    """§4.1.2 lets padding change: the server goes on with its ServerHello (the client, whose
    transcript holds the hello it sent, cannot finish this handshake)."""
    _, server, hello = after_hello_retry_request()
    server.receive_data(hello_record(with_ext(hello, ExtensionType.padding, padding)))
    flight = server.data_to_send()
    assert (flight[0], flight[5]) == (HANDSHAKE, HandshakeType.server_hello)


def test_server_conformant_second_client_hello() -> None:
    """Control: the unmodified second ClientHello completes the handshake."""
    client, server, hello = after_hello_retry_request()
    server.receive_data(hello_record(hello))
    client.receive_data(server.data_to_send())
    server.receive_data(client.data_to_send())
    assert client.handshake_complete and server.handshake_complete


# --- the client's second flight ---------------------------------------------------------------


def server_waiting_for_finished() -> tuple[cytls.Connection, cytls.Connection, ManInTheMiddle]:
    """Client and server relayed by a man in the middle; the client's Finished is pending."""
    client, server = connections()
    mitm = ManInTheMiddle(client, server)
    server.receive_data(mitm.client_flight())
    client.receive_data(mitm.server_flight())
    assert client.handshake_complete and not server.handshake_complete
    return client, server, mitm


def flip_last_byte(raw: bytes) -> bytes:
    return raw[:-1] + bytes([raw[-1] ^ 0x01])


def test_server_bad_client_finished() -> None:
    """§4.4.4: a wrong Finished -> decrypt_error."""
    client, server, mitm = server_waiting_for_finished()
    data = mitm.client_flight(rewrite_type(HandshakeType.finished, flip_last_byte))
    assert_aborts(
        server,
        data,
        ProtocolError,
        AlertDescription.decrypt_error,
        peer=client,
        to_peer=lambda d: mitm.relay(mitm.to_client, d),
    )


def test_server_client_finished_wrong_length() -> None:
    """§6: 'opaque verify_data[Hash.length]' one byte too long cannot be parsed ->
    decode_error.

    Regression (found by these tests, since fixed): it was decrypt_error.
    """
    client, server, mitm = server_waiting_for_finished()
    longer = rewrite_type(
        HandshakeType.finished, lambda raw: message(HandshakeType.finished, raw[4:] + b"\x00")
    )
    assert_aborts(
        server,
        mitm.client_flight(longer),
        ProtocolError,
        AlertDescription.decode_error,
        peer=client,
    )


OUT_OF_ORDER_FOR_SERVER = [
    pytest.param(
        message(HandshakeType.certificate, b"\x00\x00\x00\x00"), id="unsolicited_certificate"
    ),
    pytest.param(
        message(HandshakeType.certificate_verify, b"\x04\x03\x00\x00"), id="certificate_verify"
    ),
    pytest.param(message(HandshakeType.key_update, b"\x00"), id="key_update_before_finished"),
    pytest.param(message(HandshakeType.end_of_early_data, b""), id="end_of_early_data"),
    pytest.param(message(HandshakeType.new_session_ticket, NST_BODY), id="new_session_ticket"),
    pytest.param(message(HandshakeType.server_hello, bytes(38)), id="server_hello"),
    pytest.param(message(99, b""), id="unknown_type"),
]


@pytest.mark.parametrize("forged", OUT_OF_ORDER_FOR_SERVER)
def test_server_message_out_of_order_instead_of_finished(forged: bytes) -> None:
    """§4: a handshake message in an unexpected order -> unexpected_message."""
    client, server, _ = server_waiting_for_finished()
    client.data_to_send()  # the real Finished is dropped
    forged_record = read_protection(server).seal(HANDSHAKE, forged)
    assert_aborts(
        server, forged_record, ProtocolError, AlertDescription.unexpected_message, peer=client
    )


def test_server_client_hello_instead_of_finished() -> None:
    client, server, _ = server_waiting_for_finished()
    client.data_to_send()
    _, hello = fresh_client()
    forged = read_protection(server).seal(HANDSHAKE, hello.to_message())
    assert_aborts(server, forged, ProtocolError, AlertDescription.unexpected_message, peer=client)


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(message(HandshakeType.finished, bytes(32)), id="finished"),
        pytest.param(message(HandshakeType.server_hello, bytes(38)), id="server_hello"),
        pytest.param(message(HandshakeType.certificate, b"\x00\x00\x00\x00"), id="certificate"),
        pytest.param(message(HandshakeType.key_update, b"\x00"), id="key_update"),
    ],
)
def test_server_first_message_not_client_hello(first: bytes) -> None:
    client, _ = fresh_client()
    assert_aborts(
        new_server(),
        record(HANDSHAKE, first),
        ProtocolError,
        AlertDescription.unexpected_message,
        peer=client,
    )


def test_server_application_data_before_client_hello() -> None:
    """§5: application data is never unprotected -> unexpected_message."""
    client, _ = fresh_client()
    assert_aborts(
        new_server(),
        record(APPDATA, b"GET /"),
        ProtocolError,
        AlertDescription.unexpected_message,
        peer=client,
    )


def test_server_application_data_under_handshake_keys() -> None:
    """Application data before the client's Finished (under the handshake key) ->
    unexpected_message."""
    client, server, _ = server_waiting_for_finished()
    client.data_to_send()
    forged = read_protection(server).seal(APPDATA, b"early")
    assert_aborts(server, forged, ProtocolError, AlertDescription.unexpected_message, peer=client)


def test_application_data_cannot_be_sent_before_the_handshake() -> None:
    client, server = connections()
    with pytest.raises(cytls.TLSError):
        client.send(b"too early")
    with pytest.raises(cytls.TLSError):
        server.send(b"too early")


# --- change_cipher_spec (§5) -------------------------------------------------------------------


def test_server_change_cipher_spec_before_client_hello() -> None:
    client, _ = fresh_client()
    assert_aborts(
        new_server(),
        record(CCS, b"\x01"),
        ProtocolError,
        AlertDescription.unexpected_message,
        peer=client,
    )


@pytest.mark.parametrize("payload", [b"\x02", b"\x01\x01", b"\x00"], ids=["2", "two_bytes", "0"])
def test_server_change_cipher_spec_wrong_value(payload: bytes) -> None:
    client, server, _ = server_waiting_for_finished()
    client.data_to_send()
    assert_aborts(
        server,
        record(CCS, payload),
        ProtocolError,
        AlertDescription.unexpected_message,
        peer=client,
    )


def test_server_protected_change_cipher_spec() -> None:
    client, server, _ = server_waiting_for_finished()
    client.data_to_send()
    forged = read_protection(server).seal(CCS, b"\x01")
    assert_aborts(server, forged, ProtocolError, AlertDescription.unexpected_message, peer=client)


def test_change_cipher_spec_after_finished() -> None:
    """§5: a change_cipher_spec after the peer's Finished is an unexpected record type."""
    client, server = handshake()
    assert_aborts(
        server,
        record(CCS, b"\x01"),
        ProtocolError,
        AlertDescription.unexpected_message,
        peer=client,
    )
    client, server = handshake()
    assert_aborts(
        client,
        record(CCS, b"\x01"),
        ProtocolError,
        AlertDescription.unexpected_message,
        peer=server,
    )


def test_change_cipher_spec_during_handshake_is_dropped() -> None:
    """Control (§5): unprotected 0x01 change_cipher_spec records mid-handshake are ignored."""
    client, server = connections()
    server.receive_data(client.data_to_send() + record(CCS, b"\x01"))
    client.receive_data(record(CCS, b"\x01") + server.data_to_send())
    server.receive_data(record(CCS, b"\x01") + record(CCS, b"\x01") + client.data_to_send())
    assert client.handshake_complete and server.handshake_complete


# --- handshake messages spanning a key change (§5.1) -----------------------------------------


def test_server_client_hello_and_more_in_one_record() -> None:
    """The ClientHello precedes a key change: bytes after it in its record -> unexpected."""
    client, hello = fresh_client()
    data = record(HANDSHAKE, hello.to_message() + b"\x14\x00")
    assert_aborts(
        new_server(), data, ProtocolError, AlertDescription.unexpected_message, peer=client
    )


def test_server_client_hello_and_whole_message_in_one_record() -> None:
    client, hello = fresh_client()
    data = record(HANDSHAKE, hello.to_message() + message(HandshakeType.finished, bytes(48)))
    assert_aborts(
        new_server(), data, ProtocolError, AlertDescription.unexpected_message, peer=client
    )


def test_server_client_finished_and_more_in_one_record() -> None:
    """The client's Finished precedes a key change (to the application key)."""
    client, server, mitm = server_waiting_for_finished()
    ccs = mitm.client_flight(rewrite_type(HandshakeType.finished, lambda raw: []))
    finished = mitm.to_server.seen[-1][2]
    data = ccs + mitm.seal_to_server(HANDSHAKE, finished + b"\x18\x00")
    assert_aborts(
        server,
        data,
        ProtocolError,
        AlertDescription.unexpected_message,
        peer=client,
        to_peer=lambda d: mitm.relay(mitm.to_client, d),
    )


def test_client_server_hello_and_more_in_one_record() -> None:
    """The ServerHello precedes the client's key change."""
    client, server = connections()
    server.receive_data(client.data_to_send())
    records = split_records(server.data_to_send())
    assert records[0][0] == HANDSHAKE
    data = record(HANDSHAKE, records[0][2] + b"\x08\x00")
    assert_aborts(client, data, ProtocolError, AlertDescription.unexpected_message, peer=server)


def test_client_server_hello_and_plaintext_encrypted_extensions_in_one_record() -> None:
    client, server = connections()
    server.receive_data(client.data_to_send())
    records = split_records(server.data_to_send())
    data = record(
        HANDSHAKE, records[0][2] + message(HandshakeType.encrypted_extensions, b"\x00\x00")
    )
    assert_aborts(client, data, ProtocolError, AlertDescription.unexpected_message, peer=server)


def test_client_server_finished_and_more_in_one_record() -> None:
    client, server = connections()
    mitm = ManInTheMiddle(client, server)
    server.receive_data(mitm.client_flight())
    flight = mitm.server_flight(rewrite_type(HandshakeType.finished, lambda raw: []))
    finished = mitm.to_client.seen[-1][2]
    data = flight + mitm.seal_to_client(HANDSHAKE, finished + b"\x04\x00")
    assert_aborts(client, data, ProtocolError, AlertDescription.unexpected_message, peer=server)


@pytest.mark.parametrize("side", ["client", "server"])
def test_key_update_and_more_in_one_record(side: str) -> None:
    """A KeyUpdate precedes a key change: more bytes in its record -> unexpected_message."""
    client, server = handshake()
    victim, peer = (client, server) if side == "client" else (server, client)
    data = message(HandshakeType.key_update, b"\x00") + b"\x17\x00"
    sealed = read_protection(victim).seal(HANDSHAKE, data)
    assert_aborts(victim, sealed, ProtocolError, AlertDescription.unexpected_message, peer=peer)


# --- after the handshake (server) ---------------------------------------------------------------


def test_server_renegotiation_client_hello() -> None:
    """§4.1.2: a ClientHello after a TLS 1.3 handshake -> unexpected_message."""
    client, server = handshake()
    _, hello = fresh_client()
    forged = read_protection(server).seal(HANDSHAKE, hello.to_message())
    assert_aborts(server, forged, ProtocolError, AlertDescription.unexpected_message, peer=client)


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(message(HandshakeType.finished, bytes(48)), id="finished"),
        pytest.param(message(HandshakeType.certificate, b"\x00\x00\x00\x00"), id="certificate"),
        pytest.param(message(HandshakeType.new_session_ticket, NST_BODY), id="new_session_ticket"),
    ],
)
def test_server_post_handshake_unexpected(forged: bytes) -> None:
    client, server = handshake()
    sealed = read_protection(server).seal(HANDSHAKE, forged)
    assert_aborts(server, sealed, ProtocolError, AlertDescription.unexpected_message, peer=client)


@pytest.mark.parametrize("side", ["client", "server"])
@pytest.mark.parametrize(
    ("body", "alert"),
    [
        pytest.param(b"\x02", AlertDescription.illegal_parameter, id="request_update_2"),
        pytest.param(b"\xff", AlertDescription.illegal_parameter, id="request_update_255"),
        pytest.param(b"\x00\x00", AlertDescription.decode_error, id="two_bytes"),
        pytest.param(b"", AlertDescription.decode_error, id="empty"),
    ],
)
def test_bad_key_update(side: str, body: bytes, alert: AlertDescription) -> None:
    """§4.6.3: request_update other than 0/1 -> illegal_parameter."""
    client, server = handshake()
    victim, peer = (client, server) if side == "client" else (server, client)
    sealed = read_protection(victim).seal(HANDSHAKE, message(HandshakeType.key_update, body))
    assert_aborts(victim, sealed, ProtocolError, alert, peer=peer)


# =================================================================================================
# Client side
# =================================================================================================


def client_after_server_flight(
    rewrite: Rewrite | None = None,
    *,
    client_ctx: cytls.TLSContext | None = None,
    server_ctx: cytls.TLSContext | None = None,
    hostname: str = "localhost",
) -> tuple[cytls.Connection, cytls.Connection, bytes, ManInTheMiddle]:
    """(client, server, the server's flight rewritten by ``rewrite``, the man in the middle)."""
    client, server = connections(client_ctx, server_ctx, hostname=hostname)
    mitm = ManInTheMiddle(client, server)
    server.receive_data(mitm.client_flight())
    flight = mitm.server_flight(rewrite)  # type: ignore[arg-type]
    return client, server, flight, mitm


def client_rejects(
    rewrite: Rewrite,
    alert: AlertDescription | tuple[AlertDescription, ...],
    *,
    exc: type[cytls.TLSError] | tuple[type[cytls.TLSError], ...] = ProtocolError,
    client_ctx: cytls.TLSContext | None = None,
    server_ctx: cytls.TLSContext | None = None,
    hostname: str = "localhost",
    match: str | None = None,
) -> BaseException:
    client, server, flight, _ = client_after_server_flight(
        rewrite, client_ctx=client_ctx, server_ctx=server_ctx, hostname=hostname
    )
    return assert_aborts(client, flight, exc, alert, peer=server, match=match)


def edit_server_hello(change: Callable[[ServerHello], None]) -> Rewrite:
    def apply(body: bytes) -> bytes:
        hello = ServerHello.parse(body)
        change(hello)
        return hello.serialize()

    return rewrite_body(HandshakeType.server_hello, apply)


def set_sh_ext(ext_type: int, data: bytes | None) -> Callable[[ServerHello], None]:
    def change(hello: ServerHello) -> None:
        hello.extensions = replace_extension(hello.extensions, ext_type, data)

    return change


def setattr_sh(name: str, value: object) -> Callable[[ServerHello], None]:
    return lambda hello: setattr(hello, name, value)


X25519_ONLY = {"groups": "x25519"}

SERVER_HELLO_CASES: list[
    tuple[str, Callable[[ServerHello], None], AlertDescription, dict[str, str]]
] = [
    # §4.1.3: a suite the client did not offer.
    (
        "suite_not_offered",
        setattr_sh("cipher_suite", 0x1302),
        AlertDescription.illegal_parameter,
        {"suites": "TLS_AES_128_GCM_SHA256"},
    ),
    ("unknown_suite", setattr_sh("cipher_suite", 0x1305), AlertDescription.illegal_parameter, {}),
    ("tls12_suite", setattr_sh("cipher_suite", 0xC02F), AlertDescription.illegal_parameter, {}),
    # §4.1.3: legacy_session_id_echo.
    (
        "session_id_not_echoed",
        setattr_sh("legacy_session_id_echo", bytes(32)),
        AlertDescription.illegal_parameter,
        {},
    ),
    (
        "session_id_empty",
        setattr_sh("legacy_session_id_echo", b""),
        AlertDescription.illegal_parameter,
        {},
    ),
    (
        "compression_method_1",
        setattr_sh("legacy_compression_method", 1),
        AlertDescription.illegal_parameter,
        {},
    ),
    # §D.5: legacy_version 0x0300 -> protocol_version.
    # Regression (found by these tests, since fixed): it was illegal_parameter.
    (
        "legacy_version_ssl3",
        setattr_sh("legacy_version", 0x0300),
        AlertDescription.protocol_version,
        {},
    ),
    # §4.2.1: selected_version not offered or older than TLS 1.3.
    (
        "selected_tls12",
        set_sh_ext(ExtensionType.supported_versions, b"\x03\x03"),
        AlertDescription.illegal_parameter,
        {},
    ),
    (
        "selected_future_version",
        set_sh_ext(ExtensionType.supported_versions, b"\x03\x05"),
        AlertDescription.illegal_parameter,
        {},
    ),
    (
        "selected_draft",
        set_sh_ext(ExtensionType.supported_versions, b"\x7f\x1c"),
        AlertDescription.illegal_parameter,
        {},
    ),
    # §4.2.8: the server's share must be for a group the client sent a share for.
    (
        "share_for_unoffered_group",
        set_sh_ext(
            ExtensionType.key_share, ext.encode_key_share_server(SECP384R1, b"\x04" + bytes(96))
        ),
        AlertDescription.illegal_parameter,
        X25519_ONLY,
    ),
    (
        "share_for_listed_group_without_client_share",
        set_sh_ext(
            ExtensionType.key_share, ext.encode_key_share_server(SECP256R1, share(SECP256R1))
        ),
        AlertDescription.illegal_parameter,
        {"groups": "x25519:secp256r1"},
    ),
    # §7.4.2 / RFC 7748 §6, §4.2.8.2, draft-ietf-tls-ecdhe-mlkem: invalid server shares.
    (
        "x25519_share_all_zero",
        set_sh_ext(ExtensionType.key_share, ext.encode_key_share_server(X25519, bytes(32))),
        AlertDescription.illegal_parameter,
        X25519_ONLY,
    ),
    (
        "x25519_share_too_long",
        set_sh_ext(ExtensionType.key_share, ext.encode_key_share_server(X25519, bytes(33))),
        AlertDescription.illegal_parameter,
        X25519_ONLY,
    ),
    (
        "mlkem_ciphertext_wrong_length",
        set_sh_ext(
            ExtensionType.key_share, ext.encode_key_share_server(X25519MLKEM768, bytes(1119))
        ),
        AlertDescription.illegal_parameter,
        {"groups": "X25519MLKEM768"},
    ),
    (
        "p256_share_off_curve",
        set_sh_ext(
            ExtensionType.key_share, ext.encode_key_share_server(SECP256R1, p256_off_curve())
        ),
        AlertDescription.illegal_parameter,
        {"groups": "secp256r1"},
    ),
    # §4.2: extensions the client did not offer -> unsupported_extension.
    (
        "unsolicited_pre_shared_key",
        set_sh_ext(ExtensionType.pre_shared_key, b"\x00\x00"),
        AlertDescription.unsupported_extension,
        {},
    ),
    (
        "unsolicited_unknown_extension",
        set_sh_ext(UNKNOWN_EXTENSION, b""),
        AlertDescription.unsupported_extension,
        {},
    ),
    (
        "unsolicited_early_data",
        set_sh_ext(ExtensionType.early_data, b""),
        AlertDescription.unsupported_extension,
        {},
    ),
    # §4.2: offered, but not allowed in ServerHello -> illegal_parameter.
    (
        "signature_algorithms_in_server_hello",
        set_sh_ext(ExtensionType.signature_algorithms, b"\x00\x02\x04\x03"),
        AlertDescription.illegal_parameter,
        {},
    ),
    (
        "supported_groups_in_server_hello",
        set_sh_ext(ExtensionType.supported_groups, b"\x00\x02\x00\x1d"),
        AlertDescription.illegal_parameter,
        {},
    ),
    (
        "server_name_in_server_hello",
        set_sh_ext(ExtensionType.server_name, b""),
        AlertDescription.illegal_parameter,
        {},
    ),
    (
        "psk_modes_in_server_hello",
        set_sh_ext(ExtensionType.psk_key_exchange_modes, b"\x01\x01"),
        AlertDescription.illegal_parameter,
        {},
    ),
    # key_share missing (cytls: missing_extension, §6.2) or malformed (§6: decode_error).
    (
        "no_key_share",
        set_sh_ext(ExtensionType.key_share, None),
        AlertDescription.missing_extension,
        {},
    ),
    (
        "hrr_form_key_share",
        set_sh_ext(ExtensionType.key_share, b"\x00\x1d"),
        AlertDescription.decode_error,
        {},
    ),
]


@pytest.mark.parametrize(
    ("change", "alert", "client_kwargs"),
    [
        pytest.param(c, a, kw, id=name, marks=mlkem_marks(kw))
        for name, c, a, kw in SERVER_HELLO_CASES
    ],
)
def test_client_rejects_server_hello(
    change: Callable[[ServerHello], None], alert: AlertDescription, client_kwargs: dict[str, str]
) -> None:
    client_rejects(edit_server_hello(change), alert, client_ctx=client_context(**client_kwargs))


def test_client_duplicate_extension_in_server_hello() -> None:
    def duplicate(raw: bytes) -> bytes:
        hello = ServerHello.parse(raw[4:])
        body = dataclasses.replace(hello, extensions=[]).serialize()[:-2]
        block = encode_extensions_raw([*hello.extensions, hello.extensions[-1]])
        return message(HandshakeType.server_hello, body + block)

    client_rejects(
        rewrite_type(HandshakeType.server_hello, duplicate), AlertDescription.illegal_parameter
    )


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda body: body[:-1], id="truncated"),
        pytest.param(lambda body: body + b"\x00", id="trailing_byte"),
        pytest.param(lambda body: body[:20], id="short_random"),
    ],
)
def test_client_malformed_server_hello(change: Callable[[bytes], bytes]) -> None:
    client_rejects(rewrite_body(HandshakeType.server_hello, change), AlertDescription.decode_error)


# --- TLS 1.2 ServerHellos and the downgrade sentinels (§4.1.3) ---------------------------------


def tls12_server_hello(client_hello: ClientHello, random: bytes, *, block: bool = True) -> bytes:
    hello = ServerHello(
        random=random,
        legacy_session_id_echo=client_hello.legacy_session_id,
        cipher_suite=0xC02F,
        extensions=[],
    )
    body = hello.serialize()
    if not block:
        body = body[:-2]  # no extension block at all
    return record(HANDSHAKE, message(HandshakeType.server_hello, body))


@pytest.mark.parametrize("sentinel", [b"DOWNGRD\x01", b"DOWNGRD\x00"], ids=["tls12", "tls11"])
def test_client_downgrade_sentinel(sentinel: bytes) -> None:
    client, hello = fresh_client()
    data = tls12_server_hello(hello, bytes(24) + sentinel)
    assert_aborts(client, data, ProtocolError, AlertDescription.illegal_parameter)


@pytest.mark.parametrize("block", [True, False], ids=["empty_extensions", "no_extensions"])
def test_client_tls12_server_hello_without_sentinel(block: bool) -> None:
    client, hello = fresh_client()
    data = tls12_server_hello(hello, bytes(range(32)), block=block)
    assert_aborts(client, data, ProtocolError, AlertDescription.protocol_version)


def test_client_ssl3_server_hello() -> None:
    client, hello = fresh_client()
    sh = ServerHello(bytes(range(32)), hello.legacy_session_id, 0x0035, [], legacy_version=0x0300)
    assert_aborts(client, hello_record(sh), ProtocolError, AlertDescription.protocol_version)


# --- HelloRetryRequest (§4.1.4, §4.2.8) ---------------------------------------------------------


def hello_retry_request(
    client_hello: ClientHello,
    *,
    suite: int = 0x1301,
    extensions: list[tuple[int, bytes]] | None = None,
    group: int | None = SECP256R1,
    session_id: bytes | None = None,
    compression: int = 0,
) -> bytes:
    if extensions is None:
        extensions = [(ExtensionType.supported_versions, TLS13)]
        if group is not None:
            extensions.append((ExtensionType.key_share, ext.encode_key_share_hrr(group)))
    retry = ServerHello(
        random=HELLO_RETRY_REQUEST_RANDOM,
        legacy_session_id_echo=client_hello.legacy_session_id if session_id is None else session_id,
        cipher_suite=suite,
        extensions=extensions,
        legacy_compression_method=compression,
    )
    return hello_record(retry)


HRR_CASES: list[tuple[str, dict[str, object], AlertDescription]] = [
    ("group_already_sent", {"group": X25519}, AlertDescription.illegal_parameter),
    ("group_not_offered", {"group": 0x0019}, AlertDescription.illegal_parameter),  # secp521r1
    ("unknown_group", {"group": 0x7A7A}, AlertDescription.illegal_parameter),
    ("changes_nothing", {"group": None}, AlertDescription.illegal_parameter),
    ("suite_not_offered", {"suite": 0x1303}, AlertDescription.illegal_parameter),
    ("session_id_not_echoed", {"session_id": bytes(32)}, AlertDescription.illegal_parameter),
    ("compression_method_1", {"compression": 1}, AlertDescription.illegal_parameter),
    (
        "selected_tls12",
        {
            "extensions": [
                (ExtensionType.supported_versions, b"\x03\x03"),
                (ExtensionType.key_share, b"\x00\x17"),
            ]
        },
        AlertDescription.illegal_parameter,
    ),
    (
        "no_supported_versions",
        {"extensions": [(ExtensionType.key_share, b"\x00\x17")]},
        AlertDescription.protocol_version,
    ),
    (
        "unsolicited_alpn",
        {
            "extensions": [
                (ExtensionType.supported_versions, TLS13),
                (ExtensionType.key_share, b"\x00\x17"),
                (ExtensionType.application_layer_protocol_negotiation, ext.encode_alpn([b"h2"])),
            ]
        },
        AlertDescription.unsupported_extension,
    ),
    (
        "signature_algorithms_in_hrr",
        {
            "extensions": [
                (ExtensionType.supported_versions, TLS13),
                (ExtensionType.key_share, b"\x00\x17"),
                (ExtensionType.signature_algorithms, b"\x00\x02\x04\x03"),
            ]
        },
        AlertDescription.illegal_parameter,
    ),
    (
        "server_share_form_key_share",
        {
            "extensions": [
                (ExtensionType.supported_versions, TLS13),
                (ExtensionType.key_share, ext.encode_key_share_server(SECP256R1, share(SECP256R1))),
            ]
        },
        AlertDescription.decode_error,
    ),
    (
        "empty_cookie",
        {
            "extensions": [
                (ExtensionType.supported_versions, TLS13),
                (ExtensionType.cookie, b"\x00\x00"),
            ]
        },
        AlertDescription.decode_error,
    ),
]


@pytest.mark.parametrize(
    ("kwargs", "alert"), [pytest.param(kw, a, id=name) for name, kw, a in HRR_CASES]
)
def test_client_rejects_hello_retry_request(
    kwargs: dict[str, object], alert: AlertDescription
) -> None:
    # An x25519 share is offered, secp256r1 only listed; TLS_AES_128/256_GCM offered.
    client, hello = fresh_client(
        groups="x25519:secp256r1", suites="TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"
    )
    retry = hello_retry_request(hello, **kwargs)  # type: ignore[arg-type]
    assert_aborts(client, retry, ProtocolError, alert)


def test_client_second_hello_retry_request() -> None:
    """§4.1.4: a second HelloRetryRequest -> unexpected_message."""
    client, hello = fresh_client(groups="x25519:secp256r1:secp384r1")
    client.receive_data(hello_retry_request(hello, group=SECP256R1))
    second = client_hello_of(client.data_to_send())
    assert (
        len(ext.decode_key_share_client(extension_map(second.extensions)[ExtensionType.key_share]))
        == 1
    )
    retry = hello_retry_request(hello, group=SECP384R1)
    assert_aborts(client, retry, ProtocolError, AlertDescription.unexpected_message)


def test_client_second_hello_retry_request_from_real_server() -> None:
    client, server = connections(
        client_context(groups="secp256r1:x25519"), server_context(groups="x25519")
    )
    mitm = ManInTheMiddle(client, server)
    server.receive_data(mitm.client_flight())
    retry = mitm.server_flight()
    client.receive_data(retry)
    server.receive_data(mitm.client_flight())
    server.data_to_send()
    assert_aborts(client, retry, ProtocolError, AlertDescription.unexpected_message, peer=server)


def test_client_hello_retry_request_cookie_is_echoed() -> None:
    """Control (§4.2.2): the cookie comes back verbatim; the rest of the hello is unchanged."""
    client, hello = fresh_client(groups="x25519:secp256r1")
    cookie = ext.encode_cookie(b"opaque-state")
    client.receive_data(
        hello_retry_request(
            hello,
            extensions=[(ExtensionType.supported_versions, TLS13), (ExtensionType.cookie, cookie)],
        )
    )
    second = client_hello_of(client.data_to_send())
    assert extension_map(second.extensions)[ExtensionType.cookie] == cookie
    assert second.random == hello.random and second.cipher_suites == hello.cipher_suites


def after_real_hello_retry_request(
    rewrite: Rewrite,
) -> tuple[cytls.Connection, cytls.Connection, bytes]:
    client, server = connections(
        client_context(groups="secp256r1:x25519"), server_context(groups="x25519")
    )
    mitm = ManInTheMiddle(client, server)
    server.receive_data(mitm.client_flight())
    client.receive_data(mitm.server_flight())
    server.receive_data(mitm.client_flight())
    return client, server, mitm.server_flight(rewrite)  # type: ignore[arg-type]


def test_client_server_hello_changes_suite_after_hello_retry_request() -> None:
    """§4.1.4: the ServerHello's suite must be the HelloRetryRequest's -> illegal_parameter."""
    client, server, flight = after_real_hello_retry_request(
        edit_server_hello(setattr_sh("cipher_suite", 0x1301))
    )
    assert_aborts(client, flight, ProtocolError, AlertDescription.illegal_parameter, peer=server)


def test_client_server_hello_changes_group_after_hello_retry_request() -> None:
    """§4.2.8: after a HelloRetryRequest for x25519, a secp256r1 share -> illegal_parameter."""
    client, server, flight = after_real_hello_retry_request(
        edit_server_hello(
            set_sh_ext(
                ExtensionType.key_share, ext.encode_key_share_server(SECP256R1, share(SECP256R1))
            )
        )
    )
    assert_aborts(client, flight, ProtocolError, AlertDescription.illegal_parameter, peer=server)


# --- EncryptedExtensions (§4.3.1, §4.2) --------------------------------------------------------

ExtensionsChange = Callable[[list[tuple[int, bytes]]], list[tuple[int, bytes]]]


def edit_encrypted_extensions(change: ExtensionsChange) -> Rewrite:
    def apply(body: bytes) -> bytes:
        extensions = EncryptedExtensions.parse(body).extensions
        return encode_extensions_raw(change(extensions))

    return rewrite_body(HandshakeType.encrypted_extensions, apply)


def add(ext_type: int, data: bytes) -> ExtensionsChange:
    return lambda extensions: [*extensions, (ext_type, data)]


ENCRYPTED_EXTENSIONS_CASES: list[tuple[str, ExtensionsChange, AlertDescription]] = [
    # Offered by the client but forbidden in EncryptedExtensions -> illegal_parameter.
    (
        "key_share",
        add(ExtensionType.key_share, ext.encode_key_share_server(X25519, bytes(range(32)))),
        AlertDescription.illegal_parameter,
    ),
    (
        "supported_versions",
        add(ExtensionType.supported_versions, TLS13),
        AlertDescription.illegal_parameter,
    ),
    (
        "signature_algorithms",
        add(ExtensionType.signature_algorithms, b"\x00\x02\x04\x03"),
        AlertDescription.illegal_parameter,
    ),
    (
        "signature_algorithms_cert",
        add(ExtensionType.signature_algorithms_cert, b"\x00\x02\x04\x03"),
        AlertDescription.illegal_parameter,
    ),
    (
        "psk_key_exchange_modes",
        add(ExtensionType.psk_key_exchange_modes, b"\x01\x01"),
        AlertDescription.illegal_parameter,
    ),
    # Not offered by the client -> unsupported_extension.
    (
        "unsolicited_alpn",
        add(ExtensionType.application_layer_protocol_negotiation, ext.encode_alpn([b"h2"])),
        AlertDescription.unsupported_extension,
    ),
    (
        "unsolicited_early_data",
        add(ExtensionType.early_data, b""),
        AlertDescription.unsupported_extension,
    ),
    (
        "unsolicited_pre_shared_key",
        add(ExtensionType.pre_shared_key, b"\x00\x00"),
        AlertDescription.unsupported_extension,
    ),
    (
        "unsolicited_status_request",
        add(ExtensionType.status_request, b""),
        AlertDescription.unsupported_extension,
    ),
    ("unsolicited_unknown", add(UNKNOWN_EXTENSION, b""), AlertDescription.unsupported_extension),
    (
        "unsolicited_record_size_limit",
        add(ExtensionType.record_size_limit, b"\x40\x00"),
        AlertDescription.unsupported_extension,
    ),
    # A duplicate extension -> illegal_parameter.
    (
        "duplicate",
        lambda e: [*e, (ExtensionType.server_name, b""), (ExtensionType.server_name, b"")],
        AlertDescription.illegal_parameter,
    ),
]


@pytest.mark.parametrize(
    ("change", "alert"),
    [pytest.param(c, a, id=name) for name, c, a in ENCRYPTED_EXTENSIONS_CASES],
)
def test_client_rejects_encrypted_extensions(
    change: ExtensionsChange, alert: AlertDescription
) -> None:
    client_rejects(edit_encrypted_extensions(change), alert)


def test_client_unsolicited_server_name() -> None:
    """A client that sent no server_name (it connects to an IP address) gets one in
    EncryptedExtensions -> unsupported_extension (§4.2)."""
    client_rejects(
        edit_encrypted_extensions(add(ExtensionType.server_name, b"")),
        AlertDescription.unsupported_extension,
        hostname="127.0.0.1",
    )


def test_client_malformed_encrypted_extensions() -> None:
    client_rejects(
        rewrite_body(HandshakeType.encrypted_extensions, lambda body: body + b"\x00"),
        AlertDescription.decode_error,
    )


@pytest.mark.parametrize(
    "protocols",
    [
        pytest.param([b"spdy/3"], id="not_offered"),
        pytest.param([b"h2", b"http/1.1"], id="two_protocols"),
    ],
)
def test_client_rejects_alpn_selection(protocols: list[bytes]) -> None:
    """RFC 7301 §3.1/§3.2: exactly one protocol, one the client offered."""

    def change(extensions: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
        return replace_extension(
            extensions,
            ExtensionType.application_layer_protocol_negotiation,
            ext.encode_alpn(protocols),
        )

    client_rejects(
        edit_encrypted_extensions(change),
        AlertDescription.illegal_parameter,
        client_ctx=client_context(alpn=("h2", "http/1.1")),
        server_ctx=server_context(alpn=("h2",)),
    )


# --- Certificate, CertificateVerify, Finished -------------------------------------------------


def edit_certificate(change: Callable[[Certificate], None]) -> Rewrite:
    def apply(body: bytes) -> bytes:
        certificate = Certificate.parse(body)
        change(certificate)
        return certificate.serialize()

    return rewrite_body(HandshakeType.certificate, apply)


def test_client_empty_certificate() -> None:
    """§4.4.2.4: an empty server Certificate -> decode_error."""
    client_rejects(
        edit_certificate(lambda c: setattr(c, "entries", [])), AlertDescription.decode_error
    )


def test_client_certificate_with_request_context() -> None:
    """§4.4.2: the server's certificate_request_context is empty (cytls: illegal_parameter)."""
    client_rejects(
        edit_certificate(lambda c: setattr(c, "certificate_request_context", b"\x01")),
        AlertDescription.illegal_parameter,
    )


def test_client_malformed_certificate_message() -> None:
    client_rejects(
        rewrite_body(HandshakeType.certificate, lambda body: body + b"\x00"),
        AlertDescription.decode_error,
    )


def test_client_garbage_certificate() -> None:
    """A cert_data that is not DER X.509 -> bad_certificate (§6.2)."""

    def change(certificate: Certificate) -> None:
        certificate.entries = [CertificateEntry(b"\x30\x03\x02\x01\x00", [])]

    client_rejects(edit_certificate(change), AlertDescription.bad_certificate, exc=CertificateError)


@pytest.mark.parametrize("tag", pki.UNDECODABLE_NAME_TAGS.values(), ids=pki.UNDECODABLE_NAME_TAGS)
@pytest.mark.parametrize(
    ("field", "common_name"),
    [("subject", "localhost"), ("issuer", "cytls handshake tests root CA")],
    ids=["subject", "issuer"],
)
@pytest.mark.parametrize("verify", [True, False], ids=["verifying", "cert_none"])
def test_client_certificate_with_unparsable_name(
    field: str, common_name: str, tag: int, verify: bool
) -> None:
    """A certificate that loads, is signed by the trusted CA, but whose subject or issuer name
    does not decode -> bad_certificate, verifying or not (loading.load_der_certificate says why).

    Regressions: cryptography decodes names lazily, and what it raises depends on its version
    (ValueError from 50, KeyError before; TypeError for a BIT STRING in all of them). A
    KeyError or TypeError escaped from receive_data with no alert sent; a signed one was even
    accepted, and getpeercert() raised.
    """
    creds = credentials()
    broken = pki.with_undecodable_name(creds.leaf[0], creds.ca[1], common_name, tag)

    def change(certificate: Certificate) -> None:
        certificate.entries = [CertificateEntry(broken, [])]

    client_rejects(
        edit_certificate(change),
        AlertDescription.bad_certificate,
        exc=CertificateError if verify else ProtocolError,
        client_ctx=client_context(verify=verify),
        match=f"{field} name does not decode",
    )


def unreadable_key_certificate(key_type: str, defect: str) -> tuple[Credentials, bytes]:
    """A server's credentials and its leaf's DER with the public key made undecodable."""
    creds = credentials(key_type)
    leaf = creds.leaf[0]
    der = leaf.public_bytes(serialization.Encoding.DER)
    if defect == "point_off_curve":
        point = leaf.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        broken = der.replace(point, point[:-1] + bytes([point[-1] ^ 1]))
    elif defect == "unknown_curve":
        p256 = bytes.fromhex("06082a8648ce3d030107")  # OID prime256v1
        broken = der.replace(p256, p256[:-1] + b"\x06")  # prime239v3
    elif defect == "unknown_key_algorithm":
        ec_public_key = bytes.fromhex("06072a8648ce3d0201")  # OID id-ecPublicKey
        broken = der.replace(ec_public_key, ec_public_key[:-1] + b"\x09")
    else:  # "bad_rsa_modulus"
        modulus = leaf.public_key().public_numbers().n.to_bytes(256, "big")  # type: ignore[union-attr]
        broken = der.replace(modulus, bytes(255) + b"\x03")
    assert broken != der
    return creds, broken


@pytest.mark.parametrize(
    ("key_type", "defect"),
    [
        ("ecdsa-p256", "point_off_curve"),
        ("ecdsa-p256", "unknown_curve"),
        ("ecdsa-p256", "unknown_key_algorithm"),
        ("rsa2048", "bad_rsa_modulus"),
    ],
)
def test_client_unreadable_key_without_verification(key_type: str, defect: str) -> None:
    """A client that does not verify certificates (CERT_NONE) still needs the leaf's key: an
    undecodable one is a corrupt (bad_certificate, §6.2) or unsupported certificate."""
    creds, broken = unreadable_key_certificate(key_type, defect)

    def change(certificate: Certificate) -> None:
        certificate.entries = [CertificateEntry(broken, [])]

    client_rejects(
        edit_certificate(change),
        (AlertDescription.bad_certificate, AlertDescription.unsupported_certificate),
        exc=(ProtocolError, CertificateError),
        client_ctx=client_context(verify=False),
        server_ctx=server_context(creds),
    )


@pytest.mark.parametrize(
    ("key_type", "defect"),
    [
        ("ecdsa-p256", "point_off_curve"),
        ("ecdsa-p256", "unknown_curve"),
        ("ecdsa-p256", "unknown_key_algorithm"),
        ("rsa2048", "bad_rsa_modulus"),
    ],
)
def test_client_unreadable_key_with_verification(key_type: str, defect: str) -> None:
    """The verifying client refuses the same certificates (their signatures fail too)."""
    creds, broken = unreadable_key_certificate(key_type, defect)

    def change(certificate: Certificate) -> None:
        certificate.entries = [CertificateEntry(broken, [])]

    client_rejects(
        edit_certificate(change),
        (
            AlertDescription.bad_certificate,
            AlertDescription.unsupported_certificate,
            AlertDescription.decrypt_error,
        ),
        exc=CertificateError,
        server_ctx=server_context(creds),
    )


def add_entry_extension(ext_type: int, data: bytes) -> Callable[[Certificate], None]:
    def change(certificate: Certificate) -> None:
        certificate.entries[0].extensions.append((ext_type, data))

    return change


def test_client_unsolicited_certificate_entry_extension() -> None:
    """§4.2/§4.4.2: a CertificateEntry extension the client did not offer (status_request)
    -> unsupported_extension.

    Regression (found by these tests, since fixed): entry extensions were not checked.
    """
    client_rejects(
        edit_certificate(add_entry_extension(ExtensionType.status_request, b"\x01")),
        AlertDescription.unsupported_extension,
    )


def test_client_forbidden_certificate_entry_extension() -> None:
    """§4.2: key_share (offered, but not allowed in Certificate) in a CertificateEntry ->
    illegal_parameter.

    Regression (found by these tests, since fixed): entry extensions were not checked.
    """
    data = ext.encode_key_share_server(X25519, bytes(range(32)))
    client_rejects(
        edit_certificate(add_entry_extension(ExtensionType.key_share, data)),
        AlertDescription.illegal_parameter,
    )


def edit_certificate_verify(change: Callable[[CertificateVerify], None]) -> Rewrite:
    def apply(body: bytes) -> bytes:
        verify = CertificateVerify.parse(body)
        change(verify)
        return verify.serialize()

    return rewrite_body(HandshakeType.certificate_verify, apply)


@pytest.mark.parametrize(
    "scheme",
    [
        pytest.param(0x0401, id="rsa_pkcs1_sha256"),
        pytest.param(0x0201, id="rsa_pkcs1_sha1"),
        pytest.param(0x0203, id="ecdsa_sha1"),
        pytest.param(0x0603, id="ecdsa_secp521r1_sha512_not_offered"),
        pytest.param(0x0808, id="ed448_not_offered"),
        pytest.param(0xFEFE, id="unknown"),
    ],
)
def test_client_certificate_verify_scheme_not_offered(scheme: int) -> None:
    """§4.4.3: the scheme MUST be one the client offered -> illegal_parameter."""
    client_rejects(
        edit_certificate_verify(lambda v: setattr(v, "algorithm", scheme)),
        AlertDescription.illegal_parameter,
    )


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ed25519", "rsa2048"])
def test_client_certificate_verify_bad_signature(key_type: str) -> None:
    """§4.4.3: a signature that does not verify -> decrypt_error."""

    def change(verify: CertificateVerify) -> None:
        signature = bytearray(verify.signature)
        signature[len(signature) // 2] ^= 0x10
        verify.signature = bytes(signature)

    client_rejects(
        edit_certificate_verify(change),
        AlertDescription.decrypt_error,
        server_ctx=server_context(credentials(key_type)),
    )


def test_client_certificate_verify_empty_signature() -> None:
    client_rejects(
        edit_certificate_verify(lambda v: setattr(v, "signature", b"")),
        AlertDescription.decrypt_error,
    )


def test_client_bad_server_finished() -> None:
    """§4.4.4: a wrong server Finished -> decrypt_error."""
    client_rejects(
        rewrite_type(HandshakeType.finished, flip_last_byte), AlertDescription.decrypt_error
    )


def test_client_server_finished_wrong_length() -> None:
    """§6: a server Finished one byte shorter than Hash.length cannot be parsed ->
    decode_error.

    Regression (found by these tests, since fixed): it was decrypt_error.
    """
    client_rejects(
        rewrite_body(HandshakeType.finished, lambda body: body[:-1]), AlertDescription.decode_error
    )


# --- messages out of order (§4) -------------------------------------------------------------------


def drop(msg_type: int) -> Rewrite:
    return rewrite_type(msg_type, lambda raw: [])


def insert_before(msg_type: int, extra: bytes) -> Rewrite:
    return rewrite_type(msg_type, lambda raw: [extra, raw])


CERTIFICATE_REQUEST_BODY = b"\x00\x00\x06\x00\x0d\x00\x02\x04\x03"  # signature_algorithms


@pytest.mark.parametrize(
    "rewrite",
    [
        pytest.param(drop(HandshakeType.encrypted_extensions), id="no_encrypted_extensions"),
        pytest.param(drop(HandshakeType.certificate), id="no_certificate"),
        pytest.param(drop(HandshakeType.certificate_verify), id="no_certificate_verify"),
        pytest.param(
            insert_before(
                HandshakeType.certificate, message(HandshakeType.encrypted_extensions, b"\x00\x00")
            ),
            id="two_encrypted_extensions",
        ),
        pytest.param(
            insert_before(
                HandshakeType.finished, message(HandshakeType.new_session_ticket, NST_BODY)
            ),
            id="new_session_ticket_before_finished",
        ),
        pytest.param(
            insert_before(HandshakeType.finished, message(HandshakeType.key_update, b"\x00")),
            id="key_update_before_finished",
        ),
        pytest.param(
            insert_before(
                HandshakeType.encrypted_extensions, message(HandshakeType.end_of_early_data, b"")
            ),
            id="end_of_early_data",
        ),
        pytest.param(
            insert_before(
                HandshakeType.certificate_verify,
                message(HandshakeType.certificate_request, CERTIFICATE_REQUEST_BODY),
            ),
            id="certificate_request_after_certificate",
        ),
        pytest.param(
            insert_before(HandshakeType.encrypted_extensions, message(99, b"")),
            id="unknown_message_type",
        ),
        pytest.param(
            insert_before(
                HandshakeType.encrypted_extensions, message(HandshakeType.server_hello, bytes(38))
            ),
            id="second_server_hello",
        ),
        pytest.param(
            insert_before(
                HandshakeType.encrypted_extensions, message(HandshakeType.client_hello, bytes(38))
            ),
            id="client_hello",
        ),
    ],
)
def test_client_message_out_of_order(rewrite: Rewrite) -> None:
    client_rejects(rewrite, AlertDescription.unexpected_message)


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(
            message(HandshakeType.encrypted_extensions, b"\x00\x00"), id="encrypted_extensions"
        ),
        pytest.param(message(HandshakeType.finished, bytes(32)), id="finished"),
        pytest.param(message(HandshakeType.certificate, b"\x00\x00\x00\x00"), id="certificate"),
        pytest.param(message(HandshakeType.client_hello, bytes(40)), id="client_hello"),
        pytest.param(message(HandshakeType.new_session_ticket, NST_BODY), id="new_session_ticket"),
    ],
)
def test_client_first_message_not_server_hello(first: bytes) -> None:
    client, _ = fresh_client()
    assert_aborts(
        client, record(HANDSHAKE, first), ProtocolError, AlertDescription.unexpected_message
    )


def test_client_certificate_request_without_signature_algorithms() -> None:
    """§4.3.2: signature_algorithms MUST be in a CertificateRequest (cytls: missing_extension)."""
    request = message(HandshakeType.certificate_request, b"\x00\x00\x06\x00\x2f\x00\x02\x00\x00")
    client_rejects(
        insert_before(HandshakeType.certificate, request), AlertDescription.missing_extension
    )


def test_client_application_data_under_handshake_keys() -> None:
    """Application data before the server's Finished -> unexpected_message."""
    client, server, flight, _ = client_after_server_flight()
    client.receive_data(record(HANDSHAKE, split_records(flight)[0][2]))  # ServerHello only
    forged = read_protection(client).seal(APPDATA, b"too early")
    assert_aborts(client, forged, ProtocolError, AlertDescription.unexpected_message, peer=server)


# --- after the handshake (client) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("forged", "alert"),
    [
        pytest.param(
            message(HandshakeType.certificate_request, b"\x01\x07" + CERTIFICATE_REQUEST_BODY[1:]),
            AlertDescription.unexpected_message,
            id="certificate_request_without_post_handshake_auth",
        ),
        pytest.param(
            message(HandshakeType.server_hello, bytes(38)),
            AlertDescription.unexpected_message,
            id="server_hello",
        ),
        pytest.param(
            message(HandshakeType.finished, bytes(48)),
            AlertDescription.unexpected_message,
            id="finished",
        ),
        pytest.param(
            message(HandshakeType.encrypted_extensions, b"\x00\x00"),
            AlertDescription.unexpected_message,
            id="ee",
        ),
        pytest.param(
            message(HandshakeType.new_session_ticket, b"\x00" * 9 + b"\x00\x01"),
            AlertDescription.decode_error,
            id="nst_truncated",
        ),
    ],
)
def test_client_post_handshake_rejects(forged: bytes, alert: AlertDescription) -> None:
    """§4.6.2: a CertificateRequest without post_handshake_auth -> unexpected_message; other
    handshake messages are out of order after the handshake."""
    client, server = handshake()
    sealed = read_protection(client).seal(HANDSHAKE, forged)
    assert_aborts(client, sealed, ProtocolError, alert, peer=server)


def new_session_ticket(extensions: list[tuple[int, bytes]]) -> bytes:
    body = struct.pack("!II", 7200, 0) + b"\x00\x00\x01x" + encode_extensions_raw(extensions)
    return message(HandshakeType.new_session_ticket, body)


def test_client_new_session_ticket_with_forbidden_extension() -> None:
    """§4.2: key_share (recognised, CH/SH/HRR only) in a NewSessionTicket -> illegal_parameter.

    Regression (found by these tests, since fixed): NewSessionTicket extensions were not
    checked.
    """
    client, server = handshake()
    ticket = new_session_ticket(
        [(ExtensionType.key_share, ext.encode_key_share_server(X25519, bytes(32)))]
    )
    sealed = read_protection(client).seal(HANDSHAKE, ticket)
    assert_aborts(client, sealed, ProtocolError, AlertDescription.illegal_parameter, peer=server)


def test_client_new_session_ticket_accepted() -> None:
    """Control: a well-formed NewSessionTicket with an unknown extension is ignored."""
    client, _ = handshake()
    ticket = new_session_ticket([(UNKNOWN_EXTENSION, b"")])
    protection = read_protection(client)
    client.receive_data(protection.seal(HANDSHAKE, ticket) + protection.seal(APPDATA, b"fine"))
    assert client.recv() == b"fine"


# --- change_cipher_spec (client) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "protected"),
    [
        pytest.param(b"\x02", False, id="value_2"),
        pytest.param(b"\x01\x01", False, id="two_bytes"),
        pytest.param(b"\x01", True, id="protected"),
    ],
)
def test_client_bad_change_cipher_spec(payload: bytes, protected: bool) -> None:
    client, server, flight, _ = client_after_server_flight()
    server_hello = split_records(flight)[0]
    assert server_hello[0] == HANDSHAKE
    client.receive_data(record(HANDSHAKE, server_hello[2]))  # the client now has handshake keys
    data = read_protection(client).seal(CCS, payload) if protected else record(CCS, payload)
    assert_aborts(client, data, ProtocolError, AlertDescription.unexpected_message, peer=server)


# =================================================================================================
# Certificates (§4.4.2.4, §6.2)
# =================================================================================================


def bad_certificate_handshake(
    leaf: pki.Pair,
    alert: AlertDescription,
    *,
    ca: pki.Pair | None = None,
    hostname: str = "localhost",
    trust: pki.Pair | None = None,
) -> CertificateError:
    """The server presents ``leaf`` (issued by ``ca``); the client trusts ``trust`` (default:
    the tests' root CA) and must refuse it with ``alert``."""
    creds = credentials()
    files = write_credentials(ca or creds.ca, leaf)
    client_ctx = client_context()
    if trust is not None:
        client_ctx = cytls.TLSContext(cytls.PROTOCOL_TLS_CLIENT)
        client_ctx.load_verify_locations(cadata=pki.pem(trust[0]).decode("ascii"))
    client, server = connections(client_ctx, server_context(files), hostname=hostname)
    server.receive_data(client.data_to_send())
    error = assert_aborts(client, server.data_to_send(), CertificateError, alert, peer=server)
    assert isinstance(error, ssl.SSLCertVerificationError)
    assert isinstance(error, CertificateError)
    assert error.verify_code != 0 and error.verify_message
    return error


def test_certificate_expired() -> None:
    ca = credentials().ca
    expired_at = pki.now() - datetime.timedelta(days=2)
    leaf = pki.make_leaf(
        ca, not_before=expired_at - datetime.timedelta(days=30), not_after=expired_at
    )
    error = bad_certificate_handshake(leaf, AlertDescription.certificate_expired)
    assert "expired" in str(error) and expired_at.strftime("%Y-%m-%d") in str(error)
    assert "localhost" in str(error)  # names the certificate


def test_certificate_not_yet_valid() -> None:
    ca = credentials().ca
    start = pki.now() + datetime.timedelta(days=2)
    leaf = pki.make_leaf(ca, not_before=start, not_after=start + datetime.timedelta(days=30))
    error = bad_certificate_handshake(leaf, AlertDescription.bad_certificate)
    assert "not valid before" in str(error) and start.strftime("%Y-%m-%d") in str(error)


def test_certificate_unknown_ca() -> None:
    other_ca = pki.make_ca(common_name="untrusted test CA")
    leaf = pki.make_leaf(other_ca)
    error = bad_certificate_handshake(leaf, AlertDescription.unknown_ca, ca=other_ca)
    assert "untrusted test CA" in str(error)


def test_certificate_self_signed() -> None:
    leaf = pki.make_self_signed()
    bad_certificate_handshake(leaf, AlertDescription.unknown_ca, ca=leaf)


def test_certificate_hostname_mismatch() -> None:
    leaf = pki.make_leaf(credentials().ca, names=("localhost", "127.0.0.1"))
    error = bad_certificate_handshake(
        leaf, AlertDescription.bad_certificate, hostname="wrong.example"
    )
    text = str(error)
    assert "wrong.example" in text and "localhost" in text, text


def test_certificate_ip_address_mismatch() -> None:
    leaf = pki.make_leaf(credentials().ca, names=("localhost", "127.0.0.1"))
    error = bad_certificate_handshake(leaf, AlertDescription.bad_certificate, hostname="10.1.2.3")
    assert "10.1.2.3" in str(error) and "127.0.0.1" in str(error)


def test_certificate_wrong_purpose() -> None:
    leaf = pki.make_leaf(credentials().ca, eku=(pki.CLIENT_AUTH,))
    bad_certificate_handshake(leaf, AlertDescription.unsupported_certificate)


def md5_signed_leaf() -> tuple[pki.Pair, pki.Pair]:
    """An RSA CA and a leaf whose signature is md5WithRSAEncryption (re-signed by hand:
    ``cryptography`` refuses to sign with MD5)."""
    ca = pki.make_ca("rsa2048")
    cert, key = pki.make_leaf(ca)
    sha256_rsa = bytes.fromhex("06092a864886f70d01010b")
    md5_rsa = bytes.fromhex("06092a864886f70d010104")
    tbs = cert.tbs_certificate_bytes.replace(sha256_rsa, md5_rsa)
    signature = ca[1].sign(tbs, padding.PKCS1v15(), hashes.MD5())
    der = cert.public_bytes(serialization.Encoding.DER)
    der = der.replace(cert.tbs_certificate_bytes, tbs).replace(sha256_rsa, md5_rsa)
    der = der.replace(cert.signature, signature)
    return ca, (x509.load_der_x509_certificate(der), key)


def test_certificate_md5_signature() -> None:
    """§4.4.2.4: a certificate needing an MD5 signature check -> bad_certificate."""
    ca, leaf = md5_signed_leaf()
    bad_certificate_handshake(leaf, AlertDescription.bad_certificate, ca=ca, trust=ca)


def test_certificate_sha256_rsa_control() -> None:
    """Control for the MD5 test: the same kind of RSA CA with SHA-256 is accepted."""
    ca = pki.make_ca("rsa2048")
    files = write_credentials(ca, pki.make_leaf(ca))
    client_ctx = cytls.TLSContext(cytls.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(cadata=pki.pem(ca[0]).decode("ascii"))
    handshake(client_ctx, server_context(files))


def test_certificate_not_checked_with_cert_none() -> None:
    """Control: verify_mode CERT_NONE accepts an untrusted, mismatched certificate."""
    other_ca = pki.make_ca()
    files = write_credentials(other_ca, pki.make_leaf(other_ca, names=("elsewhere",)))
    handshake(client_context(verify=False), server_context(files), hostname="localhost")


# =================================================================================================
# The record layer through a Connection (§5)
# =================================================================================================


def test_plaintext_record_overflow_refused_at_header() -> None:
    """§5.1: TLSPlaintext.length > 2^14 -> record_overflow, as soon as the header is seen."""
    client, _ = fresh_client()
    header = struct.pack("!BHH", HANDSHAKE, 0x0303, 2**14 + 1)
    assert_aborts(
        new_server(), header, ProtocolError, AlertDescription.record_overflow, peer=client
    )


def test_protected_record_overflow_refused_at_header() -> None:
    """§5.2: TLSCiphertext.length > 2^14 + 256 -> record_overflow."""
    client, server = handshake()
    header = struct.pack("!BHH", APPDATA, 0x0303, 2**14 + 257)
    assert_aborts(client, header, ProtocolError, AlertDescription.record_overflow, peer=server)


def test_inner_plaintext_overflow() -> None:
    """§5.4: a TLSInnerPlaintext longer than 2^14 + 1 -> record_overflow."""
    client, server = handshake()
    sealed = read_protection(server).seal_inner(bytes(2**14) + b"\x17" + b"\x00")
    assert_aborts(server, sealed, ProtocolError, AlertDescription.record_overflow, peer=client)


def test_maximum_records_are_accepted() -> None:
    """Control: 2^14 bytes of content plus the type byte, padded or not, are accepted."""
    _, server = handshake()
    protection = read_protection(server)
    sealed = protection.seal(APPDATA, bytes(2**14))
    padded = protection.seal_inner(b"x\x17" + bytes(2**14 - 1))  # padding up to the limit
    server.receive_data(sealed + padded)
    assert len(server.recv()) == 2**14 + 1


def test_bad_record_mac() -> None:
    """§5.2: a record that does not authenticate -> bad_record_mac."""
    client, server = handshake()
    sealed = bytearray(read_protection(server).seal(APPDATA, b"hello"))
    sealed[-1] ^= 0x80
    assert_aborts(
        server, bytes(sealed), ProtocolError, AlertDescription.bad_record_mac, peer=client
    )


def test_bad_record_mac_in_server_flight() -> None:
    client, server = connections()
    server.receive_data(client.data_to_send())
    flight = bytearray(server.data_to_send())
    flight[-1] ^= 0x01  # the last protected record (the server's Finished)
    assert_aborts(
        client, bytes(flight), ProtocolError, AlertDescription.bad_record_mac, peer=server
    )


@pytest.mark.parametrize("content_type", [0, 19, 24, 255])
def test_unknown_record_type(content_type: int) -> None:
    """§5: an unexpected record type -> unexpected_message."""
    client, _ = fresh_client()
    assert_aborts(
        new_server(),
        record(content_type, b"\x01"),
        ProtocolError,
        AlertDescription.unexpected_message,
        peer=client,
    )


@pytest.mark.parametrize("content_type", [19, 24, 99])
def test_unknown_protected_record_type(content_type: int) -> None:
    client, server = handshake()
    sealed = read_protection(server).seal(content_type, b"\x01")
    assert_aborts(server, sealed, ProtocolError, AlertDescription.unexpected_message, peer=client)


@pytest.mark.parametrize(
    "inner",
    [
        pytest.param(b"\x16", id="empty_handshake"),
        pytest.param(b"\x15", id="empty_alert"),
        pytest.param(b"\x16\x00\x00", id="empty_padded_handshake"),
        pytest.param(b"\x00" * 20, id="all_zeros"),
        pytest.param(b"", id="no_content_type"),
    ],
)
def test_empty_protected_records(inner: bytes) -> None:
    """§5.4: zero-length handshake/alert content, or no content type -> unexpected_message."""
    client, server = handshake()
    sealed = read_protection(server).seal_inner(inner)
    assert_aborts(server, sealed, ProtocolError, AlertDescription.unexpected_message, peer=client)


def test_records_split_anywhere() -> None:
    """Control: every flight fed one byte at a time still completes the handshake."""
    client, server = connections()
    for sender, receiver in [(client, server), (server, client), (client, server)]:
        data = sender.data_to_send()
        for i in range(len(data)):
            receiver.receive_data(data[i : i + 1])
    assert client.handshake_complete and server.handshake_complete


# =================================================================================================
# Alerts and closure (§6)
# =================================================================================================


@pytest.mark.parametrize(
    ("payload", "alert"),
    [
        pytest.param(b"\x02", AlertDescription.decode_error, id="one_byte"),
        pytest.param(b"\x02\x28\x00", AlertDescription.decode_error, id="three_bytes"),
        pytest.param(
            b"", AlertDescription.unexpected_message, id="empty"
        ),  # as §5.4 for protected records
    ],
)
def test_malformed_alert_record(payload: bytes, alert: AlertDescription) -> None:
    client, hello = fresh_client()
    server = new_server()
    server.receive_data(hello_record(hello))
    assert_aborts(server, record(ALERT, payload), ProtocolError, alert, peer=client)


def test_malformed_protected_alert() -> None:
    client, server = handshake()
    sealed = read_protection(server).seal(ALERT, b"\x01\x00\x00")
    assert_aborts(server, sealed, ProtocolError, AlertDescription.decode_error, peer=client)


@pytest.mark.parametrize(
    ("level", "description"),
    [
        pytest.param(2, AlertDescription.handshake_failure, id="fatal"),
        pytest.param(1, AlertDescription.handshake_failure, id="warning_level_is_still_fatal"),
        pytest.param(1, 255, id="unknown_description"),
        pytest.param(2, AlertDescription.internal_error, id="internal_error"),
    ],
)
def test_peer_alert_during_handshake(level: int, description: int) -> None:
    """§6: every alert but close_notify/user_canceled is fatal, whatever its level; unknown
    alert types are error alerts."""
    client, _ = fresh_client()
    assert_peer_alert(client, record(ALERT, bytes((level, description))), description)
    _, hello = fresh_client()
    server = new_server()
    server.receive_data(hello_record(hello))
    assert_peer_alert(server, record(ALERT, bytes((level, description))), description)


@pytest.mark.parametrize(
    ("level", "description"),
    [(2, AlertDescription.decrypt_error), (1, 255), (1, AlertDescription.bad_certificate)],
)
def test_peer_alert_after_handshake(level: int, description: int) -> None:
    client, _ = handshake()
    sealed = read_protection(client).seal(ALERT, bytes((level, description)))
    assert_peer_alert(client, sealed, description)
    assert client.data_to_send() == b""  # no alert is sent in answer to a fatal alert


def test_close_notify_during_handshake() -> None:
    """A close_notify before the handshake completes ends it: the connection is unusable."""
    client, _ = fresh_client()
    assert_peer_alert(client, record(ALERT, b"\x01\x00"), AlertDescription.close_notify)
    _, hello = fresh_client()
    server = new_server()
    server.receive_data(hello_record(hello))
    assert_peer_alert(server, record(ALERT, b"\x01\x00"), AlertDescription.close_notify)


def test_user_canceled_is_not_fatal() -> None:
    client, _ = handshake()
    client.receive_data(read_protection(client).seal(ALERT, b"\x01\x5a"))
    events = []
    while (event := client.next_event()) is not None:
        events.append(event)
    assert AlertReceived(AlertDescription.user_canceled, 1) in events


@pytest.mark.parametrize("side", ["client", "server"])
def test_eof_during_handshake_is_truncation(side: str) -> None:
    client, server = connections()
    conn = client
    if side == "server":
        server.receive_data(client.data_to_send())
        conn = server
    with pytest.raises(TruncationError) as info:
        conn.receive_data(b"")
    assert isinstance(info.value, ssl.SSLEOFError)
    with pytest.raises(cytls.TLSError):
        conn.send(b"x")
    with pytest.raises(cytls.TLSError):
        conn.receive_data(b"\x16")


def test_eof_without_close_notify_after_handshake_is_truncation() -> None:
    """The truncation attack: data, then EOF without close_notify -> TruncationError once the
    data has been read, never b"" (which would mean a clean close)."""
    client, server = handshake()
    server.send(b"partial response")
    client.receive_data(server.data_to_send())
    client.receive_data(b"")
    assert client.recv(7) == b"partial"
    assert client.recv() == b" response"
    with pytest.raises(TruncationError) as info:
        client.recv()
    assert isinstance(info.value, ssl.SSLEOFError)
    with pytest.raises(TruncationError):
        client.recv_into(bytearray(10))


def test_clean_close_reads_as_empty() -> None:
    client, server = handshake()
    server.send(b"bye")
    server.close()
    client.receive_data(server.data_to_send())
    events = []
    while (event := client.next_event()) is not None:
        events.append(event)
    assert any(isinstance(e, ConnectionClosed) for e in events)
    assert client.recv() == b"bye"
    assert client.recv() == b""
    assert client.recv_into(bytearray(4)) == 0
    client.receive_data(b"")  # EOF after close_notify is clean
    assert client.recv() == b""
    # Half-close (§6.1): the client may still send after the server's close_notify.
    client.send(b"late")
    server.receive_data(client.data_to_send())
    assert server.recv() == b"late"
    with pytest.raises(cytls.TLSError):
        server.send(b"after close")


def test_data_after_close_notify_is_ignored() -> None:
    client, _ = handshake()
    protection = read_protection(client)
    data = protection.seal(ALERT, b"\x01\x00") + protection.seal(APPDATA, b"smuggled")
    client.receive_data(data)
    assert client.recv() == b""


def test_alerts_are_protected_once_keys_are_set() -> None:
    """§6: alerts go under the current write key (a server failing on the client's Finished
    sends it under its application key), and in plaintext before any key."""
    _, server, mitm = server_waiting_for_finished()
    data = mitm.client_flight(rewrite_type(HandshakeType.finished, flip_last_byte))
    with pytest.raises(ProtocolError):
        server.receive_data(data)
    out = server.data_to_send()
    assert [t for t, _, _ in split_records(out)] == [APPDATA]
    assert alerts_sent(out, server) == [(2, AlertDescription.decrypt_error)]

    _, hello = fresh_client()
    server = new_server(server_context(suites="TLS_CHACHA20_POLY1305_SHA256"))
    with pytest.raises(ProtocolError):
        server.receive_data(hello_record(dataclasses.replace(hello, cipher_suites=[0x1301])))
    assert split_records(server.data_to_send()) == [(ALERT, 0x0303, b"\x02\x28")]
    assert_unusable(server)


def test_peer_alert_type_is_exact() -> None:
    """PeerAlert is what the receiver of an alert raises, never a ProtocolError subclass."""
    assert not issubclass(PeerAlert, ProtocolError)

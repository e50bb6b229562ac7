"""Codecs of extension data: what goes inside one ``Extension.extension_data``.

Each ``encode_x`` has a ``decode_x`` twin. Decoders check the syntax of RFC 8446 §4.2 /
Appendix B.3.1, RFC 6066 §3 (server_name), RFC 7301 §3.1 (ALPN) and RFC 8449 §4
(record_size_limit): a bad length, an out-of-range vector or trailing bytes is a decode_error;
the few semantic checks these documents pin to an alert (a group offered twice in key_share,
a record_size_limit under 64...) raise that alert. Which extension may appear in which message,
and whether a value is acceptable, is for the state machines.

Encoders raise ``ValueError`` on values that do not fit: those are local bugs.
"""

from __future__ import annotations

import struct

from cytls._hello import listed_code_points
from cytls.errors import ProtocolError
from cytls.wire.codec import Reader, Writer, decode_error
from cytls.wire.enums import AlertDescription

__all__ = [
    "UNCOMPRESSED",
    "decode_alpn",
    "decode_certificate_authorities",
    "decode_cookie",
    "decode_early_data_indication",
    "decode_ec_point_formats",
    "decode_empty",
    "decode_key_share_client",
    "decode_key_share_hrr",
    "decode_key_share_server",
    "decode_pre_shared_key_client",
    "decode_pre_shared_key_server",
    "decode_psk_key_exchange_modes",
    "decode_record_size_limit",
    "decode_renegotiation_info",
    "decode_server_name",
    "decode_server_names",
    "decode_signature_algorithms",
    "decode_supported_groups",
    "decode_supported_versions_client",
    "decode_supported_versions_server",
    "encode_alpn",
    "encode_certificate_authorities",
    "encode_cookie",
    "encode_early_data_indication",
    "encode_ec_point_formats",
    "encode_key_share_client",
    "encode_key_share_hrr",
    "encode_key_share_server",
    "encode_pre_shared_key_client",
    "encode_pre_shared_key_server",
    "encode_psk_key_exchange_modes",
    "encode_record_size_limit",
    "encode_renegotiation_info",
    "encode_server_name",
    "encode_signature_algorithms",
    "encode_supported_groups",
    "encode_supported_versions_client",
    "encode_supported_versions_server",
    "pre_shared_key_binders_length",
    "signature_algorithms_among",
]

HOST_NAME = 0  # NameType.host_name (RFC 6066 §3)
MIN_RECORD_SIZE_LIMIT = 64  # RFC 8449 §4


def _illegal(message: str) -> ProtocolError:
    return ProtocolError(AlertDescription.illegal_parameter, message)


def _uint16_list(r: Reader, name: str, minimum: int, maximum: int) -> list[int]:
    """Pull ``uint16 name<minimum..maximum>`` (a 2-byte length, then 2-byte items)."""
    block = r.block16(name, minimum=minimum, maximum=maximum)
    if block.remaining() % 2:
        raise decode_error(f"{r.what}: {name} has an odd number of bytes")
    data = block.bytes(block.remaining(), name)
    # One unpack for the whole list: a peer sends up to 32,767 items, and a call per item was
    # most of the work of the costliest ClientHello.
    return list(struct.unpack(f">{len(data) // 2}H", data))


def _push_uint16_list(values: list[int], minimum_items: int = 1) -> bytes:
    if len(values) < minimum_items:
        raise ValueError(f"the list needs at least {minimum_items} item(s)")
    w = Writer()
    with w.block16():
        for value in values:
            w.uint16(value)
    return w.getvalue()


def decode_empty(data: bytes, what: str) -> None:
    """Require empty extension data (e.g. server_name or early_data in EncryptedExtensions,
    RFC 6066 §3 / RFC 8446 §4.2.10; post_handshake_auth, §4.2.6)."""
    Reader(data, what).finish()


# -- server_name (RFC 6066 §3) ----------------------------------------------------------------


def encode_server_name(host: str) -> bytes:
    """A ServerNameList with one host_name: ASCII (an IDNA A-label), without a trailing dot."""
    if host.endswith("."):
        host = host[:-1]
    try:
        name = host.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError(f"{host!r} is not ASCII; encode it as an IDNA A-label first") from None
    if not name or len(name) > 0xFFFF - 3:
        raise ValueError(f"a host name has 1..65532 bytes, not {len(name)}")
    w = Writer()
    with w.block16():
        w.uint8(HOST_NAME)
        w.opaque16(name)
    return w.getvalue()


def decode_server_names(data: bytes) -> list[tuple[int, bytes]]:
    """The ServerNameList of a ClientHello as raw (name_type, name) pairs (RFC 6066 §3).

    Every name type is read as a 16-bit-length vector (RFC 6066: future types "MUST begin with
    a 16-bit length field"). Two names of one type are an illegal_parameter ("The
    ServerNameList MUST NOT contain more than one name of the same name_type").
    """
    r = Reader(data, "server_name extension")
    block = r.block16("server_name_list", minimum=1)
    r.finish()
    names: list[tuple[int, bytes]] = []
    seen: set[int] = set()
    while not block.at_end():
        name_type = block.uint8("a name_type")
        name = block.opaque16("a server name")
        if name_type == HOST_NAME and not name:
            raise decode_error("server_name extension: the host_name is empty (HostName<1..>)")
        if name_type in seen:
            raise _illegal(f"server_name extension: more than one name of type {name_type}")
        seen.add(name_type)
        names.append((name_type, name))
    return names


def decode_server_name(data: bytes) -> str:
    """The host_name of a ClientHello's server_name extension (RFC 6066 §3).

    Names of other (unknown) types are skipped. A host name must be printable ASCII without
    spaces (RFC 6066: "a byte string using ASCII encoding"), else illegal_parameter. A list
    with no host_name at all raises unrecognized_name, which a server may catch to carry on
    without a name (RFC 6066 lets it choose). The empty server_name that a server echoes in
    EncryptedExtensions is not for this function: see ``decode_empty``.
    """
    for name_type, name in decode_server_names(data):
        if name_type != HOST_NAME:
            continue
        if not all(0x21 <= byte <= 0x7E for byte in name):
            raise _illegal(
                "server_name extension: the host_name contains bytes that are not printable "
                "ASCII (an internationalized name must be sent as an A-label)"
            )
        return name.decode("ascii")
    raise ProtocolError(
        AlertDescription.unrecognized_name,
        "server_name extension: no host_name among the names offered",
    )


# -- supported_groups (RFC 8446 §4.2.7), signature_algorithms(_cert) (§4.2.3) -----------------


def encode_supported_groups(groups: list[int]) -> bytes:
    """``NamedGroup named_group_list<2..2^16-1>``."""
    return _push_uint16_list(groups)


def decode_supported_groups(data: bytes) -> list[int]:
    """``NamedGroup named_group_list<2..2^16-1>``; an empty list is a decode_error."""
    r = Reader(data, "supported_groups extension")
    groups = _uint16_list(r, "named_group_list", 2, 0xFFFF)
    r.finish()
    return groups


def encode_signature_algorithms(schemes: list[int]) -> bytes:
    """``SignatureScheme supported_signature_algorithms<2..2^16-2>`` (also for *_cert)."""
    return _push_uint16_list(schemes)


def decode_signature_algorithms(data: bytes) -> list[int]:
    """``SignatureScheme supported_signature_algorithms<2..2^16-2>`` (also for *_cert)."""
    r = Reader(data, "signature_algorithms extension")
    schemes = _uint16_list(r, "supported_signature_algorithms", 2, 0xFFFE)
    r.finish()
    return schemes


def signature_algorithms_among(data: bytes, ours: tuple[int, ...]) -> list[int]:
    """The schemes of ``ours`` that a signature_algorithms (or _cert) extension lists, in the
    order of ``ours``: what choosing a scheme needs, read in C (cytls._hello) without an object
    per item, since the peer may list 32,767 schemes."""
    listed = listed_code_points(data, 2, 0xFFFE, ours)
    if listed is None:
        decode_signature_algorithms(data)  # says what is wrong with it
        raise AssertionError("listed_code_points and decode_signature_algorithms disagree")
    return listed


# -- supported_versions (RFC 8446 §4.2.1) -----------------------------------------------------


def encode_supported_versions_client(versions: list[int]) -> bytes:
    """ClientHello form: ``ProtocolVersion versions<2..254>``."""
    if not 1 <= len(versions) <= 127:
        raise ValueError("a client offers 1..127 versions")
    w = Writer()
    with w.block8():
        for version in versions:
            w.uint16(version)
    return w.getvalue()


def decode_supported_versions_client(data: bytes) -> list[int]:
    """ClientHello form: ``ProtocolVersion versions<2..254>``."""
    r = Reader(data, "supported_versions extension")
    block = r.block8("versions", minimum=2, maximum=254)
    r.finish()
    if block.remaining() % 2:
        raise decode_error("supported_versions extension: versions has an odd number of bytes")
    return [block.uint16("a version") for _ in range(block.remaining() // 2)]


def encode_supported_versions_server(version: int) -> bytes:
    """ServerHello/HelloRetryRequest form: ``ProtocolVersion selected_version``."""
    w = Writer()
    w.uint16(version)
    return w.getvalue()


def decode_supported_versions_server(data: bytes) -> int:
    """ServerHello/HelloRetryRequest form: ``ProtocolVersion selected_version``."""
    r = Reader(data, "supported_versions extension")
    version = r.uint16("selected_version")
    r.finish()
    return version


# -- key_share (RFC 8446 §4.2.8) --------------------------------------------------------------


def _push_key_share_entry(w: Writer, group: int, key_exchange: bytes) -> None:
    if not key_exchange:
        raise ValueError("key_exchange is never empty")
    w.uint16(group)
    w.opaque16(key_exchange)


def _pull_key_share_entry(r: Reader) -> tuple[int, bytes]:
    group = r.uint16("a KeyShareEntry group")
    key_exchange = r.opaque16("key_exchange", minimum=1)
    return group, key_exchange


def encode_key_share_client(shares: list[tuple[int, bytes]]) -> bytes:
    """``KeyShareEntry client_shares<0..2^16-1>`` (an empty list asks for a HelloRetryRequest)."""
    w = Writer()
    with w.block16():
        for group, key_exchange in shares:
            _push_key_share_entry(w, group, key_exchange)
    return w.getvalue()


def decode_key_share_client(data: bytes) -> list[tuple[int, bytes]]:
    """``KeyShareEntry client_shares<0..2^16-1>``; a group offered twice is an
    illegal_parameter (§4.2.8: "Clients MUST NOT offer multiple KeyShareEntry values for the
    same group ... Servers MAY check for violations of these rules and abort the handshake
    with an 'illegal_parameter' alert")."""
    r = Reader(data, "key_share extension")
    block = r.block16("client_shares")
    r.finish()
    entries = block.bytes(block.remaining(), "client_shares")
    shares: list[tuple[int, bytes]] = []
    seen: set[int] = set()
    # Read in place rather than through a Reader call per field: a ClientHello can hold some
    # 13,000 entries. The checks are _pull_key_share_entry's.
    pos, end = 0, len(entries)
    while pos < end:
        if end - pos < 4:
            raise decode_error(f"key_share extension: a KeyShareEntry is truncated at {pos}")
        group = (entries[pos] << 8) | entries[pos + 1]
        length = (entries[pos + 2] << 8) | entries[pos + 3]
        if length == 0 or pos + 4 + length > end:
            raise decode_error(
                f"key_share extension: the key_exchange of the entry at {pos} is empty or "
                f"runs past the end ({length} bytes)"
            )
        if group in seen:
            raise _illegal(f"key_share extension: group {group:#06x} is offered twice")
        seen.add(group)
        shares.append((group, entries[pos + 4 : pos + 4 + length]))
        pos += 4 + length
    return shares


def encode_key_share_server(group: int, key_exchange: bytes) -> bytes:
    """ServerHello form: ``KeyShareEntry server_share``."""
    w = Writer()
    _push_key_share_entry(w, group, key_exchange)
    return w.getvalue()


def decode_key_share_server(data: bytes) -> tuple[int, bytes]:
    """ServerHello form: ``KeyShareEntry server_share``."""
    r = Reader(data, "key_share extension")
    share = _pull_key_share_entry(r)
    r.finish()
    return share


def encode_key_share_hrr(group: int) -> bytes:
    """HelloRetryRequest form: ``NamedGroup selected_group``."""
    w = Writer()
    w.uint16(group)
    return w.getvalue()


def decode_key_share_hrr(data: bytes) -> int:
    """HelloRetryRequest form: ``NamedGroup selected_group``."""
    r = Reader(data, "key_share extension")
    group = r.uint16("selected_group")
    r.finish()
    return group


# -- application_layer_protocol_negotiation (RFC 7301 §3.1) -----------------------------------


def encode_alpn(protocols: list[bytes]) -> bytes:
    """``ProtocolName protocol_name_list<2..2^16-1>``, each ``opaque ProtocolName<1..2^8-1>``."""
    if not protocols:
        raise ValueError("an ALPN list names at least one protocol")
    w = Writer()
    with w.block16():
        for protocol in protocols:
            if not protocol:
                raise ValueError("an ALPN protocol name is never empty")
            w.opaque8(protocol)
    return w.getvalue()


def decode_alpn(data: bytes) -> list[bytes]:
    """``ProtocolNameList``; an empty list or an empty name is a decode_error (RFC 7301 §3.1).

    The server's answer must hold exactly one name: the caller checks that.
    """
    r = Reader(data, "application_layer_protocol_negotiation extension")
    block = r.block16("protocol_name_list", minimum=2)
    r.finish()
    protocols = []
    while not block.at_end():
        protocols.append(block.opaque8("a ProtocolName", minimum=1))
    return protocols


# -- cookie (RFC 8446 §4.2.2) -----------------------------------------------------------------


def encode_cookie(cookie: bytes) -> bytes:
    """``opaque cookie<1..2^16-1>``."""
    if not cookie:
        raise ValueError("a cookie is never empty")
    w = Writer()
    w.opaque16(cookie)
    return w.getvalue()


def decode_cookie(data: bytes) -> bytes:
    """``opaque cookie<1..2^16-1>``; an empty cookie is a decode_error."""
    r = Reader(data, "cookie extension")
    cookie = r.opaque16("cookie", minimum=1)
    r.finish()
    return cookie


# -- psk_key_exchange_modes (RFC 8446 §4.2.9) -------------------------------------------------


def encode_psk_key_exchange_modes(modes: list[int]) -> bytes:
    """``PskKeyExchangeMode ke_modes<1..255>``."""
    if not 1 <= len(modes) <= 255:
        raise ValueError("ke_modes has 1..255 entries")
    w = Writer()
    w.opaque8(bytes(modes))
    return w.getvalue()


def decode_psk_key_exchange_modes(data: bytes) -> list[int]:
    """``PskKeyExchangeMode ke_modes<1..255>``; unknown modes are returned (to be ignored)."""
    r = Reader(data, "psk_key_exchange_modes extension")
    modes = r.opaque8("ke_modes", minimum=1)
    r.finish()
    return list(modes)


# -- record_size_limit (RFC 8449 §4) ----------------------------------------------------------


def encode_record_size_limit(limit: int) -> bytes:
    """``uint16 RecordSizeLimit``, at least 64."""
    if not MIN_RECORD_SIZE_LIMIT <= limit <= 0xFFFF:
        raise ValueError(f"a record size limit is 64..65535, not {limit}")
    w = Writer()
    w.uint16(limit)
    return w.getvalue()


def decode_record_size_limit(data: bytes) -> int:
    """``uint16 RecordSizeLimit``; under 64 is an illegal_parameter (RFC 8449 §4: "An endpoint
    MUST treat receipt of a smaller value as a fatal error and generate an 'illegal_parameter'
    alert"). Values above the protocol maximum are legal; the caller clamps them."""
    r = Reader(data, "record_size_limit extension")
    limit = r.uint16("RecordSizeLimit")
    r.finish()
    if limit < MIN_RECORD_SIZE_LIMIT:
        raise _illegal(f"record_size_limit extension: {limit} is under the minimum of 64")
    return limit


# -- TLS 1.2: renegotiation_info (RFC 5746 §3.2), ec_point_formats (RFC 8422 §5.1.2) ----------

UNCOMPRESSED = 0
"""ECPointFormat.uncompressed, the only point format RFC 8422 §5.1.2 leaves."""


def encode_renegotiation_info(renegotiated_connection: bytes = b"") -> bytes:
    """``opaque renegotiated_connection<0..255>``: empty on an initial handshake (§3.4), the
    only kind cytls runs (it refuses renegotiation, §3.6-3.7 still require the extension)."""
    w = Writer()
    w.opaque8(renegotiated_connection)
    return w.getvalue()


def decode_renegotiation_info(data: bytes) -> bytes:
    """The renegotiated_connection field; the caller requires it empty on an initial handshake
    (handshake_failure otherwise, RFC 5746 §3.4 and §3.6)."""
    r = Reader(data, "renegotiation_info extension")
    renegotiated_connection = r.opaque8("renegotiated_connection")
    r.finish()
    return renegotiated_connection


def encode_ec_point_formats() -> bytes:
    """``ECPointFormat ec_point_format_list<1..2^8-1>`` holding uncompressed alone."""
    return bytes((1, UNCOMPRESSED))


def decode_ec_point_formats(data: bytes) -> list[int]:
    """The peer's point formats; a list without uncompressed is an illegal_parameter
    (RFC 8422 §5.1.2: every implementation must support it, and a peer that leaves it out
    could not be understood)."""
    r = Reader(data, "ec_point_formats extension")
    block = r.block8("ec_point_format_list", minimum=1)
    formats = list(block.bytes(block.remaining(), "ec_point_format_list"))
    r.finish()
    if UNCOMPRESSED not in formats:
        raise _illegal("ec_point_formats extension: uncompressed (0) is missing (RFC 8422 §5.1.2)")
    return formats


# -- certificate_authorities (RFC 8446 §4.2.4) ------------------------------------------------


def encode_certificate_authorities(names: list[bytes]) -> bytes:
    """``DistinguishedName authorities<3..2^16-1>``, each ``opaque DistinguishedName<1..>``."""
    if not names:
        raise ValueError("certificate_authorities names at least one authority")
    w = Writer()
    with w.block16():
        for name in names:
            if not name:
                raise ValueError("a DistinguishedName is never empty")
            w.opaque16(name)
    return w.getvalue()


def decode_certificate_authorities(data: bytes) -> list[bytes]:
    """DER distinguished names, undecoded; an empty list is a decode_error."""
    r = Reader(data, "certificate_authorities extension")
    block = r.block16("authorities", minimum=3)
    r.finish()
    names = []
    while not block.at_end():
        names.append(block.opaque16("a DistinguishedName", minimum=1))
    return names


# -- early_data (RFC 8446 §4.2.10) ------------------------------------------------------------


def encode_early_data_indication(max_early_data_size: int | None) -> bytes:
    """Empty in ClientHello/EncryptedExtensions (None); ``uint32 max_early_data_size`` in
    NewSessionTicket."""
    if max_early_data_size is None:
        return b""
    w = Writer()
    w.uint32(max_early_data_size)
    return w.getvalue()


def decode_early_data_indication(data: bytes, in_new_session_ticket: bool) -> int | None:
    """None for the empty ClientHello/EncryptedExtensions form, else max_early_data_size."""
    r = Reader(data, "early_data extension")
    if not in_new_session_ticket:
        r.finish()
        return None
    size = r.uint32("max_early_data_size")
    r.finish()
    return size


# -- pre_shared_key (RFC 8446 §4.2.11) --------------------------------------------------------


def pre_shared_key_binders_length(binders: list[bytes]) -> int:
    """Bytes taken by the encoded binders list (its 2-byte length included).

    The binder is computed over the ClientHello truncated before this list (§4.2.11.2), which
    ends the message since pre_shared_key is the last extension.
    """
    return 2 + sum(1 + len(binder) for binder in binders)


def encode_pre_shared_key_client(
    identities: list[tuple[bytes, int]], binders: list[bytes]
) -> bytes:
    """ClientHello form: ``OfferedPsks`` (``PskIdentity identities<7..2^16-1>;
    PskBinderEntry binders<33..2^16-1>``), one binder per identity."""
    if not identities or len(identities) != len(binders):
        raise ValueError("OfferedPsks needs one binder per identity, and at least one")
    w = Writer()
    with w.block16():
        for identity, obfuscated_ticket_age in identities:
            if not identity:
                raise ValueError("a PSK identity is never empty")
            w.opaque16(identity)
            w.uint32(obfuscated_ticket_age)
    with w.block16():
        for binder in binders:
            if not 32 <= len(binder) <= 255:
                raise ValueError(f"a PSK binder has 32..255 bytes, not {len(binder)}")
            w.opaque8(binder)
    return w.getvalue()


def decode_pre_shared_key_client(data: bytes) -> tuple[list[tuple[bytes, int]], list[bytes]]:
    """ClientHello form: (identities as (identity, obfuscated_ticket_age), binders).

    Syntax errors are decode_error. A binder count that differs from the identity count is an
    illegal_parameter: the RFC names no alert for it, and it is a syntactically valid message
    whose fields are inconsistent (§6, "illegal_parameter").
    """
    r = Reader(data, "pre_shared_key extension")
    id_block = r.block16("identities", minimum=7)
    binder_block = r.block16("binders", minimum=33)
    r.finish()
    identities: list[tuple[bytes, int]] = []
    while not id_block.at_end():
        identity = id_block.opaque16("a PSK identity", minimum=1)
        identities.append((identity, id_block.uint32("obfuscated_ticket_age")))
    binders: list[bytes] = []
    while not binder_block.at_end():
        binders.append(binder_block.opaque8("a PskBinderEntry", minimum=32))
    if len(binders) != len(identities):
        raise _illegal(
            f"pre_shared_key extension: {len(identities)} identities but {len(binders)} binders"
        )
    return identities, binders


def encode_pre_shared_key_server(selected_identity: int) -> bytes:
    """ServerHello form: ``uint16 selected_identity``."""
    w = Writer()
    w.uint16(selected_identity)
    return w.getvalue()


def decode_pre_shared_key_server(data: bytes) -> int:
    """ServerHello form: ``uint16 selected_identity`` (range-checked by the client)."""
    r = Reader(data, "pre_shared_key extension")
    selected = r.uint16("selected_identity")
    r.finish()
    return selected

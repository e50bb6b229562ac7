"""Which protocol version a handshake runs: the version-neutral rules of the hello phase.

RFC 8446 §4.2.1: a client lists the versions it offers in supported_versions; a server picks
one and names it in its ServerHello's supported_versions (a TLS 1.2 server answers in
legacy_version instead). What cytls can run is :data:`IMPLEMENTED`; what a connection offers is
that, within the context's minimum_version..maximum_version (``HandshakePolicy.versions``).
Servers run TLS 1.3 and TLS 1.2; clients TLS 1.3 only until the TLS 1.2 client exists
(:data:`CLIENT_IMPLEMENTED`, then an entry in ``hello.CLIENT_HANDSHAKES``).
"""

from __future__ import annotations

from cytls.errors import ProtocolError
from cytls.registry import ProtocolVersion
from cytls.wire import extensions as ext
from cytls.wire.enums import AlertDescription

IMPLEMENTED: tuple[ProtocolVersion, ...] = (ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2)
"""The versions cytls has a server handshake for, most preferred first."""
CLIENT_IMPLEMENTED: tuple[ProtocolVersion, ...] = (ProtocolVersion.TLSv1_3,)
"""The versions cytls has a client handshake for (TLS 1.2's is not written yet, issue 15)."""

# The last 8 bytes of ServerHello.random of a TLS 1.3 server negotiating an older version
# (RFC 8446 §4.1.3).
DOWNGRADE_TLS12 = b"DOWNGRD\x01"
DOWNGRADE_TLS11 = b"DOWNGRD\x00"


def version_name(version: int) -> str:
    """``TLS 1.3`` for 0x0304 (TLS 1.x is 0x03, x + 1 on the wire); anything else in hex."""
    if ProtocolVersion.TLSv1_0 <= version <= ProtocolVersion.TLSv1_3:
        return f"TLS 1.{(version & 0xFF) - 1}"
    return f"0x{version:04x}"


def enabled_versions(minimum: int, maximum: int, *, server_side: bool) -> tuple[int, ...]:
    """The implemented versions within ``minimum``..``maximum`` (wire values), preferred first."""
    implemented = IMPLEMENTED if server_side else CLIENT_IMPLEMENTED
    return tuple(version for version in implemented if minimum <= version <= maximum)


def server_choice(
    offered_data: bytes | None, enabled: tuple[int, ...], legacy_version: int = 0
) -> int:
    """The version a server runs (RFC 8446 §4.2.1): its most preferred enabled version that the
    client's supported_versions lists. A ClientHello without the extension offers at most TLS
    1.2, in legacy_version (§4.1.2: TLS 1.2 for a legacy_version of 0x0303 or higher, RFC 5246
    §E.1); with no version in common the answer is protocol_version.
    """
    if offered_data is not None:  # present, even empty: decode_error then (§4.2.1: <2..254>)
        offered = ext.decode_supported_versions_client(offered_data)
    elif legacy_version >= ProtocolVersion.TLSv1_2:
        offered = [ProtocolVersion.TLSv1_2]
    else:
        offered = []
    for version in enabled:
        if version in offered:
            return version
    client = ", ".join(version_name(v) for v in offered[:8]) or "only TLS 1.2 or older"
    ours = ", ".join(version_name(v) for v in enabled) or "none"
    raise ProtocolError(
        AlertDescription.protocol_version,
        f"no protocol version in common: the client offers {client}, this server enables "
        f"{ours} (RFC 8446 §4.2.1)",
    )


def client_learns(
    supported_versions: bytes | None, legacy_version: int, random: bytes, offered: tuple[int, ...]
) -> int:
    """The version a ServerHello (or HelloRetryRequest) selects, as the client must read it
    (RFC 8446 §4.1.3, §4.2.1): from supported_versions, which must name a version we offered;
    without it, legacy_version, which must be one we offered and must not come with a downgrade
    sentinel in the random when we offered TLS 1.3."""
    if supported_versions is None:
        if ProtocolVersion.TLSv1_3 in offered and random[-8:] in (DOWNGRADE_TLS12, DOWNGRADE_TLS11):
            raise ProtocolError(
                AlertDescription.illegal_parameter,
                "the ServerHello random carries a downgrade sentinel (RFC 8446 §4.1.3)",
            )
        if legacy_version not in offered:
            raise ProtocolError(
                AlertDescription.protocol_version,
                f"the server chose protocol version {version_name(legacy_version)}; this "
                f"client offers {', '.join(version_name(v) for v in offered)}",
            )
        return legacy_version
    version = ext.decode_supported_versions_server(supported_versions)
    if version not in offered or version < ProtocolVersion.TLSv1_3:
        raise ProtocolError(
            AlertDescription.illegal_parameter,
            f"the server selected version 0x{version:04x} in supported_versions, which we did "
            "not offer there (RFC 8446 §4.2.1)",
        )
    return version

"""TLS 1.3 handshake messages (RFC 8446 §4, Appendix B.3), stateless.

Each message is a slotted dataclass with ``serialize()`` (the body, without the 4-byte handshake
header) and ``parse(body)``. Extension blocks are kept raw and in order as ``Extensions``; the
codecs of individual extensions are in ``cytls.wire.extensions``. Parsing checks the syntax of
Appendix B (vector bounds, no trailing bytes, no duplicate extension) and nothing that depends
on the connection's state: which extensions may appear where, which versions or suites are
acceptable, the length of Finished.verify_data and so on belong to the state machines.

``HandshakeReassembler`` turns the payloads of handshake records into whole messages
(RFC 8446 §5.1: messages may be coalesced into one record or fragmented across several).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Self

from cytls.errors import ProtocolError
from cytls.wire.codec import Reader, Writer, decode_error
from cytls.wire.enums import AlertDescription

__all__ = [
    "HELLO_RETRY_REQUEST_RANDOM",
    "Certificate",
    "CertificateEntry",
    "CertificateRequest",
    "CertificateVerify",
    "ClientHello",
    "EncryptedExtensions",
    "EndOfEarlyData",
    "ExtensionType",
    "Extensions",
    "Finished",
    "HandshakeReassembler",
    "HandshakeType",
    "KeyUpdate",
    "KeyUpdateRequest",
    "NewSessionTicket",
    "ServerHello",
    "extension_name",
    "find_extension",
    "handshake_message",
    "parse_extensions",
    "serialize_extensions",
]


class HandshakeType(IntEnum):
    """Handshake.msg_type (RFC 8446 §4 and B.3; compressed_certificate from RFC 8879; the
    TLS 1.2 messages of RFC 5246 §7.4, whose codecs are in cytls.wire.messages12)."""

    hello_request = 0  # TLS 1.2 only
    client_hello = 1
    server_hello = 2
    new_session_ticket = 4
    end_of_early_data = 5
    encrypted_extensions = 8
    certificate = 11
    server_key_exchange = 12  # TLS 1.2 only
    certificate_request = 13
    server_hello_done = 14  # TLS 1.2 only
    certificate_verify = 15
    client_key_exchange = 16  # TLS 1.2 only
    finished = 20
    key_update = 24
    compressed_certificate = 25
    message_hash = 254


class ExtensionType(IntEnum):
    """Extension.extension_type (RFC 8446 §4.2 and the IANA TLS ExtensionType registry)."""

    server_name = 0
    max_fragment_length = 1
    status_request = 5
    supported_groups = 10
    ec_point_formats = 11
    signature_algorithms = 13
    use_srtp = 14
    heartbeat = 15
    application_layer_protocol_negotiation = 16
    signed_certificate_timestamp = 18
    client_certificate_type = 19
    server_certificate_type = 20
    padding = 21
    encrypt_then_mac = 22
    extended_master_secret = 23
    compress_certificate = 27
    record_size_limit = 28
    session_ticket = 35
    pre_shared_key = 41
    early_data = 42
    supported_versions = 43
    cookie = 44
    psk_key_exchange_modes = 45
    certificate_authorities = 47
    oid_filters = 48
    post_handshake_auth = 49
    signature_algorithms_cert = 50
    key_share = 51
    renegotiation_info = 0xFF01


class KeyUpdateRequest(IntEnum):
    """KeyUpdate.request_update (RFC 8446 §4.6.3)."""

    update_not_requested = 0
    update_requested = 1


#: ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3).
HELLO_RETRY_REQUEST_RANDOM: bytes = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
)

#: An extension block kept raw and in wire order: (extension_type, extension_data).
Extensions = list[tuple[int, bytes]]

_RANDOM_LENGTH = 32
_MAX_SESSION_ID = 32  # legacy_session_id<0..32> (RFC 8446 §4.1.2)


def extension_name(ext_type: int) -> str:
    """A readable name for an extension type, for error messages."""
    try:
        return f"{ExtensionType(ext_type).name} extension"
    except ValueError:
        return f"extension {ext_type}"


def parse_extensions(reader: Reader, *, minimum: int = 0, maximum: int = 0xFFFF) -> Extensions:
    """Pull ``Extension extensions<minimum..maximum>`` (RFC 8446 §4.2).

    A type that appears twice in one block is an illegal_parameter ("There MUST NOT be more
    than one extension of the same type in a given extension block", §4.2).
    """
    block = reader.block16("the extensions block", minimum=minimum, maximum=maximum)
    extensions: Extensions = []
    seen: set[int] = set()
    while not block.at_end():
        ext_type = block.uint16("an extension type")
        try:
            data = block.opaque16("extension data")
        except ProtocolError:  # name the extension only when there is something to report
            raise ProtocolError(
                AlertDescription.decode_error,
                f"{reader.what}: the data of the {extension_name(ext_type)} is truncated",
            ) from None
        if ext_type in seen:
            raise ProtocolError(
                AlertDescription.illegal_parameter,
                f"{reader.what}: the {extension_name(ext_type)} appears more than once",
            )
        seen.add(ext_type)
        extensions.append((ext_type, data))
    return extensions


def serialize_extensions(writer: Writer, extensions: Extensions) -> None:
    """Push an extension block with its 2-byte length, in the given order (RFC 8446 §4.2)."""
    seen: set[int] = set()
    with writer.block16():
        for ext_type, data in extensions:
            if ext_type in seen:
                raise ValueError(f"the {extension_name(ext_type)} is listed twice")
            seen.add(ext_type)
            writer.uint16(ext_type)
            writer.opaque16(data)


def find_extension(extensions: Extensions, ext_type: int) -> bytes | None:
    """The data of the extension of type ``ext_type``, or None if the block has none."""
    for t, data in extensions:
        if t == ext_type:
            return data
    return None


def handshake_message(msg_type: int, body: bytes) -> bytes:
    """Frame a body as a Handshake structure: msg_type, uint24 length, body (RFC 8446 §4)."""
    if not 0 <= msg_type <= 0xFF:
        raise ValueError(f"handshake type {msg_type} does not fit in a uint8")
    if len(body) > 0xFFFFFF:
        raise ValueError(f"a {len(body)}-byte handshake body does not fit a uint24 length")
    return bytes((msg_type,)) + len(body).to_bytes(3, "big") + body


def _check_random(random: bytes) -> None:
    if len(random) != _RANDOM_LENGTH:
        raise ValueError(f"random must be {_RANDOM_LENGTH} bytes, not {len(random)}")


def _check_session_id(session_id: bytes) -> None:
    if len(session_id) > _MAX_SESSION_ID:
        raise ValueError(f"a legacy session id has at most 32 bytes, not {len(session_id)}")


class _Message:
    """Shared helpers; ``msg_type`` is the message's HandshakeType."""

    __slots__ = ()

    msg_type: ClassVar[HandshakeType]

    def serialize(self) -> bytes:  # pragma: no cover - every message overrides it
        raise NotImplementedError

    def to_message(self) -> bytes:
        """The whole handshake message: the 4-byte header and ``serialize()``."""
        return handshake_message(self.msg_type, self.serialize())


@dataclass(slots=True)
class ClientHello(_Message):
    """RFC 8446 §4.1.2.

    A ClientHello with nothing after legacy_compression_methods parses with an empty
    ``extensions`` (§4.1.2: "The presence of extensions can be detected by determining whether
    there are bytes following the compression_methods field"), and an empty extension block is
    accepted too: both are valid TLS 1.2 hellos, which a TLS 1.3 server must answer with
    TLS 1.2 or a protocol_version alert, not a decode_error. ``serialize()`` always writes the
    extension block. ``pre_shared_key`` anywhere but last is an illegal_parameter (§4.2.11).
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.client_hello

    random: bytes
    legacy_session_id: bytes
    cipher_suites: list[int]
    extensions: Extensions
    legacy_version: int = 0x0303
    legacy_compression_methods: bytes = b"\x00"

    def serialize(self) -> bytes:
        """The ClientHello body."""
        _check_random(self.random)
        _check_session_id(self.legacy_session_id)
        if not self.cipher_suites:
            raise ValueError("a ClientHello offers at least one cipher suite")
        if not self.legacy_compression_methods:
            raise ValueError("legacy_compression_methods has at least one byte")
        w = Writer()
        w.uint16(self.legacy_version)
        w.bytes(self.random)
        w.opaque8(self.legacy_session_id)
        with w.block16():
            for suite in self.cipher_suites:
                w.uint16(suite)
        w.opaque8(self.legacy_compression_methods)
        serialize_extensions(w, self.extensions)
        return w.getvalue()

    @classmethod
    def parse(cls, body: bytes) -> Self:
        """Decode a ClientHello body; see the class docstring for what is accepted."""
        r = Reader(body, "ClientHello")
        legacy_version = r.uint16("legacy_version")
        random = r.bytes(_RANDOM_LENGTH, "random")
        session_id = r.opaque8("legacy_session_id", maximum=_MAX_SESSION_ID)
        suites = r.block16("cipher_suites", minimum=2, maximum=0xFFFE)
        if suites.remaining() % 2:
            raise decode_error("ClientHello: cipher_suites has an odd number of bytes")
        cipher_suites = [suites.uint16("a cipher suite") for _ in range(suites.remaining() // 2)]
        compression = r.opaque8("legacy_compression_methods", minimum=1)
        extensions = [] if r.at_end() else parse_extensions(r)
        r.finish()
        for ext_type, _ in extensions[:-1]:
            if ext_type == ExtensionType.pre_shared_key:
                raise ProtocolError(
                    AlertDescription.illegal_parameter,
                    "ClientHello: the pre_shared_key extension is not the last one (§4.2.11)",
                )
        return cls(random, session_id, cipher_suites, extensions, legacy_version, compression)


@dataclass(slots=True)
class ServerHello(_Message):
    """RFC 8446 §4.1.3; also a HelloRetryRequest when ``random`` is the special value.

    ``legacy_compression_method`` and ``legacy_version`` are returned as sent: checking them
    is the state machine's job. As for the ClientHello, a missing or empty extension block
    (a TLS 1.2 ServerHello) parses to an empty list.
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.server_hello

    random: bytes
    legacy_session_id_echo: bytes
    cipher_suite: int
    extensions: Extensions
    legacy_version: int = 0x0303
    legacy_compression_method: int = 0

    @property
    def is_hello_retry_request(self) -> bool:
        """True for a HelloRetryRequest (random == SHA-256("HelloRetryRequest"), §4.1.3)."""
        return self.random == HELLO_RETRY_REQUEST_RANDOM

    def serialize(self) -> bytes:
        """The ServerHello body."""
        _check_random(self.random)
        _check_session_id(self.legacy_session_id_echo)
        w = Writer()
        w.uint16(self.legacy_version)
        w.bytes(self.random)
        w.opaque8(self.legacy_session_id_echo)
        w.uint16(self.cipher_suite)
        w.uint8(self.legacy_compression_method)
        serialize_extensions(w, self.extensions)
        return w.getvalue()

    @classmethod
    def parse(cls, body: bytes) -> Self:
        """Decode a ServerHello (or HelloRetryRequest) body."""
        r = Reader(body, "ServerHello")
        legacy_version = r.uint16("legacy_version")
        random = r.bytes(_RANDOM_LENGTH, "random")
        if random == HELLO_RETRY_REQUEST_RANDOM:
            r.what = "HelloRetryRequest"
        session_id = r.opaque8("legacy_session_id_echo", maximum=_MAX_SESSION_ID)
        cipher_suite = r.uint16("cipher_suite")
        compression = r.uint8("legacy_compression_method")
        extensions = [] if r.at_end() else parse_extensions(r)
        r.finish()
        return cls(random, session_id, cipher_suite, extensions, legacy_version, compression)


@dataclass(slots=True)
class EncryptedExtensions(_Message):
    """RFC 8446 §4.3.1: ``Extension extensions<0..2^16-1>``."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.encrypted_extensions

    extensions: Extensions

    def serialize(self) -> bytes:
        """The EncryptedExtensions body."""
        w = Writer()
        serialize_extensions(w, self.extensions)
        return w.getvalue()

    @classmethod
    def parse(cls, body: bytes) -> Self:
        """Decode an EncryptedExtensions body."""
        r = Reader(body, "EncryptedExtensions")
        extensions = parse_extensions(r)
        r.finish()
        return cls(extensions)


@dataclass(slots=True)
class CertificateRequest(_Message):
    """RFC 8446 §4.3.2: a context<0..255> and ``Extension extensions<2..2^16-1>``."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate_request

    certificate_request_context: bytes
    extensions: Extensions

    def serialize(self) -> bytes:
        """The CertificateRequest body."""
        w = Writer()
        w.opaque8(self.certificate_request_context)
        serialize_extensions(w, self.extensions)
        return w.getvalue()

    @classmethod
    def parse(cls, body: bytes) -> Self:
        """Decode a CertificateRequest body (an empty extension block is a decode_error)."""
        r = Reader(body, "CertificateRequest")
        context = r.opaque8("certificate_request_context")
        extensions = parse_extensions(r, minimum=2)
        r.finish()
        return cls(context, extensions)


@dataclass(slots=True)
class CertificateEntry:
    """RFC 8446 §4.4.2: ``opaque cert_data<1..2^24-1>; Extension extensions<0..2^16-1>``.

    ``cert_data`` is a DER certificate, or a SubjectPublicKeyInfo for raw public keys
    (RFC 7250); this layer does not look inside it.
    """

    cert_data: bytes
    extensions: Extensions

    def write(self, writer: Writer) -> None:
        """Push this entry onto ``writer``."""
        if not self.cert_data:
            raise ValueError("cert_data is never empty")
        writer.opaque24(self.cert_data)
        serialize_extensions(writer, self.extensions)

    @classmethod
    def read(cls, reader: Reader) -> Self:
        """Pull one entry from ``reader``."""
        cert_data = reader.opaque24("cert_data", minimum=1)
        extensions = parse_extensions(reader)
        return cls(cert_data, extensions)

    def serialize(self) -> bytes:
        """This entry alone, as it appears inside certificate_list."""
        w = Writer()
        self.write(w)
        return w.getvalue()

    @classmethod
    def parse(cls, body: bytes) -> Self:
        """Decode exactly one entry."""
        r = Reader(body, "CertificateEntry")
        entry = cls.read(r)
        r.finish()
        return entry


@dataclass(slots=True)
class Certificate(_Message):
    """RFC 8446 §4.4.2: a context<0..255> and ``CertificateEntry certificate_list<0..2^24-1>``.

    An empty list parses (a client without a certificate sends one, §4.4.2.4); a server's
    empty Certificate is the state machine's decode_error to raise.
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate

    certificate_request_context: bytes
    entries: list[CertificateEntry]

    def serialize(self) -> bytes:
        """The Certificate body."""
        w = Writer()
        w.opaque8(self.certificate_request_context)
        with w.block24():
            for entry in self.entries:
                entry.write(w)
        return w.getvalue()

    @classmethod
    def parse(cls, body: bytes) -> Self:
        """Decode a Certificate body."""
        r = Reader(body, "Certificate")
        context = r.opaque8("certificate_request_context")
        block = r.block24("certificate_list")
        entries = []
        while not block.at_end():
            entries.append(CertificateEntry.read(block))
        r.finish()
        return cls(context, entries)


@dataclass(slots=True)
class CertificateVerify(_Message):
    """RFC 8446 §4.4.3: ``SignatureScheme algorithm; opaque signature<0..2^16-1>``."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate_verify

    algorithm: int
    signature: bytes

    def serialize(self) -> bytes:
        """The CertificateVerify body."""
        w = Writer()
        w.uint16(self.algorithm)
        w.opaque16(self.signature)
        return w.getvalue()

    @classmethod
    def parse(cls, body: bytes) -> Self:
        """Decode a CertificateVerify body."""
        r = Reader(body, "CertificateVerify")
        algorithm = r.uint16("algorithm")
        signature = r.opaque16("signature")
        r.finish()
        return cls(algorithm, signature)


@dataclass(slots=True)
class Finished(_Message):
    """RFC 8446 §4.4.4: ``opaque verify_data[Hash.length]`` — the whole body.

    The length depends on the negotiated hash, so the state machine checks it (decode_error
    if it differs); an empty body is rejected here, as no hash is 0 bytes long. Compare
    verify_data with ``hmac.compare_digest``.
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.finished

    verify_data: bytes

    def __repr__(self) -> str:
        return f"Finished(<{len(self.verify_data)} bytes>)"

    def serialize(self) -> bytes:
        """The Finished body: verify_data itself."""
        return bytes(self.verify_data)

    @classmethod
    def parse(cls, body: bytes) -> Self:
        """Decode a Finished body."""
        if not body:
            raise decode_error("Finished: verify_data is empty")
        return cls(bytes(body))


@dataclass(slots=True)
class NewSessionTicket(_Message):
    """RFC 8446 §4.6.1.

    ``uint32 ticket_lifetime; uint32 ticket_age_add; opaque ticket_nonce<0..255>;
    opaque ticket<1..2^16-1>; Extension extensions<0..2^16-2>``. The 7-day lifetime cap is
    policy for the state machine.
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.new_session_ticket

    ticket_lifetime: int
    ticket_age_add: int
    ticket_nonce: bytes
    ticket: bytes
    extensions: Extensions

    def __repr__(self) -> str:
        return (
            f"NewSessionTicket(ticket_lifetime={self.ticket_lifetime}, "
            f"<{len(self.ticket_nonce)}-byte nonce>, <{len(self.ticket)}-byte ticket>, "
            f"extensions={[t for t, _ in self.extensions]})"
        )

    def serialize(self) -> bytes:
        """The NewSessionTicket body."""
        if not self.ticket:
            raise ValueError("a ticket is never empty")
        w = Writer()
        w.uint32(self.ticket_lifetime)
        w.uint32(self.ticket_age_add)
        w.opaque8(self.ticket_nonce)
        w.opaque16(self.ticket)
        serialize_extensions(w, self.extensions)
        return w.getvalue()

    @classmethod
    def parse(cls, body: bytes) -> Self:
        """Decode a NewSessionTicket body."""
        r = Reader(body, "NewSessionTicket")
        lifetime = r.uint32("ticket_lifetime")
        age_add = r.uint32("ticket_age_add")
        nonce = r.opaque8("ticket_nonce")
        ticket = r.opaque16("ticket", minimum=1)
        extensions = parse_extensions(r, maximum=0xFFFE)
        r.finish()
        return cls(lifetime, age_add, nonce, ticket, extensions)


@dataclass(slots=True)
class KeyUpdate(_Message):
    """RFC 8446 §4.6.3: one byte, update_not_requested(0) or update_requested(1).

    Any other value is an illegal_parameter (§4.6.3: "If an implementation receives any other
    value, it MUST terminate the connection with an 'illegal_parameter' alert").
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.key_update

    request_update: int

    def serialize(self) -> bytes:
        """The KeyUpdate body."""
        if self.request_update not in (0, 1):
            raise ValueError(f"request_update is 0 or 1, not {self.request_update}")
        return bytes((self.request_update,))

    @classmethod
    def parse(cls, body: bytes) -> Self:
        """Decode a KeyUpdate body."""
        r = Reader(body, "KeyUpdate")
        value = r.uint8("request_update")
        r.finish()
        if value not in (0, 1):
            raise ProtocolError(
                AlertDescription.illegal_parameter,
                f"KeyUpdate: request_update is {value}, not 0 or 1",
            )
        return cls(value)


class _EmptyMessage(_Message):
    """A message whose body is ``struct {}``: anything in it is a decode_error."""

    __slots__ = ()

    def serialize(self) -> bytes:
        """The (empty) body."""
        return b""

    @classmethod
    def parse(cls, body: bytes) -> Self:
        """Decode the body: it must be empty."""
        Reader(body, cls.__name__).finish()
        return cls()


@dataclass(slots=True)
class EndOfEarlyData(_EmptyMessage):
    """RFC 8446 §4.5: ``struct {} EndOfEarlyData`` — an empty body."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.end_of_early_data


_HEADER = 4  # msg_type (1) + uint24 length (3), RFC 8446 §4


class HandshakeReassembler:
    """Cut a stream of handshake-record payloads into handshake messages (RFC 8446 §5.1).

    ``feed`` the payloads in order; ``next_message`` returns each complete message as
    ``(msg_type, body, message)`` where ``message`` includes the 4-byte header (what the
    transcript hash takes). A header announcing a body longer than the limit for its type
    (``max_message_size``, or what ``limit_for(msg_type)`` returns) is a decode_error raised by
    the ``feed`` that completes the header, so an oversized message is never buffered: the
    incomplete tail held is at most the limit + 3 bytes, plus whatever complete messages the
    caller has not collected yet. After an error every call raises it again.
    """

    __slots__ = ("_buf", "_error", "_limit_for", "_max", "_pos", "_scanned")

    def __init__(
        self,
        max_message_size: int = 65536,
        *,
        limit_for: Callable[[int], int] | None = None,
    ) -> None:
        if not 0 <= max_message_size <= 0xFFFFFF:
            raise ValueError("max_message_size must fit a uint24")
        self._max = max_message_size
        self._limit_for = limit_for
        self._buf = bytearray()
        self._pos = 0  # start of the first message not yet returned
        self._scanned = 0  # end of the complete messages whose headers have been checked
        self._error: ProtocolError | None = None

    def __repr__(self) -> str:
        return f"<HandshakeReassembler {self.buffered()} bytes buffered>"

    def set_limit(self, limit_for: Callable[[int], int]) -> None:
        """Take the largest body per message type from ``limit_for`` from now on (a new owner:
        the state machine a server's hello phase hands the rest of the stream to)."""
        self._limit_for = limit_for

    def feed(self, data: builtins.bytes | bytearray | memoryview) -> None:
        """Append the payload of one handshake record (or any slice of the stream)."""
        if self._error is not None:
            raise self._error
        if not data:
            return
        self._buf += data
        buf = self._buf
        end = len(buf)
        pos = self._scanned
        while end - pos >= _HEADER:
            length = int.from_bytes(buf[pos + 1 : pos + _HEADER], "big")
            limit = self._max if self._limit_for is None else self._limit_for(buf[pos])
            if length > limit:
                self._error = decode_error(
                    f"a handshake message of type {buf[pos]} announces a {length}-byte body, "
                    f"over the {limit}-byte limit"
                )
                self._buf = bytearray()
                self._pos = self._scanned = 0
                raise self._error
            if end - pos < _HEADER + length:
                break
            pos += _HEADER + length
        self._scanned = pos

    def next_message(self) -> tuple[int, bytes, bytes] | None:
        """The next complete message as (msg_type, body, whole message), or None."""
        if self._error is not None:
            raise self._error
        pos = self._pos
        if pos >= self._scanned:
            return None
        buf = self._buf
        length = int.from_bytes(buf[pos + 1 : pos + _HEADER], "big")
        end = pos + _HEADER + length
        message = bytes(buf[pos:end])
        if end == len(buf):
            self._buf = bytearray()  # release the memory: an idle connection holds none
            self._pos = self._scanned = 0
        elif end >= 4096 and end * 2 >= len(buf):
            # Drop the consumed prefix once it is at least half of the buffer: amortised O(1).
            del buf[:end]
            self._pos = 0
            self._scanned -= end
        else:
            self._pos = end
        return message[0], message[_HEADER:], message

    def has_partial(self) -> bool:
        """True if bytes are buffered that do not (yet) form a complete message.

        A key change with this true means a message spans it, which RFC 8446 §5.1 forbids
        (unexpected_message).
        """
        return len(self._buf) > self._scanned

    def buffered(self) -> int:
        """Bytes held: complete messages not yet returned plus any partial one."""
        return len(self._buf) - self._pos

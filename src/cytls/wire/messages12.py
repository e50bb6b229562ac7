"""TLS 1.2 handshake messages (RFC 5246 §7.4, RFC 8422 §5 for ECDHE, RFC 5077 §3.3), stateless.

The messages TLS 1.2 has and TLS 1.3 does not, or has in another shape; ClientHello, ServerHello
and Finished are the same structures (cytls.wire.messages). As there: each message is a slotted
dataclass with ``serialize()`` (the body, without the 4-byte handshake header) and
``parse(body)``, which checks the syntax (vector bounds, no trailing bytes) and nothing that
depends on the connection: which curve, scheme or certificate type is acceptable is the state
machine's to decide.

ECDHE only: ServerKeyExchange and ClientKeyExchange are read as RFC 8422's ECDHE forms, with
the named_curve ECParameters (the only curve_type RFC 8422 §5.4 leaves). cytls's x25519 and
x448 use the same ECPoint encoding (RFC 8422 §5.11).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from cytls.wire.codec import Reader, Writer, decode_error
from cytls.wire.messages import HandshakeType, _EmptyMessage, _Message

__all__ = [
    "NAMED_CURVE",
    "Certificate12",
    "CertificateRequest12",
    "ClientCertificateType",
    "ClientKeyExchangeECDHE",
    "NewSessionTicket12",
    "ServerHelloDone",
    "ServerKeyExchangeECDHE",
]

NAMED_CURVE = 3
"""ECCurveType.named_curve (RFC 8422 §5.4): the curve is a NamedGroup code point."""


class ClientCertificateType:
    """ClientCertificateType values a TLS 1.2 CertificateRequest lists (RFC 5246 §7.4.4,
    RFC 8422 §5.5)."""

    rsa_sign = 1
    ecdsa_sign = 64


@dataclass(slots=True)
class Certificate12(_Message):
    """RFC 5246 §7.4.2: ``opaque ASN.1Cert<1..2^24-1>; ASN.1Cert certificate_list<0..2^24-1>``.

    No request context and no per-certificate extensions, unlike TLS 1.3's Certificate. An
    empty list parses (a client without a certificate sends one, §7.4.6).
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate

    certificates: list[bytes]

    def __repr__(self) -> str:
        return f"Certificate12(<{len(self.certificates)} certificates>)"

    def serialize(self) -> bytes:
        """The Certificate body."""
        w = Writer()
        with w.block24():
            for certificate in self.certificates:
                if not certificate:
                    raise ValueError("a certificate is never empty (RFC 5246 §7.4.2)")
                w.opaque24(certificate)
        return w.getvalue()

    @classmethod
    def parse(cls, body: bytes) -> Self:
        """Decode a Certificate body."""
        r = Reader(body, "Certificate")
        block = r.block24("certificate_list")
        certificates = []
        while not block.at_end():
            certificates.append(block.opaque24("ASN.1Cert", minimum=1))
        r.finish()
        return cls(certificates)


@dataclass(slots=True)
class ServerKeyExchangeECDHE(_Message):
    """RFC 8422 §5.4: ``ServerECDHParams params; digitally-signed struct {...} signed_params``.

    ``ServerECDHParams = ECParameters curve_params (curve_type named_curve, NamedCurve
    namedcurve); ECPoint public (opaque point<1..2^8-1>)``; the signature is RFC 5246 §4.7's
    digitally-signed: ``SignatureAndHashAlgorithm algorithm; opaque signature<0..2^16-1>``,
    over ClientHello.random || ServerHello.random || ServerECDHParams (:meth:`signed_content`).
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.server_key_exchange

    group: int
    public: bytes
    algorithm: int
    signature: bytes

    def params(self) -> bytes:
        """The ServerECDHParams, as sent (and as signed)."""
        w = Writer()
        w.uint8(NAMED_CURVE)
        w.uint16(self.group)
        w.opaque8(self.public)
        return w.getvalue()

    def signed_content(self, client_random: bytes, server_random: bytes) -> bytes:
        """What the signature covers (RFC 8422 §5.4)."""
        return client_random + server_random + self.params()

    def serialize(self) -> bytes:
        """The ServerKeyExchange body."""
        if not self.public:
            raise ValueError("an ECDH public value is never empty (RFC 8422 §5.4)")
        w = Writer()
        w.bytes(self.params())
        w.uint16(self.algorithm)
        w.opaque16(self.signature)
        return w.getvalue()

    @classmethod
    def parse(cls, body: bytes) -> Self:
        """Decode an ECDHE ServerKeyExchange body; any other curve_type is a decode_error
        (explicit curves are deprecated, RFC 8422 §5.4)."""
        r = Reader(body, "ServerKeyExchange")
        curve_type = r.uint8("curve_type")
        if curve_type != NAMED_CURVE:
            raise decode_error(
                f"ServerKeyExchange: curve_type {curve_type}, not named_curve (RFC 8422 §5.4)"
            )
        group = r.uint16("namedcurve")
        public = r.opaque8("public", minimum=1)
        algorithm = r.uint16("algorithm")
        signature = r.opaque16("signature")
        r.finish()
        return cls(group, public, algorithm, signature)


@dataclass(slots=True)
class ServerHelloDone(_EmptyMessage):
    """RFC 5246 §7.4.5: ``struct { } ServerHelloDone``: an empty body."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.server_hello_done


@dataclass(slots=True)
class ClientKeyExchangeECDHE(_Message):
    """RFC 8422 §5.7: ``ClientECDiffieHellmanPublic``: ``opaque point<1..2^8-1>``.

    The implicit form (a zero-length point, for fixed ECDH client certificates) is refused:
    RFC 8422 removed fixed ECDH, so the point is always there.
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.client_key_exchange

    public: bytes

    def serialize(self) -> bytes:
        """The ClientKeyExchange body."""
        if not self.public:
            raise ValueError("an ECDH public value is never empty (RFC 8422 §5.7)")
        w = Writer()
        w.opaque8(self.public)
        return w.getvalue()

    @classmethod
    def parse(cls, body: bytes) -> Self:
        """Decode an ECDHE ClientKeyExchange body."""
        r = Reader(body, "ClientKeyExchange")
        public = r.opaque8("ecdh_Yc", minimum=1)
        r.finish()
        return cls(public)


@dataclass(slots=True)
class CertificateRequest12(_Message):
    """RFC 5246 §7.4.4: ``ClientCertificateType certificate_types<1..2^8-1>;
    SignatureAndHashAlgorithm supported_signature_algorithms<2..2^16-2>;
    DistinguishedName certificate_authorities<0..2^16-1>`` (each name opaque<1..2^16-1>)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate_request

    certificate_types: list[int]
    signature_algorithms: list[int]
    certificate_authorities: list[bytes]

    def serialize(self) -> bytes:
        """The CertificateRequest body."""
        w = Writer()
        with w.block8():
            for certificate_type in self.certificate_types:
                w.uint8(certificate_type)
        with w.block16():
            for algorithm in self.signature_algorithms:
                w.uint16(algorithm)
        with w.block16():
            for name in self.certificate_authorities:
                w.opaque16(name)
        return w.getvalue()

    @classmethod
    def parse(cls, body: bytes) -> Self:
        """Decode a CertificateRequest body."""
        r = Reader(body, "CertificateRequest")
        types = r.block8("certificate_types", minimum=1)
        certificate_types = []
        while not types.at_end():
            certificate_types.append(types.uint8("ClientCertificateType"))
        schemes = r.block16("supported_signature_algorithms", minimum=2, maximum=0xFFFE)
        if schemes.remaining() % 2:
            raise decode_error(
                "CertificateRequest: supported_signature_algorithms has an odd length"
            )
        algorithms = []
        while not schemes.at_end():
            algorithms.append(schemes.uint16("SignatureAndHashAlgorithm"))
        names = r.block16("certificate_authorities")
        authorities = []
        while not names.at_end():
            authorities.append(names.opaque16("DistinguishedName", minimum=1))
        r.finish()
        return cls(certificate_types, algorithms, authorities)


@dataclass(slots=True)
class NewSessionTicket12(_Message):
    """RFC 5077 §3.3: ``uint32 ticket_lifetime_hint; opaque ticket<0..2^16-1>``."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.new_session_ticket

    lifetime_hint: int
    ticket: bytes

    def __repr__(self) -> str:
        return (
            f"NewSessionTicket12(lifetime_hint={self.lifetime_hint}, "
            f"<{len(self.ticket)}-byte ticket>)"
        )

    def serialize(self) -> bytes:
        """The NewSessionTicket body."""
        w = Writer()
        w.uint32(self.lifetime_hint)
        w.opaque16(self.ticket)
        return w.getvalue()

    @classmethod
    def parse(cls, body: bytes) -> Self:
        """Decode a TLS 1.2 NewSessionTicket body."""
        r = Reader(body, "NewSessionTicket")
        lifetime_hint = r.uint32("ticket_lifetime_hint")
        ticket = r.opaque16("ticket")
        r.finish()
        return cls(lifetime_hint, ticket)

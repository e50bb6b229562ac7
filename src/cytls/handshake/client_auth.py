"""Client certificates (RFC 8446 §4.3.2, §4.4.2, §4.4.3, §4.6.2): the CertificateRequest a
server sends, the answer a client gives, and the server's checks of that answer.

Both happen either inside the handshake (an empty certificate_request_context; the handshake's
transcript; Finished keyed by the client handshake traffic secret) or after it, as post-handshake
authentication (a random context; a transcript of the handshake up to the client Finished plus
this exchange, §4.4.1; Finished keyed by the client application traffic secret, §4.4). The state
machines in client13/server13 own the order of the messages; this module owns what goes into
them and what is accepted.
"""

from __future__ import annotations

import hmac
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cytls.crypto import signatures
from cytls.errors import ProtocolError
from cytls.handshake.common import ALLOWED_IN_CERTIFICATE, KNOWN_EXTENSIONS, require
from cytls.handshake.policy import HandshakePolicy
from cytls.wire import extensions as ext
from cytls.wire.enums import AlertDescription
from cytls.wire.messages import (
    Certificate,
    CertificateRequest,
    CertificateVerify,
    ExtensionType,
    extension_name,
    find_extension,
)
from cytls.x509.verify import verify_client_chain

if TYPE_CHECKING:
    from cryptography import x509

    from cytls.crypto.keyschedule import Transcript

__all__ = [
    "ClientAuthExchange",
    "certificate_request",
    "check_certificate_request",
    "check_client_certificate",
    "check_client_certificate_verify",
    "client_credentials",
]


MAX_CERTIFICATE_AUTHORITIES = 16384
"""Most bytes of DER names a CertificateRequest lists in certificate_authorities. A bigger trust
store (the system's) is not listed at all: the extension is optional (RFC 8446 §4.2.4), and a
partial list would steer clients away from CAs that we do trust."""

POST_HANDSHAKE_CONTEXT_SIZE = 32
"""Random bytes of a post-handshake certificate_request_context (OpenSSL's size), which RFC 8446
§4.6.2 asks to be unpredictable."""

# RFC 8446 §4.2: the extensions a CertificateRequest may carry.
ALLOWED_IN_CERTIFICATE_REQUEST = frozenset(
    {
        ExtensionType.status_request,
        ExtensionType.signature_algorithms,
        ExtensionType.signed_certificate_timestamp,
        ExtensionType.certificate_authorities,
        ExtensionType.oid_filters,
        ExtensionType.signature_algorithms_cert,
    }
)


# --- the server's side --------------------------------------------------------------------------


def certificate_request(policy: HandshakePolicy, request_context: bytes) -> CertificateRequest:
    """Our CertificateRequest (§4.3.2): the schemes we accept in CertificateVerify and in
    certificates, and the subject names of our trust anchors (as OpenSSL sends its CA list)."""
    extensions: list[tuple[int, bytes]] = [
        (
            ExtensionType.signature_algorithms,
            ext.encode_signature_algorithms(list(signatures.CERTIFICATE_VERIFY_SCHEMES)),
        ),
        (
            ExtensionType.signature_algorithms_cert,
            ext.encode_signature_algorithms(list(signatures.CERTIFICATE_SCHEMES)),
        ),
    ]
    names = policy.trust_store.subject_names()
    if names and sum(2 + len(name) for name in names) <= MAX_CERTIFICATE_AUTHORITIES:
        extensions.append(
            (ExtensionType.certificate_authorities, ext.encode_certificate_authorities(list(names)))
        )
    return CertificateRequest(request_context, extensions)


@dataclass(slots=True)
class ClientAuthExchange:
    """One CertificateRequest of ours and what the client has answered so far."""

    context: bytes
    """Its certificate_request_context, which the client's Certificate must echo."""
    transcript: Transcript = field(repr=False)
    """The handshake's own transcript, or a post-handshake copy of it (§4.4.1)."""
    post_handshake: bool
    chain: tuple[bytes, ...] = field(default=(), repr=False)
    """The client's chain as sent, DER, leaf first (verified, or empty)."""
    leaf: x509.Certificate | None = field(default=None, repr=False)


def check_client_certificate(
    body: bytes, exchange: ClientAuthExchange, policy: HandshakePolicy
) -> None:
    """The client's Certificate (§4.4.2): our request's context, and a chain that verifies
    against our trust store, or no chain if ``verify_mode`` allows none (§4.4.2.4). Fills in
    ``exchange.chain`` and ``exchange.leaf``."""
    message = Certificate.parse(body)
    require(
        hmac.compare_digest(message.certificate_request_context, exchange.context),
        AlertDescription.illegal_parameter,
        "the client's Certificate does not echo our certificate_request_context (§4.4.2)",
    )
    for entry in message.entries:
        for ext_type, _ in entry.extensions:
            if ext_type in KNOWN_EXTENSIONS and ext_type not in ALLOWED_IN_CERTIFICATE:
                raise ProtocolError(
                    AlertDescription.illegal_parameter,
                    f"the client's Certificate carries {extension_name(ext_type)}, "
                    "not allowed there (§4.2)",
                )
            # §4.4.2: a client's entry extensions answer ones of our request, which has none.
            raise ProtocolError(
                AlertDescription.unsupported_extension,
                f"the client's Certificate carries {extension_name(ext_type)}, which we did "
                "not request (§4.4.2)",
            )
    chain = tuple(entry.cert_data for entry in message.entries)
    if not chain:
        if policy.verify_mode == ssl.CERT_REQUIRED:
            error = ProtocolError(
                AlertDescription.certificate_required,
                "the client sent no certificate, and verify_mode is CERT_REQUIRED "
                "(RFC 8446 §4.4.2.4)",
            )
            error.reason = "PEER_DID_NOT_RETURN_A_CERTIFICATE"  # what ssl reports
            raise error
        exchange.chain, exchange.leaf = (), None
        return
    path = verify_client_chain(chain, policy.trust_store)
    exchange.chain, exchange.leaf = chain, path[0]


def check_client_certificate_verify(body: bytes, exchange: ClientAuthExchange) -> None:
    """The client's signature over the transcript so far, with the client context string
    (§4.4.3): decrypt_error if it does not verify, illegal_parameter for a scheme we did not
    offer or that does not fit the key."""
    message = CertificateVerify.parse(body)
    assert exchange.leaf is not None
    signatures.verify(
        exchange.leaf,
        message.algorithm,
        message.signature,
        signatures.certificate_verify_input(exchange.transcript.digest(), server=False),
        allowed=signatures.CERTIFICATE_VERIFY_SCHEMES,
    )


# --- the client's side --------------------------------------------------------------------------


def check_certificate_request(body: bytes, *, post_handshake: bool) -> CertificateRequest:
    """A server's CertificateRequest (§4.3.2), its extensions decoded once to catch bad ones."""
    request = CertificateRequest.parse(body)
    require(
        post_handshake or request.certificate_request_context == b"",
        AlertDescription.illegal_parameter,
        "a handshake CertificateRequest must have an empty context (RFC 8446 §4.3.2)",
    )
    for ext_type, _ in request.extensions:
        require(
            ext_type not in KNOWN_EXTENSIONS or ext_type in ALLOWED_IN_CERTIFICATE_REQUEST,
            AlertDescription.illegal_parameter,
            f"CertificateRequest carries {extension_name(ext_type)}, not allowed there (§4.2)",
        )
    schemes = find_extension(request.extensions, ExtensionType.signature_algorithms)
    require(
        schemes is not None,
        AlertDescription.missing_extension,
        "CertificateRequest without signature_algorithms (RFC 8446 §4.3.2)",
    )
    assert schemes is not None
    ext.decode_signature_algorithms(schemes)
    certificate_schemes = find_extension(
        request.extensions, ExtensionType.signature_algorithms_cert
    )
    if certificate_schemes is not None:
        ext.decode_signature_algorithms(certificate_schemes)
    authorities = find_extension(request.extensions, ExtensionType.certificate_authorities)
    if authorities is not None:
        ext.decode_certificate_authorities(authorities)
    return request


def client_credentials(
    policy: HandshakePolicy, request: CertificateRequest
) -> tuple[tuple[bytes, ...], int | None]:
    """Our chain (DER) and the scheme to sign CertificateVerify with; ``((), None)`` means an
    empty Certificate.

    That is the answer without ``load_cert_chain``, and also when the server would not accept
    ours: when our key can make none of its signature_algorithms, or when it sent
    signature_algorithms_cert and a signature in our chain is not among them (§4.4.2.3; the
    signature on a self-signed certificate is exempt, §4.2.3). OpenSSL and rustls clients fall
    back to an empty Certificate the same way; the server then decides. Without
    signature_algorithms_cert the chain is sent as it is, as they do.
    """
    chain = policy.certificate_chain
    if policy.private_key is None or not chain:
        return (), None
    schemes_data = find_extension(request.extensions, ExtensionType.signature_algorithms)
    assert schemes_data is not None  # check_certificate_request made sure
    try:
        scheme = signatures.choose_scheme(
            policy.private_key, ext.decode_signature_algorithms(schemes_data), chain[0]
        )
    except ProtocolError:  # no scheme in common
        return (), None
    except ValueError as exc:  # a key set on the context by hand that TLS 1.3 cannot use
        raise ProtocolError(
            AlertDescription.internal_error, f"our key cannot sign: {exc}"
        ) from None
    certificate_data = find_extension(request.extensions, ExtensionType.signature_algorithms_cert)
    if certificate_data is not None:
        accepted = set(ext.decode_signature_algorithms(certificate_data))
        for certificate in chain:
            if certificate.issuer == certificate.subject:
                continue
            if not signatures.certificate_signature_schemes(certificate) & accepted:
                return (), None
    return policy.certificate_chain_der, scheme

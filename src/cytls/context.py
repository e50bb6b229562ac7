"""TLSContext: configuration shared by many connections, mirroring ``ssl.SSLContext``.

Names, defaults and constants follow the ``ssl`` module so that code written for it reads the
same: a client context verifies certificates and hostnames by default, a server context does
not ask for client certificates. The ``ssl`` module's own constants are accepted.
"""

from __future__ import annotations

import os
import ssl
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from cryptography.hazmat.primitives.serialization import Encoding

from cytls.crypto.groups import GROUP_NAMES, SUPPORTED_GROUPS, group_by_name
from cytls.crypto.keyschedule import SUITES
from cytls.crypto.tickets import StrikeRegister, TicketKeys
from cytls.handshake.policy import HandshakePolicy
from cytls.handshake.versions import enabled_versions
from cytls.registry import DEFAULT_SUITES, DEFAULT_TLS12_SUITES
from cytls.x509.loading import load_cert_chain
from cytls.x509.trust import TrustStore

if TYPE_CHECKING:
    import socket

    from cryptography import x509

    from cytls.io.sockets import TLSSocket
    from cytls.io.sslobject import BIO, TLSObject
    from cytls.session import Session

PROTOCOL_TLS_CLIENT = ssl.PROTOCOL_TLS_CLIENT
PROTOCOL_TLS_SERVER = ssl.PROTOCOL_TLS_SERVER
CERT_NONE = ssl.CERT_NONE
CERT_OPTIONAL = ssl.CERT_OPTIONAL
CERT_REQUIRED = ssl.CERT_REQUIRED
TLSVersion = ssl.TLSVersion
OP_CIPHER_SERVER_PREFERENCE = ssl.OP_CIPHER_SERVER_PREFERENCE

DEFAULT_CIPHER_SUITES: tuple[int, ...] = DEFAULT_SUITES
SUITE_IDS: dict[str, int] = {params.name: suite for suite, params in SUITES.items()}


# Configuration sequences, stored as tuples whatever they are assigned as (see __setattr__).
_SEQUENCE_ATTRIBUTES = frozenset(
    {
        "certificate_chain",
        "certificate_chain_der",
        "cipher_suites",
        "tls12_cipher_suites",
        "groups",
        "alpn_protocols",
    }
)

SniCallback = Callable[[Any, str | None, "TLSContext"], int | None]


class TLSContext:
    """Configuration for TLS connections; the counterpart of ``ssl.SSLContext``."""

    # What wrap_bio and wrap_socket make, as ssl.SSLContext.sslobject_class/sslsocket_class.
    # The I/O layer (cytls.io) sets them where it defines the classes, so that this module,
    # below that layer, does not import it.
    sslobject_class: ClassVar[type[TLSObject]]
    sslsocket_class: ClassVar[type[TLSSocket]]

    def __init__(self, protocol: int | None = None) -> None:
        if protocol is None:
            protocol = ssl.PROTOCOL_TLS
        if protocol not in (ssl.PROTOCOL_TLS, PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER):
            raise ValueError(
                f"unsupported protocol {protocol!r}: use PROTOCOL_TLS_CLIENT or PROTOCOL_TLS_SERVER"
            )
        self.protocol = protocol
        client = protocol == PROTOCOL_TLS_CLIENT
        self._check_hostname = client
        self._verify_mode = CERT_REQUIRED if client else CERT_NONE
        self.minimum_version = TLSVersion.TLSv1_2
        self.maximum_version = TLSVersion.MAXIMUM_SUPPORTED
        self.options = ssl.OP_NO_COMPRESSION | OP_CIPHER_SERVER_PREFERENCE
        self.cipher_suites: tuple[int, ...] = DEFAULT_CIPHER_SUITES
        self.tls12_cipher_suites: tuple[int, ...] = DEFAULT_TLS12_SUITES
        self.groups: tuple[int, ...] = SUPPORTED_GROUPS
        self.alpn_protocols: tuple[bytes, ...] = ()
        self.sni_callback: SniCallback | None = None
        self.certificate_chain: tuple[x509.Certificate, ...] = ()
        self.certificate_chain_der: tuple[bytes, ...] = ()  # what the Certificate message carries
        self.private_key: Any = None
        self._keylog_filename: str | None = None
        self._post_handshake_auth = False
        self._trust: TrustStore | None = None
        self._num_tickets = 2  # as ssl.SSLContext.num_tickets
        self.ticket_lifetime = 7200
        """Seconds a session ticket this server issues may be used (OpenSSL's default)."""
        self.max_early_data_size = 0
        """0-RTT bytes this server accepts per resumed connection; 0 (the default) refuses
        early data, as OpenSSL does. See the README for what accepting it means."""
        self._ticket_keys: TicketKeys | None = None
        self._strike_register: StrikeRegister | None = None
        self._max_cert_list = 102400  # OpenSSL's SSL_MAX_CERT_LIST_DEFAULT

    def __repr__(self) -> str:
        sides: dict[int, str] = {PROTOCOL_TLS_CLIENT: "client", PROTOCOL_TLS_SERVER: "server"}
        side = sides.get(self.protocol, "any")
        return f"<cytls.TLSContext {side}>"

    # --- verification ---------------------------------------------------------------------

    @property
    def check_hostname(self) -> bool:
        return self._check_hostname

    @check_hostname.setter
    def check_hostname(self, value: bool) -> None:
        # As in ssl: turning hostname checking on also requires certificates.
        if value and self._verify_mode == CERT_NONE:
            self._verify_mode = CERT_REQUIRED
        self._check_hostname = bool(value)

    @property
    def verify_mode(self) -> ssl.VerifyMode:
        return ssl.VerifyMode(self._verify_mode)

    @verify_mode.setter
    def verify_mode(self, value: int) -> None:
        if value == CERT_NONE and self._check_hostname:
            raise ValueError("Cannot set verify_mode to CERT_NONE when check_hostname is enabled.")
        if value not in (CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED):
            raise ValueError("invalid value for verify_mode")
        self._verify_mode = ssl.VerifyMode(value)

    @property
    def keylog_filename(self) -> str | None:
        """The file NSS key log lines are appended to (Wireshark reads them), or None."""
        return self._keylog_filename

    @keylog_filename.setter
    def keylog_filename(self, value: str | os.PathLike[str] | None) -> None:
        # As ssl: the file is opened (created if need be) when set, so that a path that cannot
        # be written fails here rather than in the middle of a handshake.
        if value is None:
            self._keylog_filename = None
            return
        path = os.fspath(value)
        if not isinstance(path, str):
            raise TypeError("keylog_filename must be a str or os.PathLike of str, or None")
        with open(path, "a", encoding="ascii"):
            pass
        self._keylog_filename = path

    @property
    def post_handshake_auth(self) -> bool:
        """TLS 1.3 post-handshake client authentication (RFC 8446 §4.6.2), as in ``ssl``.

        A client offers it (the post_handshake_auth extension) and then answers a server's
        later CertificateRequest. A server with verify_mode CERT_OPTIONAL or CERT_REQUIRED asks
        for no certificate during the handshake, only when ``verify_client_post_handshake()``
        is called (OpenSSL's SSL_VERIFY_POST_HANDSHAKE). Off by default.
        """
        return self._post_handshake_auth

    @post_handshake_auth.setter
    def post_handshake_auth(self, value: bool) -> None:
        self._post_handshake_auth = bool(value)

    @property
    def trust_store(self) -> TrustStore:
        """The CA certificates peers are verified against."""
        if self._trust is None:
            self._trust = TrustStore()
        return self._trust

    def load_verify_locations(
        self,
        cafile: str | os.PathLike[str] | None = None,
        capath: str | os.PathLike[str] | None = None,
        cadata: str | bytes | None = None,
    ) -> None:
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        self.trust_store.load_verify_locations(cafile=cafile, capath=capath, cadata=cadata)

    def load_default_certs(self, purpose: object = None) -> None:
        """Trust the system's CA certificates (``ssl``'s default verify paths)."""
        self.trust_store.load_default_certs()

    def set_default_verify_paths(self) -> None:
        self.trust_store.load_default_certs()

    # --- our identity -----------------------------------------------------------------------

    def load_cert_chain(
        self,
        certfile: str | os.PathLike[str],
        keyfile: str | os.PathLike[str] | None = None,
        password: str | bytes | Callable[[], str | bytes] | None = None,
    ) -> None:
        chain, self.private_key = load_cert_chain(certfile, keyfile, password)
        self.certificate_chain = tuple(chain)
        self.certificate_chain_der = tuple(
            certificate.public_bytes(Encoding.DER) for certificate in self.certificate_chain
        )

    @property
    def max_cert_list(self) -> int:
        """The largest Certificate message body accepted from the peer, in bytes: 102400 by
        default, as OpenSSL (``SSL_CTX_set_max_cert_list``); a larger one is decode_error."""
        return self._max_cert_list

    @max_cert_list.setter
    def max_cert_list(self, value: int) -> None:
        if not 0 <= value <= 0xFFFFFF:
            raise ValueError("max_cert_list is between 0 and 2^24 - 1 bytes")
        self._max_cert_list = int(value)

    # --- resumption (RFC 8446 §2.2, §4.6.1) ----------------------------------------------------

    @property
    def num_tickets(self) -> int:
        """Session tickets a server sends after each handshake (``ssl``'s default: 2)."""
        return self._num_tickets

    @num_tickets.setter
    def num_tickets(self, value: int) -> None:
        if value < 0:
            raise ValueError("value must be non-negative")
        if self.protocol != PROTOCOL_TLS_SERVER:
            raise ValueError("SSLContext is not a server context.")
        self._num_tickets = int(value)

    def load_ticket_keys(self, path: str | os.PathLike[str]) -> None:
        """Seal and open session tickets with the keys of ``path`` instead of random ones.

        Servers that load the same file resume each other's sessions. The format (one key
        of 64 hexadecimal digits per line, the first one sealing) and rotation are described
        in :mod:`cytls.crypto.tickets`; call this again after the file changes.
        """
        self._ticket_keys = TicketKeys.from_file(path)

    def rotate_ticket_keys(self) -> None:
        """Seal new tickets under a fresh random key; the previous key still opens its own."""
        self.ticket_keys.rotate()

    @property
    def ticket_keys(self) -> TicketKeys:
        if self._ticket_keys is None:
            self._ticket_keys = TicketKeys.generate(rotate_after=self.ticket_lifetime)
        return self._ticket_keys

    @property
    def strike_register(self) -> StrikeRegister:
        """The 0-RTT anti-replay register shared by this context's connections (§8)."""
        if self._strike_register is None:
            self._strike_register = StrikeRegister()
        return self._strike_register

    # --- negotiation ------------------------------------------------------------------------

    def set_alpn_protocols(self, alpn_protocols: Iterable[str]) -> None:
        protocols = []
        for protocol in alpn_protocols:
            encoded = protocol.encode("ascii")
            if not 0 < len(encoded) < 256:
                raise ValueError("ALPN protocols must be 1 to 255 in length")
            protocols.append(encoded)
        self.alpn_protocols = tuple(protocols)

    def set_ciphers(self, ciphers: str) -> None:
        """Choose the TLS 1.3 suites, in preference order, from IANA names.

        Tokens that are not TLS 1.3 suite names (OpenSSL cipher strings for TLS 1.2 such as
        "ECDHE+AESGCM") are accepted and leave the TLS 1.3 suites alone, as with ``ssl``.
        """
        chosen = [
            SUITE_IDS[name] for name in ciphers.replace(",", ":").split(":") if name in SUITE_IDS
        ]
        if chosen:
            self.cipher_suites = tuple(dict.fromkeys(chosen))
        elif not ciphers.strip():
            raise ssl.SSLError("No cipher can be selected.")

    def get_ciphers(self) -> list[dict[str, object]]:
        return [
            {"name": SUITES[suite].name, "protocol": "TLSv1.3", "id": 0x03000000 | suite}
            for suite in self.cipher_suites
        ]

    def set_groups(self, groups: str | Iterable[str]) -> None:
        """Key exchange groups, in preference order: "X25519MLKEM768:x25519:secp256r1"."""
        names = groups.split(":") if isinstance(groups, str) else list(groups)
        chosen = tuple(dict.fromkeys(group_by_name(name.strip()) for name in names if name.strip()))
        if not chosen:
            raise ValueError("no key exchange group given")
        self.groups = chosen

    def get_groups(self) -> list[str]:
        return [GROUP_NAMES[group] for group in self.groups]

    # --- what each connection starts from -------------------------------------------------------

    def __setattr__(self, name: str, value: object) -> None:
        # Sequences are kept as tuples, so that changing one in place (which no policy would
        # see) fails instead of being silently ignored.
        if name in _SEQUENCE_ATTRIBUTES and isinstance(value, list):
            value = tuple(value)
        object.__setattr__(self, name, value)
        # Any change of configuration is a new generation: a policy built from the previous
        # one is not used again, even if another thread cached it while this write happened.
        object.__setattr__(self, "_generation", self.__dict__.get("_generation", 0) + 1)

    def handshake_policy(self, server_side: bool) -> HandshakePolicy:
        """The frozen configuration a new connection's handshake runs under (built once per
        change of this context, then shared: connections that start together cost nothing)."""
        state = self.__dict__
        policies: dict[bool, tuple[int, HandshakePolicy]] = state.setdefault("_policies", {})
        cached = policies.get(server_side)
        generation = state.get("_generation", 0)
        if cached is not None and cached[0] == generation:
            return cached[1]
        policy = self._make_policy(server_side)  # may create the trust store, ticket keys
        policies[server_side] = (generation, policy)
        return policy

    def _make_policy(self, server_side: bool) -> HandshakePolicy:
        return HandshakePolicy(
            owner=self,
            server_side=server_side,
            versions=self._enabled_versions(server_side),
            check_hostname=self.check_hostname,
            verify_mode=self.verify_mode,
            options=self.options,
            cipher_suites=self.cipher_suites,
            tls12_cipher_suites=self.tls12_cipher_suites,
            groups=self.groups,
            alpn_protocols=self.alpn_protocols,
            post_handshake_auth=self.post_handshake_auth,
            max_cert_list=self.max_cert_list,
            max_early_data_size=self.max_early_data_size,
            certificate_chain=self.certificate_chain,
            certificate_chain_der=self.certificate_chain_der,
            private_key=self.private_key,
            trust_store=self.trust_store,
            num_tickets=self.num_tickets if server_side else 0,
            ticket_lifetime=self.ticket_lifetime,
            ticket_keys=self.ticket_keys if server_side else None,
            strike_register=self.strike_register if server_side else None,
        )

    # --- checks made when a connection starts -------------------------------------------------

    def _enabled_versions(self, server_side: bool) -> tuple[int, ...]:
        """The implemented protocol versions within minimum_version..maximum_version (whose
        MINIMUM_SUPPORTED and MAXIMUM_SUPPORTED are no bound)."""
        lowest = self.minimum_version
        highest = self.maximum_version
        return enabled_versions(
            0 if lowest == TLSVersion.MINIMUM_SUPPORTED else int(lowest),
            0xFFFF if highest == TLSVersion.MAXIMUM_SUPPORTED else int(highest),
            server_side=server_side,
        )

    # --- making connections -------------------------------------------------------------------

    def wrap_bio(
        self,
        incoming: BIO,
        outgoing: BIO,
        server_side: bool = False,
        server_hostname: str | None = None,
        session: Session | None = None,
    ) -> TLSObject:
        """A :class:`cytls.TLSObject` (``ssl.SSLObject``'s interface) over two memory BIOs."""
        return self.sslobject_class(
            self,
            incoming,
            outgoing,
            server_side=server_side,
            server_hostname=server_hostname,
            session=session,
        )

    def wrap_socket(
        self,
        sock: socket.socket,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | None = None,
        session: Session | None = None,
    ) -> TLSSocket:
        """A TLS socket over ``sock`` (``ssl.SSLSocket``'s interface): see cytls.io.sockets."""
        return self.sslsocket_class._create(
            sock,
            self,
            server_side=server_side,
            do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs,
            server_hostname=server_hostname,
            session=session,
        )


def create_default_context(
    purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH,
    *,
    cafile: str | os.PathLike[str] | None = None,
    capath: str | os.PathLike[str] | None = None,
    cadata: str | bytes | None = None,
) -> TLSContext:
    """A context with ``ssl.create_default_context``'s settings.

    SERVER_AUTH (the default) makes a client context that verifies certificates and host
    names against ``cafile``/``capath``/``cadata``, or the system trust store if none is given;
    CLIENT_AUTH makes a server context. ``SSLKEYLOGFILE`` sets ``keylog_filename``, as in
    ``ssl`` (unless Python runs with -E).
    """
    if not isinstance(purpose, ssl._ASN1Object):
        raise TypeError(purpose)
    if purpose == ssl.Purpose.SERVER_AUTH:
        context = TLSContext(PROTOCOL_TLS_CLIENT)
        context.verify_mode = CERT_REQUIRED
        context.check_hostname = True
    elif purpose == ssl.Purpose.CLIENT_AUTH:
        context = TLSContext(PROTOCOL_TLS_SERVER)
    else:
        raise ValueError(purpose)
    if cafile or capath or cadata:
        context.load_verify_locations(cafile, capath, cadata)
    elif context.verify_mode != CERT_NONE:
        context.load_default_certs(purpose)
    keylogfile = os.environ.get("SSLKEYLOGFILE")
    if keylogfile and not sys.flags.ignore_environment:
        context.keylog_filename = keylogfile
    return context

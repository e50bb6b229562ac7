"""TLSObject: the ``ssl.SSLObject`` interface over two memory BIOs, on the sans-I/O Connection.

    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="example.com")
    tls.do_handshake()   # ssl.SSLWantReadError until the peer's flights have been fed in

Every call first moves what ``incoming`` holds into the Connection and finishes by moving what
the Connection wants to send into ``outgoing``, so the semantics follow ``ssl.SSLObject``
(OpenSSL): ``read`` returns ``b""`` once the peer's close_notify has arrived and raises
``ssl.SSLZeroReturnError`` once both sides have closed; EOF on ``incoming`` without
close_notify raises ``ssl.SSLEOFError``. asyncio's ``sslproto`` relies on exactly that.
"""

from __future__ import annotations

import ssl
from typing import Any, Protocol

from cryptography import x509

from cytls._datapath import TLSObjectCore
from cytls.connection import Connection
from cytls.context import TLSContext
from cytls.errors import TLSError, TruncationError, WantReadError, ZeroReturnError
from cytls.session import Session
from cytls.x509.peercert import certificate_to_dict

Buffer = bytes | bytearray | memoryview

__all__ = ["BIO", "TLSObject"]


class BIO(Protocol):
    """What ``ssl.MemoryBIO`` offers and TLSObject uses."""

    @property
    def pending(self) -> int: ...
    @property
    def eof(self) -> bool: ...
    def read(self, size: int = -1, /) -> bytes: ...
    def write(self, data: bytes, /) -> int: ...
    def write_eof(self) -> None: ...


class TLSObject(TLSObjectCore):
    """A TLS connection over memory BIOs; behaves like ``ssl.SSLObject``.

    Made by :meth:`cytls.TLSContext.wrap_bio`, not directly. ``read`` and ``write`` are in the
    C base class, :class:`cytls._datapath.TLSObjectCore`; they come back here for anything but
    the steady state.
    """

    def __init__(
        self,
        context: TLSContext,
        incoming: BIO,
        outgoing: BIO,
        *,
        server_side: bool = False,
        server_hostname: str | None = None,
        session: Session | None = None,
    ) -> None:
        self._incoming = incoming
        self._outgoing = outgoing
        self._conn = Connection(
            context,
            server_side=server_side,
            server_hostname=server_hostname,
            session=session,
            events=False,  # ssl.SSLObject reports none
        )
        # An SNI callback receives this object, as with ssl, and may switch its context.
        self._conn.sni_target = self
        self._eof_fed = False
        self._closing = False  # we sent close_notify (unwrap)
        self._error = None

    def __repr__(self) -> str:
        side = "server" if self.server_side else "client"
        state = "open" if self._conn.handshake_complete else "handshaking"
        return f"<cytls.TLSObject {side} {state}>"

    # --- attributes --------------------------------------------------------------------------

    @property
    def context(self) -> TLSContext:
        return self._conn.context

    @context.setter
    def context(self, context: TLSContext) -> None:
        self._conn.context = context

    @property
    def server_side(self) -> bool:
        return self._conn.server_side

    @property
    def server_hostname(self) -> str | None:
        return self._conn.server_hostname

    @property
    def session(self) -> Session | None:
        """The newest session ticket received (a client reads some data first), as ssl."""
        return self._conn.session

    @session.setter
    def session(self, session: Session | None) -> None:
        self._conn.session = session

    @property
    def session_reused(self) -> bool:
        return self._conn.session_reused

    @property
    def connection(self) -> Connection:
        """The underlying sans-I/O :class:`cytls.Connection` (a cytls extension)."""
        return self._conn

    # --- moving bytes ------------------------------------------------------------------------

    def _pump(self) -> None:
        """Feed everything ``incoming`` holds (and its EOF) to the Connection, then flush."""
        if self._error is not None:
            raise self._error.with_traceback(None)
        try:
            data = self._incoming.read()
            if data:
                self._conn.receive_data(data)
            if self._incoming.eof and not self._eof_fed:
                self._eof_fed = True
                self._conn.receive_data(b"")
        except TLSError as exc:
            self._error = exc
            raise
        finally:
            self._flush_outgoing()

    def _handshake_step(self) -> None:
        self._pump()
        if not self._conn.handshake_complete:
            raise WantReadError()

    # --- the ssl.SSLObject methods ----------------------------------------------------------

    def do_handshake(self) -> None:
        """Advance the handshake; ``ssl.SSLWantReadError`` while it needs the peer's bytes."""
        self._handshake_step()

    def _check_closed_both_ways(self) -> None:
        if self._conn.peer_closed and self._closing:
            raise ZeroReturnError()

    def pending(self) -> int:
        """Decrypted bytes ready to ``read`` without more input."""
        return self._conn.pending()

    def unwrap(self) -> None:
        """Send close_notify; ``ssl.SSLWantReadError`` until the peer's close_notify arrives."""
        if not self._conn.handshake_complete:
            raise TLSError("shutdown while in init", reason="SHUTDOWN_WHILE_IN_INIT")
        self._pump()
        if not self._closing:
            self._closing = True
            self._conn.close()
            self._flush_outgoing()
        if self._conn.peer_closed:
            return None
        if self._eof_fed:
            raise TruncationError("the peer closed the transport without close_notify")
        raise WantReadError()

    def getpeercert(self, binary_form: bool = False) -> dict[str, Any] | bytes | None:
        """The peer's certificate: a dict like ``ssl``'s (``{}`` if it was not verified,
        with verify_mode CERT_NONE), DER bytes with ``binary_form``, None if there is none."""
        if not self._conn.handshake_complete:
            raise ValueError("handshake not done yet")
        chain = self._conn.peer_certificates
        if not chain:
            return None
        if binary_form:
            return chain[0]
        if self.context.verify_mode == ssl.CERT_NONE:
            return {}
        return certificate_to_dict(x509.load_der_x509_certificate(chain[0]))

    def cipher(self) -> tuple[str, str, int] | None:
        return self._conn.cipher()

    def shared_ciphers(self) -> list[tuple[str, str, int]] | None:
        """None on a client, as with ``ssl``. On a server, the negotiated suite: the only one
        of the client's offer that cytls keeps (``ssl`` lists every suite both support)."""
        cipher = self._conn.cipher()
        if not self.server_side or cipher is None:
            return None
        return [cipher]

    def version(self) -> str | None:
        return self._conn.version()

    def selected_alpn_protocol(self) -> str | None:
        return self._conn.selected_alpn_protocol()

    def selected_npn_protocol(self) -> None:
        """NPN does not exist in TLS 1.3."""
        return None

    def compression(self) -> None:
        return None

    def get_channel_binding(self, cb_type: str = "tls-unique") -> bytes | None:
        """RFC 5929 channel binding. "tls-unique" is undefined for TLS 1.3 (RFC 9266), so this
        returns None (OpenSSL returns the client Finished); other types raise ValueError."""
        if cb_type not in ssl.CHANNEL_BINDING_TYPES:
            raise ValueError(f"{cb_type!r} channel binding type not implemented")
        return None

    def verify_client_post_handshake(self) -> None:
        """Server: request a client certificate now (RFC 8446 §4.6.2). The request goes to
        ``outgoing`` at once; the answer is processed by the next ``read`` (or other call), and
        then ``getpeercert()`` returns the new certificate. Errors as in ``ssl``: see
        :meth:`cytls.Connection.verify_client_post_handshake`."""
        self._conn.verify_client_post_handshake()
        self._flush_outgoing()

    def export_keying_material(
        self, label: str | bytes, context: bytes | None, length: int
    ) -> bytes:
        """RFC 8446 §7.5 exporter (a cytls extension)."""
        return self._conn.export_keying_material(label, context, length)


TLSContext.sslobject_class = TLSObject

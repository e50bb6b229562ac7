"""Type stub of cytls._datapath: the data path of Connection and TLSObject, in C.

``ConnectionCore`` and ``TLSObjectCore`` are the base classes of :class:`cytls.Connection` and
:class:`cytls.TLSObject`. They hold the state the data path reads and implement the calls made
once per write or read; the subclasses (connection.py, io/sslobject.py) do everything else, and
the data path calls back into them by name (``_process_records``, ``_receive_eof``, ``_fail``,
``_handshake_step``, ``_pump``, ``_check_closed_both_ways``).
"""

from typing import Any

from typing_extensions import Buffer, disjoint_base

from cytls._record import RecordLayer
from cytls.connection import Connection
from cytls.handshake.output import Negotiated
from cytls.io.sslobject import BIO

@disjoint_base
class ConnectionCore:
    _error: BaseException | None
    _peer_closed: bool
    _closed: bool
    _eof: bool
    @property
    def _record(self) -> RecordLayer:
        """The record layer; never None (a fresh one is made with the object)."""

    @_record.setter
    def _record(self, record: RecordLayer) -> None: ...
    @property
    def _negotiated(self) -> Negotiated | None:
        """What the handshake agreed, once it completes; setting it also sets the key-update
        limit of the negotiated suite (RFC 8446 §5.5)."""

    @_negotiated.setter
    def _negotiated(self, negotiated: Negotiated | None) -> None: ...
    @property
    def handshake_complete(self) -> bool: ...
    @property
    def peer_closed(self) -> bool:
        """Whether the peer sent close_notify."""

    def receive_data(self, data: Buffer) -> None:
        """Feed bytes from the peer; ``b""`` means the transport reached EOF."""

    def data_to_send(self) -> bytes:
        """Everything ready for the transport; b"" when there is nothing."""

    def send(self, data: Buffer) -> None:
        """Queue application data (seal it into records for ``data_to_send``)."""

    def pending(self) -> int: ...
    def recv(self, max_bytes: int = -1) -> bytes:
        """Up to ``max_bytes`` bytes of application data (all that is ready if negative)."""

    def recv_into(self, buffer: Buffer, nbytes: int = 0) -> int: ...

@disjoint_base
class TLSObjectCore:
    _incoming: BIO
    _outgoing: BIO
    _error: BaseException | None
    _closing: bool
    @property
    def _conn(self) -> Connection:
        """The Connection under this object; never None."""

    @_conn.setter
    def _conn(self, connection: ConnectionCore) -> None: ...
    def _flush_outgoing(self) -> None:
        """Move what the connection has to send into ``outgoing``."""

    def read(self, len: int = 1024, buffer: Any = None) -> bytes | int:
        """Up to ``len`` bytes of application data, or their count if read into ``buffer``."""

    def write(self, data: Buffer) -> int:
        """Encrypt ``data`` into ``outgoing``; returns its length (the handshake runs first)."""

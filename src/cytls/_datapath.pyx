# cython: language_level=3, boundscheck=False, wraparound=False
# cython: embedsignature=True, freethreading_compatible=True
"""The per-call data path of a connection, in C: the base classes of Connection and TLSObject.

Once the handshake is done, a write or a read is a few checks around one or two calls into the
record layer. Written in Python, those checks cost more than sealing and opening a 64-byte
record: each method was a Python frame or two, and the wrap_bio path nested three levels of
them (issue 14 measured a 64 B write+read at 0.6 of ``ssl``'s speed through wrap_bio). Here
the checks are C, the state they read is in C slots, and the record layer is called through
its C entry points (``cytls._record`` declares them ``cpdef``).

Only the data path is here. ``ConnectionCore`` holds what it reads (the record layer, the
failure, the close and EOF flags, the negotiated parameters) and implements ``send``,
``data_to_send``, ``pending``, ``recv``, ``recv_into`` and ``receive_data``; ``TLSObjectCore``
implements ``TLSObject.read`` and ``write``. The handshake, alerts and events stay in Python
(connection.py, io/sslobject.py): the data path calls those subclasses' methods for whatever
is not application data (a control record waiting, end of file, a failure, an unfinished
handshake), by name.
"""

cimport cython
from cpython.object cimport PyObject_Length
from libc.stdint cimport UINT64_MAX

from cytls._record cimport CT_APPLICATION_DATA, RecordLayer

from cytls.errors import ProtocolError, TLSError, TruncationError, WantReadError
from cytls.wire.enums import AlertDescription

_INTERNAL_ERROR = AlertDescription.internal_error


# no_gc_clear: a Connection is always in a reference cycle (its HandshakeOutput points back at
# it), and the cycle collector would otherwise clear the typed record layer to None, which the
# data path never checks for (a finalizer in the same cycle could still call send). Clearing the
# subclass's __dict__ breaks the cycle all the same.
@cython.no_gc_clear
cdef class ConnectionCore:
    """The state and the data path of :class:`cytls.Connection` (its base class)."""

    def __cinit__(self, *args, **kwargs):
        self._rl = RecordLayer()
        self._key_update_at = UINT64_MAX

    @property
    def _record(self):
        """The record layer. Replaced only by another one (a client that changes its session
        before sending the ClientHello starts over with a fresh one)."""
        return self._rl

    @_record.setter
    def _record(self, RecordLayer record not None):
        self._rl = record

    @property
    def _negotiated(self):
        return self._negotiated_value

    @_negotiated.setter
    def _negotiated(self, negotiated):
        """Set once, when the handshake completes: the suite's record limit comes with it."""
        limit = None if negotiated is None else negotiated.suite.record_limit
        self._key_update_at = UINT64_MAX if limit is None else limit
        self._negotiated_value = negotiated

    @property
    def handshake_complete(self):
        return self._negotiated_value is not None

    @property
    def peer_closed(self):
        """Whether the peer sent close_notify."""
        return self._peer_closed

    # --- bytes in ------------------------------------------------------------------------------

    def receive_data(self, data):
        """Feed bytes from the peer; ``b""`` means the transport reached EOF."""
        self._receive(data)

    cdef int _receive(self, data) except -1:
        """``receive_data``; returns 1 if Python code ran (a control record, end of file, 0-RTT
        accounting), which alone can have queued output, else 0."""
        if self._error is not None:
            raise self._error.with_traceback(None)
        cdef int ran = 0
        if not data:  # truth, as in Python: a buffer without len() is data
            self._receive_eof()
            return 1
        if self._peer_closed:
            return 0  # data after close_notify is ignored (RFC 8446 §6.1)
        try:
            if self._rl.receive_data(data):  # a handshake, alert or CCS record waits
                ran = 1
                self._process_records()
            # 0-RTT data is read only before the handshake completes: a server reads it until
            # EndOfEarlyData, which comes before the client's Finished (RFC 8446 §4.5).
            if self._negotiated_value is None and self._output.reading_early_data:
                ran = 1
                self._handshake.check_early_data_size()
        except ProtocolError as exc:
            self._fail(exc)
            raise
        except TLSError:
            raise  # a peer's alert or a truncation: the connection recorded it as it happened
        except Exception as exc:
            # Anything else (a key log file that cannot be written, or a bug) still fails the
            # connection, with internal_error (RFC 8446 §6.2), rather than leave it half-way
            # through what it received.
            error = ProtocolError(
                _INTERNAL_ERROR,
                f"{type(exc).__name__} while processing received data: {exc}",
            )
            self._fail(error)
            raise error from exc
        return ran

    # --- bytes out -----------------------------------------------------------------------------

    def data_to_send(self):
        """Everything ready for the transport; b"" when there is nothing."""
        return self._rl.data_to_send()

    def send(self, data):
        """Queue application data (seal it into records for ``data_to_send``)."""
        self._send(data)

    cdef int _send(self, data) except -1:
        if self._error is not None:
            raise self._error.with_traceback(None)
        if self._negotiated_value is None:
            raise TLSError("the handshake is not complete yet", reason="HANDSHAKE_NOT_COMPLETE")
        if self._closed:
            raise TLSError("the connection is closed for sending", reason="PROTOCOL_IS_SHUTDOWN")
        if self._rl.write_sequence_reached(self._key_update_at):
            self._handshake.send_key_update(request_peer=False)  # RFC 8446 §5.5
        if data:
            self._rl.write(CT_APPLICATION_DATA, data)
        return 0

    # --- application data ------------------------------------------------------------------------

    def pending(self):
        return self._rl.pending()

    def recv(self, Py_ssize_t max_bytes=-1):
        """Up to ``max_bytes`` bytes of application data (all that is ready if negative).

        b"" means the peer closed cleanly (close_notify). Raises :class:`WantReadError` when
        nothing is ready yet, :class:`TruncationError` if the transport closed without
        close_notify.
        """
        return self._recv(max_bytes)

    def recv_into(self, buffer, Py_ssize_t nbytes=0):
        return self._recv_into(buffer, nbytes)

    cdef bytes _recv(self, Py_ssize_t max_bytes):
        if self._rl.pending():
            return self._rl.read(max_bytes)
        self._check_readable_end()
        return b""

    cdef Py_ssize_t _recv_into(self, buffer, Py_ssize_t nbytes) except -1:
        if self._rl.pending():
            return self._rl.read_into(buffer, nbytes)
        self._check_readable_end()
        return 0

    cdef int _check_readable_end(self) except -1:
        if self._error is not None:
            raise self._error.with_traceback(None)
        if self._peer_closed:
            return 0
        if self._eof:
            raise TruncationError("the peer closed the transport without close_notify")
        raise WantReadError()


@cython.no_gc_clear                # as ConnectionCore: _core is typed and never None
cdef class TLSObjectCore:
    """The steady state of :class:`cytls.TLSObject` (its base class): ``read`` and ``write``
    over its two BIOs once the handshake is done. Anything else goes to the subclass's
    ``_handshake_step``, ``_pump`` and ``_check_closed_both_ways``."""

    def __cinit__(self, *args, **kwargs):
        self._core = ConnectionCore.__new__(ConnectionCore)  # until __init__ sets the real one

    @property
    def _conn(self):
        return self._core

    @_conn.setter
    def _conn(self, ConnectionCore connection not None):
        self._core = connection

    # The BIOs' read and write are bound once, not looked up on every call.
    @property
    def _incoming(self):
        return self._incoming_bio

    @_incoming.setter
    def _incoming(self, bio):
        self._read_incoming = bio.read
        self._incoming_bio = bio

    @property
    def _outgoing(self):
        return self._outgoing_bio

    @_outgoing.setter
    def _outgoing(self, bio):
        self._write_outgoing = bio.write
        self._outgoing_bio = bio

    def _flush_outgoing(self):
        """Move what the connection has to send into ``outgoing``."""
        self._flush()

    cdef int _flush(self) except -1:
        data = self._core._rl.data_to_send()
        if data:
            self._write_outgoing(data)
        return 0

    def read(self, len=1024, buffer=None):
        """Up to ``len`` bytes of application data, or their count if read into ``buffer``.

        ``b""``/0 once the peer sent close_notify; ``ssl.SSLZeroReturnError`` if we closed too;
        ``ssl.SSLWantReadError`` when nothing is ready yet; ``ssl.SSLEOFError`` when the
        transport ended without close_notify.
        """
        cdef ConnectionCore conn = self._core
        cdef Py_ssize_t size, wanted
        cdef int ran_python
        incoming = self._incoming_bio
        if self._error is None and conn._negotiated_value is not None and not incoming.eof:
            # The steady state: feed what arrived, flush what that produced.
            data = self._read_incoming()
            if data:
                try:
                    ran_python = conn._receive(data)
                except BaseException as exc:
                    if isinstance(exc, TLSError):
                        self._error = exc
                    self._flush()  # the fatal alert, if one was written
                    raise
                if ran_python:  # only the Python part of receiving can have queued output
                    self._flush()
                if incoming.eof:  # write_eof() came behind that data
                    self._pump()
        else:
            self._handshake_step()
        if buffer is not None:
            if type(buffer) is not bytearray:  # the common case needs no view
                buffer = memoryview(buffer).cast("B")
            size = PyObject_Length(buffer)
            wanted = len
            if wanted <= 0 or wanted > size:
                wanted = size
            if wanted == 0:
                return 0
            if not conn._rl.pending():
                self._check_closed_both_ways()
            return conn._recv_into(buffer, wanted)
        wanted = len
        if wanted < 0:
            raise ValueError("size should not be negative")
        if wanted == 0:
            return b""
        if not conn._rl.pending():
            self._check_closed_both_ways()
        return conn._recv(wanted)

    def write(self, data):
        """Encrypt ``data`` into ``outgoing``; returns its length (the handshake runs first)."""
        cdef ConnectionCore conn = self._core
        if self._error is not None or conn._negotiated_value is None:
            self._handshake_step()  # SSL_write does not read: only an unfinished handshake does
        if self._closing:
            raise TLSError("protocol is shutdown", reason="PROTOCOL_IS_SHUTDOWN")
        try:
            conn._send(data)
        finally:
            self._flush()
        return PyObject_Length(data) if type(data) is bytes else memoryview(data).nbytes

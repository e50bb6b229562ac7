# cython: language_level=3
# Declarations of the data path (_datapath.pyx): the C state and methods of the base classes of
# cytls.Connection and cytls.TLSObject, so that one can call the other's without Python calls.

from libc.stdint cimport uint64_t

from cytls._record cimport RecordLayer


cdef class ConnectionCore:
    cdef RecordLayer _rl                  # never None: made in __cinit__, replaced only by another
    cdef object _negotiated_value         # a Negotiated once the handshake is complete
    cdef uint64_t _key_update_at          # the suite's record_limit (RFC 8446 §5.5), or 2**64-1
    cdef public object _error             # the failure that ended the connection, sticky
    cdef public bint _peer_closed         # close_notify received
    cdef public bint _closed              # we sent close_notify or a fatal alert
    cdef public bint _eof                 # the transport ended

    cdef int _send(self, data) except -1
    cdef int _receive(self, data) except -1   # 1 if Python ran (and may have queued output)
    cdef int _check_readable_end(self) except -1
    cdef bytes _recv(self, Py_ssize_t max_bytes)
    cdef Py_ssize_t _recv_into(self, buffer, Py_ssize_t nbytes) except -1


cdef class TLSObjectCore:
    cdef ConnectionCore _core             # never None: checked where set (the _conn setter)
    cdef object _incoming_bio
    cdef object _outgoing_bio
    cdef object _read_incoming            # _incoming_bio.read, bound once
    cdef object _write_outgoing           # _outgoing_bio.write, bound once
    cdef public object _error             # a TLSError raised to the caller, raised again after
    cdef public bint _closing             # we sent close_notify (unwrap)

    cdef int _flush(self) except -1

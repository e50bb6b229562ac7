# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, embedsignature=True, freethreading_compatible=True
"""The record layer of TLS 1.3 (RFC 8446 §5) and TLS 1.2 (RFC 5246 §6): framing, fragmentation,
nonces, AEAD, buffers.

Python calls in per *call* (``write``, ``data_to_send``, ``receive_data``, ``read``); this module
loops per *record*. Buffers are plain C memory owned by the RecordLayer and released when
drained, so an idle connection holds none.

Output is staged, then sealed late: ``write`` lays records out in wire order with the inner
plaintext where the ciphertext will go, and ``data_to_send`` allocates the one bytes object it
returns and encrypts every pending record straight into it. That is a single copy of the
caller's data on the way out. On the way in, application data records are decrypted straight
from the caller's buffer (when nothing is buffered) into the plaintext buffer.

The declarations (constants, the ``RecordHeader`` and ``ByteBuf`` structs, the extension types'
attributes and C methods) are in ``_record.pxd``, which other Cython modules cimport.

Two seams, so that other protocol versions add code rather than edit this loop (what TLS 1.2
and DTLS will add: docs/design.md; where: CONTRIBUTING.md):

* Every record header is read by ``read_header`` into a ``RecordHeader`` struct and written by
  ``write_header`` (both in ``_record.pxd``); nothing else looks into a header's bytes (TLS 1.3
  copies them whole: its AAD is the header as sent or received).
* A ``_CipherState``'s ``protection`` (``Protection`` in ``_record.pxd``) is chosen once, when
  its key is installed (``_keyed_state`` through ``_protection_for``, from the suite's
  ``cytls.registry`` entry), and records are sealed and opened through
  ``seal_record``/``open_record``, which branch on it: ``PROTECTION_TLS13_AEAD`` and
  ``PROTECTION_TLS12_AEAD`` (RFC 5246 §6.2.3.3 with RFC 5288 and RFC 7905; its records are laid
  out by ``_stage_tls12``). The sequence number is passed to them explicitly, not read from the
  state.
"""

cimport cython
from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.stdint cimport uint64_t, UINT64_MAX
from libc.stdlib cimport free, malloc
from libc.string cimport memcmp, memcpy, memmove, memset


cdef extern from "Python.h":
    int PyBuffer_FillInfo(Py_buffer *view, object obj, void *buf, Py_ssize_t len, int readonly,
                          int flags) except -1


from cryptography.exceptions import InvalidTag

from cytls.errors import ProtocolError, TLSError
from cytls.registry import (
    SUITES as _REGISTRY_SUITES,
    CipherSuite as _CipherSuite,
    ProtocolVersion as _ProtocolVersion,
)
from cytls.wire.enums import AlertDescription


# The content types, HDR, TAG, IV_LEN, MAX_FRAGMENT and MAX_EXPANSION are in _record.pxd.
cdef enum:
    EMPTY_RECORD_LIMIT = 32           # as OpenSSL's MAX_EMPTY_RECORDS
    SKIPPED_EARLY_RECORD_LIMIT = 1024  # rejected 0-RTT records dropped, whatever their sizes
    MIN_BUFFER = 256
    READING = 1                       # RecordLayer._busy bits
    WRITING = 2


CHANGE_CIPHER_SPEC = CT_CHANGE_CIPHER_SPEC
ALERT = CT_ALERT
HANDSHAKE = CT_HANDSHAKE
APPLICATION_DATA = CT_APPLICATION_DATA
MAX_PLAINTEXT = MAX_FRAGMENT
MAX_CIPHERTEXT = MAX_FRAGMENT + MAX_EXPANSION
HEADER_SIZE = HDR
TAG_SIZE = TAG
MAX_EMPTY_RECORDS = EMPTY_RECORD_LIMIT
MAX_SKIPPED_EARLY_RECORDS = SKIPPED_EARLY_RECORD_LIMIT

TLS_AES_128_GCM_SHA256 = _CipherSuite.TLS_AES_128_GCM_SHA256
TLS_AES_256_GCM_SHA384 = _CipherSuite.TLS_AES_256_GCM_SHA384
TLS_CHACHA20_POLY1305_SHA256 = _CipherSuite.TLS_CHACHA20_POLY1305_SHA256


cdef Protection _protection_for(suite) except? PROTECTION_NONE:
    """The protection that records of a registry suite get, PROTECTION_NONE if this record
    layer has none for it: what the key installs (see Protection in _record.pxd)."""
    if suite.iv_length != IV_LEN or suite.tag_length != TAG:
        return PROTECTION_NONE
    if suite.version == _ProtocolVersion.TLSv1_3 and suite.explicit_nonce_length == 0:
        return PROTECTION_TLS13_AEAD
    if (suite.version == _ProtocolVersion.TLSv1_2
            and suite.explicit_nonce_length in (0, EXPLICIT_NONCE)):
        return PROTECTION_TLS12_AEAD
    return PROTECTION_NONE


# cipher suite -> its protection, and -> (AEAD class, key length, IV length from the key
# schedule, explicit nonce length) for the suites that have one, from the registry.
_PROTECTIONS = {code: _protection_for(suite) for code, suite in _REGISTRY_SUITES.items()}
_SUITES = {code: (suite.aead, suite.key_length, suite.implicit_iv_length,
                  suite.explicit_nonce_length)
           for code, suite in _REGISTRY_SUITES.items() if _PROTECTIONS[code] != PROTECTION_NONE}

cdef inline bint _is_protected(Protection protection, int content_type) noexcept:
    """Whether a received record of this type is sealed under this protection: TLS 1.3 seals
    every record as application_data (RFC 8446 §5.2), TLS 1.2 every record but
    change_cipher_spec (RFC 5246 §6.2.3)."""
    if protection == PROTECTION_TLS13_AEAD:
        return content_type == CT_APPLICATION_DATA
    if protection == PROTECTION_TLS12_AEAD:
        return content_type != CT_CHANGE_CIPHER_SPEC
    return False


_UNEXPECTED = AlertDescription.unexpected_message
_BAD_RECORD_MAC = AlertDescription.bad_record_mac
_RECORD_OVERFLOW = AlertDescription.record_overflow
_PROTOCOL_VERSION = AlertDescription.protocol_version


# --- threads ------------------------------------------------------------------------------------
#
# The module is declared free-threading compatible (freethreading_compatible above): on 3.14t
# the GIL stays off. What several threads can reach at once is guarded here, in C: each
# RecordLayer's busy flags (READING, WRITING; see RecordLayer._claim) are claimed atomically,
# and the process-wide block cache below is under one lock. Everything else a RecordLayer holds
# belongs to the direction that claimed it.

cdef extern from *:
    """
    /* Atomic read-modify-write of a RecordLayer's busy flags; each returns the old value. */
    #if defined(_MSC_VER) && !defined(__clang__)
    #  include <intrin.h>
    #  define cytls_fetch_or(p, v) ((int)_InterlockedOr((volatile long *)(p), (long)(v)))
    #  define cytls_fetch_and(p, v) ((int)_InterlockedAnd((volatile long *)(p), (long)(v)))
    #else
    #  define cytls_fetch_or(p, v) __atomic_fetch_or((p), (v), __ATOMIC_ACQ_REL)
    #  define cytls_fetch_and(p, v) __atomic_fetch_and((p), (v), __ATOMIC_ACQ_REL)
    #endif
    """
    int cytls_fetch_or(int *flags, int bits) noexcept nogil
    int cytls_fetch_and(int *flags, int bits) noexcept nogil


# --- memory ------------------------------------------------------------------------------------
#
# Buffers are released when drained, so an idle connection holds none. Large blocks released
# that way go to a small process-wide cache instead of straight back to malloc: a 1 MiB write
# would otherwise get fresh pages (and a page fault per 4 KiB) on every call. The cache is
# shared by every connection of every thread, so block_take and block_give hold _cache_lock
# (a PyMutex on 3.13+) while they look at it; malloc and free run outside it.

cdef extern from *:
    """
    /* A block parked in the cache is not in use, though not freed: the sanitizer build and
       valgrind are told so, and report a use of it as they would a use after free. */
    #if defined(__SANITIZE_ADDRESS__)
    #  define CYTLS_ASAN 1
    #elif defined(__has_feature)
    #  if __has_feature(address_sanitizer)
    #    define CYTLS_ASAN 1
    #  endif
    #endif
    #if defined(CYTLS_ASAN)
    #  include <sanitizer/asan_interface.h>
    #  define cytls_park(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
    #  define cytls_unpark(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
    #elif defined(__has_include)
    #  if __has_include(<valgrind/memcheck.h>)
    #    include <valgrind/memcheck.h>
    #    define cytls_park(p, n) VALGRIND_MAKE_MEM_NOACCESS((p), (n))
    #    define cytls_unpark(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
    #  endif
    #endif
    #if !defined(cytls_park)
    #  define cytls_park(p, n) ((void)(p), (void)(n))
    #  define cytls_unpark(p, n) ((void)(p), (void)(n))
    #endif
    """
    void cytls_park(void *block, size_t size) noexcept nogil
    void cytls_unpark(void *block, size_t size) noexcept nogil


# A connection moving 1 MiB writes keeps about two 1 MiB blocks busy (staged output, opened
# data); 8 MiB is room for three such connections at once, on as many threads. At 4 MiB two
# threads missed the cache and paid fresh pages on every write (the two-thread bench row).
cdef enum:
    CACHE_SLOTS = 16
    CACHE_MIN_BLOCK = 4096            # smaller blocks: malloc's own caches are fast enough
    CACHE_MAX_BYTES = 8 * 1024 * 1024

cdef unsigned char *_cache_block[CACHE_SLOTS]
cdef Py_ssize_t _cache_size[CACHE_SLOTS]
cdef Py_ssize_t _cache_bytes = 0
cdef cython.pymutex _cache_lock


cdef unsigned char *block_take(Py_ssize_t need, Py_ssize_t *size) except NULL:
    """A block of at least ``need`` bytes (at most twice that, so none is wasted)."""
    cdef unsigned char *block = NULL
    if need >= CACHE_MIN_BLOCK:
        with _cache_lock:
            block = _cache_take(need, size)
        if block != NULL:
            cytls_unpark(block, size[0])
            return block
    block = <unsigned char *>malloc(need)
    if block == NULL:
        raise MemoryError()
    size[0] = need
    return block


cdef unsigned char *_cache_take(Py_ssize_t need, Py_ssize_t *size) noexcept nogil:
    """The smallest cached block that fits ``need`` without wasting half, taken out of the
    cache; NULL if there is none. Called with _cache_lock held."""
    global _cache_bytes
    cdef int i, best = -1
    cdef unsigned char *block
    for i in range(CACHE_SLOTS):
        if (_cache_block[i] != NULL and need <= _cache_size[i] <= 2 * need
                and (best < 0 or _cache_size[i] < _cache_size[best])):
            best = i
    if best < 0:
        return NULL
    block = _cache_block[best]
    size[0] = _cache_size[best]
    _cache_block[best] = NULL
    _cache_bytes -= size[0]
    return block


cdef void block_give(unsigned char *block, Py_ssize_t size) noexcept:
    """Return a block: into the cache if it is large and there is room, else to malloc."""
    cdef bint kept = False
    if block == NULL:
        return
    if CACHE_MIN_BLOCK <= size:
        cytls_park(block, size)       # before it is visible to another thread's block_take
        with _cache_lock:
            kept = _cache_put(block, size)
        if kept:
            return
        cytls_unpark(block, size)
    free(block)


cdef bint _cache_put(unsigned char *block, Py_ssize_t size) noexcept nogil:
    """Park ``block`` in a free slot if the cache has room for it. Called with _cache_lock
    held."""
    global _cache_bytes
    cdef int i
    if _cache_bytes + size > CACHE_MAX_BYTES:
        return False
    for i in range(CACHE_SLOTS):
        if _cache_block[i] == NULL:
            _cache_block[i] = block
            _cache_size[i] = size
            _cache_bytes += size
            return True
    return False


def _block_cache_clear():
    """Testing hook: free every cached block, so that the next ones released are cached
    (the cache is process-wide and holds at most CACHE_SLOTS blocks). Returns how many."""
    global _cache_bytes
    cdef int i, freed = 0
    with _cache_lock:
        for i in range(CACHE_SLOTS):
            if _cache_block[i] != NULL:
                cytls_unpark(_cache_block[i], _cache_size[i])
                free(_cache_block[i])
                _cache_block[i] = NULL
                freed += 1
        _cache_bytes = 0
    return freed


def _block_cache_count():
    """Testing hook: how many blocks the cache holds."""
    cdef int i, count = 0
    with _cache_lock:
        for i in range(CACHE_SLOTS):
            if _cache_block[i] != NULL:
                count += 1
    return count


def _block_cache_contains(needle):
    """Testing hook: whether any block parked in the cache holds ``needle`` (plaintext must
    never be found there)."""
    cdef const unsigned char[::1] pattern = bytes(needle)
    cdef Py_ssize_t n = pattern.shape[0], i, j
    cdef bint found = False
    if n == 0:
        raise ValueError("an empty needle is in everything")
    with _cache_lock:
        for i in range(CACHE_SLOTS):
            if _cache_block[i] == NULL or _cache_size[i] < n:
                continue
            cytls_unpark(_cache_block[i], _cache_size[i])
            for j in range(_cache_size[i] - n + 1):
                if memcmp(_cache_block[i] + j, &pattern[0], n) == 0:
                    found = True
                    break
            cytls_park(_cache_block[i], _cache_size[i])
            if found:
                break
    return found


# --- byte buffers ------------------------------------------------------------------------------
#
# struct ByteBuf and its inline helpers (buf_len, buf_give, buf_release, buf_append, buf_consume)
# are in _record.pxd.

cdef int buf_reserve(ByteBuf *b, Py_ssize_t extra) except -1:
    """Make room for ``extra`` bytes after ``end``, moving live bytes to the front if needed."""
    cdef Py_ssize_t used = b.end - b.start
    cdef Py_ssize_t need = used + extra
    cdef Py_ssize_t new_cap
    cdef unsigned char *new_data
    if b.end + extra <= b.cap:
        return 0
    if b.start and need <= b.cap:
        memmove(b.data, b.data + b.start, used)
        b.start = 0
        b.end = used
        return 0
    new_cap = b.cap + (b.cap >> 1)
    if new_cap < need:
        new_cap = need
    if new_cap < MIN_BUFFER:
        new_cap = MIN_BUFFER
    new_data = block_take(new_cap, &new_cap)
    if used:
        memcpy(new_data, b.data + b.start, used)
    buf_give(b)
    b.data = new_data
    b.start = 0
    b.end = used
    b.cap = new_cap
    return 0


@cython.no_gc                      # (@cython.final is on the declaration, in _record.pxd)
cdef class _Window:
    """A reusable buffer-protocol view of record-layer memory, handed to the AEAD calls.

    A memoryview per call would be two allocations (and GC-tracked objects) per record; a
    window is pointed at the next span instead. Pointing it grants one export: the
    ``encrypt_into``/``decrypt_into`` call that gets the buffer releases it before returning,
    and the release unpoints the window, so a window that escaped (it is a Python object) can
    never be read or written through again once the memory behind it is reused or freed.
    """

    def __getbuffer__(self, Py_buffer *view, int flags):
        if self.ptr == NULL:
            raise BufferError("this record-layer window is not pointed at any memory")
        if (flags & PyBUF_WRITABLE) and not self.writable:
            raise BufferError("this record-layer window is read-only")
        PyBuffer_FillInfo(view, self, self.ptr, self.length, not self.writable, flags)

    def __releasebuffer__(self, Py_buffer *view):
        self.ptr = NULL
        self.length = 0


cdef inline _Window point(_Window window, const unsigned char *p, Py_ssize_t n):
    window.ptr = <char *>p
    window.length = n
    return window


cdef inline object _error(alert, str message):
    return ProtocolError(alert, message)


# --- one direction's protection -----------------------------------------------------------------

@cython.no_gc                      # (@cython.final is on the declaration, in _record.pxd)
cdef class _CipherState:
    """One traffic key: its AEAD object, static IV, sequence number and protection (RFC 8446
    §5.3). The attributes are declared in _record.pxd.

    The AEAD object, its bound methods and the protection (how records are sealed and opened:
    ``seal_record``/``open_record``) are chosen once per key, never per record.

    A direction without a key is not ``None`` but ``_UNPROTECTED``, a state whose suite is 0
    (TLS_NULL_WITH_NULL_NULL, the initial state of RFC 5246 §6.1) and protection
    ``PROTECTION_NONE``.
    Cython does no None check on typed attributes, so a ``None`` state read by mistake was a
    NULL-offset read that crashed some interpreter builds (issue 11); every state object has
    its buffers, and only a protected one has an AEAD. ``no_gc``: a state references nothing
    that can lead back to it, so it takes no part in cycles, and the cycle collector can never
    clear its attributes to ``None`` behind the record layer's back.
    """

    def __cinit__(self):
        """An unprotected state; ``_keyed_state`` gives it a key."""
        self.nonce = bytearray(IV_LEN)
        self.aad = bytearray(HDR)         # TLS 1.3: the record header (§5.2)
        self.source = _Window()
        self.target = _Window()
        self.target.writable = True
        self.allow_application_data = True

    def __dealloc__(self):
        memset(self.iv, 0, IV_LEN)
        if self.nonce is not None:
            memset(PyByteArray_AS_STRING(self.nonce), 0, IV_LEN)   # iv XOR seq reveals the IV

    def __repr__(self):
        if self.protection == PROTECTION_NONE:
            return "<_CipherState unprotected>"
        return f"<_CipherState suite=0x{self.suite:04x}>"   # never the key or IV

    cdef inline void _tls12_aad(self, uint64_t seq, const unsigned char *header,
                                Py_ssize_t plaintext_length) noexcept:
        """additional_data = seq_num || type || version || length (RFC 5246 §6.2.3.3), the
        length being the plaintext's, not the record's."""
        cdef unsigned char *a = <unsigned char *>PyByteArray_AS_STRING(self.aad)
        cdef int i
        for i in range(8):
            a[7 - i] = <unsigned char>(seq >> (8 * i))
        a[8] = header[0]
        a[9] = header[1]
        a[10] = header[2]
        a[11] = <unsigned char>(plaintext_length >> 8)
        a[12] = <unsigned char>plaintext_length

    cdef inline void _make_nonce(self, uint64_t seq) noexcept:
        """nonce = iv XOR seq, the 64-bit sequence number left-padded to 12 bytes (§5.3)."""
        cdef unsigned char *n = <unsigned char *>PyByteArray_AS_STRING(self.nonce)
        cdef int i
        memcpy(n, self.iv, IV_LEN)
        for i in range(8):
            n[IV_LEN - 1 - i] ^= <unsigned char>(seq >> (8 * i))

    cdef int take_sequence_numbers(self, uint64_t count) except -1:
        """Reserve ``count`` consecutive sequence numbers, refusing to wrap (RFC 8446 §5.3)."""
        if count == 0:
            return 0
        if self.exhausted or (self.seq != 0 and count - 1 > UINT64_MAX - self.seq):
            raise TLSError(
                "the sequence number would wrap: 2^64 records were sent under this key "
                "(RFC 8446 §5.3 requires a KeyUpdate first)",
                reason="SEQUENCE_NUMBER_EXHAUSTED")
        self.seq += count
        if self.seq == 0:
            self.exhausted = True
        return 0

    cdef inline int seal_record(self, uint64_t seq, const unsigned char *record,
                                Py_ssize_t length, unsigned char *out) except -1:
        """Seal one staged record into ``out``: ``record`` is its header (whose ``length``
        counts the protection's expansion) and the fragment to protect; ``out`` gets the header
        and the protected fragment, ``HDR + length`` bytes in all."""
        cdef bytearray aad = self.aad
        if self.protection == PROTECTION_TLS13_AEAD:
            # The fragment is TLSInnerPlaintext, with room for the tag after it; the AAD is the
            # record header as sent (RFC 8446 §5.2).
            memcpy(out, record, HDR)
            memcpy(PyByteArray_AS_STRING(aad), record, HDR)
            return self.seal(seq, record + HDR, length - TAG, aad, out + HDR)
        if self.protection == PROTECTION_TLS12_AEAD:
            # GenericAEADCipher (RFC 5246 §6.2.3.3): nonce_explicit, then the sealed fragment.
            # AES-GCM's nonce_explicit is the sequence number (RFC 5288 §3 allows it; distinct
            # per record under one key, as required); the IV is salt || zeros, so the nonce
            # _make_nonce builds, iv XOR seq, is salt || seq, the nonce sent. ChaCha20-Poly1305
            # sends none (RFC 7905 §2).
            memcpy(out, record, HDR)
            self._tls12_aad(seq, record, length - self.explicit_nonce - TAG)
            self.seal(seq, record + HDR + self.explicit_nonce,
                      length - self.explicit_nonce - TAG, aad, out + HDR + self.explicit_nonce)
            if self.explicit_nonce:   # the nonce's last 8 bytes, as seal built it
                memcpy(out + HDR, PyByteArray_AS_STRING(self.nonce) + IV_LEN - EXPLICIT_NONCE,
                       EXPLICIT_NONCE)
            return 0
        raise RuntimeError("no record protection with this key")

    cdef inline int open_record(self, uint64_t seq, const unsigned char *record,
                                Py_ssize_t length, unsigned char *out) except -1:
        """Open one received record, its header read and checked, into ``out``: ``record`` is
        the header and ``length`` bytes of protected fragment; ``out`` gets ``length - TAG``
        bytes of plaintext (TLSInnerPlaintext in TLS 1.3)."""
        cdef bytearray aad = self.aad
        if self.protection == PROTECTION_TLS13_AEAD:
            # The AAD is the record header as received (RFC 8446 §5.2).
            memcpy(PyByteArray_AS_STRING(aad), record, HDR)
            return self.open(seq, record + HDR, length, aad, out)
        if self.protection == PROTECTION_TLS12_AEAD:
            # ``out`` gets ``length - explicit_nonce - TAG`` bytes. The peer chooses AES-GCM's
            # nonce_explicit (RFC 5288 §3): the nonce is the salt and the 8 bytes it sent.
            if length < self.explicit_nonce + TAG:
                raise _error(_BAD_RECORD_MAC, f"protected record of {length} bytes is shorter "
                                              "than its explicit nonce and AEAD tag")
            self._tls12_aad(seq, record, length - self.explicit_nonce - TAG)
            if not self.explicit_nonce:
                return self.open(seq, record + HDR, length, aad, out)
            memcpy(PyByteArray_AS_STRING(self.nonce), self.iv, IV_LEN - EXPLICIT_NONCE)
            memcpy(PyByteArray_AS_STRING(self.nonce) + IV_LEN - EXPLICIT_NONCE, record + HDR,
                   EXPLICIT_NONCE)
            return self._decrypt(record + HDR + EXPLICIT_NONCE, length - EXPLICIT_NONCE, aad,
                                 out)
        raise RuntimeError("no record protection with this key")

    cdef int seal(self, uint64_t seq, const unsigned char *inner, Py_ssize_t inner_len,
                  object aad, unsigned char *out) except -1:
        """Encrypt ``inner`` into ``out`` (``inner_len + TAG`` bytes) under sequence ``seq``:
        the AEAD call, with nonce = iv XOR seq and this ``aad``."""
        self._make_nonce(seq)
        self.encrypt_into(self.nonce, point(self.source, inner, inner_len), aad,
                          point(self.target, out, inner_len + TAG))
        return 0

    cdef int open(self, uint64_t seq, const unsigned char *ciphertext, Py_ssize_t length,
                  object aad, unsigned char *out) except -1:
        """Decrypt ``length`` bytes into ``out`` (``length - TAG`` bytes): the AEAD call, with
        nonce = iv XOR seq and this ``aad``.

        On failure ``out`` is wiped: decrypt_into leaves unauthenticated plaintext there.
        """
        self._make_nonce(seq)
        return self._decrypt(ciphertext, length, aad, out)

    cdef int _decrypt(self, const unsigned char *ciphertext, Py_ssize_t length, object aad,
                      unsigned char *out) except -1:
        """``open`` with the nonce already in ``self.nonce``."""
        if length < TAG:
            raise _error(_BAD_RECORD_MAC,
                         f"protected record of {length} bytes is shorter than the AEAD tag")
        try:
            self.decrypt_into(self.nonce, point(self.source, ciphertext, length), aad,
                              point(self.target, out, length - TAG))
        except BaseException as exc:
            memset(out, 0, length - TAG)
            if isinstance(exc, InvalidTag):
                raise _error(_BAD_RECORD_MAC,
                             "record failed authentication (wrong key, sequence number or "
                             "tampered data)") from None
            raise
        return 0


cdef _CipherState _keyed_state(int suite, key, iv):
    """A protected state for ``suite`` with this traffic key and IV (RFC 8446 §7.3): where its
    protection is chosen, once for every record it will seal or open."""
    cdef const unsigned char[::1] iv_bytes
    cdef _CipherState state
    cdef Protection protection
    cdef Py_ssize_t iv_length
    try:
        aead_class, key_length, iv_length, explicit_nonce = _SUITES[suite]
        protection = _PROTECTIONS[suite]
    except KeyError:
        raise ValueError(f"unsupported cipher suite 0x{suite:04x}") from None
    key = bytes(key)
    iv_bytes = bytes(iv)
    if len(key) != key_length:
        raise ValueError(
            f"cipher suite 0x{suite:04x} needs a {key_length}-byte key, got {len(key)} bytes")
    if iv_bytes.shape[0] != iv_length:
        raise ValueError(f"cipher suite 0x{suite:04x} needs a {iv_length}-byte IV, "
                         f"got {iv_bytes.shape[0]} bytes")
    state = _CipherState()
    state.aead = aead_class(key)
    state.encrypt_into = state.aead.encrypt_into
    state.decrypt_into = state.aead.decrypt_into
    # TLS 1.2 AES-GCM's 4-byte salt is followed by zeros: see seal_record.
    memcpy(state.iv, &iv_bytes[0], iv_length)
    state.explicit_nonce = explicit_nonce
    if protection == PROTECTION_TLS12_AEAD:
        state.aad = bytearray(TLS12_AAD)
    state.suite = suite
    state.protection = protection
    return state


# Shared by every direction that has no key: it is never sealed or opened with (only protected
# states reach seal/open and take sequence numbers), so sharing it costs an unkeyed connection
# nothing.
cdef _CipherState _UNPROTECTED = _CipherState()


# --- the record layer ---------------------------------------------------------------------------

@cython.no_gc_clear
cdef class RecordLayer:
    """Both directions of one connection's record protection. See the module docstring.

    ``no_gc_clear``: a padding policy or a stored exception can put a record layer in a
    reference cycle; when the collector breaks it, it clears the other objects in the cycle,
    never this one's key states, which the code relies on never being ``None``. The attributes
    are declared in _record.pxd.
    """

    def __cinit__(self):
        self._app.secret = True           # opened application data
        self._out.secret = True           # records staged in plaintext until data_to_send
        self._write_state = _UNPROTECTED
        self._read_state = _UNPROTECTED
        self.legacy_version = LEGACY_RECORD_VERSION
        self.padding_policy = None
        self.allow_plaintext_alerts = False
        self._write_limit = MAX_FRAGMENT
        self._read_limit = MAX_FRAGMENT

    def __dealloc__(self):
        buf_release(&self._in)
        buf_release(&self._app)
        buf_release(&self._out)

    def __repr__(self):
        status = "failed" if self._failure is not None else "open"
        return (f"<RecordLayer read={self._read_state!r} write={self._write_state!r} "
                f"{status}>")

    # --- keys -----------------------------------------------------------------------------------

    def set_write_key(self, int cipher_suite, key, iv):
        cdef _CipherState state = _keyed_state(cipher_suite, key, iv)
        self._claim(WRITING)
        try:
            self._check_writable()
            self._seal_pending()          # records already written keep the previous key
            self._write_state = state
        finally:
            self._release(WRITING)

    def clear_write_key(self):
        """Back to unprotected records: a client's second ClientHello after its 0-RTT data."""
        self._claim(WRITING)
        try:
            self._check_writable()
            self._seal_pending()
            self._write_state = _UNPROTECTED
        finally:
            self._release(WRITING)

    def set_read_key(self, int cipher_suite, key, iv, *, bint allow_application_data=True):
        cdef _CipherState state = _keyed_state(cipher_suite, key, iv)
        self._claim(READING)
        try:
            self._check_readable()
            state.allow_application_data = allow_application_data
            self._read_state = state
        finally:
            self._release(READING)

    def allow_application_data(self):
        """Let application data through under the current read key, from now on: TLS 1.2
        installs its key at change_cipher_spec, but application data may only follow a
        Finished that verified (RFC 5246 §7.4.9)."""
        self._claim(READING)
        try:
            self._check_readable()
            if self._read_state.protection == PROTECTION_NONE:
                raise ValueError("no read key is set")   # never the shared _UNPROTECTED state
            self._read_state.allow_application_data = True
        finally:
            self._release(READING)

    @property
    def write_protected(self):
        self._claim(WRITING)    # a key change in another thread may be replacing the state
        try:
            return self._write_state.protection != PROTECTION_NONE
        finally:
            self._release(WRITING)

    @property
    def read_protected(self):
        self._claim(READING)    # a key change in another thread may be replacing the state
        try:
            return self._read_state.protection != PROTECTION_NONE
        finally:
            self._release(READING)

    cdef bint write_sequence_reached(self, uint64_t limit) except -1:
        """Whether the next record written would have a sequence number of ``limit`` or more
        (an exhausted key has reached every limit): the data path's key-update check."""
        self._claim(WRITING)
        try:
            if self._write_state.protection == PROTECTION_NONE:
                return False
            return self._write_state.exhausted or self._write_state.seq >= limit
        finally:
            self._release(WRITING)

    @property
    def write_sequence_number(self):
        self._claim(WRITING)    # a key change in another thread may be replacing the state
        try:
            return _sequence_number(self._write_state)
        finally:
            self._release(WRITING)

    @property
    def read_sequence_number(self):
        self._claim(READING)    # a key change in another thread may be replacing the state
        try:
            return _sequence_number(self._read_state)
        finally:
            self._release(READING)

    @property
    def write_limit(self):
        return self._write_limit

    @write_limit.setter
    def write_limit(self, Py_ssize_t value):
        self._write_limit = _check_limit(value)

    @property
    def read_limit(self):
        return self._read_limit

    @read_limit.setter
    def read_limit(self, Py_ssize_t value):
        self._read_limit = _check_limit(value)

    def _set_sequence_numbers(self, *, read=None, write=None):
        cdef uint64_t read_value = 0, write_value = 0
        if read is not None:
            read_value = _check_sequence_number(self._read_state, read)
        if write is not None:
            write_value = _check_sequence_number(self._write_state, write)
        self._claim(READING | WRITING)
        try:
            self._seal_pending()
            if read is not None:
                self._read_state.seq = read_value
                self._read_state.exhausted = False
            if write is not None:
                self._write_state.seq = write_value
                self._write_state.exhausted = False
        finally:
            self._release(READING | WRITING)

    # --- output ---------------------------------------------------------------------------------

    cpdef write(self, int content_type, data):
        cdef Py_buffer view
        self._check_writable()
        if not CT_CHANGE_CIPHER_SPEC <= content_type <= CT_APPLICATION_DATA:
            raise ValueError(f"unknown TLS content type {content_type}")
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            self._claim(WRITING)
            try:
                self._write(content_type, <const unsigned char *>view.buf, view.len, False)
            finally:
                self._release(WRITING)
        finally:
            PyBuffer_Release(&view)

    def write_alert(self, int level, int description):
        cdef unsigned char alert[2]
        if self._write_closed:
            self._check_writable()
        alert[0] = <unsigned char>level
        alert[1] = <unsigned char>description
        self._claim(WRITING)
        try:
            self._write(CT_ALERT, alert, 2, True)
            if level == 2 or self._failure is not None:
                self._write_closed = True
        finally:
            self._release(WRITING)

    cpdef bytes data_to_send(self):
        cdef Py_ssize_t total
        self._claim(WRITING)
        try:
            total = buf_len(&self._out)
            if total == 0:
                return b""
            result = PyBytes_FromStringAndSize(NULL, total)
            # The bytes object is new and not yet shared: filling it in place is how the C API
            # intends PyBytes_FromStringAndSize(NULL, n) to be used.
            self._emit(<unsigned char *>PyBytes_AS_STRING(result))
            buf_release(&self._out)
            self._seal_from = 0
            return result
        finally:
            self._release(WRITING)

    @property
    def bytes_to_send(self):
        return buf_len(&self._out)

    cdef int _write(self, int content_type, const unsigned char *data, Py_ssize_t n,
                    bint final_alert) except -1:
        if n == 0 and content_type != CT_APPLICATION_DATA:
            raise ValueError("zero-length handshake, alert or change_cipher_spec records must "
                             "not be sent (RFC 8446 §5.1)")
        cdef Protection protection = self._write_state.protection
        if content_type == CT_CHANGE_CIPHER_SPEC and protection == PROTECTION_TLS12_AEAD:
            raise ValueError("change_cipher_spec after the TLS 1.2 write key was set: it is "
                             "sent before, and switches to it (RFC 5246 §7.1)")
        if protection == PROTECTION_NONE or content_type == CT_CHANGE_CIPHER_SPEC:
            # change_cipher_spec is never protected in TLS 1.3 (RFC 8446 §5).
            if content_type == CT_APPLICATION_DATA:
                raise ValueError("application data cannot be sent before a write key is set")
            return self._stage_plaintext(content_type, data, n)
        if protection == PROTECTION_TLS12_AEAD:
            return self._stage_tls12(content_type, data, n)
        return self._stage_protected(content_type, data, n, final_alert)

    cdef int _stage_plaintext(self, int content_type, const unsigned char *data,
                              Py_ssize_t n) except -1:
        cdef Py_ssize_t limit = self._write_limit
        cdef Py_ssize_t records = (n + limit - 1) // limit
        cdef Py_ssize_t chunk
        cdef unsigned char *p
        self._seal_pending()          # keep wire order: pending records go out first
        buf_reserve(&self._out, n + records * HDR)
        while n > 0:
            chunk = n if n < limit else limit
            p = self._out.data + self._out.end
            write_header(p, content_type, self.legacy_version, chunk)
            memcpy(p + HDR, data, chunk)
            self._out.end += HDR + chunk
            data += chunk
            n -= chunk
        self._seal_from = self._out.end
        return 0

    cdef int _stage_protected(self, int content_type, const unsigned char *data,
                              Py_ssize_t n, bint final_alert) except -1:
        """Lay out TLSInnerPlaintext records (RFC 8446 §5.2) awaiting encryption, for
        ``seal_record`` to seal in ``_emit``: the layout of PROTECTION_TLS13_AEAD
        (PROTECTION_TLS12_AEAD's is ``_stage_tls12``).

        The padding policy runs first, before any state is touched, so whatever it does
        (raise, or call back into this layer) cannot leave half a write behind.
        """
        cdef _CipherState state
        cdef Py_ssize_t limit = self._write_limit
        cdef Py_ssize_t records = 1 if n == 0 else (n + limit - 1) // limit
        cdef Py_ssize_t index, chunk, padding, inner, total
        cdef unsigned char *p
        cdef list paddings = None
        if self.padding_policy is not None:
            paddings = self._ask_padding_policy(content_type, n, limit, records)
            total = sum(paddings)
            if self._failure is not None and not final_alert:
                raise self._failure.with_traceback(None)   # the policy made the read side fail
        else:
            total = 0
        state = self._write_state
        buf_reserve(&self._out, n + total + records * (HDR + 1 + TAG))
        if self._seal_from == self._out.end:
            self._pending_seq = state.seq
        state.take_sequence_numbers(records)
        for index in range(records):
            chunk = n if n < limit else limit
            padding = 0 if paddings is None else paddings[index]
            inner = chunk + 1 + padding
            p = self._out.data + self._out.end
            write_header(p, CT_APPLICATION_DATA, LEGACY_RECORD_VERSION, inner + TAG)
            memcpy(p + HDR, data, chunk)
            p[HDR + chunk] = <unsigned char>content_type
            if padding:
                memset(p + HDR + chunk + 1, 0, padding)
            self._out.end += HDR + inner + TAG
            data += chunk
            n -= chunk
        return 0

    cdef int _stage_tls12(self, int content_type, const unsigned char *data,
                          Py_ssize_t n) except -1:
        """Lay out TLS 1.2 GenericAEADCipher records (RFC 5246 §6.2.3.3) awaiting encryption,
        for ``seal_record``: the real content type in the header, room for the explicit nonce,
        the fragment, room for the tag. TLS 1.2 has no padding: the padding policy is not
        asked."""
        cdef _CipherState state = self._write_state
        cdef Py_ssize_t limit = self._write_limit
        cdef Py_ssize_t records = 1 if n == 0 else (n + limit - 1) // limit
        cdef Py_ssize_t _, chunk
        cdef Py_ssize_t overhead = state.explicit_nonce + TAG
        cdef unsigned char *p
        buf_reserve(&self._out, n + records * (HDR + overhead))
        if self._seal_from == self._out.end:
            self._pending_seq = state.seq
        state.take_sequence_numbers(records)
        for _ in range(records):
            chunk = n if n < limit else limit
            p = self._out.data + self._out.end
            write_header(p, content_type, LEGACY_RECORD_VERSION, chunk + overhead)
            memcpy(p + HDR + state.explicit_nonce, data, chunk)
            self._out.end += HDR + chunk + overhead
            data += chunk
            n -= chunk
        return 0

    cdef list _ask_padding_policy(self, int content_type, Py_ssize_t n, Py_ssize_t limit,
                                  Py_ssize_t records):
        """Padding per record (RFC 8446 §5.4), clamped so TLSInnerPlaintext <= limit + 1."""
        cdef Py_ssize_t index, chunk
        cdef list paddings = []
        cdef object policy = self.padding_policy
        for index in range(records):
            chunk = n - index * limit
            if chunk > limit:
                chunk = limit
            paddings.append(_clamp_padding(policy(content_type, chunk), limit - chunk))
        return paddings

    cdef int _emit(self, unsigned char *dst) except -1:
        """Copy the staged output to ``dst``, encrypting the records that await it.

        Records awaiting encryption were staged under the current write key: every key change
        seals the pending records first (``_seal_pending``).
        """
        cdef unsigned char *src = self._out.data + self._out.start
        cdef Py_ssize_t end = buf_len(&self._out)
        cdef Py_ssize_t pos = self._seal_from - self._out.start
        cdef RecordHeader header
        cdef uint64_t seq = self._pending_seq
        cdef _CipherState state = self._write_state
        memcpy(dst, src, pos)         # unprotected records, and records sealed before a key change
        while pos < end:
            read_header(src + pos, &header)
            state.seal_record(seq, src + pos, header.length, dst + pos)
            seq += 1
            pos += HDR + header.length
        return 0

    cdef int _seal_pending(self) except -1:
        """Encrypt staged records now, in place of their plaintext (before a key change)."""
        cdef unsigned char *sealed
        cdef Py_ssize_t size
        cdef Py_ssize_t total = buf_len(&self._out)
        if self._seal_from == self._out.end:
            return 0
        sealed = block_take(total, &size)
        try:
            self._emit(sealed)
        except BaseException:
            block_give(sealed, size)
            raise
        buf_release(&self._out)
        self._out.data = sealed
        self._out.end = total
        self._out.cap = size
        self._seal_from = total
        return 0

    # --- input ----------------------------------------------------------------------------------

    cpdef bint receive_data(self, data) except -1:
        cdef Py_buffer view
        cdef Py_ssize_t consumed
        self._check_readable()
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            self._claim(READING)
        except BaseException:
            PyBuffer_Release(&view)
            raise
        try:
            if view.len == 0:
                pass
            elif self._control is not None or buf_len(&self._in):
                buf_append(&self._in, <const unsigned char *>view.buf, view.len)
                if self._control is None:
                    self._process_buffered()
            else:
                consumed = self._process(<const unsigned char *>view.buf, view.len)
                if consumed < view.len:
                    buf_append(&self._in, <const unsigned char *>view.buf + consumed,
                               view.len - consumed)
            # Processing stops only at a control record or at an incomplete one, so without a
            # control record waiting, next_record() would return None: callers may skip it.
            return self._control is not None
        except ProtocolError as exc:
            self._fail(exc)
            raise
        finally:
            self._release(READING)
            PyBuffer_Release(&view)

    def next_record(self):
        self._check_readable()
        self._claim(READING)
        try:
            if self._control is None and buf_len(&self._in):
                self._process_buffered()
            record = self._control
            self._control = None
            return record
        except ProtocolError as exc:
            self._fail(exc)
            raise
        finally:
            self._release(READING)

    cpdef Py_ssize_t pending(self) noexcept:
        return buf_len(&self._app)

    cpdef bytes read(self, Py_ssize_t max_bytes=-1):
        cdef Py_ssize_t available
        self._check_readable()
        self._claim(READING)
        try:
            available = buf_len(&self._app)
            if max_bytes < 0 or max_bytes > available:
                max_bytes = available
            if max_bytes == 0:
                return b""
            result = PyBytes_FromStringAndSize(<char *>self._app.data + self._app.start,
                                               max_bytes)
            buf_consume(&self._app, max_bytes)
            return result
        finally:
            self._release(READING)

    cpdef Py_ssize_t read_into(self, buffer, Py_ssize_t nbytes=0) except -1:
        cdef Py_buffer view
        cdef Py_ssize_t n
        self._check_readable()
        if nbytes < 0:
            raise ValueError("negative buffersize in read_into")
        PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE)
        try:
            self._claim(READING)
        except BaseException:
            PyBuffer_Release(&view)
            raise
        try:
            n = view.len if nbytes == 0 or nbytes > view.len else nbytes
            if n > buf_len(&self._app):
                n = buf_len(&self._app)
            if n:
                memcpy(view.buf, self._app.data + self._app.start, n)
                buf_consume(&self._app, n)
            return n
        finally:
            self._release(READING)
            PyBuffer_Release(&view)

    @property
    def buffered_input(self):
        return buf_len(&self._in)

    cdef int _process_buffered(self) except -1:
        cdef Py_ssize_t consumed = self._process(self._in.data + self._in.start, buf_len(&self._in))
        buf_consume(&self._in, consumed)
        return 0

    cdef Py_ssize_t _process(self, const unsigned char *data, Py_ssize_t n) except -1:
        """Open complete records from ``data``: application data into the plaintext buffer,
        until one other record has been taken out into ``_control`` (processing must stop
        there: the caller may change keys after it). Returns the bytes consumed."""
        cdef Py_ssize_t pos = 0
        cdef RecordHeader header
        cdef const unsigned char *record
        cdef Protection protection = self._read_state.protection
        cdef bint reserved = False
        while n - pos >= HDR:
            record = data + pos
            read_header(record, &header)
            self._check_header(header.content_type, header.length)
            if n - pos < HDR + header.length:
                break
            if header.content_type == CT_APPLICATION_DATA and self._early_data_to_skip:
                pos += HDR + header.length
                reserved = True
                if self._skip_or_open_early(record, header.length):
                    break
                continue
            # PROTECTION_TLS13_AEAD protects application_data records only: the others are
            # inside them. PROTECTION_TLS12_AEAD protects every record after
            # change_cipher_spec, whose own records are never protected (_take_plaintext).
            if _is_protected(protection, header.content_type):
                if not reserved:
                    # One allocation for every record here: plaintext is shorter than ciphertext.
                    buf_reserve(&self._app, n - pos)
                    reserved = True
                pos += HDR + header.length
                if self._open_protected(record, header.length):
                    break
            else:
                pos += HDR + header.length
                self._take_plaintext(header.content_type, record, header.length)
                break
        if reserved and buf_len(&self._app) == 0:
            buf_release(&self._app)
        return pos

    cdef int _skip_or_open_early(self, const unsigned char *record, Py_ssize_t length) except -1:
        """A server that rejected 0-RTT drops the client's early data records: those it cannot
        open, up to a budget, and then stops skipping (RFC 8446 §4.2.10). Returns 1 if the
        record opened to a non-application record."""
        if self._read_state.protection != PROTECTION_NONE:
            buf_reserve(&self._app, length)
            try:
                opened = self._open_protected(record, length)
            except ProtocolError as exc:
                if exc.alert != _BAD_RECORD_MAC:
                    raise
            else:
                self._early_data_to_skip = 0   # the first record that opens ends the skipping
                return opened
        # Only application data counts, not the tag or the inner content type byte (§4.6.1);
        # the records are counted too, so that tiny ones cannot be sent without end.
        cdef Py_ssize_t data_length = length - TAG - 1 if length > TAG + 1 else 0
        if data_length > self._early_data_to_skip:
            raise _error(_UNEXPECTED, "more rejected early data than max_early_data_size "
                                      "(RFC 8446 §4.2.10)")
        self._early_records_skipped += 1
        if self._early_records_skipped > SKIPPED_EARLY_RECORD_LIMIT:
            raise _error(_UNEXPECTED, f"more than {SKIPPED_EARLY_RECORD_LIMIT} records of "
                                      "rejected early data (RFC 8446 §4.2.10)")
        self._early_data_to_skip -= data_length
        if self._early_data_to_skip == 0:
            self._early_data_to_skip = -1      # spent: the next such record is an error
        return 0

    def skip_early_data(self, Py_ssize_t max_bytes):
        """Drop application_data records that do not open, until one opens, as long as the
        data in them (tag and content type byte not counted) stays within ``max_bytes`` and
        their number within MAX_SKIPPED_EARLY_RECORDS: what a server that rejects 0-RTT must
        do (RFC 8446 §4.2.10)."""
        if max_bytes < 0:
            raise ValueError("max_bytes cannot be negative")
        self._early_data_to_skip = max_bytes

    cdef int _check_header(self, int content_type, Py_ssize_t length) except -1:
        """Reject a header as soon as it is seen, before its body is buffered (RFC 8446 §5.1-2)."""
        if not CT_CHANGE_CIPHER_SPEC <= content_type <= CT_APPLICATION_DATA:
            raise _error(_UNEXPECTED, f"unknown record content type {content_type}")
        if (_is_protected(self._read_state.protection, content_type)
                or (content_type == CT_APPLICATION_DATA and self._early_data_to_skip)):
            # RFC 5246 §6.2.3 allows TLS 1.2 records 2^14 + 2048 bytes, but its AEAD suites
            # expand by 24 at most: TLS 1.3's bound holds them too.
            if length > self._read_limit + MAX_EXPANSION:
                raise _error(_RECORD_OVERFLOW,
                             f"protected record of {length} bytes exceeds the limit of "
                             f"{self._read_limit + MAX_EXPANSION} bytes (RFC 8446 §5.2)")
        elif length > MAX_FRAGMENT:
            raise _error(_RECORD_OVERFLOW,
                         f"record of {length} bytes exceeds the 2^14-byte limit (RFC 8446 §5.1)")
        return 0

    cdef int _open_protected(self, const unsigned char *record, Py_ssize_t length) except -1:
        """Decrypt one TLSCiphertext; returns 1 if it held a non-application record."""
        cdef _CipherState state = self._read_state
        cdef unsigned char *out
        cdef Py_ssize_t inner
        cdef int content_type
        if state.exhausted:
            raise _error(_UNEXPECTED, "the peer sent more than 2^64 records under one key "
                                      "(RFC 8446 §5.3)")
        if length < TAG:
            # Refused before any buffer is touched: with nothing buffered, a reservation of
            # fewer bytes than a tag (0) leaves no buffer to point into.
            raise _error(_BAD_RECORD_MAC,
                         f"protected record of {length} bytes is shorter than the AEAD tag")
        if (state.protection == PROTECTION_TLS12_AEAD
                and ((record[1] << 8) | record[2]) != LEGACY_RECORD_VERSION):
            raise _error(_PROTOCOL_VERSION, f"a TLS 1.2 record with version "
                         f"0x{(record[1] << 8) | record[2]:04x} (RFC 5246 §6.2.1)")
        buf_reserve(&self._app, length)
        out = self._app.data + self._app.end
        state.open_record(state.seq, record, length, out)
        state.seq += 1
        if state.seq == 0:
            state.exhausted = True
        if state.protection == PROTECTION_TLS12_AEAD:
            # The content type is the header's, and there is no padding (RFC 5246 §6.2.3.3).
            # The version is the negotiated one for the whole connection (§6.2.1, Appendix E).
            content_type = record[0]
            inner = length - state.explicit_nonce - TAG
            if inner > self._read_limit:
                raise _error(_RECORD_OVERFLOW,
                             f"plaintext of {inner} bytes exceeds the limit of "
                             f"{self._read_limit} bytes (RFC 5246 §6.2.1)")
        else:
            # TLSInnerPlaintext = content || type || zeros: the type is the last non-zero byte
            # (RFC 8446 §5.4).
            inner = length - TAG
            if inner > self._read_limit + 1:
                raise _error(_RECORD_OVERFLOW,
                             f"inner plaintext of {inner} bytes exceeds the limit of "
                             f"{self._read_limit + 1} bytes (RFC 8446 §5.4)")
            while inner > 0 and out[inner - 1] == 0:
                inner -= 1
            if inner == 0:
                raise _error(_UNEXPECTED, "protected record has no content type (all zeros, "
                                          "RFC 8446 §5.4)")
            inner -= 1
            content_type = out[inner]
        if content_type == CT_APPLICATION_DATA:
            if not state.allow_application_data:
                raise _error(_UNEXPECTED, "application data under handshake traffic keys")
            if self.hold_application_data:
                raise _error(_UNEXPECTED, "application data between the fragments of a "
                                          "handshake message (RFC 8446 §5.1)")
            if inner == 0:
                self._count_empty_record()
            else:
                self._empty_run = 0
                self._app.end += inner
                self.application_bytes_received += inner
            return 0
        if content_type != CT_HANDSHAKE and content_type != CT_ALERT:
            raise _error(_UNEXPECTED, f"protected record of content type {content_type} "
                                      "(RFC 8446 §5)")
        if inner == 0:
            raise _error(_UNEXPECTED, f"empty {_type_name(content_type)} record (RFC 8446 §5.1)")
        self._control = (content_type, PyBytes_FromStringAndSize(<char *>out, inner))
        memset(out, 0, inner)
        return 1

    cdef int _take_plaintext(self, int content_type, const unsigned char *record,
                             Py_ssize_t length) except -1:
        """An unprotected record: only handshake, alert or change_cipher_spec (RFC 8446 §5)."""
        cdef bint protected = self._read_state.protection != PROTECTION_NONE
        if content_type == CT_APPLICATION_DATA:
            raise _error(_UNEXPECTED, "application data before any read key is set")
        if (content_type == CT_CHANGE_CIPHER_SPEC
                and self._read_state.protection == PROTECTION_TLS12_AEAD):
            raise _error(_UNEXPECTED, "change_cipher_spec after the peer's keys took effect: "
                                      "one is sent per handshake (RFC 5246 §7.1)")
        if content_type == CT_CHANGE_CIPHER_SPEC:
            # Middlebox compatibility: one unprotected byte 0x01, dropped by the handshake (§5).
            if length != 1 or record[HDR] != 1:
                raise _error(_UNEXPECTED, "change_cipher_spec must be the single byte 0x01")
            self._count_empty_record()   # it delivers nothing, as an empty record
        elif protected and not (content_type == CT_ALERT and self.allow_plaintext_alerts):
            raise _error(_UNEXPECTED,
                         f"unprotected {_type_name(content_type)} record after keys were set")
        elif length == 0:
            raise _error(_UNEXPECTED, f"empty {_type_name(content_type)} record (RFC 8446 §5.1)")
        self._control = (content_type, PyBytes_FromStringAndSize(<char *>record + HDR, length))
        return 0

    cdef int _count_empty_record(self) except -1:
        """Only application data ends a run of records that deliver nothing (empty ones and
        change_cipher_spec); handshake and alert records neither end nor extend it."""
        self._empty_run += 1
        if self._empty_run > EMPTY_RECORD_LIMIT:
            raise _error(_UNEXPECTED, f"more than {EMPTY_RECORD_LIMIT} records in a row that "
                                      "delivered no data")
        return 0

    # --- state ----------------------------------------------------------------------------------

    @property
    def error(self):
        return self._failure

    def fail(self, exc):
        """Fail the layer for an error found above it (in the handshake): what was received
        and not yet read is wiped and dropped, and reading raises ``exc`` from now on, as
        after a record-layer error. One alert can still be written."""
        if not isinstance(exc, TLSError):
            raise TypeError("fail() takes the TLSError that ends the connection")
        self._claim(READING)
        try:
            if self._failure is None:
                self._fail(exc)
        finally:
            self._release(READING)

    def buffer_capacities(self):
        return (self._in.cap, self._app.cap, self._out.cap)

    cdef int _fail(self, exc) except -1:
        """Make the failure sticky and drop what was received: nothing after it may be used."""
        self._failure = exc
        self._control = None
        buf_release(&self._in)
        buf_release(&self._app)
        return 0

    cdef int _check_readable(self) except -1:
        if self._failure is not None:
            raise self._failure.with_traceback(None)
        return 0

    cdef int _claim(self, int side) except -1:
        """Refuse a second call into one direction while one is under way.

        The AEAD calls release the GIL and may run the garbage collector, so another thread,
        a finalizer or a padding_policy could otherwise reach buffers that a call in progress
        points into; on a free-threaded build two threads can be inside at the same instant.
        The flag is claimed with one atomic fetch-or, so of two racing calls exactly one gets
        it. Reading and writing use separate buffers and may overlap.
        """
        cdef int held = cytls_fetch_or(&self._busy, side)
        if held & side:
            cytls_fetch_and(&self._busy, ~(side & ~held))   # give back only what we just took
            raise RuntimeError(
                "this RecordLayer is already " + ("reading" if held & side & READING else "writing")
                + ": it was re-entered from a padding_policy or finalizer, or used by two "
                "threads at once in one direction (use a lock, or one thread per direction)")
        return 0

    cdef void _release(self, int side) noexcept:
        cytls_fetch_and(&self._busy, ~side)

    cdef int _check_writable(self) except -1:
        self._check_readable()
        if self._write_closed:
            raise TLSError("the write side is closed: a fatal alert was sent",
                           reason="WRITE_SIDE_CLOSED")
        return 0


# --- helpers ------------------------------------------------------------------------------------

cdef uint64_t _check_sequence_number(_CipherState state, object value) except? 0:
    if state.protection == PROTECTION_NONE:
        raise ValueError("no key is set in that direction")
    if not 0 <= value < 2 ** 64:
        raise ValueError("a sequence number is a 64-bit unsigned integer")
    return value


cdef object _sequence_number(_CipherState state):
    if state.protection == PROTECTION_NONE:
        return 0
    if state.exhausted:
        return 2 ** 64
    return state.seq


cdef Py_ssize_t _check_limit(Py_ssize_t value) except -1:
    if not 1 <= value <= MAX_FRAGMENT:
        raise ValueError(f"a record limit is between 1 and {MAX_FRAGMENT} bytes, got {value}")
    return value


cdef Py_ssize_t _clamp_padding(object requested, Py_ssize_t most) except -1:
    cdef Py_ssize_t padding = requested
    if padding < 0:
        raise ValueError(f"padding_policy returned {padding}; padding cannot be negative")
    return padding if padding < most else most


cdef str _type_name(int content_type):
    return {CT_CHANGE_CIPHER_SPEC: "change_cipher_spec", CT_ALERT: "alert",
            CT_HANDSHAKE: "handshake"}.get(content_type, str(content_type))


def aead_seal(int cipher_suite, key, iv, uint64_t sequence_number, aad, plaintext):
    cdef _CipherState state = _keyed_state(cipher_suite, key, iv)
    cdef const unsigned char[::1] data = bytes(plaintext)
    cdef Py_ssize_t n = data.shape[0]
    result = PyBytes_FromStringAndSize(NULL, n + TAG)
    state.seal(sequence_number, &data[0] if n else <const unsigned char *>b"", n, bytes(aad),
               <unsigned char *>PyBytes_AS_STRING(result))
    return result


def aead_open(int cipher_suite, key, iv, uint64_t sequence_number, aad, ciphertext):
    cdef _CipherState state = _keyed_state(cipher_suite, key, iv)
    cdef const unsigned char[::1] data = bytes(ciphertext)
    cdef Py_ssize_t n = data.shape[0]
    if n < TAG:
        raise _error(_BAD_RECORD_MAC, f"ciphertext of {n} bytes is shorter than the AEAD tag")
    result = PyBytes_FromStringAndSize(NULL, n - TAG)
    state.open(sequence_number, &data[0], n, bytes(aad),
               <unsigned char *>PyBytes_AS_STRING(result))
    return result

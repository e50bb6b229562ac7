# cython: language_level=3
# Declarations of the record layer (_record.pyx): its constants, the record header and its one
# reader and writer, the byte buffers, and the extension types with their attributes and C
# methods. Cython reads this file when it compiles _record.pyx, and another Cython module (a DTLS
# or TLS 1.2 record layer, say) cimports what it shares from here: `from cytls._record cimport`.
#
# Where the decorators go: @cython.final takes effect only here; @cython.no_gc and
# @cython.no_gc_clear only on the definitions in _record.pyx.

cimport cython
from libc.stdint cimport uint64_t
from libc.string cimport memcpy


cdef enum:
    CT_CHANGE_CIPHER_SPEC = 20
    CT_ALERT = 21
    CT_HANDSHAKE = 22
    CT_APPLICATION_DATA = 23
    LEGACY_RECORD_VERSION = 0x0303    # TLS 1.2's: protected records' legacy version (§5.1)
    HDR = 5                           # a TLS record header: type, legacy version, length
    TAG = 16                          # every supported AEAD (cytls.registry: tag_length)
    IV_LEN = 12                       # every supported AEAD (cytls.registry: iv_length)
    MAX_FRAGMENT = 16384              # 2^14, RFC 8446 §5.1
    MAX_EXPANSION = 256               # TLSCiphertext.length <= 2^14 + 256, RFC 8446 §5.2
    EXPLICIT_NONCE = 8                # TLS 1.2 AES-GCM's nonce_explicit (RFC 5288 §3)
    TLS12_AAD = 13                    # seq_num, type, version, length (RFC 5246 §6.2.3.3)


# --- record headers -----------------------------------------------------------------------------
#
# Every header the record layer reads goes through read_header, and every one it writes through
# write_header. A DTLS record layer adds a second reader and writer for its header (epoch and
# sequence number on the wire, RFC 9147 §4), with those two fields added to the struct.

cdef struct RecordHeader:
    int content_type
    int version                       # legacy_record_version: TLS 1.3 ignores it (§5.1)
    Py_ssize_t length                 # of the fragment after the header


cdef inline void read_header(const unsigned char *p, RecordHeader *header) noexcept:
    """Parse the HDR bytes at ``p``: TLSPlaintext/TLSCiphertext minus the fragment (§5.1-2)."""
    header.content_type = p[0]
    header.version = (p[1] << 8) | p[2]
    header.length = (<Py_ssize_t>p[3] << 8) | p[4]


cdef inline void write_header(unsigned char *p, int content_type, int version,
                              Py_ssize_t length) noexcept:
    """Write the HDR bytes of a record header at ``p``."""
    p[0] = <unsigned char>content_type
    p[1] = <unsigned char>(version >> 8)
    p[2] = <unsigned char>version
    p[3] = <unsigned char>(length >> 8)
    p[4] = <unsigned char>length


# --- record protection --------------------------------------------------------------------------

cdef enum Protection:
    # How a _CipherState seals and opens records, chosen once, when its key is installed
    # (_keyed_state), from the suite's entry in cytls.registry.
    PROTECTION_NONE = 0               # TLSPlaintext: no key yet (TLS_NULL_WITH_NULL_NULL)
    # RFC 8446 §5.2-5.4: nonce iv XOR seq, the header as AAD, the content type inside the
    # encrypted TLSInnerPlaintext.
    PROTECTION_TLS13_AEAD = 1
    # RFC 5246 §6.2.3.3 with RFC 5288 (AES-GCM: nonce salt || nonce_explicit, the explicit part
    # sent after the header) and RFC 7905 (ChaCha20-Poly1305: nonce iv XOR seq, nothing sent);
    # AAD seq || type || version || plaintext length; every record after change_cipher_spec is
    # protected, its real content type in the header, with no padding.
    PROTECTION_TLS12_AEAD = 2
    # Next: DTLS 1.3 (RFC 9147); see the module docstring.


# --- byte buffers and the block cache -----------------------------------------------------------

cdef extern from *:
    """
    /* Zeroing memory that is about to be freed or reused is a dead store a compiler may drop;
       a call through a volatile pointer cannot be. */
    static void *(*volatile cytls_memset)(void *, int, size_t) = memset;
    static void cytls_wipe(void *p, size_t n) { if (p != NULL && n) cytls_memset(p, 0, n); }
    """
    void cytls_wipe(void *block, size_t size) noexcept nogil


cdef struct ByteBuf:
    unsigned char *data
    Py_ssize_t start      # first byte not yet consumed
    Py_ssize_t end        # one past the last byte written
    Py_ssize_t cap
    bint secret           # holds plaintext: wiped before its memory is freed or cached


# The block cache (block_take/block_give) and buf_reserve are defined in _record.pyx.
cdef unsigned char *block_take(Py_ssize_t need, Py_ssize_t *size) except NULL
cdef void block_give(unsigned char *block, Py_ssize_t size) noexcept
cdef int buf_reserve(ByteBuf *b, Py_ssize_t extra) except -1


cdef inline Py_ssize_t buf_len(ByteBuf *b) noexcept:
    return b.end - b.start


cdef inline void buf_give(ByteBuf *b) noexcept:
    """Hand the block back (to the cache, which other connections draw from, or to malloc)."""
    if b.secret:
        cytls_wipe(b.data, b.cap)
    block_give(b.data, b.cap)


cdef inline void buf_release(ByteBuf *b) noexcept:
    buf_give(b)
    b.data = NULL
    b.start = b.end = b.cap = 0


cdef inline int buf_append(ByteBuf *b, const unsigned char *src, Py_ssize_t n) except -1:
    buf_reserve(b, n)
    memcpy(b.data + b.end, src, n)
    b.end += n
    return 0


cdef inline void buf_consume(ByteBuf *b, Py_ssize_t n) noexcept:
    """Drop ``n`` bytes from the front; a drained buffer is freed (idle connections hold none)."""
    b.start += n
    if b.start >= b.end:
        buf_release(b)


# --- extension types ----------------------------------------------------------------------------

@cython.final
cdef class _Window:
    cdef char *ptr               # NULL: not pointed at anything, so it cannot be exported
    cdef Py_ssize_t length
    cdef bint writable


@cython.final
cdef class _CipherState:
    cdef object aead
    cdef object encrypt_into
    cdef object decrypt_into
    cdef bytearray nonce          # reused for every record; filled in place
    cdef bytearray aad            # the AAD (TLS 1.3: the record header, §5.2); filled in place
    cdef Py_ssize_t explicit_nonce  # nonce bytes sent in each record (TLS 1.2 AES-GCM: 8)
    cdef _Window source           # what the AEAD reads
    cdef _Window target           # where the AEAD writes
    cdef unsigned char iv[IV_LEN]
    cdef uint64_t seq
    cdef bint exhausted           # every sequence number has been used: no wrap (RFC 8446 §5.3)
    cdef bint allow_application_data
    cdef readonly int suite       # 0: no protection
    cdef Protection protection    # set once, with the key

    cdef inline void _make_nonce(self, uint64_t seq) noexcept
    cdef int take_sequence_numbers(self, uint64_t count) except -1
    cdef int seal(self, uint64_t seq, const unsigned char *inner, Py_ssize_t inner_len,
                  object aad, unsigned char *out) except -1
    cdef int open(self, uint64_t seq, const unsigned char *ciphertext, Py_ssize_t length,
                  object aad, unsigned char *out) except -1
    cdef int _decrypt(self, const unsigned char *ciphertext, Py_ssize_t length, object aad,
                      unsigned char *out) except -1
    cdef inline void _tls12_aad(self, uint64_t seq, const unsigned char *header,
                                Py_ssize_t plaintext_length) noexcept
    cdef inline int seal_record(self, uint64_t seq, const unsigned char *record,
                                Py_ssize_t length, unsigned char *out) except -1
    cdef inline int open_record(self, uint64_t seq, const unsigned char *record,
                                Py_ssize_t length, unsigned char *out) except -1


cdef class RecordLayer:
    cdef _CipherState _write_state        # never None: _UNPROTECTED until a key is set
    cdef _CipherState _read_state
    cdef public int legacy_version
    cdef public object padding_policy
    cdef public bint allow_plaintext_alerts
    cdef Py_ssize_t _write_limit
    cdef Py_ssize_t _read_limit
    cdef ByteBuf _in                      # received bytes not yet processed
    cdef ByteBuf _app                     # opened application data, not yet read
    cdef ByteBuf _out                     # staged output records
    cdef Py_ssize_t _seal_from            # _out offset where records awaiting encryption start
    cdef uint64_t _pending_seq            # sequence number of the first of those records
    cdef object _control                  # an opened non-application record awaiting next_record
    cdef int _empty_run                   # records in a row that delivered nothing
    cdef Py_ssize_t _early_data_to_skip   # rejected 0-RTT bytes still to drop (-1: budget spent)
    cdef int _early_records_skipped
    cdef public bint hold_application_data
    cdef readonly unsigned long long application_bytes_received
    cdef object _failure
    cdef bint _write_closed
    cdef int _busy                        # READING/WRITING: a call is under way (see _claim)

    # The data path's entry points (cytls._datapath calls them directly, Python as methods).
    cpdef write(self, int content_type, data)
    cpdef bytes data_to_send(self)
    cpdef bint receive_data(self, data) except -1
    cpdef Py_ssize_t pending(self) noexcept
    cpdef bytes read(self, Py_ssize_t max_bytes=*)
    cpdef Py_ssize_t read_into(self, buffer, Py_ssize_t nbytes=*) except -1
    cdef bint write_sequence_reached(self, uint64_t limit) except -1

    # output
    cdef int _write(self, int content_type, const unsigned char *data, Py_ssize_t n,
                    bint final_alert) except -1
    cdef int _stage_plaintext(self, int content_type, const unsigned char *data,
                              Py_ssize_t n) except -1
    cdef int _stage_tls12(self, int content_type, const unsigned char *data,
                          Py_ssize_t n) except -1
    cdef int _stage_protected(self, int content_type, const unsigned char *data,
                              Py_ssize_t n, bint final_alert) except -1
    cdef list _ask_padding_policy(self, int content_type, Py_ssize_t n, Py_ssize_t limit,
                                  Py_ssize_t records)
    cdef int _emit(self, unsigned char *dst) except -1
    cdef int _seal_pending(self) except -1
    # input
    cdef int _process_buffered(self) except -1
    cdef Py_ssize_t _process(self, const unsigned char *data, Py_ssize_t n) except -1
    cdef int _skip_or_open_early(self, const unsigned char *record, Py_ssize_t length) except -1
    cdef int _check_header(self, int content_type, Py_ssize_t length) except -1
    cdef int _open_protected(self, const unsigned char *record, Py_ssize_t length) except -1
    cdef int _take_plaintext(self, int content_type, const unsigned char *record,
                             Py_ssize_t length) except -1
    cdef int _count_empty_record(self) except -1
    # state
    cdef int _fail(self, exc) except -1
    cdef int _check_readable(self) except -1
    cdef int _claim(self, int side) except -1
    cdef void _release(self, int side) noexcept
    cdef int _check_writable(self) except -1

# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: freethreading_compatible=True
"""The parts of a ClientHello whose size the peer chooses, walked in C.

Why C: a ClientHello carries up to 64 KiB of lists (RFC 8446 §4.1.2), and read in Python, with
an object or a call per item, such lists cost a server many times a typical handshake
(docs/design.md). Here each list is walked once, with no object per item, and only what the
server can use comes out:

- ``sift_client_hello`` drops the cipher suites and extensions cytls does not recognize (a server
  MUST ignore them: §4.1.2, §4.2) before ``ClientHello.parse`` reads what is left, and keeps
  whatever makes that parse fail so that it fails exactly as on the whole message;
- ``read_key_exchange_offer`` checks supported_groups and key_share (§4.2.7-4.2.8) and returns
  the groups of the server's that the client lists, with the client's shares for them.

The Python codec (cytls.wire) stays the one definition of these structures and of their error
messages; the tests hold this module to it.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

from cytls.errors import ProtocolError
from cytls.wire.enums import AlertDescription

cdef enum:
    GROUP_BITS_BYTES = 8192  # one bit for each of the 65,536 values of a uint16 code point
    PRE_SHARED_KEY = 41  # ExtensionType.pre_shared_key (RFC 8446 §4.2)
    _RANDOM_END = 34  # legacy_version (2) and random (32)


cdef inline unsigned int _uint16(const unsigned char* p) noexcept nogil:
    return (<unsigned int>p[0] << 8) | p[1]


cdef inline bint _has(const unsigned char* bits, unsigned int group) noexcept nogil:
    return (bits[group >> 3] >> (group & 7)) & 1


cdef inline void _add(unsigned char* bits, unsigned int group) noexcept nogil:
    bits[group >> 3] |= <unsigned char>(1 << (group & 7))


cdef object _decode_error(str message):
    return ProtocolError(AlertDescription.decode_error, message)


cdef object _illegal(str message):
    return ProtocolError(AlertDescription.illegal_parameter, message)


cdef Py_ssize_t _vector16(const unsigned char* data, Py_ssize_t size, str what, str name) except -1:
    """The length of the one ``<..2^16-1>`` vector that must fill ``data`` exactly."""
    if size < 2:
        raise _decode_error(f"{what}: the length of {name} is missing")
    cdef Py_ssize_t length = _uint16(data)
    if length > size - 2:
        raise _decode_error(f"{what}: {name} needs {length} bytes, {size - 2} are there")
    if length < size - 2:
        raise _decode_error(f"{what}: {size - 2 - length} unexpected trailing bytes after {name}")
    return length


def read_key_exchange_offer(
    bytes groups_data not None, bytes shares_data not None, tuple ours not None
):
    """Validate a ClientHello's supported_groups and key_share extension data, and return
    ``(listed, shares, share_count)``: the groups of ``ours`` that supported_groups lists, in
    the order of ``ours``; the client's key_exchange for each of them it sent a share for; and
    how many shares it sent.

    Raises ProtocolError with decode_error for a malformed list (RFC 8446 §4.2.7: supported_groups
    is ``NamedGroup named_group_list<2..2^16-1>``; §4.2.8: ``KeyShareEntry
    client_shares<0..2^16-1>``, each ``opaque key_exchange<1..2^16-1>``), and with
    illegal_parameter for two shares of one group, a share for a group supported_groups does not
    list, or shares out of supported_groups order (§4.2.8: "Clients MUST NOT offer multiple
    KeyShareEntry values for the same group. Clients MUST NOT offer any KeyShareEntry values for
    groups not listed in the client's "supported_groups" extension. Servers MAY check for
    violations of these rules and abort the handshake with an "illegal_parameter" alert").
    """
    cdef const unsigned char* groups = <const unsigned char*>PyBytes_AS_STRING(groups_data)
    cdef const unsigned char* shares = <const unsigned char*>PyBytes_AS_STRING(shares_data)
    cdef Py_ssize_t groups_size = len(groups_data), shares_size = len(shares_data)
    cdef unsigned char listed_bits[GROUP_BITS_BYTES]
    cdef unsigned char shared_bits[GROUP_BITS_BYTES]
    cdef unsigned char wanted_bits[GROUP_BITS_BYTES]
    cdef Py_ssize_t groups_length, shares_length, pos, end, key_length, cursor
    cdef unsigned int group
    cdef Py_ssize_t share_count = 0
    cdef long misplaced = -1  # the first share out of §4.2.8's order, if any
    cdef bint unlisted = False  # ... because supported_groups does not list its group
    memset(listed_bits, 0, GROUP_BITS_BYTES)
    memset(shared_bits, 0, GROUP_BITS_BYTES)
    memset(wanted_bits, 0, GROUP_BITS_BYTES)

    # supported_groups: NamedGroup named_group_list<2..2^16-1> (§4.2.7).
    groups_length = _vector16(groups, groups_size, "supported_groups extension", "named_group_list")
    if groups_length < 2:
        raise _decode_error("supported_groups extension: named_group_list is empty")
    if groups_length % 2:
        raise _decode_error(
            "supported_groups extension: named_group_list has an odd number of bytes"
        )
    groups += 2
    for pos in range(0, groups_length, 2):
        _add(listed_bits, _uint16(groups + pos))

    wanted = {}  # NamedGroup value -> the caller's object for it
    for item in ours:
        if 0 <= item <= 0xFFFF:
            _add(wanted_bits, <unsigned int>item)
            wanted[int(item)] = item

    # key_share: KeyShareEntry client_shares<0..2^16-1> (§4.2.8). Each share's group must come
    # later in named_group_list than the previous share's: ``cursor`` walks that list once, so
    # the order check is a merge of the two lists, linear in their lengths.
    shares_length = _vector16(shares, shares_size, "key_share extension", "client_shares")
    shares += 2
    offered = {}
    pos = 0
    cursor = 0
    while pos < shares_length:
        if shares_length - pos < 4:
            raise _decode_error(f"key_share extension: a KeyShareEntry is truncated at {pos}")
        group = _uint16(shares + pos)
        key_length = _uint16(shares + pos + 2)
        end = pos + 4 + key_length
        if key_length == 0 or end > shares_length:
            raise _decode_error(
                f"key_share extension: the key_exchange of the entry at {pos} is empty or runs "
                f"past the end ({key_length} bytes)"
            )
        if _has(shared_bits, group):
            raise _illegal(f"key_share extension: group {group:#06x} is offered twice")
        _add(shared_bits, group)
        if misplaced < 0:  # raised once the whole list has been read: syntax comes first
            if not _has(listed_bits, group):
                misplaced, unlisted = group, True
            else:
                while cursor < groups_length and _uint16(groups + cursor) != group:
                    cursor += 2
                if cursor == groups_length:  # listed, but only before the previous share's
                    misplaced = group
        if _has(wanted_bits, group):
            offered[wanted[group]] = shares_data[2 + pos + 4 : 2 + end]
        share_count += 1
        pos = end

    if unlisted:
        raise _illegal(
            f"key share for group {misplaced:#06x}, which supported_groups does not list (§4.2.8)"
        )
    if misplaced >= 0:
        raise _illegal("key shares are not in supported_groups order (RFC 8446 §4.2.8)")
    listed = [
        item for item in ours if 0 <= item <= 0xFFFF and _has(listed_bits, <unsigned int>item)
    ]
    return listed, offered, share_count


@cython.final
cdef class _Out:
    """A byte buffer that cannot overflow: ``size`` bounds everything written to it."""

    cdef unsigned char* data
    cdef Py_ssize_t size, used

    def __cinit__(self, Py_ssize_t size):
        self.data = <unsigned char*>malloc(size if size > 0 else 1)
        if self.data == NULL:
            raise MemoryError()
        self.size = size
        self.used = 0

    def __dealloc__(self):
        free(self.data)

    cdef inline int put(self, const unsigned char* source, Py_ssize_t length) except -1:
        if length < 0 or length > self.size - self.used:
            raise AssertionError("sift_client_hello wrote past its buffer")
        memcpy(self.data + self.used, source, length)
        self.used += length
        return 0

    cdef inline int put_uint16(self, Py_ssize_t value) except -1:
        cdef unsigned char pair[2]
        pair[0] = <unsigned char>(value >> 8)
        pair[1] = <unsigned char>value
        return self.put(pair, 2)

    cdef bytes take(self):
        return PyBytes_FromStringAndSize(<char*>self.data, self.used)


def code_point_bitmap(values):
    """The 65,536-bit bitmap ``sift_client_hello`` takes: one bit per uint16 code point, set for
    each of ``values``."""
    cdef bytearray bits = bytearray(GROUP_BITS_BYTES)
    cdef unsigned int value
    for item in values:
        value = <unsigned int>item
        if value > 0xFFFF:
            raise ValueError(f"{item} is not a uint16 code point")
        bits[value >> 3] |= 1 << (value & 7)
    return bytes(bits)


cdef const unsigned char* _bitmap(bytes bits, str name) except NULL:
    if len(bits) != GROUP_BITS_BYTES:
        raise ValueError(f"{name} must be a {GROUP_BITS_BYTES}-byte bitmap, not {len(bits)} bytes")
    return <const unsigned char*>PyBytes_AS_STRING(bits)


def sift_client_hello(bytes body not None, bytes known_suites not None, bytes known_types not None):
    """Return ``(sifted, ignored_suites, ignored_extensions)``: the ClientHello ``body`` without
    the cipher suites and extensions whose code points are not set in the 65,536-bit bitmaps
    ``known_suites`` and ``known_types``, and the raw bytes of what was taken out.

    ``ClientHello.parse(sifted)`` raises the same alert as ``ClientHello.parse(body)`` (error
    offsets aside), or returns the same message without the unrecognized items. So the sifter
    takes nothing out of a part of the message it cannot walk, keeps every extension of the first
    type that appears twice, keeps one suite when none is recognized (the handshake then fails
    for want of a common suite, not of a suite), and keeps the extension after pre_shared_key
    when that is not the last one (§4.2.11). The raw bytes let a second ClientHello be held to the
    first's unrecognized items too (§4.1.2).
    """
    cdef const unsigned char* suites_bits = _bitmap(known_suites, "known_suites")
    cdef const unsigned char* types_bits = _bitmap(known_types, "known_types")
    cdef const unsigned char* data = <const unsigned char*>PyBytes_AS_STRING(body)
    cdef Py_ssize_t size = len(body)
    cdef Py_ssize_t pos, suites_start, suites_length, extensions_start, block_length, block_end
    cdef Py_ssize_t entry, entry_end, stop, limit, kept_length, block_start
    cdef _Out sifted, ignored_suites, ignored_extensions
    cdef Py_ssize_t psk_entry = -1, psk_next = -1, repeat_at = -1
    cdef unsigned int kind, repeated = 0x10000
    cdef unsigned char seen[GROUP_BITS_BYTES]

    # legacy_version, random, legacy_session_id<0..32>, cipher_suites<2..2^16-2>: where the
    # suites cannot be walked, ClientHello.parse fails before walking them; give it the body.
    pos = _RANDOM_END
    if size < pos + 1 or size < pos + 1 + data[pos]:
        return body, b"", b""
    suites_start = pos + 1 + data[pos]
    if size < suites_start + 2:
        return body, b"", b""
    suites_length = _uint16(data + suites_start)
    if suites_length < 2 or suites_length % 2 or suites_start + 2 + suites_length > size:
        return body, b"", b""

    sifted = _Out(size)
    ignored_suites = _Out(suites_length)
    sifted.put(data, suites_start + 2)  # the length is written over once it is known
    for pos in range(suites_start + 2, suites_start + 2 + suites_length, 2):
        if _has(suites_bits, _uint16(data + pos)):
            sifted.put(data + pos, 2)
        else:
            ignored_suites.put(data + pos, 2)
    if sifted.used == suites_start + 2:  # none recognized: keep the first
        sifted.put(data + suites_start + 2, 2)
    kept_length = sifted.used - suites_start - 2
    sifted.data[suites_start] = <unsigned char>(kept_length >> 8)
    sifted.data[suites_start + 1] = <unsigned char>kept_length
    pos = suites_start + 2 + suites_length

    # legacy_compression_methods, then the extension block if there is one and it can be walked
    # to its end; otherwise the rest goes as it is.
    if pos >= size or pos + 1 + data[pos] > size:
        sifted.put(data + pos, size - pos)
        return sifted.take(), ignored_suites.take(), b""
    extensions_start = pos + 1 + data[pos]
    if extensions_start + 2 > size:
        sifted.put(data + pos, size - pos)
        return sifted.take(), ignored_suites.take(), b""
    block_length = _uint16(data + extensions_start)
    block_end = extensions_start + 2 + block_length
    if block_end > size:
        sifted.put(data + pos, size - pos)
        return sifted.take(), ignored_suites.take(), b""
    sifted.put(data + pos, extensions_start - pos)

    # First pass: where the walk breaks (a truncated extension), where a type first repeats,
    # and what follows pre_shared_key. The parse fails at the earlier of the first two.
    memset(seen, 0, GROUP_BITS_BYTES)
    entry = extensions_start + 2
    stop = block_end
    while entry < block_end:
        if block_end - entry < 4 or entry + 4 + _uint16(data + entry + 2) > block_end:
            stop = entry
            break
        kind = _uint16(data + entry)
        if repeat_at < 0:
            if _has(seen, kind):
                repeat_at = entry
                repeated = kind
            _add(seen, kind)
        if psk_entry >= 0 and psk_next < 0:
            psk_next = entry
        if kind == PRE_SHARED_KEY and psk_entry < 0:
            psk_entry = entry
        entry += 4 + _uint16(data + entry + 2)
    limit = stop if repeat_at < 0 or stop < repeat_at else repeat_at

    # Second pass: keep what is recognized, the repeated type, and the extension after
    # pre_shared_key; from ``limit`` on, everything.
    block_start = sifted.used
    sifted.put_uint16(0)  # written over below
    ignored_extensions = _Out(block_length)
    entry = extensions_start + 2
    while entry < limit:
        kind = _uint16(data + entry)
        entry_end = entry + 4 + _uint16(data + entry + 2)
        if _has(types_bits, kind) or kind == repeated or entry == psk_next:
            sifted.put(data + entry, entry_end - entry)
        else:
            ignored_extensions.put(data + entry, entry_end - entry)
        entry = entry_end
    sifted.put(data + limit, size - limit)  # the rest of the block, and anything after it
    kept_length = block_length - ignored_extensions.used
    sifted.data[block_start] = <unsigned char>(kept_length >> 8)
    sifted.data[block_start + 1] = <unsigned char>kept_length
    return sifted.take(), ignored_suites.take(), ignored_extensions.take()


def listed_code_points(
    bytes data not None, Py_ssize_t minimum, Py_ssize_t maximum, tuple ours not None
):
    """The items of ``ours`` that ``data`` lists, in the order of ``ours``, when ``data`` holds
    exactly one ``uint16 list<minimum..maximum>`` (bounds in bytes, as the RFC writes them);
    None when it does not, for the Python decoder to say why.

    For signature_algorithms (§4.2.3: up to 32,767 schemes, of which the server knows a dozen).
    """
    cdef const unsigned char* items = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef Py_ssize_t size = len(data), length, pos
    cdef unsigned char listed_bits[GROUP_BITS_BYTES]
    if size < 2:
        return None
    length = _uint16(items)
    if length != size - 2 or length % 2 or length < minimum or length > maximum:
        return None
    memset(listed_bits, 0, GROUP_BITS_BYTES)
    for pos in range(2, size, 2):
        _add(listed_bits, _uint16(items + pos))
    return [item for item in ours if 0 <= item <= 0xFFFF and _has(listed_bits, <unsigned int>item)]


def read_offered_psks(bytes data not None, Py_ssize_t keep):
    """The ClientHello's pre_shared_key (RFC 8446 §4.2.11): ``(identities, binders,
    binders_length)``, the first ``keep`` of the (identity, obfuscated_ticket_age) pairs and of
    the binders, and the size of the binders vector with its length (what the binders' transcript
    leaves out, §4.2.11.2).

    The whole extension is checked as ``decode_pre_shared_key_client`` checks it (decode_error
    for its syntax, illegal_parameter for as many binders as identities), but only ``keep`` items
    become objects: a ClientHello holds some 1,500 identities, and the server tries a few.
    """
    cdef const unsigned char* items = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef Py_ssize_t size = len(data), ids_end, binders_start, binders_end, pos, length
    cdef Py_ssize_t id_count = 0, binder_count = 0
    cdef unsigned long age
    what = "pre_shared_key extension"
    # OfferedPsks { PskIdentity identities<7..2^16-1>; PskBinderEntry binders<33..2^16-1>; }
    if size < 2:
        raise _decode_error(f"{what}: the length of identities is missing")
    length = _uint16(items)
    if length < 7:
        raise _decode_error(f"{what}: the length of identities ({length}) is outside 7..65535")
    ids_end = 2 + length
    if ids_end > size:
        raise _decode_error(f"{what}: identities runs past the end of the extension")
    if ids_end + 2 > size:
        raise _decode_error(f"{what}: the length of binders is missing")
    binders_start = ids_end
    binders_end = binders_start + 2 + _uint16(items + binders_start)
    if binders_end > size:
        raise _decode_error(f"{what}: binders runs past the end of the extension")
    if binders_end < size:
        raise _decode_error(f"{what}: {size - binders_end} unexpected trailing bytes")
    if binders_end - binders_start - 2 < 33:
        raise _decode_error(f"{what}: binders has {binders_end - binders_start - 2} bytes, "
                            "fewer than one binder takes (33)")
    identities = []
    pos = 2
    while pos < ids_end:
        if ids_end - pos < 2:
            raise _decode_error(f"{what}: a PSK identity is truncated at {pos}")
        length = _uint16(items + pos)
        if length == 0 or pos + 2 + length + 4 > ids_end:
            raise _decode_error(
                f"{what}: the PSK identity at {pos} is empty or runs past the end ({length} bytes)"
            )
        if id_count < keep:
            age = ((<unsigned long>items[pos + 2 + length] << 24)
                   | (<unsigned long>items[pos + 3 + length] << 16)
                   | (<unsigned long>items[pos + 4 + length] << 8)
                   | <unsigned long>items[pos + 5 + length])
            identities.append((data[pos + 2 : pos + 2 + length], age))
        id_count += 1
        pos += 2 + length + 4
    binders = []
    pos = binders_start + 2
    while pos < binders_end:
        length = items[pos]
        if length < 32 or pos + 1 + length > binders_end:
            raise _decode_error(
                f"{what}: the PskBinderEntry at {pos} is shorter than 32 bytes or runs past the "
                f"end ({length} bytes)"
            )
        if binder_count < keep:
            binders.append(data[pos + 1 : pos + 1 + length])
        binder_count += 1
        pos += 1 + length
    if binder_count != id_count:
        raise _illegal(f"{what}: {id_count} identities but {binder_count} binders")
    return identities, binders, binders_end - binders_start

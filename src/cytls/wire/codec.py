"""Pull/push codec for the TLS presentation language (RFC 8446 §3).

``Reader`` pulls integers, fixed-size fields and length-prefixed vectors out of a received
message; ``Writer`` pushes them into an outgoing one. The two are mirror images, so each wire
structure is written once in each direction with the same vocabulary (``uint16``, ``opaque8``,
``block16``...), as in aioquic's ``tls.py``.

Everything a peer can get wrong raises ``ProtocolError(decode_error)`` (RFC 8446 §6: "a message
could not be decoded because some field was out of the specified range or the length of the
message was incorrect"), with a message naming the structure and the field. ``Writer`` raises
``ValueError`` instead: a value that does not fit its field is a local programming error, not
something to blame the peer for.
"""

from __future__ import annotations

import builtins

from cytls.errors import ProtocolError
from cytls.wire.enums import AlertDescription

__all__ = ["Reader", "Writer", "decode_error"]


def decode_error(message: str) -> ProtocolError:
    """A ``ProtocolError`` carrying a decode_error alert (RFC 8446 §6.2), to be raised."""
    return ProtocolError(AlertDescription.decode_error, message)


class Reader:
    """A cursor over received bytes that pulls TLS wire structures (RFC 8446 §3).

    ``what`` names the structure being decoded (``"ClientHello"``, ``"key_share extension"``)
    and starts every error message. Sub-readers from ``block8/16/24`` share the underlying
    buffer (no copy) and are bounded by their length prefix. Offsets in error messages count
    from the start of the outermost buffer.
    """

    __slots__ = ("_end", "_name", "_pos", "_view", "what")

    _view: memoryview
    _pos: int
    _end: int
    _name: str
    what: str

    def __init__(
        self, data: builtins.bytes | bytearray | memoryview, what: str = "message"
    ) -> None:
        view = memoryview(data)
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
        self._view = view
        self._pos = 0
        self._end = len(view)
        self._name = ""
        self.what = what

    @classmethod
    def _sub(cls, parent: Reader, start: int, end: int, name: str) -> Reader:
        sub = cls.__new__(cls)
        sub._view = parent._view
        sub._pos = start
        sub._end = end
        sub._name = name
        sub.what = parent.what
        return sub

    def __repr__(self) -> str:
        return f"<Reader {self.what!r} at {self._pos}, {self._end - self._pos} bytes left>"

    # -- state --------------------------------------------------------------------------------

    def remaining(self) -> int:
        """Bytes left before the end of this reader."""
        return self._end - self._pos

    def at_end(self) -> bool:
        """True when every byte has been consumed."""
        return self._pos >= self._end

    def finish(self) -> None:
        """Require that nothing is left: trailing bytes are a decode_error (RFC 8446 §6)."""
        left = self._end - self._pos
        if left:
            inside = f" inside {self._name}" if self._name else ""
            raise decode_error(
                f"{self.what}: {left} unexpected trailing byte{'s' if left != 1 else ''}"
                f"{inside} at offset {self._pos}"
            )

    def _take(self, n: int, name: str) -> int:
        """Advance by ``n`` bytes and return the old position, or raise if they are missing."""
        pos = self._pos
        left = self._end - pos
        if n > left:
            raise decode_error(
                f"{self.what} is truncated: {name} needs {n} byte{'s' if n != 1 else ''} "
                f"at offset {pos} but only {left} remain"
            )
        self._pos = pos + n
        return pos

    # -- integers -----------------------------------------------------------------------------

    def uint8(self, name: str = "a uint8") -> int:
        """Pull one unsigned byte."""
        pos = self._take(1, name)
        return self._view[pos]

    def uint16(self, name: str = "a uint16") -> int:
        """Pull a big-endian 16-bit unsigned integer (RFC 8446 §3.3)."""
        pos = self._take(2, name)
        view = self._view
        return (view[pos] << 8) | view[pos + 1]

    def uint24(self, name: str = "a uint24") -> int:
        """Pull a big-endian 24-bit unsigned integer."""
        pos = self._take(3, name)
        view = self._view
        return (view[pos] << 16) | (view[pos + 1] << 8) | view[pos + 2]

    def uint32(self, name: str = "a uint32") -> int:
        """Pull a big-endian 32-bit unsigned integer."""
        pos = self._take(4, name)
        return int.from_bytes(self._view[pos : pos + 4], "big")

    # -- byte strings -------------------------------------------------------------------------

    def bytes(self, n: int, name: str = "a fixed-size field") -> builtins.bytes:
        """Pull exactly ``n`` bytes (a fixed-length vector, RFC 8446 §3.4)."""
        if n < 0:
            raise ValueError(f"negative length {n}")
        pos = self._take(n, name)
        return self._view[pos : pos + n].tobytes()

    def _length(self, size: int, name: str, minimum: int, maximum: int) -> int:
        """Pull a ``size``-byte length prefix and check it against the vector's bounds."""
        if size == 1:
            length = self.uint8(f"the length of {name}")
        elif size == 2:
            length = self.uint16(f"the length of {name}")
        else:
            length = self.uint24(f"the length of {name}")
        left = self._end - self._pos
        if length > left:
            raise decode_error(
                f"{self.what}: the length of {name} ({length}) runs past the end of the "
                f"enclosing data ({left} bytes left at offset {self._pos})"
            )
        if length < minimum or length > maximum:
            raise decode_error(
                f"{self.what}: the length of {name} ({length}) is outside {minimum}..{maximum}"
            )
        return length

    def _opaque(self, size: int, name: str, minimum: int, maximum: int) -> builtins.bytes:
        length = self._length(size, name, minimum, maximum)
        pos = self._pos
        self._pos = pos + length
        return self._view[pos : pos + length].tobytes()

    def _block(self, size: int, name: str, minimum: int, maximum: int) -> Reader:
        length = self._length(size, name, minimum, maximum)
        pos = self._pos
        self._pos = pos + length
        return Reader._sub(self, pos, pos + length, name)

    def opaque8(
        self, name: str = "a vector", *, minimum: int = 0, maximum: int = 0xFF
    ) -> builtins.bytes:
        """Pull ``opaque name<minimum..maximum>`` with a 1-byte length (RFC 8446 §3.4)."""
        return self._opaque(1, name, minimum, maximum)

    def opaque16(
        self, name: str = "a vector", *, minimum: int = 0, maximum: int = 0xFFFF
    ) -> builtins.bytes:
        """Pull ``opaque name<minimum..maximum>`` with a 2-byte length (RFC 8446 §3.4)."""
        return self._opaque(2, name, minimum, maximum)

    def opaque24(
        self, name: str = "a vector", *, minimum: int = 0, maximum: int = 0xFFFFFF
    ) -> builtins.bytes:
        """Pull ``opaque name<minimum..maximum>`` with a 3-byte length (RFC 8446 §3.4)."""
        return self._opaque(3, name, minimum, maximum)

    def block8(self, name: str = "a vector", *, minimum: int = 0, maximum: int = 0xFF) -> Reader:
        """A sub-reader over a vector with a 1-byte length prefix; this reader skips past it."""
        return self._block(1, name, minimum, maximum)

    def block16(self, name: str = "a vector", *, minimum: int = 0, maximum: int = 0xFFFF) -> Reader:
        """A sub-reader over a vector with a 2-byte length prefix; this reader skips past it."""
        return self._block(2, name, minimum, maximum)

    def block24(
        self, name: str = "a vector", *, minimum: int = 0, maximum: int = 0xFFFFFF
    ) -> Reader:
        """A sub-reader over a vector with a 3-byte length prefix; this reader skips past it."""
        return self._block(3, name, minimum, maximum)


_MAX = {1: 0xFF, 2: 0xFFFF, 3: 0xFFFFFF, 4: 0xFFFFFFFF}


class Writer:
    """An append-only buffer that pushes TLS wire structures (RFC 8446 §3).

    Values that do not fit their field raise ``ValueError``: they are bugs in the caller, never
    something the peer did.
    """

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def __len__(self) -> int:
        return len(self._buf)

    def getvalue(self) -> builtins.bytes:
        """Everything written so far."""
        return builtins.bytes(self._buf)

    def _uint(self, value: int, size: int) -> None:
        if not 0 <= value <= _MAX[size]:
            raise ValueError(f"{value} does not fit in a uint{8 * size}")
        self._buf += value.to_bytes(size, "big")

    def uint8(self, value: int) -> None:
        """Push one unsigned byte."""
        self._uint(value, 1)

    def uint16(self, value: int) -> None:
        """Push a big-endian 16-bit unsigned integer."""
        self._uint(value, 2)

    def uint24(self, value: int) -> None:
        """Push a big-endian 24-bit unsigned integer."""
        self._uint(value, 3)

    def uint32(self, value: int) -> None:
        """Push a big-endian 32-bit unsigned integer."""
        self._uint(value, 4)

    def bytes(self, data: builtins.bytes | bytearray | memoryview) -> None:
        """Push raw bytes (a fixed-length field, or an already encoded structure)."""
        self._buf += data

    def _opaque(self, data: builtins.bytes | bytearray | memoryview, size: int) -> None:
        length = len(data) if not isinstance(data, memoryview) else data.nbytes
        if length > _MAX[size]:
            raise ValueError(f"{length} bytes do not fit a vector with a {size}-byte length")
        self._buf += length.to_bytes(size, "big")
        self._buf += data

    def opaque8(self, data: builtins.bytes | bytearray | memoryview) -> None:
        """Push a vector with a 1-byte length prefix (at most 255 bytes)."""
        self._opaque(data, 1)

    def opaque16(self, data: builtins.bytes | bytearray | memoryview) -> None:
        """Push a vector with a 2-byte length prefix (at most 65535 bytes)."""
        self._opaque(data, 2)

    def opaque24(self, data: builtins.bytes | bytearray | memoryview) -> None:
        """Push a vector with a 3-byte length prefix (at most 2^24-1 bytes)."""
        self._opaque(data, 3)

    def block8(self) -> _Block:
        """``with writer.block8(): ...`` writes the body, then its 1-byte length before it."""
        return _Block(self._buf, 1)

    def block16(self) -> _Block:
        """``with writer.block16(): ...`` writes the body, then its 2-byte length before it."""
        return _Block(self._buf, 2)

    def block24(self) -> _Block:
        """``with writer.block24(): ...`` writes the body, then its 3-byte length before it."""
        return _Block(self._buf, 3)


class _Block:
    """A vector being written: room for its length on entry, the length filled in on a clean
    exit (none if the body raised). A class, not a generator-based context manager, because a
    handshake opens about a dozen of these, and a generator costs several times as much."""

    __slots__ = ("_buf", "_size", "_start")

    def __init__(self, buf: bytearray, size: int) -> None:
        self._buf = buf
        self._size = size
        self._start = len(buf)

    def __enter__(self) -> None:
        self._start = len(self._buf)
        self._buf += builtins.bytes(self._size)

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if exc_type is not None:
            return
        buf, size, start = self._buf, self._size, self._start
        length = len(buf) - start - size
        if length > _MAX[size]:
            raise ValueError(f"{length} bytes do not fit a block with a {size}-byte length")
        buf[start : start + size] = length.to_bytes(size, "big")

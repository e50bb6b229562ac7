"""Key exchange for TLS 1.3 (RFC 8446 §4.2.7, §4.2.8, §7.4) and the hybrid X25519MLKEM768.

Groups: x25519 (RFC 7748), secp256r1 and secp384r1 (ECDHE with uncompressed points), and
X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem: ML-KEM-768 of FIPS 203 combined with X25519).

The client makes a :class:`ClientKeyShare` per offered group and, once the server has chosen,
calls :meth:`ClientKeyShare.shared_secret` with the server's ``key_exchange``. The server calls
:func:`server_key_exchange` with the client's ``key_exchange`` and sends back what it returns.
Every check RFC 8446 §4.2.8.2 / §7.4 and the hybrid draft require of a peer's share is made
here, and a failure is a :class:`~cytls.errors.ProtocolError` with the ``illegal_parameter``
alert (the one exception the draft makes, an ML-KEM decapsulation failure other than a wrong
ciphertext length, is ``internal_error``; ML-KEM's implicit rejection makes it unreachable).
Asking for a group this module does not implement is a local bug and raises ValueError.

ML-KEM-768 comes from ``cryptography.hazmat.primitives.asymmetric.mlkem``, added in
``cryptography`` 47.0, and then only when its backend provides it (OpenSSL ≥ 3.5, AWS-LC or
BoringSSL). Without it X25519MLKEM768 is left out of :data:`SUPPORTED_GROUPS` and
:data:`MLKEM_AVAILABLE` is False.
"""

from __future__ import annotations

import hmac
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from cytls.errors import ProtocolError
from cytls.registry import NamedGroup
from cytls.wire.enums import AlertDescription

try:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.mlkem import (
        MLKEM768PrivateKey,
        MLKEM768PublicKey,
    )

    try:
        MLKEM768PrivateKey.generate()
        MLKEM_AVAILABLE: bool = True
    except UnsupportedAlgorithm:  # cryptography >= 47 built on a backend without ML-KEM
        MLKEM_AVAILABLE = False
except ImportError:  # pragma: no cover - cryptography < 47
    MLKEM_AVAILABLE = False

__all__ = [
    "GROUP_NAMES",
    "MLKEM_AVAILABLE",
    "SECP256R1",
    "SECP384R1",
    "SUPPORTED_GROUPS",
    "X25519",
    "X25519MLKEM768",
    "ClientKeyShare",
    "group_by_name",
    "server_key_exchange",
]

SECP256R1: Final = NamedGroup.secp256r1
SECP384R1: Final = NamedGroup.secp384r1
X25519: Final = NamedGroup.x25519
X25519MLKEM768: Final = NamedGroup.X25519MLKEM768

GROUP_NAMES: Final[dict[int, str]] = {
    group: group.name for group in (X25519MLKEM768, X25519, SECP256R1, SECP384R1)
}
"""Names of the groups this module implements (X25519MLKEM768 only if MLKEM_AVAILABLE)."""

SUPPORTED_GROUPS: Final[tuple[int, ...]] = tuple(
    group for group in GROUP_NAMES if group != X25519MLKEM768 or MLKEM_AVAILABLE
)
"""Default preference order: X25519MLKEM768 (when available), x25519, secp256r1, secp384r1."""

_ALIASES: Final[dict[str, int]] = {
    "x25519mlkem768": X25519MLKEM768,
    "x25519": X25519,
    "secp256r1": SECP256R1,
    "prime256v1": SECP256R1,
    "p-256": SECP256R1,
    "p256": SECP256R1,
    "secp384r1": SECP384R1,
    "p-384": SECP384R1,
    "p384": SECP384R1,
}


def group_by_name(name: str) -> int:
    """The NamedGroup value of a group name, case-insensitively ("X25519", "P-256", ...).

    Raises ValueError for an unknown name or one this ``cryptography`` build cannot do.
    """
    try:
        group = _ALIASES[name.strip().lower()]
    except KeyError:
        known = ", ".join(GROUP_NAMES[g] for g in SUPPORTED_GROUPS)
        raise ValueError(f"unknown key exchange group {name!r} (supported: {known})") from None
    if group not in SUPPORTED_GROUPS:
        raise ValueError(f"{GROUP_NAMES[group]} needs ML-KEM, which this cryptography lacks")
    return group


def _illegal(message: str) -> ProtocolError:
    return ProtocolError(AlertDescription.illegal_parameter, message)


def _unsupported(group: int) -> ValueError:
    if group == X25519MLKEM768:
        return ValueError("X25519MLKEM768 needs ML-KEM, which this cryptography lacks")
    return ValueError(f"unsupported key exchange group 0x{group:04x}")


# --- X25519 (RFC 7748; RFC 8446 §4.2.8.2, §7.4.2) ----------------------------------------------

X25519_LENGTH: Final = 32
_ZERO_32: Final = bytes(32)
_RAW_PUBLIC = (Encoding.Raw, PublicFormat.Raw)


def _x25519_public(private: x25519.X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(*_RAW_PUBLIC)


def _x25519_shared(private: x25519.X25519PrivateKey, peer: bytes, what: str) -> bytes:
    """X25519(private, peer) with the checks of §4.2.8.2 and §7.4.2.

    Any 32-byte string is a public value (RFC 7748 §5 masks the top bit and reduces); points of
    low order are not rejected as such, but the all-zero shared secret they produce is.
    """
    if len(peer) != X25519_LENGTH:
        raise _illegal(f"{what}: an X25519 share is 32 bytes, not {len(peer)}")
    try:
        shared = private.exchange(x25519.X25519PublicKey.from_public_bytes(peer))
    except ValueError:  # OpenSSL refuses to return the all-zero value
        raise _illegal(f"{what}: X25519 shared secret is all zeros") from None
    if hmac.compare_digest(shared, _ZERO_32):
        raise _illegal(f"{what}: X25519 shared secret is all zeros")
    return shared


# --- ECDHE over P-256 and P-384 (RFC 8446 §4.2.8.2, §7.4.1) ------------------------------------


class _Curve:
    __slots__ = ("coordinate_length", "curve", "p", "share_length")

    def __init__(self, curve: ec.EllipticCurve, p: int) -> None:
        self.curve = curve
        self.p = p
        self.coordinate_length = (curve.key_size + 7) // 8
        self.share_length = 1 + 2 * self.coordinate_length


_CURVES: Final[dict[int, _Curve]] = {
    SECP256R1: _Curve(ec.SECP256R1(), 2**256 - 2**224 + 2**192 + 2**96 - 1),
    SECP384R1: _Curve(ec.SECP384R1(), 2**384 - 2**128 - 2**96 + 2**32 - 1),
}


def _ec_public(private: ec.EllipticCurvePrivateKey) -> bytes:
    return private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def _ec_shared(group: int, private: ec.EllipticCurvePrivateKey, peer: bytes, what: str) -> bytes:
    """ECDH x-coordinate (§7.4.1) after the §4.2.8.2 checks of the peer's share.

    The share must be an uncompressed point (legacy_form 4) of exactly 1 + 2 * coordinate
    length bytes, with both coordinates below p and on the curve. The point at infinity has no
    such encoding; the curves have cofactor 1, so any point on them has the full order.
    """
    curve = _CURVES[group]
    name = GROUP_NAMES[group]
    if len(peer) != curve.share_length:
        raise _illegal(f"{what}: a {name} share is {curve.share_length} bytes, not {len(peer)}")
    if peer[0] != 4:
        raise _illegal(f"{what}: {name} share is not an uncompressed point")
    n = curve.coordinate_length
    if (
        int.from_bytes(peer[1 : 1 + n], "big") >= curve.p
        or int.from_bytes(peer[1 + n :], "big") >= curve.p
    ):
        raise _illegal(f"{what}: {name} point coordinate out of range")
    try:
        public = ec.EllipticCurvePublicKey.from_encoded_point(curve.curve, peer)
        return private.exchange(ec.ECDH(), public)
    except ValueError:
        raise _illegal(f"{what}: {name} point is not on the curve") from None


# --- ML-KEM-768 (FIPS 203) and the hybrid (draft-ietf-tls-ecdhe-mlkem) -------------------------

MLKEM768_ENCAPSULATION_KEY_LENGTH: Final = 1184
MLKEM768_CIPHERTEXT_LENGTH: Final = 1088
X25519MLKEM768_CLIENT_LENGTH: Final = MLKEM768_ENCAPSULATION_KEY_LENGTH + X25519_LENGTH  # 1216
X25519MLKEM768_SERVER_LENGTH: Final = MLKEM768_CIPHERTEXT_LENGTH + X25519_LENGTH  # 1120

_MLKEM_Q: Final = 3329
_MLKEM_T_LENGTH: Final = 384 * 3  # ByteEncode_12 of the k = 3 polynomials of t-hat
# The 768 12-bit coefficients, read as one little-endian integer, sit at bits 12i..12i+11
# (ByteDecode_12, FIPS 203 Algorithm 6). Taking every other coefficient leaves 12 free bits
# above each, so adding 4096 - q to all of them at once sets bit 12 of a slot exactly when its
# coefficient is >= q.
_SLOTS: Final = range(0, _MLKEM_T_LENGTH * 8, 24)
_SLOT_MASK: Final = sum(0xFFF << bit for bit in _SLOTS)
_SLOT_ADD: Final = sum((4096 - _MLKEM_Q) << bit for bit in _SLOTS)
_SLOT_CARRY: Final = sum(1 << (bit + 12) for bit in _SLOTS)


def mlkem768_modulus_check(encapsulation_key: bytes) -> bool:
    """The encapsulation key check of FIPS 203 §7.2 for ML-KEM-768.

    Type check: 1184 bytes. Modulus check: ByteEncode_12(ByteDecode_12(ek[0:1152])) == ek[0:1152],
    i.e. every 12-bit coefficient of t-hat is below q = 3329.
    """
    if len(encapsulation_key) != MLKEM768_ENCAPSULATION_KEY_LENGTH:
        return False
    t = int.from_bytes(encapsulation_key[:_MLKEM_T_LENGTH], "little")
    even = (t & _SLOT_MASK) + _SLOT_ADD
    odd = ((t >> 12) & _SLOT_MASK) + _SLOT_ADD
    return not (even | odd) & _SLOT_CARRY


def _mlkem_public(private: Any) -> bytes:
    public: bytes = private.public_key().public_bytes(*_RAW_PUBLIC)
    return public


# --- Client side -------------------------------------------------------------------------------


class ClientKeyShare:
    """One KeyShareEntry the client offers (RFC 8446 §4.2.8) and its private half.

    ``key_exchange`` is what goes into the KeyShareEntry. The private key never shows in
    ``repr``.
    """

    __slots__ = ("_ec", "_mlkem", "_x25519", "group", "key_exchange")

    group: int
    key_exchange: bytes
    _x25519: x25519.X25519PrivateKey | None
    _ec: ec.EllipticCurvePrivateKey | None
    _mlkem: Any  # MLKEM768PrivateKey, when ML-KEM is available

    def __init__(self) -> None:
        raise TypeError("use ClientKeyShare.generate(group) or .from_private_bytes(...)")

    @classmethod
    def _new(
        cls,
        group: int,
        *,
        x: x25519.X25519PrivateKey | None = None,
        e: ec.EllipticCurvePrivateKey | None = None,
        m: Any = None,
    ) -> ClientKeyShare:
        share = object.__new__(cls)
        share.group = group
        share._x25519 = x
        share._ec = e
        share._mlkem = m
        if group == X25519:
            assert x is not None
            share.key_exchange = _x25519_public(x)
        elif group in _CURVES:
            assert e is not None
            share.key_exchange = _ec_public(e)
        else:  # X25519MLKEM768: encapsulation key || X25519 share
            assert x is not None and m is not None
            share.key_exchange = _mlkem_public(m) + _x25519_public(x)
        return share

    @classmethod
    def generate(cls, group: int) -> ClientKeyShare:
        """A fresh ephemeral key pair for ``group``."""
        if group == X25519:
            return cls._new(group, x=x25519.X25519PrivateKey.generate())
        if group in _CURVES:
            return cls._new(group, e=ec.generate_private_key(_CURVES[group].curve))
        if group == X25519MLKEM768 and MLKEM_AVAILABLE:
            return cls._new(
                group, x=x25519.X25519PrivateKey.generate(), m=MLKEM768PrivateKey.generate()
            )
        raise _unsupported(group)

    @classmethod
    def from_private_bytes(cls, group: int, private: bytes) -> ClientKeyShare:
        """A key share from a known private key, for known-answer tests (RFC 8448).

        x25519: the 32-byte scalar; secp256r1/secp384r1: the big-endian private scalar.
        """
        if group == X25519:
            return cls._new(group, x=x25519.X25519PrivateKey.from_private_bytes(private))
        if group in _CURVES:
            scalar = int.from_bytes(private, "big")
            return cls._new(group, e=ec.derive_private_key(scalar, _CURVES[group].curve))
        raise ValueError(f"no private-key injection for group 0x{group:04x}")

    def shared_secret(self, server_key_exchange: bytes) -> bytes:
        """Validate the server's KeyShareEntry.key_exchange and return the shared secret.

        Raises ProtocolError(illegal_parameter) for an invalid share.
        """
        peer = bytes(server_key_exchange)
        what = "server key share"
        if self.group == X25519:
            assert self._x25519 is not None
            return _x25519_shared(self._x25519, peer, what)
        if self.group in _CURVES:
            assert self._ec is not None
            return _ec_shared(self.group, self._ec, peer, what)
        # X25519MLKEM768: ciphertext || X25519 share; shared = ML-KEM secret || X25519 secret.
        assert self._x25519 is not None and self._mlkem is not None
        if len(peer) != X25519MLKEM768_SERVER_LENGTH:
            raise _illegal(
                f"{what}: an X25519MLKEM768 share is {X25519MLKEM768_SERVER_LENGTH} bytes, "
                f"not {len(peer)}"
            )
        ciphertext = peer[:MLKEM768_CIPHERTEXT_LENGTH]
        ecdh = _x25519_shared(self._x25519, peer[MLKEM768_CIPHERTEXT_LENGTH:], what)
        try:
            kem: bytes = self._mlkem.decapsulate(ciphertext)
        except ValueError:
            raise ProtocolError(
                AlertDescription.internal_error, "ML-KEM-768 decapsulation failed"
            ) from None
        return kem + ecdh

    def __repr__(self) -> str:
        name = GROUP_NAMES.get(self.group, f"0x{self.group:04x}")
        return f"<ClientKeyShare {name}>"


# --- Server side -------------------------------------------------------------------------------


def server_key_exchange(
    group: int, client_key_exchange: bytes, *, private: bytes | None = None
) -> tuple[bytes, bytes]:
    """Answer the client's share for ``group``: return (server key_exchange, shared secret).

    Validates the client's KeyShareEntry.key_exchange (ProtocolError(illegal_parameter) if
    invalid). ``private`` injects the server's ephemeral private key for known-answer tests
    (x25519: 32 bytes; secp256r1/secp384r1: the big-endian scalar); the hybrid group takes none.
    """
    peer = bytes(client_key_exchange)
    what = "client key share"
    if group == X25519:
        if private is None:
            x = x25519.X25519PrivateKey.generate()
        else:
            x = x25519.X25519PrivateKey.from_private_bytes(private)
        shared = _x25519_shared(x, peer, what)
        return _x25519_public(x), shared
    if group in _CURVES:
        curve = _CURVES[group].curve
        if private is None:
            e = ec.generate_private_key(curve)
        else:
            e = ec.derive_private_key(int.from_bytes(private, "big"), curve)
        shared = _ec_shared(group, e, peer, what)
        return _ec_public(e), shared
    if group != X25519MLKEM768 or not MLKEM_AVAILABLE:
        raise _unsupported(group)
    if private is not None:
        raise ValueError("no private-key injection for X25519MLKEM768")
    # Client share: encapsulation key || X25519 share.
    if len(peer) != X25519MLKEM768_CLIENT_LENGTH:
        raise _illegal(
            f"{what}: an X25519MLKEM768 share is {X25519MLKEM768_CLIENT_LENGTH} bytes, "
            f"not {len(peer)}"
        )
    encapsulation_key = peer[:MLKEM768_ENCAPSULATION_KEY_LENGTH]
    if not mlkem768_modulus_check(encapsulation_key):
        raise _illegal(f"{what}: ML-KEM-768 encapsulation key fails the modulus check")
    try:
        public = MLKEM768PublicKey.from_public_bytes(encapsulation_key)
    except ValueError:
        raise _illegal(f"{what}: invalid ML-KEM-768 encapsulation key") from None
    x = x25519.X25519PrivateKey.generate()
    ecdh = _x25519_shared(x, peer[MLKEM768_ENCAPSULATION_KEY_LENGTH:], what)
    kem, ciphertext = public.encapsulate()
    # Server share: ciphertext || X25519 share; shared = ML-KEM secret || X25519 secret.
    return ciphertext + _x25519_public(x), kem + ecdh

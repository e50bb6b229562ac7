"""The TLS 1.3 key schedule (RFC 8446 §7) over HKDF (RFC 5869), and the handshake transcript.

Everything here is a pure function of its inputs except :class:`Transcript` (a running hash) and
:class:`KeySchedule` (the chain Early Secret → Handshake Secret → Master Secret of RFC 8446 §7.1,
which refuses to be driven out of order). Secrets are plain ``bytes``; no object here shows one
in its ``repr``.

HKDF is built on HMAC directly (HKDF-Extract is one HMAC; HKDF-Expand is one HMAC per block of
output, and TLS 1.3 never asks for more than one block except through exporters), with one
reused ``cryptography`` HMAC algorithm object per hash: faster than ``hmac.digest`` or
``HKDFExpand`` (docs/design.md has the figures), and equal to both byte for byte. The transcript
hash uses ``hashlib``, whose ``digest`` does not finalize the running state.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC

from cytls.registry import TLS13_SUITES as SUITES
from cytls.registry import Suite

if TYPE_CHECKING:
    from collections.abc import Callable
    from hashlib import _Hash as HashObject

__all__ = [
    "SUITES",
    "KeySchedule",
    "Transcript",
    "derive_secret",
    "export_keying_material",
    "finished_verify_data",
    "hash_length",
    "hkdf_expand",
    "hkdf_expand_label",
    "hkdf_extract",
    "hkdf_label",
    "hmac_digest",
    "message_hash",
    "next_application_traffic_secret",
    "resumption_psk",
    "traffic_keys",
]

MESSAGE_HASH: Final = 254
"""HandshakeType.message_hash, the synthetic message of RFC 8446 §4.4.1."""

_LABEL_PREFIX: Final = b"tls13 "
_MAX_LABEL: Final = 255 - len(_LABEL_PREFIX)  # HkdfLabel.label is opaque<7..255> (§7.1)


class _Hash:
    """Per-hash constants: the HMAC algorithm object, the hashlib constructor, Hash("")."""

    __slots__ = ("algorithm", "empty_hash", "length", "new", "zeros")

    def __init__(self, algorithm: hashes.HashAlgorithm, new: Callable[..., HashObject]) -> None:
        self.algorithm = algorithm
        self.new = new
        self.length: int = algorithm.digest_size
        self.empty_hash: bytes = new(b"").digest()
        self.zeros = bytes(self.length)


_HASHES: Final[dict[str, _Hash]] = {
    "sha256": _Hash(hashes.SHA256(), hashlib.sha256),
    "sha384": _Hash(hashes.SHA384(), hashlib.sha384),
}


def _hash(hash_name: str) -> _Hash:
    try:
        return _HASHES[hash_name]
    except KeyError:
        raise ValueError(f"unsupported hash {hash_name!r} (expected sha256 or sha384)") from None


def _suite(suite: int) -> Suite:
    try:
        return SUITES[suite]
    except KeyError:
        raise ValueError(f"unsupported TLS 1.3 cipher suite 0x{suite:04x}") from None


def _hmac(algorithm: hashes.HashAlgorithm, key: bytes, data: bytes) -> bytes:
    mac = HMAC(key, algorithm)
    mac.update(data)
    return mac.finalize()


def hmac_digest(hash_name: str, key: bytes, data: bytes) -> bytes:
    """HMAC-Hash(key, data) with "sha256" or "sha384": the one primitive under HKDF here and
    under TLS 1.2's PRF (cytls.crypto.prf)."""
    return _hmac(_hash(hash_name).algorithm, key, data)


def hash_length(hash_name: str) -> int:
    """Hash.length of ``hash_name`` ("sha256" → 32, "sha384" → 48)."""
    return _hash(hash_name).length


# --- HKDF (RFC 5869) -------------------------------------------------------------------------


def hkdf_extract(hash_name: str, salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract(salt, IKM) = HMAC-Hash(salt, IKM) (RFC 5869 §2.2).

    An empty salt is the same as Hash.length zero bytes (HMAC pads keys with zeros).
    """
    return _hmac(_hash(hash_name).algorithm, salt, ikm)


def hkdf_expand(hash_name: str, prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand(PRK, info, L) for any L up to 255 * Hash.length (RFC 5869 §2.3)."""
    h = _hash(hash_name)
    if not 0 <= length <= 255 * h.length:
        raise ValueError(f"HKDF-Expand length {length} is not in 0..{255 * h.length}")
    algorithm = h.algorithm
    if length <= h.length:  # one block: every TLS 1.3 secret, key and IV
        if length == 0:
            return b""
        block = _hmac(algorithm, prk, info + b"\x01")
        return block if length == h.length else block[:length]
    blocks = []
    block = b""
    for counter in range(1, -(-length // h.length) + 1):
        block = _hmac(algorithm, prk, block + info + bytes((counter,)))
        blocks.append(block)
    return b"".join(blocks)[:length]


def hkdf_label(label: bytes, context: bytes, length: int) -> bytes:
    """The HkdfLabel structure, the ``info`` of HKDF-Expand-Label (RFC 8446 §7.1).

    ``uint16 length || opaque label<7..255> = "tls13 " + label || opaque context<0..255>``.
    """
    if len(label) > _MAX_LABEL:
        raise ValueError(f"HKDF label longer than {_MAX_LABEL} bytes")
    if len(context) > 255:
        raise ValueError("HKDF context longer than 255 bytes")
    if not 0 <= length <= 0xFFFF:
        raise ValueError(f"HKDF-Expand-Label length {length} is not a uint16")
    return (
        length.to_bytes(2, "big")
        + bytes((len(label) + 6,))
        + _LABEL_PREFIX
        + label
        + bytes((len(context),))
        + context
    )


# HkdfLabel up to the context, per (label, length): a handshake expands about 18 labels per
# side, always the same few.
_LABEL_HEADS: dict[tuple[bytes, int], bytes] = {}


def hkdf_expand_label(
    hash_name: str, secret: bytes, label: bytes, context: bytes, length: int
) -> bytes:
    """HKDF-Expand-Label(Secret, Label, Context, Length) (RFC 8446 §7.1).

    ``label`` is given without the "tls13 " prefix, which this function adds.
    """
    h = _hash(hash_name)
    if 0 < length <= h.length and len(context) <= 255:
        # One HMAC block, every secret, key and IV of TLS 1.3: HkdfLabel || 0x01.
        head = _LABEL_HEADS.get((label, length))
        if head is None:
            head = hkdf_label(label, b"", length)[:-1]
            if len(_LABEL_HEADS) < 256:
                _LABEL_HEADS[label, length] = head
        block = _hmac(h.algorithm, secret, head + bytes((len(context),)) + context + b"\x01")
        return block if length == h.length else block[:length]
    return hkdf_expand(hash_name, secret, hkdf_label(label, context, length), length)


def derive_secret(hash_name: str, secret: bytes, label: bytes, transcript_hash: bytes) -> bytes:
    """Derive-Secret(Secret, Label, Messages) with Transcript-Hash(Messages) given (§7.1)."""
    return hkdf_expand_label(hash_name, secret, label, transcript_hash, _hash(hash_name).length)


# --- Transcript (RFC 8446 §4.4.1) --------------------------------------------------------------


def message_hash(hash_name: str, client_hello1_hash: bytes) -> bytes:
    """The synthetic ``message_hash`` handshake message that replaces ClientHello1 (§4.4.1).

    ``HandshakeType.message_hash (254) || 00 00 Hash.length || Hash(ClientHello1)``. A server
    that keeps no state across a HelloRetryRequest (the hash travels in its cookie) starts the
    transcript of the second flight from this message.
    """
    h = _hash(hash_name)
    if len(client_hello1_hash) != h.length:
        raise ValueError("the ClientHello1 hash has the wrong length for this hash")
    return bytes((MESSAGE_HASH, 0, 0, h.length)) + client_hello1_hash


class Transcript:
    """Transcript-Hash of the handshake messages so far (RFC 8446 §4.4.1).

    Feed every handshake message (type, length and body, exactly as on the wire, without
    record framing) with :meth:`update`, in order; :meth:`digest` does not end the running hash.

    The hash is the one of the negotiated cipher suite, known only once the ServerHello (or
    HelloRetryRequest) has been received or chosen. The state machine therefore keeps the
    ClientHello bytes it sent or received, creates the Transcript with the suite's hash at that
    point, and feeds it the stored ClientHello before the ServerHello. After a
    HelloRetryRequest it feeds ClientHello1, calls :meth:`hello_retry_request_reset`, then feeds
    the HelloRetryRequest, ClientHello2 and so on. (A PSK binder before the ServerHello is
    computed with the PSK's own hash over a Transcript of its own.)
    """

    __slots__ = ("_hash", "_reset_done", "_started", "hash_name")

    def __init__(self, hash_name: str) -> None:
        self.hash_name = hash_name
        self._hash = _hash(hash_name).new()
        self._started = False
        self._reset_done = False

    def update(self, message: bytes) -> None:
        """Append one (or several consecutive) handshake messages."""
        self._hash.update(message)
        self._started = True

    def digest(self) -> bytes:
        """Transcript-Hash of everything fed so far; the transcript keeps running."""
        return self._hash.digest()

    def copy(self) -> Transcript:
        """An independent copy (for a hash over a prefix, e.g. before a Finished)."""
        other = Transcript.__new__(Transcript)
        other.hash_name = self.hash_name
        other._hash = self._hash.copy()
        other._started = self._started
        other._reset_done = self._reset_done
        return other

    def hello_retry_request_reset(self) -> None:
        """Replace ClientHello1, the transcript so far, by its ``message_hash`` (§4.4.1).

        Call it after feeding ClientHello1 and before feeding the HelloRetryRequest. A second
        call, or one before any message, is a local bug and raises RuntimeError.
        """
        if not self._started:
            raise RuntimeError("hello_retry_request_reset before ClientHello1 was fed")
        if self._reset_done:
            raise RuntimeError("hello_retry_request_reset called twice")
        synthetic = message_hash(self.hash_name, self._hash.digest())
        self._hash = _hash(self.hash_name).new(synthetic)
        self._reset_done = True

    def __repr__(self) -> str:
        return f"<Transcript {self.hash_name}>"


# --- The key schedule (RFC 8446 §7.1) ----------------------------------------------------------

# Without a PSK the Early Secret and the salt of the Handshake Secret are constants of the
# hash: (HKDF-Extract(0, 0), Derive-Secret(that, "derived", "")), computed once.
_NO_PSK: dict[str, tuple[bytes, bytes]] = {}


def _no_psk_secrets(hash_name: str) -> tuple[bytes, bytes]:
    cached = _NO_PSK.get(hash_name)
    if cached is None:
        h = _hash(hash_name)
        early = hkdf_extract(hash_name, h.zeros, h.zeros)
        cached = (early, derive_secret(hash_name, early, b"derived", h.empty_hash))
        _NO_PSK[hash_name] = cached
    return cached


_EARLY, _HANDSHAKE, _MASTER, _DONE = "early", "handshake", "master", "done"


class KeySchedule:
    """The secrets of one TLS 1.3 handshake, derived in the order of RFC 8446 §7.1.

    Created with the negotiated suite and the PSK (None without one: the Early Secret is then
    HKDF-Extract(0, 0)). The stages advance with :meth:`handshake`, :meth:`application` and
    :meth:`resumption_master_secret`; each drops the secret it came from. Methods of an earlier
    or later stage raise RuntimeError: calling them out of order is a bug in the caller, not
    something the peer did. A client whose offered PSK the server declines starts a new
    KeySchedule without PSK.
    """

    __slots__ = ("_has_psk", "_secret", "_stage", "hash_length", "hash_name", "parameters", "suite")

    def __init__(self, suite: int, psk: bytes | None = None) -> None:
        self.parameters = _suite(suite)
        self.suite = suite
        self.hash_name = self.parameters.hash_name
        self.hash_length = self.parameters.hash_length
        if psk is not None and not psk:
            raise ValueError("an empty PSK is not a PSK; pass None for no PSK")
        self._has_psk = psk is not None
        # Early Secret = HKDF-Extract(salt = 0, IKM = PSK or 0)
        if psk is None:
            self._secret: bytes | None = _no_psk_secrets(self.hash_name)[0]
        else:
            self._secret = hkdf_extract(self.hash_name, _hash(self.hash_name).zeros, psk)
        self._stage = _EARLY

    def __repr__(self) -> str:
        return (
            f"<KeySchedule {self.parameters.name} stage={self._stage}"
            f" psk={'yes' if self._has_psk else 'no'}>"
        )

    def _at(self, stage: str, what: str) -> bytes:
        if self._stage != stage or self._secret is None:
            raise RuntimeError(
                f"{what} belongs to the {stage} stage; the key schedule is at "
                f"the {self._stage} stage"
            )
        return self._secret

    def _early_psk(self, what: str) -> bytes:
        secret = self._at(_EARLY, what)
        if not self._has_psk:
            raise RuntimeError(f"{what} needs a PSK and this key schedule has none")
        return secret

    # Early stage -----------------------------------------------------------------------------

    def binder_key(self, external: bool) -> bytes:
        """binder_key = Derive-Secret(Early Secret, "ext binder" | "res binder", "")."""
        secret = self._early_psk("binder_key")
        label = b"ext binder" if external else b"res binder"
        return derive_secret(self.hash_name, secret, label, _hash(self.hash_name).empty_hash)

    def client_early_traffic_secret(self, transcript_hash: bytes) -> bytes:
        """client_early_traffic_secret = Derive-Secret(., "c e traffic", ClientHello)."""
        secret = self._early_psk("client_early_traffic_secret")
        return derive_secret(self.hash_name, secret, b"c e traffic", transcript_hash)

    def early_exporter_master_secret(self, transcript_hash: bytes) -> bytes:
        """early_exporter_master_secret = Derive-Secret(., "e exp master", ClientHello)."""
        secret = self._early_psk("early_exporter_master_secret")
        return derive_secret(self.hash_name, secret, b"e exp master", transcript_hash)

    # Handshake stage -------------------------------------------------------------------------

    def handshake(
        self, shared_secret: bytes | None, transcript_hash_through_server_hello: bytes
    ) -> tuple[bytes, bytes]:
        """Advance to the Handshake Secret; return (client, server) handshake traffic secrets.

        ``shared_secret`` is the (EC)DHE/hybrid shared secret, or None for psk_ke (then the
        IKM is Hash.length zeros). The transcript runs through the ServerHello.
        """
        early = self._at(_EARLY, "handshake")
        h = _hash(self.hash_name)
        if shared_secret is None:
            if not self._has_psk:
                raise ValueError("a handshake without a PSK needs an (EC)DHE shared secret")
            shared_secret = h.zeros
        elif not shared_secret:
            raise ValueError("empty shared secret")
        if self._has_psk:
            salt = derive_secret(self.hash_name, early, b"derived", h.empty_hash)
        else:
            salt = _no_psk_secrets(self.hash_name)[1]
        handshake_secret = hkdf_extract(self.hash_name, salt, shared_secret)
        th = transcript_hash_through_server_hello
        client = derive_secret(self.hash_name, handshake_secret, b"c hs traffic", th)
        server = derive_secret(self.hash_name, handshake_secret, b"s hs traffic", th)
        self._secret = handshake_secret
        self._stage = _HANDSHAKE
        return client, server

    # Application stage -----------------------------------------------------------------------

    def application(
        self, transcript_hash_through_server_finished: bytes
    ) -> tuple[bytes, bytes, bytes]:
        """Advance to the Master Secret; return (client_application_traffic_secret_0,
        server_application_traffic_secret_0, exporter_master_secret).

        The transcript runs through the server Finished.
        """
        handshake_secret = self._at(_HANDSHAKE, "application")
        h = _hash(self.hash_name)
        salt = derive_secret(self.hash_name, handshake_secret, b"derived", h.empty_hash)
        master = hkdf_extract(self.hash_name, salt, h.zeros)
        th = transcript_hash_through_server_finished
        client = derive_secret(self.hash_name, master, b"c ap traffic", th)
        server = derive_secret(self.hash_name, master, b"s ap traffic", th)
        exporter = derive_secret(self.hash_name, master, b"exp master", th)
        self._secret = master
        self._stage = _MASTER
        return client, server, exporter

    def resumption_master_secret(self, transcript_hash_through_client_finished: bytes) -> bytes:
        """resumption_master_secret = Derive-Secret(Master Secret, "res master", ... client
        Finished). The last step: the Master Secret is dropped afterwards."""
        master = self._at(_MASTER, "resumption_master_secret")
        secret = derive_secret(
            self.hash_name, master, b"res master", transcript_hash_through_client_finished
        )
        self._secret = None
        self._stage = _DONE
        return secret


# --- Secrets to keys and values (RFC 8446 §4.4.4, §4.6.1, §7.2, §7.3, §7.5) --------------------


def traffic_keys(suite: int, secret: bytes) -> tuple[bytes, bytes]:
    """(key, iv) of a traffic secret: HKDF-Expand-Label(secret, "key"/"iv", "", length) (§7.3)."""
    params = _suite(suite)
    key = hkdf_expand_label(params.hash_name, secret, b"key", b"", params.key_length)
    iv = hkdf_expand_label(params.hash_name, secret, b"iv", b"", params.iv_length)
    return key, iv


def finished_verify_data(hash_name: str, base_key: bytes, transcript_hash: bytes) -> bytes:
    """Finished.verify_data = HMAC(finished_key, transcript_hash) (§4.4.4).

    finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length). BaseKey is the
    sender's handshake (or, after the handshake, application) traffic secret, or a binder key for
    a PSK binder (§4.2.11.2). Compare the result with ``hmac.compare_digest``.
    """
    h = _hash(hash_name)
    finished_key = hkdf_expand_label(hash_name, base_key, b"finished", b"", h.length)
    return _hmac(h.algorithm, finished_key, transcript_hash)


def next_application_traffic_secret(hash_name: str, secret: bytes) -> bytes:
    """application_traffic_secret_N+1 = HKDF-Expand-Label(_N, "traffic upd", "", Hash.length)
    (§7.2, after a KeyUpdate)."""
    return hkdf_expand_label(hash_name, secret, b"traffic upd", b"", _hash(hash_name).length)


def export_keying_material(
    hash_name: str, exporter_master_secret: bytes, label: bytes, context: bytes, length: int
) -> bytes:
    """TLS-Exporter(label, context_value, key_length) (§7.5).

    = HKDF-Expand-Label(Derive-Secret(Secret, label, ""), "exporter", Hash(context_value),
    key_length). TLS 1.3 makes no difference between an empty and an absent context.
    """
    h = _hash(hash_name)
    secret = derive_secret(hash_name, exporter_master_secret, label, h.empty_hash)
    return hkdf_expand_label(hash_name, secret, b"exporter", h.new(context).digest(), length)


def resumption_psk(hash_name: str, resumption_master_secret: bytes, ticket_nonce: bytes) -> bytes:
    """The PSK of a NewSessionTicket (§4.6.1):
    HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce, Hash.length)."""
    return hkdf_expand_label(
        hash_name, resumption_master_secret, b"resumption", ticket_nonce, _hash(hash_name).length
    )

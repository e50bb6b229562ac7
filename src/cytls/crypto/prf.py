"""The TLS 1.2 key derivation: the PRF (RFC 5246 §5) and what is derived with it.

TLS 1.2 derives everything from one function, ``PRF(secret, label, seed)`` = P_hash(secret,
label || seed), with the cipher suite's hash (SHA-256 unless the suite names another, RFC 5246
§5, RFC 5289 §3): the master secret from the premaster secret (§8.1, or RFC 7627's extended
master secret, which binds it to the handshake), the key block the record keys come from
(§6.3), the Finished messages' verify_data (§7.4.9) and exported keying material (RFC 5705).

Like :mod:`cytls.crypto.keyschedule`, these are pure functions over ``bytes``, built on the
same HMAC; no secret appears in a ``repr`` or an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from cytls.crypto.keyschedule import hmac_digest
from cytls.registry import SUITES, ProtocolVersion, Suite

__all__ = [
    "MASTER_SECRET_LENGTH",
    "RANDOM_LENGTH",
    "VERIFY_DATA_LENGTH",
    "RecordKeys",
    "export_keying_material",
    "extended_master_secret",
    "finished_verify_data",
    "key_block",
    "master_secret",
    "prf",
]

MASTER_SECRET_LENGTH: Final = 48  # RFC 5246 §8.1
RANDOM_LENGTH: Final = 32  # ClientHello.random and ServerHello.random (§7.4.1.2)
VERIFY_DATA_LENGTH: Final = 12  # every suite cytls has (§7.4.9: 12 unless a suite says)

# Labels the protocol itself uses: an exporter may not ask for them (RFC 5705 §4, and the IANA
# TLS Exporter Labels registry, which reserves them), or its output would be a protocol key.
_RESERVED_LABELS: Final = frozenset(
    {
        b"client finished",
        b"server finished",
        b"master secret",
        b"extended master secret",
        b"key expansion",
    }
)


def prf(hash_name: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """PRF(secret, label, seed) = P_<hash>(secret, label || seed), ``length`` bytes (§5).

    P_hash(secret, seed) = HMAC(secret, A(1) || seed) || HMAC(secret, A(2) || seed) || ...
    with A(0) = seed and A(i) = HMAC(secret, A(i-1)).
    """
    if length < 0:
        raise ValueError(f"PRF output length {length} is negative")
    seed = label + seed
    blocks = []
    produced = 0
    a = seed
    while produced < length:
        a = hmac_digest(hash_name, secret, a)
        block = hmac_digest(hash_name, secret, a + seed)
        blocks.append(block)
        produced += len(block)
    return b"".join(blocks)[:length]


def _check_randoms(client_random: bytes, server_random: bytes) -> None:
    if len(client_random) != RANDOM_LENGTH or len(server_random) != RANDOM_LENGTH:
        raise ValueError(f"ClientHello.random and ServerHello.random are {RANDOM_LENGTH} bytes")


def master_secret(
    hash_name: str, pre_master_secret: bytes, client_random: bytes, server_random: bytes
) -> bytes:
    """master_secret = PRF(pre_master_secret, "master secret", ClientHello.random ||
    ServerHello.random)[0..47] (RFC 5246 §8.1): the derivation without extended master secret,
    which cytls uses only with a peer that does not offer it."""
    _check_randoms(client_random, server_random)
    return prf(
        hash_name,
        pre_master_secret,
        b"master secret",
        client_random + server_random,
        MASTER_SECRET_LENGTH,
    )


def extended_master_secret(hash_name: str, pre_master_secret: bytes, session_hash: bytes) -> bytes:
    """master_secret = PRF(pre_master_secret, "extended master secret", session_hash)[0..47]
    (RFC 7627 §4), ``session_hash`` being the hash of the handshake messages up to and
    including ClientKeyExchange (§3): the master secret is bound to the whole handshake, so a
    man in the middle cannot make two sessions share one (the triple handshake attack)."""
    return prf(
        hash_name, pre_master_secret, b"extended master secret", session_hash, MASTER_SECRET_LENGTH
    )


@dataclass(frozen=True, slots=True)
class RecordKeys:
    """The AEAD keys and IVs of both directions, cut from the key block (RFC 5246 §6.3).

    The IVs are the suite's implicit part: AES-GCM's 4-byte salt (RFC 5288 §3) or
    ChaCha20-Poly1305's 12-byte IV (RFC 7905 §2). Never shown in a ``repr``.
    """

    client_write_key: bytes = field(repr=False)
    server_write_key: bytes = field(repr=False)
    client_write_iv: bytes = field(repr=False)
    server_write_iv: bytes = field(repr=False)


def _tls12_suite(code: int) -> Suite:
    suite = SUITES.get(code)
    if suite is None or suite.version != ProtocolVersion.TLSv1_2:
        raise ValueError(f"unsupported TLS 1.2 cipher suite 0x{code:04x}")
    return suite


def key_block(
    suite_code: int, master: bytes, client_random: bytes, server_random: bytes
) -> RecordKeys:
    """key_block = PRF(master_secret, "key expansion", server_random || client_random),
    cut into client_write_MAC_key, server_write_MAC_key (none for AEAD suites),
    client_write_key, server_write_key, client_write_IV, server_write_IV (RFC 5246 §6.3).
    Note the randoms' order: the server's first, unlike the master secret's seed."""
    suite = _tls12_suite(suite_code)
    _check_randoms(client_random, server_random)
    key, iv = suite.key_length, suite.implicit_iv_length
    block = prf(
        suite.hash_name, master, b"key expansion", server_random + client_random, 2 * (key + iv)
    )
    return RecordKeys(
        block[:key], block[key : 2 * key], block[2 * key : 2 * key + iv], block[2 * key + iv :]
    )


def finished_verify_data(
    hash_name: str, master: bytes, *, server: bool, handshake_hash: bytes
) -> bytes:
    """verify_data = PRF(master_secret, finished_label, Hash(handshake_messages))[0..11]
    (RFC 5246 §7.4.9), finished_label "server finished" or "client finished"."""
    label = b"server finished" if server else b"client finished"
    return prf(hash_name, master, label, handshake_hash, VERIFY_DATA_LENGTH)


def export_keying_material(
    hash_name: str,
    master: bytes,
    label: bytes,
    client_random: bytes,
    server_random: bytes,
    context: bytes | None,
    length: int,
) -> bytes:
    """RFC 5705 §4: PRF(master_secret, label, client_random || server_random [||
    context_value_length || context_value]). No context and an empty context give different
    output, as the RFC requires."""
    if label in _RESERVED_LABELS:
        raise ValueError(f"the exporter label {label!r} is reserved for TLS itself (RFC 5705 §4)")
    _check_randoms(client_random, server_random)
    seed = client_random + server_random
    if context is not None:
        if len(context) > 0xFFFF:
            raise ValueError("an exporter context is at most 65535 bytes (RFC 5705 §4)")
        seed += len(context).to_bytes(2, "big") + context
    return prf(hash_name, master, label, seed, length)

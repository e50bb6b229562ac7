"""The one table of what cytls implements: protocol versions, cipher suites with everything the
record layer and the key schedule need of them, key exchange groups and signature schemes.

Every other module reads these; no suite, group or scheme number is written anywhere else
(tests/test_registry.py checks). Adding a suite or a version starts here. The code points are
IANA's (TLS Cipher Suites, Supported Groups, SignatureScheme registries).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType
from typing import Final

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

# --- protocol versions ---------------------------------------------------------------------------


class ProtocolVersion(IntEnum):
    """ProtocolVersion values (RFC 8446 §4.2.1). TLS 1.3 messages still carry TLS 1.2's in
    their legacy_version fields (§4.1.2, §5.1)."""

    TLSv1_0 = 0x0301  # the record version of a first ClientHello (§5.1)
    TLSv1_2 = 0x0303
    TLSv1_3 = 0x0304


# --- cipher suites -------------------------------------------------------------------------------


class CipherSuite(IntEnum):
    """Cipher suites cytls implements: TLS 1.3's (RFC 8446 §B.4) and TLS 1.2's AEAD suites with
    ECDHE (RFC 8422 §6 for AES-GCM, after RFC 5289; RFC 7905 for ChaCha20-Poly1305)."""

    TLS_AES_128_GCM_SHA256 = 0x1301
    TLS_AES_256_GCM_SHA384 = 0x1302
    TLS_CHACHA20_POLY1305_SHA256 = 0x1303
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 = 0xC02B
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 = 0xC02C
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 = 0xC02F
    TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 = 0xC030
    TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 = 0xCCA8
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 = 0xCCA9


@dataclass(frozen=True, slots=True)
class Suite:
    """What the record layer and the key schedule need to know of a cipher suite."""

    suite: CipherSuite
    version: ProtocolVersion  # the protocol version the suite belongs to
    aead: type[AESGCM] | type[ChaCha20Poly1305]
    key_length: int  # bytes of AEAD key
    iv_length: int  # bytes of the per-record nonce (RFC 8446 §5.3, RFC 5288 §3)
    # Nonce bytes sent in each record: 0 in TLS 1.3 and for ChaCha20-Poly1305 (RFC 7905 §2),
    # 8 for TLS 1.2 AES-GCM (RFC 5288 §3). The other iv_length - explicit_nonce_length bytes
    # come from the key schedule (the "salt" of RFC 5288).
    explicit_nonce_length: int
    tag_length: int
    hash_name: str  # the HKDF/transcript hash (TLS 1.2: the PRF's hash), as hashlib names it
    hash_length: int
    record_limit: int | None  # records one key may protect, then a KeyUpdate; None: no limit

    @property
    def name(self) -> str:
        return self.suite.name

    @property
    def implicit_iv_length(self) -> int:
        """IV bytes from the key schedule: TLS 1.2's fixed_iv_length (RFC 5246 §6.3)."""
        return self.iv_length - self.explicit_nonce_length


# AES-GCM may protect 2^24.5 full-size records under one key (RFC 8446 §5.5, after
# draft-irtf-cfrg-aead-limits); a KeyUpdate comes well before, after 2^23. ChaCha20-Poly1305's
# limit is past any sequence number a connection reaches.
AES_GCM_RECORD_LIMIT: Final = 1 << 23


def _tls12(
    code: CipherSuite, aead: type[AESGCM] | type[ChaCha20Poly1305], key_length: int, hash_name: str
) -> Suite:
    """A TLS 1.2 AEAD suite: AES-GCM sends 8 of its 12 nonce bytes in each record (RFC 5288 §3),
    ChaCha20-Poly1305 none (RFC 7905 §2); the PRF hash is the suite's (RFC 5289 §3, RFC 7905 §2).
    TLS 1.2 has no KeyUpdate: at AES-GCM's record limit the connection must end."""
    gcm = aead is AESGCM
    return Suite(
        code,
        ProtocolVersion.TLSv1_2,
        aead,
        key_length,
        12,
        8 if gcm else 0,
        16,
        hash_name,
        hashlib.new(hash_name).digest_size,
        AES_GCM_RECORD_LIMIT if gcm else None,
    )


SUITES: Final[Mapping[int, Suite]] = MappingProxyType(
    {
        CipherSuite.TLS_AES_128_GCM_SHA256: Suite(
            CipherSuite.TLS_AES_128_GCM_SHA256,
            ProtocolVersion.TLSv1_3,
            AESGCM,
            16,
            12,
            0,
            16,
            "sha256",
            32,
            AES_GCM_RECORD_LIMIT,
        ),
        CipherSuite.TLS_AES_256_GCM_SHA384: Suite(
            CipherSuite.TLS_AES_256_GCM_SHA384,
            ProtocolVersion.TLSv1_3,
            AESGCM,
            32,
            12,
            0,
            16,
            "sha384",
            48,
            AES_GCM_RECORD_LIMIT,
        ),
        CipherSuite.TLS_CHACHA20_POLY1305_SHA256: Suite(
            CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
            ProtocolVersion.TLSv1_3,
            ChaCha20Poly1305,
            32,
            12,
            0,
            16,
            "sha256",
            32,
            None,
        ),
        **{
            suite.suite: suite
            for suite in (
                _tls12(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, AESGCM, 16, "sha256"),
                _tls12(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, AESGCM, 32, "sha384"),
                _tls12(CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, AESGCM, 16, "sha256"),
                _tls12(CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, AESGCM, 32, "sha384"),
                _tls12(
                    CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
                    ChaCha20Poly1305,
                    32,
                    "sha256",
                ),
                _tls12(
                    CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
                    ChaCha20Poly1305,
                    32,
                    "sha256",
                ),
            )
        },
    }
)

EMPTY_RENEGOTIATION_INFO_SCSV: Final = 0x00FF
"""Not a suite: a cipher suite value by which a TLS 1.2 client signals secure renegotiation
like an empty renegotiation_info extension (RFC 5746 §3.3)."""

TLS_FALLBACK_SCSV: Final = 0x5600
"""Not a suite: a client retrying with a lower version than it supports says so with this
value, and a server that supports a higher one refuses (RFC 7507 §3)."""

TLS13_SUITES: Final[Mapping[int, Suite]] = MappingProxyType(
    {code: suite for code, suite in SUITES.items() if suite.version == ProtocolVersion.TLSv1_3}
)
"""The suites a TLS 1.3 handshake may negotiate (RFC 8446 §B.4): the others are TLS 1.2's."""

DEFAULT_SUITES: Final[tuple[CipherSuite, ...]] = (
    CipherSuite.TLS_AES_256_GCM_SHA384,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
    CipherSuite.TLS_AES_128_GCM_SHA256,
)
"""The order OpenSSL (and so the ssl module) offers TLS 1.3 suites in."""

DEFAULT_TLS12_SUITES: Final[tuple[CipherSuite, ...]] = (
    CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
)
"""The TLS 1.2 suites enabled by default, in OpenSSL's default order: ECDHE and AEAD only."""


# --- key exchange groups -------------------------------------------------------------------------


class NamedGroup(IntEnum):
    """Key exchange groups cytls implements (RFC 8446 §4.2.7; the hybrid: IANA and
    draft-ietf-tls-ecdhe-mlkem). Their key exchanges are in cytls.crypto.groups."""

    secp256r1 = 0x0017
    secp384r1 = 0x0018
    x25519 = 0x001D
    X25519MLKEM768 = 0x11EC


# --- signature schemes ---------------------------------------------------------------------------


class SignatureScheme(IntEnum):
    """SignatureScheme code points (RFC 8446 §4.2.3, IANA TLS SignatureScheme registry); which
    ones cytls signs and accepts is in cytls.crypto.signatures."""

    # RSASSA-PKCS1-v1_5: only in certificates (RFC 8446 §4.2.3)
    rsa_pkcs1_sha256 = 0x0401
    rsa_pkcs1_sha384 = 0x0501
    rsa_pkcs1_sha512 = 0x0601
    # ECDSA, curve bound to the hash in TLS 1.3
    ecdsa_secp256r1_sha256 = 0x0403
    ecdsa_secp384r1_sha384 = 0x0503
    ecdsa_secp521r1_sha512 = 0x0603
    # RSASSA-PSS with an rsaEncryption public key
    rsa_pss_rsae_sha256 = 0x0804
    rsa_pss_rsae_sha384 = 0x0805
    rsa_pss_rsae_sha512 = 0x0806
    # EdDSA (RFC 8032)
    ed25519 = 0x0807
    ed448 = 0x0808
    # RSASSA-PSS with an RSASSA-PSS (RFC 4055) public key
    rsa_pss_pss_sha256 = 0x0809
    rsa_pss_pss_sha384 = 0x080A
    rsa_pss_pss_sha512 = 0x080B
    # Legacy: SHA-1, never in TLS 1.3 CertificateVerify
    rsa_pkcs1_sha1 = 0x0201
    ecdsa_sha1 = 0x0203


__all__ = [
    "AES_GCM_RECORD_LIMIT",
    "DEFAULT_SUITES",
    "DEFAULT_TLS12_SUITES",
    "EMPTY_RENEGOTIATION_INFO_SCSV",
    "SUITES",
    "TLS13_SUITES",
    "TLS_FALLBACK_SCSV",
    "CipherSuite",
    "NamedGroup",
    "ProtocolVersion",
    "SignatureScheme",
    "Suite",
]

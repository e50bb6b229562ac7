"""cytls.registry is the one table of suites, groups and schemes: no other source file writes
one of their numbers, and each entry agrees with what the cryptography it names really does."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

import cytls
from cytls.registry import (
    SUITES,
    TLS13_SUITES,
    CipherSuite,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
)

PACKAGE = Path(cytls.__file__).resolve().parent
REGISTERED = {int(v) for enum in (CipherSuite, NamedGroup, SignatureScheme) for v in enum}
HEX = re.compile(r"\b0x([0-9a-fA-F]{4})\b")


def literals(text: str) -> list[tuple[int, str]]:
    """(line, literal) of every 4-digit hex literal that is a registered code point."""
    return [
        (text.count("\n", 0, m.start()) + 1, m.group(0))
        for m in HEX.finditer(text)
        if int(m.group(1), 16) in REGISTERED
    ]


def test_no_code_point_outside_the_registry() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix not in (".py", ".pyx", ".pxd", ".pyi") or path.name == "registry.py":
            continue
        for line, literal in literals(path.read_text(encoding="utf-8")):
            found.append(f"{path.relative_to(PACKAGE)}:{line}: {literal}")
    assert found == []


def test_the_literal_check_sees_one() -> None:
    """Control: a suite, a group and a scheme written out are found; other numbers are not."""
    text = "suite = 0x1301\ngroup = 0x001D\nscheme = 0x0807\nother = 0x4A4A\n"
    assert literals(text) == [(1, "0x1301"), (2, "0x001D"), (3, "0x0807")]


@pytest.mark.parametrize("code", sorted(SUITES))
def test_each_suite_is_what_its_cryptography_does(code: int) -> None:
    suite = SUITES[code]
    aead = suite.aead(bytes(suite.key_length))  # the key length the AEAD takes
    sealed = aead.encrypt(bytes(suite.iv_length), b"x", b"")
    assert len(sealed) == 1 + suite.tag_length
    assert hashlib.new(suite.hash_name).digest_size == suite.hash_length
    assert suite.name == CipherSuite(code).name
    if suite.version == ProtocolVersion.TLSv1_3:
        assert suite.explicit_nonce_length == 0
    else:
        # TLS 1.2: AES-GCM's nonce is a 4-byte salt and an 8-byte explicit part (RFC 5288 §3),
        # ChaCha20-Poly1305's all implicit (RFC 7905 §2); the hash is in the name (RFC 5289).
        assert suite.version == ProtocolVersion.TLSv1_2
        assert suite.name.startswith("TLS_ECDHE_") and suite.name.endswith(suite.hash_name.upper())
        assert (suite.explicit_nonce_length, suite.implicit_iv_length) == (
            (8, 4) if suite.aead is AESGCM else (0, 12)
        )
    # RFC 8446 §5.5: AES-GCM keys are updated before 2^24.5 records; ChaCha20-Poly1305 has
    # no limit a connection can reach.
    if suite.aead is AESGCM:
        assert suite.record_limit is not None and suite.record_limit <= 2**24.5
    else:
        assert suite.aead is ChaCha20Poly1305 and suite.record_limit is None


def test_tls13_suites_are_the_tls13_entries() -> None:
    """A TLS 1.3 handshake negotiates only from TLS13_SUITES; TLS 1.2's suites are elsewhere."""
    assert set(TLS13_SUITES) == {0x1301, 0x1302, 0x1303}
    assert {code for code, s in SUITES.items() if s.version == ProtocolVersion.TLSv1_2} == {
        0xC02B,
        0xC02C,
        0xC02F,
        0xC030,
        0xCCA8,
        0xCCA9,
    }

"""Wycheproof AEAD vectors through the record layer's own AEAD call path.

tests/vectors/wycheproof_*_12byte_nonce.json hold the Wycheproof AES-GCM and
ChaCha20-Poly1305 test groups that TLS 1.3 can use (12-byte IV, 16-byte tag; AES keys of 128
and 256 bits), selected unchanged by tests/vectors/make_wycheproof_aead_vectors.py.
``aead_seal``/``aead_open`` are the functions the record layer seals and opens records with,
so a pass here means the record layer's AEAD agrees with Wycheproof, including on the
malformed tags that must be refused with bad_record_mac (RFC 8446 §5.2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from cytls._record import aead_open, aead_seal
from cytls.errors import ProtocolError
from cytls.wire.enums import AlertDescription

VECTOR_DIR = Path(__file__).parent / "vectors"
VECTOR_FILES = (
    "wycheproof_aes_gcm_12byte_nonce.json",
    "wycheproof_chacha20_poly1305_12byte_nonce.json",
)
SUITE_PREFIX = {0x1301: "aes128", 0x1302: "aes256", 0x1303: "chacha20poly1305"}
ACCEPTED = frozenset({"valid", "acceptable"})
# Sequence numbers for the nonce-construction check: small, every byte distinct, the largest.
SEQUENCE_NUMBERS = (1, 0x0102030405060708, 2**64 - 1)


@dataclass(frozen=True)
class Case:
    """One Wycheproof test case with the TLS 1.3 suite that uses its AEAD and key size."""

    suite: int
    tc_id: int
    comment: str
    flags: tuple[str, ...]
    result: str
    key: bytes
    iv: bytes
    aad: bytes
    msg: bytes
    ct: bytes
    tag: bytes

    @property
    def id(self) -> str:
        """A readable pytest id, e.g. "aes128-tc42"."""
        return f"{SUITE_PREFIX[self.suite]}-tc{self.tc_id}"


def load(name: str) -> tuple[dict[str, object], list[Case]]:
    """The header and the cases of one vector file."""
    doc = json.loads((VECTOR_DIR / name).read_text(encoding="utf-8"))
    cases = [
        Case(
            suite=group["cipher_suite"],
            tc_id=t["tcId"],
            comment=t["comment"],
            flags=tuple(t["flags"]),
            result=t["result"],
            key=bytes.fromhex(t["key"]),
            iv=bytes.fromhex(t["iv"]),
            aad=bytes.fromhex(t["aad"]),
            msg=bytes.fromhex(t["msg"]),
            ct=bytes.fromhex(t["ct"]),
            tag=bytes.fromhex(t["tag"]),
        )
        for group in doc["testGroups"]
        for t in group["tests"]
    ]
    return doc, cases


FILES = {name: load(name) for name in VECTOR_FILES}
CASES = [case for _, cases in FILES.values() for case in cases]
VALID = [c for c in CASES if c.result in ACCEPTED]


def shifted_iv(iv: bytes, seq: int) -> bytes:
    """The IV that, XORed with ``seq`` as RFC 8446 §5.3 builds the nonce (the 64-bit number
    left-padded with zeros to 12 bytes), gives back ``iv``."""
    pad = seq.to_bytes(len(iv), "big")
    return bytes(a ^ b for a, b in zip(iv, pad, strict=True))


def assert_refused(case: Case, iv: bytes, seq: int) -> None:
    """Opening ``case`` must raise ProtocolError(bad_record_mac), never return."""
    with pytest.raises(ProtocolError) as info:
        aead_open(case.suite, case.key, iv, seq, case.aad, case.ct + case.tag)
    assert info.value.alert == AlertDescription.bad_record_mac


def test_vector_files() -> None:
    """The vector files name their source and hold the selection they claim: 12-byte IVs,
    16-byte tags, key sizes of TLS 1.3 suites, ids unique per file, and the expected counts
    (so that a truncated or mis-generated file fails here rather than testing less)."""
    for name, (doc, cases) in FILES.items():
        assert doc["source"].startswith("Wycheproof "), name
        assert doc["algorithm"] in ("AES-GCM", "CHACHA20-POLY1305"), name
        assert doc["source_versions"], name
        assert doc["numberOfTests"] == len(cases), name
        assert len({c.tc_id for c in cases}) == len(cases), name
        for c in cases:
            assert len(c.iv) == 12 and len(c.tag) == 16 and len(c.ct) == len(c.msg), c.id
            assert len(c.key) == (16 if c.suite == 0x1301 else 32), c.id
            assert c.result in ("valid", "acceptable", "invalid"), c.id
    counts: dict[tuple[str, str], int] = {}
    for c in CASES:
        key = (SUITE_PREFIX[c.suite], c.result)
        counts[key] = counts.get(key, 0) + 1
    assert counts == {
        ("aes128", "valid"): 40,
        ("aes128", "invalid"): 27,
        ("aes256", "valid"): 39,
        ("aes256", "invalid"): 27,
        ("chacha20poly1305", "valid"): 256,
        ("chacha20poly1305", "invalid"): 60,
    }


@pytest.mark.parametrize("case", VALID, ids=lambda c: c.id)
def test_seal(case: Case) -> None:
    """Sealing msg at sequence number 0 (nonce = iv) gives ct || tag."""
    sealed = aead_seal(case.suite, case.key, case.iv, 0, case.aad, case.msg)
    assert sealed.hex() == (case.ct + case.tag).hex()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_open(case: Case) -> None:
    """Valid ciphertexts open to msg; invalid ones are bad_record_mac."""
    if case.result in ACCEPTED:
        opened = aead_open(case.suite, case.key, case.iv, 0, case.aad, case.ct + case.tag)
        assert opened.hex() == case.msg.hex()
    else:
        assert_refused(case, case.iv, 0)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_nonce_is_iv_xor_sequence_number(case: Case) -> None:
    """With iv' = iv XOR seq and sequence number seq, the nonce is iv again, so the results
    are those of the vector (RFC 8446 §5.3). Covers the byte order of the sequence number and
    the 4 zero bytes of padding."""
    for seq in SEQUENCE_NUMBERS:
        iv = shifted_iv(case.iv, seq)
        if case.result in ACCEPTED:
            sealed = aead_seal(case.suite, case.key, iv, seq, case.aad, case.msg)
            assert sealed.hex() == (case.ct + case.tag).hex(), seq
            opened = aead_open(case.suite, case.key, iv, seq, case.aad, case.ct + case.tag)
            assert opened.hex() == case.msg.hex(), seq
        else:
            assert_refused(case, iv, seq)


@pytest.mark.parametrize("case", VALID[::10], ids=lambda c: c.id)
def test_other_sequence_number_is_refused(case: Case) -> None:
    """A valid vector opened with the right IV but a nonzero sequence number has the wrong
    nonce, so it must not authenticate."""
    for seq in SEQUENCE_NUMBERS:
        assert_refused(case, case.iv, seq)

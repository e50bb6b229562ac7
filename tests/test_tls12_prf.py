"""The TLS 1.2 PRF and its derivations (cytls.crypto.prf) against known answers.

tests/vectors/tls12_prf.json holds the IETF TLS list's published PRF vectors and OpenSSL's
TLS1-PRF on fixed inputs for each derivation (tests/vectors/make_tls12_prf_vectors.py says how).
Each case is checked through the function cytls calls, from the inputs the RFC names, so a wrong
label, seed order or length fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cytls.crypto import prf

VECTORS = json.loads(
    (Path(__file__).parent / "vectors" / "tls12_prf.json").read_text(encoding="utf-8")
)


def _cases(kind: str) -> list[dict[str, Any]]:
    cases = [case for case in VECTORS["openssl"] if case["kind"] == kind]
    assert cases, kind
    return cases


def _id(case: dict[str, Any]) -> str:
    return f"{case['hash']}-{case['length']}-{case['label']}"


@pytest.mark.parametrize("vector", VECTORS["published"], ids=lambda v: v["hash"])
def test_published_prf_vectors(vector: dict[str, Any]) -> None:
    output = bytes.fromhex(vector["output"])
    got = prf.prf(
        vector["hash"],
        bytes.fromhex(vector["secret"]),
        vector["label"].encode(),
        bytes.fromhex(vector["seed"]),
        len(output),
    )
    assert got == output


@pytest.mark.parametrize("case", _cases("prf"), ids=_id)
def test_prf_of_every_length(case: dict[str, Any]) -> None:
    got = prf.prf(
        case["hash"],
        bytes.fromhex(case["secret"]),
        case["label"].encode(),
        bytes.fromhex(case["seed"]),
        case["length"],
    )
    assert got == bytes.fromhex(case["output"])


def test_prf_of_nothing_and_a_negative_length() -> None:
    assert prf.prf("sha256", b"k", b"l", b"s", 0) == b""
    with pytest.raises(ValueError, match="negative"):
        prf.prf("sha256", b"k", b"l", b"s", -1)


@pytest.mark.parametrize("case", _cases("master_secret"), ids=_id)
def test_master_secret(case: dict[str, Any]) -> None:
    inputs = {name: bytes.fromhex(value) for name, value in case["inputs"].items()}
    assert prf.master_secret(case["hash"], **inputs) == bytes.fromhex(case["output"])


@pytest.mark.parametrize("case", _cases("extended_master_secret"), ids=_id)
def test_extended_master_secret(case: dict[str, Any]) -> None:
    inputs = {name: bytes.fromhex(value) for name, value in case["inputs"].items()}
    got = prf.extended_master_secret(case["hash"], **inputs)
    assert got == bytes.fromhex(case["output"])
    # Bound to the session hash, and not the same as the RFC 5246 derivation would be.
    other = prf.extended_master_secret(case["hash"], inputs["pre_master_secret"], bytes(32))
    assert other != got


@pytest.mark.parametrize("case", _cases("finished"), ids=_id)
def test_finished_verify_data(case: dict[str, Any]) -> None:
    got = prf.finished_verify_data(
        case["hash"],
        bytes.fromhex(case["secret"]),
        server=case["inputs"]["server"],
        handshake_hash=bytes.fromhex(case["inputs"]["handshake_hash"]),
    )
    assert got == bytes.fromhex(case["output"]) and len(got) == 12


@pytest.mark.parametrize("case", _cases("key_block"), ids=lambda c: c["inputs"]["suite_name"])
def test_key_block_is_cut_as_rfc_5246_says(case: dict[str, Any]) -> None:
    inputs = case["inputs"]
    keys = prf.key_block(
        inputs["suite"],
        bytes.fromhex(case["secret"]),
        bytes.fromhex(inputs["client_random"]),
        bytes.fromhex(inputs["server_random"]),
    )
    block = bytes.fromhex(case["output"])
    key, iv = inputs["key_length"], inputs["iv_length"]
    # client_write_key, server_write_key, client_write_IV, server_write_IV (§6.3; AEAD suites
    # have no MAC keys).
    assert keys.client_write_key == block[:key]
    assert keys.server_write_key == block[key : 2 * key]
    assert keys.client_write_iv == block[2 * key : 2 * key + iv]
    assert keys.server_write_iv == block[2 * key + iv :] and len(keys.server_write_iv) == iv
    assert block.hex()[:16] not in repr(keys)


def test_key_block_refuses_tls13_and_unknown_suites() -> None:
    for code in (0x1301, 0x0035):
        with pytest.raises(ValueError, match=r"unsupported TLS 1\.2 cipher suite"):
            prf.key_block(code, bytes(48), bytes(32), bytes(32))
    with pytest.raises(ValueError, match="32 bytes"):
        prf.key_block(0xC02B, bytes(48), bytes(31), bytes(32))


@pytest.mark.parametrize("case", _cases("exporter"), ids=lambda c: f"{c['hash']}-{c['seed'][-8:]}")
def test_exporter(case: dict[str, Any]) -> None:
    inputs = case["inputs"]
    context = inputs["context"]
    got = prf.export_keying_material(
        case["hash"],
        bytes.fromhex(case["secret"]),
        case["label"].encode(),
        bytes.fromhex(inputs["client_random"]),
        bytes.fromhex(inputs["server_random"]),
        None if context is None else bytes.fromhex(context),
        case["length"],
    )
    assert got == bytes.fromhex(case["output"])


@pytest.mark.parametrize(
    "label",
    [
        b"client finished",
        b"server finished",
        b"master secret",
        b"extended master secret",
        b"key expansion",
    ],
)
def test_exporter_refuses_the_protocols_own_labels(label: bytes) -> None:
    with pytest.raises(ValueError, match="reserved"):
        prf.export_keying_material("sha256", bytes(48), label, bytes(32), bytes(32), None, 16)

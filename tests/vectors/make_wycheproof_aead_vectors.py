"""Select the TLS 1.3 AEAD cases of Wycheproof into tests/vectors/.

Usage: python tests/vectors/make_wycheproof_aead_vectors.py path/to/wycheproof/dir

Reads aes_gcm_test.json and chacha20_poly1305_test.json and keeps only the test groups that
a TLS 1.3 record layer can meet: a 12-byte IV (RFC 8446 §5.3, iv_length is 12 for every
suite), a 16-byte tag, and for AES-GCM 128- or 256-bit keys (TLS_AES_128_GCM_SHA256 and
TLS_AES_256_GCM_SHA384; there is no AES-192 suite). Test cases are copied unchanged; the file
header (algorithm, schema, header text, notes, each group's source/version) is kept so that
every vector stays traceable to its Wycheproof origin.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

# source file -> (output file, {keySize: TLS 1.3 cipher suite})
SELECTION = {
    "aes_gcm_test.json": (
        "wycheproof_aes_gcm_12byte_nonce.json",
        {128: 0x1301, 256: 0x1302},
    ),
    "chacha20_poly1305_test.json": (
        "wycheproof_chacha20_poly1305_12byte_nonce.json",
        {256: 0x1303},
    ),
}


def select(source: Path, suites: dict[int, int]) -> dict[str, object]:
    """The Wycheproof document at ``source`` reduced to the groups TLS 1.3 uses."""
    raw = source.read_bytes()
    doc = json.loads(raw)
    groups = []
    for group in doc["testGroups"]:
        if group["ivSize"] != 96 or group["tagSize"] != 128 or group["keySize"] not in suites:
            continue
        groups.append({**group, "cipher_suite": suites[group["keySize"]]})
    count = sum(len(g["tests"]) for g in groups)
    header = {k: v for k, v in doc.items() if k not in ("testGroups", "numberOfTests")}
    return {
        "source": f"Wycheproof {source.name}",
        "origin": "Project Wycheproof (github.com/C2SP/wycheproof, formerly google/wycheproof)",
        "source_sha256": hashlib.sha256(raw).hexdigest(),
        "source_versions": sorted(
            {f"{g['source']['name']} {g['source']['version']}" for g in groups}
        ),
        "generator": "tests/vectors/make_wycheproof_aead_vectors.py",
        "selection": (
            "test groups with ivSize 96 and tagSize 128, keySize in "
            f"{sorted(suites)}; cipher_suite is the TLS 1.3 suite using that AEAD and key size"
        ),
        **header,
        "numberOfTests": count,
        "sourceNumberOfTests": doc["numberOfTests"],
        "testGroups": groups,
    }


def main() -> None:
    """Write one reduced JSON per Wycheproof source file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wycheproof_dir", type=Path, help="directory holding the Wycheproof JSON")
    parser.add_argument("-o", "--output-dir", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    for name, (out_name, suites) in SELECTION.items():
        doc = select(args.wycheproof_dir / name, suites)
        out = args.output_dir / out_name
        out.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {out}: {doc['numberOfTests']} tests")


if __name__ == "__main__":
    main()

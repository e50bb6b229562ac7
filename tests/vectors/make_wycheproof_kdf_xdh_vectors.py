"""Copy the Wycheproof HKDF and X25519 cases that cytls uses into tests/vectors/.

Usage: python tests/vectors/make_wycheproof_kdf_xdh_vectors.py path/to/wycheproof/dir

- hkdf_sha256_test.json and hkdf_sha384_test.json -> wycheproof_hkdf.json: the two hashes of
  the TLS 1.3 suites (RFC 8446 §B.4). Every case is kept: the key schedule's HKDF-Extract and
  HKDF-Expand must handle any salt, IKM, info and output length up to 255 * Hash.length, and
  refuse longer outputs (the "invalid" SizeTooLarge cases).
- x25519_test.json -> wycheproof_x25519.json: the curve25519 XdhComp groups (all of them),
  for the x25519 group of RFC 8446 §4.2.8.2 / §7.4.2.

Test cases are copied unchanged, with the file header (algorithm, schema, header text, the
notes describing each flag) and each group's source/version, so that every vector stays
traceable to its Wycheproof origin.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

ORIGIN = "Project Wycheproof (github.com/C2SP/wycheproof, formerly google/wycheproof)"


def load(path: Path) -> tuple[dict[str, object], str]:
    raw = path.read_bytes()
    return json.loads(raw), hashlib.sha256(raw).hexdigest()


def hkdf(directory: Path) -> dict[str, object]:
    """Both HKDF files, one entry per hash."""
    files = {}
    for hash_name in ("sha256", "sha384"):
        name = f"hkdf_{hash_name}_test.json"
        doc, digest = load(directory / name)
        files[hash_name] = {
            "source": f"Wycheproof {name}",
            "source_sha256": digest,
            **{k: v for k, v in doc.items()},
        }
    return {
        "origin": ORIGIN,
        "generator": "tests/vectors/make_wycheproof_kdf_xdh_vectors.py",
        "selection": "every case of hkdf_sha256_test.json and hkdf_sha384_test.json",
        "files": files,
    }


def x25519(directory: Path) -> dict[str, object]:
    """The curve25519 groups of x25519_test.json."""
    doc, digest = load(directory / "x25519_test.json")
    groups = [g for g in doc["testGroups"] if g["curve"] == "curve25519"]
    header = {k: v for k, v in doc.items() if k not in ("testGroups", "numberOfTests")}
    return {
        "source": "Wycheproof x25519_test.json",
        "origin": ORIGIN,
        "source_sha256": digest,
        "generator": "tests/vectors/make_wycheproof_kdf_xdh_vectors.py",
        "selection": "test groups with curve curve25519 (all of them)",
        **header,
        "numberOfTests": sum(len(g["tests"]) for g in groups),
        "sourceNumberOfTests": doc["numberOfTests"],
        "testGroups": groups,
    }


def main() -> None:
    """Write wycheproof_hkdf.json and wycheproof_x25519.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wycheproof_dir", type=Path, help="directory holding the Wycheproof JSON")
    parser.add_argument("-o", "--output-dir", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    for name, doc in (
        ("wycheproof_hkdf.json", hkdf(args.wycheproof_dir)),
        ("wycheproof_x25519.json", x25519(args.wycheproof_dir)),
    ):
        out = args.output_dir / name
        out.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()

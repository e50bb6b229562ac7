"""Write tls12_prf.json: known answers for the TLS 1.2 PRF and what cytls derives with it.

Usage: python tests/vectors/make_tls12_prf_vectors.py [-o OUT]   (needs the ``openssl`` command)

Two sources, neither of them cytls:

- ``published``: the TLS 1.2 PRF test vectors posted to the IETF TLS working group list,
  https://www.ietf.org/mail-archive/web/tls/current/msg03416.html (P_SHA256, 100 bytes, and
  P_SHA384, 148 bytes), copied here; the script checks them against OpenSSL before writing.
- ``openssl``: OpenSSL's own TLS1-PRF (``openssl kdf ... TLS1-PRF``, the KDF its TLS 1.2 stack
  uses) on fixed inputs, for every derivation of RFC 5246 and its extensions that cytls makes:
  the master secret (§8.1), the extended master secret (RFC 7627 §4), the key block (§6.3),
  both Finished verify_data (§7.4.9) and exporters with and without a context (RFC 5705 §4).
  Each case keeps the inputs the RFC names, the PRF's label and seed as the RFC builds them
  from those inputs, and OpenSSL's output. The inputs are SHA-256 hashes of fixed strings, so
  the file is the same on every run.

tests/test_tls12_prf.py reads only the JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
from pathlib import Path

PUBLISHED = [
    {
        "source": "https://www.ietf.org/mail-archive/web/tls/current/msg03416.html",
        "hash": "sha256",
        "secret": "9bbe436ba940f017b17652849a71db35",
        "label": "test label",
        "seed": "a0ba9f936cda311827a6f796ffd5198c",
        "output": "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
        "6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab"
        "4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
        "87347b66",
    },
    {
        "source": "https://www.ietf.org/mail-archive/web/tls/current/msg03416.html",
        "hash": "sha384",
        "secret": "b80b733d6ceefcdc71566ea48e5567df",
        "label": "test label",
        "seed": "cd665cf6a8447dd6ff8b27555edb7465",
        "output": "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd"
        "e9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd"
        "8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425"
        "9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee6"
        "91c8f3a26854308d5eaa3be85e0990703d73e56f",
    },
]

# (suite code, name, key length, implicit IV length, hash): RFC 5289 §3, RFC 5288 §3,
# RFC 7905 §2. Written out here, not read from cytls.
SUITES = [
    (0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 16, 4, "sha256"),
    (0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 32, 4, "sha384"),
    (0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 16, 4, "sha256"),
    (0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 32, 4, "sha384"),
    (0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 32, 12, "sha256"),
    (0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 32, 12, "sha256"),
]


def openssl_prf(hash_name: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """OpenSSL's TLS1-PRF: the seed it is given is label || seed, as RFC 5246 §5 builds it."""
    out = subprocess.run(
        [
            "openssl",
            "kdf",
            "-keylen",
            str(length),
            "-kdfopt",
            f"digest:{hash_name.upper()}",
            "-kdfopt",
            f"hexsecret:{secret.hex()}",
            "-kdfopt",
            f"hexseed:{(label + seed).hex()}",
            "-binary",
            "TLS1-PRF",
        ],
        check=True,
        capture_output=True,
    ).stdout
    if len(out) != length:
        raise SystemExit(f"openssl kdf returned {len(out)} bytes, not {length}")
    return out


def fixed(name: str, length: int) -> bytes:
    """Deterministic input bytes: SHA-256 of the name, repeated as needed."""
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(f"{name}/{counter}".encode()).digest()
        counter += 1
    return out[:length]


def case(
    kind: str,
    hash_name: str,
    secret: bytes,
    label: bytes,
    seed: bytes,
    length: int,
    **inputs: object,
) -> dict[str, object]:
    return {
        "kind": kind,
        "hash": hash_name,
        "secret": secret.hex(),
        "label": label.decode(),
        "seed": seed.hex(),
        "length": length,
        "inputs": {k: (v.hex() if isinstance(v, bytes) else v) for k, v in inputs.items()},
        "output": openssl_prf(hash_name, secret, label, seed, length).hex(),
    }


def generate() -> dict[str, object]:
    for vector in PUBLISHED:
        got = openssl_prf(
            vector["hash"],
            bytes.fromhex(vector["secret"]),
            vector["label"].encode(),
            bytes.fromhex(vector["seed"]),
            len(vector["output"]) // 2,
        )
        if got.hex() != vector["output"]:
            raise SystemExit(f"OpenSSL disagrees with the published {vector['hash']} vector")
    cases: list[dict[str, object]] = []
    for hash_name in ("sha256", "sha384"):
        secret, seed = fixed(f"prf secret {hash_name}", 48), fixed(f"prf seed {hash_name}", 64)
        for length in (1, 31, 32, 33, 47, 48, 49, 100, 300):
            cases.append(case("prf", hash_name, secret, b"a label", seed, length))
        pre_master = fixed(f"premaster {hash_name}", 32)
        client_random = fixed(f"client random {hash_name}", 32)
        server_random = fixed(f"server random {hash_name}", 32)
        cases.append(
            case(
                "master_secret",
                hash_name,
                pre_master,
                b"master secret",
                client_random + server_random,
                48,
                pre_master_secret=pre_master,
                client_random=client_random,
                server_random=server_random,
            )
        )
        session_hash = hashlib.new(
            hash_name, b"handshake messages through ClientKeyExchange"
        ).digest()
        cases.append(
            case(
                "extended_master_secret",
                hash_name,
                pre_master,
                b"extended master secret",
                session_hash,
                48,
                pre_master_secret=pre_master,
                session_hash=session_hash,
            )
        )
        master = fixed(f"master {hash_name}", 48)
        handshake_hash = hashlib.new(hash_name, b"handshake messages").digest()
        for server, label in ((False, b"client finished"), (True, b"server finished")):
            cases.append(
                case(
                    "finished",
                    hash_name,
                    master,
                    label,
                    handshake_hash,
                    12,
                    server=server,
                    handshake_hash=handshake_hash,
                )
            )
        for context in (None, b"", b"some context"):
            seed = client_random + server_random
            if context is not None:
                seed += len(context).to_bytes(2, "big") + context
            cases.append(
                case(
                    "exporter",
                    hash_name,
                    master,
                    b"EXPORTER-test",
                    seed,
                    42,
                    context=None if context is None else context.hex(),
                    client_random=client_random,
                    server_random=server_random,
                )
            )
    for code, name, key, iv, hash_name in SUITES:
        master = fixed(f"master {name}", 48)
        client_random, server_random = fixed(f"cr {name}", 32), fixed(f"sr {name}", 32)
        cases.append(
            case(
                "key_block",
                hash_name,
                master,
                b"key expansion",
                server_random + client_random,  # the server's random first (RFC 5246 §6.3)
                2 * (key + iv),
                suite=code,
                suite_name=name,
                key_length=key,
                iv_length=iv,
                client_random=client_random,
                server_random=server_random,
            )
        )
    return {"published": PUBLISHED, "openssl": cases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "-o", "--out", type=Path, default=Path(__file__).with_name("tls12_prf.json")
    )
    args = parser.parse_args()
    args.out.write_text(json.dumps(generate(), indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

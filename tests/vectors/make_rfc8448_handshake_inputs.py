"""Extract the wire records of RFC 8448 §3 and §5 into rfc8448_handshake_inputs.json.

Usage: python tests/vectors/make_rfc8448_handshake_inputs.py path/to/rfc8448.txt [-o OUT]

tests/test_rfc8448_handshake.py replays these traces through cytls's client and server: it
feeds one side's records to a cytls Connection and compares what the Connection writes with
the other side's records. It reads only the JSON; this script lets the JSON be regenerated and
audited against the RFC. For §3 (Simple 1-RTT) and §5 (HelloRetryRequest) it keeps, exactly as
the trace prints them:

- ``key_pairs``: the ephemeral (EC)DHE key pairs ("create an ephemeral ... key pair"), the
  inputs a test injects;
- ``records``: every "send ... record" step in trace order: the writer, the content type,
  the "payload" and the "complete record". A record is protected when its writer had installed
  a write key ("derive write traffic keys for ...") before it; it then carries the name of that
  key and its sequence number, counted from 0 for each new write key (RFC 8446 §5.3).

Checks before anything is written: every plaintext record frames its payload under a 5-byte
header with the right type and length; every protected record opens, with the ``cryptography``
package's AES-128-GCM, under the key and IV the trace prints for its writer and phase and its
sequence number, to its payload followed by its content type (no padding is used); and the §3
records are the same, in the same order, as those of rfc8448_simple_1rtt.json (extracted by
another script).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# A sibling script, not a package: importable once its directory is on sys.path.
from make_rfc8448_keyschedule_vectors import parse_events, section_lines

SECTIONS = ("3", "5")
TITLES = {"3": "Simple 1-RTT Handshake", "5": "HelloRetryRequest"}
CONTENT_TYPES = {"alert": 21, "handshake": 22, "application_data": 23}
PROTECTED_TYPE = 23  # TLSCiphertext.opaque_type (RFC 8446 §5.2)
SEND = re.compile(r"send (handshake|application_data|alert) record")
KEY_PAIR = re.compile(r"create an ephemeral (x25519|P-256) key pair")
TRAFFIC_KEYS = re.compile(
    r"derive (write|read) traffic keys for (handshake|application) data(?: \(same as .*\))?"
)


def build_section(text: str, number: str) -> dict[str, object]:
    """Walk one section's events in trace order."""
    key_pairs: list[dict[str, str]] = []
    records: list[dict[str, object]] = []
    key_values: dict[str, tuple[bytes, bytes]] = {}  # "<writer>_<phase>" -> (key, iv)
    current: dict[str, str] = {}  # writer -> name of its current write key
    sequence: dict[str, int] = {}

    for event in parse_events(section_lines(text, number)):
        side, action, fields = event.side, event.action, event.fields
        step = f"{{{side}}}  {action}"
        peer = "server" if side == "client" else "client"

        match = KEY_PAIR.fullmatch(action)
        if match:
            group = {"x25519": "x25519", "P-256": "secp256r1"}[match.group(1)]
            key_pairs.append(
                {
                    "side": side,
                    "group": group,
                    "private": fields["private key"].hex(),
                    "public": fields["public key"].hex(),
                    "trace": step,
                }
            )
            continue

        match = TRAFFIC_KEYS.fullmatch(action)
        if match:
            direction, phase = match.group(1), match.group(2)
            writer = side if direction == "write" else peer
            name = f"{writer}_{phase}"
            if "key expanded" in fields:
                value = (fields["key expanded"], fields["iv expanded"])
                if key_values.setdefault(name, value) != value:
                    raise ValueError(f"{step}: {name} printed twice with different values")
            if direction == "write":
                # Only the writer installing its key starts a new sequence (RFC 8446 §5.3);
                # the reader's "derive read traffic keys" step may come later.
                if name in sequence:
                    raise ValueError(f"{step}: {name} installed twice")
                current[side] = name
                sequence[name] = 0
            continue

        match = SEND.fullmatch(action)
        if not match:
            continue
        content = match.group(1)
        content_type = CONTENT_TYPES[content]
        payload, record = fields["payload"], fields["complete record"]
        if int.from_bytes(record[3:5], "big") != len(record) - 5:
            raise ValueError(f"{step}: the record header's length is wrong")
        entry: dict[str, object] = {
            "writer": side,
            "content": content,
            "content_type": content_type,
            "protected": side in current,
            "key": None,
            "sequence_number": None,
            "payload": payload.hex(),
            "record": record.hex(),
            "trace": step,
        }
        if side in current:
            name = current[side]
            entry["key"] = name
            entry["sequence_number"] = sequence[name]
            sequence[name] += 1
            if record[0] != PROTECTED_TYPE:
                raise ValueError(f"{step}: protected record of type {record[0]}")
        elif record[0] != content_type or record[5:] != payload:
            raise ValueError(f"{step}: plaintext record does not frame its payload")
        records.append(entry)

    check_protected_records(records, key_values)
    return {"title": TITLES[number], "key_pairs": key_pairs, "records": records}


def check_protected_records(
    records: list[dict[str, object]], key_values: dict[str, tuple[bytes, bytes]]
) -> None:
    """Open every protected record with ``cryptography``, independently of cytls."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    for entry in records:
        if not entry["protected"]:
            continue
        key, iv = key_values[str(entry["key"])]
        seq = int(str(entry["sequence_number"]))
        nonce = (int.from_bytes(iv, "big") ^ seq).to_bytes(12, "big")
        record = bytes.fromhex(str(entry["record"]))
        inner = AESGCM(key).decrypt(nonce, record[5:], record[:5])
        expected = bytes.fromhex(str(entry["payload"])) + bytes([int(str(entry["content_type"]))])
        if inner != expected:
            raise ValueError(f"{entry['trace']}: opens to {inner.hex()}")


def check_against_simple_1rtt(records: list[dict[str, object]]) -> None:
    """The §3 records must be those rfc8448_simple_1rtt.json holds (another extraction)."""
    path = Path(__file__).with_name("rfc8448_simple_1rtt.json")
    other = json.loads(path.read_text(encoding="utf-8"))
    theirs = [r["record"] for r in other["unprotected_records"]]
    theirs[2:] = [r["record"] for r in other["records"]]
    # simple_1rtt.json lists the plaintext records apart; in trace order they come first.
    if [r["record"] for r in records] != theirs:
        raise ValueError(f"§3 records differ from {path.name}")


def main() -> None:
    """Parse the RFC text named on the command line and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rfc8448", type=Path, help="path to rfc8448.txt")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(__file__).with_name("rfc8448_handshake_inputs.json"),
    )
    args = parser.parse_args()
    raw = args.rfc8448.read_bytes()
    text = raw.decode("ascii")
    sections = {number: build_section(text, number) for number in SECTIONS}
    check_against_simple_1rtt(sections["3"]["records"])  # type: ignore[arg-type]
    document = {
        "source": "RFC 8448 §3 (Simple 1-RTT Handshake) and §5 (HelloRetryRequest)",
        "source_url": "https://www.rfc-editor.org/rfc/rfc8448",
        "source_sha256": hashlib.sha256(raw).hexdigest(),
        "generator": "tests/vectors/make_rfc8448_handshake_inputs.py",
        "notes": [
            "Both sections negotiate TLS_AES_128_GCM_SHA256 (0x1301).",
            "key_pairs: the ephemeral key pairs of the 'create an ephemeral ... key pair' "
            "steps (group x25519 or secp256r1; a P-256 private key is the big-endian scalar, "
            "its public key the uncompressed point).",
            "records: every 'send ... record' step in trace order. payload is the plaintext "
            "(TLSInnerPlaintext.content for a protected record, without padding); record is the "
            "'complete record'. key and sequence_number name the writer's write key "
            "('<writer>_<handshake|application>') and the record's sequence number under it, "
            "for protected records only.",
        ],
        "cipher_suite": 0x1301,
        "sections": sections,
    }
    args.output.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    for number, section in sections.items():
        print(f"§{number}: {len(section['records'])} records, {len(section['key_pairs'])} keys")  # type: ignore[arg-type]
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

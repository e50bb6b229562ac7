"""Extract the record-layer known answers of RFC 8448 §3 into rfc8448_simple_1rtt.json.

Usage: python tests/vectors/make_rfc8448_vectors.py path/to/rfc8448.txt [-o OUT.json]

The tests read only the JSON (they must run where the RFC text is not available); this script
exists so that the JSON can be regenerated and audited against the RFC. Every value comes
from the trace text: keys and IVs from the "derive ... traffic keys" steps, plaintext from the
"payload" fields and records from the "complete record" fields. Sequence numbers are counted
in trace order, restarting at 0 whenever the writer installs a new write key (RFC 8446 §5.3).

The hex dumps wrap across lines and page breaks; each field is read up to the octet count
that the trace prints for it, and every record is cross-checked against its own header and
against the handshake messages constructed before it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

SECTION_START = re.compile(r"^3\.  Simple 1-RTT Handshake$")
SECTION_END = re.compile(r"^4\.  Resumed 0-RTT Handshake$")
PAGE_FOOTER = re.compile(r"^Thomson\s+Informational\s+\[Page \d+\]$")
PAGE_HEADER = re.compile(r"^RFC 8448\s+TLS 1\.3 Traces\s+January 2019$")
EVENT = re.compile(r"^   \{(client|server)\}  (.*)$")
FIELD = re.compile(r"^      (\S[^():]*?) \((\d+) octets\):  (.*)$")
HEX_LINE = re.compile(r"^\s+[0-9a-f]{2}( [0-9a-f]{2})*\s*$")
KEY_STEP = re.compile(
    r"derive (write|read) traffic keys for (handshake|application) data"
    r"(?: \(same as (client|server) (handshake|application) data (read|write) traffic keys\))?"
)

CONTENT_TYPES = {"handshake": 22, "application_data": 23, "alert": 21}
PROTECTED_RECORD_TYPE = 23  # TLSCiphertext.opaque_type, RFC 8446 §5.2
TAG_SIZE = 16  # AES-128-GCM, the suite of RFC 8448 §3
SUITE = 0x1301  # TLS_AES_128_GCM_SHA256, selected in the ServerHello of §3


@dataclass
class Event:
    """One "{client}/{server}  action:" step of the trace and its hex fields."""

    side: str
    action: str
    fields: dict[str, bytes] = field(default_factory=dict)


def section_lines(text: str) -> list[str]:
    """Lines of §3 with the page furniture (form feeds, headers, footers) removed."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if SECTION_START.match(line))
    end = next(i for i, line in enumerate(lines) if i > start and SECTION_END.match(line))
    kept = []
    for line in lines[start + 1 : end]:
        line = line.replace("\f", "").rstrip()
        if PAGE_FOOTER.match(line) or PAGE_HEADER.match(line):
            continue
        kept.append(line)
    return kept


def parse_hex(first: str, lines: list[str], pos: int, count: int) -> tuple[bytes, int]:
    """Read ``count`` octets starting with ``first``, continuing over wrapped lines.

    Blank lines (left where page breaks were cut out) are skipped inside a dump. Returns the
    bytes and the index of the first line after the dump.
    """
    if count == 0:
        if first.strip() != "(empty)":
            raise ValueError(f"0-octet field with data: {first!r}")
        return b"", pos
    tokens = first.split()
    while len(tokens) < count:
        line = lines[pos]
        pos += 1
        if not line:
            continue
        if not HEX_LINE.match(line):
            raise ValueError(f"expected {count} octets, got {len(tokens)} before {line!r}")
        tokens.extend(line.split())
    if len(tokens) != count:
        raise ValueError(f"expected {count} octets, got {len(tokens)}")
    return bytes.fromhex("".join(tokens)), pos


def parse_events(lines: list[str]) -> list[Event]:
    """Split §3 into events, each with its counted hex fields."""
    events: list[Event] = []
    pos = 0
    while pos < len(lines):
        line = lines[pos]
        pos += 1
        match = EVENT.match(line)
        if match:
            action = match.group(2)
            # An action may wrap onto indented lines before the first field or blank line.
            while pos < len(lines) and lines[pos] and not FIELD.match(lines[pos]):
                action += " " + lines[pos].strip()
                pos += 1
            events.append(Event(match.group(1), action.rstrip(":")))
            continue
        match = FIELD.match(line)
        if match:
            name, count, first = match.group(1), int(match.group(2)), match.group(3)
            value, pos = parse_hex(first, lines, pos, count)
            events[-1].fields[name] = value
            continue
        if HEX_LINE.match(line):
            raise ValueError(f"stray hex line (a dump longer than its octet count?): {line!r}")
    return events


def build(text: str) -> dict[str, object]:
    """Walk the events in trace order and collect keys and records."""
    events = parse_events(section_lines(text))
    keys: dict[str, dict[str, object]] = {}
    read_keys: dict[tuple[str, str], dict[str, object]] = {}
    current: dict[str, str] = {}  # side -> name of its current write key
    sequence: dict[str, int] = {}  # key name -> next sequence number
    constructed: dict[str, list[bytes]] = {"client": [], "server": []}
    records: list[dict[str, object]] = []
    unprotected: list[dict[str, object]] = []

    for event in events:
        side, action = event.side, event.action
        peer = "server" if side == "client" else "client"
        step = f"{{{side}}}  {action}"

        match = KEY_STEP.fullmatch(action)
        if match:
            direction, phase = match.group(1), match.group(2)
            if "key expanded" in event.fields:
                value = {
                    "key": event.fields["key expanded"].hex(),
                    "iv": event.fields["iv expanded"].hex(),
                    "trace": step,
                }
            else:  # "(same as server handshake data read traffic keys)" and the like
                ref_side, ref_phase, ref_dir = match.group(3), match.group(4), match.group(5)
                if ref_dir == "read":
                    ref = read_keys[(ref_side, ref_phase)]
                else:
                    ref = keys[f"{ref_side}_{ref_phase}"]
                value = {"key": ref["key"], "iv": ref["iv"], "trace": f"{ref['trace']}; {step}"}
            if direction == "write":
                name = f"{side}_{phase}"
                if name in keys:
                    raise ValueError(f"{name} derived twice")
                keys[name] = value
                current[side] = name
                sequence[name] = 0
            else:
                read_keys[(side, phase)] = value
                # The reader's read key is the peer's write key; check it once both exist.
                peer_key = keys.get(f"{peer}_{phase}")
                if peer_key and (peer_key["key"], peer_key["iv"]) != (value["key"], value["iv"]):
                    raise ValueError(f"{step}: differs from the {peer} write key")
            continue

        match = re.fullmatch(r"construct an? (\w+) handshake message", action)
        if match:
            constructed[side].append(event.fields[match.group(1)])
            continue

        match = re.fullmatch(r"send (handshake|application_data|alert) record", action)
        if not match:
            continue
        content_type = CONTENT_TYPES[match.group(1)]
        payload = event.fields["payload"]
        record = event.fields["complete record"]
        length = int.from_bytes(record[3:5], "big")
        if length != len(record) - 5:
            raise ValueError(f"{step}: header length {length} != {len(record) - 5}")
        if content_type == 22:
            if b"".join(constructed[side]) != payload:
                raise ValueError(f"{step}: payload is not the messages constructed before it")
            constructed[side].clear()
        if side not in current:
            if record[0] != content_type or record[5:] != payload:
                raise ValueError(f"{step}: unprotected record does not frame its payload")
            unprotected.append(
                {
                    "name": f"{side}-plaintext-{match.group(1)}",
                    "writer": side,
                    "legacy_record_version": int.from_bytes(record[1:3], "big"),
                    "content_type": content_type,
                    "plaintext": payload.hex(),
                    "record": record.hex(),
                    "trace": step,
                }
            )
            continue
        if record[0] != PROTECTED_RECORD_TYPE or record[1:3] != b"\x03\x03":
            raise ValueError(f"{step}: protected record with header {record[:5].hex()}")
        if len(payload) + 1 + TAG_SIZE != length:
            raise ValueError(f"{step}: {len(payload)} + 1 + {TAG_SIZE} != {length} (padding?)")
        key_name = current[side]
        seq = sequence[key_name]
        sequence[key_name] = seq + 1
        records.append(
            {
                "name": f"{key_name}-seq{seq}-{match.group(1)}",
                "writer": side,
                "key": key_name,
                "sequence_number": seq,
                "content_type": content_type,
                "plaintext": payload.hex(),
                "record": record.hex(),
                "trace": step,
            }
        )

    server_hello = bytes.fromhex(str(unprotected[-1]["plaintext"]))
    session_id_end = 39 + server_hello[38]  # type(1) length(3) version(2) random(32) len(1)
    if server_hello[session_id_end : session_id_end + 2] != SUITE.to_bytes(2, "big"):
        raise ValueError("the ServerHello of §3 does not select TLS_AES_128_GCM_SHA256")
    return {"keys": keys, "records": records, "unprotected_records": unprotected}


def check_with_cryptography(data: dict[str, object]) -> None:
    """Open every record with the ``cryptography`` package, independently of cytls.

    A failure here means the extraction (not the record layer) is wrong: a key attached to
    the wrong record, a miscounted sequence number or a mangled dump.
    """
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    keys = data["keys"]
    assert isinstance(keys, dict)
    for rec in data["records"]:  # type: ignore[attr-defined]
        key = keys[rec["key"]]
        iv = bytes.fromhex(key["iv"])
        nonce = (int.from_bytes(iv, "big") ^ rec["sequence_number"]).to_bytes(12, "big")
        record = bytes.fromhex(rec["record"])
        inner = AESGCM(bytes.fromhex(key["key"])).decrypt(nonce, record[5:], record[:5])
        if inner != bytes.fromhex(rec["plaintext"]) + bytes([rec["content_type"]]):
            raise ValueError(f"{rec['name']}: opens to {inner.hex()}")


def main() -> None:
    """Parse the RFC text named on the command line and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rfc8448", type=Path, help="path to rfc8448.txt")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(__file__).with_name("rfc8448_simple_1rtt.json"),
    )
    args = parser.parse_args()
    raw = args.rfc8448.read_bytes()
    data = build(raw.decode("ascii"))
    check_with_cryptography(data)
    document = {
        "source": 'RFC 8448 §3 "Simple 1-RTT Handshake"',
        "source_url": "https://www.rfc-editor.org/rfc/rfc8448#section-3",
        "source_sha256": hashlib.sha256(raw).hexdigest(),
        "generator": "tests/vectors/make_rfc8448_vectors.py",
        "notes": [
            "Keys and IVs are the trace's 'key expanded' / 'iv expanded' values of the named "
            "'derive ... traffic keys' steps; the client's handshake write key is printed "
            "only as the server's handshake read key.",
            "records: every protected record of §3, in trace order. sequence_number counts "
            "records under the same write key, from 0 (RFC 8446 §5.3). plaintext is "
            "TLSInnerPlaintext.content (the trace's 'payload'); there is no padding, so "
            "len(record) == 5 + len(plaintext) + 1 + 16.",
            "unprotected_records: the ClientHello and ServerHello records, sent before any "
            "key is installed.",
        ],
        "cipher_suite": SUITE,
        **data,
    }
    args.output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    counts = {k: len(v) for k, v in data.items()}
    print(f"wrote {args.output}: {counts}")


if __name__ == "__main__":
    main()

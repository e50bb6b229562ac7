"""Extract the key-schedule known answers of RFC 8448 §3, §4 and §5 into rfc8448_keyschedule.json.

Usage: python tests/vectors/make_rfc8448_keyschedule_vectors.py path/to/rfc8448.txt [-o OUT]

The tests read only the JSON (they must run where the RFC text is not available); this script
exists so that the JSON can be regenerated and audited against the RFC. For each section it
keeps, exactly as the trace prints them:

- ``key_pairs``: the ephemeral (EC)DHE key pairs ("create an ephemeral ... key pair");
- ``handshake_messages``: every handshake message in transcript order, split out of the
  "send handshake record" payloads (so a ClientHello carries its PSK binders), with the
  sender; each is cross-checked against the "construct a ... handshake message" steps;
- ``extractions``: every "extract secret" step (salt, IKM, secret);
- ``derivations``: every HKDF-Expand-Label step (derive secret, calculate finished / PSK
  binder, generate resumption secret): PRK, label, hash (the context), info, expanded, and
  the finished value where one is printed;
- ``traffic_keys``: every "derive ... traffic keys" step (PRK, key/iv info, key, iv);
- ``values``: the same numbers under the names of RFC 8446 §7.1 (early_secret,
  client_handshake_traffic_secret, ..., server_handshake_key, transcript hashes th_*), for the
  tests that rebuild them through cytls's API.

Steps printed as "(same as ...)" carry no numbers and are skipped. An action this script does
not know, a field it does not expect, or two printings of one value that differ stop it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

SECTIONS = {
    "3": ("Simple 1-RTT Handshake", "4"),
    "4": ("Resumed 0-RTT Handshake", "5"),
    "5": ("HelloRetryRequest", "6"),
}
PAGE_FOOTER = re.compile(r"^Thomson\s+Informational\s+\[Page \d+\]$")
PAGE_HEADER = re.compile(r"^RFC 8448\s+TLS 1\.3 Traces\s+January 2019$")
EVENT = re.compile(r"^   \{(client|server)\}  (.*)$")
FIELD = re.compile(r"^      (\S[^():]*?) \((\d+) octets\):  (.*)$")
ZERO_SALT = re.compile(r"^      salt:  0 \(all zero octets\)$")
HEX_LINE = re.compile(r"^\s+[0-9a-f]{2}( [0-9a-f]{2})*\s*$")
MESSAGE_TYPES = {
    1: "ClientHello",
    2: "ServerHello",
    4: "NewSessionTicket",
    5: "EndOfEarlyData",
    8: "EncryptedExtensions",
    11: "Certificate",
    13: "CertificateRequest",
    15: "CertificateVerify",
    20: "Finished",
}
# Labels of "derive secret" steps -> the RFC 8446 §7.1 name of the result and of the
# transcript hash it takes ("" for Derive-Secret(., "derived", "")).
SECRET_NAMES = {
    "c e traffic": ("client_early_traffic_secret", "th_client_hello"),
    "e exp master": ("early_exporter_master_secret", "th_client_hello"),
    "c hs traffic": ("client_handshake_traffic_secret", "th_server_hello"),
    "s hs traffic": ("server_handshake_traffic_secret", "th_server_hello"),
    "c ap traffic": ("client_application_traffic_secret_0", "th_server_finished"),
    "s ap traffic": ("server_application_traffic_secret_0", "th_server_finished"),
    "exp master": ("exporter_master_secret", "th_server_finished"),
    "res master": ("resumption_master_secret", "th_client_finished"),
}


@dataclass
class Event:
    """One "{client}/{server}  action:" step of the trace and its hex fields."""

    side: str
    action: str
    fields: dict[str, bytes] = field(default_factory=dict)


def section_lines(text: str, number: str) -> list[str]:
    """Lines of one section with the page furniture (form feeds, headers, footers) removed."""
    title, next_number = SECTIONS[number]
    lines = text.split("\n")
    start = lines.index(f"{number}.  {title}")
    end = next(i for i, line in enumerate(lines) if i > start and line.startswith(next_number))
    kept = []
    for line in lines[start + 1 : end]:
        line = line.replace("\f", "").rstrip()
        if not (PAGE_FOOTER.match(line) or PAGE_HEADER.match(line)):
            kept.append(line)
    return kept


def parse_hex(first: str, lines: list[str], pos: int, count: int) -> tuple[bytes, int]:
    """Read ``count`` octets starting with ``first``, continuing over wrapped lines."""
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
    """Split a section into events, each with its counted hex fields."""
    events: list[Event] = []
    pos = 0
    while pos < len(lines):
        line = lines[pos]
        pos += 1
        match = EVENT.match(line)
        if match:
            action = match.group(2)
            while pos < len(lines) and lines[pos] and not FIELD.match(lines[pos]):
                action += " " + lines[pos].strip()
                pos += 1
            events.append(Event(match.group(1), action.rstrip(":")))
            continue
        if ZERO_SALT.match(line):
            events[-1].fields["salt"] = b""  # HKDF: an empty salt is Hash.length zeros
            continue
        match = FIELD.match(line)
        if match:
            name, count, first = match.group(1), int(match.group(2)), match.group(3)
            value, pos = parse_hex(first, lines, pos, count)
            if name in events[-1].fields:
                raise ValueError(f"{events[-1].action}: field {name!r} twice")
            events[-1].fields[name] = value
            continue
        if HEX_LINE.match(line):
            raise ValueError(f"stray hex line: {line!r}")
    return events


def split_messages(payload: bytes) -> list[bytes]:
    """Handshake messages (type, uint24 length, body) laid end to end in a record payload."""
    messages = []
    while payload:
        length = int.from_bytes(payload[1:4], "big")
        if len(payload) < 4 + length:
            raise ValueError("handshake message overruns its record")
        messages.append(payload[: 4 + length])
        payload = payload[4 + length :]
    return messages


class Collector:
    """Named values, refusing to record one name twice with different bytes."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def put(self, name: str, value: bytes) -> None:
        old = self.values.get(name)
        if old is not None and old != value.hex():
            raise ValueError(f"{name} printed twice with different values")
        self.values[name] = value.hex()


def expect_fields(event: Event, *names: str) -> None:
    if set(event.fields) != set(names):
        raise ValueError(f"{event.action}: fields {sorted(event.fields)}, expected {names}")


def build_section(text: str, number: str) -> dict[str, object]:
    """Walk one section's events in trace order."""
    events = parse_events(section_lines(text, number))
    key_pairs: list[dict[str, str]] = []
    messages: list[dict[str, object]] = []
    constructed: dict[str, list[bytes]] = {"client": [], "server": []}
    extractions: list[dict[str, str]] = []
    derivations: list[dict[str, str]] = []
    traffic: list[dict[str, str]] = []
    named = Collector()

    for event in events:
        side, action, fields = event.side, event.action, event.fields
        step = f"{{{side}}}  {action}"
        if not fields:
            continue  # "(same as ...)" steps and the like carry no numbers

        match = re.fullmatch(r"create an ephemeral (x25519|P-256) key pair", action)
        if match:
            expect_fields(event, "private key", "public key")
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

        match = re.fullmatch(r"construct an? (\w+) handshake message", action)
        if match:
            expect_fields(event, match.group(1))
            constructed[side].append(fields[match.group(1)])
            continue

        match = re.fullmatch(r"send (handshake|application_data|alert) record", action)
        if match:
            expect_fields(event, "payload", "complete record")
            if match.group(1) != "handshake":
                continue
            payload = fields["payload"]
            built = b"".join(constructed[side])
            constructed[side].clear()
            if built != payload and not (
                payload.startswith(built) and payload[0] == 1 and b"\x00\x29" in payload
            ):  # a ClientHello with PSK binders is printed before the binders are added
                raise ValueError(f"{step}: payload is not the messages constructed before it")
            for message in split_messages(payload):
                messages.append(
                    {
                        "sender": side,
                        "type": message[0],
                        "name": MESSAGE_TYPES[message[0]],
                        "data": message.hex(),
                    }
                )
            continue

        match = re.fullmatch(r'extract secret "(early|handshake|master)"', action)
        if match:
            expect_fields(event, "salt", "IKM", "secret")
            stage = match.group(1)
            extractions.append(
                {
                    "side": side,
                    "stage": stage,
                    "salt": fields["salt"].hex(),
                    "ikm": fields["IKM"].hex(),
                    "secret": fields["secret"].hex(),
                    "trace": step,
                }
            )
            named.put(f"{stage}_secret", fields["secret"])
            if stage == "early" and any(fields["IKM"]):
                named.put("psk", fields["IKM"])
            if stage == "handshake":
                named.put("shared_secret", fields["IKM"])
            if stage != "early":
                named.put(f"derived_for_{stage}", fields["salt"])
            continue

        match = re.fullmatch(
            r"(?:derive secret(?: for (?:handshake|master))?|calculate finished"
            r'|generate resumption secret) "tls13 ([a-z ]+)"|calculate PSK binder',
            action,
        )
        if match:
            label = match.group(1) or "finished"
            entry = {"side": side, "label": label, "trace": step}
            binder = action == "calculate PSK binder"
            extra = ("ClientHello prefix", "binder hash", "finished") if binder else ()
            if label == "finished" and not binder:
                extra = ("finished",)
            expect_fields(event, "PRK", "hash", "info", "expanded", *extra)
            for name in ("PRK", "hash", "info", "expanded", "finished"):
                if name in fields:
                    entry[name.lower()] = fields[name].hex()
            derivations.append(entry)
            if label in SECRET_NAMES:
                secret_name, hash_name = SECRET_NAMES[label]
                named.put(secret_name, fields["expanded"])
                named.put(hash_name, fields["hash"])
            elif label == "derived":
                stage = "handshake" if "for handshake" in action else "master"
                named.put(f"derived_for_{stage}", fields["expanded"])
            elif label == "resumption":
                named.put("ticket_nonce", fields["hash"])
                named.put("resumption_psk", fields["expanded"])
            elif binder:
                named.put("binder_key", fields["PRK"])
                named.put("binder_finished_key", fields["expanded"])
                named.put("binder", fields["finished"])
                named.put("binder_hash", fields["binder hash"])
                named.put("truncated_client_hello", fields["ClientHello prefix"])
            elif label == "finished":
                named.put(f"{side}_finished_key", fields["expanded"])
                named.put(f"{side}_finished", fields["finished"])
            else:
                raise ValueError(f"{step}: unknown label")
            continue

        match = re.fullmatch(
            r"derive (write|read) traffic keys for (early application|handshake|application) data",
            action,
        )
        if match:
            expect_fields(event, "PRK", "key info", "key expanded", "iv info", "iv expanded")
            direction, phase = match.group(1), match.group(2).split()[0]
            writer = side if direction == "write" else ("server" if side == "client" else "client")
            traffic.append(
                {
                    "side": side,
                    "writer": writer,
                    "phase": phase,
                    "prk": fields["PRK"].hex(),
                    "key_info": fields["key info"].hex(),
                    "key": fields["key expanded"].hex(),
                    "iv_info": fields["iv info"].hex(),
                    "iv": fields["iv expanded"].hex(),
                    "trace": step,
                }
            )
            named.put(f"{writer}_{phase}_key", fields["key expanded"])
            named.put(f"{writer}_{phase}_iv", fields["iv expanded"])
            continue

        raise ValueError(f"{step}: unknown action with fields {sorted(fields)}")

    for side, left in constructed.items():
        if left:
            raise ValueError(f"{side}: constructed messages never sent")
    return {
        "title": SECTIONS[number][0],
        "key_pairs": key_pairs,
        "handshake_messages": messages,
        "extractions": extractions,
        "derivations": derivations,
        "traffic_keys": traffic,
        "values": named.values,
    }


def main() -> None:
    """Parse the RFC text named on the command line and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rfc8448", type=Path, help="path to rfc8448.txt")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(__file__).with_name("rfc8448_keyschedule.json"),
    )
    args = parser.parse_args()
    raw = args.rfc8448.read_bytes()
    text = raw.decode("ascii")
    sections = {number: build_section(text, number) for number in SECTIONS}
    document = {
        "source": "RFC 8448 §3 (Simple 1-RTT Handshake), §4 (Resumed 0-RTT Handshake) and "
        "§5 (HelloRetryRequest)",
        "source_url": "https://www.rfc-editor.org/rfc/rfc8448",
        "source_sha256": hashlib.sha256(raw).hexdigest(),
        "generator": "tests/vectors/make_rfc8448_keyschedule_vectors.py",
        "notes": [
            "All three sections negotiate TLS_AES_128_GCM_SHA256 (0x1301), so SHA-256.",
            "handshake_messages are split from the 'send handshake record' payloads, in "
            "transcript order; a ClientHello with PSK binders is the complete message "
            "(the trace's 'construct' step prints it before the binders are filled in).",
            "An 'extract secret' salt printed as '0 (all zero octets)' is stored as '' "
            "(HKDF-Extract treats an empty salt as Hash.length zeros).",
            "derivations: 'hash' is the HKDF-Expand-Label context (a transcript hash, empty "
            "for finished keys, the ticket nonce for 'resumption'); 'finished' is the "
            "HMAC of the finished key over the transcript (a Finished verify_data or a PSK "
            "binder).",
            "traffic_keys: 'writer' is whose write key it is (a 'read' step derives the "
            "peer's write key).",
            "values: the same numbers under the names of RFC 8446 §7.1; th_* are the "
            "transcript hashes through ClientHello, ServerHello, server Finished and "
            "client Finished.",
        ],
        "cipher_suite": 0x1301,
        "sections": sections,
    }
    args.output.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    for number, section in sections.items():
        counts = {k: len(v) for k, v in section.items() if isinstance(v, list | dict)}
        print(f"§{number}: {counts}")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

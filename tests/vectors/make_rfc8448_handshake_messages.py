"""Extract the handshake messages of RFC 8448 §3-§7 into rfc8448_handshake_messages.json.

Usage: python tests/vectors/make_rfc8448_handshake_messages.py path/to/rfc8448.txt [-o OUT]

The tests read only the JSON; this script lets it be regenerated and audited against the RFC.
Every "{client|server}  construct a(n) X handshake message" step of the traces becomes one
entry, in trace order, with its section, side and the complete message (4-byte header
included). The ephemeral x25519 public keys printed by the "create an ephemeral x25519 key
pair" steps, and the verify_data printed by each "calculate finished" step, are kept too, so
that tests can check fields against values printed elsewhere in the trace.

Dumps are read up to the next line that is not hex, then checked against the printed octet
count and against the message's own handshake header. One step prints less than a message:
§4's "construct a ClientHello" shows only the 477 octets that the PSK binder covers (RFC 8446
§4.2.11.2) while its header announces 508 bytes of body. For it the whole 512-octet message
is taken from the next "send handshake record" payload, after checking that it extends the
printed prefix and ends with the binder of the "calculate PSK binder" step; the prefix and the
binder are kept too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# A sibling script, not a package: importable once its directory is on sys.path.
from make_rfc8448_vectors import (
    EVENT,
    FIELD,
    HEX_LINE,
    PAGE_FOOTER,
    PAGE_HEADER,
)

SECTION = re.compile(r"^([3-8])\.  (.+)$")
LAST_SECTION = "8"  # "8.  Security Considerations" ends the traces
CONSTRUCT = re.compile(r"construct an? (\w+) handshake message")
MESSAGE_TYPES = {
    "ClientHello": 1,
    "ServerHello": 2,
    "NewSessionTicket": 4,
    "EndOfEarlyData": 5,
    "EncryptedExtensions": 8,
    "Certificate": 11,
    "CertificateRequest": 13,
    "CertificateVerify": 15,
    "Finished": 20,
}


def clean_lines(text: str) -> list[str]:
    """The RFC's lines with form feeds, page headers and page footers removed."""
    kept = []
    for line in text.split("\n"):
        line = line.replace("\f", "").rstrip()
        if PAGE_FOOTER.match(line) or PAGE_HEADER.match(line):
            continue
        kept.append(line)
    return kept


def read_dump(first: str, lines: list[str], pos: int) -> tuple[bytes, int]:
    """Hex octets from ``first`` and the wrapped lines after it (blank lines skipped)."""
    tokens = first.split()
    while pos < len(lines):
        line = lines[pos]
        if HEX_LINE.match(line):
            tokens.extend(line.split())
            pos += 1
            continue
        if not line:
            ahead = pos
            while ahead < len(lines) and not lines[ahead]:
                ahead += 1
            if ahead < len(lines) and HEX_LINE.match(lines[ahead]):
                pos = ahead
                continue
        break
    return bytes.fromhex("".join(tokens)), pos


@dataclass
class Step:
    """One "{client|server}  action:" step of a trace, with its hex fields in order."""

    section: str
    title: str
    side: str
    action: str
    fields: list[tuple[str, int, bytes]] = field(default_factory=list)

    def get(self, name: str) -> bytes:
        """The one field called ``name``."""
        (value,) = [v for n, _, v in self.fields if n == name]
        return value


def parse_steps(text: str) -> list[Step]:
    """Every step of §3-§7 with its fields (dumps read up to the next non-hex line)."""
    lines = clean_lines(text)
    section, title = "", ""
    steps: list[Step] = []
    pos = 0
    while pos < len(lines):
        line = lines[pos]
        pos += 1
        match = SECTION.match(line)
        if match:
            if match.group(1) == LAST_SECTION:
                break
            section, title = match.group(1), match.group(2)
            continue
        if not section:
            continue
        match = EVENT.match(line)
        if match:
            steps.append(Step(section, title, match.group(1), match.group(2).rstrip(":")))
            continue
        match = FIELD.match(line)
        if match and steps and steps[-1].section == section:
            if match.group(3).strip() == "(empty)":
                value = b""
            else:
                value, pos = read_dump(match.group(3), lines, pos)
            steps[-1].fields.append((match.group(1), int(match.group(2)), value))
    return steps


def build(text: str) -> dict[str, object]:
    """Collect the constructed messages and the x25519 public keys of §3-§7."""
    steps = parse_steps(text)
    messages: list[dict[str, object]] = []
    public_keys: dict[str, dict[str, str]] = {}
    for index, step in enumerate(steps):
        if step.action == "create an ephemeral x25519 key pair":
            public_keys.setdefault(step.section, {})[step.side] = step.get("public key").hex()
            continue
        construct = CONSTRUCT.fullmatch(step.action)
        if not construct:
            continue
        name = construct.group(1)
        ((_, printed, value),) = [f for f in step.fields if f[0] == name]
        if printed != len(value):
            raise ValueError(f"§{step.section} {name}: {len(value)} octets, {printed} printed")
        expected_type = MESSAGE_TYPES[name]
        if value[0] != expected_type:
            raise ValueError(f"§{step.section} {name}: type byte {value[0]}")
        total = 4 + int.from_bytes(value[1:4], "big")
        entry: dict[str, object] = {
            "section": step.section,
            "section_title": step.title,
            "side": step.side,
            "type": name,
            "msg_type": expected_type,
            "trace": f"§{step.section} {{{step.side}}}  {step.action}",
        }
        if len(value) < total:
            # A ClientHello printed before its PSK binders: the trace computes the binder
            # next ("calculate PSK binder", its "finished" field) and sends the whole message
            # in the following handshake record of the same side.
            binder_step = steps[index + 1]
            send = next(
                s
                for s in steps[index + 1 :]
                if s.side == step.side and s.action == "send handshake record"
            )
            if binder_step.action != "calculate PSK binder":
                raise ValueError(f"§{step.section} {name}: truncated, but no binder step")
            if binder_step.get("ClientHello prefix") != value:
                raise ValueError(f"§{step.section} {name}: differs from the binder prefix")
            whole = send.get("payload")[:total]
            if len(whole) != total or not whole.startswith(value):
                raise ValueError(f"§{step.section} {name}: the record does not extend it")
            binder = binder_step.get("finished")
            if not whole.endswith(binder):
                raise ValueError(f"§{step.section} {name}: does not end with its binder")
            entry["message"] = whole.hex()
            entry["truncated_for_binders"] = value.hex()
            entry["binder"] = binder.hex()
            entry["note"] = (
                f"the construct step prints only the {len(value)}-octet prefix that the PSK "
                "binder covers (RFC 8446 §4.2.11.2); 'message' is the whole ClientHello from "
                "the next 'send handshake record' payload and 'binder' the 'finished' value of "
                "the 'calculate PSK binder' step"
            )
        elif len(value) == total:
            entry["message"] = value.hex()
            if name == "Finished":
                # The verify_data as printed by the step that computed it.
                computed = next(
                    s
                    for s in reversed(steps[:index])
                    if s.side == step.side and s.action.startswith("calculate finished")
                )
                entry["computed_verify_data"] = computed.get("finished").hex()
        else:
            raise ValueError(f"§{step.section} {name}: longer than its header says")
        messages.append(entry)
    return {"messages": messages, "x25519_public_keys": public_keys}


def main() -> None:
    """Parse the RFC text named on the command line and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rfc8448", type=Path, help="path to rfc8448.txt")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(__file__).with_name("rfc8448_handshake_messages.json"),
    )
    args = parser.parse_args()
    raw = args.rfc8448.read_bytes()
    data = build(raw.decode("ascii"))
    document = {
        "source": "RFC 8448 §3-§7 (Example Handshake Traces for TLS 1.3)",
        "source_url": "https://www.rfc-editor.org/rfc/rfc8448",
        "source_sha256": hashlib.sha256(raw).hexdigest(),
        "generator": "tests/vectors/make_rfc8448_handshake_messages.py",
        "notes": [
            "messages: every 'construct a(n) X handshake message' step of §3-§7 in trace "
            "order; 'message' is the complete handshake message (4-byte header included).",
            "x25519_public_keys: the public keys of the 'create an ephemeral x25519 key pair' "
            "steps, by section and side.",
            "computed_verify_data (Finished only): the 'finished' value of the 'calculate "
            "finished' step before it, printed apart from the message.",
        ],
        **data,
    }
    args.output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.output}: {len(data['messages'])} messages")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()

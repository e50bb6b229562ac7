"""RFC 8448 §4, "Resumed 0-RTT Handshake", played by a cytls client byte for byte.

The client resumes with the ticket of the §3 NewSessionTicket, the trace's x25519 key and its
ClientHello (through ``client_hello_hook``). cytls computes the PSK binder itself over that
ClientHello, so the hello it sends equals the trace's only if the binder is right. Its 0-RTT
record must open under the trace's client early key; the server's flight, sealed here under
the trace's server handshake key, must be accepted; and its EndOfEarlyData and Finished must
be the trace's, opened under the trace's keys. The vectors are in tests/vectors (see their
"source" fields); the expected values all come from the RFC, none from cytls.
"""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import cytls
from cytls.connection import Connection
from cytls.context import TLSContext
from cytls.crypto.groups import ClientKeyShare
from cytls.handshake.common import Environment
from cytls.session import Session
from cytls.wire import extensions as ext
from cytls.wire.messages import ClientHello, ExtensionType, NewSessionTicket, find_extension

VECTORS = Path(__file__).parent / "vectors"
MESSAGES = json.loads((VECTORS / "rfc8448_handshake_messages.json").read_text(encoding="utf-8"))[
    "messages"
]
SCHEDULE = json.loads((VECTORS / "rfc8448_keyschedule.json").read_text(encoding="utf-8"))[
    "sections"
]
VALUES = {name: bytes.fromhex(value) for name, value in SCHEDULE["4"]["values"].items()}
X25519 = 0x001D
NOW = 1_700_000_000.0  # any clock: only the ticket's age counts


def message(section: str, side: str, kind: str) -> bytes:
    (found,) = [
        m["message"]
        for m in MESSAGES
        if (m["section"], m["side"], m["type"]) == (section, side, kind)
    ]
    return bytes.fromhex(found)


def records(data: bytes) -> list[bytes]:
    out = []
    while data:
        end = 5 + int.from_bytes(data[3:5], "big")
        out.append(data[:end])
        data = data[end:]
    return out


def seal(key: bytes, iv: bytes, sequence: int, content: bytes, content_type: int) -> bytes:
    inner = content + bytes([content_type])
    header = b"\x17\x03\x03" + (len(inner) + 16).to_bytes(2, "big")
    nonce = (int.from_bytes(iv, "big") ^ sequence).to_bytes(12, "big")
    return header + AESGCM(key).encrypt(nonce, inner, header)


def open_record(key: bytes, iv: bytes, sequence: int, record: bytes) -> tuple[int, bytes]:
    nonce = (int.from_bytes(iv, "big") ^ sequence).to_bytes(12, "big")
    inner = AESGCM(key).decrypt(nonce, record[5:], record[:5]).rstrip(b"\x00")
    return inner[-1], inner[:-1]


def trace_session(context: TLSContext) -> tuple[Session, ClientHello]:
    """The §3 ticket as a Session whose age makes the trace's obfuscated_ticket_age."""
    ticket = NewSessionTicket.parse(message("3", "server", "NewSessionTicket")[4:])
    hello = ClientHello.parse(message("4", "client", "ClientHello")[4:])
    psk_data = find_extension(hello.extensions, ExtensionType.pre_shared_key)
    assert psk_data is not None
    [(identity, obfuscated_age)], _ = ext.decode_pre_shared_key_client(psk_data)
    assert identity == ticket.ticket
    age_ms = (obfuscated_age - ticket.ticket_age_add) & 0xFFFFFFFF
    (early,) = [data for kind, data in ticket.extensions if kind == ExtensionType.early_data]
    session = Session(
        ticket=ticket.ticket,
        psk=VALUES["psk"],
        suite=0x1301,
        ticket_lifetime_hint=ticket.ticket_lifetime,
        age_add=ticket.ticket_age_add,
        received_at=NOW - (age_ms + 0.5) / 1000,
        max_early_data_size=ext.decode_early_data_indication(early, in_new_session_ticket=True)
        or 0,
        alpn_protocol=None,
        server_name="server",
        peer_certificates=(),
        context=context,
    )
    return session, hello


def test_resumed_0rtt_client_is_the_trace(tmp_path: Path) -> None:
    context = TLSContext(cytls.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = cytls.CERT_NONE
    context.set_ciphers("TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256")
    context.set_groups("x25519")
    context.keylog_filename = str(tmp_path / "keylog")
    session, trace_hello = trace_session(context)
    (key_pair,) = [k for k in SCHEDULE["4"]["key_pairs"] if k["side"] == "client"]
    environment = Environment(
        random_bytes=lambda n: bytes(n),  # replaced by the trace's hello
        now=lambda: NOW,
        client_key_share=lambda group: ClientKeyShare.from_private_bytes(
            group, bytes.fromhex(key_pair["private"])
        ),
        client_hello_hook=lambda hello: trace_hello,
    )
    early = b"early bytes from cytls"
    client = Connection(
        context,
        server_hostname="server",
        environment=environment,
        session=session,
        early_data=early,
    )

    # The ClientHello, binder included, then 0-RTT data under the trace's early key.
    hello_record, early_record = records(client.data_to_send())
    assert hello_record[5:] == message("4", "client", "ClientHello")
    assert open_record(VALUES["client_early_key"], VALUES["client_early_iv"], 0, early_record) == (
        23,
        early,
    )

    # The trace's server flight: ServerHello in clear, the rest under its handshake key.
    key, iv = VALUES["server_handshake_key"], VALUES["server_handshake_iv"]
    server_hello = message("4", "server", "ServerHello")
    flight = b"\x16\x03\x03" + len(server_hello).to_bytes(2, "big") + server_hello
    flight += seal(key, iv, 0, message("4", "server", "EncryptedExtensions"), 22)
    flight += seal(key, iv, 1, message("4", "server", "Finished"), 22)
    client.receive_data(flight)
    assert client.handshake_complete
    assert client.session_reused and client.early_data_accepted

    # EndOfEarlyData under the early key (its second record), Finished under the handshake key.
    end_of_early_data, finished = records(client.data_to_send())
    assert open_record(
        VALUES["client_early_key"], VALUES["client_early_iv"], 1, end_of_early_data
    ) == (22, message("4", "client", "EndOfEarlyData"))
    assert open_record(
        VALUES["client_handshake_key"], VALUES["client_handshake_iv"], 0, finished
    ) == (22, message("4", "client", "Finished"))

    logged = {
        line.split()[0]: bytes.fromhex(line.split()[2])
        for line in (tmp_path / "keylog").read_text().splitlines()
    }
    assert logged["CLIENT_EARLY_TRAFFIC_SECRET"] == VALUES["client_early_traffic_secret"]
    assert logged["CLIENT_TRAFFIC_SECRET_0"] == VALUES["client_application_traffic_secret_0"]

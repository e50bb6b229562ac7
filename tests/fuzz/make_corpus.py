"""Build the seed corpus of the harnesses from real cytls handshakes (README.md).

    python tests/fuzz/make_corpus.py [--new-pki]

Writes ``corpus/<harness>/<name>`` (replacing what is there). ``--new-pki`` also makes the
fixed PKI of ``pki/`` again (a CA valid 2020-2099, an Ed25519 server leaf for "localhost" and
127.0.0.1 under an ECDSA intermediate, an Ed25519 client leaf), which invalidates every
recorded flight: the corpus is then rebuilt from it.

Connection flights are recorded by running the victim against a real peer (both
deterministic) and converting each record the peer sends into the harness's ops, through the
same ``PeerScript`` that replays them: so each seed replays into the very handshake it came
from. Nothing here depends on atheris.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import _fuzzutil as fu
import fuzz_record
from cryptography.exceptions import InvalidTag

import cytls
from cytls.crypto.tickets import TicketState


def make_pki() -> None:
    import pki

    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    end = datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC)
    ca = pki.make_ca(
        "ecdsa-p256", common_name="cytls fuzz root CA", not_before=start, not_after=end
    )
    inter = pki.make_intermediate(ca, "ecdsa-p256", not_before=start, not_after=end)
    server = pki.make_leaf(inter, "ed25519", not_before=start, not_after=end)
    client = pki.make_leaf(
        ca,
        "ed25519",
        names=[],
        common_name="cytls fuzz client",
        eku="clientAuth",
        not_before=start,
        not_after=end,
    )
    fu.PKI.mkdir(exist_ok=True)
    (fu.PKI / "ca.pem").write_bytes(pki.pem(ca[0]))
    pki.write_chain(fu.PKI, server, inter[0], prefix="server")
    pki.write_chain(fu.PKI, client, prefix="client")


# --- connection flights ---------------------------------------------------------------------


def record_flight(
    victim: cytls.Connection, peer: cytls.Connection, *, server_peer: bool, after: list[str]
) -> bytes:
    """Pump ``victim`` and ``peer``; return the ops that replay the peer's side to the victim.

    ``after`` lists what the peer does once the handshake is complete: "data", "key_update",
    "post_handshake_auth", "close"."""
    signing = fu.private_key(fu.pki().server_key if server_peer else fu.pki().client_key)
    script = fu.PeerScript(victim, signing, server_peer=server_peer)
    ops = bytearray()
    answer = bytearray()  # what the victim sent while the ops ran

    def replay(data: bytes) -> None:
        for content_type, fragment in fu.split_records(data):
            protection = script.protection()
            if protection is None:
                inner_type, content = content_type, fragment
            else:
                try:
                    inner = protection.open(fragment).rstrip(b"\x00")
                except InvalidTag:  # rejected 0-RTT, say: pass it on as it was
                    step(fu.OP_RAW, fu.record(content_type, fragment))
                    continue
                inner_type, content = inner[-1], inner[:-1]
            if inner_type == fu.HANDSHAKE:
                for message in fu.split_messages(content):
                    op = {20: fu.OP_FINISHED, 15: fu.OP_CERTIFICATE_VERIFY}.get(message[0])
                    if op is None or script.computed(op) != message:
                        op = fu.OP_HANDSHAKE
                    step(op, message if op == fu.OP_HANDSHAKE else b"")
            elif inner_type == fu.APPDATA:
                step(fu.OP_APPDATA, content)
            elif protection is None:
                step(fu.OP_RAW, fu.record(content_type, fragment))
            else:
                step(fu.OP_RECORD, bytes((inner_type, 0)) + content)

    def step(op: int, payload: bytes) -> None:
        ops.extend(fu.frame(op, payload))
        answer.extend(script.apply(op, payload))

    def answered() -> bytes:
        data = bytes(answer) + victim.data_to_send()
        answer.clear()
        return data

    for _ in range(8):
        data = answered()
        if data:
            peer.receive_data(data)
        data = peer.data_to_send()
        if not data:
            break
        replay(data)
    assert victim.handshake_complete and peer.handshake_complete
    for action in after:
        if action == "data":
            peer.send(b"GET / HTTP/1.1\r\n\r\n")
        elif action == "key_update":
            peer.key_update()
        elif action == "post_handshake_auth" and not server_peer:
            step(fu.OP_KEY_UPDATE, b"\x02")
            peer.receive_data(answered())
        elif action == "post_handshake_auth":
            peer.verify_client_post_handshake()
        elif action == "close":
            peer.close()
        replay(peer.data_to_send())
        data = answered()
        if data and action != "close":
            peer.receive_data(data)
            replay(peer.data_to_send())
    return bytes(ops)


def client_peer(mode: int, suites: str | None, seed: bytes) -> cytls.Connection:
    """A real client for the server harness's mode ``mode``."""
    client_mode = 3 if mode in (2, 3) else 0
    context = fu.client_context(client_mode)
    if suites:
        context = fu.client_context.__wrapped__(client_mode)
        context.set_ciphers(suites)
    return cytls.Connection(
        context, server_hostname="localhost", environment=fu.deterministic_environment(seed)
    )


def server_flights() -> dict[str, bytes]:
    out = {}
    cases: list[tuple[str, int, str | None, list[str]]] = [
        ("default", 0, None, ["data", "key_update", "close"]),
        ("aes256", 0, "TLS_AES_256_GCM_SHA384", ["data"]),
        ("chacha", 0, "TLS_CHACHA20_POLY1305_SHA256", ["key_update"]),
        ("hrr", 1, None, ["data"]),
        ("mtls", 2, None, ["data"]),
        ("optional", 3, None, ["post_handshake_auth", "data"]),
    ]
    for name, mode, suites, after in cases:
        victim = fu.server_connection(mode)
        peer = client_peer(mode, suites, b"peer client " + name.encode())
        out[name] = bytes((mode,)) + record_flight(victim, peer, server_peer=False, after=after)
    # Resumption with 0-RTT: the fixed session's ticket opens under the fixed key.
    for name, early in (("resume", b""), ("early", b"early data")):
        context = fu.client_context(0)
        peer = cytls.Connection(
            context,
            server_hostname="localhost",
            environment=fu.deterministic_environment(b"peer " + name.encode()),
            session=fu.fixed_session(context),
            early_data=early,
        )
        victim = fu.server_connection(0)
        out[name] = b"\x00" + record_flight(victim, peer, server_peer=False, after=["data"])
    return out


def client_flights() -> dict[str, bytes]:
    out = {}
    cases: list[tuple[str, int, int, str | None, list[str]]] = [
        ("default", 0, 0, None, ["data", "key_update", "close"]),
        ("aes256", 0, 0, "TLS_AES_256_GCM_SHA384", ["data"]),
        ("chacha", 0, 0, "TLS_CHACHA20_POLY1305_SHA256", ["key_update"]),
        ("hrr", 0, 1, None, ["data"]),
        ("noverify", 1, 0, None, ["data"]),
        ("resume", 2, 0, None, ["data"]),
        ("mtls", 3, 2, None, ["data"]),
        ("post_handshake_auth", 3, 3, None, ["post_handshake_auth", "data"]),
    ]
    for name, mode, server_mode, suites, after in cases:
        victim = fu.client_connection(mode)
        context = fu.server_context.__wrapped__(server_mode)  # its own strike register
        if suites:
            context.set_ciphers(suites)
        peer = cytls.Connection(
            context, server_side=True, environment=fu.deterministic_environment(b"peer server")
        )
        out[name] = bytes((mode,)) + record_flight(victim, peer, server_peer=True, after=after)
    return out


# --- certificates, tickets, records -----------------------------------------------------------


def certificate_body(chain: list[bytes], context: bytes = b"") -> bytes:
    entries = b"".join(len(der).to_bytes(3, "big") + der + b"\x00\x00" for der in chain)
    return bytes((len(context),)) + context + len(entries).to_bytes(3, "big") + entries


def pem_chain(path: Path) -> list[bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    return [
        c.public_bytes(Encoding.DER) for c in x509.load_pem_x509_certificates(path.read_bytes())
    ]


def cert_inputs() -> dict[str, bytes]:
    import pki

    server = pem_chain(fu.pki().server_chain)
    client = pem_chain(fu.pki().client_chain)
    ca = pem_chain(fu.PKI / "ca.pem")
    out = {}
    for mode in range(5):
        out[f"server_chain_{mode}"] = bytes((mode,)) + certificate_body(server)
        out[f"client_chain_{mode}"] = bytes((mode,)) + certificate_body(client)
    out["leaf_only"] = b"\x00" + certificate_body(server[:1])
    out["with_root"] = b"\x00" + certificate_body(server + ca)
    out["empty"] = b"\x00" + certificate_body([])
    # Other key types and shapes, under a throwaway CA (they parse, and fail to chain).
    other = pki.make_ca("rsa2048")
    for key_type in ("ecdsa-p384", "ecdsa-secp256k1", "ed448", "rsa2048", "rsa-pss", "dsa"):
        leaf = pki.make_leaf(other, key_type)
        out[f"other_{key_type}"] = b"\x04" + certificate_body(pki.der(leaf[0], other[0]))
    return out


def ticket_inputs() -> dict[str, bytes]:
    out = {}
    context = fu.client_context(0)
    session = fu.fixed_session(context)
    out["fixed_ticket"] = b"\x00" + session.ticket
    state = fu.fixed_ticket_keys().open(session.ticket)
    assert isinstance(state, TicketState)
    out["fixed_state"] = b"\x01" + state.serialize()
    # A ticket a real server issued after a full handshake, and its state.
    client = fu.client_connection(0)
    server = fu.server_connection(0)
    for _ in range(4):
        server.receive_data(client.data_to_send())
        data = server.data_to_send()
        if data:
            client.receive_data(data)
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    issued = client.session
    assert issued is not None
    out["issued_ticket"] = b"\x00" + issued.ticket
    issued_state = fu.fixed_ticket_keys().open(issued.ticket)
    assert issued_state is not None
    out["issued_state"] = b"\x01" + issued_state.serialize()
    with_cert = TicketState(
        **{
            **{f: getattr(issued_state, f) for f in TicketState.__dataclass_fields__},
            "peer_certificate": pem_chain(fu.pki().client_chain)[0],
            "suite": 0x1302,
            "psk": hashlib.sha384(b"x").digest(),
        }
    )
    out["state_with_certificate"] = b"\x01" + with_cert.serialize()
    return out


def record_inputs() -> dict[str, bytes]:
    out = {}
    for index, (suite, allow_app, _, budget, switch) in enumerate(fuzz_record.STATES):
        writer = fuzz_record.writer(suite)
        writer.write(22, b"\x08\x00\x00\x02\x00\x00")
        if suite is not None and allow_app:
            writer.write(23, b"hello" * 20)
            writer.write(23, b"")
        writer.padding_policy = lambda content_type, length: 7
        writer.write(22, bytes(300))
        writer.write_alert(1, 0)
        stream = fu.record(20, b"\x01") + writer.data_to_send()
        if budget is not None:
            stream = fu.record(23, bytes(40)) + stream  # 0-RTT it cannot open: skipped
        if switch is not None:
            tail = fuzz_record.writer(switch)
            tail.write(22, b"\x0b\x00\x00\x00")
            tail.write(23, b"data")
            stream += tail.data_to_send()
        out[f"state{index}"] = bytes((index, 0)) + stream
        out[f"state{index}_cut"] = bytes((index, 3)) + b"\x00\x01\x00\x07\x01\x00" + stream
    return out


def client_hello_list_inputs() -> dict[str, bytes]:
    """A real cytls ClientHello (fresh, and resuming with a ticket), its lists on their own,
    and one with GREASE suites and extensions spliced in."""
    from cytls.wire.messages import ClientHello

    out = {}
    for name, session in (("fresh", None), ("resume", fu.fixed_session(fu.client_context(0)))):
        client = cytls.Connection(
            fu.client_context(0),
            server_hostname="localhost",
            environment=fu.deterministic_environment(b"lists " + name.encode()),
            session=session,
        )
        body = fu.split_records(client.data_to_send())[0][1][4:]  # one record, one message
        hello = ClientHello.parse(body)
        extensions = dict(hello.extensions)
        out[f"{name}_hello"] = b"\x00" + body
        groups, shares = extensions[10], extensions[51]
        out[f"{name}_offer"] = b"\x01" + len(groups).to_bytes(2, "big") + groups + shares
        out[f"{name}_schemes"] = b"\x02" + extensions[13]
        if 41 in extensions:
            out[f"{name}_psk"] = b"\x03\x02" + extensions[41]
        grease = ClientHello(
            hello.random,
            hello.legacy_session_id,
            [0x0A0A, *hello.cipher_suites],
            [(0x1A1A, b""), *hello.extensions[:-1], (0x2A2A, b"\x00"), *hello.extensions[-1:]],
        )
        out[f"{name}_grease"] = b"\x00" + grease.serialize()
    return out


def write(harness: str, inputs: dict[str, bytes]) -> None:
    directory = fu.CORPUS / harness
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    for name, data in sorted(inputs.items()):
        (directory / name).write_bytes(data)
    print(f"{harness}: {len(inputs)} inputs, {sum(map(len, inputs.values()))} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--new-pki", action="store_true", help="make the fixed PKI again")
    args = parser.parse_args()
    if args.new_pki or not (fu.PKI / "ca.pem").exists():
        make_pki()
    write("fuzz_record", record_inputs())
    write("fuzz_server_flight", server_flights())
    write("fuzz_client_flight", client_flights())
    write("fuzz_certs", cert_inputs())
    write("fuzz_tickets", ticket_inputs())
    write("fuzz_client_hello_lists", client_hello_list_inputs())


if __name__ == "__main__":
    main()

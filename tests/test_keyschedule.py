"""The TLS 1.3 key schedule (RFC 8446 §7) and transcript against RFC 8448 and Wycheproof.

RFC 8448 §3 (1-RTT), §4 (PSK resumption with 0-RTT) and §5 (HelloRetryRequest): the numbers
come from tests/vectors/rfc8448_keyschedule.json, extracted from the RFC text by
tests/vectors/make_rfc8448_keyschedule_vectors.py. Two kinds of check:

- trace-generic: every HKDF-Extract, HKDF-Expand-Label (its HkdfLabel ``info`` included) and
  traffic-key step the trace prints is recomputed from the inputs the trace prints with it;
- replay: each handshake is rebuilt through cytls's API only (ClientKeyShare /
  server_key_exchange with the trace's ephemeral private keys, Transcript fed the trace's
  handshake messages, KeySchedule, traffic_keys, finished_verify_data, resumption_psk), and
  every named value the trace prints (secrets, transcript hashes, keys, IVs, Finished
  verify_data, PSK binder, ticket PSK) must come out. §4's PSK is the one the §3 replay
  derived from its NewSessionTicket, not the number printed in §4.

Wycheproof HKDF-SHA-256/384 (tests/vectors/wycheproof_hkdf.json) checks hkdf_extract and
hkdf_expand for arbitrary salt, info and lengths, including the refusal of outputs longer than
255 * Hash.length. Where ``cryptography`` has the same primitive (HKDF, HKDFExpand, HMAC),
cytls's output is also compared with it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from hypothesis import given, settings
from hypothesis import strategies as st

from cytls.crypto.groups import (
    GROUP_NAMES,
    ClientKeyShare,
    group_by_name,
    server_key_exchange,
)
from cytls.crypto.keyschedule import (
    SUITES,
    KeySchedule,
    Transcript,
    derive_secret,
    export_keying_material,
    finished_verify_data,
    hkdf_expand,
    hkdf_expand_label,
    hkdf_extract,
    hkdf_label,
    message_hash,
    next_application_traffic_secret,
    resumption_psk,
    traffic_keys,
)

VECTORS = Path(__file__).parent / "vectors"
RFC8448 = json.loads((VECTORS / "rfc8448_keyschedule.json").read_text(encoding="utf-8"))
WYCHEPROOF_HKDF = json.loads((VECTORS / "wycheproof_hkdf.json").read_text(encoding="utf-8"))
SUITE = RFC8448["cipher_suite"]  # TLS_AES_128_GCM_SHA256 in all three sections
SECTIONS: dict[str, dict[str, Any]] = RFC8448["sections"]
HASHES = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384()}
# ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3).
HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()
CLIENT_HELLO, SERVER_HELLO, NEW_SESSION_TICKET, FINISHED = 1, 2, 4, 20


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def reference_expand_label(
    hash_name: str, secret: bytes, label: bytes, context: bytes, length: int
) -> bytes:
    """HKDF-Expand-Label built independently on cryptography's HKDFExpand (RFC 8446 §7.1)."""
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + bytes([len(context)]) + context
    return HKDFExpand(HASHES[hash_name], length, info).derive(secret)


# --- Wycheproof HKDF ---------------------------------------------------------------------------


def wycheproof_hkdf_cases() -> Iterator[Any]:
    for hash_name, doc in WYCHEPROOF_HKDF["files"].items():
        for group in doc["testGroups"]:
            for case in group["tests"]:
                yield pytest.param(hash_name, case, id=f"{hash_name}-{case['tcId']}")


@pytest.mark.parametrize(("hash_name", "case"), list(wycheproof_hkdf_cases()))
def test_wycheproof_hkdf(hash_name: str, case: dict[str, Any]) -> None:
    salt, ikm, info, size = h(case["salt"]), h(case["ikm"]), h(case["info"]), case["size"]
    prk = hkdf_extract(hash_name, salt, ikm)
    if case["result"] == "invalid":
        assert "SizeTooLarge" in case["flags"]
        with pytest.raises(ValueError):
            hkdf_expand(hash_name, prk, info, size)
        return
    okm = hkdf_expand(hash_name, prk, info, size)
    assert okm == h(case["okm"])
    # The same through cryptography's HKDF (extract and expand in one).
    assert HKDF(HASHES[hash_name], size, salt or None, info).derive(ikm) == okm


def test_wycheproof_hkdf_counts() -> None:
    counts = {
        name: sum(len(g["tests"]) for g in doc["testGroups"])
        for name, doc in WYCHEPROOF_HKDF["files"].items()
    }
    assert counts == {"sha256": 86, "sha384": 83}


@settings(max_examples=150, deadline=None)
@given(
    hash_name=st.sampled_from(["sha256", "sha384"]),
    secret=st.binary(min_size=0, max_size=80),
    label=st.binary(min_size=0, max_size=40),
    context=st.binary(min_size=0, max_size=64),
    length=st.integers(min_value=1, max_value=300),
)
def test_expand_label_agrees_with_cryptography_and_stdlib(
    hash_name: str, secret: bytes, label: bytes, context: bytes, length: int
) -> None:
    ours = hkdf_expand_label(hash_name, secret, label, context, length)
    assert ours == reference_expand_label(hash_name, secret, label, context, length)
    # One more independent construction: RFC 5869 §2.3 written out with hmac.digest.
    info = hkdf_label(label, context, length)
    blocks, block = b"", b""
    counter = 1
    while len(blocks) < length:
        block = hmac.digest(secret, block + info + bytes([counter]), hash_name)
        blocks += block
        counter += 1
    assert ours == blocks[:length]


def test_hkdf_edge_lengths() -> None:
    prk = bytes(range(48))
    assert hkdf_expand("sha256", prk, b"", 0) == b""
    assert len(hkdf_expand("sha256", prk, b"i", 255 * 32)) == 255 * 32
    assert len(hkdf_expand("sha384", prk, b"i", 255 * 48)) == 255 * 48
    with pytest.raises(ValueError):
        hkdf_expand("sha256", prk, b"", 255 * 32 + 1)
    with pytest.raises(ValueError):
        hkdf_expand("sha256", prk, b"", -1)
    with pytest.raises(ValueError):
        hkdf_extract("md5", b"", b"")


def test_hkdf_label_limits() -> None:
    assert hkdf_label(b"key", b"", 16) == bytes.fromhex("00100974 6c733133 206b6579 00")
    hkdf_label(b"x" * 249, b"c" * 255, 0xFFFF)
    with pytest.raises(ValueError):
        hkdf_label(b"x" * 250, b"", 32)
    with pytest.raises(ValueError):
        hkdf_label(b"x", b"c" * 256, 32)
    with pytest.raises(ValueError):
        hkdf_label(b"x", b"", 0x10000)


# --- RFC 8448: every printed step, recomputed from its printed inputs --------------------------


def trace_steps(kind: str) -> Iterator[Any]:
    for number, section in SECTIONS.items():
        for index, step in enumerate(section[kind]):
            yield pytest.param(step, id=f"s{number}-{index}-{step['trace'].split('  ')[1][:40]}")


@pytest.mark.parametrize("step", list(trace_steps("extractions")))
def test_rfc8448_every_extract(step: dict[str, str]) -> None:
    salt = h(step["salt"]) or bytes(32)  # '0 (all zero octets)'
    assert hkdf_extract("sha256", salt, h(step["ikm"])) == h(step["secret"])


@pytest.mark.parametrize("step", list(trace_steps("derivations")))
def test_rfc8448_every_expand_label(step: dict[str, str]) -> None:
    label, context, expanded = step["label"].encode(), h(step["hash"]), h(step["expanded"])
    assert hkdf_label(label, context, len(expanded)) == h(step["info"])
    assert hkdf_expand_label("sha256", h(step["prk"]), label, context, len(expanded)) == expanded
    if label == b"derived" or label.endswith((b"traffic", b"master")):
        assert derive_secret("sha256", h(step["prk"]), label, context) == expanded


@pytest.mark.parametrize("step", list(trace_steps("traffic_keys")))
def test_rfc8448_every_traffic_key(step: dict[str, str]) -> None:
    params = SUITES[SUITE]
    assert hkdf_label(b"key", b"", params.key_length) == h(step["key_info"])
    assert hkdf_label(b"iv", b"", 12) == h(step["iv_info"])  # iv_length (RFC 8446 §5.3)
    assert traffic_keys(SUITE, h(step["prk"])) == (h(step["key"]), h(step["iv"]))


# --- RFC 8448: each handshake replayed through the API -----------------------------------------


def key_share_secret(section: dict[str, Any], group: int) -> bytes:
    """The (EC)DHE shared secret through groups.py, from both sides, with the trace's keys."""
    name = GROUP_NAMES[group]
    client = [kp for kp in section["key_pairs"] if kp["side"] == "client" and kp["group"] == name]
    server = [kp for kp in section["key_pairs"] if kp["side"] == "server" and kp["group"] == name]
    assert len(client) == 1 and len(server) == 1
    share = ClientKeyShare.from_private_bytes(group, h(client[0]["private"]))
    assert share.key_exchange == h(client[0]["public"])
    server_share, server_secret = server_key_exchange(
        group, share.key_exchange, private=h(server[0]["private"])
    )
    assert server_share == h(server[0]["public"])
    assert share.shared_secret(server_share) == server_secret
    return server_secret


def parse_server_hello(message: bytes) -> tuple[bytes, int, int | None]:
    """(random, cipher_suite, key_share group) of a ServerHello (RFC 8446 §4.1.3)."""
    random = message[6:38]
    pos = 39 + message[38]
    suite = int.from_bytes(message[pos : pos + 2], "big")
    pos += 3  # cipher_suite, legacy_compression_method
    end = pos + 2 + int.from_bytes(message[pos : pos + 2], "big")
    pos += 2
    group = None
    while pos < end:
        ext_type = int.from_bytes(message[pos : pos + 2], "big")
        length = int.from_bytes(message[pos + 2 : pos + 4], "big")
        if ext_type == 51:  # key_share: a KeyShareEntry, or a NamedGroup in an HRR
            group = int.from_bytes(message[pos + 4 : pos + 6], "big")
        pos += 4 + length
    return random, suite, group


def ticket_nonce(message: bytes) -> bytes:
    """NewSessionTicket.ticket_nonce (RFC 8446 §4.6.1): after lifetime and age_add."""
    return message[13 : 13 + message[12]]


def replay(section: dict[str, Any], psk: bytes | None = None) -> dict[str, bytes]:
    """Run one RFC 8448 handshake through the API; return every value under its trace name."""
    out: dict[str, bytes] = {}
    params = SUITES[SUITE]
    hash_name, length = params.hash_name, params.hash_length
    ks = KeySchedule(SUITE, psk)
    assert repr(ks).count("stage=early") == 1
    out["early_secret"] = ks._secret  # type: ignore[assignment]  # white-box: internal stage secret
    if psk is not None:
        out["psk"] = psk
    empty = hashlib.new(hash_name, b"").digest()
    out["derived_for_handshake"] = derive_secret(hash_name, out["early_secret"], b"derived", empty)
    stored_hello: list[bytes] = []
    transcript: Transcript | None = None
    handshake_secrets: tuple[bytes, bytes] | None = None
    application_secrets: tuple[bytes, bytes, bytes] | None = None

    for entry in section["handshake_messages"]:
        message, sender, kind = h(entry["data"]), entry["sender"], entry["type"]
        if kind == CLIENT_HELLO:
            if psk is not None:
                # One PSK identity: the hello ends with binders = 00 21 | 20 | 32-byte binder.
                truncated = message[: -(2 + 1 + length)]
                binders_header = message[len(truncated) : len(truncated) + 3]
                assert binders_header == bytes([0, 1 + length, length])
                binder_key = ks.binder_key(external=False)
                binder_transcript = Transcript(hash_name)  # the PSK's hash: known before any SH
                binder_transcript.update(truncated)
                out["truncated_client_hello"] = truncated
                out["binder_hash"] = binder_transcript.digest()
                out["binder_key"] = binder_key
                out["binder_finished_key"] = hkdf_expand_label(
                    hash_name, binder_key, b"finished", b"", length
                )
                out["binder"] = finished_verify_data(hash_name, binder_key, out["binder_hash"])
                assert message.endswith(out["binder"])
                transcript = Transcript(hash_name)
                transcript.update(message)
                out["th_client_hello"] = transcript.digest()
                out["client_early_traffic_secret"] = ks.client_early_traffic_secret(
                    out["th_client_hello"]
                )
                out["early_exporter_master_secret"] = ks.early_exporter_master_secret(
                    out["th_client_hello"]
                )
                out["client_early_key"], out["client_early_iv"] = traffic_keys(
                    SUITE, out["client_early_traffic_secret"]
                )
            elif transcript is None:
                stored_hello.append(message)  # the hash is not known before the ServerHello
            else:
                transcript.update(message)  # ClientHello2, after a HelloRetryRequest
        elif kind == SERVER_HELLO:
            random, suite, group = parse_server_hello(message)
            assert suite == SUITE
            if transcript is None:
                transcript = Transcript(SUITES[suite].hash_name)
                for stored in stored_hello:
                    transcript.update(stored)
            if random == HRR_RANDOM:
                transcript.hello_retry_request_reset()
                transcript.update(message)
                continue
            transcript.update(message)
            assert group is not None
            out["shared_secret"] = key_share_secret(section, group)
            out["th_server_hello"] = transcript.digest()
            handshake_secrets = ks.handshake(out["shared_secret"], out["th_server_hello"])
            out["handshake_secret"] = ks._secret  # type: ignore[assignment]
            (
                out["client_handshake_traffic_secret"],
                out["server_handshake_traffic_secret"],
            ) = handshake_secrets
            out["derived_for_master"] = derive_secret(
                hash_name, out["handshake_secret"], b"derived", empty
            )
            for side, secret in zip(("client", "server"), handshake_secrets, strict=True):
                out[f"{side}_handshake_key"], out[f"{side}_handshake_iv"] = traffic_keys(
                    SUITE, secret
                )
        elif kind == FINISHED:
            assert transcript is not None and handshake_secrets is not None
            base_key = handshake_secrets[0 if sender == "client" else 1]
            verify_data = finished_verify_data(hash_name, base_key, transcript.digest())
            assert hmac.compare_digest(message[4:], verify_data)
            out[f"{sender}_finished"] = verify_data
            out[f"{sender}_finished_key"] = hkdf_expand_label(
                hash_name, base_key, b"finished", b"", length
            )
            transcript.update(message)
            if sender == "server":
                out["th_server_finished"] = transcript.digest()
                application_secrets = ks.application(out["th_server_finished"])
                out["master_secret"] = ks._secret  # type: ignore[assignment]
                (
                    out["client_application_traffic_secret_0"],
                    out["server_application_traffic_secret_0"],
                    out["exporter_master_secret"],
                ) = application_secrets
                for side, secret in zip(("client", "server"), application_secrets[:2], strict=True):
                    out[f"{side}_application_key"], out[f"{side}_application_iv"] = traffic_keys(
                        SUITE, secret
                    )
            else:
                out["th_client_finished"] = transcript.digest()
                out["resumption_master_secret"] = ks.resumption_master_secret(
                    out["th_client_finished"]
                )
        elif kind == NEW_SESSION_TICKET:  # post-handshake: not part of the transcript
            out["ticket_nonce"] = ticket_nonce(message)
            out["resumption_psk"] = resumption_psk(
                hash_name, out["resumption_master_secret"], out["ticket_nonce"]
            )
        else:
            assert transcript is not None
            transcript.update(message)
    assert repr(ks).count("stage=done") == 1
    return out


def replayed(number: str) -> dict[str, bytes]:
    psk = replayed("3")["resumption_psk"] if number == "4" else None
    return replay(SECTIONS[number], psk)


@pytest.mark.parametrize("number", list(SECTIONS))
def test_rfc8448_replay_reproduces_every_value(number: str) -> None:
    printed = SECTIONS[number]["values"]
    computed = replayed(number)
    missing = sorted(set(printed) - set(computed))
    assert not missing, f"§{number}: not reproduced: {missing}"
    wrong = sorted(name for name in printed if computed[name] != h(printed[name]))
    assert not wrong, f"§{number}: differ from the trace: {wrong}"


def test_rfc8448_value_counts() -> None:
    """Guard against a regenerated JSON that silently lost values."""
    counts = {n: len(s["values"]) for n, s in SECTIONS.items()}
    assert counts == {"3": 29, "4": 38, "5": 27}
    for name in (
        "early_secret",
        "derived_for_handshake",
        "handshake_secret",
        "client_handshake_traffic_secret",
        "server_handshake_traffic_secret",
        "derived_for_master",
        "master_secret",
        "client_application_traffic_secret_0",
        "server_application_traffic_secret_0",
        "exporter_master_secret",
        "resumption_master_secret",
        "server_finished",
        "client_finished",
        "ticket_nonce",
        "resumption_psk",
    ):
        assert name in SECTIONS["3"]["values"], name


def test_rfc8448_section4_psk_is_section3_ticket() -> None:
    assert h(SECTIONS["4"]["values"]["psk"]) == h(SECTIONS["3"]["values"]["resumption_psk"])


def test_rfc8448_section5_message_hash() -> None:
    """§5: the transcript after a HelloRetryRequest starts with message_hash (§4.4.1)."""
    messages = [h(m["data"]) for m in SECTIONS["5"]["handshake_messages"]]
    client_hello1, retry = messages[0], messages[1]
    synthetic = message_hash("sha256", hashlib.sha256(client_hello1).digest())
    assert synthetic[:4] == bytes([254, 0, 0, 32])
    transcript = Transcript("sha256")
    transcript.update(client_hello1)
    transcript.hello_retry_request_reset()
    transcript.update(retry)
    assert transcript.digest() == hashlib.sha256(synthetic + retry).digest()


# --- KeySchedule behaviour ---------------------------------------------------------------------


def test_suites() -> None:
    """RFC 8446 §B.4: each suite's AEAD key length and hash (the registry's table)."""
    assert {
        code: (suite.name, suite.hash_name, suite.hash_length, suite.key_length, suite.iv_length)
        for code, suite in SUITES.items()
    } == {
        0x1301: ("TLS_AES_128_GCM_SHA256", "sha256", 32, 16, 12),
        0x1302: ("TLS_AES_256_GCM_SHA384", "sha384", 48, 32, 12),
        0x1303: ("TLS_CHACHA20_POLY1305_SHA256", "sha256", 32, 32, 12),
    }
    with pytest.raises(AttributeError):
        SUITES[0x1301].hash_name = "sha384"  # type: ignore[misc]
    with pytest.raises(ValueError):
        KeySchedule(0x1304)
    with pytest.raises(ValueError):
        traffic_keys(0x00FF, bytes(32))


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_schedule_matches_reference_for_every_suite(suite: int) -> None:
    """The whole chain for each suite (SHA-384 included) against cryptography's HKDF."""
    params = SUITES[suite]
    name, n = params.hash_name, params.hash_length
    psk, shared = b"\x11" * n, b"\x22" * 32
    th1, th2, th3, th4 = (bytes([i]) * n for i in (1, 2, 3, 4))

    def extract(salt: bytes, ikm: bytes) -> bytes:
        return hmac.digest(salt, ikm, name)

    def derive(secret: bytes, label: bytes, th: bytes) -> bytes:
        return reference_expand_label(name, secret, label, th, n)

    empty = hashlib.new(name, b"").digest()
    early = extract(bytes(n), psk)
    handshake = extract(derive(early, b"derived", empty), shared)
    master = extract(derive(handshake, b"derived", empty), bytes(n))

    ks = KeySchedule(suite, psk)
    assert (ks.hash_name, ks.hash_length, ks.parameters) == (name, n, params)
    assert ks.binder_key(external=True) == derive(early, b"ext binder", empty)
    assert ks.binder_key(external=False) == derive(early, b"res binder", empty)
    assert ks.client_early_traffic_secret(th1) == derive(early, b"c e traffic", th1)
    assert ks.early_exporter_master_secret(th1) == derive(early, b"e exp master", th1)
    assert ks.handshake(shared, th2) == (
        derive(handshake, b"c hs traffic", th2),
        derive(handshake, b"s hs traffic", th2),
    )
    client_ap, server_ap, exporter = ks.application(th3)
    assert (client_ap, server_ap, exporter) == (
        derive(master, b"c ap traffic", th3),
        derive(master, b"s ap traffic", th3),
        derive(master, b"exp master", th3),
    )
    res = ks.resumption_master_secret(th4)
    assert res == derive(master, b"res master", th4)

    key, iv = traffic_keys(suite, client_ap)
    assert (len(key), len(iv)) == (params.key_length, 12)
    assert key == reference_expand_label(name, client_ap, b"key", b"", params.key_length)
    assert iv == reference_expand_label(name, client_ap, b"iv", b"", 12)
    finished_key = reference_expand_label(name, server_ap, b"finished", b"", n)
    assert finished_verify_data(name, server_ap, th4) == hmac.digest(finished_key, th4, name)
    assert next_application_traffic_secret(name, client_ap) == derive(
        client_ap, b"traffic upd", b""
    )
    nonce = b"\x00\x01"
    assert resumption_psk(name, res, nonce) == derive(res, b"resumption", nonce)
    # RFC 8446 §7.5: HKDF-Expand-Label(Derive-Secret(Secret, label, ""), "exporter",
    # Hash(context_value), key_length).
    for label, context, length in ((b"EXPERIMENTAL test", b"ctx", 42), (b"x", b"", 200)):
        expected = reference_expand_label(
            name,
            derive(exporter, label, empty),
            b"exporter",
            hashlib.new(name, context).digest(),
            length,
        )
        assert export_keying_material(name, exporter, label, context, length) == expected


def test_psk_ke_uses_zero_ikm() -> None:
    """psk_ke: no (EC)DHE, the Handshake Secret is extracted from Hash.length zeros (§7.1)."""
    psk = b"\x42" * 32
    a, b = KeySchedule(SUITE, psk), KeySchedule(SUITE, psk)
    assert a.handshake(None, bytes(32)) == b.handshake(bytes(32), bytes(32))
    with pytest.raises(ValueError):
        KeySchedule(SUITE).handshake(None, bytes(32))  # neither PSK nor (EC)DHE
    with pytest.raises(ValueError):
        KeySchedule(SUITE).handshake(b"", bytes(32))
    with pytest.raises(ValueError):
        KeySchedule(SUITE, b"")


def test_out_of_order_raises_runtime_error() -> None:
    th = bytes(32)
    no_psk = KeySchedule(SUITE)
    for early_call in (
        lambda: no_psk.binder_key(external=True),
        lambda: no_psk.client_early_traffic_secret(th),
        lambda: no_psk.early_exporter_master_secret(th),
    ):
        with pytest.raises(RuntimeError):
            early_call()
    with pytest.raises(RuntimeError):
        no_psk.application(th)
    with pytest.raises(RuntimeError):
        no_psk.resumption_master_secret(th)

    ks = KeySchedule(SUITE, b"\x01" * 32)
    ks.binder_key(external=True)
    ks.handshake(b"\x02" * 32, th)
    with pytest.raises(RuntimeError):
        ks.binder_key(external=True)
    with pytest.raises(RuntimeError):
        ks.client_early_traffic_secret(th)
    with pytest.raises(RuntimeError):
        ks.handshake(b"\x02" * 32, th)
    with pytest.raises(RuntimeError):
        ks.resumption_master_secret(th)
    ks.application(th)
    with pytest.raises(RuntimeError):
        ks.application(th)
    with pytest.raises(RuntimeError):
        ks.handshake(b"\x02" * 32, th)
    ks.resumption_master_secret(th)
    with pytest.raises(RuntimeError):
        ks.resumption_master_secret(th)


def test_no_secret_in_repr() -> None:
    psk = bytes(range(1, 33))
    ks = KeySchedule(0x1302, psk)
    seen = [psk, ks._secret]  # type: ignore[list-item]
    texts = [repr(ks), str(ks)]
    seen += ks.handshake(b"\x07" * 32, bytes(48))
    seen.append(ks._secret)  # type: ignore[arg-type]
    texts.append(repr(ks))
    seen += ks.application(bytes(48))
    texts.append(repr(ks))
    seen.append(ks.resumption_master_secret(bytes(48)))
    texts.append(repr(ks))
    transcript = Transcript("sha384")
    transcript.update(b"\x01\x00\x00\x00")
    texts.append(repr(transcript))
    for text in texts:
        for secret in seen:
            assert secret is not None
            assert secret.hex() not in text and repr(secret) not in text
    assert "TLS_AES_256_GCM_SHA384" in texts[0]


# --- Transcript --------------------------------------------------------------------------------


def test_transcript_digest_copy_and_reset() -> None:
    messages = [b"\x01\x00\x00\x02ab", b"\x02\x00\x00\x01c", b"\x08\x00\x00\x00"]
    transcript = Transcript("sha384")
    transcript.update(messages[0])
    assert transcript.digest() == transcript.digest() == hashlib.sha384(messages[0]).digest()
    fork = transcript.copy()
    transcript.update(messages[1])
    assert fork.digest() == hashlib.sha384(messages[0]).digest()
    fork.update(messages[2])
    assert transcript.digest() == hashlib.sha384(messages[0] + messages[1]).digest()
    assert fork.digest() == hashlib.sha384(messages[0] + messages[2]).digest()

    retry = Transcript("sha256")
    with pytest.raises(RuntimeError):
        retry.hello_retry_request_reset()  # nothing fed yet
    retry.update(messages[0])
    retry.hello_retry_request_reset()
    synthetic = bytes([254, 0, 0, 32]) + hashlib.sha256(messages[0]).digest()
    assert retry.digest() == hashlib.sha256(synthetic).digest()
    with pytest.raises(RuntimeError):
        retry.copy().hello_retry_request_reset()  # twice
    with pytest.raises(ValueError):
        Transcript("sha1")
    with pytest.raises(ValueError):
        message_hash("sha256", bytes(48))


def test_group_names_used_by_the_vectors_exist() -> None:
    """The trace's groups (x25519, P-256) are known to groups.py under these names."""
    for section in SECTIONS.values():
        for pair in section["key_pairs"]:
            assert group_by_name(pair["group"]) in GROUP_NAMES

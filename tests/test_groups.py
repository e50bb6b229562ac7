"""Key exchange (RFC 8446 §4.2.8, §7.4) and X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem).

- RFC 8448 §3, §4 (x25519) and §5 (P-256): the trace's ephemeral private keys give the trace's
  public shares and the shared secret (the IKM of the Handshake Secret), from both sides.
- Wycheproof x25519_test.json (tests/vectors/wycheproof_x25519.json), through
  ClientKeyShare.shared_secret and server_key_exchange. "valid" cases must give the shared
  secret. "acceptable" cases are decided by their flags: RFC 8446 §7.4.2 requires rejecting
  only the all-zero shared secret, so ZeroSharedSecret cases must raise
  ProtocolError(illegal_parameter) and every other acceptable case (twist points,
  non-canonical encodings, low-order points whose result is not zero) must give Wycheproof's
  shared secret, as RFC 7748 computes it. There are no "invalid" cases in the file; one would
  have to raise ProtocolError.
- Round trips for every group, invalid shares of every kind, and hypothesis-generated peer
  shares: a bad share is always ProtocolError(illegal_parameter), never another exception.
- The hybrid's layout is checked against ``cryptography``'s ML-KEM and X25519 used directly,
  not only against cytls's own other side.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from handshakeutil import client_context, client_hello_of, credentials, extension_map, needs_mlkem
from hypothesis import given, settings
from hypothesis import strategies as st

import cytls
from cytls.crypto import groups
from cytls.crypto.groups import (
    GROUP_NAMES,
    MLKEM_AVAILABLE,
    SECP256R1,
    SECP384R1,
    SUPPORTED_GROUPS,
    X25519,
    X25519MLKEM768,
    ClientKeyShare,
    group_by_name,
    mlkem768_modulus_check,
    server_key_exchange,
)
from cytls.errors import ProtocolError
from cytls.events import HandshakeComplete
from cytls.wire import extensions as ext
from cytls.wire.enums import AlertDescription
from cytls.wire.messages import ExtensionType

VECTORS = Path(__file__).parent / "vectors"
WYCHEPROOF_X25519 = json.loads((VECTORS / "wycheproof_x25519.json").read_text(encoding="utf-8"))
RFC8448 = json.loads((VECTORS / "rfc8448_keyschedule.json").read_text(encoding="utf-8"))

ECDHE = {SECP256R1: (ec.SECP256R1(), 32), SECP384R1: (ec.SECP384R1(), 48)}
CURVE_P = {
    SECP256R1: 2**256 - 2**224 + 2**192 + 2**96 - 1,
    SECP384R1: 2**384 - 2**128 - 2**96 + 2**32 - 1,
}
CURVE_B = {
    SECP256R1: 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
    SECP384R1: int(
        "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875a"
        "c656398d8a2ed19d2a85c8edd3ec2aef",
        16,
    ),
}
CLIENT_LENGTHS = {X25519: 32, SECP256R1: 65, SECP384R1: 97, X25519MLKEM768: 1216}
SERVER_LENGTHS = {X25519: 32, SECP256R1: 65, SECP384R1: 97, X25519MLKEM768: 1120}
SECRET_LENGTHS = {X25519: 32, SECP256R1: 32, SECP384R1: 48, X25519MLKEM768: 64}
ALL_GROUPS = [
    pytest.param(g, id=GROUP_NAMES[g], marks=needs_mlkem if g == X25519MLKEM768 else ())
    for g in GROUP_NAMES
]


def illegal(call: Callable[[], object]) -> ProtocolError:
    """``call()`` must raise ProtocolError(illegal_parameter) and nothing else."""
    with pytest.raises(ProtocolError) as info:
        call()
    assert info.value.alert == AlertDescription.illegal_parameter
    return info.value


def client_rejects(group: int, server_share: bytes) -> None:
    share = ClientKeyShare.generate(group)
    illegal(lambda: share.shared_secret(server_share))


def server_rejects(group: int, client_share: bytes) -> None:
    illegal(lambda: server_key_exchange(group, client_share))


# --- names and defaults ------------------------------------------------------------------------


def test_names_and_preference_order() -> None:
    assert GROUP_NAMES == {
        0x11EC: "X25519MLKEM768",
        0x001D: "x25519",
        0x0017: "secp256r1",
        0x0018: "secp384r1",
    }
    expected: tuple[int, ...] = (X25519, SECP256R1, SECP384R1)
    if MLKEM_AVAILABLE:
        expected = (X25519MLKEM768, *expected)
    assert expected == SUPPORTED_GROUPS


@pytest.mark.parametrize(
    ("name", "group"),
    [
        ("x25519", X25519),
        ("X25519", X25519),
        ("P-256", SECP256R1),
        ("p-256", SECP256R1),
        ("prime256v1", SECP256R1),
        ("secp256r1", SECP256R1),
        ("SECP256R1", SECP256R1),
        ("P-384", SECP384R1),
        ("secp384r1", SECP384R1),
        pytest.param("X25519MLKEM768", X25519MLKEM768, marks=needs_mlkem),
        pytest.param("x25519mlkem768", X25519MLKEM768, marks=needs_mlkem),
    ],
)
def test_group_by_name(name: str, group: int) -> None:
    assert group_by_name(name) == group


@pytest.mark.parametrize("name", ["", "x448", "secp521r1", "ffdhe2048", "P-255", "X25519Kyber768"])
def test_group_by_name_unknown(name: str) -> None:
    with pytest.raises(ValueError):
        group_by_name(name)


# A server process whose cryptography refuses ML-KEM as cryptography 47's backend does
# (MLKEM768PrivateKey.generate raises UnsupportedAlgorithm), so that the fallback runs on every
# cryptography. It reports what cytls made of that, then serves one TLS connection.
WITHOUT_MLKEM = """
import json, socket, sys
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import mlkem

def refuse(cls):
    raise UnsupportedAlgorithm("ML-KEM is not supported by this backend")

mlkem.MLKEM768PrivateKey.generate = classmethod(refuse)

import cytls
from cytls.crypto import groups

context = cytls.TLSContext(cytls.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
try:
    cytls.TLSContext(cytls.PROTOCOL_TLS_CLIENT).set_groups("x25519:X25519MLKEM768")
    refusal = None
except ValueError as exc:
    refusal = str(exc)
with socket.create_server(("127.0.0.1", 0)) as listener:
    listener.settimeout(30)
    print(json.dumps({
        "available": groups.MLKEM_AVAILABLE,
        "defaults": context.get_groups(),
        "refusal": refusal,
        "port": listener.getsockname()[1],
    }), flush=True)
    sock, _ = listener.accept()
    sock.settimeout(30)
    with context.wrap_socket(sock, server_side=True) as tls:
        tls.sendall(tls.recv(64).upper())
"""


@needs_mlkem
def test_without_mlkem_the_hybrid_is_left_out_refused_and_negotiated_around() -> None:
    """Where cryptography lacks ML-KEM: X25519MLKEM768 is not in the defaults, set_groups
    refuses it naming the reason, and a server there answers a client that offers it first
    (this process, which has ML-KEM) with x25519 instead of failing."""
    creds = credentials()
    server = subprocess.Popen(
        [sys.executable, "-c", WITHOUT_MLKEM, str(creds.certfile), str(creds.keyfile)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        report = json.loads(server.stdout.readline())
        assert report["available"] is False
        assert report["defaults"] == ["x25519", "secp256r1", "secp384r1"]
        assert report["refusal"] == "X25519MLKEM768 needs ML-KEM, which this cryptography lacks"
        client = cytls.Connection(client_context(), server_hostname="localhost")
        hello = client.data_to_send()
        shares = extension_map(client_hello_of(hello).extensions)[ExtensionType.key_share]
        assert ext.decode_key_share_client(shares)[0][0] == X25519MLKEM768
        with socket.create_connection(("127.0.0.1", report["port"]), timeout=30) as sock:
            sock.sendall(hello)
            client.receive_data(sock.recv(65536))
            while not client.handshake_complete:
                sock.sendall(client.data_to_send())
                client.receive_data(sock.recv(65536))
            client.send(b"hello")
            sock.sendall(client.data_to_send())
            reply = b""
            while len(reply) < 5:
                client.receive_data(sock.recv(65536))
                with contextlib.suppress(cytls.WantReadError):
                    reply += client.recv()
        events = list(iter(client.next_event, None))
        (complete,) = [event for event in events if isinstance(event, HandshakeComplete)]
        assert (complete.group, reply) == ("x25519", b"HELLO")
        assert server.wait(30) == 0
    finally:
        server.kill()
        server.wait()


def test_unsupported_groups_are_local_errors() -> None:
    for call in (
        lambda: ClientKeyShare.generate(0x0019),
        lambda: server_key_exchange(0x001E, bytes(56)),
        lambda: ClientKeyShare.from_private_bytes(X25519MLKEM768, bytes(64)),
        lambda: ClientKeyShare(),
    ):
        with pytest.raises((ValueError, TypeError)):
            call()
    if MLKEM_AVAILABLE:
        share = ClientKeyShare.generate(X25519MLKEM768)
        with pytest.raises(ValueError):
            server_key_exchange(X25519MLKEM768, share.key_exchange, private=bytes(32))


# --- RFC 8448 ----------------------------------------------------------------------------------


def rfc8448_exchanges() -> Iterator[Any]:
    for number, section in RFC8448["sections"].items():
        pairs = section["key_pairs"]
        for server in (p for p in pairs if p["side"] == "server"):
            client = next(
                p for p in pairs if p["side"] == "client" and p["group"] == server["group"]
            )
            yield pytest.param(
                client,
                server,
                section["values"]["shared_secret"],
                id=f"s{number}-{client['group']}",
            )


@pytest.mark.parametrize(("client", "server", "shared"), list(rfc8448_exchanges()))
def test_rfc8448_shared_secret(client: dict[str, str], server: dict[str, str], shared: str) -> None:
    group = group_by_name(client["group"])
    share = ClientKeyShare.from_private_bytes(group, bytes.fromhex(client["private"]))
    assert share.key_exchange == bytes.fromhex(client["public"])
    server_share, secret = server_key_exchange(
        group, share.key_exchange, private=bytes.fromhex(server["private"])
    )
    assert server_share == bytes.fromhex(server["public"])
    assert secret == bytes.fromhex(shared)
    assert share.shared_secret(server_share) == secret
    assert client["private"] not in repr(share) and "private" not in repr(share)


def test_rfc8448_covers_x25519_and_p256() -> None:
    ids = [p.id for p in rfc8448_exchanges()]
    assert ids == ["s3-x25519", "s4-x25519", "s5-secp256r1"]


# --- Wycheproof X25519 -------------------------------------------------------------------------


def wycheproof_cases() -> Iterator[Any]:
    for group in WYCHEPROOF_X25519["testGroups"]:
        for case in group["tests"]:
            yield pytest.param(case, id=str(case["tcId"]))


def wycheproof_expect_reject(case: dict[str, Any]) -> bool:
    if case["result"] == "valid":
        return False
    if case["result"] == "invalid":
        return True
    return "ZeroSharedSecret" in case["flags"]  # acceptable: reject exactly the all-zero result


@pytest.mark.parametrize("case", list(wycheproof_cases()))
def test_wycheproof_x25519(case: dict[str, Any]) -> None:
    private, public = bytes.fromhex(case["private"]), bytes.fromhex(case["public"])
    client = ClientKeyShare.from_private_bytes(X25519, private)
    if wycheproof_expect_reject(case):
        illegal(lambda: client.shared_secret(public))
        illegal(lambda: server_key_exchange(X25519, public, private=private))
        return
    shared = bytes.fromhex(case["shared"])
    assert client.shared_secret(public) == shared
    assert server_key_exchange(X25519, public, private=private) == (client.key_exchange, shared)


def test_wycheproof_x25519_counts() -> None:
    cases = [p.values[0] for p in wycheproof_cases()]
    assert len(cases) == WYCHEPROOF_X25519["numberOfTests"] == 518
    rejected = sum(wycheproof_expect_reject(c) for c in cases)
    assert rejected == 31  # the acceptable ZeroSharedSecret cases


# --- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("group", ALL_GROUPS)
def test_round_trip(group: int) -> None:
    for _ in range(3):
        share = ClientKeyShare.generate(group)
        assert share.group == group
        assert len(share.key_exchange) == CLIENT_LENGTHS[group]
        server_share, secret = server_key_exchange(group, share.key_exchange)
        assert len(server_share) == SERVER_LENGTHS[group]
        assert len(secret) == SECRET_LENGTHS[group]
        assert share.shared_secret(server_share) == secret
        assert share.shared_secret(memoryview(server_share)) == secret  # type: ignore[arg-type]
        assert GROUP_NAMES[group] in repr(share)
    a, b = ClientKeyShare.generate(group), ClientKeyShare.generate(group)
    assert a.key_exchange != b.key_exchange


@needs_mlkem
def test_hybrid_layout_against_cryptography() -> None:
    """draft-ietf-tls-ecdhe-mlkem: client = ek || x25519, server = ct || x25519,
    shared = ML-KEM secret || X25519 secret; checked with cryptography used directly."""
    from cryptography.hazmat.primitives.asymmetric.mlkem import (
        MLKEM768PrivateKey,
        MLKEM768PublicKey,
    )

    # Our client, a hand-made server.
    share = ClientKeyShare.generate(X25519MLKEM768)
    ek, client_x = share.key_exchange[:1184], share.key_exchange[1184:]
    kem_secret, ciphertext = MLKEM768PublicKey.from_public_bytes(ek).encapsulate()
    server_x = x25519.X25519PrivateKey.generate()
    ecdh = server_x.exchange(x25519.X25519PublicKey.from_public_bytes(client_x))
    server_share = ciphertext + server_x.public_key().public_bytes_raw()
    assert share.shared_secret(server_share) == kem_secret + ecdh

    # A hand-made client, our server.
    kem_private, x_private = MLKEM768PrivateKey.generate(), x25519.X25519PrivateKey.generate()
    client_share = (
        kem_private.public_key().public_bytes_raw() + x_private.public_key().public_bytes_raw()
    )
    server_share, secret = server_key_exchange(X25519MLKEM768, client_share)
    assert len(server_share) == 1088 + 32 and len(secret) == 64
    assert secret[:32] == kem_private.decapsulate(server_share[:1088])
    assert secret[32:] == x_private.exchange(
        x25519.X25519PublicKey.from_public_bytes(server_share[1088:])
    )


# --- invalid shares ----------------------------------------------------------------------------


@pytest.mark.parametrize("group", ALL_GROUPS)
def test_wrong_lengths(group: int) -> None:
    share = ClientKeyShare.generate(group)
    server_share, _ = server_key_exchange(group, share.key_exchange)
    for good, reject in ((share.key_exchange, server_rejects), (server_share, client_rejects)):
        for bad in (b"", good[:1], good[:-1], good + b"\x00", good + good):
            reject(group, bad)


X25519_LOW_ORDER = [
    bytes(32),  # 0
    (1).to_bytes(32, "little"),  # 1
    bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),  # order 8
    bytes.fromhex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),  # order 8
    (2**255 - 19 - 1).to_bytes(32, "little"),  # p - 1
    (2**255 - 19).to_bytes(32, "little"),  # p (non-canonical 0)
    (2**255 - 19 + 1).to_bytes(32, "little"),  # p + 1 (non-canonical 1)
]


@pytest.mark.parametrize("public", X25519_LOW_ORDER, ids=lambda b: b.hex()[:8])
def test_x25519_zero_shared_secret(public: bytes) -> None:
    client_rejects(X25519, public)
    server_rejects(X25519, public)
    if MLKEM_AVAILABLE:  # the same check inside the hybrid, both directions
        share = ClientKeyShare.generate(X25519MLKEM768)
        server_rejects(X25519MLKEM768, share.key_exchange[:1184] + public)
        server_share, _ = server_key_exchange(X25519MLKEM768, share.key_exchange)
        illegal(lambda: share.shared_secret(server_share[:1088] + public))


def ec_point_with_small_x(group: int) -> tuple[int, int]:
    """A point on the curve whose x + p still fits the coordinate size (for range checks)."""
    p, b = CURVE_P[group], CURVE_B[group]
    for x in range(1, 1000):
        rhs = (x**3 - 3 * x + b) % p
        y = pow(rhs, (p + 1) // 4, p)  # p = 3 mod 4 for both curves
        if y * y % p == rhs:
            return x, y
    raise AssertionError("no point found")


@pytest.mark.parametrize("group", [SECP256R1, SECP384R1], ids=["secp256r1", "secp384r1"])
def test_ec_invalid_points(group: int) -> None:
    n = ECDHE[group][1]
    p = CURVE_P[group]
    good = ClientKeyShare.generate(group).key_exchange
    x, y = good[1 : 1 + n], good[1 + n :]
    small_x, small_y = ec_point_with_small_x(group)
    on_curve = b"\x04" + small_x.to_bytes(n, "big") + small_y.to_bytes(n, "big")
    ClientKeyShare.generate(group).shared_secret(on_curve)  # the helper's point is valid
    other = SECP384R1 if group == SECP256R1 else SECP256R1
    bad_shares = {
        "compressed": bytes([2 + (y[-1] & 1)]) + x,
        "compressed-padded": bytes([2 + (y[-1] & 1)]) + x + y,
        "hybrid-form": bytes([6 + (y[-1] & 1)]) + x + y,
        "identity": b"\x00",
        "identity-padded": b"\x00" * (1 + 2 * n),
        "zero-point": b"\x04" + bytes(2 * n),
        "not-on-curve": b"\x04" + x + y[:-1] + bytes([y[-1] ^ 1]),
        "x-not-reduced": b"\x04" + (small_x + p).to_bytes(n, "big") + small_y.to_bytes(n, "big"),
        "y-is-p": b"\x04" + x + p.to_bytes(n, "big"),
        "all-ff": b"\x04" + b"\xff" * (2 * n),
        "other-curve": ClientKeyShare.generate(other).key_exchange,
        "raw-xy": x + y,
    }
    for bad in bad_shares.values():
        client_rejects(group, bad)
        server_rejects(group, bad)


def set_coefficient(ek: bytes, index: int, value: int) -> bytes:
    """Overwrite the 12-bit coefficient ``index`` of t-hat (FIPS 203 ByteEncode_12 layout)."""
    data = bytearray(ek)
    pos = (index // 2) * 3
    if index % 2 == 0:
        data[pos] = value & 0xFF
        data[pos + 1] = (data[pos + 1] & 0xF0) | (value >> 8)
    else:
        data[pos + 1] = (data[pos + 1] & 0x0F) | ((value & 0x0F) << 4)
        data[pos + 2] = value >> 4
    return bytes(data)


def modulus_check_reference(ek: bytes) -> bool:
    """FIPS 203 §7.2, coefficient by coefficient."""
    if len(ek) != 1184:
        return False
    for pos in range(0, 1152, 3):
        b0, b1, b2 = ek[pos], ek[pos + 1], ek[pos + 2]
        if (b0 | (b1 & 0x0F) << 8) >= 3329 or (b1 >> 4 | b2 << 4) >= 3329:
            return False
    return True


@needs_mlkem
def test_mlkem_modulus_check() -> None:
    ek = ClientKeyShare.generate(X25519MLKEM768).key_exchange[:1184]
    assert mlkem768_modulus_check(ek) and modulus_check_reference(ek)
    for index in (0, 1, 2, 3, 382, 383, 384, 766, 767):
        for value, ok in ((0, True), (3328, True), (3329, False), (3330, False), (4095, False)):
            changed = set_coefficient(ek, index, value)
            assert mlkem768_modulus_check(changed) is ok, (index, value)
            assert modulus_check_reference(changed) is ok
    # The last 32 bytes (rho) are not coefficients: anything goes.
    assert mlkem768_modulus_check(ek[:1152] + b"\xff" * 32)
    assert not mlkem768_modulus_check(ek[:-1])


@settings(max_examples=300, deadline=None)
@given(data=st.binary(min_size=1184, max_size=1184), q_bits=st.booleans())
def test_mlkem_modulus_check_matches_reference(data: bytes, q_bits: bool) -> None:
    if q_bits:  # clamp every coefficient to 11 bits: a valid key (random bytes rarely are)
        data = bytes(b & 0x7F if i % 3 != 1 else b & 0x77 for i, b in enumerate(data))
    assert mlkem768_modulus_check(data) == modulus_check_reference(data)


@needs_mlkem
def test_hybrid_invalid_client_shares() -> None:
    share = ClientKeyShare.generate(X25519MLKEM768).key_exchange
    ek, x = share[:1184], share[1184:]
    for bad in (
        set_coefficient(ek, 0, 3329) + x,  # modulus check
        set_coefficient(ek, 767, 4095) + x,
        b"\xff" * 1184 + x,
        ek,  # no X25519 part
        x + ek,  # parts swapped
        ek + bytes(32),  # X25519 zero point
        share[: 1184 + 31],
        b"\x00" * 1216 + b"\x00",
    ):
        server_rejects(X25519MLKEM768, bad)


@needs_mlkem
def test_hybrid_invalid_server_shares() -> None:
    share = ClientKeyShare.generate(X25519MLKEM768)
    server_share, secret = server_key_exchange(X25519MLKEM768, share.key_exchange)
    ct, x = server_share[:1088], server_share[1088:]
    for bad in (ct, ct[:-1] + x, ct + x + b"\x00", ct + bytes(32), b"", x, x + x):
        illegal(functools.partial(share.shared_secret, bad))
    # A tampered ciphertext of the right length decapsulates (implicit rejection) to an
    # unrelated secret; the handshake then fails at Finished, as the draft intends.
    tampered = bytes([ct[0] ^ 1]) + ct[1:] + x
    other = share.shared_secret(tampered)
    assert len(other) == 64 and other[:32] != secret[:32] and other[32:] == secret[32:]


# --- hypothesis: any peer share ----------------------------------------------------------------


def only_protocol_error(call: Callable[[], bytes], group: int) -> None:
    try:
        secret = call()
    except ProtocolError as error:
        assert error.alert == AlertDescription.illegal_parameter
    else:
        assert len(secret) == SECRET_LENGTHS[group]


def share_strategy(length: int) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=length + 8),
        st.binary(min_size=length, max_size=length),
        st.binary(min_size=length - 1, max_size=length - 1).map(
            lambda b: b"\x04" + b[1:] + b"\x00"
        ),
    )


@settings(max_examples=150, deadline=None)
@given(data=st.data(), group=st.sampled_from(SUPPORTED_GROUPS))
def test_random_server_share_only_protocol_error(data: st.DataObject, group: int) -> None:
    server_share = data.draw(share_strategy(SERVER_LENGTHS[group]))
    share = ClientKeyShare.generate(group)
    only_protocol_error(lambda: share.shared_secret(server_share), group)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), group=st.sampled_from(SUPPORTED_GROUPS))
def test_random_client_share_only_protocol_error(data: st.DataObject, group: int) -> None:
    client_share = data.draw(share_strategy(CLIENT_LENGTHS[group]))
    only_protocol_error(lambda: server_key_exchange(group, client_share)[1], group)


@needs_mlkem
@settings(max_examples=50, deadline=None)
@given(x_part=st.binary(min_size=32, max_size=32), ek_noise=st.binary(min_size=0, max_size=4))
def test_random_hybrid_x25519_part(x_part: bytes, ek_noise: bytes) -> None:
    """A valid encapsulation key with arbitrary X25519 bytes (reaching past the ML-KEM checks)."""
    ek = ClientKeyShare.generate(X25519MLKEM768).key_exchange[:1184]
    client_share = ek + x_part + ek_noise
    only_protocol_error(lambda: server_key_exchange(X25519MLKEM768, client_share)[1], 0x11EC)


def test_no_secret_in_repr_or_errors() -> None:
    private = os.urandom(32)
    share = ClientKeyShare.from_private_bytes(X25519, private)
    assert private.hex() not in repr(share)
    assert repr(share) == "<ClientKeyShare x25519>"
    assert not hasattr(share, "__dict__")
    error = illegal(lambda: share.shared_secret(bytes(32)))
    assert private.hex() not in str(error)
    assert groups.__all__  # the module's public names are declared

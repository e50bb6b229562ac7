"""Certificates: loading, trust stores, chain validation and getpeercert() (cytls.x509).

The ``ssl`` module is the oracle where it can be one: the same chains go through a real OpenSSL
handshake (``ssl.SSLObject`` over memory BIOs, the client verifying) and must fail with the same
X509_V_ERR code and verify_message as cytls; ``certificate_to_dict`` must equal what
``ssl._ssl._test_decode_cert`` (CPython's ``getpeercert()`` decoder) returns for the same file.
The alerts are those of OpenSSL's ``ssl_x509err2alert`` (ssl/statem/statem_lib.c).
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import itertools
import pickle
import re
import ssl
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pki
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from cytls.crypto.signatures import schemes_for_key
from cytls.errors import CertificateError
from cytls.wire.enums import AlertDescription
from cytls.x509.errors import X509VerifyError, openssl_alert
from cytls.x509.loading import CertificateLoadError, load_cert_chain
from cytls.x509.peercert import certificate_to_dict
from cytls.x509.trust import TrustStore
from cytls.x509.verify import _from_message, verify_client_chain, verify_server_chain

DAY = datetime.timedelta(days=1)


# -- a small PKI shared by the module -------------------------------------------------------------


@dataclass
class World:
    root: pki.Pair
    inter: pki.Pair
    leaf: pki.Pair
    other_root: pki.Pair


@pytest.fixture(scope="module")
def world() -> World:
    root = pki.make_ca("ecdsa-p256", common_name="cytls Test Root")
    inter = pki.make_intermediate(root, "ecdsa-p384", common_name="cytls Test Intermediate")
    leaf = pki.make_leaf(inter, "ecdsa-p256", ["localhost", "127.0.0.1", "::1"])
    other = pki.make_ca("ecdsa-p256", common_name="Some Other CA")
    return World(root, inter, leaf, other)


def store_of(*certs: x509.Certificate) -> TrustStore:
    return TrustStore(certs)


# -- scenarios: cytls and the ssl module on the same chains ---------------------------------------


@dataclass
class Scenario:
    """A server chain, the trusted CAs, the name the client asks for, and the verdict."""

    chain: list[x509.Certificate]
    key: object
    trusted: list[x509.Certificate]
    hostname: str
    check_hostname: bool = True
    code: int = 0  # 0: must verify
    alert: AlertDescription | None = None
    words: tuple[str, ...] = ()  # must appear in the message
    weak_server_key: bool = False  # the ssl server needs @SECLEVEL=0 to load the key


def _expired(world: World) -> Scenario:
    leaf = pki.make_leaf(
        world.inter,
        common_name="expired.example",
        names=["localhost"],
        not_before=datetime.datetime(2024, 12, 1, tzinfo=datetime.UTC),
        not_after=datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC),
    )
    return Scenario(
        [leaf[0], world.inter[0]],
        leaf[1],
        [world.root[0]],
        "localhost",
        code=X509VerifyError.CERT_HAS_EXPIRED,
        alert=AlertDescription.certificate_expired,
        words=("certificate 'CN=expired.example' expired at 2025-01-01 00:00:00 UTC",),
    )


def _not_yet_valid(world: World) -> Scenario:
    start = (pki.now() + 10 * DAY).replace(hour=12, minute=0, second=0)
    leaf = pki.make_leaf(
        world.inter, common_name="future", not_before=start, not_after=start + 30 * DAY
    )
    return Scenario(
        [leaf[0], world.inter[0]],
        leaf[1],
        [world.root[0]],
        "localhost",
        code=X509VerifyError.CERT_NOT_YET_VALID,
        alert=AlertDescription.bad_certificate,
        words=(f"certificate 'CN=future' is not valid before {start:%Y-%m-%d} 12:00:00 UTC",),
    )


def _expired_intermediate(world: World) -> Scenario:
    inter = pki.make_intermediate(
        world.root,
        common_name="Old Intermediate",
        not_before=pki.now() - 300 * DAY,
        not_after=pki.now() - DAY,
    )
    leaf = pki.make_leaf(inter)
    return Scenario(
        [leaf[0], inter[0]],
        leaf[1],
        [world.root[0]],
        "localhost",
        code=X509VerifyError.CERT_HAS_EXPIRED,
        alert=AlertDescription.certificate_expired,
        words=("certificate 'CN=Old Intermediate,O=cytls tests' expired at",),
    )


def _unknown_ca(world: World) -> Scenario:
    return Scenario(
        [world.leaf[0], world.inter[0]],
        world.leaf[1],
        [world.other_root[0]],
        "localhost",
        code=X509VerifyError.UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
        alert=AlertDescription.unknown_ca,
        words=(
            "unable to get local issuer certificate for "
            "'CN=cytls Test Intermediate,O=cytls tests' "
            "(issuer 'CN=cytls Test Root,O=cytls tests' is not a trusted CA)",
        ),
    )


def _missing_intermediate(world: World) -> Scenario:
    return Scenario(
        [world.leaf[0]],
        world.leaf[1],
        [world.root[0]],
        "localhost",
        code=X509VerifyError.UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
        alert=AlertDescription.unknown_ca,
        words=("for 'CN=localhost' (issuer 'CN=cytls Test Intermediate,O=cytls tests'",),
    )


def _expired_from_unknown_ca(world: World) -> Scenario:
    """Both wrong: OpenSSL builds the chain first, so the unknown CA is what is reported."""
    scenario = _expired(world)
    scenario.trusted = [world.other_root[0]]
    scenario.code, scenario.alert = (
        X509VerifyError.UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
        AlertDescription.unknown_ca,
    )
    scenario.words = ("unable to get local issuer certificate",)
    return scenario


def _self_signed(world: World) -> Scenario:
    leaf = pki.make_self_signed(names=["localhost"])
    return Scenario(
        [leaf[0]],
        leaf[1],
        [world.root[0]],
        "localhost",
        code=X509VerifyError.DEPTH_ZERO_SELF_SIGNED_CERT,
        alert=AlertDescription.unknown_ca,
        words=("self-signed certificate 'CN=localhost' is not trusted",),
    )


def _self_signed_trusted(world: World) -> Scenario:
    leaf = pki.make_self_signed(names=["localhost"])
    return Scenario([leaf[0]], leaf[1], [leaf[0]], "localhost")


def _self_signed_ca_style_trusted(world: World) -> Scenario:
    """Like ``openssl req -x509`` makes them (cA=TRUE, key identifiers), trusted as itself."""
    leaf = pki.make_self_signed(names=["localhost"], ca_style=True)
    return Scenario([leaf[0]], leaf[1], [leaf[0]], "localhost")


def _self_signed_ca_style_expired(world: World) -> Scenario:
    leaf = pki.make_self_signed(
        names=["localhost"],
        ca_style=True,
        not_before=pki.now() - 10 * DAY,
        not_after=pki.now() - DAY,
    )
    return Scenario(
        [leaf[0]],
        leaf[1],
        [leaf[0]],
        "localhost",
        code=X509VerifyError.CERT_HAS_EXPIRED,
        alert=AlertDescription.certificate_expired,
        words=("certificate 'CN=localhost' expired at",),
    )


def _self_signed_trusted_wrong_name(world: World) -> Scenario:
    leaf = pki.make_self_signed(names=["localhost"])
    return Scenario(
        [leaf[0]],
        leaf[1],
        [leaf[0]],
        "example.org",
        code=X509VerifyError.HOSTNAME_MISMATCH,
        alert=AlertDescription.bad_certificate,
        words=("not valid for 'example.org'",),
    )


def _self_signed_root_in_chain(world: World) -> Scenario:
    return Scenario(
        [world.leaf[0], world.inter[0], world.root[0]],
        world.leaf[1],
        [world.other_root[0]],
        "localhost",
        code=X509VerifyError.SELF_SIGNED_CERT_IN_CHAIN,
        alert=AlertDescription.unknown_ca,
        words=("self-signed certificate in certificate chain: 'CN=cytls Test Root",),
    )


def _hostname_mismatch(world: World) -> Scenario:
    leaf = pki.make_leaf(world.inter, names=["www.example.com", "example.com"])
    return Scenario(
        [leaf[0], world.inter[0]],
        leaf[1],
        [world.root[0]],
        "other.example",
        code=X509VerifyError.HOSTNAME_MISMATCH,
        alert=AlertDescription.bad_certificate,
        words=(
            "certificate 'CN=www.example.com' is not valid for 'other.example' "
            "(names in it: www.example.com, example.com)",
        ),
    )


def _expired_and_wrong_name(world: World) -> Scenario:
    """OpenSSL checks the name (check_id) before the dates (internal_verify)."""
    scenario = _expired(world)
    scenario.hostname = "other.example"
    scenario.code, scenario.alert = (
        X509VerifyError.HOSTNAME_MISMATCH,
        AlertDescription.bad_certificate,
    )
    scenario.words = ("is not valid for 'other.example' (names in it: localhost)",)
    return scenario


def _ip_mismatch(world: World) -> Scenario:
    return Scenario(
        [world.leaf[0], world.inter[0]],
        world.leaf[1],
        [world.root[0]],
        "10.0.0.1",
        code=X509VerifyError.IP_ADDRESS_MISMATCH,
        alert=AlertDescription.bad_certificate,
        words=("is not valid for IP address 10.0.0.1 (names in it: localhost, 127.0.0.1, ::1)",),
    )


def _ip_only_in_dns_san(world: World) -> Scenario:
    """An IP literal must match an iPAddress SAN; a dNSName that spells it does not count."""
    leaf = pki.make_leaf(world.inter, san_entries=[x509.DNSName("10.1.2.3")])
    return Scenario(
        [leaf[0], world.inter[0]],
        leaf[1],
        [world.root[0]],
        "10.1.2.3",
        code=X509VerifyError.IP_ADDRESS_MISMATCH,
        alert=AlertDescription.bad_certificate,
        words=("not valid for IP address 10.1.2.3",),
    )


def _ip_match(world: World) -> Scenario:
    return Scenario([world.leaf[0], world.inter[0]], world.leaf[1], [world.root[0]], "127.0.0.1")


def _ipv6_match(world: World) -> Scenario:
    return Scenario([world.leaf[0], world.inter[0]], world.leaf[1], [world.root[0]], "::1")


def _wildcard(hostname: str, ok: bool) -> Callable[[World], Scenario]:
    def scenario(world: World) -> Scenario:
        leaf = pki.make_leaf(world.inter, names=["*.example.com"])
        result = Scenario([leaf[0], world.inter[0]], leaf[1], [world.root[0]], hostname)
        if not ok:
            result.code, result.alert = (
                X509VerifyError.HOSTNAME_MISMATCH,
                AlertDescription.bad_certificate,
            )
            result.words = (f"is not valid for '{hostname}' (names in it: *.example.com)",)
        return result

    return scenario


def _wrong_eku(
    world: World, check_hostname: bool = True, *, any_purpose_only: bool = False
) -> Scenario:
    """A leaf for clients only, or (``any_purpose_only``) one whose only extendedKeyUsage is
    anyExtendedKeyUsage: OpenSSL's purpose check refuses both for a TLS server, and so does
    cytls, whether it checks the host name or not (without, it took the second: issue 12)."""
    if any_purpose_only:
        eku, name = [x509.oid.ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE], "any purpose"
        allows = "anyExtendedKeyUsage"
    else:
        eku, name, allows = [pki.CLIENT_AUTH], "client only", "clientAuth"
    leaf = pki.make_leaf(world.inter, common_name=name, eku=eku)
    return Scenario(
        [leaf[0], world.inter[0]],
        leaf[1],
        [world.root[0]],
        "localhost",
        check_hostname=check_hostname,
        code=X509VerifyError.INVALID_PURPOSE,
        alert=AlertDescription.unsupported_certificate,
        words=(
            f"certificate 'CN={name}' is not valid for TLS server authentication "
            f"(serverAuth): its extendedKeyUsage allows {allows}",
        ),
    )


def _no_eku(world: World) -> Scenario:
    leaf = pki.make_leaf(world.inter, eku=None)
    return Scenario([leaf[0], world.inter[0]], leaf[1], [world.root[0]], "localhost")


def _intermediate_for_clients_only(world: World) -> Scenario:
    inter = pki.make_intermediate(world.root, common_name="Client CA", eku=[pki.CLIENT_AUTH])
    leaf = pki.make_leaf(inter)
    return Scenario(
        [leaf[0], inter[0]],
        leaf[1],
        [world.root[0]],
        "localhost",
        code=X509VerifyError.INVALID_PURPOSE,
        alert=AlertDescription.unsupported_certificate,
        words=("CA certificate 'CN=Client CA,O=cytls tests' is not valid for TLS server",),
    )


def _not_a_ca(world: World) -> Scenario:
    inter = pki.make_intermediate(world.root, common_name="Not A CA", ca=False)
    leaf = pki.make_leaf(inter)
    return Scenario(
        [leaf[0], inter[0]],
        leaf[1],
        [world.root[0]],
        "localhost",
        code=X509VerifyError.INVALID_CA,
        alert=AlertDescription.unknown_ca,
        words=("'CN=Not A CA,O=cytls tests' issued 'CN=localhost' but is not a CA",),
    )


def _path_length(world: World) -> Scenario:
    upper = pki.make_intermediate(world.root, common_name="Upper", path_length=0)
    lower = pki.make_intermediate(upper, common_name="Lower")
    leaf = pki.make_leaf(lower)
    return Scenario(
        [leaf[0], lower[0], upper[0]],
        leaf[1],
        [world.root[0]],
        "localhost",
        code=X509VerifyError.PATH_LENGTH_EXCEEDED,
        alert=AlertDescription.unknown_ca,
        words=("'CN=Upper,O=cytls tests' allows 0 intermediate CA certificate(s) below it",),
    )


def _bad_signature(world: World) -> Scenario:
    """The leaf's signature value is altered: OpenSSL finds the issuer (names and key
    identifiers match) and then the signature fails, X509_V_ERR_CERT_SIGNATURE_FAILURE."""
    leaf = pki.make_leaf(world.inter, common_name="tampered", names=["localhost"])
    der = bytearray(leaf[0].public_bytes(serialization.Encoding.DER))
    der[-3] ^= 0x01  # inside the ECDSA signature's s (the DER structure stays intact)
    tampered = x509.load_der_x509_certificate(bytes(der))
    return Scenario(
        [tampered, world.inter[0]],
        leaf[1],
        [world.root[0]],
        "localhost",
        code=X509VerifyError.CERT_SIGNATURE_FAILURE,
        alert=AlertDescription.decrypt_error,
        words=("the signature on certificate 'CN=tampered' does not verify with the key of",),
    )


def _weak_leaf_key(world: World) -> Scenario:
    leaf = pki.make_leaf(world.inter, "rsa1024", common_name="weak")
    return Scenario(
        [leaf[0], world.inter[0]],
        leaf[1],
        [world.root[0]],
        "localhost",
        code=X509VerifyError.EE_KEY_TOO_SMALL,
        alert=AlertDescription.bad_certificate,
        words=("certificate 'CN=weak' has a 1024-bit RSA key",),
        weak_server_key=True,
    )


def _no_check_wrong_name(world: World) -> Scenario:
    return Scenario(
        [world.leaf[0], world.inter[0]],
        world.leaf[1],
        [world.root[0]],
        "other.example",
        check_hostname=False,
    )


def _no_check_expired(world: World) -> Scenario:
    scenario = _expired(world)
    scenario.hostname, scenario.check_hostname = "other.example", False
    return scenario


def _no_check_unknown_ca(world: World) -> Scenario:
    scenario = _unknown_ca(world)
    scenario.hostname, scenario.check_hostname = "other.example", False
    return scenario


def _valid(world: World) -> Scenario:
    return Scenario([world.leaf[0], world.inter[0]], world.leaf[1], [world.root[0]], "localhost")


def _valid_key_type(key_type: str) -> Callable[[World], Scenario]:
    def scenario(world: World) -> Scenario:
        leaf = pki.make_leaf(world.inter, key_type)
        return Scenario([leaf[0], world.inter[0]], leaf[1], [world.root[0]], "localhost")

    return scenario


def _valid_rsa_pki(world: World) -> Scenario:
    root = pki.make_ca("rsa2048")
    inter = pki.make_intermediate(root, "rsa3072")
    leaf = pki.make_leaf(inter, "rsa2048")
    return Scenario([leaf[0], inter[0]], leaf[1], [root[0]], "localhost")


def _intermediate_trusted(world: World) -> Scenario:
    """Any trusted certificate is an anchor (X509_V_FLAG_PARTIAL_CHAIN)."""
    return Scenario([world.leaf[0]], world.leaf[1], [world.inter[0]], "localhost")


SCENARIOS: dict[str, Callable[[World], Scenario]] = {
    "valid": _valid,
    "valid-rsa-pki": _valid_rsa_pki,
    "valid-ed25519-leaf": _valid_key_type("ed25519"),
    "valid-ed448-leaf": _valid_key_type("ed448"),
    "valid-rsa-pss-leaf": _valid_key_type("rsa-pss"),
    "valid-p521-leaf": _valid_key_type("ecdsa-p521"),
    "ip-match": _ip_match,
    "ipv6-match": _ipv6_match,
    "no-eku": _no_eku,
    "wildcard": _wildcard("www.example.com", True),
    "wildcard-case": _wildcard("WWW.Example.COM", True),
    "wildcard-two-labels": _wildcard("a.b.example.com", False),
    "wildcard-bare-domain": _wildcard("example.com", False),
    "self-signed-trusted": _self_signed_trusted,
    "self-signed-ca-style-trusted": _self_signed_ca_style_trusted,
    "self-signed-ca-style-expired": _self_signed_ca_style_expired,
    "no-check-hostname-wrong-name": _no_check_wrong_name,
    "expired": _expired,
    "not-yet-valid": _not_yet_valid,
    "expired-intermediate": _expired_intermediate,
    "unknown-ca": _unknown_ca,
    "missing-intermediate": _missing_intermediate,
    "expired-from-unknown-ca": _expired_from_unknown_ca,
    "self-signed": _self_signed,
    "self-signed-trusted-wrong-name": _self_signed_trusted_wrong_name,
    "self-signed-root-in-chain": _self_signed_root_in_chain,
    "hostname-mismatch": _hostname_mismatch,
    "expired-and-wrong-name": _expired_and_wrong_name,
    "ip-mismatch": _ip_mismatch,
    "ip-only-in-dns-san": _ip_only_in_dns_san,
    "wrong-eku": _wrong_eku,
    "wrong-eku-no-check-hostname": lambda world: _wrong_eku(world, check_hostname=False),
    "any-eku-leaf": lambda world: _wrong_eku(world, any_purpose_only=True),
    "any-eku-leaf-no-check-hostname": lambda world: _wrong_eku(
        world, check_hostname=False, any_purpose_only=True
    ),
    "intermediate-for-clients-only": _intermediate_for_clients_only,
    "not-a-ca": _not_a_ca,
    "path-length": _path_length,
    "bad-signature": _bad_signature,
    "weak-leaf-key": _weak_leaf_key,
    "no-check-hostname-expired": _no_check_expired,
    "no-check-hostname-unknown-ca": _no_check_unknown_ca,
}
# Where Python's ssl module (OpenSSL 3) verifies differently from cytls on purpose: none of the
# scenarios above. (The common name fallback and Ed25519/RSASSA-PSS CAs are the documented
# differences; see test_no_common_name_fallback and test_eddsa_ca_is_refused.)
WITH_INTERMEDIATE_TRUST = {"intermediate-trusted": _intermediate_trusted}


@pytest.mark.parametrize("name", list(SCENARIOS) + list(WITH_INTERMEDIATE_TRUST))
def test_verify_server_chain(name: str, world: World) -> None:
    scenario = {**SCENARIOS, **WITH_INTERMEDIATE_TRUST}[name](world)
    chain = pki.der(*scenario.chain)
    store = store_of(*scenario.trusted)
    kwargs = {"hostname": scenario.hostname, "check_hostname": scenario.check_hostname}
    if not scenario.code:
        path = verify_server_chain(chain, store, **kwargs)
        assert path[0] == scenario.chain[0]
        assert path[-1] in store
        for child, issuer in itertools.pairwise(path):
            child.verify_directly_issued_by(issuer)
        return
    with pytest.raises(CertificateError) as info:
        verify_server_chain(chain, store, **kwargs)
    error = info.value
    assert (error.alert, error.verify_code) == (scenario.alert, scenario.code), str(error)
    assert error.alert == openssl_alert(scenario.code)
    for words in scenario.words:
        assert words in str(error)
    assert isinstance(error, ssl.SSLCertVerificationError)
    assert isinstance(error, ssl.SSLError)


# -- the ssl module as oracle ---------------------------------------------------------------------


def ssl_handshake(tmp_path: Path, scenario: Scenario) -> ssl.SSLCertVerificationError | None:
    """Run a TLS handshake between two ``ssl.SSLObject``s over memory BIOs; the client
    verifies the scenario's chain. Returns the client's verification error, if any."""
    certfile = pki.write_pem(tmp_path, "server.pem", *scenario.chain, key=scenario.key)
    cafile = pki.write_pem(tmp_path, "ca.pem", *scenario.trusted)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if scenario.weak_server_key:
        server_context.set_ciphers("DEFAULT:@SECLEVEL=0")
    server_context.load_cert_chain(certfile)
    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_context.check_hostname = scenario.check_hostname
    client_context.load_verify_locations(cafile)
    bios = [ssl.MemoryBIO() for _ in range(4)]
    client = client_context.wrap_bio(bios[0], bios[1], server_hostname=scenario.hostname)
    server = server_context.wrap_bio(bios[2], bios[3], server_side=True)
    done = {client: False, server: False}
    for _ in range(10):
        for side in (client, server):
            if done[side]:
                continue
            try:
                side.do_handshake()
                done[side] = True
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLCertVerificationError as exc:
                assert side is client
                return exc
            except ssl.SSLError:
                assert side is server  # the server sees the client's alert
                done[server] = True
        bios[2].write(bios[1].read())
        bios[0].write(bios[3].read())
        if done[client]:
            return None
    raise AssertionError("the ssl handshake did not finish")


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_same_verdict_as_the_ssl_module(name: str, world: World, tmp_path: Path) -> None:
    """OpenSSL (through ``ssl``) accepts what cytls accepts and, for what cytls refuses,
    reports the same X509_V_ERR code and the same verify_message."""
    scenario = SCENARIOS[name](world)
    oracle = ssl_handshake(tmp_path, scenario)
    if not scenario.code:
        assert oracle is None, f"ssl refused: {oracle}"
        return
    assert oracle is not None, "ssl accepted the chain"
    with pytest.raises(CertificateError) as info:
        verify_server_chain(
            pki.der(*scenario.chain),
            store_of(*scenario.trusted),
            hostname=scenario.hostname,
            check_hostname=scenario.check_hostname,
        )
    assert info.value.verify_code == oracle.verify_code
    assert info.value.verify_message == oracle.verify_message


# -- more verification cases ----------------------------------------------------------------------


def test_verified_path_runs_leaf_to_root(world: World) -> None:
    path = verify_server_chain(
        pki.der(world.leaf[0], world.inter[0]),
        store_of(world.root[0]),
        hostname="localhost",
        check_hostname=True,
    )
    assert path == [world.leaf[0], world.inter[0], world.root[0]]


def test_extra_and_unordered_certificates_are_tolerated(world: World) -> None:
    """RFC 8446 §4.4.2: only the leaf must come first; the rest may be in any order and
    include certificates that are not needed."""
    path = verify_server_chain(
        pki.der(world.leaf[0], world.other_root[0], world.root[0], world.inter[0]),
        store_of(world.root[0]),
        hostname="localhost",
        check_hostname=True,
    )
    assert path == [world.leaf[0], world.inter[0], world.root[0]]


def test_no_hostname_verifies_the_chain_only(world: World) -> None:
    path = verify_server_chain(
        pki.der(world.leaf[0], world.inter[0]),
        store_of(world.root[0]),
        hostname=None,
        check_hostname=True,
    )
    assert path[0] == world.leaf[0]


def test_no_check_hostname_and_no_subject_alt_name(world: World) -> None:
    """With no name to match, a leaf without subjectAltName is acceptable (as with ssl)."""
    leaf = pki.make_leaf(world.inter, san=False)
    verify_server_chain(
        pki.der(leaf[0], world.inter[0]),
        store_of(world.root[0]),
        hostname="localhost",
        check_hostname=False,
    )


def test_no_common_name_fallback(world: World) -> None:
    """RFC 6125 §6.4.4 / CA/B BR: no subjectAltName, no name. (``ssl`` would still accept
    CN=localhost here because hostname_checks_common_name defaults to True.)"""
    leaf = pki.make_leaf(world.inter, san=False)
    with pytest.raises(CertificateError) as info:
        verify_server_chain(
            pki.der(leaf[0], world.inter[0]),
            store_of(world.root[0]),
            hostname="localhost",
            check_hostname=True,
        )
    assert info.value.verify_code == X509VerifyError.HOSTNAME_MISMATCH
    assert "has no subjectAltName extension" in str(info.value)


@pytest.mark.parametrize(
    ("hostname", "san"),
    [
        ("localhost.", "localhost"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("LocalHost", "localhost"),
        ("[::1]", "::1"),
    ],
)
def test_hostname_forms(world: World, hostname: str, san: str) -> None:
    leaf = pki.make_leaf(world.inter, names=[san])
    verify_server_chain(
        pki.der(leaf[0], world.inter[0]),
        store_of(world.root[0]),
        hostname=hostname,
        check_hostname=True,
    )


@pytest.mark.parametrize("hostname", ["bad_name.example", "a..b", "-x.example", "*.example.com"])
def test_invalid_hostname(world: World, hostname: str) -> None:
    with pytest.raises(CertificateError) as info:
        verify_server_chain(
            pki.der(world.leaf[0], world.inter[0]),
            store_of(world.root[0]),
            hostname=hostname,
            check_hostname=True,
        )
    assert (info.value.alert, info.value.verify_code) == (AlertDescription.bad_certificate, 62)
    assert "is not a valid DNS host name" in str(info.value)


def test_validation_time(world: World) -> None:
    """``now`` replaces the clock; a naive value is UTC."""
    chain = pki.der(world.leaf[0], world.inter[0])
    store = store_of(world.root[0])
    kwargs = {"hostname": "localhost", "check_hostname": True}
    later = world.leaf[0].not_valid_after_utc + DAY
    with pytest.raises(CertificateError) as info:
        verify_server_chain(chain, store, now=later, **kwargs)
    assert info.value.verify_code == X509VerifyError.CERT_HAS_EXPIRED
    before = world.leaf[0].not_valid_before_utc - DAY
    with pytest.raises(CertificateError) as info:
        verify_server_chain(chain, store, now=before.replace(tzinfo=None), **kwargs)
    assert info.value.verify_code == X509VerifyError.CERT_NOT_YET_VALID
    inside = world.leaf[0].not_valid_before_utc + datetime.timedelta(hours=1)
    verify_server_chain(chain, store, now=inside, **kwargs)


def test_expired_root(world: World) -> None:
    root = pki.make_ca(common_name="Old Root", not_before=pki.now() - 9 * DAY, not_after=pki.now())
    leaf = pki.make_leaf(root)
    with pytest.raises(CertificateError) as info:
        verify_server_chain(
            pki.der(leaf[0]),
            store_of(root[0]),
            hostname="localhost",
            check_hostname=True,
            now=pki.now() + DAY,
        )
    assert (info.value.alert, info.value.verify_code) == (AlertDescription.certificate_expired, 10)
    assert "certificate 'CN=Old Root,O=cytls tests' expired at" in str(info.value)


def test_weak_ca_key(world: World) -> None:
    root = pki.make_ca("rsa1024", common_name="Weak Root")
    leaf = pki.make_leaf(root)
    with pytest.raises(CertificateError) as info:
        verify_server_chain(
            pki.der(leaf[0]), store_of(root[0]), hostname="localhost", check_hostname=True
        )
    assert (info.value.alert, info.value.verify_code) == (AlertDescription.bad_certificate, 67)
    assert info.value.verify_message == "CA certificate key too weak"
    assert "'CN=Weak Root,O=cytls tests' has a 1024-bit RSA key" in str(info.value)


@pytest.mark.parametrize("key_type", ["ed25519", "ed448", "rsa-pss"])
def test_eddsa_ca_is_refused(key_type: str) -> None:
    """cryptography's Web PKI profile allows only RSA and ECDSA keys in CAs (CA/B BR
    §7.1.3.1). OpenSSL would accept these; cytls says clearly why it does not."""
    root = pki.make_ca(key_type, common_name="Modern Root")
    leaf = pki.make_leaf(root, key_type)
    with pytest.raises(CertificateError) as info:
        verify_server_chain(
            pki.der(leaf[0]), store_of(root[0]), hostname="localhost", check_hostname=True
        )
    assert (info.value.alert, info.value.verify_code) == (
        AlertDescription.unsupported_certificate,
        1,
    )
    assert "CA certificate 'CN=Modern Root,O=cytls tests' has an" in str(info.value)
    assert "accepts only RSA and ECDSA P-256/P-384/P-521 keys for CAs" in str(info.value)


def test_leaf_key_that_cannot_sign_in_tls13(world: World) -> None:
    leaf = pki.make_leaf(world.inter, key=ec.generate_private_key(ec.SECP256K1()))
    with pytest.raises(CertificateError) as info:
        verify_server_chain(
            pki.der(leaf[0], world.inter[0]),
            store_of(world.root[0]),
            hostname="localhost",
            check_hostname=True,
        )
    assert info.value.alert == AlertDescription.unsupported_certificate
    assert "has a secp256k1 EC public key, which cannot sign in TLS 1.3" in str(info.value)


def test_leaf_that_claims_to_be_a_ca(world: World) -> None:
    """The Web PKI leaf profile refuses cA=TRUE in a leaf issued by a CA (OpenSSL does not
    look); the error names it with X509_V_ERR_INVALID_NON_CA."""
    leaf, _ = pki.make_intermediate(world.inter, common_name="CA as leaf")
    with pytest.raises(CertificateError) as info:
        verify_server_chain(
            pki.der(leaf, world.inter[0]),
            store_of(world.root[0]),
            hostname="localhost",
            check_hostname=False,
        )
    assert info.value.verify_code == X509VerifyError.INVALID_NON_CA
    assert "'CN=CA as leaf,O=cytls tests' is a CA certificate" in str(info.value)


def test_missing_authority_key_identifier(world: World) -> None:
    leaf = pki.make_leaf(world.inter, common_name="no aki", aki=False)
    with pytest.raises(CertificateError) as info:
        verify_server_chain(
            pki.der(leaf[0], world.inter[0]),
            store_of(world.root[0]),
            hostname="localhost",
            check_hostname=True,
        )
    assert info.value.verify_code == X509VerifyError.MISSING_AUTHORITY_KEY_IDENTIFIER
    assert info.value.alert == AlertDescription.certificate_unknown
    assert "'CN=no aki'" in str(info.value)


def test_empty_trust_store(world: World) -> None:
    with pytest.raises(CertificateError) as info:
        verify_server_chain(
            pki.der(world.leaf[0], world.inter[0]),
            TrustStore(),
            hostname="localhost",
            check_hostname=True,
        )
    assert (info.value.alert, info.value.verify_code) == (AlertDescription.unknown_ca, 20)
    assert "the trust store is empty" in str(info.value)


def test_empty_chain() -> None:
    """RFC 8446 §4.4.2.4: a server must send a certificate; an empty one is decode_error."""
    with pytest.raises(CertificateError) as info:
        verify_server_chain([], TrustStore(), hostname="localhost", check_hostname=True)
    assert info.value.alert == AlertDescription.decode_error
    with pytest.raises(CertificateError) as info:
        verify_client_chain([], TrustStore())
    assert info.value.alert == AlertDescription.certificate_required


@pytest.mark.parametrize("position", [0, 1])
def test_malformed_certificate(world: World, position: int) -> None:
    """OpenSSL: a certificate that does not parse is bad_certificate."""
    chain = pki.der(world.leaf[0], world.inter[0])
    chain[position] = chain[position][:-10]
    with pytest.raises(CertificateError) as info:
        verify_server_chain(chain, store_of(world.root[0]), hostname="x", check_hostname=True)
    assert info.value.alert == AlertDescription.bad_certificate
    assert ("leaf certificate" if position == 0 else "certificate #1") in str(info.value)


# The DER of the authorityKeyIdentifier and subjectKeyIdentifier OIDs (RFC 5280 §4.2.1.1-2).
AKI_OID = b"\x06\x03\x55\x1d\x23"
SKI_OID = b"\x06\x03\x55\x1d\x0e"


@pytest.mark.parametrize("purpose", ["server", "client"])
def test_duplicate_extension(world: World, purpose: str) -> None:
    """An intermediate whose authorityKeyIdentifier is relabelled subjectKeyIdentifier (so
    that one appears twice, RFC 5280 §4.2), re-signed: cryptography parses it, but raises
    DuplicateExtension on the first read of any extension. It is a malformed certificate,
    bad_certificate, not an uncaught DuplicateExtension out of the diagnosis (found by
    tests/fuzz/fuzz_certs.py, tests/fuzz/regressions/fuzz_certs/)."""
    inter = x509.load_der_x509_certificate(
        pki.resigned(world.inter[0], world.root[1], AKI_OID, SKI_OID)
    )
    with pytest.raises(x509.DuplicateExtension):
        inter.extensions  # noqa: B018
    leaf = pki.make_leaf(world.inter, names=["localhost"], eku="serverAuth|clientAuth")
    chain = pki.der(leaf[0], inter)
    with pytest.raises(CertificateError) as info:
        if purpose == "server":
            verify_server_chain(
                chain, store_of(world.root[0]), hostname="localhost", check_hostname=True
            )
        else:
            verify_client_chain(chain, store_of(world.root[0]))
    assert info.value.alert == AlertDescription.bad_certificate
    assert "certificate #1 of the chain is malformed" in str(info.value)


def test_error_pickles(world: World) -> None:
    with pytest.raises(CertificateError) as info:
        verify_server_chain(
            pki.der(world.leaf[0], world.inter[0]),
            store_of(world.root[0]),
            hostname="other.example",
            check_hostname=True,
        )
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.alert, copy.verify_code, copy.verify_message) == (
        info.value.alert,
        info.value.verify_code,
        info.value.verify_message,
    )


# -- client certificates --------------------------------------------------------------------------


def test_client_chain(world: World) -> None:
    client = pki.make_leaf(world.inter, names=[], common_name="alice", eku=[pki.CLIENT_AUTH])
    path = verify_client_chain(pki.der(client[0], world.inter[0]), store_of(world.root[0]))
    assert path == [client[0], world.inter[0], world.root[0]]


def test_client_chain_wrong_purpose(world: World) -> None:
    server = pki.make_leaf(world.inter, common_name="server only", eku="serverAuth")
    with pytest.raises(CertificateError) as info:
        verify_client_chain(pki.der(server[0], world.inter[0]), store_of(world.root[0]))
    assert (info.value.alert, info.value.verify_code) == (
        AlertDescription.unsupported_certificate,
        26,
    )
    assert "not valid for TLS client authentication (clientAuth)" in str(info.value)


def test_client_chain_errors(world: World) -> None:
    client = pki.make_leaf(
        world.inter,
        common_name="bob",
        not_before=pki.now() - 9 * DAY,
        not_after=pki.now() - DAY,
    )
    with pytest.raises(CertificateError) as info:
        verify_client_chain(pki.der(client[0], world.inter[0]), store_of(world.root[0]))
    assert (info.value.alert, info.value.verify_code) == (AlertDescription.certificate_expired, 10)
    with pytest.raises(CertificateError) as info:
        verify_client_chain(pki.der(client[0]), store_of(world.other_root[0]))
    assert (info.value.alert, info.value.verify_code) == (AlertDescription.unknown_ca, 20)


def test_ca_without_key_usage(world: World) -> None:
    """The Web PKI profile requires keyUsage in CAs (OpenSSL only in X509_V_FLAG_X509_STRICT,
    where it reports X509_V_ERR_CA_CERT_MISSING_KEY_USAGE)."""
    inter = pki.make_intermediate(world.root, common_name="No KU", key_usage=False)
    leaf = pki.make_leaf(inter)
    with pytest.raises(CertificateError) as info:
        verify_server_chain(
            pki.der(leaf[0], inter[0]),
            store_of(world.root[0]),
            hostname="localhost",
            check_hostname=True,
        )
    assert info.value.verify_code == X509VerifyError.CA_CERT_MISSING_KEY_USAGE
    assert info.value.verify_message == "CA cert does not include key usage extension"


def test_chain_too_long(world: World) -> None:
    """cryptography builds paths of at most 8 intermediates (OpenSSL: 100)."""
    cas = [world.root]
    for _ in range(9):
        cas.append(pki.make_intermediate(cas[-1]))
    leaf = pki.make_leaf(cas[-1])
    with pytest.raises(CertificateError) as info:
        verify_server_chain(
            pki.der(leaf[0], *(ca[0] for ca in cas[1:])),
            store_of(world.root[0]),
            hostname="localhost",
            check_hostname=True,
        )
    assert (info.value.alert, info.value.verify_code) == (
        AlertDescription.unknown_ca,
        X509VerifyError.CERT_CHAIN_TOO_LONG,
    )


# The texts of cryptography's VerificationError (cryptography-x509-verification) that the
# diagnosis leaves to the message map, and what they become.
CRYPTOGRAPHY_MESSAGES = [
    ("leaf certificate has no matching subjectAltName", X509VerifyError.HOSTNAME_MISMATCH),
    ("missing required extension: leaf server certificate has no subjectAltName", 87),
    ("invalid extension: 2.5.29.17: Certificate is missing required extension", 87),
    ("candidates exhausted: no permitted name constraints matched SAN", 47),
    ("candidates exhausted: excluded name constraint matched SAN", 48),
    ("candidates exhausted: path length constraint violated", 25),
    ("candidates exhausted: basicConstraints.cA must be asserted in a CA certificate", 79),
    ("basicConstraints.cA must not be asserted in an EE certificate", 37),
    ("candidates exhausted: keyUsage.keyCertSign must be asserted in a CA certificate", 32),
    ("candidates exhausted: invalid extension: 2.5.29.15: Certificate is missing required", 92),
    ("EE keyUsage must not assert keyCertSign", 82),
    ("EE subjectAltName MUST be critical when subject is empty", 88),
    ("required EKU not found", 26),
    ("candidates exhausted: Neither EKU nor anyEKU could be found", 26),
    ("Python extension validator failed: ValueError: cytls purpose check: no", 26),
    ("candidates exhausted: signature does not match", 7),
    ("candidates exhausted: RSA key is too weak", 67),
    ("candidates exhausted: Forbidden public key algorithm: AlgorithmIdentifier { ... }", 1),
    ("candidates exhausted: Forbidden signature algorithm: AlgorithmIdentifier { ... }", 1),
    ("invalid extension: 2.5.29.35: Certificate is missing required extension", 85),
    ("certificate must be an X509v3 certificate", 93),
    ("candidates exhausted: chain construction exceeds max depth", 22),
    ("fatal error: Exceeded maximum signature check limit", 22),
    ("candidates exhausted: all candidates exhausted with no interior errors", 20),
    ("invalid extension: 2.5.29.19: Certificate extension has incorrect criticality", 41),
    ("certificate must have a serial between 1 and 20 octets", 1),
    ("validity dates between 1950 and 2049 must be UtcTime", 1),
]


@pytest.mark.parametrize(("text", "code"), CRYPTOGRAPHY_MESSAGES)
def test_verification_error_texts(world: World, text: str, code: int) -> None:
    detail = f"validation failed: {text} (encountered processing <Certificate(subject=...)>)"
    error = _from_message(detail, world.leaf[0])
    assert error.verify_code == code
    assert text in str(error) and "encountered processing" not in str(error)
    assert "'CN=localhost'" in str(error)
    if code == 1:
        assert error.verify_message == text
        expected = (
            AlertDescription.unsupported_certificate
            if "Forbidden" in text
            else AlertDescription.certificate_unknown
        )
        assert error.alert == expected
    else:
        assert error.alert == openssl_alert(code)


def test_alert_table() -> None:
    """ssl_x509err2alert (OpenSSL 3.x, ssl/statem/statem_lib.c)."""
    assert openssl_alert(X509VerifyError.CERT_HAS_EXPIRED) == AlertDescription.certificate_expired
    assert openssl_alert(X509VerifyError.CERT_NOT_YET_VALID) == AlertDescription.bad_certificate
    assert openssl_alert(X509VerifyError.HOSTNAME_MISMATCH) == AlertDescription.bad_certificate
    assert openssl_alert(X509VerifyError.IP_ADDRESS_MISMATCH) == AlertDescription.bad_certificate
    assert (
        openssl_alert(X509VerifyError.UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
        == AlertDescription.unknown_ca
    )
    assert openssl_alert(X509VerifyError.DEPTH_ZERO_SELF_SIGNED_CERT) == AlertDescription.unknown_ca
    assert openssl_alert(X509VerifyError.SELF_SIGNED_CERT_IN_CHAIN) == AlertDescription.unknown_ca
    assert (
        openssl_alert(X509VerifyError.INVALID_PURPOSE) == AlertDescription.unsupported_certificate
    )
    assert openssl_alert(X509VerifyError.CERT_SIGNATURE_FAILURE) == AlertDescription.decrypt_error
    assert openssl_alert(X509VerifyError.INVALID_CA) == AlertDescription.unknown_ca
    assert openssl_alert(X509VerifyError.PATH_LENGTH_EXCEEDED) == AlertDescription.unknown_ca
    assert openssl_alert(X509VerifyError.EE_KEY_TOO_SMALL) == AlertDescription.bad_certificate
    assert (
        openssl_alert(X509VerifyError.MISSING_AUTHORITY_KEY_IDENTIFIER)
        == AlertDescription.certificate_unknown
    )
    assert openssl_alert(12345) == AlertDescription.certificate_unknown


# -- load_cert_chain ------------------------------------------------------------------------------


def test_load_cert_chain(world: World, tmp_path: Path) -> None:
    certfile, keyfile = pki.write_chain(tmp_path, world.leaf, world.inter[0])
    chain, key = load_cert_chain(certfile, keyfile)
    assert chain == [world.leaf[0], world.inter[0]]
    assert key.public_key() == world.leaf[1].public_key()
    ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(certfile, keyfile)  # same files


def test_load_cert_chain_key_in_certfile(world: World, tmp_path: Path) -> None:
    both = pki.write_pem(tmp_path, "both.pem", world.leaf[0], world.inter[0], key=world.leaf[1])
    chain, key = load_cert_chain(str(both))
    assert len(chain) == 2 and key.public_key() == world.leaf[1].public_key()
    chain, key = load_cert_chain(bytes(both))
    assert len(chain) == 2


@pytest.mark.parametrize(
    "password",
    [b"secret", "secret", bytearray(b"secret"), lambda: "secret", lambda: b"secret"],
    ids=["bytes", "str", "bytearray", "callable-str", "callable-bytes"],
)
def test_load_cert_chain_encrypted_key(world: World, tmp_path: Path, password) -> None:
    certfile, keyfile = pki.write_chain(tmp_path, world.leaf, password=b"secret")
    _, key = load_cert_chain(certfile, keyfile, password)
    assert key.public_key() == world.leaf[1].public_key()


def test_load_cert_chain_traditional_encrypted_key(tmp_path: Path) -> None:
    root = pki.make_ca("rsa2048")
    leaf = pki.make_leaf(root, "rsa2048")
    keyfile = tmp_path / "rsa.key"
    keyfile.write_bytes(pki.key_pem(leaf[1], b"pw", traditional=True))
    assert b"Proc-Type: 4,ENCRYPTED" in keyfile.read_bytes()
    certfile = pki.write_pem(tmp_path, "rsa.pem", leaf[0])
    _, key = load_cert_chain(certfile, keyfile, "pw")
    assert key.public_key() == leaf[1].public_key()


def test_password_callable_only_when_needed(world: World, tmp_path: Path) -> None:
    certfile, keyfile = pki.write_chain(tmp_path, world.leaf)

    def never() -> str:
        raise AssertionError("called for an unencrypted key")

    load_cert_chain(certfile, keyfile, never)


@pytest.mark.parametrize(
    ("password", "words"),
    [(None, "encrypted and no password"), (b"wrong", "wrong password")],
)
def test_load_cert_chain_bad_password(world: World, tmp_path: Path, password, words) -> None:
    certfile, keyfile = pki.write_chain(tmp_path, world.leaf, password=b"secret")
    with pytest.raises(CertificateLoadError, match=words) as info:
        load_cert_chain(certfile, keyfile, password)
    assert isinstance(info.value, ssl.SSLError) and isinstance(info.value, ValueError)
    if password is not None:  # (without one, OpenSSL asks on the terminal)
        with pytest.raises(ssl.SSLError):  # the ssl module refuses too
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(certfile, keyfile, password)


def test_load_cert_chain_password_type(world: World, tmp_path: Path) -> None:
    certfile, keyfile = pki.write_chain(tmp_path, world.leaf, password=b"secret")
    with pytest.raises(TypeError):
        load_cert_chain(certfile, keyfile, 42)  # type: ignore[arg-type]


def test_load_cert_chain_mismatch(world: World, tmp_path: Path) -> None:
    other = pki.make_leaf(world.inter)
    certfile = pki.write_pem(tmp_path, "leaf.pem", world.leaf[0])
    keyfile = tmp_path / "other.key"
    keyfile.write_bytes(pki.key_pem(other[1]))
    with pytest.raises(CertificateLoadError, match="key values mismatch") as info:
        load_cert_chain(certfile, keyfile)
    assert info.value.reason == "KEY_VALUES_MISMATCH"
    assert "'CN=localhost'" in str(info.value)
    with pytest.raises(ssl.SSLError, match="KEY_VALUES_MISMATCH"):
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(certfile, keyfile)


@pytest.mark.parametrize(
    ("make_key", "words"),
    [
        (lambda: dsa.generate_private_key(2048), "DSA keys cannot sign in TLS 1.3"),
        (lambda: pki.new_key("rsa1024"), "1024-bit RSA key is too small"),
        (lambda: ec.generate_private_key(ec.SECP256K1()), "secp256k1 cannot sign in TLS 1.3"),
    ],
    ids=["dsa", "rsa1024", "secp256k1"],
)
def test_load_cert_chain_unsupported_keys(world: World, tmp_path: Path, make_key, words) -> None:
    key = make_key()
    cert, _ = pki.make_leaf(world.inter, key=key)
    both = pki.write_pem(tmp_path, "unsupported.pem", cert, key=key)
    with pytest.raises(ValueError, match=words):
        load_cert_chain(both)


@pytest.mark.parametrize("key_type", ["ecdsa-p521", "ed448", "ed25519", "rsa3072", "rsa-pss"])
def test_load_cert_chain_key_types(world: World, tmp_path: Path, key_type: str) -> None:
    leaf = pki.make_leaf(world.inter, key_type)
    certfile, keyfile = pki.write_chain(tmp_path, leaf)
    chain, key = load_cert_chain(certfile, keyfile)
    assert schemes_for_key(key, certificate=chain[0])
    ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(certfile, keyfile)


def test_load_cert_chain_missing_parts(world: World, tmp_path: Path) -> None:
    only_key = tmp_path / "only.key"
    only_key.write_bytes(pki.key_pem(world.leaf[1]))
    with pytest.raises(CertificateLoadError, match="no PEM certificate"):
        load_cert_chain(only_key)
    only_cert = pki.write_pem(tmp_path, "only.pem", world.leaf[0])
    with pytest.raises(CertificateLoadError, match="no PEM private key"):
        load_cert_chain(only_cert)
    with pytest.raises(FileNotFoundError):
        load_cert_chain(tmp_path / "absent.pem")
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n")
    with pytest.raises(CertificateLoadError):
        load_cert_chain(garbage)


# -- TrustStore -----------------------------------------------------------------------------------


def test_trust_store_add(world: World) -> None:
    store = TrustStore()
    assert len(store) == 0
    assert store.add_pem(pki.pem(world.root[0], world.inter[0])) == 2
    assert store.add_pem(pki.pem(world.root[0]).decode()) == 0  # duplicates are ignored
    assert store.add_der(pki.der(world.other_root[0])[0]) == 1
    assert len(store) == 3
    assert store.certificates == [world.root[0], world.inter[0], world.other_root[0]]
    assert world.root[0] in store and world.leaf[0] not in store and "x" not in store
    assert list(store) == store.certificates
    assert store.issuers_of(world.inter[0]) == [world.root[0]]
    assert store.stats() == {"x509": 3, "crl": 0, "x509_ca": 3}
    assert "3 certificates" in repr(store)


def test_trust_store_concatenated_der(world: World) -> None:
    store = TrustStore()
    assert store.add_der(b"".join(pki.der(world.root[0], world.other_root[0]))) == 2
    with pytest.raises(ssl.SSLError):
        store.add_der(b"\x30\x03\x02\x01")
    with pytest.raises(ssl.SSLError):
        store.add_pem(b"no certificates here")


def test_load_verify_locations_like_ssl(world: World, tmp_path: Path) -> None:
    cafile = pki.write_pem(tmp_path, "ca.pem", world.root[0], world.other_root[0])
    ours = TrustStore()
    ours.load_verify_locations(cafile)
    theirs = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    theirs.load_verify_locations(cafile)
    assert ours.stats() == theirs.cert_store_stats()
    assert [certificate_to_dict(cert) for cert in ours] == theirs.get_ca_certs()

    ours = TrustStore()
    ours.load_verify_locations(cadata=pki.pem(world.root[0]).decode("ascii"))
    ours.load_verify_locations(cadata=b"".join(pki.der(world.inter[0], world.other_root[0])))
    assert ours.certificates == [world.root[0], world.inter[0], world.other_root[0]]


def test_load_verify_locations_capath(world: World, tmp_path: Path) -> None:
    pki.write_pem(tmp_path, "a.pem", world.root[0])
    pki.write_pem(tmp_path, "b.0", world.other_root[0], world.root[0])
    (tmp_path / "README").write_text("not a certificate")
    (tmp_path / "sub").mkdir()
    store = TrustStore()
    store.load_verify_locations(capath=tmp_path)
    assert sorted(c.serial_number for c in store) == sorted(
        [world.root[0].serial_number, world.other_root[0].serial_number]
    )
    TrustStore().load_verify_locations(capath=tmp_path / "absent")  # ignored, like ssl


@pytest.mark.parametrize("tag", pki.UNDECODABLE_NAME_TAGS.values(), ids=pki.UNDECODABLE_NAME_TAGS)
def test_trust_store_refuses_a_name_that_does_not_decode(
    world: World, tmp_path: Path, tag: int
) -> None:
    """Given as CA data, a certificate whose subject does not decode is an ssl.SSLError like
    one that does not parse; in a directory (as in the system store) it is skipped. Neither
    reaches the store, where a KeyError or TypeError would come out of a later name lookup."""
    broken = pki.with_undecodable_name(world.leaf[0], world.inter[1], "localhost", tag)
    store = TrustStore()
    with pytest.raises(ssl.SSLError, match="subject name does not decode"):
        store.add_der(broken)
    with pytest.raises(ssl.SSLError, match="subject name does not decode"):
        store.load_verify_locations(cadata=ssl.DER_cert_to_PEM_cert(broken))
    assert len(store) == 0
    (tmp_path / "broken.pem").write_text(ssl.DER_cert_to_PEM_cert(broken))
    pki.write_pem(tmp_path, "root.pem", world.root[0])
    store.load_verify_locations(capath=tmp_path)
    assert store.certificates == [world.root[0]]


def test_load_verify_locations_errors(world: World, tmp_path: Path) -> None:
    store = TrustStore()
    with pytest.raises(TypeError):
        store.load_verify_locations()
    with pytest.raises(TypeError):
        store.load_verify_locations(cadata=42)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        store.load_verify_locations(tmp_path / "absent.pem")
    empty = tmp_path / "empty.pem"
    empty.write_text("nothing\n")
    with pytest.raises(ssl.SSLError):
        store.load_verify_locations(empty)
    with pytest.raises(ssl.SSLError):
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(empty)
    with pytest.raises(ssl.SSLError):
        store.load_verify_locations(cadata="no PEM here")
    assert len(store) == 0


def test_trusted_certificate_pem(world: World) -> None:
    """OpenSSL's 'TRUSTED CERTIFICATE' blocks: the certificate followed by trust settings."""
    body = pki.der(world.root[0])[0] + b"\x30\x00"
    encoded = base64.encodebytes(body).decode("ascii")
    data = f"-----BEGIN TRUSTED CERTIFICATE-----\n{encoded}-----END TRUSTED CERTIFICATE-----\n"
    store = TrustStore()
    assert store.add_pem(data) == 1
    assert store.certificates == [world.root[0]]


def test_load_default_certs(world: World, tmp_path: Path, monkeypatch) -> None:
    """The system store is where ssl.get_default_verify_paths() points (SSL_CERT_FILE...)."""
    cafile = pki.write_pem(tmp_path, "system.pem", world.root[0])
    empty_dir = tmp_path / "certs"
    empty_dir.mkdir()
    monkeypatch.setenv("SSL_CERT_FILE", str(cafile))
    monkeypatch.setenv("SSL_CERT_DIR", str(empty_dir))
    store = TrustStore()
    assert store.load_default_certs() == 1
    assert store.certificates == [world.root[0]]


def test_load_default_certs_falls_back_to_certifi(
    world: World, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "absent.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "absent"))
    monkeypatch.setattr(
        ssl,
        "get_default_verify_paths",
        lambda: ssl.DefaultVerifyPaths(None, None, "", "", "", ""),
    )
    bundle = pki.write_pem(tmp_path, "certifi.pem", world.other_root[0])
    fake = types.ModuleType("certifi")
    fake.where = lambda: str(bundle)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "certifi", fake)
    store = TrustStore()
    assert store.load_default_certs() == 1
    assert store.certificates == [world.other_root[0]]


def test_cryptography_store_is_cached(world: World) -> None:
    store = TrustStore([world.root[0]])
    assert store.cryptography_store() is store.cryptography_store()
    first = store.cryptography_store()
    store.add(world.other_root[0])
    assert store.cryptography_store() is not first
    with pytest.raises(ValueError, match="empty"):
        TrustStore().cryptography_store()


# -- certificate_to_dict --------------------------------------------------------------------------


def _rich_certificate(world: World) -> x509.Certificate:
    names = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Berlin"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Berlin"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cytls e.V."),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Tests"),
        x509.NameAttribute(NameOID.EMAIL_ADDRESS, "tests@example.org"),
        x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "example"),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, "1234"),
        x509.NameAttribute(NameOID.USER_ID, "alice"),
        x509.NameAttribute(NameOID.JURISDICTION_COUNTRY_NAME, "DE"),
        x509.NameAttribute(NameOID.BUSINESS_CATEGORY, "Private Organization"),
        x509.NameAttribute(x509.ObjectIdentifier("2.5.4.13"), "description"),
        x509.NameAttribute(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), "private attribute"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Grüße, ☃"),
    ]
    rdns = [x509.RelativeDistinguishedName([name]) for name in names]
    rdns.append(
        x509.RelativeDistinguishedName(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, "multi"),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "valued"),
            ]
        )
    )
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName("www.example.org"),
            x509.DNSName("*.example.org"),
            x509.IPAddress(ipaddress.ip_address("192.0.2.7")),
            x509.IPAddress(ipaddress.ip_address("2001:db8::7")),
            x509.IPAddress(ipaddress.ip_address("::ffff:10.0.0.1")),
            x509.RFC822Name("someone@example.org"),
            x509.UniformResourceIdentifier("https://example.org/"),
            x509.DirectoryName(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dir")])),
            x509.RegisteredID(x509.ObjectIdentifier("1.2.3.4")),
            x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.99999.2"), b"\x0c\x02hi"),
        ]
    )
    access = x509.AuthorityInformationAccess(
        [
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier("http://ocsp")
            ),
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS,
                x509.UniformResourceIdentifier("http://ca/issuer.der"),
            ),
        ]
    )
    points = x509.CRLDistributionPoints(
        [
            x509.DistributionPoint(
                [x509.UniformResourceIdentifier("http://crl/1.crl"), x509.DNSName("x")],
                None,
                None,
                None,
            ),
            x509.DistributionPoint(
                [x509.UniformResourceIdentifier("http://crl/2.crl")], None, None, None
            ),
        ]
    )
    key = pki.new_key("ecdsa-p256")
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name(rdns))
        .issuer_name(world.inter[0].subject)
        .public_key(key.public_key())
        .serial_number(0x00FF00112233445566778899AABBCCDDEEFF0011)
        .not_valid_before(datetime.datetime(2018, 1, 5, 9, 34, 43, tzinfo=datetime.UTC))
        .not_valid_after(datetime.datetime(2051, 12, 31, 23, 59, 59, tzinfo=datetime.UTC))
        .add_extension(san, critical=False)
        .add_extension(access, critical=False)
        .add_extension(points, critical=False)
        .sign(world.inter[1], hashes.SHA384())
    )


def _with_serial(world: World, serial: int) -> x509.Certificate:
    key = pki.new_key("ecdsa-p256")
    return (
        x509.CertificateBuilder()
        .subject_name(pki.name(f"serial {serial}"))
        .issuer_name(world.root[0].subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(datetime.datetime(2020, 2, 29, 0, 0, 1, tzinfo=datetime.UTC))
        .not_valid_after(datetime.datetime(2030, 10, 10, 10, 10, 10, tzinfo=datetime.UTC))
        .sign(world.root[1], hashes.SHA256())
    )


CERTIFICATES: dict[str, Callable[[World], x509.Certificate]] = {
    "rich": _rich_certificate,
    "leaf": lambda world: world.leaf[0],
    "intermediate": lambda world: world.inter[0],
    "root": lambda world: world.root[0],
    "self-signed": lambda world: pki.make_self_signed()[0],
    "ed25519-leaf": lambda world: pki.make_leaf(world.inter, "ed25519")[0],
    "rsa-pss-leaf": lambda world: pki.make_leaf(world.inter, "rsa-pss")[0],
    "rsa-root": lambda world: pki.make_ca("rsa2048")[0],
    "no-san": lambda world: pki.make_leaf(world.inter, san=False)[0],
    "serial-1": lambda world: _with_serial(world, 1),
    "serial-high-bit": lambda world: _with_serial(world, 0x80),
    "serial-0x7fff": lambda world: _with_serial(world, 0x7FFF),
    "serial-long": lambda world: _with_serial(world, 2**158 + 5),
}


@pytest.mark.parametrize("name", list(CERTIFICATES))
def test_certificate_to_dict_matches_ssl(name: str, world: World, tmp_path: Path) -> None:
    certificate = CERTIFICATES[name](world)
    path = pki.write_pem(tmp_path, "cert.pem", certificate)
    expected = ssl._ssl._test_decode_cert(str(path))  # type: ignore[attr-defined]
    assert certificate_to_dict(certificate) == expected


def test_certificate_to_dict_shape(world: World) -> None:
    result = certificate_to_dict(_rich_certificate(world))
    assert result["notBefore"] == "Jan  5 09:34:43 2018 GMT"
    assert result["notAfter"] == "Dec 31 23:59:59 2051 GMT"
    assert result["serialNumber"] == "FF00112233445566778899AABBCCDDEEFF0011"
    assert result["version"] == 3
    assert (("countryName", "DE"),) in result["subject"]
    assert ("IP Address", "2001:DB8:0:0:0:0:0:7") in result["subjectAltName"]
    assert result["OCSP"] == ("http://ocsp",)
    assert result["caIssuers"] == ("http://ca/issuer.der",)
    assert result["crlDistributionPoints"] == ("http://crl/1.crl", "http://crl/2.crl")
    assert ssl.cert_time_to_seconds(result["notAfter"]) == 2587679999
    assert re.fullmatch(r"[0-9A-F]+", result["serialNumber"])


@pytest.mark.parametrize("tag", pki.UNDECODABLE_NAME_TAGS.values(), ids=pki.UNDECODABLE_NAME_TAGS)
def test_certificate_to_dict_without_an_undecodable_subject_alt_name(
    world: World, tag: int
) -> None:
    """cryptography's verifier accepts a subjectAltName whose directoryName does not decode
    (and matches the host name in it); getpeercert() then leaves that extension out, as any it
    cannot read, instead of raising the KeyError or TypeError that cryptography raises."""
    entries = [x509.DNSName("localhost"), x509.DirectoryName(pki.name("directory"))]
    leaf = pki.make_leaf(world.root, san_entries=entries)[0]
    der = pki.with_undecodable_name(leaf, world.root[1], "directory", tag)
    path = verify_server_chain(
        [der], store_of(world.root[0]), hostname="localhost", check_hostname=True
    )
    assert pki.der(path[0]) == [der]
    result = certificate_to_dict(path[0])
    assert "subjectAltName" not in result
    assert result["subject"] == ((("commonName", "localhost"),),)


def test_match_hostname_style_consumers(world: World) -> None:
    """Code that reads getpeercert()['subjectAltName'] finds the names it expects."""
    result = certificate_to_dict(world.leaf[0])
    assert result["subjectAltName"] == (
        ("DNS", "localhost"),
        ("IP Address", "127.0.0.1"),
        ("IP Address", "0:0:0:0:0:0:0:1"),
    )
    assert result["subject"] == ((("commonName", "localhost"),),)


def test_verify_message_defaults_to_message_for_unspecified(world: World) -> None:
    with pytest.raises(CertificateError) as info:
        verify_server_chain([b"\x30\x00"], TrustStore(), hostname="x", check_hostname=True)
    assert info.value.verify_code == X509VerifyError.UNSPECIFIED
    assert info.value.verify_message == "malformed certificate"
    assert info.value.alert == AlertDescription.bad_certificate

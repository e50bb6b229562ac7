"""cytls as a TLS 1.2 server against real TLS 1.2-only clients (issue 15): ``openssl s_client
-tls1_2``, ``gnutls-cli`` with TLS 1.2 forced and ``curl --tls-max 1.2``.

Each suite with the certificate kind it needs (ECDHE_ECDSA: ECDSA and Ed25519, ECDHE_RSA: RSA),
each group; each client's own report of the connection is checked too, and that the extended
master secret (RFC 7627) was used.
"""

from __future__ import annotations

import pytest

from .driver import close
from .peers import (
    GROUPS,
    TIMEOUT,
    TestPKI,
    gnutls_client,
    listening,
    openssl_client,
    parse_curl,
    parse_gnutls,
    parse_openssl_client,
)
from .test_interop_server import (
    cytls_accept,
    cytls_server_context,
    exchange_lines,
    port_of,
    serve_one_get,
)

pytestmark = pytest.mark.interop

# IANA name -> (OpenSSL's name, GnuTLS's priority items, the certificate kinds it serves)
TLS12_SUITES = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "+AES-128-GCM:+AEAD:+ECDHE-ECDSA",
        ("ecdsa", "ed25519"),
    ),
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "+AES-256-GCM:+AEAD:+ECDHE-ECDSA",
        ("ecdsa",),
    ),
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "+CHACHA20-POLY1305:+AEAD:+ECDHE-ECDSA",
        ("ecdsa",),
    ),
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "+AES-128-GCM:+AEAD:+ECDHE-RSA",
        ("rsa",),
    ),
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "+AES-256-GCM:+AEAD:+ECDHE-RSA",
        ("rsa",),
    ),
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "+CHACHA20-POLY1305:+AEAD:+ECDHE-RSA",
        ("rsa",),
    ),
}
EXPORTER_LABEL = "EXPERIMENTAL-cytls-interop"
EXPORTER_ARGS = ["-keymatexport", EXPORTER_LABEL, "-keymatexportlen", "20"]
CASES = [(suite, kind) for suite, (_, _, kinds) in TLS12_SUITES.items() for kind in kinds]


def check(handshake: object, suite: str, group: str | None = None) -> None:
    assert handshake.version == "TLSv1.2"  # type: ignore[attr-defined]
    assert handshake.cipher_suite == suite  # type: ignore[attr-defined]
    if group is not None:
        assert handshake.group == group  # type: ignore[attr-defined]


@pytest.mark.parametrize(("suite", "kind"), CASES)
@pytest.mark.parametrize("group", GROUPS)
def test_openssl_client(pki: TestPKI, suite: str, kind: str, group: str) -> None:
    openssl_name = TLS12_SUITES[suite][0]
    context = cytls_server_context(pki.servers[kind], groups=group)
    # An ECDSA P-256 certificate needs the client to support P-256 too (RFC 8422 §5.1.1).
    client_groups = list(dict.fromkeys([group, "secp256r1"] if kind == "ecdsa" else [group]))
    with (
        listening() as listener,
        openssl_client(
            port_of(listener),
            cafile=pki.ca_file,
            groups=client_groups,
            version="-tls1_2",
            extra_args=["-cipher", openssl_name, *EXPORTER_ARGS],
        ) as client,
    ):
        with cytls_accept(listener, context, client) as server:
            check(server.handshake, suite, group)
            exported = server.conn.export_keying_material(EXPORTER_LABEL, None, 20)
            exchange_lines(server, client)
            client.close_stdin()
            assert close(server.conn, server.sock, TIMEOUT) is True
        assert client.wait() == 0
    summary = parse_openssl_client(client.stdout_text)
    assert (summary.protocol, summary.cipher, summary.group) == ("TLSv1.2", openssl_name, group)
    # TLS 1.2 sessions print these inside "SSL-Session:", indented.
    assert "Verify return code: 0 (ok)" in client.stdout_text
    assert "Extended master secret: yes" in client.stdout_text
    # RFC 5705 keying material, exported without a context on both sides.
    assert f"Keying material: {exported.hex().upper()}" in client.stdout_text


@pytest.mark.parametrize(("suite", "kind"), CASES)
def test_gnutls_client(pki: TestPKI, suite: str, kind: str) -> None:
    priority = (
        f"NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:-MAC-ALL:-KX-ALL:{TLS12_SUITES[suite][1]}"
    )
    context = cytls_server_context(pki.servers[kind])
    with (
        listening() as listener,
        gnutls_client(port_of(listener), cafile=pki.ca_file, priority=priority) as client,
    ):
        with cytls_accept(listener, context, client) as server:
            check(server.handshake, suite)
            exchange_lines(server, client)
            client.close_stdin()
            assert close(server.conn, server.sock, TIMEOUT) is True
        assert client.wait() == 0
    assert parse_gnutls(client.log).protocol == "TLS1.2"


@pytest.mark.parametrize("kind", ["ecdsa", "rsa"])
def test_curl_tls_max_1_2(pki: TestPKI, kind: str) -> None:
    context = cytls_server_context(pki.servers[kind], alpn=["http/1.1"])
    server, curl = serve_one_get(pki, context, path="/tls12", body=b"over TLS 1.2\n", tls="1.2")
    assert server.handshake.version == "TLSv1.2"
    assert server.handshake.alpn_protocol == "http/1.1"
    summary = parse_curl(curl.stderr_text)
    assert summary.protocol == "TLSv1.2" and summary.alpn == "http/1.1"

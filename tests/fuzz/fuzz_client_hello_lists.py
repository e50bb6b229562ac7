#!/usr/bin/env python3
"""Fuzz cytls._hello, the C walk over a ClientHello's lists, against the Python codec.

Input: one mode byte, then bytes:

0. a ClientHello body: ``sift_client_hello``, then ``ClientHello.parse`` of what it leaves;
1. a 2-byte length n, n bytes of supported_groups data, then key_share data:
   ``read_key_exchange_offer``;
2. signature_algorithms data: ``signature_algorithms_among``;
3. a byte k, then pre_shared_key data: ``read_offered_psks`` keeping k % 6 items.

Oracle (the ``check_*`` functions, which tests/test_client_hello_lists.py also runs under
hypothesis): each answers as the Python decoders of cytls.wire do on the same bytes: the same
value, or a ProtocolError with the same alert.

    python tests/fuzz/fuzz_client_hello_lists.py [libFuzzer flags] [corpus dirs]
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _fuzzutil

with _fuzzutil.instrumented(__name__):
    from cytls._hello import (
        code_point_bitmap,
        listed_code_points,
        read_key_exchange_offer,
        read_offered_psks,
        sift_client_hello,
    )
    from cytls.errors import ProtocolError
    from cytls.registry import CipherSuite, SignatureScheme
    from cytls.wire import extensions as ext
    from cytls.wire.enums import AlertDescription
    from cytls.wire.messages import ClientHello, ExtensionType


KNOWN_SUITES = frozenset(int(s) for s in CipherSuite)
KNOWN_TYPES = frozenset(int(t) for t in ExtensionType)
SUITE_BITS, TYPE_BITS = code_point_bitmap(KNOWN_SUITES), code_point_bitmap(KNOWN_TYPES)
SCHEMES = tuple(SignatureScheme)
OUR_GROUPS = (0x11EC, 0x001D, 0x0017, 0x0018)  # X25519MLKEM768, x25519, P-256, P-384


def outcome(function: Callable[..., Any], *args: Any) -> Any:
    """The value, or ("alert", the alert) for a ProtocolError."""
    try:
        return function(*args)
    except ProtocolError as exc:
        return ("alert", exc.alert)


def v16(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def check_sift(body: bytes) -> None:
    """The sifted ClientHello parses as the whole one, without the unrecognized suites and
    extensions (at least the first suite stays), which come back as raw bytes."""
    sifted, ignored_suites, ignored_extensions = sift_client_hello(body, SUITE_BITS, TYPE_BITS)
    assert len(sifted) <= len(body)
    whole = outcome(ClientHello.parse, body)
    if isinstance(whole, tuple):
        assert outcome(ClientHello.parse, sifted) == whole
        return
    suites = [s for s in whole.cipher_suites if s in KNOWN_SUITES] or whole.cipher_suites[:1]
    extensions = [(t, d) for t, d in whole.extensions if t in KNOWN_TYPES]
    expected = ClientHello(
        whole.random,
        whole.legacy_session_id,
        suites,
        extensions,
        whole.legacy_version,
        whole.legacy_compression_methods,
    )
    assert ClientHello.parse(sifted) == expected
    assert ignored_suites == b"".join(
        s.to_bytes(2, "big") for s in whole.cipher_suites if s not in KNOWN_SUITES
    )
    assert ignored_extensions == b"".join(
        t.to_bytes(2, "big") + v16(d) for t, d in whole.extensions if t not in KNOWN_TYPES
    )


def _offer_reference(
    groups_data: bytes, shares_data: bytes, ours: tuple[int, ...]
) -> tuple[list[int], dict[int, bytes], int]:
    groups = ext.decode_supported_groups(groups_data)
    shares = ext.decode_key_share_client(shares_data)
    # RFC 8446 §4.2.8: shares only for listed groups, in supported_groups order (the share
    # groups are a subsequence of the list).
    for group, _ in shares:
        if group not in groups:
            raise ProtocolError(AlertDescription.illegal_parameter, "unlisted group")
    remaining = iter(groups)
    if not all(any(g == group for g in remaining) for group, _ in shares):
        raise ProtocolError(AlertDescription.illegal_parameter, "shares out of order")
    shared = dict(shares)
    listed = [g for g in ours if g in groups]
    return listed, {g: shared[g] for g in ours if g in shared}, len(shares)


def check_offer(groups_data: bytes, shares_data: bytes, ours: tuple[int, ...]) -> None:
    expected = outcome(_offer_reference, groups_data, shares_data, ours)
    assert outcome(read_key_exchange_offer, groups_data, shares_data, ours) == expected


def check_schemes(data: bytes) -> None:
    decoded = outcome(ext.decode_signature_algorithms, data)
    got = outcome(ext.signature_algorithms_among, data, SCHEMES)
    if isinstance(decoded, tuple):
        assert got == decoded
        assert listed_code_points(data, 2, 0xFFFE, SCHEMES) is None
    else:
        assert got == [s for s in SCHEMES if s in decoded]


def _psk_reference(data: bytes, keep: int) -> tuple[list[tuple[bytes, int]], list[bytes], int]:
    identities, binders = ext.decode_pre_shared_key_client(data)
    return identities[:keep], binders[:keep], ext.pre_shared_key_binders_length(binders)


def check_psks(data: bytes, keep: int) -> None:
    assert outcome(read_offered_psks, data, keep) == outcome(_psk_reference, data, keep)


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    mode, rest = data[0] % 4, data[1:]
    if mode == 0:
        check_sift(rest)
    elif mode == 1:
        split = 2 + int.from_bytes(rest[:2], "big")
        check_offer(rest[2:split], rest[split:], OUR_GROUPS)
    elif mode == 2:
        check_schemes(rest)
    else:
        check_psks(rest[1:], rest[0] % 6 if rest else 0)


if __name__ == "__main__":
    _fuzzutil.main(TestOneInput)

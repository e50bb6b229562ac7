"""The TrustStore's cache of verified paths: a hit must never outlive what made it valid."""

import datetime

import pki
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from cytls.errors import CertificateError
from cytls.x509 import trust, verify
from cytls.x509.trust import TrustStore
from cytls.x509.verify import verify_server_chain


@pytest.fixture
def chain_and_store() -> tuple[list[bytes], TrustStore, datetime.datetime]:
    ca = pki.make_ca("ecdsa-p256")
    leaf = pki.make_leaf(ca, "ecdsa-p256", ("cache.example",))
    return [leaf[0].public_bytes(Encoding.DER)], TrustStore([ca[0]]), leaf[0].not_valid_after_utc


def count_verifications(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    real = verify._verify

    def counting(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(verify, "_verify", counting)
    return calls


def test_same_chain_and_name_is_verified_once(chain_and_store, monkeypatch) -> None:
    chain, store, _ = chain_and_store
    calls = count_verifications(monkeypatch)
    first = verify_server_chain(chain, store, hostname="cache.example", check_hostname=True)
    second = verify_server_chain(chain, store, hostname="cache.example", check_hostname=True)
    assert calls[0] == 1
    assert [c.public_bytes(Encoding.DER) for c in first] == [
        c.public_bytes(Encoding.DER) for c in second
    ]


def test_other_name_is_not_a_hit(chain_and_store) -> None:
    chain, store, _ = chain_and_store
    verify_server_chain(chain, store, hostname="cache.example", check_hostname=True)
    with pytest.raises(CertificateError) as info:
        verify_server_chain(chain, store, hostname="other.example", check_hostname=True)
    assert info.value.verify_code == 62


def test_expiry_is_checked_on_every_use(chain_and_store) -> None:
    chain, store, not_after = chain_and_store
    verify_server_chain(chain, store, hostname="cache.example", check_hostname=True)
    later = not_after + datetime.timedelta(seconds=1)
    with pytest.raises(CertificateError) as info:
        verify_server_chain(chain, store, hostname="cache.example", check_hostname=True, now=later)
    assert info.value.verify_code == 10  # certificate has expired


def test_changing_the_store_clears_the_cache(chain_and_store, monkeypatch) -> None:
    chain, store, _ = chain_and_store
    calls = count_verifications(monkeypatch)
    verify_server_chain(chain, store, hostname="cache.example", check_hostname=True)
    store.add(pki.make_ca("ecdsa-p256")[0])
    verify_server_chain(chain, store, hostname="cache.example", check_hostname=True)
    assert calls[0] == 2


def test_cache_is_bounded(chain_and_store) -> None:
    chain, store, _ = chain_and_store
    path = verify_server_chain(chain, store, hostname="cache.example", check_hostname=True)
    for index in range(trust.VERIFIED_PATH_CACHE_SIZE + 10):
        store.remember_path(("server", f"name{index}.example", tuple(chain)), path)
    assert len(store._verified) == trust.VERIFIED_PATH_CACHE_SIZE
    # The oldest entries went first: the first real verification is gone.
    assert (
        store.cached_path(("server", "cache.example", tuple(chain)), path[0].not_valid_before_utc)
        is None
    )

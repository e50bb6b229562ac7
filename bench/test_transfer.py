"""Bulk write+read, cytls beside the ssl module (pytest-benchmark).

Each ``write+read <size>`` group holds the ssl module through ``wrap_bio`` and, beside it, cytls
through the very same ``wrap_bio`` code (:func:`cytls.cli.benchmark.wrap_bio_transfer`) and through
its sans-I/O ``Connection``, all with TLS_AES_256_GCM_SHA384 (checked at set-up). The server
reads into a preallocated buffer. The ``... other suites`` groups have no ssl twin (Python's ssl
cannot choose a TLS 1.3 suite): they set cytls's AES-128-GCM and ChaCha20-Poly1305 beside its
own AES-256-GCM.
"""

import pytest

import cytls
from cytls.cli.benchmark import (
    GOALS,
    SIZES,
    SSL_SUITE,
    SUITE_NAMES,
    connection_transfer,
    make_contexts,
    on_threads,
    wrap_bio_transfer,
)


def goals(size_name: str) -> str:
    """What each cytls path aims for against ssl's wrap_bio, for the group's name."""
    wanted = [
        f"{path} {GOALS[f'{path} write+read {size_name}']:.2f}x"
        for path in ("wrap_bio", "Connection")
        if f"{path} write+read {size_name}" in GOALS
    ]
    return f" (goals, speed against ssl: {', '.join(wanted)})" if wanted else ""


@pytest.mark.parametrize("size_name", list(SIZES))
@pytest.mark.parametrize("case", ["ssl wrap_bio", "cytls wrap_bio", "cytls Connection"])
def test_write_read(benchmark, credentials, case: str, size_name: str) -> None:
    benchmark.group = f"write+read {size_name} AES-256-GCM" + goals(size_name)
    implementation, path = case.split()
    module, client, server = make_contexts(implementation, credentials)
    if path == "Connection":
        transfer = connection_transfer(client, server, SIZES[size_name], SSL_SUITE)
    else:
        transfer = wrap_bio_transfer(module, client, server, SIZES[size_name], SSL_SUITE)
    benchmark(transfer)


@pytest.mark.parametrize("size_name", list(SIZES))
@pytest.mark.parametrize("suite", list(SUITE_NAMES))
def test_cytls_suites(benchmark, credentials, suite: str, size_name: str) -> None:
    benchmark.group = f"write+read {size_name} cytls wrap_bio, other suites (no ssl twin)"
    _, client, server = make_contexts("cytls", credentials, suite)
    benchmark(wrap_bio_transfer(cytls, client, server, SIZES[size_name], SUITE_NAMES[suite]))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", ["ssl wrap_bio", "cytls wrap_bio", "cytls Connection"])
def test_two_threads(benchmark, credentials, case: str, threads: int) -> None:
    """8 MiB in 1 MiB write+reads: on one thread, or on two at once (4 each), each thread with
    its own connection pair. The AEAD calls release the GIL; the rest runs under it."""
    benchmark.group = "8 MiB as 1 MiB write+reads, on 1 or 2 threads"
    implementation, path = case.split()
    module, client, server = make_contexts(implementation, credentials)

    def build():
        if path == "Connection":
            return connection_transfer(client, server, 1 << 20, SSL_SUITE)
        return wrap_bio_transfer(module, client, server, 1 << 20, SSL_SUITE)

    benchmark(on_threads(build, threads, 8 // threads))

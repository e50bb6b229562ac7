"""Replay the fuzzing corpus (tests/fuzz/corpus) and the fuzzers' findings
(tests/fuzz/regressions) through each harness's TestOneInput, without atheris.

Each file must run through its harness's oracle without raising, the way libFuzzer would have
run it. The corpus is found relative to this file, so this also runs from an installed wheel's
test copy. tests/fuzz/README.md says how the harnesses are fuzzed.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

FUZZ = Path(__file__).resolve().parent / "fuzz"
HARNESSES = [
    "fuzz_record",
    "fuzz_server_flight",
    "fuzz_client_flight",
    "fuzz_certs",
    "fuzz_tickets",
    "fuzz_client_hello_lists",
]


def harness(name: str) -> ModuleType:
    if str(FUZZ) not in sys.path:
        sys.path.insert(0, str(FUZZ))
    return importlib.import_module(name)


def inputs() -> list[Any]:
    params = []
    for name in HARNESSES:
        for kind in ("corpus", "regressions"):
            directory = FUZZ / kind / name
            if not directory.is_dir():
                continue
            for path in sorted(directory.iterdir()):
                if path.is_file() and not path.name.startswith("."):
                    params.append(pytest.param(name, path, id=f"{kind}/{name}/{path.name}"))
    return params


def test_every_harness_has_a_corpus() -> None:
    for name in HARNESSES:
        assert any((FUZZ / "corpus" / name).iterdir()), name


@pytest.mark.parametrize(("name", "path"), inputs())
def test_replay(name: str, path: Path) -> None:
    harness(name).TestOneInput(path.read_bytes())


@pytest.mark.parametrize("name", ["fuzz_server_flight", "fuzz_client_flight"])
def test_connection_seeds_complete_the_handshake(name: str) -> None:
    """Control: the recorded flights replay into the handshakes they came from, so the
    fuzzer starts from the deep states (a stale corpus or PKI would silently stop at the
    first message)."""
    module = harness(name)
    fu = harness("_fuzzutil")
    for path in sorted((FUZZ / "corpus" / name).iterdir()):
        data = path.read_bytes()
        if name == "fuzz_server_flight":
            victim = fu.server_connection(data[0] % fu.SERVER_MODES)
        else:
            victim = fu.client_connection(data[0] % fu.CLIENT_MODES)
            victim.data_to_send()
        script = fu.PeerScript(
            victim, module.signing_key(), server_peer=name.endswith("client_flight")
        )
        for op, payload in fu.frames(data[1:]):
            script.apply(op, payload)
        assert victim.handshake_complete, path.name
        if path.name in ("resume", "early"):
            assert victim.session_reused, path.name
        if path.name == "early" or (path.name == "resume" and name == "fuzz_client_flight"):
            assert victim.early_data_accepted, path.name

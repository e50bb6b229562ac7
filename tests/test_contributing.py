"""CONTRIBUTING.md stays true: every file it names exists, except the ones it says a future
protocol version will add, which must not exist yet (else the page is out of date)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTRIBUTING = ROOT / "CONTRIBUTING.md"
# Where CONTRIBUTING.md says TLS 1.2 and DTLS will go.
PLANNED = {
    "src/cytls/handshake/client12.py",
    "src/cytls/_dtls_record.pyx",
    "src/cytls/handshake/dtls_hello.py",
}


# The files it names are source files: a test run against an installed wheel has none.
needs_source_tree = pytest.mark.skipif(
    not (ROOT / "src" / "cytls").is_dir(), reason="checks the source tree's files"
)


def named_paths() -> set[str]:
    if not CONTRIBUTING.exists():
        pytest.fail(f"{CONTRIBUTING} is missing: run the tests from the source tree or an sdist")
    text = CONTRIBUTING.read_text(encoding="utf-8")
    found = set()
    for match in re.finditer(
        r"(?:src/)?cytls/[\w/]+(?:\.pyx|\.pxd|\.pyi|\.py)?|\b(?:handshake|crypto|wire|x509|io|cli)/\w+\.pyx?\b|tests/[\w/*]+\.py",
        text,
    ):
        path = match.group(0)
        if "*" in path:
            continue
        if not path.startswith(("src/", "tests/")):
            path = "src/" + path if path.startswith("cytls/") else "src/cytls/" + path
        found.add(path.rstrip("/"))
    return found


@needs_source_tree
def test_contributing_names_only_files_that_exist() -> None:
    paths = named_paths()
    assert len(paths) > 30
    missing = sorted(p for p in paths - PLANNED if not (ROOT / p).exists())
    assert missing == []


@needs_source_tree
def test_the_planned_files_are_named_and_not_there_yet() -> None:
    assert named_paths() >= PLANNED
    assert sorted(p for p in PLANNED if (ROOT / p).exists()) == []

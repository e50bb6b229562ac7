"""The package's layers (issue 13; CONTRIBUTING.md draws them). A module may import modules of
its own layer or of the layers below, never above, and only at the top of the module: an import
inside a function would hide a cycle. The command-line tools (``cytls.cli``) may import lazily
(their start-up time is what ``cytls --help`` costs), and the library never imports them.

Imports under ``if TYPE_CHECKING:`` are annotations, not dependencies, and are not counted,
except that they too must never reach ``cytls.cli``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import cytls

PACKAGE = Path(cytls.__file__).resolve().parent
SOURCES = PACKAGE if (PACKAGE / "_record.pyx").exists() else None  # a wheel has no .pyx

# Lowest first. A module belongs to the layer of its longest matching prefix.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("cytls.errors", "cytls.events", "cytls.registry", "cytls.wire.enums")),
    ("wire codecs", ("cytls.wire", "cytls._hello")),
    (
        "crypto",
        (
            "cytls._record",
            "cytls.crypto",
        ),
    ),
    ("X.509", ("cytls.x509",)),
    ("handshake", ("cytls.handshake", "cytls.session")),
    ("context", ("cytls.context",)),
    ("connection", ("cytls.connection", "cytls._datapath")),
    ("I/O adapters", ("cytls.io", "cytls.aio")),
    ("package API", ("cytls",)),
    ("command-line tools", ("cytls.cli", "cytls.__main__")),
]


def layer_of(module: str) -> int:
    matches = [
        (len(prefix), index)
        for index, (_, prefixes) in enumerate(LAYERS)
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    assert matches, f"{module} is in no layer: add it to LAYERS"
    return max(matches)[1]


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    in_function: bool
    type_checking: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def resolve(module: str, name: str | None) -> str:
    """``from module import name``: the submodule when ``name`` is one, else ``module``."""
    if name is not None:
        candidate = PACKAGE.parent / (module.replace(".", "/") + "/" + name)
        if candidate.is_dir() or any(
            candidate.with_name(name + suffix).exists() for suffix in (".py", ".pyx")
        ):
            return f"{module}.{name}"
    return module


def python_imports(path: Path) -> list[Import]:
    return imports_in(path.read_text(encoding="utf-8"), module_name(path))


def imports_in(source: str, importer: str) -> list[Import]:
    tree = ast.parse(source)
    out: list[Import] = []

    def visit(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            function = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            guarded = type_checking or (
                isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test)
            )
            if isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                if child.module.split(".")[0] == "cytls":
                    for alias in child.names:
                        target = resolve(child.module, alias.name)
                        out.append(Import(importer, target, child.lineno, function, guarded))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == "cytls":
                        out.append(Import(importer, alias.name, child.lineno, function, guarded))
            visit(child, function, guarded)

    visit(tree, False, False)
    return out


def cython_imports(path: Path) -> list[Import]:
    importer = module_name(path)
    text = path.read_text(encoding="utf-8")
    return [
        Import(
            importer,
            match.group(2),
            text.count("\n", 0, match.start()) + 1,
            bool(match.group(1)),
            False,
        )
        for match in re.finditer(r"^([ \t]*)(?:from|import) (cytls[\w.]*)", text, re.M)
    ]


def all_imports() -> list[Import]:
    assert SOURCES is not None
    out: list[Import] = []
    for path in sorted(SOURCES.rglob("*.py")):
        out += python_imports(path)
    for path in sorted([*SOURCES.rglob("*.pyx"), *SOURCES.rglob("*.pxd")]):
        out += cython_imports(path)  # a .pxd's cimports are its module's
    return out


needs_sources = pytest.mark.skipif(SOURCES is None, reason="reads the .pyx of a source tree")


def upward(imports: list[Import]) -> list[str]:
    return [
        f"{i.importer} ({LAYERS[layer_of(i.importer)][0]}) imports {i.imported} "
        f"({LAYERS[layer_of(i.imported)][0]}) at line {i.line}"
        for i in imports
        if not i.type_checking and layer_of(i.imported) > layer_of(i.importer)
    ]


@needs_sources
def test_no_import_goes_up_a_layer() -> None:
    assert upward(all_imports()) == []


@needs_sources
def test_the_library_never_imports_the_tools() -> None:
    tools = layer_of("cytls.cli")
    wrong = [
        f"{i.importer} imports {i.imported} at line {i.line}"
        for i in all_imports()
        if layer_of(i.importer) < tools and layer_of(i.imported) == tools
    ]
    assert wrong == []


@needs_sources
def test_no_import_inside_a_function_outside_the_tools() -> None:
    tools = layer_of("cytls.cli")
    wrong = [
        f"{i.importer} imports {i.imported} inside a function at line {i.line}"
        for i in all_imports()
        if i.in_function and layer_of(i.importer) < tools
    ]
    assert wrong == []


@needs_sources
def test_the_handshake_sees_neither_records_nor_the_live_context() -> None:
    """Issue 13, item 1: the state machines act through HandshakeOutput and read a frozen
    HandshakePolicy, so no handshake module imports the record layer or the context, not even
    for annotations."""
    wrong = [
        f"{i.importer} imports {i.imported} at line {i.line}"
        for i in all_imports()
        if i.importer.startswith("cytls.handshake")
        and (i.imported.startswith("cytls._record") or i.imported.startswith("cytls.context"))
    ]
    assert wrong == []


# What Connection may do with its handshake: hand it records, ask it to act, and follow the hello
# phase's hand-over. Everything it reports comes through HandshakeOutput (Negotiated, events).
HANDSHAKE_COMMANDS = {
    "receive_handshake_record",
    "receive_change_cipher_spec",
    "has_partial_message",
    "check_early_data_size",
    "send_key_update",
    "stop_sending",
    "export_keying_material",
    "request_post_handshake_auth",
    "start",
    "successor",
    "policy",  # assigned: a context switched in brings its policy
}


def handshake_uses(source: str) -> set[str]:
    """Attributes read or called on ``handshake``/``self._handshake``/``client``/``server``."""
    used = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            owner = node.value
            name = (
                owner.attr
                if isinstance(owner, ast.Attribute)
                else owner.id
                if isinstance(owner, ast.Name)
                else ""
            )
            if name in {"handshake", "_handshake", "client", "server"}:
                used.add(node.attr)
    return used


def test_connection_learns_the_outcome_from_the_port_not_handshake_attributes() -> None:
    """Issue 13, item 1: Connection and the I/O adapters read no handshake attribute; what was
    negotiated reaches them as one immutable Negotiated value through HandshakeOutput."""
    paths = [PACKAGE / "connection.py", *sorted((PACKAGE / "io").glob("*.py")), PACKAGE / "aio.py"]
    for path in paths:
        extra = handshake_uses(path.read_text(encoding="utf-8")) - HANDSHAKE_COMMANDS
        assert extra == set(), f"{path.name} uses handshake attributes {sorted(extra)}"
    assert handshake_uses("x = self._handshake.suite") == {"suite"}  # the check sees one


def test_the_rules_see_an_upward_and_a_hidden_import() -> None:
    """Control: the checks catch what they are meant to catch."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "from cytls.errors import TLSError\n"
        "from cytls.context import TLSContext\n"
        "if TYPE_CHECKING:\n"
        "    from cytls.connection import Connection\n"
        "def f():\n"
        "    from cytls.wire import messages\n"
    )
    found = imports_in(source, "cytls.handshake.example")
    assert upward(found) == [
        "cytls.handshake.example (handshake) imports cytls.context (context) at line 3"
    ]
    assert [(i.imported, i.in_function) for i in found if i.in_function] == [
        ("cytls.wire.messages", True)
    ]
    assert [i.imported for i in found if i.type_checking] == ["cytls.connection"]

"""House rules checked on the source tree itself.

No function longer than ``MAX_FUNCTION_LINES`` lines: every function and method (nested ones too,
each on its own) spans at most 80 lines from its ``def`` line to its last line, its docstring not
counted (decorators are not part of it; comments and blank lines are). Generated code and bench/
are left out.

No private names across modules: no file may reach a single-underscore name (``_x``; dunders
such as ``__version__`` are fine) of another module, whether by

* ``from X import _x``;
* ``alias._x``, where ``alias`` is bound to a module by the file's own ``import ...`` or
  ``from ... import module`` statements (so ``self._x``, ``cls._x`` or a NamedTuple's
  ``._asdict()`` are not concerned: those are not modules);
* ``getattr(alias, "_x")``, ``setattr(alias, "_x", ...)``: any call whose first two arguments
  are a module and a literal private name (``hasattr``, ``monkeypatch.setattr``,
  ``mock.patch.object``, a benchmark's ``wrap(module, "_x")``);
* a dotted string target such as ``monkeypatch.setattr("phasefl.kernels._x", ...)`` or
  ``mock.patch("phasefl.kernels._x")``.

A name that another module needs is an interface: it is public (no underscore) in the module
that defines it.

Which names are modules is found on the file system, without importing anything: the
directory of the file (scripts import their neighbours), the repository root, then ``sys.path``.
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("phasefl", "tests", "bench", "figures", "derivations")
# Generated code is checked through its generator (phasefl/codegen.py), not file by file.
SKIPPED = (ROOT / "phasefl" / "_generated",)
# Names that start with an underscore but are documented public API of their module.
DOCUMENTED = {"os._exit"}
# Calls whose first argument is a dotted string target: monkeypatch.setattr("pkg.mod._x", v), mock.patch("...").
STRING_TARGET_CALLS = {"setattr", "delattr", "patch"}
#: Longest function or method allowed, in lines without its docstring.
MAX_FUNCTION_LINES = 80
# bench/ is left out of the length rule (being rewritten).
LENGTH_CHECKED = ("phasefl", "tests", "figures", "derivations")


def is_private(name: str) -> bool:
    """``_x`` but not ``__x__``."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def python_files(tops: tuple[str, ...] = CHECKED) -> list[Path]:
    files = []
    for top in tops:
        for path in sorted((ROOT / top).rglob("*.py")):
            if not any(path.is_relative_to(skip) for skip in SKIPPED):
                files.append(path)
    return files


def _child_is_module(locations: list[Path], name: str) -> list[Path] | None:
    """The search locations of ``name`` as a submodule of a package at ``locations``, or None."""
    for location in locations:
        package = location / name
        if package.is_dir():
            return [package]
        if (location / f"{name}.py").is_file():
            return []
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            if (location / f"{name}{suffix}").is_file():
                return []
    return None


def module_exists(dotted: str, here: Path) -> bool:
    """Whether ``dotted`` names a module or package, seen from a file in directory ``here``."""
    top, *rest = dotted.split(".")
    locations = _child_is_module([here, ROOT], top)
    if locations is None:
        if top in sys.builtin_module_names:
            return not rest
        try:
            spec = importlib.util.find_spec(top)  # a top-level name: finds it without importing it
        except (ImportError, ValueError):
            return False
        if spec is None:
            return False
        locations = [Path(p) for p in (spec.submodule_search_locations or [])]
    for part in rest:
        locations = _child_is_module(locations, part)
        if locations is None:
            return False
    return True


def absolute_module(node: ast.ImportFrom, path: Path) -> str:
    """The absolute dotted name of the module a ``from ... import`` statement imports from."""
    if not node.level:
        return node.module or ""
    package = path.parent.relative_to(ROOT).parts
    package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, *([node.module] if node.module else [])])


def module_aliases(tree: ast.AST, path: Path) -> dict[str, str]:
    """Local name -> dotted module name, for every name the file binds to a module by importing it."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom):
            base = absolute_module(node, path)
            for alias in node.names:
                dotted = f"{base}.{alias.name}" if base else alias.name
                if alias.name != "*" and module_exists(dotted, path.parent):
                    aliases[alias.asname or alias.name] = dotted
    return aliases


def _attribute_chain(node: ast.Attribute) -> tuple[str, list[str]] | None:
    """``a.b.c`` -> ("a", ["b", "c"]); None when the chain does not start at a plain name."""
    attributes = []
    while isinstance(node, ast.Attribute):
        attributes.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return node.id, attributes[::-1]


def _private_in_module_chain(module: str, attributes: list[str], here: Path) -> str | None:
    """The first private name reached on a module along ``module.attr1.attr2...``, if any."""
    for attribute in attributes:
        if is_private(attribute):
            return f"{module}.{attribute}"
        if not module_exists(f"{module}.{attribute}", here):
            return None  # past the modules: attributes of an object, not of a module
        module = f"{module}.{attribute}"
    return None


def _string_target_private(target: str, here: Path) -> str | None:
    """The private name in a dotted patch target such as "phasefl.kernels._x", if it is one."""
    parts = target.split(".")
    if len(parts) < 2 or not all(part.isidentifier() for part in parts):
        return None
    for i in range(1, len(parts)):
        module = ".".join(parts[:i])
        if not module_exists(module, here):
            return None
        if is_private(parts[i]):
            return f"{module}.{parts[i]}"
    return None


def violations(path: Path, source: str | None = None) -> list[str]:
    """Every use of another module's private name in one file, as "file:line: what"."""
    source = path.read_text() if source is None else source
    tree = ast.parse(source, filename=str(path))
    here = path.parent
    aliases = module_aliases(tree, path)
    try:
        shown = path.relative_to(ROOT)
    except ValueError:
        shown = path
    found: list[tuple[int, str]] = []

    def report(node: ast.AST, what: str) -> None:
        found.append((node.lineno, f"{shown}:{node.lineno}: {what}"))

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if is_private(alias.name):
                    report(node, f"from {'.' * node.level}{node.module or ''} import {alias.name}")
        elif isinstance(node, ast.Attribute):
            chain = _attribute_chain(node)
            if chain and chain[0] in aliases:
                name = _private_in_module_chain(aliases[chain[0]], chain[1], here)
                # ast.walk visits a.b and a.b._x.c too: report the chain that ends on the private name.
                if name and is_private(chain[1][-1]) and name.endswith("." + chain[1][-1]) and name not in DOCUMENTED:
                    report(node, f"{chain[0]}.{'.'.join(chain[1])} ({name})")
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            args = node.args
            # (module, "_x", ...): getattr, setattr, hasattr, monkeypatch.setattr, mock.patch.object, a
            # benchmark's own wrap(module, "_x") alike
            if len(args) >= 2 and isinstance(args[1], ast.Constant) and isinstance(args[1].value, str):
                obj, name = args[0], args[1].value
                module = None
                if isinstance(obj, ast.Name) and obj.id in aliases:
                    module = aliases[obj.id]
                elif isinstance(obj, ast.Attribute) and (chain := _attribute_chain(obj)) and chain[0] in aliases:
                    dotted = ".".join([aliases[chain[0]], *chain[1]])
                    module = dotted if module_exists(dotted, here) else None
                if module and is_private(name) and f"{module}.{name}" not in DOCUMENTED:
                    report(node, f'{called}(..., "{name}") ({module}.{name})')
            if called in STRING_TARGET_CALLS and args:
                target = args[0]
                if isinstance(target, ast.Constant) and isinstance(target.value, str):
                    name = _string_target_private(target.value, here)
                    if name and name not in DOCUMENTED:
                        report(node, f'{called}("{target.value}") ({name})')
    return [line for _, line in sorted(found)]


def test_no_private_names_across_modules():
    found = [line for path in python_files() for line in violations(path)]
    assert not found, "private names of other modules used (make them public, or do without):\n" + "\n".join(found)


def test_the_checked_tree_is_there():
    files = python_files()
    for top in CHECKED:
        assert any(path.is_relative_to(ROOT / top) for path in files), top


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from phasefl.kernels import _x\n", ["from phasefl.kernels import _x"]),
        ("from phasefl.kernels import __doc__\n", []),
        ("from . import _x\n", ["from . import _x"]),
        ("from phasefl import kernels\nkernels._x\n", ["kernels._x (phasefl.kernels._x)"]),
        ("import phasefl.kernels as k\nk._x()\n", ["k._x (phasefl.kernels._x)"]),
        ("import phasefl.kernels\nphasefl.kernels._x\n", ["phasefl.kernels._x (phasefl.kernels._x)"]),
        ("import phasefl\nphasefl._x\n", ["phasefl._x (phasefl._x)"]),
        ("from phasefl import kernels\nkernels.__name__\n", []),
        ("from phasefl.kernels import sweep_block\nsweep_block._x\n", []),  # not a module
        ("class A:\n    def f(self):\n        return self._x, A._y\n", []),
        ("import collections\nt = collections.namedtuple('T', 'a')(1)\nt._asdict()\n", []),
        ("from phasefl import kernels\ngetattr(kernels, '_x')\n", ['getattr(..., "_x") (phasefl.kernels._x)']),
        ("from phasefl import kernels\nsetattr(kernels, '_x', 1)\n", ['setattr(..., "_x") (phasefl.kernels._x)']),
        ("from phasefl import kernels\ngetattr(kernels, 'x')\n", []),
        (
            "from phasefl import kernels\ndef t(mp):\n    mp.setattr(kernels, '_x', 1)\n",
            ['setattr(..., "_x") (phasefl.kernels._x)'],
        ),
        (
            "def t(mp):\n    mp.setattr('phasefl.kernels._x', 1)\n",
            ['setattr("phasefl.kernels._x") (phasefl.kernels._x)'],
        ),
        ("def t(mp, o):\n    mp.setattr(o, '_x', 1)\n", []),
        ("import phasefl.sweep\nwrap(phasefl.sweep, '_x')\n", ['wrap(..., "_x") (phasefl.sweep._x)']),
        ("import os\nos._exit(0)\n", []),  # documented
        ("import json\njson._x\njson.decoder._y.z\n", ["json._x (json._x)", "json.decoder._y (json.decoder._y)"]),
    ],
)
def test_the_rule_catches_what_it_should(source, expected):
    path = ROOT / "tests" / "example_module.py"
    assert [line.split(": ", 1)[1] for line in violations(path, source)] == expected


def _docstring_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines taken by the function's docstring (0 without one)."""
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first.end_lineno - first.lineno + 1
    return 0


def function_length(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the ``def`` line to the function's last line, less its docstring."""
    return node.end_lineno - node.lineno + 1 - _docstring_lines(node)


def long_functions(path: Path, source: str | None = None) -> list[str]:
    """Every function or method of one file longer than MAX_FUNCTION_LINES, as "file:line: name (N lines)"."""
    source = path.read_text() if source is None else source
    tree = ast.parse(source, filename=str(path))
    try:
        shown = path.relative_to(ROOT)
    except ValueError:
        shown = path
    found = [
        (node.lineno, f"{shown}:{node.lineno}: {node.name} ({function_length(node)} lines)")
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and function_length(node) > MAX_FUNCTION_LINES
    ]
    return [line for _, line in sorted(found)]


def test_no_long_functions():
    found = [line for path in python_files(LENGTH_CHECKED) for line in long_functions(path)]
    assert not found, (
        f"functions longer than {MAX_FUNCTION_LINES} lines without their docstring (split them):\n" + "\n".join(found)
    )


def _function(name: str, body_lines: int, docstring_lines: int = 0, indent: str = "") -> str:
    """Source of a function whose def line, docstring and body make the given counts."""
    inner = indent + "    "
    doc = [f"{inner}Line {k}." for k in range(docstring_lines)]
    if doc:
        doc[0] = f'{inner}"""{doc[0].lstrip()}'
        doc[-1] += '"""'
    body = [f"{inner}x{k} = {k}" for k in range(body_lines)]
    return "\n".join([f"{indent}def {name}():", *doc, *body]) + "\n"


@pytest.mark.parametrize(
    "source, expected",
    [
        (_function("short", 79), []),  # 80 lines with the def line
        (_function("long", 80), ["long (81 lines)"]),
        (_function("documented", 79, docstring_lines=30), []),
        (_function("documented", 80, docstring_lines=3), ["documented (81 lines)"]),
        ("@decorator\n" + _function("decorated", 79), []),
        ("async " + _function("coroutine", 80), ["coroutine (81 lines)"]),
        ("class A:\n" + _function("method", 80, indent="    "), ["method (81 lines)"]),
        (
            "def outer():\n" + _function("inner", 80, indent="    ") + "    return inner\n",
            ["outer (83 lines)", "inner (81 lines)"],
        ),
    ],
)
def test_the_length_rule_catches_what_it_should(source, expected):
    path = ROOT / "tests" / "example_module.py"
    assert [line.split(": ", 1)[1] for line in long_functions(path, source)] == expected


def test_the_length_checked_tree_is_there():
    files = python_files(LENGTH_CHECKED)
    for top in LENGTH_CHECKED:
        assert any(path.is_relative_to(ROOT / top) for path in files), top
    assert not any(path.is_relative_to(ROOT / "bench") for path in files)

"""The layout rules of the house (issue #14), checked on the source tree itself.

* No import circles: no module of the ``vectile`` package (or of ``bench``) imports, at module
  or function level, a module that imports it back.  A function-level import may keep a heavy
  dependency off a cheap path; it may not hide a cycle.
* No source file over 700 lines (tests apart): a file that long holds more than one thing.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MAX_LINES = 700


def _package_dirs() -> dict[str, Path]:
    """Import name -> folder, from pyproject's package-dir, plus the bench suite."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    dirs = {name: REPO / folder for name, folder in config["tool"]["setuptools"]["package-dir"].items()}
    dirs["bench"] = REPO / "bench"
    return dirs


def _modules() -> dict[str, Path]:
    """Every Python module of the package (and bench), by its import name."""
    found: dict[str, Path] = {}
    for name, folder in _package_dirs().items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            module = ".".join([name, *parts])
            # a folder mapped to its own package name wins over the parent's view of it
            if module not in found or path.parent == folder:
                found[module] = path
    return found


def _imports(path: Path, module: str, names: set[str]) -> set[str]:
    """The package modules ``module`` imports anywhere in its file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    deps: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            deps.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = {f"{base}.{a.name}" for a in node.names} & names
            deps.update(submodules or {base})
    # Importing a module first runs its parent packages, which is never a cycle worth naming.
    ancestors = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
    return (deps & names) - {module} - ancestors


def _cycles() -> list[list[str]]:
    modules = _modules()
    names = set(modules)
    graph = {m: _imports(p, m, names) for m, p in modules.items()}
    cycles: list[list[str]] = []

    def walk(start: str, node: str, trail: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                cycles.append([*trail, start])
            elif nxt not in trail and nxt > start:  # each cycle once, from its smallest module
                walk(start, nxt, [*trail, nxt])

    for m in sorted(graph):
        walk(m, m, [m])
    return cycles


def test_the_module_map_finds_the_package() -> None:
    modules = _modules()
    for name in (
        "vectile",
        "vectile.options",
        "vectile.cli.convert",
        "vectile.tiling.entry",
        "vectile.flows._batch",
        "vectile.models.edge.runtime",
        "bench.run",
    ):
        assert name in modules, name


def test_no_import_circles() -> None:
    assert _cycles() == []


def test_a_planted_circle_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("def f():\n    from pkg import b\n")
    (tmp_path / "pkg" / "b.py").write_text("from pkg.a import f\n")
    monkeypatch.setattr(f"{__name__}._package_dirs", lambda: {"pkg": tmp_path / "pkg"})
    assert _cycles() == [["pkg.a", "pkg.b", "pkg.a"]]


def _sources() -> list[Path]:
    files = [p for folder in _package_dirs().values() for p in folder.rglob("*.py")]
    files += [p for p in (REPO / "rust_kernels" / "src").rglob("*.rs") if p.name != "tests.rs"]
    return sorted(set(files))


def test_no_source_file_over_700_lines() -> None:
    long = {str(p.relative_to(REPO)): n for p in _sources() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}

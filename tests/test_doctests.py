"""Every doctest in the installed ``vectile`` package and in ``bench``: one test per module.

The modules are found, never listed: the packages that ``pyproject.toml`` installs (its
``[tool.setuptools]`` ``packages`` and ``package-dir``, so ``vectile.flows``, ``vectile.tiling``
and the other top-level folders count) plus ``bench``, each walked with
:func:`pkgutil.walk_packages`, so a module added or moved anywhere is collected without a change
here. Each test imports its module and runs its doctests with :mod:`doctest` (ELLIPSIS, as
pytest's own doctest runner), failing with doctest's report; ``+SKIP`` examples stay skipped.
A module with no examples still has to import.

``__main__`` modules are scripts (importing one runs it), so they are not imported; the last
test checks that none of them holds an example that would be left unrun.
"""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXTRA_ROOTS = ("bench",)  # not installed, run from the repository root (pytest's pythonpath)


def _roots() -> list[str]:
    """The packages pyproject installs, then ``bench``; subpackages are found by walking."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    names = list(config.get("packages", [])) + list(config.get("package-dir", {}))
    return list(dict.fromkeys(n for n in names if n)) + list(EXTRA_ROOTS)


def _fail(name: str) -> None:
    """A subpackage that does not import fails the collection (the walk would skip it)."""
    raise ImportError(f"{name} does not import (see the exception above)")


def _walk() -> tuple[list[str], list[Path]]:
    """``(modules to test, __main__ files)`` under every root, each once, in a stable order."""
    modules: dict[str, None] = {}
    mains: dict[Path, None] = {}
    for root in _roots():
        package = importlib.import_module(root)
        modules[root] = None
        for info in pkgutil.walk_packages(package.__path__, root + ".", onerror=_fail):
            if info.name.rsplit(".", 1)[-1] == "__main__":
                path = getattr(info.module_finder, "path", None)
                if path is not None:
                    mains[Path(path) / "__main__.py"] = None
                continue
            modules[info.name] = None
    return sorted(modules), sorted(mains)


MODULES, MAIN_FILES = _walk()


def test_the_walk_finds_the_packages_and_their_modules() -> None:
    """The discovery is not empty or partial: each root and some module below it is there."""
    roots = _roots()
    assert "vectile" in roots and "bench" in roots
    for root in roots:
        assert root in MODULES, root
        if "." not in root:  # the top packages have modules of their own
            assert any(m.startswith(root + ".") for m in MODULES), root
    assert len(MODULES) > 20


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report = io.StringIO()
    for test in sorted(tests, key=lambda t: t.name):
        runner.run(test, out=report.write)
    if runner.failures:
        pytest.fail(
            f"{runner.failures} of {runner.tries} doctest example(s) failed in {name}:\n{report.getvalue()}",
            pytrace=False,
        )


def test_main_modules_hold_no_doctests() -> None:
    """``__main__`` modules are not imported above; an example in one would never run."""
    parser = doctest.DocTestParser()
    assert MAIN_FILES, "no __main__ module found: the walk is broken"
    for path in MAIN_FILES:
        examples = parser.get_examples(path.read_text(encoding="utf-8"))
        assert not examples, f"{path} has doctest examples, which no test runs"

"""The type stub of the native module (src/vectile/_kernels.pyi) matches the built module.

``mypy.stubtest`` imports ``vectile._kernels`` and compares every name, signature (parameter
names, kinds, defaults), overload and class in the stub with the runtime objects. The shipped
stub is checked with nothing allowlisted.

Two details of running it:

* mypy cannot follow setuptools' editable-install import hook, so by itself it does not find
  the ``vectile`` package, and stubtest then *passes silently* ("Success: no issues found")
  without having read the stub. So the stub is copied into a bare stub package
  (``vectile/__init__.pyi`` empty) on ``MYPYPATH``, which also keeps mypy from type-checking
  the rest of the package (not what this test is about).
* To prove the copy is really the stub being checked, one function that does not exist at
  runtime, ``stubtest_probe``, is appended to the copy (never to the shipped stub) and is the
  one allowlist entry: stubtest fails on an allowlist entry it never needed, so a run that did
  not see the stub cannot pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy.stubtest")

STUB = Path(__file__).resolve().parents[1] / "src" / "vectile" / "_kernels.pyi"
PROBE = "stubtest_probe"


@pytest.mark.slow
def test_kernel_stub_matches_the_native_module(tmp_path: Path) -> None:
    package = tmp_path / "vectile"
    package.mkdir()
    (package / "__init__.pyi").write_text("", encoding="utf-8")
    stub = STUB.read_text(encoding="utf-8")
    assert PROBE not in stub
    (package / "_kernels.pyi").write_text(f"{stub}\ndef {PROBE}() -> None: ...\n", encoding="utf-8")
    (tmp_path / "allowlist.txt").write_text(f"vectile._kernels.{PROBE}\n", encoding="utf-8")
    (tmp_path / "mypy.ini").write_text(f"[mypy]\ncache_dir = {tmp_path / '.mypy_cache'}\n", encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "mypy.stubtest",
        "--mypy-config-file",
        str(tmp_path / "mypy.ini"),
        "--allowlist",
        str(tmp_path / "allowlist.txt"),
        "vectile._kernels",
    ]
    env = dict(os.environ, MYPYPATH=str(tmp_path))
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    output = run.stdout + run.stderr
    assert "unused allowlist entry" not in output, f"stubtest did not read the stub:\n{output}"
    assert run.returncode == 0, output
    assert "Success: no issues found in 1 module" in output, output

"""The repository's own checks run as part of the test command: the Rust unit and property tests,
rustfmt, clippy with warnings denied, ruff, and mypy (so CI checks exactly what a developer runs)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*cmd: str) -> None:
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"


def _cargo() -> str:
    cargo = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
    assert Path(cargo).exists(), "cargo is required to build labelsieve from source and to run its Rust tests"
    return cargo


@pytest.mark.parametrize(
    "args",
    [
        ("test", "-p", "labelsieve-core", "--release"),
        ("fmt", "--all", "--check"),
        ("clippy", "--workspace", "--all-targets", "--", "-D", "warnings"),
    ],
    ids=["cargo-test", "cargo-fmt", "cargo-clippy"],
)
def test_cargo(args: tuple[str, ...]) -> None:
    _run(_cargo(), *args)


@pytest.mark.parametrize(
    "args",
    [("ruff", "check", "."), ("ruff", "format", "--check", "."), ("mypy",)],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_python_linters(args: tuple[str, ...]) -> None:
    _run(sys.executable, "-m", *args)

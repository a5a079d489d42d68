"""The package layering of DESIGN.md, as import-linter contracts (pyproject.toml): front doors
above the pipeline, the pipeline above plan and engines, plain data at the bottom, no cycles."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _lint(config: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
                           str(config), "--no-cache"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_the_layer_contracts_hold():
    result = _lint(ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "2 kept, 0 broken" in result.stdout


def test_a_front_door_import_from_an_engine_breaks_the_contract(tmp_path):
    """The contracts bite: the same configuration on a copy of the package with one engine that
    imports the CLI is reported broken."""
    import shutil

    copy = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "aimusic", copy / "aimusic",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    engine = copy / "aimusic" / "engines" / "base.py"
    engine.write_text(engine.read_text() + "\n\ndef _bad():\n    from aimusic.cli import main\n")
    config = tmp_path / "pyproject.toml"
    config.write_text((ROOT / "pyproject.toml").read_text())
    env = {**os.environ, "PYTHONPATH": str(copy)}
    result = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
                             str(config), "--no-cache"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "aimusic.engines is not allowed to import aimusic.cli" in result.stdout

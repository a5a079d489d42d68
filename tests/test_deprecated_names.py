"""The names renamed in 0.2 still import (with a DeprecationWarning) and are the new modules."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"


@pytest.mark.parametrize("old, new", [("aimusic.spec", "aimusic.schemas"), ("aimusic.jobs", "aimusic.batch"),
                                      ("aimusic.engines.sketch_voice", "aimusic.engines.sketch.voice")])
def test_an_old_name_warns_and_is_the_new_module(old, new):
    code = (f"import importlib, warnings\n"
            f"with warnings.catch_warnings(record=True) as caught:\n"
            f"    warnings.simplefilter('always')\n"
            f"    old = importlib.import_module({old!r})\n"
            f"assert old is importlib.import_module({new!r}), old\n"
            f"assert any(issubclass(w.category, DeprecationWarning) and {new!r} in str(w.message) for w in caught)\n")
    result = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(SRC)},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr

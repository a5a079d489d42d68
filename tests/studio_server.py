"""`aimusic studio` as a real child process on a free loopback port, for the browser and API tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import SRC


@contextlib.contextmanager
def studio_process(output_dir: Path, *extra: str, timeout: float = 90):
    """Yields the URL `aimusic studio` printed (with `?token=...` when it made one)."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen([sys.executable, "-m", "aimusic", "studio", "-o", str(output_dir), "--port", "0", *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline and "http://" not in line:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                raise AssertionError(f"studio exited {proc.returncode}: {proc.stderr.read()}")
        url = line.split("aimusic studio: ", 1)[1].strip()
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

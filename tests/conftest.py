"""Shared fixtures. Every test gets its own config dir and no provider keys,
so no test reads the user's real credentials or reaches a real service."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

PROVIDER_ENV = ("RUNCOMFY_TOKEN", "ELEVENLABS_API_KEY", "RUNCOMFY_MODEL_API_BASE", "ELEVENLABS_API_BASE",
                "COMFYUI_URL", "AIMUSIC_ACESTEP_PATH", "AIMUSIC_ACESTEP_LM_PATH", "AIMUSIC_DEMUCS_PATH", "AIMUSIC_DEBUG")


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("AIMUSIC_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("AIMUSIC_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(home / "hf"))
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    yield home


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)

    def error(self):
        return json.loads(self.stderr.strip().splitlines()[-1])["error"]


def run_cli(*args: str, stdin: str | None = None) -> CliResult:
    """Run the CLI in-process (fast); same entry point as the console script."""
    from aimusic.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main([str(a) for a in args])
    finally:
        sys.stdin = old_stdin
    return CliResult(code, out.getvalue(), err.getvalue())


def run_cli_subprocess(*args: str, env: dict | None = None, stdin: str | None = None,
                       timeout: float = 300) -> CliResult:
    """Run `python -m aimusic` in a child process (for signals, real stdio, start-up)."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(SRC) + os.pathsep + full_env.get("PYTHONPATH", "")
    if env:
        full_env.update(env)
    proc = subprocess.run([sys.executable, "-m", "aimusic", *map(str, args)], capture_output=True,
                          text=True, env=full_env, input=stdin, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    """A tiny random-weight ACE-Step 1.5 turbo pipeline on disk, built once for every module
    (tests only read it)."""
    from local_acestep_fixtures import save_tiny_pipeline

    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny-acestep-turbo"), is_turbo=True)


@pytest.fixture(scope="session")
def tiny_base_dir(tmp_path_factory) -> Path:
    """The same, as the base model (extract, lego, complete)."""
    from local_acestep_fixtures import save_tiny_pipeline

    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny-acestep-base"), is_turbo=False)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def cli_subprocess():
    return run_cli_subprocess


def music_like(seconds: float = 4.0, sample_rate: int = 44100, bpm: float = 120.0, seed: int = 0) -> np.ndarray:
    """A deterministic stereo test signal with beats, a bass line and chords: float32 [2, frames]."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sample_rate))
    t = np.arange(n) / sample_rate
    beat = 60.0 / bpm
    sig = 0.2 * np.sin(2 * np.pi * 110 * t) + 0.1 * np.sin(2 * np.pi * 220 * 1.5 * t)
    phase = (t % beat) / beat
    sig += 0.5 * np.exp(-phase * 25) * rng.standard_normal(n) * 0.5
    sig += 0.15 * np.sin(2 * np.pi * 440 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.25 * t))
    left = sig
    right = np.roll(sig, 7)
    out = np.stack([left, right]).astype(np.float32)
    return (out / np.abs(out).max() * 0.8).astype(np.float32)


@pytest.fixture
def wav_file(tmp_path):
    """Write a music-like WAV and return its path."""
    import soundfile as sf

    def make(seconds: float = 4.0, sample_rate: int = 44100, name: str = "source.wav", bpm: float = 120.0,
             subtype: str = "PCM_16") -> Path:
        path = tmp_path / name
        sf.write(path, music_like(seconds, sample_rate, bpm).T, sample_rate, subtype=subtype)
        return path

    return make

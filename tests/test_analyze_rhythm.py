"""Tempo, beats and key from the numpy analysers: non-grid tempi read to 0.1 BPM, beats on the
reported tempo, keys of chord progressions, and no JIT compiler in an `analyze` process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from test_analyze import click_track

RATE = 44100
ROOT = Path(__file__).resolve().parent.parent
NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def drums(seconds: float, bpm: float, rate: int = RATE, seed: int = 3) -> np.ndarray:
    """Kick on 1 and 3, snare on 2 and 4, a quiet hat on every off-beat eighth."""
    rng = np.random.default_rng(seed)
    x = np.zeros(int(seconds * rate))
    hit = int(0.12 * rate)
    decay = np.exp(-np.arange(hit) / (0.03 * rate))
    kick = np.sin(2 * np.pi * 60 * np.arange(hit) / rate) * decay
    noise = rng.standard_normal(hit) * decay
    hat = rng.standard_normal(hit) * np.exp(-np.arange(hit) / (0.005 * rate))
    beat = 60.0 / bpm
    for k in range(int(seconds / beat * 2)):
        start = int(round(k * beat / 2 * rate))
        part = x[start:start + hit]
        sound = kick if k % 4 == 0 else noise * 0.6 if k % 4 == 2 else hat * 0.15
        part += sound[:part.size]
    return np.stack([x, x]).astype(np.float32) * 0.7


def progression(tonic: str, mode: str, seconds_per: float = 1.5) -> np.ndarray:
    """I-IV-V-I (major) or i-iv-V-i (minor, harmonic V) three times, with harmonics and decays."""
    third = 4 if mode == "major" else 3
    root = 60 + NAMES.index(tonic)
    chords = [(0, third, 7), (5, 5 + third, 12), (7, 11, 14), (0, third, 7)]
    t = np.arange(int(seconds_per * RATE)) / RATE
    parts = []
    for _ in range(3):
        for chord in chords:
            x = np.zeros_like(t)
            for note in chord + (chord[0] - 12,):
                f = 440 * 2 ** ((root + note - 69) / 12)
                x += sum(0.15 / h * np.sin(2 * np.pi * f * h * t) for h in (1, 2, 3, 4))
            parts.append(x * np.exp(-t))
    x = np.concatenate(parts).astype(np.float32) * 0.5
    return np.stack([x, x])


@pytest.fixture(scope="module")
def analyze():
    from aimusic.audio.analysis import analyze as run

    return run


def _grid_slope_bpm(beats_s: list[float]) -> float:
    beats = np.array(beats_s)
    slope = np.polyfit(np.arange(beats.size), beats, 1)[0]
    return 60.0 / slope


@pytest.mark.parametrize("bpm", [97.3, 120.2, 143.7])
def test_click_tracks_at_non_grid_tempi(analyze, bpm):
    result = analyze(click_track(16, bpm), RATE)
    assert result["tempo_bpm"] == pytest.approx(bpm, abs=0.1)
    # the tempo is the beats' own: they lie on its grid, one period apart, on the clicks
    assert _grid_slope_bpm(result["beats_s"]) == pytest.approx(result["tempo_bpm"], abs=0.05)
    beats = np.array(result["beats_s"])
    period = 60.0 / bpm
    assert np.abs((beats + period / 2) % period - period / 2).max() < 0.01


@pytest.mark.parametrize("bpm", [97.3, 120.2, 143.7])
def test_drum_patterns_at_non_grid_tempi(analyze, bpm):
    result = analyze(drums(20, bpm), RATE)
    assert result["tempo_bpm"] == pytest.approx(bpm, abs=0.15)
    assert _grid_slope_bpm(result["beats_s"]) == pytest.approx(result["tempo_bpm"], abs=0.05)
    period = 60.0 / bpm
    offsets = (np.array(result["beats_s"]) + period / 2) % period - period / 2
    assert np.abs(offsets).max() < 0.015  # on the kicks and snares, not the hats between them


def test_the_grid_reports_beats_consistent_with_its_tempo():
    from aimusic.audio.loop import beat_grid

    grid = beat_grid(drums(20, 120.2), RATE)
    assert grid["steady"]
    spacing = np.diff(grid["beats"])
    assert np.abs(spacing - RATE * 60.0 / grid["tempo"]).max() <= 1  # whole frames of one period
    assert grid["tempo"] == pytest.approx(120.2, abs=0.1)


@pytest.mark.parametrize("key", ["C major", "A minor", "F# minor", "A# major", "E minor", "D major"])
def test_key_of_chord_progressions(analyze, key):
    tonic, mode = key.split()
    assert analyze(progression(tonic, mode), RATE)["key"]["name"] == key


def test_edits_compose_at_the_fitted_tempo():
    from aimusic.engines.sketch.analysis_for_edits import analyse_source

    grid = analyse_source(drums(16, 97.3), RATE)
    assert grid.bpm == pytest.approx(97.3, abs=0.1) and grid.tempo_from.startswith("estimated")
    assert grid.bar_frames == pytest.approx(4 * 60.0 / grid.bpm * RATE, abs=1)
    period = 60.0 / 97.3 * RATE
    assert np.abs((grid.beats[2:-2] + period / 2) % period - period / 2).max() < 0.015 * RATE


def test_analyze_process_compiles_nothing(tmp_path):
    """A fresh `aimusic analyze` loads neither numba nor librosa (each cost seconds per process),
    nor scipy.signal's package (0.5 s of imports for one filter kernel)."""
    path = tmp_path / "one.wav"
    sf.write(path, click_track(1, 120).T, RATE)
    code = (
        "import json, sys\n"
        "from aimusic.cli import main\n"
        f"sys.argv = ['aimusic', 'analyze', {str(path)!r}, '--json']\n"
        "code = None\ntry:\n    main()\nexcept SystemExit as stop:\n    code = stop.code\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in ('numba', 'llvmlite', 'librosa')})\n"
        "sys.stderr.write(json.dumps({'code': code, 'heavy': heavy, 'signal': 'scipy.signal' in sys.modules}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, None), done.stderr
    assert report["heavy"] == [] and not report["signal"]
    assert json.loads(done.stdout)["duration_s"] == pytest.approx(1.0)

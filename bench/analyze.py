"""Benchmark: `aimusic analyze` on a 3-minute track, process start included, against essentia.

Both sides run as fresh subprocesses on the same file in the same run, so interpreter start,
imports and any JIT are counted: `python -m aimusic analyze FILE --json` against a script doing
essentia's MonoLoader + RhythmExtractor2013 + KeyExtractor (tempo and key only; aimusic also
measures loudness, LRA, true peak, clipping, silences, sections and loopability). Best of N
(the machine is shared). essentia is a bench-only judge: `pip install essentia`.

    python bench/analyze.py [--runs 3] [--seconds 180] [--file FILE] [--method degara]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

ESSENTIA = """
import sys
import essentia.standard as es
audio = es.MonoLoader(filename=sys.argv[1], sampleRate=44100)()
bpm, beats, confidence, _, _ = es.RhythmExtractor2013(method=sys.argv[2])(audio)
key, scale, strength = es.KeyExtractor()(audio)
print(f"{bpm:.2f} {len(beats)} {key} {scale} {strength:.2f}")
"""


def timed(command: list[str], env: dict) -> tuple[float, float, str]:
    """(wall s, CPU s of the child, all threads: steadier when other work shares the cores, stdout)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{command[:3]} failed:\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, done.stdout


def drum_track(seconds: float, rate: int, bpm: float = 120.2):
    """Kick/snare/hat pattern over an Am - Dm - E - Am pad (harmonic minor): a pulse and a key to find."""
    import numpy as np

    rng = np.random.default_rng(7)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    beat = 60.0 / bpm
    x = np.zeros(n)
    chords = [(220.0, 261.63, 329.63), (146.83, 174.61, 220.0), (164.81, 207.65, 246.94), (220.0, 261.63, 329.63)]
    bar = 4 * beat
    which = (t // bar).astype(int) % 4
    for index, chord in enumerate(chords):
        mask = which == index
        x[mask] += sum(0.08 * np.sin(2 * np.pi * f * t[mask]) for f in chord)
    hit = int(0.12 * rate)
    envelope = np.exp(-np.arange(hit) / (0.03 * rate))
    kick = np.sin(2 * np.pi * 60 * np.arange(hit) / rate) * envelope
    noise = rng.standard_normal(hit) * envelope
    k = 0
    while k * beat / 2 < seconds:
        start = int(round(k * beat / 2 * rate))
        part = x[start:start + hit]
        if k % 4 == 0:
            part += 0.6 * kick[:part.size]
        elif k % 4 == 2:
            part += 0.35 * noise[:part.size]
        else:
            part += 0.08 * noise[:part.size] * np.exp(-np.arange(part.size) / (0.005 * rate))
        k += 1
    return np.stack([x, x]).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--file", default=None, help="analyse this file instead of a synthetic track")
    parser.add_argument("--method", default="multifeature", choices=["multifeature", "degara", "both"])
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    methods = ["multifeature", "degara"] if args.method == "both" else [args.method]
    with tempfile.TemporaryDirectory() as folder:
        if args.file:
            path = Path(args.file)
        else:
            import soundfile as sf

            path = Path(folder) / "track.wav"
            sf.write(path, drum_track(args.seconds, 44100).T, 44100, subtype="PCM_16")
        ours_cmd = [sys.executable, "-m", "aimusic", "analyze", str(path), "--json"]
        theirs = {m: [sys.executable, "-c", ESSENTIA, str(path), m] for m in methods}
        best = {"aimusic": float("inf"), **{m: float("inf") for m in methods}}
        cpu = dict.fromkeys(best, float("inf"))
        outputs = {}
        for _ in range(args.runs):  # interleaved, so load changes hit both sides alike
            for name, command in (("aimusic", ours_cmd), *theirs.items()):
                elapsed, used, out = timed(command, env)
                best[name], cpu[name], outputs[name] = min(best[name], elapsed), min(cpu[name], used), out
    ours = json.loads(outputs["aimusic"])
    label = "synthetic drums + pad at 120.2 BPM in A minor" if not args.file else str(path)
    print(f"input: {ours['duration_s']:.0f} s, {ours['sample_rate']} Hz ({label}), best of {args.runs}, "
          "each a fresh process")
    print(f"  aimusic analyze --json            {best['aimusic']:6.2f} s ({cpu['aimusic']:.2f} s CPU)  tempo {ours['tempo_bpm']} BPM, "
          f"{ours['beat_count']} beats, key {(ours['key'] or {}).get('name')} (+ loudness, LRA, true peak, "
          "silences, sections, loop seam)")
    for m in methods:
        bpm, beats, key, scale, strength = outputs[m].split()
        print(f"  essentia RhythmExtractor2013({m}) + KeyExtractor  {best[m]:6.2f} s ({cpu[m]:.2f} s CPU)  "
              f"tempo {bpm} BPM, "
              f"{beats} beats, key {key} {scale}")
    for m in methods:
        print(f"ratio aimusic / essentia ({m}): {best['aimusic'] / best[m]:.2f}x wall, "
              f"{cpu['aimusic'] / cpu[m]:.2f}x CPU  (target <= 1.00)")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (other work slows every line)")


if __name__ == "__main__":
    main()

"""Benchmark: the offline sketch engine's speed, in seconds of audio per second of CPU.

For 30 s and 180 s tracks and each renderer (built-in numpy synth, General-MIDI soundfont
through midirenderer), compose + render + mix is timed with process CPU time on one core
(BLAS/FFT threads pinned to 1). Each case runs once cold (empty note caches) and then
`--runs` more times; the median is reported. The baseline measured in the same run is the
synth with its per-note cache disabled, which is what the cache buys.

    python bench/sketch.py [--runs 3] [--tags "pop, 120 BPM"] [--seconds 30,180]
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src")]

TARGET_X = 100.0   # the target for the built-in synth


def one_render(tags: str, seconds: float, renderer: str, *, cold: bool, cache: bool = True) -> tuple[float, float]:
    """(cpu seconds, wall seconds) for compose + render of one track."""
    from aimusic.engines.sketch import synth
    from aimusic.engines.sketch.compose import ComposeRequest, compose
    from aimusic.engines.sketch.render import render

    if cold or not cache:
        synth.render_note.cache_clear()
        synth.render_drum.cache_clear()
    original = synth.render_note
    if not cache:
        synth.render_note = original.__wrapped__          # every note rendered afresh
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        arrangement = compose(ComposeRequest(tags=tags, duration=seconds, seed=1))
        rendered = render(arrangement, renderer, 1)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        synth.render_note = original
    assert abs(rendered.samples.shape[1] / rendered.sample_rate - seconds) < 0.01
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tags", default="pop, piano, strings, 120 BPM")
    parser.add_argument("--seconds", default="30,180")
    args = parser.parse_args()
    lengths = [float(s) for s in args.seconds.split(",")]

    # Imports and first-call set-up are not what a long session pays per track: do them first.
    one_render(args.tags, 4, "synth", cold=True)
    one_render(args.tags, 4, "soundfont", cold=True)

    print(f"tags: {args.tags!r}; CPU time on one core; x = seconds of audio per CPU second")
    print(f"{'case':<34}{'cold cpu s':>11}{'median cpu s':>14}{'wall s':>9}{'x realtime':>12}")
    results = {}
    for seconds in lengths:
        for label, renderer, cache in (("synth", "synth", True), ("synth, no note cache (baseline)", "synth", False),
                                       ("soundfont (midirenderer)", "soundfont", True)):
            cold_cpu, _ = one_render(args.tags, seconds, renderer, cold=True, cache=cache)
            runs = [one_render(args.tags, seconds, renderer, cold=True, cache=cache) for _ in range(args.runs)]
            cpu = statistics.median(r[0] for r in runs)
            wall = statistics.median(r[1] for r in runs)
            speed = seconds / cpu
            results[(seconds, label)] = speed
            print(f"{f'{seconds:g} s, {label}':<34}{cold_cpu:>11.3f}{cpu:>14.3f}{wall:>9.3f}{speed:>11.0f}x")
    for seconds in lengths:
        synth_x = results[(seconds, "synth")]
        base_x = results[(seconds, "synth, no note cache (baseline)")]
        sf_x = results[(seconds, "soundfont (midirenderer)")]
        verdict = "meets" if synth_x >= TARGET_X else "MISSES"
        print(f"{seconds:g} s: synth {synth_x:.0f}x ({verdict} the {TARGET_X:.0f}x target), "
              f"{synth_x / base_x:.1f}x faster than without the note cache, "
              f"{synth_x / sf_x:.1f}x the soundfont renderer's speed")
    vocal_speed()


def vocal_speed() -> None:
    """Issue 12: the sung vocal's rendering speed, reported separately (bench/sing.py has the details)."""
    import sing   # bench/sing.py: this folder is on sys.path when the bench runs as a script

    print()
    sing.report(44100, repeat=1)
    sing.engine_cost()


if __name__ == "__main__":
    main()

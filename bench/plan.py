"""Benchmark: `aimusic plan ... --json` end to end, as a subprocess, against bare `python -c pass`.

The planner must answer in under 300 ms more than the interpreter's own start-up. Prints the
median and best wall time of each case over --repeat runs, measured in the same run:

    python bench/plan.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"

CASES = [
    ("bare python -c pass (baseline)", [sys.executable, "-c", "pass"], None),
    ("plan, --provider runcomfy", None, ["plan", "a 10-second sonic logo for our bank, must sound expensive",
                                          "--provider", "runcomfy", "--json"]),
    ("plan, --provider auto (availability checks)", None, ["plan", "cheap lofi loop, 80 BPM", "--json"]),
    ("plan, edit with --audio", None, ["plan", "fix the bridge from 0:05 to 0:08", "--audio", "{wav}",
                                       "--provider", "runcomfy", "--json"]),
    ("plan, with Chinese lyrics (detector + pypinyin)", None,
     ["plan", "a pop song", "--lyrics", "[Verse]\n我走过那条路\n[Chorus]\n我走过", "--provider", "runcomfy",
      "--model", "acestep-ai/ace-step/text-to-audio", "--json"]),
]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child). CPU time is the steadier figure on a shared machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} failed ({proc.returncode}): {proc.stderr.strip()}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    for name in ("RUNCOMFY_TOKEN", "ELEVENLABS_API_KEY", "COMFYUI_URL"):
        env.pop(name, None)
    with tempfile.TemporaryDirectory() as tmp:
        import numpy as np
        import soundfile as sf

        wav = str(Path(tmp) / "source.wav")
        sf.write(wav, np.zeros((44100 * 12, 2), np.float32), 44100)
        env["AIMUSIC_CONFIG_DIR"] = str(Path(tmp) / "config")
        env["AIMUSIC_CACHE_DIR"] = str(Path(tmp) / "cache")
        results = {}
        for label, argv, plan_args in CASES:
            if argv is None:
                argv = [sys.executable, "-m", "aimusic", *[a.replace("{wav}", wav) for a in plan_args]]
            timed(argv, env)  # warm the OS file cache
            runs = [timed(argv, env) for _ in range(args.repeat)]
            walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
            results[label] = (statistics.median(walls), min(walls), statistics.median(cpus))
    base_wall, base_best, base_cpu = results[CASES[0][0]]
    print(f"{'case':50s} {'wall med':>9s} {'wall best':>9s} {'cpu med':>8s} {'wall over':>10s} {'cpu over':>9s}")
    worst_wall = worst_cpu = 0.0
    for label, (median, best, cpu) in results.items():
        wall_over, cpu_over = best - base_best, cpu - base_cpu
        if label != CASES[0][0] and "lyrics" not in label:
            worst_wall, worst_cpu = max(worst_wall, wall_over), max(worst_cpu, cpu_over)
        print(f"{label:50s} {median * 1000:7.0f}ms {best * 1000:7.0f}ms {cpu * 1000:6.0f}ms "
              f"{wall_over * 1000:8.0f}ms {cpu_over * 1000:7.0f}ms")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall times inflate under load; "
          "CPU time does not)")
    for name, value in (("best wall", worst_wall), ("median CPU", worst_cpu)):
        verdict = "OK" if value < 0.300 else "OVER"
        print(f"worst case without lyrics, {name} over bare python: {value * 1000:.0f} ms "
              f"(target < 300 ms): {verdict}")

if __name__ == "__main__":
    main()

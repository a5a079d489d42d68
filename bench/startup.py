"""Start-up cost of the CLI over bare `python -c pass`: `--help`, `models --json`, `plan`, `run --dry-run`.

Median of repeated runs, all in this one process so machine noise hits both sides alike.
Targets (issue 15): `--help` under +150 ms; `models --json`, `plan` and `run --dry-run` under +300 ms.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
RUNS = int(os.environ.get("BENCH_RUNS", "15"))


def median_seconds(argv: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=str(SRC))
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    bare = median_seconds([sys.executable, "-c", "pass"])
    print(f"bare python -c pass           {bare * 1000:7.1f} ms (baseline)")
    for label, args, target in (
            ("aimusic --help", ["--help"], 150),
            ("aimusic models --json", ["models", "--json"], 300),
            ("aimusic plan --json", ["plan", "lofi hip hop, 80 BPM, 30 seconds", "--json"], 300),
            ("aimusic run --dry-run", ["run", "acestep-ai/ace-step/text-to-audio", "--input", '{"tags": "lofi"}',
                                       "--dry-run"], 300)):
        cost = median_seconds([sys.executable, "-m", "aimusic", *args])
        over = (cost - bare) * 1000
        verdict = "OK" if over < target else "OVER"
        print(f"{label:<29} {cost * 1000:7.1f} ms  (+{over:6.1f} ms over bare, {cost / bare:4.1f}x)  "
              f"target +{target} ms: {verdict}")


if __name__ == "__main__":
    main()

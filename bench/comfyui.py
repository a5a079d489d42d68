"""Benchmark: batches on ComfyUI servers (loopback stand-ins that sample at a fixed speed).

A ComfyUI server runs one prompt at a time, so a batch is only as fast as the server's busy
time allows. Measured in one run, on the same stand-ins:
1. baseline: the jobs one after another with `api.run` (the server idles while aimusic uploads,
   inspects, submits and downloads between jobs);
2. `run_many(..., ahead=2)` on one server: the next prompt is already queued when one finishes;
3. `run_many` over two servers (COMFYUI_URL lists both).
Efficiency = the servers' busy time (sampling) / wall time.

    python bench/comfyui.py [--jobs 8] [--steps 8] [--step-delay 0.05]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

MODEL = "comfyui/ace-step-1.5-turbo/text-to-audio"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--step-delay", type=float, default=0.05, help="seconds per sampling step")
    args = parser.parse_args()

    from fakes.comfyui_server import FakeComfyUI

    from aimusic import api
    from aimusic.pipeline.comfyui import run_many

    jobs = [(MODEL, {"tags": "neo soul", "duration": 10, "seed": i, "steps": args.steps,
                     "generate_audio_codes": False}) for i in range(args.jobs)]
    busy = args.jobs * args.steps * args.step_delay
    with tempfile.TemporaryDirectory() as tmp:
        a = FakeComfyUI(Path(tmp) / "a", step_delay=args.step_delay)
        b = FakeComfyUI(Path(tmp) / "b", step_delay=args.step_delay)
        a.start(), b.start()
        try:
            os.environ["COMFYUI_URL"] = a.url
            api.run(MODEL, jobs[0][1], Path(tmp) / "warm", provider="comfyui")
            start = time.perf_counter()
            for model_id, data in jobs:
                api.run(model_id, data, Path(tmp) / "seq", provider="comfyui")
            sequential = time.perf_counter() - start

            start = time.perf_counter()
            results = run_many(jobs, Path(tmp) / "ahead", ahead=2)
            ahead = time.perf_counter() - start
            assert all(hasattr(r, "files") for r in results), results

            os.environ["COMFYUI_URL"] = f"{a.url},{b.url}"
            start = time.perf_counter()
            results = run_many(jobs, Path(tmp) / "two", ahead=2)
            two = time.perf_counter() - start
            assert all(hasattr(r, "files") for r in results), results
        finally:
            a.stop(), b.stop()
    print(f"{args.jobs} jobs x {args.steps} steps x {args.step_delay:g} s = {busy:.2f} s of sampling per server")
    print(f"baseline, one after another (api.run): {sequential:6.2f} s  efficiency {busy / sequential:5.1%}")
    print(f"run_many, 1 server, 2 queued ahead:    {ahead:6.2f} s  efficiency {busy / ahead:5.1%}  "
          f"({sequential / ahead:.2f}x baseline)")
    print(f"run_many, 2 servers:                   {two:6.2f} s  efficiency {busy / 2 / two:5.1%}  "
          f"({sequential / two:.2f}x baseline)")


if __name__ == "__main__":
    main()

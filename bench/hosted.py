"""Benchmark: the hosted RunComfy client against the loopback stand-in with injected latency.

1. Client overhead per request: `api.run` end to end (validate, submit, poll, result, download,
   sidecar) minus the latency the server injected, next to a baseline measured in the same run:
   the same number of bare httpx requests to the same server.
2. N concurrent requests (threads, as the batch runner uses them): wall time against the ideal
   (one request's wall time, since they all overlap), as efficiency = ideal / actual.

    python bench/hosted.py [--latency 0.05] [--runs 10] [--concurrency 1,4,8,16,32]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

MODEL = "acestep-ai/ace-step/text-to-audio"
INPUT = {"tags": "lofi, 80 BPM", "duration": 10, "seed": 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="server latency per HTTP request, s")
    parser.add_argument("--runs", type=int, default=10, help="sequential runs for the overhead figure")
    parser.add_argument("--concurrency", default="1,4,8,16,32")
    parser.add_argument("--polls", type=int, default=2, help="status answers before 'completed'")
    args = parser.parse_args()

    import httpx

    from aimusic import api
    from fakes.runcomfy_server import RunComfyServer

    work = Path(tempfile.mkdtemp(prefix="aimusic-bench-hosted-"))
    os.environ.update({"AIMUSIC_CONFIG_DIR": str(work / "config"), "AIMUSIC_CACHE_DIR": str(work / "cache"),
                       "AIMUSIC_POLL_INTERVAL": "0.05"})
    with RunComfyServer(token="bench-token") as server:
        os.environ.update(server.env())
        server.latency = args.latency

        # 1. overhead per request, with no polling wait: submit, status (done), result, download
        server.polls_before_done = 0
        api.run(MODEL, INPUT, work / "warm", provider="runcomfy")  # imports, catalog look-up (cached)
        walls, http_counts = [], []
        for index in range(args.runs):
            before = len(server.requests)
            started = time.perf_counter()
            api.run(MODEL, INPUT, work / f"seq{index}", provider="runcomfy")
            walls.append(time.perf_counter() - started)
            http_counts.append(len(server.requests) - before)
        requests_per_run = statistics.median(http_counts)
        injected = requests_per_run * args.latency
        bare = []
        with httpx.Client() as client:
            job = server.new_job(MODEL, INPUT)
            server.advance(job)
            urls = [f"{server.base_url}/requests/{job.request_id}/status"] * int(requests_per_run)
            for _ in range(args.runs):
                started = time.perf_counter()
                for url in urls:
                    client.get(url, headers={"Authorization": "Bearer bench-token"})
                bare.append(time.perf_counter() - started)
        wall = statistics.median(walls)
        base = statistics.median(bare)
        print(f"server latency {args.latency * 1000:.0f} ms per HTTP request; "
              f"{requests_per_run:.0f} requests per run (submit, status, result, download)")
        print(f"{'':38}{'median s':>10}{'overhead ms':>13}")
        print(f"{'bare httpx, same requests (baseline)':38}{base:10.3f}{(base - injected) * 1000:13.1f}")
        print(f"{'aimusic api.run, end to end':38}{wall:10.3f}{(wall - injected) * 1000:13.1f}")
        print(f"client overhead beyond bare HTTP: {(wall - base) * 1000:.1f} ms per request "
              "(validation, staging, audio probe, tags, sidecar)")

        # 2. concurrency: each run polls `--polls` times, so it spends most of its time waiting
        server.polls_before_done = args.polls
        started = time.perf_counter()
        api.run(MODEL, INPUT, work / "single", provider="runcomfy")
        ideal = time.perf_counter() - started
        print(f"\nconcurrent runs ({args.polls} polls each); ideal = one run's wall time = {ideal:.3f} s")
        print(f"{'N':>4}{'wall s':>10}{'efficiency':>12}{'runs/s':>10}{'submits':>9}")
        for n in (int(x) for x in args.concurrency.split(",")):
            before = server.total_submits
            errors: list[BaseException] = []

            def one(i: int, n: int = n) -> None:
                try:
                    api.run(MODEL, INPUT, work / f"c{n}-{i}", provider="runcomfy")
                except BaseException as exc:  # counted and shown, never hidden
                    errors.append(exc)

            threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            submits = server.total_submits - before
            note = f"  {len(errors)} failed: {errors[0]}" if errors else ""
            print(f"{n:4d}{elapsed:10.3f}{ideal / elapsed:12.2f}{n / elapsed:10.1f}{submits:9d}{note}")


if __name__ == "__main__":
    main()

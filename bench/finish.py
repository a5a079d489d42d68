"""Benchmark: finishing a 3-minute 48 kHz stereo file (loudness + true-peak limiting + FLAC encode).

Prints each stage and the whole, next to the baseline of simply reading and writing the same file
(read WAV, encode FLAC), measured in the same run. Best of N runs (the machine is shared).

    python bench/finish.py [--runs 3] [--seconds 180]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))


CPU_TIMES: dict[str, float] = {}


def best_of(runs: int, fn, name: str | None = None):
    """Best wall time of `runs`; also keeps the best CPU time (all threads) under `name`, a
    steadier figure when other processes share the cores."""
    times, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    if name:
        CPU_TIMES[name] = min(cpu)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=180.0)
    args = parser.parse_args()

    import soundfile as sf
    from conftest import music_like

    from aimusic.audio import loudness, peak
    from aimusic.audio.finish import EncodeAhead, normalize
    from aimusic.audio.io import read_audio, write_audio

    rate = 48000
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "source.wav"
        sf.write(source, music_like(args.seconds, rate).T, rate, subtype="PCM_24")
        out = Path(folder) / "out.flac"
        samples, _ = read_audio(source)

        baseline = best_of(args.runs, lambda: write_audio(out, read_audio(source)[0], rate, "flac"), "baseline")
        read_s = best_of(args.runs, lambda: read_audio(source))
        encode_s = best_of(args.runs, lambda: write_audio(out, samples, rate, "flac"))
        measure_s = best_of(args.runs, lambda: loudness.integrated_loudness(samples, rate))
        true_peak_s = best_of(args.runs, lambda: peak.true_peak(samples, rate))
        level_s = best_of(args.runs, lambda: normalize(samples, rate, -14.0, -1.0))

        def chain():
            finished, _ = normalize(samples, rate, -14.0, -1.0)
            write_audio(out, finished, rate, "flac")

        def overlapped():
            # as `aimusic finish` does it: the FLAC encode of the limited result starts on a
            # second thread while the last measurements (true peak where the gain moved,
            # loudness) run, and is kept when they confirm it
            ahead = EncodeAhead(lambda s: write_audio(out, s, rate, "flac"))
            finished, _ = normalize(samples, rate, -14.0, -1.0, on_candidate=ahead.offer)
            ahead.result(finished)

        sequential_s = best_of(args.runs, chain, "sequential")
        chain_s = best_of(args.runs, overlapped, "chain")
        def full():
            source_samples = read_audio(source)[0]
            ahead = EncodeAhead(lambda s: write_audio(out, s, rate, "flac"))
            ahead.result(normalize(source_samples, rate, -14.0, -1.0, on_candidate=ahead.offer)[0])

        full_s = best_of(args.runs, full, "full")
        finished, report = normalize(samples, rate, -14.0, -1.0)
        achieved = loudness.integrated_loudness(finished, rate)
        tp = peak.true_peak_db(finished, rate)

    print(f"input: {args.seconds:.0f} s, {rate} Hz stereo (music-like test signal), best of {args.runs}")
    print(f"  read WAV                      {read_s:7.3f} s")
    print(f"  integrated loudness (BS.1770) {measure_s:7.3f} s")
    print(f"  true peak (ffmpeg + libebur128){true_peak_s:7.3f} s")
    print(f"  loudness + true-peak limit    {level_s:7.3f} s  (limiter: {report['limiter']['max_reduction_db']} dB "
          f"max, {report['limiter']['passes']} pass)")
    print(f"  FLAC encode (24-bit)          {encode_s:7.3f} s")
    print(f"finish (loudness + true peak + FLAC encode): {chain_s:.3f} s  (target < 0.5 s; encode overlapped "
          f"with the last measurements)")
    print(f"  the same, one step after another:          {sequential_s:.3f} s ({CPU_TIMES['sequential']:.3f} s CPU)")
    print(f"  the same plus reading the WAV:             {full_s:.3f} s")
    print(f"baseline (read WAV + write FLAC, no processing): {baseline:.3f} s")
    print(f"ratio finish-with-read / baseline: {full_s / baseline:.2f}x")
    print(f"CPU time (all threads): finish {CPU_TIMES['chain']:.3f} s, with read {CPU_TIMES['full']:.3f} s, "
          f"baseline {CPU_TIMES['baseline']:.3f} s, ratio {CPU_TIMES['full'] / CPU_TIMES['baseline']:.2f}x")
    print(f"result: {achieved:.2f} LUFS (target -14), true peak {tp:.2f} dBTP (ceiling -1)")
    import os

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (other work slows every line)")


if __name__ == "__main__":
    main()

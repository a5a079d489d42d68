"""Chained extensions: several engine calls that make one track, joined in memory.

Each call extends a context clip cut from the track so far. The call's output is staged by
the engine in a sink that is never committed: its audio is taken from the take (decoded once
when the engine staged an encoded file), the staged files are dropped, and the new material is
joined with `aimusic.audio.splice.append`/`prepend`, which keep the earlier audio bit-identical.
Only the finished track is written, atomically, with one sidecar listing every call. The
context clip itself is handed to the engine as a scratch WAV file, because engines take their
sources as paths (the same contract as a user's file).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aimusic.pipeline import RunResult, RunSettings
    from aimusic.plan import Plan


def run_chain(plan: Plan, output_dir: Path, settings: RunSettings) -> RunResult:
    import numpy as np

    from aimusic.audio.io import resample, to_channels, write_audio
    from aimusic.audio.splice import append, prepend
    from aimusic.output import OutputSink
    from aimusic.pipeline import _prepare_step, aborting, call_engine, resolve_seed, take_audio

    started = time.perf_counter()
    output_dir.mkdir(parents=True, exist_ok=True)
    calls: list[dict[str, Any]] = []
    total_cost = 0.0
    versions: dict[str, str] = {}
    track: np.ndarray | None = None
    rate = 0
    with tempfile.TemporaryDirectory(prefix=".aimusic-chain-", dir=output_dir) as scratch:
        for step in plan.steps:
            data = dict(step.input)
            if step.join:
                assert track is not None and step.context_seconds is not None
                frames = min(track.shape[1], int(round(step.context_seconds * rate)))
                clip = track[:, -frames:] if step.join == "append" else track[:, :frames]
                clip_path = Path(scratch) / f"context-{step.index}.wav"
                write_audio(clip_path, clip, rate, "wav", subtype="FLOAT")
                data["audio"] = str(clip_path)
            if settings.log is not None:
                settings.log(f"chain step {step.index}/{len(plan.steps)}: {step.task} on {step.model}")
            model, request = _prepare_step(step, data)
            request = resolve_seed(request)
            sink = OutputSink(scratch)
            with aborting(sink):
                engine, outcome = call_engine(model, request, step.provider, sink, settings)
                produced, produced_rate = take_audio(outcome.takes[0])
            sink.abort()  # the call's own files are never named: only the joined track is
            versions = versions or engine.versions()
            total_cost += outcome.cost_usd or 0.0
            calls.append({"step": step.index, "model": model.id, "provider": step.provider,
                          "input": request.to_json_dict(), "seed": outcome.takes[0].seed,
                          "cost_usd": outcome.cost_usd})
            if track is None:
                track, rate = np.asarray(produced, dtype=np.float32), produced_rate
                continue
            produced = to_channels(resample(produced, produced_rate, rate), track.shape[0])
            overlap = int(round(step.context_seconds * rate))  # type: ignore[operator]
            joiner = append if step.join == "append" else prepend
            track = joiner(track, produced.astype(np.float32), rate, overlap_frames=overlap)
    assert track is not None
    finish_report = None
    if settings.finish:
        from aimusic.audio.finish import apply_preset

        track, finish_report = apply_preset(track, rate, settings.finish)
    return _commit_track(plan, track, rate, output_dir, settings, calls, total_cost, versions,
                         finish_report, started)


def _commit_track(plan: Plan, track: Any, rate: int, output_dir: Path, settings: RunSettings,
                  calls: list[dict[str, Any]], cost: float, versions: dict[str, str],
                  finish_report: dict[str, Any] | None, started: float) -> RunResult:
    from aimusic.catalog import get_model
    from aimusic.output import OutputSink, PendingOutput
    from aimusic.output.naming import stem_for
    from aimusic.pipeline import RunResult, aborting
    from aimusic.pipeline.sidecar import build_sidecar

    ext = settings.format or "wav"
    first = plan.steps[0]
    model = get_model(first.model)
    seed = calls[0]["seed"]
    sink = OutputSink(output_dir)
    with aborting(sink):
        staged = sink.stage_audio(track, rate, ext)
        sidecar = build_sidecar(
            model=model, provider=first.provider, task=plan.task, input=first.input, seed=seed, fmt=ext,
            sample_rate=rate, channels=int(track.shape[0]), duration_s=track.shape[1] / rate, cost_usd=cost,
            estimated_cost_usd=plan.estimated_cost_usd, engine_versions=versions, finish=finish_report,
            request=plan.request, chain=calls,
            replay="a chained plan: re-run `aimusic edit` (or each call in `chain`)")
        committed = sink.commit([PendingOutput(audio=staged, ext=ext, stem=stem_for(first.model, first.input, seed, 0),
                                               sidecar=sidecar)])
    return RunResult(model=first.model, provider=first.provider, task=plan.task,
                     files=[str(c.audio) for c in committed], sidecars=[str(c.sidecar) for c in committed],
                     seeds=[seed], cost_usd=cost, timings={"total_s": time.perf_counter() - started},
                     input=first.input, metadata={"chain": calls})

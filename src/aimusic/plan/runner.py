"""Running a plan: each step through aimusic.api.run; chained extensions joined into one file.

Independent steps (a batch, one take per language, draft then polish) each write their own
files. A chain (an extension past a model's limit) runs its calls in a private scratch
directory, cuts each call's context clip from the result so far, joins the new material
(`aimusic.audio.splice.append`/`prepend`, which keep the earlier audio bit-identical) and
writes only the finished track, atomically, with a sidecar listing every call.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

from aimusic.errors import Interrupted
from aimusic.plan import Plan, Step


def run_plan(plan: Plan, output_dir: str | Path, *, format: str | None = None, finish: str | None = None,
             progress: Callable[..., None] | None = None, log: Callable[[str], None] | None = None,
             cancel_event: threading.Event | None = None, options: dict[str, Any] | None = None) -> list[Any]:
    """Run every step of `plan`; one RunResult per written take (one for a whole chain).
    `options` are engine options (model_path, midi, stems, ...) passed to every call."""
    from aimusic import api
    from aimusic.engines.registry import build_options

    # Validate every call and check every key before the first one runs (no network): a plan
    # whose last step cannot run must not spend money on its first. The engine options are given
    # once for every step: each step's engine takes the ones it declares.
    for step in plan.steps:
        build_options(step.provider, options, shared=True)
        if not step.join and not str(step.input.get("audio", "")).startswith("<"):
            api.prepare(step.model, step.input, step.provider)
    chained = any(step.join for step in plan.steps)
    if chained:
        return [_run_chain(plan, Path(output_dir), format, finish, progress, log, cancel_event, options)]
    results = []
    for step in plan.steps:
        takes = step.variations or [None] * step.count
        for index, tags in enumerate(takes):
            data = dict(step.input)
            if tags is not None:
                data["tags"] = tags
            if cancel_event is not None and cancel_event.is_set():
                raise Interrupted("cancelled; the takes already written are kept")
            if log is not None and len(takes) > 1:
                log(f"take {index + 1}/{len(takes)} of step {step.index}")
            results.append(api.run(step.model, data, output_dir, provider=step.provider, format=format,
                                   finish=finish, progress=progress, log=log, cancel_event=cancel_event,
                                   options=build_options(step.provider, options, shared=True)))
    return results


def _run_chain(plan: Plan, output_dir: Path, fmt: str | None, finish: str | None,
               progress: Callable[..., None] | None, log: Callable[[str], None] | None,
               cancel_event: threading.Event | None = None, options: dict[str, Any] | None = None) -> Any:
    import time

    import numpy as np

    from aimusic import api
    from aimusic.engines.registry import build_options
    from aimusic.audio.io import read_audio, resample, to_channels, write_audio
    from aimusic.audio.splice import append, prepend

    started = time.perf_counter()
    output_dir.mkdir(parents=True, exist_ok=True)
    calls: list[dict[str, Any]] = []
    total_cost = 0.0
    with tempfile.TemporaryDirectory(prefix=".aimusic-chain-", dir=output_dir) as scratch:
        work = Path(scratch)
        track: np.ndarray | None = None
        rate = 0
        for step in plan.steps:
            data = dict(step.input)
            if step.join:
                assert track is not None and step.context_seconds is not None
                frames = min(track.shape[1], int(round(step.context_seconds * rate)))
                clip = track[:, -frames:] if step.join == "append" else track[:, :frames]
                clip_path = work / f"context-{step.index}.wav"
                write_audio(clip_path, clip, rate, "wav", subtype="FLOAT")
                data["audio"] = str(clip_path)
            if log is not None:
                log(f"chain step {step.index}/{len(plan.steps)}: {step.task} on {step.model}")
            result = api.run(step.model, data, work / f"step-{step.index}", provider=step.provider,
                             progress=progress, log=log, cancel_event=cancel_event,
                             options=build_options(step.provider, options, shared=True))
            total_cost += result.cost_usd or 0.0
            calls.append({"step": step.index, "model": result.model, "provider": result.provider,
                          "input": result.input, "seed": result.seeds[0] if result.seeds else None,
                          "cost_usd": result.cost_usd})
            produced, produced_rate = read_audio(result.files[0])
            if track is None:
                track, rate = produced, produced_rate
                continue
            produced = to_channels(resample(produced, produced_rate, rate), track.shape[0])
            overlap = int(round(step.context_seconds * rate))  # type: ignore[operator]
            joiner = append if step.join == "append" else prepend
            track = joiner(track, produced.astype(np.float32), rate, overlap_frames=overlap)
        assert track is not None
        if finish:
            from aimusic.audio.finish import apply_preset

            track, _ = apply_preset(track, rate, finish)
        return _commit_track(plan, track, rate, output_dir, fmt, calls, total_cost,
                             time.perf_counter() - started)


def _commit_track(plan: Plan, track: Any, rate: int, output_dir: Path, fmt: str | None,
                  calls: list[dict[str, Any]], cost: float, seconds: float) -> Any:
    from datetime import datetime, timezone

    from aimusic.api import RunResult, aimusic_version
    from aimusic.audio.io import format_for
    from aimusic.output import OutputSink, PendingOutput
    from aimusic.output.naming import stem_for, title_for

    ext = format_for(fmt) if fmt else "wav"
    first: Step = plan.steps[0]
    sink = OutputSink(output_dir)
    try:
        staged = sink.stage_audio(track, rate, ext)
        sidecar = {
            "aimusic_version": aimusic_version(),
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "model": first.model, "provider": first.provider, "task": plan.task,
            "title": title_for(first.model, first.input), "request": plan.request,
            "input": first.input, "seed": calls[0]["seed"], "format": ext, "sample_rate": rate,
            "channels": int(track.shape[0]), "duration_s": track.shape[1] / rate, "cost_usd": cost,
            "estimated_cost_usd": plan.estimated_cost_usd, "chain": calls,
            "replay": "a chained plan: re-run `aimusic edit` (or each call in `chain`)",
        }
        committed = sink.commit([PendingOutput(audio=staged, ext=ext,
                                               stem=stem_for(first.model, first.input, calls[0]["seed"], 0),
                                               sidecar=sidecar)])
    except BaseException:
        sink.abort()
        raise
    return RunResult(model=first.model, provider=first.provider, task=plan.task,
                     files=[str(c.audio) for c in committed], sidecars=[str(c.sidecar) for c in committed],
                     seeds=[calls[0]["seed"]], cost_usd=cost, timings={"total_s": seconds},
                     input=first.input, metadata={"chain": calls})

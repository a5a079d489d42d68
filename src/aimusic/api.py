"""The Python API: a thin front door over the planner and the pipeline. The CLI, MCP and
batches call these functions; the work happens in `aimusic.plan` and `aimusic.pipeline`.

    >>> import aimusic
    >>> result = aimusic.run("local/sketch/text-to-audio", {"tags": "lofi, 80 BPM", "duration": 5}, "out")
    >>> result.files
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

from aimusic.catalog import ModelEntry, all_models
from aimusic.catalog.pricing import estimate_cost, output_seconds
from aimusic.errors import InputError, InputFileError, UsageError
from aimusic.pipeline import PlanRunResult, RunResult, RunSettings, resolve_seed
from aimusic.pipeline.sidecar import aimusic_version, library_versions
from aimusic.plan.direct import AUDIO_REFERENCE_FIELDS, check_audio_references, prepare
from aimusic.plan.providers import provider_for_model as choose_provider

__all__ = ["AUDIO_REFERENCE_FIELDS", "PlanRunResult", "RunResult", "aimusic_version", "analyze",
           "check_audio_references", "choose_provider", "describe_model", "edit", "estimate_cost", "finish",
           "generate", "library_versions", "models", "output_seconds", "plan", "prepare", "replay",
           "resolve_seed", "resume", "run"]


def models() -> list[ModelEntry]:
    return all_models()


def describe_model(entry: ModelEntry, *, full: bool = False) -> dict[str, Any]:
    """A catalog entry as JSON, with whether each of its providers is usable right now and why not."""
    from aimusic.engines.registry import availability

    info = entry.to_dict()
    if not full:
        info.pop("input_schema", None)
    checks = []
    for name in entry.providers:
        state = availability(entry, name)
        checks.append({"provider": name, "usable": state.usable, "reason": state.reason})
    info["available"] = any(c["usable"] for c in checks)
    info["availability"] = checks
    return info


def _settings(format: str | None, finish: str | None, options: dict[str, Any] | None,
              progress: Callable[..., None] | None, cancel_event: threading.Event | None,
              log: Callable[[str], None] | None, on_remote_id: Callable[[str], None] | None = None
              ) -> RunSettings:
    return RunSettings(format=format, finish=finish, options=dict(options or {}), progress=progress,
                       cancel_event=cancel_event, log=log, on_remote_id=on_remote_id)


def run(model_id: str, input: dict[str, Any] | str, output_dir: str | Path = ".", *,
        provider: str = "auto", format: str | None = None, finish: str | None = None,
        options: dict[str, Any] | None = None, progress: Callable[..., None] | None = None,
        cancel_event: threading.Event | None = None, log: Callable[[str], None] | None = None,
        on_remote_id: Callable[[str], None] | None = None) -> RunResult:
    """Run one model on one input and write its files (atomically) with sidecars."""
    from aimusic.pipeline import run_request

    started = time.perf_counter()
    model, request, chosen = prepare(model_id, input, provider)
    return run_request(model, request, chosen, output_dir,
                       _settings(format, finish, options, progress, cancel_event, log, on_remote_id),
                       started=started)


def replay(sidecar_path: str | Path, output_dir: str | Path | None = None, **kwargs: Any) -> RunResult:
    """Re-run the request a sidecar records (same model, provider, input and seed)."""
    path = Path(sidecar_path).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(f"sidecar not found: {path}", field="sidecar") from None
    except (OSError, UnicodeDecodeError):
        raise InputFileError(f"cannot read sidecar {path}", field="sidecar") from None
    except json.JSONDecodeError:
        raise InputError(f"{path} is not a sidecar (not JSON)", field="sidecar") from None
    if not isinstance(data, dict) or not isinstance(data.get("model"), str) \
            or not isinstance(data.get("input"), dict):
        raise InputError(f"{path} is not an aimusic sidecar (no model/input)", field="sidecar")
    kwargs.setdefault("provider", data.get("provider") or "auto")
    kwargs.setdefault("format", data.get("format"))
    options = dict(kwargs.pop("options", None) or {})
    weights = (data.get("metadata") or {}).get("weights")
    if data.get("provider") == "local" and isinstance(weights, str) and Path(weights).is_dir():
        options.setdefault("model_path", weights)  # the same weights the take was made with
    recorded = (data.get("metadata") or {}).get("replay_options")
    if isinstance(recorded, dict):  # what the engine says it needs to make the take again (LM, LoRAs)
        for key, value in recorded.items():
            options.setdefault(key, value)
    return run(data["model"], data["input"], output_dir or path.parent, options=options, **kwargs)


def resume(request_id: str, output_dir: str | Path = ".", *, model_id: str | None = None,
           provider: str = "runcomfy", options: dict[str, Any] | None = None,
           progress: Callable[..., None] | None = None, cancel_event: threading.Event | None = None,
           log: Callable[[str], None] | None = None) -> RunResult:
    """Poll and download an existing hosted request (no new submit), writing files and sidecars
    through the same path as `run`. The request's input is not known: the sidecar records it empty."""
    from aimusic.pipeline import resume_request
    from aimusic.plan.direct import resume_target

    model = resume_target(provider, model_id)
    return resume_request(request_id, model, provider, output_dir,
                          _settings(None, None, options, progress, cancel_event, log))


def plan(request: str, audio: str | None = None, lyrics: str | None = None, provider: str = "auto",
         budget_usd: float | None = None, overrides: dict[str, Any] | None = None,
         video: str | None = None) -> dict[str, Any]:
    """Route a request in plain words: the same object as `aimusic plan --json`. Runs nothing."""
    from aimusic.plan import make_plan

    return make_plan(request, audio=audio, lyrics=lyrics, provider=provider, budget_usd=budget_usd,
                     overrides=overrides, video=video).to_dict()


def generate(request: str, output_dir: str | Path = ".", *, provider: str = "auto",
             overrides: dict[str, Any] | None = None, lyrics: str | None = None,
             budget_usd: float | None = None, video: str | None = None, audio: str | None = None,
             format: str | None = None, finish: str | None = None, options: dict[str, Any] | None = None,
             progress: Callable[..., None] | None = None, cancel_event: threading.Event | None = None,
             log: Callable[[str], None] | None = None) -> PlanRunResult:
    """Plan a request in plain words and run every step of the plan (`options`: engine options)."""
    from aimusic.pipeline import run_plan
    from aimusic.plan import make_plan

    the_plan = make_plan(request, audio=audio, lyrics=lyrics, provider=provider, budget_usd=budget_usd,
                         overrides=overrides, video=video)
    results = run_plan(the_plan, output_dir, _settings(format, finish, options, progress, cancel_event, log))
    return PlanRunResult(plan=the_plan.to_dict(), results=results)


def edit(audio: str, request: str, output_dir: str | Path = ".", **kwargs: Any) -> PlanRunResult:
    """Plan an edit of `audio` (inpaint, outpaint, remix) in plain words and run it."""
    return generate(request, output_dir, audio=audio, **kwargs)


def finish(audio: str | Path, *, output: str | Path | None = None, output_dir: str | Path | None = None,
           preset: str | None = None, loudness: float | None = None, true_peak: float | None = None,
           fade_in: float = 0.0, fade_out: float | None = None, fade_in_shape: str = "sine",
           fade_out_shape: str = "exp", trim_silence: bool = False, loop: bool = False,
           length: float | None = None, match_video: str | None = None, sample_rate: int | None = None,
           format: str | None = None) -> dict[str, Any]:
    """Finish a file for publishing (loudness, true peak, fades, silence, loop, length, format).

    Writes `output`, or `<name>.finished.<ext>` beside the input, or (with `output_dir`) a free
    `<name>.finished[-N].<ext>` inside that directory. Never overwrites the input.
    """
    from aimusic.audio.finish import DEFAULT_PRESET, PRESETS
    from aimusic.audio.finish import finish as run_finish
    from aimusic.audio.io import read_audio
    from aimusic.output.files import lossy_rate, resolve_output_path, write_audio_file

    if preset is not None and loudness is not None:
        raise UsageError("give either a preset or a loudness target, not both", field="loudness")
    if match_video is not None:
        if length is not None:
            raise UsageError("give either a length or a video to match, not both", field="length")
        from aimusic.audio.video import video_duration

        length = video_duration(match_video)
    source = Path(audio).expanduser()
    if output is None and output_dir is not None:
        output = _free_output_name(Path(output_dir), source, format)
    out_path, out_fmt = resolve_output_path(source, str(output) if output is not None else None, format)
    if loudness is None:
        settings = PRESETS[preset or DEFAULT_PRESET]
        loudness = settings["loudness"]
        if true_peak is None:
            true_peak = settings["true_peak"]
    samples, rate = read_audio(source)
    samples, rate, report = run_finish(
        samples, rate, loudness_lufs=loudness, true_peak_dbtp=true_peak, fade_in_s=fade_in,
        fade_out_s=fade_out, trim_silence=trim_silence, loop=loop, length_s=length,
        output_rate=sample_rate or lossy_rate(out_fmt, rate), fade_in_shape=fade_in_shape,
        fade_out_shape=fade_out_shape)
    ceiling = true_peak if true_peak is not None else (-1.0 if loudness is not None else None)
    report["encode"] = write_audio_file(out_path, samples, rate, out_fmt, ceiling)
    if match_video is not None:
        report["match_video"] = {"file": str(match_video), "duration_s": round(length or 0.0, 6)}
    return {"input": str(source), "output": str(out_path), "format": out_fmt, "sample_rate": rate,
            "report": report}


def _free_output_name(directory: Path, source: Path, fmt: str | None) -> Path:
    from aimusic.audio.io import FORMATS
    from aimusic.output.naming import safe_name

    ext = fmt or (source.suffix.lstrip(".").lower() if source.suffix.lstrip(".").lower() in FORMATS else "wav")
    stem = safe_name(source.stem) + ".finished"
    for index in range(10_000):
        candidate = directory / (f"{stem}.{ext}" if index == 0 else f"{stem}-{index}.{ext}")
        if not candidate.exists():
            return candidate
    raise InputError(f"no free file name for {stem} in {directory}", field="output")


def analyze(audio: str | Path, *, plot: str | Path | None = None) -> dict[str, Any]:
    """Measure a file: loudness, LRA, true peak, clipping, tempo, key, silences, sections, loopability."""
    from aimusic.audio.analysis import analyze as run_analysis
    from aimusic.audio.io import read_audio

    plot_file = None
    if plot is not None:
        plot_file = Path(plot).expanduser()
        if plot_file.suffix.lower() != ".png":
            raise InputError("the plot is a PNG: give a file name ending in .png", field="plot")
        parent = plot_file.parent if str(plot_file.parent) else Path(".")
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            raise InputError(f"cannot write the plot into {parent}", field="plot")
    source = Path(audio).expanduser()
    samples, rate = read_audio(source)
    result = {"file": str(source), **run_analysis(samples, rate)}
    if plot_file is not None:
        from aimusic.audio.plot import plot_analysis
        from aimusic.output import write_file_atomic

        write_file_atomic(plot_file, plot_analysis(samples, rate, result))
        result["plot"] = str(plot_file)
    return result

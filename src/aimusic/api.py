"""The Python API. Every front door (CLI, MCP, batches) calls these functions.

    >>> import aimusic
    >>> result = aimusic.run("local/sketch/text-to-audio", {"tags": "lofi, 80 BPM", "duration": 5}, "out")
    >>> result.files
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable, Iterator

from aimusic.catalog import ModelEntry, all_models, get_model
from aimusic.config import KEYED_PROVIDERS, get_key, require_key
from aimusic.errors import AimusicError, InputError, InputFileError, Interrupted, UsageError
from aimusic.spec import ModelInput, is_url, parse_input_json, validate

AUDIO_REFERENCE_FIELDS = ("audio", "reference_audio")


@dataclass
class RunResult:
    model: str
    provider: str
    task: str
    files: list[str]
    sidecars: list[str]
    seeds: list[int | None]
    cost_usd: float | None
    timings: dict[str, float]
    input: dict[str, Any]
    extra_files: list[dict[str, str]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def aimusic_version() -> str:
    try:
        return version("aimusic")
    except PackageNotFoundError:  # running from a source tree
        return "0.1.0+src"


def library_versions(names: tuple[str, ...] = ("numpy", "soundfile", "soxr", "pydantic")) -> dict[str, str]:
    from aimusic.engines.base import package_versions

    return {"python": platform.python_version(), **package_versions(names)}


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


def choose_provider(model: ModelEntry, provider: str = "auto") -> str:
    """The provider that will run `model`: the one asked for, or for `auto` the first of the
    model's providers whose key is present (a direct provider before a reseller)."""
    if provider and provider != "auto":
        if provider not in model.providers:
            raise UsageError(f"{model.id} does not run on provider {provider!r}",
                             field="provider", hint=f"choose one of: {', '.join(model.providers)}")
        return provider
    for candidate in model.providers:
        if candidate not in KEYED_PROVIDERS or get_key(candidate):
            return candidate
    return model.providers[0]


def check_audio_references(request: ModelInput) -> None:
    """Local source files must exist and be readable before anything else happens (66)."""
    for name in AUDIO_REFERENCE_FIELDS:
        value = getattr(request, name, None)
        if not value or is_url(value):
            continue
        path = Path(value).expanduser()
        if not path.exists():
            raise InputFileError(f"{name}: file not found: {path}", field=name)
        if path.is_dir() or not os.access(path, os.R_OK):
            raise InputFileError(f"{name}: cannot read {path}", field=name)


def prepare(model_id: str, input: dict[str, Any] | str, provider: str = "auto", *, check_keys: bool = True
            ) -> tuple[ModelEntry, ModelInput, str]:
    """Resolve, validate and authorise a request without running it. No network, no heavy import."""
    model = get_model(model_id)
    data = parse_input_json(input) if isinstance(input, str) else input
    if not isinstance(data, dict):
        raise InputError("input must be a JSON object", field="input")
    request = validate(model.input_model, data)
    check_audio_references(request)
    chosen = choose_provider(model, provider)
    if check_keys and chosen in KEYED_PROVIDERS:
        require_key(chosen)
    return model, request, chosen


def resolve_seed(request: ModelInput) -> ModelInput:
    if getattr(request, "seed", None) == -1:
        return request.model_copy(update={"seed": secrets.randbelow(2**31 - 1)})
    return request


def run(model_id: str, input: dict[str, Any] | str, output_dir: str | Path = ".", *,
        provider: str = "auto", format: str | None = None, finish: str | None = None,
        options: dict[str, Any] | None = None, progress: Callable[..., None] | None = None,
        cancel_event: threading.Event | None = None, log: Callable[[str], None] | None = None,
        ) -> RunResult:
    """Run one model on one input and write its files (atomically) with sidecars."""
    from aimusic.engines.base import RunContext
    from aimusic.engines.registry import engine_class
    from aimusic.output import OutputSink

    started = time.perf_counter()
    model, request, chosen = prepare(model_id, input, provider)
    request = resolve_seed(request)
    if format is not None:
        from aimusic.audio.io import format_for

        format = format_for(format)
    engine = engine_class(chosen)()
    ctx = RunContext(options=dict(options or {}), cancel_event=cancel_event or threading.Event(), log=log)
    if format is not None:
        ctx.options.setdefault("format", format)  # engines writing extra audio (stems) match the take
    if progress is not None:
        ctx.progress = progress
    validated_at = time.perf_counter()
    sink = OutputSink(output_dir)
    with _aborting(sink):
        outcome = engine.run(model, request, ctx, sink)
        ctx.check_cancelled()  # a cancellation that arrived as the engine finished still wins: no files
        ran_at = time.perf_counter()
        pending = _pending_outputs(model, chosen, request, outcome, sink, format, finish, engine)
        timings = {"validate_s": validated_at - started, "run_s": ran_at - validated_at}
        for item in pending:
            item.sidecar["timings"] = dict(timings)
    return _commit(sink, pending, model, chosen, outcome, timings, started, request.to_json_dict())


@contextmanager
def _aborting(sink: Any) -> Iterator[None]:
    """Any failure or Ctrl-C while staging drops every staged file: the output dir stays as it was."""
    try:
        yield
    except KeyboardInterrupt:
        sink.abort()
        raise Interrupted("interrupted; no file was written") from None
    except BaseException:
        sink.abort()
        raise


def _commit(sink: Any, pending: list[Any], model: ModelEntry, provider: str, outcome: Any,
            timings: dict[str, float], started: float, input: dict[str, Any]) -> RunResult:
    """Name every staged file (all or nothing) and describe what was written."""
    with _aborting(sink):
        committed = sink.commit(pending)
    timings["total_s"] = time.perf_counter() - started
    return RunResult(
        model=model.id, provider=provider, task=model.task,
        files=[str(c.audio) for c in committed], sidecars=[str(c.sidecar) for c in committed],
        seeds=[t.seed for t in outcome.takes], cost_usd=outcome.cost_usd, timings=timings, input=input,
        extra_files=[{k: str(v) for k, v in c.extras.items()} for c in committed],
        metadata=outcome.metadata)


def _pending_outputs(model: ModelEntry, provider: str, request: ModelInput, outcome: Any, sink: Any,
                     fmt: str | None, finish: str | None, engine: Any) -> list[Any]:
    from aimusic.audio.io import audio_info, format_for, read_audio
    from aimusic.output import PendingOutput
    from aimusic.output.naming import stem_for, title_for

    if not outcome.takes:
        raise AimusicError(f"{provider} returned no audio")
    request_dict = request.to_json_dict()
    per_take_cost = (outcome.cost_usd / len(outcome.takes)) if outcome.cost_usd is not None else None
    pending = []
    for index, take in enumerate(outcome.takes):
        finish_report = None
        samples, rate = take.samples, take.sample_rate
        staged = take.staged
        ext = fmt or "wav"
        if staged is not None and (fmt is None or fmt == getattr(staged, "suffix", "").lstrip(".")) \
                and not (finish and finish != "none"):
            ext = format_for(staged.suffix)
        else:
            if samples is None:
                samples, rate = read_audio(staged.path)
            if finish and finish != "none":
                from aimusic.audio.finish import apply_preset

                samples, finish_report = apply_preset(samples, rate, finish)
            staged = sink.stage_audio(samples, rate, ext, subtype=take.metadata.get("subtype"))
        info = audio_info(staged.path) if ext in ("wav", "flac", "ogg", "mp3") else {}
        extras = {}
        for suffix, value in take.extra_files.items():
            extras[suffix] = sink.stage_bytes(value, "." + suffix) if isinstance(value, bytes) else value
        take_input = dict(request_dict)
        if "seed" in take_input and take.seed is not None:
            take_input["seed"] = take.seed
        sidecar = {
            "aimusic_version": aimusic_version(),
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "model": model.id, "provider": provider, "task": model.task,
            "title": title_for(model.id, request_dict),
            "input": take_input, "seed": take.seed,
            "format": ext, "sample_rate": info.get("sample_rate", rate),
            "channels": info.get("channels"), "duration_s": info.get("duration"),
            "cost_usd": per_take_cost,
            "estimated_cost_usd": estimate_cost(model, request_dict) if model.price_per_second else 0.0,
            "engine": {"name": provider, "versions": engine.versions()},
            "versions": {"aimusic": aimusic_version(), **library_versions()},
            "metadata": {**outcome.metadata, **take.metadata},
            "finish": finish_report,
            "replay": "aimusic replay <this file>",
        }
        pending.append(PendingOutput(audio=staged, ext=ext,
                                     stem=stem_for(model.id, request_dict, take.seed,
                                                   index if len(outcome.takes) > 1 else 0),
                                     sidecar=sidecar, extras=extras))
    return pending


def output_seconds(model: ModelEntry, request: dict[str, Any], source_seconds: float | None = None) -> float:
    """Seconds of audio a request produces (what providers bill)."""
    if "music_length_ms" in request:
        return request["music_length_ms"] / 1000.0
    if model.task == "generate":
        return float(request.get("duration", 60))
    if model.task == "outpaint":
        added = float(request.get("extend_before_duration", 0)) + float(request.get("extend_after_duration", 0))
        return added + (source_seconds or 0.0)
    if model.task == "inpaint":
        if source_seconds is not None:
            return source_seconds
        return max(float(request.get("end_time", 30)) - float(request.get("start_time", 0)), 0.0)
    return source_seconds if source_seconds is not None else float(request.get("duration", 60))


def estimate_cost(model: ModelEntry, request: dict[str, Any], source_seconds: float | None = None) -> float:
    return round(model.price_per_second * output_seconds(model, request, source_seconds), 6)


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
    return run(data["model"], data["input"], output_dir or path.parent, options=options, **kwargs)


def resume(request_id: str, output_dir: str | Path = ".", *, model_id: str | None = None,
           provider: str = "runcomfy", options: dict[str, Any] | None = None,
           progress: Callable[..., None] | None = None, cancel_event: threading.Event | None = None,
           log: Callable[[str], None] | None = None) -> RunResult:
    """Poll and download an existing hosted request (no new submit), writing files and sidecars
    through the same path as `run`. The request's input is not known: the sidecar records it empty."""
    from aimusic.engines.base import RunContext
    from aimusic.engines.registry import engine_class
    from aimusic.output import OutputSink
    from aimusic.spec import ModelInput

    started = time.perf_counter()
    if provider != "runcomfy":
        raise UsageError("only runcomfy requests can be resumed", field="provider")
    require_key(provider)
    if model_id:
        model = get_model(model_id)
        if provider not in model.providers:
            raise UsageError(f"{model.id} does not run on {provider}", field="model")
    else:
        model = ModelEntry(id=f"{provider}/unknown-model/resumed", task="generate", providers=(provider,),
                           title="resumed request", description="a request resumed by id",
                           input_model=ModelInput, price_per_second=0.0)
    engine = engine_class(provider)()
    ctx = RunContext(options=dict(options or {}), cancel_event=cancel_event or threading.Event(), log=log)
    if progress is not None:
        ctx.progress = progress
    request = ModelInput()
    sink = OutputSink(output_dir)
    with _aborting(sink):
        outcome = engine.resume(request_id, ctx, sink)
        ran_at = time.perf_counter()
        pending = _pending_outputs(model, provider, request, outcome, sink, None, None, engine)
        timings = {"run_s": ran_at - started}
        for item in pending:
            item.sidecar["timings"] = dict(timings)
            item.sidecar["resumed"] = True
            item.sidecar["estimated_cost_usd"] = None
    return _commit(sink, pending, model, provider, outcome, timings, started, {})


@dataclass
class PlanRunResult:
    """What `generate`/`edit` produce: the plan and every file its steps wrote."""

    plan: dict[str, Any]
    results: list[RunResult]

    @property
    def files(self) -> list[str]:
        return [f for r in self.results for f in r.files]

    def to_dict(self) -> dict[str, Any]:
        costs = [r.cost_usd for r in self.results if r.cost_usd is not None]
        return {
            "files": self.files,
            "sidecars": [s for r in self.results for s in r.sidecars],
            "seeds": [s for r in self.results for s in r.seeds],
            "cost_usd": round(sum(costs), 6) if costs else (0.0 if self.results else None),
            "model": self.plan["model"], "provider": self.plan["provider"], "task": self.plan["task"],
            "plan": self.plan,
        }


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
    from aimusic.plan import make_plan
    from aimusic.plan.runner import run_plan

    the_plan = make_plan(request, audio=audio, lyrics=lyrics, provider=provider, budget_usd=budget_usd,
                         overrides=overrides, video=video)
    results = run_plan(the_plan, output_dir, format=format, finish=finish, progress=progress, log=log,
                       cancel_event=cancel_event, options=options)
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
    from aimusic.audio.io import channel_layout
    from aimusic.audio.loudness import channel_weights

    source_samples, source_rate = read_audio(source)
    ceiling = true_peak if true_peak is not None else (-1.0 if loudness is not None else None)

    def chain(loudness_offset: float = 0.0, ceiling_offset: float = 0.0, on_candidate: Any = None
              ) -> tuple[Any, int, dict[str, Any]]:
        return run_finish(
            source_samples, source_rate, loudness_lufs=None if loudness is None else loudness + loudness_offset,
            true_peak_dbtp=None if ceiling is None else max(-20.0, ceiling + ceiling_offset), fade_in_s=fade_in,
            fade_out_s=fade_out, trim_silence=trim_silence, loop=loop, length_s=length,
            output_rate=sample_rate or lossy_rate(out_fmt, source_rate), fade_in_shape=fade_in_shape,
            fade_out_shape=fade_out_shape, on_candidate=on_candidate,
            channel_weights=channel_weights(source_samples.shape[0], channel_layout(source)))

    ahead = None
    if out_fmt in ("wav", "flac") and not sample_rate:
        # lossless at the source rate: encode the limited result while its last measurements run
        from aimusic.audio.finish import EncodeAhead
        from aimusic.output.files import staged_encode

        ahead = EncodeAhead(*staged_encode(out_path, source_rate, out_fmt))
    samples, rate, report = chain(on_candidate=ahead.offer if ahead else None)
    encoded = ahead.result(samples) if ahead else None
    report["encode"] = write_audio_file(out_path, samples, rate, out_fmt, ceiling, target_lufs=loudness,
                                        retarget=lambda lo, co: chain(lo, co)[0], encoded=encoded)
    if "decoded" in report["encode"]:  # a lossy file: what a listener's decoder plays is the output
        report["output"] = {**report["encode"]["decoded"]}
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

        plot_analysis(samples, rate, result, plot_file)
        result["plot"] = str(plot_file)
    return result

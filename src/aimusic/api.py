"""The Python API: a thin front door over the planner and the pipeline. The CLI, MCP and
batches call these functions; the work happens in `aimusic.plan` and `aimusic.pipeline`.

    >>> import aimusic
    >>> result = aimusic.run("local/sketch/text-to-audio", {"tags": "lofi, 80 BPM", "duration": 5}, "out")
    >>> result.files
"""

from __future__ import annotations

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
           "generate", "layer", "library", "library_versions", "models", "output_seconds", "plan", "prepare",
           "replay", "resolve_seed", "resume", "run", "separate", "waveform", "align_lyrics", "align_lyrics_price"]


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
              log: Callable[[str], None] | None, on_remote_id: Callable[[str], None] | None = None,
              lrc: bool = False, on_result: Callable[[RunResult], None] | None = None) -> RunSettings:
    return RunSettings(format=format, finish=finish, options=dict(options or {}), progress=progress,
                       cancel_event=cancel_event, log=log, on_remote_id=on_remote_id, lrc=lrc,
                       on_result=on_result)


def run(model_id: str, input: dict[str, Any] | str, output_dir: str | Path = ".", *,
        provider: str = "auto", format: str | None = None, finish: str | None = None,
        options: dict[str, Any] | None = None, progress: Callable[..., None] | None = None,
        cancel_event: threading.Event | None = None, log: Callable[[str], None] | None = None,
        on_remote_id: Callable[[str], None] | None = None, lrc: bool = False) -> RunResult:
    """Run one model on one input and write its files (atomically) with sidecars (`lrc`: and
    `<name>.lrc` synced lyrics where the take has word timing)."""
    from aimusic.pipeline import run_request

    started = time.perf_counter()
    model, request, chosen = prepare(model_id, input, provider)
    return run_request(model, request, chosen, output_dir,
                       _settings(format, finish, options, progress, cancel_event, log, on_remote_id, lrc),
                       started=started)


def replay(sidecar_path: str | Path, output_dir: str | Path | None = None, **kwargs: Any) -> RunResult:
    """Re-run the request a sidecar records (same model, provider, input and seed)."""
    from aimusic.schemas import read_text_file
    from aimusic.schemas.limits import MAX_INPUT_FILE_BYTES, load_json

    path = Path(sidecar_path).expanduser()
    data = load_json(read_text_file(path, "sidecar", "sidecar", limit=MAX_INPUT_FILE_BYTES), "sidecar",
                     f"sidecar {path}")
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
             log: Callable[[str], None] | None = None, lrc: bool = False,
             on_result: Callable[[RunResult], None] | None = None) -> PlanRunResult:
    """Plan a request in plain words and run every step of the plan (`options`: engine options)."""
    from aimusic.pipeline import run_plan
    from aimusic.plan import make_plan

    the_plan = make_plan(request, audio=audio, lyrics=lyrics, provider=provider, budget_usd=budget_usd,
                         overrides=overrides, video=video)
    results = run_plan(the_plan, output_dir, _settings(format, finish, options, progress, cancel_event, log,
                                                       lrc=lrc, on_result=on_result))
    return PlanRunResult(plan=the_plan.to_dict(), results=results)


def separate(audio: str, output_dir: str | Path = ".", *, stems: list[str] | None = None,
             remove: list[str] | None = None, provider: str = "auto", seed: int | None = None,
             budget_usd: float | None = None, **kwargs: Any) -> PlanRunResult:
    """Split `audio` into stems on the best provider here (`remove`: left out of the main file)."""
    from aimusic.plan.parts import PartRequest

    found = PartRequest("separate", "separate", stems=list(stems or []), remove=list(remove or []))
    return _run_part(found, audio, output_dir, provider, None, {"seed": seed}, budget_usd, **kwargs)


def layer(audio: str, track: str, output_dir: str | Path = ".", *, lyrics: str | None = None,
          tags: str | None = None, provider: str = "auto", seed: int | None = None,
          budget_usd: float | None = None, **kwargs: Any) -> PlanRunResult:
    """Add `track` (drums, strings, vocals with `lyrics`, 'backing', ...) to `audio`: the new mix and
    the part alone."""
    from aimusic.plan.parts import PartRequest

    found = PartRequest("layer", f"add {track}", track=track)
    return _run_part(found, audio, output_dir, provider, lyrics, {"seed": seed, "tags": tags}, budget_usd,
                     **kwargs)


def _run_part(found: Any, audio: str, output_dir: str | Path, provider: str, lyrics: str | None,
              over: dict[str, Any], budget_usd: float | None, *, format: str | None = None,
              finish: str | None = None, options: dict[str, Any] | None = None,
              progress: Callable[..., None] | None = None, cancel_event: threading.Event | None = None,
              log: Callable[[str], None] | None = None, lrc: bool = False,
              on_result: Callable[[RunResult], None] | None = None) -> PlanRunResult:
    from aimusic.pipeline import run_plan
    from aimusic.plan.parts import part_plan

    the_plan = part_plan(found, audio, lyrics=lyrics, provider=provider, budget_usd=budget_usd,
                         over={k: v for k, v in over.items() if v is not None})
    results = run_plan(the_plan, output_dir, _settings(format, finish, options, progress, cancel_event, log,
                                                       lrc=lrc, on_result=on_result))
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
    try:
        samples, rate, report = chain(on_candidate=ahead.offer if ahead else None)
    except BaseException:
        if ahead:
            ahead.close()  # stops the encode following the limiter, leaves no staged file
        raise
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
        from aimusic.output import write_file_atomic

        write_file_atomic(plot_file, plot_analysis(samples, rate, result))
        result["plot"] = str(plot_file)
    return result


def waveform(audio: str | Path, *, points: int = 1000) -> dict[str, Any]:
    """Peaks to draw a file's waveform: the min and max of each of `points` slices (16 to 8192)."""
    from aimusic.audio.io import read_audio
    from aimusic.audio.waveform import peaks

    samples, rate = read_audio(Path(audio).expanduser())
    return peaks(samples, rate, points)


def library(directories: list[str | Path], *, query: str | None = None, model: str | None = None,
            provider: str | None = None, since: str | None = None, until: str | None = None
            ) -> list[dict[str, Any]]:
    """Every take under `directories` (their sidecars and batch `index.json` rows), newest first,
    filtered: `query` words in title/tags/model/provider/request, a `model` substring, a `provider`,
    ISO dates `since`/`until`. Each take names its `parent` (the file it was made from)."""
    from aimusic.output.takes import scan, search

    return search(scan([Path(d).expanduser() for d in directories]), query, model, provider, since, until)


def align_lyrics_price(audio: str | Path, provider: str = "elevenlabs") -> tuple[float, float]:
    """(seconds, USD) that timing the words of `audio` on `provider` costs, before anything is sent."""
    from aimusic.audio.io import audio_info
    from aimusic.schemas import is_url

    cls = _aligner(provider)
    if is_url(str(audio)):
        raise InputError("lyrics align takes a local file", field="audio", hint="download it and pass its path")
    path = Path(audio).expanduser()
    if not path.is_file():
        raise InputFileError(f"audio file not found: {path}", field="audio")
    seconds = float(audio_info(str(path)).get("duration") or 0.0)
    return seconds, cls.align_price(seconds)


def _aligner(provider: str) -> Any:
    from aimusic.engines.registry import engine_class, provider_names

    names = [n for n in provider_names() if _can_align(n)]
    if provider not in names:
        raise UsageError(f"{provider!r} cannot time the words of a song", field="provider",
                         hint=f"use --provider {' or '.join(names) or 'elevenlabs'}; songs the sketch engine sings "
                              "carry exact timing: generate them with --lrc")
    return engine_class(provider)


def _can_align(provider: str) -> bool:
    from aimusic.engines.registry import engine_class
    from aimusic.errors import AimusicError

    try:
        return callable(getattr(engine_class(provider), "align", None))
    except AimusicError:
        return False


def align_lyrics(audio: str | Path, output_dir: str | Path | None = None, *, provider: str = "elevenlabs",
                 lyrics: str | None = None, timeout: float | None = None,
                 cancel_event: threading.Event | None = None, log: Callable[[str], None] | None = None
                 ) -> dict[str, Any]:
    """Time the words of any song (`aimusic lyrics align`): writes `<name>.lrc` and `<name>.timing.json`
    (both whole or not at all, collision-free) and returns what was written. Charged by the provider."""
    from aimusic.lyrics.lrc import write_lrc
    from aimusic.output import OutputSink
    from aimusic.pipeline.sidecar import aimusic_version

    cls = _aligner(provider)
    path = Path(audio).expanduser()
    found = cls.align(str(path), timeout=timeout, cancel_event=cancel_event, log=log)
    timing = found["lyrics_timing"]
    if not timing:
        raise InputError(f"{provider} found no sung words in {path.name}", field="audio")
    directory = Path(output_dir) if output_dir is not None else path.parent
    text = write_lrc(timing, lyrics=lyrics, title=path.stem, length_s=found.get("seconds"))
    record = {"aimusic_version": aimusic_version(), "file": path.name, "provider": provider,
              "task": "align", "song_id": found.get("song_id"), "cost_usd": found.get("cost_usd"),
              "lyrics_timing": timing}
    sink = OutputSink(directory)
    staged = [sink.stage_bytes(text.encode("utf-8"), ".lrc"), sink.stage_json(record)]
    names = _free_names(directory, path.stem, (".lrc", ".timing.json"))
    linked: list[Path] = []
    try:
        for item, name in zip(staged, names):
            item.link(name)
            linked.append(name)
    except BaseException:
        for name in linked:
            name.unlink(missing_ok=True)
        sink.abort()
        raise
    sink.close()
    return {"lrc": str(names[0]), "timing": str(names[1]), "words": len(timing),
            "cost_usd": found.get("cost_usd"), "song_id": found.get("song_id"), "provider": provider}


def _free_names(directory: Path, stem: str, suffixes: tuple[str, ...]) -> list[Path]:
    for attempt in range(10_000):
        candidate = stem if attempt == 0 else f"{stem}-{attempt}"
        names = [directory / f"{candidate}{suffix}" for suffix in suffixes]
        if not any(n.exists() for n in names):
            return names
    raise InputError(f"no free file name for {stem} in {directory}", field="output_dir")

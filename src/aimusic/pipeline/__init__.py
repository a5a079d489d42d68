"""The pipeline: runs a plan's steps, engine -> finish -> output, once.

Every front door (the Python API, the CLI, MCP, batches) hands it a `Plan` (from
`aimusic.plan.make_plan` for plain words, `aimusic.plan.direct.plan_model_run` for a model id
and an input) and gets `RunResult`s back. It is the only code that calls engines, and the only
code that names output files (through `aimusic.output.OutputSink`) and builds sidecars
(`aimusic.pipeline.sidecar`).

- A plain step runs its engine once per take; each take is finished (`finish`), encoded and
  committed with its sidecar, all or nothing.
- A chain (an extension past a model's limit) runs its calls with results kept in memory: each
  call's staged output is read once and dropped, the new material is joined to the track so far
  (`aimusic.audio.splice`, bit-identical outside the joins), and only the finished track is
  written, with one sidecar listing every call.
"""

from __future__ import annotations

import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from aimusic.errors import AimusicError, Interrupted
from aimusic.pipeline.results import PlanRunResult, RunResult

if TYPE_CHECKING:
    from aimusic.catalog import ModelEntry
    from aimusic.plan import Plan, Step
    from aimusic.schemas import ModelInput

__all__ = ["PlanRunResult", "RunResult", "RunSettings", "resume_request", "run_plan", "run_request", "run_step"]


@dataclass
class RunSettings:
    """How to run: what a front door decides beyond the plan itself."""

    format: str | None = None              # output format (wav, flac, mp3, ogg); None: the engine's own
    finish: str | None = None              # finishing preset for every take; None/"none": untouched
    # engine options: a dict (flags a front door collected) or an engine's options model; validated
    # against the chosen engine (`engines.registry.build_options`): an option it does not take is
    # an error (64), unless `shared_options` (one set for several steps or batch items on different
    # engines: each takes the ones it declares)
    options: Any = field(default_factory=dict)
    shared_options: bool = False
    lrc: bool = False                      # also write <name>.lrc where the take has word timing
    # called with each RunResult as soon as its files are written (a front door shows takes as
    # they land instead of when the whole plan is done)
    on_result: Callable[[RunResult], None] | None = None
    progress: Callable[..., None] | None = None
    cancel_event: threading.Event | None = None
    log: Callable[[str], None] | None = None
    on_remote_id: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        if self.format is not None:
            from aimusic.audio.io import format_for

            self.format = format_for(self.format)
        if self.finish == "none":
            self.finish = None
        if self.options is None:
            self.options = {}
        if self.cancel_event is None:
            self.cancel_event = threading.Event()


def run_plan(plan: Plan, output_dir: str | Path, settings: RunSettings | None = None) -> list[RunResult]:
    """Run every step of `plan`; one RunResult per engine call that wrote files (one for a chain)."""
    from dataclasses import replace

    from aimusic.engines.registry import build_options

    # One set of engine options for every step: each step's engine takes the ones it declares.
    settings = replace(settings or RunSettings(), shared_options=True)
    # Validate every call, its options and every key before the first one runs (no network): a
    # plan whose last step cannot run must not spend money on its first.
    for step in plan.steps:
        build_options(step.provider, settings.options, shared=True)
        if not step.join and not str(step.input.get("audio", "")).startswith("<"):
            _prepare_step(step, check_keys=True)
    if any(step.join for step in plan.steps):
        from aimusic.pipeline.chain import run_chain

        return [run_chain(plan, Path(output_dir), settings)]
    results = []
    for step in plan.steps:
        takes = step.variations or [None] * step.count
        for index, tags in enumerate(takes):
            data = dict(step.input)
            if tags is not None:
                data["tags"] = tags
            if settings.cancel_event.is_set():
                raise Interrupted("cancelled; the takes already written are kept")
            if settings.log is not None and len(takes) > 1:
                settings.log(f"take {index + 1}/{len(takes)} of step {step.index}")
            results.append(run_step(step, data, output_dir, settings))
            if settings.on_result is not None:
                settings.on_result(results[-1])
    return results


def _prepare_step(step: Step, data: dict[str, Any] | None = None, *, check_keys: bool = True
                  ) -> tuple[ModelEntry, ModelInput]:
    from aimusic.plan.direct import prepare

    model, request, _ = prepare(step.model, step.input if data is None else data, step.provider,
                                check_keys=check_keys)
    return model, request


def resolve_seed(request: ModelInput) -> ModelInput:
    """A seed of -1 means 'any': draw one now so the sidecar can replay it."""
    if getattr(request, "seed", None) == -1:
        return request.model_copy(update={"seed": secrets.randbelow(2**31 - 1)})
    return request


def _context(settings: RunSettings, provider: str) -> Any:
    from aimusic.engines.base import RunContext
    from aimusic.engines.registry import build_options

    options = build_options(provider, settings.options, shared=settings.shared_options)
    ctx = RunContext(options=options, cancel_event=settings.cancel_event, log=settings.log,
                     wants_lyrics_timing=settings.lrc,
                     output_format=settings.format, on_remote_id=settings.on_remote_id)
    if settings.progress is not None:
        ctx.progress = settings.progress
    return ctx


def call_engine(model: ModelEntry, request: ModelInput, provider: str, sink: Any, settings: RunSettings
                ) -> tuple[Any, Any]:
    """One engine call: (engine, EngineResult). A cancellation that arrives as the engine finishes
    still wins (no files)."""
    from aimusic.engines.registry import engine_class

    ctx = _context(settings, provider)  # options first: 64/65 before the engine is even built
    engine = engine_class(provider)()
    outcome = engine.run(model, request, ctx, sink)
    ctx.check_cancelled()
    if not outcome.takes:
        raise AimusicError(f"{provider} returned no audio")
    return engine, outcome


def run_step(step: Step, data: dict[str, Any], output_dir: str | Path, settings: RunSettings) -> RunResult:
    """Run one call of a step (its input `data`) and write its takes with sidecars."""
    started = time.perf_counter()
    model, request = _prepare_step(step, data, check_keys=True)
    return run_request(model, request, step.provider, output_dir, settings, started=started)


def run_request(model: ModelEntry, request: ModelInput, provider: str, output_dir: str | Path,
                settings: RunSettings, *, started: float | None = None) -> RunResult:
    """Run one validated request on `provider` and write its takes (atomically) with sidecars."""
    from aimusic.output import OutputSink

    started = time.perf_counter() if started is None else started
    request = resolve_seed(request)
    validated_at = time.perf_counter()
    sink = OutputSink(output_dir)
    with aborting(sink):
        engine, outcome = call_engine(model, request, provider, sink, settings)
        ran_at = time.perf_counter()
        pending = pending_outputs(model, provider, request.to_json_dict(), outcome, sink, settings,
                                  engine.versions())
        timings = {"validate_s": validated_at - started, "run_s": ran_at - validated_at}
        for item in pending:
            item.sidecar["timings"] = dict(timings)
    return commit(sink, pending, model, provider, outcome, timings, started, request.to_json_dict())


def resume_request(request_id: str, model: ModelEntry, provider: str, output_dir: str | Path,
                   settings: RunSettings) -> RunResult:
    """Follow and download a hosted request submitted earlier (no new submit), written like a run.
    Its input is not known: the sidecar records it empty."""
    from dataclasses import replace

    from aimusic.engines.registry import engine_class
    from aimusic.output import OutputSink

    started = time.perf_counter()
    engine = engine_class(provider)()
    resume = getattr(engine, "resume", None)
    if resume is None:
        from aimusic.errors import UsageError

        raise UsageError(f"{provider} requests cannot be resumed", field="provider")
    sink = OutputSink(output_dir)
    with aborting(sink):
        outcome = resume(request_id, _context(replace(settings, shared_options=True), provider), sink)
        ran_at = time.perf_counter()
        if not outcome.takes:
            raise AimusicError(f"{provider} returned no audio")
        pending = pending_outputs(model, provider, {}, outcome, sink, settings, engine.versions())
        timings = {"run_s": ran_at - started}
        for item in pending:
            item.sidecar["timings"] = dict(timings)
            item.sidecar["resumed"] = True
            item.sidecar["estimated_cost_usd"] = None
    return commit(sink, pending, model, provider, outcome, timings, started, {})


@contextmanager
def aborting(sink: Any) -> Iterator[None]:
    """Any failure or Ctrl-C while staging drops every staged file: the output dir stays as it was."""
    try:
        yield
    except KeyboardInterrupt:
        sink.abort()
        raise Interrupted("interrupted; no file was written") from None
    except BaseException:
        sink.abort()
        raise


def commit(sink: Any, pending: list[Any], model: ModelEntry, provider: str, outcome: Any,
           timings: dict[str, float], started: float, input: dict[str, Any]) -> RunResult:
    """Name every staged file (all or nothing) and describe what was written."""
    with aborting(sink):
        committed = sink.commit(pending)
    timings["total_s"] = time.perf_counter() - started
    return RunResult(
        model=model.id, provider=provider, task=model.task,
        files=[str(c.audio) for c in committed], sidecars=[str(c.sidecar) for c in committed],
        seeds=[t.seed for t in outcome.takes], cost_usd=outcome.cost_usd, timings=timings, input=input,
        extra_files=[{k: str(v) for k, v in c.extras.items()} for c in committed],
        metadata=outcome.metadata)


def take_audio(take: Any) -> tuple[Any, int]:
    """A take's samples: in memory when the engine returned an array, else decoded once from the
    file it staged (hosted engines download encoded audio)."""
    if take.samples is not None:
        return take.samples, int(take.sample_rate)
    from aimusic.audio.io import read_audio

    return read_audio(take.staged.path)


def lrc_bytes(model: ModelEntry, request_dict: dict[str, Any], take: Any, seconds: float | None,
              settings: RunSettings) -> bytes | None:
    """The take's synced lyrics (`lyrics_timing` in its metadata) as an enhanced LRC file."""
    from aimusic.lyrics.lrc import write_lrc
    from aimusic.output.naming import title_for

    timing = take.metadata.get("lyrics_timing")
    if not timing:
        if settings.log is not None:
            settings.log(f"--lrc: {model.id} gave no word timing (no sung lyrics): no .lrc written")
        return None
    # the lines the engine sang (an ElevenLabs composition plan's), else the request's lyrics
    lines = take.metadata.get("lyrics_lines")
    lyrics = "\n".join(lines) if lines else (request_dict.get("lyrics") or request_dict.get("prompt"))
    text = write_lrc(timing, lyrics=lyrics if isinstance(lyrics, str) else None,
                     title=title_for(model.id, request_dict), length_s=seconds)
    return text.encode("utf-8")


def _engine_audio_info(path: Any, ext: str, take: Any) -> dict[str, Any]:
    """The header of a file an engine handed over; a file that is not the audio it claims (an
    HTML error page served as "song.wav") is the provider's failure (69), not a crash."""
    if ext not in ("wav", "flac", "ogg", "mp3"):
        return {}
    from aimusic.audio.io import audio_info

    try:
        return audio_info(path)
    except (RuntimeError, ValueError, EOFError) as exc:  # soundfile's LibsndfileError is a RuntimeError
        from aimusic.errors import UpstreamError

        source = take.metadata.get("remote_file") or "the engine's output"
        raise UpstreamError(f"{source} is not readable {ext} audio ({exc.__class__.__name__})") from None


def pending_outputs(model: ModelEntry, provider: str, request_dict: dict[str, Any], outcome: Any, sink: Any,
                    settings: RunSettings, engine_versions: dict[str, str]) -> list[Any]:
    """Finish and encode every take, and build its sidecar: the files waiting for names."""
    from aimusic.audio.io import format_for
    from aimusic.catalog.pricing import estimate_cost
    from aimusic.output import PendingOutput
    from aimusic.output.naming import stem_for
    from aimusic.pipeline.sidecar import build_sidecar

    fmt, finish = settings.format, settings.finish
    per_take_cost = (outcome.cost_usd / len(outcome.takes)) if outcome.cost_usd is not None else None
    pending = []
    for index, take in enumerate(outcome.takes):
        finish_report = None
        staged = take.staged
        ext = fmt or "wav"
        if staged is not None and (fmt is None or fmt == getattr(staged, "suffix", "").lstrip(".")) \
                and not finish:
            ext = format_for(staged.suffix)   # the provider's own encoding, untouched
        else:
            samples, rate = take_audio(take)
            if finish:
                from aimusic.audio.finish import apply_preset

                samples, finish_report = apply_preset(samples, rate, finish)
            staged = sink.stage_audio(samples, rate, ext, subtype=take.metadata.get("subtype"))
        info = _engine_audio_info(staged.path, ext, take)
        extras = {suffix: sink.stage_bytes(value, "." + suffix) if isinstance(value, bytes) else value
                  for suffix, value in take.extra_files.items()}
        if settings.lrc:
            lrc = lrc_bytes(model, request_dict, take, info.get("duration"), settings)
            if lrc is not None:
                extras["lrc"] = sink.stage_bytes(lrc, ".lrc")
        metadata = {**outcome.metadata, **take.metadata}
        timing = metadata.pop("lyrics_timing", None)   # a top-level sidecar field: the words' times
        take_input = dict(request_dict)
        if "seed" in take_input and take.seed is not None:
            take_input["seed"] = take.seed
        sidecar = build_sidecar(
            model=model, provider=provider, task=model.task, input=take_input, seed=take.seed, fmt=ext,
            sample_rate=info.get("sample_rate", take.sample_rate), channels=info.get("channels"),
            duration_s=info.get("duration"), cost_usd=per_take_cost,
            estimated_cost_usd=estimate_cost(model, request_dict) if model.price_per_second else 0.0,
            engine_versions=engine_versions, metadata=metadata, finish=finish_report,
            **({"lyrics_timing": timing} if timing else {}))
        pending.append(PendingOutput(audio=staged, ext=ext,
                                     stem=stem_for(model.id, request_dict, take.seed,
                                                   index if len(outcome.takes) > 1 else 0),
                                     sidecar=sidecar, extras=extras))
    return pending

"""LocalAceStepEngine: ACE-Step 1.5 through diffusers, on the user's own GPU or CPU.

Tasks: text-to-audio (batched variations), inpaint (repaint + bit-exact splice), outpaint (pad +
repaint, chained past the per-call limit) and remix (noised-source flow start with ComfyUI's
`denoise` meaning, or the pipeline's cover task). Torch is imported only inside `run`.
"""

from __future__ import annotations

import time
from importlib.util import find_spec
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from aimusic.engines.base import Availability, Engine, EngineResult, Lane, RunContext, package_versions
from aimusic.engines.local_acestep import weights
from aimusic.engines.options import EngineOptions, one_or_many
from aimusic.schemas import SEED_MAX

ENDPOINTS = {"generate": "text-to-audio", "inpaint": "audio-inpaint", "outpaint": "audio-outpaint",
             "remix": "audio-to-audio", "separate": "audio-separate", "layer": "audio-layer"}
BASE_ONLY_TASKS = ("separate", "layer")  # extract / lego / complete: base checkpoints only (tracks.py)
AUTO_VARIANT = "turbo"  # 8 steps: the variant that is practical on one consumer GPU
MAX_CALL_SECONDS = 600.0  # upstream's per-call limit; longer outpaints are chained


class LocalOptions(EngineOptions):
    model_path: str | None = Field(None, description="Local engine: a diffusers-format model directory.")
    device: str | None = Field(None, description="Local engine: auto (default), cuda, cuda:N, mps or cpu.")
    offload: bool = Field(False, description="Local engine: model CPU offload for small GPUs.")
    dtype: str | None = Field(None, description="Local engine: bf16, fp16 or fp32 (default: bf16 on CUDA, else fp32).")
    compile: bool = Field(False, description="Local engine: torch.compile the DiT (slower first call).")
    vae_tiling: Literal["auto", "on", "off"] = Field(
        "auto", description="Local engine: VAE tiling (auto: on above 60 s of audio).")
    max_call_seconds: float = Field(
        MAX_CALL_SECONDS, gt=0, le=MAX_CALL_SECONDS,
        description="Local engine: most seconds per pipeline call; longer outpaints are chained.")
    variations: int | None = Field(
        None, description="Local engine: N takes in one batched call (seeds seed..seed+N-1).")
    think: bool | None = Field(
        None, description="Local engine: run ACE-Step's 5 Hz LM first (metadata, caption, audio codes); "
                          "default: on when its weights are present.")
    lm: Literal["0.6B", "1.7B", "4B"] | None = Field(
        None, description="Local engine: which 5 Hz LM checkpoint (default 1.7B, upstream's).")
    lm_path: str | None = Field(None, description="Local engine: a transformers-format 5 Hz LM directory.")
    lora: tuple[str, ...] = Field(
        (), description="Local/ComfyUI: a LoRA as PATH_OR_REPO[:SCALE] (ComfyUI: a file in the server's "
                        "loras folder); repeatable.")

    _one_lora = field_validator("lora", mode="before")(one_or_many)


class LocalAceStepEngine(Engine):
    name: ClassVar[str] = "local"
    title: ClassVar[str] = "ACE-Step 1.5 (local)"
    tasks: ClassVar[frozenset[str]] = frozenset({"generate", "inpaint", "outpaint", "remix", "separate", "layer"})
    lane: ClassVar[Lane] = Lane.ACCELERATOR
    auto_rank: ClassVar[int] = 10  # weights and a device here: tried first under `--provider auto`

    @classmethod
    def options_model(cls) -> type[LocalOptions]:
        return LocalOptions

    @classmethod
    def model_for(cls, family: str, task: str) -> Any:
        """The model `--provider auto` runs here for any family: the turbo variant of ACE-Step 1.5."""
        from aimusic.catalog import models_for

        variant = "base" if task in BASE_ONLY_TASKS else AUTO_VARIANT
        wanted = f"local/ace-step-1.5-{variant}/{ENDPOINTS.get(task, task)}"
        return next((m for m in models_for(task, "local") if m.id == wanted), None)

    @classmethod
    def availability(cls, model: Any) -> Availability:
        # Cheap by design: stat calls and find_spec, never an import of torch.
        if find_spec("torch") is None or find_spec("diffusers") is None:
            return Availability(False, "torch and diffusers are not installed: pip install 'aimusic[local]'")
        if model.task in BASE_ONLY_TASKS and model.extra.get("turbo"):
            return Availability(False, f"turbo checkpoints cannot {model.task}: use "
                                       f"{model.id.replace(weights.variant_of(model), weights.variant_of(model).replace('turbo', 'base'), 1)}")
        path, source = weights.find_weights(model)
        if path is None:
            variant = weights.variant_of(model)
            if source:
                return Availability(False, f"{source} has no model_index.json")
            if model.extra.get("repo"):
                return Availability(False, f"weights not present: run `{weights.pull_command(variant)}`")
            return Availability(False, "no diffusers checkpoint published: convert one and use --model-path")
        return Availability(True, f"weights at {path} ({source})")

    @classmethod
    def versions(cls) -> dict[str, str]:
        return package_versions(("torch", "diffusers", "transformers"))

    def run(self, model: Any, request: Any, ctx: RunContext, sink: Any) -> EngineResult:
        from aimusic.engines.local_acestep import lm, lora, runtime
        from aimusic.engines.local_acestep.tasks import PipelineJob, call_settings, read_sources, variation_count

        options = self.options_of(ctx)
        variations = variation_count(options.variations if options.variations is not None else 1)
        # Everything about the inputs is checked before the weights load (seconds) or a device is touched.
        sources = read_sources(model.task, request)
        if model.task in BASE_ONLY_TASKS:
            from aimusic.engines.local_acestep import tracks

            tracks.refuse_turbo(model)   # before the weights load
            request = tracks.settings_request(request)
        path = weights.require_weights(model, options.model_path)
        loras = lora.resolve(options.lora)
        lm_size = options.lm or model.extra.get("lm", lm.DEFAULT_LM)
        lm_dir = lm_choice(model.task, options, lm_size, bool(getattr(request, "lyrics_idea", None)), ctx)
        device = runtime.pick_device(options.device)
        dtype = runtime.pick_dtype(device, options.dtype)
        started = time.perf_counter()
        pipe = runtime.load_pipeline(path, device, dtype, offload=options.offload,
                                     compile_dit=options.compile, loras=loras)
        loaded = time.perf_counter()
        seed = int(request.seed) if request.seed is not None and request.seed >= 0 else 0
        seeds = [(seed + i) % (SEED_MAX + 1) for i in range(variations)]
        llm = lm.load(lm_dir, device, dtype) if lm_dir is not None else None
        written = None
        if llm is not None and getattr(request, "lyrics_idea", None) and not request.lyrics.strip():
            written = llm.write_sample(request.lyrics_idea, language=request.vocal_language, seed=seed,
                                       progress=ctx.progress, cancel=ctx.cancel_event)
            ctx.notice(f"lyrics written by the ACE-Step LM from the idea ({written['tokens']} tokens)")
            request = request.model_copy(update={"lyrics": written["lyrics"]})
        settings = call_settings(model, request, pipe, ctx)
        thought = None
        if llm is not None and model.task == "generate":
            thought = llm.think(settings["prompt"], settings["lyrics"], float(request.duration), seeds,
                                given={"bpm": request.bpm, "keyscale": request.keyscale,
                                       "timesignature": request.timesignature, "duration": int(request.duration)},
                                progress=ctx.progress, cancel=ctx.cancel_event)
            apply_thought(settings, thought, request)
        lm_done = time.perf_counter()
        job = PipelineJob(pipe=pipe, ctx=ctx, settings=settings, seeds=seeds, model=model, request=request,
                   tiling=options.vae_tiling, max_call_s=options.max_call_seconds)
        task = model.task
        if task == "generate":
            takes = job.generate()
        elif task == "inpaint":
            takes = job.inpaint(*sources["audio"])
        elif task == "outpaint":
            takes = job.outpaint(*sources["audio"])
        elif task in BASE_ONLY_TASKS:
            tracks.refuse_turbo(model, pipe)   # a --model-path turbo checkpoint
            run_track = tracks.separate if task == "separate" else tracks.layer
            takes = run_track(job, *sources["audio"], sink, ctx.output_format or "wav")
        else:
            takes = job.remix(*sources["audio"], reference=sources.get("reference_audio"))
        metadata = {"variant": model.extra["variant"], "weights": str(path), "device": device,
                    "dtype": str(dtype).removeprefix("torch."), "steps": settings["num_inference_steps"],
                    "guidance": settings["guidance_scale"], "shift": settings["shift"],
                    "load_s": round(loaded - started, 3), "generate_s": round(time.perf_counter() - loaded, 3),
                    "pipeline_calls": job.calls, "think": thought is not None,
                    "replay_options": {"think": thought is not None or written is not None,
                                       **({"lm_path": str(lm_dir)} if lm_dir is not None else {}),
                                       **({"lora": list(options.lora)} if options.lora else {})}}
        if llm is not None:
            metadata["lm"] = {"model": llm.name, "path": str(lm_dir), **lm.Sampling().as_dict(),
                              **({"lyrics_written": {k: written[k] for k in ("lyrics", "tokens", "seconds")}}
                                 if written else {}),
                              **(thought.summary() if thought else {}),
                              "lm_s": round(lm_done - loaded, 3)}
        if loras:
            metadata["loras"] = [r.record() for r in loras]
        return EngineResult(takes=takes, cost_usd=0.0, metadata=metadata)


_SAID_NO_LM: set[str] = set()


def lm_choice(task: str, options: LocalOptions, size: str, lyrics_idea: bool, ctx: RunContext) -> Any:
    """The LM folder to run, or None. --think without weights is 78 with the pull command; the
    default (think unset) runs without the LM when its weights are absent and says so once."""
    from aimusic.engines.local_acestep import lm

    if options.think is False or (task != "generate" and not lyrics_idea):
        if options.think and task != "generate":
            ctx.notice(f"--think: the LM runs for text-to-audio only (as upstream), not for {task}")
        return None
    if options.think:
        return lm.require_lm(size, options.lm_path)
    found, why = lm.find_lm(size, options.lm_path)
    if found is None:
        if why:  # a folder was named but is not an LM: that is a mistake, not a default
            lm.require_lm(size, options.lm_path)
        if size not in _SAID_NO_LM:
            _SAID_NO_LM.add(size)
            ctx.notice(f"the ACE-Step 1.5 {size} LM is not on this machine: running without it "
                       f"(no inferred metadata or audio codes; `{lm.pull_command(size)}` to add it)")
    return found


def apply_thought(settings: dict[str, Any], thought: Any, request: Any) -> None:
    """Upstream's _update_metadata_from_lm: what the user left out comes from the LM, the caption is
    the LM's (use_cot_caption), and the DiT gets one code string per take."""
    meta = thought.metadata
    if request.bpm is None and isinstance(meta.get("bpm"), int):
        settings["bpm"] = meta["bpm"]
    if request.keyscale is None and meta.get("keyscale"):
        settings["keyscale"] = meta["keyscale"]
    if request.timesignature is None and meta.get("timesignature"):
        settings["timesignature"] = str(meta["timesignature"])
    if request.vocal_language is None and not settings["instrumental"] and meta.get("language"):
        settings["vocal_language"] = meta["language"]
    if meta.get("caption"):
        settings["prompt"] = meta["caption"]
    if any(thought.codes):
        settings["audio_codes"] = thought.codes

"""LocalAceStepEngine: ACE-Step 1.5 through diffusers, on the user's own GPU or CPU.

Tasks: text-to-audio (batched variations), inpaint (repaint + bit-exact splice), outpaint (pad +
repaint, chained past the per-call limit) and remix (noised-source flow start with ComfyUI's
`denoise` meaning, or the pipeline's cover task). Torch is imported only inside `run`.
"""

from __future__ import annotations

import time
from importlib.util import find_spec
from typing import Any, ClassVar

from typing import Literal

from pydantic import Field

from aimusic.engines.base import Availability, Engine, EngineResult, Lane, RunContext, package_versions
from aimusic.engines.local_acestep import weights
from aimusic.engines.options import EngineOptions
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
        from aimusic.engines.local_acestep import runtime
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
        device = runtime.pick_device(options.device)
        dtype = runtime.pick_dtype(device, options.dtype)
        started = time.perf_counter()
        pipe = runtime.load_pipeline(path, device, dtype, offload=options.offload,
                                     compile_dit=options.compile)
        loaded = time.perf_counter()
        settings = call_settings(model, request, pipe, ctx)
        seed = int(request.seed) if request.seed is not None and request.seed >= 0 else 0
        seeds = [(seed + i) % (SEED_MAX + 1) for i in range(variations)]
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
                    "pipeline_calls": job.calls}
        return EngineResult(takes=takes, cost_usd=0.0, metadata=metadata)

"""LocalAceStepEngine: ACE-Step 1.5 through diffusers, on the user's own GPU or CPU.

Tasks: text-to-audio (batched variations), inpaint (repaint + bit-exact splice), outpaint (pad +
repaint, chained past the per-call limit) and remix (noised-source flow start with ComfyUI's
`denoise` meaning, or the pipeline's cover task). Torch is imported only inside `run`.
"""

from __future__ import annotations

import time
from importlib.util import find_spec
from typing import Any, ClassVar

from aimusic.engines.base import Availability, Engine, EngineResult, RunContext, package_versions
from aimusic.engines.local_acestep import weights
from aimusic.schemas import SEED_MAX


class LocalAceStepEngine(Engine):
    name: ClassVar[str] = "local"
    tasks: ClassVar[frozenset[str]] = frozenset({"generate", "inpaint", "outpaint", "remix"})
    needs_key: ClassVar[bool] = False

    @classmethod
    def availability(cls, model: Any) -> Availability:
        # Cheap by design: stat calls and find_spec, never an import of torch.
        if find_spec("torch") is None or find_spec("diffusers") is None:
            return Availability(False, "torch and diffusers are not installed: pip install 'aimusic[local]'")
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
        from aimusic.engines.local_acestep.tasks import (MAX_CALL_SECONDS, PipelineJob, read_sources, call_settings,
                                                         variation_count)

        options = ctx.options
        variations = variation_count(options.get("variations", 1))
        # Everything about the inputs is checked before the weights load (seconds) or a device is touched.
        sources = read_sources(model.task, request)
        path = weights.require_weights(model, options.get("model_path"))
        device = runtime.pick_device(options.get("device"))
        dtype = runtime.pick_dtype(device, options.get("dtype"))
        started = time.perf_counter()
        pipe = runtime.load_pipeline(path, device, dtype, offload=bool(options.get("offload")),
                                     compile_dit=bool(options.get("compile")))
        loaded = time.perf_counter()
        settings = call_settings(model, request, pipe, ctx)
        seed = int(request.seed) if request.seed is not None and request.seed >= 0 else 0
        seeds = [(seed + i) % (SEED_MAX + 1) for i in range(variations)]
        job = PipelineJob(pipe=pipe, ctx=ctx, settings=settings, seeds=seeds, model=model, request=request,
                   tiling=options.get("vae_tiling", "auto"),
                   max_call_s=float(options.get("max_call_seconds", MAX_CALL_SECONDS)))
        task = model.task
        if task == "generate":
            takes = job.generate()
        elif task == "inpaint":
            takes = job.inpaint(*sources["audio"])
        elif task == "outpaint":
            takes = job.outpaint(*sources["audio"])
        else:
            takes = job.remix(*sources["audio"], reference=sources.get("reference_audio"))
        metadata = {"variant": model.extra["variant"], "weights": str(path), "device": device,
                    "dtype": str(dtype).removeprefix("torch."), "steps": settings["num_inference_steps"],
                    "guidance": settings["guidance_scale"], "shift": settings["shift"],
                    "load_s": round(loaded - started, 3), "generate_s": round(time.perf_counter() - loaded, 3),
                    "pipeline_calls": job.calls}
        return EngineResult(takes=takes, cost_usd=0.0, metadata=metadata)

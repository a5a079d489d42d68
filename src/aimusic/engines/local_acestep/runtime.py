"""Torch side of the local engine: device choice, the cached pipeline, and one guarded pipeline call.

Imported only when a job runs (torch + diffusers cost seconds to import).
"""

from __future__ import annotations

import contextlib
import math
import threading
import warnings
from pathlib import Path
from typing import Any

from aimusic.errors import Interrupted, NotConfiguredError, UsageError

# One pipeline stays loaded per process: loading 5-10 GB of weights costs far more than a song.
_PIPELINES: dict[tuple, Any] = {}
_LOCK = threading.Lock()
TILING_ABOVE_S = 60.0  # VAE tiling (30 s tiles) above this length: bounded memory, near-equal output


def pick_device(requested: str | None = None) -> str:
    import torch

    if requested and requested != "auto":
        name = requested.strip().lower()
        kind = name.split(":")[0]
        if kind not in ("cuda", "mps", "cpu"):
            raise UsageError(f"unknown device {requested!r}", field="device", hint="use auto, cuda, cuda:N, mps or cpu")
        if kind == "cuda" and not torch.cuda.is_available():
            raise NotConfiguredError("--device cuda was asked for but torch sees no CUDA GPU",
                                     field="device", hint="install a CUDA build of torch, or use --device cpu")
        if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise NotConfiguredError("--device mps was asked for but MPS is not available", field="device")
        return name
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(device: str, requested: str | None = None) -> Any:
    import torch

    names = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16,
             "float16": torch.float16, "fp32": torch.float32, "float32": torch.float32}
    if requested:
        if requested not in names:
            raise UsageError(f"unknown dtype {requested!r}", field="dtype", hint="bf16, fp16 or fp32")
        return names[requested]
    # bf16 is the checkpoints' native precision and twice as fast on tensor cores; CPUs and
    # MPS run fp32 (bf16 matmuls there are slow or missing).
    return torch.bfloat16 if device.startswith("cuda") else torch.float32


def load_pipeline(path: Path, device: str, dtype: Any, offload: bool = False, compile_dit: bool = False,
                  loras: list | None = None) -> Any:
    """The AceStepPipeline at `path` on `device`, loaded once per process and reused; `loras`
    (lora.ResolvedLora) are fused into its DiT, so a pipeline is cached per LoRA set."""
    from aimusic.engines.local_acestep import lora

    key = (str(Path(path).resolve()), device, str(dtype), bool(offload), bool(compile_dit),
           lora.cache_key(loras or []))
    with _LOCK:
        pipe = _PIPELINES.get(key)
        if pipe is not None:
            return pipe
        _PIPELINES.clear()  # one at a time: two 2B-parameter pipelines rarely fit together
        import diffusers
        from diffusers import AceStepPipeline

        import transformers

        # turbo guidance warnings are handled by us; loading bars would only clutter the step bar
        diffusers.utils.logging.set_verbosity_error()
        diffusers.utils.logging.disable_progress_bar()
        transformers.utils.logging.disable_progress_bar()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # weight_norm deprecation inside the VAE
                pipe = AceStepPipeline.from_pretrained(str(path), dtype=dtype, local_files_only=True)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise NotConfiguredError(f"cannot load an ACE-Step pipeline from {path}: {exc.__class__.__name__}: "
                                     f"{str(exc).splitlines()[0][:200] if str(exc) else ''}",
                                     field="model_path",
                                     hint="the folder must be a complete diffusers-format checkpoint") from None
        lora.apply(pipe, loras or [])
        if offload and device.startswith("cuda"):
            pipe.enable_model_cpu_offload(device=device)
        else:
            pipe.to(device)
        if compile_dit:
            import torch

            pipe.transformer = torch.compile(pipe.transformer, mode="max-autotune-no-cudagraphs", dynamic=True)
        pipe.set_progress_bar_config(disable=True)  # we report steps through ctx.progress instead
        _PIPELINES[key] = pipe
        return pipe


def set_vae_tiling(pipe: Any, seconds: float, mode: str = "auto") -> bool:
    """Tiling on for long audio (memory grows with length otherwise); 'on'/'off' force it."""
    on = mode == "on" or (mode == "auto" and seconds > TILING_ABOVE_S)
    if on:
        pipe.vae.enable_tiling()
    else:
        pipe.vae.disable_tiling()
    return on


def generators(seeds: list[int]) -> Any:
    """One CPU generator per batch item: item i is what a single call with seeds[i] gives, on any device."""
    import torch

    gens = [torch.Generator("cpu").manual_seed(int(s)) for s in seeds]
    return gens[0] if len(gens) == 1 else gens


def vae_hop(pipe: Any) -> int:
    return int(math.prod(pipe.vae.config.downsampling_ratios))


def duration_for_latents(pipe: Any, frames: int) -> float:
    """A duration whose `ceil(d * latents_per_second)` is exactly `frames` (the pipeline's own rounding)."""
    seconds = frames / pipe.latents_per_second
    while math.ceil(seconds * pipe.latents_per_second) > frames:
        seconds = math.nextafter(seconds, 0.0)
    return seconds


def call_pipeline(pipe: Any, ctx: Any, stage: str, **kwargs: Any) -> Any:
    """Run the pipeline with per-step progress; Ctrl-C / ctx.cancel_event stop it between steps.

    Returns float32 numpy [B, 2, frames]. Cancelling sets pipe._interrupt (the pipeline's own stop
    flag) and raises Interrupted from the callback, so no VAE decode is wasted on a dead job.
    """
    total = int(len(kwargs["timesteps"]) if kwargs.get("timesteps") is not None
                else kwargs.get("num_inference_steps", 8))

    def on_step_end(pipeline: Any, step: int, timestep: Any, callback_kwargs: dict) -> dict:
        ctx.progress(stage, step + 1, total)
        if ctx.cancel_event.is_set():
            pipeline._interrupt = True
            raise Interrupted("cancelled; no file was written")
        return callback_kwargs

    ctx.check_cancelled()
    ctx.progress(stage, 0, total)
    output = pipe(callback_on_step_end=on_step_end, output_type="pt", **kwargs)
    ctx.check_cancelled()
    return output.audios.float().cpu().numpy()


class encode_only(contextlib.ContextDecorator):
    """While active, the VAE encodes only `keep` frames of a `total`-frame input (the head when
    `head` is true, else the tail) and fills the rest with zero latents.

    Outpaint pads the context with silence that the pipeline's repaint then overwrites with its own
    silence latent (everything inside the repaint window), so encoding those seconds is pure waste:
    for a 570 s extension it is most of the VAE's work. Other inputs pass through untouched.
    """

    def __init__(self, vae: Any, total: int, keep: int, head: bool) -> None:
        self.vae, self.total, self.keep, self.head = vae, total, keep, head
        self._original = None

    def __enter__(self) -> "encode_only":
        import torch
        from diffusers.models.autoencoders.autoencoder_oobleck import OobleckDiagonalGaussianDistribution

        original = self._original = self.vae.encode
        hop = int(math.prod(self.vae.config.downsampling_ratios))

        def encode(x: Any, return_dict: bool = True) -> Any:
            if x.shape[-1] != self.total:
                return original(x, return_dict=return_dict)
            part = x[..., :self.keep] if self.head else x[..., self.total - self.keep:]
            out = original(part)
            params = out.latent_dist.parameters
            missing = self.total // hop - params.shape[-1]
            pad = torch.zeros(*params.shape[:-1], missing, dtype=params.dtype, device=params.device)
            params = torch.cat([params, pad] if self.head else [pad, params], dim=-1)
            posterior = OobleckDiagonalGaussianDistribution(params)
            return type(out)(latent_dist=posterior) if return_dict else (posterior,)

        self.vae.encode = encode
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._original is not None:
            del self.vae.encode  # drop the instance attribute; the class method shows through again
        return None

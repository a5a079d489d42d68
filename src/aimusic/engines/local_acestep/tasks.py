"""The heavy half of the local engine: reading sources, the per-task pipeline calls, splicing.

Imported only when a job runs, so availability checks (aimusic models, plan) stay cheap."""

from __future__ import annotations

from typing import Any

import numpy as np

from aimusic.engines.base import RunContext, Take
from aimusic.errors import InputError, UsageError
from aimusic.schemas import is_url

MODEL_RATE = 48000
CONTEXT_SECONDS = 30.0       # how much existing audio each chained step sees
MIN_SOURCE_SECONDS = 1.0
MAX_VARIATIONS = 8           # upstream's batch limit
EDGE_CROSSFADE_S = 0.05      # inpaint: equal-power crossfade just inside each window edge
# soundfile subtypes a WAV/FLAC can carry that round-trip float32 samples exactly
EXACT_SUBTYPES = ("PCM_16", "PCM_24", "PCM_S8", "PCM_U8", "PCM_32", "FLOAT")
INSTRUMENTAL = "[Instrumental]"  # upstream ACE-Step's instrumental marker (with language "unknown")



def variation_count(value: Any) -> int:
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"--variations must be a whole number, not {value!r}", field="variations") from None
    if not 1 <= count <= MAX_VARIATIONS:
        raise UsageError(f"--variations must be 1-{MAX_VARIATIONS} (one batched pipeline call)", field="variations")
    return count


def read_sources(task: str, request: Any) -> dict[str, tuple[np.ndarray, int, str | None]]:
    """Source audio as read from disk: (samples [ch, frames], rate, soundfile subtype or None)."""
    found = {}
    for name in ("audio", "reference_audio"):
        reference = getattr(request, name, None)
        if not reference:
            continue
        if is_url(reference):
            raise InputError(f"{name}: the local engine reads local files only (nothing is uploaded "
                             "or downloaded)", field=name, hint="download the file and pass its path")
        from aimusic.audio.io import audio_info, read_audio

        samples, rate = read_audio(reference, max_seconds=3600)
        if samples.shape[1] < MIN_SOURCE_SECONDS * rate:
            raise InputError(f"{name}: {samples.shape[1] / rate:.2f} s is too short; the model needs at "
                             f"least {MIN_SOURCE_SECONDS:g} s", field=name)
        subtype = None
        try:
            subtype = audio_info(reference).get("subtype")
        except Exception:  # PyAV-only formats (m4a, ...) have no soundfile subtype
            subtype = None
        found[name] = (samples, rate, subtype)
    return found


def call_settings(model: Any, request: Any, pipe: Any, ctx: RunContext) -> dict[str, Any]:
    """The variant's preset with the request's overrides, and the text conditioning."""
    extra = model.extra
    steps = request.steps if request.steps is not None else extra["steps"]
    shift = request.shift if request.shift is not None else extra["shift"]
    guidance = request.guidance if request.guidance is not None else extra["guidance"]
    if pipe.is_turbo and guidance > 1.0:
        ctx.notice(f"turbo checkpoints have guidance distilled in: guidance {guidance:g} is ignored (1.0 used)")
        guidance = 1.0
    lyrics = request.lyrics.strip()
    instrumental = not lyrics or lyrics.lower() in ("[inst]", "[instrumental]")
    language = request.vocal_language or ("unknown" if instrumental else "en")
    return {"prompt": request.tags, "lyrics": INSTRUMENTAL if instrumental else request.lyrics,
            "vocal_language": language, "num_inference_steps": int(steps), "shift": float(shift),
            "guidance_scale": float(guidance), "bpm": request.bpm, "keyscale": request.keyscale,
            "timesignature": request.timesignature, "instrumental": instrumental}


def to_model_audio(samples: np.ndarray, rate: int) -> np.ndarray:
    """Any rate/channel count -> float32 48 kHz stereo, the only form the pipeline accepts."""
    from aimusic.audio.io import resample, to_channels

    return np.ascontiguousarray(to_channels(resample(samples, rate, MODEL_RATE), 2), dtype=np.float32)


def from_model_audio(samples: np.ndarray, rate: int, channels: int, frames: int) -> np.ndarray:
    """48 kHz stereo model output -> `rate`/`channels`, exactly `frames` long (edge-padded if a frame short)."""
    from aimusic.audio.io import resample, to_channels

    out = to_channels(resample(np.ascontiguousarray(samples, dtype=np.float32), MODEL_RATE, rate), channels)
    if out.shape[1] < frames:
        out = np.pad(out, ((0, 0), (0, frames - out.shape[1])), mode="edge")
    return np.ascontiguousarray(out[:, :frames], dtype=np.float32)


def match_gain(rendered: np.ndarray, reference: np.ndarray) -> float:
    """Least-squares gain mapping the model's rendering of kept audio onto that audio.

    The pipeline peak-normalises every output to -1 dBFS, so new material must be brought back to
    the source's level before it is spliced next to untouched source samples.
    """
    energy = float(np.dot(rendered.ravel().astype(np.float64), rendered.ravel()))
    if rendered.size == 0 or energy < 1e-9:
        return 1.0
    gain = float(np.dot(rendered.ravel().astype(np.float64), reference.ravel())) / energy
    return float(np.clip(gain, 0.05, 20.0)) if gain > 0 else 1.0


def _pad_to(samples: np.ndarray, multiple: int) -> np.ndarray:
    extra = (-samples.shape[-1]) % multiple
    if not extra:
        return samples
    pad = [(0, 0)] * (samples.ndim - 1) + [(0, extra)]
    return np.pad(samples, pad)


def _exact_subtype(subtype: str | None) -> dict[str, Any]:
    """The output subtype that stores the source's decoded samples exactly: its own PCM depth, or
    32-bit float for lossy/other sources (MP3, Vorbis, ...), whose decoded floats fit no PCM grid."""
    return {"subtype": subtype if subtype in EXACT_SUBTYPES else "FLOAT"}


class PipelineJob:
    def __init__(self, *, pipe: Any, ctx: RunContext, settings: dict, seeds: list[int], model: Any,
                 request: Any, tiling: str, max_call_s: float) -> None:
        self.pipe, self.ctx, self.settings, self.seeds = pipe, ctx, settings, seeds
        self.model, self.request, self.tiling, self.max_call_s = model, request, tiling, max_call_s
        self.calls = 0

    # -- one pipeline call ---------------------------------------------------------------------------
    def call(self, stage: str, seconds: float, prompt: str | None = None, lyrics: str | None = None,
             src: np.ndarray | None = None, **kwargs: Any) -> np.ndarray:
        """Batched call: one item per seed; `src` is [2, n] (shared) or [B, 2, n] (one per item)."""
        import torch

        from aimusic.engines.local_acestep import runtime

        s = self.settings
        batch = len(self.seeds)
        prompt = prompt or s["prompt"]
        lyrics = lyrics if lyrics is not None else s["lyrics"]
        args = dict(prompt=prompt if batch == 1 else [prompt] * batch,
                    lyrics=lyrics if batch == 1 else [lyrics] * batch,
                    vocal_language=s["vocal_language"], audio_duration=seconds,
                    num_inference_steps=s["num_inference_steps"], guidance_scale=s["guidance_scale"],
                    shift=s["shift"], bpm=s["bpm"], keyscale=s["keyscale"], timesignature=s["timesignature"],
                    generator=runtime.generators(self.seeds))
        if src is not None:
            args["src_audio"] = torch.from_numpy(np.ascontiguousarray(src, dtype=np.float32))
        if s.get("audio_codes"):  # the LM's codes, one string per take (text-to-audio with --think)
            args["audio_codes"] = s["audio_codes"][0] if batch == 1 else list(s["audio_codes"])
        args.update(kwargs)
        runtime.set_vae_tiling(self.pipe, seconds, self.tiling)
        # the pipeline samples the source's VAE posterior from torch's global RNG: seed it so a
        # recorded seed replays edits exactly, not only text-to-audio
        torch.manual_seed(self.seeds[0])
        self.calls += 1
        return runtime.call_pipeline(self.pipe, self.ctx, stage, **args)

    def takes(self, outputs: list[np.ndarray], rate: int, **metadata: Any) -> list[Take]:
        return [Take(seed=seed, samples=np.ascontiguousarray(out, dtype=np.float32), sample_rate=rate,
                     metadata=dict(metadata)) for seed, out in zip(self.seeds, outputs)]

    # -- text to audio -------------------------------------------------------------------------------
    def generate(self) -> list[Take]:
        duration = float(self.request.duration)
        audios = self.call("diffusion", duration)
        return self.takes(list(audios), MODEL_RATE, task="text2music")

    # -- inpaint -------------------------------------------------------------------------------------
    def inpaint(self, source: np.ndarray, rate: int, subtype: str | None) -> list[Take]:
        from aimusic.audio.splice import splice
        from aimusic.schemas import resolve_window

        r = self.request
        total_s = source.shape[1] / rate
        start_s, end_s = resolve_window(r.start_time, r.start_time_relative_to, r.end_time,
                                        r.end_time_relative_to, total_s)
        start_f, end_f = int(round(start_s * rate)), int(round(end_s * rate))
        if end_f - start_f < 2:
            raise InputError("the inpaint window is shorter than one sample", field="end_time")
        window_s = end_s - start_s
        if window_s > self.max_call_s - 1:
            raise InputError(f"the window is {window_s:.0f} s; one call repaints at most "
                             f"{self.max_call_s - 1:.0f} s", field="end_time", hint="split it into two edits")
        # The model sees the window plus as much surrounding context as one call allows.
        margin = (self.max_call_s - window_s) / 2
        region0, region1 = max(0.0, start_s - margin), min(total_s, end_s + margin)
        source48 = to_model_audio(source, rate)
        r0, r1 = int(round(region0 * MODEL_RATE)), min(source48.shape[1], int(round(region1 * MODEL_RATE)))
        region = source48[:, r0:r1]
        padded = _pad_to(region, self._hop())
        audios = self.call("repaint", padded.shape[1] / MODEL_RATE, src=padded, task_type="repaint",
                           repainting_start=start_s - region0, repainting_end=end_s - region0)
        # Output frames of the window in the 48 kHz region, with a little extra on each side so the
        # resampler's edges fall outside what we keep.
        w0, w1 = int(round((start_s - region0) * MODEL_RATE)), int(round((end_s - region0) * MODEL_RATE))
        guard = int(0.1 * MODEL_RATE)
        g0, g1 = max(0, w0 - guard), min(region.shape[1], w1 + guard)
        kept = np.ones(region.shape[1], dtype=bool)
        kept[w0:w1] = False
        results = []
        for out in audios:
            out = out[:, :region.shape[1]]
            gain = match_gain(out[:, kept], region[:, kept]) if kept.any() else 1.0
            piece = from_model_audio(out[:, g0:g1] * gain, rate, source.shape[0],
                                     int(round((g1 - g0) * rate / MODEL_RATE)))
            lead = int(round((w0 - g0) * rate / MODEL_RATE))
            segment = piece[:, lead:lead + (end_f - start_f)]
            if segment.shape[1] < end_f - start_f:
                segment = np.pad(segment, ((0, 0), (0, end_f - start_f - segment.shape[1])), mode="edge")
            results.append(splice(source, rate, segment, start_f, end_f,
                                  int(round(EDGE_CROSSFADE_S * rate))))
        return self.takes(results, rate, task="repaint", window_s=[round(start_s, 6), round(end_s, 6)],
                          **_exact_subtype(subtype))

    def _hop(self) -> int:
        from aimusic.engines.local_acestep import runtime

        return runtime.vae_hop(self.pipe)

    # -- outpaint ------------------------------------------------------------------------------------
    def outpaint(self, source: np.ndarray, rate: int, subtype: str | None) -> list[Take]:
        from aimusic.audio.splice import append, equal_power_fades, prepend

        r = self.request
        before_s, after_s = float(r.extend_before_duration), float(r.extend_after_duration)
        if before_s <= 0 and after_s <= 0:
            raise InputError("nothing to extend: give extend_before_duration or extend_after_duration",
                             field="extend_after_duration")
        source48 = to_model_audio(source, rate)
        batch = len(self.seeds)
        results = [source.copy() for _ in range(batch)]
        steps_done: list[dict] = []
        if after_s > 0:
            additions, overlap48 = self._extend(source48, after_s, at_end=True, log=steps_done)
            overlap = int(round(overlap48 * rate / MODEL_RATE))
            new_frames = int(round(after_s * rate))
            for i, addition48 in enumerate(additions):
                addition = from_model_audio(addition48, rate, source.shape[0], overlap + new_frames)
                results[i] = append(results[i], addition, rate, overlap)
        if before_s > 0:
            additions, overlap48 = self._extend(source48, before_s, at_end=False, log=steps_done)
            overlap = int(round(overlap48 * rate / MODEL_RATE))
            new_frames = int(round(before_s * rate))
            for i, addition48 in enumerate(additions):
                # the addition ends with its rendering of the source's head: resample, then keep the
                # last (new + overlap) frames so the two line up at the junction
                full = from_model_audio(addition48, rate, source.shape[0],
                                        int(round(addition48.shape[1] * rate / MODEL_RATE)))
                addition = full[:, max(0, full.shape[1] - new_frames - overlap):]
                if addition.shape[1] < new_frames + overlap:
                    addition = np.pad(addition, ((0, 0), (new_frames + overlap - addition.shape[1], 0)),
                                      mode="edge")
                results[i] = prepend(results[i], addition, rate, overlap)
        if after_s > 0:
            # Repainted tails tend to fade or drift; the last step was asked for an outro, and a
            # musical fade over its final seconds makes the ending resolve instead of cutting off.
            fade = int(round(min(6.0, after_s / 3) * rate))
            fade_out, _ = equal_power_fades(fade)
            for out in results:
                out[:, out.shape[1] - fade:] *= fade_out[None, :]
        if before_s > 0:
            declick = int(round(min(0.02, before_s / 4) * rate))
            _, fade_in = equal_power_fades(declick)
            for out in results:
                out[:, :declick] *= fade_in[None, :]
        return self.takes(results, rate, task="outpaint", chain=steps_done,
                          source_offset_s=round(before_s, 6) if before_s > 0 else 0.0,
                          **_exact_subtype(subtype))

    def _extend(self, source48: np.ndarray, seconds: float, *, at_end: bool, log: list) -> tuple[list, int]:
        """Model-rate additions for every batch item: `[overlap | new]` (at_end) or `[new | overlap]`.

        Each chained step repaints `new` seconds of silence next to up to CONTEXT_SECONDS of the audio
        so far (the source, then what earlier steps made), so the steps overlap and stay coherent.
        """
        from aimusic.audio.splice import append, prepend
        from aimusic.engines.local_acestep import runtime

        hop = self._hop()
        batch = len(self.seeds)
        context_cap = min(CONTEXT_SECONDS, self.max_call_s / 2)
        step_cap = self.max_call_s - context_cap
        remaining = int(round(seconds * MODEL_RATE))
        composites = [source48] * batch  # audio so far at 48 kHz, per item (source + earlier steps)
        additions: list[np.ndarray | None] = [None] * batch
        first_overlap = 0
        step = 0
        while remaining > 0:
            step += 1
            new = min(remaining, int(step_cap * MODEL_RATE))
            # whole latent frames of context, so the encoded context never straddles the silence
            context = min(composites[0].shape[1], int(context_cap * MODEL_RATE)) // hop * hop
            # round the call up to whole latent frames; the extra lands on the far side of `new`
            total = context + new
            total += (-total) % hop
            new_padded = total - context
            last = remaining - new <= 0
            srcs = []
            for comp in composites:
                ctx_audio = comp[:, -context:] if at_end else comp[:, :context]
                silence = np.zeros((2, new_padded), dtype=np.float32)
                srcs.append(np.concatenate([ctx_audio, silence] if at_end else [silence, ctx_audio], axis=1))
            prompt, lyrics = self._edge_prompt(at_end, last)
            seconds_total = total / MODEL_RATE
            if at_end:
                start, end = context / MODEL_RATE, seconds_total
            else:
                start, end = 0.0, new_padded / MODEL_RATE
            src = np.stack(srcs) if batch > 1 else srcs[0]
            with runtime.encode_only(self.pipe.vae, total, context, head=at_end):
                audios = self.call("extend" if seconds <= step_cap else f"extend {step}", seconds_total,
                                   prompt, lyrics, src=src, task_type="repaint", repainting_start=start,
                                   repainting_end=end)
            log.append({"side": "after" if at_end else "before", "context_s": round(context / MODEL_RATE, 3),
                        "new_s": round(new / MODEL_RATE, 3), "outro" if at_end else "intro": last})
            for i, out in enumerate(audios):
                out = out[:, :total]
                if at_end:
                    gain = match_gain(out[:, :context], srcs[i][:, :context])
                    piece = out[:, :context + new] * gain  # [rendering of context | new]
                    if additions[i] is None:
                        additions[i] = piece.astype(np.float32)
                        first_overlap = context
                    else:
                        additions[i] = append(additions[i], piece.astype(np.float32), MODEL_RATE, context)
                    composites[i] = append(composites[i], piece.astype(np.float32), MODEL_RATE, context)
                else:
                    gain = match_gain(out[:, new_padded:], srcs[i][:, new_padded:])
                    piece = (out[:, new_padded - new:] * gain).astype(np.float32)  # [new | context]
                    if additions[i] is None:
                        additions[i] = piece
                        first_overlap = context
                    else:
                        additions[i] = prepend(additions[i], piece, MODEL_RATE, context)
                    composites[i] = prepend(composites[i], piece, MODEL_RATE, context)
            remaining -= new
        return additions, first_overlap

    def _edge_prompt(self, at_end: bool, last: bool) -> tuple[str, str]:
        """On the outermost step, ask for an ending (or an opening) in words the model was trained on."""
        s = self.settings
        if not last:
            return s["prompt"], s["lyrics"]
        section = "[Outro]" if at_end else "[Intro]"
        words = "outro, ending" if at_end else "intro"
        lyrics = s["lyrics"] if s["instrumental"] else f"{s['lyrics'].rstrip()}\n\n{section}"
        return f"{s['prompt']}, {words}", lyrics

    # -- remix ---------------------------------------------------------------------------------------
    def remix(self, source: np.ndarray, rate: int, subtype: str | None,
              reference: tuple | None = None) -> list[Take]:
        import torch
        from diffusers.utils.torch_utils import randn_tensor

        from aimusic.engines.local_acestep import runtime

        r = self.request
        strength = float(r.strength)
        if strength <= 0.0:
            # ComfyUI's denoise 0: no steps run, the source comes back untouched.
            return self.takes([source.copy() for _ in self.seeds], rate, task="remix", strength=0.0,
                              **_exact_subtype(subtype))
        source48 = to_model_audio(source, rate)
        if source48.shape[1] > self.max_call_s * MODEL_RATE:
            raise InputError(f"the source is {source48.shape[1] / MODEL_RATE:.0f} s; one call takes at most "
                             f"{self.max_call_s:.0f} s", field="audio")
        pipe = self.pipe
        hop = self._hop()
        padded = _pad_to(source48, hop)
        frames = padded.shape[1] // hop
        seconds = runtime.duration_for_latents(pipe, frames)
        # ComfyUI's denoise: a schedule of steps/strength steps of which the last `steps` run, so the
        # flow starts at the sigma that schedule reaches, from the source latent noised to that sigma.
        steps = self.settings["num_inference_steps"]
        total_steps = max(steps, int(steps / strength))
        t = torch.linspace(1.0, 0.0, total_steps + 1, dtype=torch.float64)
        shift = self.settings["shift"]
        if shift != 1.0:
            t = shift * t / (1 + (shift - 1) * t)
        sigmas = t[:-1][-steps:]
        device = pipe._execution_device
        dtype = pipe.transformer.dtype
        with torch.no_grad():
            audio = torch.from_numpy(padded).unsqueeze(0).to(device=device, dtype=pipe.vae.dtype)
            runtime.set_vae_tiling(pipe, seconds, self.tiling)
            clean = pipe.vae.encode(audio).latent_dist.mode().transpose(1, 2).to(torch.float32).cpu()
        clean = clean[:, :frames]
        batch = len(self.seeds)
        noise = randn_tensor((batch, clean.shape[1], clean.shape[2]), generator=runtime.generators(self.seeds),
                             device=torch.device("cpu"), dtype=torch.float32)
        sigma0 = float(sigmas[0])
        latents = (sigma0 * noise + (1.0 - sigma0) * clean).to(device=device, dtype=dtype)
        kwargs: dict[str, Any] = {"latents": latents, "timesteps": [float(x) for x in sigmas]}
        src = None
        if r.cover:
            kwargs.update(task_type="cover", audio_cover_strength=float(r.audio_cover_strength))
            src = padded
        if reference is not None:
            ref48 = to_model_audio(reference[0], reference[1])
            kwargs["reference_audio"] = torch.from_numpy(ref48)
        audios = self.call("remix", seconds, src=src, **kwargs)
        outs = [out[:, :source48.shape[1]] for out in audios]
        return self.takes(outs, MODEL_RATE, task="cover" if r.cover else "remix", strength=strength,
                          start_sigma=round(sigma0, 6))

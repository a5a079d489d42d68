"""Offline edits of ANY audio: inpaint, outpaint and remix with composed material.

The source's tempo, beat/bar grid and key are estimated (analysis_for_edits.py); new material
is composed at that tempo and key with its bars on the source's bar grid, rendered, matched in
level, and joined with `aimusic.audio.splice` so that everything outside the edited window is
the source's own samples, bit for bit, at the source's sample rate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aimusic.engines.base import EngineResult, RunContext, Take
from aimusic.errors import InputError

EDIT_CROSSFADE_S = 0.05
# Subtypes the WAV/FLAC writers can reproduce exactly from the float32 samples read; the output
# keeps the source's so that untouched samples are written back unchanged. Any other source
# (lossy, 32-bit integer, float, or with samples above full scale) is written as 32-bit float,
# which holds every decoded sample as it was read.
EXACT_SUBTYPES = ("PCM_16", "PCM_24", "PCM_U8", "PCM_S8", "FLOAT")
HOLDS_ANY_SAMPLE = "FLOAT"


def read_source(request: Any) -> tuple[np.ndarray, int, str | None]:
    from aimusic.audio.io import audio_info, read_audio
    from aimusic.schemas import is_url

    if is_url(request.audio):
        raise InputError("audio: the sketch engine reads local files only (it works offline)", field="audio",
                         hint="download the file and pass its path")
    samples, rate = read_audio(request.audio)
    try:
        subtype = audio_info(request.audio).get("subtype")
    except Exception:  # formats only PyAV reads have no soundfile subtype
        subtype = None
    if subtype not in EXACT_SUBTYPES or float(np.abs(samples).max()) > 1.0:
        subtype = HOLDS_ANY_SAMPLE
    return samples, rate, subtype


def _render_segment(tags: str, lyrics: str, seconds: float, seed: int, bpm: float, key: str, renderer: str,
                    ctx: RunContext, *, ending: bool, form_kind: str | None, rate: int, channels: int
                    ) -> tuple[np.ndarray, dict]:
    """Compose and render `seconds` of new material, bar 0 at time 0, at `rate` and `channels`."""
    from aimusic.audio.io import resample, to_channels
    from aimusic.engines.sketch.compose import ComposeRequest, compose
    from aimusic.engines.sketch.render import render

    arrangement = compose(ComposeRequest(tags=tags, lyrics=lyrics, duration=seconds, seed=seed, bpm=bpm, key=key,
                                         final_ending=ending, form_kind=form_kind))
    ctx.check_cancelled()
    rendered = render(arrangement, renderer, seed, soundfont_option=ctx.options.soundfont)
    audio = to_channels(resample(rendered.samples, rendered.sample_rate, rate), channels)
    frames = int(round(seconds * rate))
    out = np.zeros((channels, frames), dtype=np.float32)
    take = min(frames, audio.shape[1])
    out[:, :take] = audio[:, :take]
    from aimusic.engines.sketch.metadata import arrangement_metadata

    return out, arrangement_metadata(arrangement, rendered)


def _match_level(segment: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Scale `segment` to the reference's RMS, never above the reference's (or -1 dBFS) peak."""
    ref_rms = float(np.sqrt(np.mean(np.square(reference, dtype=np.float64)))) if reference.size else 0.0
    seg_rms = float(np.sqrt(np.mean(np.square(segment, dtype=np.float64))))
    if seg_rms <= 0:
        return segment
    gain = (ref_rms / seg_rms) if ref_rms > 1e-5 else 0.25
    ceiling = max(float(np.abs(reference).max()) if reference.size else 0.0, 0.5)
    ceiling = min(ceiling, 0.891)
    peak = float(np.abs(segment).max()) * gain
    if peak > ceiling:
        gain *= ceiling / peak
    return (segment * np.float32(gain)).astype(np.float32)


def run_edit(task: str, request: Any, ctx: RunContext) -> EngineResult:
    from aimusic.engines.sketch.analysis_for_edits import analyse_source
    from aimusic.engines.sketch.theory import check_keyscale
    from aimusic.engines.sketch.render import choose_renderer

    source, rate, subtype = read_source(request)
    options = ctx.options  # SketchOptions (set by SketchEngine.run)
    renderer = choose_renderer(options.renderer or request.renderer, options.soundfont)
    ctx.progress("analyse", 0, 3, "estimating tempo, beats and key of the source")
    grid = analyse_source(source, rate, bpm_hint=request.bpm, key_hint=check_keyscale(request.keyscale))
    ctx.check_cancelled()
    ctx.progress("compose", 1, 3, f"composing at {grid.bpm:.1f} BPM in {grid.key}")
    seed = int(request.seed)
    common = dict(tags=request.tags, lyrics=request.lyrics, seed=seed, bpm=grid.bpm, key=grid.key,
                  renderer=renderer, ctx=ctx, rate=rate, channels=source.shape[0])
    if task == "inpaint":
        out, details = _inpaint(source, rate, request, grid, common)
    elif task == "outpaint":
        out, details = _outpaint(source, rate, request, grid, common)
    elif task == "remix":
        out, details = _remix(source, rate, request, grid, common)
    else:
        raise InputError(f"the sketch engine cannot run task {task!r}", field="model")
    ctx.progress("render", 3, 3, "done")
    metadata = {"sketch_edit": {"task": task, "source": grid.to_dict(), **details}}
    if subtype:
        metadata["subtype"] = subtype
    take = Take(seed=seed, samples=out, sample_rate=rate, metadata=metadata)
    return EngineResult(takes=[take], cost_usd=0.0, metadata={"renderer": renderer})


def _inpaint(source: np.ndarray, rate: int, request: Any, grid: Any, common: dict) -> tuple[np.ndarray, dict]:
    from aimusic.audio.splice import splice
    from aimusic.schemas import resolve_window

    total = source.shape[1]
    start_s, end_s = resolve_window(request.start_time, request.start_time_relative_to, request.end_time,
                                    request.end_time_relative_to, total / rate)
    start, end = int(round(start_s * rate)), min(total, int(round(end_s * rate)))
    snap_start, snap_end, snapped_to = grid.snap_inside(start, end)
    # Compose from the bar line at or before the splice start, so the new bars sit on the
    # source's bars even when an edge snapped to a beat; the lead-in is cut off.
    compose_from = grid.bar_at_or_before(snap_start)
    lead_in = snap_start - compose_from
    rendered, composed = _render_segment(seconds=(snap_end - compose_from) / rate, ending=False,
                                         form_kind="verse", **common)
    segment = rendered[:, lead_in:lead_in + (snap_end - snap_start)]
    reference = source[:, snap_start:snap_end]
    segment = _match_level(segment, reference)
    crossfade = min(int(EDIT_CROSSFADE_S * rate), (snap_end - snap_start) // 4)
    out = splice(source, rate, segment, snap_start, snap_end, crossfade)
    return out, {"window_s": [round(start_s, 4), round(end_s, 4)],
                 "spliced_s": [round(snap_start / rate, 4), round(snap_end / rate, 4)], "snapped_to": snapped_to,
                 "crossfade_s": round(crossfade / rate, 4), "composed": composed}


def _outpaint(source: np.ndarray, rate: int, request: Any, grid: Any, common: dict) -> tuple[np.ndarray, dict]:
    from aimusic.audio.splice import append, prepend

    total = source.shape[1]
    out = source
    details: dict[str, Any] = {}
    after = int(round(request.extend_after_duration * rate))
    before = int(round(request.extend_before_duration * rate))
    if after > 0:
        # Start the new material on the last bar line inside the source so its bars continue
        # the grid; the part that overlaps the source is the context `append` drops.
        bar_start = grid.bar_at_or_before(total)
        overlap = total - bar_start
        seconds = (overlap + after) / rate
        addition, composed = _render_segment(seconds=seconds, ending=True, form_kind=None, **common)
        addition = _match_level(addition, source[:, max(0, total - 8 * rate):])
        out = append(out, addition, rate, overlap_frames=overlap)
        details["after"] = {"seconds": round(after / rate, 4), "bar_aligned_from_s": round(bar_start / rate, 4),
                            "composed": composed}
    if before > 0:
        # The new material's bars end on the source's first bar line; its head is cut to length.
        first_bar = grid.bar_at_or_after(0)
        period = grid.bar_frames
        bars = int(np.ceil((before + first_bar) / period))
        seconds = bars * period / rate
        addition, composed = _render_segment(seconds=seconds, ending=False, form_kind="intro", **common)
        addition = addition[:, addition.shape[1] - (before + first_bar):]
        fade = min(int(0.01 * rate), addition.shape[1])
        addition[:, :fade] *= np.linspace(0, 1, fade, dtype=np.float32)   # no click at the new start
        addition = _match_level(addition, source[:, : 8 * rate])
        out = prepend(out, addition, rate, overlap_frames=first_bar)
        details["before"] = {"seconds": round(before / rate, 4), "bars": bars, "composed": composed}
    if after <= 0 and before <= 0:
        raise InputError("outpaint needs extend_before_duration or extend_after_duration above 0",
                         field="extend_after_duration")
    details["source_frames"] = [before, before + total]
    return out, details


def _remix(source: np.ndarray, rate: int, request: Any, grid: Any, common: dict) -> tuple[np.ndarray, dict]:
    total = source.shape[1]
    period = grid.bar_frames
    first_bar = grid.bar_at_or_after(0)
    lead_in = (period - first_bar % period) % period   # bar 0 of the new piece sits before the start
    seconds = (total + lead_in) / rate
    new, composed = _render_segment(seconds=seconds, ending=True, form_kind=None, **common)
    strength = float(request.strength)
    if strength <= 0.0:  # nothing of the new material: the source's own samples
        return source, {"strength": strength, "lead_in_s": round(lead_in / rate, 4), "composed": composed}
    new = _match_level(new[:, lead_in:lead_in + total], source)
    # Equal-power blend: 0 keeps the source, 1 is all new material.
    keep, add = np.float32(np.cos(strength * np.pi / 2)), np.float32(np.sin(strength * np.pi / 2))
    out = source * keep + new * add
    peak = float(np.abs(out).max())
    ceiling = max(0.891, float(np.abs(source).max()))  # never louder than the source allowed itself
    if peak > ceiling:
        out *= np.float32(ceiling / peak)
    return out.astype(np.float32), {"strength": strength, "lead_in_s": round(lead_in / rate, 4),
                                    "composed": composed}

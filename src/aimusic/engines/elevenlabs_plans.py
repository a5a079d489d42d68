"""Composition plans: each model's format and limits checked before any call, and the plans that
make premium edits, plus putting their new material into the original.

An edit is a plan over a song ElevenLabs stores for inpainting: the source's own time ranges are
kept (`source_from` on v1 sections, audio-reference chunks `{song_id, range}` on v2 plans) and
only the window (inpaint) or the added sections (outpaint) are composed. ElevenLabs renders the
whole plan; aimusic then splices just the new material into the original file
(`aimusic.audio.splice`), so every sample outside the window is the source's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aimusic.catalog.hosted import ELEVENLABS_DEFAULT_MODEL, ELEVENLABS_MODELS, ElevenLabsModel
from aimusic.errors import InputError, UpstreamError

if TYPE_CHECKING:
    import numpy as np

LENGTH_TOLERANCE_S = 1.0     # how far ElevenLabs' result may drift from the plan's length


def limits(model_id: str | None) -> ElevenLabsModel:
    return ELEVENLABS_MODELS[model_id or ELEVENLABS_DEFAULT_MODEL]


def check_length_ms(length_ms: int, model_id: str | None) -> None:
    spec = limits(model_id)
    if not spec.min_length_ms <= length_ms <= spec.max_length_ms:
        raise InputError(f"{spec.model_id} makes {spec.min_length_ms / 1000:g}-{spec.max_length_ms / 1000:g} s; "
                         f"{length_ms / 1000:g} s asked", field="music_length_ms")


def check_plan(plan: dict[str, Any], model_id: str | None) -> None:
    """The plan's format must be the model's (v1: `sections`, v2: `chunks`) and every part within
    its limits; InputError (65) naming the part, before anything is sent."""
    spec = limits(model_id)
    key = spec.plan_format
    other = "chunks" if key == "sections" else "sections"
    if key not in plan:
        fix = "music_v2 or music_v2_5" if other == "chunks" else "music_v1"
        raise InputError(f"{spec.model_id} takes a composition plan with {key}[], this one has "
                         f"{other}[]", field="composition_plan", hint=f"choose --elevenlabs-model {fix}, "
                         f"or write the plan as {key}[]")
    parts = plan[key]
    if not isinstance(parts, list) or not parts:
        raise InputError(f"composition_plan.{key} must be a non-empty list", field="composition_plan")
    total = 0
    for index, part in enumerate(parts):
        where = f"composition_plan.{key}[{index}]"
        if not isinstance(part, dict):
            raise InputError(f"{where} must be an object", field="composition_plan")
        if key == "chunks" and "song_id" in part and "text" not in part:   # an audio-reference chunk
            span = part.get("range") if isinstance(part.get("range"), dict) else {}
            length = _int(span.get("end_ms")) - _int(span.get("start_ms"))
            if length <= 0:
                raise InputError(f"{where}.range must end after it starts", field="composition_plan")
            total += length
            continue
        length = _int(part.get("duration_ms"))
        if not spec.min_part_ms <= length <= spec.max_part_ms:
            raise InputError(f"{where}.duration_ms is {length}: {spec.model_id} takes "
                             f"{spec.min_part_ms}-{spec.max_part_ms} ms per part", field="composition_plan")
        lines = part.get("lines", []) if key == "sections" else str(part.get("text", "")).splitlines()
        if not isinstance(lines, list) or len(lines) > spec.max_lines:
            raise InputError(f"{where} has more than {spec.max_lines} lyric lines", field="composition_plan",
                             hint="split it into two parts")
        long = next((line for line in lines if len(str(line)) > spec.max_line_chars), None)
        if long is not None:
            raise InputError(f"{where} has a lyric line over {spec.max_line_chars} characters",
                             field="composition_plan")
        total += length
    if not spec.min_length_ms <= total <= spec.max_length_ms:
        raise InputError(f"the plan is {total / 1000:g} s; {spec.model_id} makes "
                         f"{spec.min_length_ms / 1000:g}-{spec.max_length_ms / 1000:g} s", field="composition_plan")


def _int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else 0


def plan_ms(plan: dict[str, Any]) -> int:
    total = 0
    for part in plan.get("sections") or plan.get("chunks") or []:
        if not isinstance(part, dict):
            continue
        if "duration_ms" in part:
            total += _int(part["duration_ms"])
        elif isinstance(part.get("range"), dict):
            total += max(0, _int(part["range"].get("end_ms")) - _int(part["range"].get("start_ms")))
    return total


# --- edit plans ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Part:
    start_ms: int     # where the part starts in the plan's result
    length_ms: int
    kept_from: int | None = None   # start of the source range it keeps; None: composed anew


def _split(length_ms: int, spec: ElevenLabsModel) -> list[int]:
    """`length_ms` as parts within the model's per-part limits (as equal as whole ms allow)."""
    if length_ms <= 0:
        return []
    count = max(1, math.ceil(length_ms / spec.max_part_ms))
    base, extra = divmod(length_ms, count)
    return [base + (1 if i < extra else 0) for i in range(count)]


def _styles(tags: str) -> list[str]:
    return [t.strip() for t in tags.split(",") if t.strip()][:20]


def _lyric_lines(lyrics: str, spec: ElevenLabsModel) -> list[str]:
    lines = [line.strip() for line in (lyrics or "").splitlines() if line.strip()]
    lines = [line for line in lines if not (line.startswith("[") and line.endswith("]"))]  # markers
    if [line.lower() for line in lines] == ["[inst]"]:
        return []
    return [line[:spec.max_line_chars] for line in lines][:spec.max_lines]


def _render(parts: list[Part], song_id: str, tags: str, lyrics: str, spec: ElevenLabsModel,
            names: list[str]) -> dict[str, Any]:
    lines = _lyric_lines(lyrics, spec)
    styles = _styles(tags)
    new_index = 0
    if spec.plan_format == "sections":
        sections = []
        for part in parts:
            if part.kept_from is not None:
                sections.append({"section_name": "Source", "positive_local_styles": [],
                                 "negative_local_styles": [], "duration_ms": part.length_ms, "lines": [],
                                 "source_from": {"song_id": song_id,
                                                 "range": {"start_ms": part.kept_from,
                                                           "end_ms": part.kept_from + part.length_ms}}})
            else:
                sections.append({"section_name": names[min(new_index, len(names) - 1)],
                                 "positive_local_styles": styles, "negative_local_styles": [],
                                 "duration_ms": part.length_ms, "lines": lines if new_index == 0 else []})
                new_index += 1
        return {"positive_global_styles": styles, "negative_global_styles": [], "sections": sections}
    chunks: list[dict[str, Any]] = []
    for part in parts:
        if part.kept_from is not None:
            chunks.append({"song_id": song_id, "range": {"start_ms": part.kept_from,
                                                         "end_ms": part.kept_from + part.length_ms}})
        else:
            name = names[min(new_index, len(names) - 1)]
            text = "\n".join([f"[{name}]", *(lines if new_index == 0 else [])])
            chunks.append({"text": text, "duration_ms": part.length_ms, "positive_styles": styles or ["music"],
                           "negative_styles": []})
            new_index += 1
    return {"chunks": chunks}


def _kept(start_ms: int, length_ms: int, at: int, spec: ElevenLabsModel) -> list[Part]:
    parts, offset = [], 0
    for piece in _split(length_ms, spec):
        parts.append(Part(at + offset, piece, start_ms + offset))
        offset += piece
    return parts


def _new(length_ms: int, at: int, spec: ElevenLabsModel) -> list[Part]:
    parts, offset = [], 0
    for piece in _split(length_ms, spec):
        parts.append(Part(at + offset, piece))
        offset += piece
    return parts


@dataclass
class EditPlan:
    plan: dict[str, Any]
    total_ms: int
    new_ranges_ms: list[tuple[int, int]]   # where the new material sits in the result
    source_offset_ms: int = 0              # where the source starts in the result (outpaint)


def inpaint_plan(song_id: str, source_ms: int, start_ms: int, end_ms: int, tags: str, lyrics: str,
                 model_id: str | None) -> EditPlan:
    """Keep the source before and after the window, compose the window. A window shorter than a
    part's minimum is composed wider (only the window is spliced in later); a kept piece that would
    be too short to be a part is composed as well."""
    spec = limits(model_id)
    lo, hi = start_ms, end_ms
    if hi - lo < spec.min_part_ms:
        grow = spec.min_part_ms - (hi - lo)
        lo = max(0, lo - grow // 2 - grow % 2)
        hi = min(source_ms, lo + spec.min_part_ms)
        lo = max(0, hi - spec.min_part_ms)
    if 0 < lo < spec.min_part_ms:
        lo = 0
    if 0 < source_ms - hi < spec.min_part_ms:
        hi = source_ms
    if source_ms < spec.min_length_ms or hi - lo < min(spec.min_part_ms, source_ms):
        raise InputError(f"the track is {source_ms / 1000:g} s; ElevenLabs edits need at least "
                         f"{spec.min_length_ms / 1000:g} s", field="audio")
    parts = _kept(0, lo, 0, spec) + _new(hi - lo, lo, spec) + _kept(hi, source_ms - hi, hi, spec)
    plan = _render(parts, song_id, tags, lyrics, spec, ["Repaint"])
    check_plan(plan, model_id)
    return EditPlan(plan, source_ms, [(start_ms, end_ms)])


def outpaint_plan(song_id: str, source_ms: int, before_ms: int, after_ms: int, tags: str, lyrics: str,
                  model_id: str | None) -> EditPlan:
    """New sections before and/or after the whole source (kept). An addition shorter than a
    part's minimum is composed at the minimum; only the asked length is joined later."""
    spec = limits(model_id)
    if before_ms <= 0 and after_ms <= 0:
        raise InputError("nothing to extend: give extend_before_duration or extend_after_duration",
                         field="extend_after_duration")
    made_before = max(before_ms, spec.min_part_ms) if before_ms > 0 else 0
    made_after = max(after_ms, spec.min_part_ms) if after_ms > 0 else 0
    total = made_before + source_ms + made_after
    if total > spec.max_length_ms:
        raise InputError(f"the result would be {total / 1000:g} s; {spec.model_id} makes at most "
                         f"{spec.max_length_ms / 1000:g} s in one call", field="extend_after_duration",
                         hint="extend in steps (`aimusic edit` chains them)")
    parts = (_new(made_before, 0, spec) + _kept(0, source_ms, made_before, spec)
             + _new(made_after, made_before + source_ms, spec))
    plan = _render(parts, song_id, tags, lyrics, spec, ["Intro"] * (made_before > 0) + ["Outro"])
    check_plan(plan, model_id)
    ranges = []
    if before_ms > 0:
        ranges.append((made_before - before_ms, made_before))
    if after_ms > 0:
        ranges.append((made_before + source_ms, made_before + source_ms + after_ms))
    return EditPlan(plan, total, ranges, source_offset_ms=made_before)


# --- the new material into the original ---------------------------------------------------------

def _fit(result: np.ndarray, result_rate: int, rate: int, channels: int, total_ms: int) -> np.ndarray:
    """ElevenLabs' render at the source's rate and channel count, checked against the plan's length."""
    from aimusic.audio.io import resample, to_channels

    seconds = result.shape[1] / result_rate
    if abs(seconds - total_ms / 1000.0) > max(LENGTH_TOLERANCE_S, 0.02 * total_ms / 1000.0):
        raise UpstreamError(f"ElevenLabs returned {seconds:.2f} s for a {total_ms / 1000:.2f} s plan: the edit "
                            "would not line up with the track", hint="retry, or give a wider window")
    return to_channels(resample(result, result_rate, rate), channels)


def apply_inpaint(source: np.ndarray, rate: int, result: np.ndarray, result_rate: int, edit: EditPlan) -> np.ndarray:
    import numpy as np

    from aimusic.audio.splice import splice

    rendered = _fit(result, result_rate, rate, source.shape[0], edit.total_ms)
    (start_ms, end_ms), = edit.new_ranges_ms
    start_f = int(round(start_ms * rate / 1000))
    end_f = min(source.shape[1], int(round(end_ms * rate / 1000)))
    segment = rendered[:, start_f:end_f]
    if segment.shape[1] < end_f - start_f:  # a render a few ms short: hold its last sample
        segment = np.pad(segment, ((0, 0), (0, end_f - start_f - segment.shape[1])), mode="edge")
    return splice(source, rate, segment.astype(source.dtype), start_f, end_f)


def apply_outpaint(source: np.ndarray, rate: int, result: np.ndarray, result_rate: int, edit: EditPlan,
                   before_ms: int, after_ms: int, overlap_s: float = 0.5) -> np.ndarray:
    """Join the new head and/or tail to the original (kept bit-identical), each with the render's
    own version of the source's edge as the overlap that smooths the junction."""
    import numpy as np

    from aimusic.audio.splice import append, prepend

    rendered = _fit(result, result_rate, rate, source.shape[0], edit.total_ms).astype(source.dtype)
    out = source
    offset_f = int(round(edit.source_offset_ms * rate / 1000))
    overlap = min(int(round(overlap_s * rate)), source.shape[1])
    if after_ms > 0:
        end_f = offset_f + source.shape[1]
        piece = rendered[:, max(0, end_f - overlap): end_f + int(round(after_ms * rate / 1000))]
        want = overlap + int(round(after_ms * rate / 1000))
        if piece.shape[1] < want:
            piece = np.pad(piece, ((0, 0), (0, want - piece.shape[1])), mode="edge")
        out = append(out, piece, rate, overlap_frames=overlap)
    if before_ms > 0:
        new_f = int(round(before_ms * rate / 1000))
        piece = rendered[:, max(0, offset_f - new_f): offset_f + overlap]
        if piece.shape[1] < new_f + overlap:
            piece = np.pad(piece, ((0, 0), (new_f + overlap - piece.shape[1], 0)), mode="edge")
        out = prepend(out, piece, rate, overlap_frames=overlap)
    return out

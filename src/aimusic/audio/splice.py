"""Splicing new material into existing audio while preserving the rest bit-exactly.

Shared by every engine's inpaint/outpaint and by chaining. Arrays are float32
`[channels, frames]`; the sample rate is passed for API symmetry and for
callers that give times in seconds.
"""

from __future__ import annotations

import numpy as np

from aimusic.errors import InputError

DEFAULT_CROSSFADE_S = 0.05   # long enough to hide a seam, short enough to keep the edit where it was asked
JUNCTION_SMOOTH_S = 0.01     # for append/prepend, where there is nothing on the far side to fade from


def equal_power_fades(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(fade_out, fade_in) quarter-sine curves: fade_out**2 + fade_in**2 == 1 at every point, so
    two uncorrelated signals crossfaded this way keep a constant power."""
    if n <= 0:
        empty = np.zeros(0, dtype=np.float32)
        return empty, empty
    t = (np.arange(n, dtype=np.float64) + 0.5) / n
    fade_in = np.sin(0.5 * np.pi * t)
    fade_out = np.cos(0.5 * np.pi * t)
    return fade_out.astype(np.float32), fade_in.astype(np.float32)


def _check_pair(a: np.ndarray, b: np.ndarray, what: str) -> None:
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0]:
        raise InputError(f"{what}: channel layouts differ ({a.shape} vs {b.shape})", field="audio")


def splice(source: np.ndarray, sample_rate: int, segment: np.ndarray, start_frame: int, end_frame: int,
           crossfade_frames: int | None = None) -> np.ndarray:
    """Replace source[:, start_frame:end_frame] with `segment`, crossfading just inside each edge.

    Every frame outside [start_frame, end_frame) is the source's own sample, bit for bit.
    `segment` must be exactly end_frame - start_frame frames long. Edges at 0 or at the end
    of the source need no crossfade there.
    """
    _check_pair(source, segment, "splice")
    length = end_frame - start_frame
    if not (0 <= start_frame < end_frame <= source.shape[1]):
        raise InputError(f"splice window {start_frame}-{end_frame} is outside the {source.shape[1]}-frame "
                         "source", field="end_time")
    if segment.shape[1] != length:
        raise InputError(f"splice segment has {segment.shape[1]} frames, the window {length}", field="audio")
    if crossfade_frames is None:
        crossfade_frames = int(round(DEFAULT_CROSSFADE_S * sample_rate))
    fade = max(0, min(int(crossfade_frames), length // 2))
    out = source.copy()
    window = segment.astype(source.dtype, copy=True)
    fade_out, fade_in = equal_power_fades(fade)
    if fade and start_frame > 0:
        head = slice(start_frame, start_frame + fade)
        window[:, :fade] = source[:, head] * fade_out + window[:, :fade] * fade_in
    if fade and end_frame < source.shape[1]:
        tail = slice(end_frame - fade, end_frame)
        window[:, -fade:] = window[:, -fade:] * fade_out + source[:, tail] * fade_in
    out[:, start_frame:end_frame] = window
    return out


def _junction_ramp(n: int, rising: bool) -> np.ndarray:
    fade_out, fade_in = equal_power_fades(n)
    curve = fade_in if rising else fade_out
    return (curve * curve).astype(np.float32)  # sin^2/cos^2: smooth at both ends, exact 0..1


def append(original: np.ndarray, addition: np.ndarray, sample_rate: int, overlap_frames: int = 0) -> np.ndarray:
    """`original` followed by `addition`, original kept bit-identical.

    `addition`'s first `overlap_frames` frames are its own rendering of the original's tail (the
    context a model saw); they are dropped. Since nothing of the original may change, there is no
    far side to crossfade from: instead the step between the original's last sample and the
    addition's rendering of it is spread over ~10 ms of the new material and decays to zero,
    which removes the click without touching the original.
    """
    _check_pair(original, addition, "append")
    overlap = max(0, min(int(overlap_frames), addition.shape[1] - 1, original.shape[1]))
    new = addition[:, overlap:].astype(original.dtype, copy=True)
    if new.shape[1] == 0:
        return original.copy()
    reference = addition[:, overlap - 1] if overlap > 0 else new[:, 0]
    step = original[:, -1] - reference
    n = min(new.shape[1], max(1, int(round(JUNCTION_SMOOTH_S * sample_rate))))
    new[:, :n] += step[:, None] * _junction_ramp(n, rising=False)[None, :]
    return np.concatenate([original, new], axis=1)


def prepend(original: np.ndarray, addition: np.ndarray, sample_rate: int, overlap_frames: int = 0) -> np.ndarray:
    """`addition` followed by `original`, original kept bit-identical; the mirror of `append`."""
    _check_pair(original, addition, "prepend")
    overlap = max(0, min(int(overlap_frames), addition.shape[1] - 1, original.shape[1]))
    new = addition[:, : addition.shape[1] - overlap].astype(original.dtype, copy=True)
    if new.shape[1] == 0:
        return original.copy()
    reference = addition[:, addition.shape[1] - overlap] if overlap > 0 else new[:, -1]
    step = original[:, 0] - reference
    n = min(new.shape[1], max(1, int(round(JUNCTION_SMOOTH_S * sample_rate))))
    new[:, -n:] += step[:, None] * _junction_ramp(n, rising=True)[None, :]
    return np.concatenate([new, original], axis=1)

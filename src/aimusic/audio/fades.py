"""Fades, silence detection and silence trimming on float32 [channels, frames]."""

from __future__ import annotations

import numpy as np

from aimusic.errors import InputError

FADE_SHAPES = ("linear", "sine", "scurve", "exp")
DEFAULT_FADE_IN = "sine"   # quarter-sine: rises quickly, no audible dip at the start
DEFAULT_FADE_OUT = "exp"   # dB-linear: the loudness falls at a steady rate, as a mixing engineer's fader
EXP_RANGE_DB = 60.0
SILENCE_DB = -60.0
TRIM_PAD_S = 0.01          # keep this much of the quiet edge so an attack is never shaved
TRIM_FADE_S = 0.005


def fade_curve(frames: int, shape: str = "sine", *, rising: bool = True) -> np.ndarray:
    """Monotonic gain curve of `frames` values from 0 to 1 (rising) or 1 to 0 (falling);
    the silent end is exactly 0."""
    if shape not in FADE_SHAPES:
        raise InputError(f"unknown fade shape {shape!r}: choose one of {', '.join(FADE_SHAPES)}", field="fade")
    if frames <= 0:
        return np.zeros(0, np.float32)
    if frames == 1:
        return np.array([1.0 if rising else 0.0], np.float32)
    t = np.arange(frames, dtype=np.float64) / (frames - 1)  # 0..1 inclusive
    remaining = 1.0 - t if rising else t                     # distance (0..1) from the full-level end
    if shape == "linear":
        gain = 1.0 - remaining
    elif shape == "sine":
        gain = np.cos(0.5 * np.pi * remaining)
    elif shape == "scurve":
        gain = 0.5 + 0.5 * np.cos(np.pi * remaining)
    else:  # exp: a straight line in dB down to -60 dB, pulled to exactly 0 at the far end
        gain = 10 ** (-EXP_RANGE_DB * remaining / 20.0) * (1.0 - remaining)
    gain = np.clip(gain, 0.0, 1.0).astype(np.float32)
    gain[0 if rising else -1] = 0.0  # exact silence at the silent end (cos(pi/2) is 6e-17)
    gain[-1 if rising else 0] = 1.0
    return gain


def fade_in(samples: np.ndarray, sample_rate: int, seconds: float, shape: str = DEFAULT_FADE_IN) -> np.ndarray:
    frames = min(samples.shape[1], int(round(seconds * sample_rate)))
    out = samples.copy()
    if frames > 0:
        out[:, :frames] *= fade_curve(frames, shape, rising=True)[None, :]
    return out


def fade_out(samples: np.ndarray, sample_rate: int, seconds: float, shape: str = DEFAULT_FADE_OUT) -> np.ndarray:
    frames = min(samples.shape[1], int(round(seconds * sample_rate)))
    out = samples.copy()
    if frames > 0:
        out[:, samples.shape[1] - frames:] *= fade_curve(frames, shape, rising=False)[None, :]
    return out


def frame_levels_db(samples: np.ndarray, sample_rate: int, frame_s: float = 0.01) -> tuple[np.ndarray, int]:
    """RMS level (dBFS, all channels together) of consecutive frames; returns (levels, hop)."""
    hop = max(1, int(round(frame_s * sample_rate)))
    frames = samples.shape[1]
    count = -(-frames // hop)
    whole = frames // hop
    sums = np.zeros(count)
    for channel in samples:  # float32 squares summed in float64, with no float64 copy of the file
        shaped = np.asarray(channel[:whole * hop], dtype=np.float32).reshape(whole, hop)
        sums[:whole] += np.einsum("ij,ij->i", shaped, shaped, dtype=np.float64)
        if whole < count:
            tail = np.asarray(channel[whole * hop:], dtype=np.float64)
            sums[whole] += float(tail @ tail)
    power = sums / (samples.shape[0] * hop)  # the last frame counts its missing samples as zeros
    with np.errstate(divide="ignore"):
        return 10 * np.log10(np.maximum(power, 1e-20)), hop


def silent_regions(samples: np.ndarray, sample_rate: int, *, threshold_db: float = SILENCE_DB,
                   min_seconds: float = 0.25) -> list[tuple[float, float]]:
    """(start, end) seconds of stretches at least `min_seconds` long whose 10 ms RMS stays
    below `threshold_db` dBFS."""
    levels, hop = frame_levels_db(samples, sample_rate)
    quiet = np.concatenate([[False], levels < threshold_db, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    regions = []
    total = samples.shape[1] / sample_rate
    for start, stop in zip(edges[::2], edges[1::2]):
        begin, end = start * hop / sample_rate, min(total, stop * hop / sample_rate)
        if end - begin >= min_seconds:
            regions.append((round(begin, 3), round(end, 3)))
    return regions


def trim_silence(samples: np.ndarray, sample_rate: int, *, threshold_db: float = SILENCE_DB,
                 pad_s: float = TRIM_PAD_S) -> tuple[np.ndarray, tuple[int, int]]:
    """Cut leading and trailing silence (every sample below `threshold_db` dBFS).

    Returns (trimmed, (first_frame, end_frame) kept of the input). A few ms of the quiet
    edge are kept and faded, so the cut itself can never click.
    """
    threshold = 10 ** (threshold_db / 20.0)
    loud = np.flatnonzero(np.abs(samples).max(axis=0) > threshold)
    if loud.size == 0:
        raise InputError(f"the audio is silent (nothing above {threshold_db:g} dBFS); nothing would be left "
                         "after trimming silence", field="trim_silence")
    pad = int(round(pad_s * sample_rate))
    first = max(0, int(loud[0]) - pad)
    end = min(samples.shape[1], int(loud[-1]) + 1 + pad)
    out = samples[:, first:end].copy()
    fade = int(round(TRIM_FADE_S * sample_rate))
    if first > 0:
        out[:, :min(fade, pad)] *= fade_curve(min(fade, pad), "sine", rising=True)[None, :]
    if end < samples.shape[1]:
        n = min(fade, pad)
        out[:, out.shape[1] - n:] *= fade_curve(n, "sine", rising=False)[None, :]
    return out, (first, end)

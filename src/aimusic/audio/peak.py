"""True peak (ITU-R BS.1770-4 Annex 2) and a lookahead limiter that guarantees a true-peak ceiling.

True peak is measured on a 4x oversampled copy made with the Annex's own 48-tap interpolation
filter (scipy's polyphase `upfirdn`). Oversampling a whole three-minute file costs more than
the rest of finishing, so only the blocks that *could* hold a peak over the level of interest
are oversampled: every interpolated value is a 12-tap weighted sum of neighbouring samples, so
it can never exceed (largest |tap sum| of a phase) x (largest neighbouring |sample|). Blocks
below that bound are skipped with certainty, not by guesswork.
"""

from __future__ import annotations

import numpy as np

from aimusic.audio.io import db_to_gain, gain_to_db

# BS.1770-4 Annex 2, Table 1: the 4-phase, 12-taps-per-phase interpolation filter.
_PHASE_0 = [0.0017089843750, 0.0109863281250, -0.0196533203125, 0.0332031250000, -0.0594482421875,
            0.1373291015625, 0.9721679687500, -0.1022949218750, 0.0476074218750, -0.0266113281250,
            0.0148925781250, -0.0083007812500]
_PHASE_1 = [-0.0291748046875, 0.0292968750000, -0.0517578125000, 0.0891113281250, -0.1665039062500,
            0.4650878906250, 0.7797851562500, -0.2003173828125, 0.1015625000000, -0.0582275390625,
            0.0330810546875, -0.0189208984375]
PHASES = np.array([_PHASE_0, _PHASE_1, _PHASE_1[::-1], _PHASE_0[::-1]])  # phases 2, 3 mirror 1, 0
OVERSAMPLING = 4
TAPS_PER_PHASE = PHASES.shape[1]
# upfirdn's one 48-tap filter interleaves the phases: h[4k + p] = phase p, tap k.
_FILTER_48 = PHASES.T.ravel().astype(np.float32)
# The largest possible ratio of an interpolated value to the largest sample feeding it.
OVERSHOOT_BOUND = float(np.abs(PHASES).sum(axis=1).max())  # ~2.02 (+6.1 dB)
_BLOCK = 2048
_MARGIN = TAPS_PER_PHASE  # samples each side a block needs for its interpolated values


def sample_peak(samples: np.ndarray) -> float:
    return float(np.abs(samples).max()) if samples.size else 0.0


def _frame_abs_max(samples: np.ndarray) -> np.ndarray:
    # channel by channel: numpy's max over axis 0 of a [2, n] array is a slow strided reduction
    result = np.abs(samples[0]).astype(np.float32, copy=False)
    for channel in range(1, samples.shape[0]):
        np.maximum(result, np.abs(samples[channel]), out=result)
    return result


def true_peak_envelope(samples: np.ndarray, sample_rate: int, *, floor: float = 0.0,
                       within: np.ndarray | None = None) -> np.ndarray:
    """Per frame (max over channels) the largest |value| of the 4x-oversampled signal between
    this frame and the next, float32 [frames].

    Blocks that cannot reach `floor` (by the filter's overshoot bound) are not oversampled;
    their frames hold the plain sample magnitude, which is below `floor` there anyway. With
    `within` (bool per frame), only blocks holding a True frame are oversampled.
    """
    from scipy.signal import upfirdn

    frames = samples.shape[1]
    blocks = -(-frames // _BLOCK)
    # the envelope starts as the plain sample magnitude, in a buffer of whole blocks
    full = np.zeros(blocks * _BLOCK, np.float32)
    full[:frames] = _frame_abs_max(samples)
    if frames == 0:
        return full
    view = full.reshape(blocks, _BLOCK)
    # each block's largest sample including the margins its interpolated values read
    core = view.max(axis=1)
    left = np.concatenate([[0.0], view[:-1, -_MARGIN:].max(axis=1)])
    right = np.concatenate([view[1:, :_MARGIN].max(axis=1), [0.0]])
    bound = np.maximum(core, np.maximum(left, right)) * OVERSHOOT_BOUND
    wanted = bound >= floor
    if within is not None:
        marks = np.zeros(blocks * _BLOCK, bool)
        marks[:frames] = within
        wanted &= marks.reshape(blocks, _BLOCK).any(axis=1)
    candidates = np.flatnonzero(wanted)
    if candidates.size == 0:
        return full[:frames]
    width = _BLOCK + 2 * _MARGIN
    index = candidates[:, None] * _BLOCK + (np.arange(width) - _MARGIN)[None, :]
    outside = (index < 0) | (index >= frames)  # only the first and last block reach past the ends
    index = np.clip(index, 0, frames - 1)
    # Output index 4*i + p of upfirdn is the value between local samples i-6 and i-5 (group delay
    # 23.5 taps at the 4x rate); keep i in [MARGIN+6, MARGIN+6+BLOCK) so every block owns the
    # interpolated points that follow each of its own frames.
    start = (_MARGIN + 6) * OVERSAMPLING
    stop = start + _BLOCK * OVERSAMPLING
    block_env = None
    for channel in range(samples.shape[0]):
        windows = np.asarray(samples[channel], dtype=np.float32)[index]  # [candidates, width]
        if outside.any():
            windows[outside] = 0.0
        up = upfirdn(_FILTER_48, windows, up=OVERSAMPLING, axis=1)[:, start:stop]
        phases = up.reshape(candidates.size, _BLOCK, OVERSAMPLING)
        # max |value| of the four phases without an |up| copy or a reduce over a length-4 axis
        # (both several times slower in numpy than these element-wise passes)
        highest = np.maximum(np.maximum(phases[..., 0], phases[..., 1]), np.maximum(phases[..., 2], phases[..., 3]))
        lowest = np.minimum(np.minimum(phases[..., 0], phases[..., 1]), np.minimum(phases[..., 2], phases[..., 3]))
        per_frame = np.maximum(highest, -lowest)
        block_env = per_frame if block_env is None else np.maximum(block_env, per_frame)
    view[candidates] = np.maximum(view[candidates], block_env)
    return full[:frames]


def true_peak(samples: np.ndarray, sample_rate: int) -> float:
    """Largest magnitude of the 4x-oversampled signal (linear)."""
    peak = sample_peak(samples)
    if peak == 0.0:
        return 0.0
    return float(true_peak_envelope(samples, sample_rate, floor=peak).max())


def true_peak_db(samples: np.ndarray, sample_rate: int) -> float:
    """True peak in dBTP (-inf for digital silence)."""
    value = true_peak(samples, sample_rate)
    return gain_to_db(value) if value > 0 else float("-inf")


def clipping_count(samples: np.ndarray, threshold: float = 0.999) -> int:
    """Samples at (or over) full scale: the tell-tale of clipping."""
    return int(np.count_nonzero(np.abs(samples) >= threshold))


def _limit_gain(envelope: np.ndarray, ceiling: float, attack: int, release: int) -> np.ndarray:
    """A smooth gain curve that is never above ceiling/envelope at any frame.

    Min-filter the required gain over [n - attack, n + attack] (the lookahead), then average
    over a window of attack+1: every value averaged is already below the requirement at n, so
    the mean is too. A slower release (hold, then ramp) is a min with a second such curve.
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    with np.errstate(divide="ignore"):
        required = np.minimum(1.0, ceiling / np.maximum(envelope.astype(np.float64), 1e-12))
    fast = uniform_filter1d(minimum_filter1d(required, size=2 * attack + 1, mode="nearest"),
                            size=attack + 1, mode="nearest")
    # hold for `release` frames after each reduction (window [n - release, n]), then ramp out
    release += release % 2  # an odd window, so the origin shift below is exact
    held = minimum_filter1d(fast, size=release + 1, origin=release // 2, mode="nearest")
    smooth_release = uniform_filter1d(held, size=release + 1, mode="nearest")
    return np.minimum(fast, smooth_release)


def _segments(over: np.ndarray, reach: int, frames: int) -> list[tuple[int, int]]:
    """Frame ranges around over-ceiling frames, each padded by `reach` and merged when close."""
    index = np.flatnonzero(over)
    if index.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(index) > 2 * reach)
    firsts = np.concatenate([[index[0]], index[breaks + 1]])
    lasts = np.concatenate([index[breaks], [index[-1]]])
    return [(max(0, int(a) - reach), min(frames, int(b) + reach + 1)) for a, b in zip(firsts, lasts)]


def limit_true_peak(samples: np.ndarray, sample_rate: int, ceiling_dbtp: float = -1.0, *,
                    lookahead_ms: float = 1.5, release_ms: float = 60.0) -> tuple[np.ndarray, dict]:
    """Lookahead brick-wall limiter: the result's true peak is <= `ceiling_dbtp`, guaranteed.

    Returns (limited samples, report). The gain curve is shared by all channels (no image
    shift) and is computed only around the frames that need it; everything else is left
    bit-identical. A final check re-measures the true peak where the gain moved and, if the
    gain's own movement pushed an interpolated value over, tightens the ceiling and runs again.
    """
    ceiling = db_to_gain(ceiling_dbtp)
    frames = samples.shape[1]
    attack = max(1, int(round(lookahead_ms * 1e-3 * sample_rate)))
    release = max(attack, int(round(release_ms * 1e-3 * sample_rate)))
    target = ceiling * db_to_gain(-0.02)  # a hair of margin so one pass nearly always suffices
    # floor <= the sample peak makes the envelope's max the exact true peak as well
    envelope = true_peak_envelope(samples, sample_rate, floor=min(target, sample_peak(samples)))
    before = float(envelope.max()) if envelope.size else 0.0
    report = {"ceiling_dbtp": ceiling_dbtp, "input_true_peak_dbtp": _db(before), "max_reduction_db": 0.0,
              "limited_frames": 0, "passes": 0, "true_peak_dbtp": _db(before)}
    if before <= ceiling:
        return samples, report
    reach = 2 * (attack + release) + 2  # how far a reduction's gain curve can spread
    out = samples
    for attempt in range(6):
        segments = _segments(envelope > target, reach, frames)
        out = samples.copy()
        touched = np.zeros(frames, bool)
        smallest_gain = 1.0
        limited = 0
        for start, stop in segments:
            gain = _limit_gain(envelope[start:stop], target, attack, release)
            out[:, start:stop] *= gain.astype(np.float32)[None, :]
            touched[start:stop] = True
            smallest_gain = min(smallest_gain, float(gain.min()))
            limited += int(np.count_nonzero(gain < 0.9999))
        report["passes"] = attempt + 1
        # untouched frames keep their measured envelope; re-measure only where the gain moved
        checked = true_peak_envelope(out, sample_rate, floor=0.0, within=touched)
        after = max(float(envelope[~touched].max(initial=0.0)), float(checked[touched].max(initial=0.0)))
        if after <= ceiling:
            break
        target *= ceiling / after * db_to_gain(-0.01)
    else:  # pragma: no cover - converges in 1-2 passes; a static trim is the last resort
        out = (out * (ceiling / after) * db_to_gain(-0.01)).astype(np.float32)
        after = true_peak(out, sample_rate)
    report["max_reduction_db"] = round(-gain_to_db(smallest_gain), 3)
    report["limited_frames"] = limited
    report["true_peak_dbtp"] = _db(after)
    return out, report


def _db(value: float) -> float:
    return round(gain_to_db(value), 3) if value > 0 else float("-inf")

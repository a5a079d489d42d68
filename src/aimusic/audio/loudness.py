"""Loudness per ITU-R BS.1770-4 / EBU R128: integrated, short-term series, loudness range.

The K-weighting filters and the block grid are libebur128's (the meter inside ffmpeg's
`ebur128`, r128gain and most tools): 400 ms blocks of four whole "100 ms" slices of
(rate + 5) // 10 frames. The blocks are summed from a cumulative sum of the K-weighted power
per slice, so one filter pass serves integrated loudness, loudness range and the short-term
curve alike. Channel weights follow the file's layout (`channel_weights`). Tests hold the
result to libebur128 (pyebur128) within 0.02 LU at 8-192 kHz, mono to 5.1.
"""

from __future__ import annotations

import math
import os
from functools import lru_cache

import numpy as np

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0          # integrated loudness (BS.1770-4)
LRA_RELATIVE_GATE_LU = -20.0      # loudness range (EBU Tech 3342)
BLOCK_S = 0.4
BLOCK_OVERLAP = 0.75
SHORT_TERM_S = 3.0
_THREADED_FRAMES = 1 << 20  # below ~20 s, thread start-up costs more than it saves


@lru_cache(maxsize=16)
def _k_weighting_sos(sample_rate: int) -> np.ndarray:
    """BS.1770's K-weighting (a high shelf, then the RLB high-pass) for any rate, derived from the
    analogue prototypes exactly as libebur128 does (and so ffmpeg and most meters): pre-warped
    bilinear transforms whose 48 kHz coefficients are the standard's table. The high-pass keeps
    libebur128's unnormalised numerator (1, -2, 1)."""
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / sample_rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh ** 0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
             1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / sample_rate)
    a0 = 1.0 + k / q + k * k
    high_pass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf, high_pass])


def channel_weights(channels: int, layout: list[str] | None = None) -> np.ndarray:
    """BS.1770-4 channel weights: 1.41 for surrounds (azimuth 60-120 degrees), 0 for the LFE,
    1.0 otherwise. `layout`: speaker names per channel (`aimusic.audio.io.channel_layout`, from a
    WAVE_FORMAT_EXTENSIBLE mask); without one, the usual orders: 1-3 channels L R C, 4 quad
    (L R Ls Rs), 5 L R C Ls Rs, 6 5.1 (FL FR FC LFE BL BR), 8 7.1 (FL FR FC LFE BL BR SL SR)."""
    if layout is None or len(layout) != channels:
        layout = DEFAULT_LAYOUTS.get(channels, [f"CH{i}" for i in range(channels)])
    has_sides = any(name in ("SL", "SR") for name in layout)
    weights = []
    for name in layout:
        if name == "LFE":
            weights.append(0.0)
        elif name in ("SL", "SR") or (name in ("BL", "BR") and not has_sides):
            weights.append(1.41)  # side channels; backs of a 5.1 file are its surrounds (110 degrees)
        else:
            weights.append(1.0)   # fronts, centres, backs of 7.1 (150 degrees), heights
    return np.array(weights, dtype=float)


DEFAULT_LAYOUTS: dict[int, list[str]] = {
    1: ["FC"], 2: ["FL", "FR"], 3: ["FL", "FR", "FC"], 4: ["FL", "FR", "BL", "BR"],
    5: ["FL", "FR", "FC", "BL", "BR"], 6: ["FL", "FR", "FC", "LFE", "BL", "BR"],
    8: ["FL", "FR", "FC", "LFE", "BL", "BR", "SL", "SR"],
}


def k_weighted_power(samples: np.ndarray, sample_rate: int, *, weights: np.ndarray | None = None) -> np.ndarray:
    """Channel-weighted sum of K-weighted squared samples, float64 [frames]."""
    from scipy.signal import sosfilt

    filtered = sosfilt(_k_weighting_sos(sample_rate), samples.astype(np.float64, copy=False), axis=1)
    return np.einsum("c,cn->n", _channel_gains(samples.shape[0], weights), filtered * filtered)


def _channel_gains(channels: int, weights: np.ndarray | None = None) -> np.ndarray:
    if weights is not None:
        weights = np.asarray(weights, dtype=float)
        if weights.shape != (channels,):
            raise ValueError(f"{len(weights)} channel weights for {channels} channels")
        return weights
    return channel_weights(channels)


def _sosfilt():
    """scipy's second-order-sections kernel, `kernel(sos, x, zi)` filtering float rows of `x` in
    place: the compiled module alone, loaded without `scipy.signal`'s package import (0.5 s of
    scipy.stats and array-API set-up that a one-file `aimusic analyze` would pay at every start).
    Falls back to the public `scipy.signal.sosfilt` path when the layout is not the expected one."""
    import sys

    module = sys.modules.get("scipy.signal._sosfilt")
    if module is None:
        try:
            import importlib.machinery
            import importlib.util
            from pathlib import Path

            import scipy

            folder = Path(scipy.__file__).parent / "signal"
            found = [p for p in folder.glob("_sosfilt.*") if p.suffix in (".so", ".pyd")]
            loader = importlib.machinery.ExtensionFileLoader("scipy.signal._sosfilt", str(found[0]))
            spec = importlib.util.spec_from_file_location("scipy.signal._sosfilt", str(found[0]), loader=loader)
            module = importlib.util.module_from_spec(spec)
            loader.exec_module(module)
            sys.modules["scipy.signal._sosfilt"] = module  # a later `import scipy.signal` reuses it
        except Exception:  # pragma: no cover - another scipy layout: take the public route
            module = None
    kernel = getattr(module, "_sosfilt", None)
    if kernel is None:  # pragma: no cover
        from scipy.signal import sosfilt

        def kernel(sos, x, zi):
            x[...] = sosfilt(sos, x, axis=-1)
    return kernel


def _filter_k(sos: np.ndarray, channel: np.ndarray) -> np.ndarray:
    """One channel through the K-weighting sections (float32, zero initial state): exactly what
    `scipy.signal.sosfilt(sos, channel)` returns."""
    x = np.array(channel, dtype=np.float32, order="C").reshape(1, -1)
    _sosfilt()(sos, x, np.zeros((1, sos.shape[0], 2), np.float32))
    return x[0]


def _hop_power(samples: np.ndarray, sample_rate: int, hop: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Summed K-weighted power of consecutive `hop`-frame slices (the last, partial one dropped).

    Every gating window of BS.1770 (400 ms every 100 ms) and EBU Tech 3342 (3 s every 100 ms)
    is a run of whole 100 ms slices, so one filter pass and one reshape-sum serve them all.
    The filter runs in float32 (twice as fast); a test holds it to pyloudnorm's float64 within
    0.01 LU.
    """
    sos = np.ascontiguousarray(_k_weighting_sos(sample_rate), dtype=np.float32)
    gains = _channel_gains(samples.shape[0], weights)
    count = samples.shape[1] // hop

    def channel_power(channel: int) -> np.ndarray:
        filtered = _filter_k(sos, samples[channel])[: count * hop]
        shaped = filtered.reshape(count, hop)
        return gains[channel] * np.einsum("ij,ij->i", shaped, shaped, dtype=np.float64)

    channels = range(samples.shape[0])
    if samples.shape[0] > 1 and samples.shape[1] >= _THREADED_FRAMES and (os.cpu_count() or 1) > 1:
        # scipy's sosfilt releases the GIL: filter the channels side by side
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(samples.shape[0], os.cpu_count() or 1)) as pool:
            return np.sum(list(pool.map(channel_power, channels)), axis=0)
    return np.sum([channel_power(c) for c in channels], axis=0)


def _windowed_means(power: np.ndarray, sample_rate: int, window_s: float, step_s: float) -> np.ndarray:
    """Mean power of windows of `window_s` every `step_s` (pyloudnorm's block arithmetic)."""
    total_s = power.shape[0] / sample_rate
    if total_s < window_s:
        return np.array([power.mean()]) if power.size else np.zeros(0)
    count = int(np.round((total_s - window_s) / step_s)) + 1
    j = np.arange(count)
    lower = (window_s * (j * step_s / window_s) * sample_rate).astype(np.int64)
    upper = np.minimum((window_s * (j * step_s / window_s + 1) * sample_rate).astype(np.int64), power.shape[0])
    cumulative = np.concatenate([[0.0], np.cumsum(power)])
    return (cumulative[upper] - cumulative[lower]) / (window_s * sample_rate)


def _window_means(samples: np.ndarray, sample_rate: int, window_s: float, step_s: float,
                  power: np.ndarray | None, weights: np.ndarray | None = None,
                  hop_power: np.ndarray | None = None) -> np.ndarray:
    """Mean K-weighted power of `window_s` windows every `step_s`, on libebur128's grid: a
    "100 ms" slice is (rate + 5) // 10 frames, and a window is a run of whole slices.
    `hop_power`: `_hop_power` of these samples at that slice, when already computed."""
    frames = samples.shape[1]
    hop = (sample_rate + 5) // 10 if abs(step_s - 0.1) < 1e-9 else int(round(step_s * sample_rate))
    slices = int(round(window_s / step_s))
    if power is None and abs(window_s / step_s - slices) < 1e-6 and frames >= slices * hop:
        if hop_power is None or abs(step_s - 0.1) > 1e-9:
            hop_power = _hop_power(samples, sample_rate, hop, weights)
        count = hop_power.shape[0] - slices + 1
        cumulative = np.concatenate([[0.0], np.cumsum(hop_power)])
        return (cumulative[slices:slices + count] - cumulative[:count]) / (slices * hop)
    if power is None:
        power = k_weighted_power(samples, sample_rate, weights=weights)
    return _windowed_means(power, sample_rate, window_s, step_s)


def _lufs(mean_power: np.ndarray | float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(mean_power)


def integrated_loudness(samples: np.ndarray, sample_rate: int, *, power: np.ndarray | None = None,
                        weights: np.ndarray | None = None, hop_power: np.ndarray | None = None) -> float:
    """Gated integrated loudness in LUFS (-inf for silence). Audio shorter than one 400 ms
    block is measured as a single block."""
    blocks = _window_means(samples, sample_rate, BLOCK_S, round(BLOCK_S * (1 - BLOCK_OVERLAP), 6), power, weights,
                           hop_power)
    levels = _lufs(blocks)
    above_absolute = levels >= ABSOLUTE_GATE_LUFS
    if not above_absolute.any():
        return float("-inf")
    relative_gate = float(_lufs(blocks[above_absolute].mean())) + RELATIVE_GATE_LU
    gated = (levels > relative_gate) & above_absolute
    if not gated.any():
        return float("-inf")
    return float(_lufs(blocks[gated].mean()))


def short_term_loudness(samples: np.ndarray, sample_rate: int, *, step_s: float = 0.1,
                        window_s: float = SHORT_TERM_S, power: np.ndarray | None = None,
                        weights: np.ndarray | None = None, hop_power: np.ndarray | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(window centre times in s, loudness in LUFS) of sliding `window_s` windows."""
    window_s = min(window_s, samples.shape[1] / sample_rate)
    means = _window_means(samples, sample_rate, window_s, step_s, power, weights, hop_power)
    times = np.arange(means.shape[0]) * step_s + window_s / 2
    return times, _lufs(means)


def loudness_range(samples: np.ndarray, sample_rate: int, *, power: np.ndarray | None = None,
                   weights: np.ndarray | None = None, hop_power: np.ndarray | None = None) -> float | None:
    """EBU Tech 3342 loudness range (LU) from 3 s short-term loudness; None under 3 s or for silence."""
    if samples.shape[1] < SHORT_TERM_S * sample_rate:
        return None
    _, levels = short_term_loudness(samples, sample_rate, power=power, weights=weights, hop_power=hop_power)
    levels = levels[levels >= ABSOLUTE_GATE_LUFS]
    if levels.size == 0:
        return None
    mean_power = np.mean(10 ** ((levels + 0.691) / 10))
    gate = float(_lufs(mean_power)) + LRA_RELATIVE_GATE_LU
    levels = levels[levels >= gate]
    if levels.size == 0:
        return None
    low, high = np.percentile(levels, [10, 95])
    return float(high - low)


def slice_power(samples: np.ndarray, sample_rate: int, *, weights: np.ndarray | None = None) -> np.ndarray | None:
    """K-weighted power of libebur128's 100 ms slices (`_hop_power`), for `integrated_loudness`'s
    `hop_power` and `edited_integrated_loudness`; None when the audio is shorter than one block."""
    hop = (sample_rate + 5) // 10
    return _hop_power(samples, sample_rate, hop, weights) if samples.shape[1] >= 4 * hop else None


def _settle_frames(sample_rate: int) -> int:
    """Frames after which the K-weighting filter has forgotten what came before to well under
    float32 precision: its slowest poles (the 38 Hz high-pass, a double pole at -240 rad/s)
    leave (1 + 24) e^-24, about 1e-9, after 100 ms."""
    return sample_rate // 10 + 64


def edited_integrated_loudness(samples: np.ndarray, sample_rate: int, base_power: np.ndarray, scale: float,
                               edits: list[tuple[int, int]], *, weights: np.ndarray | None = None
                               ) -> float | None:
    """Integrated loudness of `samples` when they are `scale` x the audio whose `slice_power` is
    `base_power`, except inside the frame ranges `edits` (a limiter's segments).

    Outside the edits (and once the filter has settled after one) each slice's power is exactly
    scale^2 x its old power; slices near the edits are filtered again from `_settle_frames`
    before them, where the filter's zero start has died away. The result equals
    `integrated_loudness(samples)` to float rounding. None when the edits cover most of the file
    (measuring it whole is then as cheap)."""
    hop = (sample_rate + 5) // 10
    frames = samples.shape[1]
    count = frames // hop
    if base_power is None or base_power.shape[0] != count:
        return None
    settle = _settle_frames(sample_rate)
    spans: list[list[int]] = []
    for start, stop in sorted(edits):
        first, last = start // hop, min(count, -(-(stop + settle) // hop))
        if spans and first <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], last)
        else:
            spans.append([first, last])
    if sum(b - a for a, b in spans) * hop + len(spans) * settle > 0.6 * frames:
        return None
    power = base_power * (scale * scale)
    sos = np.ascontiguousarray(_k_weighting_sos(sample_rate), dtype=np.float32)
    gains = _channel_gains(samples.shape[0], weights)
    for first, last in spans:
        if last <= first:
            continue
        lo, hi = first * hop, last * hop
        warm = max(0, lo - settle)
        fresh = np.zeros(last - first)
        for channel in range(samples.shape[0]):
            if gains[channel] == 0:
                continue
            filtered = _filter_k(sos, samples[channel, warm:hi])[lo - warm:].reshape(last - first, hop)
            fresh += gains[channel] * np.einsum("ij,ij->i", filtered, filtered, dtype=np.float64)
        power[first:last] = fresh
    return integrated_loudness(samples, sample_rate, weights=weights, hop_power=power)


def integrated_and_range(samples: np.ndarray, sample_rate: int, *, weights: np.ndarray | None = None
                         ) -> tuple[float, float | None]:
    """(integrated loudness, loudness range) from one K-weighting pass: both gate runs of the
    same 100 ms slices. Equal to `integrated_loudness` and `loudness_range` called apart."""
    hop = (sample_rate + 5) // 10
    hop_power = _hop_power(samples, sample_rate, hop, weights) if samples.shape[1] >= 4 * hop else None
    return (integrated_loudness(samples, sample_rate, weights=weights, hop_power=hop_power),
            loudness_range(samples, sample_rate, weights=weights, hop_power=hop_power))


def gain_to_target_db(measured_lufs: float, target_lufs: float) -> float | None:
    """Gain that brings `measured_lufs` to `target_lufs`; None for silence (nothing to scale)."""
    if not math.isfinite(measured_lufs):
        return None
    return float(target_lufs - measured_lufs)

"""Adding a part to a track: the part set against the source's level, mixed so that the mix is
exactly source + part (both scaled together only where the sum would clip)."""

from __future__ import annotations

import numpy as np

LAYER_BELOW_SOURCE_DB = 4.0     # a new part sits this much under the source's RMS (before gain_db)
CLIP_CEILING = 0.999


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0


def add_part(source: np.ndarray, part: np.ndarray, gain_db: float = 0.0
             ) -> tuple[np.ndarray, np.ndarray, float]:
    """(mix, part as mixed, source gain): the part (same shape as the source) brought to
    LAYER_BELOW_SOURCE_DB under the source's RMS plus `gain_db`, and mix = source_gain * source + part
    with source_gain 1.0 unless the sum would pass CLIP_CEILING (then both are scaled)."""
    mine, theirs = rms(part), rms(source)
    if mine > 0:
        target = (theirs if theirs > 1e-4 else 0.1) * 10 ** ((gain_db - LAYER_BELOW_SOURCE_DB) / 20)
        part = part * np.float32(target / mine)
    part = part.astype(np.float32)
    mix = source + part
    peak = float(np.abs(mix).max(initial=0.0))
    if peak <= CLIP_CEILING:
        return mix.astype(np.float32), part, 1.0
    gain = CLIP_CEILING / peak
    part = (part * np.float32(gain)).astype(np.float32)
    return (source * np.float32(gain) + part).astype(np.float32), part, gain

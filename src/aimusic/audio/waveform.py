"""Waveform peaks for drawing: the lowest and highest sample of each of `points` equal slices."""

from __future__ import annotations

import numpy as np

MIN_POINTS, MAX_POINTS = 16, 8192


def peaks(samples: np.ndarray, sample_rate: int, points: int = 1000) -> dict:
    """Min/max of the channels' mean per slice (what a DAW overview draws), rounded for JSON."""
    points = int(min(MAX_POINTS, max(MIN_POINTS, points)))
    mono = samples.mean(axis=0) if samples.ndim == 2 else samples
    frames = int(mono.shape[0])
    count = max(1, min(points, frames))
    # slice edges by integer division so every frame lands in exactly one slice
    edges = (np.arange(count + 1, dtype=np.int64) * frames) // count
    starts = edges[:-1]
    lows = np.minimum.reduceat(mono, starts) if frames else np.zeros(1, dtype=np.float32)
    highs = np.maximum.reduceat(mono, starts) if frames else np.zeros(1, dtype=np.float32)
    return {"duration_s": round(frames / sample_rate, 4), "sample_rate": int(sample_rate),
            "points": int(count), "min": np.round(lows.astype(np.float64), 4).tolist(),
            "max": np.round(highs.astype(np.float64), 4).tolist()}

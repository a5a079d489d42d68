"""The vocal bus: EQ, compression and reverb (pedalboard), so the guide vocal sits in a mix."""

from __future__ import annotations

import numpy as np


def vocal_bus(samples: np.ndarray, sample_rate: int, *, reverb: float = 0.18) -> np.ndarray:
    """Process a dry vocal float32 [channels, frames] -> float32 [2, frames] (same length).

    Low cut below 110 Hz (rumble), a little presence at 3 kHz, a gentle cut of eSpeak's boxy
    400 Hz, 3:1 compression, then a short stereo room. Deterministic: pedalboard's processors
    have no random state.
    """
    from pedalboard import Compressor, HighpassFilter, Pedalboard, PeakFilter, Reverb

    dry = np.asarray(samples, dtype=np.float32)
    if dry.ndim == 1:
        dry = dry[np.newaxis, :]
    if dry.shape[0] == 1:
        dry = np.repeat(dry, 2, axis=0)
    if dry.shape[1] == 0:
        return np.zeros((2, 0), np.float32)
    board = Pedalboard([
        # pedalboard's high-pass is first order (6 dB/octave): two make a 12 dB/octave low cut
        HighpassFilter(cutoff_frequency_hz=110.0),
        HighpassFilter(cutoff_frequency_hz=110.0),
        PeakFilter(cutoff_frequency_hz=400.0, gain_db=-2.5, q=1.0),
        PeakFilter(cutoff_frequency_hz=3000.0, gain_db=2.5, q=0.8),
        Compressor(threshold_db=-18.0, ratio=3.0, attack_ms=8.0, release_ms=120.0),
        Reverb(room_size=0.45, damping=0.5, wet_level=reverb, dry_level=1.0 - reverb, width=0.9),
    ])
    wet = board(np.ascontiguousarray(dry), float(sample_rate), reset=True)
    return np.ascontiguousarray(wet[:, : dry.shape[1]], dtype=np.float32)

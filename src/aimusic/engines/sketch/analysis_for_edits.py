"""Tempo, beat/bar grid and key of a source, for composing edits that fit it.

Uses the shared analysers (aimusic.audio.loop.beat_grid, aimusic.audio.analysis.estimate_key):
numpy only, nothing compiled per process. The tempo is the fitted beat grid's (60 / period),
so an edit composes at the tempo the source's own beats keep.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

DEFAULT_BPM = 120.0


def _extend(points: np.ndarray, period: float, total: int) -> np.ndarray:
    """Detected grid points, extrapolated at `period` to cover 0..total."""
    if points.size == 0:
        return np.round(np.arange(0, total + 1, period)).astype(int)
    before = np.arange(points[0] - period, -1, -period)[::-1]
    after = np.arange(points[-1] + period, total + 1, period)
    merged = np.concatenate([before, points.astype(float), after])
    return np.unique(np.round(merged).astype(int))


@dataclass
class SourceGrid:
    bpm: float
    key: str
    bar_frames: int            # one bar (4 beats) in frames at the source rate
    bars: np.ndarray           # bar-line frames covering the whole source
    beats: np.ndarray          # beat frames covering the whole source
    rate: int
    tempo_from: str
    key_from: str
    key_confidence: float | None = None

    def bar_at_or_before(self, frame: int) -> int:
        candidates = self.bars[self.bars <= frame]
        return int(candidates[-1]) if candidates.size else 0

    def bar_at_or_after(self, frame: int) -> int:
        candidates = self.bars[self.bars >= frame]
        return int(candidates[0]) if candidates.size else frame

    def snap_inside(self, start: int, end: int) -> tuple[int, int, str]:
        """Splice points inside [start, end] on the grid: each edge moves inward to the nearest
        bar line when one is within a beat, else to the nearest beat line; the exact window
        when less than two beats would remain. Snapping inward keeps everything outside the
        requested window untouched."""
        beat = self.bar_frames / 4

        def first_at_or_after(lines: np.ndarray, frame: int) -> int | None:
            found = lines[lines >= frame]
            return int(found[0]) if found.size else None

        def last_at_or_before(lines: np.ndarray, frame: int) -> int | None:
            found = lines[lines <= frame]
            return int(found[-1]) if found.size else None

        kinds = []
        snapped_start = first_at_or_after(self.bars, start)
        if snapped_start is None or snapped_start - start > beat:
            snapped_start, kind = first_at_or_after(self.beats, start), "beat"
        else:
            kind = "bar"
        kinds.append(kind)
        snapped_end = last_at_or_before(self.bars, end)
        if snapped_end is None or end - snapped_end > beat:
            snapped_end, kind = last_at_or_before(self.beats, end), "beat"
        else:
            kind = "bar"
        kinds.append(kind)
        if snapped_start is None or snapped_end is None or snapped_end - snapped_start < 2 * beat:
            return start, end, "exact"
        return snapped_start, snapped_end, "/".join(kinds)

    def to_dict(self) -> dict:
        return {"tempo_bpm": round(self.bpm, 3), "tempo_from": self.tempo_from, "key": self.key,
                "key_from": self.key_from, "key_confidence": self.key_confidence,
                "bar_seconds": round(self.bar_frames / self.rate, 4),
                "first_bar_s": round(float(self.bars[0]) / self.rate, 4) if self.bars.size else None}


def analyse_source(samples: np.ndarray, rate: int, *, bpm_hint: float | None = None,
                   key_hint: str | None = None) -> SourceGrid:
    """Estimate tempo, bar grid and key of float32 [channels, frames] audio."""
    from aimusic.audio.analysis import _mono_for_analysis, estimate_key
    from aimusic.audio.loop import beat_grid

    total = samples.shape[1]
    with warnings.catch_warnings():
        # very short sources give no estimates; the defaults used there are in the sidecar
        warnings.simplefilter("ignore", RuntimeWarning)
        return _analyse(samples, rate, total, bpm_hint, key_hint, beat_grid, _mono_for_analysis, estimate_key)


def _analyse(samples: np.ndarray, rate: int, total: int, bpm_hint: float | None, key_hint: str | None,
             beat_grid, mono_for_analysis, estimate_key) -> SourceGrid:
    mono, mono_rate = mono_for_analysis(samples, rate)
    found = beat_grid(samples, rate, mono=mono)
    tempo = found.get("tempo")
    tempo_from = "estimated (fitted beat grid)"
    if bpm_hint:
        tempo, tempo_from = float(bpm_hint), "given"
    elif not tempo or not np.isfinite(tempo) or tempo <= 0:
        tempo, tempo_from = DEFAULT_BPM, "default (no beat found)"
    # Keep the tempo in a range the composer's patterns suit (a tracker may double or halve).
    while tempo > 190:
        tempo /= 2
    while tempo < 60:
        tempo *= 2
    beat_period = 60.0 / tempo * rate
    beats = np.asarray(found.get("beats", np.zeros(0, int)))
    bars = np.asarray(found.get("bars", np.zeros(0, int)))
    if (bpm_hint or tempo != found.get("tempo")) and beats.size:
        # The grid no longer follows the tracker's beats: keep its first downbeat only.
        bars = bars[:1]
        beats = beats[:1]
    beats_all = _extend(beats, beat_period, total)
    bars_all = _extend(bars if bars.size else beats[:1], 4 * beat_period, total)
    key_confidence = None
    if key_hint:
        key, key_from = key_hint, "given"
    else:
        estimate = estimate_key(mono, mono_rate)
        if estimate is None:
            key, key_from = "C major", "default (no pitch content)"
        else:
            key, key_from, key_confidence = estimate["name"], "estimated (chroma templates)", estimate["confidence"]
    return SourceGrid(bpm=float(tempo), key=key, bar_frames=int(round(4 * beat_period)), bars=bars_all,
                      beats=beats_all, rate=rate, tempo_from=tempo_from, key_from=key_from,
                      key_confidence=key_confidence)

"""Seamless loops: bar-aligned loop points, a crossfaded wrap, and a seam measure.

`seam_score` judges a join by the same two measures at the wrap (end -> start) and at points
inside the track: the sample discontinuity (second difference across the join) and the
spectral jump (log-spectrum distance between the windows either side). Each is divided by
what the track itself does often (its 99th-percentile steps and 98th-percentile spectral
changes, i.e. its own onsets), so 1.0 means "no worse than the track's own beats" and a click
in sustained sound scores tens to hundreds. `SEAM_THRESHOLD` (1.5) is the pass mark.
"""

from __future__ import annotations

import numpy as np

from aimusic.audio.splice import equal_power_fades
from aimusic.errors import InputError

SEAM_THRESHOLD = 1.5
LOOP_CROSSFADE_S = 0.05
BEATS_PER_BAR = 4
_SPECTRUM_N = 2048
_MAX_INTERNAL_JOINS = 2000


# -- the seam measure ----------------------------------------------------------------------------
def _second_difference(mono: np.ndarray) -> np.ndarray:
    """|x[n] - 2x[n-1] + x[n-2]|, the size of a step against the local slope."""
    steps = mono[2:] - mono[1:-1]  # one array, worked in place
    steps -= mono[1:-1]
    steps += mono[:-2]
    return np.abs(steps, out=steps)


def _log_spectra(mono: np.ndarray, starts: np.ndarray, n: int) -> np.ndarray:
    """dB magnitude spectra of the Hann-windowed `n`-sample windows starting at `starts`."""
    # float64 windows: numpy's float64 FFT is about 3x faster than its float32 one
    windows = mono[starts[:, None] + np.arange(n)[None, :]] * np.hanning(n)
    return 20 * np.log10(np.abs(np.fft.rfft(windows, axis=1)) + 1e-6)


def _spectral_jumps(mono: np.ndarray, joins: np.ndarray, n: int, top: float) -> np.ndarray:
    """RMS dB difference between the spectra of the `n` samples before and after each join,
    with every bin floored 80 dB under `top` so the noise floor does not dominate."""
    before = np.maximum(_log_spectra(mono, joins - n, n), top - 80)
    after = np.maximum(_log_spectra(mono, joins, n), top - 80)
    return np.sqrt(np.mean((before - after) ** 2, axis=1))


def _join_discontinuity(mono: np.ndarray, position: int) -> float:
    """Largest second difference among those that straddle the join before `position`."""
    return float(_second_difference(mono[position - 2:position + 2]).max())


def seam_score(samples: np.ndarray, sample_rate: int) -> dict:
    """How audible the wrap from the last frame to the first is, relative to the track's own
    inside points. Returns {"score", "discontinuity_ratio", "spectral_ratio", "seamless"}."""
    # float32 throughout: the ratios below compare the track with itself, and float32 halves
    # the memory traffic of this pass over every sample (it is a third of `analyze`'s time)
    mono = samples[0].astype(np.float32, copy=True)
    for channel in range(1, samples.shape[0]):
        mono += samples[channel]
    mono *= np.float32(1.0 / samples.shape[0])
    frames = mono.shape[0]
    n = _SPECTRUM_N
    while n > 64 and frames < 4 * n:
        n //= 2
    if frames < 4 * n:
        raise InputError("audio is too short to judge a loop seam", field="audio")
    wrapped = np.concatenate([mono[-n:], mono[:n]])
    wrap_disc = _join_discontinuity(wrapped, n)
    steps = _second_difference(mono)
    pairs = np.maximum(steps[1:], steps[:-1])
    del steps
    # Reference: what the track itself does often. Sharp onsets (a click track, drum hits) are
    # rare as samples but common as 10 ms blocks, so the blocks' maxima count too: a wrap that
    # lands on an onset like every other beat is not a click.
    block = max(1, int(0.01 * sample_rate))
    usable = (pairs.shape[0] // block) * block
    block_max = pairs[:usable].reshape(-1, block).max(axis=1) if usable else pairs
    disc_reference = max(float(np.percentile(pairs, 99.5, overwrite_input=True)),  # pairs not used after
                         float(np.percentile(block_max, 99))) + 1e-9
    # Spectral jump at inside joins every n/4 samples (at most 2000 of them): the 98th percentile
    # is what the track's own onsets do, so only a jump beyond its own beats counts against a wrap.
    count = int(min(_MAX_INTERNAL_JOINS, max(16, (frames - 2 * n) // (n // 4))))
    joins = np.linspace(n, frames - n, count).astype(int)
    top = float(_log_spectra(mono, joins[:: max(1, count // 64)] - n // 2, n).max())
    wrap_jump = float(_spectral_jumps(wrapped, np.array([n]), n, top)[0])
    jump_reference = float(np.percentile(_spectral_jumps(mono, joins, n, top), 98)) + 1e-9
    disc_ratio = wrap_disc / disc_reference
    spectral_ratio = wrap_jump / jump_reference
    score = max(disc_ratio, spectral_ratio)
    return {"score": round(float(score), 3), "discontinuity_ratio": round(float(disc_ratio), 3),
            "spectral_ratio": round(float(spectral_ratio), 3), "seamless": bool(score <= SEAM_THRESHOLD),
            "threshold": SEAM_THRESHOLD}


# -- beats and bars ------------------------------------------------------------------------------
def beat_grid(samples: np.ndarray, sample_rate: int, *, mono: np.ndarray | None = None,
              spectra=None) -> dict:
    """Tempo (BPM), beat and bar-start frames (at `sample_rate`) from the fitted beat grid
    (`aimusic.audio.rhythm.beat_grid`): the tempo is the grid's, 60 / period, and on a steady
    tempo the beats lie on that grid. `mono`/`spectra`: the analysis signal, when already made.

    The downbeat is taken as the beat phase (of four) with the strongest mean onset, a simple
    rule that is right for most 4/4 material.
    """
    from aimusic.audio import rhythm

    if spectra is None:
        if mono is None:
            mono, _ = rhythm.mono_for_analysis(samples, sample_rate)
        spectra = rhythm.Spectra(mono, min(sample_rate, rhythm.ANALYSIS_RATE))
    found = rhythm.beat_grid(spectra.mono, spectra.rate, spectra)
    times = found["beat_times"]
    if found["tempo"] is None or times.size == 0:
        return {"tempo": None, "beats": np.zeros(0, int), "bars": np.zeros(0, int), "downbeat_phase": 0,
                "steady": False}
    onset = found["onset"]
    at = np.clip(np.round(times * found["frame_rate"]).astype(int), 0, onset.shape[0] - 1)
    strengths = [onset[at[k::BEATS_PER_BAR]].mean() if at[k::BEATS_PER_BAR].size else -1.0
                 for k in range(min(BEATS_PER_BAR, at.size))]
    phase = int(np.argmax(strengths))
    beat_frames = np.round(times * sample_rate).astype(int)
    return {"tempo": found["tempo"], "beats": beat_frames, "bars": beat_frames[phase::BEATS_PER_BAR],
            "downbeat_phase": phase, "steady": found["steady"]}


# -- building loops ------------------------------------------------------------------------------
def _crossfade_curves(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equal-power fades for unlike material; equal-gain (sin^2/cos^2, summing to 1) when the two
    sides are strongly alike, where equal power would bulge by up to 3 dB."""
    fade_out, fade_in = equal_power_fades(a.shape[1])
    flat_a, flat_b = a.mean(axis=0), b.mean(axis=0)
    denom = float(np.linalg.norm(flat_a) * np.linalg.norm(flat_b))
    correlation = float(np.dot(flat_a, flat_b) / denom) if denom > 0 else 0.0
    if correlation > 0.5:
        return fade_out ** 2, fade_in ** 2
    return fade_out, fade_in


def crossfaded_loop(samples: np.ndarray, sample_rate: int, start: int, end: int,
                    crossfade_frames: int | None = None) -> np.ndarray:
    """The region [start, end) made to wrap seamlessly.

    Its last `crossfade_frames` are crossfaded into the material just before `start`, so the
    final frame leads into the first exactly as the source did at `start`. Without that
    pre-roll, the material just after `end` is faded into the head instead; with neither, the
    head and tail themselves are overlapped (the loop comes out a crossfade shorter).
    """
    frames = samples.shape[1]
    if not (0 <= start < end <= frames):
        raise InputError(f"loop region {start}-{end} is outside the audio", field="loop")
    if crossfade_frames is None:
        crossfade_frames = int(round(LOOP_CROSSFADE_S * sample_rate))
    fade = max(1, min(int(crossfade_frames), (end - start) // 4))
    loop = samples[:, start:end].copy()
    if start >= fade:
        tail, pre_roll = samples[:, end - fade:end], samples[:, start - fade:start]
        fade_out, fade_in = _crossfade_curves(tail, pre_roll)
        loop[:, -fade:] = tail * fade_out + pre_roll * fade_in
    elif end + fade <= frames:
        post_roll, head = samples[:, end:end + fade], samples[:, start:start + fade]
        fade_out, fade_in = _crossfade_curves(post_roll, head)
        loop[:, :fade] = post_roll * fade_out + head * fade_in
    else:
        head, tail = samples[:, start:start + fade], samples[:, end - fade:end]
        fade_out, fade_in = _crossfade_curves(tail, head)
        loop = samples[:, start:end - fade].copy()
        loop[:, :fade] = tail * fade_out + head * fade_in
    return loop.astype(np.float32)


def find_loop(samples: np.ndarray, sample_rate: int, target_seconds: float | None = None,
              grid: dict | None = None) -> dict:
    """Loop points on bar starts whose span is nearest `target_seconds` (default: the most whole
    bars the audio holds). Among equally long spans it picks the one whose end best resembles the
    material before its start, which is what the wrap crossfade blends."""
    frames = samples.shape[1]
    grid = grid if grid is not None else beat_grid(samples, sample_rate)
    bars = [int(b) for b in grid["bars"] if b < frames]
    fade = int(round(LOOP_CROSSFADE_S * sample_rate))
    # the end of the audio counts as a bar line when it falls one bar after the last bar start
    if len(bars) >= 2:
        bar_length = int(np.median(np.diff(bars)))
        if abs(frames - (bars[-1] + bar_length)) <= max(1, bar_length // 16):
            bars.append(frames)
    if len(bars) < 2:
        target = frames if target_seconds is None else min(frames, int(round(target_seconds * sample_rate)))
        return {"start": 0, "end": target, "on_bars": False, "bars": 0, "tempo": grid.get("tempo")}
    bars_arr = np.array(bars)
    spans = bars_arr[None, :] - bars_arr[:, None]
    valid = spans > 0
    target_frames = spans[valid].max() if target_seconds is None else int(round(target_seconds * sample_rate))
    distance = np.where(valid, np.abs(spans - target_frames), np.iinfo(np.int64).max)
    best_distance = distance.min()
    choices = np.argwhere(distance <= best_distance + max(1, int(0.01 * sample_rate)))
    mono = samples.mean(axis=0)

    def resemblance(i: int, j: int) -> float:
        s, e = bars[i], bars[j]
        if s < fade:
            return -2.0  # no pre-roll: usable, but a worse wrap
        a, b = mono[e - fade:e], mono[s - fade:s]
        denom = float(np.linalg.norm(a) * np.linalg.norm(b))
        return float(np.dot(a, b) / denom) if denom > 0 else 0.0

    i, j = max(((int(i), int(j)) for i, j in choices), key=lambda ij: resemblance(*ij))
    return {"start": bars[i], "end": bars[j], "on_bars": True, "bars": j - i, "tempo": grid.get("tempo")}


def make_loop(samples: np.ndarray, sample_rate: int, target_seconds: float | None = None,
              grid: dict | None = None) -> tuple[np.ndarray, dict]:
    """A seamless loop of whole bars near `target_seconds`, and a report with its seam score.

    When `target_seconds` is longer than any loop the audio holds, the best loop is repeated
    (whole repeats, so it still wraps seamlessly) to the nearest length.
    """
    points = find_loop(samples, sample_rate, target_seconds, grid)
    loop = crossfaded_loop(samples, sample_rate, points["start"], points["end"])
    repeats = 1
    if target_seconds is not None and loop.shape[1] > 0:
        repeats = max(1, int(round(target_seconds * sample_rate / loop.shape[1])))
        loop = np.tile(loop, (1, repeats))
    seam = seam_score(loop, sample_rate)
    report = {"start_s": round(points["start"] / sample_rate, 4), "end_s": round(points["end"] / sample_rate, 4),
              "on_bars": points["on_bars"], "bars": points["bars"] * repeats, "repeats": repeats,
              "tempo": None if points["tempo"] is None else round(points["tempo"], 2),
              "length_s": round(loop.shape[1] / sample_rate, 4), "seam": seam}
    return loop, report


def loop_extend(samples: np.ndarray, sample_rate: int, frames: int, grid: dict | None = None) -> np.ndarray:
    """At least `frames` frames: the audio up to its longest bar-aligned loop, then that loop
    repeated (each wrap crossfaded). The caller trims and fades the end."""
    if samples.shape[1] >= frames:
        return samples
    points = find_loop(samples, sample_rate, None, grid)
    loop = crossfaded_loop(samples, sample_rate, points["start"], points["end"])
    intro = samples[:, :points["start"]]
    repeats = -(-(frames - intro.shape[1]) // loop.shape[1])
    return np.concatenate([intro, np.tile(loop, (1, repeats))], axis=1)

"""Tempo, beat grid, key and frame features in plain numpy: nothing to compile, nothing slow to import.

Everything starts from the mono signal at 22.05 kHz (`ANALYSIS_RATE`):

- `Spectra`: one STFT for onsets and timbre (1024-point Hann, hop 256: 11.6 ms frames) and one
  long one for pitch (8192 points, 2.7 Hz bins, hop 2048), each computed once and shared.
- Onset strength: spectral flux of a 40-band log-mel spectrum (the mean positive rise per band).
- Tempo: the onset autocorrelation weighted by a log-normal prior around 120 BPM (the choice a
  listener tends to tap), refined between lags.
- Beats: dynamic-programming beat tracking (Ellis 2007) at that period, each beat moved to its
  onset peak (sub-frame), then a straight grid (offset + period x index) fitted by least squares.
  The tempo reported is that grid's, 60 / period; when the beats fit it (a steady tempo) they
  are reported on the grid itself, so tempo and beats always agree.
- Key: per-frame chroma of the long STFT (at 11.025 kHz; 52 Hz - 2.1 kHz, each frame normalised), averaged, and
  correlated with the 24 rotated Krumhansl-Kessler profiles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

ANALYSIS_RATE = 22050
ONSET_N, ONSET_HOP = 1024, 256
PITCH_RATE, PITCH_N = 11025, 4096   # hop a quarter window; 2.7 Hz bins up to 5.5 kHz (past the piano's top C)
MEL_BANDS = 40
# the flux peaks as a hit enters the leading half of the centred window, ~11 ms before the hit
# itself (measured on clicks and drum hits at 22.05 kHz): beats are reported at the hit
ONSET_LAG_S = 0.011
HARMONICS = 4
SUBDIVISION_WEIGHT = 0.5
MIN_PULSE_CLARITY = 0.15      # onset autocorrelation at the beat over that at lag 0 (tones ~0.01, music 0.5-1)
OFFBEAT_RATIO = 1.5           # move the grid half a beat when the off-beats hit this much harder
TEMPO_PRIOR_BPM, TEMPO_PRIOR_OCTAVES = 120.0, 1.0
MIN_BPM, MAX_BPM = 40.0, 240.0
DP_TIGHTNESS = 100.0          # how strongly the tracker holds consecutive beats to the period
STEADY_MEDIAN_S, STEADY_MAX_S = 0.02, 0.06   # beats within these of the fitted line: a steady grid
STEADY_STRAYS = 0.03                          # ... all but this fraction of them
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# Krumhansl-Kessler key profiles (probe-tone ratings), the usual chroma templates.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


_CHUNK_VALUES = 1 << 19  # frames x n per FFT call: a few MB, so each chunk stays in cache


def _power_spectrum(mono: np.ndarray, n: int, hop: int) -> np.ndarray:
    """|STFT|^2 of centred frames (n/2 zeros either side, as librosa pads), periodic Hann,
    float32 [count, n // 2 + 1]. Worked a chunk of frames at a time in float64 (numpy's float64
    FFT is about 3x faster than its float32 one)."""
    padded = np.zeros(mono.shape[0] + n, np.float64)
    padded[n // 2:n // 2 + mono.shape[0]] = mono
    count = 1 + (padded.shape[0] - n) // hop
    view = np.lib.stride_tricks.as_strided(padded, (count, n), (hop * 8, 8), writeable=False)
    window = np.hanning(n + 1)[:-1]
    power = np.empty((count, n // 2 + 1), np.float32)
    step = max(1, _CHUNK_VALUES // n)
    for first in range(0, count, step):
        spectrum = np.fft.rfft(view[first:first + step] * window, axis=1)
        part = spectrum.real ** 2
        part += spectrum.imag ** 2
        power[first:first + step] = part
    return power


def _mel_filters(rate: int, n: int, bands: int = MEL_BANDS, low: float = 30.0, high: float = 8000.0) -> np.ndarray:
    """Triangular mel filters (HTK mel scale), [bands, n // 2 + 1]."""
    def to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    edges = 700.0 * (10 ** (np.linspace(to_mel(low), to_mel(min(high, rate / 2)), bands + 2) / 2595.0) - 1.0)
    freqs = np.arange(n // 2 + 1) * rate / n
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lower) / (centre - lower)
    falling = (upper - freqs[None, :]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


def _chroma_filters(rate: int, n: int, low: float = 52.0, high: float = 2100.0) -> np.ndarray:
    """Each bin between `low` and `high` Hz to its nearest pitch class, weighted by how close to the
    semitone's centre it lies (1 at the centre, 0 half a semitone off): [12, n // 2 + 1]."""
    freqs = np.arange(n // 2 + 1) * rate / n
    filters = np.zeros((12, freqs.shape[0]), np.float32)
    inside = (freqs >= low) & (freqs <= high)
    midi = 69 + 12 * np.log2(freqs[inside] / 440.0)
    nearest = np.round(midi)
    filters[(nearest % 12).astype(int), np.flatnonzero(inside)] = np.cos(np.pi * (midi - nearest)) ** 2
    return filters


@dataclass
class Spectra:
    """The STFTs of one mono signal, computed on first use and kept."""
    mono: np.ndarray
    rate: int
    _cache: dict = field(default_factory=dict)

    @property
    def frame_rate(self) -> float:
        return self.rate / ONSET_HOP

    def onset_power(self) -> np.ndarray:
        if "onset" not in self._cache:
            self._cache["onset"] = _power_spectrum(self.mono, ONSET_N, ONSET_HOP)
        return self._cache["onset"]

    def log_mel(self) -> np.ndarray:
        """[frames, 40] dB, floored 80 dB under the loudest value."""
        if "mel" not in self._cache:
            mel = self.onset_power() @ _mel_filters(self.rate, ONSET_N).T
            db = 10.0 * np.log10(np.maximum(mel, 1e-10))
            self._cache["mel"] = np.maximum(db, db.max() - 80.0)
        return self._cache["mel"]

    def onset_strength(self) -> np.ndarray:
        """Spectral flux per onset frame (frame 0 is 0)."""
        if "flux" not in self._cache:
            mel = self.log_mel()
            flux = np.zeros(mel.shape[0], np.float32)
            if mel.shape[0] > 1:
                flux[1:] = np.maximum(np.diff(mel, axis=0), 0.0).mean(axis=1)
            self._cache["flux"] = flux
        return self._cache["flux"]

    def energy_flux(self) -> np.ndarray:
        """Summed positive rise of the mel magnitudes (no log): loud hits count for more than
        quiet ones, which is what tells a beat from its off-beat."""
        if "energy" not in self._cache:
            magnitude = np.sqrt(self.onset_power() @ _mel_filters(self.rate, ONSET_N).T)
            energy = np.zeros(magnitude.shape[0], np.float32)
            if magnitude.shape[0] > 1:
                energy[1:] = np.maximum(np.diff(magnitude, axis=0), 0.0).sum(axis=1)
            self._cache["energy"] = energy
        return self._cache["energy"]

    def mfcc(self, count: int = 13) -> np.ndarray:
        """[frames, count] DCT-II (orthonormal) of the log-mel spectrum."""
        bands = MEL_BANDS
        k = np.arange(count)[:, None]
        basis = np.cos(np.pi * k * (np.arange(bands)[None, :] + 0.5) / bands) * math.sqrt(2.0 / bands)
        basis[0] /= math.sqrt(2.0)
        return self.log_mel() @ basis.T.astype(np.float32)

    @property
    def pitch_rate(self) -> int:
        return min(self.rate, PITCH_RATE)

    @property
    def pitch_n(self) -> int:
        return PITCH_N if self.pitch_rate == PITCH_RATE else 1 << int(round(math.log2(PITCH_N * self.pitch_rate / PITCH_RATE)))

    def pitch_power(self) -> np.ndarray:
        """Power spectra of the long STFT, [frames, pitch_n // 2 + 1], at `pitch_rate`."""
        if "pitch" not in self._cache:
            mono = self.mono
            if self.rate > PITCH_RATE:
                import soxr

                mono = soxr.resample(mono, self.rate, PITCH_RATE, quality="HQ").astype(np.float32)
            n = self.pitch_n
            self._cache["pitch"] = _power_spectrum(mono, n, n // 4)
        return self._cache["pitch"]

    def chroma(self) -> np.ndarray:
        """[frames at a quarter of the long window, 12], each frame scaled to a maximum of 1
        (silent frames 0)."""
        if "chroma" not in self._cache:
            magnitude = np.sqrt(self.pitch_power())
            chroma = magnitude @ _chroma_filters(self.pitch_rate, self.pitch_n).T
            top = chroma.max(axis=1, keepdims=True)
            self._cache["chroma"] = np.where(top > 1e-6 * max(float(top.max()), 1e-30), chroma / np.maximum(top, 1e-30),
                                             0.0)
        return self._cache["chroma"]


# -- tempo and beats -----------------------------------------------------------------------------
def _tempo_period(onset: np.ndarray, frame_rate: float) -> float | None:
    """Beat period (onset frames, fractional) from the prior-weighted onset autocorrelation."""
    x = onset.astype(np.float64) - onset.mean()
    if not np.any(x):
        return None
    size = 1 << int(math.ceil(math.log2(2 * x.shape[0])))
    spectrum = np.fft.rfft(x, size)
    acf = np.fft.irfft(spectrum.real ** 2 + spectrum.imag ** 2, size)[:x.shape[0]]
    acf /= np.maximum(x.shape[0] - np.arange(x.shape[0]), 1)  # unbiased: long lags are not penalised
    low = max(1, int(math.floor(60.0 * frame_rate / MAX_BPM)))
    high = min(x.shape[0] - 2, int(math.ceil(60.0 * frame_rate / MIN_BPM)))
    if high <= low + 1:
        return None
    lags = np.arange(low, high + 1)
    bpm = 60.0 * frame_rate / lags
    prior = np.exp(-0.5 * (np.log2(bpm / TEMPO_PRIOR_BPM) / TEMPO_PRIOR_OCTAVES) ** 2)
    # a beat period also correlates at 2, 3 and 4 periods; an off-beat one (two thirds of a
    # beat, say) does not at all of them: sum the harmonics, 1/k each (each at its best lag
    # within a frame, as k x a fractional period falls between frames)
    positive = np.maximum(acf, 0.0)
    limit = max(high + 1, x.shape[0] // 2)
    harmonic = positive[lags].copy()
    for k in range(2, HARMONICS + 1):
        at = np.minimum(k * lags, limit)
        near = np.maximum(np.maximum(positive[np.maximum(at - 1, 0)], positive[at]), positive[np.minimum(at + 1, limit)])
        harmonic += np.where(k * lags <= limit, near, 0.0) / k
    # and a beat is usually halved by the music's eighths; a dotted period's half falls between
    half = lags / 2.0
    lo = np.floor(half).astype(int)
    halved = positive[lo] + (half - lo) * (positive[np.minimum(lo + 1, limit)] - positive[lo])
    harmonic += SUBDIVISION_WEIGHT * halved
    weighted = harmonic * prior
    k = int(np.argmax(weighted))
    if weighted[k] <= 0 or acf[lags[k]] < MIN_PULSE_CLARITY * acf[0]:
        return None  # no pulse: a tone, a drone, noise
    lag = float(lags[k])
    if 0 < k < lags.shape[0] - 1:  # parabola through the raw autocorrelation around the peak
        a, b, c = acf[lags[k] - 1:lags[k] + 2]
        if a - 2 * b + c < 0:
            lag += 0.5 * (a - c) / (a - 2 * b + c)
    return lag


def _track(onset: np.ndarray, period: float) -> np.ndarray:
    """Ellis-style dynamic-programming beat frames at `period`.

    A frame's best predecessor lies between 2 periods and half a period back, so a run of
    half a period of frames depends only on frames before it: each run is one vectorised step.
    """
    n = onset.shape[0]
    norm = onset.std()
    local = onset / norm if norm > 0 else onset.astype(np.float64)
    score = local.astype(np.float64).copy()
    back = np.full(n, -1, np.int64)
    far, near = int(round(2 * period)), max(1, int(round(period / 2)))
    offsets = np.arange(-far, -near + 1)
    penalty = -DP_TIGHTNESS * np.log(-offsets / period) ** 2
    step = near
    for start in range(near, n, step):
        frames = np.arange(start, min(n, start + step))
        prev = frames[:, None] + offsets[None, :]
        valid = prev >= 0
        candidate = np.where(valid, score[np.maximum(prev, 0)] + penalty[None, :], -np.inf)
        best = np.argmax(candidate, axis=1)
        gain = candidate[np.arange(frames.shape[0]), best]
        take = np.isfinite(gain) & (gain > 0)
        score[frames] = local[frames] + np.where(take, gain, 0.0)
        back[frames] = np.where(take, prev[np.arange(frames.shape[0]), best], -1)
    # the last beat: the last local maximum of the cumulative score that is at least half the
    # median of those maxima (librosa's rule), so the track does not end on a stray frame
    maxima = np.flatnonzero((score[1:-1] > score[:-2]) & (score[1:-1] >= score[2:])) + 1
    if maxima.size == 0:
        maxima = np.array([int(np.argmax(score))])
    good = maxima[score[maxima] >= 0.5 * np.median(score[maxima])]
    beats = [int(good[-1]) if good.size else int(maxima[-1])]
    while back[beats[-1]] >= 0:
        beats.append(int(back[beats[-1]]))
    beats = np.array(beats[::-1])
    # drop weak beats at the ends (before the music starts, after it stops), as librosa does
    strength = np.convolve(local, np.hanning(7)[1:-1], mode="same")[beats]
    threshold = 0.5 * math.sqrt(float(np.mean(strength ** 2))) if strength.size else 0.0
    strong = np.flatnonzero(strength >= threshold)
    return beats[strong[0]:strong[-1] + 1] if strong.size else beats[:0]


def _refine(onset: np.ndarray, beats: np.ndarray, reach: int) -> np.ndarray:
    """Each beat moved to the largest onset within `reach` frames, to sub-frame accuracy (parabola)."""
    n = onset.shape[0]
    window = np.arange(-reach, reach + 1)
    index = np.clip(beats[:, None] + window[None, :], 0, n - 1)
    peak = index[np.arange(beats.shape[0]), np.argmax(onset[index], axis=1)]
    a = onset[np.maximum(peak - 1, 0)]
    b = onset[peak]
    c = onset[np.minimum(peak + 1, n - 1)]
    curve = a - 2 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(curve < 0, 0.5 * (a - c) / curve, 0.0)
    return peak + np.clip(shift, -0.5, 0.5)


def _fit_grid(times: np.ndarray, period: float) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Least-squares line through beat times (s) against their beat numbers (skips allowed):
    (period, offset, beat numbers, residuals). Beats far off the line are left out of the fit."""
    # number the beats by their gaps (a gap of two periods is a skipped beat), not by distance
    # from the first: a period 0.2 % off would misnumber the beats of a long track
    def numbered(step: float) -> np.ndarray:
        gaps = np.maximum(1, np.round(np.diff(times) / step))
        return np.concatenate([[0.0], np.cumsum(gaps)])

    index = numbered(period)
    keep = np.ones(times.shape[0], bool)
    slope, offset = period, float(times[0])
    for _ in range(3):
        if keep.sum() < 2 or np.ptp(index[keep]) == 0:
            break
        slope, offset = np.polyfit(index[keep], times[keep], 1)
        index = numbered(slope)
        slope, offset = np.polyfit(index[keep], times[keep], 1) if keep.sum() >= 2 else (slope, offset)
        residual = times - (offset + slope * index)
        keep = np.abs(residual) < 0.25 * slope
    residual = times - (offset + slope * index)
    return float(slope), float(offset), index, residual


def beat_grid(mono: np.ndarray, rate: int, spectra: Spectra | None = None) -> dict:
    """{"tempo" (BPM, the fitted grid's: 60 / period), "beat_times" (s), "period" (s), "steady",
    "onset", "frame_rate"}; tempo None and no beats when there is no pulse to follow."""
    spectra = spectra or Spectra(mono, rate)
    onset = spectra.onset_strength().astype(np.float64)
    frame_rate = spectra.frame_rate
    empty = {"tempo": None, "beat_times": np.zeros(0), "period": None, "steady": False,
             "onset": onset, "frame_rate": frame_rate}
    period = _tempo_period(onset, frame_rate) if onset.shape[0] > 8 else None
    if period is None:
        return empty
    # the tracker follows log flux (every onset counts) plus energy flux (loud hits count more):
    # with log flux alone, hats between kicks and snares pull it onto the off-beats mid-track
    energy = spectra.energy_flux().astype(np.float64)
    follow = onset / max(float(onset.std()), 1e-12) + energy / max(float(energy.std()), 1e-12)
    beats = _track(follow, period)
    if beats.size < 2:
        return empty
    times = _refine(follow, beats, max(1, int(period / 8))) / frame_rate + ONSET_LAG_S
    slope, offset, index, residual = _fit_grid(times, period / frame_rate)
    if not slope > 0:
        return empty
    # steady: the beats keep to the line (a stray beat or two, a fill, does not make a track unsteady)
    steady = bool(np.median(np.abs(residual)) < STEADY_MEDIAN_S
                  and np.mean(np.abs(residual) > STEADY_MAX_S) <= STEADY_STRAYS)
    duration = mono.shape[0] / rate
    if steady:
        # the beats are the grid: every beat number from the first to the last, on the line
        numbers = np.arange(index.min(), index.max() + 1)
        times = offset + slope * numbers
        offbeats = times + slope / 2
    else:
        offbeats = (times[1:] + times[:-1]) / 2
    # where every eighth has an onset (hats between kicks and snares), the tracker may lock onto
    # the off-beats: the beat is where the hits are loudest
    def loudness_at(at: np.ndarray) -> float:
        frame = np.round((at - ONSET_LAG_S) * frame_rate).astype(int)
        frame = frame[(frame >= 1) & (frame < energy.shape[0] - 1)]
        if frame.size == 0:
            return 0.0
        return float(np.maximum(np.maximum(energy[frame - 1], energy[frame]), energy[frame + 1]).mean())

    if offbeats.size >= 2 and loudness_at(offbeats) > OFFBEAT_RATIO * loudness_at(times):
        times = offbeats[offbeats < duration]
    return {"tempo": 60.0 / slope, "beat_times": times, "period": slope, "steady": steady,
            "onset": onset, "frame_rate": frame_rate}


# -- key -----------------------------------------------------------------------------------------
def estimate_key(spectra: Spectra) -> dict | None:
    """Key from the mean chroma correlated with the 24 rotated major/minor templates."""
    if not np.any(spectra.mono):
        return None
    chroma = spectra.chroma()
    if chroma.shape[0] == 0:
        return None
    profile = chroma.mean(axis=0)
    if not np.isfinite(profile).all() or profile.std() == 0:
        return None
    best = None
    for mode, template in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            r = float(np.corrcoef(profile, np.roll(template, tonic))[0, 1])
            if best is None or r > best[0]:
                best = (r, tonic, mode)
    r, tonic, mode = best
    return {"tonic": NOTE_NAMES[tonic], "mode": mode, "name": f"{NOTE_NAMES[tonic]} {mode}",
            "confidence": round(r, 3)}


def find_peaks(values: np.ndarray, height: float, distance: int) -> np.ndarray:
    """Indices of local maxima at least `height` high, none closer than `distance` to a higher one
    (scipy.signal.find_peaks' height/distance rule, without importing scipy.signal)."""
    if values.shape[0] < 3:
        return np.zeros(0, int)
    inner = values[1:-1]
    # plateaus count once, at their middle (as scipy does)
    candidates = []
    i = 1
    n = values.shape[0]
    while i < n - 1:
        if values[i - 1] < values[i]:
            j = i
            while j + 1 < n - 1 and values[j + 1] == values[i]:
                j += 1
            if values[j + 1] < values[i]:
                candidates.append((i + j) // 2)
            i = j + 1
        else:
            i += 1
    del inner
    peaks = np.array([p for p in candidates if values[p] >= height], int)
    if peaks.size < 2 or distance <= 1:
        return peaks
    keep = np.ones(peaks.size, bool)
    for k in np.argsort(values[peaks], kind="stable")[::-1]:
        if not keep[k]:
            continue
        near = np.abs(peaks - peaks[k]) < distance
        near[k] = False
        keep &= ~near
    return peaks[keep]


def mono_for_analysis(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, int]:
    """The analysis signal: the channels' mean, resampled to at most ANALYSIS_RATE."""
    from aimusic.audio.io import resample

    rate = min(sample_rate, ANALYSIS_RATE)
    mono = resample(samples.mean(axis=0, keepdims=True), sample_rate, rate, quality="HQ")[0]
    return np.ascontiguousarray(mono, dtype=np.float32), rate

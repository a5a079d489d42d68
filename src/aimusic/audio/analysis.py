"""What a file is, measured: levels, tempo, key, silences, sections, loopability.

`analyze` returns plain JSON-ready numbers. Tempo, key and sections use librosa (imported
lazily, it compiles with numba on first use); levels use `aimusic.audio.loudness`/`peak`.
"""

from __future__ import annotations

import math

import numpy as np

from aimusic.audio import fades, loudness, peak
from aimusic.audio.io import gain_to_db

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# Krumhansl-Kessler key profiles (probe-tone ratings), the usual chroma templates.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
ANALYSIS_RATE = 22050
_HOP = 512
SECTION_BLOCK_S = 0.5        # features are averaged into half-second blocks before comparing
SECTION_KERNEL_BLOCKS = 8    # checkerboard half-width: 4 s of context each side of a boundary
SECTION_MIN_NOVELTY = 0.3    # novelty (0..1) a change must reach: steady music stays under ~0.2
SECTION_MIN_GAP_S = 4.0
MIN_MUSICAL_FRAMES = 4096    # at the analysis rate: one chroma window


def _mono_for_analysis(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, int]:
    from aimusic.audio.io import resample

    rate = min(sample_rate, ANALYSIS_RATE)
    mono = resample(samples.mean(axis=0, keepdims=True), sample_rate, rate, quality="HQ")[0]
    return np.ascontiguousarray(mono, dtype=np.float32), rate


def estimate_key(mono: np.ndarray, rate: int) -> dict | None:
    """Key from the track's mean chroma correlated with the 24 rotated major/minor templates."""
    import librosa

    if not np.any(mono):
        return None
    chroma = librosa.feature.chroma_stft(y=mono, sr=rate, n_fft=4096, hop_length=_HOP)
    profile = chroma.mean(axis=1)
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


def dominant_pitch(mono: np.ndarray, rate: int) -> dict | None:
    """The strongest spectral peak of the whole file (Hz, nearest note, cents off)."""
    n = 16384
    if mono.shape[0] < n:
        n = 1 << max(8, int(math.log2(max(mono.shape[0], 256))))
    from scipy.signal import welch

    freqs, power = welch(mono, fs=rate, nperseg=min(n, mono.shape[0]), window="hann")
    power[freqs < 27.5] = 0.0  # below the piano's lowest A: DC and rumble, not pitch
    k = int(np.argmax(power))
    if power[k] <= 0 or k == 0 or k >= power.shape[0] - 1:
        return None
    # parabolic interpolation on log power refines the peak between bins
    a, b, c = np.log(power[k - 1:k + 2] + 1e-30)
    shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
    hz = float((k + shift) * (freqs[1] - freqs[0]))
    midi = 69 + 12 * math.log2(hz / 440.0)
    nearest = int(round(midi))
    return {"hz": round(hz, 2), "note": f"{NOTE_NAMES[nearest % 12]}{nearest // 12 - 1}",
            "cents": round((midi - nearest) * 100, 1)}


def section_boundaries(mono: np.ndarray, rate: int) -> list[float]:
    """Times (s) where the music changes character: Foote novelty on a self-similarity matrix of
    timbre (MFCC) and harmony (chroma), peaks at least `SECTION_MIN_GAP_S` apart."""
    import librosa
    from scipy.signal import find_peaks

    block = max(1, int(round(SECTION_BLOCK_S * rate / _HOP)))
    mfcc = librosa.feature.mfcc(y=mono, sr=rate, n_mfcc=13, hop_length=_HOP)
    chroma = librosa.feature.chroma_stft(y=mono, sr=rate, hop_length=_HOP)
    features = np.vstack([mfcc[1:], chroma])  # MFCC 0 is loudness: a crescendo is not a new section
    count = features.shape[1] // block
    k = SECTION_KERNEL_BLOCKS
    if count < 2 * k + 1:
        return []
    blocks = features[:, :count * block].reshape(features.shape[0], count, block).mean(axis=2)
    blocks = (blocks - blocks.mean(axis=1, keepdims=True)) / (blocks.std(axis=1, keepdims=True) + 1e-9)
    unit = blocks / (np.linalg.norm(blocks, axis=0, keepdims=True) + 1e-9)
    similarity = unit.T @ unit
    # Gaussian-tapered checkerboard kernel (Foote 2000), scaled so novelty lies in about -1..1
    axis = np.arange(-k, k)
    taper = np.exp(-0.5 * ((axis + 0.5) / (0.5 * k)) ** 2)
    sign = np.where(axis < 0, -1.0, 1.0)
    kernel = np.outer(sign * taper, sign * taper)
    kernel /= np.abs(kernel).sum()
    novelty = np.zeros(count)
    for centre in range(k, count - k):
        novelty[centre] = float((similarity[centre - k:centre + k, centre - k:centre + k] * kernel).sum())
    novelty = np.maximum(novelty, 0.0)  # 1.0: two blocks of features, each uniform, opposite
    peaks, _ = find_peaks(novelty, height=SECTION_MIN_NOVELTY,
                          distance=max(1, int(SECTION_MIN_GAP_S / SECTION_BLOCK_S)))
    return [round(float(p * block * _HOP / rate), 2) for p in peaks]


def analyze(samples: np.ndarray, sample_rate: int) -> dict:
    """Everything `aimusic analyze` reports, as a JSON-ready dict."""
    from aimusic.audio.loop import beat_grid, seam_score

    integrated = loudness.integrated_loudness(samples, sample_rate)
    lra = loudness.loudness_range(samples, sample_rate)
    tp = peak.true_peak(samples, sample_rate)
    mono, rate = _mono_for_analysis(samples, sample_rate)
    # musical features need some signal: under ~0.2 s (or digital silence) there is none to read
    musical = bool(np.any(mono)) and mono.shape[0] >= MIN_MUSICAL_FRAMES
    grid = beat_grid(samples, sample_rate) if musical else {"tempo": None, "beats": np.zeros(0)}
    try:
        seam = seam_score(samples, sample_rate)
    except Exception:  # too short to judge
        seam = None
    return {
        "duration_s": round(samples.shape[1] / sample_rate, 4),
        "sample_rate": int(sample_rate),
        "channels": int(samples.shape[0]),
        "frames": int(samples.shape[1]),
        "integrated_lufs": _round(integrated),
        "loudness_range_lu": _round(lra),
        "true_peak_dbtp": _round(gain_to_db(tp) if tp > 0 else float("-inf")),
        "sample_peak_dbfs": _round(gain_to_db(peak.sample_peak(samples)) if np.any(samples) else float("-inf")),
        "clipped_samples": peak.clipping_count(samples),
        # fewer than four beats is no pulse at all (a drone, a tone): no tempo to report
        "tempo_bpm": _round(grid["tempo"]) if len(grid["beats"]) >= 4 else None,
        "beat_count": int(len(grid["beats"])),
        "beats_s": [round(float(b) / sample_rate, 3) for b in grid["beats"]],
        "key": estimate_key(mono, rate) if musical else None,
        "dominant_pitch": dominant_pitch(mono, rate) if musical else None,
        "silent_regions": [list(r) for r in fades.silent_regions(samples, sample_rate)],
        "sections_s": section_boundaries(mono, rate) if musical else [],
        "loop_seam": seam,
        "loopability": None if seam is None else round(1.0 / (1.0 + seam["score"]), 3),
    }


def _round(value: float | None, digits: int = 2) -> float | None:
    """Rounded, with -inf/None/NaN (silence, nothing to measure) as None so JSON stays valid."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)

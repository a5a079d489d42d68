"""What a file is, measured: levels, tempo, key, silences, sections, loopability.

`analyze` returns plain JSON-ready numbers. Tempo, beats, key and sections come from
`aimusic.audio.rhythm` (numpy only: one set of STFTs serves them all, nothing is compiled per
process); levels use `aimusic.audio.loudness`/`peak`.
"""

from __future__ import annotations

import math

import numpy as np

from aimusic.audio import fades, loudness, peak
from aimusic.audio.io import gain_to_db
from aimusic.audio.rhythm import MAJOR_PROFILE, MINOR_PROFILE, NOTE_NAMES, Spectra  # noqa: F401 (re-exported)
from aimusic.audio.rhythm import ANALYSIS_RATE, mono_for_analysis  # noqa: F401 (re-exported)

_mono_for_analysis = mono_for_analysis  # the name the edit analysis and tests use

SECTION_BLOCK_S = 0.5        # features are averaged into half-second blocks before comparing
SECTION_KERNEL_BLOCKS = 8    # checkerboard half-width: 4 s of context each side of a boundary
SECTION_MIN_NOVELTY = 0.3    # novelty (0..1) a change must reach: steady music stays under ~0.2
SECTION_MIN_GAP_S = 4.0
MIN_MUSICAL_FRAMES = 4096    # at the analysis rate: one chroma window
THREADED = True              # levels and seam on a second thread (False: all on the caller's)


class _Inline:
    """The executor interface, run on the spot."""

    class _Done:
        def __init__(self, value):
            self._value = value

        def result(self):
            return self._value

    def submit(self, fn):
        return self._Done(fn())

    def shutdown(self):
        pass


def estimate_key(mono: np.ndarray, rate: int, spectra: Spectra | None = None) -> dict | None:
    """Key from the track's mean chroma correlated with the 24 rotated major/minor templates."""
    from aimusic.audio import rhythm

    if not np.any(mono):
        return None
    return rhythm.estimate_key(spectra if spectra is not None else Spectra(mono, rate))


def dominant_pitch(mono: np.ndarray, rate: int, spectra: Spectra | None = None) -> dict | None:
    """The strongest spectral peak of the whole file (Hz, nearest note, cents off). With
    `spectra`, its long STFT's mean (2.7 Hz bins to 5.5 kHz) serves, else a Welch average."""
    if spectra is not None and mono.shape[0] / rate * spectra.pitch_rate >= spectra.pitch_n:
        freqs = np.fft.rfftfreq(spectra.pitch_n, 1.0 / spectra.pitch_rate)
        power = spectra.pitch_power().mean(axis=0, dtype=np.float64)
    else:
        n = 16384
        if mono.shape[0] < n:
            n = 1 << max(8, int(math.log2(max(mono.shape[0], 256))))
        freqs, power = _welch(mono, rate, min(n, mono.shape[0]))
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


def _welch(mono: np.ndarray, rate: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean periodogram of half-overlapping Hann segments with their means removed (the shape of
    scipy.signal.welch's defaults; only the peak's position matters here)."""
    step = max(1, n // 2)
    count = 1 + (mono.shape[0] - n) // step
    segments = np.lib.stride_tricks.as_strided(mono, (count, n), (step * mono.strides[0], mono.strides[0]),
                                               writeable=False).astype(np.float64)
    segments = segments - segments.mean(axis=1, keepdims=True)
    window = np.hanning(n + 1)[:-1]
    spectrum = np.fft.rfft(segments * window, axis=1)
    return np.fft.rfftfreq(n, 1.0 / rate), (spectrum.real ** 2 + spectrum.imag ** 2).mean(axis=0)


def _block_means(features: np.ndarray, times: np.ndarray, count: int) -> np.ndarray:
    """[count, dims] means of the frames (at `times`, s) falling in each `SECTION_BLOCK_S` block."""
    block = np.floor(times / SECTION_BLOCK_S).astype(int)
    inside = block < count
    sums = np.zeros((count, features.shape[1]))
    np.add.at(sums, block[inside], features[inside])
    counts = np.bincount(block[inside], minlength=count)[:, None]
    return sums / np.maximum(counts, 1)


def section_boundaries(mono: np.ndarray, rate: int, spectra: Spectra | None = None) -> list[float]:
    """Times (s) where the music changes character: Foote novelty on a self-similarity matrix of
    timbre (MFCC) and harmony (chroma), peaks at least `SECTION_MIN_GAP_S` apart."""
    from aimusic.audio import rhythm

    spectra = spectra if spectra is not None else Spectra(mono, rate)
    count = int(mono.shape[0] / rate / SECTION_BLOCK_S)
    k = SECTION_KERNEL_BLOCKS
    if count < 2 * k + 1:
        return []
    mfcc = spectra.mfcc()[:, 1:]  # MFCC 0 is loudness: a crescendo is not a new section
    chroma = spectra.chroma()
    chroma_hop = spectra.pitch_n // 4 / spectra.pitch_rate
    blocks = np.hstack([_block_means(mfcc, np.arange(mfcc.shape[0]) * rhythm.ONSET_HOP / rate, count),
                        _block_means(chroma, np.arange(chroma.shape[0]) * chroma_hop, count)]).T
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
    peaks = rhythm.find_peaks(novelty, SECTION_MIN_NOVELTY, max(1, int(SECTION_MIN_GAP_S / SECTION_BLOCK_S)))
    return [round(float(p * SECTION_BLOCK_S), 2) for p in peaks]


def analyze(samples: np.ndarray, sample_rate: int) -> dict:
    """Everything `aimusic analyze` reports, as a JSON-ready dict."""
    from aimusic.audio.loop import beat_grid, seam_score

    from concurrent.futures import ThreadPoolExecutor

    # the levels (K-weighting filter, true-peak matrix products) and the loop seam run in C with
    # the GIL released: measure them on a second core while this one does the musical features
    pool = ThreadPoolExecutor(max_workers=1) if THREADED else _Inline()
    levels = pool.submit(lambda: (*loudness.integrated_and_range(samples, sample_rate),  # one pass for both
                                  peak.true_peak(samples, sample_rate)))

    def seam_or_none() -> dict | None:
        try:
            return seam_score(samples, sample_rate)
        except Exception:  # too short to judge
            return None

    seam_job = pool.submit(seam_or_none)
    mono, rate = _mono_for_analysis(samples, sample_rate)
    spectra = Spectra(mono, rate)  # one set of STFTs for beats, key and sections
    # musical features need some signal: under ~0.2 s (or digital silence) there is none to read
    musical = bool(np.any(mono)) and mono.shape[0] >= MIN_MUSICAL_FRAMES
    grid = beat_grid(samples, sample_rate, spectra=spectra) if musical else {"tempo": None, "beats": np.zeros(0)}
    integrated, lra, tp = levels.result()
    seam = seam_job.result()
    pool.shutdown()
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
        # the fitted grid's tempo (60 / period) to 0.1 BPM: the beats below lie on that grid
        "tempo_bpm": _round(grid["tempo"], 1) if len(grid["beats"]) >= 4 else None,
        "beat_count": int(len(grid["beats"])),
        "beats_s": [round(float(b) / sample_rate, 3) for b in grid["beats"]],
        "key": estimate_key(mono, rate, spectra) if musical else None,
        "dominant_pitch": dominant_pitch(mono, rate, spectra) if musical else None,
        "silent_regions": [list(r) for r in fades.silent_regions(samples, sample_rate)],
        "sections_s": section_boundaries(mono, rate, spectra) if musical else [],
        "loop_seam": seam,
        "loopability": None if seam is None else round(1.0 / (1.0 + seam["score"]), 3),
    }


def _round(value: float | None, digits: int = 2) -> float | None:
    """Rounded, with -inf/None/NaN (silence, nothing to measure) as None so JSON stays valid."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)

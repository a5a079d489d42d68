"""A picture of an analysis: waveform, loudness over time, sections and beats (matplotlib, Agg)."""

from __future__ import annotations

import io

import numpy as np

from aimusic.audio import loudness


def plot_analysis(samples: np.ndarray, sample_rate: int, analysis: dict) -> bytes:
    """Draw `analysis` (from `aimusic.audio.analysis.analyze`) for `samples`: the PNG's bytes."""
    import matplotlib

    matplotlib.use("Agg", force=True)  # files only: never a display
    import matplotlib.pyplot as plt

    duration = samples.shape[1] / sample_rate
    figure, (wave_ax, loud_ax) = plt.subplots(2, 1, figsize=(12, 5), sharex=True,
                                              gridspec_kw={"height_ratios": [3, 2]})
    # min/max per pixel column: a faithful waveform without plotting millions of points
    columns = 2000
    mono = samples.mean(axis=0)
    per = max(1, mono.shape[0] // columns)
    usable = (mono.shape[0] // per) * per
    if usable:
        shaped = mono[:usable].reshape(-1, per)
        times = (np.arange(shaped.shape[0]) * per + per / 2) / sample_rate
        wave_ax.fill_between(times, shaped.min(axis=1), shaped.max(axis=1), color="#3b6ea5", linewidth=0)
    wave_ax.set_ylim(-1.05, 1.05)
    wave_ax.set_ylabel("amplitude")
    for beat in analysis.get("beats_s") or []:
        wave_ax.axvline(beat, color="#999999", linewidth=0.4, alpha=0.6)
    for start, end in analysis.get("silent_regions") or []:
        wave_ax.axvspan(start, end, color="#dddddd", alpha=0.6, linewidth=0)
    for ax in (wave_ax, loud_ax):
        for boundary in analysis.get("sections_s") or []:
            ax.axvline(boundary, color="#c0392b", linewidth=1.5)
    key = (analysis.get("key") or {}).get("name", "?")
    tempo = analysis.get("tempo_bpm")
    wave_ax.set_title(f"{analysis.get('integrated_lufs')} LUFS, {analysis.get('true_peak_dbtp')} dBTP, "
                      f"{tempo if tempo is not None else '?'} BPM, key {key}  "
                      "(red: sections, grey: beats)", fontsize=9)
    times, levels = loudness.short_term_loudness(samples, sample_rate)
    levels = np.where(np.isfinite(levels), levels, np.nan)
    loud_ax.plot(times, levels, color="#27ae60", label="short-term (3 s)")
    if analysis.get("integrated_lufs") is not None:
        loud_ax.axhline(analysis["integrated_lufs"], color="#555555", linestyle="--", linewidth=1,
                        label="integrated")
    finite = levels[np.isfinite(levels)]
    if finite.size:  # at least a 12 LU window, so a steady track does not look like a rollercoaster
        top = float(finite.max()) + 2
        loud_ax.set_ylim(min(top - 12, max(float(finite.min()) - 2, top - 40)), top)
    loud_ax.set_ylabel("LUFS")
    loud_ax.set_xlabel("seconds")
    loud_ax.set_xlim(0, duration)
    loud_ax.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()

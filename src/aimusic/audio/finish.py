"""Finishing: the steps that turn raw model output into a file ready to publish.

Order matters and is fixed: resample (so lengths are exact at the output rate) -> trim
silence -> loop or exact length -> fades -> loudness -> true-peak limiting. Loudness and
limiting go last because everything before them changes the level.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from aimusic.audio import fades, loudness, peak
from aimusic.audio.io import GrowingSamples, check_samples, db_to_gain, gain_to_db, resample
from aimusic.errors import InputError, UsageError

# Named strategies, not a pile of booleans. Sources: Spotify/YouTube/Apple normalise near -14
# LUFS; EBU R128 broadcast is -23 LUFS; podcast platforms (Apple, AES TD1004) ask for -16 LUFS.
DEFAULT_PRESET = "streaming"  # what `aimusic finish` does with no preset: a publishable file
PRESETS: dict[str, dict[str, float | None]] = {
    "streaming": {"loudness": -14.0, "true_peak": -1.0},
    "broadcast": {"loudness": -23.0, "true_peak": -1.0},
    "podcast": {"loudness": -16.0, "true_peak": -1.0},
    "none": {"loudness": None, "true_peak": None},
}
DEFAULT_TRUE_PEAK = -1.0      # used when a loudness target is given without a ceiling
LOUDNESS_TOLERANCE_LU = 0.2   # re-aim after limiting when the limiter cost more than this
MAX_LENGTH_S = 3 * 3600.0


def length_fade_seconds(length_s: float) -> float:
    """The fade used when cutting to an exact length: a tenth of the piece, 0.5 to 3 s."""
    return float(min(3.0, max(0.5, 0.1 * length_s), length_s / 2))


def _level(samples: np.ndarray, sample_rate: int, lufs: float | None = None,
           true_peak_db: float | None = None, weights: np.ndarray | None = None) -> dict[str, float | None]:
    if lufs is None:
        lufs = loudness.integrated_loudness(samples, sample_rate, weights=weights)
    if true_peak_db is None:
        tp = peak.true_peak(samples, sample_rate)
        true_peak_db = gain_to_db(tp) if tp > 0 else float("-inf")
    return {"integrated_lufs": round(lufs, 2) if math.isfinite(lufs) else None,
            "true_peak_dbtp": round(true_peak_db, 2) if math.isfinite(true_peak_db) else None,
            "duration_s": round(samples.shape[1] / sample_rate, 4)}


def limit(samples: np.ndarray, sample_rate: int, ceiling_dbtp: float, periodic: bool = False, *,
          on_candidate=None, owned: bool = False, edits: list | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """True-peak limit to `ceiling_dbtp`; `periodic` audio (a loop) is limited as heard, wrapped.
    `on_candidate`/`owned`/`edits`: as `peak.limit_true_peak` (not for periodic audio)."""
    if not periodic:
        return peak.limit_true_peak(samples, sample_rate, ceiling_dbtp, on_candidate=on_candidate, owned=owned,
                                    edits=edits)
    # A loop is heard wrapped: limit three copies and keep the middle one, so the lookahead sees
    # across the wrap and the gain at the end leads into the gain at the start.
    frames = samples.shape[1]
    tiled, report = peak.limit_true_peak(np.tile(samples, (1, 3)), sample_rate, ceiling_dbtp)
    return np.ascontiguousarray(tiled[:, frames:2 * frames]), report


def normalize(samples: np.ndarray, sample_rate: int, target_lufs: float | None, ceiling_dbtp: float | None,
              *, periodic: bool = False, measured_lufs: float | None = None,
              weights: np.ndarray | None = None, on_candidate=None,
              measured_power: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Gain to `target_lufs` (BS.1770 integrated), then true-peak limit to `ceiling_dbtp`.

    Limiting lowers the loudness a little; when it costs more than 0.2 LU the gain is re-aimed
    and the limiter runs again (twice at most), as a mastering engineer would.

    `on_candidate(growing)`: called with each limiter pass's output (`io.GrowingSamples`, whose
    frames become final front to back while the pass runs) before it is verified (its true peak
    where the gain moved, its loudness), so an encode can follow the limiter and run while those
    measurements do; the array returned is the last one offered, or one never offered.
    `measured_power`: `loudness.slice_power` of `samples` (with `measured_lufs`), when known.

    The loudness after limiting is not measured from scratch: the output is the gained input
    except where the limiter worked, so only the slices near those stretches are filtered again
    (`loudness.edited_integrated_loudness`).
    """
    report: dict[str, Any] = {"target_lufs": target_lufs, "ceiling_dbtp": ceiling_dbtp}
    if target_lufs is not None and ceiling_dbtp is None:
        ceiling_dbtp = DEFAULT_TRUE_PEAK
        report["ceiling_dbtp"] = ceiling_dbtp
    source = samples
    gain_db = 0.0
    measured = measured_lufs
    if target_lufs is not None:
        # the caller may already have measured these exact samples (finish's input report)
        if measured_lufs is None or measured_power is None:
            measured_power = loudness.slice_power(samples, sample_rate, weights=weights)
            measured_lufs = loudness.integrated_loudness(samples, sample_rate, weights=weights,
                                                         hop_power=measured_power)
        measured = measured_lufs
        step = loudness.gain_to_target_db(measured, target_lufs)
        if step is None:
            report["skipped"] = "silent audio has no loudness to normalise"
            target_lufs = None
        else:
            gain_db = step
    with _blas_beside_encode(on_candidate is not None):
        out, round_, gain_db = _level_rounds(source, sample_rate, target_lufs, ceiling_dbtp, periodic, gain_db,
                                             measured, measured_power, weights, on_candidate, report)
    report["gain_db"] = round(gain_db, 3)
    report["rounds"] = round_ + 1
    return out, report


def _blas_beside_encode(encoding: bool):
    """One BLAS thread for the limiter's small matrix products while an encode runs beside it:
    measured on 2 cores, a second BLAS thread takes the encoder's core and costs the whole
    finish 10-30 % (it gains the products themselves ~10 %)."""
    if not encoding:
        from contextlib import nullcontext

        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


def _level_rounds(source, sample_rate, target_lufs, ceiling_dbtp, periodic, gain_db, measured, measured_power,
                  weights, on_candidate, report):
    """`normalize`'s gain-and-limit rounds: (output, last round, gain dB)."""
    for round_ in range(3):
        out = (source * np.float32(db_to_gain(gain_db))).astype(np.float32, copy=False)
        if out is source:  # pragma: no cover - numpy always returns a new array here
            out = out.copy()
        limited = False
        if ceiling_dbtp is not None:
            # `out` is this round's own array: the limiter may work in it rather than on a copy
            edits: list[tuple[int, int]] = []
            out, limiter = limit(out, sample_rate, ceiling_dbtp, periodic,
                                 on_candidate=None if periodic else on_candidate, owned=not periodic,
                                 edits=None if periodic else edits)
            report["limiter"] = limiter
            if round_ == 0:
                # true peak scales with gain: the limiter's first measure gives the source's for free
                report["source_true_peak_dbtp"] = limiter["input_true_peak_dbtp"] - gain_db
            limited = limiter["passes"] > 0
        if target_lufs is None:
            break
        if not limited:  # a plain gain moves integrated loudness by exactly that many dB
            report["integrated_lufs"] = round(measured + gain_db, 2)
            break
        achieved = None
        if not periodic and measured_power is not None:
            achieved = loudness.edited_integrated_loudness(out, sample_rate, measured_power,
                                                           db_to_gain(gain_db), edits, weights=weights)
        if achieved is None:
            achieved = loudness.integrated_loudness(out, sample_rate, weights=weights)
        report["integrated_lufs"] = round(achieved, 2)
        shortfall = target_lufs - achieved
        if abs(shortfall) <= LOUDNESS_TOLERANCE_LU or round_ == 2:
            break
        gain_db += shortfall
    return out, round_, gain_db


class EncodeAhead:
    """Encodes beside the limiter: `offer(candidate)` (a `normalize` candidate, `GrowingSamples`)
    starts `encode(candidate)` on a second thread, which follows the candidate's frames as they
    become final (libsndfile's FLAC/WAV encoders release the GIL); a newer offer supersedes the
    ones before it, whose encodes are stopped. `result(final)` returns the encode of `final`:
    the one under way when `final` was offered, else one run now. Encodes of candidates that
    were not final go to `discard`. `close()` stops and discards everything (on failure)."""

    def __init__(self, encode, discard=None) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._encode, self._discard = encode, discard
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._jobs: list[tuple[GrowingSamples, Any]] = []

    def offer(self, candidate: GrowingSamples | np.ndarray) -> None:
        if not isinstance(candidate, GrowingSamples):
            candidate = GrowingSamples.complete(candidate)
        for earlier, _ in self._jobs:
            earlier.abandon()
        self._jobs.append((candidate, self._pool.submit(self._encode, candidate)))

    def result(self, final: np.ndarray) -> Any:
        found, failure = None, None
        for candidate, job in self._jobs:
            if candidate.samples is not final:
                candidate.abandon()
        for candidate, job in self._jobs:
            try:
                value = job.result()
            except Exception as exc:  # re-raised below only if it was the final encode's
                value, failure = None, (exc if candidate.samples is final else failure)
                continue
            if candidate.samples is final and found is None:
                found = (value,)
            elif self._discard is not None:
                self._discard(value)
        self._jobs = []
        self._pool.shutdown()
        if found is not None:
            return found[0]
        if failure is not None:
            raise failure
        return self._encode(final)

    def close(self) -> None:
        """Stop every encode and discard what they made (the finishing failed)."""
        for candidate, _ in self._jobs:
            candidate.abandon()
        for _, job in self._jobs:
            try:
                value = job.result()
            except Exception:  # stopped, or failed: nothing to keep either way
                continue
            if self._discard is not None:
                self._discard(value)
        self._jobs = []
        self._pool.shutdown()


def finish(samples: np.ndarray, sample_rate: int, *, loudness_lufs: float | None = None,
           true_peak_dbtp: float | None = None, fade_in_s: float = 0.0, fade_out_s: float | None = None,
           trim_silence: bool = False, loop: bool = False, length_s: float | None = None,
           output_rate: int | None = None, fade_in_shape: str = fades.DEFAULT_FADE_IN,
           fade_out_shape: str = fades.DEFAULT_FADE_OUT, channel_weights: np.ndarray | None = None,
           on_candidate=None) -> tuple[np.ndarray, int, dict[str, Any]]:
    """Run the finishing chain; returns (samples, sample_rate, report). `channel_weights`: BS.1770
    weights per channel (`loudness.channel_weights` of the file's layout); default by count.
    `on_candidate`: as `normalize` (e.g. `EncodeAhead.offer`); not used for loops."""
    check_samples(samples, sample_rate)
    for name, value in (("fade_in", fade_in_s), ("fade_out", fade_out_s)):
        if value is not None and (not math.isfinite(value) or value < 0):
            raise InputError(f"--{name.replace('_', '-')} must be a number of seconds >= 0", field=name)
    if length_s is not None and (not math.isfinite(length_s) or not 0 < length_s <= MAX_LENGTH_S):
        raise InputError(f"--length must be between 0 and {MAX_LENGTH_S:.0f} seconds", field="length")
    if loop and (fade_in_s or fade_out_s):
        raise UsageError("--loop cannot be combined with fades: a faded loop would dip at every wrap")
    if loudness_lufs is not None and not -70.0 <= loudness_lufs <= 0.0:
        raise InputError("--loudness must be between -70 and 0 LUFS", field="loudness")
    if true_peak_dbtp is not None and not -20.0 <= true_peak_dbtp <= 0.0:
        raise InputError("--true-peak must be between -20 and 0 dBTP", field="true_peak")
    weights = channel_weights
    input_power = loudness.slice_power(samples, sample_rate, weights=weights)
    input_lufs = loudness.integrated_loudness(samples, sample_rate, weights=weights, hop_power=input_power)
    report: dict[str, Any] = {"input": None, "steps": []}  # "input" is filled in last (see below)
    original, original_rate = samples, sample_rate
    # every step returns a new array: while `samples is original`, what was measured on it holds
    steps = report["steps"]
    if output_rate and output_rate != sample_rate:
        if not 8000 <= output_rate <= 384000:
            raise InputError("--sample-rate must be between 8000 and 384000 Hz", field="sample_rate")
        samples = resample(samples, sample_rate, output_rate, quality="VHQ")
        steps.append({"step": "resample", "from": sample_rate, "to": output_rate, "quality": "soxr VHQ"})
        sample_rate = output_rate
    if trim_silence:
        before = samples.shape[1]
        samples, (first, end) = fades.trim_silence(samples, sample_rate)
        steps.append({"step": "trim_silence", "removed_start_s": round(first / sample_rate, 4),
                      "removed_end_s": round((before - end) / sample_rate, 4)})
    if loop:
        from aimusic.audio.loop import make_loop

        samples, loop_report = make_loop(samples, sample_rate, length_s)
        steps.append({"step": "loop", **loop_report})
    elif length_s is not None:
        samples, length_report = set_length(samples, sample_rate, length_s,
                                            fade_s=fade_out_s if fade_out_s else None, shape=fade_out_shape)
        steps.append({"step": "length", **length_report})
        fade_out_s = None  # the length step already ended the piece with a fade
    if fade_in_s:
        samples = fades.fade_in(samples, sample_rate, fade_in_s, fade_in_shape)
        steps.append({"step": "fade_in", "seconds": fade_in_s, "shape": fade_in_shape})
    if fade_out_s:
        samples = fades.fade_out(samples, sample_rate, fade_out_s, fade_out_shape)
        steps.append({"step": "fade_out", "seconds": fade_out_s, "shape": fade_out_shape})
    level_report = None
    input_true_peak = None
    if loudness_lufs is not None or true_peak_dbtp is not None:
        untouched = samples is original
        samples, level_report = normalize(samples, sample_rate, loudness_lufs, true_peak_dbtp, periodic=loop,
                                          measured_lufs=input_lufs if untouched else None, weights=weights,
                                          measured_power=input_power if untouched else None,
                                          on_candidate=None if loop else on_candidate)
        if untouched and not loop:
            input_true_peak = level_report.pop("source_true_peak_dbtp", None)
        level_report.pop("source_true_peak_dbtp", None)
        steps.append({"step": "loudness", **level_report})
    report["input"] = _level(original, original_rate, input_lufs, input_true_peak) | {"sample_rate": original_rate}
    if loop:
        from aimusic.audio.loop import seam_score

        report["seam"] = seam_score(samples, sample_rate)
    if level_report and "integrated_lufs" in level_report and not loop:
        # already measured on exactly these samples: do not pay for it twice
        tp = level_report["limiter"]["true_peak_dbtp"]
        report["output"] = {"integrated_lufs": level_report["integrated_lufs"],
                            "true_peak_dbtp": round(tp, 2) if math.isfinite(tp) else None,
                            "duration_s": round(samples.shape[1] / sample_rate, 4)}
    else:
        report["output"] = _level(samples, sample_rate, weights=weights)
    report["output"]["sample_rate"] = sample_rate
    return samples, sample_rate, report


def set_length(samples: np.ndarray, sample_rate: int, length_s: float, *, fade_s: float | None = None,
               shape: str = fades.DEFAULT_FADE_OUT) -> tuple[np.ndarray, dict[str, Any]]:
    """Exactly round(length_s * sample_rate) frames: cut with a fade-out, or loop-extend
    (bar-aligned, crossfaded) and then cut with a fade-out."""
    frames = int(round(length_s * sample_rate))
    if frames < 1:
        raise InputError("--length is shorter than one sample", field="length")
    report: dict[str, Any] = {"frames": frames, "seconds": round(frames / sample_rate, 6)}
    if samples.shape[1] == frames:
        report["action"] = "unchanged"
        return samples, report
    if samples.shape[1] < frames:
        from aimusic.audio.loop import loop_extend

        samples = loop_extend(samples, sample_rate, frames)
        report["action"] = "loop-extended"
    else:
        report["action"] = "trimmed"
    fade_s = length_fade_seconds(length_s) if fade_s is None else fade_s
    out = fades.fade_out(samples[:, :frames], sample_rate, fade_s, shape)
    report["fade_out_s"] = round(fade_s, 3)
    return out, report


LOSSY_LOUDNESS_TOLERANCE_LU = 0.3


def check_decoded(decoded: np.ndarray, rate: int, target_lufs: float | None, ceiling_dbtp: float | None
                  ) -> tuple[bool, dict[str, Any], float, float]:
    """Judge a decoded lossy file against the targets: (ok, its figures, loudness correction dB,
    true-peak excess dB as a negative number, or 0)."""
    lufs = loudness.integrated_loudness(decoded, rate)
    tp = peak.true_peak_db(decoded, rate)
    figures = {"integrated_lufs": round(lufs, 2) if math.isfinite(lufs) else None,
               "true_peak_dbtp": round(tp, 2) if math.isfinite(tp) else None,
               "duration_s": round(decoded.shape[1] / rate, 4), "sample_rate": rate, "decoded": True}
    loud_step = 0.0
    if target_lufs is not None and math.isfinite(lufs):
        loud_step = target_lufs - lufs
    ceiling_step = 0.0
    if ceiling_dbtp is not None and math.isfinite(tp) and tp > ceiling_dbtp:
        ceiling_step = ceiling_dbtp - tp
    ok = abs(loud_step) <= LOSSY_LOUDNESS_TOLERANCE_LU * 0.5 and ceiling_step == 0.0
    return ok, figures, loud_step, ceiling_step


def apply_preset(samples: np.ndarray, sample_rate: int, preset_name: str) -> tuple[np.ndarray, dict[str, Any]]:
    """Loudness + true-peak preset (what `run --finish PRESET` applies to every take)."""
    if preset_name not in PRESETS:
        raise InputError(f"unknown finish preset {preset_name!r}: choose one of {', '.join(PRESETS)}",
                         field="finish")
    settings = PRESETS[preset_name]
    report: dict[str, Any] = {"preset": preset_name}
    if settings["loudness"] is None and settings["true_peak"] is None:
        return samples, report
    check_samples(samples, sample_rate)
    out, level = normalize(samples, sample_rate, settings["loudness"], settings["true_peak"])
    report.update(level)
    return out, report

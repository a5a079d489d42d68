"""True peak as the meters users check files with read it, and a lookahead limiter that keeps
every output at or under a true-peak ceiling on those meters.

Two meters are emulated sample for sample, and a frame's true peak is the higher of the two:

- ffmpeg's `ebur128` filter (libswresample to 192 kHz: a 32-tap Kaiser (beta 9) windowed sinc at
  the input's Nyquist frequency, exact rational phases; the first samples are mirrored into its
  history, which makes a file that starts loud read higher). At rates whose ratio to 192 kHz is
  not a whole number (44.1 kHz: 640 phases) a uniform grid of phases is read instead, and the
  grid's worst-case miss for a band-limited signal (1 / cos(pi / 2Q)) is added on top.
- libebur128 (and so pyebur128, r128gain, ...): a 49-tap Hann-windowed sinc, 4x below 96 kHz,
  2x below 192 kHz.

Both are evaluated as one block-Toeplitz matrix product per 32 frames (BLAS), only on the blocks
that could reach the level of interest: every interpolated value is a weighted sum of 32
neighbouring samples, so it can never exceed (largest |tap sum| of a phase) x (largest
neighbouring |sample|). Blocks below that bound are skipped with certainty, not by guesswork.
The BS.1770-4 Annex 2 filter (`PHASES`) reads up to ~0.3 dB (ffmpeg) lower on content near
Nyquist and on loud starts, which is why the meters above are the ones emulated.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from aimusic.audio.io import GrowingSamples, db_to_gain, gain_to_db

# BS.1770-4 Annex 2, Table 1: the 4-phase, 12-taps-per-phase interpolation filter (reference only).
_PHASE_0 = [0.0017089843750, 0.0109863281250, -0.0196533203125, 0.0332031250000, -0.0594482421875,
            0.1373291015625, 0.9721679687500, -0.1022949218750, 0.0476074218750, -0.0266113281250,
            0.0148925781250, -0.0083007812500]
_PHASE_1 = [-0.0291748046875, 0.0292968750000, -0.0517578125000, 0.0891113281250, -0.1665039062500,
            0.4650878906250, 0.7797851562500, -0.2003173828125, 0.1015625000000, -0.0582275390625,
            0.0330810546875, -0.0189208984375]
PHASES = np.array([_PHASE_0, _PHASE_1, _PHASE_1[::-1], _PHASE_0[::-1]])  # phases 2, 3 mirror 1, 0
FFMPEG_RATE = 192000      # ffmpeg's ebur128 resamples to this rate for its true peak
_TAPS = 32                # one window of samples serves both meters: x[n-15 .. n+16]
_CENTER = 15
_BLOCK = 256                # frames per block: the unit that is interpolated or skipped whole
_CHUNK_FRAMES = 1 << 17
_PROGRESS_FRAMES = 1 << 16  # when someone waits on the envelope's front: smaller steps, sooner
_MARGIN = 16
_ROW = 32                 # frames per row of the block-Toeplitz product


def _swr_taps(fractions: np.ndarray) -> np.ndarray:
    """libswresample's Kaiser-windowed sinc (filter_size 32, beta 9, no cutoff when upsampling)
    for interpolated points `fractions` (0..1) of a sample past frame n: [len, 32] over x[n-15..n+16]."""
    i0 = np.i0  # numpy's: scipy.special would cost its import on every `analyze`
    i = np.arange(_TAPS)[None, :]
    x = np.pi * ((i - _CENTER) - fractions[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.where(x == 0, 1.0, np.sin(x) / np.where(x == 0, 1.0, x))
    w = 2 * x / (_TAPS * np.pi)
    return y * i0(9.0 * np.sqrt(np.maximum(1 - w * w, 0.0))) / i0(9.0)


def _libebur128_taps(sample_rate: int) -> np.ndarray:
    """libebur128's 49-tap Hann-windowed sinc, its non-trivial phases as rows over x[n-15..n+16]."""
    factor = 4 if sample_rate < 96000 else 2 if sample_rate < 192000 else 1
    j = np.arange(49)
    m = j - 24.0
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(np.abs(m) > 1e-9, np.sin(m * np.pi / factor) / (m * np.pi / factor), 1.0)
    c = c * 0.5 * (1 - np.cos(2 * np.pi * j / 48))
    rows = []
    for q in range(1, factor):  # phase 0 is the sample itself
        row = np.zeros(_TAPS)
        for tap in j[j % factor == q]:
            row[(q + 24 - tap) // factor + _CENTER] += c[tap]
        rows.append(row)
    return np.array(rows).reshape(-1, _TAPS)


@lru_cache(maxsize=16)
def meter_bank(sample_rate: int) -> tuple[np.ndarray, float]:
    """([columns, 32] interpolation taps of both meters, ffmpeg grid margin factor)."""
    ratio = FFMPEG_RATE / sample_rate
    margin = 1.0
    if sample_rate > FFMPEG_RATE:
        ffmpeg = np.zeros((0, _TAPS))
    elif abs(ratio - round(ratio)) < 1e-9:
        phases = int(round(ratio))
        ffmpeg = _swr_taps(np.arange(1, phases) / phases)
    else:  # 640 phases at 44.1 kHz: read a uniform grid, and allow for what falls between its points
        grid = max(16, 2 * int(math.ceil(ratio)))  # 44.1 kHz: 16 points a sample, margin 0.042 dB
        ffmpeg = _swr_taps(np.arange(1, grid) / grid)
        margin = 1.0 / math.cos(math.pi / (2 * grid))
    return np.vstack([ffmpeg * margin, _libebur128_taps(sample_rate)]), margin


@lru_cache(maxsize=16)
def _toeplitz(sample_rate: int) -> tuple[np.ndarray, float]:
    """[64, ROW * columns] so that Z @ T gives every column's value at each of a row's 32 frames,
    where Z holds x[row_start - 16 .. row_start + 48); and the overshoot bound of the bank."""
    bank, _ = meter_bank(sample_rate)
    columns = bank.shape[0]
    matrix = np.zeros((2 * _ROW, _ROW * max(columns, 1)), np.float32)
    for i in range(_ROW):
        for c in range(columns):
            matrix[i + 1:i + 1 + _TAPS, c * _ROW + i] = bank[c]
    bound = float(np.abs(bank).sum(axis=1).max()) if columns else 1.0
    return matrix, max(bound, 1.0)


def overshoot_bound(sample_rate: int) -> float:
    """The largest possible ratio of an interpolated value to the largest sample feeding it."""
    return _toeplitz(sample_rate)[1]


def sample_peak(samples: np.ndarray) -> float:
    # max and -min: the same figure as max(|x|), without an |x| array the size of the file
    return max(float(samples.max()), -float(samples.min())) if samples.size else 0.0


def _frame_abs_max(samples: np.ndarray) -> np.ndarray:
    # channel by channel: numpy's max over axis 0 of a [2, n] array is a slow strided reduction
    result = np.abs(samples[0]).astype(np.float32, copy=False)
    for channel in range(1, samples.shape[0]):
        np.maximum(result, np.abs(samples[channel]), out=result)
    return result


def _interpolated_max(windows: np.ndarray, matrix: np.ndarray, columns: int) -> np.ndarray:
    """windows [blocks, 16 + BLOCK + 16 + 32]: per frame of each block, the largest |value| of the
    meters' interpolated points after that frame, [blocks, BLOCK]."""
    blocks = windows.shape[0]
    rows = windows[:, :_BLOCK + _ROW].reshape(blocks, _BLOCK // _ROW + 1, _ROW)
    z = np.concatenate([rows[:, :-1], rows[:, 1:]], axis=2).reshape(-1, 2 * _ROW)
    values = (z @ matrix).reshape(-1, columns, _ROW)  # column-major, so the max runs over rows of 32
    np.abs(values, out=values)
    return values.max(axis=1).reshape(blocks, _BLOCK)


def true_peak_envelope(samples: np.ndarray, sample_rate: int, *, floor: float = 0.0,
                       within: np.ndarray | None = None, frame_peaks: np.ndarray | None = None,
                       on_progress=None) -> np.ndarray:
    """Per frame (max over channels) the largest |value| either meter reads between this frame
    and the next (the frame's own sample included), float32 [frames].

    Blocks that cannot reach `floor` (by the bank's overshoot bound) are not interpolated;
    their frames hold the plain sample magnitude, which is below `floor` there anyway. With
    `within` (bool per frame), only blocks holding a True frame are measured: frames of the
    other blocks read 0. `frame_peaks`: `_frame_abs_max(samples)`, when already computed.
    `on_progress(envelope, done)`: called as the work moves front to back, with the array being
    filled (the one returned, [frames]) and the count of leading frames whose values are final.
    """
    frames = samples.shape[1]
    blocks = -(-frames // _BLOCK)
    full = np.zeros(blocks * _BLOCK, np.float32)
    done = _Progress(on_progress, full[:frames])
    if frames == 0:
        done(0)
        return full
    marked = None
    if within is not None:
        marks = np.zeros(blocks * _BLOCK, bool)
        marks[:frames] = within
        marked = marks.reshape(blocks, _BLOCK).any(axis=1)
        # only the marked blocks and their neighbours (for the bound) need their magnitudes
        near = marked.copy()
        near[1:] |= marked[:-1]
        near[:-1] |= marked[1:]
        for first, last in _runs(near):
            lo, hi = first * _BLOCK, min(frames, last * _BLOCK)
            full[lo:hi] = _frame_abs_max(samples[:, lo:hi])
    elif frame_peaks is not None:
        full[:frames] = frame_peaks
    filled = frames if (marked is not None or frame_peaks is not None) else 0  # magnitudes known so far
    matrix, bound_factor = _toeplitz(sample_rate)
    columns = matrix.shape[1] // _ROW
    interpolate = columns > 0 and meter_bank(sample_rate)[0].size > 0
    view = full.reshape(blocks, _BLOCK)
    reach = _MARGIN + _ROW
    if blocks > 1 and reach > _BLOCK:  # pragma: no cover - constants keep reach inside one block
        raise AssertionError
    offsets = np.arange(_MARGIN + _BLOCK + reach) - _MARGIN
    # a span of blocks at a time keeps the product in cache and lets `on_progress` hear early
    span = max(1, (_CHUNK_FRAMES if on_progress is None else _PROGRESS_FRAMES) // _BLOCK)
    left_edge = 0.0  # the magnitudes just before a span, as they were before their span was interpolated
    # one buffer for every span: a fresh half-megabyte array per span costs its page faults each time
    scratch = None
    for b0 in range(0, blocks, span):
        b1 = min(blocks, b0 + span)
        upto = min(frames, (b1 + 1) * _BLOCK)  # the next block's first frames bound this span's last
        if filled < upto:
            full[filled:upto] = _frame_abs_max(samples[:, filled:upto])
            filled = upto
        if not interpolate:
            done(b1 * _BLOCK)
            continue
        rows = view[b0:b1]
        core = rows.max(axis=1)
        left = np.concatenate([[left_edge], rows[:-1, -_MARGIN:].max(axis=1)])
        right = view[b0 + 1:b1 + 1, :reach].max(axis=1)
        if b1 == blocks:
            right = np.concatenate([right, [0.0]])
        left_edge = float(rows[-1, -_MARGIN:].max())
        bound = np.maximum(core, np.maximum(left, right)) * bound_factor
        wanted = bound >= floor
        if marked is not None:
            wanted &= marked[b0:b1]
        chosen = b0 + np.flatnonzero(wanted)
        if chosen.size:
            if scratch is None:
                scratch = np.empty((span, _BLOCK), np.float32)
            part = _interpolate_blocks(samples, chosen, offsets, matrix, columns, scratch[:chosen.size])
            view[chosen] = np.maximum(view[chosen], part)
        done(b1 * _BLOCK)
    done(frames)
    return full[:frames]


def _interpolate_blocks(samples: np.ndarray, chosen: np.ndarray, offsets: np.ndarray, matrix: np.ndarray,
                        columns: int, part: np.ndarray) -> np.ndarray:
    """Into `part` [len(chosen), BLOCK]: per frame of each chosen block, the largest |value| over
    channels of the meters' interpolated points after that frame."""
    frames = samples.shape[1]
    index = chosen[:, None] * _BLOCK + offsets[None, :]
    outside = (index < 0) | (index >= frames)
    clipped = np.clip(index, 0, frames - 1)
    part.fill(0.0)
    for channel in range(samples.shape[0]):
        data = np.asarray(samples[channel], dtype=np.float32)
        windows = data[clipped]
        if outside.any():
            windows[outside] = 0.0
        np.maximum(part, _interpolated_max(windows, matrix, columns), out=part)
        if chosen[0] == 0:
            # ffmpeg mirrors the first samples into its filter history: x[-n] = x[n]
            mirrored = windows[:1].copy()
            head = min(_MARGIN, frames - 1)
            mirrored[0, _MARGIN - head:_MARGIN] = data[1:head + 1][::-1]
            np.maximum(part[:1], _interpolated_max(mirrored, matrix, columns), out=part[:1])
    return part


class _Progress:
    """Calls `on_progress(envelope, done)` when `done` moved (and not at all without a callback)."""

    def __init__(self, on_progress, envelope: np.ndarray) -> None:
        self.on_progress, self.envelope, self.done = on_progress, envelope, -1

    def __call__(self, done: int) -> None:
        done = min(done, self.envelope.size)
        if self.on_progress is not None and done > self.done:
            self.done = done
            self.on_progress(self.envelope, done)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[first, last) index ranges of the True runs in a bool array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[False], mask, [False]]).astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def true_peak(samples: np.ndarray, sample_rate: int) -> float:
    """Largest true peak (linear) that ffmpeg's ebur128 or libebur128 reads."""
    frame_peaks = _frame_abs_max(samples) if samples.size else np.zeros(0, np.float32)
    peak = float(frame_peaks.max()) if frame_peaks.size else 0.0
    if peak == 0.0:
        return 0.0
    return float(true_peak_envelope(samples, sample_rate, floor=peak, frame_peaks=frame_peaks).max())


def true_peak_db(samples: np.ndarray, sample_rate: int) -> float:
    """True peak in dBTP (-inf for digital silence)."""
    value = true_peak(samples, sample_rate)
    return gain_to_db(value) if value > 0 else float("-inf")


def clipping_count(samples: np.ndarray, threshold: float = 0.999) -> int:
    """Samples at (or over) full scale: the tell-tale of clipping."""
    return int(np.count_nonzero(np.abs(samples) >= threshold))


def _limit_gain(envelope: np.ndarray, ceiling: float, attack: int, release: int) -> np.ndarray:
    """A smooth gain curve that is never above ceiling/envelope at any frame.

    Min-filter the required gain over [n - attack, n + attack] (the lookahead), then average
    over a window of attack+1: every value averaged is already below the requirement at n, so
    the mean is too. A slower release (hold, then ramp) is a min with a second such curve.
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    with np.errstate(divide="ignore"):
        required = np.minimum(1.0, ceiling / np.maximum(envelope.astype(np.float64), 1e-12))
    fast = uniform_filter1d(minimum_filter1d(required, size=2 * attack + 1, mode="nearest"),
                            size=attack + 1, mode="nearest")
    # hold for `release` frames after each reduction (window [n - release, n]), then ramp out
    release += release % 2  # an odd window, so the origin shift below is exact
    held = minimum_filter1d(fast, size=release + 1, origin=release // 2, mode="nearest")
    smooth_release = uniform_filter1d(held, size=release + 1, mode="nearest")
    return np.minimum(fast, smooth_release)


def _segments(over: np.ndarray, reach: int, frames: int) -> list[tuple[int, int]]:
    """Frame ranges around over-ceiling frames, each padded by `reach` and merged when close."""
    index = np.flatnonzero(over)
    if index.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(index) > 2 * reach)
    firsts = np.concatenate([[index[0]], index[breaks + 1]])
    lasts = np.concatenate([index[breaks], [index[-1]]])
    return [(max(0, int(a) - reach), min(frames, int(b) + reach + 1)) for a, b in zip(firsts, lasts)]


def limit_true_peak(samples: np.ndarray, sample_rate: int, ceiling_dbtp: float = -1.0, *,
                    lookahead_ms: float = 1.5, release_ms: float = 60.0, on_candidate=None,
                    owned: bool = False, edits: list | None = None) -> tuple[np.ndarray, dict]:
    """Lookahead brick-wall limiter: the result's true peak is <= `ceiling_dbtp`, guaranteed.

    Returns (limited samples, report). The gain curve is shared by all channels (no image
    shift) and is computed only around the frames that need it; everything else is left
    bit-identical. A final check re-measures the true peak where the gain moved and, if the
    gain's own movement pushed an interpolated value over, tightens the ceiling and runs again.

    `on_candidate(growing)`: called as each pass starts with its output as `io.GrowingSamples`:
    the first pass works front to back while it measures, and its frames become final as it
    goes, so an encode can follow them (`io.write_audio`); a pass's output is never changed
    once offered. `owned`: `samples` may be modified in place (the caller made it and keeps no
    other use of it), which spares a copy. `edits`: a list that receives the frame ranges the
    returned samples differ from the input in.
    """
    ceiling = db_to_gain(ceiling_dbtp)
    frames = samples.shape[1]
    attack = max(1, int(round(lookahead_ms * 1e-3 * sample_rate)))
    release = max(attack, int(round(release_ms * 1e-3 * sample_rate)))
    target = ceiling * db_to_gain(-0.02)  # a hair of margin so one pass nearly always suffices
    first = _FirstPass(samples, sample_rate, target, ceiling, attack, release, owned=owned,
                       on_candidate=on_candidate)
    envelope = first.run()
    out = first.out if first.out is not None else samples
    before = float(envelope.max()) if envelope.size else 0.0
    if before < target:  # blocks under `target` were not interpolated: measure the true peak itself
        before = true_peak(samples, sample_rate)
    report = {"ceiling_dbtp": ceiling_dbtp, "input_true_peak_dbtp": _db(before), "max_reduction_db": 0.0,
              "limited_frames": 0, "passes": 0, "true_peak_dbtp": _db(before)}
    if before <= ceiling:  # nothing was applied: the first pass waits until an over is certain
        return out, report
    segments, touched, smallest_gain, limited = first.segments, first.touched, first.smallest_gain, first.limited
    kept = first.kept
    for attempt in range(6):
        if attempt:
            segments = _segments(envelope > target, first.reach, frames)
            if kept:  # the input again, in a new array: the one offered before is left as it was
                samples = samples.copy()
                for start, stop, held in kept:
                    samples[:, start:stop] = held
                kept = []
            out = samples.copy()
            touched = np.zeros(frames, bool)
            smallest_gain, limited = 1.0, 0
            for start, stop in segments:
                lowest, count = _apply_gain(out, envelope, start, stop, target, attack, release, touched)
                smallest_gain, limited = min(smallest_gain, lowest), limited + count
            if on_candidate is not None:
                on_candidate(GrowingSamples.complete(out))
        report["passes"] = attempt + 1
        # untouched frames keep their measured envelope; re-measure only where the gain moved
        checked = true_peak_envelope(out, sample_rate, floor=0.0, within=touched)
        after = max(float(envelope[~touched].max(initial=0.0)), float(checked[touched].max(initial=0.0)))
        if after <= ceiling:
            break
        target *= ceiling / after * db_to_gain(-0.01)
    else:  # pragma: no cover - converges in 1-2 passes; a static trim is the last resort
        out = (out * (ceiling / after) * db_to_gain(-0.01)).astype(np.float32)
        after = true_peak(out, sample_rate)
        if on_candidate is not None:
            on_candidate(GrowingSamples.complete(out))
        segments = None  # the whole file changed
    if edits is not None:
        edits[:] = [(0, frames)] if segments is None else segments
    report["max_reduction_db"] = round(-gain_to_db(smallest_gain), 3)
    report["limited_frames"] = limited
    report["true_peak_dbtp"] = _db(after)
    return out, report


class _FirstPass:
    """The limiter's first pass, run front to back while the envelope is measured.

    Its segments are exactly `_segments(envelope > target, reach, frames)`: a group of over
    frames is closed once the envelope is known far enough past its last over frame that no
    later one could join it. A closed segment's gain is applied as soon as limiting is certain
    (some frame is over the ceiling itself: below that the input is returned untouched), and the
    frames before the first segment still open or unapplied are final (`GrowingSamples`).
    """

    def __init__(self, samples: np.ndarray, sample_rate: int, target: float, ceiling: float, attack: int,
                 release: int, *, owned: bool, on_candidate) -> None:
        self.samples, self.rate = samples, sample_rate
        self.target, self.ceiling, self.attack, self.release = target, ceiling, attack, release
        self.frames = samples.shape[1]
        self.reach = 2 * (attack + release) + 2  # how far a reduction's gain curve can spread
        self.owned = owned
        # the output: the input itself when owned; else a copy, made up front only if it is offered
        self.out = samples if owned else (samples.copy() if on_candidate is not None else None)
        self.growing = GrowingSamples(self.out) if on_candidate is not None else None
        self.on_candidate = on_candidate
        self.measured = 0
        self.certain = False
        self.open: tuple[int, int] | None = None  # (first, last) over frame of the group still growing
        self.queued: list[tuple[int, int]] = []  # closed segments not applied yet
        self.segments: list[tuple[int, int]] = []
        self.kept: list[tuple[int, int, np.ndarray]] = []  # owned: what the applied segments held
        self.touched = np.zeros(self.frames, bool)
        self.smallest_gain, self.limited = 1.0, 0

    def run(self) -> np.ndarray:
        if self.growing is not None:
            self.on_candidate(self.growing)
        try:
            # frames under `target` by the bound are never over it: only the rest is interpolated
            return true_peak_envelope(self.samples, self.rate, floor=self.target, on_progress=self._progress)
        except BaseException:
            if self.growing is not None:
                self.growing.abandon()
            raise

    def _progress(self, envelope: np.ndarray, done: int) -> None:
        new = envelope[self.measured:done]
        if new.size:
            if not self.certain and float(new.max()) > self.ceiling:
                self.certain = True
            self._group(np.flatnonzero(new > self.target) + self.measured)
        self.measured = done
        if self.open is not None and (self.open[1] + 2 * self.reach < done or done >= self.frames):
            self._queue(*self.open)
            self.open = None
        if self.certain:
            for start, stop in self.queued:
                self._apply(envelope, start, stop)
            self.queued = []
        if self.growing is None:
            return
        if done >= self.frames and not self.certain:
            self.growing.extend_to(self.frames)  # nothing is over the ceiling: the input is the output
            return
        frontier = self.frames if done >= self.frames else done - self.reach
        if self.open is not None:
            frontier = min(frontier, self.open[0] - self.reach)
        if self.queued:
            frontier = min(frontier, self.queued[0][0])
        self.growing.extend_to(max(0, frontier))

    def _group(self, over: np.ndarray) -> None:
        """Add over frames (ascending, all after the earlier ones) to the groups."""
        if over.size == 0:
            return
        gaps = np.flatnonzero(np.diff(over) > 2 * self.reach)
        groups = list(zip(np.concatenate([over[:1], over[gaps + 1]]).tolist(),
                          np.concatenate([over[gaps], over[-1:]]).tolist()))
        if self.open is not None:
            if groups[0][0] - self.open[1] <= 2 * self.reach:
                groups[0] = (self.open[0], groups[0][1])
            else:
                groups.insert(0, self.open)
        self.open = groups.pop()  # the last group may still grow
        for first, last in groups:
            self._queue(first, last)

    def _queue(self, first: int, last: int) -> None:
        self.queued.append((max(0, first - self.reach), min(self.frames, last + self.reach + 1)))

    def _apply(self, envelope: np.ndarray, start: int, stop: int) -> None:
        if self.out is None:
            self.out = self.samples.copy()
        if self.owned:  # kept should another pass need the input
            self.kept.append((start, stop, self.samples[:, start:stop].copy()))
        lowest, count = _apply_gain(self.out, envelope, start, stop, self.target, self.attack, self.release,
                                    self.touched)
        self.smallest_gain, self.limited = min(self.smallest_gain, lowest), self.limited + count
        self.segments.append((start, stop))


def _apply_gain(out: np.ndarray, envelope: np.ndarray, start: int, stop: int, target: float, attack: int,
                release: int, touched: np.ndarray) -> tuple[float, int]:
    """Limit one segment of `out` in place; (its smallest gain, frames it reduced)."""
    gain = _limit_gain(envelope[start:stop], target, attack, release)
    out[:, start:stop] *= gain.astype(np.float32)[None, :]
    touched[start:stop] = True
    return float(gain.min()), int(np.count_nonzero(gain < 0.9999))


def _db(value: float) -> float:
    return round(gain_to_db(value), 3) if value > 0 else float("-inf")

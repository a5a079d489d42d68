"""Outside meters as test-time judges: ffmpeg's `ebur128` filter and libebur128 (pyebur128).

Both are what users check a delivered file with. Neither is a product dependency: CI installs
the Debian `ffmpeg` package and the `dev` extra (pyebur128). They are not optional here: a test
that uses them fails, rather than skips, when one is missing.
"""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path

import numpy as np

# ffmpeg's names for the channel layouts the tests use
_FFMPEG_LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1"}


def _db(value: float) -> float:
    return 20 * math.log10(value) if value > 0 else float("-inf")


def ffmpeg_levels(source: str | Path | np.ndarray, rate: int | None = None) -> dict:
    """{"lufs", "true_peak_dbtp"} from `ffmpeg -af ebur128=peak=true`, of a file or of
    float32 [channels, frames] piped in (as 5.1 for six channels). ffmpeg resamples to 192 kHz
    for its true peak; its per-frame metadata carries three decimals (the summary only one)."""
    if isinstance(source, np.ndarray):
        channels = source.shape[0]
        data = np.ascontiguousarray(source.T, dtype="<f4").tobytes()
        inputs = ["-f", "f32le", "-ar", str(rate), "-ac", str(channels)]
        if channels in _FFMPEG_LAYOUTS:
            inputs += ["-channel_layout", _FFMPEG_LAYOUTS[channels]]
        inputs += ["-i", "-"]
    else:
        data = None
        inputs = ["-i", str(source)]
    def run(pad: bool) -> str:
        chain = "ebur128=peak=true:metadata=1,ametadata=mode=print:file=-"
        command = ["ffmpeg", "-hide_banner", "-nostats", "-loglevel", "error", *inputs, "-af",
                   ("apad=pad_dur=0.5," if pad else "") + chain, "-f", "null", "-"]
        done = subprocess.run(command, input=data, capture_output=True, check=True)
        return done.stdout.decode()

    # loudness of the file as it is; true peak with 0.5 s of silence padded, so that the last
    # partial 100 ms frame is measured and reported too
    integrated = re.findall(r"lavfi\.r128\.I=(-?[\d.]+|-?inf)", run(False))
    peaks = [float(v) for v in re.findall(r"lavfi\.r128\.true_peak=([\d.]+)", run(True))]
    assert integrated and peaks, "ffmpeg printed no ebur128 metadata"
    return {"lufs": float(integrated[-1]), "true_peak_dbtp": _db(max(peaks))}


def libebur128_levels(samples: np.ndarray, rate: int, channel_types: list | None = None) -> dict:
    """{"lufs", "true_peak_dbtp"} from libebur128 (pyebur128) of float32 [channels, frames].

    `channel_types`: pyebur128.ChannelType per channel; default libebur128's own (L, R, C, Ls,
    Rs in order), except that six channels are taken as 5.1 FL FR FC LFE BL BR (LFE unused)."""
    import pyebur128

    channels, frames = samples.shape
    mode = pyebur128.MeasurementMode.MODE_I | pyebur128.MeasurementMode.MODE_TRUE_PEAK
    state = pyebur128.R128State(channels, rate, mode)
    types = pyebur128.ChannelType
    if channel_types is None and channels == 6:
        channel_types = [types.LEFT, types.RIGHT, types.CENTER, types.UNUSED, types.LEFT_SURROUND,
                         types.RIGHT_SURROUND]
    for index, kind in enumerate(channel_types or []):
        state.set_channel(index, kind)
    interleaved = np.ascontiguousarray(samples.T, dtype=np.float64).ravel()
    state.add_frames(interleaved, frames)
    lufs = pyebur128.get_loudness_global(state)
    peak = max(pyebur128.get_true_peak(state, c) for c in range(channels))
    return {"lufs": float(lufs), "true_peak_dbtp": _db(peak)}


def decode(path: str | Path) -> tuple[np.ndarray, int]:
    """A file's decoded samples, float32 [channels, frames] (soundfile)."""
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return np.ascontiguousarray(data.T), rate

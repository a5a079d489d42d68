"""Writing one finished audio file to a path the user chose: whole or not at all, and with
lossy encoders kept under the true-peak ceiling."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

MAX_LOSSY_TRIES = 6


def resolve_output_path(source: Path, output: str | None, fmt: str | None) -> tuple[Path, str]:
    from aimusic.audio.io import FORMATS, format_for
    from aimusic.errors import InputError, UsageError

    if output is None:
        ext = fmt or (source.suffix.lstrip(".").lower() if source.suffix.lstrip(".").lower() in FORMATS else "wav")
        out = source.with_name(f"{source.stem}.finished.{ext}")
        out_fmt = format_for(ext)
    else:
        out = Path(output).expanduser()
        if out.is_dir():
            raise InputError(f"-o {out} is a directory; give a file name", field="output")
        suffix = out.suffix.lstrip(".").lower()
        if fmt and suffix and suffix in FORMATS and format_for(suffix) != fmt:
            raise UsageError(f"-o {out.name} says .{suffix} but --format says {fmt}")
        out_fmt = format_for(fmt or (suffix if suffix else "wav"))
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"output folder {parent} does not exist", field="output")
    if not os.access(parent, os.W_OK):
        raise InputError(f"output folder {parent} is not writable", field="output")
    if out.exists() and source.exists() and os.path.samefile(out, source):
        raise UsageError(f"refusing to overwrite the input {source}; choose another -o")
    return out, out_fmt


def lossy_rate(fmt: str, rate: int) -> int | None:
    """MP3/Ogg accept only some rates; pick the output rate up front so --length stays exact."""
    from aimusic.audio.io import _LOSSY_RATES

    if fmt in ("mp3", "ogg") and rate not in _LOSSY_RATES:
        return 48000 if rate > 44100 else 44100
    return None


def staged_encode(path: Path, rate: int, fmt: str):
    """`encode(samples)` writing a StagedFile beside `path` (for `EncodeAhead`), and its `discard`."""
    from aimusic.audio.io import write_audio
    from aimusic.output.staging import StagedFile

    parent = path.parent if str(path.parent) else Path(".")

    def encode(samples: Any):
        staged = StagedFile(parent, "." + fmt)
        try:
            write_audio(staged.path, samples, rate, fmt)
        except BaseException:
            staged.close()
            raise
        return staged

    return encode, lambda staged: staged.close()


def write_audio_file(path: Path, samples: Any, rate: int, fmt: str, ceiling_dbtp: float | None,
                     *, target_lufs: float | None = None, retarget: Any = None, encoded: Any = None) -> dict:
    """Encode into an unnamed staged file, then give it its name in one rename.

    A lossy encode (MP3/Ogg) is decoded and measured: when its integrated loudness is more than
    0.15 LU off `target_lufs` or its true peak over the ceiling, `retarget(loudness_offset_db,
    ceiling_offset_db)` re-runs the finishing with aims moved by what the encoder did, and the
    file is encoded again (at most MAX_LOSSY_TRIES encodes, the closest one kept). The returned
    figures are the decoded file's. `encoded`: a StagedFile already holding `samples` encoded
    as `fmt` (see `staged_encode`), lossless formats only; it is used instead of encoding again."""
    from aimusic.audio.finish import LOSSY_LOUDNESS_TOLERANCE_LU, check_decoded
    from aimusic.audio.io import db_to_gain, read_audio, write_audio
    from aimusic.output.staging import StagedFile

    info: dict[str, Any] = {"format": fmt, "sample_rate": rate}
    parent = path.parent if str(path.parent) else Path(".")
    lossy = fmt in ("mp3", "ogg") and (ceiling_dbtp is not None or target_lufs is not None)
    staged = None
    kept = None
    loud_offset = ceiling_offset = 0.0
    trims = 0
    base = samples  # what a plain trim scales: the samples before this run of trims
    try:
        for attempt in range(MAX_LOSSY_TRIES):
            if encoded is not None and not lossy and attempt == 0:
                staged, encoded = encoded, None
            else:
                staged = StagedFile(parent, "." + fmt)
                write_audio(staged.path, samples, rate, fmt)
            if not lossy:
                kept = staged
                break
            decoded, decoded_rate = read_audio(staged.path)
            ok, figures, loud_step, ceiling_step = check_decoded(decoded, decoded_rate, target_lufs, ceiling_dbtp)
            good = ceiling_step == 0.0 and abs(loud_step) <= LOSSY_LOUDNESS_TOLERANCE_LU
            score = (not good, abs(loud_step) - ceiling_step * 10)
            if kept is None or score < kept[0]:
                if kept is not None:
                    kept[1].close()
                kept = (score, staged, figures, attempt + 1, loud_offset, ceiling_offset)
            else:
                staged.close()
            if ok or attempt == MAX_LOSSY_TRIES - 1:
                break
            # a hair over: the same samples a little quieter; the encoder is not linear, so the
            # trim is 0.15 dB more than the excess (within the loudness tolerance)
            trims = trims + 1 if -0.1 < ceiling_step < 0 else 0
            trim = ceiling_step - 0.15 * max(1, trims) if ceiling_step < 0 else loud_step
            small = -0.1 < ceiling_step <= 0 and abs(loud_step + min(0.0, trim)) <= LOSSY_LOUDNESS_TOLERANCE_LU * 0.9
            if retarget is not None and not small:
                # aim the finishing again by what the encoder did; its overshoot does not shrink
                # in proportion to the limiter's ceiling, so the correction is overdone (1.5x)
                loud_offset += loud_step
                ceiling_offset += 1.5 * ceiling_step - 0.05 if ceiling_step < 0 else 0.0
                samples = retarget(loud_offset, ceiling_offset)
            else:  # a hair off: the same encode a little quieter or louder
                if trims <= 1:
                    base = samples
                samples = base * db_to_gain(trim)
                loud_offset += trim
        if lossy:
            _, staged, figures, encodes, loud_offset, ceiling_offset = kept
            info.update({"decoded": figures, "encodes": encodes, "loudness_offset_db": round(loud_offset, 3),
                         "ceiling_offset_db": round(ceiling_offset, 3),
                         "decoded_true_peak_dbtp": figures["true_peak_dbtp"]})
        else:
            staged = kept
        temporary = parent / f".{path.name}.{os.getpid()}.new"
        staged.link(temporary)
        try:
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    finally:
        if staged is not None:
            staged.close()
        if lossy and kept is not None:
            kept[1].close()
    return info

"""Writing one finished audio file to a path the user chose: whole or not at all, and with
lossy encoders kept under the true-peak ceiling."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

MAX_LOSSY_TRIES = 3


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


def write_audio_file(path: Path, samples: Any, rate: int, fmt: str, ceiling_dbtp: float | None) -> dict:
    """Encode into an unnamed staged file, then give it its name in one rename. Lossy encoders
    can push the true peak up: decode, check, and re-encode a little quieter if they did."""
    from aimusic.audio.io import db_to_gain, read_audio, write_audio
    from aimusic.audio.peak import true_peak_db
    from aimusic.output.staging import StagedFile

    info: dict[str, Any] = {"format": fmt, "sample_rate": rate}
    parent = path.parent if str(path.parent) else Path(".")
    lossy = fmt in ("mp3", "ogg")
    staged = None
    try:
        for attempt in range(MAX_LOSSY_TRIES):
            staged = StagedFile(parent, "." + fmt)
            write_audio(staged.path, samples, rate, fmt)
            if not lossy or ceiling_dbtp is None:
                break
            decoded, decoded_rate = read_audio(staged.path)
            measured = true_peak_db(decoded, decoded_rate)
            info["decoded_true_peak_dbtp"] = round(measured, 3)
            if measured <= ceiling_dbtp or attempt == MAX_LOSSY_TRIES - 1:
                break
            trim = ceiling_dbtp - measured - 0.1
            samples = samples * db_to_gain(trim)
            info["encoder_overshoot_trim_db"] = round(info.get("encoder_overshoot_trim_db", 0.0) + trim, 3)
            staged.close()
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
    return info

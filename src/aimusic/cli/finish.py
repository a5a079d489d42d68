"""`aimusic finish` (loudness, true peak, fades, trimming, loops, length, format) and `aimusic analyze`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from aimusic.cli.common import format_option, json_option, notice, print_json

# literal here so `finish --help` does not import numpy; aimusic.audio.finish.PRESETS is the truth
PRESET_NAMES = ["streaming", "broadcast", "podcast", "none"]
DEFAULT_PRESET = "streaming"
FADE_SHAPES = ["linear", "sine", "scurve", "exp"]
MAX_LOSSY_TRIES = 3


@click.command()
@click.argument("audio", type=click.Path())
@click.option("-o", "--output", default=None, type=click.Path(),
              help="Output file (format from its extension). Default: <name>.finished.<ext> beside AUDIO.")
@click.option("--preset", type=click.Choice(PRESET_NAMES), default=None,
              help=f"Loudness/true-peak preset (default {DEFAULT_PRESET}): streaming -14 LUFS, broadcast -23 "
                   "LUFS (EBU R128), podcast -16 LUFS, all -1 dBTP; none leaves the level alone.")
@click.option("--loudness", type=float, default=None, help="Integrated loudness target, LUFS (instead of --preset).")
@click.option("--true-peak", "true_peak", type=float, default=None,
              help="True-peak ceiling, dBTP (default -1 with any loudness target).")
@click.option("--fade-in", type=float, default=0.0, show_default=True, help="Fade-in, seconds.")
@click.option("--fade-out", type=float, default=None,
              help="Fade-out, seconds (with --length: the fade at the cut; default 10% of it, 0.5-3 s).")
@click.option("--fade-in-shape", type=click.Choice(FADE_SHAPES), default="sine", show_default=True)
@click.option("--fade-out-shape", type=click.Choice(FADE_SHAPES), default="exp", show_default=True)
@click.option("--trim-silence", is_flag=True, help="Cut leading and trailing silence (below -60 dBFS).")
@click.option("--loop", is_flag=True, help="Make a seamless loop of whole bars (near --length if given).")
@click.option("--length", type=float, default=None,
              help="Exact length in seconds: cut with a fade-out, or loop-extend. With --loop: whole bars nearest.")
@click.option("--match-video", type=click.Path(), default=None, help="Set --length to this video's duration.")
@click.option("--sample-rate", type=int, default=None, help="Output sample rate (soxr VHQ resampling).")
@format_option
@json_option
def finish(audio: str, output: str | None, preset: str | None, loudness: float | None, true_peak: float | None,
           fade_in: float, fade_out: float | None, fade_in_shape: str, fade_out_shape: str, trim_silence: bool,
           loop: bool, length: float | None, match_video: str | None, sample_rate: int | None,
           fmt: str | None, as_json: bool) -> None:
    """Make AUDIO ready to publish: loudness, true peak, fades, silence, loop, length, format.

    \b
    aimusic finish take.wav                          # streaming: -14 LUFS, -1 dBTP
    aimusic finish take.wav --preset broadcast -o take-r128.flac
    aimusic finish take.wav --loop --length 16       # seamless loop of whole bars near 16 s
    aimusic finish take.wav --match-video clip.mp4 --fade-in 0.5
    """
    from aimusic.audio.finish import PRESETS
    from aimusic.audio.finish import finish as run_finish
    from aimusic.audio.io import read_audio
    from aimusic.errors import UsageError

    if preset is not None and loudness is not None:
        raise UsageError("give either --preset or --loudness, not both")
    if match_video is not None:
        if length is not None:
            raise UsageError("give either --length or --match-video, not both")
        from aimusic.audio.video import video_duration

        length = video_duration(match_video)
    source = Path(audio).expanduser()
    out_path, out_fmt = _output_path(source, output, fmt)
    if loudness is None:
        settings = PRESETS[preset or DEFAULT_PRESET]
        loudness = settings["loudness"]
        if true_peak is None:
            true_peak = settings["true_peak"]
    samples, rate = read_audio(source)
    output_rate = sample_rate or _lossy_rate(out_fmt, rate)
    samples, rate, report = run_finish(
        samples, rate, loudness_lufs=loudness, true_peak_dbtp=true_peak, fade_in_s=fade_in,
        fade_out_s=fade_out, trim_silence=trim_silence, loop=loop, length_s=length, output_rate=output_rate,
        fade_in_shape=fade_in_shape, fade_out_shape=fade_out_shape)
    ceiling = true_peak if true_peak is not None else (-1.0 if loudness is not None else None)
    report["encode"] = _write_atomic(out_path, samples, rate, out_fmt, ceiling)
    if match_video is not None:
        report["match_video"] = {"file": str(match_video), "duration_s": round(length, 6)}
    if as_json:
        print_json({"input": str(source), "output": str(out_path), "format": out_fmt, "report": report})
        return
    click.echo(str(out_path))
    result = report["output"]
    seam = report.get("seam")
    seam_text = f", loop seam {seam['score']} ({'seamless' if seam['seamless'] else 'audible'})" if seam else ""
    notice(f"finished: {_fmt(result['integrated_lufs'], 'LUFS')}, {_fmt(result['true_peak_dbtp'], 'dBTP')}, "
           f"{result['duration_s']:.3f} s at {rate} Hz{seam_text}")


def _fmt(value: float | None, unit: str) -> str:
    return f"{value:.1f} {unit}" if value is not None else f"silent ({unit} n/a)"


def _output_path(source: Path, output: str | None, fmt: str | None) -> tuple[Path, str]:
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


def _lossy_rate(fmt: str, rate: int) -> int | None:
    """MP3/Ogg accept only some rates; pick the output rate up front so --length stays exact."""
    from aimusic.audio.io import _LOSSY_RATES

    if fmt in ("mp3", "ogg") and rate not in _LOSSY_RATES:
        return 48000 if rate > 44100 else 44100
    return None


def _write_atomic(path: Path, samples: Any, rate: int, fmt: str, ceiling_dbtp: float | None) -> dict:
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


@click.command()
@click.argument("audio", type=click.Path())
@click.option("--plot", "plot_path", type=click.Path(), default=None,
              help="Also draw waveform, loudness, sections and beats to this PNG.")
@json_option
def analyze(audio: str, plot_path: str | None, as_json: bool) -> None:
    """Measure AUDIO: loudness, LRA, true peak, clipping, tempo, key, silences, sections, loopability."""
    from aimusic.audio.analysis import analyze as run_analysis
    from aimusic.audio.io import read_audio
    from aimusic.errors import InputError

    plot_file = None
    if plot_path is not None:
        plot_file = Path(plot_path).expanduser()
        if plot_file.suffix.lower() != ".png":
            raise InputError("--plot writes a PNG: give a file name ending in .png", field="plot")
        parent = plot_file.parent if str(plot_file.parent) else Path(".")
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            raise InputError(f"cannot write the plot into {parent}", field="plot")
    source = Path(audio).expanduser()
    samples, rate = read_audio(source)
    result = run_analysis(samples, rate)
    result = {"file": str(source), **result}
    if plot_file is not None:
        from aimusic.audio.plot import plot_analysis

        plot_analysis(samples, rate, result, plot_file)
        result["plot"] = str(plot_file)
    if as_json:
        print_json(result)
        return
    click.echo(_table(result))


def _table(r: dict) -> str:
    def num(value: Any, unit: str, digits: int = 1) -> str:
        return "n/a" if value is None else f"{value:.{digits}f} {unit}"

    key = r.get("key") or {}
    pitch = r.get("dominant_pitch") or {}
    seam = r.get("loop_seam") or {}
    silences = ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in r["silent_regions"][:6]) or "none"
    if len(r["silent_regions"]) > 6:
        silences += f" (+{len(r['silent_regions']) - 6} more)"
    sections = ", ".join(f"{t:.1f}" for t in r["sections_s"])
    rows = [
        ("file", r["file"]),
        ("duration", f"{r['duration_s']:.3f} s, {r['sample_rate']} Hz, {r['channels']} ch"),
        ("loudness", f"{num(r['integrated_lufs'], 'LUFS')} integrated, range {num(r['loudness_range_lu'], 'LU')}"),
        ("true peak", f"{num(r['true_peak_dbtp'], 'dBTP', 2)} (sample peak {num(r['sample_peak_dbfs'], 'dBFS', 2)}),"
                      f" {r['clipped_samples']} clipped samples"),
        ("tempo", f"{num(r['tempo_bpm'], 'BPM')}, {r['beat_count']} beats"),
        ("key", f"{key.get('name', 'n/a')}" + (f" (confidence {key['confidence']:.2f})" if key else "")
         + (f"; strongest pitch {pitch['note']} {pitch['hz']:.1f} Hz" if pitch else "")),
        ("silence", silences),
        ("sections", f"boundaries at {sections} s" if sections else "one section"),
        ("loop", f"seam {seam['score']} ({'seamless' if seam['seamless'] else 'audible'} wrap), "
                 f"loopability {r['loopability']}" if seam else "too short to judge"),
    ]
    if r.get("plot"):
        rows.append(("plot", r["plot"]))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)

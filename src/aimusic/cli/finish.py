"""`aimusic finish` (loudness, true peak, fades, trimming, loops, length, format) and `aimusic analyze`."""

from __future__ import annotations

from typing import Any

import click

from aimusic.cli.common import FINITE_FLOAT, format_option, json_option, notice, print_json

# literal here so `finish --help` does not import numpy; aimusic.audio.finish.PRESETS is the truth
PRESET_NAMES = ["streaming", "broadcast", "podcast", "none"]
DEFAULT_PRESET = "streaming"
FADE_SHAPES = ["linear", "sine", "scurve", "exp"]


@click.command()
@click.argument("audio", type=click.Path())
@click.option("-o", "--output", default=None, type=click.Path(),
              help="Output file (format from its extension). Default: <name>.finished.<ext> beside AUDIO.")
@click.option("--preset", type=click.Choice(PRESET_NAMES), default=None,
              help=f"Loudness/true-peak preset (default {DEFAULT_PRESET}): streaming -14 LUFS, broadcast -23 "
                   "LUFS (EBU R128), podcast -16 LUFS, all -1 dBTP; none leaves the level alone.")
@click.option("--loudness", type=FINITE_FLOAT, default=None, help="Integrated loudness target, LUFS (instead of --preset).")
@click.option("--true-peak", "true_peak", type=FINITE_FLOAT, default=None,
              help="True-peak ceiling, dBTP (default -1 with any loudness target).")
@click.option("--fade-in", type=FINITE_FLOAT, default=0.0, show_default=True, help="Fade-in, seconds.")
@click.option("--fade-out", type=FINITE_FLOAT, default=None,
              help="Fade-out, seconds (with --length: the fade at the cut; default 10% of it, 0.5-3 s).")
@click.option("--fade-in-shape", type=click.Choice(FADE_SHAPES), default="sine", show_default=True)
@click.option("--fade-out-shape", type=click.Choice(FADE_SHAPES), default="exp", show_default=True)
@click.option("--trim-silence", is_flag=True, help="Cut leading and trailing silence (below -60 dBFS).")
@click.option("--loop", is_flag=True, help="Make a seamless loop of whole bars (near --length if given).")
@click.option("--length", type=FINITE_FLOAT, default=None,
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
    from aimusic import api

    result = api.finish(audio, output=output, preset=preset, loudness=loudness, true_peak=true_peak,
                        fade_in=fade_in, fade_out=fade_out, fade_in_shape=fade_in_shape,
                        fade_out_shape=fade_out_shape, trim_silence=trim_silence, loop=loop, length=length,
                        match_video=match_video, sample_rate=sample_rate, format=fmt)
    report, out_path, rate = result["report"], result["output"], result["sample_rate"]
    if as_json:
        print_json({k: v for k, v in result.items() if k != "sample_rate"})
        return
    click.echo(str(out_path))
    result = report["output"]
    seam = report.get("seam")
    seam_text = f", loop seam {seam['score']} ({'seamless' if seam['seamless'] else 'audible'})" if seam else ""
    notice(f"finished: {_fmt(result['integrated_lufs'], 'LUFS')}, {_fmt(result['true_peak_dbtp'], 'dBTP')}, "
           f"{result['duration_s']:.3f} s at {rate} Hz{seam_text}")


def _fmt(value: float | None, unit: str) -> str:
    return f"{value:.1f} {unit}" if value is not None else f"silent ({unit} n/a)"


@click.command()
@click.argument("audio", type=click.Path())
@click.option("--plot", "plot_path", type=click.Path(), default=None,
              help="Also draw waveform, loudness, sections and beats to this PNG.")
@json_option
def analyze(audio: str, plot_path: str | None, as_json: bool) -> None:
    """Measure AUDIO: loudness, LRA, true peak, clipping, tempo, key, silences, sections, loopability."""
    from aimusic import api

    result = api.analyze(audio, plot=plot_path)
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

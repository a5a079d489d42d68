"""`aimusic lyrics check|romanize FILE`: lyric checks, languages, romanisation for ACE-Step v1."""

from __future__ import annotations

import click

from aimusic.cli.common import json_option, print_json


def _read(file: str) -> str:
    """FILE, '-' for stdin; 66 when it cannot be read."""
    import sys

    from aimusic.errors import InputError
    from aimusic.schemas import read_text_file

    if file == "-":
        return sys.stdin.read()
    text = read_text_file(file, "lyrics", "lyrics file")
    if len(text) > 20_000:
        raise InputError(f"{file} holds {len(text)} characters; lyrics are at most 20000", field="lyrics")
    return text


@click.group()
def lyrics() -> None:
    """Check lyrics, romanise them for ACE-Step v1, time the words of a song (align)."""


@lyrics.command()
@click.argument("file")
@json_option
def check(file: str, as_json: bool) -> None:
    """Sections, languages per line and warnings for the lyrics in FILE ('-' = stdin)."""
    from aimusic.lyrics import lyric_report

    report = lyric_report(_read(file))
    if as_json:
        print_json(report)
        return
    sections = ", ".join(f"[{s['name'] or '-'}] {s['lines']}" for s in report["sections"]) or "none"
    click.echo(f"sections:  {sections}")
    click.echo(f"language:  {report['language']}" + (f" (lines: {', '.join(report['languages'])})"
                                                     if len(report["languages"]) > 1 else ""))
    for warning in report["warnings"]:
        click.echo(f"warning: {warning}")
    if not report["warnings"]:
        click.echo("no problems found")


@lyrics.command()
@click.argument("file")
@json_option
def romanize(file: str, as_json: bool) -> None:
    """FILE's lyrics for ACE-Step v1: non-English lines romanised with [xx] prefixes."""
    from aimusic.lyrics import detect_song_language, romanize_for_v1

    text = _read(file)
    out = romanize_for_v1(text)
    if as_json:
        print_json({"language": detect_song_language(text), "lyrics": out})
        return
    click.echo(out)


@lyrics.command()
@click.argument("file")
@click.option("--provider", default="elevenlabs", show_default=True,
              help="Who times the words (charged: an upload is priced like a generation).")
@click.option("--lyrics", "lyrics_text", default=None, help="The lyrics (TEXT or @FILE): LRC lines follow them.")
@click.option("-o", "--output-dir", default=None, type=click.Path(file_okay=False),
              help="Where <name>.lrc and <name>.timing.json go (default: beside FILE).")
@click.option("--timeout", type=float, default=None, help="Give up after this many seconds.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before paying.")
@json_option
def align(file: str, provider: str, lyrics_text: str | None, output_dir: str | None, timeout: float | None,
          yes: bool, as_json: bool) -> None:
    """Time every word of the song in FILE: writes <name>.lrc (line and word times) and the timing JSON.

        aimusic lyrics align song.mp3 --provider elevenlabs --yes
    """
    from aimusic import api
    from aimusic.cli.common import notice, read_text_arg
    from aimusic.errors import UsageError

    seconds, price = api.align_lyrics_price(file, provider)
    if not yes:
        question = f"{provider} charges about ${price:.4f} to time {seconds:.1f} s of audio. Go ahead?"
        try:
            agreed = click.confirm(question, default=False, err=True)
        except click.Abort:
            agreed = False
        if not agreed:
            raise UsageError("not confirmed: nothing was uploaded or charged", field="yes",
                             hint="pass --yes to skip the question")
    result = api.align_lyrics(file, output_dir, provider=provider, lyrics=read_text_arg(lyrics_text, "lyrics"),
                              timeout=timeout, log=notice)
    if as_json:
        print_json(result)
        return
    click.echo(result["lrc"])
    notice(f"{result['words']} words timed by {provider}, cost ${result['cost_usd'] or 0:.4f} (estimate)")

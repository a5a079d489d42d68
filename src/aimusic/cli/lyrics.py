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
    """Check lyrics and romanise them for ACE-Step v1."""


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

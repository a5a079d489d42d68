"""`aimusic lyrics check|romanize FILE`: lyric checks, languages, romanisation for ACE-Step v1;
`aimusic lyrics write IDEA`: lyrics from an idea through ACE-Step 1.5's local LM."""

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
    """Check lyrics, romanise them for ACE-Step v1, write them with ACE-Step 1.5's LM, or time the
    words of a song (align)."""


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


@lyrics.command()
@click.argument("idea")
@click.option("--language", default=None, help="Language code of the lyrics (ACE-Step's codes: en, ja, zh, ...).")
@click.option("--sections", default=None, metavar="LIST",
              help="Section markers in order, e.g. verse,chorus,verse,chorus (one [Section] header each).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Sampling seed.")
@click.option("--lm", "size", type=click.Choice(["0.6B", "1.7B", "4B"]), default="1.7B", show_default=True,
              help="Which 5 Hz LM checkpoint.")
@click.option("--lm-path", default=None, help="A transformers-format 5 Hz LM directory.")
@click.option("--device", default=None, help="auto (default), cuda, cuda:N, mps or cpu.")
@click.option("-o", "--output", "output_file", type=click.Path(dir_okay=False), default=None,
              help="Write the lyrics to this file (default: print them).")
@json_option
def write(idea: str, language: str | None, sections: str | None, seed: int, size: str, lm_path: str | None,
          device: str | None, output_file: str | None, as_json: bool) -> None:
    """Lyrics from an IDEA through ACE-Step 1.5's 5 Hz LM (upstream's sample creation), with
    [Section] markers; also its caption, BPM, key and time signature.

        aimusic lyrics write "a song about the last train home" --language ja --sections verse,chorus,verse,chorus
    """
    from aimusic.cli.common import notice, progress_for
    from aimusic.engines.local_acestep.lm import section_names, write_lyrics
    from aimusic.errors import InputError

    if not idea.strip() or len(idea) > 2000:
        raise InputError("the idea must be 1-2000 characters", field="idea")
    sample = write_lyrics(idea, language=language, sections=section_names(sections) or None, seed=seed,
                          size=size, lm_path=lm_path, device=device, progress=progress_for(as_json))
    if output_file:
        from aimusic.output import write_file_atomic

        write_file_atomic(output_file, (sample["lyrics"].rstrip() + "\n").encode("utf-8"))
        notice(f"wrote {output_file}")
    if as_json:
        print_json(sample)
    elif not output_file:
        click.echo(sample["lyrics"])
    notice(f"{sample['tokens']} LM tokens in {sample['seconds']:.1f} s ({sample['lm']})")

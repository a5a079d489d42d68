"""Synced lyrics as an `.lrc` file from word timings (`[{word, start, end}]`, seconds).

Enhanced LRC: one `[mm:ss.xx]` stamp per line and a `<mm:ss.xx>` stamp before each word, which
karaoke players read and plain LRC players ignore. Words are grouped into the given lyric lines
(by word count, in order); words past the lines, or all of them when no lines are given, form
lines of their own at pauses of a second or more (or every 10 words).
"""

from __future__ import annotations

from typing import Any

PAUSE_S = 1.0
WORDS_PER_LINE = 10


def stamp(seconds: float) -> str:
    centis = max(0, int(round(seconds * 100)))
    minutes, centis = divmod(centis, 6000)
    return f"{minutes:02d}:{centis // 100:02d}.{centis % 100:02d}"


def _grouped(timing: list[dict[str, Any]], lines: list[str]) -> list[list[dict[str, Any]]]:
    groups: list[list[dict[str, Any]]] = []
    index = 0
    for line in lines:
        count = len(line.split())
        if not count or index >= len(timing):
            continue
        groups.append(timing[index:index + count])
        index += count
    current: list[dict[str, Any]] = []
    for word in timing[index:]:
        if current and (word["start"] - current[-1]["end"] >= PAUSE_S or len(current) >= WORDS_PER_LINE):
            groups.append(current)
            current = []
        current.append(word)
    if current:
        groups.append(current)
    return groups


def write_lrc(timing: list[dict[str, Any]], lines: list[str] | None = None) -> str:
    """The `.lrc` text for `timing` (see the module docstring); "" when there are no words."""
    sung = [line.strip() for line in (lines or []) if line.strip()
            and not (line.strip().startswith("[") and line.strip().endswith("]"))]
    out = []
    for group in _grouped(list(timing), sung):
        words = " ".join(f"<{stamp(w['start'])}>{w['word']}" for w in group)
        out.append(f"[{stamp(group[0]['start'])}]{words} <{stamp(group[-1]['end'])}>")
    return "\n".join(out) + ("\n" if out else "")

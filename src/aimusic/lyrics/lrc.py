"""Synced lyrics: word timings -> an `.lrc` file with line times and enhanced (A2) word times.

A timing is the sidecar's `lyrics_timing`: a list of `{"word", "start", "end"}` (seconds), in
singing order, optionally with `"line"` (the lyric line's index) where the engine knows it (the
sketch engine's sung notes). Lines come from `line`, else from the lyrics' own lines (matched
word by word), else from pauses in the singing.

    [ti:My song]
    [00:01.20]<00:01.20>Hello <00:01.65>world <00:02.40>
    [00:03.10]<00:03.10>Second <00:03.70>line <00:04.50>

No PyPI library writes enhanced LRC from word times (the LRC packages there parse it or fetch it
from LRCLIB), so this small writer is our own; tests read its output back with `lrcparser`.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

LINE_PAUSE_S = 1.0      # a pause this long between two words starts a new line (no other clue)
MAX_LINE_WORDS = 12     # ... and so does a run of this many words
_MARKER = re.compile(r"^\s*[\[(].*[\])]\s*$")   # [Verse], (Chorus): section markers, not sung
_WORD = re.compile(r"[^\s]+")


def stamp(seconds: float) -> str:
    """mm:ss.xx (centiseconds; minutes grow past 99 rather than wrap)."""
    centis = max(0, int(round(float(seconds) * 100)))
    minutes, rest = divmod(centis, 6000)
    return f"{minutes:02d}:{rest // 100:02d}.{rest % 100:02d}"


def clean_timing(timing: Iterable[Any]) -> list[dict[str, Any]]:
    """Keep well-formed entries (a non-empty word, 0 <= start <= end), in time order."""
    out = []
    for item in timing or []:
        if not isinstance(item, dict):
            continue
        word = str(item.get("word", "")).strip()
        try:
            start, end = float(item["start"]), float(item["end"])
        except (KeyError, TypeError, ValueError):
            continue
        if not word or start != start or end != end or start < 0 or end < start:
            continue
        entry: dict[str, Any] = {"word": word, "start": round(start, 3), "end": round(end, 3)}
        if isinstance(item.get("line"), int):
            entry["line"] = item["line"]
        out.append(entry)
    return sorted(out, key=lambda e: (e["start"], e["end"]))


def lyric_lines(lyrics: str) -> list[list[str]]:
    """The sung lines of `lyrics` as word lists (section markers and blank lines dropped)."""
    lines = []
    for raw in (lyrics or "").splitlines():
        if not raw.strip() or _MARKER.match(raw):
            continue
        words = _WORD.findall(raw)
        if words:
            lines.append(words)
    return lines


def group_lines(timing: list[dict[str, Any]], lyrics: str | None = None) -> list[list[dict[str, Any]]]:
    """Words grouped into lines: by `line`, else by the lyrics' line lengths, else by pauses."""
    if not timing:
        return []
    if all("line" in w for w in timing):
        groups: dict[int, list[dict[str, Any]]] = {}
        for word in timing:
            groups.setdefault(word["line"], []).append(word)
        return [groups[k] for k in sorted(groups, key=lambda k: groups[k][0]["start"])]
    lines = lyric_lines(lyrics or "")
    if lines and sum(len(line) for line in lines) == len(timing):
        out, index = [], 0
        for line in lines:
            out.append(timing[index:index + len(line)])
            index += len(line)
        return out
    out = [[timing[0]]]
    for previous, word in zip(timing, timing[1:]):
        if word["start"] - previous["end"] >= LINE_PAUSE_S or len(out[-1]) >= MAX_LINE_WORDS:
            out.append([])
        out[-1].append(word)
    return out


def write_lrc(timing: Iterable[Any], *, lyrics: str | None = None, title: str | None = None,
              length_s: float | None = None) -> str:
    """The text of an enhanced LRC file for `timing` (see the module docstring)."""
    words = clean_timing(timing)
    head = []
    if title:
        head.append(f"[ti:{_tag_text(title)}]")
    if length_s:
        head.append(f"[length:{stamp(length_s)[:5]}]")
    head.append("[re:aimusic]")
    body = []
    for line in group_lines(words, lyrics):
        parts = [f"<{stamp(w['start'])}>{_word_text(w['word'])}" for w in line]
        body.append(f"[{stamp(line[0]['start'])}]" + " ".join(parts) + f" <{stamp(line[-1]['end'])}>")
    return "\n".join(head + body) + "\n"


def _tag_text(text: str) -> str:
    return " ".join(str(text).replace("[", "(").replace("]", ")").split())[:200]


def _word_text(word: str) -> str:
    # '<' and '>' would read as a time tag; '[' at a line start as a time tag too
    return word.replace("<", "‹").replace(">", "›")

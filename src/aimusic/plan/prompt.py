"""Prompt building: ACE-Step `tags` + `lyrics`, or ElevenLabs' single prompt."""

from __future__ import annotations

import re

from aimusic.plan.intent import Intent

from aimusic.plan.lexicon import GENRES, INSTRUMENTS, MOODS, VOCAL_TYPES  # noqa: F401  (recognition only)

LOOP_TAGS = "seamless loop, consistent groove"


def style_terms(intent: Intent, *, caption: bool = False) -> list[str]:
    """The request's style words in the order written: one tag per phrase (ACE-Step v1), or the
    clauses whole (ACE-Step 1.5's caption). Only logistics are taken out (plan/style.py)."""
    style = intent.style
    if style is None:
        return []
    return list(style.caption if caption else style.tags)


EDIT_FALLBACK_TAGS = "matching the original track's style, same tempo and key"
_VOCAL_HINT = re.compile(r"\b(?:vocal|vocals|voice|singer|sung|singing|rap|rapper|choir|duet|falsetto|whisper\w*|"
                         r"harmonies|a cappella|spoken word|crooner|vox)\b|人声|ボーカル|보컬|歌声|gesang|voz|voix")


def build_tags(intent: Intent, *, instrumental: bool, extra: list[str] | None = None,
               vocals_unknown: bool = False, caption: bool = False) -> str:
    """ACE-Step style text: the user's style words (tags for v1, a caption for 1.5), then loop
    words, instrumental/vocals and BPM when the words did not say them; never empty."""
    terms = style_terms(intent, caption=caption)
    joined = " ".join(terms).lower()
    if intent.game_loop or "seamless" in intent.text:
        terms += [t.strip() for t in LOOP_TAGS.split(",") if t.strip() not in joined]
    if instrumental and "instrumental" not in joined and not vocals_unknown:
        terms.append("instrumental")
    if not instrumental and not vocals_unknown and not _VOCAL_HINT.search(joined):
        terms.append("vocals")
    if intent.bpm and "bpm" not in joined:
        terms.append(f"{intent.bpm} BPM")
    for term in extra or []:
        if term not in terms:
            terms.append(term)
    if not [t for t in terms if t not in ("instrumental", "vocals") and not t.endswith("BPM")
            and t not in LOOP_TAGS]:
        # No style words. A new piece: the request's own words, which ACE reads as free text.
        # An edit: the request describes the change, not the music, so ask for continuity instead.
        plain = intent.style.plain if intent.style is not None else ""
        fallback = EDIT_FALLBACK_TAGS if intent.edit else (plain or re.sub(r"\s+", " ", intent.request).strip(" .,;")[:200])
        terms.insert(0, fallback)
    return ", ".join(terms)


def ace_lyrics(lyrics: str | None, *, instrumental: bool) -> str:
    """ACE-Step lyrics: the user's text with markers on their own lines, or `[inst]`."""
    if instrumental or not (lyrics or "").strip():
        return "[inst]" if instrumental else ""
    from aimusic.lyrics import parse_sections

    sections = parse_sections(lyrics or "")
    if sections and not sections[0].name:
        # Lyrics without markers: one verse, so the model still sees a structure.
        return "[verse]\n" + (lyrics or "").strip()
    return (lyrics or "").strip()


def elevenlabs_prompt(intent: Intent, tags: str, lyrics: str | None, *, instrumental: bool,
                      seconds: float) -> str:
    """One prompt: the brief in the user's words, the style, then the lyrics with inline markers."""
    brief = re.sub(r"\s+", " ", intent.request).strip().rstrip(".")
    style = ", ".join(t.strip() for t in tags.split(",")
                      if t.strip() and t.strip().lower().replace("-", " ") not in brief.lower().replace("-", " ")
                      and t.strip() != "instrumental")
    parts = [brief + "."]
    if style:
        parts.append(style[0].upper() + style[1:] + ".")
    if instrumental:
        parts.append("Instrumental, no vocals.")
    if lyrics and lyrics.strip() and not instrumental:
        from aimusic.lyrics import parse_sections

        sung = []
        for section in parse_sections(lyrics):
            marker = f"[{section.name.title()}]" if section.name else "[Verse]"
            body = " / ".join(section.lines) if section.lines else ("instrumental" if section.instrumental else "")
            sung.append(f"{marker} {body}".strip())
        parts.append(" ".join(sung))
    return " ".join(parts)

"""Prompt building: ACE-Step `tags` + `lyrics`, or ElevenLabs' single prompt."""

from __future__ import annotations

import re
from functools import lru_cache

from aimusic.plan.intent import Intent

GENRES = (
    "lo-fi hip hop", "lofi hip hop", "lo-fi", "lofi", "hip hop", "hip-hop", "boom bap", "trap", "drill",
    "r&b", "rnb", "neo soul", "soul", "funk", "disco", "house", "deep house", "tech house", "techno",
    "trance", "drum and bass", "dnb", "dubstep", "edm", "electro", "electronic", "synthwave", "synthpop",
    "synth-pop", "vaporwave", "chiptune", "8-bit", "ambient", "downtempo", "chillhop", "chillwave",
    "pop", "indie pop", "indie-pop", "indie rock", "indie", "k-pop", "j-pop", "rock", "hard rock",
    "punk", "metal", "grunge", "alternative", "folk", "country", "bluegrass", "blues", "jazz",
    "smooth jazz", "bossa nova", "latin", "reggaeton", "salsa", "reggae", "afrobeat", "afrobeats",
    "gospel", "classical", "orchestral", "cinematic", "epic", "film score", "trailer music",
    "soundtrack", "piano ballad", "ballad", "acoustic", "singer-songwriter", "world", "celtic",
    "flamenco", "tango", "waltz", "march", "swing", "big band", "corporate", "jingle", "sonic logo",
    "anthem", "lullaby", "children's", "christmas", "holiday", "8bit", "retro", "game music",
)
MOODS = (
    "chill", "relaxed", "relaxing", "calm", "peaceful", "mellow", "laid-back", "laid back", "upbeat",
    "happy", "joyful", "cheerful", "playful", "fun", "bright", "uplifting", "inspiring", "inspirational",
    "hopeful", "energetic", "driving", "powerful", "aggressive", "intense", "dark", "moody",
    "melancholic", "melancholy", "sad", "emotional", "nostalgic", "dreamy", "ethereal", "mysterious",
    "tense", "suspenseful", "heroic", "triumphant", "romantic", "warm", "cozy", "sexy", "groovy",
    "funky", "jazzy", "bluesy", "soulful", "rocky", "poppy", "quirky", "whimsical", "minimal", "minimalist", "lush", "elegant", "luxurious",
    "sophisticated", "confident", "bold", "catchy", "anthemic", "festive", "spooky", "gritty",
    "atmospheric", "cinematic", "modern", "vintage", "retro", "futuristic", "organic", "expensive",
    "trustworthy", "friendly", "serious", "focused", "study",
)
INSTRUMENTS = (
    "electric guitars", "electric guitar", "acoustic guitar", "guitars", "guitar", "bass guitar",
    "synth bass", "808s", "808", "bass", "drums", "drum machine", "percussion", "piano", "rhodes",
    "electric piano", "keys", "organ", "synths", "synth", "pads", "pad", "strings", "string quartet",
    "violin", "cello", "viola", "harp", "orchestra", "brass", "horns", "trumpet", "trombone",
    "saxophone", "sax", "flute", "clarinet", "oboe", "choir", "bells", "glockenspiel", "marimba",
    "vibraphone", "xylophone", "ukulele", "banjo", "mandolin", "accordion", "harmonica", "sitar",
    "koto", "shamisen", "erhu", "guzheng", "taiko", "steel drums", "kalimba", "vinyl crackle",
    "handclaps", "claps", "whistle", "celesta", "music box",
)
VOCAL_TYPES = (
    "female lead vocal", "male lead vocal", "female vocals", "male vocals", "female vocal",
    "male vocal", "female singer", "male singer", "female voice", "male voice", "duet", "choir",
    "rap", "rapper", "spoken word", "falsetto", "whisper", "harmonies", "backing vocals",
    "gang vocals", "vocals",
)
LOOP_TAGS = "seamless loop, consistent groove"


@lru_cache(maxsize=None)
def _vocab_pattern(vocab: tuple[str, ...]) -> re.Pattern[str]:
    # One alternation, longest terms first, so a longer term wins over the shorter ones inside it
    # (one compiled pattern instead of one per term: the planner must start fast).
    terms = sorted(vocab, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(t) for t in terms) + r")(?![\w-])")


def _terms_in_order(text: str, vocab: tuple[str, ...]) -> list[tuple[int, str]]:
    """(position, term) of every vocabulary term in `text`; a longer term hides the shorter ones inside it."""
    return [(match.start(), match.group(0)) for match in _vocab_pattern(vocab).finditer(text)]


def style_terms(intent: Intent) -> list[str]:
    """Genre, mood, instrument and vocal words of the request, in the order written."""
    text = intent.text.replace("lo fi", "lo-fi")
    terms = _terms_in_order(text, GENRES + MOODS + INSTRUMENTS + VOCAL_TYPES)
    seen: list[str] = []
    for _, term in sorted(terms):
        canonical = {"lofi": "lo-fi", "lofi hip hop": "lo-fi hip hop", "rnb": "r&b", "hip-hop": "hip hop", "expensive": "luxurious",
                     "8bit": "8-bit", "indie-pop": "indie pop",
                     "jazzy": "jazz", "bluesy": "blues", "soulful": "soul", "rocky": "rock", "poppy": "pop"}.get(term, term)
        if canonical not in seen:
            seen.append(canonical)
    return seen


EDIT_FALLBACK_TAGS = "matching the original track's style, same tempo and key"


def build_tags(intent: Intent, *, instrumental: bool, extra: list[str] | None = None,
               vocals_unknown: bool = False) -> str:
    """ACE-Step tags: genre, mood, instruments, vocal type, BPM, loop words; never empty."""
    terms = style_terms(intent)
    if intent.game_loop or "seamless" in intent.text:
        terms += [t.strip() for t in LOOP_TAGS.split(",") if t.strip() not in terms]
    if instrumental and "instrumental" not in terms and not vocals_unknown:
        terms.append("instrumental")
    if not instrumental and not vocals_unknown and not any(t in VOCAL_TYPES for t in terms):
        terms.append("vocals")
    if intent.bpm:
        terms.append(f"{intent.bpm} BPM")
    for term in extra or []:
        if term not in terms:
            terms.append(term)
    if not [t for t in terms if t not in ("instrumental", "vocals") and not t.endswith("BPM")]:
        # Nothing recognised. A new piece: the request's own words, which ACE reads as free text.
        # An edit: the request describes the change, not the music, so ask for continuity instead.
        fallback = EDIT_FALLBACK_TAGS if intent.edit else re.sub(r"\s+", " ", intent.request).strip(" .,;")[:200]
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

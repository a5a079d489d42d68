"""The ACE-style `tags` string -> musical decisions (genre, mood, tempo, key, instruments, loop).

Each comma-separated tag is matched whole first, then word by word; what matches nothing is
kept as `unused` so the sidecar says which words had no effect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aimusic.engines.sketch.styles import (DEFAULT_GENRE, FAST_WORDS, GENRES, INSTRUMENTS, LOOP_WORDS, MOODS,
                                           NO_DRUMS, SLOW_WORDS, VINYL_WORDS, VOCAL_WORDS)
from aimusic.engines.sketch.theory import Key, parse_key

_BPM_RE = re.compile(r"^(?:tempo\s*[:=]?\s*)?(\d{2,3}(?:\.\d+)?)\s*(?:bpm|beats per minute)$|^bpm\s*[:=]?\s*(\d{2,3})$")
_FILLER = {"and", "with", "a", "an", "the", "of", "in", "music", "song", "track", "style", "vibe", "vibes",
           "feel", "beat", "instrumental", "type"}
MIN_BPM, MAX_BPM = 40, 240


@dataclass
class TagDecisions:
    genre: str = DEFAULT_GENRE
    genre_from: str = "default"
    moods: list[str] = field(default_factory=list)
    bpm: float | None = None
    tempo_word: str | None = None           # "fast" | "slow"
    key: Key | None = None
    instruments: dict[str, str] = field(default_factory=dict)  # role -> voice asked for
    drums: bool | None = None               # True asked for, False refused, None genre default
    vinyl: bool = False
    loop: bool = False
    vocals: list[str] = field(default_factory=list)
    used: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"genre": self.genre, "genre_from": self.genre_from, "moods": self.moods, "bpm": self.bpm,
                "tempo_word": self.tempo_word, "key": self.key.name if self.key else None,
                "instruments": self.instruments, "drums": self.drums, "vinyl": self.vinyl, "loop": self.loop,
                "vocals": self.vocals, "used": self.used, "unused": self.unused}


def _genre_lookup() -> dict[str, str]:
    table = {}
    for genre in GENRES.values():
        for alias in genre.aliases:
            table[alias] = genre.name
    return table


_GENRE_ALIASES = _genre_lookup()
_MOOD_WORDS = {word: mood.name for mood in MOODS.values() for word in mood.words}


def _guitar_voice(genre: str) -> str:
    if genre in ("metal",):
        return "distortion_guitar"
    if genre in ("rock",):
        return "overdrive_guitar"
    if genre in ("folk", "lofi", "reggaeton", "corporate"):
        return "acoustic_guitar"
    return "clean_guitar"


def parse_tags(tags: str) -> TagDecisions:
    """Parse an ACE-style tag string. Never raises: unknown words land in `unused`."""
    decisions = TagDecisions()
    genre_hits: list[str] = []
    pending_instruments: list[str] = []
    parts = [p.strip() for p in re.split(r"[,;\n|]+", tags) if p.strip()]
    for part in parts:
        text = re.sub(r"\s+", " ", part.lower()).strip(" .!")
        if _match_phrase(text, decisions, genre_hits, pending_instruments):
            decisions.used.append(part)
            continue
        # Whole tag unknown: try its words and two-word phrases ("dark synthwave", "chill lofi beat").
        words = text.split(" ")
        consumed = [False] * len(words)
        for size in (3, 2, 1):
            for start in range(0, len(words) - size + 1):
                if any(consumed[start:start + size]):
                    continue
                phrase = " ".join(words[start:start + size])
                if _match_phrase(phrase, decisions, genre_hits, pending_instruments):
                    consumed[start:start + size] = [True] * size
        leftover = [w for w, c in zip(words, consumed) if not c and w not in _FILLER]
        if any(consumed):
            decisions.used.append(part)
        if leftover:
            decisions.unused.append(" ".join(leftover) if any(consumed) else part)
    if genre_hits:
        decisions.genre = genre_hits[0]
        decisions.genre_from = "tags"
    for word in pending_instruments:
        role, voice = INSTRUMENTS[word]
        if voice == "guitar":
            voice = _guitar_voice(decisions.genre)
        if role == "bass" and voice == "bass":
            voice = GENRES[decisions.genre].voices["bass"]
        if role == "drums":
            decisions.drums = True
            continue
        if role == "chords" and "chords" in decisions.instruments and "lead" not in decisions.instruments:
            role = "lead"   # a second harmony instrument takes the melody ("piano, guitar")
        decisions.instruments.setdefault(role, voice)
    return decisions


def _match_phrase(text: str, decisions: TagDecisions, genre_hits: list[str], instruments: list[str]) -> bool:
    bpm = _BPM_RE.match(text)
    if bpm:
        value = float(bpm.group(1) or bpm.group(2))
        decisions.bpm = min(max(value, MIN_BPM), MAX_BPM)
        return True
    if text in NO_DRUMS:
        decisions.drums = False
        return True
    if text in LOOP_WORDS:
        decisions.loop = True
        return True
    if text in FAST_WORDS:
        decisions.tempo_word = "fast"
        return True
    if text in SLOW_WORDS:
        decisions.tempo_word = "slow"
        return True
    if text in VINYL_WORDS:
        decisions.vinyl = True
        return True
    if text in _GENRE_ALIASES:
        if _GENRE_ALIASES[text] not in genre_hits:
            genre_hits.append(_GENRE_ALIASES[text])
        return True
    if text in _MOOD_WORDS:
        if _MOOD_WORDS[text] not in decisions.moods:
            decisions.moods.append(_MOOD_WORDS[text])
        return True
    if text in INSTRUMENTS:
        instruments.append(text)
        return True
    if text in VOCAL_WORDS:
        decisions.vocals.append(text)
        return True
    key = parse_key(text)
    if key is not None and (len(text) > 1 or text in "cdefg"):
        decisions.key = key
        return True
    return False

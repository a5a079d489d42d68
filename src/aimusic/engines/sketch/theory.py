"""Music theory the composer needs: keys, scales, chords from roman numerals, voice leading."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from aimusic.errors import InputError

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_PITCH_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)  # natural minor; V is raised to major where a progression says "V"

_KEY_RE = re.compile(
    r"^(?:(?:in|key|key of|key:)\s*)?([a-g])\s*(#|♯|b|♭|sharp|flat|-sharp|-flat)?\s*"
    r"(major|minor|maj|min|m|dur|moll)?(?:\s+(?:key|scale))?$")


@dataclass(frozen=True)
class Key:
    tonic: int   # pitch class 0..11
    mode: str    # "major" | "minor"

    @property
    def name(self) -> str:
        return f"{NOTE_NAMES[self.tonic]} {self.mode}"

    @property
    def scale(self) -> tuple[int, ...]:
        return MAJOR_SCALE if self.mode == "major" else MINOR_SCALE


def parse_key(text: str) -> Key | None:
    """'C minor', 'F# major', 'Bb min', 'key of A', 'Am' -> Key, else None."""
    match = _KEY_RE.match(text.strip().lower())
    if not match:
        return None
    letter, accidental, mode = match.groups()
    pitch = _PITCH_CLASS[letter.upper()]
    if accidental in ("#", "♯", "sharp", "-sharp"):
        pitch += 1
    elif accidental in ("b", "♭", "flat", "-flat"):
        pitch -= 1
    is_minor = mode in ("minor", "min", "m", "moll")
    if mode is None and accidental is None and len(text.strip()) == 1 and letter == "a":
        return None  # a lone article "a" is not a key
    return Key(pitch % 12, "minor" if is_minor else "major")


@dataclass(frozen=True)
class Chord:
    root: int                 # pitch class
    intervals: tuple[int, ...]  # semitones above the root
    symbol: str               # e.g. "Am7", for the sidecar

    def pitch_classes(self) -> list[int]:
        return [(self.root + i) % 12 for i in self.intervals]


_QUALITY_INTERVALS = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8),
    "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10), "7": (0, 4, 7, 10), "m7b5": (0, 3, 6, 10),
    "sus2": (0, 2, 7), "sus4": (0, 5, 7), "5": (0, 7), "add9": (0, 4, 7, 14), "min9": (0, 3, 7, 10, 14),
    "maj9": (0, 4, 7, 11, 14),
}
_QUALITY_SUFFIX = {"maj": "", "min": "m", "dim": "dim", "aug": "+", "maj7": "maj7", "min7": "m7", "7": "7",
                   "m7b5": "m7b5", "sus2": "sus2", "sus4": "sus4", "5": "5", "add9": "add9", "min9": "m9",
                   "maj9": "maj9"}
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7}
_ROMAN_RE = re.compile(r"^(b|#)?(iii|ii|iv|vii|vi|v|i|III|II|IV|VII|VI|V|I)(.*)$")


def roman_chord(numeral: str, key: Key) -> Chord:
    """A roman numeral in `key` -> Chord. Upper case = major, lower = minor; suffixes 7, maj7,
    m7 (on lower case: '7' means minor 7th), dim, sus2, sus4, 5, add9, 9; 'b'/'#' prefix
    alters the root (bVII, bVI in major keys)."""
    match = _ROMAN_RE.match(numeral)
    if not match:
        raise ValueError(f"bad roman numeral {numeral!r}")
    accidental, roman, suffix = match.groups()
    degree = _ROMAN[roman.lower()]
    # Degrees count from the major scale so that 'bVI' etc. mean the same in any mode.
    root = (key.tonic + MAJOR_SCALE[degree - 1]) % 12 if accidental else (key.tonic + key.scale[degree - 1]) % 12
    if accidental == "b":
        root = (root - 1) % 12
    elif accidental == "#":
        root = (root + 1) % 12
    upper = roman.isupper()
    if suffix in ("dim", "o"):
        quality = "dim"
    elif suffix == "m7b5":
        quality = "m7b5"
    elif suffix == "7":
        quality = "7" if upper else "min7"
    elif suffix == "maj7":
        quality = "maj7"
    elif suffix == "9":
        quality = "maj9" if upper else "min9"
    elif suffix in ("sus2", "sus4", "5", "add9", "+"):
        quality = "aug" if suffix == "+" else suffix
    else:
        quality = "maj" if upper else "min"
    return Chord(root, _QUALITY_INTERVALS[quality], NOTE_NAMES[root] + _QUALITY_SUFFIX[quality])


def voice_lead(chord: Chord, previous: list[int] | None, low: int, high: int, voices: int = 4) -> list[int]:
    """MIDI pitches for `chord` inside [low, high] that move least from `previous` (voice leading).

    Candidates are every voicing that uses each chord tone at least once (doubling allowed up
    to `voices` notes); the score is the summed distance to the previous voicing, so common
    tones stay and the others move by step."""
    tones = chord.pitch_classes()[:voices]
    options: dict[int, list[int]] = {pc: [p for p in range(low, high + 1) if p % 12 == pc] for pc in tones}
    if any(not v for v in options.values()):
        return sorted(low + ((pc - low) % 12) for pc in tones)
    best: tuple[float, list[int]] | None = None
    for combo in itertools.product(*(options[pc] for pc in tones)):
        voicing = sorted(combo)
        if voicing[-1] - voicing[0] > 14:  # keep it a hand's span: close, idiomatic voicings
            continue
        if previous:
            prev = sorted(previous)
            cost = sum(min(abs(p - q) for q in prev) for p in voicing) + 0.5 * abs(voicing[0] - prev[0])
        else:
            centre = (low + high) / 2
            cost = abs(sum(voicing) / len(voicing) - centre)
        if best is None or cost < best[0]:
            best = (cost, voicing)
    if best is None:
        return sorted(low + ((pc - low) % 12) for pc in tones)
    return best[1]


def nearest_pitch(pitch_class: int, target: float) -> int:
    """The MIDI pitch of `pitch_class` closest to `target`."""
    base = int(round(target))
    candidates = [p for p in range(base - 6, base + 7) if p % 12 == pitch_class]
    return min(candidates, key=lambda p: (abs(p - target), p))


def scale_pitches(key: Key, low: int, high: int) -> list[int]:
    pcs = {(key.tonic + s) % 12 for s in key.scale}
    return [p for p in range(low, high + 1) if p % 12 in pcs]


def check_keyscale(value: str | None) -> str | None:
    if not value:
        return None
    if parse_key(value) is None:
        raise InputError(f"keyscale {value!r} is not a key", field="keyscale",
                         hint="write it like 'C major', 'F# minor' or 'Bb minor'")
    return value

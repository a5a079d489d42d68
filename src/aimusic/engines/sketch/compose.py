"""The composer: decisions -> form -> an Arrangement of timed notes for every part.

Everything here is plain data and seeded choices (numpy Generator), so the same request and
seed always give the same arrangement. Renderers (synth.py, soundfont.py) and the MIDI writer
only read an Arrangement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from aimusic.engines.sketch.lyrics_melody import LyricSection, parse_lyrics
from aimusic.engines.sketch.styles import (CRASH, GENRES, KICK, MOODS, OPEN_HAT, SNARE, TOM_HIGH, TOM_LOW,
                                           TOM_MID, DrumPattern, Genre)
from aimusic.engines.sketch.tags import TagDecisions, parse_tags
from aimusic.engines.sketch.theory import (Chord, Key, check_keyscale, nearest_pitch, parse_key, roman_chord,
                                            voice_lead)

BEATS_PER_BAR = 4
STEPS_PER_BAR = 16

SECTION_ENERGY = {"intro": 0.35, "verse": 0.6, "pre-chorus": 0.72, "chorus": 0.95, "bridge": 0.55,
                  "outro": 0.4, "solo": 0.8, "head": 0.7, "build": 0.7, "drop": 1.0, "breakdown": 0.3,
                  "interlude": 0.5}
# Register centre (MIDI) of the melody per section kind: choruses sit higher (they "lift").
MELODY_CENTRE = {"chorus": 74, "drop": 74, "pre-chorus": 71, "solo": 74, "bridge": 69}
DEFAULT_MELODY_CENTRE = 67
SUNG_RANGE = (55, 79)   # G3..G5: a guide melody any voice type can transpose into

MAJOR_TONICS = (0, 2, 4, 5, 7, 9, 10)   # C D E F G A Bb: comfortable keys
MINOR_TONICS = (9, 4, 2, 0, 7, 11, 5)   # A E D C G B F


@dataclass(frozen=True)
class NoteEvent:
    start: float      # seconds
    duration: float   # seconds
    pitch: int        # MIDI note (GM drum note for drum parts)
    velocity: float   # 0..1


@dataclass
class Part:
    role: str                 # bass, chords, pad, arp, lead, drums
    voice: str                # synth voice / GM instrument name (see synth.VOICES, midi.GM_PROGRAMS)
    notes: list[NoteEvent] = field(default_factory=list)
    is_drum: bool = False
    pan: float = 0.0          # -1 left .. 1 right
    gain: float = 1.0


@dataclass(frozen=True)
class MelodyNote:
    """One note of the guide melody. With lyrics each note carries one syllable; a vocal
    renderer sings exactly these notes (see Arrangement.vocal_notes)."""

    start: float
    duration: float
    pitch: int
    syllable: str             # "" in instrumental passages
    line: int                 # line index within the song (-1 when instrumental)
    line_end: bool            # last syllable of a lyric line
    phrase_end: bool          # a breath follows (line end, or end of an instrumental phrase)
    section: str              # section name, e.g. "Chorus 2"
    instrumental: bool        # True where the section has no lyrics ([inst], intro, solo...)


@dataclass(frozen=True)
class Section:
    name: str
    kind: str
    start_bar: int
    bars: int
    start: float
    end: float
    energy: float
    instrumental: bool
    chords: tuple[str, ...]   # one chord symbol per bar
    lyric_lines: tuple[str, ...] = ()


@dataclass
class Arrangement:
    bpm: float
    key: Key
    genre: str
    duration: float           # requested length in seconds (the file length)
    loop: bool
    sections: list[Section]
    parts: list[Part]
    melody: list[MelodyNote]
    music_end: float          # where the bars end; the rest is the final chord's tail
    vinyl: bool
    reverb: float
    decisions: dict[str, Any]
    guide_role: str = "lead"  # the part that plays the melody (a vocal may replace it)

    @property
    def beat_seconds(self) -> float:
        return 60.0 / self.bpm

    @property
    def bar_seconds(self) -> float:
        return BEATS_PER_BAR * self.beat_seconds

    def vocal_notes(self) -> list[MelodyNote]:
        """The notes a singer sings: melody notes that carry a syllable."""
        return [n for n in self.melody if n.syllable and not n.instrumental]

    def part(self, role: str) -> Part | None:
        return next((p for p in self.parts if p.role == role), None)


@dataclass
class ComposeRequest:
    tags: str
    duration: float
    seed: int
    lyrics: str = ""
    loop: bool = False
    bpm: float | None = None          # hint that overrides tags (edits: the source's tempo)
    key: str | None = None            # "C minor"; overrides tags
    final_ending: bool = True         # resolve and ring out at the end (False: edits that continue)
    tail_seconds: float | None = None
    form_kind: str | None = None      # one section of this kind for the whole piece (edits)
    syllabify: Callable[[str], list[str]] | None = None  # lyric line -> sung syllables (the singer's)

    @classmethod
    def of_text_to_audio(cls, request: Any, seed: int, vocal: Any = None) -> "ComposeRequest":
        """What a text-to-audio request (`SketchInput`) composes, with the planned vocal's syllables:
        one place, so a re-render of a recorded take (stems) composes exactly what the take did."""
        return cls(tags=request.tags, lyrics=request.lyrics, duration=float(request.duration), seed=seed,
                   loop=bool(request.loop), bpm=request.bpm, key=check_keyscale(request.keyscale),
                   syllabify=vocal.syllabify if vocal else None)


# ---------------------------------------------------------------- decisions


def _choose_tempo(decisions: TagDecisions, genre: Genre, hint: float | None) -> tuple[float, str]:
    if hint:
        return float(hint), "given"
    if decisions.bpm:
        return float(decisions.bpm), "tags"
    bpm = float(genre.bpm)
    why = f"{genre.name} default"
    for mood in decisions.moods:
        bpm *= MOODS[mood].tempo_scale
    if decisions.moods:
        why += " scaled by mood " + "/".join(decisions.moods)
    low, high = genre.bpm_range
    if decisions.tempo_word == "fast":
        bpm, why = low + 0.85 * (high - low), f"'fast tempo' in {genre.name}'s range {low}-{high}"
    elif decisions.tempo_word == "slow":
        bpm, why = low + 0.1 * (high - low), f"'slow tempo' in {genre.name}'s range {low}-{high}"
    return float(round(min(max(bpm, low * 0.85), high * 1.15))), why


def _choose_key(decisions: TagDecisions, genre: Genre, hint: str | None, rng: np.random.Generator
                ) -> tuple[Key, str]:
    if hint:
        key = parse_key(hint)
        if key is not None:
            return key, "given"
    if decisions.key is not None:
        return decisions.key, "tags"
    mode, why = genre.mode, f"{genre.name} default mode"
    for mood in decisions.moods:
        if MOODS[mood].mode:
            mode, why = MOODS[mood].mode, f"mood {mood}"
            break
    tonics = MAJOR_TONICS if mode == "major" else MINOR_TONICS
    return Key(int(tonics[int(rng.integers(len(tonics)))]), mode), why + ", tonic by seed"


# ---------------------------------------------------------------- form


def fit_form(template: list[tuple[str, int]], total_bars: int) -> list[tuple[str, int]]:
    """Fit a genre form to exactly `total_bars`: repeat a verse/chorus pair for long pieces,
    drop middle sections (never the last of a kind) for short ones, and spread the remainder
    over choruses and the outro in whole phrases so every bar is used."""
    if total_bars <= 0:
        return []
    kinds = [k for k, _ in template]
    main = "chorus" if "chorus" in kinds else ("drop" if "drop" in kinds else template[min(1, len(template) - 1)][0])
    first = next((k for k in kinds if k in ("verse", "head", "build")), main)
    if total_bars < 4:
        return [(main, total_bars)]
    if total_bars < 16:
        intro, body = total_bars % 4, total_bars - total_bars % 4
        sections = [("intro", intro)] if intro else []
        if body >= 8:
            sections += [(first, body // 2 // 4 * 4), (main, body - body // 2 // 4 * 4)]
        elif body:
            sections.append((main, body))
        return sections or [(main, total_bars)]
    sections = list(template)
    repeat = [(first, 8), (main, 8)] if first != main else [(main, 8)]
    while sum(b for _, b in sections) + sum(b for _, b in repeat) <= total_bars:
        insert_at = len(sections) - 1 if sections[-1][0] == "outro" else len(sections)
        sections[insert_at:insert_at] = repeat
    droppable = ("bridge", "solo", "breakdown", "pre-chorus", "interlude", "build", "verse", "head", "chorus",
                 "drop")
    while sum(b for _, b in sections) > total_bars and len(sections) > 2:
        for kind in droppable:
            # The earliest of a repeated kind goes first, so the song still ends strong.
            same = [i for i in range(1, len(sections) - 1) if sections[i][0] == kind]
            if len(same) > 1 or (same and kind in droppable[:5]):
                del sections[same[0]]
                break
        else:
            break
    while sum(b for _, b in sections) > total_bars:
        longest = max(range(len(sections)), key=lambda i: sections[i][1])
        kind, bars = sections[longest]
        sections[longest] = (kind, bars - 4 if bars > 8 else bars - 2 if bars > 2 else bars - 1)
        if sections[longest][1] <= 0:
            del sections[longest]
    remainder = total_bars - sum(b for _, b in sections)
    order = [i for i in range(len(sections) - 1, -1, -1) if sections[i][0] in (main, "outro")] or \
        [len(sections) - 1]
    while remainder > 0:
        for index in order:
            if remainder <= 0:
                break
            add = min(4, remainder)
            kind, bars = sections[index]
            sections[index] = (kind, bars + add)
            remainder -= add
    return sections


def _lyric_form(lyric_sections: list[LyricSection], total_bars: int, bpm: float) -> tuple[
        list[tuple[str, int, LyricSection | None, int]], list[str]]:
    """Sections from lyrics: (kind, bars, lyric section, bars per line). Lines get 2 bars
    (4 when they are long); instrumental markers get 4 bars. Fitted to `total_bars` by adding
    an intro/outro or instrumental repeats, or by shortening and dropping sections."""
    notes: list[str] = []
    planned: list[list[Any]] = []
    for section in lyric_sections:
        if section.instrumental or not section.lines:
            planned.append([section.kind, 4, section, 0])
            continue
        longest = max(len(line) for line in section.lines)
        per_line = 2 if longest <= 14 or bpm < 80 else 4
        planned.append([section.kind, per_line * len(section.lines), section, per_line])
    total = sum(p[1] for p in planned)
    if total > total_bars:  # shorten: one bar per line where lines are short, then drop the end
        for item in planned:
            if item[3] == 2 and all(len(line) <= 7 for line in item[2].lines):
                item[3] = 1
                item[1] = len(item[2].lines)
        total = sum(p[1] for p in planned)
        if total > total_bars:
            notes.append("lyrics longer than the duration allows: first sections kept")
        while total > total_bars and len(planned) > 1:
            dropped = planned.pop()
            total -= dropped[1]
            notes.append(f"dropped section [{dropped[2].label}]")
        if total > total_bars:
            item = planned[0]
            if item[3]:
                keep = max(1, total_bars // max(item[3], 1))
                item[2] = LyricSection(item[2].kind, item[2].label, item[2].lines[:keep], item[2].texts[:keep])
                item[1] = min(total_bars, keep * item[3])
                notes.append(f"kept {keep} line(s) of [{item[2].label}]")
            else:
                item[1] = total_bars
            total = item[1]
    spare = total_bars - total
    if spare >= 2 and planned and planned[0][0] != "intro":
        intro = min(4, spare // 2 * 2 if spare < 8 else 4)
        planned.insert(0, ["intro", intro, None, 0])
        spare -= intro
    # Long songs with short lyrics: an instrumental chorus before the last section.
    while spare >= 8:
        planned.insert(max(len(planned) - 1, 1), ["interlude", 8, None, 0])
        spare -= 8
    if spare > 0:
        if planned[-1][0] == "outro" and planned[-1][2] is None:
            planned[-1][1] += spare
        else:
            planned.append(["outro", spare, None, 0])
    return [(p[0], p[1], p[2], p[3]) for p in planned], notes


# ---------------------------------------------------------------- the composer


def compose(request: ComposeRequest) -> Arrangement:
    """Compose a full arrangement for `request` (deterministic in request + seed)."""
    rng = np.random.default_rng(request.seed)
    decisions = parse_tags(request.tags)
    genre = GENRES[decisions.genre]
    loop = bool(request.loop or decisions.loop)
    bpm, tempo_why = _choose_tempo(decisions, genre, request.bpm)
    key, key_why = _choose_key(decisions, genre, request.key, rng)
    duration = float(request.duration)
    notes_for_sidecar: list[str] = []

    if loop:
        # A loop must be a whole number of beats; nudge the tempo (< 1 beat per loop) to fit.
        # Whole bars when that moves the tempo by at most 3 %, else whole beats.
        bars_fit = max(1, round(duration * bpm / 60.0 / BEATS_PER_BAR))
        beats = bars_fit * BEATS_PER_BAR
        if abs(beats * 60.0 / duration / bpm - 1) > 0.03:
            beats = max(1, round(duration * bpm / 60.0))
        fitted = beats * 60.0 / duration
        if abs(fitted - bpm) > 1e-9:
            notes_for_sidecar.append(f"tempo {bpm:g} -> {fitted:.3f} BPM so {beats} beats fill {duration:g} s")
        bpm = fitted
        total_bars = math.ceil(beats / BEATS_PER_BAR)
        music_end = duration
    else:
        bar_s = BEATS_PER_BAR * 60.0 / bpm
        tail = request.tail_seconds if request.tail_seconds is not None else \
            (min(3.0, max(1.0, 0.08 * duration)) if request.final_ending else 0.0)
        total_bars = max(1, int((duration - tail + 1e-9) // bar_s)) if request.final_ending else \
            max(1, math.ceil(duration / bar_s))
        music_end = min(total_bars * bar_s, duration) if request.final_ending else duration
    beat_s = 60.0 / bpm
    bar_s = BEATS_PER_BAR * beat_s

    lyric_sections = parse_lyrics(request.lyrics, request.syllabify) if request.lyrics.strip() else []
    if lyric_sections:
        planned, form_notes = _lyric_form(lyric_sections, total_bars, bpm)
        form_source = "lyrics"
    elif request.form_kind:
        planned, form_notes, form_source = [(request.form_kind, total_bars, None, 0)], [], "given"
    else:
        planned = [(kind, bars, None, 0) for kind, bars in fit_form(list(genre.form), total_bars)]
        form_notes, form_source = [], f"{genre.name} form"
    notes_for_sidecar.extend(form_notes)

    mode_progressions = genre.major_progressions if key.mode == "major" else genre.minor_progressions
    progression_for: dict[str, tuple[str, ...]] = {}
    order = [int(i) for i in rng.permutation(len(mode_progressions))]
    # Verses and choruses get different progressions when the genre has more than one.
    for index, kind in enumerate(("verse", "chorus", "bridge")):
        progression_for[kind] = mode_progressions[order[index % len(order)]]
    if key.mode == "major" and len(mode_progressions) > 1:
        progression_for["bridge"] = tuple(reversed(progression_for["verse"][1:])) + (progression_for["verse"][0],)

    def progression_of(kind: str) -> tuple[str, ...]:
        if kind in ("chorus", "drop", "solo", "head", "interlude"):
            return progression_for["chorus"]
        if kind in ("bridge", "breakdown"):
            return progression_for["bridge"]
        return progression_for["verse"]

    moods_energy = sum(MOODS[m].energy for m in decisions.moods)
    brightness = sum(MOODS[m].brightness for m in decisions.moods)
    sections: list[Section] = []
    bar = 0
    counts: dict[str, int] = {}
    for kind, bars, lyric, _per_line in planned:
        counts[kind] = counts.get(kind, 0) + 1
        name = kind.title() + (f" {counts[kind]}" if kind not in ("intro", "outro") else "")
        progression = progression_of(kind)
        chords = [progression[i % len(progression)] for i in range(bars)]
        energy = float(np.clip(SECTION_ENERGY.get(kind, 0.6) + moods_energy, 0.15, 1.0))
        start = bar * bar_s
        end = min((bar + bars) * bar_s, music_end if loop else (bar + bars) * bar_s)
        instrumental = lyric is None or lyric.instrumental or not lyric.lines
        sections.append(Section(name, kind, bar, bars, start, end, energy, instrumental, tuple(chords),
                                tuple(lyric.texts) if lyric is not None else ()))
        bar += bars
    if not loop and request.final_ending and sections:
        # The final bar resolves to the tonic chord.
        last = sections[-1]
        chords = list(last.chords)
        chords[-1] = "i" if key.mode == "minor" else "I"
        sections[-1] = Section(last.name, last.kind, last.start_bar, last.bars, last.start, last.end,
                               last.energy, last.instrumental, tuple(chords), last.lyric_lines)

    voices = dict(genre.voices)
    voices.update(decisions.instruments)
    drums_on = genre.drums is not None if decisions.drums is None else decisions.drums
    builder = _Builder(rng, genre, key, bpm, beat_s, bar_s, music_end, duration, loop, request.final_ending,
                       brightness)
    parts = builder.build(sections, planned, voices, drums_on, decisions)

    decisions_out = {
        "tags": decisions.to_dict(), "genre": genre.name, "moods": decisions.moods,
        "tempo_bpm": round(bpm, 4), "tempo_from": tempo_why, "key": key.name, "key_from": key_why,
        "time_signature": "4/4", "loop": loop, "form_from": form_source,
        "form": [{"name": s.name, "bars": s.bars, "start_s": round(s.start, 3), "energy": round(s.energy, 2),
                  "chords": list(s.chords), "instrumental": s.instrumental} for s in sections],
        "progressions": {k: list(v) for k, v in progression_for.items()},
        "chord_symbols": {s.name: [_symbol(c, key) for c in s.chords[:4]] for s in sections},
        "instruments": {p.role: p.voice for p in parts},
        "drums": {"on": drums_on, "pattern": _pattern_summary(genre.drums) if drums_on and genre.drums else None,
                  "fills": genre.fill if drums_on else None},
        "swing": genre.swing, "vinyl": bool(decisions.vinyl or genre.vinyl),
        "melody": {"notes": len(builder.melody), "sung_syllables": sum(1 for m in builder.melody if m.syllable),
                   "source": "lyrics" if lyric_sections else "motifs"},
        "ending": "loop (wraps to the start)" if loop else (
            "final tonic chord and tail" if request.final_ending else "open (continues)"),
        "unused_tags": decisions.unused, "notes": notes_for_sidecar,
    }
    return Arrangement(bpm=bpm, key=key, genre=genre.name, duration=duration, loop=loop, sections=sections,
                       parts=parts, melody=builder.melody, music_end=music_end,
                       vinyl=decisions_out["vinyl"], reverb=genre.reverb, decisions=decisions_out)


def _symbol(numeral: str, key: Key) -> str:
    return roman_chord(numeral, key).symbol


def _pattern_summary(pattern: DrumPattern) -> dict[str, str]:
    return {name: getattr(pattern, name) for name in ("kick", "snare", "clap", "hat", "open_hat", "ride", "rim",
                                                       "shaker", "toms") if set(getattr(pattern, name)) != {"-"}}


# Bass figures: (step, length in steps, degree) with degree R root, 5 fifth, 8 octave, N approach.
BASS_STYLES: dict[str, list[tuple[int, int, str]]] = {
    "pop": [(0, 3, "R"), (3, 3, "R"), (6, 2, "5"), (8, 3, "R"), (11, 3, "R"), (14, 2, "8")],
    "eighths": [(s, 2, "R") for s in range(0, 16, 2)],
    "sub": [(0, 10, "R"), (10, 6, "5")],
    "offbeat": [(2, 2, "R"), (6, 2, "R"), (10, 2, "R"), (14, 2, "8")],
    "octave": [(s, 2, "R" if s % 4 == 0 else "8") for s in range(0, 16, 2)],
    "walking": [(0, 4, "R"), (4, 4, "3"), (8, 4, "5"), (12, 4, "N")],
    "drone": [(0, 16, "R")],
    "sustained": [(0, 8, "R"), (8, 8, "5")],
    "funk": [(0, 2, "R"), (3, 1, "8"), (6, 2, "R"), (8, 1, "R"), (10, 2, "5"), (11, 1, "8"), (14, 2, "N")],
    "root_fifth": [(0, 4, "R"), (4, 4, "5"), (8, 4, "R"), (12, 4, "5")],
    "chug": [(s, 1, "R") for s in range(16)],
    "dembow": [(0, 3, "R"), (3, 1, "R"), (4, 3, "R"), (8, 3, "R"), (11, 1, "R"), (12, 4, "5")],
}
# Chord rhythms: (step, length in steps).
HARMONY_RHYTHMS: dict[str, list[tuple[int, int]]] = {
    "block": [(0, 8), (8, 8)],
    "power": [(s, 2) for s in range(0, 16, 2)],
    "comp": [(0, 6), (6, 4), (12, 4)],
    "stabs": [(2, 1), (6, 1), (10, 1), (14, 1)],
    "pad": [(0, 16)],
    "strings": [(0, 16)],
    "strum": [(0, 4), (4, 2), (6, 4), (10, 2), (12, 2), (14, 2)],
    "offbeat": [(2, 2), (6, 2), (10, 2), (14, 2)],
    "arp": [(s, 1) for s in range(16)],
    "fast_arp": [(s, 1) for s in range(16)],
    "ostinato": [(s, 2) for s in range(0, 16, 2)],
}
ARPEGGIATED = ("arp", "fast_arp", "ostinato")
# Melody rhythms for instrumental motifs: (step, length) per bar, from sparse to dense.
MOTIF_RHYTHMS = [
    [(0, 4), (6, 2), (8, 6)],
    [(0, 2), (2, 2), (4, 4), (10, 2), (12, 4)],
    [(0, 3), (3, 3), (6, 2), (8, 4), (12, 4)],
    [(2, 2), (4, 2), (6, 2), (8, 6), (14, 2)],
    [(0, 2), (2, 2), (4, 2), (6, 2), (8, 2), (10, 2), (12, 4)],
    [(0, 6), (6, 2), (8, 2), (10, 6)],
]
PART_PAN = {"bass": 0.0, "chords": -0.25, "pad": 0.3, "arp": 0.4, "lead": 0.1, "drums": 0.0}


class _Builder:
    def __init__(self, rng: np.random.Generator, genre: Genre, key: Key, bpm: float, beat_s: float, bar_s: float,
                 music_end: float, duration: float, loop: bool, ending: bool, brightness: float) -> None:
        self.rng, self.genre, self.key, self.bpm = rng, genre, key, bpm
        self.beat_s, self.bar_s, self.step_s = beat_s, bar_s, bar_s / STEPS_PER_BAR
        self.music_end, self.duration, self.loop, self.ending = music_end, duration, loop, ending
        self.brightness = brightness
        self.melody: list[MelodyNote] = []
        # spawned from the seed without drawing from `rng`
        self.sung_rng = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])

    # -- timing
    def time(self, bar: int, step: float) -> float:
        """Seconds of (bar, sixteenth step), with the genre's swing on off-beat subdivisions."""
        swing = self.genre.swing
        whole = int(step)
        offset = 0.0
        if swing > 0.5:
            if self.genre.name == "jazz":   # swung eighths
                if whole % 4 == 2 and step == whole:
                    offset = (swing - 0.5) * 2 * 2 * self.step_s
            elif whole % 2 == 1 and step == whole:  # swung sixteenths
                offset = (swing - 0.5) * 2 * self.step_s
        return bar * self.bar_s + step * self.step_s + offset

    def add(self, part: Part, start: float, length: float, pitch: int, velocity: float,
            rng: np.random.Generator | None = None) -> None:
        limit = self.music_end if (self.loop or not self.ending) else self.duration
        if start >= limit - 1e-6 or length <= 0:
            return
        human = float((rng or self.rng).normal(0, 0.04))
        part.notes.append(NoteEvent(round(start, 6), round(length, 6), int(pitch),
                                    float(np.clip(velocity + human, 0.05, 1.0))))

    # -- parts
    def build(self, sections: list[Section], planned: list, voices: dict[str, str], drums_on: bool,
              decisions: TagDecisions) -> list[Part]:
        parts = {role: Part(role, voices[role], pan=PART_PAN[role])
                 for role in ("bass", "chords", "pad", "arp", "lead")}
        drums = Part("drums", "kit", is_drum=True)
        chords_by_bar: list[Chord] = []
        for section in sections:
            chords_by_bar.extend(roman_chord(c, self.key) for c in section.chords)
        previous_voicing: list[int] | None = None
        previous_pad: list[int] | None = None
        motif_cache: dict[str, tuple[list[tuple[int, int]], list[int]]] = {}
        for index, section in enumerate(sections):
            lyric = planned[index][2]
            per_line = planned[index][3]
            last_section = index == len(sections) - 1
            for offset in range(section.bars):
                bar = section.start_bar + offset
                chord = chords_by_bar[bar]
                next_chord = chords_by_bar[bar + 1] if bar + 1 < len(chords_by_bar) else chords_by_bar[0]
                final_bar = last_section and offset == section.bars - 1 and self.ending and not self.loop
                section_end = offset == section.bars - 1
                if drums_on:
                    self.drum_bar(drums, section, bar, offset, section_end and not final_bar, index, final_bar)
                self.bass_bar(parts["bass"], section, bar, chord, next_chord, final_bar)
                previous_voicing = self.chord_bar(parts["chords"], section, bar, chord, previous_voicing, final_bar)
                if section.energy >= 0.7 or self.genre.harmony in ("pad", "strings") or \
                        self.genre.name in ("synthwave", "ambient", "orchestral"):
                    previous_pad = self.pad_bar(parts["pad"], section, bar, chord, previous_pad, final_bar)
                if section.energy >= 0.85 or (self.genre.name == "ambient" and section.kind != "outro"):
                    self.arp_bar(parts["arp"], section, bar, chord)
            if lyric is not None and lyric.lines and not lyric.instrumental:
                self.sung_melody(parts["lead"], section, lyric.lines, per_line, chords_by_bar, len(self.melody))
            elif section.kind not in ("intro", "outro", "breakdown", "build") or section.bars >= 8 and \
                    section.kind == "intro" and self.genre.name == "ambient":
                motif = motif_cache.get(section.kind)
                if motif is None:
                    motif = self.new_motif(section.kind)
                    motif_cache[section.kind] = motif
                self.motif_melody(parts["lead"], section, motif, chords_by_bar)
        if self.ending and not self.loop:
            self.final_chord(parts, drums, chords_by_bar[-1], previous_voicing, drums_on)
        result = [p for p in parts.values() if p.notes]
        if drums.notes:
            result.insert(0, drums)
        for part in result:
            part.notes.sort(key=lambda n: (n.start, n.pitch))
        return result

    def drum_bar(self, drums: Part, section: Section, bar: int, offset: int, fill: bool, index: int,
                 final_bar: bool) -> None:
        genre = self.genre
        light = section.energy < 0.7 or genre.drums is None
        pattern = (genre.drums_light if light else genre.drums) or genre.drums
        if pattern is None:
            return
        opening = section.kind == "intro" and offset < section.bars // 2 and section.bars >= 4
        if section.kind == "breakdown" or opening:
            # Intros open with kick and hats only; breakdowns drop the beat to the hats.
            lanes = [(n, s) for n, s in pattern.lanes() if n in (KICK, 42, 70)] if section.kind == "intro" else \
                [(n, s) for n, s in pattern.lanes() if n in (42, 70, 51)]
        else:
            lanes = pattern.lanes()
        level = 0.55 + 0.45 * section.energy
        for note, grid in lanes:
            for step, char in enumerate(grid):
                if char == "-" or (fill and step >= 12 and note in (SNARE, 39, TOM_LOW, KICK)):
                    continue
                velocity = {"X": 1.0, "x": 0.78, "o": 0.45}[char] * level
                self.add(drums, self.time(bar, step), self.step_s, note, velocity)
        if offset == 0 and section.energy >= 0.7 and index > 0:
            self.add(drums, self.time(bar, 0), self.bar_s, CRASH, 0.8 * level)
        if section.kind == "build":
            # A build rolls snare eighths then sixteenths, louder each beat.
            step_size = 2 if offset < section.bars - 2 else 1
            for step in range(0, 16, step_size):
                self.add(drums, self.time(bar, step), self.step_s, SNARE,
                         0.2 + 0.45 * (offset * 16 + step) / (section.bars * 16))
        if fill:
            self.fill(drums, bar, level)

    def fill(self, drums: Part, bar: int, level: float) -> None:
        kind = self.genre.fill
        if kind == "snare":
            for i, step in enumerate((12, 13, 14, 15)):
                self.add(drums, self.time(bar, step), self.step_s, SNARE, (0.55 + 0.12 * i) * level)
        elif kind == "toms":
            for i, (step, tom) in enumerate(((12, TOM_HIGH), (13, TOM_HIGH), (14, TOM_MID), (15, TOM_LOW))):
                self.add(drums, self.time(bar, step), self.step_s, tom, (0.65 + 0.1 * i) * level)
        elif kind == "roll":
            for step in range(8, 16):
                self.add(drums, self.time(bar, step), self.step_s, SNARE, (0.4 + 0.07 * (step - 8)) * level)
        self.add(drums, self.time(bar, 14), self.step_s * 2, OPEN_HAT, 0.5 * level)

    def bass_bar(self, bass: Part, section: Section, bar: int, chord: Chord, next_chord: Chord,
                 final_bar: bool) -> None:
        style = self.genre.bass
        figure = BASS_STYLES[style]
        if section.energy < 0.5 and style not in ("drone", "sustained", "walking"):
            figure = [(0, 8, "R"), (8, 8, "5" if style != "sub" else "R")]
        if final_bar:
            figure = [(0, 16, "R")]
        root = 36 + (chord.root - 36) % 12          # C2..B2
        if root > 43:
            root -= 12
        for step, length, degree in figure:
            if degree == "R":
                pitch = root
            elif degree == "5":
                pitch = root + 7
            elif degree == "8":
                pitch = root + 12
            elif degree == "3":
                pitch = root + chord.intervals[1]
            else:  # approach the next root by a semitone from below
                target = 36 + (next_chord.root - 36) % 12
                target = target - 12 if target > 43 else target
                pitch = target - 1 if target - 1 != root else target + 1
            velocity = 0.8 if step % 4 == 0 else 0.65
            self.add(bass, self.time(bar, step), length * self.step_s * 0.95, pitch, velocity)

    def chord_bar(self, part: Part, section: Section, bar: int, chord: Chord, previous: list[int] | None,
                  final_bar: bool) -> list[int]:
        style = self.genre.harmony
        low, high = (52, 71) if section.energy >= 0.8 else (48, 67)
        if style == "power":
            root = 40 + (chord.root - 40) % 12
            voicing = [root, root + 7, root + 12]
        else:
            voicing = voice_lead(chord, previous, low, high, voices=4)
        rhythm = HARMONY_RHYTHMS[style]
        if section.energy < 0.5 and style not in ("pad", "strings"):
            rhythm = [(0, 16)] if style in ("power", "strum", "stabs", "offbeat") else rhythm[:2]
            if style in ARPEGGIATED:
                rhythm = [(s, 2) for s in range(0, 16, 2)]
        if final_bar:
            return voicing
        velocity = 0.45 + 0.35 * section.energy
        if style in ARPEGGIATED:
            order = voicing + [voicing[1] + 12] if style != "ostinato" else [voicing[0], voicing[2], voicing[1],
                                                                               voicing[2]]
            for i, (step, length) in enumerate(rhythm):
                pitch = order[i % len(order)]
                self.add(part, self.time(bar, step), length * self.step_s * 0.9, pitch, velocity * 0.85)
            return voicing
        for step, length in rhythm:
            start = self.time(bar, step)
            for i, pitch in enumerate(voicing):
                strum = 0.012 * i if style == "strum" else 0.0   # strummed strings arrive one after another
                self.add(part, start + strum, length * self.step_s * 0.92, pitch, velocity)
        return voicing

    def pad_bar(self, part: Part, section: Section, bar: int, chord: Chord, previous: list[int] | None,
                final_bar: bool) -> list[int]:
        voicing = voice_lead(chord, previous, 55, 76, voices=3)
        if not final_bar:
            for pitch in voicing:
                self.add(part, self.time(bar, 0), self.bar_s, pitch, 0.35 + 0.3 * section.energy)
        return voicing

    def arp_bar(self, part: Part, section: Section, bar: int, chord: Chord) -> None:
        tones = [nearest_pitch(pc, 76) for pc in chord.pitch_classes()[:3]]
        tones = sorted(tones) + [sorted(tones)[0] + 12]
        pattern = [0, 1, 2, 3, 2, 1, 0, 2]
        step_size = 2
        for i, step in enumerate(range(0, 16, step_size)):
            self.add(part, self.time(bar, step), self.step_s * step_size * 0.8, tones[pattern[i % 8]], 0.4)

    # -- melody
    def _centre(self, kind: str) -> float:
        centre = MELODY_CENTRE.get(kind, DEFAULT_MELODY_CENTRE) + self.brightness
        # Keep the tonic near the centre so phrases land on it comfortably.
        return centre

    def _scale(self) -> list[int]:
        degrees = list(self.key.scale)
        if self.genre.lead_scale == "pentatonic":
            degrees = [0, 2, 4, 7, 9] if self.key.mode == "major" else [0, 3, 5, 7, 10]
        pcs = {(self.key.tonic + d) % 12 for d in degrees}
        return [p for p in range(40, 100) if p % 12 in pcs]

    def new_motif(self, kind: str) -> tuple[list[tuple[int, int]], list[int]]:
        """A one-bar motif: a rhythm and a contour (scale steps from the phrase's anchor)."""
        energetic = SECTION_ENERGY.get(kind, 0.6) >= 0.8
        choices = MOTIF_RHYTHMS[2:] if energetic else MOTIF_RHYTHMS[:4]
        rhythm = choices[int(self.rng.integers(len(choices)))]
        contour = [0]
        for _ in range(len(rhythm) - 1):
            contour.append(int(np.clip(contour[-1] + self.rng.choice([-2, -1, -1, 1, 1, 2, 3]), -4, 5)))
        return list(rhythm), contour

    def _pitch(self, scale: list[int], anchor_index: int, steps: int, chord: Chord, strong: bool) -> int:
        index = int(np.clip(anchor_index + steps, 0, len(scale) - 1))
        pitch = scale[index]
        if strong and pitch % 12 not in chord.pitch_classes():
            # Strong beats land on chord tones: move to the nearest one.
            pitch = nearest_pitch(min(chord.pitch_classes(), key=lambda pc: min((pc - pitch) % 12,
                                                                               (pitch - pc) % 12)), pitch)
        return pitch

    def motif_melody(self, lead: Part, section: Section, motif: tuple[list[tuple[int, int]], list[int]],
                     chords_by_bar: list[Chord]) -> None:
        rhythm, contour = motif
        scale = self._scale()
        centre = self._centre(section.kind)
        for offset in range(section.bars):
            bar = section.start_bar + offset
            chord = chords_by_bar[bar]
            phrase_pos = offset % 4
            anchor = nearest_pitch(chord.root, centre)
            anchor_index = min(range(len(scale)), key=lambda i: abs(scale[i] - anchor))
            if phrase_pos == 3:
                # Cadence bar: a held chord tone ends each four-bar phrase (the tonic at section end).
                pc = self.key.tonic if offset == section.bars - 1 else chord.root
                pitch = nearest_pitch(pc, centre)
                notes = [(0, 2, pitch), (2, 2, self._pitch(scale, anchor_index, 1, chord, False)), (4, 8, pitch)]
            else:
                shift = 0 if phrase_pos == 0 else (1 if phrase_pos == 1 else -1)  # vary the repeat
                local_rhythm = rhythm
                if section.kind in ("solo", "drop") and phrase_pos == 2:
                    local_rhythm = [(s, 1) for s in range(0, 16, 2)] + [(1, 1)]
                    local_rhythm = sorted(local_rhythm)[:8]
                notes = []
                for i, (step, length) in enumerate(local_rhythm):
                    steps = contour[i % len(contour)] + shift
                    notes.append((step, length, self._pitch(scale, anchor_index, steps, chord, step % 4 == 0)))
            for i, (step, length, pitch) in enumerate(notes):
                start = self.time(bar, step)
                dur = length * self.step_s * 0.9
                self.add(lead, start, dur, pitch, 0.55 + 0.3 * section.energy)
                if start < self.music_end:
                    self.melody.append(MelodyNote(round(start, 6), round(dur, 6), int(pitch), "", -1, False,
                                                  phrase_pos == 3 and i == len(notes) - 1, section.name, True))

    def sung_melody(self, lead: Part, section: Section, lines: list[list[str]], per_line: int,
                    chords_by_bar: list[Chord], first_line_index: int) -> None:
        """One note per syllable: lines of `per_line` bars, a breath (rest) at each line end,
        the same contour on alternate lines so the tune repeats, the last note of a line long
        and on a chord tone; the section's last line lands on the tonic."""
        scale = self._scale()
        centre = self._centre(section.kind) - 4      # a voice sits lower than a lead synth
        line_number = sum(1 for m in self.melody if m.line_end)
        contour_a = self.new_motif(section.kind)[1]
        contour_b = [c + (1 if i % 2 else -1) for i, c in enumerate(contour_a)]
        for index, syllables in enumerate(lines):
            start_bar = section.start_bar + index * per_line
            if start_bar >= section.start_bar + section.bars:
                break
            steps_available = per_line * STEPS_PER_BAR - 2   # the breath at the line end
            count = len(syllables)
            grid = 2 if count * 2 <= steps_available else 1
            lengths = [grid] * count
            spare = steps_available - grid * count
            if spare > 0:
                extra_last = min(spare, 6)
                lengths[-1] += extra_last
                spare -= extra_last
                i = 0
                while spare >= grid and count > 1:  # lengthen stressed (every other) syllables
                    lengths[(i * 2) % (count - 1)] += grid
                    spare -= grid
                    i += 1
            positions = [0.0]
            for length in lengths[:-1]:
                positions.append(positions[-1] + length)
            if grid * count > steps_available:     # very long line: squeeze evenly
                each = steps_available / count
                positions = [i * each for i in range(count)]
                lengths = [each] * count
            contour = contour_a if index % 2 == 0 else contour_b
            line_index = line_number + index
            for i, syllable in enumerate(syllables):
                step = positions[i]
                bar = start_bar + int(step // STEPS_PER_BAR)
                chord = chords_by_bar[min(bar, len(chords_by_bar) - 1)]
                anchor = nearest_pitch(chord.root, centre)
                anchor_index = min(range(len(scale)), key=lambda k: abs(scale[k] - anchor))
                last = i == count - 1
                if last:
                    # Lines end on a chord tone (third or fifth, alternating); the last on the tonic.
                    tones = chord.pitch_classes()
                    pc = self.key.tonic if index == len(lines) - 1 else tones[(index % 2) + 1 if len(tones) > 2 else 0]
                    pitch = nearest_pitch(pc, centre)
                else:
                    pitch = self._pitch(scale, anchor_index, contour[i % len(contour)], chord,
                                        float(step).is_integer() and int(step) % 4 == 0)
                while pitch > SUNG_RANGE[1]:   # keep the guide melody singable
                    pitch -= 12
                while pitch < SUNG_RANGE[0]:
                    pitch += 12
                start = start_bar * self.bar_s + step * self.step_s
                dur = lengths[i] * self.step_s * (0.95 if not last else 0.9)
                # the sung line's own random stream: the syllable count (which differs between
                # translations) must not shift the accompaniment's humanisation
                self.add(lead, start, dur, pitch, 0.6 + 0.25 * section.energy, rng=self.sung_rng)
                if start < self.music_end:
                    self.melody.append(MelodyNote(round(start, 6), round(dur, 6), int(pitch), syllable, line_index,
                                                  last, last, section.name, False))

    def final_chord(self, parts: dict[str, Part], drums: Part, chord: Chord, previous: list[int] | None,
                    drums_on: bool) -> None:
        """The ending: the last bar's tonic chord rings from its downbeat into the tail."""
        bar_start = max(0.0, self.music_end - self.bar_s)
        ring = self.duration - bar_start
        voicing = voice_lead(chord, previous, 48, 67, voices=4)
        for pitch in voicing:
            self.add(parts["chords"], bar_start, ring, pitch, 0.6)
        for pitch in voice_lead(chord, None, 60, 76, voices=3):
            self.add(parts["pad"], bar_start, ring, pitch, 0.4)
        root = 36 + (chord.root - 36) % 12
        self.add(parts["bass"], bar_start, ring, root - 12 if root > 43 else root, 0.8)
        self.add(parts["lead"], bar_start, min(ring, self.bar_s * 1.5), nearest_pitch(self.key.tonic, 72), 0.55)
        if drums_on:
            self.add(drums, bar_start, self.step_s, KICK, 0.95)
            self.add(drums, bar_start, ring, CRASH, 0.85)

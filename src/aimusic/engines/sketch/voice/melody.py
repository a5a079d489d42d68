"""A plain one-note-per-syllable melody for lyrics: the benchmark's and the tests' input, and a
fallback for callers without a composer. The sketch engine's composer writes the real tune."""

from __future__ import annotations

import numpy as np

from aimusic.engines.sketch.voice.singer import SungNote
from aimusic.engines.sketch.voice.syllables import is_marker_line, syllabify

# scale degrees (semitones above the tonic) of a simple rising-falling line
_CONTOUR = (0, 2, 4, 5, 7, 5, 4, 2, 4, 7, 9, 7, 4, 2)


def simple_melody(lyrics: str, language: str | None, *, bpm: float = 100.0, tonic: int = 60,
                  start: float = 0.5, seed: int = 0, melisma_at_line_end: bool = True) -> list[SungNote]:
    """Notes for `lyrics`: one per syllable, eighths and quarters, a long last note per line
    (split into a two-note melisma when `melisma_at_line_end`), a beat of rest between lines."""
    rng = np.random.default_rng(seed)
    beat = 60.0 / bpm
    notes: list[SungNote] = []
    t = start
    line_index = 0
    for line in (lyrics or "").splitlines():
        if is_marker_line(line):
            continue
        syllables = syllabify(line, language)
        if not syllables:
            continue
        offset = int(rng.integers(0, len(_CONTOUR)))
        for k, syllable in enumerate(syllables):
            pitch = tonic + _CONTOUR[(offset + k) % len(_CONTOUR)]
            last = k == len(syllables) - 1
            if last and melisma_at_line_end:
                notes.append(SungNote(t, beat, pitch, syllable))
                notes.append(SungNote(t + beat, beat, pitch - 2, "", phrase_end=True))
                t += 2 * beat
            elif last:
                notes.append(SungNote(t, 2 * beat, pitch, syllable, phrase_end=True))
                t += 2 * beat
            else:
                length = beat * (0.5 if (k + line_index) % 3 == 2 else 1.0)
                notes.append(SungNote(t, length, pitch, syllable))
                t += length
        t += beat
        line_index += 1
    return notes


def with_melismas(notes: list[SungNote], *, min_seconds: float = 0.8) -> list[SungNote]:
    """Long phrase-end notes become a two-note melisma: the syllable holds its pitch for about 60%
    of the note, then the vowel falls back to the previous note's pitch (a common ornament that
    stays in key because that pitch is already in the tune). Shorter notes, notes after a rest and
    notes whose predecessor has the same pitch stay as they are."""
    out: list[SungNote] = []
    for i, note in enumerate(notes):
        previous = notes[i - 1] if i > 0 else None
        if (note.phrase_end and note.duration >= min_seconds and previous is not None
                and not previous.phrase_end and previous.pitch != note.pitch
                and note.syllable.strip() and not note.syllable.strip().endswith("-")):
            held = round(note.duration * 0.6, 6)
            out.append(SungNote(note.start, held, note.pitch, note.syllable, False, note.language))
            out.append(SungNote(round(note.start + held, 6), round(note.duration - held, 6), previous.pitch, "",
                                True, note.language))
        else:
            out.append(note)
    return out

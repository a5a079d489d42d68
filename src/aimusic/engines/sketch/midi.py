"""Arrangement -> standard MIDI file (pretty_midi): for a DAW, and for the soundfont renderer."""

from __future__ import annotations

import io

from aimusic.engines.sketch.compose import Arrangement

# Voice -> General-MIDI program (0-based).
GM_PROGRAMS = {
    "piano": 0, "epiano": 4, "organ": 16, "clav": 7, "acoustic_guitar": 25, "clean_guitar": 27, "guitar": 27,
    "overdrive_guitar": 29, "distortion_guitar": 30, "synth_bass": 38, "finger_bass": 33, "bass": 33,
    "sub_bass": 38, "upright_bass": 32, "slap_bass": 36, "triangle": 80, "strings_low": 48, "pad": 89,
    "strings": 48, "choir": 52, "supersaw": 81, "lead": 81, "pulse": 80, "square": 80, "sax": 65, "violin": 40,
    "brass": 61, "horn": 60, "flute": 73, "bells": 9, "marimba": 12, "harp": 46, "pluck": 45,
}
ROLE_CHANNEL_VOLUME = {"drums": 110, "bass": 105, "chords": 85, "pad": 70, "arp": 65, "lead": 95}


def arrangement_to_midi(arrangement: Arrangement, end_padding: float = 0.0) -> bytes:
    """A type-1 MIDI file: tempo, key signature, one track per part (drums on channel 10),
    and the lyric syllables as lyric events on the lead track."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=float(arrangement.bpm))
    key_number = arrangement.key.tonic + (12 if arrangement.key.mode == "minor" else 0)
    pm.key_signature_changes.append(pretty_midi.KeySignature(key_number, 0.0))
    pm.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    for part in arrangement.parts:
        instrument = pretty_midi.Instrument(program=0 if part.is_drum else GM_PROGRAMS.get(part.voice, 0),
                                            is_drum=part.is_drum, name=f"{part.role}: {part.voice}")
        volume = ROLE_CHANNEL_VOLUME.get(part.role, 90)
        instrument.control_changes.append(pretty_midi.ControlChange(7, volume, 0.0))
        instrument.control_changes.append(pretty_midi.ControlChange(10, int(64 + 63 * part.pan), 0.0))
        for note in part.notes:
            length = note.duration if not part.is_drum else max(note.duration, 0.05)
            instrument.notes.append(pretty_midi.Note(velocity=max(1, min(127, int(round(note.velocity * 127)))),
                                                     pitch=note.pitch, start=note.start, end=note.start + length))
        if end_padding > 0:
            # A late controller keeps the file (and the renderer) running through the tail.
            instrument.control_changes.append(
                pretty_midi.ControlChange(7, volume, arrangement.duration + end_padding))
        pm.instruments.append(instrument)
    for note in arrangement.vocal_notes():
        text = note.syllable + ("\n" if note.line_end else " ")
        # lyric events as UTF-8 bytes (mido writes text as latin-1, which cannot hold CJK)
        pm.lyrics.append(pretty_midi.Lyric(text.encode("utf-8").decode("latin-1"), note.start))
    buffer = io.BytesIO()
    pm.write(buffer)
    return buffer.getvalue()

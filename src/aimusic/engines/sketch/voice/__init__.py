"""Offline singing for the sketch engine: eSpeak NG speech sung on notes with the WORLD vocoder.

Public surface:
- `syllabify(line, language)`, `count_syllables(lyrics, language)`: the sung syllables.
- `sing(notes, sample_rate, language, voice="female", seed=0) -> VocalRender`.
- `vocal_bus(samples, sample_rate)`: EQ, compression, reverb.
- `VOICE_TYPES`, `fit_to_voice(notes, voice)`: voice types and their ranges.

Importing this package is cheap; eSpeak NG, WORLD, fugashi and pedalboard load on first use.
"""

from __future__ import annotations

from aimusic.engines.sketch.voice.bus import vocal_bus
from aimusic.engines.sketch.voice.singer import (
    MAX_NOTES,
    VOICE_TYPES,
    NoteRender,
    SungNote,
    VocalRender,
    fit_to_voice,
    sing,
    voice_names,
)
from aimusic.engines.sketch.voice.syllables import (
    count_syllables,
    is_marker_line,
    syllabify,
    voice_language,
)

__all__ = [
    "MAX_NOTES", "VOICE_TYPES", "NoteRender", "SungNote", "VocalRender", "count_syllables", "fit_to_voice",
    "is_marker_line", "sing", "syllabify", "versions", "vocal_bus", "voice_language", "voice_names",
]


def versions() -> dict[str, str]:
    """Versions of what shapes the vocal, for the sidecar."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("espeakng-loader", "pyworld", "pyphen", "pedalboard", "fugashi", "unidic-lite"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return out

"""The General-MIDI soundfont renderer: the arrangement as MIDI, played by midirenderer
(a Rust SoundFont synth) with a .sf2 file: by default TimGM6mb.sf2, which ships inside the
installed pretty_midi package (GPL-2; loaded from there at run time, never copied)."""

from __future__ import annotations

import io
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from aimusic.errors import InputFileError, NotConfiguredError

SOUNDFONT_RATE = 48000
SOUNDFONT_ENV = "AIMUSIC_SOUNDFONT"


def default_soundfont() -> Path | None:
    """TimGM6mb.sf2 from the installed pretty_midi, if present (found without importing it)."""
    from importlib.util import find_spec

    spec = find_spec("pretty_midi")
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "TimGM6mb.sf2"
    return path if path.is_file() else None


def soundfont_path(option: str | None = None) -> Path | None:
    """The soundfont to use: an explicit option, $AIMUSIC_SOUNDFONT, or pretty_midi's TimGM6mb."""
    chosen = option or os.environ.get(SOUNDFONT_ENV)
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise InputFileError(f"soundfont not found: {path}", field="soundfont")
        return path
    return default_soundfont()


def available() -> bool:
    from importlib.util import find_spec

    return find_spec("midirenderer") is not None and default_soundfont() is not None


@lru_cache(maxsize=2)
def _soundfont_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


def render_midi(midi_bytes: bytes, soundfont: Path) -> tuple[np.ndarray, int]:
    """MIDI bytes -> (float32 [2, frames], rate) through midirenderer."""
    try:
        import midirenderer
    except ImportError:
        raise NotConfiguredError("the soundfont renderer needs the midirenderer package",
                                 hint="pip install midirenderer, or use renderer 'synth'") from None
    import soundfile as sf

    wav = midirenderer.render_wave_from(_soundfont_bytes(str(soundfont)), midi_bytes)
    data, rate = sf.read(io.BytesIO(bytes(wav)), dtype="float32", always_2d=True)
    return np.ascontiguousarray(data.T), int(rate)

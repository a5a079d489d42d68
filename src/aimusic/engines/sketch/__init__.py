"""The offline "sketch" engine: tags and lyrics -> a composed, arranged and rendered demo,
on any CPU, with no weights and no key. See compose.py (the composer), synth.py and
soundfont.py (the renderers), mix.py (the one place buses meet) and edit.py (inpaint,
outpaint and remix of any audio)."""

from aimusic.engines.sketch.engine import SketchEngine

__all__ = ["SketchEngine"]

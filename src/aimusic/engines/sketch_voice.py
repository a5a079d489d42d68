"""Deprecated: the sketch engine's singer moved to `aimusic.engines.sketch.voice` (0.2). This
alias goes in 0.3."""

import sys
import warnings

import aimusic.engines.sketch.voice as _voice

warnings.warn("aimusic.engines.sketch_voice is now aimusic.engines.sketch.voice", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _voice

"""Deprecated: `aimusic.jobs` was renamed `aimusic.batch` (0.2). This alias goes in 0.3."""

import sys
import warnings

import aimusic.batch as _batch

warnings.warn("aimusic.jobs is now aimusic.batch", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _batch

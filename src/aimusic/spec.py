"""Deprecated: `aimusic.spec` was renamed `aimusic.schemas` (0.2). This alias goes in 0.3."""

import sys
import warnings

import aimusic.schemas as _schemas

warnings.warn("aimusic.spec is now aimusic.schemas", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _schemas

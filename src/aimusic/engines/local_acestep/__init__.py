"""The local engine: ACE-Step 1.5 through diffusers (torch is imported only when a job runs)."""

from aimusic.engines.local_acestep.engine import LocalAceStepEngine

__all__ = ["LocalAceStepEngine"]

"""Which lane a batch item runs in, and when a provider's slot is held: derived from the
engine's descriptor (`Engine.lane`, `Engine.remote_phases`), the one place batches learn
where a provider's work happens.

- Lane.REMOTE      -> "hosted:<provider>" (threads; an adaptive limit per provider)
- Lane.ACCELERATOR -> "local"             (one GPU thread, grouped calls)
- Lane.CPU         -> "offline" (a process pool) for an engine a worker process can import (built in,
                      or installed as a distribution); "thread" for one registered only in this
                      process (a spawned worker could not find it)
"""

from __future__ import annotations

from typing import Any


def lane_of(item_or_provider: Any) -> str:
    """The lane of an item (or of a provider name)."""
    from aimusic.registry import Lane, is_installed
    from aimusic.registry import lane_of as engine_lane

    provider = item_or_provider if isinstance(item_or_provider, str) else item_or_provider.provider
    lane = engine_lane(provider)
    if lane is Lane.REMOTE:
        return f"hosted:{provider}"
    if lane is Lane.ACCELERATOR:
        return "local"
    return "offline" if is_installed(provider) else "thread"


def remote_phases(provider: str) -> tuple[tuple[str, Any], tuple[str, Any]] | None:
    """((open stage, at), (close stage, at)) of the provider's remote phase, or None: then a
    job holds its provider slot for the whole job."""
    from aimusic.registry import remote_phases as declared

    phases = declared(provider)
    return (phases[0], phases[1]) if len(phases) == 2 else None

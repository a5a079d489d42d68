"""Which lane a batch item runs in, and when a provider's slot is held: derived from the
engine's descriptor (`Engine.lane`, `Engine.remote_phases`), the one place batches learn
where a provider's work happens.

- Lane.REMOTE      -> "hosted:<provider>" (threads; an adaptive limit per provider)
- Lane.ACCELERATOR -> "local"             (one GPU thread, grouped calls)
- Lane.CPU         -> "offline" for built-in engines (a process pool), "thread" for plugins
                      (a plugin registered in this process may not exist in a spawned worker)
"""

from __future__ import annotations

from typing import Any

# TODO(remove after part A of issue 15 merges): the built-in engine classes declare `lane` and
# `remote_phases` there; until then these tables stand in for a built-in engine that does not.
HOSTED_PROVIDERS = frozenset({"runcomfy", "elevenlabs", "comfyui"})
OFFLINE_PROVIDERS = frozenset({"sketch"})
LOCAL_PROVIDERS = frozenset({"local"})
# progress stages that open and close a provider's remote phase (see the engines)
REMOTE_PHASES = {"runcomfy": (("submit", None), ("download", None)),
                 "elevenlabs": (("compose", 0), ("compose", 1))}


def _engine(provider: str) -> Any:
    try:
        from aimusic.engines.registry import engine_class

        return engine_class(provider)
    except Exception:  # an unknown provider: planned items never have one, but stay safe
        return None


def _declares(cls: Any, name: str) -> bool:
    """Whether the engine class (not just the Engine base) sets `name`."""
    from aimusic.engines.base import Engine

    return any(name in vars(klass) for klass in cls.__mro__ if klass not in (Engine, object))


def lane_of(item_or_provider: Any) -> str:
    """The lane of an item (or of a provider name)."""
    provider = item_or_provider if isinstance(item_or_provider, str) else item_or_provider.provider
    cls = _engine(provider)
    if cls is not None and _declares(cls, "lane"):
        from aimusic.engines.base import Lane

        lane = Lane(cls.lane)
        if lane is Lane.REMOTE:
            return f"hosted:{provider}"
        if lane is Lane.ACCELERATOR:
            return "local"
        return "offline" if cls.__module__.startswith("aimusic.") else "thread"
    # the fallback for engines that do not declare a lane (see the TODO above)
    if provider in HOSTED_PROVIDERS:
        return f"hosted:{provider}"
    if provider in OFFLINE_PROVIDERS:
        return "offline"
    if provider in LOCAL_PROVIDERS:
        return "local"
    if cls is not None and (getattr(cls, "needs_key", False) or getattr(cls, "credential", None)):
        # a keyed plugin is a hosted service
        return f"hosted:{provider}"
    return "thread"


def remote_phases(provider: str) -> tuple[tuple[str, Any], tuple[str, Any]] | None:
    """((open stage, at), (close stage, at)) of the provider's remote phase, or None: then a
    job holds its provider slot for the whole job."""
    cls = _engine(provider)
    phases = tuple(getattr(cls, "remote_phases", ()) or ()) if cls is not None else ()
    if len(phases) == 2:
        return phases  # type: ignore[return-value]
    return REMOTE_PHASES.get(provider)

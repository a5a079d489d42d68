"""aimusic: a music request in, finished audio out, on the right model for the job."""

from __future__ import annotations

from typing import Any

__all__ = ["run", "replay", "models", "prepare", "RunResult", "estimate_cost"]


def __getattr__(name: str) -> Any:
    # The API is loaded on first use so `aimusic --help` stays fast.
    if name in __all__:
        from aimusic import api

        return getattr(api, name)
    raise AttributeError(name)

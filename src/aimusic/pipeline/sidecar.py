"""The one sidecar builder: every file aimusic writes gets its JSON record from here."""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from typing import Any


def aimusic_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aimusic")
    except PackageNotFoundError:  # running from a source tree
        return "0.1.0+src"


def library_versions(names: tuple[str, ...] = ("numpy", "soundfile", "soxr", "pydantic")) -> dict[str, str]:
    from aimusic.engines.base import package_versions

    return {"python": platform.python_version(), **package_versions(names)}


def build_sidecar(*, model: Any, provider: str, task: str, input: dict[str, Any], seed: int | None,
                  fmt: str, sample_rate: int | None, channels: int | None, duration_s: float | None,
                  cost_usd: float | None, estimated_cost_usd: float | None, engine_versions: dict[str, str],
                  metadata: dict[str, Any] | None = None, finish: dict[str, Any] | None = None,
                  replay: str = "aimusic replay <this file>", **extra: Any) -> dict[str, Any]:
    """A sidecar: enough to know what a file is and to make it again (`aimusic replay`)."""
    from aimusic.output.naming import title_for

    body: dict[str, Any] = {
        "aimusic_version": aimusic_version(),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model.id, "provider": provider, "task": task,
        "title": title_for(model.id, input),
    }
    if "request" in extra:
        body["request"] = extra.pop("request")
    body.update({
        "input": input, "seed": seed, "format": fmt, "sample_rate": sample_rate,
        "channels": channels, "duration_s": duration_s, "cost_usd": cost_usd,
        "estimated_cost_usd": estimated_cost_usd,
        "engine": {"name": provider, "versions": engine_versions},
        "versions": {"aimusic": aimusic_version(), **library_versions()},
        "metadata": dict(metadata or {}),
        "finish": finish,
    })
    body.update(extra)
    body["replay"] = replay
    return body

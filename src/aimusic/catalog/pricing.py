"""What a request costs: seconds of audio produced (what providers bill) times the model's price.

Catalog data, so that the planner, the pipeline and the hosted engines all price the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aimusic.catalog import ModelEntry


def output_seconds(model: ModelEntry, request: dict[str, Any], source_seconds: float | None = None) -> float:
    """Seconds of audio a request produces."""
    if "music_length_ms" in request:
        return request["music_length_ms"] / 1000.0
    if model.task == "generate":
        return float(request.get("duration", 60))
    if model.task == "video":  # music as long as the video (its length, when the caller knows it)
        return source_seconds if source_seconds is not None else 60.0
    if model.task == "outpaint":
        added = float(request.get("extend_before_duration", 0)) + float(request.get("extend_after_duration", 0))
        return added + (source_seconds or 0.0)
    if model.task == "inpaint":
        if source_seconds is not None:
            return source_seconds
        return max(float(request.get("end_time", 30)) - float(request.get("start_time", 0)), 0.0)
    return source_seconds if source_seconds is not None else float(request.get("duration", 60))


def estimate_cost(model: ModelEntry, request: dict[str, Any], source_seconds: float | None = None) -> float:
    return round(model.price_per_second * output_seconds(model, request, source_seconds), 6)

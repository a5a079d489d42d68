"""The take a `separate` job hands back, the same for every engine that has the stems as arrays:
`<name>.<ext>` holds the stems not in `request.remove`, and each wanted stem is staged as
`<name>.<stem>.<ext>` in the run's output format; the source's PCM subtype is kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aimusic.engines.base import RunContext, Take


def separated_take(stems: dict[str, np.ndarray], rate: int, request: Any, ctx: RunContext, sink: Any, *,
                   seed: int | None, wanted: list[str], **metadata: Any) -> Take:
    """The main file (the kept stems' sum) with the wanted stems as extra files; `metadata` joins
    the sidecar's `separate` record."""
    from aimusic.audio.io import audio_info

    kept = [s for s in stems if s not in request.remove]
    main = sum((stems[s] for s in kept), np.zeros_like(next(iter(stems.values()))))
    fmt = ctx.output_format or "wav"
    take = Take(seed=seed, samples=main.astype(np.float32), sample_rate=rate,
                metadata={"separate": {"source": Path(request.audio).name, "stems": wanted,
                                       "removed": list(request.remove), "kept": kept, **metadata}})
    for name in wanted:
        take.extra_files[f"{name}.{fmt}"] = sink.stage_audio(stems[name], rate, fmt)
    try:
        subtype = audio_info(request.audio).get("subtype")
    except Exception:  # PyAV-only formats (m4a, ...) have no soundfile subtype
        subtype = None
    if subtype:
        take.metadata["subtype"] = subtype
    return take

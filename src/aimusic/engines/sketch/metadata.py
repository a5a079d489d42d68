"""What the sketch engine records about a take for its sidecar."""

from __future__ import annotations

from typing import Any


def arrangement_metadata(arrangement: Any, rendered: Any) -> dict[str, Any]:
    """Every decision, for the sidecar: tags used/unused, tempo, key, form, parts, melody."""
    return {**arrangement.decisions, "renderer": rendered.renderer, "render": rendered.details,
            "sample_rate": rendered.sample_rate,
            "parts": [{"role": p.role, "voice": p.voice, "notes": len(p.notes)} for p in arrangement.parts],
            "sections": [{"name": s.name, "kind": s.kind, "start_s": round(s.start, 4), "end_s": round(s.end, 4),
                          "bars": s.bars, "instrumental": s.instrumental} for s in arrangement.sections]}

"""What a run hands back to its front door: the files written, their sidecars, seeds, cost."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RunResult:
    model: str
    provider: str
    task: str
    files: list[str]
    sidecars: list[str]
    seeds: list[int | None]
    cost_usd: float | None
    timings: dict[str, float]
    input: dict[str, Any]
    extra_files: list[dict[str, str]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PlanRunResult:
    """What `generate`/`edit` produce: the plan and every file its steps wrote."""

    plan: dict[str, Any]
    results: list[RunResult]

    @property
    def files(self) -> list[str]:
        return [f for r in self.results for f in r.files]

    def to_dict(self) -> dict[str, Any]:
        costs = [r.cost_usd for r in self.results if r.cost_usd is not None]
        return {
            "files": self.files,
            "sidecars": [s for r in self.results for s in r.sidecars],
            "seeds": [s for r in self.results for s in r.seeds],
            "cost_usd": round(sum(costs), 6) if costs else (0.0 if self.results else None),
            "model": self.plan["model"], "provider": self.plan["provider"], "task": self.plan["task"],
            "plan": self.plan,
        }

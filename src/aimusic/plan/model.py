"""What a plan is: its steps, each one engine call (or several takes of one), as plain data."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Step:
    index: int
    task: str
    model: str
    provider: str
    input: dict[str, Any]
    estimated_cost_usd: float
    note: str = ""
    count: int = 1
    source: str | None = None          # where this step's audio comes from
    context_seconds: float | None = None
    join: str | None = None            # "append" | "prepend": how the result joins the previous one
    variations: list[str] = field(default_factory=list)   # tags per take when count > 1

    def to_dict(self) -> dict[str, Any]:
        body = {"step": self.index, "task": self.task, "model": self.model, "provider": self.provider,
                "input": self.input, "estimated_cost_usd": self.estimated_cost_usd, "count": self.count,
                "note": self.note}
        if self.source is not None:
            body.update(source=self.source, context_seconds=self.context_seconds, join=self.join)
        if self.variations:
            body["variations"] = self.variations
        return body


@dataclass
class Plan:
    request: str
    task: str
    model: str
    provider: str
    input: dict[str, Any]
    estimated_cost_usd: float
    reasons: list[str]
    steps: list[Step]
    warnings: list[str] = field(default_factory=list)
    language: str = "en"
    languages: list[str] = field(default_factory=list)
    count: int = 1
    source_seconds: float | None = None
    budget_usd: float | None = None
    intent: dict[str, Any] = field(default_factory=dict)

    @property
    def command(self) -> str:
        return run_command(self.steps[0])

    def to_dict(self) -> dict[str, Any]:
        return {
            "request": self.request, "task": self.task, "model": self.model, "provider": self.provider,
            "input": self.input, "estimated_cost_usd": self.estimated_cost_usd,
            "per_take_cost_usd": self.steps[0].estimated_cost_usd, "count": self.count,
            "budget_usd": self.budget_usd, "language": self.language, "languages": self.languages,
            "source_seconds": self.source_seconds, "reasons": self.reasons, "warnings": self.warnings,
            "command": self.command, "commands": [run_command(s) for s in self.steps],
            "steps": [s.to_dict() for s in self.steps], "intent": self.intent,
        }


def run_command(step: Step) -> str:
    """The equivalent `aimusic run` command line (shell-quoted: prompt text is data)."""
    data = json.dumps(step.input, ensure_ascii=False, separators=(",", ":"))
    return f"aimusic run {step.model} --provider {step.provider} --input {shlex.quote(data)}"

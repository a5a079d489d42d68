"""Engine options as typed models: one pydantic class per engine, `extra="forbid"`.

An engine returns its class from `Engine.options_model()`; the CLI derives one flag per field
(help from the field's description), the pipeline validates what a front door passes against
the chosen engine's class, and the engine reads attributes, never string keys.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EngineOptions(BaseModel):
    """Base of every engine's options: unknown options are errors, values are validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoOptions(EngineOptions):
    """An engine with no options of its own."""


def timeout_field() -> Any:
    """`timeout`: the one field every remote engine shares (`--timeout`)."""
    return Field(None, gt=0, description="Hosted jobs: overall time limit, seconds.")


def flag(name: str | bool) -> dict[str, Any]:
    """`json_schema_extra` for a field whose CLI flag has another name (`flag("--x")`), or none
    at all (`flag(False)`: settable from Python, MCP and `batch --option` only)."""
    return {"flag": name}

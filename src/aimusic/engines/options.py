"""Engine options as typed models: one pydantic class per engine, `extra="forbid"`.

An engine returns its class from `Engine.options_model()`; the CLI derives one flag per field
(help from the field's description), the pipeline validates what a front door passes against
the chosen engine's class, and the engine reads attributes, never string keys.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class EngineOptions(BaseModel):
    """Base of every engine's options: unknown options are errors, values are validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class NoOptions(EngineOptions):
    """An engine with no options of its own."""

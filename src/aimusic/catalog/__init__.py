"""Every model aimusic knows: id, providers, task, input schema, limits, price, languages.

Definitions are static data (one module per family); availability is asked of
the engines at listing time (`aimusic.engines.availability`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from aimusic.errors import UsageError
from aimusic.schemas import ModelInput



def __getattr__(name: str) -> Any:
    if name == "PROVIDERS":  # kept for old callers: every registered engine (plugins too)
        from aimusic.registry import provider_names

        return tuple(provider_names())
    raise AttributeError(name)


@dataclass(frozen=True)
class ModelEntry:
    id: str
    task: str                      # generate | inpaint | outpaint | remix
    providers: tuple[str, ...]     # first is the default; several when one id runs in several places
    title: str
    description: str
    input_model: type[ModelInput]
    price_per_second: float        # USD per second of audio produced; 0 for local
    price_published: bool = True   # False: an estimate until the provider's catalog says otherwise
    min_seconds: float = 5
    max_seconds: float = 240
    languages: tuple[str, ...] = ("en",)
    sample_rate: int = 48000
    tier: str = "standard"         # draft | standard | premium: the planner's cost ladder
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def provider(self) -> str:
        return self.providers[0]

    @property
    def family(self) -> str:
        return self.id.split("/")[1]

    def input_schema(self) -> dict[str, Any]:
        return _schema_of(self.input_model)

    def input_fields(self) -> list[dict[str, Any]]:
        """Name, type, range, default and required flag of every input field."""
        schema = self.input_schema()
        required = set(schema.get("required", []))
        fields = []
        for name, prop in schema.get("properties", {}).items():
            info: dict[str, Any] = {"name": name, "type": _json_type(prop), "required": name in required}
            for key, label in (("minimum", "min"), ("maximum", "max"), ("minLength", "min_length"),
                               ("maxLength", "max_length"), ("enum", "choices"), ("default", "default"),
                               ("description", "description")):
                if key in prop:
                    info[label] = prop[key]
            if "anyOf" in prop:
                for option in prop["anyOf"]:
                    for key, label in (("minimum", "min"), ("maximum", "max"), ("enum", "choices")):
                        if key in option:
                            info[label] = option[key]
            if "const" in prop:
                info["choices"] = [prop["const"]]
            fields.append(info)
        return fields

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "task": self.task, "provider": self.provider,
            "providers": list(self.providers), "title": self.title,
            "description": self.description,
            "price_per_second_usd": self.price_per_second,
            "price_published": self.price_published,
            "duration_limits_s": [self.min_seconds, self.max_seconds],
            "languages": list(self.languages), "sample_rate": self.sample_rate,
            "tier": self.tier, "input_fields": self.input_fields(),
            "input_schema": self.input_schema(),
        }


@lru_cache(maxsize=None)
def _schema_of(model_cls: type[ModelInput]) -> dict[str, Any]:
    # many entries share one input class, and schema generation is the slow part of `models`:
    # kept on disk between runs too
    from aimusic.catalog.schema_cache import schema_of

    return schema_of(model_cls)


def _json_type(prop: dict[str, Any]) -> str:
    if "type" in prop:
        return str(prop["type"])
    if "enum" in prop or "const" in prop:
        return "string"
    if "anyOf" in prop:
        return "|".join(sorted({str(o.get("type", "any")) for o in prop["anyOf"]}))
    return "any"


_MODELS: dict[str, ModelEntry] | None = None


def all_models() -> list[ModelEntry]:
    global _MODELS
    if _MODELS is None:
        from aimusic.catalog import families

        _MODELS = {m.id: m for m in families.load_all()}
    return list(_MODELS.values())


def get_model(model_id: str) -> ModelEntry:
    """The entry for `model_id`, or UsageError (64) naming the closest ids."""
    all_models()
    assert _MODELS is not None
    if model_id in _MODELS:
        return _MODELS[model_id]
    close = difflib.get_close_matches(model_id, list(_MODELS), n=3, cutoff=0.4)
    if not close:
        close = [m for m in _MODELS if model_id and model_id.split("/")[-1] in m][:3]
    hint = ("did you mean: " + ", ".join(close)) if close else "run `aimusic models` to list them"
    raise UsageError(f"unknown model id {model_id!r}", field="model", hint=hint)


def models_for(task: str | None = None, provider: str | None = None) -> list[ModelEntry]:
    return [m for m in all_models()
            if (task is None or m.task == task) and (provider is None or provider in m.providers)]

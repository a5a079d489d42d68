"""Engine options as typed models: one pydantic class per engine, `extra="forbid"`.

An engine returns its class from `Engine.options_model()`; the CLI derives one flag per field
(help from the field's description), the pipeline validates what a front door passes against
the chosen engine's class, and the engine reads attributes, never string keys.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from aimusic.registry import engine_class, engine_classes

if TYPE_CHECKING:
    from aimusic.engines.base import Engine


class EngineOptions(BaseModel):
    """Base of every engine's options: unknown options are errors, values are validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True, allow_inf_nan=False)


class NoOptions(EngineOptions):
    """An engine with no options of its own."""


def one_or_many(value: Any) -> Any:
    """A repeatable option given once as a plain string (`batch --option lora=x.safetensors`)."""
    return (value,) if isinstance(value, str) else value


def timeout_field() -> Any:
    """`timeout`: the one field every remote engine shares (`--timeout`)."""
    return Field(None, gt=0, description="Hosted jobs: overall time limit, seconds.")


def flag(name: str | bool) -> dict[str, Any]:
    """`json_schema_extra` for a field whose CLI flag has another name (`flag("--x")`), or none
    at all (`flag(False)`: settable from Python, MCP and `batch --option` only)."""
    return {"flag": name}


@lru_cache(maxsize=None)
def option_fields() -> dict[str, tuple[Any, tuple[str, ...]]]:
    """Option name -> (its pydantic FieldInfo, as the first engine declares it; the providers
    that take it), over every engine: what the CLI turns into flags."""
    fields: dict[str, tuple[Any, tuple[str, ...]]] = {}
    for name, cls in engine_classes().items():
        for field_name, info in cls.options_model().model_fields.items():
            first, takers = fields.get(field_name, (info, ()))
            fields[field_name] = (first, takers + (name,))
    return fields


def takers_of(option: str) -> tuple[str, ...]:
    """The providers that take an option (empty: none does)."""
    entry = option_fields().get(option)
    return entry[1] if entry else ()


def check_option_names(values: dict[str, Any]) -> None:
    """UsageError (64) for an option no registered engine takes (options shared by many jobs)."""
    import difflib

    from aimusic.errors import UsageError

    for key in values:
        if not takers_of(key):
            close = difflib.get_close_matches(key, list(option_fields()), n=1)
            raise UsageError(f"unknown engine option {key!r}", field=key,
                             hint=f"did you mean {close[0]!r}?" if close else
                             f"engine options: {', '.join(option_fields())}")


def build_options(provider: str, values: Any = None, *, shared: bool = False) -> EngineOptions:
    """A front door's engine options, validated against `provider`'s options model.

    `values`: a dict (None and False values count as "not given"), or already an instance of
    the model. An option the engine does not take is a UsageError (64) naming the providers that
    do; with `shared=True` (options given once for several steps or batch items on different
    providers) such an option is dropped, and only one that no engine takes is an error. A
    wrong value is an InputError (65) naming the field."""
    return build_options_for(engine_class(provider), values, shared=shared)


def build_options_for(cls: type[Engine], values: Any = None, *, shared: bool = False) -> EngineOptions:
    """`build_options` for an engine class in hand."""
    from pydantic import ValidationError

    from aimusic.errors import InputError, UsageError

    provider = getattr(cls, "name", cls.__name__)
    model = cls.options_model()
    if isinstance(values, model):
        return values
    if values is None:
        values = {}
    elif hasattr(values, "model_dump"):  # another engine's options: what was given by name
        values = values.model_dump(exclude_unset=True)
    if not isinstance(values, dict):
        raise InputError("engine options must be an object of name: value", field="options")
    accepted = model.model_fields
    # None is "not given"; so is False, except for a `bool | None` option (default None), where
    # False is the user's "no" (--no-think)
    given = {k: v for k, v in values.items() if v is not None
             and (v is not False or (k in accepted and accepted[k].default is None))}
    data = {}
    for key, value in given.items():
        if key in accepted:
            data[key] = value
            continue
        takers = takers_of(key)
        if shared and takers:
            continue
        flag = "--" + key.replace("_", "-")
        if takers:
            raise UsageError(f"{flag} is not an option of the {provider} engine (taken by "
                             f"{', '.join(takers)}): drop it, or use --provider {takers[0]}", field=key)
        import difflib

        close = difflib.get_close_matches(key, list(option_fields()), n=1)
        raise UsageError(f"unknown engine option {key!r}", field=key,
                         hint=f"did you mean {close[0]!r}?" if close else
                         "see `aimusic run --help` for the engine options")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        from aimusic.schemas import validation_details

        details = validation_details(exc, model)
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:10])
        raise InputError(f"invalid {provider} engine option: {summary}", field=details[0]["field"],
                         details=details) from None

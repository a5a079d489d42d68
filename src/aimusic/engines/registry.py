"""Finding engines: the built-in ones plus any registered under the `aimusic.engines`
entry point group (a third-party package adds a provider without touching the core).

Everything a front door knows about providers is read from here: the names (`--provider`
choices, schema enums), credentials (`login`, `doctor`, config), lanes and remote phases
(batches), the order under `--provider auto` (the planner) and the engine options (one CLI
flag per field; `build_options` validates what a front door passes).

Cheap by design: the entry-point scan runs once per process and only when a name outside the
built-ins is asked for (or a full listing); engine modules import no heavy library.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import import_module
from typing import TYPE_CHECKING, Any

from aimusic.errors import NotConfiguredError

if TYPE_CHECKING:
    from aimusic.catalog import ModelEntry
    from aimusic.engines.base import Availability, Credential, Engine, Lane
    from aimusic.engines.options import EngineOptions

ENTRY_POINT_GROUP = "aimusic.engines"
BUILTIN_ENGINES: dict[str, str] = {
    "sketch": "aimusic.engines.sketch:SketchEngine",
    "local": "aimusic.engines.local_acestep:LocalAceStepEngine",
    "comfyui": "aimusic.engines.comfyui:ComfyUIEngine",
    "runcomfy": "aimusic.engines.runcomfy:RunComfyEngine",
    "elevenlabs": "aimusic.engines.elevenlabs:ElevenLabsEngine",
}


@lru_cache(maxsize=1)
def _entry_point_specs() -> dict[str, str]:
    """Engines installed as distributions (`aimusic.engines` entry points): scanned once."""
    from importlib.metadata import entry_points

    found: dict[str, str] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value)
    return found


@lru_cache(maxsize=1)
def _specs() -> dict[str, str]:
    specs = dict(BUILTIN_ENGINES)
    for name, value in _entry_point_specs().items():
        specs.setdefault(name, value)
    return specs


def provider_names() -> list[str]:
    """Every registered provider: the built-ins in their order, then plugins by name."""
    specs = _specs()
    return [n for n in BUILTIN_ENGINES if n in specs] + sorted(n for n in specs if n not in BUILTIN_ENGINES)


def is_registered(provider: str) -> bool:
    return provider in BUILTIN_ENGINES or provider in _specs()


def is_installed(provider: str) -> bool:
    """True when a fresh interpreter finds this engine too (built in, or an installed entry
    point), so a worker process can run it; False for one registered only in this process."""
    return provider in BUILTIN_ENGINES or provider in _entry_point_specs()


@lru_cache(maxsize=None)
def engine_class(provider: str) -> type[Engine]:
    spec = BUILTIN_ENGINES.get(provider) if provider in BUILTIN_ENGINES else _specs().get(provider)
    if spec is None:
        raise NotConfiguredError(f"no engine is registered for provider {provider!r}")
    module_name, _, attr = spec.partition(":")
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == module_name or module_name.startswith(exc.name + ".")):
            raise NotConfiguredError(f"the {provider} engine is not part of this installation",
                                     hint="upgrade aimusic") from None
        raise NotConfiguredError(f"the {provider} engine needs the package {exc.name!r}",
                                 hint="run the README set-up command") from None
    except ImportError as exc:  # a plugin whose own imports fail must not take the CLI down
        raise NotConfiguredError(f"the {provider} engine failed to load: {exc}") from None
    engine = getattr(module, attr, None)
    if engine is None:
        raise NotConfiguredError(f"the {provider} engine module has no {attr!r}", hint="reinstall aimusic")
    return engine


def engine_classes() -> dict[str, type[Engine]]:
    """Every engine that loads, by provider name (one that fails to load is left out)."""
    classes = {}
    for name in provider_names():
        try:
            classes[name] = engine_class(name)
        except NotConfiguredError:
            continue
    return classes


def _clear_caches() -> None:
    """For tests that change the registry at run time."""
    for cached in (engine_class, credentials, option_fields):
        cached.cache_clear()


# --- what the engines declare -------------------------------------------------------------------

@lru_cache(maxsize=1)
def _builtin_credentials() -> dict[str, Credential]:
    return {name: cls.credential for name, cls in _builtin_classes().items() if cls.credential is not None}


def _builtin_classes() -> dict[str, type[Engine]]:
    return {name: engine_class(name) for name in BUILTIN_ENGINES}


@lru_cache(maxsize=None)
def credentials() -> dict[str, Credential]:
    """Provider -> the key it needs, for every engine that needs one."""
    found = dict(_builtin_credentials())
    for name, cls in engine_classes().items():
        if cls.credential is not None:
            found.setdefault(name, cls.credential)
    return found


def credential_of(provider: str) -> Credential | None:
    """The provider's credential without loading other engines (None: needs no key, or unknown)."""
    if provider in BUILTIN_ENGINES:
        return _builtin_credentials().get(provider)
    try:
        return engine_class(provider).credential
    except NotConfiguredError:
        return None


def lane_of(provider: str) -> Lane:
    from aimusic.engines.base import Lane

    try:
        return engine_class(provider).lane
    except NotConfiguredError:
        return Lane.CPU


def remote_phases(provider: str) -> tuple[tuple[str, Any], ...]:
    try:
        return tuple(engine_class(provider).remote_phases)
    except NotConfiguredError:
        return ()


def auto_order() -> list[str]:
    """Providers in the order `--provider auto` tries them (lowest `auto_rank` first)."""
    classes = engine_classes()
    names = [n for n in classes if classes[n].auto_rank is not None]
    return sorted(names, key=lambda n: (classes[n].auto_rank, names.index(n)))


def availability(model: ModelEntry, provider: str) -> Availability:
    from aimusic.config import key_source
    from aimusic.engines.base import Availability

    credential = credential_of(provider)
    if credential is not None:
        source = key_source(provider)
        if not source.present:
            return Availability(False, f"no key: set {credential.env_var} or run `aimusic login {provider}`")
    try:
        cls = engine_class(provider)
    except NotConfiguredError as exc:
        return Availability(False, str(exc))
    return cls.availability(model)


def plugin_models() -> list[ModelEntry]:
    """Models contributed by third-party engines (a `models()` classmethod), if any."""
    entries = []
    for name in _specs():
        if name in BUILTIN_ENGINES:
            continue
        try:
            cls = engine_class(name)
        except NotConfiguredError:
            continue
        models = getattr(cls, "models", None)
        if callable(models):
            entries.extend(models())
    return entries


# --- engine options ------------------------------------------------------------------------------

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
    given = {k: v for k, v in values.items() if v is not None and v is not False}
    accepted = model.model_fields
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

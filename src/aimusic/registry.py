"""The registry of engines: the built-in ones plus any registered under the `aimusic.engines`
entry point group (a third-party package adds a provider without touching the core), and what
each declares on its class: name, credential, lane, remote phases, place under `auto`, models.

Everything a front door knows about providers is read from here: the names (`--provider`
choices, schema enums), credentials (`login`, `doctor`, config), lanes and remote phases
(batches) and the order under `--provider auto` (the planner). It sits at the bottom of the
layering (config, catalog and schemas read it) because it imports engine modules only by name,
on first use: it is a table of declarations, not engine code.

Cheap by design: the entry-point scan runs once per process and only when a name outside the
built-ins is asked for (or a full listing); engine modules import no heavy library.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from importlib import import_module
from typing import TYPE_CHECKING, Any

from aimusic.errors import NotConfiguredError

if TYPE_CHECKING:
    from aimusic.catalog import ModelEntry
    from aimusic.engines.base import Engine

@dataclass(frozen=True)
class Credential:
    """The secret an engine needs: stored under `name` (`aimusic login NAME`), or read from `env_var`."""

    name: str       # "runcomfy"
    env_var: str    # "RUNCOMFY_TOKEN"
    label: str      # "RunComfy", for messages


class Lane(str, Enum):
    """Where an engine's work runs, which decides how batches schedule it."""

    REMOTE = "remote"            # a service elsewhere (hosted API, a ComfyUI server): slots per provider
    ACCELERATOR = "accelerator"  # this machine's GPU: one job at a time
    CPU = "cpu"                  # this machine's cores: worker processes


ENTRY_POINT_GROUP = "aimusic.engines"
BUILTIN_ENGINES: dict[str, str] = {
    "sketch": "aimusic.engines.sketch:SketchEngine",
    "local": "aimusic.engines.local_acestep:LocalAceStepEngine",
    "demucs": "aimusic.engines.demucs:DemucsEngine",
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

"""Finding engines: the built-in ones plus any registered under the `aimusic.engines`
entry point group (a third-party package adds a provider without touching the core)."""

from __future__ import annotations

from functools import lru_cache
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from aimusic.errors import NotConfiguredError

if TYPE_CHECKING:
    from aimusic.catalog import ModelEntry
    from aimusic.engines.base import Availability, Engine

BUILTIN_ENGINES: dict[str, str] = {
    "sketch": "aimusic.engines.sketch:SketchEngine",
    "local": "aimusic.engines.local_acestep:LocalAceStepEngine",
    "runcomfy": "aimusic.engines.runcomfy:RunComfyEngine",
    "elevenlabs": "aimusic.engines.elevenlabs:ElevenLabsEngine",
    "comfyui": "aimusic.engines.comfyui:ComfyUIEngine",
}


@lru_cache(maxsize=1)
def _specs() -> dict[str, str]:
    specs = dict(BUILTIN_ENGINES)
    for ep in entry_points(group="aimusic.engines"):
        specs.setdefault(ep.name, ep.value)
    return specs


@lru_cache(maxsize=None)
def engine_class(provider: str) -> type[Engine]:
    spec = _specs().get(provider)
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


def availability(model: ModelEntry, provider: str) -> Availability:
    from aimusic.config import KEYED_PROVIDERS, key_source
    from aimusic.engines.base import Availability

    if provider in KEYED_PROVIDERS:
        source = key_source(provider)
        if not source.present:
            env_var = KEYED_PROVIDERS[provider][0]
            return Availability(False, f"no key: set {env_var} or run `aimusic login {provider}`")
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

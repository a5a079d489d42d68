"""The engine layer's view of the registry (`aimusic.registry`): availability, and the engine
options every front door validates through `build_options`. The discovery names are re-exported
so `aimusic.engines.registry` keeps working as the one import for provider knowledge."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aimusic.engines.options import (build_options, build_options_for, check_option_names,  # noqa: F401
                                     option_fields, takers_of)
from aimusic.errors import NotConfiguredError  # noqa: F401
from aimusic.registry import (BUILTIN_ENGINES, ENTRY_POINT_GROUP, auto_order, credential_of,  # noqa: F401
                              credentials, engine_class, engine_classes, is_installed, is_registered, lane_of,
                              plugin_models, provider_names, remote_phases)

if TYPE_CHECKING:
    from aimusic.catalog import ModelEntry
    from aimusic.engines.base import Availability


def _clear_caches() -> None:
    """For tests that change the registry at run time."""
    import aimusic.registry as registry

    for cached in (registry.engine_class, registry.credentials, option_fields):
        cached.cache_clear()
    for cached in (registry._specs, registry._entry_point_specs, registry._builtin_credentials):
        cached.cache_clear()


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

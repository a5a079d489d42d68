"""Collects the model definitions of every family module."""

from __future__ import annotations

from importlib import import_module

from aimusic.catalog import ModelEntry

# One module per model family; adding a family means adding its module here.
FAMILY_MODULES = (
    "aimusic.catalog.hosted",
    "aimusic.catalog.local_acestep",
    "aimusic.catalog.sketch",
    "aimusic.catalog.comfyui",
    "aimusic.catalog.demucs",
)


def load_all() -> list[ModelEntry]:
    entries: list[ModelEntry] = []
    for name in FAMILY_MODULES:
        entries.extend(import_module(name).MODELS)
    from aimusic.registry import plugin_models

    entries.extend(plugin_models())
    return entries

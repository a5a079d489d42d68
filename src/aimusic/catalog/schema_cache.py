"""The input classes' JSON schemas, kept on disk between runs.

Generating them (pydantic's `model_json_schema`, on classes whose validators are built lazily)
is most of what `aimusic models` costs: 0.29 s of its 0.35 s on the 2-core reference machine.
They change only when the code does, so they are stored in the cache directory under a stamp of
every source file of the package (size and mtime) and pydantic's version; a class defined
outside the package (a plugin's) also carries its own file's stamp. Anything unreadable or stale
is regenerated; a cache that cannot be written is simply not kept.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from pathlib import Path
from typing import Any

CACHE_NAME = "input-schemas.json"
MAX_ENTRIES = 512  # plugins come and go: past this, start afresh rather than grow
MAX_BYTES = 16 * 1024**2

_STATE: dict[str, Any] = {}


def schema_of(model_cls: type) -> dict[str, Any]:
    """`model_cls.model_json_schema()`, from the disk cache when its stamp still holds."""
    state = _state()
    name = f"{model_cls.__module__}.{model_cls.__qualname__}"
    own = _file_stamp(model_cls)
    entry = state["entries"].get(name)
    if isinstance(entry, dict) and entry.get("file") == own and isinstance(entry.get("schema"), dict):
        return entry["schema"]
    schema = model_cls.model_json_schema()
    state["entries"][name] = {"file": own, "schema": schema}
    if not state["dirty"]:
        state["dirty"] = True
        atexit.register(_save)
    return schema


def _state() -> dict[str, Any]:
    if not _STATE:
        stamp = _package_stamp()
        entries: dict[str, Any] = {}
        try:
            path = _path()
            if path.is_file() and path.stat().st_size <= MAX_BYTES:
                stored = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(stored, dict) and stored.get("stamp") == stamp and isinstance(stored.get("entries"), dict):
                    entries = stored["entries"]
        except (OSError, ValueError, RecursionError):
            entries = {}  # unreadable or not ours: regenerate
        _STATE.update(stamp=stamp, entries=entries, dirty=False)
    return _STATE


def _path() -> Path:
    from aimusic.config import cache_dir

    return cache_dir() / CACHE_NAME


def _package_stamp() -> str:
    import hashlib

    import pydantic

    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(f"pydantic {pydantic.VERSION}\n".encode())
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                info = os.stat(os.path.join(folder, name))
                digest.update(f"{os.path.relpath(os.path.join(folder, name), root)} {info.st_size} "
                              f"{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _file_stamp(model_cls: type) -> list[Any] | None:
    """(path, size, mtime) of the class's module file when it is outside this package."""
    module = sys.modules.get(model_cls.__module__)
    filename = getattr(module, "__file__", None)
    if not filename or model_cls.__module__.split(".")[0] == "aimusic":
        return None
    try:
        info = os.stat(filename)
    except OSError:
        return None
    return [str(filename), info.st_size, info.st_mtime_ns]


def _save() -> None:
    state = _STATE
    if not state.get("dirty") or len(state["entries"]) > MAX_ENTRIES:
        return
    state["dirty"] = False
    partial = None
    try:
        path = _path()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{CACHE_NAME}.{os.getpid()}.part")
        partial.write_text(json.dumps({"stamp": state["stamp"], "entries": state["entries"]}), encoding="utf-8")
        os.replace(partial, path)  # whole or not at all: a reader never sees half a file
    except (OSError, TypeError, ValueError):
        if partial is not None:
            partial.unlink(missing_ok=True)

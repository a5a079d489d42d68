"""The WORLD vocoder (pyworld), imported so that it works with current setuptools.

pyworld 0.3.5's package `__init__` does `import pkg_resources` only to read
its own version; setuptools >= 81 no longer ships `pkg_resources`, so a plain
`import pyworld` fails there. When that happens we load pyworld's compiled
extension module directly (the functions are all in it).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import threading
from pathlib import Path
from types import ModuleType

_module: ModuleType | None = None
_lock = threading.Lock()


def pyworld() -> ModuleType:
    global _module
    with _lock:
        if _module is None:
            _module = _load()
        return _module


def _load() -> ModuleType:
    try:
        import pyworld as package

        return package
    except ModuleNotFoundError as exc:
        if exc.name != "pkg_resources":
            raise
    spec = importlib.util.find_spec("pyworld")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("pyworld", name="pyworld")
    folder = Path(next(iter(spec.submodule_search_locations)))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = folder / f"pyworld{suffix}"
        if path.exists():
            loader = importlib.machinery.ExtensionFileLoader("pyworld.pyworld", str(path))
            ext_spec = importlib.util.spec_from_loader("pyworld.pyworld", loader)
            module = importlib.util.module_from_spec(ext_spec)  # type: ignore[arg-type]
            loader.exec_module(module)
            return module
    raise ModuleNotFoundError("pyworld's compiled module is missing", name="pyworld")


def version() -> str:
    try:
        from importlib.metadata import version as dist_version

        return dist_version("pyworld")
    except Exception:  # noqa: BLE001 - version lookups never fail a run
        return "unknown"

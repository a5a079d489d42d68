"""ComfyUI servers: which are configured, what each holds (probed once per process), and which
one a job runs on (the least busy that has the model files; counted as busy until released)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from aimusic.engines.base import Availability
from aimusic.engines.comfyui.client import ComfyClient, display_url, env_servers, normalise_url
from aimusic.engines.comfyui.graphs import LOADER_INPUTS, choose_layout, files_from_object_info
from aimusic.errors import AimusicError, NotConfiguredError, TransportError

PROBE_TIMEOUT_S = 1.0
CONFIG_FILE = "comfyui.json"
NOT_SET = "set COMFYUI_URL (e.g. http://127.0.0.1:8188) or run `aimusic comfyui connect URL`"

_probe_cache: dict[str, tuple[dict[str, list[str]] | None, str | None, str]] = {}
_probe_lock = threading.Lock()
_inflight: dict[str, int] = {}
_inflight_lock = threading.Lock()


# --- configuration ---------------------------------------------------------------------------

def config_path() -> Path:
    from aimusic.config import config_dir

    return config_dir() / CONFIG_FILE


def configured_servers() -> list[str]:
    """Servers from COMFYUI_URL (comma-separated), else from `aimusic comfyui connect`."""
    servers = env_servers()
    if servers:
        return servers
    try:
        data = json.loads(config_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    urls = data.get("urls") if isinstance(data, dict) else None
    return [normalise_url(u) for u in urls if isinstance(u, str) and u.strip()] if isinstance(urls, list) else []


def save_servers(urls: list[str]) -> Path:
    from aimusic.output import write_file_atomic

    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file_atomic(path, json.dumps({"urls": [normalise_url(u) for u in urls]}, indent=2).encode())
    return path


# --- availability ----------------------------------------------------------------------------

def probe(url: str, *, timeout: float = PROBE_TIMEOUT_S, fresh: bool = False
          ) -> tuple[dict[str, list[str]] | None, str | None, str]:
    """(model files per folder or None, ComfyUI version, why not) of one server, cached per process."""
    with _probe_lock:
        if not fresh and url in _probe_cache:
            return _probe_cache[url]
    try:
        with ComfyClient(url, timeout=timeout) as client:
            version = client.version()
            files = files_from_object_info(client.node_specs(list(LOADER_INPUTS)))
        result: tuple[dict[str, list[str]] | None, str | None, str] = (files, version, "")
    except AimusicError as exc:
        result = (None, None, exc.message)
    with _probe_lock:
        _probe_cache[url] = result
    return result


def clear_probe_cache() -> None:
    with _probe_lock:
        _probe_cache.clear()


def model_availability(model: Any) -> Availability:
    servers = configured_servers()
    if not servers:
        return Availability(False, NOT_SET)
    reasons = []
    for url in servers:
        files, version, why = probe(url)
        where = display_url(url)
        if files is None:
            reasons.append(f"{where} does not answer")
            continue
        try:
            layout = choose_layout(model.extra, files, where)
        except NotConfiguredError as exc:
            reasons.append(exc.message.replace("the ComfyUI server at ", ""))
            continue
        names = ", ".join(name for _, name in layout.required())
        return Availability(True, f"{where} (ComfyUI {version or '?'}) has {names}")
    return Availability(False, "; ".join(reasons))


# --- choosing the server for one job -----------------------------------------------------------

def reserve_server(model: Any, pinned: str | None = None) -> str:
    """The server for this job, already counted as busy with it (give it back with `release`)."""
    servers = [normalise_url(pinned)] if pinned else configured_servers()
    if not servers:
        raise NotConfiguredError(f"no ComfyUI server configured: {NOT_SET}", field="COMFYUI_URL")

    def take(url: str) -> str:
        _inflight[url] = _inflight.get(url, 0) + 1
        return url

    if len(servers) == 1:
        with _inflight_lock:
            return take(servers[0])
    # Spread a batch: the least busy server (in this process) that has the files. The slot is
    # taken before probing, so jobs starting together do not all pick the same server.
    tried: set[str] = set()
    last_error: AimusicError | None = None
    while len(tried) < len(servers):
        with _inflight_lock:
            url = take(min((u for u in servers if u not in tried), key=lambda u: _inflight.get(u, 0)))
        tried.add(url)
        files, _, why = probe(url, timeout=5.0, fresh=True)
        try:
            if files is None:
                raise TransportError(f"cannot reach the ComfyUI server at {display_url(url)}",
                                     hint="is it running? check COMFYUI_URL")
            choose_layout(model.extra, files, display_url(url))
            return url
        except AimusicError as exc:
            last_error = exc
            release(url)
    assert last_error is not None
    raise last_error


def release(url: str) -> None:
    with _inflight_lock:
        _inflight[url] -= 1

"""The `comfyui` provider: ACE-Step workflows on the user's own ComfyUI server(s).

One job: choose a server that holds the model files, build the template graph, upload the
source audio, submit with our own prompt id, follow the websocket (a progress bar per
sampling step), then download every output through /view into staged files. Ctrl-C or a
cancelled job takes the prompt off the server (interrupt or queue delete) before it ends.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from aimusic.engines.base import Availability, Engine, EngineResult, RunContext, Take, package_versions
from aimusic.engines.comfyui.client import ComfyClient, display_url, env_servers, new_ids, normalise_url, ws_messages
from aimusic.engines.comfyui.graphs import (GraphRequest, Layout, build_graph, choose_layout, default_layout,
                                            files_from_object_info, graph_model_files, input_options,
                                            LOADER_INPUTS)
from aimusic.errors import (AimusicError, InputError, InputFileError, Interrupted, NotConfiguredError,
                            RetryableError, UpstreamError)

PROBE_TIMEOUT_S = 1.0
SILENCE_CHECK_S = 3.0        # without websocket news for this long, ask /history directly
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


# --- graph preparation (shared with `aimusic comfyui workflow`) ------------------------------

def source_seconds(path: str) -> float:
    from aimusic.audio.io import audio_info, read_audio

    try:
        return float(audio_info(path)["duration"])
    except Exception:
        samples, rate = read_audio(path)  # 65/66 with a clear message when it cannot be read
        return samples.shape[1] / rate


def graph_request(model: Any, request: Any, layout: Layout, *, audio_name: str | None = None,
                  seconds: float | None = None, languages: list[str] | None = None,
                  notice: Callable[[str], None] | None = None) -> GraphRequest:
    """Turn a validated request into the resolved values a graph needs (lyrics processed here)."""
    from aimusic.catalog.comfyui import ACE15_NODE_LANGUAGES
    from aimusic.engines.comfyui.graphs import DEFAULT_BPM, DEFAULT_KEYSCALE, DEFAULT_TIMESIGNATURE

    preset = model.extra
    lyrics = request.lyrics or ""
    language = "en"
    if preset["generation"] == "v1":
        if lyrics.strip():
            from aimusic.lyrics import romanize_for_v1

            lyrics = romanize_for_v1(lyrics)
    else:
        language = getattr(request, "vocal_language", None) or ""
        if not language:
            from aimusic.lyrics import detect_song_language

            language = detect_song_language(lyrics) if lyrics.strip() else "en"
        allowed = languages or list(ACE15_NODE_LANGUAGES)
        if language not in allowed:
            if notice:
                notice(f"ComfyUI's ACE-Step 1.5 encoder has no language {language!r}; sending 'unknown'")
            language = "unknown"
    if model.task == "generate":
        seconds = float(request.duration)
    elif seconds is None:
        raise InputError("the source audio's length is needed for audio-to-audio", field="audio")
    seed = int(request.seed)
    return GraphRequest(
        generation=preset["generation"], layout=layout, tags=request.tags, lyrics=lyrics, seed=seed,
        steps=request.steps if request.steps is not None else preset["steps"],
        guidance=request.guidance if request.guidance is not None else preset["guidance"],
        shift=request.shift if request.shift is not None else preset["shift"],
        seconds=seconds, audio_name=audio_name,
        denoise=float(getattr(request, "strength", 1.0)) if model.task == "remix" else 1.0,
        language=language,
        bpm=getattr(request, "bpm", None) or DEFAULT_BPM,
        keyscale=getattr(request, "keyscale", None) or DEFAULT_KEYSCALE,
        timesignature=getattr(request, "timesignature", None) or DEFAULT_TIMESIGNATURE,
        generate_audio_codes=bool(getattr(request, "generate_audio_codes", True)),
        filename_prefix=f"aimusic/{preset['variant']}")


def offline_graph(model: Any, request: Any, *, notice: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The template graph without a server: template file names, uploaded-name placeholder."""
    audio_name, seconds = None, None
    if model.task == "remix":
        path = local_source(request.audio)
        audio_name = f"aimusic/{Path(path).name}"
        seconds = source_seconds(path)
        if notice:
            notice(f"put {path} into ComfyUI's input/aimusic/ folder (or set COMFYUI_URL to upload it)")
    return build_graph(graph_request(model, request, default_layout(model.extra), audio_name=audio_name,
                                     seconds=seconds, notice=notice))


def local_source(reference: str) -> str:
    from aimusic.schemas import is_url

    if is_url(reference):
        raise InputError("audio: give a local file for ComfyUI graphs (download the URL first)", field="audio")
    path = Path(reference).expanduser()
    if not path.is_file():
        raise InputFileError(f"audio: file not found: {path}", field="audio")
    return str(path)


def fetch_source(reference: str, directory: str) -> str:
    """A local copy of an https source (plain paths pass through)."""
    from aimusic.schemas import is_url

    if not is_url(reference):
        return local_source(reference)
    import httpx

    target = Path(directory) / ("source" + (Path(reference.split("?")[0]).suffix or ".wav"))
    try:
        with httpx.stream("GET", reference, timeout=60, follow_redirects=True) as response:
            if response.status_code != 200:
                raise InputFileError(f"audio: {reference} answered {response.status_code}", field="audio")
            with open(target, "wb") as handle:
                for chunk in response.iter_bytes(1 << 16):
                    handle.write(chunk)
    except httpx.HTTPError:
        raise InputFileError(f"audio: cannot download {reference}", field="audio") from None
    return str(target)


# --- the engine ------------------------------------------------------------------------------

class ComfyUIEngine(Engine):
    name = "comfyui"
    tasks = frozenset({"generate", "remix"})
    needs_key = False
    key_env_var = None

    @classmethod
    def availability(cls, model: Any) -> Availability:
        return model_availability(model)

    @classmethod
    def versions(cls) -> dict[str, str]:
        return package_versions(("httpx", "websockets"))

    def run(self, model: Any, request: Any, ctx: RunContext, sink: Any) -> EngineResult:
        prompt_id = ctx.options.get("comfyui_prompt_id")
        url = self._reserve_server(model, ctx)
        try:
            with ComfyClient(url) as client:
                if prompt_id:
                    return self._collect(client, model, request, ctx, sink, prompt_id)
                return self._submit_and_collect(client, model, request, ctx, sink)
        finally:
            with _inflight_lock:
                _inflight[url] -= 1

    # ---------------------------------------------------------------------------------------
    def _reserve_server(self, model: Any, ctx: RunContext) -> str:
        """The server for this job, already counted as busy with it (released by `run`)."""
        pinned = ctx.options.get("comfyui_url")
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
                    raise UpstreamError(f"cannot reach the ComfyUI server at {display_url(url)}")
                choose_layout(model.extra, files, display_url(url))
                return url
            except AimusicError as exc:
                last_error = exc
                with _inflight_lock:
                    _inflight[url] -= 1
        assert last_error is not None
        raise last_error

    def _submit_and_collect(self, client: ComfyClient, model: Any, request: Any, ctx: RunContext,
                            sink: Any) -> EngineResult:
        timings: dict[str, float] = {}
        version = client.version()
        graph, layout, specs = graph_for_server(client, model, request, notice=ctx.notice, progress=ctx.progress,
                                                check_cancelled=ctx.check_cancelled, timings=timings)
        check_model_files(client, graph, specs)
        ctx.check_cancelled()
        client_id, prompt_id = new_ids()
        _register(client.base_url, prompt_id, ctx.cancel_event)
        try:
            with client.websocket(client_id) as ws:
                t = time.perf_counter()
                try:
                    client.submit(graph, client_id, prompt_id,
                                  extra_data={"aimusic": {"model": model.id, "input": request.to_json_dict()}})
                except KeyboardInterrupt:
                    _cancel_quietly(client, prompt_id)
                    raise Interrupted("interrupted; the ComfyUI prompt was withdrawn and no file was written"
                                      ) from None
                timings["submit_s"] = time.perf_counter() - t
                entry = follow(client, ws, prompt_id, ctx, timings)
        finally:
            _unregister(client.base_url, prompt_id)
        return self._outputs(client, model, request, ctx, sink, prompt_id, entry, graph, version, timings,
                             layout=layout.kind)

    def _collect(self, client: ComfyClient, model: Any, request: Any, ctx: RunContext, sink: Any,
                 prompt_id: str) -> EngineResult:
        timings: dict[str, float] = {}
        version = client.version()
        entry = follow(client, None, prompt_id, ctx, timings, cancel_remote=False)
        graph = (entry.get("prompt") or [None, None, {}])[2]
        return self._outputs(client, model, request, ctx, sink, prompt_id, entry, graph, version, timings,
                             layout=None)

    def _outputs(self, client: ComfyClient, model: Any, request: Any, ctx: RunContext, sink: Any,
                 prompt_id: str, entry: dict[str, Any], graph: dict[str, Any], version: str | None,
                 timings: dict[str, float], layout: str | None) -> EngineResult:
        t = time.perf_counter()
        items = [item for node_out in (entry.get("outputs") or {}).values() if isinstance(node_out, dict)
                 for item in node_out.get("audio", []) if isinstance(item, dict)]
        if not items:
            raise UpstreamError(f"the ComfyUI prompt {prompt_id} finished without audio output")
        takes = []
        for index, item in enumerate(items):
            ctx.check_cancelled()
            suffix = Path(item.get("filename", "")).suffix.lower() or ".flac"
            staged = sink.stage(suffix)
            ctx.progress("download", index, len(items), item.get("filename", ""))
            with staged.open("wb") as handle:
                client.download(item, handle)
            takes.append(Take(seed=getattr(request, "seed", None), staged=staged,
                              metadata={"comfyui_output": {k: item.get(k) for k in ("filename", "subfolder", "type")}}))
        ctx.progress("download", len(items), len(items))
        timings["download_s"] = time.perf_counter() - t
        meta = {"comfyui": {"server": client.where, "server_version": version, "prompt_id": prompt_id,
                            "layout": layout, "timings": timings, "graph": graph}}
        return EngineResult(takes=takes, cost_usd=0.0, metadata=meta)



def graph_for_server(client: ComfyClient, model: Any, request: Any, *,
                     notice: Callable[[str], None] | None = None, progress: Callable[..., None] | None = None,
                     check_cancelled: Callable[[], None] | None = None,
                     timings: dict[str, float] | None = None) -> tuple[dict[str, Any], Layout, dict[str, Any]]:
    """The graph for one server: its model files pick the layout, its language list bounds the
    1.5 language, and the source audio of audio-to-audio is uploaded to it."""
    import tempfile

    timings = timings if timings is not None else {}
    t0 = time.perf_counter()
    specs = client.node_specs([*LOADER_INPUTS, "TextEncodeAceStepAudio1.5"])
    layout = choose_layout(model.extra, files_from_object_info(specs), client.where)
    languages = input_options(specs, "TextEncodeAceStepAudio1.5", "language")
    timings["inspect_s"] = time.perf_counter() - t0
    audio_name, seconds = None, None
    if model.task == "remix":
        if check_cancelled:
            check_cancelled()
        t = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="aimusic-comfyui-") as tmp:
            path = fetch_source(request.audio, tmp)
            seconds = source_seconds(path)
            if progress:
                progress("upload", 0, 1, Path(path).name)
            audio_name = client.upload_audio(path)
            if progress:
                progress("upload", 1, 1)
        timings["upload_s"] = time.perf_counter() - t
    graph = build_graph(graph_request(model, request, layout, audio_name=audio_name, seconds=seconds,
                                      languages=languages, notice=notice))
    return graph, layout, specs


def server_graph(url: str, model: Any, request: Any, *, notice: Callable[[str], None] | None = None
                 ) -> dict[str, Any]:
    """`aimusic comfyui workflow` with a server: its files; falls back to the template names
    (with a notice) when the server does not answer."""
    try:
        with ComfyClient(url, timeout=10.0) as client:
            client.version()
            return graph_for_server(client, model, request, notice=notice)[0]
    except UpstreamError as exc:
        if notice:
            notice(f"{exc.message}; using the template's file names")
        return offline_graph(model, request, notice=notice)


def check_model_files(client: ComfyClient, graph: dict[str, Any], specs: dict[str, Any] | None = None) -> None:
    """78 naming every model file the graph loads that the server does not list (`specs`: the
    loader nodes' /object_info, if just fetched)."""
    needed = graph_model_files(graph)
    node_types = sorted({graph[node_id]["class_type"] for node_id, _, _ in needed})
    if specs is None or not all(t in specs for t in node_types):
        specs = client.node_specs(node_types)
    files = files_from_object_info(specs)
    missing = [(folder, name) for _, folder, name in needed if name not in files.get(folder, [])]
    if missing:
        names = ", ".join(f"{name} (put it in ComfyUI's models/{folder}/)" for folder, name in missing)
        raise NotConfiguredError(f"the ComfyUI server at {client.where} lacks {names}", field="model")


# Prompts this process has on each server, with the cancel event of their job: when a batch is
# cancelled, whichever job notices first deletes every pending sibling before the running one
# is interrupted, so the server does not start the next one in between.
_ours: dict[str, dict[str, threading.Event]] = {}


def _register(url: str, prompt_id: str, cancel_event: threading.Event) -> None:
    with _inflight_lock:
        _ours.setdefault(url, {})[prompt_id] = cancel_event


def _unregister(url: str, prompt_id: str) -> None:
    with _inflight_lock:
        _ours.get(url, {}).pop(prompt_id, None)


def _cancel_quietly(client: ComfyClient, prompt_id: str) -> None:
    try:
        with _inflight_lock:
            mine = _ours.get(client.base_url, {})
            event = mine.get(prompt_id)
            siblings = [pid for pid, ev in mine.items() if ev is event and pid != prompt_id] if event else []
        if siblings:
            pending = set(client.queue()["queue_pending"])
            for sibling in siblings:
                if sibling in pending:
                    client.delete_pending(sibling)
        client.cancel(prompt_id)
    except AimusicError:
        pass


def execution_failure(entry: dict[str, Any], prompt_id: str) -> AimusicError:
    messages = (entry.get("status") or {}).get("messages") or []
    for event, data in messages:
        if event == "execution_error" and isinstance(data, dict):
            return _error_from_event(data)
        if event == "execution_interrupted":
            return UpstreamError(f"the ComfyUI prompt {prompt_id} was interrupted on the server")
    return UpstreamError(f"the ComfyUI prompt {prompt_id} failed")


def _error_from_event(data: dict[str, Any]) -> UpstreamError:
    node = data.get("node_type") or "?"
    node_id = data.get("node_id")
    exc_type = data.get("exception_type") or "error"
    message = (data.get("exception_message") or "").strip()
    return UpstreamError(f"ComfyUI failed in node {node_id} ({node}): {exc_type}: {message}".rstrip(": "),
                         hint="see the ComfyUI console for the traceback")


def follow(client: ComfyClient, ws: Any, prompt_id: str, ctx: RunContext, timings: dict[str, float],
           *, cancel_remote: bool = True) -> dict[str, Any]:
    """Wait for `prompt_id` to finish; report sampling steps; return its history entry.

    On Ctrl-C, a cancelled context or the time limit, take the prompt off the server first."""
    timeout = ctx.options.get("timeout")
    started = time.monotonic()
    try:
        return _follow(client, ws, prompt_id, ctx, timings, started, timeout)
    except (KeyboardInterrupt, Interrupted):
        if cancel_remote:
            _cancel_quietly(client, prompt_id)
            raise Interrupted("interrupted; the ComfyUI prompt was stopped and no file was written") from None
        raise Interrupted("interrupted; the prompt keeps running on the server: collect it later "
                          f"with `aimusic resume {prompt_id} --provider comfyui`") from None
    except RetryableError:
        if cancel_remote:
            _cancel_quietly(client, prompt_id)
        raise


def _follow(client: ComfyClient, ws: Any, prompt_id: str, ctx: RunContext, timings: dict[str, float],
            started: float, timeout: float | None) -> dict[str, Any]:
    queued_at = time.perf_counter()
    running_at: float | None = None
    last_check = time.monotonic()

    def over_time() -> None:
        if timeout and time.monotonic() - started > timeout:
            raise RetryableError(f"the ComfyUI prompt {prompt_id} did not finish within {timeout:g} s; "
                                 "it was taken off the server")

    def finished() -> dict[str, Any] | None:
        entry = client.history(prompt_id)
        if entry is None:
            return None
        status = entry.get("status") or {}
        if status.get("status_str") == "error":
            raise execution_failure(entry, prompt_id)
        if status.get("completed") or status.get("status_str") == "success" or entry.get("outputs"):
            return entry
        return None

    if ws is not None:
        ctx.progress("queue", 0, None, "waiting for the server")
        for message in ws_messages(ws, 0.5):
            ctx.check_cancelled()
            over_time()
            if message is None:
                if time.monotonic() - last_check > SILENCE_CHECK_S:
                    last_check = time.monotonic()
                    entry = finished()
                    if entry is not None:
                        break
                continue
            kind, data = message.get("type"), message.get("data") or {}
            if not isinstance(data, dict) or data.get("prompt_id") not in (prompt_id, None):
                continue
            if kind == "execution_start" and data.get("prompt_id") == prompt_id:
                running_at = time.perf_counter()
                timings["queued_s"] = running_at - queued_at
            elif kind == "progress" and data.get("prompt_id") == prompt_id:
                ctx.progress("sampling", float(data.get("value", 0)), float(data.get("max") or 0) or None,
                             f"node {data.get('node')}")
            elif kind == "execution_error" and data.get("prompt_id") == prompt_id:
                raise _error_from_event(data)
            elif kind == "execution_interrupted" and data.get("prompt_id") == prompt_id:
                raise UpstreamError(f"the ComfyUI prompt {prompt_id} was interrupted on the server")
            elif (kind == "execution_success" and data.get("prompt_id") == prompt_id) or \
                    (kind == "executing" and data.get("node") is None and data.get("prompt_id") == prompt_id):
                break
    # Done per the websocket, or no websocket at all: /history is the record either way.
    delay = 0.2
    while True:
        ctx.check_cancelled()
        over_time()
        entry = finished()
        if entry is not None:
            end = time.perf_counter()
            timings["execute_s"] = end - (running_at or queued_at)
            return entry
        time.sleep(delay)
        delay = min(delay * 1.5, 2.0)


# --- more than one request -------------------------------------------------------------------

def collect_prompt(prompt_id: str, output_dir: str | Path = ".", *, server: str | None = None,
                   progress: Callable[..., None] | None = None, log: Callable[[str], None] | None = None,
                   cancel_event: threading.Event | None = None) -> Any:
    """Collect the outputs of a prompt aimusic submitted earlier (waits if it is still running):
    files and sidecars as `aimusic run` would have written. Returns an `aimusic.api.RunResult`."""
    from aimusic import api

    servers = [normalise_url(server)] if server else configured_servers()
    if not servers:
        raise NotConfiguredError(f"no ComfyUI server configured: {NOT_SET}", field="COMFYUI_URL")
    for url in servers:
        with ComfyClient(url) as client:
            entry = client.history(prompt_id)
            if entry is None:
                queue = client.queue()
                if prompt_id not in queue["queue_running"] + queue["queue_pending"]:
                    continue
                entry = {}
        prompt = entry.get("prompt") or []
        extra = prompt[3] if len(prompt) > 3 and isinstance(prompt[3], dict) else {}
        record = extra.get("aimusic")
        if not record and entry:
            raise InputError(f"prompt {prompt_id} on {display_url(url)} was not submitted by aimusic",
                             field="prompt_id", hint="open it in ComfyUI's queue/history instead")
        if not record:  # still queued: wait for it to finish, then read its record
            with ComfyClient(url) as client:
                follow(client, None, prompt_id, RunContext(cancel_event=cancel_event or threading.Event()),
                       {}, cancel_remote=False)
            return collect_prompt(prompt_id, output_dir, server=url, progress=progress, log=log,
                                  cancel_event=cancel_event)
        return api.run(record["model"], record["input"], output_dir, provider="comfyui",
                       options={"comfyui_prompt_id": prompt_id, "comfyui_url": url},
                       progress=progress, log=log, cancel_event=cancel_event)
    raise InputError(f"no configured ComfyUI server knows prompt {prompt_id}", field="prompt_id",
                     hint="check COMFYUI_URL; ComfyUI forgets its history when it restarts")


def run_many(jobs: Sequence[tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], str | Path]],
             output_dir: str | Path = ".", *, ahead: int = 2, progress: Callable[..., None] | None = None,
             log: Callable[[str], None] | None = None, cancel_event: threading.Event | None = None,
             ) -> list[Any]:
    """Run many requests on the configured ComfyUI server(s), keeping `ahead` prompts queued on
    each server so it never idles, and collecting each as it finishes.

    `jobs`: (model id, input) or (model id, input, output dir). Returns, in job order, an
    `aimusic.api.RunResult` or the `AimusicError` that job ended with. Ctrl-C stops every
    prompt (running ones interrupted, pending ones deleted) and raises Interrupted."""
    from concurrent.futures import ThreadPoolExecutor, wait

    from aimusic import api

    servers = configured_servers()
    if not servers:
        raise NotConfiguredError(f"no ComfyUI server configured: {NOT_SET}", field="COMFYUI_URL")
    cancel = cancel_event or threading.Event()
    width = max(1, len(servers) * max(1, ahead))

    def one(job: tuple[Any, ...]) -> Any:
        model_id, data = job[0], job[1]
        out = job[2] if len(job) > 2 else output_dir
        try:
            return api.run(model_id, data, out, provider="comfyui", progress=progress, log=log,
                           cancel_event=cancel)
        except AimusicError as exc:
            return exc

    pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="comfyui")
    futures = [pool.submit(one, tuple(job)) for job in jobs]
    try:
        while True:
            done, pending = wait(futures, timeout=0.25)
            if not pending:
                break
    except KeyboardInterrupt:
        cancel.set()
        wait(futures)
        pool.shutdown()
        raise Interrupted("interrupted; every ComfyUI prompt of the batch was stopped") from None
    pool.shutdown()
    return [f.result() for f in futures]

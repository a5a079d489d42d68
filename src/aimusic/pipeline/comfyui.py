"""ComfyUI work that spans more than one engine call: collecting a prompt submitted earlier, and
keeping every configured server's queue full for many requests. Each request still runs
through the pipeline (`run_request`), so its files and sidecar are what `aimusic run` writes."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Sequence

from aimusic.engines.base import RunContext
from aimusic.engines.comfyui.client import ComfyClient, display_url, normalise_url
from aimusic.engines.comfyui.following import follow
from aimusic.engines.comfyui.servers import NOT_SET, configured_servers
from aimusic.errors import AimusicError, InputError, Interrupted, NotConfiguredError
from aimusic.pipeline import RunResult, RunSettings, run_request


def _run(model_id: str, data: dict[str, Any], output_dir: str | Path, settings: RunSettings) -> RunResult:
    from aimusic.plan.direct import prepare

    model, request, provider = prepare(model_id, data, "comfyui")
    return run_request(model, request, provider, output_dir, settings)


def collect_prompt(prompt_id: str, output_dir: str | Path = ".", *, server: str | None = None,
                   progress: Callable[..., None] | None = None, log: Callable[[str], None] | None = None,
                   cancel_event: threading.Event | None = None) -> Any:
    """Collect the outputs of a prompt aimusic submitted earlier (waits if it is still running):
    files and sidecars as `aimusic run` would have written. Returns an `RunResult`."""
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
        return _run(record["model"], record["input"], output_dir,
                    RunSettings(options={"comfyui_prompt_id": prompt_id, "comfyui_url": url},
                                progress=progress, log=log, cancel_event=cancel_event))
    raise InputError(f"no configured ComfyUI server knows prompt {prompt_id}", field="prompt_id",
                     hint="check COMFYUI_URL; ComfyUI forgets its history when it restarts")


def run_many(jobs: Sequence[tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], str | Path]],
             output_dir: str | Path = ".", *, ahead: int = 2, progress: Callable[..., None] | None = None,
             log: Callable[[str], None] | None = None, cancel_event: threading.Event | None = None,
             ) -> list[Any]:
    """Run many requests on the configured ComfyUI server(s), keeping `ahead` prompts queued on
    each server so it never idles, and collecting each as it finishes.

    `jobs`: (model id, input) or (model id, input, output dir). Returns, in job order, an
    `RunResult` or the `AimusicError` that job ended with. Ctrl-C stops every
    prompt (running ones interrupted, pending ones deleted) and raises Interrupted."""
    from concurrent.futures import ThreadPoolExecutor, wait

    servers = configured_servers()
    if not servers:
        raise NotConfiguredError(f"no ComfyUI server configured: {NOT_SET}", field="COMFYUI_URL")
    cancel = cancel_event or threading.Event()
    width = max(1, len(servers) * max(1, ahead))

    def one(job: tuple[Any, ...]) -> Any:
        model_id, data = job[0], job[1]
        out = job[2] if len(job) > 2 else output_dir
        try:
            return _run(model_id, data, out, RunSettings(progress=progress, log=log, cancel_event=cancel))
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

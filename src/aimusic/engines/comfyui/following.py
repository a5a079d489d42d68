"""Following a ComfyUI prompt: the websocket (a progress bar per sampling step), /history as the
record, failures as clear errors, and taking the prompt off the server on Ctrl-C, cancel or
the time limit (siblings of a cancelled batch first)."""

from __future__ import annotations

import threading
import time
from typing import Any

from aimusic.engines.base import RunContext
from aimusic.engines.comfyui.client import ComfyClient, ws_messages
from aimusic.errors import AimusicError, Interrupted, RetryableError, UpstreamError

SILENCE_CHECK_S = 3.0        # without websocket news for this long, ask /history directly

# Prompts this process has on each server, with the cancel event of their job: when a batch is
# cancelled, whichever job notices first deletes every pending sibling before the running one
# is interrupted, so the server does not start the next one in between.
_ours: dict[str, dict[str, threading.Event]] = {}
_ours_lock = threading.Lock()


def register(url: str, prompt_id: str, cancel_event: threading.Event) -> None:
    with _ours_lock:
        _ours.setdefault(url, {})[prompt_id] = cancel_event


def unregister(url: str, prompt_id: str) -> None:
    with _ours_lock:
        _ours.get(url, {}).pop(prompt_id, None)


def cancel_quietly(client: ComfyClient, prompt_id: str) -> None:
    try:
        with _ours_lock:
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
           *, cancel_remote: bool = True, timeout: float | None = None) -> dict[str, Any]:
    """Wait for `prompt_id` to finish; report sampling steps; return its history entry.

    On Ctrl-C, a cancelled context or the time limit (`timeout` seconds), take the prompt off
    the server first."""
    started = time.monotonic()
    try:
        return _follow(client, ws, prompt_id, ctx, timings, started, timeout)
    except (KeyboardInterrupt, Interrupted):
        if cancel_remote:
            cancel_quietly(client, prompt_id)
            raise Interrupted("interrupted; the ComfyUI prompt was stopped and no file was written") from None
        raise Interrupted("interrupted; the prompt keeps running on the server: collect it later "
                          f"with `aimusic resume {prompt_id} --provider comfyui`") from None
    except RetryableError:
        if cancel_remote:
            cancel_quietly(client, prompt_id)
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

"""RunComfy Model API: submit, poll, fetch the result (with its cost), download, cancel.

Protocol (../shared/facts/hosted-apis.md): base `https://model-api.runcomfy.net/v1`
(`RUNCOMFY_MODEL_API_BASE`), `Authorization: Bearer <token>`;
`POST {base}/models/{id}` with the model input as the body -> `{request_id, ...}`;
`GET {base}/requests/{id}/status`, `GET {base}/requests/{id}/result?include_cost=true`,
`POST {base}/requests/{id}/cancel`; catalog `GET {base}/models/{id}`.

A submit is never repeated once the server may have it (a duplicate is a second charge);
everything after it (polls, result, downloads) is safe to repeat and is.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aimusic.config import require_key
from pydantic import Field

from aimusic.engines.base import Credential, Engine, EngineResult, Lane, RunContext, Take
from aimusic.engines.http import (AUDIO_EXTS, MAX_UNKNOWN_STATUS_POLLS, CallGuard, HostAllowlist, HttpCall,
                                  RetryPolicy, json_of,
                                  check_body_error, detail_text, download, max_download_bytes, send,
                                  sniff_audio_ext, ssl_context)
from aimusic.engines.options import EngineOptions, timeout_field
from aimusic.errors import InputError, Interrupted, RetryableError, UpstreamError

if TYPE_CHECKING:
    import httpx

    from aimusic.catalog import ModelEntry
    from aimusic.schemas import ModelInput

DEFAULT_BASE = "https://model-api.runcomfy.net/v1"
FILE_DOMAINS = (".runcomfy.net", ".runcomfy.com")
KEY_HINT = "check RUNCOMFY_TOKEN or run `aimusic login runcomfy`"
DEFAULT_TIMEOUT_S = 1800.0          # overall limit for one job unless --timeout says otherwise
POLL_INTERVAL_S = 2.0               # the official CLI's habit (minimum 1 s there)
POLL_MAX_INTERVAL_S = 10.0
POLL_GROWTH = 1.05
PRICE_CACHE_TTL_S = 24 * 3600
PRICE_MISS_TTL_S = 3600             # a model the catalog does not price: ask again in an hour
DONE = {"completed", "succeeded", "success"}
FAILED = {"failed", "error"}
CANCELLED = {"cancelled", "canceled"}
PENDING = {"in_queue", "queued", "in_progress", "running", "pending", "starting"}


def base_url() -> str:
    """The API root, always ending in /v1 (a bare host such as http://127.0.0.1:8000 gets /v1)."""
    base = (os.environ.get("RUNCOMFY_MODEL_API_BASE") or DEFAULT_BASE).strip().rstrip("/")
    if not re.search(r"/v\d+$", base):
        base += "/v1"
    return base


def allowlist() -> HostAllowlist:
    return HostAllowlist.for_provider([base_url()], FILE_DOMAINS)


@dataclass
class Submitted:
    request_id: str
    raw: dict[str, Any]


class RunComfyClient:
    """A thin synchronous client: one method per endpoint, our retry rules, our errors."""

    def __init__(self, token: str, *, base: str | None = None, guard: CallGuard | None = None,
                 api_timeout: float = 60.0, connect_timeout: float = 10.0) -> None:
        import httpx

        self.base = (base or base_url()).rstrip("/")
        self.guard = guard or CallGuard()
        self.allowlist = HostAllowlist.for_provider([self.base], FILE_DOMAINS)
        self.http = httpx.Client(
            headers={"Authorization": f"Bearer {token}", "User-Agent": "aimusic"},
            timeout=httpx.Timeout(api_timeout, connect=connect_timeout), follow_redirects=False,
            verify=ssl_context())
        # file hosts are public: never send the token there
        self.files = httpx.Client(headers={"User-Agent": "aimusic"}, verify=ssl_context(),
                                  timeout=httpx.Timeout(api_timeout, connect=connect_timeout))

    def close(self) -> None:
        self.http.close()
        self.files.close()

    def _call(self, action: str, safe: bool, attempts: int = 5) -> HttpCall:
        return HttpCall("RunComfy", action, safe, KEY_HINT, RetryPolicy(attempts=attempts))

    def _json(self, response: httpx.Response, action: str) -> dict[str, Any]:
        body = json_of(response, "RunComfy", action)
        if not isinstance(body, dict):
            raise UpstreamError(f"RunComfy {action}: unexpected answer {str(body)[:100]}")
        check_body_error(body, provider="RunComfy", action=action, key_hint=KEY_HINT)
        return body

    def submit(self, model_id: str, payload: dict[str, Any]) -> Submitted:
        response = send(self.http, "POST", f"{self.base}/models/{model_id}",
                        self._call("submit", safe=False, attempts=3), self.guard, json=payload)
        body = self._json(response, "submit")
        request_id = body.get("request_id")
        if not isinstance(request_id, str) or not re.fullmatch(r"[\w.\-:]{1,200}", request_id):
            raise UpstreamError("RunComfy accepted the submit but returned no usable request_id",
                                hint="check your RunComfy dashboard before submitting again")
        return Submitted(request_id, body)

    def status(self, request_id: str) -> dict[str, Any]:
        response = send(self.http, "GET", f"{self.base}/requests/{request_id}/status",
                        self._call("status poll", safe=True, attempts=8), self.guard)
        return self._json(response, "status poll")

    def result(self, request_id: str) -> dict[str, Any]:
        response = send(self.http, "GET", f"{self.base}/requests/{request_id}/result",
                        self._call("result", safe=True), self.guard, params={"include_cost": "true"})
        return self._json(response, "result")

    def cancel(self, request_id: str) -> str:
        """POST cancel; returns the outcome ("cancelled", "not_cancellable", or "unknown: ...")."""
        try:
            response = send(self.http, "POST", f"{self.base}/requests/{request_id}/cancel",
                            self._call("cancel", safe=True, attempts=2), CallGuard(), timeout=10.0)
            body = self._json(response, "cancel")
        except Exception as exc:  # the user is leaving: report, never mask the interruption
            return f"unknown ({getattr(exc, 'message', exc.__class__.__name__)})"
        outcome = body.get("outcome") or body.get("status")
        return str(outcome) if outcome else "unknown"

    def model_info(self, model_id: str) -> dict[str, Any]:
        response = send(self.http, "GET", f"{self.base}/models/{model_id}",
                        self._call("catalog", safe=True, attempts=1), self.guard, timeout=5.0)
        return self._json(response, "catalog")


# --- prices --------------------------------------------------------------------------------

def _per_second(price: float, unit: str, seconds: float | None) -> float | None:
    unit = (unit or "second").lower()
    if "min" in unit:
        return price / 60.0
    if unit in ("s", "sec", "second", "seconds", "per_second", "audio_second") or "second" in unit:
        return price
    if seconds:  # per request / run / generation: spread over the output length
        return price / seconds
    return None


def catalog_price(client: RunComfyClient, model_id: str) -> dict[str, Any] | None:
    """`{base_price_usd, price_unit}` from the catalog endpoint, cached for a day; None if unreachable."""
    from aimusic.config import cache_dir

    cache = cache_dir() / "runcomfy-prices" / (re.sub(r"[^\w.-]+", "_", model_id) + ".json")
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        ttl = PRICE_CACHE_TTL_S if cached.get("base_price_usd") is not None else PRICE_MISS_TTL_S
        if time.time() - float(cached.get("fetched_at", 0)) < ttl and cached.get("base_url") == client.base:
            return cached if cached.get("base_price_usd") is not None else None
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    try:
        info = client.model_info(model_id)
    except InputError:  # the catalog answered that it has no price for this id: remember for a while
        info = {}
    except Exception:  # unreachable: the built-in table stands in; ask again next run
        return None
    for wrapper in ("data", "model"):  # tolerate an enveloped answer (the shape is not pinned down)
        if "base_price_usd" not in info and isinstance(info.get(wrapper), dict):
            info = info[wrapper]
    price = info.get("base_price_usd")
    if not isinstance(price, (int, float)) or isinstance(price, bool) or price < 0:
        price = None
    entry = {"base_price_usd": None if price is None else float(price),
             "price_unit": str(info.get("price_unit") or "second"),
             "fetched_at": time.time(), "base_url": client.base}
    try:
        from aimusic.output import write_file_atomic

        cache.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomic(cache, json.dumps(entry).encode())
    except OSError:
        pass
    return entry if price is not None else None


def parse_cost(result: dict[str, Any]) -> float | None:
    cost = result.get("cost")
    if isinstance(cost, dict):
        for key in ("total_usd", "usd", "amount", "total", "cost_usd", "value"):
            if isinstance(cost.get(key), (int, float)):
                return float(cost[key])
        return None
    if isinstance(cost, (int, float)) and not isinstance(cost, bool):
        return float(cost)
    if isinstance(cost, str):
        try:
            return float(cost.strip().lstrip("$"))
        except ValueError:
            return None
    return None


# --- outputs -------------------------------------------------------------------------------

def output_urls(output: Any) -> list[str]:
    """Every file URL in a result's `output`: `audio`/`audios` first (a string, a list, nested
    lists or {"url": ...} objects); failing those, any URL anywhere in the output."""
    found: list[str] = []

    def walk(value: Any, depth: int = 0) -> None:
        if depth > 8:
            return
        if isinstance(value, str):
            if value.startswith(("https://", "http://")) and value not in found:
                found.append(value)
        elif isinstance(value, list):
            for item in value:
                walk(item, depth + 1)
        elif isinstance(value, dict):
            for key in ("url", "uri", "file", "href"):
                if isinstance(value.get(key), str):
                    walk(value[key], depth + 1)
                    return
            for item in value.values():
                walk(item, depth + 1)

    if isinstance(output, dict):
        for key in ("audio", "audios"):
            if key in output:
                walk(output[key])
        if found:
            return found
    walk(output)
    return found


class RunComfyOptions(EngineOptions):
    timeout: float | None = timeout_field()
    poll_interval: float | None = Field(
        None, ge=0.01, le=600,
        description="RunComfy: seconds between status polls (default 2, or AIMUSIC_POLL_INTERVAL).")
    max_download_bytes: int | None = Field(
        None, gt=0,
        description="RunComfy: largest result file accepted, bytes (default 2 GiB, or AIMUSIC_MAX_DOWNLOAD_BYTES).")


class RunComfyEngine(Engine):
    name = "runcomfy"
    title = "RunComfy"
    tasks = frozenset({"generate", "inpaint", "outpaint"})
    credential = Credential("runcomfy", "RUNCOMFY_TOKEN", "RunComfy")
    lane = Lane.REMOTE
    # the provider's slot is held from the submit until the result is ready to download
    remote_phases = (("submit", None), ("download", None))
    auto_rank = 30  # hosted ACE when a token is set: after a local GPU and the user's ComfyUI

    @classmethod
    def options_model(cls) -> type[RunComfyOptions]:
        return RunComfyOptions

    @classmethod
    def versions(cls) -> dict[str, str]:
        import httpx

        return {"httpx": httpx.__version__, "api": "runcomfy-model-api-v1"}

    def run(self, model: ModelEntry, request: ModelInput, ctx: RunContext, sink: Any) -> EngineResult:
        self.options_of(ctx)
        token = require_key("runcomfy")
        payload = request.to_json_dict()
        if "audio" in payload:
            payload["audio"] = audio_url(payload["audio"], ctx)
        client = RunComfyClient(token, guard=_guard(ctx))
        try:
            price = _price(client, model, payload)
            ctx.progress("submit", 0, 1, model.id)
            try:
                submitted = client.submit(model.id, payload)
            except KeyboardInterrupt:
                raise Interrupted("interrupted while submitting; the request may have been accepted",
                                  hint="check your RunComfy dashboard") from None
            request_id = submitted.request_id
            if ctx.on_remote_id is not None:  # batches record the id before polling
                ctx.on_remote_id(request_id)
            ctx.notice(f"runcomfy request {request_id} submitted "
                       f"(if interrupted, `aimusic resume {request_id} --model {model.id}` picks it up)")
            result = self.follow(client, request_id, ctx, sink, seed=payload.get("seed"))
        finally:
            client.close()
        result.metadata.update(price)
        if result.cost_usd is None and price.get("price_per_second_usd") is not None:
            from aimusic.catalog.pricing import output_seconds

            result.cost_usd = round(price["price_per_second_usd"] * output_seconds(model, payload), 6)
            result.metadata["cost_source"] = "estimate"
        return result

    def resume(self, request_id: str, ctx: RunContext, sink: Any) -> EngineResult:
        """Poll and download an existing request without submitting anything."""
        if not re.fullmatch(r"[\w.\-:]{1,200}", request_id or ""):
            raise InputError(f"{request_id!r} is not a RunComfy request id", field="request_id")
        client = RunComfyClient(require_key("runcomfy"), guard=_guard(ctx))
        try:
            return self.follow(client, request_id, ctx, sink, seed=None)
        finally:
            client.close()

    def follow(self, client: RunComfyClient, request_id: str, ctx: RunContext, sink: Any,
               seed: Any) -> EngineResult:
        """Poll to the end, fetch the result and download its files; cancel on Ctrl-C."""
        try:
            return self._follow(client, request_id, ctx, sink, seed)
        except (KeyboardInterrupt, Interrupted):
            ctx.notice(f"cancelling runcomfy request {request_id} ...")
            outcome = client.cancel(request_id)
            ctx.notice(f"runcomfy request {request_id}: {outcome}")
            hint = None
            if outcome != "cancelled":
                hint = (f"the job may still run and be charged; `aimusic resume {request_id}` "
                        "downloads it later")
            raise Interrupted(f"interrupted; runcomfy request {request_id} {outcome}; no file was written",
                              hint=hint) from None

    def _follow(self, client: RunComfyClient, request_id: str, ctx: RunContext, sink: Any,
                seed: Any) -> EngineResult:
        started = time.monotonic()
        interval = poll_interval(self.options_of(ctx))
        status = ""
        polls = unknown_polls = 0
        unknown_seen: set[str] = set()
        while True:
            info = client.status(request_id)
            polls += 1
            raw_status = info.get("status", "")
            status = raw_status.lower() if isinstance(raw_status, str) else ""
            unknown_polls = 0 if status in PENDING or status in DONE else unknown_polls + 1
            if unknown_polls >= MAX_UNKNOWN_STATUS_POLLS:  # a broken service: waiting longer will not help
                raise UpstreamError(f"runcomfy request {request_id}: {unknown_polls} status answers in a row "
                                    f"named no known state (last {str(raw_status)[:60]!r})",
                                    hint=f"`aimusic resume {request_id}` picks it up later")
            if status in DONE:
                break
            if status in FAILED:
                raise UpstreamError(f"runcomfy request {request_id} failed: "
                                    f"{self._failure_detail(client, request_id)}")
            if status in CANCELLED:
                raise UpstreamError(f"runcomfy request {request_id} was cancelled on the server")
            if status not in PENDING and status not in unknown_seen:  # say so once, keep waiting
                unknown_seen.add(status)
                ctx.notice(f"runcomfy request {request_id}: unexpected status {status or '(none)'!r}; "
                           "still waiting")
            position = info.get("queue_position")
            message = f"queue position {position}" if position not in (None, "") else status
            ctx.progress("remote", polls, None, message)
            remaining = client.guard.remaining()
            if remaining is not None and remaining <= 0:
                raise RetryableError(f"timed out after {time.monotonic() - started:.0f} s waiting for "
                                     f"runcomfy request {request_id} (last status {status or 'unknown'})",
                                     hint=f"`aimusic resume {request_id}` picks it up later")
            # gentle backoff with jitter: 2 s, then growing 5% a poll up to 10 s. The wait stays a
            # small fraction of the time already spent, so a finished job is seen at most ~5% late.
            wait = min(POLL_MAX_INTERVAL_S, interval * (POLL_GROWTH ** min(polls, 60)))
            wait *= 1 + random.uniform(-0.1, 0.1)
            if remaining is not None:
                wait = min(wait, max(remaining, 0.0))
            client.guard.sleep(wait)
        remote_s = time.monotonic() - started
        result = client.result(request_id)
        state = str(result.get("status", "completed")).lower()
        if state in FAILED or result.get("error"):
            raise UpstreamError(f"runcomfy request {request_id} failed: "
                                f"{detail_text({'detail': result.get('error')}) or state}")
        urls = output_urls(result.get("output"))
        if not urls:
            raise UpstreamError(f"runcomfy request {request_id} completed without an audio file")
        limit_option = self.options_of(ctx).max_download_bytes
        limit = max_download_bytes({"max_download_bytes": limit_option} if limit_option else None)
        takes = []
        for index, url in enumerate(urls):
            ctx.progress("download", index, len(urls), f"file {index + 1}")
            staged = sink.stage("")
            got = download(client.files, url, staged, client.allowlist, provider="RunComfy",
                           max_bytes=limit, guard=client.guard)
            take = Take(seed=seed if isinstance(seed, int) and seed >= 0 else None,
                        metadata={"request_id": request_id, "remote_file": got.name,
                                  "source_url": got.url, "bytes": got.size})
            ext = sniff_audio_ext(staged.path, got.name, got.content_type)
            if ext in AUDIO_EXTS:
                staged.suffix = "." + ext
                take.staged = staged
            else:  # another container (m4a, ...): decode it, and the core writes WAV
                take.samples, take.sample_rate = _decode(staged, got.name)
            takes.append(take)
        ctx.progress("download", len(urls), len(urls), "done")
        cost = parse_cost(result)
        metadata = {"request_id": request_id, "remote_status": state, "polls": polls,
                    "remote_s": round(remote_s, 3)}
        if cost is not None:
            metadata["cost_source"] = "provider"
        for key in ("created_at", "finished_at"):
            if result.get(key):
                metadata[f"remote_{key}"] = result[key]
        return EngineResult(takes=takes, cost_usd=cost, metadata=metadata)

    @staticmethod
    def _failure_detail(client: RunComfyClient, request_id: str) -> str:
        try:
            result = client.result(request_id)
        except Exception as exc:
            return getattr(exc, "message", "no detail")
        return detail_text({"detail": result.get("error")}) or "no detail given"


def poll_interval(options: RunComfyOptions | None = None) -> float:
    """Seconds between status polls: option `poll_interval`, else AIMUSIC_POLL_INTERVAL, else 2."""
    value = (getattr(options, "poll_interval", None) or os.environ.get("AIMUSIC_POLL_INTERVAL")
             or POLL_INTERVAL_S)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise InputError(f"poll interval must be seconds, not {value!r}", field="poll_interval") from None
    if not 0.01 <= seconds <= 600:
        raise InputError("poll interval must be between 0.01 and 600 seconds", field="poll_interval")
    return seconds


def _decode(staged: Any, name: str) -> tuple[Any, int]:
    from aimusic.audio.io import read_audio
    from aimusic.errors import InputError as NotAudio, InputFileError

    try:
        return read_audio(staged.path)
    except (NotAudio, InputFileError):
        raise UpstreamError(f"runcomfy output {name} is not audio aimusic can read") from None


def _guard(ctx: RunContext) -> CallGuard:
    timeout = RunComfyEngine.options_of(ctx).timeout
    seconds = float(timeout) if timeout not in (None, "") else DEFAULT_TIMEOUT_S
    if seconds <= 0:
        raise InputError("timeout must be positive", field="timeout")
    return CallGuard(cancelled=ctx.cancel_event.is_set, deadline=time.monotonic() + seconds,
                     on_retry=ctx.notice)


def _price(client: RunComfyClient, model: ModelEntry, payload: dict[str, Any]) -> dict[str, Any]:
    from aimusic.catalog.pricing import output_seconds

    entry = catalog_price(client, model.id)
    if entry is not None:
        per_second = _per_second(entry["base_price_usd"], entry["price_unit"], output_seconds(model, payload))
        if per_second is not None:
            return {"price_per_second_usd": per_second, "price_source": "runcomfy catalog",
                    "base_price_usd": entry["base_price_usd"], "price_unit": entry["price_unit"]}
    return {"price_per_second_usd": model.price_per_second,
            "price_source": "built-in table" + ("" if model.price_published else " (estimate)")}


def audio_url(reference: str, ctx: RunContext) -> str:
    """An https URL RunComfy can fetch for an edit's source audio."""
    from aimusic.schemas import is_url

    if is_url(reference):
        return reference
    return upload_audio(reference, ctx)


def upload_audio(path: str, ctx: RunContext) -> str:
    """The one place a local file would be uploaded. RunComfy's upload API is unverified, so
    until it is, a local file is refused with the way round it."""
    raise InputError(
        f"audio: RunComfy edits need the source audio as an https URL; uploading a local file "
        f"({os.path.basename(path)}) is not supported yet",
        field="audio",
        hint="put the file somewhere RunComfy can fetch it (any https URL, e.g. a pre-signed S3 or "
             "a file-sharing link) and pass that URL as \"audio\", or run the edit locally "
             "with --provider local")

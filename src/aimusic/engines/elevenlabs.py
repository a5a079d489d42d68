"""ElevenLabs Music, direct: `POST /v1/music` (or `/v1/music/stream`) streamed to disk.

Protocol (../shared/facts/hosted-apis.md): base `https://api.elevenlabs.io`
(`ELEVENLABS_API_BASE`), header `xi-api-key`; body `prompt` XOR `composition_plan`,
`music_length_ms`, `model_id`, `force_instrumental`; query `output_format`; the song id
comes back in the `song-id` header. `POST /v1/music/plan` makes a composition plan (free).

A compose call is never repeated once sent (a timeout can still consume credits); only a
429 refusal or a connection that never opened is retried.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
import wave
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from aimusic.config import require_key
from typing import Literal

from pydantic import Field

from aimusic.engines.base import Credential, Engine, EngineResult, Lane, RunContext, Take
from aimusic.engines.options import EngineOptions, flag, timeout_field
from aimusic.engines.http import (CallGuard, HttpCall, RetryPolicy, error_from_response,
                                  is_connect_fault, send, sniff_audio_ext, ssl_context, transient_errors,
                                  transport_error)
from aimusic.errors import InputError, InputFileError, Interrupted, RetryableError, TransportError, UpstreamError

if TYPE_CHECKING:
    import httpx

    from aimusic.catalog import ModelEntry
    from aimusic.schemas import ModelInput

DEFAULT_BASE = "https://api.elevenlabs.io"
KEY_HINT = "check ELEVENLABS_API_KEY (it needs music permission) or run `aimusic login elevenlabs`"
READ_TIMEOUT_S = 240.0   # the official SDK's timeout
MODEL_IDS = ("music_v1", "music_v2", "music_v2_5")

# RunComfy-style output_format (the catalog's input) -> ElevenLabs' query value.
# The music API offers no WAV: "wav_*" asks for raw PCM and we wrap it in a WAV header.
OUTPUT_FORMATS: dict[str, str] = {
    "mp3_standard": "mp3_44100_128",
    "mp3_high_quality": "mp3_44100_192",
    "wav_16khz": "pcm_16000",
    "wav_22khz": "pcm_22050",
    "wav_24khz": "pcm_24000",
    "wav_cd_quality": "pcm_44100",
}
# UNVERIFIED: channels of ElevenLabs' music PCM; stereo matches its 44.1 kHz stereo MP3s.
PCM_CHANNELS_ENV = "AIMUSIC_ELEVENLABS_PCM_CHANNELS"


def base_url() -> str:
    return (os.environ.get("ELEVENLABS_API_BASE") or DEFAULT_BASE).strip().rstrip("/")


class Suggestion(InputError):
    """ElevenLabs refused the prompt/plan and proposed one (`bad_prompt`, `bad_composition_plan`)."""

    def __init__(self, message: str, *, kind: str, suggestion: Any, hint: str) -> None:
        super().__init__(message, field="prompt" if kind == "bad_prompt" else "composition_plan", hint=hint)
        self.kind = kind
        self.suggestion = suggestion


def _suggestion_error(response: httpx.Response) -> Suggestion | None:
    try:
        body = response.json()
    except ValueError:
        return None
    detail = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(detail, dict) or detail.get("status") not in ("bad_prompt", "bad_composition_plan"):
        return None
    kind = detail["status"]
    data = detail.get("data") if isinstance(detail.get("data"), dict) else {}
    key = "prompt_suggestion" if kind == "bad_prompt" else "composition_plan_suggestion"
    suggestion = data.get(key)
    what = "prompt" if kind == "bad_prompt" else "composition plan"
    message = f"ElevenLabs refused the {what}: {detail.get('message') or kind}"
    if suggestion:
        shown = suggestion if isinstance(suggestion, str) else json.dumps(suggestion, ensure_ascii=False)
        hint = f"suggested {what}: {shown[:2000]} (rerun with --accept-suggestion to use it)"
    else:
        hint = f"rephrase the {what}"
    return Suggestion(message, kind=kind, suggestion=suggestion, hint=hint)


class ElevenLabsClient:
    def __init__(self, key: str, *, base: str | None = None, guard: CallGuard | None = None) -> None:
        import httpx

        self.base = (base or base_url()).rstrip("/")
        self.guard = guard or CallGuard()
        self.http = httpx.Client(headers={"xi-api-key": key, "User-Agent": "aimusic"},
                                 timeout=httpx.Timeout(READ_TIMEOUT_S, connect=10.0), follow_redirects=False,
                                 verify=ssl_context())

    def close(self) -> None:
        self.http.close()

    def plan(self, prompt: str, music_length_ms: int | None, model_id: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"prompt": prompt}
        if music_length_ms:
            body["music_length_ms"] = music_length_ms
        if model_id:
            body["model_id"] = model_id
        call = HttpCall("ElevenLabs", "composition plan", safe=True, key_hint=KEY_HINT,
                        refine=lambda r: _suggestion_error(r) if r.status_code == 400 else None)
        response = send(self.http, "POST", f"{self.base}/v1/music/plan", call, self.guard, json=body)
        try:
            plan = response.json()
        except ValueError:
            plan = None
        if not isinstance(plan, dict):
            raise UpstreamError("ElevenLabs returned a composition plan that is not a JSON object")
        return plan

    def compose(self, body: dict[str, Any], output_format: str, handle: BinaryIO, *, stream_endpoint: bool,
                pcm: tuple[int, int] | None) -> dict[str, str]:
        """POST the compose request and stream the audio into `handle`; returns response headers.

        Only a 429 (a refusal) or a connection that never opened is retried: once the request
        is sent, a repeat could be charged twice."""
        import httpx

        path = "/v1/music/stream" if stream_endpoint else "/v1/music"
        url = f"{self.base}{path}"
        policy = RetryPolicy(attempts=3)
        for attempt in range(policy.attempts):
            if self.guard.cancelled():
                raise Interrupted("cancelled")
            remaining = self.guard.remaining()
            timeout = httpx.Timeout(min(READ_TIMEOUT_S, max(remaining, 1.0)) if remaining else READ_TIMEOUT_S,
                                    connect=10.0)
            try:
                with self.http.stream("POST", url, params={"output_format": output_format}, json=body,
                                      timeout=timeout) as response:
                    if response.status_code >= 300:
                        response.read()
                        suggestion = _suggestion_error(response) if response.status_code == 400 else None
                        if suggestion is not None:
                            raise suggestion
                        error = error_from_response(response, provider="ElevenLabs", action="compose",
                                                    key_hint=KEY_HINT)
                        if response.status_code == 429 and attempt + 1 < policy.attempts:
                            wait = policy.delay(attempt, response)
                            if remaining is None or wait < remaining:
                                self.guard.on_retry and self.guard.on_retry(
                                    f"{error.message}; retrying in {wait:.1f} s")
                                self.guard.sleep(wait)
                                continue
                        raise error
                    headers = dict(response.headers)
                    self._write(response, handle, pcm)
                    return headers
            except transient_errors() as exc:
                if is_connect_fault(exc):  # nothing was sent: safe to repeat, even a compose
                    if attempt + 1 >= policy.attempts:
                        raise transport_error(exc, "ElevenLabs",
                                              hint="check the network or ELEVENLABS_API_BASE") from None
                    self.guard.sleep(policy.delay(attempt))
                    continue
                # the class by the shared rules; the words say what a repeat would cost here
                fault = type(transport_error(exc, "ElevenLabs", action="compose", sent=True))
                raise fault(
                    f"ElevenLabs compose broke off ({exc.__class__.__name__}); the song may still have "
                    "been charged, so it is not retried automatically",
                    hint="check your ElevenLabs history before retrying") from None
        raise RetryableError("ElevenLabs kept refusing the request (HTTP 429)", hint="retry later")

    def _write(self, response: httpx.Response, handle: BinaryIO, pcm: tuple[int, int] | None) -> None:
        written = 0
        handle.seek(0)
        handle.truncate()
        writer = None
        if pcm is not None:  # raw s16le PCM: a WAV header whose sizes `wave` fixes on close
            writer = wave.open(handle, "wb")
            writer.setnchannels(pcm[1])
            writer.setsampwidth(2)
            writer.setframerate(pcm[0])
        frame = 2 * (pcm[1] if pcm else 1)
        carry = b""
        for chunk in response.iter_bytes(1 << 16):
            if self.guard.cancelled():
                raise Interrupted("cancelled")
            written += len(chunk)
            if writer is None:
                handle.write(chunk)
                continue
            data = carry + chunk
            cut = len(data) - len(data) % frame
            writer.writeframesraw(data[:cut])
            carry = data[cut:]
        if writer is not None:
            writer.close()  # patches the WAV sizes; leaves `handle` open
        handle.flush()
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) != written:
            raise TransportError(f"ElevenLabs audio ended early ({written} of {declared} bytes)")
        if written == 0:
            raise UpstreamError("ElevenLabs returned no audio")


class ElevenLabsOptions(EngineOptions):
    timeout: float | None = timeout_field()
    accept_suggestion: bool = Field(
        False, description="ElevenLabs: if it refuses the prompt/plan and suggests one, run the suggestion.")
    composition_plan: str | dict[str, Any] | None = Field(
        None, description="ElevenLabs: a composition plan (JSON or @file.json), or 'auto' to have one made.")
    model_id: Literal["music_v1", "music_v2", "music_v2_5"] | None = Field(
        None, description="ElevenLabs: the music model (music_v1 is the API default).",
        json_schema_extra=flag("--elevenlabs-model"))
    stream_endpoint: bool = Field(
        False, description="ElevenLabs: compose through the streaming endpoint (/v1/music/stream).",
        json_schema_extra=flag(False))


class ElevenLabsEngine(Engine):
    name = "elevenlabs"
    title = "ElevenLabs"
    tasks = frozenset({"generate"})
    credential = Credential("elevenlabs", "ELEVENLABS_API_KEY", "ElevenLabs")
    lane = Lane.REMOTE
    # the slot is held while ElevenLabs composes (progress ("compose", 0) .. ("compose", 1))
    remote_phases = (("compose", 0), ("compose", 1))
    # never tried on its own under `--provider auto`: the planner's rule (premium intent and a
    # key) picks it, before the others
    auto_rank = None

    @classmethod
    def options_model(cls) -> type[ElevenLabsOptions]:
        return ElevenLabsOptions

    @classmethod
    def versions(cls) -> dict[str, str]:
        import httpx

        return {"httpx": httpx.__version__, "api": "elevenlabs-music-v1"}

    def run(self, model: ModelEntry, request: ModelInput, ctx: RunContext, sink: Any) -> EngineResult:
        key = require_key("elevenlabs")
        data = request.to_json_dict()
        options = self.options_of(ctx)
        model_id = options.model_id
        fmt = OUTPUT_FORMATS[data.get("output_format") or "mp3_standard"]
        pcm = None
        if fmt.startswith("pcm_"):
            pcm = (int(fmt.split("_")[1]), _pcm_channels())
        plan = load_plan(options.composition_plan)
        timeout = options.timeout
        guard = CallGuard(cancelled=ctx.cancel_event.is_set, on_retry=ctx.notice,
                          deadline=time.monotonic() + float(timeout) if timeout else None)
        client = ElevenLabsClient(key, guard=guard)
        metadata: dict[str, Any] = {"output_format": fmt}
        if model_id:
            metadata["model_id"] = model_id
        composing = False
        try:
            if plan == "auto":  # let ElevenLabs turn the prompt into a plan (free), then render it
                ctx.progress("plan", 0, 1, "composition plan")
                try:
                    plan = client.plan(data["prompt"], data.get("music_length_ms"), model_id)
                except Suggestion as refused:
                    if not (options.accept_suggestion and refused.kind == "bad_prompt"
                            and isinstance(refused.suggestion, str)):
                        raise
                    ctx.notice(f"{refused.message}; planning with its suggestion (--accept-suggestion)")
                    metadata["prompt_suggestion_accepted"] = refused.suggestion
                    plan = client.plan(refused.suggestion, data.get("music_length_ms"), model_id)
                ctx.notice("ElevenLabs made a composition plan (recorded in the sidecar)")
            body = self._body(data, plan, model_id)
            if plan is not None:
                metadata["composition_plan"] = plan
            staged = sink.stage(".wav" if pcm else ".mp3")
            composing = True
            headers = self._compose(client, body, fmt, staged, ctx, pcm, metadata)
        except (KeyboardInterrupt, Interrupted):
            if composing:
                ctx.notice("elevenlabs: not_cancellable (the API has no cancel; the song may still be charged)")
            raise Interrupted("interrupted; no file was written") from None
        finally:
            client.close()
        if not pcm:
            ext = sniff_audio_ext(staged.path, "", headers.get("content-type", ""))
            if ext is None:
                raise UpstreamError("ElevenLabs returned something that is not audio")
            staged.suffix = "." + ext
        song_id = headers.get("song-id")
        if song_id:
            metadata["song_id"] = song_id
            ctx.notice(f"elevenlabs song {song_id}")
        seconds = data.get("music_length_ms", 0) / 1000.0
        if plan is not None and isinstance(plan, dict):
            seconds = _plan_seconds(plan) or seconds
        metadata["cost_source"] = "estimate (ElevenLabs bills credits; price table)"
        cost = round(model.price_per_second * seconds, 6) if seconds else None
        take = Take(seed=None, staged=staged, metadata={"song_id": song_id} if song_id else {})
        return EngineResult(takes=[take], cost_usd=cost, metadata=metadata)

    @staticmethod
    def _body(data: dict[str, Any], plan: Any, model_id: str | None) -> dict[str, Any]:
        if plan is not None:
            body: dict[str, Any] = {"composition_plan": plan}
        else:
            body = {"prompt": data["prompt"], "music_length_ms": data["music_length_ms"]}
            if data.get("force_instrumental"):
                body["force_instrumental"] = True
        if model_id:
            body["model_id"] = model_id
        return body

    def _compose(self, client: ElevenLabsClient, body: dict[str, Any], fmt: str, staged: Any,
                 ctx: RunContext, pcm: tuple[int, int] | None, metadata: dict[str, Any]) -> dict[str, str]:
        stream_endpoint = self.options_of(ctx).stream_endpoint
        ctx.progress("compose", 0, 1, "ElevenLabs is composing")
        try:
            headers = _compose_interruptibly(client, body, fmt, staged, stream_endpoint, pcm)
        except Suggestion as refused:
            if not self.options_of(ctx).accept_suggestion or not refused.suggestion:
                raise
            retry = dict(body)
            if refused.kind == "bad_prompt" and "prompt" in body:
                retry["prompt"] = refused.suggestion
                metadata["prompt_suggestion_accepted"] = refused.suggestion
            elif refused.kind == "bad_composition_plan" and "composition_plan" in body:
                retry["composition_plan"] = refused.suggestion
                metadata["composition_plan"] = refused.suggestion
                metadata["composition_plan_suggestion_accepted"] = True
            else:
                raise
            ctx.notice(f"{refused.message}; retrying with its suggestion (--accept-suggestion)")
            headers = _compose_interruptibly(client, retry, fmt, staged, stream_endpoint, pcm)
        ctx.progress("compose", 1, 1, "done")
        return headers


def _compose_interruptibly(client: ElevenLabsClient, body: dict[str, Any], fmt: str, staged: Any,
                           stream_endpoint: bool, pcm: tuple[int, int] | None) -> dict[str, str]:
    """Compose in a worker thread, so a cancel event or Ctrl-C returns at once even while the
    server is still composing (minutes, with the socket blocked in a read). The worker owns its
    own handle on the staged file (opened here, before it starts), and stops at its next chunk
    once abandoned; the sink's cleanup cannot race with it."""
    abandoned = threading.Event()
    guard = client.guard
    worker_guard = CallGuard(cancelled=lambda: abandoned.is_set() or guard.cancelled(),
                             deadline=guard.deadline, on_retry=guard.on_retry)
    worker_client = copy.copy(client)
    worker_client.guard = worker_guard
    handle = staged.open("wb")
    box: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["headers"] = worker_client.compose(body, fmt, handle, stream_endpoint=stream_endpoint, pcm=pcm)
        except BaseException as exc:  # handed to the waiting thread
            box["error"] = exc
        finally:
            handle.close()
            done.set()

    threading.Thread(target=work, name="aimusic-elevenlabs", daemon=True).start()
    try:
        while not done.wait(0.05):
            if guard.cancelled():
                raise Interrupted("cancelled")
    except BaseException:
        abandoned.set()
        raise
    if "error" in box:
        raise box["error"]
    return box["headers"]


def _pcm_channels() -> int:
    value = os.environ.get(PCM_CHANNELS_ENV, "2")
    if value not in ("1", "2"):
        raise InputError(f"{PCM_CHANNELS_ENV} must be 1 or 2", field=PCM_CHANNELS_ENV)
    return int(value)


def _plan_seconds(plan: dict[str, Any]) -> float:
    parts = plan.get("sections") or plan.get("chunks") or []
    total = sum(p.get("duration_ms", 0) for p in parts if isinstance(p, dict)
                and isinstance(p.get("duration_ms"), (int, float)))
    return total / 1000.0


def load_plan(value: Any) -> Any:
    """The `composition_plan` option: None, "auto" (ask /v1/music/plan), a dict, JSON text or @file."""
    if value is None or value == "" or value is False:
        return None
    if value is True or value == "auto":
        return "auto"
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise InputError("composition_plan must be a JSON object, @file.json or 'auto'",
                         field="composition_plan")
    from aimusic.schemas import read_text_file
    from aimusic.schemas.limits import MAX_INPUT_FILE_BYTES, load_json

    text = value
    if value.startswith("@"):  # bounded: a regular file under the input cap (never a FIFO)
        text = read_text_file(value[1:], "composition_plan", "composition plan file", limit=MAX_INPUT_FILE_BYTES)
    plan = load_json(text, "composition_plan", "composition_plan")
    parts = plan.get("sections") or plan.get("chunks") if isinstance(plan, dict) else None
    if not isinstance(parts, list) or not parts or not all(isinstance(p, dict) for p in parts):
        raise InputError("composition_plan must be an object with sections[] (or chunks[] for v2 models)",
                         field="composition_plan")
    return plan



"""ElevenLabs Music, direct: compose (streamed to disk, with progress), composition plans,
premium inpaint/outpaint over songs stored for inpainting, video to music, finetunes.

Protocol (../shared/facts/hosted-apis.md, and the official SDK 2.78's `music/raw_client.py`):
base `https://api.elevenlabs.io` (`ELEVENLABS_API_BASE`), header `xi-api-key`.
- `POST /v1/music` | `/v1/music/stream` | `/v1/music/detailed` (multipart/mixed: JSON + audio):
  body `prompt` XOR `composition_plan`, `music_length_ms`, `model_id`, `force_instrumental`,
  `seed` (plan mode), `finetune_id`, `store_for_inpainting`, `with_timestamps` (detailed),
  `respect_sections_durations`; query `output_format`; the song id in the `song-id` header.
- `POST /v1/music/plan` (free), `POST /v1/music/upload` (multipart `file`; priced like a
  generation; returns `song_id`), `POST /v1/music/video-to-music` (multipart `videos`,
  `description`, `tags`, `add_sfx`, `separate_tracks`, `model_id`), `GET /v1/music/finetunes`.

A paid call (compose, upload, video) is never repeated once sent (a timeout can still consume
credits); only a 429 refusal or a connection that never opened is retried.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
import wave
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Literal

from pydantic import Field

from aimusic.catalog.hosted import ELEVENLABS_MODELS
from aimusic.config import require_key
from aimusic.engines.base import Credential, Engine, EngineResult, Lane, RunContext, Take
from aimusic.engines.http import (CallGuard, HttpCall, RetryPolicy, StallWatch, error_from_response, is_connect_fault,
                                  max_download_bytes, send, sniff_audio_ext, ssl_context, transient_errors,
                                  transport_error)
from aimusic.engines.options import EngineOptions, flag, timeout_field
from aimusic.errors import InputError, Interrupted, RetryableError, TransportError, UpstreamError

if TYPE_CHECKING:
    import httpx

    from aimusic.catalog import ModelEntry
    from aimusic.schemas import ModelInput

DEFAULT_BASE = "https://api.elevenlabs.io"
KEY_HINT = "check ELEVENLABS_API_KEY (it needs music permission) or run `aimusic login elevenlabs`"
READ_TIMEOUT_S = 240.0   # the official SDK's timeout
MODEL_IDS = tuple(ELEVENLABS_MODELS)
# UNVERIFIED: ElevenLabs publishes no size limit for video-to-music uploads; keep it configurable.
MAX_VIDEO_BYTES_ENV = "AIMUSIC_ELEVENLABS_MAX_VIDEO_BYTES"
DEFAULT_MAX_VIDEO_BYTES = 500 * 1024 * 1024
MAX_UPLOAD_BYTES = 1024 * 1024 * 1024
VIDEO_LENGTH_TOLERANCE_S = 1.0
# bytes per second of each output format, for the progress estimate (PCM: per channel)
BYTES_PER_SECOND = {"mp3_44100_128": 16_000, "mp3_44100_192": 24_000}

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


class UploadNeedsConfirmation(InputError):
    """A paid upload the user has not agreed to yet (`--yes`); nothing was sent. Front doors that
    can ask (a terminal) ask, then run again with `confirm_option` set."""

    confirm_option = "yes"

    def __init__(self, message: str, *, question: str) -> None:
        super().__init__(message, field="audio", hint="check the price, then rerun with --yes to pay it")
        self.question = question


class Received:
    """Bytes received so far by a worker thread, read by the thread reporting progress."""

    def __init__(self) -> None:
        self.bytes = 0
        self.first_at: float | None = None

    def add(self, count: int) -> None:
        if self.first_at is None:
            self.first_at = time.monotonic()
        self.bytes += count


class ElevenLabsClient:
    def __init__(self, key: str, *, base: str | None = None, guard: CallGuard | None = None) -> None:
        import httpx

        self.base = (base or base_url()).rstrip("/")
        self.guard = guard or CallGuard()
        self.received = Received()
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
        plan = _json_object(response, "a composition plan")
        return plan

    def finetunes(self) -> dict[str, Any]:
        call = HttpCall("ElevenLabs", "finetune list", safe=True, key_hint=KEY_HINT,
                        policy=RetryPolicy(attempts=2))
        response = send(self.http, "GET", f"{self.base}/v1/music/finetunes", call, self.guard,
                        params={"page_size": 150}, timeout=10.0)
        return _json_object(response, "a finetune list")

    def upload(self, path: str, *, extract_plan: str | None) -> dict[str, Any]:
        """`POST /v1/music/upload` (paid): the song id ElevenLabs stores the file under."""
        name = Path(path).name

        def request(timeout: Any) -> Any:
            handle = open(path, "rb")  # noqa: SIM115 - closed below, after the answer
            data = {"extract_composition_plan": extract_plan} if extract_plan else {}
            try:
                response = self.http.post(f"{self.base}/v1/music/upload", data=data,
                                          files={"file": (name, handle, "application/octet-stream")},
                                          timeout=timeout)
            finally:
                handle.close()
            return response

        response = self._paid("upload", request)
        body = _json_object(response, "an upload answer")
        song_id = body.get("song_id")
        from aimusic.engines.elevenlabs_songs import SONG_ID

        if not isinstance(song_id, str) or not SONG_ID.match(song_id):
            raise UpstreamError("ElevenLabs' upload answer has no usable song_id")
        return body

    def compose(self, body: dict[str, Any], output_format: str, handle: BinaryIO, *, endpoint: str,
                pcm: tuple[int, int] | None) -> tuple[dict[str, str], dict[str, Any] | None]:
        """POST a compose request (`endpoint`: /v1/music, /v1/music/stream or /v1/music/detailed)
        and stream the audio into `handle`; returns the response headers and, for the detailed
        endpoint, its JSON metadata."""
        url = f"{self.base}{endpoint}"

        def request(timeout: Any) -> Any:
            return self.http.stream("POST", url, params={"output_format": output_format}, json=body,
                                    timeout=timeout)

        return self._paid("compose", request, handle=handle, pcm=pcm, multipart=endpoint.endswith("/detailed"))

    def video_to_music(self, path: str, fields: dict[str, Any], output_format: str,
                       handle: BinaryIO) -> dict[str, str]:
        """`POST /v1/music/video-to-music` (multipart `videos`), the answer streamed to `handle`."""
        name = Path(path).name
        data = {k: v for k, v in fields.items() if v not in (None, "", [])}

        def request(timeout: Any) -> Any:
            video = open(path, "rb")  # noqa: SIM115 - closed when the stream closes
            stream = self.http.stream("POST", f"{self.base}/v1/music/video-to-music",
                                      params={"output_format": output_format}, data=data,
                                      files=[("videos", (name, video, "application/octet-stream"))],
                                      timeout=timeout)
            return _ClosingStream(stream, video)

        headers, _ = self._paid("video to music", request, handle=handle, pcm=None, multipart=False)
        return headers

    def _paid(self, action: str, request: Callable[[Any], Any], *, handle: BinaryIO | None = None,
              pcm: tuple[int, int] | None = None, multipart: bool = False) -> Any:
        """One paid call. Only a 429 (a refusal) or a connection that never opened is retried:
        once the request is sent, a repeat could be charged twice. With `handle`, the answer is
        streamed into it (returns (headers, metadata)); without, the response is returned."""
        import httpx

        policy = RetryPolicy(attempts=3)
        for attempt in range(policy.attempts):
            if self.guard.cancelled():
                raise Interrupted("cancelled")
            remaining = self.guard.remaining()
            timeout = httpx.Timeout(min(READ_TIMEOUT_S, max(remaining, 1.0)) if remaining else READ_TIMEOUT_S,
                                    connect=10.0)
            try:
                if handle is None:
                    response = request(timeout)
                    if response.status_code < 300:
                        return response
                    self._refused(response, action, attempt, policy, remaining)
                    continue
                with request(timeout) as response:
                    if response.status_code >= 300:
                        response.read()
                        self._refused(response, action, attempt, policy, remaining)
                        continue
                    headers = dict(response.headers)
                    metadata = self._write(response, handle, pcm, multipart)
                    return headers, metadata
            except transient_errors() as exc:
                if is_connect_fault(exc):  # nothing was sent: safe to repeat, even a paid call
                    if attempt + 1 >= policy.attempts:
                        raise transport_error(exc, "ElevenLabs",
                                              hint="check the network or ELEVENLABS_API_BASE") from None
                    self.guard.sleep(policy.delay(attempt))
                    continue
                # the class by the shared rules; the words say what a repeat would cost here
                fault = type(transport_error(exc, "ElevenLabs", action=action, sent=True))
                raise fault(
                    f"ElevenLabs {action} broke off ({exc.__class__.__name__}); it may still have "
                    "been charged, so it is not retried automatically",
                    hint="check your ElevenLabs history before retrying") from None
        raise RetryableError("ElevenLabs kept refusing the request (HTTP 429)", hint="retry later")

    def _refused(self, response: httpx.Response, action: str, attempt: int, policy: RetryPolicy,
                 remaining: float | None) -> None:
        """Raise the error for a refused call, unless it is a 429 worth waiting for (then wait)."""
        suggestion = _suggestion_error(response) if response.status_code == 400 else None
        if suggestion is not None:
            raise suggestion
        error = error_from_response(response, provider="ElevenLabs", action=action, key_hint=KEY_HINT)
        if response.status_code == 429 and attempt + 1 < policy.attempts:
            wait = policy.delay(attempt, response)
            if remaining is None or wait < remaining:
                if self.guard.on_retry:
                    self.guard.on_retry(f"{error.message}; retrying in {wait:.1f} s")
                self.guard.sleep(wait)
                return
        raise error

    def _write(self, response: httpx.Response, handle: BinaryIO, pcm: tuple[int, int] | None,
               multipart: bool = False) -> dict[str, Any] | None:
        from aimusic.engines.elevenlabs_media import DetailedReader, boundary_of

        cap = max_download_bytes()
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
        audio = 0

        def put(data: bytes) -> None:
            nonlocal carry, audio
            audio += len(data)
            if audio > cap:
                raise UpstreamError(f"ElevenLabs' audio grew past the {cap}-byte download cap; stopped")
            if writer is None:
                handle.write(data)
                return
            data = carry + data
            cut = len(data) - len(data) % frame
            writer.writeframesraw(data[:cut])
            carry = data[cut:]

        reader = None
        if multipart:
            boundary = boundary_of(response.headers.get("content-type", ""))
            if boundary is None:
                raise UpstreamError("ElevenLabs' detailed answer is not multipart")
            reader = DetailedReader(boundary, put)
        written = 0
        watch = StallWatch("ElevenLabs' audio stream")
        for chunk in response.iter_bytes(1 << 16):
            if self.guard.cancelled():
                raise Interrupted("cancelled")
            watch.add(len(chunk))
            written += len(chunk)
            self.received.add(len(chunk))
            if reader is not None:
                reader.feed(chunk)
            else:
                put(chunk)
        if writer is not None:
            writer.close()  # patches the WAV sizes; leaves `handle` open
        handle.flush()
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) != written:
            raise TransportError(f"ElevenLabs audio ended early ({written} of {declared} bytes)")
        if reader is not None:
            reader.finish()
            return reader.metadata
        if written == 0:
            raise UpstreamError("ElevenLabs returned no audio")
        return None


class _ClosingStream:
    """A streamed request whose upload file closes with it."""

    def __init__(self, stream: Any, handle: BinaryIO) -> None:
        self.stream, self.handle = stream, handle

    def __enter__(self) -> Any:
        return self.stream.__enter__()

    def __exit__(self, *exc: Any) -> None:
        try:
            self.stream.__exit__(*exc)
        finally:
            self.handle.close()


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise UpstreamError(f"ElevenLabs returned {what} that is not a JSON object")
    return value


class ElevenLabsOptions(EngineOptions):
    timeout: float | None = timeout_field()
    accept_suggestion: bool = Field(
        False, description="ElevenLabs: if it refuses the prompt/plan and suggests one, run the suggestion.")
    composition_plan: str | dict[str, Any] | None = Field(
        None, description="ElevenLabs: a composition plan (JSON or @file.json), or 'auto' to have one made.")
    model_id: Literal["music_v1", "music_v2", "music_v2_5"] | None = Field(
        None, description="ElevenLabs: the music model (music_v1 is the API default; v2 models take "
                          "chunks[] plans).", json_schema_extra=flag("--elevenlabs-model"))
    # composes go through the streaming endpoint (/v1/music/stream) by default, so audio arrives
    # as it is made and progress shows; edits use /v1/music (exact section durations)
    plain_endpoint: bool = Field(
        False, description="ElevenLabs: compose through /v1/music instead of the streaming endpoint.",
        json_schema_extra=flag(False))
    no_store: bool = Field(
        False, description="ElevenLabs: do not store the song for inpainting (then it cannot be edited "
                           "on ElevenLabs without a paid upload).")
    yes: bool = Field(
        False, description="ElevenLabs: pay for uploading a source file that ElevenLabs does not hold yet "
                           "(priced like a generation) without asking.")
    word_timestamps: bool = Field(
        False, description="ElevenLabs: ask for word timestamps (sidecar `lyrics_timing` and a .lrc file).")
    finetune_id: str | None = Field(
        None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$",
        description="ElevenLabs: compose with this finetune (`aimusic models --provider elevenlabs` lists yours).")
    # UNVERIFIED: the issue names `finetune_strength`; the official SDK 2.78 sends no such field.
    # Sent only when given, so a default run never carries it.
    finetune_strength: float | None = Field(
        None, ge=0, le=1, description="ElevenLabs: how strongly the finetune applies, 0-1 (with --finetune-id).")


class ElevenLabsEngine(Engine):
    name = "elevenlabs"
    title = "ElevenLabs"
    tasks = frozenset({"generate", "inpaint", "outpaint", "video", "separate"})  # separate: elevenlabs_stems.py
    credential = Credential("elevenlabs", "ELEVENLABS_API_KEY", "ElevenLabs")
    lane = Lane.REMOTE
    # the slot is held while ElevenLabs uploads and composes (progress ("compose", 0) .. ("compose", 1))
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

    @classmethod
    def model_for(cls, family: str, task: str) -> ModelEntry | None:
        """The one model per task (the planner's rungs do not differ here: every one is premium)."""
        from aimusic.catalog import get_model

        ids = {"generate": "elevenlabs/elevenlabs/music-generation", "inpaint": "elevenlabs/elevenlabs/audio-inpaint",
               "outpaint": "elevenlabs/elevenlabs/audio-outpaint", "video": "elevenlabs/elevenlabs/video-to-music",
               "separate": "elevenlabs/elevenlabs/audio-separate"}
        return get_model(ids[task]) if task in ids else None

    @classmethod
    def source_upload_cost(cls, model: ModelEntry, audio: str, source_seconds: float | None) -> float:
        """What an edit must pay first to upload its source (0 when ElevenLabs already stores it:
        found by content hash or by the sidecar of a song aimusic made there). For the planner:
        reads the file to hash it, sends nothing."""
        from aimusic.engines.elevenlabs_songs import cached_song_id, file_sha256, sidecar_song
        from aimusic.schemas import is_url

        if is_url(audio) or not source_seconds:
            return 0.0
        try:
            if cached_song_id(file_sha256(audio), base_url()) or sidecar_song(audio):
                return 0.0
        except OSError:
            return 0.0
        return round(model.price_per_second * source_seconds, 6)

    @classmethod
    def account_listing(cls) -> dict[str, Any] | None:
        """What `aimusic models --provider elevenlabs` adds: the account's finetunes (cached a day;
        None without a key). A failure to ask is a note, never an error."""
        from aimusic.config import get_key
        from aimusic.engines.elevenlabs_songs import cached_finetunes, finetune_rows, remember_finetunes

        key = get_key("elevenlabs")
        if key is None:
            return None
        base = base_url()
        rows = cached_finetunes(base)
        if rows is not None:
            return {"finetunes": rows, "source": "cache"}
        client = ElevenLabsClient(key, base=base)
        try:
            rows = finetune_rows(client.finetunes())
        except Exception as exc:  # noqa: BLE001 - a listing must not fail for a side request
            from aimusic.config import redact

            return {"finetunes": [], "note": redact(f"could not list finetunes: {exc}")}
        finally:
            client.close()
        remember_finetunes(base, rows)
        return {"finetunes": rows, "source": "ElevenLabs"}

    @staticmethod
    def align(audio: str, **kwargs: Any) -> dict[str, Any]:
        """Word timing of any song (`aimusic lyrics align`): engines/elevenlabs_stems.py."""
        from aimusic.engines import elevenlabs_stems

        key = require_key("elevenlabs")
        return elevenlabs_stems.align(audio, lambda guard: ElevenLabsClient(key, guard=guard), KEY_HINT, **kwargs)

    @staticmethod
    def align_price(seconds: float) -> float:
        from aimusic.engines import elevenlabs_stems

        return elevenlabs_stems.align_price(seconds)

    def run(self, model: ModelEntry, request: ModelInput, ctx: RunContext, sink: Any) -> EngineResult:
        if model.task == "separate":
            from aimusic.engines import elevenlabs_stems

            self.options_of(ctx)
            key = require_key("elevenlabs")
            return elevenlabs_stems.separate(model, request, ctx, sink,
                                             lambda guard: ElevenLabsClient(key, guard=guard), KEY_HINT)
        key = require_key("elevenlabs")
        options = self.options_of(ctx)
        if options.finetune_strength is not None and not options.finetune_id:
            raise InputError("--finetune-strength needs --finetune-id", field="finetune_strength")
        if model.task in ("inpaint", "outpaint"):
            job: Any = _Edit(self, model, request, ctx, sink, key)
        elif model.task == "video":
            job = _Video(self, model, request, ctx, sink, key)
        else:
            job = _Generate(self, model, request, ctx, sink, key)
        job.check()  # everything that can be checked before a call (and before any money is spent)
        try:
            return job.run()
        except (KeyboardInterrupt, Interrupted):
            if job.paying:
                ctx.notice("elevenlabs: not_cancellable (the API has no cancel; the song may still be charged)")
            raise Interrupted("interrupted; no file was written") from None
        finally:
            job.client.close()


class _Job:
    """One engine run: validated first (`check`), then run against the API."""

    def __init__(self, engine: ElevenLabsEngine, model: ModelEntry, request: ModelInput, ctx: RunContext,
                 sink: Any, key: str) -> None:
        self.engine, self.model, self.request, self.ctx, self.sink = engine, model, request, ctx, sink
        self.options: ElevenLabsOptions = engine.options_of(ctx)
        # word timestamps when asked for, or when the run writes synced lyrics (`--lrc`)
        self.timestamps = bool(self.options.word_timestamps or ctx.wants_lyrics_timing)
        self.data = request.to_json_dict()
        timeout = self.options.timeout
        self.guard = CallGuard(cancelled=ctx.cancel_event.is_set, on_retry=ctx.notice,
                               deadline=time.monotonic() + float(timeout) if timeout else None)
        self.client = ElevenLabsClient(key, guard=self.guard)
        self.model_id = self.options.model_id
        self.paying = False
        self.metadata: dict[str, Any] = {}
        if self.model_id:
            self.metadata["model_id"] = self.model_id
        fmt_name = self.data.get("output_format") or "mp3_standard"
        self.fmt = OUTPUT_FORMATS[fmt_name]
        self.pcm = (int(self.fmt.split("_")[1]), _pcm_channels()) if self.fmt.startswith("pcm_") else None

    def check(self) -> None:
        return None

    def common_body(self, body: dict[str, Any], *, store: bool = True) -> dict[str, Any]:
        if self.model_id:
            body["model_id"] = self.model_id
        if self.options.finetune_id:
            body["finetune_id"] = self.options.finetune_id
            self.metadata["finetune_id"] = self.options.finetune_id
            if self.options.finetune_strength is not None:
                body["finetune_strength"] = self.options.finetune_strength
        if store and not self.options.no_store:
            body["store_for_inpainting"] = True
        if self.timestamps:
            body["with_timestamps"] = True
        return body

    def endpoint(self, *, exact_durations: bool = False) -> str:
        if self.timestamps:
            return "/v1/music/detailed"   # the only compose answer with word timestamps
        if exact_durations or self.options.plain_endpoint:
            return "/v1/music"            # takes respect_sections_durations (the stream does not)
        return "/v1/music/stream"

    def expected_bytes(self, seconds: float) -> int:
        if self.pcm:
            return int(seconds * self.pcm[0] * self.pcm[1] * 2)
        return int(seconds * BYTES_PER_SECOND.get(self.fmt, 16_000))

    def compose(self, body: dict[str, Any], staged: Any, seconds: float, *,
                endpoint: str) -> tuple[dict[str, str], dict[str, Any] | None]:
        self.paying = True
        result = in_worker(self.client, self.ctx, "ElevenLabs is composing", self.expected_bytes(seconds),
                           lambda c, handle: c.compose(body, self.fmt, handle, endpoint=endpoint, pcm=self.pcm),
                           staged)
        return result

    def record_song(self, headers: dict[str, str], staged: Any, stored: bool) -> str | None:
        from aimusic.engines.elevenlabs_songs import SONG_ID, file_sha256, remember_song_id

        song_id = headers.get("song-id")
        if not song_id or not SONG_ID.match(song_id):
            return None
        self.metadata["song_id"] = song_id
        if stored:
            self.metadata["stored_for_inpainting"] = True
            try:  # this very file, if written untouched, is then known to ElevenLabs by its hash
                remember_song_id(file_sha256(staged.path), self.client.base, song_id)
            except OSError:
                pass
        return song_id

    def timing(self, details: dict[str, Any] | None, plan: Any, take: Take) -> None:
        """Word timestamps into the take: the sidecar's `lyrics_timing`, with the plan's lyric
        lines for the pipeline's `.lrc` (`--lrc`)."""
        if details is None:
            return
        from aimusic.engines.elevenlabs_media import parse_word_timestamps

        if isinstance(details.get("song_metadata"), dict):
            self.metadata["song_metadata"] = details["song_metadata"]
        if plan is None and isinstance(details.get("composition_plan"), dict):
            self.metadata["composition_plan"] = details["composition_plan"]
        if not self.timestamps:
            return
        take.metadata["lyrics_timing"] = parse_word_timestamps(details.get("words_timestamps"))
        lines = plan_lines(plan or details.get("composition_plan"))
        if lines:
            take.metadata["lyrics_lines"] = lines

    def price(self, seconds: float) -> float | None:
        self.metadata["cost_source"] = "estimate (ElevenLabs bills credits; price table)"
        return round(self.model.price_per_second * seconds, 6) if seconds else None

    def audio_suffix(self, staged: Any, headers: dict[str, str]) -> None:
        if self.pcm:
            return
        ext = sniff_audio_ext(staged.path, "", headers.get("content-type", ""))
        if ext is None:
            raise UpstreamError("ElevenLabs returned something that is not audio")
        staged.suffix = "." + ext


class _Generate(_Job):
    def check(self) -> None:
        from aimusic.engines.elevenlabs_plans import check_length_ms, check_plan

        self.plan = load_plan(self.options.composition_plan)
        if isinstance(self.plan, dict):
            check_plan(self.plan, self.model_id)
        elif self.plan is None:
            check_length_ms(int(self.data["music_length_ms"]), self.model_id)

    def run(self) -> EngineResult:
        from aimusic.engines.elevenlabs_plans import check_plan, plan_ms

        data, ctx, plan = self.data, self.ctx, self.plan
        if plan == "auto":  # let ElevenLabs turn the prompt into a plan (free), then render it
            ctx.progress("plan", 0, 1, "composition plan")
            try:
                plan = self.client.plan(data["prompt"], data.get("music_length_ms"), self.model_id)
            except Suggestion as refused:
                if not (self.options.accept_suggestion and refused.kind == "bad_prompt"
                        and isinstance(refused.suggestion, str)):
                    raise
                ctx.notice(f"{refused.message}; planning with its suggestion (--accept-suggestion)")
                self.metadata["prompt_suggestion_accepted"] = refused.suggestion
                plan = self.client.plan(refused.suggestion, data.get("music_length_ms"), self.model_id)
            check_plan(plan, self.model_id)
            ctx.notice("ElevenLabs made a composition plan (recorded in the sidecar)")
        if plan is not None:
            body: dict[str, Any] = {"composition_plan": plan}
            self.metadata["composition_plan"] = plan
        else:
            body = {"prompt": data["prompt"], "music_length_ms": data["music_length_ms"]}
            if data.get("force_instrumental"):
                body["force_instrumental"] = True
        self.common_body(body)
        seconds = plan_ms(plan) / 1000.0 if isinstance(plan, dict) else data.get("music_length_ms", 0) / 1000.0
        staged = self.sink.stage(".wav" if self.pcm else ".mp3")
        ctx.progress("compose", 0, 1, "ElevenLabs is composing")
        endpoint = self.endpoint()
        try:
            headers, details = self.compose(body, staged, seconds, endpoint=endpoint)
        except Suggestion as refused:
            if not self.options.accept_suggestion or not refused.suggestion:
                raise
            retry = dict(body)
            if refused.kind == "bad_prompt" and "prompt" in body:
                retry["prompt"] = refused.suggestion
                self.metadata["prompt_suggestion_accepted"] = refused.suggestion
            elif refused.kind == "bad_composition_plan" and "composition_plan" in body:
                retry["composition_plan"] = plan = refused.suggestion
                self.metadata["composition_plan"] = refused.suggestion
                self.metadata["composition_plan_suggestion_accepted"] = True
            else:
                raise
            ctx.notice(f"{refused.message}; retrying with its suggestion (--accept-suggestion)")
            headers, details = self.compose(retry, staged, seconds, endpoint=endpoint)
        ctx.progress("compose", 1, 1, "done")
        self.audio_suffix(staged, headers)
        self.metadata["output_format"] = self.fmt
        self.metadata["endpoint"] = endpoint
        song_id = self.record_song(headers, staged, "store_for_inpainting" in body)
        take = Take(seed=None, staged=staged, metadata={"song_id": song_id} if song_id else {})
        self.timing(details, plan, take)
        return EngineResult(takes=[take], cost_usd=self.price(seconds), metadata=self.metadata)


class _Edit(_Job):
    """Premium inpaint/outpaint: the source as a song ElevenLabs stores (found by content hash or
    its aimusic sidecar, else uploaded once, paid and confirmed), a plan keeping its sections, and
    only the new material spliced into the original file."""

    def check(self) -> None:
        from aimusic.audio.io import read_audio
        from aimusic.engines.elevenlabs_songs import cached_song_id, file_sha256, sidecar_song
        from aimusic.schemas import is_url

        audio = self.data["audio"]
        if is_url(audio):
            raise InputError("ElevenLabs edits need the source as a local file (it is uploaded, or found "
                             "among the songs ElevenLabs stores, by its content)", field="audio",
                             hint="download it first, then pass the path")
        self.path = str(Path(audio).expanduser())
        if os.path.getsize(self.path) > MAX_UPLOAD_BYTES:
            raise InputError(f"{Path(self.path).name} is over the {MAX_UPLOAD_BYTES}-byte upload cap", field="audio")
        self.source, self.rate = read_audio(self.path)
        self.source_ms = int(round(self.source.shape[1] * 1000 / self.rate))
        self.sha = file_sha256(self.path)
        known = cached_song_id(self.sha, self.client.base)
        self.song_id = known
        self.source_plan = None
        if known is None:
            found = sidecar_song(self.path)
            if found is not None:
                self.song_id = found["song_id"]
                self.source_plan = found.get("composition_plan")
        self.upload_cost = 0.0
        if self.song_id is None:
            self.upload_cost = round(self.model.price_per_second * self.source_ms / 1000.0, 6)
            if not self.options.yes:
                what = (f"{Path(self.path).name} ({self.source_ms / 1000:.1f} s) is not a song ElevenLabs "
                        f"stores yet: uploading it for inpainting costs about ${self.upload_cost:.4f} "
                        "(priced like a generation; once per file)")
                raise UploadNeedsConfirmation(what, question=f"{what}. Upload it?")
        self.edit = self.plan_edit(self.song_id or "pending-upload")  # limits checked before any call

    def plan_edit(self, song_id: str) -> Any:
        from aimusic.engines.elevenlabs_plans import inpaint_plan, outpaint_plan
        from aimusic.schemas import resolve_window

        r = self.request
        tags, lyrics = self.data.get("tags", ""), self.data.get("lyrics", "")
        if self.model.task == "inpaint":
            start, end = resolve_window(r.start_time, r.start_time_relative_to, r.end_time,
                                        r.end_time_relative_to, self.source_ms / 1000.0)
            self.window_ms = (int(round(start * 1000)), int(round(end * 1000)))
            return inpaint_plan(song_id, self.source_ms, *self.window_ms, tags, lyrics, self.model_id)
        self.before_ms = int(round(float(r.extend_before_duration) * 1000))
        self.after_ms = int(round(float(r.extend_after_duration) * 1000))
        return outpaint_plan(song_id, self.source_ms, self.before_ms, self.after_ms, tags, lyrics, self.model_id)

    def run(self) -> EngineResult:
        from aimusic.audio.io import read_audio
        from aimusic.engines.elevenlabs_plans import apply_inpaint, apply_outpaint, limits
        from aimusic.engines.elevenlabs_songs import remember_song_id

        ctx = self.ctx
        ctx.progress("compose", 0, 1, "ElevenLabs")
        if self.song_id is None:
            ctx.notice(f"uploading {Path(self.path).name} to ElevenLabs for inpainting "
                       f"(about ${self.upload_cost:.4f}, once per file)")
            self.paying = True
            spec = limits(self.model_id)
            answer = in_worker(self.client, ctx, "uploading the source", Path(self.path).stat().st_size,
                               lambda c, _: c.upload(self.path, extract_plan=spec.model_id), None)
            self.song_id = answer["song_id"]
            remember_song_id(self.sha, self.client.base, self.song_id)
            self.metadata["source_uploaded"] = True
            self.edit = self.plan_edit(self.song_id)
        self.metadata["composition_plan"] = self.edit.plan
        body: dict[str, Any] = {"composition_plan": self.edit.plan}
        seed = self.data.get("seed")
        if isinstance(seed, int) and seed >= 0:
            body["seed"] = seed
        if limits(self.model_id).plan_format == "sections":
            body["respect_sections_durations"] = True   # the window must land where it was asked
        self.common_body(body)
        staged = self.sink.stage(".wav" if self.pcm else ".mp3")
        seconds = self.edit.total_ms / 1000.0
        headers, details = self.compose(body, staged, seconds, endpoint=self.endpoint(exact_durations=True))
        ctx.progress("compose", 1, 1, "done")
        self.audio_suffix(staged, headers)
        song_id = self.record_song(headers, staged, "store_for_inpainting" in body)
        rendered, rendered_rate = read_audio(staged.path)
        if self.model.task == "inpaint":
            samples = apply_inpaint(self.source, self.rate, rendered, rendered_rate, self.edit)
            self.metadata["window_s"] = [self.window_ms[0] / 1000.0, self.window_ms[1] / 1000.0]
        else:
            samples = apply_outpaint(self.source, self.rate, rendered, rendered_rate, self.edit,
                                     self.before_ms, self.after_ms)
        self.metadata["spliced"] = "only the new material; every other sample is the source's own"
        take_meta: dict[str, Any] = {"subtype": _exact_subtype(self.path)}
        if song_id:
            take_meta["song_id"] = song_id
        take = Take(seed=self.data.get("seed"), samples=samples, sample_rate=self.rate, metadata=take_meta)
        self.timing(details, self.edit.plan, take)
        cost = self.price(seconds)
        if self.upload_cost:
            self.metadata["upload_cost_usd"] = self.upload_cost
        return EngineResult(takes=[take], cost_usd=round((cost or 0.0) + self.upload_cost, 6),
                            metadata=self.metadata)


class _Video(_Job):
    def check(self) -> None:
        from aimusic.audio.video import video_duration

        self.path = str(Path(self.data["video"]).expanduser())
        self.video_s = video_duration(self.path)        # 66 missing, 65 not a video
        cap = _max_video_bytes()
        size = os.path.getsize(self.path)
        if size > cap:
            raise InputError(f"{Path(self.path).name} is {size} bytes, over the {cap}-byte video upload cap",
                             field="video", hint=f"shrink the video, or raise {MAX_VIDEO_BYTES_ENV}")

    def run(self) -> EngineResult:
        import zipfile

        ctx, data = self.ctx, self.data
        fields: dict[str, Any] = {"description": data.get("description") or None,
                                  "tags": list(data.get("tags") or []) or None,
                                  "model_id": self.model_id,
                                  "add_sfx": bool(data.get("add_sfx")),
                                  "separate_tracks": bool(data.get("separate_tracks"))}
        staged = self.sink.stage(".bin")
        ctx.progress("compose", 0, 1, "uploading the video")
        self.paying = True
        headers = in_worker(self.client, ctx, "ElevenLabs is scoring the video",
                            self.expected_bytes(self.video_s) + os.path.getsize(self.path),
                            lambda c, handle: c.video_to_music(self.path, fields, self.fmt, handle), staged)
        ctx.progress("compose", 1, 1, "done")
        extras: dict[str, Any] = {}
        if zipfile.is_zipfile(staged.path):
            staged, extras = self._tracks(staged.path, require_sfx=fields["add_sfx"])
        else:
            if fields["separate_tracks"]:
                raise UpstreamError("ElevenLabs was asked for separate tracks but sent one file")
            self.audio_suffix(staged, headers)
        self.check_length(staged.path)
        self.metadata.update(output_format=self.fmt, video_seconds=round(self.video_s, 3))
        song_id = headers.get("song-id")
        from aimusic.engines.elevenlabs_songs import SONG_ID

        if song_id and SONG_ID.match(song_id):
            self.metadata["song_id"] = song_id
        take = Take(seed=None, staged=staged, extra_files=extras)
        return EngineResult(takes=[take], cost_usd=self.price(self.video_s), metadata=self.metadata)

    def _tracks(self, path: str, *, require_sfx: bool) -> tuple[Any, dict[str, Any]]:
        """The music track (the take) and the SFX track (an extra file) out of the ZIP answer."""
        from aimusic.engines.elevenlabs_media import copy_member, zip_members

        cap = max_download_bytes()
        members = zip_members(path, max_bytes=cap)
        music = next((m for m in members if "music" in m.filename.lower()), None)
        sfx = next((m for m in members if any(w in m.filename.lower() for w in ("sfx", "effect"))), None)
        if music is None:
            raise UpstreamError("ElevenLabs' separate tracks lack the music track "
                                f"(the ZIP holds {', '.join(m.filename[:60] for m in members)})")
        if require_sfx and sfx is None:
            raise UpstreamError("ElevenLabs' separate tracks lack the SFX track")
        out: list[Any] = []
        for member in (music, sfx):
            if member is None:
                continue
            staged = self.sink.stage(".bin")
            with staged.open("wb") as handle:
                copy_member(path, member, handle, max_bytes=cap)
            ext = sniff_audio_ext(staged.path, member.filename)
            if ext is None:
                raise UpstreamError(f"ElevenLabs' track {member.filename[:60]!r} is not audio")
            staged.suffix = "." + ext
            out.append(staged)
        extras = {f"sfx.{out[1].suffix.lstrip('.')}": out[1]} if len(out) > 1 else {}
        return out[0], extras

    def check_length(self, path: str) -> None:
        from aimusic.audio.io import audio_info

        try:
            seconds = float(audio_info(path)["duration"])
        except Exception:  # noqa: BLE001 - any decoder failure means the file is not usable audio
            raise UpstreamError("ElevenLabs returned audio that cannot be read") from None
        self.metadata["music_seconds"] = round(seconds, 3)
        if abs(seconds - self.video_s) > max(VIDEO_LENGTH_TOLERANCE_S, 0.02 * self.video_s):
            raise UpstreamError(f"ElevenLabs returned {seconds:.2f} s of music for a {self.video_s:.2f} s video",
                                hint="retry; the result did not match the video")


def in_worker(client: ElevenLabsClient, ctx: RunContext, waiting: str, expected_bytes: int,
              call: Callable[[ElevenLabsClient, Any], Any], staged: Any) -> Any:
    """Run a paid call in a worker thread, so a cancel event or Ctrl-C returns at once even while
    the server is still composing (minutes, with the socket blocked in a read), and so this thread
    can report progress: a heartbeat while ElevenLabs works ("... 12 s"), then the share of the
    expected bytes received, so a long compose never looks hung. The worker owns its own handle on
    the staged file (opened here, before it starts), and stops at its next chunk once abandoned;
    the sink's cleanup cannot race with it."""
    abandoned = threading.Event()
    guard = client.guard
    worker_guard = CallGuard(cancelled=lambda: abandoned.is_set() or guard.cancelled(),
                             deadline=guard.deadline, on_retry=guard.on_retry)
    worker_client = copy.copy(client)
    worker_client.guard = worker_guard
    worker_client.received = received = Received()
    handle = staged.open("wb") if staged is not None else None
    box: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["result"] = call(worker_client, handle)
        except BaseException as exc:  # handed to the waiting thread
            box["error"] = exc
        finally:
            if handle is not None:
                handle.close()
            done.set()

    started = time.monotonic()
    next_report = started + 1.0
    threading.Thread(target=work, name="aimusic-elevenlabs", daemon=True).start()
    try:
        while not done.wait(0.05):
            if guard.cancelled():
                raise Interrupted("cancelled")
            now = time.monotonic()
            if now >= next_report:
                next_report = now + 1.0
                ctx.progress("compose", _share(received.bytes, expected_bytes), 1,
                             _progress_words(waiting, now - started, received.bytes))
    except BaseException:
        abandoned.set()
        raise
    if "error" in box:
        raise box["error"]
    return box["result"]


def _share(received: int, expected: int) -> float:
    # strictly between 0 and 1: ("compose", 0) and ("compose", 1) open and close the remote phase
    return min(0.99, max(0.01, received / expected)) if expected > 0 else 0.01


def _progress_words(waiting: str, elapsed: float, received: int) -> str:
    if received:
        return f"receiving audio: {received / 1e6:.1f} MB after {elapsed:.0f} s"
    return f"{waiting}: {elapsed:.0f} s"


def plan_lines(plan: Any) -> list[str]:
    """The lyric lines of a composition plan (v1 sections' `lines`, v2 chunks' `text`)."""
    lines: list[str] = []
    if not isinstance(plan, dict):
        return lines
    for part in plan.get("sections") or plan.get("chunks") or []:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("lines"), list):
            lines.extend(str(line) for line in part["lines"])
        elif isinstance(part.get("text"), str):
            lines.extend(part["text"].splitlines())
    return lines


def _exact_subtype(path: str) -> str:
    """The output subtype that stores the source's decoded samples exactly: its own PCM depth, or
    32-bit float for lossy sources (MP3, ...), whose decoded floats fit no PCM grid."""
    from aimusic.audio.io import audio_info

    try:
        subtype = audio_info(path)["subtype"]
    except Exception:  # noqa: BLE001 - formats soundfile cannot describe decode to floats
        return "FLOAT"
    return subtype if subtype in ("PCM_16", "PCM_24", "PCM_32", "FLOAT") else "FLOAT"


def _max_video_bytes() -> int:
    value = os.environ.get(MAX_VIDEO_BYTES_ENV, "")
    if not value:
        return DEFAULT_MAX_VIDEO_BYTES
    if not value.isdigit() or int(value) <= 0:
        raise InputError(f"{MAX_VIDEO_BYTES_ENV} must be a positive number of bytes", field=MAX_VIDEO_BYTES_ENV)
    return int(value)


def _pcm_channels() -> int:
    value = os.environ.get(PCM_CHANNELS_ENV, "2")
    if value not in ("1", "2"):
        raise InputError(f"{PCM_CHANNELS_ENV} must be 1 or 2", field=PCM_CHANNELS_ENV)
    return int(value)


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

"""The studio's HTTP API (FastAPI) and its page. Every route calls `aimusic.api`; the request
bodies are the front doors' pydantic models (`aimusic.schemas.requests`), so the CLI, MCP and
the studio validate the same way and answer errors in the same shape:
`{"error": {"code", "type", "message", "field", "hint", "advice", "retryable", "permanent"}}`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from importlib.resources import files as package_files
from pathlib import Path
from typing import Annotated, Any, Callable, Literal

from fastapi import FastAPI, Header, Path as PathParam, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, RootModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from aimusic.config import redact
from aimusic.errors import (AimusicError, AuthError, InputError, InputFileError, InternalError, NotConfiguredError,
                            RetryableError, UpstreamError, UsageError, error_of)
from aimusic.output.sandbox import Sandbox
from aimusic.schemas import is_url
from aimusic.schemas.requests import EditRequest, FinishRequest, GenerateRequest, ReplayRequest
from aimusic.studio.jobs import IdempotencyConflict, Job, JobStore

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
ANALYSIS_CACHE = 64
STATIC = package_files("aimusic.studio") / "static"


@dataclass
class StudioConfig(Sandbox):
    token: str | None = None            # required on every request when set
    loopback_only: bool = True          # answer only Host headers that name loopback
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    workers: int = 1


class Missing(AimusicError):
    """An unknown job or file id, or a route that does not exist."""

    exit_code = 66
    type = "not_found"
    permanent = True
    advice = "Check the id: list jobs at /api/jobs and takes at /api/library."


class TooLarge(InputError):
    type = "too_large"


class NotAudio(InputError):
    type = "not_audio"


class AlreadyFinished(AimusicError):
    exit_code = 65
    type = "already_finished"
    permanent = True
    advice = "The job has already ended; nothing to cancel."


def http_status(error: AimusicError) -> int:
    """The HTTP status of an error class (its policy, not its number)."""
    for cls, status in ((Missing, 404), (TooLarge, 413), (NotAudio, 415), (IdempotencyConflict, 422),
                        (AlreadyFinished, 409), (RetryableError, 503), (UpstreamError, 502),
                        (AuthError, 403), (NotConfiguredError, 409), (InputFileError, 404),
                        (UsageError, 400), (InputError, 422), (InternalError, 500)):
        if isinstance(error, cls):
            if cls is RetryableError and error.slow_down:
                return 429
            return status
    return 400


def error_body(error: AimusicError) -> dict[str, Any]:
    body = error.to_dict()
    body["message"] = redact(body["message"])
    if body.get("hint"):
        body["hint"] = redact(body["hint"])
    body["advice"] = error.advice
    return body


class Redacted(JSONResponse):
    """Every JSON answer passes through the secret redaction: no key ever reaches the page."""

    def render(self, content: Any) -> bytes:
        return redact(json.dumps(content, ensure_ascii=False, default=str)).encode("utf-8")


def _error_response(error: AimusicError) -> Redacted:
    return Redacted({"error": error_body(error)}, status_code=http_status(error))


# --- the API's own bodies: the front doors' request models, wrapped with their job kind ---------

class _Kind(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenerateJob(_Kind):
    kind: Literal["generate"]
    request: GenerateRequest


class EditJob(_Kind):
    kind: Literal["edit"]
    request: EditRequest


class FinishJob(_Kind):
    kind: Literal["finish"]
    request: FinishRequest


class ReplayJob(_Kind):
    kind: Literal["replay"]
    request: ReplayRequest


class JobCreate(RootModel[Annotated[GenerateJob | EditJob | FinishJob | ReplayJob, Field(discriminator="kind")]]):
    """A job to start: its `kind` and the front doors' request model for that kind."""
ERRORS = {status: {"description": text, "content": {"application/json": {"example": {"error": {
    "code": 65, "type": "bad_input", "message": "...", "field": None}}}}}
    for status, text in ((400, "bad usage"), (401, "access token missing or wrong"), (403, "refused host or origin"),
                         (404, "unknown id or missing file"), (409, "conflict"), (413, "upload too large"),
                         (415, "not an audio file"), (422, "invalid input"), (429, "too many jobs waiting"))}


FileId = Annotated[str, PathParam(max_length=64, description="a take's id (from /api/library or a job)")]
JobId = Annotated[str, PathParam(max_length=64, description="a job's id (from POST /api/jobs)")]


class Studio:
    """The state behind the routes: the sandbox, the file ids, the jobs, the analysis cache."""

    def __init__(self, config: StudioConfig, execute: Callable[[str, Any, Any, Any], dict[str, Any]] | None = None):
        self.config = config
        self.execute = execute or self._execute
        self.jobs = JobStore(config.workers, describe=self._describe, error_body=error_body)
        self._paths: dict[str, str] = {}
        self._lock = threading.Lock()
        self._analysis: dict[str, tuple[tuple[float, int], dict[str, Any]]] = {}

    # files by id -----------------------------------------------------------------------------
    @staticmethod
    def file_id(path: str | Path) -> str:
        return hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:16]

    def shown_path(self, path: str | None) -> str | None:
        """Paths as the page sees them: relative inside the output dir (where requests resolve them)."""
        if path is None:
            return None
        resolved = Path(path)
        return str(resolved.relative_to(self.config.output_dir)) if resolved.is_relative_to(
            self.config.output_dir) else str(resolved)

    def view(self, take: dict[str, Any]) -> dict[str, Any]:
        take_id = self.file_id(take["path"])
        with self._lock:
            self._paths[take_id] = take["path"]
            lineage, parent, seen = [], take.get("parent"), set()
            parent_id = self.file_id(parent) if parent and self.config.contains(parent) else None
        out = {k: v for k, v in take.items() if k not in ("path", "sidecar", "parent")}
        out.update(id=take_id, path=self.shown_path(take["path"]), sidecar=self.shown_path(take.get("sidecar")),
                   parent_id=parent_id, url=f"/api/files/{take_id}")
        # the ancestors' ids, nearest first, as far as the sidecars say (bounded: cycles end it)
        while parent and parent not in seen and len(lineage) < 20 and self.config.contains(parent):
            seen.add(parent)
            lineage.append(self.file_id(parent))
            parent = self._parent_of(parent)
        out["lineage"] = lineage
        return out

    @staticmethod
    def _record(path: str | Path) -> dict[str, Any]:
        from aimusic.output.takes import take_record

        path = Path(path).resolve()
        try:
            sidecar = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            sidecar = None
        return take_record(path, sidecar if isinstance(sidecar, dict) else None)

    def _parent_of(self, path: str) -> str | None:
        try:
            return self._record(path)["parent"]
        except OSError:
            return None

    def library(self, **filters: Any) -> list[dict[str, Any]]:
        from aimusic import api

        return [self.view(t) for t in api.library(self.config.readable_roots, **filters)]

    def path_of(self, file_id: str) -> Path:
        with self._lock:
            known = self._paths.get(file_id)
        if known is None:
            self.library()  # a file made since the last listing (or by another program)
            with self._lock:
                known = self._paths.get(file_id)
        if known is None or not Path(known).is_file() or not self.config.contains(known):
            raise Missing(f"no file with id {file_id!r} in the studio's directories", field="file_id")
        return Path(known)

    def take_of(self, path: str | Path) -> dict[str, Any]:
        return self.view(self._record(path))

    def analysis(self, path: Path) -> dict[str, Any]:
        from aimusic import api

        stat = path.stat()
        stamp = (stat.st_mtime, stat.st_size)
        cached = self._analysis.get(str(path))
        if cached and cached[0] == stamp:
            return cached[1]
        result = api.analyze(path)
        result["file"] = self.shown_path(str(path))
        with self._lock:
            self._analysis[str(path)] = (stamp, result)
            while len(self._analysis) > ANALYSIS_CACHE:
                self._analysis.pop(next(iter(self._analysis)))
        return result

    # jobs ------------------------------------------------------------------------------------
    def local_audio(self, value: str, field_name: str = "audio") -> str:
        path = self.config.audio_path(value, field_name)
        if is_url(path):
            raise InputError(f"{field_name}: the studio works on local files (upload it first)", field=field_name)
        if not Path(path).is_file():
            raise InputFileError(f"{field_name}: no file {value!r} in the studio's directories", field=field_name)
        return path

    def prepare(self, body: GenerateJob | EditJob | FinishJob | ReplayJob) -> Any:
        """Check what can be checked before anything runs (sandbox, plan, region inside the track),
        so a mistake is a 4xx answer now rather than a failed job later. Returns the job's arguments."""
        from aimusic import api

        req = body.request
        if isinstance(body, GenerateJob):
            overrides = req.model_dump(exclude={"request", "provider"}, exclude_none=True)
            api.plan(req.request, provider=req.provider, overrides=overrides)
            return req, overrides
        if isinstance(body, EditJob):
            audio = self.local_audio(req.audio)
            overrides = req.model_dump(exclude={"request", "provider", "audio"}, exclude_none=True)
            api.plan(req.request, audio=audio, provider=req.provider, overrides=overrides)
            return req, audio, overrides
        if isinstance(body, FinishJob):
            return req, self.local_audio(req.audio)
        sidecar = self.local_audio(req.sidecar, "sidecar")
        try:
            recorded = json.loads(Path(sidecar).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise InputError(f"{req.sidecar} is not a sidecar (not JSON)", field="sidecar") from None
        model_input = recorded.get("input") if isinstance(recorded, dict) else None
        for name in api.AUDIO_REFERENCE_FIELDS:  # a replay reads only what the studio may read
            if isinstance(model_input, dict) and isinstance(model_input.get(name), str) \
                    and not model_input[name].startswith("<"):
                self.config.audio_path(model_input[name], name)
        return req, sidecar

    def _execute(self, kind: str, prepared: Any, progress: Any, cancel: threading.Event) -> dict[str, Any]:
        from aimusic import api

        out = self.config.output_dir

        def landed(result: Any) -> None:  # each take as it is written: the page lists it at once
            progress("take", 1, None, ", ".join(Path(f).name for f in result.files))

        if kind == "generate":
            req, overrides = prepared
            return api.generate(req.request, out, provider=req.provider, overrides=overrides,
                                progress=progress, cancel_event=cancel, on_result=landed).to_dict()
        if kind == "edit":
            req, audio, overrides = prepared
            return api.edit(audio, req.request, out, provider=req.provider, overrides=overrides,
                            progress=progress, cancel_event=cancel, on_result=landed).to_dict()
        if kind == "finish":
            req, audio = prepared
            options = req.model_dump(exclude={"audio"}, exclude_none=True)
            progress("finish", 0, 1, "finishing")
            result = api.finish(audio, output_dir=out, **options)
            return {**result, "files": [result["output"]]}
        req, sidecar = prepared
        extra = {"provider": req.provider} if req.provider else {}
        return api.replay(sidecar, out, progress=progress, cancel_event=cancel, **extra).to_dict()

    def _describe(self, job: Job, result: dict[str, Any]) -> dict[str, Any]:
        takes = [self.take_of(f) for f in result.get("files", []) if Path(f).is_file()]
        return {**result, "takes": takes}

    def create_job(self, body: Any, key: str | None) -> tuple[Job, bool]:
        prepared = self.prepare(body)
        request = body.request.model_dump(mode="json", exclude_none=True)
        return self.jobs.create(body.kind, request,
                                lambda progress, cancel: self.execute(body.kind, prepared, progress, cancel), key)

    def job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise Missing(f"no job with id {job_id!r} (jobs live as long as the server)", field="job_id")
        return job


def build_app(config: StudioConfig, execute: Callable[..., dict[str, Any]] | None = None) -> FastAPI:
    """The studio as an ASGI app. `execute(kind, prepared, progress, cancel)` runs a job's work
    (default: the Python API); the checks before it, and everything else, are always real."""
    from aimusic import api
    from aimusic.studio.actions import actions_for
    from aimusic.studio.security import Guard

    config.output_dir.mkdir(parents=True, exist_ok=True)
    studio = Studio(config, execute)
    app = FastAPI(title="aimusic studio", version=api.aimusic_version(), docs_url=None, redoc_url=None,
                  lifespan=_lifespan(studio),
                  default_response_class=Redacted, responses=ERRORS,
                  description="The JSON API the studio page uses. Errors: {\"error\": {code, type, message, "
                              "field, hint, advice, retryable, permanent}}. Jobs: POST /api/jobs (send an "
                              "Idempotency-Key header to make retries safe), GET its status, stream "
                              "/events (server-sent events), POST /cancel.")
    app.state.studio = studio

    @app.exception_handler(AimusicError)
    async def _ours(request: Request, exc: AimusicError) -> Response:
        return _error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        details = []
        for item in exc.errors():
            loc = [str(p) for p in item.get("loc", ()) if p not in ("body",)]
            message = {"missing": "required field is missing", "extra_forbidden": "unknown field"}.get(
                item.get("type", ""), str(item.get("msg", "invalid")))
            details.append({"field": ".".join(loc) or "body", "message": message})
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:10]) or "invalid request"
        return _error_response(InputError(f"invalid input: {summary}",
                                          field=details[0]["field"] if details else None, details=details[:50]))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        error: AimusicError = Missing(f"no such route: {request.method} {request.url.path}") if exc.status_code == 404 \
            else UsageError(str(exc.detail))
        response = _error_response(error)
        response.status_code = exc.status_code
        return response

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:
        return _error_response(error_of(exc))

    @app.get("/", include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"), headers=PAGE_HEADERS)

    @app.get("/api/info", summary="What this studio offers: providers, presets, formats, limits")
    def info() -> dict[str, Any]:
        from aimusic.audio.finish import PRESETS
        from aimusic.audio.io import FORMATS
        from aimusic.registry import provider_names

        return {"version": api.aimusic_version(), "output_dir": str(config.output_dir),
                "allowed_dirs": [str(d) for d in config.allowed_dirs],
                "providers": ["auto", *provider_names()], "presets": list(PRESETS), "formats": list(FORMATS),
                "max_upload_bytes": config.max_upload_bytes, "token_required": config.token is not None}

    @app.post("/api/plan", summary="How a generate job with this request would run (model, provider, price, "
              "reasons, warnings); runs nothing")
    def plan(body: GenerateRequest) -> dict[str, Any]:
        overrides = body.model_dump(exclude={"request", "provider"}, exclude_none=True)
        return api.plan(body.request, provider=body.provider, overrides=overrides)

    @app.get("/api/library", summary="Every take in the output and allowed dirs, searchable, with lineage")
    def library(q: Annotated[str | None, Query(max_length=500, description="words to find")] = None,
                model: Annotated[str | None, Query(max_length=200)] = None,
                provider: Annotated[str | None, Query(max_length=100)] = None,
                since: Annotated[str | None, Query(max_length=40, description="ISO date, inclusive")] = None,
                until: Annotated[str | None, Query(max_length=40, description="ISO date, inclusive")] = None
                ) -> dict[str, Any]:
        return {"takes": studio.library(query=q, model=model, provider=provider, since=since, until=until)}

    @app.get("/api/files/{file_id}", summary="A take's audio (download=true: as an attachment)",
             response_class=FileResponse)
    def file(file_id: FileId, download: bool = False) -> Response:
        path = studio.path_of(file_id)
        return FileResponse(path, filename=path.name if download else None,
                            content_disposition_type="attachment" if download else "inline")

    @app.get("/api/files/{file_id}/take", summary="A take's record: model, provider, tags, lineage")
    def take(file_id: FileId) -> dict[str, Any]:
        return studio.take_of(studio.path_of(file_id))

    @app.get("/api/files/{file_id}/waveform", summary="Waveform peaks (min/max per slice) to draw")
    def waveform(file_id: FileId, points: Annotated[int, Query(ge=16, le=8192)] = 1000) -> dict[str, Any]:
        return api.waveform(studio.path_of(file_id), points=points)

    @app.get("/api/files/{file_id}/analysis", summary="Loudness, true peak, tempo, beats, key, sections")
    def analysis(file_id: FileId) -> dict[str, Any]:
        return studio.analysis(studio.path_of(file_id))

    @app.get("/api/files/{file_id}/actions", summary="What can be done to this take (tasks the catalog offers)")
    def actions(file_id: FileId) -> dict[str, Any]:
        studio.path_of(file_id)
        return {"actions": actions_for({m.task for m in api.models()})}

    @app.put("/api/uploads/{filename}", status_code=201,
             summary="Upload an audio file (the raw bytes as the body); it lands in <output>/uploads",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
    async def upload(filename: Annotated[str, PathParam(max_length=200)], request: Request) -> Response:
        path = await _receive_upload(config, filename, request)
        return Redacted(studio.take_of(path), status_code=201)

    @app.post("/api/jobs", status_code=201, summary="Start a job: generate, edit, finish or replay")
    def create_job(body: JobCreate, response: Response,
                   idempotency_key: Annotated[str | None, Header(max_length=200, description=
                       "Same key + same body: the job made the first time, not a new one")] = None
                   ) -> dict[str, Any]:
        job, created = studio.create_job(body.root, idempotency_key)
        response.status_code = 201 if created else 200
        response.headers["Location"] = f"/api/jobs/{job.id}"
        return job.to_dict()

    @app.get("/api/jobs", summary="Every job this server ran, newest first")
    def list_jobs() -> dict[str, Any]:
        return {"jobs": [j.to_dict() for j in studio.jobs.list()]}

    @app.get("/api/jobs/{job_id}", summary="A job's status, last progress, result or error")
    def get_job(job_id: JobId) -> dict[str, Any]:
        return studio.job(job_id).to_dict()

    @app.post("/api/jobs/{job_id}/cancel", status_code=202, summary="Cancel a job (the engine stops, "
              "a hosted request is cancelled, the output dir is left as it was)")
    def cancel_job(job_id: JobId) -> dict[str, Any]:
        job = studio.job(job_id)
        if job.finished:
            raise AlreadyFinished(f"job {job_id} has already {job.status}", field="job_id")
        studio.jobs.cancel(job)
        return job.to_dict()

    @app.get("/api/jobs/{job_id}/events", response_class=StreamingResponse,
             summary="Server-sent events: `progress` for each step, then `end` with the job")
    async def job_events(job_id: JobId, last_event_id: Annotated[str | None, Header(max_length=20)] = None
                         ) -> StreamingResponse:
        job = studio.job(job_id)
        start = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
        return StreamingResponse(_events(job, start), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return Guard(app, config.token, config.loopback_only)  # type: ignore[return-value]


PAGE_HEADERS = {
    # the page loads nothing from elsewhere and may be framed by no one
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
                               "connect-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _lifespan(studio: Studio) -> Any:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        await asyncio.to_thread(studio.jobs.shutdown)  # cancel running work; nothing half-written stays

    return lifespan


async def _events(job: Job, after: int) -> Any:
    def frame(event: str, data: Any, seq: int | None = None) -> str:
        head = f"id: {seq}\n" if seq is not None else ""
        return head + f"event: {event}\ndata: {redact(json.dumps(data, default=str))}\n\n"

    quiet = 0.0
    while True:
        fresh = [e for e in list(job.events) if e["seq"] > after]
        for event in fresh:
            after = event["seq"]
            yield frame("progress", event, after)
        if job.finished and not fresh:
            yield frame("end", job.to_dict())
            return
        quiet = 0.0 if fresh else quiet + 0.1
        if quiet >= 15:  # a comment keeps proxies from closing a quiet stream
            quiet = 0.0
            yield ": keep-alive\n\n"
        await asyncio.sleep(0.1)


async def _receive_upload(config: StudioConfig, filename: str, request: Request) -> Path:
    """The body into `<output>/uploads/<safe name>`: refused before reading when the declared
    length is over the cap, cut off when the bytes pass it, kept only if it decodes as audio."""
    from aimusic.audio.io import FORMATS, read_audio
    from aimusic.output.naming import safe_name

    stem, _, ext = filename.rpartition(".")
    ext = ext.lower()
    if not stem or ext not in FORMATS:
        raise NotAudio(f"{filename!r} is not an audio file name: upload {', '.join(FORMATS)}", field="filename")
    declared = request.headers.get("content-length", "")
    limit = config.max_upload_bytes
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the upload is {int(declared) / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB",
                       field="body")
    folder = config.output_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    fd, part = tempfile.mkstemp(dir=folder, prefix=".aimusic-upload-", suffix=".part")
    try:
        size = 0
        with os.fdopen(fd, "wb") as handle:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"the upload passed the {limit / 1e6:.1f} MB limit", field="body")
                handle.write(chunk)
        if size == 0:
            raise NotAudio("the upload is empty", field="body")
        try:
            await asyncio.to_thread(read_audio, part)
        except AimusicError:
            raise NotAudio(f"{filename!r} is not an audio file this studio can read (wav, flac, mp3, ogg)",
                           field="body") from None
        base = safe_name(stem) or "upload"
        for index in range(10_000):
            target = folder / (f"{base}.{ext}" if index == 0 else f"{base}-{index}.{ext}")
            try:
                os.link(part, target)  # never replaces an existing file, unlike rename
                return target
            except FileExistsError:
                continue
        raise InputError(f"no free name for {base} in {folder}", field="filename")
    finally:
        Path(part).unlink(missing_ok=True)

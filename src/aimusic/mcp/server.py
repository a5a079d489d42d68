"""An MCP server over the Python API: plan, generate, edit, run, models, analyze, finish.

Tool input schemas come from the pydantic request models in `aimusic.schemas.requests`
(the same ones the Python API validates with). Every tool validates with our own
models so errors carry the CLI's `code`/`type`/`message`/`field`; the server never
dies on bad input. Long work runs in a worker thread: its progress becomes MCP
progress notifications, and a client's cancellation sets the job's cancel event
so the engine stops (local) or cancels the remote request (hosted) and the
output directory is left as it was.
"""

from __future__ import annotations

import inspect
import json
import queue
import threading
from typing import Any, Awaitable, Callable

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel

from aimusic.config import redact
from aimusic.errors import AimusicError, InputError
from aimusic.output.sandbox import Sandbox
from aimusic.schemas import is_url, validate
from aimusic.schemas.requests import (AnalyzeRequest, EditRequest, FinishRequest, GenerateRequest, PlanRequest,
                                   LayerRequest, RunRequest, SeparateRequest)

INSTRUCTIONS = (
    "aimusic turns a music request into audio files on the right model. Call `plan` first to see the "
    "model, input and cost; then `generate` (new music) or `edit` (fix a time range, extend a track, remix); "
    "`separate` splits a track into stems and `layer` adds a part (drums, strings, vocals, a backing). "
    "`run` takes a catalog id and its exact input. Files are written under the server's output directory; "
    "input audio must be inside the allowed directories or an https URL."
)
AUDIO_FIELDS = ("audio", "reference_audio")


class ServerConfig(Sandbox):
    """The server's output dir and allowed dirs: the one sandbox rule (`aimusic.output.sandbox`)."""


def _error_result(error: AimusicError) -> CallToolResult:
    """The error as the client sees it: code, type, message, field, and the class's policy
    (`retryable`, `permanent`) with its `advice`, so an agent decides without a table of numbers."""
    body = error.to_dict()
    body["message"] = redact(body["message"])
    if body.get("hint"):
        body["hint"] = redact(body["hint"])
    body["advice"] = error.advice
    payload = {"error": body}
    return CallToolResult(content=[TextContent(type="text", text=json.dumps(payload, ensure_ascii=False))],
                          structured_content=payload, is_error=True)


def _ok_result(payload: Any) -> CallToolResult:
    text = redact(json.dumps(payload, ensure_ascii=False, default=str))
    data = json.loads(text)
    if not isinstance(data, dict):
        data = {"result": data}
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


class _Job:
    """A blocking call in a worker thread, with its progress queued for the event loop."""

    def __init__(self, work: Callable[[Callable[..., None], threading.Event], Any]) -> None:
        self.cancel_event = threading.Event()
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self._work = work
        self._result: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, daemon=True, name="aimusic-mcp-job")

    def _progress(self, stage: str, done: float, total: float | None = None, message: str = "") -> None:
        self.events.put((stage, done, total, message))

    def _main(self) -> None:
        try:
            self._result = self._work(self._progress, self.cancel_event)
        except BaseException as exc:  # handed to the event loop, which decides what the client sees
            self._error = exc

    async def _drain(self, ctx: Context) -> None:
        while True:
            try:
                stage, done, total, message = self.events.get_nowait()
            except queue.Empty:
                return
            text = redact(f"{stage}: {message}".rstrip(": ").strip())
            await ctx.report_progress(float(done), float(total) if total else None, text or stage)

    async def run(self, ctx: Context) -> Any:
        self._thread.start()
        try:
            while self._thread.is_alive():
                await self._drain(ctx)
                await anyio.sleep(0.05)
            await self._drain(ctx)
        except anyio.get_cancelled_exc_class():
            # The client cancelled: tell the engine, then wait (shielded) until it has
            # cleaned up, so no partial file survives the cancellation.
            self.cancel_event.set()
            with anyio.CancelScope(shield=True):
                while self._thread.is_alive():
                    await anyio.sleep(0.05)
            raise
        if self._error is not None:
            raise self._error
        return self._result


UNKNOWN_ARGUMENTS = "__aimusic_unknown__"


def _keep_unknown(arg_model: type[BaseModel]) -> type[BaseModel]:
    """The SDK's argument model, changed to keep the arguments no field names (it drops them) and
    hand them to the tool under UNKNOWN_ARGUMENTS, so our validation reports them as errors."""
    from pydantic import ConfigDict

    class KeepUnknown(arg_model):  # type: ignore[valid-type, misc]
        model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True)

        def model_dump_one_level(self) -> dict[str, Any]:
            values = super().model_dump_one_level()
            if self.model_extra:
                values[UNKNOWN_ARGUMENTS] = dict(self.model_extra)
            return values

    return KeepUnknown


def _tool(app: MCPServer, name: str, request_model: type[BaseModel], description: str,
          handler: Callable[[Any, Context], Awaitable[Any]]) -> None:
    """Register `handler` as tool `name` whose arguments are `request_model`'s fields.

    The SDK builds a tool's argument model from the function signature; we give it a
    permissive signature (so our own validation, with our error shape, decides) and
    advertise `request_model`'s JSON schema as the tool's input schema.
    """

    async def tool_fn(ctx: Context, **arguments: Any) -> CallToolResult:
        try:
            unknown = arguments.pop(UNKNOWN_ARGUMENTS, None) or {}
            # unknown arguments go to validation too: `extra="forbid"` names each one (never ignored)
            request = validate(request_model, {**{k: v for k, v in arguments.items() if v is not None},
                                               **unknown})
            return _ok_result(await handler(request, ctx))
        except AimusicError as exc:
            return _error_result(exc)
        except KeyboardInterrupt:
            from aimusic.errors import Interrupted

            return _error_result(Interrupted("cancelled"))
        except Exception as exc:  # a bug: the same shape (type "internal", 70), never a dead server
            from aimusic.errors import error_of

            return _error_result(error_of(exc))

    params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
    annotations: dict[str, Any] = {"ctx": Context, "return": CallToolResult}
    for field_name, info in request_model.model_fields.items():
        params.append(inspect.Parameter(field_name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                        annotation=Any))
        annotations[field_name] = Any
    tool_fn.__signature__ = inspect.Signature(params, return_annotation=CallToolResult)  # type: ignore[attr-defined]
    tool_fn.__annotations__ = annotations
    tool_fn.__name__ = name
    app.add_tool(tool_fn, name=name, description=description, structured_output=False)
    registered = app._tool_manager.get_tool(name)
    registered.fn_metadata.arg_model = _keep_unknown(registered.fn_metadata.arg_model)
    schema = request_model.model_json_schema()
    schema.pop("title", None)
    registered.parameters = schema


def build_server(config: ServerConfig) -> MCPServer:
    from aimusic import api

    config.output_dir.mkdir(parents=True, exist_ok=True)
    app = MCPServer(name="aimusic", instructions=INSTRUCTIONS, version=api.aimusic_version(),
                    log_level="WARNING")

    async def threaded(ctx: Context, work: Callable[..., Any]) -> Any:
        return await _Job(work).run(ctx)

    # every tool works in a thread of its own: one slow call (a plan reading a long file, a
    # listing probing providers) never blocks the event loop, so other calls are answered meanwhile
    async def plan_tool(req: PlanRequest, ctx: Context) -> Any:
        audio = config.audio_path(req.audio) if req.audio else None
        return await threaded(ctx, lambda progress, cancel: api.plan(
            req.request, audio=audio, lyrics=req.lyrics, provider=req.provider, budget_usd=req.budget_usd))

    async def generate_tool(req: GenerateRequest, ctx: Context) -> Any:
        overrides = req.model_dump(exclude={"request", "provider"}, exclude_none=True)
        return await threaded(ctx, lambda progress, cancel: api.generate(
            req.request, output_dir=config.output_dir, provider=req.provider, overrides=overrides,
            progress=progress, cancel_event=cancel).to_dict())

    async def edit_tool(req: EditRequest, ctx: Context) -> Any:
        audio = config.audio_path(req.audio)
        overrides = req.model_dump(exclude={"request", "provider", "audio"}, exclude_none=True)
        return await threaded(ctx, lambda progress, cancel: api.edit(
            audio, req.request, output_dir=config.output_dir, provider=req.provider, overrides=overrides,
            progress=progress, cancel_event=cancel).to_dict())

    async def separate_tool(req: SeparateRequest, ctx: Context) -> Any:
        audio = config.audio_path(req.audio)
        return await threaded(ctx, lambda progress, cancel: api.separate(
            audio, config.output_dir, stems=req.stems, remove=req.remove, provider=req.provider, seed=req.seed,
            budget_usd=req.budget_usd, progress=progress, cancel_event=cancel).to_dict())

    async def layer_tool(req: LayerRequest, ctx: Context) -> Any:
        audio = config.audio_path(req.audio)
        return await threaded(ctx, lambda progress, cancel: api.layer(
            audio, req.track, config.output_dir, lyrics=req.lyrics, tags=req.tags, provider=req.provider,
            seed=req.seed, budget_usd=req.budget_usd, progress=progress, cancel_event=cancel).to_dict())

    async def run_tool(req: RunRequest, ctx: Context) -> Any:
        model_input = dict(req.input)
        for name in AUDIO_FIELDS:
            if isinstance(model_input.get(name), str):
                model_input[name] = config.audio_path(model_input[name], name)
        return await threaded(ctx, lambda progress, cancel: api.run(
            req.model, model_input, config.output_dir, progress=progress, cancel_event=cancel).to_dict())

    async def models_tool(req: BaseModel, ctx: Context) -> Any:
        return await threaded(ctx, lambda progress, cancel: {
            "models": [api.describe_model(m) for m in api.models()]})

    async def analyze_tool(req: AnalyzeRequest, ctx: Context) -> Any:
        path = config.audio_path(req.audio)
        if is_url(path):
            raise InputError("analyze reads local files only", field="audio")
        return await threaded(ctx, lambda progress, cancel: api.analyze(path))

    async def finish_tool(req: FinishRequest, ctx: Context) -> Any:
        path = config.audio_path(req.audio)
        if is_url(path):
            raise InputError("finish reads local files only", field="audio")
        options = req.model_dump(exclude={"audio"}, exclude_none=True)
        return await threaded(ctx, lambda progress, cancel: api.finish(
            path, output_dir=config.output_dir, **options))

    class NoArguments(BaseModel):
        model_config = {"extra": "forbid"}

    _tool(app, "plan", PlanRequest, "Route a request in plain words to a model, input and cost. Runs nothing.",
          plan_tool)
    _tool(app, "generate", GenerateRequest, "Make new music from a request in plain words; returns the files.",
          generate_tool)
    _tool(app, "edit", EditRequest, "Edit a track: repaint a time range (inpaint), extend it (outpaint) or "
          "remix it, from a request in plain words.", edit_tool)
    _tool(app, "separate", SeparateRequest, "Split a track into stems (<name>.<stem>.<ext>); remove: ['vocals'] "
          "makes an instrumental. Best provider here; priced.", separate_tool)
    _tool(app, "layer", LayerRequest, "Add a part to a track (drums, strings, sax, vocals with lyrics, a "
          "'backing' for a vocal): the new mix and the part alone.", layer_tool)
    _tool(app, "run", RunRequest, "Run one catalog model on its exact input JSON (as `aimusic run`).", run_tool)
    _tool(app, "models", NoArguments, "List every model with task, price, limits and availability.",
          models_tool)
    _tool(app, "analyze", AnalyzeRequest, "Measure a file: loudness, true peak, tempo, key, sections, loops.",
          analyze_tool)
    _tool(app, "finish", FinishRequest, "Make a file ready to publish: loudness, true peak, fades, loop, "
          "length, format.", finish_tool)
    return app


def serve(config: ServerConfig, http: tuple[str, int] | None = None) -> None:
    app = build_server(config)
    if http is None:
        app.run("stdio")
    else:
        host, port = http
        app.run("streamable-http", host=host, port=port)

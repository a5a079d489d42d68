"""The `comfyui` provider: ACE-Step workflows on the user's own ComfyUI server(s).

One job: choose a server that holds the model files (`servers`), build the template graph and
upload the source audio (`workflow`, `graphs`), submit with our own prompt id, follow the
websocket (`following`: a progress bar per sampling step), then download every output through
/view into staged files. Ctrl-C or a cancelled job takes the prompt off the server (interrupt or
queue delete) before it ends.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from aimusic.engines.base import Availability, Engine, EngineResult, Lane, RunContext, Take, package_versions
from aimusic.engines.comfyui.client import ComfyClient, new_ids
from aimusic.engines.comfyui.following import (cancel_quietly, execution_failure, follow, register,
                                               unregister)
from aimusic.engines.comfyui.servers import (NOT_SET, clear_probe_cache, config_path, configured_servers,
                                             model_availability, probe, release, reserve_server, save_servers)
from aimusic.engines.comfyui.workflow import (check_model_files, fetch_source, graph_for_server,
                                              graph_request, local_source, lora_records, offline_graph,
                                              server_graph, source_seconds)
from aimusic.engines.options import EngineOptions, flag, one_or_many, timeout_field
from aimusic.errors import Interrupted, UpstreamError

__all__ = ["NOT_SET", "ComfyUIEngine", "ComfyUIOptions", "check_model_files", "clear_probe_cache",
           "config_path", "configured_servers", "execution_failure", "fetch_source",
           "follow", "graph_for_server", "graph_request", "local_source", "model_availability",
           "offline_graph", "probe", "save_servers", "server_graph", "source_seconds"]


# --- the engine ------------------------------------------------------------------------------

class ComfyUIOptions(EngineOptions):
    timeout: float | None = timeout_field()
    comfyui_url: str | None = Field(
        None, description="ComfyUI: run on this server (default: the least busy configured one).")
    comfyui_prompt_id: str | None = Field(
        None, description="ComfyUI: collect this earlier prompt instead of submitting (`aimusic resume`).",
        json_schema_extra=flag(False))
    lora: tuple[str, ...] = Field(
        (), description="Local/ComfyUI: a LoRA as PATH_OR_REPO[:SCALE] (ComfyUI: a file in the server's "
                        "loras folder); repeatable.")

    _one_lora = field_validator("lora", mode="before")(one_or_many)


class ComfyUIEngine(Engine):
    name = "comfyui"
    title = "ComfyUI"
    tasks = frozenset({"generate", "remix"})
    lane = Lane.REMOTE  # the user's server(s): a slot per provider, like a hosted API
    auto_rank = 20      # a configured server holding the model files, after a local GPU

    @classmethod
    def options_model(cls) -> type[ComfyUIOptions]:
        return ComfyUIOptions

    @classmethod
    def availability(cls, model: Any) -> Availability:
        return model_availability(model)

    @classmethod
    def versions(cls) -> dict[str, str]:
        return package_versions(("httpx", "websockets"))

    def run(self, model: Any, request: Any, ctx: RunContext, sink: Any) -> EngineResult:
        options = self.options_of(ctx)
        prompt_id = options.comfyui_prompt_id
        url = reserve_server(model, options.comfyui_url)
        try:
            with ComfyClient(url) as client:
                if prompt_id:
                    return self._collect(client, model, request, ctx, sink, prompt_id)
                return self._submit_and_collect(client, model, request, ctx, sink)
        finally:
            release(url)

    def _submit_and_collect(self, client: ComfyClient, model: Any, request: Any, ctx: RunContext,
                            sink: Any) -> EngineResult:
        timings: dict[str, float] = {}
        version = client.version()
        loras = self.options_of(ctx).lora
        graph, layout, specs = graph_for_server(client, model, request, notice=ctx.notice, progress=ctx.progress,
                                                check_cancelled=ctx.check_cancelled, timings=timings, loras=loras)
        check_model_files(client, graph, specs)
        ctx.check_cancelled()
        client_id, prompt_id = new_ids()
        register(client.base_url, prompt_id, ctx.cancel_event)
        try:
            with client.websocket(client_id) as ws:
                t = time.perf_counter()
                try:
                    client.submit(graph, client_id, prompt_id,
                                  extra_data={"aimusic": {"model": model.id, "input": request.to_json_dict()}})
                except KeyboardInterrupt:
                    cancel_quietly(client, prompt_id)
                    raise Interrupted("interrupted; the ComfyUI prompt was withdrawn and no file was written"
                                      ) from None
                timings["submit_s"] = time.perf_counter() - t
                entry = follow(client, ws, prompt_id, ctx, timings, timeout=self.options_of(ctx).timeout)
        finally:
            unregister(client.base_url, prompt_id)
        result = self._outputs(client, model, request, ctx, sink, prompt_id, entry, graph, version, timings,
                               layout=layout.kind)
        if loras:
            result.metadata["loras"] = lora_records(loras)
        return result

    def _collect(self, client: ComfyClient, model: Any, request: Any, ctx: RunContext, sink: Any,
                 prompt_id: str) -> EngineResult:
        timings: dict[str, float] = {}
        version = client.version()
        entry = follow(client, None, prompt_id, ctx, timings, cancel_remote=False,
                       timeout=self.options_of(ctx).timeout)
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

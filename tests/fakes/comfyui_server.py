"""A loopback stand-in for a ComfyUI server (HTTP + websocket), following facts/comfyui.md.

It validates prompts the way the real server does (unknown node types, missing inputs,
values not in a list or out of range, model names checked against folder listings, LoadAudio
files checked in the input folder), runs one prompt at a time from a queue, reports progress
per sampling step on the websocket of the prompt's client id, writes a real FLAC for each
SaveAudio node, and serves /history, /view, /upload/image, /interrupt and /queue.

    with FakeComfyUI(tmp_path) as fake:
        os.environ["COMFYUI_URL"] = fake.url
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

TEMPLATE_FILES: dict[str, list[str]] = {
    "checkpoints": ["ace_step_v1_3.5b.safetensors", "ace_step_1.5_turbo_aio.safetensors"],
    "diffusion_models": ["acestep_v1.5_turbo.safetensors"],
    "text_encoders": ["qwen_0.6b_ace15.safetensors", "qwen_1.7b_ace15.safetensors"],
    "vae": ["ace_1.5_vae.safetensors"],
}
LANGUAGES = ['ar', 'az', 'bg', 'bn', 'ca', 'cs', 'da', 'de', 'el', 'en', 'es', 'fa', 'fi', 'fr', 'he', 'hi',
             'hr', 'ht', 'hu', 'id', 'is', 'it', 'ja', 'ko', 'la', 'lt', 'ms', 'ne', 'nl', 'no', 'pa', 'pl',
             'pt', 'ro', 'ru', 'sa', 'sk', 'sr', 'sv', 'sw', 'ta', 'te', 'th', 'tl', 'tr', 'uk', 'ur', 'vi',
             'yue', 'zh', 'unknown']
KEYSCALES = [f"{r} {q}" for q in ("major", "minor")
             for r in ("C", "C#", "Db", "D", "D#", "Eb", "E", "F", "F#", "Gb", "G", "G#", "Ab", "A", "A#", "Bb", "B")]
SAMPLERS = ["euler", "euler_ancestral", "heun", "dpmpp_2m"]
SCHEDULERS = ["simple", "normal", "karras", "sgm_uniform"]
OUTPUT_NODES = {"SaveAudio", "SaveAudioMP3", "SaveAudioOpus", "PreviewAudio"}


def _int(default: int, lo: int, hi: int) -> list[Any]:
    return ["INT", {"default": default, "min": lo, "max": hi}]


def _float(default: float, lo: float, hi: float) -> list[Any]:
    return ["FLOAT", {"default": default, "min": lo, "max": hi, "step": 0.01}]


def _combo_new(options: list[str], **extra: Any) -> list[Any]:
    return ["COMBO", {"options": options, **extra}]      # how newer (V3) nodes report choices


def _combo_old(options: list[str], **extra: Any) -> list[Any]:
    return [options, extra] if extra else [options]    # how older nodes report choices


def _text() -> list[Any]:
    return ["STRING", {"multiline": True, "dynamic_prompts": True}]


class FakeComfyUI:
    def __init__(self, root: str | Path, *, files: dict[str, list[str]] | None = None, step_delay: float = 0.0,
                 fail_node_type: str | None = None, fail_message: str = "boom", websocket: bool = True,
                 view_redirect: str | None = None, version: str = "0.27.0",
                 samplers: list[str] | None = None) -> None:
        self.root = Path(root)
        self.input_dir = self.root / "input"
        self.output_dir = self.root / "output"
        self.input_dir.mkdir(parents=True, exist_ok=True)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.files = {k: list(v) for k, v in (files if files is not None else TEMPLATE_FILES).items()}
        self.step_delay = step_delay
        self.fail_node_type = fail_node_type
        self.fail_message = fail_message
        self.websocket_enabled = websocket
        self.view_redirect = view_redirect
        self.version = version
        self.samplers = samplers or SAMPLERS
        self.pending: list[dict[str, Any]] = []
        self.running: dict[str, Any] | None = None
        self.history: dict[str, dict[str, Any]] = {}
        self.submitted: list[dict[str, Any]] = []      # every accepted /prompt body
        self.requests: list[tuple[str, str]] = []      # (method, path) of every HTTP request
        self.interrupted: list[str] = []
        self.deleted: list[str] = []
        self._sockets: dict[str, list[Any]] = {}
        self._counter = 0
        self._number = 0
        self._interrupt = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- node specs ------------------------------------------------------------------------
    def node_specs(self) -> dict[str, dict[str, Any]]:
        f = self.files
        audio_files = sorted(p.relative_to(self.input_dir).as_posix() for p in self.input_dir.rglob("*")
                             if p.is_file() and p.parent == self.input_dir)
        specs: dict[str, tuple[dict[str, Any], dict[str, Any], list[str]]] = {
            "CheckpointLoaderSimple": ({"ckpt_name": _combo_old(f.get("checkpoints", []))}, {},
                                       ["MODEL", "CLIP", "VAE"]),
            "UNETLoader": ({"unet_name": _combo_old(f.get("diffusion_models", [])),
                            "weight_dtype": _combo_old(["default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"],
                                                       advanced=True)}, {}, ["MODEL"]),
            "DualCLIPLoader": ({"clip_name1": _combo_old(f.get("text_encoders", [])),
                                "clip_name2": _combo_old(f.get("text_encoders", [])),
                                "type": _combo_old(["sdxl", "sd3", "flux", "hidream", "ace"])},
                               {"device": _combo_old(["default", "cpu"], advanced=True)}, ["CLIP"]),
            "VAELoader": ({"vae_name": _combo_old(f.get("vae", []) + ["pixel_space"])}, {}, ["VAE"]),
            "LoraLoaderModelOnly": ({"model": ["MODEL"], "lora_name": _combo_old(f.get("loras", [])),
                                     "strength_model": _float(1.0, -100.0, 100.0)}, {}, ["MODEL"]),
            "ModelSamplingSD3": ({"model": ["MODEL"], "shift": _float(3.0, 0.0, 100.0)}, {}, ["MODEL"]),
            "ModelSamplingAuraFlow": ({"model": ["MODEL"], "shift": _float(1.73, 0.0, 100.0)}, {}, ["MODEL"]),
            "LatentOperationTonemapReinhard": ({"multiplier": _float(1.0, 0.0, 100.0)}, {}, ["LATENT_OPERATION"]),
            "LatentApplyOperationCFG": ({"model": ["MODEL"], "operation": ["LATENT_OPERATION"]}, {}, ["MODEL"]),
            "TextEncodeAceStepAudio": ({"clip": ["CLIP"], "tags": _text(), "lyrics": _text(),
                                        "lyrics_strength": _float(1.0, 0.0, 10.0)}, {}, ["CONDITIONING"]),
            "TextEncodeAceStepAudio1.5": ({
                "clip": ["CLIP"], "tags": _text(), "lyrics": _text(), "seed": _int(0, 0, 2**64 - 1),
                "bpm": _int(120, 10, 300), "duration": _float(120.0, 0.0, 2000.0),
                "timesignature": _combo_new(["2", "3", "4", "6"]), "language": _combo_new(LANGUAGES, default="en"),
                "keyscale": _combo_new(KEYSCALES), "generate_audio_codes": ["BOOLEAN", {"default": True}],
                "cfg_scale": _float(2.0, 0.0, 100.0), "temperature": _float(0.85, 0.0, 2.0),
                "top_p": _float(0.9, 0.0, 2000.0), "top_k": _int(0, 0, 100), "min_p": _float(0.0, 0.0, 1.0),
            }, {}, ["CONDITIONING"]),
            "ConditioningZeroOut": ({"conditioning": ["CONDITIONING"]}, {}, ["CONDITIONING"]),
            "EmptyAceStepLatentAudio": ({"seconds": _float(120.0, 1.0, 1000.0), "batch_size": _int(1, 1, 4096)},
                                        {}, ["LATENT"]),
            "EmptyAceStep1.5LatentAudio": ({"seconds": _float(120.0, 1.0, 1000.0),
                                            "batch_size": _int(1, 1, 4096)}, {}, ["LATENT"]),
            "LoadAudio": ({"audio": _combo_new(audio_files, audio_upload=True)}, {}, ["AUDIO"]),
            "VAEEncodeAudio": ({"audio": ["AUDIO"], "vae": ["VAE"]}, {}, ["LATENT"]),
            "VAEDecodeAudio": ({"samples": ["LATENT"], "vae": ["VAE"]}, {}, ["AUDIO"]),
            "KSampler": ({"model": ["MODEL"], "seed": _int(0, 0, 2**64 - 1), "steps": _int(20, 1, 10000),
                          "cfg": _float(8.0, 0.0, 100.0), "sampler_name": _combo_old(self.samplers),
                          "scheduler": _combo_old(SCHEDULERS), "positive": ["CONDITIONING"],
                          "negative": ["CONDITIONING"], "latent_image": ["LATENT"],
                          "denoise": _float(1.0, 0.0, 1.0)}, {}, ["LATENT"]),
            "SaveAudio": ({"audio": ["AUDIO"], "filename_prefix": ["STRING", {"default": "audio/ComfyUI"}]}, {}, []),
            "SaveAudioMP3": ({"audio": ["AUDIO"], "filename_prefix": ["STRING", {"default": "audio/ComfyUI"}],
                              "quality": _combo_new(["V0", "128k", "320k"], default="V0")}, {}, []),
        }
        out = {}
        for name, (required, optional, outputs) in specs.items():
            body: dict[str, Any] = {"required": required}
            if optional:
                body["optional"] = optional
            out[name] = {"input": body, "input_order": {k: list(v) for k, v in body.items()}, "output": outputs,
                         "output_name": outputs, "name": name, "display_name": name, "category": "fake",
                         "output_node": name in OUTPUT_NODES, "python_module": "fake"}
        return out

    # -- validation (what execution.validate_prompt checks) ---------------------------------
    def validate(self, graph: Any) -> tuple[int, dict[str, Any]]:
        def fail(kind: str, message: str, details: str = "") -> tuple[int, dict[str, Any]]:
            return 400, {"error": {"type": kind, "message": message, "details": details, "extra_info": {}},
                         "node_errors": {}}

        if not isinstance(graph, dict):
            return fail("invalid_prompt", "Invalid prompt", "prompt is not an object")
        specs = self.node_specs()
        for node_id, node in graph.items():
            if not isinstance(node, dict) or "class_type" not in node:
                return fail("invalid_prompt", "Cannot execute because a node is missing the class_type property.",
                            f"Node ID '#{node_id}'")
            if node["class_type"] not in specs:
                return fail("missing_node_type", f"Node '{node['class_type']}' not found. The custom node may "
                            "not be installed.", f"Node ID '#{node_id}'")
        outputs = [nid for nid, node in graph.items() if node["class_type"] in OUTPUT_NODES]
        if not outputs:
            return fail("prompt_no_outputs", "Prompt has no outputs")
        node_errors: dict[str, Any] = {}
        for node_id, node in graph.items():
            spec = specs[node["class_type"]]
            inputs = node.get("inputs") or {}
            errors = []
            for section in ("required", "optional"):
                for name, info in spec["input"].get(section, {}).items():
                    if name not in inputs:
                        if section == "required":
                            errors.append({"type": "required_input_missing", "message": "Required input is missing",
                                           "details": name, "extra_info": {"input_name": name}})
                        continue
                    if node["class_type"] == "LoadAudio" and name == "audio":
                        continue  # like the real node: its own check (below) replaces the list check
                    errors.extend(self._check_value(graph, name, info, inputs[name], specs))
            if node["class_type"] == "LoadAudio" and "audio" in inputs and not errors:
                if not (self.input_dir / str(inputs["audio"])).is_file():
                    errors.append({"type": "custom_validation_failed", "message": "Custom validation failed for node",
                                   "details": f"audio - Invalid audio file: {inputs['audio']}",
                                   "extra_info": {"input_name": "audio"}})
            if errors:
                node_errors[node_id] = {"errors": errors, "dependent_outputs": outputs,
                                        "class_type": node["class_type"]}
        if node_errors:
            return 400, {"error": {"type": "prompt_outputs_failed_validation",
                                   "message": "Prompt outputs failed validation", "details": "", "extra_info": {}},
                         "node_errors": node_errors}
        return 200, {}

    @staticmethod
    def _check_value(graph: dict[str, Any], name: str, info: list[Any], value: Any,
                     specs: dict[str, Any]) -> list[dict[str, Any]]:
        def err(kind: str, message: str, details: str) -> list[dict[str, Any]]:
            return [{"type": kind, "message": message, "details": details,
                     "extra_info": {"input_name": name, "input_config": info, "received_value": value}}]

        kind, options = info[0], (info[1] if len(info) > 1 else {})
        if isinstance(value, list):  # a link [node_id, output_index]
            if len(value) != 2 or str(value[0]) not in graph:
                return err("bad_linked_input", "Bad linked input, must be a length-2 list of [node_id, slot_index]",
                           f"{name}, {value}")
            source = specs[graph[str(value[0])]["class_type"]]["output"]
            if not isinstance(value[1], int) or value[1] >= len(source):
                return err("bad_linked_input", "Bad linked input", f"{name}, {value}")
            expected = kind if isinstance(kind, str) else "COMBO"
            if source[value[1]] != expected and expected not in ("INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"):
                return err("return_type_mismatch", "Return type mismatch between linked nodes",
                           f"{name}, received_type({source[value[1]]}) mismatch input_type({expected})")
            return []
        choices = kind if isinstance(kind, list) else (options.get("options") if kind == "COMBO" else None)
        if choices is not None:
            if value not in choices:
                shown = ", ".join(map(str, choices[:20]))
                return err("value_not_in_list", "Value not in list", f"{name}: '{value}' not in [{shown}]")
            return []
        if kind in ("INT", "FLOAT"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind == "INT" and
                                                                                  not float(value).is_integer()):
                return err("invalid_input_type", f"Failed to convert an input value to a {kind} value",
                           f"{name}, {value}")
            if "min" in options and value < options["min"]:
                return err("value_smaller_than_min", f"Value {value} smaller than min of {options['min']}", name)
            if "max" in options and value > options["max"]:
                return err("value_bigger_than_max", f"Value {value} bigger than max of {options['max']}", name)
        if kind == "STRING" and not isinstance(value, str):
            return err("invalid_input_type", "Failed to convert an input value to a STRING value", f"{name}, {value}")
        if kind == "BOOLEAN" and not isinstance(value, bool):
            return err("invalid_input_type", "Failed to convert an input value to a BOOLEAN value", f"{name}, {value}")
        if kind in specs_link_types and not isinstance(value, list):
            return err("required_input_missing", "Required input is missing", name)
        return []

    # -- execution ---------------------------------------------------------------------------
    async def _send(self, client_id: str | None, kind: str, data: dict[str, Any]) -> None:
        for ws in list(self._sockets.get(client_id or "", [])):
            try:
                await ws.send_text(json.dumps({"type": kind, "data": data}))
            except Exception:
                pass

    async def _executor(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.pending:
                item = self.pending.pop(0)
                self.running = item
                self._interrupt = False
                try:
                    await self._execute(item)
                finally:
                    self.running = None

    async def _execute(self, item: dict[str, Any]) -> None:
        prompt_id, graph, client = item["prompt_id"], item["prompt"], item["client_id"]
        messages: list[list[Any]] = []

        async def event(kind: str, data: dict[str, Any], record: bool = True) -> None:
            data = {**data, "prompt_id": prompt_id, "timestamp": int(time.time() * 1000)}
            if record:
                messages.append([kind, data])
            await self._send(client, kind, data)

        def finish(status: str, outputs: dict[str, Any]) -> None:
            self.history[prompt_id] = {
                "prompt": [item["number"], prompt_id, graph, item["extra_data"], item["outputs"]],
                "outputs": outputs, "status": {"status_str": status, "completed": status == "success",
                                               "messages": messages}, "meta": {}}

        await event("execution_start", {})
        outputs: dict[str, Any] = {}
        seconds, rate = 10.0, 44100
        for node_id, node in graph.items():
            kind = node["class_type"]
            inputs = node.get("inputs") or {}
            await self._send(client, "executing", {"node": node_id, "display_node": node_id, "prompt_id": prompt_id})
            if kind == self.fail_node_type:
                await event("execution_error", {"node_id": node_id, "node_type": kind, "executed": [],
                                                "exception_message": self.fail_message,
                                                "exception_type": "RuntimeError", "traceback": ["..."],
                                                "current_inputs": {}, "current_outputs": {}})
                finish("error", {})
                return
            if kind in ("EmptyAceStepLatentAudio", "EmptyAceStep1.5LatentAudio"):
                seconds = float(inputs["seconds"])
            if kind == "EmptyAceStep1.5LatentAudio" or kind == "TextEncodeAceStepAudio1.5":
                rate = 48000
            if kind == "LoadAudio":
                info = sf.info(str(self.input_dir / inputs["audio"]))
                seconds = info.frames / info.samplerate
            if kind == "KSampler":
                steps = int(inputs["steps"])
                for step in range(1, steps + 1):
                    await asyncio.sleep(self.step_delay)
                    if self._interrupt:
                        await event("execution_interrupted", {"node_id": node_id, "node_type": kind, "executed": []})
                        finish("error", {})
                        return
                    await self._send(client, "progress", {"value": step, "max": steps, "prompt_id": prompt_id,
                                                          "node": node_id})
            if kind in OUTPUT_NODES:
                self._counter += 1
                prefix = str(inputs.get("filename_prefix", "ComfyUI"))
                subfolder, _, base = prefix.rpartition("/")
                ext = {"SaveAudioMP3": "mp3", "SaveAudioOpus": "opus"}.get(kind, "flac")
                name = f"{base}_{self._counter:05}_.{ext}"
                target = self.output_dir / subfolder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                t = np.arange(int(seconds * rate)) / rate
                tone = (0.2 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
                sf.write(str(target), np.stack([tone, tone]).T, rate, format="MP3" if ext == "mp3" else None)
                result = {"audio": [{"filename": name, "subfolder": subfolder, "type": "output"}]}
                outputs[node_id] = result
                await self._send(client, "executed", {"node": node_id, "display_node": node_id, "output": result,
                                                      "prompt_id": prompt_id})
        await event("execution_success", {})
        await self._send(client, "executing", {"node": None, "prompt_id": prompt_id})
        finish("success", outputs)

    # -- HTTP + websocket app ------------------------------------------------------------------
    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
        from starlette.routing import Route, WebSocketRoute
        from starlette.websockets import WebSocket

        async def system_stats(request: Request) -> Response:
            return JSONResponse({"system": {"os": "linux", "comfyui_version": self.version, "python_version": "3.11"},
                                 "devices": [{"name": "cpu", "type": "cpu"}]})

        async def object_info(request: Request) -> Response:
            specs = self.node_specs()
            node = request.path_params.get("node")
            if node is None:
                return JSONResponse(specs)
            return JSONResponse({node: specs[node]} if node in specs else {})

        async def prompt(request: Request) -> Response:
            try:
                body = await request.json()
            except ValueError:
                return JSONResponse({"error": "invalid json"}, status_code=400)
            graph = body.get("prompt")
            status, answer = self.validate(graph)
            if status != 200:
                return JSONResponse(answer, status_code=status)
            prompt_id = body.get("prompt_id") or str(uuid.uuid4())
            extra = dict(body.get("extra_data") or {})
            if "client_id" in body:
                extra["client_id"] = body["client_id"]
            self._number += 1
            outputs = [nid for nid, n in graph.items() if n["class_type"] in OUTPUT_NODES]
            self.submitted.append(body)
            self.pending.append({"prompt_id": prompt_id, "prompt": graph, "client_id": body.get("client_id"),
                                 "extra_data": extra, "number": self._number, "outputs": outputs})
            assert self._wake is not None
            self._wake.set()
            return JSONResponse({"prompt_id": prompt_id, "number": self._number, "node_errors": {}})

        async def history_one(request: Request) -> Response:
            prompt_id = request.path_params["prompt_id"]
            entry = self.history.get(prompt_id)
            return JSONResponse({prompt_id: entry} if entry else {})

        async def history_all(request: Request) -> Response:
            return JSONResponse(self.history)

        def queue_item(item: dict[str, Any]) -> list[Any]:
            return [item["number"], item["prompt_id"], item["prompt"], item["extra_data"], item["outputs"]]

        async def queue(request: Request) -> Response:
            if request.method == "POST":
                body = await request.json()
                if body.get("clear"):
                    self.pending.clear()
                for prompt_id in body.get("delete", []):
                    before = len(self.pending)
                    self.pending[:] = [p for p in self.pending if p["prompt_id"] != prompt_id]
                    if len(self.pending) < before:
                        self.deleted.append(prompt_id)
                return Response(status_code=200)
            return JSONResponse({"queue_running": [queue_item(self.running)] if self.running else [],
                                 "queue_pending": [queue_item(p) for p in self.pending]})

        async def interrupt(request: Request) -> Response:
            try:
                body = await request.json()
            except ValueError:
                body = {}
            wanted = (body or {}).get("prompt_id")
            if self.running and (wanted is None or wanted == self.running["prompt_id"]):
                self._interrupt = True
                self.interrupted.append(self.running["prompt_id"])
            return Response(status_code=200)

        async def upload(request: Request) -> Response:
            form = await request.form()
            upload_file = form.get("image")
            if upload_file is None or not hasattr(upload_file, "read"):
                return Response(status_code=400)
            subfolder = str(form.get("subfolder") or "")
            if ".." in subfolder or subfolder.startswith("/"):
                return Response(status_code=400)
            data = await upload_file.read()
            folder = self.input_dir / subfolder
            folder.mkdir(parents=True, exist_ok=True)
            name = Path(upload_file.filename or "upload").name
            target = folder / name
            if str(form.get("overwrite", "")).lower() != "true":
                stem, ext, n = target.stem, target.suffix, 1
                while target.exists() and hashlib.sha256(target.read_bytes()).digest() != hashlib.sha256(data).digest():
                    target = folder / f"{stem} ({n}){ext}"
                    n += 1
            target.write_bytes(data)
            return JSONResponse({"name": target.name, "subfolder": subfolder, "type": "input"})

        async def view(request: Request) -> Response:
            if self.view_redirect:
                return RedirectResponse(self.view_redirect + "/view?" + request.url.query, status_code=302)
            base = self.output_dir if request.query_params.get("type", "output") == "output" else self.input_dir
            target = (base / request.query_params.get("subfolder", "") / request.query_params.get("filename", ""))
            try:
                target.resolve().relative_to(base.resolve())
            except ValueError:
                return Response(status_code=403)
            if not target.is_file():
                return Response(status_code=404)
            return FileResponse(target)

        async def ws_endpoint(websocket: WebSocket) -> None:
            if not self.websocket_enabled:
                await websocket.close(code=1008)
                return
            await websocket.accept()
            client_id = websocket.query_params.get("clientId") or uuid.uuid4().hex
            self._sockets.setdefault(client_id, []).append(websocket)
            await websocket.send_text(json.dumps({"type": "status", "data": {
                "status": {"exec_info": {"queue_remaining": len(self.pending) + bool(self.running)}},
                "sid": client_id}}))
            try:
                while True:
                    await websocket.receive_text()
            except Exception:
                pass
            finally:
                self._sockets[client_id].remove(websocket)

        routes = []
        for prefix in ("", "/api"):
            routes += [Route(prefix + "/system_stats", system_stats),
                       Route(prefix + "/object_info", object_info),
                       Route(prefix + "/object_info/{node}", object_info),
                       Route(prefix + "/prompt", prompt, methods=["POST"]),
                       Route(prefix + "/history", history_all),
                       Route(prefix + "/history/{prompt_id}", history_one),
                       Route(prefix + "/queue", queue, methods=["GET", "POST"]),
                       Route(prefix + "/interrupt", interrupt, methods=["POST"]),
                       Route(prefix + "/upload/image", upload, methods=["POST"]),
                       Route(prefix + "/view", view),
                       WebSocketRoute(prefix + "/ws", ws_endpoint)]

        async def record(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                self.requests.append((scope["method"], scope["path"]))
            if scope["type"] == "lifespan":
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self._loop = asyncio.get_running_loop()
                    self._wake = asyncio.Event()
                    self._executor_task = asyncio.ensure_future(self._executor())
                    await send({"type": "lifespan.startup.complete"})
                message = await receive()
                self._executor_task.cancel()
                await send({"type": "lifespan.shutdown.complete"})
                return
            await inner(scope, receive, send)

        inner = Starlette(routes=routes)
        return record

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> str:
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="on", ws="websockets-sansio")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeComfyUI:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def wait_running(self, timeout: float = 10.0) -> str:
        """The id of the running prompt, once one runs (for tests that interrupt it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.running is not None:
                return self.running["prompt_id"]
            time.sleep(0.01)
        raise TimeoutError("no prompt started")


specs_link_types = ("MODEL", "CLIP", "VAE", "CONDITIONING", "LATENT", "AUDIO", "LATENT_OPERATION")

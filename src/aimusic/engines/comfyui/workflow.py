"""The graph for one ComfyUI job: the source audio (local or downloaded), the server's model
files and languages, and the template graph built from them (`graphs`). Shared with
`aimusic comfyui workflow`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from aimusic.engines.comfyui.graphs import (GraphRequest, Layout, LOADER_INPUTS, build_graph, choose_layout,
                                            default_layout, files_from_object_info, graph_model_files,
                                            input_options)
from aimusic.engines.local_acestep.lora import parse_specs
from aimusic.errors import InputError, InputFileError, NotConfiguredError, RetryableError, UpstreamError

if TYPE_CHECKING:
    from aimusic.engines.comfyui.client import ComfyClient


def source_seconds(path: str) -> float:
    from aimusic.audio.io import audio_info, read_audio

    try:
        return float(audio_info(path)["duration"])
    except Exception:
        samples, rate = read_audio(path)  # 65/66 with a clear message when it cannot be read
        return samples.shape[1] / rate


def graph_request(model: Any, request: Any, layout: Layout, *, audio_name: str | None = None,
                  seconds: float | None = None, languages: list[str] | None = None,
                  notice: Callable[[str], None] | None = None, loras: Any = ()) -> GraphRequest:
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
        filename_prefix=f"aimusic/{preset['variant']}",
        loras=[(lora_file_name(spec.source), spec.scale) for spec in parse_specs(loras)])


def lora_file_name(source: str) -> str:
    """The name ComfyUI knows a LoRA by: a local file's name, else the text as given."""
    path = Path(source).expanduser()
    return path.name if path.is_file() else source


def lora_records(loras: Any) -> list[dict[str, Any]]:
    """Sidecar entries: name and scale; the hash when the file is also on this machine (ComfyUI
    does not report file hashes)."""
    from aimusic.engines.local_acestep.lora import file_sha256

    out = []
    for spec in parse_specs(loras):
        path = Path(spec.source).expanduser()
        out.append({"lora": lora_file_name(spec.source), "scale": spec.scale,
                    "sha256": file_sha256(path) if path.is_file() else None})
    return out


def offline_graph(model: Any, request: Any, *, notice: Callable[[str], None] | None = None,
                  loras: Any = ()) -> dict[str, Any]:
    """The template graph without a server: template file names, uploaded-name placeholder."""
    audio_name, seconds = None, None
    if model.task == "remix":
        path = local_source(request.audio)
        audio_name = f"aimusic/{Path(path).name}"
        seconds = source_seconds(path)
        if notice:
            notice(f"put {path} into ComfyUI's input/aimusic/ folder (or set COMFYUI_URL to upload it)")
    return build_graph(graph_request(model, request, default_layout(model.extra), audio_name=audio_name,
                                     seconds=seconds, notice=notice, loras=loras))


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
            from aimusic.engines.http import DEFAULT_MAX_DOWNLOAD_BYTES, StallWatch

            watch, written = StallWatch(f"download of the audio source {reference}"), 0
            with open(target, "wb") as handle:
                for chunk in response.iter_bytes(1 << 16):
                    watch.add(len(chunk))
                    written += len(chunk)
                    if written > DEFAULT_MAX_DOWNLOAD_BYTES:
                        raise InputFileError(f"audio: {reference} is over the {DEFAULT_MAX_DOWNLOAD_BYTES}-byte "
                                             "download cap", field="audio")
                    handle.write(chunk)
    except httpx.HTTPError as exc:  # the one transport mapping (engines/http.py)
        from aimusic.engines.http import transport_error

        raise transport_error(exc, f"the audio source {reference}", action="download") from None
    return str(target)


def graph_for_server(client: ComfyClient, model: Any, request: Any, *,
                     notice: Callable[[str], None] | None = None, progress: Callable[..., None] | None = None,
                     check_cancelled: Callable[[], None] | None = None,
                     timings: dict[str, float] | None = None, loras: Any = ()
                     ) -> tuple[dict[str, Any], Layout, dict[str, Any]]:
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
                                      languages=languages, notice=notice, loras=loras))
    return graph, layout, specs


def server_graph(url: str, model: Any, request: Any, *, notice: Callable[[str], None] | None = None,
                 loras: Any = ()) -> dict[str, Any]:
    """`aimusic comfyui workflow` with a server: its files; falls back to the template names
    (with a notice) when the server does not answer."""
    from aimusic.engines.comfyui.client import ComfyClient

    try:
        with ComfyClient(url, timeout=10.0) as client:
            client.version()
            graph = graph_for_server(client, model, request, notice=notice, loras=loras)[0]
            check_model_files(client, graph)  # a LoRA the server lacks: 78 naming it
            return graph
    except (UpstreamError, RetryableError) as exc:  # down (75), timing out (75) or failing (69)
        if notice:
            notice(f"{exc.message}; using the template's file names")
        return offline_graph(model, request, notice=notice, loras=loras)


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

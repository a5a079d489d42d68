"""ComfyUI API-format graphs for ACE-Step, built in code after ComfyUI's official templates.

A graph is `{node_id: {"class_type", "inputs", "_meta"}}`; a link is `[node_id, output_index]`.
Pure functions: no network. The model layout (all-in-one checkpoint or split files) is chosen
from the model files a server lists (`choose_layout`), or the template's default without one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aimusic.errors import InputError, NotConfiguredError

# ComfyUI model folder of each loader input, for "put FILE in models/FOLDER" messages.
LOADER_INPUTS: dict[str, dict[str, str]] = {
    "CheckpointLoaderSimple": {"ckpt_name": "checkpoints"},
    "UNETLoader": {"unet_name": "diffusion_models"},
    "DualCLIPLoader": {"clip_name1": "text_encoders", "clip_name2": "text_encoders"},
    "VAELoader": {"vae_name": "vae"},
    "LoraLoaderModelOnly": {"lora_name": "loras"},  # ACE-Step LoRAs patch the DiT only
}
V1_LYRICS_STRENGTH = 0.99  # the v1 templates' value
TEXT_ENCODER_15_DEFAULTS = {"cfg_scale": 2.0, "temperature": 0.85, "top_p": 0.9, "top_k": 0, "min_p": 0.0}
DEFAULT_BPM, DEFAULT_TIMESIGNATURE, DEFAULT_KEYSCALE = 120, "4", "E minor"  # the 1.5 templates' values


@dataclass(frozen=True)
class Layout:
    """Which files load the model: {"ckpt": name} or {"unet", "clip1", "clip2", "vae"}."""

    kind: str                      # "aio" | "split"
    files: dict[str, str]

    def required(self) -> list[tuple[str, str]]:
        """(ComfyUI models folder, file name) of every file this layout loads."""
        if self.kind == "aio":
            return [("checkpoints", self.files["ckpt"])]
        return [("diffusion_models", self.files["unet"]), ("text_encoders", self.files["clip1"]),
                ("text_encoders", self.files["clip2"]), ("vae", self.files["vae"])]


def default_layout(preset: dict[str, Any]) -> Layout:
    """The template's layout: all-in-one where the variant has one, else split."""
    if preset.get("aio"):
        return Layout("aio", {"ckpt": preset["aio"]})
    split = preset["split"]
    return Layout("split", {"unet": split["unet"], "clip1": split["clip1"], "clip2": split["clip2"][0],
                            "vae": split["vae"]})


def candidate_layouts(preset: dict[str, Any]) -> list[Layout]:
    layouts = []
    if preset.get("aio"):
        layouts.append(Layout("aio", {"ckpt": preset["aio"]}))
    split = preset.get("split")
    if split:
        for clip2 in split["clip2"]:
            layouts.append(Layout("split", {"unet": split["unet"], "clip1": split["clip1"], "clip2": clip2,
                                            "vae": split["vae"]}))
    return layouts


def missing_files(layout: Layout, server_files: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(folder, name) for folder, name in layout.required() if name not in server_files.get(folder, [])]


def choose_layout(preset: dict[str, Any], server_files: dict[str, list[str]], where: str) -> Layout:
    """The first complete layout on the server (all-in-one first), or 78 naming what is missing."""
    layouts = candidate_layouts(preset)
    for layout in layouts:
        if not missing_files(layout, server_files):
            return layout
    best = min(layouts, key=lambda lay: len(missing_files(lay, server_files)))
    lacking = missing_files(best, server_files)
    names = ", ".join(f"{name} (in models/{folder}/)" for folder, name in lacking)
    other = ""
    if len(layouts) > 1:
        alternatives = [lay for lay in layouts if lay is not best]
        other = "; or instead " + " | ".join(
            ", ".join(f"models/{folder}/{name}" for folder, name in lay.required()) for lay in alternatives)
    raise NotConfiguredError(f"the ComfyUI server at {where} lacks {names}",
                             field="model", hint=f"put the file(s) in ComfyUI's models folder{other}")


@dataclass
class GraphRequest:
    """Everything a graph needs, already resolved (lyrics processed, audio uploaded)."""

    generation: str                 # "v1" | "1.5"
    layout: Layout
    tags: str
    lyrics: str
    seed: int
    steps: int
    guidance: float
    shift: float
    seconds: float                  # text-to-audio length, or the source's length
    audio_name: str | None = None   # LoadAudio value (subfolder/name); None = text to audio
    denoise: float = 1.0
    language: str = "en"
    bpm: int = DEFAULT_BPM
    keyscale: str = DEFAULT_KEYSCALE
    timesignature: str = DEFAULT_TIMESIGNATURE
    generate_audio_codes: bool = True
    filename_prefix: str = "aimusic/ComfyUI"
    loras: list[tuple[str, float]] = field(default_factory=list)  # (file in models/loras, strength)
    extra: dict[str, Any] = field(default_factory=dict)


class _Builder:
    def __init__(self) -> None:
        self.graph: dict[str, dict[str, Any]] = {}

    def add(self, class_type: str, title: str | None = None, **inputs: Any) -> str:
        node_id = str(len(self.graph) + 1)
        self.graph[node_id] = {"class_type": class_type, "inputs": inputs, "_meta": {"title": title or class_type}}
        return node_id


def build_graph(req: GraphRequest) -> dict[str, dict[str, Any]]:
    """The API-format graph of ComfyUI's ACE-Step template for this request."""
    if req.generation not in ("v1", "1.5"):
        raise InputError(f"unknown ACE-Step generation {req.generation!r}")
    b = _Builder()
    if req.layout.kind == "aio":
        ckpt = b.add("CheckpointLoaderSimple", "Load Checkpoint", ckpt_name=req.layout.files["ckpt"])
        model, clip, vae = [ckpt, 0], [ckpt, 1], [ckpt, 2]
    else:
        unet = b.add("UNETLoader", "Load Diffusion Model", unet_name=req.layout.files["unet"], weight_dtype="default")
        clips = b.add("DualCLIPLoader", "Load Text Encoders", clip_name1=req.layout.files["clip1"],
                      clip_name2=req.layout.files["clip2"], type="ace", device="default")
        vae_node = b.add("VAELoader", "Load VAE", vae_name=req.layout.files["vae"])
        model, clip, vae = [unet, 0], [clips, 0], [vae_node, 0]
    for name, strength in req.loras:  # chained, in the order given, as ComfyUI users wire them
        model = [b.add("LoraLoaderModelOnly", f"LoRA {name}", model=model, lora_name=name,
                       strength_model=float(strength)), 0]
    if req.generation == "v1":
        shifted = b.add("ModelSamplingSD3", shift=req.shift, model=model)
        tonemap = b.add("LatentOperationTonemapReinhard", multiplier=1.0)
        model = [b.add("LatentApplyOperationCFG", model=[shifted, 0], operation=[tonemap, 0]), 0]
        positive = b.add("TextEncodeAceStepAudio", "Tags and lyrics", clip=clip, tags=req.tags, lyrics=req.lyrics,
                         lyrics_strength=V1_LYRICS_STRENGTH)
        empty_latent = "EmptyAceStepLatentAudio"
    else:
        model = [b.add("ModelSamplingAuraFlow", shift=req.shift, model=model), 0]
        positive = b.add("TextEncodeAceStepAudio1.5", "Tags and lyrics", clip=clip, tags=req.tags,
                         lyrics=req.lyrics, seed=req.seed, bpm=req.bpm, duration=float(req.seconds),
                         timesignature=req.timesignature, language=req.language, keyscale=req.keyscale,
                         generate_audio_codes=req.generate_audio_codes, **TEXT_ENCODER_15_DEFAULTS)
        empty_latent = "EmptyAceStep1.5LatentAudio"
    negative = b.add("ConditioningZeroOut", conditioning=[positive, 0])
    if req.audio_name is None:
        latent = b.add(empty_latent, seconds=float(req.seconds), batch_size=1)
    else:
        source = b.add("LoadAudio", "Source audio", audio=req.audio_name)
        latent = b.add("VAEEncodeAudio", audio=[source, 0], vae=vae)
    sampled = b.add("KSampler", seed=req.seed, steps=req.steps, cfg=req.guidance, sampler_name="euler",
                    scheduler="simple", denoise=req.denoise, model=model, positive=[positive, 0],
                    negative=[negative, 0], latent_image=[latent, 0])
    decoded = b.add("VAEDecodeAudio", samples=[sampled, 0], vae=vae)
    # FLAC (SaveAudio) rather than the templates' MP3 V0: finishing and format conversion
    # downstream should start from lossless audio.
    b.add("SaveAudio", "Save", audio=[decoded, 0], filename_prefix=req.filename_prefix)
    return b.graph


def graph_model_files(graph: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(node id, ComfyUI models folder, file name) of every model file a graph loads."""
    found = []
    for node_id, node in graph.items():
        for input_name, folder in LOADER_INPUTS.get(node.get("class_type", ""), {}).items():
            value = node.get("inputs", {}).get(input_name)
            if isinstance(value, str):
                found.append((node_id, folder, value))
    return found


def combo_options(spec: Any) -> list[str] | None:
    """The choices of one `/object_info` input spec, in either format ComfyUI uses:
    `[["a", "b"], {...}]` (older nodes) or `["COMBO", {"options": ["a", "b"]}]` (newer ones)."""
    if not isinstance(spec, (list, tuple)) or not spec:
        return None
    head = spec[0]
    if isinstance(head, list):
        return [str(x) for x in head]
    if head == "COMBO" and len(spec) > 1 and isinstance(spec[1], dict):
        options = spec[1].get("options")
        if isinstance(options, list):
            return [str(x) for x in options]
    return None


def input_options(object_info: dict[str, Any], node_type: str, input_name: str) -> list[str] | None:
    node = object_info.get(node_type)
    if not isinstance(node, dict):
        return None
    inputs = node.get("input", {})
    for section in ("required", "optional"):
        spec = (inputs.get(section) or {}).get(input_name)
        if spec is not None:
            return combo_options(spec)
    return None


def files_from_object_info(object_info: dict[str, Any]) -> dict[str, list[str]]:
    """Model files per ComfyUI folder, read from the loader nodes' choice lists."""
    files: dict[str, list[str]] = {}
    for node_type, inputs in LOADER_INPUTS.items():
        for input_name, folder in inputs.items():
            options = input_options(object_info, node_type, input_name)
            if options:
                merged = files.setdefault(folder, [])
                merged.extend(o for o in options if o not in merged)
    return files

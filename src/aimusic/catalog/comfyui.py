"""ACE-Step v1 and 1.5 on the user's own ComfyUI server: one entry per variant and task.

Defaults (steps, guidance, shift, model file names) are those of ComfyUI's official
templates (package `comfyui-workflow-templates`), so a request with no overrides makes
the graph a ComfyUI user would get from the template menu.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aimusic.catalog import ModelEntry
from aimusic.catalog.hosted import ACE_V1_LANGUAGES
from aimusic.schemas import AudioSourceMixin, ModelInput, Seed, TagsLyricsMixin

COMFYUI_MAX_SECONDS = 600.0

# The language codes TextEncodeAceStepAudio1.5 accepts (exactly its COMBO list).
ACE15_NODE_LANGUAGES = ("ar", "az", "bg", "bn", "ca", "cs", "da", "de", "el", "en", "es", "fa", "fi",
                        "fr", "he", "hi", "hr", "ht", "hu", "id", "is", "it", "ja", "ko", "la", "lt",
                        "ms", "ne", "nl", "no", "pa", "pl", "pt", "ro", "ru", "sa", "sk", "sr", "sv",
                        "sw", "ta", "te", "th", "tl", "tr", "uk", "ur", "vi", "yue", "zh", "unknown")
KEYSCALES = tuple(f"{root} {quality}" for quality in ("major", "minor")
                  for root in ("C", "C#", "Db", "D", "D#", "Eb", "E", "F", "F#", "Gb", "G", "G#", "Ab",
                               "A", "A#", "Bb", "B"))
KeyScale = Literal[KEYSCALES]  # type: ignore[valid-type]
Language15 = Literal[ACE15_NODE_LANGUAGES]  # type: ignore[valid-type]


class SamplingOverrides(ModelInput):
    """None = the template's value for the variant (see the model's description)."""

    steps: int | None = Field(None, ge=1, le=500, description="Sampling steps (template: v1 50, turbo 8, base/sft 50)")
    guidance: float | None = Field(None, ge=0, le=100,
                                   description="KSampler cfg (template: v1 5, turbo 1, xl-base 6, xl-sft 7)")
    shift: float | None = Field(None, ge=0, le=100, description="Timestep shift (template: v1 5, 1.5 3)")


class Ace15Options(ModelInput):
    bpm: int | None = Field(None, ge=10, le=300, description="Tempo for the 1.5 text encoder (default 120)")
    keyscale: KeyScale | None = Field(None, description="Key, e.g. 'E minor' (default: the template's E minor)")
    timesignature: Literal["2", "3", "4", "6"] | None = Field(None, description="Beats per bar (default 4)")
    vocal_language: Language15 | None = Field(
        None, description="Language code of the vocals (default: detected from the lyrics)")
    generate_audio_codes: bool = Field(
        True, description="Let the 1.5 language model write audio codes first (slower, better)")


class ComfyGenerateInput(SamplingOverrides, TagsLyricsMixin):
    duration: float = Field(60, ge=1, le=COMFYUI_MAX_SECONDS, description="Length in seconds")
    seed: Seed = -1


class ComfyRemixInput(SamplingOverrides, AudioSourceMixin, TagsLyricsMixin):
    strength: float = Field(0.5, ge=0, le=1, description="0 keeps the source, 1 ignores it (ComfyUI's denoise)")
    seed: Seed = -1


class ComfyV1RemixInput(ComfyRemixInput):
    strength: float = Field(0.3, ge=0, le=1,
                            description="0 keeps the source, 1 ignores it (ComfyUI's denoise; template 0.3)")


class Comfy15GenerateInput(Ace15Options, ComfyGenerateInput):
    pass


class Comfy15RemixInput(Ace15Options, ComfyRemixInput):
    pass


# variant -> template defaults and model files. "aio": all-in-one checkpoint (checkpoints/);
# "split": diffusion model + the two text encoders (first choice, then alternatives) + VAE.
VARIANTS: dict[str, dict] = {
    "ace-step-v1": {
        "generation": "v1", "steps": 50, "guidance": 5.0, "shift": 5.0, "sample_rate": 44100,
        "aio": "ace_step_v1_3.5b.safetensors", "split": None, "title": "ACE-Step v1 (3.5B)",
    },
    "ace-step-1.5-turbo": {
        "generation": "1.5", "steps": 8, "guidance": 1.0, "shift": 3.0, "sample_rate": 48000,
        "aio": "ace_step_1.5_turbo_aio.safetensors",
        "split": {"unet": "acestep_v1.5_turbo.safetensors", "clip1": "qwen_0.6b_ace15.safetensors",
                  "clip2": ("qwen_1.7b_ace15.safetensors", "qwen_4b_ace15.safetensors"),
                  "vae": "ace_1.5_vae.safetensors"},
        "title": "ACE-Step 1.5 turbo",
    },
}
for _name, _steps, _cfg in (("xl-turbo", 8, 1.0), ("xl-base", 50, 6.0), ("xl-sft", 50, 7.0)):
    VARIANTS[f"ace-step-1.5-{_name}"] = {
        "generation": "1.5", "steps": _steps, "guidance": _cfg, "shift": 3.0, "sample_rate": 48000,
        "aio": None,
        "split": {"unet": f"acestep_v1.5_{_name.replace('-', '_')}_bf16.safetensors",
                  "clip1": "qwen_0.6b_ace15.safetensors",
                  "clip2": ("qwen_4b_ace15.safetensors", "qwen_1.7b_ace15.safetensors"),
                  "vae": "ace_1.5_vae.safetensors"},
        "title": f"ACE-Step 1.5 {_name.upper().replace('-', ' ')}",
    }


def _entries() -> list[ModelEntry]:
    entries = []
    for variant, preset in VARIANTS.items():
        v1 = preset["generation"] == "v1"
        defaults = f"template defaults: {preset['steps']} steps, cfg {preset['guidance']:g}, shift {preset['shift']:g}"
        for endpoint, task, input_model, what in (
                ("text-to-audio", "generate", ComfyGenerateInput if v1 else Comfy15GenerateInput,
                 "Text to audio: tags + lyrics"),
                ("audio-to-audio", "remix", ComfyV1RemixInput if v1 else Comfy15RemixInput,
                 "Audio to audio: re-render a source, strength = ComfyUI's denoise")):
            lyric_note = ("lyrics are romanised with language prefixes automatically" if v1
                          else "lyrics go in their own script with the detected language")
            entries.append(ModelEntry(
                id=f"comfyui/{variant}/{endpoint}", task=task, providers=("comfyui",),
                title=f"{preset['title']} on your ComfyUI server",
                description=f"{what}, run by ComfyUI's native ACE-Step nodes on the server in COMFYUI_URL; "
                            f"{lyric_note}; {defaults}. No fees.",
                input_model=input_model, price_per_second=0.0,
                min_seconds=1 if task == "generate" else 0, max_seconds=COMFYUI_MAX_SECONDS,
                languages=ACE_V1_LANGUAGES if v1 else ACE15_NODE_LANGUAGES[:-1],
                sample_rate=preset["sample_rate"], tier="standard",
                extra={"variant": variant, **preset}))
    return entries


MODELS = _entries()

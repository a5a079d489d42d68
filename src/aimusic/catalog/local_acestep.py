"""ACE-Step 1.5 run locally through diffusers: one entry per variant and task."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aimusic.catalog import ModelEntry
from aimusic.catalog.hosted import ACE15_LANGUAGES
from aimusic.schemas import (GenerateInput, InpaintInput, LayerInput, ModelInput, OutpaintInput, RemixInput,
                             SeparateInput, StemName, audio_reference)

LOCAL_MAX_SECONDS = 600.0


class AceStepOptions(ModelInput):
    """Fields the local ACE-Step models accept beyond the hosted shape. None = the variant's preset."""

    steps: int | None = Field(None, ge=1, le=200, description="Diffusion steps (turbo 8, base/sft 50)")
    guidance: float | None = Field(None, ge=0, le=30, description="Guidance scale (turbo 1, base/sft 7)")
    shift: float | None = Field(None, gt=0, le=20, description="Timestep shift (turbo 3, base/sft 1)")
    bpm: int | None = Field(None, ge=30, le=300, description="Tempo hint")
    keyscale: str | None = Field(None, max_length=20, description="Key, e.g. 'C major', 'F# minor'")
    timesignature: Literal["2", "3", "4", "6"] | None = Field(None, description="Beats per bar")
    vocal_language: str | None = Field(None, max_length=8, description="Language code of the vocals")


class LocalGenerateInput(AceStepOptions, GenerateInput):
    duration: float = Field(60, ge=10, le=LOCAL_MAX_SECONDS, description="Length in seconds")
    lyrics_idea: str | None = Field(
        None, max_length=2000,
        description="No lyrics given: ACE-Step's 5 Hz LM writes them from this idea (when its weights are present)")


class LocalInpaintInput(AceStepOptions, InpaintInput):
    start_time: float = Field(0, ge=0, le=LOCAL_MAX_SECONDS, description="Window start in seconds")
    end_time: float = Field(30, ge=0, le=LOCAL_MAX_SECONDS, description="Window end in seconds")


class LocalOutpaintInput(AceStepOptions, OutpaintInput):
    extend_before_duration: float = Field(0, ge=0, le=LOCAL_MAX_SECONDS,
                                          description="Seconds to add before (chained past the model's limit)")
    extend_after_duration: float = Field(30, ge=0, le=LOCAL_MAX_SECONDS,
                                         description="Seconds to add after (chained past the model's limit)")


class LocalRemixInput(AceStepOptions, RemixInput):
    cover: bool = Field(False, description="Use the pipeline's cover task instead of noised-source remix")
    audio_cover_strength: float = Field(1.0, ge=0, le=1, description="Cover task: how closely to follow the source")
    reference_audio: str | None = Field(None, description="Optional timbre reference (path or https URL)")

    def model_post_init(self, __context: object) -> None:
        if self.reference_audio is not None:
            audio_reference(self.reference_audio)


# upstream ACE-Step 1.5's track names (acestep/constants.py TRACK_NAMES): what extract and lego take
ACE_TRACK_NAMES = ("woodwinds", "brass", "fx", "synth", "strings", "percussion", "keyboard", "guitar", "bass",
                   "drums", "backing_vocals", "vocals")


class LocalSeparateInput(AceStepOptions, SeparateInput):
    """The pipeline's extract task, one call per stem (empty stems: the removed ones, else all 12)."""

    def stem_names(self) -> tuple[str, ...]:
        return ACE_TRACK_NAMES


class LocalLayerInput(AceStepOptions, LayerInput):
    """lego (generate the named track in the audio's context) or, for track 'backing', complete."""

    track_classes: list[StemName] = Field(default_factory=list, max_length=12,
                                          description="track 'backing' (complete): the classes to add "
                                                      "(default drums, bass, keyboard)")

    def track_names(self) -> tuple[str, ...]:
        return (*ACE_TRACK_NAMES, "backing")


# variant -> (hub repo of a diffusers-format checkpoint or None, preset); every variant pairs with
# upstream's default 5 Hz LM (1.7B), which `models pull` fetches with it
VARIANTS: dict[str, dict] = {
    "turbo": {"repo": "Runware/acestep-v15-turbo-diffusers", "steps": 8, "shift": 3.0, "guidance": 1.0,
              "turbo": True, "params_b": 2.39, "lm": "1.7B"},
    "base": {"repo": "Runware/acestep-v15-base-diffusers", "steps": 50, "shift": 1.0, "guidance": 7.0,
             "turbo": False, "params_b": 2.39, "lm": "1.7B"},
    "sft": {"repo": None, "steps": 50, "shift": 1.0, "guidance": 7.0, "turbo": False, "params_b": 2.39, "lm": "1.7B"},
    "xl-turbo": {"repo": "ACE-Step/acestep-v15-xl-turbo-diffusers", "steps": 8, "shift": 3.0,
                 "guidance": 1.0, "turbo": True, "params_b": 4.99, "lm": "1.7B"},
    "xl-base": {"repo": "ACE-Step/acestep-v15-xl-base-diffusers", "steps": 50, "shift": 1.0,
                "guidance": 7.0, "turbo": False, "params_b": 4.99, "lm": "1.7B"},
}

_TASKS = (
    ("text-to-audio", "generate", LocalGenerateInput, "Text to audio: tags + lyrics"),
    ("audio-inpaint", "inpaint", LocalInpaintInput,
     "Repaint a time window; audio outside it stays bit-identical"),
    ("audio-outpaint", "outpaint", LocalOutpaintInput,
     "Extend before/after; the original stays bit-identical; long extensions are chained"),
    ("audio-to-audio", "remix", LocalRemixInput, "Re-render a source: strength 0 keeps it, 1 ignores it"),
    ("audio-separate", "separate", LocalSeparateInput,
     "Extract stems (vocals, drums, bass, guitar, ...) with the pipeline's extract task; base checkpoints only"),
    ("audio-layer", "layer", LocalLayerInput,
     "Add a track in the audio's context (lego) or a backing for a vocal (complete); base checkpoints only"),
)


def _entries() -> list[ModelEntry]:
    entries = []
    for variant, preset in VARIANTS.items():
        for endpoint, task, input_model, what in _TASKS:
            entries.append(ModelEntry(
                id=f"local/ace-step-1.5-{variant}/{endpoint}", task=task, providers=("local",),
                title=f"ACE-Step 1.5 {variant} (local, diffusers)",
                description=f"{what}. Open weights on your own GPU/CPU; no fees, no upload.",
                input_model=input_model, price_per_second=0.0,
                min_seconds=10 if task == "generate" else 0, max_seconds=LOCAL_MAX_SECONDS,
                languages=ACE15_LANGUAGES, sample_rate=48000, tier="standard",
                extra={"variant": variant, **preset}))
    return entries


MODELS = _entries()

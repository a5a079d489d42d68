"""The offline sketch engine: a weights-free composer and synthesizer on any CPU."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aimusic.catalog import ModelEntry
from aimusic.schemas import (GenerateInput, InpaintInput, LayerInput, ModelInput, OutpaintInput, RemixInput,
                             SeparateInput)

SKETCH_MAX_SECONDS = 600.0
SKETCH_LANGUAGES = ("en", "es", "de", "fr", "it", "pt", "zh", "ja", "ko", "ru", "hi", "ar")


class SketchOptions(ModelInput):
    renderer: Literal["auto", "synth", "soundfont"] = Field(
        "auto", description="'synth' (built-in, fastest), 'soundfont' (General MIDI via midirenderer), "
                            "'auto' (soundfont if you configured one, else synth)")
    bpm: int | None = Field(None, ge=40, le=240, description="Tempo hint; overrides tags")
    keyscale: str | None = Field(None, max_length=20, description="Key, e.g. 'C major', 'F# minor'; overrides tags")


class SketchGenerateInput(SketchOptions, GenerateInput):
    duration: float = Field(30, ge=1, le=SKETCH_MAX_SECONDS, description="Length in seconds")
    loop: bool = Field(False, description="Make the end flow into the start (same as 'seamless loop' in tags)")
    vocal_language: str | None = Field(None, max_length=16, description="Language the lyrics are sung in "
                                       "(ISO code, e.g. es, zh, ja); detected from the lyrics when omitted")


class SketchInpaintInput(SketchOptions, InpaintInput):
    start_time: float = Field(0, ge=0, le=SKETCH_MAX_SECONDS, description="Window start in seconds")
    end_time: float = Field(30, ge=0, le=SKETCH_MAX_SECONDS, description="Window end in seconds")


class SketchOutpaintInput(SketchOptions, OutpaintInput):
    extend_before_duration: float = Field(0, ge=0, le=SKETCH_MAX_SECONDS, description="Seconds to add before")
    extend_after_duration: float = Field(30, ge=0, le=SKETCH_MAX_SECONDS, description="Seconds to add after")


class SketchRemixInput(SketchOptions, RemixInput):
    pass


# the parts of a sketch arrangement (engines/sketch/parts.py renders each alone)
SKETCH_STEMS = ("drums", "bass", "chords", "pads", "arp", "lead", "vocals", "texture")
SKETCH_LAYER_TRACKS = ("drums", "percussion", "bass", "chords", "keyboard", "piano", "organ", "guitar", "pads",
                       "strings", "choir", "arp", "synth", "lead", "sax", "brass", "horn", "woodwinds", "flute",
                       "violin", "bells", "vocals", "backing")


class SketchSeparateInput(SeparateInput):
    """Exact stems of a file the sketch engine made (re-rendered from the sidecar beside it)."""

    def stem_names(self) -> tuple[str, ...]:
        return SKETCH_STEMS


class SketchLayerInput(SketchOptions, LayerInput):
    def track_names(self) -> tuple[str, ...]:
        return SKETCH_LAYER_TRACKS


MODELS = [
    ModelEntry(id="local/sketch/text-to-audio", task="generate", providers=("sketch",),
               title="Offline sketch (no weights)",
               description="Composes and renders a demo arrangement from tags and lyrics on any CPU, "
                           "in seconds. The free first rung: draft here, polish on ACE or ElevenLabs.",
               input_model=SketchGenerateInput, price_per_second=0.0, min_seconds=1,
               max_seconds=SKETCH_MAX_SECONDS, languages=SKETCH_LANGUAGES, sample_rate=44100, tier="draft"),
    ModelEntry(id="local/sketch/audio-inpaint", task="inpaint", providers=("sketch",),
               title="Offline sketch inpaint", description="Recomposes a time window of any track to match "
               "its tempo and key; outside the window stays bit-identical.",
               input_model=SketchInpaintInput, price_per_second=0.0, min_seconds=0,
               max_seconds=SKETCH_MAX_SECONDS, sample_rate=44100, tier="draft"),
    ModelEntry(id="local/sketch/audio-outpaint", task="outpaint", providers=("sketch",),
               title="Offline sketch outpaint", description="Extends any track with matching material.",
               input_model=SketchOutpaintInput, price_per_second=0.0, min_seconds=0,
               max_seconds=SKETCH_MAX_SECONDS, sample_rate=44100, tier="draft"),
    ModelEntry(id="local/sketch/audio-to-audio", task="remix", providers=("sketch",),
               title="Offline sketch remix", description="Re-arranges a track in new tags at its tempo and key.",
               input_model=SketchRemixInput, price_per_second=0.0, min_seconds=0,
               max_seconds=SKETCH_MAX_SECONDS, sample_rate=44100, tier="draft"),
    ModelEntry(id="local/sketch/audio-separate", task="separate", providers=("sketch",),
               title="Offline sketch stems", description="Exact per-part stems (drums, bass, chords, pads, "
               "arp, lead, vocals) of a file the sketch engine made, summing to the mix; other files: "
               "use ElevenLabs, Demucs or ACE-Step base.",
               input_model=SketchSeparateInput, price_per_second=0.0, min_seconds=0,
               max_seconds=SKETCH_MAX_SECONDS, sample_rate=44100, tier="draft",
               extra={"stems": SKETCH_STEMS}),
    ModelEntry(id="local/sketch/audio-layer", task="layer", providers=("sketch",),
               title="Offline sketch layer", description="Adds a composed part (drums, bass, strings, sax, "
               "sung vocals, a backing track, ...) at the track's tempo, key and bar grid; the mix is "
               "source + part.",
               input_model=SketchLayerInput, price_per_second=0.0, min_seconds=0,
               max_seconds=SKETCH_MAX_SECONDS, sample_rate=44100, tier="draft",
               extra={"tracks": SKETCH_LAYER_TRACKS}),
]

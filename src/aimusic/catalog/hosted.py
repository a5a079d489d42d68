"""The hosted models: RunComfy Model API ids (exactly as routing.md writes them) and the
ElevenLabs-only premium edits and video-to-music, with ElevenLabs' model variants and limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from aimusic.catalog import ModelEntry
from aimusic.schemas import (GenerateInput, InpaintInput, OutpaintInput, PromptMusicInput, Seed,
                             SeparateInput, VideoMusicInput)

ACE_V1_LANGUAGES = ("en", "zh", "ru", "es", "ja", "de", "fr", "pt", "it", "ko",
                    "pl", "tr", "cs", "nl", "ar", "hu", "hi")
# ACE-Step 1.5's vocal_language codes (its 51-language list, as the pipeline and ComfyUI take them).
ACE15_LANGUAGES = ("en", "zh", "ja", "ko", "es", "fr", "de", "it", "pt", "ru", "ar", "hi", "bn",
                   "pa", "ta", "te", "mr", "gu", "ur", "fa", "tr", "pl", "nl", "sv", "no", "da",
                   "fi", "cs", "sk", "hu", "ro", "bg", "uk", "el", "he", "th", "vi", "id", "ms",
                   "tl", "sw", "yue", "ca", "hr", "sr", "sl", "lt", "lv", "et", "is", "unknown")
ELEVENLABS_LANGUAGES = ("en", "es", "de", "fr", "it", "pt", "ja", "ko", "zh", "hi", "ru", "nl",
                        "pl", "sv", "tr", "ar")

ACE_BASE_PRICE = 0.0002
ELEVENLABS_PRICE = 0.0083


@dataclass(frozen=True)
class ElevenLabsModel:
    """One ElevenLabs music model (`model_id`): its composition plan format and limits, from the
    official SDK's field documentation (elevenlabs 2.78, `types/song_section.py`,
    `generation_chunk_input.py`, `music/raw_client.py`)."""

    model_id: str
    plan_format: str            # "sections" (MusicPrompt, v1) | "chunks" (CompositionPlan, v2)
    min_length_ms: int = 3_000  # a prompt's music_length_ms, and a whole plan
    max_length_ms: int = 600_000
    min_part_ms: int = 3_000    # one section / chunk
    max_part_ms: int = 120_000
    max_lines: int = 30         # lyric lines per section / chunk
    max_line_chars: int = 200


ELEVENLABS_MODELS: dict[str, ElevenLabsModel] = {
    "music_v1": ElevenLabsModel("music_v1", "sections"),   # the API's default
    "music_v2": ElevenLabsModel("music_v2", "chunks"),
    "music_v2_5": ElevenLabsModel("music_v2_5", "chunks"),
}
ELEVENLABS_DEFAULT_MODEL = "music_v1"
EditFormat = Literal["mp3_standard", "mp3_high_quality", "wav_cd_quality"]


class ElevenLabsInpaintInput(InpaintInput):
    """Repaint a window of a track on ElevenLabs: the source's own sections are kept, the window is
    composed anew from `tags` and `lyrics`."""

    start_time: float = Field(0, ge=0, le=600, description="Window start in seconds")
    end_time: float = Field(30, ge=0, le=600, description="Window end in seconds")
    seed: Seed = -1
    output_format: EditFormat = "mp3_standard"


class ElevenLabsOutpaintInput(OutpaintInput):
    """Add new sections before and/or after a track on ElevenLabs (the track itself is kept)."""

    extend_before_duration: float = Field(0, ge=0, le=300, description="Seconds to add before")
    extend_after_duration: float = Field(30, ge=0, le=300, description="Seconds to add after")
    seed: Seed = -1
    output_format: EditFormat = "mp3_standard"
# UNVERIFIED: the stem names inside ElevenLabs' stem ZIPs (engines/elevenlabs_stems.py names the
# files from the ZIP's members; a request is checked against these before anything is sent)
ELEVENLABS_STEM_SETS = {"two_stems_v1": ("vocals", "instrumental"),
                        "six_stems_v1": ("vocals", "drums", "bass", "guitar", "piano", "other")}


class ElevenLabsSeparateInput(SeparateInput):
    """ElevenLabs stem separation: a local file is uploaded; a ZIP of stems comes back."""

    stem_variation_id: Literal["two_stems_v1", "six_stems_v1"] = Field(
        "six_stems_v1", description="two_stems_v1: vocals + instrumental; six_stems_v1: vocals, drums, bass, "
                                    "guitar, piano, other")
    output_format: Literal["mp3_standard", "mp3_high_quality", "wav_cd_quality"] = "mp3_standard"

    def stem_names(self) -> tuple[str, ...]:
        return ELEVENLABS_STEM_SETS[self.stem_variation_id]


MODELS = [
    ModelEntry(
        id="acestep-ai/ace-step/text-to-audio", task="generate", providers=("runcomfy",),
        title="ACE-Step v1 (3.5B), hosted",
        description="Tag-driven, optional lyrics, stereo. Default for cost-sensitive work: background "
                    "libraries, jingles, game loops, drafts. Not for premium vocal hooks.",
        input_model=GenerateInput, price_per_second=ACE_BASE_PRICE, languages=ACE_V1_LANGUAGES,
        sample_rate=44100, tier="standard"),
    ModelEntry(
        id="acestep-ai/ace-step-1.5/text-to-audio", task="generate", providers=("runcomfy",),
        title="ACE-Step 1.5, hosted",
        description="50+ languages of vocals, better structured lyrics. For multilingual launches, "
                    "non-English vocals, best ACE quality.",
        input_model=GenerateInput, price_per_second=0.0003, languages=ACE15_LANGUAGES, tier="standard"),
    ModelEntry(
        id="elevenlabs/elevenlabs/music-generation", task="generate",
        providers=("elevenlabs", "runcomfy"),
        title="ElevenLabs Music",
        description="Premium 44.1 kHz stereo, section-level control in one prompt, multilingual "
                    "vocals, commercial use. About 27x ACE's price: for brand campaigns, polished "
                    "hooks, ads; not for high-volume drafts.",
        input_model=PromptMusicInput, price_per_second=ELEVENLABS_PRICE, min_seconds=5, max_seconds=300,
        languages=ELEVENLABS_LANGUAGES, sample_rate=44100, tier="premium",
        extra={"elevenlabs_models": sorted(ELEVENLABS_MODELS)}),
    ModelEntry(
        id="acestep-ai/ace-step/audio-inpaint", task="inpaint", providers=("runcomfy",),
        title="ACE-Step inpaint, hosted",
        description="Regenerates [start_time, end_time] of an existing track; each bound measured "
                    "from the track's start or end.",
        input_model=InpaintInput, price_per_second=ACE_BASE_PRICE, price_published=False,
        min_seconds=0, languages=ACE_V1_LANGUAGES, sample_rate=44100),
    ModelEntry(
        id="acestep-ai/ace-step/audio-outpaint", task="outpaint", providers=("runcomfy",),
        title="ACE-Step outpaint, hosted",
        description="Adds audio before and/or after a track in one call; the result is at most "
                    "4 minutes: longer extensions are chained.",
        input_model=OutpaintInput, price_per_second=ACE_BASE_PRICE, price_published=False,
        min_seconds=0, languages=ACE_V1_LANGUAGES, sample_rate=44100),
    # Premium edits on ElevenLabs: billed like a generation of the whole result (ElevenLabs composes
    # it all, kept sections included); a source not stored there yet is uploaded first, priced the
    # same per second (the planner adds it).
    ModelEntry(
        id="elevenlabs/elevenlabs/audio-inpaint", task="inpaint", providers=("elevenlabs",),
        title="ElevenLabs Music inpaint",
        description="Premium repaint of a time window: a composition plan keeps the source's own sections "
                    "(stored for inpainting) and composes the window anew; only the window is spliced in.",
        input_model=ElevenLabsInpaintInput, price_per_second=ELEVENLABS_PRICE, min_seconds=3, max_seconds=600,
        languages=ELEVENLABS_LANGUAGES, sample_rate=44100, tier="premium",
        extra={"elevenlabs_models": sorted(ELEVENLABS_MODELS)}),
    ModelEntry(
        id="elevenlabs/elevenlabs/audio-outpaint", task="outpaint", providers=("elevenlabs",),
        title="ElevenLabs Music outpaint",
        description="Premium extension: new sections before and/or after the source's own (stored for "
                    "inpainting); the source stays sample-exact. Results past 10 minutes are chained.",
        input_model=ElevenLabsOutpaintInput, price_per_second=ELEVENLABS_PRICE, min_seconds=3,
        max_seconds=600, languages=ELEVENLABS_LANGUAGES, sample_rate=44100, tier="premium",
        extra={"elevenlabs_models": sorted(ELEVENLABS_MODELS)}),
    ModelEntry(
        id="elevenlabs/elevenlabs/video-to-music", task="video", providers=("elevenlabs",),
        title="ElevenLabs video to music",
        description="Music composed for an uploaded video (its length, cuts and mood), with optional "
                    "SFX and separate music/SFX tracks.",
        input_model=VideoMusicInput, price_per_second=ELEVENLABS_PRICE, min_seconds=1, max_seconds=600,
        languages=ELEVENLABS_LANGUAGES, sample_rate=44100, tier="premium"),
    ModelEntry(
        id="elevenlabs/elevenlabs/audio-separate", task="separate", providers=("elevenlabs",),
        title="ElevenLabs stem separation",
        description="Splits any track into 2 (vocals, instrumental) or 6 stems (vocals, drums, bass, guitar, "
                    "piano, other). Uploads the file; priced per second of the track (estimate).",
        input_model=ElevenLabsSeparateInput, price_per_second=0.0083, price_published=False, min_seconds=0,
        max_seconds=600, sample_rate=44100, tier="premium",
        extra={"stems": sorted({s for v in ELEVENLABS_STEM_SETS.values() for s in v})}),
]

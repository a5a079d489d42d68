"""Typed requests of the front doors (MCP tools, and the CLI where it validates the same way).

The MCP tool input schemas are generated from these classes; nothing is written twice.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, GetCoreSchemaHandler, GetJsonSchemaHandler, field_validator
from pydantic_core import core_schema

from aimusic.schemas import MAX_TEXT, ModelInput, Seed, audio_reference



class _ProviderName(str):
    """`provider`: a plain string checked against the engine registry when a request is
    validated (plugins included); its JSON schema lists the registry's names, read when the
    schema is generated (not at import)."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return core_schema.no_info_after_validator_function(_check_provider, core_schema.str_schema())

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        from aimusic.registry import provider_names

        return {"type": "string", "enum": ["auto", *provider_names()]}


def _check_provider(value: str) -> str:
    from aimusic.registry import is_registered, provider_names

    if value != "auto" and not is_registered(value):
        raise ValueError(f"unknown provider {value!r}: choose auto, {', '.join(provider_names())}")
    return value


Provider = _ProviderName
Preset = Literal["streaming", "broadcast", "podcast", "none"]


class _AudioArg(ModelInput):
    @field_validator("audio", mode="before", check_fields=False)
    @classmethod
    def _audio(cls, value: Any) -> Any:
        return None if value is None else audio_reference(value)


class PlanRequest(_AudioArg):
    request: str = Field(min_length=1, max_length=MAX_TEXT,
                         description="What the user wants, in plain words ('a 15-second jingle for a bank')")
    audio: str | None = Field(None, description="Source audio for edits: a path in an allowed dir or an https URL")
    lyrics: str | None = Field(None, max_length=MAX_TEXT, description="Lyrics with section markers")
    provider: Provider = Field("auto", description="Which provider runs it; auto picks the best available")
    budget_usd: float | None = Field(None, ge=0, description="Refuse plans that cost more than this")


class GenerateRequest(ModelInput):
    request: str = Field(min_length=1, max_length=MAX_TEXT, description="What to make, in plain words")
    duration: float | None = Field(None, gt=0, le=600, description="Length in seconds (overrides the request)")
    provider: Provider = Field("auto", description="Which provider runs it")
    seed: Seed | None = Field(None, description="Seed for a reproducible take")
    lyrics: str | None = Field(None, max_length=MAX_TEXT, description="Lyrics with section markers")
    tags: str | None = Field(None, max_length=2000, description="Explicit style tags (override the planner's)")
    instrumental: bool | None = Field(None, description="Force instrumental (true) or vocals (false)")
    model: str | None = Field(None, max_length=200, description="Explicit catalog model id")


class EditRequest(_AudioArg):
    audio: str = Field(description="Track to edit: a path in an allowed dir or an https URL")
    request: str = Field(min_length=1, max_length=MAX_TEXT,
                         description="The edit in plain words ('fix 1:05 to 1:25', 'add a 20 second intro')")
    provider: Provider = Field("auto", description="Which provider runs it")
    seed: Seed | None = Field(None, description="Seed for a reproducible take")
    lyrics: str | None = Field(None, max_length=MAX_TEXT, description="Lyrics for the new material")
    tags: str | None = Field(None, max_length=2000, description="Style tags (default: inferred)")
    model: str | None = Field(None, max_length=200, description="Explicit catalog model id")
    strength: float | None = Field(None, ge=0, le=1,
                                   description="Remix only: 0 keeps the source, 1 ignores it (default: the model's)")


class SeparateRequest(_AudioArg):
    audio: str = Field(description="Track to split: a path in an allowed dir")
    stems: list[str] = Field(default_factory=list, max_length=16,
                             description="Stems to write, e.g. ['vocals', 'drums'] (empty: every stem)")
    remove: list[str] = Field(default_factory=list, max_length=16,
                              description="Stems left out of the main file (['vocals']: an instrumental)")
    provider: Provider = Field("auto", description="Which provider runs it; auto picks the best available")
    seed: Seed | None = Field(None, description="Seed for a reproducible take")
    budget_usd: float | None = Field(None, ge=0, description="Refuse plans that cost more than this")


class LayerRequest(_AudioArg):
    audio: str = Field(description="Track to add a part to: a path in an allowed dir")
    track: str = Field(min_length=1, max_length=40,
                       description="The part: drums, bass, strings, sax, guitar, keyboard, synth, vocals "
                                   "(with lyrics), or 'backing' (accompaniment for a vocal or solo)")
    lyrics: str | None = Field(None, max_length=MAX_TEXT, description="Lyrics to sing (track 'vocals')")
    tags: str | None = Field(None, max_length=2000, description="Style of the new part")
    provider: Provider = Field("auto", description="Which provider runs it")
    seed: Seed | None = Field(None, description="Seed for a reproducible take")
    budget_usd: float | None = Field(None, ge=0, description="Refuse plans that cost more than this")


class RunRequest(ModelInput):
    model: str = Field(min_length=1, max_length=200, description="Catalog model id (see the models tool)")
    input: dict[str, Any] = Field(description="The model's input object, as `aimusic models show ID` lists it")


class AnalyzeRequest(_AudioArg):
    audio: str = Field(description="Audio file to measure: a path in an allowed dir")


class FinishRequest(_AudioArg):
    audio: str = Field(description="Audio file to finish: a path in an allowed dir")
    preset: Preset = Field("streaming", description="Loudness preset: streaming -14 LUFS, broadcast -23, podcast -16")
    loudness: float | None = Field(None, ge=-70, le=0, description="Target integrated loudness in LUFS (overrides preset)")
    true_peak: float | None = Field(None, ge=-20, le=0, description="True-peak ceiling in dBTP")
    fade_in: float | None = Field(None, ge=0, le=600, description="Fade-in seconds")
    fade_out: float | None = Field(None, ge=0, le=600, description="Fade-out seconds")
    trim_silence: bool = Field(False, description="Trim leading/trailing silence")
    loop: bool = Field(False, description="Make it loop seamlessly")
    length: float | None = Field(None, gt=0, le=3600, description="Exact length in seconds")
    format: Literal["wav", "flac", "mp3", "ogg"] | None = Field(None, description="Output format")


class ReplayRequest(ModelInput):
    sidecar: str = Field(min_length=1, max_length=4096,
                         description="A take's sidecar JSON (a path in an allowed dir): re-run what it records")
    provider: Provider | None = Field(None, description="Run on this provider instead of the recorded one")

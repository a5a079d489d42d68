"""Typed, validated requests: one pydantic model per task.

Canonical JSON field names are RunComfy's, so the same input works for a
hosted model and its local equivalent. Each catalog model has its own input
class (a subclass of a task base here) with `extra="forbid"`: an unknown
field is an error, and the JSON schema comes from the class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from aimusic.errors import InputError

TASKS = ("generate", "inpaint", "outpaint", "remix", "video", "separate", "layer")

SEED_MAX = 2**31 - 1
Seed = Annotated[int, Field(ge=-1, le=SEED_MAX, description="-1 picks a random seed, which is recorded")]
MAX_TEXT = 20_000  # no model takes more lyrics than this; a huge string is a mistake, not a song


class ModelInput(BaseModel):
    """Base of every model input: strict about unknown fields and NaN/inf."""

    # defer_build: a model's validator and serializer are built on first use, not at import, so
    # a command that touches a few of the catalog's ~25 input classes pays for those alone
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=True, defer_build=True)

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, value: Any, info: ValidationInfo) -> Any:
        """JSON `true` is not the number 1: a boolean reaches only fields that take one."""
        if isinstance(value, bool) and info.field_name and not _takes_bool(cls, info.field_name):
            raise ValueError(f"must not be {str(value).lower()} (a boolean is not a value of this field)")
        return value


def _takes_bool(cls: type[BaseModel], name: str) -> bool:
    import typing

    info = cls.model_fields.get(name)
    if info is None:
        return True
    pending = [info.annotation]
    while pending:
        annotation = pending.pop()
        if annotation is bool or annotation is Any or annotation is object:
            return True
        if typing.get_origin(annotation) is typing.Literal:
            if any(isinstance(a, bool) for a in typing.get_args(annotation)):
                return True
            continue
        pending.extend(a for a in typing.get_args(annotation) if not isinstance(a, (str, int, float)))
    return False


def audio_reference(value: Any) -> str:
    """`audio` is a local path or an https URL; plain http is refused (untrusted transport)."""
    if not isinstance(value, str):
        raise ValueError("must be a file path or an https URL")
    text = value.strip()
    if not text:
        raise ValueError("must not be empty")
    if len(text) > 4096 or "\x00" in text:
        raise ValueError("is not a valid path or URL")
    if "://" in text and not text.lower().startswith("https://"):
        raise ValueError("URLs must use https://")
    return text


def is_url(reference: str) -> bool:
    return reference.lower().startswith("https://")


class TagsLyricsMixin(ModelInput):
    tags: str = Field(min_length=1, max_length=2000,
                      description="Comma-separated style: genre, mood, instruments, vocal type, '120 BPM'")
    lyrics: str = Field("", max_length=MAX_TEXT,
                        description="Lyrics with section markers ([Verse], [Chorus], ...); '[inst]' for instrumental")

    @field_validator("tags")
    @classmethod
    def _tags_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class GenerateInput(TagsLyricsMixin):
    """Text to audio (ACE-Step shape)."""

    duration: int = Field(60, ge=5, le=240, description="Length in seconds")
    seed: Seed = -1


class PromptMusicInput(ModelInput):
    """Text to audio in ElevenLabs' shape: one prompt holding brief and lyrics."""

    prompt: str = Field(min_length=1, max_length=MAX_TEXT,
                        description="Style brief and lyrics with inline section markers")
    music_length_ms: int = Field(40000, ge=5000, le=300000, description="Length in milliseconds")
    force_instrumental: bool = Field(False, description="No vocals")
    output_format: Literal["mp3_standard", "mp3_high_quality", "wav_16khz", "wav_22khz",
                           "wav_24khz", "wav_cd_quality"] = "mp3_standard"


class AudioSourceMixin(ModelInput):
    audio: str = Field(description="Source audio: a local path or an https URL (MP3/WAV/FLAC)")

    @field_validator("audio", mode="before")
    @classmethod
    def _audio_reference(cls, value: Any) -> str:
        return audio_reference(value)


Anchor = Literal["start", "end"]


class InpaintInput(AudioSourceMixin, TagsLyricsMixin):
    """Repaint a time window of a track; each bound measured from the track's start or end."""

    start_time: float = Field(0, ge=0, le=240, description="Window start in seconds")
    end_time: float = Field(30, ge=0, le=240, description="Window end in seconds")
    start_time_relative_to: Anchor = "start"
    end_time_relative_to: Anchor = "start"
    seed: Seed = -1


class OutpaintInput(AudioSourceMixin, TagsLyricsMixin):
    """Extend a track before and/or after."""

    extend_before_duration: float = Field(0, ge=0, le=240, description="Seconds to add before")
    extend_after_duration: float = Field(30, ge=0, le=240, description="Seconds to add after")
    seed: Seed = -1


class RemixInput(AudioSourceMixin, TagsLyricsMixin):
    """Audio to audio: re-render a source in a new style."""

    strength: float = Field(0.5, ge=0, le=1,
                            description="0 keeps the source, 1 ignores it (ComfyUI's denoise)")
    seed: Seed = -1


class VideoMusicInput(ModelInput):
    """Music for a video (ElevenLabs `video-to-music`): the video is uploaded, the music follows it."""

    video: str = Field(description="The video: a local file path (MP4, MOV, WebM, ...)")
    description: str = Field("", max_length=4100, description="What the music should be, in words")
    tags: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=10, description="Up to 10 style tags, e.g. ['upbeat', 'cinematic']")
    add_sfx: bool = Field(False, description="Add sound effects cued from the video")
    separate_tracks: bool = Field(False, description="Deliver music and SFX as separate tracks")
    output_format: Literal["mp3_standard", "mp3_high_quality"] = "mp3_standard"

    @field_validator("video", mode="before")
    @classmethod
    def _video_reference(cls, value: Any) -> str:
        text = audio_reference(value)
        if is_url(text):
            raise ValueError("must be a local file (the video is uploaded)")
        return text


StemName = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]


class SeparateInput(AudioSourceMixin):
    """Split a track into stems: `<name>.<stem>.<ext>` for each stem, and `<name>.<ext>` holding
    the stems not in `remove` (e.g. `remove: ["vocals"]` is an instrumental version)."""

    stems: list[StemName] = Field(default_factory=list, max_length=16,
                                  description="Stems to write (empty: every stem the provider makes)")
    remove: list[StemName] = Field(default_factory=list, max_length=16,
                                   description="Stems left out of the main file (['vocals']: an instrumental)")
    seed: Seed = -1

    def stem_names(self) -> tuple[str, ...]:
        """The stems this model makes (a provider's input class names them; empty: any)."""
        return ()

    @model_validator(mode="after")
    def _known_stems(self) -> SeparateInput:
        names = self.stem_names()
        for field_name in ("stems", "remove"):
            unknown = [s for s in getattr(self, field_name) if names and s not in names]
            if unknown:
                raise PydanticCustomError("unknown_stem", "{field}: no stem '{stem}' here: this model makes {names}",
                                          {"field": field_name, "stem": unknown[0], "names": ", ".join(names)})
        if self.remove and set(self.remove) >= set(names or self.remove) and not self.stems:
            raise PydanticCustomError("nothing_left", "remove: every stem is removed: nothing is left for the mix",
                                      {})
        return self


class LayerInput(AudioSourceMixin, TagsLyricsMixin):
    """Add a part to a track: `<name>.<ext>` is the new mix, `<name>.<track>.<ext>` the part alone.
    `track: "backing"` composes an accompaniment (drums, bass, chords) for a vocal or solo."""

    track: StemName = Field(description="The part to add: drums, bass, vocals, strings, guitar, keyboard, "
                                        "synth, brass, woodwinds, ... or 'backing' (accompaniment)")
    tags: str = Field("", max_length=2000, description="Style of the new part (default: the source's)")
    gain_db: float = Field(0.0, ge=-24, le=12, description="Level of the new part against the source")
    seed: Seed = -1

    @field_validator("tags")
    @classmethod
    def _tags_not_blank(cls, value: str) -> str:  # a layer may take its style from the source
        return value

    def track_names(self) -> tuple[str, ...]:
        """The parts this model can add (a provider's input class names them; empty: any)."""
        return ()

    @model_validator(mode="after")
    def _known_track(self) -> LayerInput:
        names = self.track_names()
        if names and self.track not in names:
            raise PydanticCustomError("unknown_track", "track: this model cannot add '{track}': it adds {names}",
                                      {"track": self.track, "names": ", ".join(names)})
        return self


def resolve_window(start: float, start_anchor: str, end: float, end_anchor: str,
                   source_seconds: float) -> tuple[float, float]:
    """Absolute (start, end) seconds of an inpaint window; InputError if impossible."""
    abs_start = start if start_anchor == "start" else source_seconds - start
    abs_end = end if end_anchor == "start" else source_seconds - end
    if abs_end <= abs_start:
        raise InputError(f"the window ends ({abs_end:.2f} s) before it starts ({abs_start:.2f} s)",
                         field="end_time", hint="give an end_time after start_time")
    if abs_start < 0 or abs_end > source_seconds + 1e-6:
        raise InputError(f"the window {abs_start:.2f}-{abs_end:.2f} s lies outside the "
                         f"{source_seconds:.2f} s track", field="end_time",
                         hint="keep the window inside the track, or use outpaint to extend it")
    return abs_start, abs_end


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "input"


_RANGE_ERRORS = {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}


def field_range(model_cls: type[BaseModel], name: str) -> tuple[Any, Any] | None:
    """(low, high) bounds declared on a field, for messages like 'must be between 5 and 240'."""
    info = model_cls.model_fields.get(name)
    if info is None:
        return None
    low = high = None
    for item in info.metadata:
        low = getattr(item, "ge", None) if getattr(item, "ge", None) is not None else low
        low = getattr(item, "gt", None) if getattr(item, "gt", None) is not None else low
        high = getattr(item, "le", None) if getattr(item, "le", None) is not None else high
        high = getattr(item, "lt", None) if getattr(item, "lt", None) is not None else high
    return (low, high) if low is not None or high is not None else None


def validation_details(error: ValidationError, model_cls: type[BaseModel] | None = None) -> list[dict[str, Any]]:
    details = []
    for item in error.errors(include_url=False):
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field"
            if model_cls is not None:
                import difflib

                close = difflib.get_close_matches(str(item["loc"][-1]), list(model_cls.model_fields), n=1)
                if close:
                    message += f" (did you mean {close[0]!r}?)"
        elif item["type"] == "missing":
            message = "required field is missing"
        elif item["type"] in _RANGE_ERRORS and model_cls is not None and len(item["loc"]) == 1:
            bounds = field_range(model_cls, str(item["loc"][0]))
            if bounds:
                low, high = bounds
                shown = repr(item.get("input"))[:40]
                message = f"{shown} is out of range: must be between {low} and {high}"
        details.append({"field": _field_path(item["loc"]), "message": message})
    return details


def read_text_file(path: str | Path, field: str, what: str = "file", limit: int | None = None) -> str:
    """A UTF-8 text file a user pointed at (lyrics, input JSON, batch file); InputFileError (66)
    naming `field` when it is missing, a directory, not a regular file (a FIFO, a device) or
    unreadable, InputError (65) if not UTF-8 or over `limit` bytes (default: the text-file cap)."""
    from aimusic.schemas.limits import MAX_TEXT_FILE_BYTES, read_bounded

    data = read_bounded(path, field, what, MAX_TEXT_FILE_BYTES if limit is None else limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{what} {Path(path).expanduser()} is not UTF-8 text", field=field) from None


def parse_input_json(text: str) -> dict[str, Any]:
    """Parse `--input` text (JSON, or @file.json) into a dict; InputError/InputFileError otherwise.
    Sizes are bounded (`aimusic.schemas.limits`): the file, each number's digits, the nesting."""
    from aimusic.schemas.limits import MAX_INPUT_FILE_BYTES, load_json

    if text.startswith("@"):
        text = read_text_file(text[1:], "input", "input file", limit=MAX_INPUT_FILE_BYTES)
    data = load_json(text, "input")
    if not isinstance(data, dict):
        raise InputError(f"input must be a JSON object, not {type(data).__name__}", field="input")
    return data


def validate(model_cls: type[ModelInput], data: dict[str, Any]) -> ModelInput:
    """Validate `data` against a model input class, reporting every violation at once."""
    try:
        return model_cls.model_validate(data)
    except ValidationError as exc:
        details = validation_details(exc, model_cls)
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:10])
        more = f" (+{len(details) - 10} more)" if len(details) > 10 else ""
        raise InputError(f"invalid input: {summary}{more}", field=details[0]["field"],
                         details=details) from None
    except RecursionError:
        raise InputError("invalid input: nested too deeply", field="input") from None

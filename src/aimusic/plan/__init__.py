"""The planner: a request in plain words -> task, model, provider, exact input, cost, reasons.

Pure code: no network and no model. The only I/O is reading the `--audio` file's header
(its length), the `--lyrics` file, the video's header for `--match-video`, and the cheap
availability checks `--provider auto` needs (key presence, local weights present).

    >>> from aimusic.plan import make_plan
    >>> make_plan("premium brand jingle, 10 s", provider="runcomfy").model
    'elevenlabs/elevenlabs/music-generation'
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aimusic.errors import InputError, InputFileError
from aimusic.plan import prompt, providers, route, times
from aimusic.plan.chain import chain_extension
from aimusic.plan.intent import Intent, classify

def __getattr__(name: str) -> Any:
    if name == "PROVIDERS":  # kept for old callers: the registry's names (plugins too), with auto
        from aimusic.plan.providers import provider_choices

        return tuple(provider_choices())
    raise AttributeError(name)
OVERRIDE_KEYS = ("tags", "lyrics", "duration", "seed", "instrumental", "model", "language")
SHORT_PIECES = ("sonic logo", "stinger", "jingle", "logo", "sting", "notification", "ident")
VARIATION_MOODS = ("warm", "bright", "mellow", "driving", "dreamy", "uplifting", "laid-back", "moody",
                   "playful", "cinematic")
VARIATION_COLOURS = ("piano", "guitar", "synth pads", "strings", "rhodes", "bells", "bass groove",
                     "percussion", "marimba", "brass")


@dataclass
class Step:
    index: int
    task: str
    model: str
    provider: str
    input: dict[str, Any]
    estimated_cost_usd: float
    note: str = ""
    count: int = 1
    source: str | None = None          # where this step's audio comes from
    context_seconds: float | None = None
    join: str | None = None            # "append" | "prepend": how the result joins the previous one
    variations: list[str] = field(default_factory=list)   # tags per take when count > 1

    def to_dict(self) -> dict[str, Any]:
        body = {"step": self.index, "task": self.task, "model": self.model, "provider": self.provider,
                "input": self.input, "estimated_cost_usd": self.estimated_cost_usd, "count": self.count,
                "note": self.note}
        if self.source is not None:
            body.update(source=self.source, context_seconds=self.context_seconds, join=self.join)
        if self.variations:
            body["variations"] = self.variations
        return body


@dataclass
class Plan:
    request: str
    task: str
    model: str
    provider: str
    input: dict[str, Any]
    estimated_cost_usd: float
    reasons: list[str]
    steps: list[Step]
    warnings: list[str] = field(default_factory=list)
    language: str = "en"
    languages: list[str] = field(default_factory=list)
    count: int = 1
    source_seconds: float | None = None
    budget_usd: float | None = None
    intent: dict[str, Any] = field(default_factory=dict)

    @property
    def command(self) -> str:
        return run_command(self.steps[0])

    def to_dict(self) -> dict[str, Any]:
        return {
            "request": self.request, "task": self.task, "model": self.model, "provider": self.provider,
            "input": self.input, "estimated_cost_usd": self.estimated_cost_usd,
            "per_take_cost_usd": self.steps[0].estimated_cost_usd, "count": self.count,
            "budget_usd": self.budget_usd, "language": self.language, "languages": self.languages,
            "source_seconds": self.source_seconds, "reasons": self.reasons, "warnings": self.warnings,
            "command": self.command, "commands": [run_command(s) for s in self.steps],
            "steps": [s.to_dict() for s in self.steps], "intent": self.intent,
        }


def run_command(step: Step) -> str:
    """The equivalent `aimusic run` command line (shell-quoted: prompt text is data)."""
    data = json.dumps(step.input, ensure_ascii=False, separators=(",", ":"))
    return f"aimusic run {step.model} --provider {step.provider} --input {shlex.quote(data)}"


# ---- inputs from files -----------------------------------------------------------------------------

def audio_seconds(audio: str) -> float | None:
    """Length of a local source file from its header (no decoding); None for URLs. 66/65 on errors."""
    from aimusic.schemas import is_url

    if is_url(audio):
        return None
    path = Path(audio).expanduser()
    if not path.exists():
        raise InputFileError(f"audio file not found: {path}", field="audio")
    if path.is_dir():
        raise InputFileError(f"{path} is a directory, not an audio file", field="audio")
    if path.suffix.lower() == ".wav":
        # The stdlib reads a PCM WAV header without importing numpy/soundfile (~80 ms): plans stay fast.
        import wave

        try:
            with wave.open(str(path), "rb") as handle:
                frames, rate = handle.getnframes(), handle.getframerate()
            if frames > 0 and rate > 0:
                return frames / rate
        except (wave.Error, EOFError, OSError):
            pass  # float WAV, WAVE_FORMAT_EXTENSIBLE, damaged: soundfile decides below
    try:
        import soundfile

        info = soundfile.info(str(path))
        if info.frames <= 0 or info.samplerate <= 0:
            raise InputError(f"{path} holds no audio", field="audio")
        return info.frames / info.samplerate
    except InputError:
        raise
    except (RuntimeError, OSError, ValueError):
        pass
    try:  # formats soundfile cannot read (AAC/M4A, video containers)
        from aimusic.plan.video import media_duration

        return media_duration(path)
    except InputError:
        raise InputError(f"{path} is not a readable audio file", field="audio",
                         hint="use WAV, FLAC, MP3 or OGG") from None


def video_seconds(video: str) -> float:
    from aimusic.audio.video import video_duration  # PyAV, header first; 66/65 for bad files

    return float(video_duration(video))


# ---- the planner -----------------------------------------------------------------------------------

def _clean_overrides(overrides: dict[str, Any] | None) -> dict[str, Any]:
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = set(overrides) - set(OVERRIDE_KEYS)
    if unknown:
        raise InputError(f"unknown override(s): {', '.join(sorted(unknown))}", field="overrides",
                         hint=f"use {', '.join(OVERRIDE_KEYS)}")
    return overrides


def _language_code(value: str) -> str:
    """An ISO 639-1 code (or a language name) the catalog's models know; InputError otherwise."""
    from aimusic.catalog import all_models
    from aimusic.plan.intent import LANGUAGE_NAMES

    text = value.strip().lower()
    text = LANGUAGE_NAMES.get(text, text)
    known = {code for model in all_models() for code in model.languages} | set(LANGUAGE_NAMES.values())
    known.discard("unknown")
    if text not in known:
        raise InputError(f"unknown language {value!r}", field="language",
                         hint="give an ISO 639-1 code such as en, es, de, fr, zh, ja, ko (or a name: spanish)")
    return text


def _default_seconds(intent: Intent, instrumental: bool, reasons: list[str]) -> float:
    if any(word in intent.text for word in SHORT_PIECES):
        reasons.append("a jingle/sonic logo with no length given: 10 s")
        return 10.0
    if intent.game_loop or "loop" in intent.text:
        reasons.append("a loop with no length given: 90 s (game loops run 60-120 s)")
        return 90.0
    if not instrumental and ("song" in intent.text or intent.vocal_words):
        reasons.append("a song with no length given: 120 s")
        return 120.0
    return 60.0


def _source_from_text(intent: Intent) -> float | None:
    """'I have a 30 s hook' -> 30 (used when no local file tells the length)."""
    match = re.search(rf"\b(?:have|got|my|this|a)\s+(?:an?\s+)?(?P<t>{times.TIME})\s*(?:long\s+)?"
                      r"(?:hook|track|song|loop|clip|piece|demo|intro|riff|jingle|idea|sketch)", intent.text)
    return times.time_to_seconds(match.group("t")) if match else None


def _variation_tags(tags: str, count: int) -> list[str]:
    """Varied tag combos for a batch: the same core, one mood and one colour rotated per take."""
    out = []
    for i in range(count):
        mood = VARIATION_MOODS[i % len(VARIATION_MOODS)]
        colour = VARIATION_COLOURS[(i // len(VARIATION_MOODS) + i) % len(VARIATION_COLOURS)]
        extra = [t for t in (mood, colour) if t not in tags]
        out.append(", ".join([tags, *extra]))
    return out


def _section_window(intent: Intent, lyrics: str | None, source_seconds: float | None
                    ) -> tuple[times.Window, Any] | None:
    """Estimate where a named section sits from the lyrics' line positions (an estimate, said so)."""
    if not lyrics or source_seconds is None or not intent.section:
        return None
    from aimusic.lyrics import parse_sections

    sections = parse_sections(lyrics)
    weights = [max(len(s.lines), 2) for s in sections]
    total = sum(weights)
    matches = [i for i, s in enumerate(sections) if s.kind.replace("prechorus", "pre-chorus") == intent.section]
    if not matches or not total:
        return None
    ordinal = intent.section_ordinal or 1
    pick = matches[-1] if ordinal == -1 else matches[min(ordinal, len(matches)) - 1]
    start = sum(weights[:pick]) / total * source_seconds
    end = sum(weights[:pick + 1]) / total * source_seconds
    start, end = max(0.0, round(start - 2.0, 2)), min(source_seconds, round(end + 2.0, 2))
    return times.Window(start, end, text=f"section [{sections[pick].name}]"), sections[pick]


def make_plan(request: str, audio: str | None = None, lyrics: str | None = None, provider: str = "auto",
              budget_usd: float | None = None, overrides: dict[str, Any] | None = None,
              video: str | None = None) -> Plan:
    """Plan one request. Raises InputError (65) for an empty request, an edit without audio, an
    impossible window or a plan over budget; UsageError (64) for a provider that cannot do the task."""
    request = (request or "").strip()
    if not request:
        raise InputError("the request is empty", field="request",
                         hint='describe the music, e.g. aimusic plan "chill lofi, 80 BPM, 30 seconds"')
    providers.check_provider(provider)
    if budget_usd is not None and budget_usd < 0:
        raise InputError("the budget must be 0 or more", field="budget")
    over = _clean_overrides(overrides)
    if "duration" in over:
        try:
            over["duration"] = float(over["duration"])
        except (TypeError, ValueError):
            raise InputError(f"duration must be a number of seconds, not {over['duration']!r}",
                             field="duration") from None
        if not over["duration"] > 0 or over["duration"] != over["duration"] or over["duration"] == float("inf"):
            raise InputError(f"duration must be more than 0 seconds, not {over['duration']:g}", field="duration",
                             hint="e.g. --duration 30")
    if "language" in over:
        over["language"] = _language_code(str(over["language"]))
    if "lyrics" in over:
        lyrics = over["lyrics"]
    reasons: list[str] = []
    warnings: list[str] = []
    intent = classify(request, has_audio=bool(audio))

    # -- explicit model: its task wins
    forced_model = None
    if "model" in over:
        from aimusic.catalog import get_model

        forced_model = get_model(over["model"])
        if forced_model.task != "generate" and not audio:
            raise InputError(f"{forced_model.id} edits a track: pass it with --audio PATH_OR_URL", field="audio")
        if forced_model.task == "generate" and audio is None:
            intent.edit = False

    # -- task (decision step 1 and 5)
    source_seconds = audio_seconds(audio) if audio else None
    task = _choose_task(intent, audio, forced_model, reasons)

    # -- vocals and languages
    # An edit of a track whose vocals we know nothing about keeps the model's default (empty
    # lyrics, no vocal/instrumental tag) rather than forcing '[inst]' into a sung song.
    vocals_unknown = (task != "generate" and not (lyrics or "").strip() and "instrumental" not in over
                      and not intent.instrumental_words and not intent.vocal_words)
    instrumental = False if vocals_unknown else _instrumental(intent, lyrics, over, reasons)
    if vocals_unknown:
        reasons.append("edit with no lyrics and no vocal words: empty lyrics (the model follows the track)")
    languages: list[str] = []
    song_language = "en"
    if lyrics and not instrumental:
        from aimusic.lyrics import check_lyrics, detect_song_language, languages_used

        languages = languages_used(lyrics)
        song_language = detect_song_language(lyrics)
        warnings.extend(f"lyrics: {w}" for w in check_lyrics(lyrics))
        if song_language != "en":
            reasons.append(f"lyrics detected as {song_language}"
                           + (f" (lines in {', '.join(languages)})" if len(languages) > 1 else ""))
    named = [code for code in intent.languages]
    if "language" in over:
        song_language = str(over["language"]).lower()
        reasons.append(f"--language {song_language}")
    elif not lyrics and named:
        song_language = next((c for c in named if c != "en"), named[0])
    all_languages = list(dict.fromkeys(languages + named))

    # -- length
    seconds = float(over["duration"]) if "duration" in over else None
    if seconds is None and video:
        seconds = round(video_seconds(video), 3)
        reasons.append(f"length matched to the video: {seconds:g} s")
    if seconds is None and intent.duration:
        seconds = intent.duration[0]
        reasons.append(f"length {seconds:g} s from '{intent.duration[1]}'")
    if seconds is None and task == "generate":
        seconds = _default_seconds(intent, instrumental, reasons)

    # -- family and model
    family = route.BASE
    if task == "generate":
        family = route.choose_family(intent, song_language=song_language, languages=all_languages,
                                     budget_usd=budget_usd, seconds=seconds or 60.0, reasons=reasons,
                                     lyric_languages=languages)
    if forced_model is not None:
        model = forced_model
        chosen = providers.provider_for_model(model, provider)
        reasons.append(f"--model {model.id} (provider {chosen})")
    else:
        model, chosen = providers.choose_provider(family, task, provider, reasons,
                                              premium_intent=intent.premium and not intent.draft_then_polish)
    if provider == "runcomfy" and model.id not in route.HOSTED.values():
        raise InputError(f"{model.id} is not a hosted model", field="model")  # a routing bug guard

    # -- input fields
    tags = over.get("tags") or prompt.build_tags(intent, instrumental=instrumental, vocals_unknown=vocals_unknown)
    if not instrumental and not vocals_unknown and not (lyrics or "").strip() and "prompt" not in \
            model.input_model.model_fields:
        warnings.append("vocals without lyrics: ACE-Step then sings vague syllables; pass --lyrics "
                        "(with [Verse]/[Chorus] markers)")
    if task != "generate" and "tags" not in over and tags.startswith(prompt.EDIT_FALLBACK_TAGS):
        warnings.append("no style words in the request: pass --tags describing the song (genre, "
                        "instruments, BPM) so the new part matches it")
    count = intent.count[0] if intent.count and task == "generate" else 1
    if count > 1:
        reasons.append(f"batch of {count} ('{intent.count[1]}'): varied tag combos, one take each")
    steps: list[Step] = []
    if task == "generate":
        steps = _generate_steps(intent, model, chosen, tags, lyrics, instrumental, seconds or 60.0,
                                song_language, over, count, reasons, warnings,
                                strict=provider != "auto" or forced_model is not None)
        if intent.draft_then_polish and forced_model is None:
            steps += _polish_step(intent, tags, lyrics, instrumental, seconds or 60.0, provider, len(steps),
                                  reasons)
        multi = [c for c in intent.languages if c != "en"] if len(intent.languages) > 1 else []
        n_languages = max(len(intent.languages), intent.language_count or 0)
        if n_languages > 1 and forced_model is None:
            steps = _per_language(steps[0], intent.languages, n_languages, model, reasons)
            del multi
    elif task == "inpaint":
        steps = [_inpaint_step(intent, model, chosen, tags, lyrics, instrumental, source_seconds, audio or "",
                               reasons, warnings)]
    elif task == "outpaint":
        steps = _outpaint_steps(intent, model, chosen, tags, lyrics, instrumental, source_seconds, audio or "",
                                reasons, warnings)
    else:
        steps = [_remix_step(intent, model, tags, lyrics, instrumental, audio or "", source_seconds, chosen,
                             reasons)]
    for step in steps:
        if "seed" in over and "seed" in _fields(step.model):
            step.input["seed"] = int(over["seed"])
        _validate(step)
    total = round(sum(s.estimated_cost_usd * s.count for s in steps), 6)
    from aimusic.catalog import get_model

    for model_id in dict.fromkeys(s.model for s in steps):
        entry = get_model(model_id)
        if not entry.price_published and entry.price_per_second:
            warnings.append(f"{model_id} has no published price: estimated at ${entry.price_per_second:g}/s "
                            "(the provider's catalog decides at run time)")
    if source_seconds is None and audio and task != "generate":
        warnings.append("the source is a URL: its length is unknown, so the cost covers the new material only")
    plan = Plan(request=request, task=task, model=steps[0].model, provider=steps[0].provider,
                input=steps[0].input, estimated_cost_usd=total, reasons=reasons, steps=steps,
                warnings=warnings, language=song_language, languages=all_languages, count=count,
                source_seconds=source_seconds, budget_usd=budget_usd, intent=_intent_summary(intent))
    if budget_usd is not None and total > budget_usd + 1e-9:
        raise InputError(f"the plan costs ${total:.4f}, over the ${budget_usd:g} budget", field="budget",
                         hint="raise --budget, ask for fewer or shorter takes, or say 'draft' for ACE base "
                              "(or --provider sketch, free)", details=[{"field": "estimated_cost_usd",
                                                                       "message": f"{total:.6f}"}])
    if budget_usd is not None:
        reasons.append(f"within budget: ${total:.4f} of ${budget_usd:g}")
    return plan


def _choose_task(intent: Intent, audio: str | None, forced_model: Any, reasons: list[str]) -> str:
    if forced_model is not None:
        return forced_model.task
    if not intent.edit:
        reasons.append("no source audio and no edit words -> generate from scratch (decision step 1)")
        return "generate"
    words = intent.edit_words or ([intent.window.text] if intent.window else [])
    if not audio:
        raise InputError("this request edits an existing track, but no track was given", field="audio",
                         hint="pass it with --audio PATH_OR_URL (or drop the edit words to generate anew)")
    has_extension = intent.extension is not None and (
        intent.window is None or bool({"extend", "longer", "lengthen", "continue", "add a", "i have a", "append", "prepend"}
                                      & set(intent.edit_words)))
    if has_extension:
        reasons.append(f"edit: add material ('{intent.extension.text}') -> outpaint (decision step 5)")
        return "outpaint"
    if intent.window is not None:
        reasons.append(f"edit: rewrite the time range '{intent.window.text}' -> inpaint (decision step 5)")
        return "inpaint"
    if intent.mask_words:
        raise InputError(f"a mask-based edit ({', '.join(intent.mask_words[:2])}) is not available",
                         field="request", hint="reformulate it as a time range, e.g. 'redo 0:40 to 0:55 "
                         "with no vocals', or regenerate with adjusted tags")
    if intent.remix_words:
        reasons.append(f"edit: re-render the whole track ({_q(intent.remix_words)}) -> remix")
        return "remix"
    if intent.section:
        reasons.append(f"edit: fix the {intent.section} ({_q(words)}) -> inpaint around it (decision step 5)")
        return "inpaint"
    raise InputError("cannot tell what to change in the track", field="request",
                     hint="name a time range ('redo 1:05 to 1:25', 'the last 15 seconds') or an extension "
                          "('add a 20 second intro', 'one more minute at the end')")


def _q(words: list[str]) -> str:
    return ", ".join(f"'{w}'" for w in words[:4])


def _instrumental(intent: Intent, lyrics: str | None, over: dict[str, Any], reasons: list[str]) -> bool:
    if "instrumental" in over:
        reasons.append(f"--instrumental {bool(over['instrumental'])}".lower())
        return bool(over["instrumental"])
    if lyrics is not None and lyrics.strip():
        from aimusic.lyrics import is_instrumental

        if is_instrumental(lyrics):
            reasons.append("lyrics are '[inst]': instrumental")
            return True
        reasons.append("lyrics given: vocal")
        return False
    if "language" in over:
        reasons.append(f"--language {over['language']}: a song with vocals")
        return False
    if intent.multilingual and not intent.instrumental_words:
        reasons.append("languages named: a song with vocals")
        return False
    if intent.vocal_words and not {"instrumental", "no vocals", "no vocal", "without vocals", "no singing",
                                   "no voice", "no lyrics"} & set(intent.instrumental_words):
        reasons.append(f"vocal ({_q(intent.vocal_words)}), no lyrics given: the model writes or hums its own")
        return False
    reasons.append("instrumental" + (f" ({_q(intent.instrumental_words)})" if intent.instrumental_words
                                     else ": no lyrics and no vocal words"))
    return True


def _fields(model_id: str) -> set[str]:
    from aimusic.catalog import get_model

    return set(get_model(model_id).input_model.model_fields)


def _lyrics_for(model: Any, lyrics: str | None, instrumental: bool, song_language: str,
                reasons: list[str]) -> str:
    text = prompt.ace_lyrics(lyrics, instrumental=instrumental)
    if text and not instrumental and route.is_v1_style(model) and song_language != "en":
        from aimusic.lyrics import romanize_for_v1

        text = romanize_for_v1(text)
        reasons.append(f"{model.id} is ACE-Step v1-style: lyrics romanised with [xx] line prefixes")
    return text


def _cost(model_id: str, data: dict[str, Any], source_seconds: float | None = None) -> float:
    from aimusic.api import estimate_cost
    from aimusic.catalog import get_model

    return estimate_cost(get_model(model_id), data, source_seconds)


def _generate_input(intent: Intent, model: Any, tags: str, lyrics: str | None, instrumental: bool,
                    seconds: float, song_language: str, reasons: list[str]) -> dict[str, Any]:
    fields = set(model.input_model.model_fields)
    if "prompt" in fields:  # ElevenLabs: one prompt with brief, style and inline markers
        text = prompt.elevenlabs_prompt(intent, tags, lyrics, instrumental=instrumental, seconds=seconds)
        return {"prompt": text, "music_length_ms": int(round(seconds * 1000)),
                "force_instrumental": bool(instrumental)}
    data: dict[str, Any] = {"tags": tags, "lyrics": _lyrics_for(model, lyrics, instrumental, song_language, reasons)}
    duration_field = model.input_model.model_fields.get("duration")
    whole = duration_field is not None and duration_field.annotation is int
    data["duration"] = int(round(seconds)) if whole else seconds
    if "vocal_language" in fields and not instrumental and song_language != "en":
        data["vocal_language"] = song_language
    if "bpm" in fields and intent.bpm:
        data["bpm"] = intent.bpm
    if "loop" in fields and (intent.game_loop or "seamless" in intent.text):
        data["loop"] = True
    return data


def _clamp(seconds: float, model: Any, warnings: list[str], explicit: bool = False) -> float:
    if seconds < model.min_seconds and explicit:
        raise InputError(f"{seconds:g} s is shorter than {model.id} can make ({model.min_seconds:g} s at least)",
                         field="duration", hint=f"ask for {model.min_seconds:g} s or more, or use --provider "
                                                "sketch (1 s minimum)")
    if seconds < model.min_seconds:
        warnings.append(f"{seconds:g} s is under {model.id}'s minimum: {model.min_seconds:g} s")
        return float(model.min_seconds)
    return seconds


def _generate_steps(intent: Intent, model: Any, provider: str, tags: str, lyrics: str | None,
                    instrumental: bool, seconds: float, song_language: str, over: dict[str, Any], count: int,
                    reasons: list[str], warnings: list[str], strict: bool = True) -> list[Step]:
    # An explicit --duration the chosen model cannot make is an error when the user chose the
    # provider too; under `auto` the planner chose the model, so it stretches to the minimum and says so.
    seconds = _clamp(seconds, model, warnings, explicit="duration" in over and strict)
    first_seconds = min(seconds, model.max_seconds)
    data = _generate_input(intent, model, tags, lyrics, instrumental, first_seconds, song_language, reasons)
    variations = _variation_tags(tags, count) if count > 1 and "tags" in data and "tags" not in over else []
    steps = [Step(1, "generate", model.id, provider, data, _cost(model.id, data), count=count,
                  note=f"{count} takes" if count > 1 else "", variations=variations)]
    if seconds > model.max_seconds + 1e-9:
        outpaint = route.model_for(route.BASE, "outpaint", provider)
        if outpaint is None:
            warnings.append(f"{seconds:g} s is over {model.id}'s limit of {model.max_seconds:g} s and "
                            f"{provider} cannot extend: the take is {model.max_seconds:g} s")
            return steps
        reasons.append(f"{seconds:g} s is over the {model.max_seconds:g} s limit of one call: generate "
                       f"{model.max_seconds:g} s, then extend with {outpaint.id}")
        steps += _extension_steps(outpaint, provider, tags, data.get("lyrics", ""), instrumental,
                                  model.max_seconds, 0.0, seconds - model.max_seconds, "step 1's result",
                                  len(steps), reasons)
    return steps


def _polish_step(intent: Intent, tags: str, lyrics: str | None, instrumental: bool, seconds: float,
                 provider: str, done: int, reasons: list[str]) -> list[Step]:
    candidates: tuple[str, ...] = (provider,)
    if provider == "auto":
        # the provider whose key is set; ElevenLabs (named in the reasons) when neither is
        candidates = tuple(p for p in ("elevenlabs", "runcomfy") if providers.key_present(p)) or ("elevenlabs",)
    for candidate in candidates:
        model = route.model_for(route.PREMIUM, "generate", candidate)
        if model is None:
            continue
        seconds = min(max(seconds, model.min_seconds), model.max_seconds)
        data = _generate_input(intent, model, tags, lyrics, instrumental, seconds, "en", reasons)
        reasons.append(f"final render: {model.id} via {candidate} once the tags are locked")
        return [Step(done + 1, "generate", model.id, candidate, data, _cost(model.id, data),
                     note="final premium render with the locked tags")]
    reasons.append(f"--provider {provider} has no premium model: the polish step is left out")
    return []


def _per_language(step: Step, named: list[str], n_languages: int, model: Any, reasons: list[str]) -> list[Step]:
    from aimusic.catalog import get_model

    codes = list(named) + [f"lang{i}" for i in range(len(named) + 1, n_languages + 1)]
    steps = []
    entry = get_model(step.model)
    shared_seed = None
    if step.input.get("seed", -1) == -1 and "seed" in entry.input_model.model_fields:
        import zlib

        # one concrete seed for every language (derived from the input, so the plan stays a pure
        # function): the same tags + seed give the same arrangement under each language's vocal
        shared_seed = zlib.crc32(repr(sorted(step.input.items())).encode()) % (2 ** 31)
    for index, code in enumerate(codes[:n_languages], 1):
        data = dict(step.input)
        if shared_seed is not None:
            data["seed"] = shared_seed
        if "vocal_language" in entry.input_model.model_fields and not code.startswith("lang"):
            data["vocal_language"] = code
        steps.append(Step(index, step.task, step.model, step.provider, data, step.estimated_cost_usd,
                          note=f"{code}: identical tags, lyrics swapped for this language", count=step.count,
                          variations=step.variations))
    reasons.append(f"{n_languages} languages: one take per language, identical tags, lyrics swapped per "
                   f"language (ElevenLabs instead if quality matters more than cost)")
    return steps


def _inpaint_step(intent: Intent, model: Any, provider: str, tags: str, lyrics: str | None,
                  instrumental: bool, source_seconds: float | None, audio: str, reasons: list[str],
                  warnings: list[str]) -> Step:
    window = intent.window
    section_lyrics = None
    if window is None:
        estimate = _section_window(intent, lyrics, source_seconds)
        if estimate is None:
            what = f"the {intent.section}" if intent.section else "the part to fix"
            raise InputError(f"no time range for {what}", field="request",
                             hint=f"say where it is, e.g. 'fix {what} from 1:05 to 1:25' (or pass --lyrics "
                                  "with section markers so the planner can estimate it)")
        window, section = estimate
        reasons.append(f"window {window.start:g}-{window.end:g} s estimated from the lyrics' [{section.name}] "
                       "position: give exact times for precision")
        warnings.append("the window is an estimate from line counts; check it against the track")
        section_lyrics = f"[{section.name}]\n" + "\n".join(section.lines) if section.lines else None
    start, end, start_anchor, end_anchor = window.start, window.end, window.start_anchor, window.end_anchor
    if source_seconds is not None:
        abs_start, abs_end = window.absolute(source_seconds)
        if abs_end <= abs_start:
            raise InputError(f"the window ends ({abs_end:g} s) before it starts ({abs_start:g} s)", field="request",
                             hint="write the earlier time first, e.g. 'from 1:05 to 1:25'")
        if abs_start < 0 or abs_end > source_seconds + 1e-6:
            raise InputError(f"the window {abs_start:g}-{abs_end:g} s lies outside the {source_seconds:.2f} s track",
                             field="request", hint="keep the window inside the track, or ask to extend it "
                                                   "('add 30 seconds at the end')")
        limit = model.input_model.model_fields["end_time"].metadata
        max_time = next((getattr(m, "le") for m in limit if hasattr(m, "le")), 240)
        if start_anchor == "start" and end_anchor == "start" and abs_end > max_time:
            if source_seconds - abs_start <= max_time:
                start, end = round(source_seconds - abs_start, 3), round(source_seconds - abs_end, 3)
                start_anchor = end_anchor = "end"
                reasons.append(f"times past {max_time:g} s: measured from the track's end instead")
            else:
                raise InputError(f"{model.id} takes times up to {max_time:g} s from either end; "
                                 f"{abs_start:g}-{abs_end:g} s of a {source_seconds:.0f} s track is out of reach",
                                 field="request", hint="use --provider local or sketch for long tracks")
    elif window.end_anchor == window.start_anchor and window.end <= window.start and window.start_anchor == "start":
        raise InputError(f"the window ends ({window.end:g} s) before it starts ({window.start:g} s)", field="request",
                         hint="write the earlier time first, e.g. 'from 1:05 to 1:25'")
    data: dict[str, Any] = {"audio": audio, "tags": tags, "start_time": start, "end_time": end,
                            "start_time_relative_to": start_anchor, "end_time_relative_to": end_anchor}
    lyric_text = section_lyrics if section_lyrics and lyrics else lyrics
    data["lyrics"] = _lyrics_for(model, lyric_text, instrumental, "en" if not lyric_text else _lang(lyric_text),
                                 reasons)
    _local_extras(model, intent, data)
    reasons.append("inpaint tags follow the request's style words so the new part matches the song")
    return Step(1, "inpaint", model.id, provider, data, _cost(model.id, data, source_seconds))


def _lang(lyrics: str) -> str:
    from aimusic.lyrics import detect_song_language

    return detect_song_language(lyrics)


def _local_extras(model: Any, intent: Intent, data: dict[str, Any]) -> None:
    if "bpm" in model.input_model.model_fields and intent.bpm:
        data["bpm"] = intent.bpm


def _outpaint_steps(intent: Intent, model: Any, provider: str, tags: str, lyrics: str | None,
                    instrumental: bool, source_seconds: float | None, audio: str, reasons: list[str],
                    warnings: list[str]) -> list[Step]:
    ext = intent.extension
    assert ext is not None
    before, after = ext.before, ext.after
    source = source_seconds if source_seconds is not None else _source_from_text(intent)
    target_total = ext.target_total
    if ext.target_factor is not None:
        if source is None:
            raise InputError("cannot tell how much to add: the source length is unknown", field="audio",
                             hint="pass a local --audio file, or say how much to add ('add 90 seconds')")
        target_total = round(source * ext.target_factor, 3)
    if target_total is not None:
        if source is None:
            raise InputError("cannot tell how much to add: the source length is unknown", field="audio",
                             hint="pass a local --audio file, or say how much to add ('add 90 seconds')")
        if target_total <= source:
            raise InputError(f"the track is already {source:g} s, not shorter than {target_total:g} s",
                             field="request", hint="ask for a longer total, or trim the track instead")
        before, after = times.split_target(source, target_total)
        reasons.append(f"{source:g} s source to {target_total:g} s: {before:g} s before + {after:g} s after "
                       "(a third before, so the hook sits inside the song)")
    if before <= 0 and after <= 0:
        raise InputError("the extension adds nothing", field="request",
                         hint="say how much to add, e.g. 'add 30 seconds at the end'")
    lyric_text = _lyrics_for(model, lyrics, instrumental, _lang(lyrics) if lyrics else "en", reasons)
    return _extension_steps(model, provider, tags, lyric_text, instrumental, source, before, after, audio, 0,
                            reasons, intent=intent)


def _extension_steps(model: Any, provider: str, tags: str, lyrics: str, instrumental: bool,
                     source: float | None, before: float, after: float, audio: str, done: int,
                     reasons: list[str], intent: Intent | None = None) -> list[Step]:
    max_total = float(model.max_seconds)
    fields = model.input_model.model_fields
    per_field_max = next((getattr(m, "le") for m in fields["extend_after_duration"].metadata if hasattr(m, "le")),
                         max_total)
    if source is None:
        # Unknown length (a URL): split by the per-call field limit only.
        calls = chain_extension(0.0, before, after, per_field_max)
    else:
        calls = chain_extension(source, before, after, max_total)
    steps: list[Step] = []
    for number, (b, a, context, whole, side) in enumerate(calls, done + 1):
        data: dict[str, Any] = {"audio": audio, "tags": tags, "lyrics": lyrics,
                                "extend_before_duration": b, "extend_after_duration": a}
        if intent is not None:
            _local_extras(model, intent, data)
        if number == done + 1 and whole:
            src, join, note = audio, None, ""
        else:
            where = "last" if side == "after" else "first"
            src = f"{where} {context:g} s of step {number - 1}'s result" if number > 1 else f"{where} {context:g} s of the source"
            data["audio"] = f"<{src}>"
            join = "append" if side == "after" else "prepend"
            note = f"extends a {context:g} s context clip; the result is joined to the track ({join})"
        steps.append(Step(number, "outpaint", model.id, provider, data,
                          _cost(model.id, data, context if source is not None else None),
                          note=note, source=src if join else None,
                          context_seconds=context if join else None, join=join))
    if len(calls) > 1:
        reasons.append(f"the result would pass {model.id}'s {max_total:g} s limit: {len(calls)} chained calls")
    return steps


def _remix_step(intent: Intent, model: Any, tags: str, lyrics: str | None, instrumental: bool, audio: str,
                source_seconds: float | None, provider: str, reasons: list[str]) -> Step:
    data: dict[str, Any] = {"audio": audio, "tags": tags,
                            "lyrics": _lyrics_for(model, lyrics, instrumental, "en", reasons)}
    return Step(1, "remix", model.id, provider, data, _cost(model.id, data, source_seconds))


def _validate(step: Step) -> None:
    """The built input must pass the model's own schema (a planner bug otherwise surfaces here)."""
    from aimusic.catalog import get_model
    from aimusic.schemas import validate

    step.input = validate(get_model(step.model).input_model, step.input).to_json_dict()
    for key in [k for k, v in step.input.items() if v is None]:
        del step.input[key]


def _intent_summary(intent: Intent) -> dict[str, Any]:
    return {
        "edit": intent.edit, "premium": intent.premium, "cost_sensitive": intent.cost_sensitive,
        "multilingual": intent.multilingual, "draft_then_polish": intent.draft_then_polish,
        "premium_words": intent.premium_words, "cost_words": intent.cost_words,
        "languages_named": intent.languages, "vocal_words": intent.vocal_words,
        "instrumental_words": intent.instrumental_words,
        "window": None if intent.window is None else {
            "start": intent.window.start, "end": intent.window.end, "start_relative_to": intent.window.start_anchor,
            "end_relative_to": intent.window.end_anchor, "text": intent.window.text},
        "extension": None if intent.extension is None else {
            "before": intent.extension.before, "after": intent.extension.after,
            "target_total": intent.extension.target_total, "text": intent.extension.text},
        "count": intent.count[0] if intent.count else None,
        "section": intent.section,
    }


__all__ = ["Plan", "Step", "make_plan", "run_command", "audio_seconds", "video_seconds"]

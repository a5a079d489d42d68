"""The planner's named decisions, each recording the words that fired it in `reasons`:
the task (decision steps 1 and 5), vocals or instrumental, the length."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aimusic.errors import InputError
from aimusic.plan import prompt, route
from aimusic.plan.intent import Intent

OVERRIDE_KEYS = ("tags", "lyrics", "duration", "seed", "instrumental", "model", "language", "strength")
SHORT_PIECES = ("sonic logo", "stinger", "jingle", "logo", "sting", "notification", "ident")


def clean_overrides(overrides: dict[str, Any] | None) -> dict[str, Any]:
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = set(overrides) - set(OVERRIDE_KEYS)
    if unknown:
        raise InputError(f"unknown override(s): {', '.join(sorted(unknown))}", field="overrides",
                         hint=f"use {', '.join(OVERRIDE_KEYS)}")
    if "duration" in overrides:
        try:
            overrides["duration"] = float(overrides["duration"])
        except (TypeError, ValueError):
            raise InputError(f"duration must be a number of seconds, not {overrides['duration']!r}",
                             field="duration") from None
        value = overrides["duration"]
        if not value > 0 or value != value or value == float("inf"):
            raise InputError(f"duration must be more than 0 seconds, not {value:g}", field="duration",
                             hint="e.g. --duration 30")
    if "language" in overrides:
        overrides["language"] = language_code(str(overrides["language"]))
    if "strength" in overrides:
        value = overrides["strength"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise InputError(f"strength must be a number from 0 to 1, not {value!r}", field="strength",
                             hint="0 keeps the source, 1 ignores it")
        overrides["strength"] = float(value)
    return overrides


def forced_model_of(over: dict[str, Any], intent: Intent, audio: str | None) -> Any:
    """An explicit `--model`: its task wins over the words."""
    if "model" not in over:
        return None
    from aimusic.catalog import get_model

    model = get_model(over["model"])
    if model.task != "generate" and not audio:
        raise InputError(f"{model.id} edits a track: pass it with --audio PATH_OR_URL", field="audio")
    if model.task == "generate" and audio is None:
        intent.edit = False
    return model


def language_code(value: str) -> str:
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


def default_seconds(intent: Intent, instrumental: bool, reasons: list[str]) -> float:
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


def decide_task(intent: Intent, audio: str | None, forced_model: Any, reasons: list[str]) -> str:
    if forced_model is not None:
        return forced_model.task
    if not intent.edit:
        reasons.append("no source audio and no edit words -> generate from scratch (decision step 1)")
        return "generate"
    words = intent.edit_words or ([intent.window.text] if intent.window else [])
    if not audio:
        raise InputError("this request edits an existing track, but no track was given", field="audio",
                         hint="pass it with --audio PATH_OR_URL (or drop the edit words to generate anew)")
    extend_words = [w for w in intent.edit_words if w.split()[0] in (
        "extend", "lengthen", "continue", "add", "append", "prepend", "tack", "make", "twice", "double", "triple")]
    has_extension = intent.extension is not None and (
        intent.window is None or bool(extend_words) or "longer" in intent.text or intent.source_length is not None)
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
        reasons.append(f"edit: re-render the whole track ({quote_words(intent.remix_words)}) -> remix")
        return "remix"
    if intent.section:
        reasons.append(f"edit: fix the {intent.section} ({quote_words(words)}) -> inpaint around it (decision step 5)")
        return "inpaint"
    raise InputError("cannot tell what to change in the track", field="request",
                     hint="name a time range ('redo 1:05 to 1:25', 'the last 15 seconds') or an extension "
                          "('add a 20 second intro', 'one more minute at the end')")


def quote_words(words: list[str]) -> str:
    return ", ".join(f"'{w}'" for w in words[:4])


def decide_instrumental(intent: Intent, lyrics: str | None, over: dict[str, Any], reasons: list[str]) -> bool:
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
        reasons.append(f"vocal ({quote_words(intent.vocal_words)}), no lyrics given: the model writes or hums its own")
        return False
    reasons.append("instrumental" + (f" ({quote_words(intent.instrumental_words)})" if intent.instrumental_words
                                     else ": no lyrics and no vocal words"))
    return True


def intent_summary(intent: Intent) -> dict[str, Any]:
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
        "source_length": None if intent.source_length is None else {
            "seconds": intent.source_length[0], "text": intent.source_length[1]},
        "negated": intent.negated,
        "request_languages": [lang for lang in intent.doc.languages] if intent.doc is not None else [],
        "style": None if intent.style is None else {
            "tags": intent.style.tags, "caption": intent.style.caption,
            "removed": intent.style.removed_dicts(), "genres": intent.style.genres},
    }


def decide_vocals(intent: Intent, task: str, lyrics: str | None, over: dict[str, Any],
                  reasons: list[str]) -> tuple[bool, bool]:
    """(instrumental, vocals unknown). An edit of a track whose vocals we know nothing about keeps
    the model's default (empty lyrics, no vocal/instrumental tag) rather than forcing '[inst]'
    into a sung song."""
    vocals_unknown = (task != "generate" and not (lyrics or "").strip() and "instrumental" not in over
                      and not intent.instrumental_words and not intent.vocal_words)
    if vocals_unknown:
        reasons.append("edit with no lyrics and no vocal words: empty lyrics (the model follows the track)")
        return False, True
    return decide_instrumental(intent, lyrics, over, reasons), False


@dataclass
class Languages:
    song: str = "en"                                      # the language the song is sung in
    lyrics: list[str] = field(default_factory=list)                      # languages of the lyric lines
    all: list[str] = field(default_factory=list)                         # lyrics' and the request's, in order


def decide_languages(intent: Intent, lyrics: str | None, instrumental: bool, over: dict[str, Any],
                     reasons: list[str], warnings: list[str]) -> Languages:
    langs = Languages()
    if lyrics and not instrumental:
        from aimusic.lyrics import check_lyrics, detect_song_language, languages_used

        langs.lyrics = languages_used(lyrics)
        langs.song = detect_song_language(lyrics)
        warnings.extend(f"lyrics: {w}" for w in check_lyrics(lyrics))
        if langs.song != "en":
            reasons.append(f"lyrics detected as {langs.song}"
                           + (f" (lines in {', '.join(langs.lyrics)})" if len(langs.lyrics) > 1 else ""))
    named = list(intent.languages)
    if "language" in over:
        langs.song = str(over["language"]).lower()
        reasons.append(f"--language {langs.song}")
    elif not lyrics and named:
        langs.song = next((c for c in named if c != "en"), named[0])
    langs.all = list(dict.fromkeys(langs.lyrics + named))
    return langs


def decide_length(intent: Intent, task: str, over: dict[str, Any], video: str | None, instrumental: bool,
                  reasons: list[str]) -> float | None:
    """Seconds to make: --duration, else the video's length, else the words, else a default for
    the kind of piece (generate only; edits take their amounts from the window or extension)."""
    if "duration" in over:
        return float(over["duration"])
    if video:
        from aimusic.plan.sources import video_seconds

        seconds = round(video_seconds(video), 3)
        reasons.append(f"length matched to the video: {seconds:g} s")
        return seconds
    if intent.duration:
        reasons.append(f"length {intent.duration[0]:g} s from '{intent.duration[1]}'")
        return intent.duration[0]
    if task == "generate":
        return default_seconds(intent, instrumental, reasons)
    return None


def decide_model(intent: Intent, task: str, langs: Languages, seconds: float | None, forced_model: Any,
                 provider: str, budget_usd: float | None, reasons: list[str]) -> tuple[Any, str]:
    """The family on the cost ladder (decision steps 2-4), then the model and provider."""
    family = route.BASE
    if task == "generate":
        family = route.choose_family(intent, song_language=langs.song, languages=langs.all,
                                     budget_usd=budget_usd, seconds=seconds or 60.0, reasons=reasons,
                                     lyric_languages=langs.lyrics)
    if forced_model is not None:
        from aimusic.plan.providers import provider_for_model

        chosen = provider_for_model(forced_model, provider)
        reasons.append(f"--model {forced_model.id} (provider {chosen})")
        return forced_model, chosen
    from aimusic.plan.providers import choose_provider

    model, chosen = choose_provider(family, task, provider, reasons,
                                    premium_intent=intent.premium and not intent.draft_then_polish)
    if provider == "runcomfy" and model.id not in route.HOSTED.values():
        raise InputError(f"{model.id} is not a hosted model", field="model")  # a routing bug guard
    return model, chosen


def decide_tags(intent: Intent, task: str, model: Any, lyrics: str | None, instrumental: bool,
                vocals_unknown: bool, over: dict[str, Any], warnings: list[str]) -> str:
    """The style text the model gets (--tags wins), with warnings when it will fall short."""
    fields = model.input_model.model_fields
    caption = "prompt" not in fields and not route.is_v1_style(model) and "sketch" not in model.id
    tags = over.get("tags") or prompt.build_tags(intent, instrumental=instrumental, vocals_unknown=vocals_unknown,
                                                 caption=caption)
    if not instrumental and not vocals_unknown and not (lyrics or "").strip() and "prompt" not in \
            model.input_model.model_fields:
        warnings.append(VAGUE_SYLLABLES)
    if task != "generate" and "tags" not in over and tags.startswith(prompt.EDIT_FALLBACK_TAGS):
        warnings.append("no style words in the request: pass --tags describing the song (genre, "
                        "instruments, BPM) so the new part matches it")
    return tags


VAGUE_SYLLABLES = ("vocals without lyrics: ACE-Step then sings vague syllables; pass --lyrics "
                   "(with [Verse]/[Chorus] markers)")


def decide_lyric_writer(request: str, steps: list[Any], lyrics: str | None, instrumental: bool,
                        vocals_unknown: bool, reasons: list[str], warnings: list[str]) -> bool:
    """A vocal song asked for without lyrics, planned on a model whose 5 Hz LM can write them
    (local ACE-Step 1.5, LM weights present: a few stat calls): each such step gets the request as
    its `lyrics_idea`, and the engine has the LM write lyrics from it (upstream's sample creation)
    instead of the DiT singing vague syllables."""
    if instrumental or vocals_unknown or (lyrics or "").strip():
        return False
    from aimusic.catalog import get_model

    writers = []
    for step in steps:
        model = get_model(step.model)
        if "lyrics_idea" not in model.input_model.model_fields or (step.input.get("lyrics") or "").strip():
            continue
        from aimusic.engines.local_acestep.lm import DEFAULT_LM, find_lm

        if find_lm(model.extra.get("lm", DEFAULT_LM))[0] is not None:
            writers.append(step)
    if not writers:
        return False
    for step in writers:
        step.input["lyrics_idea"] = request[:2000]
    reasons.append("vocal, no lyrics given: ACE-Step's 5 Hz LM writes them from the request (with "
                   "[Verse]/[Chorus] sections) instead of vague syllables")
    if VAGUE_SYLLABLES in warnings:
        warnings.remove(VAGUE_SYLLABLES)
    return True


def check_budget(total: float, budget_usd: float | None, reasons: list[str]) -> None:
    if budget_usd is None:
        return
    if total > budget_usd + 1e-9:
        raise InputError(f"the plan costs ${total:.4f}, over the ${budget_usd:g} budget", field="budget",
                         hint="raise --budget, ask for fewer or shorter takes, or say 'draft' for ACE base "
                              "(or --provider sketch, free)", details=[{"field": "estimated_cost_usd",
                                                                       "message": f"{total:.6f}"}])
    reasons.append(f"within budget: ${total:.4f} of ${budget_usd:g}")

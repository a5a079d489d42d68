"""Building a plan's steps: the exact input of every engine call for the routed task, its cost,
chained extensions past a model's limit, takes per language, a premium polish step."""

from __future__ import annotations

import re
from typing import Any

from aimusic.errors import InputError
from aimusic.plan import prompt, route, times
from aimusic.plan.chain import chain_extension
from aimusic.plan.intent import Intent
from aimusic.plan.model import Step
from aimusic.plan.providers import key_present

VARIATION_MOODS = ("warm", "bright", "mellow", "driving", "dreamy", "uplifting", "laid-back", "moody",
                   "playful", "cinematic")
VARIATION_COLOURS = ("piano", "guitar", "synth pads", "strings", "rhodes", "bells", "bass groove",
                     "percussion", "marimba", "brass")


def source_from_text(intent: Intent) -> float | None:
    """'I have a 30 s hook', 'this 3-minute song' -> its length (when no local file tells it)."""
    return intent.source_length[0] if intent.source_length else None


def variation_tags(tags: str, count: int) -> list[str]:
    """Varied tag combos for a batch: the same core, one mood and one colour rotated per take."""
    out = []
    for i in range(count):
        mood = VARIATION_MOODS[i % len(VARIATION_MOODS)]
        colour = VARIATION_COLOURS[(i // len(VARIATION_MOODS) + i) % len(VARIATION_COLOURS)]
        extra = [t for t in (mood, colour) if t not in tags]
        out.append(", ".join([tags, *extra]))
    return out


def section_window(intent: Intent, lyrics: str | None, source_seconds: float | None
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


def input_fields(model_id: str) -> set[str]:
    from aimusic.catalog import get_model

    return set(get_model(model_id).input_model.model_fields)


def lyrics_for(model: Any, lyrics: str | None, instrumental: bool, song_language: str,
                reasons: list[str]) -> str:
    text = prompt.ace_lyrics(lyrics, instrumental=instrumental)
    if text and not instrumental and route.is_v1_style(model) and song_language != "en":
        from aimusic.lyrics import romanize_for_v1

        text = romanize_for_v1(text)
        reasons.append(f"{model.id} is ACE-Step v1-style: lyrics romanised with [xx] line prefixes")
    return text


def step_cost(model_id: str, data: dict[str, Any], source_seconds: float | None = None) -> float:
    from aimusic.catalog.pricing import estimate_cost
    from aimusic.catalog import get_model

    return estimate_cost(get_model(model_id), data, source_seconds)


def generate_input(intent: Intent, model: Any, tags: str, lyrics: str | None, instrumental: bool,
                    seconds: float, song_language: str, reasons: list[str]) -> dict[str, Any]:
    fields = set(model.input_model.model_fields)
    if "prompt" in fields:  # ElevenLabs: one prompt with brief, style and inline markers
        text = prompt.elevenlabs_prompt(intent, tags, lyrics, instrumental=instrumental, seconds=seconds)
        return {"prompt": text, "music_length_ms": int(round(seconds * 1000)),
                "force_instrumental": bool(instrumental)}
    data: dict[str, Any] = {"tags": tags, "lyrics": lyrics_for(model, lyrics, instrumental, song_language, reasons)}
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


def clamp_seconds(seconds: float, model: Any, warnings: list[str], explicit: bool = False) -> float:
    if seconds < model.min_seconds and explicit:
        raise InputError(f"{seconds:g} s is shorter than {model.id} can make ({model.min_seconds:g} s at least)",
                         field="duration", hint=f"ask for {model.min_seconds:g} s or more, or use --provider "
                                                "sketch (1 s minimum)")
    if seconds < model.min_seconds:
        warnings.append(f"{seconds:g} s is under {model.id}'s minimum: {model.min_seconds:g} s")
        return float(model.min_seconds)
    return seconds


def generate_steps(intent: Intent, model: Any, provider: str, tags: str, lyrics: str | None,
                    instrumental: bool, seconds: float, song_language: str, over: dict[str, Any], count: int,
                    reasons: list[str], warnings: list[str], strict: bool = True) -> list[Step]:
    # An explicit --duration the chosen model cannot make is an error when the user chose the
    # provider too; under `auto` the planner chose the model, so it stretches to the minimum and says so.
    seconds = clamp_seconds(seconds, model, warnings, explicit="duration" in over and strict)
    first_seconds = min(seconds, model.max_seconds)
    data = generate_input(intent, model, tags, lyrics, instrumental, first_seconds, song_language, reasons)
    variations = variation_tags(tags, count) if count > 1 and "tags" in data and "tags" not in over else []
    steps = [Step(1, "generate", model.id, provider, data, step_cost(model.id, data), count=count,
                  note=f"{count} takes" if count > 1 else "", variations=variations)]
    if seconds > model.max_seconds + 1e-9:
        outpaint = route.model_for(route.BASE, "outpaint", provider)
        if outpaint is None:
            warnings.append(f"{seconds:g} s is over {model.id}'s limit of {model.max_seconds:g} s and "
                            f"{provider} cannot extend: the take is {model.max_seconds:g} s")
            return steps
        reasons.append(f"{seconds:g} s is over the {model.max_seconds:g} s limit of one call: generate "
                       f"{model.max_seconds:g} s, then extend with {outpaint.id}")
        steps += extension_steps(outpaint, provider, tags, data.get("lyrics", ""), instrumental,
                                  model.max_seconds, 0.0, seconds - model.max_seconds, "step 1's result",
                                  len(steps), reasons)
    return steps


def polish_steps(intent: Intent, tags: str, lyrics: str | None, instrumental: bool, seconds: float,
                 provider: str, done: int, reasons: list[str]) -> list[Step]:
    candidates: tuple[str, ...] = (provider,)
    if provider == "auto":
        # the provider whose key is set; ElevenLabs (named in the reasons) when neither is
        candidates = tuple(p for p in ("elevenlabs", "runcomfy") if key_present(p)) or ("elevenlabs",)
    for candidate in candidates:
        model = route.model_for(route.PREMIUM, "generate", candidate)
        if model is None:
            continue
        seconds = min(max(seconds, model.min_seconds), model.max_seconds)
        data = generate_input(intent, model, tags, lyrics, instrumental, seconds, "en", reasons)
        reasons.append(f"final render: {model.id} via {candidate} once the tags are locked")
        return [Step(done + 1, "generate", model.id, candidate, data, step_cost(model.id, data),
                     note="final premium render with the locked tags")]
    reasons.append(f"--provider {provider} has no premium model: the polish step is left out")
    return []


def per_language_steps(step: Step, named: list[str], n_languages: int, model: Any, reasons: list[str]) -> list[Step]:
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


def inpaint_step(intent: Intent, model: Any, provider: str, tags: str, lyrics: str | None,
                  instrumental: bool, source_seconds: float | None, audio: str, reasons: list[str],
                  warnings: list[str]) -> Step:
    window = intent.window
    section_lyrics = None
    if window is None:
        estimate = section_window(intent, lyrics, source_seconds)
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
    data["lyrics"] = lyrics_for(model, lyric_text, instrumental, "en" if not lyric_text else lyrics_language(lyric_text),
                                 reasons)
    local_extras(model, intent, data)
    reasons.append("inpaint tags follow the request's style words so the new part matches the song")
    return Step(1, "inpaint", model.id, provider, data, step_cost(model.id, data, source_seconds))


def lyrics_language(lyrics: str) -> str:
    from aimusic.lyrics import detect_song_language

    return detect_song_language(lyrics)


def local_extras(model: Any, intent: Intent, data: dict[str, Any]) -> None:
    if "bpm" in model.input_model.model_fields and intent.bpm:
        data["bpm"] = intent.bpm


def outpaint_steps(intent: Intent, model: Any, provider: str, tags: str, lyrics: str | None,
                    instrumental: bool, source_seconds: float | None, audio: str, reasons: list[str],
                    warnings: list[str]) -> list[Step]:
    ext = intent.extension
    assert ext is not None
    before, after = ext.before, ext.after
    source = source_seconds if source_seconds is not None else source_from_text(intent)
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
    lyric_text = lyrics_for(model, lyrics, instrumental, lyrics_language(lyrics) if lyrics else "en", reasons)
    return extension_steps(model, provider, tags, lyric_text, instrumental, source, before, after, audio, 0,
                            reasons, intent=intent)


def extension_steps(model: Any, provider: str, tags: str, lyrics: str, instrumental: bool,
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
            local_extras(model, intent, data)
        if number == done + 1 and whole:
            src, join, note = audio, None, ""
        else:
            where = "last" if side == "after" else "first"
            src = f"{where} {context:g} s of step {number - 1}'s result" if number > 1 else f"{where} {context:g} s of the source"
            data["audio"] = f"<{src}>"
            join = "append" if side == "after" else "prepend"
            note = f"extends a {context:g} s context clip; the result is joined to the track ({join})"
        steps.append(Step(number, "outpaint", model.id, provider, data,
                          step_cost(model.id, data, context if source is not None else None),
                          note=note, source=src if join else None,
                          context_seconds=context if join else None, join=join))
    if len(calls) > 1:
        reasons.append(f"the result would pass {model.id}'s {max_total:g} s limit: {len(calls)} chained calls")
    return steps


def remix_step(intent: Intent, model: Any, tags: str, lyrics: str | None, instrumental: bool, audio: str,
                source_seconds: float | None, provider: str, reasons: list[str]) -> Step:
    data: dict[str, Any] = {"audio": audio, "tags": tags,
                            "lyrics": lyrics_for(model, lyrics, instrumental, "en", reasons)}
    return Step(1, "remix", model.id, provider, data, step_cost(model.id, data, source_seconds))


def validate_step(step: Step) -> None:
    """The built input must pass the model's own schema (a planner bug otherwise surfaces here)."""
    from aimusic.catalog import get_model
    from aimusic.schemas import validate

    step.input = validate(get_model(step.model).input_model, step.input).to_json_dict()
    for key in [k for k, v in step.input.items() if v is None]:
        del step.input[key]


def build_steps(intent: Intent, task: str, model: Any, chosen: str, provider: str, tags: str,
                lyrics: str | None, instrumental: bool, seconds: float | None, langs: Any, over: dict[str, Any],
                count: int, source_seconds: float | None, audio: str | None, forced: bool,
                reasons: list[str], warnings: list[str], video: str | None = None) -> list[Step]:
    """The steps for the routed task, each input validated against its model's schema."""
    scores_video = task == "generate" and bool(video) and chosen == "elevenlabs" and not forced
    if scores_video:
        steps = [video_step(intent, tags, lyrics, video or "", seconds, reasons)]
    elif task == "generate":
        steps = generate_steps(intent, model, chosen, tags, lyrics, instrumental, seconds or 60.0,
                               langs.song, over, count, reasons, warnings, strict=provider != "auto" or forced)
        if intent.draft_then_polish and not forced:
            steps += polish_steps(intent, tags, lyrics, instrumental, seconds or 60.0, provider, len(steps),
                                  reasons)
        n_languages = max(len(intent.languages), intent.language_count or 0)
        if n_languages > 1 and not forced:
            steps = per_language_steps(steps[0], intent.languages, n_languages, model, reasons)
    elif task == "inpaint":
        steps = [inpaint_step(intent, model, chosen, tags, lyrics, instrumental, source_seconds, audio or "",
                              reasons, warnings)]
    elif task == "outpaint":
        steps = outpaint_steps(intent, model, chosen, tags, lyrics, instrumental, source_seconds, audio or "",
                               reasons, warnings)
    else:
        steps = [remix_step(intent, model, tags, lyrics, instrumental, audio or "", source_seconds, chosen,
                            reasons)]
    for step in steps:
        if "seed" in over and "seed" in input_fields(step.model):
            step.input["seed"] = int(over["seed"])
        if "strength" in over and "strength" in input_fields(step.model):  # remix: how far from the source
            step.input["strength"] = over["strength"]
        validate_step(step)
        if step.task in ("inpaint", "outpaint"):
            source_upload(step, source_seconds, reasons)
    return steps


SFX_WORDS = re.compile(r"\b(sfx|sound effects?|foley)\b")
SEPARATE_WORDS = re.compile(r"\b(separate (tracks|stems)|separately|music and sfx apart)\b")


def video_step(intent: Intent, tags: str, lyrics: str | None, video: str, seconds: float | None,
               reasons: list[str]) -> Step:
    """Music for a video on ElevenLabs (`video-to-music`): the video is uploaded, the request and
    its style become the description and up to 10 tags."""
    from aimusic.engines.registry import engine_class

    model = engine_class("elevenlabs").model_for(route.PREMIUM, "video")
    description = intent.text.strip()
    if lyrics and lyrics.strip():
        description += "\n" + prompt.ace_lyrics(lyrics, instrumental=False)
    data: dict[str, Any] = {"video": video, "description": description[:4100],
                            "tags": [t.strip()[:200] for t in tags.split(",") if t.strip()][:10],
                            "add_sfx": bool(SFX_WORDS.search(intent.text)),
                            "separate_tracks": bool(SEPARATE_WORDS.search(intent.text))}
    reasons.append(f"a video on the ElevenLabs route -> {model.id}: the music follows the video itself "
                   "(its cuts and length), not only its duration"
                   + ("; with SFX cued from the video" if data["add_sfx"] else "")
                   + ("; music and SFX as separate tracks" if data["separate_tracks"] else ""))
    return Step(1, "video", model.id, "elevenlabs", data, step_cost(model.id, data, seconds))


def source_upload(step: Step, source_seconds: float | None, reasons: list[str]) -> None:
    """An engine that must first upload (and pay for) an edit's source says what that costs
    (`source_upload_cost`); the step's price includes it and the reasons say so."""
    from aimusic.engines.registry import engine_class

    cost_of = getattr(engine_class(step.provider), "source_upload_cost", None)
    audio = str(step.input.get("audio", ""))
    if cost_of is None or audio.startswith("<"):
        return
    from aimusic.catalog import get_model

    cost = cost_of(get_model(step.model), audio, source_seconds)
    if cost:
        step.estimated_cost_usd = round(step.estimated_cost_usd + cost, 6)
        step.note = (step.note + "; " if step.note else "") + f"uploads the source first (${cost:.4f}, once per file)"
        reasons.append(f"the source is not a song {step.provider} holds yet: a one-time upload, priced like a "
                       f"generation (${cost:.4f}), confirmed before it runs (or --yes)")


def price_warnings(steps: list[Step], task: str, audio: str | None, source_seconds: float | None) -> list[str]:
    from aimusic.catalog import get_model

    out = []
    for model_id in dict.fromkeys(s.model for s in steps):
        entry = get_model(model_id)
        if not entry.price_published and entry.price_per_second:
            out.append(f"{model_id} has no published price: estimated at ${entry.price_per_second:g}/s "
                       "(the provider's catalog decides at run time)")
    if source_seconds is None and audio and task != "generate":
        out.append("the source is a URL: its length is unknown, so the cost covers the new material only")
    return out

"""Planning stems and layers (issue 19): "separate the vocals", "give me the stems", "remove the
vocals" / "an instrumental version of my song", "add drums / strings / a sax line to this", "put a
vocal on my instrumental", "make a backing track for my vocal".

`plan_parts` is called once from `make_plan`, before the task decision: it returns a whole Plan
for a part request (or None for anything else), so the rest of the planner is untouched.

Provider choice under `auto` (each skipped provider is named in the reasons):
- separate: the sketch engine for a file it made (exact stems); Demucs when its weights are here
  and it makes the stems asked for (a dedicated separator); local ACE-Step base when its weights
  are here; ElevenLabs when a key is set (priced); else NotConfiguredError (78) naming them.
- layer: local ACE-Step base when its weights are here; else the sketch engine (always there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aimusic.errors import InputError, NotConfiguredError, UsageError
from aimusic.plan.intent import Intent, find_words

PART_TASKS = ("separate", "layer")
REMOVE_VOCAL_WORDS = ("remove the vocals", "remove the vocal", "remove vocals", "take out the vocals",
                      "instrumental version", "an instrumental of", "karaoke", "no-vocals version",
                      "without the vocals", "mute the vocals", "strip the vocals")
STEM_WORDS = ("give me the stems", "the stems", "stems", "split it", "split the track", "split the song",
              "split my", "separate it", "separate the track", "separate the song", "separate my")
ACAPELLA_WORDS = ("acapella", "a cappella", "a capella", "vocals only", "just the vocals", "isolated vocals",
                  "vocal stem")
# an instrument word (as people say it) -> the part's canonical name
INSTRUMENTS = {
    "vocals": "vocals", "vocal": "vocals", "voice": "vocals", "singing": "vocals", "acapella": "vocals",
    "a cappella": "vocals", "drums": "drums", "drum": "drums", "beat": "drums", "percussion": "percussion",
    "bass": "bass", "bassline": "bass", "bass line": "bass", "strings": "strings", "violin": "violin",
    "sax": "sax", "saxophone": "sax", "brass": "brass", "horns": "brass", "horn": "brass", "trumpet": "brass",
    "guitar": "guitar", "piano": "piano", "keys": "keyboard", "keyboard": "keyboard", "organ": "organ",
    "synth": "synth", "synths": "synth", "pads": "pads", "pad": "pads", "flute": "flute",
    "woodwinds": "woodwinds", "choir": "choir", "bells": "bells", "arp": "arp", "lead": "lead",
}
_INSTRUMENT_RE = "|".join(sorted(map(re.escape, INSTRUMENTS), key=len, reverse=True))
ISOLATE = re.compile(rf"\b(?:separate|isolate|extract|only|just|pull out|solo)\s+(?:the\s+|my\s+)?({_INSTRUMENT_RE})\b")
ADD = re.compile(rf"\b(?:add|put|lay(?: down)?|layer|overdub|record)\s+(?:an?\s+|some\s+|the\s+|more\s+)?"
                 rf"(?:\w+\s+){{0,2}}?({_INSTRUMENT_RE})(?:\s+(?:line|part|track|layer|section))?\b"
                 rf"(?=.*\b(?:to|on|over|onto|into|under)\b|\s*$)")
BACKING = re.compile(r"\b(?:backing track|accompaniment|backing band|band behind|accompany)\b")
# each provider's name for a part, where it differs from the canonical one
LOCAL_TRACKS = {"sax": "woodwinds", "flute": "woodwinds", "violin": "strings", "piano": "keyboard",
                "organ": "keyboard", "bells": "keyboard", "pads": "synth", "arp": "synth", "lead": "synth",
                "choir": "backing_vocals"}


@dataclass
class PartRequest:
    task: str                       # separate | layer
    words: str                      # what fired it, for the reasons
    stems: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    track: str | None = None


def detect_parts(intent: Intent) -> PartRequest | None:
    """A stems/layer request in the words, or None. A time window makes it an inpaint of that
    window ("redo 1:00 to 1:15 with just pads and vocals"), not a whole-track part."""
    if intent.window is not None:
        return None
    text = intent.text
    removed = find_words(text, REMOVE_VOCAL_WORDS)
    if removed:
        return PartRequest("separate", removed[0], remove=["vocals"])
    if BACKING.search(text) and re.search(r"\b(?:for|behind|under|to)\s+(?:my|this|the)\b", text):
        return PartRequest("layer", BACKING.search(text).group(0), track="backing")
    acapella = find_words(text, ACAPELLA_WORDS)
    if acapella:
        return PartRequest("separate", acapella[0], stems=["vocals"])
    isolated = ISOLATE.search(text)
    if isolated:
        return PartRequest("separate", isolated.group(0), stems=[INSTRUMENTS[isolated.group(1)]])
    added = ADD.search(text)
    if added:
        return PartRequest("layer", added.group(0), track=INSTRUMENTS[added.group(1)])
    stems = find_words(text, STEM_WORDS)
    if stems:
        return PartRequest("separate", stems[0])
    return None


def plan_parts(request: str, intent: Intent, audio: str | None, lyrics: str | None, provider: str,
               budget_usd: float | None, over: dict[str, Any]) -> Any:
    """The whole Plan of a stems/layer request (None when the words ask for something else)."""
    from aimusic.plan.decisions import intent_summary

    forced = None
    if "model" in over:
        from aimusic.catalog import get_model

        forced = get_model(over["model"])
        if forced.task not in PART_TASKS:
            return None
    found = detect_parts(intent)
    if found is None and forced is None:
        return None
    if found is None:
        found = PartRequest(forced.task, f"--model {forced.id}", track="drums" if forced.task == "layer" else None)
    return part_plan(found, audio, lyrics=lyrics, provider=provider, budget_usd=budget_usd, over=over,
                     request=request, intent=intent_summary(intent), forced=forced)


def part_plan(found: PartRequest, audio: str | None, *, lyrics: str | None = None, provider: str = "auto",
              budget_usd: float | None = None, over: dict[str, Any] | None = None, request: str = "",
              intent: dict[str, Any] | None = None, forced: Any = None) -> Any:
    """The one-step Plan of a separate/layer request (from words, or from the MCP/API fields)."""
    from aimusic.plan.decisions import check_budget
    from aimusic.plan.model import Plan
    from aimusic.plan.sources import audio_seconds
    from aimusic.plan.steps import Step, step_cost, validate_step

    over = dict(over or {})
    if not audio:
        raise InputError(f"'{found.words}' works on an existing track, but no track was given", field="audio",
                         hint="pass it with --audio PATH (aimusic edit FILE \"...\")")
    reasons = [f"'{found.words}' -> {found.task} ("
               + ("split a track into stems" if found.task == "separate" else "add a part to a track") + ")"]
    source_seconds = audio_seconds(audio)
    lyrics = lyrics if lyrics is not None else over.get("lyrics")
    if found.task == "layer" and found.track == "vocals" and not lyrics:
        raise InputError("adding vocals needs the words to sing", field="lyrics",
                         hint="pass --lyrics TEXT or @FILE (section markers welcome)")
    model, chosen = (forced, _forced_provider(forced, provider)) if forced is not None else \
        choose_part_provider(found.task, audio, provider, reasons, found.stems + found.remove)
    data = part_input(found, model, chosen, audio, lyrics, over)
    step = Step(1, found.task, model.id, chosen, data, step_cost(model.id, data, source_seconds))
    validate_step(step)
    cost = round(step.estimated_cost_usd, 6)
    if cost:
        reasons.append(f"priced on the source's {source_seconds or 0:.1f} s: ${cost:.4f}")
    plan = Plan(request=request or found.words, task=found.task, model=model.id, provider=chosen,
                input=step.input, estimated_cost_usd=cost, reasons=reasons, steps=[step],
                source_seconds=source_seconds, budget_usd=budget_usd, intent=dict(intent or {}))
    check_budget(cost, budget_usd, reasons)
    return plan


def _forced_provider(model: Any, provider: str) -> str:
    from aimusic.plan.providers import provider_for_model

    return provider_for_model(model, provider)


def _own_sketch_file(audio: str) -> bool:
    """A file the sketch engine generated: its sidecar beside it says so (a few hundred bytes read)."""
    import json

    try:
        body = json.loads(Path(audio).expanduser().with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(body, dict) and body.get("provider") == "sketch" and body.get("task") == "generate" \
        and not body.get("finish")


def choose_part_provider(task: str, audio: str, provider: str, reasons: list[str],
                         wanted: list[str] | tuple[str, ...] = ()) -> tuple[Any, str]:
    from aimusic.catalog import models_for
    from aimusic.engines.registry import availability, engine_class
    from aimusic.plan.providers import key_present
    from aimusic.plan.route import model_for

    if provider != "auto":
        model = model_for("ace-base", task, provider)
        if model is None:
            cls = engine_class(provider)
            able = sorted({p for m in models_for(task) for p in m.providers})
            raise UsageError(f"{cls.title or provider} cannot {task}", field="provider",
                             hint=f"use --provider {' or '.join(able) or 'auto'}")
        reasons.append(f"--provider {provider}: {model.id}")
        return model, provider
    skipped: list[str] = []
    order = ["sketch", "demucs", "local", "elevenlabs"] if task == "separate" else ["local", "sketch"]
    for name in order:
        model = model_for("ace-base", task, name)
        if model is None:
            continue
        if name == "sketch":
            if task == "separate" and not _own_sketch_file(audio):
                skipped.append("sketch: separates only files it made (none beside this one)")
                continue
            reasons.append("provider sketch: " + ("the file is the sketch engine's own: exact stems, free"
                                                  if task == "separate" else
                                                  "the offline sketch engine composes the part on the track's "
                                                  "tempo, key and bars") + (f" ({'; '.join(skipped)})" if skipped else ""))
            return model, name
        state = availability(model, name)
        if name == "elevenlabs" and not key_present(name):
            skipped.append("elevenlabs: no key (set ELEVENLABS_API_KEY or `aimusic login elevenlabs`)")
            continue
        if not state.usable:
            skipped.append(f"{name}: {state.reason}")
            continue
        if name == "demucs":
            other = [s for s in wanted if s not in model.extra["stems"]]
            if other:
                skipped.append(f"demucs: makes {', '.join(model.extra['stems'])}, not {other[0]}")
                continue
            reasons.append(f"provider demucs: a dedicated separator, free on this machine ({state.reason})"
                           + (f" ({'; '.join(skipped)})" if skipped else ""))
            return model, name
        reasons.append(f"provider {name}: {state.reason}")
        return model, name
    raise NotConfiguredError(f"no provider can {task} this file here", field="provider", hint="; ".join(skipped))


def part_input(found: PartRequest, model: Any, provider: str, audio: str, lyrics: str | None,
               over: dict[str, Any]) -> dict[str, Any]:
    """The exact input for the chosen model: its own names for the parts."""
    fields = model.input_model.model_fields
    data: dict[str, Any] = {"audio": audio}
    if found.task == "separate":
        rename = LOCAL_TRACKS if provider == "local" else {}
        data["stems"] = [rename.get(s, s) for s in found.stems]
        data["remove"] = [rename.get(s, s) for s in found.remove]
        if "stem_variation_id" in fields:   # ElevenLabs: two stems do when only the vocals matter
            only_vocals = set(found.stems + found.remove) <= {"vocals"} and (found.stems or found.remove)
            data["stem_variation_id"] = "two_stems_v1" if only_vocals else "six_stems_v1"
    else:
        track = found.track or "drums"
        data["track"] = LOCAL_TRACKS.get(track, track) if provider == "local" else track
        if over.get("tags"):
            data["tags"] = over["tags"]
        if track == "vocals" and lyrics:
            data["lyrics"] = lyrics
    if "seed" in over and "seed" in fields:
        data["seed"] = int(over["seed"])
    return data

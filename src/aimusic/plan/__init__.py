"""The planner: a request in plain words -> task, model, provider, exact input, cost, reasons.

Pure code: no network and no model. The only I/O is reading the `--audio` file's header
(its length), the `--lyrics` file, the video's header for `--match-video`, and the cheap
availability checks `--provider auto` needs (key presence, local weights present).

    >>> from aimusic.plan import make_plan
    >>> make_plan("premium brand jingle, 10 s", provider="runcomfy").model
    'elevenlabs/elevenlabs/music-generation'
"""

from __future__ import annotations

from typing import Any

from aimusic.errors import InputError
from aimusic.plan.bounds import check_length, check_request
from aimusic.plan.decisions import (OVERRIDE_KEYS, check_budget, clean_overrides, decide_languages,
                                    decide_length, decide_lyric_writer, decide_model, decide_tags, decide_task,
                                    decide_vocals,
                                    forced_model_of, intent_summary)
from aimusic.plan.intent import classify
from aimusic.plan.model import Plan, Step, run_command
from aimusic.plan.providers import check_provider
from aimusic.plan.sources import audio_seconds, video_seconds
from aimusic.plan.steps import build_steps, price_warnings



def __getattr__(name: str) -> Any:
    if name == "PROVIDERS":  # kept for old callers: the registry's names (plugins too), with auto
        from aimusic.plan.providers import provider_choices

        return tuple(provider_choices())
    raise AttributeError(name)


def make_plan(request: str, audio: str | None = None, lyrics: str | None = None, provider: str = "auto",
              budget_usd: float | None = None, overrides: dict[str, Any] | None = None,
              video: str | None = None) -> Plan:
    """Plan one request: a sequence of named decisions, each adding its reasons. Raises InputError
    (65) for an empty request, an edit without audio, an impossible window or a plan over budget;
    UsageError (64) for a provider that cannot do the task."""
    request = (request or "").strip()
    if not request:
        raise InputError("the request is empty", field="request",
                         hint='describe the music, e.g. aimusic plan "chill lofi, 80 BPM, 30 seconds"')
    check_request(request, lyrics, budget_usd)
    check_provider(provider)
    if budget_usd is not None and budget_usd < 0:
        raise InputError("the budget must be 0 or more", field="budget")
    over = clean_overrides(overrides)
    lyrics = over.get("lyrics", lyrics)
    reasons: list[str] = []
    warnings: list[str] = []
    intent = classify(request, has_audio=bool(audio))
    from aimusic.plan.parts import plan_parts   # stems and layers (issue 19): a plan of their own

    parts_plan = plan_parts(request, intent, audio, lyrics, provider, budget_usd, over)
    if parts_plan is not None:
        return parts_plan
    forced_model = forced_model_of(over, intent, audio)

    source_seconds = audio_seconds(audio) if audio else None
    task = decide_task(intent, audio, forced_model, reasons)
    instrumental, vocals_unknown = decide_vocals(intent, task, lyrics, over, reasons)
    langs = decide_languages(intent, lyrics, instrumental, over, reasons, warnings)
    seconds = decide_length(intent, task, over, video, instrumental, reasons)
    model, chosen = decide_model(intent, task, langs, seconds, forced_model, provider, budget_usd, reasons)
    tags = decide_tags(intent, task, model, lyrics, instrumental, vocals_unknown, over, warnings)
    count = intent.count[0] if intent.count and task == "generate" else 1
    check_length(seconds, count)
    if count > 1:
        reasons.append(f"batch of {count} ('{intent.count[1]}'): varied tag combos, one take each")

    steps = build_steps(intent, task, model, chosen, provider, tags, lyrics, instrumental, seconds, langs,
                        over, count, source_seconds, audio, forced_model is not None, reasons, warnings,
                        video=video)
    task = steps[0].task if steps[0].task == "video" else task
    if task == "generate":
        decide_lyric_writer(request, steps, lyrics, instrumental, vocals_unknown, reasons, warnings)
    total = round(sum(s.estimated_cost_usd * s.count for s in steps), 6)
    warnings.extend(price_warnings(steps, task, audio, source_seconds))
    plan = Plan(request=request, task=task, model=steps[0].model, provider=steps[0].provider,
                input=steps[0].input, estimated_cost_usd=total, reasons=reasons, steps=steps,
                warnings=warnings, language=langs.song, languages=langs.all, count=count,
                source_seconds=source_seconds, budget_usd=budget_usd, intent=intent_summary(intent))
    check_budget(total, budget_usd, reasons)
    return plan


__all__ = ["OVERRIDE_KEYS", "Plan", "Step", "make_plan", "run_command", "audio_seconds", "video_seconds"]

"""`aimusic plan`, `aimusic generate` and `aimusic edit`: a request in plain words, planned
(and for generate/edit, run through aimusic.api.run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from aimusic.cli.common import (FINITE_FLOAT, ProviderType, engine_options, format_option, json_option, notice,
                                output_dir_option, pop_engine_options, print_json, read_text_arg)

provider_choice = click.option("--provider", type=ProviderType(), default="auto", show_default=True,
                               help="Where to run; auto picks by intent and what is set up.")
budget_option = click.option("--budget", "budget", type=FINITE_FLOAT, default=None,
                             help="Refuse a plan that would cost more than this many USD (exit 65).")
lyrics_option = click.option("--lyrics", default=None, help="Lyrics TEXT or @FILE (section markers welcome).")
video_option = click.option("--match-video", "video", type=click.Path(dir_okay=False), default=None,
                            help="Make the music as long as this video.")


def _overrides(tags: str | None, duration: float | None, seed: int | None, instrumental: bool | None,
               model: str | None, language: str | None) -> dict[str, Any]:
    return {"tags": tags, "duration": duration, "seed": seed, "instrumental": instrumental,
            "model": model, "language": language}


def print_plan(plan: Any, as_json: bool) -> None:
    if as_json:
        print_json(plan.to_dict())
        return
    lines = [f"task:      {plan.task}", f"model:     {plan.model}", f"provider:  {plan.provider}"]
    cost = f"${plan.estimated_cost_usd:.4f}"
    if plan.count > 1:
        cost += f" ({plan.count} takes x ${plan.steps[0].estimated_cost_usd:.4f})"
    lines.append(f"cost:      {cost} (estimate)")
    if plan.language != "en" or plan.languages:
        lines.append(f"language:  {plan.language}" + (f" (lines: {', '.join(plan.languages)})"
                                                      if len(plan.languages) > 1 else ""))
    lines.append("input:")
    lines.extend("  " + line for line in json.dumps(plan.input, indent=2, ensure_ascii=False).splitlines())
    if len(plan.steps) > 1:
        lines.append(f"steps ({len(plan.steps)}):")
        for step in plan.steps:
            note = f"  [{step.note}]" if step.note else ""
            lines.append(f"  {step.index}. {step.task} {step.model} via {step.provider}, "
                         f"${step.estimated_cost_usd:.4f}{note}")
    lines.append("run it with:")
    lines.extend("  " + c for c in dict.fromkeys(plan.to_dict()["commands"]))
    if any(step.join for step in plan.steps):
        lines.append("  (`aimusic edit`/`generate` run the chain: they cut each <context clip> and join the results)")
    style = (plan.intent or {}).get("style") or {}
    if style.get("removed"):
        lines.append("taken out of the style text:")
        lines.extend(f"  - '{item['words']}': {item['why']}" for item in style["removed"])
    lines.append("because:")
    lines.extend(f"  - {reason}" for reason in plan.reasons)
    for warning in plan.warnings:
        lines.append(f"warning: {warning}")
    from aimusic.config import redact

    click.echo(redact("\n".join(lines)))


def _make(request: str, audio: str | None, lyrics: str | None, provider: str, budget: float | None,
          video: str | None, overrides: dict[str, Any]) -> Any:
    from aimusic.plan import make_plan

    return make_plan(request, audio=audio, lyrics=read_text_arg(lyrics, "lyrics"), provider=provider,
                     budget_usd=budget, overrides=overrides, video=video)


@click.command()
@click.argument("request", required=False, default="")
@click.option("--audio", default=None, help="Source track for an edit (path or https URL).")
@lyrics_option
@provider_choice
@budget_option
@video_option
@click.option("--tags", default=None, help="Use these tags instead of the inferred ones.")
@click.option("--duration", type=FINITE_FLOAT, default=None, help="Length in seconds (overrides the request).")
@click.option("--instrumental/--vocals", "instrumental", default=None, help="Force instrumental or vocals.")
@click.option("--model", "model_id", default=None, help="Use this model id.")
@click.option("--language", default=None, help="Vocal language code (e.g. es, zh).")
@json_option
def plan(request: str, audio: str | None, lyrics: str | None, provider: str, budget: float | None,
         video: str | None, tags: str | None, duration: float | None, instrumental: bool | None,
         model_id: str | None, language: str | None, as_json: bool) -> None:
    """Show how REQUEST would be made: task, model, provider, exact input, cost and why. Runs nothing.

        aimusic plan "a 10-second sonic logo for our bank, must sound expensive"
        aimusic plan "fix the bridge from 1:05 to 1:25" --audio song.wav --json
    """
    result = _make(request, audio, lyrics, provider, budget, video,
                   _overrides(tags, duration, None, instrumental, model_id, language))
    print_plan(result, as_json)


def _run_options(func: Any) -> Any:
    for option in reversed([
        lyrics_option, provider_choice, budget_option, video_option,
        click.option("--tags", default=None, help="Use these tags instead of the inferred ones."),
        click.option("--duration", type=FINITE_FLOAT, default=None, help="Length in seconds."),
        click.option("--seed", type=int, default=None, help="Seed (-1 random; recorded in the sidecar)."),
        click.option("--instrumental/--vocals", "instrumental", default=None, help="Force instrumental or vocals."),
        click.option("--model", "model_id", default=None, help="Use this model id."),
        click.option("--language", default=None, help="Vocal language code (e.g. es, zh)."),
        output_dir_option, format_option,
        click.option("--finish", default="none", show_default=True,
                     help="Finishing preset applied to each take (none = the engine's output as is)."),
        click.option("--dry-run", is_flag=True, help="Plan only; run nothing."),
        click.option("--lrc", is_flag=True, help="Also write <name>.lrc: synced lyrics (line and word times)."),
        json_option, engine_options(skip=("language",)),  # --language here is the song's (the planner's)
    ]):
        func = option(func)
    return func


@click.command()
@click.argument("request", required=False, default="")
@_run_options
def generate(request: str, **kwargs: Any) -> None:
    """Make music from REQUEST in plain words (plan + run).

        aimusic generate "chill lofi, 80 BPM" --duration 30 -o out
    """
    _plan_and_run(request, None, **kwargs)


@click.command()
@click.argument("audio")
@click.argument("request", required=False, default="")
@_run_options
def edit(audio: str, request: str, **kwargs: Any) -> None:
    """Edit AUDIO as REQUEST says: repaint a time range or extend it (plan + run).

        aimusic edit song.wav "fix the bridge from 1:05 to 1:25" -o out
        aimusic edit hook.wav "I need 2 minutes"
    """
    _plan_and_run(request, audio, **kwargs)


def _plan_and_run(request: str, audio: str | None, *, lyrics: str | None, provider: str, budget: float | None,
                  video: str | None, tags: str | None, duration: float | None, seed: int | None,
                  instrumental: bool | None, model_id: str | None, language: str | None, output_dir: str,
                  fmt: str | None, finish: str, dry_run: bool, lrc: bool, as_json: bool,
                  **engine_flags: Any) -> None:
    the_plan = _make(request, audio, lyrics, provider, budget, video,
                     _overrides(tags, duration, seed, instrumental, model_id, language))
    if finish != "none" and not dry_run:
        from aimusic.audio.finish import PRESETS
        from aimusic.errors import UsageError

        if finish not in PRESETS:  # before any model runs (and before any money is spent)
            raise UsageError(f"unknown finish preset {finish!r}", field="finish",
                             hint=f"choose one of {', '.join(PRESETS)}")
    if dry_run:
        print_plan(the_plan, as_json)
        return
    if not as_json:
        notice(f"plan: {the_plan.task} on {the_plan.model} via {the_plan.provider}, "
               f"estimated ${the_plan.estimated_cost_usd:.4f}")
        if the_plan.provider == "sketch":
            notice("note: running on the offline sketch engine (a draft); set up a model for real output "
                   "(`aimusic doctor`)")
    from aimusic.cli.common import StderrProgress, confirming
    from aimusic.pipeline import RunSettings, run_plan

    progress = StderrProgress()
    try:
        results = confirming(lambda opts: run_plan(the_plan, output_dir, RunSettings(
            format=fmt, finish=finish, progress=progress, log=notice, lrc=lrc, options=opts)),
            pop_engine_options(engine_flags), as_json=as_json)
    finally:
        progress.close()
    if as_json:
        print_json({"plan": the_plan.to_dict(), "results": [r.to_dict() for r in results],
                    "files": [f for r in results for f in r.files]})
        return
    total = 0.0
    for result in results:
        for path, seed_used in zip(result.files, result.seeds):
            click.echo(f"{path}" + (f"  seed {seed_used}" if seed_used is not None else ""))
        total += result.cost_usd or 0.0
    notice(f"{sum(len(r.files) for r in results)} file(s) in {Path(output_dir)}, cost ${total:.4f}")

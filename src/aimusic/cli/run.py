"""`aimusic run` and `aimusic replay`."""

from __future__ import annotations

import json
from typing import Any

import click

from aimusic.cli.common import (StderrProgress, confirming, engine_options, format_option, json_option, notice,
                                output_dir_option, pop_engine_options, print_json, print_run_result,
                                provider_option)


@click.command()
@click.argument("model_id")
@click.option("-i", "--input", "input_text", required=True, help="JSON object, or @file.json.")
@output_dir_option
@provider_option
@format_option
@engine_options
@click.option("--dry-run", is_flag=True, help="Validate and price the input; run nothing.")
@click.option("--lrc", is_flag=True, help="Also write <name>.lrc: synced lyrics (line and word times) where "
              "the model gives word timing.")
@click.option("--finish", "finish_preset", type=click.Choice(["none", "streaming", "broadcast", "podcast"]),
              default="none", show_default=True,
              help="Finishing preset for every take (see `aimusic finish`); none keeps the model's levels.")
@json_option
def run(model_id: str, input_text: str, output_dir: str, provider: str, fmt: str | None, dry_run: bool,
        lrc: bool, finish_preset: str, as_json: bool, **engine_flags: Any) -> None:
    """Run MODEL_ID on a JSON input and write the audio and its sidecar.

    Accepts exactly what `runcomfy run` accepts for the hosted models, e.g.

        aimusic run acestep-ai/ace-step/text-to-audio --input '{"tags": "lofi", "duration": 30}' -o out
    """
    from aimusic import api

    if dry_run:
        model, request, chosen = api.prepare(model_id, input_text, provider, check_keys=False)
        body = request.to_json_dict()
        plan = {"model": model.id, "provider": chosen, "task": model.task, "input": body,
                "estimated_cost_usd": api.estimate_cost(model, body)}
        if as_json:
            print_json(plan)
        else:
            click.echo(json.dumps(body, indent=2, ensure_ascii=False))
            notice(f"valid input for {model.id} via {chosen}; estimated cost ${plan['estimated_cost_usd']:.4f}")
        return
    options = pop_engine_options(engine_flags)
    progress = StderrProgress()
    try:
        result = confirming(lambda opts: api.run(model_id, input_text, output_dir, provider=provider, format=fmt,
                                                 finish=finish_preset, options=opts, progress=progress,
                                                 log=notice, lrc=lrc), options, as_json=as_json)
    finally:
        progress.close()
    print_run_result(result, as_json)


@click.command()
@click.argument("sidecar", type=click.Path(dir_okay=False))
@click.option("-o", "--output-dir", default=None, type=click.Path(file_okay=False),
              help="Where to write (default: beside the sidecar).")
@json_option
def replay(sidecar: str, output_dir: str | None, as_json: bool) -> None:
    """Re-run the request recorded in SIDECAR (same model, input and seed)."""
    from aimusic import api

    progress = StderrProgress()
    try:
        result = api.replay(sidecar, output_dir, progress=progress, log=notice)
    finally:
        progress.close()
    print_run_result(result, as_json)

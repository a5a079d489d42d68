"""`aimusic resume REQUEST_ID`: finish a hosted request that was submitted earlier."""

from __future__ import annotations

import click

from aimusic.cli.common import FINITE_FLOAT, StderrProgress, json_option, notice, output_dir_option, print_run_result


@click.command()
@click.argument("request_id")
@output_dir_option
@click.option("--model", "model_id", default=None,
              help="The catalog id the request ran (names the files and the sidecar).")
@click.option("--timeout", type=FINITE_FLOAT, default=None, help="Overall time limit, seconds.")
@click.option("--provider", type=click.Choice(["runcomfy", "comfyui"]), default="runcomfy", show_default=True,
              help="comfyui: REQUEST_ID is a prompt id on your ComfyUI server (COMFYUI_URL).")
@json_option
def resume(request_id: str, output_dir: str, model_id: str | None, timeout: float | None,
           provider: str, as_json: bool) -> None:
    """Poll RunComfy request REQUEST_ID and download its files, without submitting again.

        aimusic resume req-1234 --model acestep-ai/ace-step/text-to-audio -o out
    """
    if provider == "comfyui":
        from aimusic.cli.comfyui import collect_cli

        return collect_cli(request_id, output_dir, None, as_json)
    from aimusic import api

    options = {"timeout": timeout} if timeout is not None else {}
    progress = StderrProgress()
    try:
        result = api.resume(request_id, output_dir, model_id=model_id, options=options,
                            progress=progress, log=notice)
    finally:
        progress.close()
    print_run_result(result, as_json)

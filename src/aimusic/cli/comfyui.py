"""`aimusic comfyui ...`: workflows for ComfyUI, and the servers aimusic drives."""

from __future__ import annotations

import json
from typing import Any

import click

from aimusic.cli.common import json_option, notice, print_json


@click.group()
def comfyui() -> None:
    """Work with ComfyUI: export workflows, connect servers, check what they hold."""


@comfyui.command()
@click.argument("model_id")
@click.option("-i", "--input", "input_text", required=True, help="JSON object, or @file.json.")
@click.option("-o", "--output", "output_file", type=click.Path(dir_okay=False), default=None,
              help="Write the graph to this file (default: print it).")
@click.option("--server", default=None,
              help="Pick the model files from this server (default: COMFYUI_URL; none: template names).")
@click.option("--body", is_flag=True, help='Wrap as the /prompt request body: {"prompt": GRAPH}.')
@click.option("--lora", "loras", multiple=True, metavar="NAME[:SCALE]",
              help="A LoRA loader node for this file of the server's loras folder; repeatable.")
def workflow(model_id: str, input_text: str, output_file: str | None, server: str | None, body: bool,
             loras: tuple[str, ...]) -> None:
    """Print the API-format ComfyUI graph for MODEL_ID and a JSON input (what
    ComfyUI's "Export (API)" writes; POST it as {"prompt": GRAPH} to /prompt).

    With a server configured, the model files are those it holds and the source audio of
    audio-to-audio is uploaded to it; without one, the template file names are used.

        aimusic comfyui workflow comfyui/ace-step-1.5-turbo/text-to-audio -i '{"tags": "neo soul"}'
    """
    from aimusic import api
    from aimusic.engines.comfyui.engine import configured_servers, offline_graph, server_graph
    from aimusic.errors import UsageError

    from aimusic.catalog import get_model

    if "comfyui" not in get_model(model_id).providers:
        raise UsageError(f"{model_id} is not a ComfyUI model", field="model",
                         hint="choose a comfyui/... id from `aimusic models --provider comfyui`")
    model, request, _ = api.prepare(model_id, input_text, "comfyui")
    request = api.resolve_seed(request)
    servers = [server] if server else configured_servers()
    graph = server_graph(servers[0], model, request, notice=notice, loras=loras) if servers else \
        offline_graph(model, request, notice=notice, loras=loras)
    payload: Any = {"prompt": graph} if body else graph
    text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    if output_file:
        from aimusic.output import write_file_atomic

        write_file_atomic(output_file, text.encode("utf-8"))
        notice(f"wrote {output_file}")
    else:
        click.echo(text, nl=False)


@comfyui.command()
@click.argument("urls", nargs=-1, required=True)
def connect(urls: tuple[str, ...]) -> None:
    """Remember ComfyUI server URL(s) (COMFYUI_URL still wins when set)."""
    from aimusic.engines.comfyui.engine import probe, save_servers
    from aimusic.engines.comfyui.client import display_url, normalise_url

    for url in urls:
        files, version, why = probe(normalise_url(url), timeout=5.0, fresh=True)
        if files is None:
            notice(f"warning: {display_url(url)}: {why}")
        else:
            notice(f"{display_url(url)}: ComfyUI {version or '?'}")
    path = save_servers(list(urls))
    notice(f"saved to {path}")


@comfyui.command()
@json_option
def status(as_json: bool) -> None:
    """Each configured server: version, queue, and which ACE-Step models it can run."""
    from aimusic.catalog import models_for
    from aimusic.engines.comfyui.client import ComfyClient, display_url
    from aimusic.engines.comfyui.engine import NOT_SET, configured_servers, probe
    from aimusic.engines.comfyui.graphs import choose_layout
    from aimusic.errors import AimusicError, NotConfiguredError

    servers = configured_servers()
    if not servers:
        raise NotConfiguredError(f"no ComfyUI server configured: {NOT_SET}", field="COMFYUI_URL")
    rows = []
    variants = {m.extra["variant"]: m.extra for m in models_for(provider="comfyui")}
    for url in servers:
        files, version, why = probe(url, timeout=5.0, fresh=True)
        row: dict[str, Any] = {"server": display_url(url), "answers": files is not None, "version": version}
        if files is None:
            row["error"] = why
        else:
            try:
                with ComfyClient(url, timeout=5.0) as client:
                    queue = client.queue()
                row["queue"] = {"running": len(queue["queue_running"]), "pending": len(queue["queue_pending"])}
            except AimusicError as exc:
                row["error"] = exc.message
            row["files"] = files
            ready = {}
            for variant, preset in variants.items():
                try:
                    ready[variant] = choose_layout(preset, files, row["server"]).kind
                except NotConfiguredError as exc:
                    ready[variant] = "missing: " + exc.message.split(" lacks ", 1)[-1]
            row["variants"] = ready
        rows.append(row)
    if as_json:
        print_json({"servers": rows})
        return
    for row in rows:
        if not row["answers"]:
            click.echo(f"{row['server']}: not answering ({row.get('error')})")
            continue
        queue = row.get("queue") or {}
        click.echo(f"{row['server']}: ComfyUI {row['version'] or '?'}, running {queue.get('running', '?')}, "
                   f"pending {queue.get('pending', '?')}")
        for variant, state in row["variants"].items():
            click.echo(f"  {variant:<22} {'ready (' + state + ')' if not state.startswith('missing') else state}")


@comfyui.command()
@click.argument("prompt_id")
@click.option("-o", "--output-dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Where files are written.")
@click.option("--server", default=None, help="The server that ran it (default: every configured one).")
@json_option
def resume(prompt_id: str, output_dir: str, server: str | None, as_json: bool) -> None:
    """Collect the files of ComfyUI prompt PROMPT_ID (submitted by aimusic), waiting if it runs."""
    collect_cli(prompt_id, output_dir, server, as_json)


def collect_cli(prompt_id: str, output_dir: str, server: str | None, as_json: bool) -> None:
    from aimusic.cli.common import StderrProgress, print_run_result
    from aimusic.pipeline.comfyui import collect_prompt

    progress = StderrProgress()
    try:
        result = collect_prompt(prompt_id, output_dir, server=server, progress=progress, log=notice)
    finally:
        progress.close()
    print_run_result(result, as_json)

"""Small pieces every command shares: JSON output, progress on stderr, common options."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Callable

import click

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object (errors too, on stderr).")
output_dir_option = click.option("-o", "--output-dir", default=".", show_default=True,
                                 type=click.Path(file_okay=False), help="Where files are written.")
PROVIDER_CHOICES = ["auto", "sketch", "local", "comfyui", "runcomfy", "elevenlabs"]
provider_option = click.option("--provider", type=click.Choice(PROVIDER_CHOICES), default="auto",
                               show_default=True, help="Which provider runs the model.")
format_option = click.option("--format", "fmt", type=click.Choice(["wav", "flac", "mp3", "ogg"]),
                             default=None, help="Output format (default: wav, or the provider's own).")


# Engine options: flags that reach the engine as `options` rather than the model input.
_ENGINE_OPTIONS = [
    click.option("--model-path", type=click.Path(), default=None,
                 help="Local engine: a diffusers-format model directory."),
    click.option("--timeout", type=float, default=None, help="Hosted jobs: overall time limit, seconds."),
    click.option("--device", default=None, help="Local engine: auto (default), cuda, cuda:N, mps or cpu."),
    click.option("--offload", is_flag=True, default=None, help="Local engine: model CPU offload for small GPUs."),
    click.option("--midi", is_flag=True, default=None, help="Sketch engine: also write the arrangement as a .mid file."),
    click.option("--voice", default=None,
                 help="Sketch engine: singing voice (female, male, child, soprano, alto, tenor, bass)."),
    click.option("--stems", is_flag=True, default=None,
                 help="Sketch engine: also write <name>.vocals.<ext> and <name>.accompaniment.<ext> (the output format)."),
]
ENGINE_OPTION_NAMES = ("model_path", "timeout", "device", "offload", "midi", "voice", "stems")


def engine_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_ENGINE_OPTIONS):
        func = option(func)
    return func


def pop_engine_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take the engine-option flags out of a command's kwargs; keep only those given."""
    values = {name: kwargs.pop(name, None) for name in ENGINE_OPTION_NAMES}
    return {name: value for name, value in values.items() if value not in (None, False)}


def print_json(payload: Any) -> None:
    from aimusic.config import redact

    click.echo(redact(json.dumps(payload, indent=2, ensure_ascii=False, default=str)))


def notice(message: str) -> None:
    from aimusic.config import redact

    click.echo(redact(message), err=True)


class StderrProgress:
    """Progress lines on stderr: a bar when stderr is a terminal, sparse lines otherwise."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self._last_line = 0.0
        self._bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: float, total: float | None = None, message: str = "") -> None:
        if self.quiet:
            return
        if self.tty and total:
            from tqdm import tqdm

            bar = self._bars.get(stage)
            if bar is None:
                bar = self._bars[stage] = tqdm(total=total, desc=stage, file=sys.stderr, leave=False,
                                               dynamic_ncols=True)
            bar.total = total
            bar.n = done
            if message:
                bar.set_postfix_str(message, refresh=False)
            bar.refresh()
            if done >= total:
                bar.close()
                self._bars.pop(stage, None)
            return
        now = time.monotonic()
        finished = total is not None and done >= total
        if finished or now - self._last_line >= 2.0:
            self._last_line = now
            amount = f"{done:g}/{total:g}" if total else f"{done:g}"
            notice(f"[{stage}] {amount} {message}".rstrip())

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()


def read_text_arg(value: str | None, field: str) -> str | None:
    """TEXT or @FILE (as for --lyrics)."""
    if value is None or not value.startswith("@"):
        return value
    from aimusic.schemas import read_text_file

    return read_text_file(value[1:], field, f"{field} file")


def print_run_result(result: Any, as_json: bool) -> None:
    if as_json:
        print_json(result.to_dict())
        return
    for path, seed in zip(result.files, result.seeds):
        seed_text = f"  seed {seed}" if seed is not None else ""
        click.echo(f"{path}{seed_text}")
    cost = f"${result.cost_usd:.4f}" if result.cost_usd is not None else "n/a"
    notice(f"{len(result.files)} file(s) from {result.model} via {result.provider} in "
           f"{result.timings.get('total_s', 0):.1f} s, cost {cost}")


def progress_for(as_json: bool) -> Callable[..., None]:
    return StderrProgress(quiet=False)

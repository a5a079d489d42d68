"""The `aimusic` command: a thin layer over the Python API.

Sub-commands load on first use (a lazy group), so `aimusic --help` imports
neither pydantic nor numpy, let alone torch. Errors become one clear line (or
one JSON object with --json) and the exit code their class carries.
"""

from __future__ import annotations

import json
import os
import sys
from importlib import import_module
from typing import Any

import click

# name -> ("module:attribute", one-line help). Adding a command = one line here.
COMMANDS: dict[str, tuple[str, str]] = {
    "comfyui": ("aimusic.cli.comfyui:comfyui", "ComfyUI: export workflows, connect servers, collect prompts."),
    "models": ("aimusic.cli.models:models", "List the models aimusic knows (and pull local weights)."),
    "run": ("aimusic.cli.run:run", "Run one model on a JSON input (same input as `runcomfy run`)."),
    "replay": ("aimusic.cli.run:replay", "Re-run the request recorded in a sidecar JSON file."),
    "resume": ("aimusic.cli.resume:resume", "Finish a hosted request by id (poll + download, no resubmit)."),
    "login": ("aimusic.cli.auth:login", "Store an API key for runcomfy or elevenlabs (from stdin)."),
    "logout": ("aimusic.cli.auth:logout", "Forget a stored API key."),
    "batch": ("aimusic.cli.batch:batch", "Run a YAML/JSONL batch into an indexed library: priced first, resumable."),
    "doctor": ("aimusic.cli.auth:doctor", "Report providers, devices, weights and config paths."),
    "finish": ("aimusic.cli.finish:finish", "Finish a file: loudness, true peak, fades, loop, exact length, format."),
    "analyze": ("aimusic.cli.finish:analyze", "Measure a file: loudness, peak, tempo, key, silences, sections, loopability."),
    "plan": ("aimusic.cli.plan:plan", "Show how a request in plain words would be made (model, input, cost, why)."),
    "generate": ("aimusic.cli.plan:generate", "Make music from a request in plain words (plan + run)."),
    "edit": ("aimusic.cli.plan:edit", "Repaint or extend a track as a request in plain words says."),
    "lyrics": ("aimusic.cli.lyrics:lyrics", "Check lyrics; romanise them for ACE-Step v1; write them with the LM; time the words of a song (.lrc)."),
    "skill": ("aimusic.cli.skill:skill", "Show or install the generated agent skill (SKILL.md)."),
    "mcp": ("aimusic.cli.mcp:mcp", "Serve plan/generate/edit/run/models/analyze/finish as MCP tools."),
    "studio": ("aimusic.cli.studio:studio", "A web page to hear, compare, select and fix takes (and its HTTP API)."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name, _, attr = COMMANDS[name][0].partition(":")
        return getattr(import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and name not in COMMANDS and not name.startswith("-"):
            import difflib

            close = difflib.get_close_matches(name, list(COMMANDS), n=2)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise click.UsageError(f"no such command {name!r}.{hint}")
        return super().resolve_command(ctx, args)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="aimusic", prog_name="aimusic", message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, help="Show a traceback for errors.")
def cli(debug: bool) -> None:
    """Turn a music request into finished audio, on the right model for the job.

    Start with `aimusic models`, `aimusic plan "..."` or
    `aimusic generate "lofi hip hop, 80 BPM" --duration 30`.
    """


def _json_mode(argv: list[str]) -> bool:
    return "--json" in argv


def emit_error(error: Any, json_mode: bool) -> None:
    from aimusic.config import redact

    if json_mode:
        body = error.to_dict()
        body["message"] = redact(body["message"])
        if body.get("hint"):
            body["hint"] = redact(body["hint"])
        body["advice"] = error.advice
        sys.stderr.write(json.dumps({"error": body}, ensure_ascii=False) + "\n")
    else:
        sys.stderr.write(f"aimusic: error: {redact(str(error))}\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("AIMUSIC_DEBUG") == "1"
    argv = [a for a in argv if a != "--debug"]
    json_mode = _json_mode(argv)
    from aimusic.errors import AimusicError, InternalError, Interrupted, UsageError

    try:
        result = cli.main(args=argv, prog_name="aimusic", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.UsageError as exc:
        error: AimusicError = UsageError(exc.format_message())
        emit_error(error, json_mode)
        code = error.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        from aimusic.errors import Terminated

        error = Terminated("terminated") if _TERMINATED else Interrupted("interrupted")
        emit_error(error, json_mode)
        code = error.exit_code
    except AimusicError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        if _TERMINATED and isinstance(exc, Interrupted):  # the engine's clean-up said "interrupted"
            from aimusic.errors import Terminated

            exc = Terminated(exc.message, field=exc.field, hint=exc.hint, details=exc.details)
        emit_error(exc, json_mode)
        code = exc.exit_code
    except BrokenPipeError:
        code = 0
    except Exception as exc:  # a full or read-only disk is the user's; anything else is a bug
        from aimusic.errors import error_of

        error = error_of(exc)
        if debug and isinstance(error, InternalError):
            raise
        emit_error(error, json_mode)
        code = error.exit_code
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    return code


_TERMINATED = False


def _on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM goes the way of Ctrl-C (remote jobs cancelled, nothing half-written, one line),
    in the CLI's own process only: a worker process that inherited this handler dies as the
    signal's default would have it, which is how pools stop their workers."""
    global _TERMINATED
    import signal

    if os.getpid() != _MAIN_PID:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    if _TERMINATED:
        return  # already on the way out: a second SIGTERM must not break the clean-up
    _TERMINATED = True
    raise KeyboardInterrupt


_MAIN_PID = os.getpid()  # the CLI's process: a forked worker inherits the value, not the identity


def entry() -> None:
    import signal

    signal.signal(signal.SIGTERM, _on_sigterm)
    sys.exit(main())

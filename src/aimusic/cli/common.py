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


class FiniteFloat(click.ParamType):
    """A float flag that refuses nan and inf (which would switch a limit off, and are not JSON)."""

    name = "float"

    def __init__(self, minimum: float | None = None) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        import math

        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.minimum is not None and number < self.minimum:
            self.fail(f"{value!r} is less than {self.minimum:g}", param, ctx)
        return number


FINITE_FLOAT = FiniteFloat()
NON_NEGATIVE = FiniteFloat(minimum=0)


class ProviderType(click.ParamType):
    """`--provider NAME`: auto or any registered engine, plugins included. The registry is asked
    only when a value is checked (a built-in name needs no entry-point scan), so `--help` stays
    cheap."""

    name = "provider"

    def __init__(self, *, auto: bool = True) -> None:
        self.auto = auto

    def choices(self) -> list[str]:
        from aimusic.engines.registry import provider_names

        return (["auto"] if self.auto else []) + provider_names()

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        from aimusic.engines.registry import BUILTIN_ENGINES

        return "[" + "|".join((["auto"] if self.auto else []) + list(BUILTIN_ENGINES)) + "|...]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from aimusic.engines.registry import is_registered

        value = str(value)
        if (self.auto and value == "auto") or is_registered(value):
            return value
        self.fail(f"{value!r} is not a provider: choose one of {', '.join(self.choices())}", param, ctx)

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(c) for c in self.choices() if c.startswith(incomplete)]


def __getattr__(name: str) -> Any:
    if name == "PROVIDER_CHOICES":  # kept for old callers: the registry's names
        return ProviderType().choices()
    raise AttributeError(name)


provider_option = click.option("--provider", type=ProviderType(), default="auto",
                               show_default=True, help="Which provider runs the model.")
format_option = click.option("--format", "fmt", type=click.Choice(["wav", "flac", "mp3", "ogg"]),
                             default=None, help="Output format (default: wav, or the provider's own).")


# Engine options: flags that reach the engine as `options` rather than the model input. One flag
# per field of every engine's options model (merged by name), its help the field's description.

ENGINE_OPTION_PREFIX = "engine_option_"


def _flag_type(annotation: Any) -> tuple[Any, str]:
    """(click type, kind) for an options field's annotation. Kinds: "value"; "flag" (bool);
    "negatable" (`bool | None`: --x/--no-x, unset = the engine decides); "multiple" (a tuple or
    list: the flag repeats)."""
    import types
    import typing

    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        if len(args) == 1:
            kind, how = _flag_type(args[0])
            return kind, "negatable" if how == "flag" else how
        return click.STRING, "value"   # several types (a plan as JSON text or @file): the engine parses
    if origin in (tuple, list):
        return _flag_type(args[0])[0] if args else click.STRING, "multiple"
    if origin is typing.Literal:
        return click.Choice([str(a) for a in args]), "value"
    if annotation is bool:
        return None, "flag"
    if annotation is int:
        return click.INT, "value"
    if annotation is float:
        return FINITE_FLOAT, "value"
    return click.STRING, "value"


def engine_option_specs(skip: tuple[str, ...] = ()) -> list[tuple[str, str, Any, str, str]]:
    """(field name, flag, click type, kind (see _flag_type), help) for every engine option that has a flag."""
    from aimusic.engines.registry import option_fields

    specs = []
    for name, (info, takers) in option_fields().items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        flag = extra.get("flag", True)
        if flag is False or name in skip:
            continue
        flag_name = flag if isinstance(flag, str) else "--" + name.replace("_", "-")
        kind, how = _flag_type(info.annotation)
        help_text = info.description or f"Engine option ({', '.join(takers)})."
        if len(takers) > 1:  # one flag for several engines: the first one's words, and who else takes it
            help_text = f"{help_text.rstrip('.')} (taken by {', '.join(takers)})."
        specs.append((name, flag_name, kind, how, help_text))
    return specs


def engine_options(func: Callable[..., Any] | None = None, *, skip: tuple[str, ...] = ()) -> Any:
    """Decorator: one click option per engine option (`skip`: names the command defines itself)."""
    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        for name, flag_name, kind, how, help_text in reversed(engine_option_specs(skip)):
            dest = ENGINE_OPTION_PREFIX + name  # apart from the command's own parameters (run's MODEL_ID)
            if how == "flag":
                f = click.option(flag_name, dest, is_flag=True, default=None, help=help_text)(f)
            elif how == "negatable":
                negative = "--no-" + flag_name.removeprefix("--")
                f = click.option(f"{flag_name}/{negative}", dest, default=None, help=help_text)(f)
            elif how == "multiple":
                f = click.option(flag_name, dest, type=kind, multiple=True, help=help_text)(f)
            else:
                f = click.option(flag_name, dest, type=kind, default=None, help=help_text)(f)
        return f

    return decorate(func) if func is not None else decorate


def pop_engine_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take the engine-option flags out of a command's kwargs; keep only those given."""
    from aimusic.engines.registry import option_fields

    fields = option_fields()
    values = {name: kwargs.pop(ENGINE_OPTION_PREFIX + name, None) for name in fields
              if ENGINE_OPTION_PREFIX + name in kwargs}
    # False is a value only for a --x/--no-x option (its default is None: the engine decides)
    return {name: (list(value) if isinstance(value, tuple) else value) for name, value in values.items()
            if value is not None and value != () and (value is not False or fields[name][0].default is None)}


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


def confirming(call: Callable[[dict[str, Any]], Any], options: dict[str, Any], *, as_json: bool = False) -> Any:
    """Run `call(options)`; when an engine stops before a paid step the user has not agreed to
    (an error with `confirm_option`, e.g. ElevenLabs' upload of a source), ask on a terminal and
    run again with that option set. Nothing was spent before the question."""
    from aimusic.errors import AimusicError

    try:
        return call(options)
    except AimusicError as exc:
        option = getattr(exc, "confirm_option", None)
        if option is None or as_json or not sys.stdin.isatty() or not sys.stderr.isatty():
            raise
        if not click.confirm(getattr(exc, "question", exc.message), default=False, err=True):
            raise
    return call({**options, option: True})

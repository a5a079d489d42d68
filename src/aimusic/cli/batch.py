"""`aimusic batch FILE -o DIR`: price a whole batch, confirm, run it resumably, index the library."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from aimusic.cli.common import NON_NEGATIVE, notice

FINISH_CHOICES = ["none", "streaming", "broadcast", "podcast"]


def _parse_option(values: tuple[str, ...]) -> dict[str, Any]:
    from aimusic.errors import UsageError

    options: dict[str, Any] = {}
    for value in values:
        name, sep, raw = value.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--option takes KEY=VALUE, not {value!r}", field="option")
        try:
            options[name.strip()] = json.loads(raw)
        except (ValueError, RecursionError):  # not JSON (or absurd JSON): the text itself
            options[name.strip()] = raw
    from aimusic.engines.registry import check_option_names

    check_option_names(options)  # before anything is priced or run: a typo is 64, not N failed items
    return options


@click.command("batch")
@click.argument("file", type=click.Path(dir_okay=True))
@click.option("-o", "--output-dir", required=True, type=click.Path(file_okay=False),
              help="The library: audio, sidecars, index.csv/json and the resumable manifest.")
@click.option("--budget", type=NON_NEGATIVE, default=None,
              help="Hard cap in USD: refuse a plan that costs more, and start nothing that would exceed it.")
@click.option("--concurrency", type=click.IntRange(min=1, max=256), default=8, show_default=True,
              help="Hosted requests in flight per provider (lowered automatically on 429).")
@click.option("--workers", type=click.IntRange(min=1, max=512), default=None,
              help="Offline (sketch) worker processes [default: every core].")
@click.option("--yes", "-y", "assume_yes", is_flag=True, help="Do not ask before spending.")
@click.option("--dry-run", is_flag=True, help="Show the items and the price; run nothing.")
@click.option("--runner", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Run here, or on a Ray cluster (RAY_ADDRESS or --ray-address; a local Ray when none).")
@click.option("--ray-address", default=None, help="Ray cluster address (default: $RAY_ADDRESS, else local).")
@click.option("--retries", type=click.IntRange(min=0, max=20), default=2, show_default=True,
              help="Further tries of a failed item in this run.")
@click.option("--finish", "finish_preset", type=click.Choice(FINISH_CHOICES), default=None,
              help="Finishing preset for every file (uniform loudness across the library).")
@click.option("--format", "fmt", type=click.Choice(["wav", "flac", "mp3", "ogg"]), default=None,
              help="Output format (default: wav, or the provider's own).")
@click.option("--option", "engine_options", multiple=True, metavar="KEY=VALUE",
              help="Engine option for every job (JSON value), e.g. model_path=/w, poll_interval=1.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines on stdout: plan, one per item, summary.")
def batch(file: str, output_dir: str, budget: float | None, concurrency: int, workers: int | None,
          assume_yes: bool, dry_run: bool, runner: str, ray_address: str | None, retries: int,
          finish_preset: str | None, fmt: str | None, engine_options: tuple[str, ...], as_json: bool) -> int:
    """Run many requests from a YAML or JSONL FILE into one indexed library.

    Prices the whole batch first (counts per model, seconds, estimated cost) and asks before
    running unless --yes. Kill it at any moment and run the same command again: finished
    items are kept, hosted requests already submitted are followed by id (never paid twice),
    failed ones are retried.
    """
    from pathlib import Path

    from aimusic.errors import Interrupted, UsageError
    from aimusic.batch import BatchOptions, BudgetError, load_batch, run_batch, summarize

    options = _parse_option(engine_options)
    items = load_batch(file, check_keys=not dry_run)
    summary = summarize(items)
    out_dir = Path(output_dir).expanduser()
    done_before = _done_before(out_dir, items)
    summary["already_done"] = len(done_before)
    summary["to_run"] = len(items) - len(done_before)
    summary["budget_usd"] = budget
    summary["estimated_remaining_usd"] = round(sum(i.est_cost for i in items if i.key not in done_before), 6)
    _show_plan(summary, items, as_json, dry_run)
    if budget is not None and summary["estimated_remaining_usd"] > budget + 1e-9:
        raise BudgetError(f"the plan costs about ${summary['estimated_remaining_usd']:.4f}, more than the "
                          f"budget of ${budget:.4f}", field="budget", hint="raise --budget or trim the batch")
    if dry_run:
        return 0
    if not assume_yes:
        if not _interactive():
            raise UsageError("refusing to start a batch without confirmation: stdin is not a terminal",
                             field="yes", hint="check the price above, then pass --yes")
        question = (f"Run {summary['to_run']} item(s), about {summary['seconds']:.0f} s of audio, "
                    f"for about ${summary['estimated_remaining_usd']:.4f}?")
        if not click.confirm(question, default=False, err=True):
            notice("nothing ran")
            return 1
    opts = BatchOptions(out_dir=out_dir, budget=budget, concurrency=concurrency, workers=workers,
                        retries=retries, finish=finish_preset, format=fmt, runner=runner,
                        ray_address=ray_address, options=options)
    progress = BatchProgress(len(items), len(done_before), as_json)
    try:
        report = run_batch(items, opts, on_event=progress)
    except KeyboardInterrupt:
        raise Interrupted("interrupted; finished items are kept: run the same command again to go on") from None
    finally:
        progress.close()
    return _finish(report, as_json)


def _done_before(out_dir: Any, items: list[Any]) -> set[str]:
    """Keys the manifest already has as done (read-only; nothing is created for a dry run)."""
    import sqlite3

    path = out_dir / ".aimusic" / "manifest.sqlite"
    if not path.is_file():
        return set()
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            keys = {row[0] for row in db.execute("SELECT key FROM items WHERE state='done'")}
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return set()
    return keys & {item.key for item in items}


def _interactive() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _show_plan(summary: dict[str, Any], items: list[Any], as_json: bool, dry_run: bool) -> None:
    if as_json:
        event: dict[str, Any] = {"event": "plan", **summary}
        if dry_run:
            event["entries"] = [{"seq": i.seq, "key": i.key, "model": i.model, "provider": i.provider,
                                 "title": i.title, "language": i.language, "seed": i.seed, "role": i.role,
                                 "seconds": i.est_seconds, "estimated_cost_usd": i.est_cost, "input": i.input}
                                for i in items]
        _json_line(event)
        return
    lines = [f"batch: {summary['items']} item(s), {summary['seconds']:.1f} s of audio, "
             f"estimated ${summary['estimated_cost_usd']:.4f}"]
    for row in summary["models"]:
        lines.append(f"  {row['items']:>5}  {row['model']} ({row['provider']})  {row['seconds']:.1f} s  "
                     f"${row['estimated_cost_usd']:.4f}")
    if summary["already_done"]:
        lines.append(f"already done: {summary['already_done']} (kept); to run: {summary['to_run']}, "
                     f"about ${summary['estimated_remaining_usd']:.4f}")
    if summary["budget_usd"] is not None:
        lines.append(f"budget: ${summary['budget_usd']:.4f}")
    if dry_run:
        for item in items:
            extra = f" [{item.language}]" if item.language else ""
            role = f" ({item.role})" if item.role != "item" else ""
            lines.append(f"  {item.seq:>4}. {item.stem}{extra}{role}  {item.model}  {item.est_seconds:g} s")
    for line in lines:
        notice(line)


def _json_line(payload: dict[str, Any]) -> None:
    from aimusic.config import redact

    click.echo(redact(json.dumps(payload, ensure_ascii=False, default=str)))


class BatchProgress:
    """One overall bar (items, audio seconds, money, ETA) on stderr, a line per finished item,
    or JSON lines on stdout with --json."""

    def __init__(self, total: int, done_before: int, as_json: bool) -> None:
        self.total = total
        self.done = done_before
        self.as_json = as_json
        self.seconds = 0.0
        self.spent = 0.0
        self.started = time.monotonic()
        self.done_this_run = 0
        self.last_line = 0.0
        self.bar = None
        if not as_json and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done_before, desc="batch", unit="item", file=sys.stderr,
                            dynamic_ncols=True)

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "item":
            self.done += 1
            self.done_this_run += 1
            self.seconds += float(event.get("seconds") or 0)
            self.spent += float(event.get("cost_usd") or 0)
        if self.as_json:
            if kind != "start":
                _json_line({**event, "done": self.done, "total": self.total,
                            "spent_usd": round(self.spent, 6), "audio_seconds": round(self.seconds, 3)})
            return
        line = self._line(event)
        if line:
            if self.bar is not None:
                self.bar.write(line, file=sys.stderr)
            else:
                notice(line)
        if self.bar is not None and kind == "item":
            self.bar.update(1)
            self.bar.set_postfix_str(f"{self.seconds:.0f} s audio, ${self.spent:.4f}")
        elif self.bar is None and kind == "item":
            now = time.monotonic()
            if now - self.last_line >= 2.0 or self.done == self.total:
                self.last_line = now
                notice(self._status())

    def _status(self) -> str:
        elapsed = time.monotonic() - self.started
        left = self.total - self.done
        eta = f", ETA {elapsed / self.done_this_run * left:.0f} s" if self.done_this_run and left else ""
        return (f"[batch] {self.done}/{self.total} items, {self.seconds:.1f} s audio, "
                f"${self.spent:.4f} spent{eta}")

    def _line(self, event: dict[str, Any]) -> str | None:
        kind = event.get("event")
        width = len(str(self.total))
        seq = f"[{event.get('seq', 0):>{width}}/{self.total}]"
        if kind == "item":
            cost = event.get("cost_usd")
            lufs = event.get("loudness_lufs")
            how = " (resumed by id)" if event.get("resumed") else " (recovered)" if event.get("adopted") else ""
            return (f"{seq} done {', '.join(event.get('files') or [])}  {float(event.get('seconds') or 0):.1f} s  "
                    f"{'$%.4f' % cost if cost is not None else 'cost n/a'}"
                    f"{'  %.1f LUFS' % lufs if lufs is not None else ''}  {event.get('model')}{how}")
        if kind in ("retry", "failed"):
            error = event.get("error") or {}
            word = "retrying after" if kind == "retry" else "FAILED:"
            return f"{seq} {event.get('title')}: {word} {error.get('message', 'an error')}"
        if kind == "blocked":
            return f"{seq} {event.get('title')}: skipped, its chosen draft failed"
        if kind == "throttle":
            return f"[batch] {event.get('provider')} is rate limiting: {event.get('limit')} request(s) at a time now"
        if kind == "budget":
            return f"[batch] {event.get('message')}"
        return None

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _finish(report: Any, as_json: bool) -> int:
    from aimusic.batch import BudgetError
    from aimusic.errors import AimusicError, InternalError, UpstreamError, error_class

    if as_json:
        _json_line({"event": "summary", **report.to_dict()})
    else:
        notice(f"{report.done}/{report.total} item(s) done, {report.audio_seconds:.1f} s of audio, "
               f"${report.spent_usd:.4f} spent, in {report.wall_s:.1f} s; index: {report.index_csv}")
    if report.failed:
        # one kind of failure throughout: the summary is that kind (its exit code, its advice)
        kinds = {error_class(f.get("type")) for f in report.failed}
        kind = kinds.pop() if len(kinds) == 1 else None
        if kind is None or kind is InternalError or not issubclass(kind, AimusicError):
            kind = UpstreamError
        raise kind(f"{len(report.failed)} of {report.total} item(s) failed "
                   f"(first: {report.failed[0]['title']}: {report.failed[0]['message']})",
                   hint="run the same command again to retry them")
    if report.stopped_by_budget and report.not_run:
        raise BudgetError(f"budget reached after ${report.spent_usd:.4f}: {len(report.not_run)} item(s) not run",
                          field="budget", hint="raise --budget and run the same command again to finish")
    if report.blocked or report.not_run:
        raise AimusicError(f"{len(report.blocked) + len(report.not_run)} item(s) did not run",
                           hint="run the same command again")
    return 0

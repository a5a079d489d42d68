"""Running a batch: the driver loop. One scheduler drives every backend
(`aimusic.batch.backends`): it owns the manifest (only the driver writes it), starts what the
lanes (`batch.lanes`), limits and budget (`batch.limits`) allow, and decides what a failure
means from the error's class (`retryable`, `permanent`, `slow_down`), never from its number:

- `slow_down` (429, busy, timeouts): the provider's limit halves, the item waits a moment and
  goes again without spending one of its retries (up to --max-throttles);
- `permanent` (bad input, no key, not set up): failed at once;
- anything else (upstream failures, unreachable services, bugs): retried --retries times
  with backoff;
- `Interrupted`: the batch stops; the same command goes on from there.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aimusic.batch.backends import make_backend
from aimusic.batch.execute import REMOTE_FILE, RESULT_FILE, error_dict, read_json
from aimusic.batch.expand import Item
from aimusic.batch.lanes import lane_of
from aimusic.batch.library import clear_work, finalize, index_rows, state_dir, work_dir, write_index
from aimusic.batch.limits import AdaptiveLimit, Budget, BudgetError, SlotGate
from aimusic.batch.manifest import Manifest
from aimusic.errors import InputError, InternalError, Interrupted, UsageError, from_dict

MAX_GROUP = 8                                       # the local engine's batch limit (MAX_VARIATIONS)
INDEX_EVERY_S = 1.0
Event = dict[str, Any]


@dataclass
class BatchOptions:
    out_dir: Path
    budget: float | None = None
    concurrency: int = 8            # hosted requests in flight per provider (the AIMD ceiling)
    workers: int | None = None      # offline processes (default: every core)
    retries: int = 2                # further tries of a failed item, per run
    finish: str | None = None
    format: str | None = None
    runner: str = "local"           # local | ray
    ray_address: str | None = None
    ray_init: dict[str, Any] = field(default_factory=dict)  # extra ray.init arguments (tests: num_cpus)
    options: dict[str, Any] = field(default_factory=dict)   # engine options (poll_interval, model_path, ...)
    max_throttles: int = 30         # 429s tolerated per item before it counts as failed


@dataclass
class BatchReport:
    total: int
    done: int
    failed: list[dict[str, Any]]
    blocked: list[str]
    not_run: list[str]              # left pending (budget reached, or interrupted)
    spent_usd: float
    audio_seconds: float
    wall_s: float
    stopped_by_budget: bool
    index_csv: str
    index_json: str
    throttles: int
    resumed: int
    adopted: int

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


_RETRY_IN = re.compile(r"retrying in ([0-9.]+) s")


def _is_rate_limit(message: str) -> bool:
    return "HTTP 429" in message or "rate limit" in message.lower()


class Scheduler:
    def __init__(self, items: list[Item], opts: BatchOptions, backend: Any,
                 on_event: Callable[[Event], None] | None = None,
                 cancel_event: threading.Event | None = None) -> None:
        self.items = items
        self.by_key = {item.key: item for item in items}
        self.opts = opts
        self.out_dir = Path(opts.out_dir)
        self.backend = backend
        self.emit = on_event or (lambda event: None)
        self.cancel = cancel_event or threading.Event()
        self.manifest = Manifest(state_dir(self.out_dir) / "manifest.sqlite")
        self.limits: dict[str, AdaptiveLimit] = {}
        self.in_flight: dict[Any, dict[str, Any]] = {}
        self.not_before: dict[str, float] = {}
        self.budget = Budget(opts.budget, self.emit)
        self.counters = {"resumed": 0, "adopted": 0}
        self._last_index = 0.0
        self.started_at = time.monotonic()
        self.queue: deque[Item] = deque()
        self.jobs_per_provider: dict[str, int] = {}

    # --- set-up ------------------------------------------------------------------------

    def prepare(self) -> None:
        """Record the items, give failed ones fresh retries, and adopt work a killed run finished."""
        self.manifest.add_items(self.items)
        for provider in sorted({i.provider for i in self.items}):
            try:  # import engines here once, not in a dozen threads at the same moment
                from aimusic.engines.registry import engine_class

                engine_class(provider)
            except Exception:
                pass
        self.manifest.reset_for_run([i.key for i in self.items])
        rows = self.manifest.rows()
        for item in self.items:
            row = rows[item.key]
            if row["state"] == "done":
                clear_work(self.out_dir, item.key)
                continue
            outcome = read_json(work_dir(self.out_dir, item.key) / RESULT_FILE)
            if isinstance(outcome, dict) and outcome.get("ok"):
                outcome["adopted"] = True
                self._complete(outcome)
                continue
            remote = read_json(work_dir(self.out_dir, item.key) / REMOTE_FILE)
            if isinstance(remote, dict) and remote.get("remote_id") and not row.get("remote_id"):
                self.manifest.set_remote_id(item.key, remote.get("provider") or item.provider, remote["remote_id"])

    def remaining_estimate(self) -> tuple[float, float]:
        """(money already spent on this batch's items, estimated cost of the items not done yet)."""
        rows = self.manifest.rows()
        spent = sum(float(rows[i.key]["cost_usd"] or 0) for i in self.items if rows[i.key]["state"] == "done")
        todo = sum(i.est_cost for i in self.items if rows[i.key]["state"] != "done")
        return spent, todo

    # --- the loop ----------------------------------------------------------------------

    def run(self) -> BatchReport:
        try:
            self._loop()
        except KeyboardInterrupt:
            # Ctrl-C: running jobs stop now (a hosted one is cancelled, as `aimusic run` does);
            # the manifest keeps what finished, and the same command goes on from there
            self.cancel.set()
            raise
        finally:
            self.backend.close()
            self._write_index(force=True)
        return self._report()

    def _loop(self) -> None:
        queue = self.queue = deque(item for item in self.items)
        while True:
            queue = self.queue
            if self.cancel.is_set():
                raise Interrupted("interrupted; finished items are kept, re-run the same command to go on")
            self._collect_remote_ids()
            rows = self.manifest.states()
            waiting = deque()
            while queue:
                item = queue.popleft()
                state = rows[item.key]["state"]
                if state in ("done", "failed", "blocked"):
                    continue
                if not self._try_start(item, rows, queue):
                    waiting.append(item)
            queue = self.queue = waiting
            if not self.in_flight:
                if not queue:
                    return
                if not any(self._could_ever_start(item, rows) for item in queue):
                    return
                time.sleep(0.02)
                continue
            for handle, outcome in self.backend.wait(list(self.in_flight), timeout=0.2):
                self._finish(handle, outcome)
            self._write_index()

    def _could_ever_start(self, item: Item, rows: dict[str, Any]) -> bool:
        if self.stopped_by_budget and item.est_cost > 0 and not rows[item.key].get("remote_id"):
            return False
        if item.depends_on:
            dep = rows.get(item.depends_on, {}).get("state")
            if dep in ("failed", "blocked"):
                return False
        return True

    def _try_start(self, item: Item, rows: dict[str, Any], queue: deque) -> bool:
        row = rows[item.key]
        if item.depends_on:
            dep = rows.get(item.depends_on, {}).get("state")
            if dep in ("failed", "blocked"):
                self.manifest.mark_blocked(item.key, f"its draft {item.depends_on} failed")
                self.emit({"event": "blocked", "key": item.key, "seq": item.seq, "title": item.title})
                return True
            if dep != "done":
                return False
        if time.monotonic() < self.not_before.get(item.key, 0.0):
            return False
        lane = lane_of(item)
        limit = self._limit(item) if lane.startswith("hosted:") else None
        gated = limit is not None and getattr(self.backend, "gates", False)
        if limit is not None:
            if gated:
                # jobs wait for their slot inside the worker (SlotGate): keep a few prepared ahead
                # (not under a budget: a prepared job is a committed one, priced before the
                # provider's real bills have taught us anything)
                ahead = 0 if self.opts.budget is not None else max(2, limit.ceiling // 2)
                if limit.paused() or self.jobs_per_provider.get(item.provider, 0) >= max(1, int(limit.limit)) + ahead:
                    return False
            elif not limit.can_start():
                return False
        if not self.backend.has_capacity(lane):
            return False
        remote_id = row.get("remote_id")
        if not remote_id and not self._budget_allows(item):
            return False
        group = [item]
        if lane == "local" and not remote_id:
            group += self._group_with(item, queue, rows)
        job = self._job(group, remote_id)
        on_remote_id = None
        if lane.startswith("hosted:"):
            def on_remote_id(request_id: str, key: str = item.key, provider: str = item.provider) -> None:
                self.manifest.set_remote_id(key, provider, request_id)
        for member in group:
            self.manifest.mark_running(member.key)
        gate = SlotGate(limit, item.provider, bool(remote_id), self.cancel) if gated else None
        handle = self.backend.submit(lane, job, on_remote_id=on_remote_id, log=self._log_for(item), gate=gate)
        if limit is not None:
            self.jobs_per_provider[item.provider] = self.jobs_per_provider.get(item.provider, 0) + 1
            if not gated:
                limit.acquire()
        self.in_flight[handle] = {"job": job, "lane": lane, "items": group, "limit": limit, "gated": gated,
                                  "est": sum(self._estimate(m) for m in group), "started": time.monotonic()}
        if remote_id:
            self.counters["resumed"] += 1
        self.emit({"event": "start", "key": item.key, "seq": item.seq, "title": item.title, "lane": lane,
                   "resume_remote_id": remote_id, "group": len(group)})
        return True

    def _group_with(self, first: Item, queue: deque, rows: dict[str, Any]) -> list[Item]:
        """Queued local items that differ from `first` only by the next seeds: one batched call."""
        if first.seed is None:
            return []
        shape = {k: v for k, v in first.input.items() if k != "seed"}
        found = []
        for other in list(queue):
            if len(found) + 1 >= MAX_GROUP:
                break
            if other.model != first.model or other.provider != first.provider or other.depends_on \
                    or rows[other.key]["state"] in ("done", "failed", "blocked") or rows[other.key].get("remote_id"):
                continue
            if other.seed != first.seed + len(found) + 1 or \
                    {k: v for k, v in other.input.items() if k != "seed"} != shape:
                continue
            if not self._budget_allows(other):
                break
            found.append(other)
            queue.remove(other)
        return found

    def _job(self, group: list[Item], remote_id: str | None) -> dict[str, Any]:
        first = group[0]
        return {"key": first.key, "keys": [m.key for m in group], "model": first.model,
                "provider": first.provider, "input": first.input, "work_dir": str(work_dir(self.out_dir, first.key)),
                "finish": self.opts.finish, "format": self.opts.format, "options": dict(self.opts.options),
                "remote_id": remote_id, "variations": len(group), "gather": False,
                "items": [m.to_dict() for m in group], "out_dir": str(self.out_dir)}

    def _limit(self, item: Item) -> AdaptiveLimit:
        if item.provider not in self.limits:
            self.limits[item.provider] = AdaptiveLimit(self.opts.concurrency)
        return self.limits[item.provider]

    def _log_for(self, item: Item) -> Callable[[str], None]:
        def log(message: str) -> None:
            if _is_rate_limit(message):
                found = _RETRY_IN.search(message)
                limit = self.limits.get(item.provider)
                if limit is not None and limit.throttle(float(found.group(1)) if found else None):
                    self.emit({"event": "throttle", "provider": item.provider, "limit": int(limit.limit),
                               "message": message})
        return log

    def _collect_remote_ids(self) -> None:
        """Ray workers write remote.json into the shared work dir; fold new ids into the manifest."""
        if not getattr(self.backend, "remote_ids_by_file", False):
            return
        for info in self.in_flight.values():
            item = info["items"][0]
            if info.get("remote_seen") or not info["lane"].startswith("hosted:"):
                continue
            remote = read_json(work_dir(self.out_dir, item.key) / REMOTE_FILE)
            if isinstance(remote, dict) and remote.get("remote_id"):
                self.manifest.set_remote_id(item.key, item.provider, remote["remote_id"])
                info["remote_seen"] = True

    # --- budget ------------------------------------------------------------------------

    def _estimate(self, item: Item) -> float:
        return self.budget.estimate(item)

    def _budget_allows(self, item: Item) -> bool:
        return self.budget.allows(item, lambda: self.manifest.spent([i.key for i in self.items])
                                  + sum(info["est"] for info in self.in_flight.values()))

    @property
    def stopped_by_budget(self) -> bool:
        return self.budget.stopped

    # --- outcomes ----------------------------------------------------------------------

    def _finish(self, handle: Any, outcome: dict[str, Any]) -> None:
        info = self.in_flight.pop(handle)
        limit: AdaptiveLimit | None = info["limit"]
        if limit is not None:
            provider = info["items"][0].provider
            self.jobs_per_provider[provider] -= 1
            if not info["gated"]:
                limit.release()
            if outcome.get("ok"):
                limit.succeeded()
        if outcome.get("ok"):
            self._complete(outcome)
            return
        error = outcome.get("error") or error_dict(InternalError("unknown failure"))
        for item in info["items"]:
            self._failed(item, error, limit, followed=bool(info["job"].get("remote_id")))

    def _complete(self, outcome: dict[str, Any]) -> None:
        if "payload" in outcome:  # gathered back from a worker without shared storage
            out = work_dir(self.out_dir, outcome["key"]) / "out"
            out.mkdir(parents=True, exist_ok=True)
            from aimusic.output import write_file_atomic

            for name, data in outcome.pop("payload").items():
                write_file_atomic(out / name, data)
            import json as _json

            write_file_atomic(work_dir(self.out_dir, outcome["key"]) / RESULT_FILE,
                              _json.dumps(outcome, default=str).encode())
        records = outcome.pop("records", None) or finalize(outcome, self.by_key, self.out_dir)
        if outcome.get("adopted"):
            self.counters["adopted"] += 1
        for key, record in records.items():
            item = self.by_key[key]
            self.manifest.mark_done(key, record, record["cost_usd"], record["seconds"], record["loudness_lufs"])
            self.budget.learn(item, record["cost_usd"])
            self.emit({"event": "item", "state": "done", "key": key, "seq": item.seq, "title": item.title,
                       "model": item.model, "provider": item.provider, "language": item.language,
                       "files": [f["file"] for f in record["files"]], "seconds": record["seconds"],
                       "cost_usd": record["cost_usd"], "loudness_lufs": record["loudness_lufs"],
                       "resumed": bool(record.get("resumed")), "adopted": bool(outcome.get("adopted"))})
        for key in outcome.get("keys") or [outcome["key"]]:
            clear_work(self.out_dir, key)
        clear_work(self.out_dir, outcome["key"])

    def _failed(self, item: Item, error: dict[str, Any], limit: AdaptiveLimit | None,
                followed: bool = False) -> None:
        row = self.manifest.row(item.key) or {}
        fault = from_dict(error)  # the class again (the dict crossed a thread, process or node)
        if isinstance(fault, Interrupted):
            self.manifest.mark_failed(item.key, error, final=False, count_attempt=False)
            self.cancel.set()
            return
        if fault.slow_down:
            if limit is not None and limit.throttle():
                self.emit({"event": "throttle", "provider": item.provider, "limit": int(limit.limit),
                           "message": error.get("message")})
            final = int(row.get("throttled") or 0) + 1 > self.opts.max_throttles
            self.manifest.mark_failed(item.key, error, final=final, count_attempt=False, throttled=True)
            self.not_before[item.key] = time.monotonic() + 1.0
            if not final:
                self.queue.appendleft(item)
            self.emit({"event": "failed" if final else "retry", "key": item.key, "seq": item.seq,
                       "title": item.title, "error": error})
            return
        # following an old request id can fail for reasons that say nothing about the input
        # (the request expired, was cancelled): a fresh submit may well work
        permanent = fault.permanent and not (followed and isinstance(fault, (UsageError, InputError)))
        attempts = int(row.get("attempts") or 0) + 1
        final = permanent or attempts > self.opts.retries
        if row.get("remote_id"):
            # the hosted request ended (failed remotely): a retry must submit anew
            self.manifest.clear_remote_id(item.key)
            clear_work(self.out_dir, item.key)
        self.manifest.mark_failed(item.key, error, final=final)
        self.not_before[item.key] = time.monotonic() + min(0.25 * 2 ** attempts, 10.0)
        if not final:
            self.queue.appendleft(item)
        self.emit({"event": "failed" if final else "retry", "key": item.key, "seq": item.seq,
                   "title": item.title, "error": error, "attempt": attempts})

    # --- results -----------------------------------------------------------------------

    def _write_index(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_index < INDEX_EVERY_S:
            return
        self._last_index = now
        write_index(self.out_dir, index_rows(self.items, self.manifest.rows()))

    def _report(self) -> BatchReport:
        rows = self.manifest.rows()
        mine = [rows[i.key] for i in self.items]
        failed = [{"key": r["key"], "seq": r["seq"], "title": self.by_key[r["key"]].title,
                   "code": r["error_code"], "type": r.get("error_type"), "message": r["error"]} for r in mine if r["state"] == "failed"]
        throttles = sum(limit.throttles for limit in self.limits.values())
        report = BatchReport(
            total=len(self.items), done=sum(r["state"] == "done" for r in mine), failed=failed,
            blocked=[r["key"] for r in mine if r["state"] == "blocked"],
            not_run=[r["key"] for r in mine if r["state"] in ("pending", "running", "submitted")],
            spent_usd=round(sum(float(r["cost_usd"] or 0) for r in mine if r["state"] == "done"), 6),
            audio_seconds=round(sum(float(r["seconds"] or 0) for r in mine if r["state"] == "done"), 3),
            wall_s=round(time.monotonic() - self.started_at, 3), stopped_by_budget=self.stopped_by_budget,
            index_csv=str(self.out_dir / "index.csv"), index_json=str(self.out_dir / "index.json"),
            throttles=throttles, resumed=self.counters["resumed"], adopted=self.counters["adopted"])
        self.manifest.close()
        return report


def run_batch(items: list[Item], opts: BatchOptions, *, on_event: Callable[[Event], None] | None = None,
              cancel_event: threading.Event | None = None, check_budget: bool = True) -> BatchReport:
    """Run (or resume) a batch of items into `opts.out_dir`; see the module docstring."""
    cancel_event = cancel_event or threading.Event()
    out_dir = Path(opts.out_dir).expanduser()
    opts.out_dir = out_dir
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"output dir {out_dir} exists and is not a directory", field="output_dir")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output dir {out_dir}: {exc.strerror}", field="output_dir") from None
    backend = None
    lock = _lock_library(out_dir)
    try:
        scheduler = Scheduler(items, opts, _Deferred(), on_event, cancel_event)
    except BaseException:
        lock.close()
        raise
    scheduler.lock = lock
    try:
        scheduler.prepare()
        if check_budget and opts.budget is not None:
            spent, todo = scheduler.remaining_estimate()
            if spent + todo > opts.budget + 1e-9:
                raise BudgetError(f"the plan costs about ${spent + todo:.4f} (${spent:.4f} already spent, "
                                  f"${todo:.4f} to go), more than the budget of ${opts.budget:.4f}",
                                  field="budget", hint="raise --budget or trim the batch")
        backend = make_backend(opts, cancel_event)
    except BaseException:
        scheduler.manifest.close()
        lock.close()
        raise
    scheduler.backend = backend
    try:
        return scheduler.run()
    finally:
        lock.close()


def _lock_library(out_dir: Path) -> Any:
    """One driver per library: a second `batch` on the same directory would run items twice."""
    import fcntl

    path = state_dir(out_dir) / "lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        from aimusic.errors import RetryableError

        # busy is 75 (the README's table): the same command works once the other batch ends
        raise RetryableError(f"another batch is running in {out_dir}", field="output_dir",
                             hint="wait for it to finish, or use another output directory") from None
    return handle


class _Deferred:
    """Stands in for the backend while the scheduler prepares (nothing runs then)."""

    def close(self) -> None:
        return None

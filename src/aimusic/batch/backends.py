"""Where batch jobs run. The scheduler hands a backend jobs (plain dicts) per lane:

- `LocalBackend`: hosted jobs on threads (they wait on the network), offline sketch jobs on
  a process pool using every core (they are CPU-bound numpy/Python), local ACE-Step jobs on
  one thread that keeps the pipeline loaded, with matching requests grouped into one batched
  pipeline call (`variations`, consecutive seeds, up to the engine's batch limit).
- `RayBackend` (batch/ray_runner.py): one Ray task per hosted/offline job, one long-lived
  actor per GPU for local ACE-Step jobs.

A backend offers `has_capacity(lane)`, `submit(lane, job, ...)`, `wait(handles, timeout)`
and `close()`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from aimusic.batch.limits import SlotGate
from aimusic.errors import InputError, Interrupted


class LocalBackend:
    """Threads for hosted and plugin jobs, a process pool for offline jobs, one thread for the GPU."""

    remote_ids_by_file = False
    gates = True

    def __init__(self, opts: Any, cancel_event: threading.Event) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.opts = opts
        self.cancel = cancel_event
        self.workers = max(1, opts.workers or os.cpu_count() or 1)
        self.threads = ThreadPoolExecutor(max_workers=max(4, opts.concurrency * 4), thread_name_prefix="batch")
        from aimusic.batch.execute import warm_up

        threading.Thread(target=warm_up, daemon=True, name="batch-warm-up").start()
        self.gpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-gpu")
        self._processes = None
        self.busy: dict[str, int] = {}

    @property
    def processes(self) -> Any:
        if self._processes is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # spawn: the driver has threads running, and fork() with threads is unsafe
            self._processes = ProcessPoolExecutor(max_workers=self.workers,
                                                  mp_context=multiprocessing.get_context("spawn"))
        return self._processes

    def has_capacity(self, lane: str) -> bool:
        busy = self.busy.get(lane, 0)
        if lane == "offline":
            return busy < self.workers
        if lane == "local":
            return busy < 1
        if lane == "thread":
            return busy < self.opts.concurrency
        return busy < self.opts.concurrency * 4  # hosted: the provider's AdaptiveLimit decides

    def submit(self, lane: str, job: dict[str, Any], *, on_remote_id: Callable[[str], None] | None,
               log: Callable[[str], None] | None, gate: SlotGate | None = None) -> Any:
        from aimusic.batch.execute import execute

        self.busy[lane] = self.busy.get(lane, 0) + 1
        if lane == "offline":
            future = self.processes.submit(execute, job)
        elif lane == "local":
            future = self.gpu.submit(_threaded, job, on_remote_id, log, self.cancel, None)
        else:
            future = self.threads.submit(_threaded, job, on_remote_id, log, self.cancel, gate)
        future.lane = lane  # type: ignore[attr-defined]
        return future

    def wait(self, handles: list[Any], timeout: float) -> list[tuple[Any, dict[str, Any]]]:
        from concurrent.futures import FIRST_COMPLETED, wait

        done, _ = wait(handles, timeout=timeout, return_when=FIRST_COMPLETED)
        results = []
        for future in done:
            self.busy[future.lane] -= 1
            try:
                outcome = future.result()
            except BaseException as exc:  # a worker process that died (BrokenProcessPool), say
                from aimusic.batch.execute import error_dict

                outcome = {"ok": False, "error": error_dict(exc)}
                if "BrokenProcessPool" in exc.__class__.__name__:
                    self._processes = None
            results.append((future, outcome))
        return results

    def close(self) -> None:
        for pool in (self.threads, self.gpu, self._processes):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)


def _threaded(job: dict[str, Any], on_remote_id: Callable[[str], None] | None,
              log: Callable[[str], None] | None, cancel: threading.Event,
              gate: SlotGate | None) -> dict[str, Any]:
    from aimusic.batch.execute import error_dict, execute

    if cancel.is_set():
        return {"ok": False, "key": job["key"], "error": error_dict(Interrupted("interrupted before it started"))}
    try:
        if gate is not None:
            gate.start()
        outcome = execute(job, on_remote_id=on_remote_id, log=log, cancel_event=cancel,
                          progress=gate.progress if gate is not None else None)
    except BaseException as exc:  # noqa: BLE001 - cancelled while waiting for a slot
        return {"ok": False, "key": job["key"], "error": error_dict(exc)}
    finally:
        if gate is not None:
            gate.end()
    return outcome


def make_backend(opts: Any, cancel_event: threading.Event) -> Any:
    if opts.runner == "ray":
        from aimusic.batch.ray_runner import RayBackend

        return RayBackend(opts)
    if opts.runner != "local":
        raise InputError(f"unknown runner {opts.runner!r}", field="runner", hint="local or ray")
    return LocalBackend(opts, cancel_event)



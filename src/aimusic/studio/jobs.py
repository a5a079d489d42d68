"""Jobs as resources: long work (generate, edit, finish, replay) in worker threads, each with
a status, a bounded list of progress events, a result or an error, and a cancel event the
engines watch (the same cancellation the MCP server uses: the output dir is left as it was).

An `Idempotency-Key` names a creation: the same key with the same body returns the job made
the first time (a retried POST never pays twice); the same key with another body is refused.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from aimusic.errors import AimusicError, Interrupted, RetryableError, error_of

MAX_EVENTS = 500        # per job: the newest are kept (the status is always current)
MAX_JOBS = 200          # finished jobs beyond this are forgotten, oldest first
MAX_WAITING = 16        # queued jobs; one more is 429, retry later
FINISHED = ("succeeded", "failed", "cancelled")

Work = Callable[[Callable[..., None], threading.Event], dict[str, Any]]


class IdempotencyConflict(AimusicError):
    """The key was already used for a different request."""

    exit_code = 65
    type = "bad_input"
    permanent = True
    advice = "Use a new Idempotency-Key for a different request."


def fingerprint(kind: str, request: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps([kind, request], sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Job:
    id: str
    kind: str
    request: dict[str, Any]
    fingerprint: str
    status: str = "queued"
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    seq: int = 0
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def to_dict(self) -> dict[str, Any]:
        last = self.events[-1] if self.events else None
        return {"id": self.id, "kind": self.kind, "status": self.status, "request": self.request,
                "created_at": self.created_at, "started_at": self.started_at, "finished_at": self.finished_at,
                "progress": last, "result": self.result, "error": self.error}


class JobStore:
    def __init__(self, workers: int = 1, describe: Callable[[Job, dict[str, Any]], dict[str, Any]] | None = None,
                 error_body: Callable[[AimusicError], dict[str, Any]] | None = None) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._keys: dict[str, str] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="aimusic-studio-job")
        self._describe = describe or (lambda job, result: result)
        self._error_body = error_body or (lambda error: error.to_dict())

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created_at, reverse=True)

    def create(self, kind: str, request: dict[str, Any], work: Work, key: str | None = None) -> tuple[Job, bool]:
        """(job, created): an existing job when `key` was used before with the same request."""
        digest = fingerprint(kind, request)
        with self._lock:
            if key is not None and key in self._keys:
                job = self._jobs.get(self._keys[key])
                if job is not None:
                    if job.fingerprint != digest:
                        raise IdempotencyConflict("this Idempotency-Key was already used for a different request",
                                                  field="Idempotency-Key")
                    return job, False
            waiting = sum(1 for j in self._jobs.values() if j.status == "queued")
            if waiting >= MAX_WAITING:
                raise RetryableError(f"{waiting} jobs are already waiting: try again when one has finished")
            job = Job(id=uuid.uuid4().hex[:16], kind=kind, request=request, fingerprint=digest)
            self._jobs[job.id] = job
            if key is not None:
                self._keys[key] = job.id
            self._forget_old()
        self._event(job, "queued", 0, None, "waiting for a worker")
        self._pool.submit(self._run, job, work)
        return job, True

    def cancel(self, job: Job) -> None:
        job.cancel_event.set()
        with self._lock:
            if job.status == "queued":
                job.status, job.finished_at = "cancelled", time.time()
                job.error = self._error_body(Interrupted("cancelled before it started"))
        if job.status == "cancelled":
            self._event(job, "cancelled", 1, 1, "cancelled")

    def shutdown(self) -> None:
        for job in self.list():
            job.cancel_event.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _forget_old(self) -> None:
        done = sorted((j for j in self._jobs.values() if j.finished), key=lambda j: j.created_at)
        for job in done[:max(0, len(self._jobs) - MAX_JOBS)]:
            del self._jobs[job.id]
            for key in [k for k, v in self._keys.items() if v == job.id]:
                del self._keys[key]

    def _event(self, job: Job, stage: str, done: float, total: float | None, message: str = "") -> None:
        from aimusic.config import redact

        with self._lock:
            job.seq += 1
            job.events.append({"seq": job.seq, "stage": stage, "done": done, "total": total,
                               "message": redact(str(message)), "status": job.status, "t": time.time()})
            del job.events[:-MAX_EVENTS]

    def _run(self, job: Job, work: Work) -> None:
        with self._lock:
            if job.status != "queued":  # cancelled while it waited
                return
            job.status, job.started_at = "running", time.time()
        self._event(job, "started", 0, None, "")
        try:
            result = work(lambda stage, done, total=None, message="": self._event(job, stage, done, total, message),
                          job.cancel_event)
            described = self._describe(job, result)
            with self._lock:
                job.result, job.status = described, "succeeded"
        except BaseException as exc:  # every failure ends in the job's error, never a dead worker
            error = error_of(exc)
            with self._lock:
                job.error = self._error_body(error)
                job.status = "cancelled" if isinstance(error, Interrupted) or job.cancel_event.is_set() else "failed"
        job.finished_at = time.time()
        self._event(job, job.status, 1, 1, (job.error or {}).get("message", "done"))

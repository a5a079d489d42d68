"""The limits a batch runs under: per-provider adaptive concurrency (`AdaptiveLimit`), the
provider slot a job holds only for its remote phase (`SlotGate`), and the money budget
(`Budget`).

Hosted providers each get an AIMD limit: it starts at --concurrency, halves when the provider
says to slow down (a 429 in the engine's retry notices, or a failure whose class has
`slow_down`), and grows back by one slot per window of successes. A 429 therefore slows the
batch down instead of failing it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from aimusic.batch.lanes import remote_phases
from aimusic.errors import InputError, Interrupted


class BudgetError(InputError):
    """The budget does not cover the plan, or was reached before every item ran (exit 65)."""


class AdaptiveLimit:
    """Additive-increase / multiplicative-decrease concurrency for one provider.

    `in_flight` counts requests that hold a slot at the provider. With the local backend a job
    takes its slot only for its remote phase (RunComfy: from submit until the result is ready;
    ElevenLabs: while composing), so the next job's preparation and the last one's download
    overlap with the provider's work; see `SlotGate`.
    """

    def __init__(self, ceiling: int) -> None:
        self.ceiling = max(1, int(ceiling))
        self.limit = float(self.ceiling)
        self.in_flight = 0
        self.pause_until = 0.0
        self.last_cut = 0.0
        self.throttles = 0
        self.cond = threading.Condition()

    def paused(self) -> bool:
        return time.monotonic() < self.pause_until

    def can_start(self) -> bool:
        with self.cond:
            return not self.paused() and self.in_flight < max(1, int(self.limit))

    def acquire(self, cancel: threading.Event | None = None) -> None:
        """Wait for a free slot (and for any Retry-After pause to pass), then take it."""
        with self.cond:
            while True:
                now = time.monotonic()
                if now >= self.pause_until and self.in_flight < max(1, int(self.limit)):
                    self.in_flight += 1
                    return
                if cancel is not None and cancel.is_set():
                    raise Interrupted("cancelled while waiting for a provider slot")
                self.cond.wait(timeout=min(0.05, max(self.pause_until - now, 0.005)))

    def release(self) -> None:
        with self.cond:
            self.in_flight = max(0, self.in_flight - 1)
            self.cond.notify_all()

    def succeeded(self) -> None:
        with self.cond:
            self.limit = min(float(self.ceiling), self.limit + 1.0 / max(self.limit, 1.0))
            self.cond.notify_all()

    def throttle(self, retry_after: float | None = None) -> bool:
        """Halve the limit (at most once a second: one burst of 429s is one signal) and pause."""
        with self.cond:
            now = time.monotonic()
            self.throttles += 1
            self.pause_until = max(self.pause_until, now + min(retry_after if retry_after is not None else 1.0, 60.0))
            if now - self.last_cut < 1.0:
                return False
            self.last_cut = now
            self.limit = max(1.0, self.limit / 2.0)
            return True


class SlotGate:
    """Holds a job's provider slot for its remote phase only, driven by the engine's progress
    stages; providers without known stages (and resumed requests) hold it for the whole job."""

    def __init__(self, limit: AdaptiveLimit, provider: str, resumed: bool, cancel: threading.Event) -> None:
        self.limit = limit
        self.cancel = cancel
        self.phases = None if resumed else remote_phases(provider)
        self.held = False
        self.done = False

    def start(self) -> None:
        if self.phases is None:
            self._take()

    def progress(self, stage: str, done: float, total: float | None = None, message: str = "") -> None:
        if self.phases is None or self.done:
            return
        (open_stage, open_at), (close_stage, close_at) = self.phases
        if not self.held and stage == open_stage and (open_at is None or done == open_at) \
                and not (stage == close_stage and close_at is not None and done >= close_at):
            self._take()
        elif self.held and stage == close_stage and (close_at is None or done >= close_at):
            self.end()

    def _take(self) -> None:
        self.limit.acquire(self.cancel)
        self.held = True

    def end(self) -> None:
        if self.held:
            self.held = False
            self.done = True
            self.limit.release()



class Budget:
    """The money a batch may spend: estimates that learn from what providers really bill."""

    def __init__(self, limit: float | None, emit: Callable[[dict[str, Any]], None]) -> None:
        self.limit = limit
        self.emit = emit
        self.cost_ratio: dict[str, float] = {}   # model -> the most it billed over its estimate
        self.stopped = False                     # reached: no more paid items start

    def estimate(self, item: Any) -> float:
        # Providers may bill more than the table says: once they have, expect it of the rest too.
        return item.est_cost * max(1.0, self.cost_ratio.get(item.model, 1.0))

    def learn(self, item: Any, billed: float | None) -> None:
        if item.est_cost > 0 and billed:
            ratio = float(billed) / item.est_cost
            self.cost_ratio[item.model] = max(self.cost_ratio.get(item.model, 1.0), ratio)

    def allows(self, item: Any, committed: Callable[[], float]) -> bool:
        """Whether `item` may start, given the money spent or committed so far (`committed()`)."""
        budget = self.limit
        estimate = self.estimate(item)
        if budget is None or estimate <= 0:
            return True
        if self.stopped:
            return False
        spent = committed()
        if spent + estimate > budget + 1e-9:
            self.stopped = True
            self.emit({"event": "budget", "message": f"budget ${budget:.4f} reached: ${spent:.4f} spent or "
                                                    f"committed, next item would cost ~${estimate:.4f}; "
                                                    "starting no more paid items"})
            return False
        return True

"""Limits and chaining: an outpaint whose result would pass a model's limit becomes several calls.

Each later call extends a *context clip* (the tail, or head, of the previous result) so that
context + new material stays within the model's limit; the runner joins the results.
"""

from __future__ import annotations

import math

from aimusic.errors import InputError
from aimusic.schemas.limits import MAX_CHAIN_STEPS

MIN_CONTEXT_SECONDS = 30.0   # less context than this and the continuation loses the groove


def chain_extension(source_seconds: float, before: float, after: float, max_total: float
                    ) -> list[tuple[float, float, float, bool, str]]:
    """Calls as (before, after, context_seconds, whole_source, side) tuples.

    The first call extends the whole source as far as the limit allows (before first, then after);
    each later call takes the last (or first) `context` seconds of the result so far and adds as
    much as fits in `max_total`. One call when everything fits.
    """
    if source_seconds + before + after <= max_total + 1e-9:
        return [(before, after, source_seconds, True, "both")]
    calls: list[tuple[float, float, float, bool, str]] = []
    current = source_seconds
    remaining_before, remaining_after = before, after
    if current < max_total:
        room = max_total - current
        b = min(remaining_before, room)
        a = min(remaining_after, room - b)
        if b or a:
            calls.append((b, a, current, True, "both"))
            remaining_before -= b
            remaining_after -= a
            current += a + b
    # keep at least MIN_CONTEXT_SECONDS of context (half the limit for models with tiny limits), so
    # every call adds a positive amount and the loop ends
    budget = max_total - min(MIN_CONTEXT_SECONDS, max_total / 2.0)
    if budget <= 0:
        raise ValueError(f"a model limit of {max_total} s leaves no room to extend")
    needed = math.ceil(remaining_before / budget - 1e-9) + math.ceil(remaining_after / budget - 1e-9)
    if not math.isfinite(remaining_before + remaining_after) or needed + len(calls) > MAX_CHAIN_STEPS:
        raise InputError(f"extending by {before + after:g} s would take more than {MAX_CHAIN_STEPS} chained "
                         f"calls of at most {max_total:g} s", field="duration",
                         hint="ask for a shorter extension")
    for side in ("before", "after"):
        remaining = remaining_before if side == "before" else remaining_after
        while remaining > 1e-9:
            add = min(remaining, budget)
            context = min(current, max_total - add)
            calls.append((add if side == "before" else 0.0, add if side == "after" else 0.0,
                          context, context >= current - 1e-9, side))
            remaining -= add
            current += add
    return calls

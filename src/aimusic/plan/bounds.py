"""The sizes a plan may have, checked before any planning work (a separate module so that the
planner's own modules stay free of it): the request's length and digits, a finite budget, the
length of the piece, how many takes it asks for. The limits live in `aimusic.schemas.limits`."""

from __future__ import annotations

from aimusic.errors import InputError
from aimusic.schemas import MAX_TEXT
from aimusic.schemas.limits import MAX_PLAN_SECONDS, MAX_TAKES, check_text, finite


def check_request(request: str, lyrics: str | None, budget_usd: float | None) -> None:
    """Before planning: a request parsing stays fast on (no huge numbers, a bounded length)."""
    check_text(request, "request", "the request")
    if lyrics is not None:
        if not isinstance(lyrics, str):
            raise InputError("lyrics must be text", field="lyrics")
        check_text(lyrics, "lyrics", "the lyrics", max_chars=MAX_TEXT)
    finite(budget_usd, "budget", "the budget")


def check_length(seconds: float | None, count: int) -> None:
    """After the length and count are decided: within what one plan may make."""
    if seconds is not None and not 0 < seconds <= MAX_PLAN_SECONDS:
        raise InputError(f"a length of {seconds:g} s is outside what one plan makes (more than 0, at most "
                         f"{MAX_PLAN_SECONDS:g} s)", field="duration",
                         hint="ask for a shorter piece, or make several pieces in a batch")
    if count > MAX_TAKES:
        raise InputError(f"{count} takes is more than the {MAX_TAKES} one plan makes", field="count",
                         hint="split it into several batch entries")

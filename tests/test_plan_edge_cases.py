"""Planner edge cases found while integrating it with the skill and the engines."""

from __future__ import annotations

import pytest

from aimusic.plan import make_plan
from aimusic.plan.times import find_count


@pytest.mark.parametrize("text", ["a seamless 90 second game loop", "a 90 second loop", "90 seconds game loop",
                                  "a 10-second jingle", "2 minute theme"])
def test_a_length_is_not_a_count(text):
    assert find_count(text) is None


@pytest.mark.parametrize(("text", "count"), [("50 tracks", 50), ("3 loops of 30 seconds", 3),
                                             ("50 background tracks, 60 seconds each", 50)])
def test_counts_still_parse(text, count):
    assert find_count(text)[0] == count


def test_game_loop_plan_is_one_take():
    plan = make_plan("a seamless 90 second game loop, chiptune, consistent groove", provider="runcomfy")
    assert plan.count == 1 and plan.input["duration"] == 90
    assert plan.estimated_cost_usd == pytest.approx(90 * 0.0002)
    assert "seamless loop" in plan.input["tags"]

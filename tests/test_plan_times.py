"""Time expressions parse to exact seconds."""

import pytest

from aimusic.plan import times


@pytest.mark.parametrize("text,seconds", [
    ("1:05", 65), ("0:30", 30), ("2:00", 120), ("1:05.5", 65.5), ("90s", 90), ("90 s", 90),
    ("90 seconds", 90), ("1 min", 60), ("1.5 minutes", 90), ("2m30s", 150), ("1 minute 30 seconds", 90),
    ("two minutes", 120), ("a minute and a half", 90), ("half a minute", 30), ("twenty-five seconds", 25),
    ("1 min 15 sec", 75), ("3 mins", 180), ("ten seconds", 10), ("00:01:05", 65), ("1:02:03", 3723),
    ("half-minute", 30),
])
def test_time_to_seconds(text, seconds):
    assert times.time_to_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text,window", [
    ("fix the bridge from 1:05 to 1:25", (65, 85, "start", "start")),
    ("redo between 40s and 1 min", (40, 60, "start", "start")),
    ("between 40 and 60 seconds it glitches", (40, 60, "start", "start")),
    ("1:05-1:25 sounds off", (65, 85, "start", "start")),
    ("from 0:30 to 45s", (30, 45, "start", "start")),
    ("repaint 2 to 3 minutes", (120, 180, "start", "start")),
    ("redo the last 15 seconds", (15, 0, "end", "end")),
    ("the final ten seconds are bad", (10, 0, "end", "end")),
    ("fix the first 10 seconds", (0, 10, "start", "start")),
    ("from 1:25 to 1:05", (85, 65, "start", "start")),
    ("fix 1m05s to 1m25s", (65, 85, "start", "start")),
    ("redo 65s-85s", (65, 85, "start", "start")),
    ("from 65 to 85 seconds", (65, 85, "start", "start")),
    ("00:01:05 to 00:01:25", (65, 85, "start", "start")),
    ("from the 1 minute mark to 1:20", (60, 80, "start", "start")),
    ("redo seconds 10 to 20", (10, 20, "start", "start")),
    ("1:05 through 1:25", (65, 85, "start", "start")),
    ("the last half minute", (30, 0, "end", "end")),
    ("the final minute", (60, 0, "end", "end")),
])
def test_find_window(text, window):
    found = times.find_window(text)
    assert found is not None
    assert (found.start, found.end, found.start_anchor, found.end_anchor) == pytest.approx(window) or \
        (found.start, found.end, found.start_anchor, found.end_anchor) == window


@pytest.mark.parametrize("text", ["lofi with 2 and 3 layers", "chill lofi, 80 BPM", "50 tracks"])
def test_no_window(text):
    assert times.find_window(text) is None


@pytest.mark.parametrize("text,before,after,target", [
    ("add a 20 second intro", 20, 0, None),
    ("one more minute at the end", 0, 60, None),
    ("extend it by two minutes", 0, 120, None),
    ("make it 30 seconds longer", 0, 30, None),
    ("add an intro of 10 seconds and a 20s outro", 10, 20, None),
    ("add a minute and a half at the end", 0, 90, None),
    ("add 15 more seconds at the start", 15, 0, None),
    ("I have a 30 s hook, I need 2 min", 0, 0, 120),
    ("extend to 3 minutes", 0, 0, 180),
    ("add another minute", 0, 60, None),
    ("append 45 seconds", 0, 45, None),
    ("prepend 10 seconds", 10, 0, None),
    ("lengthen to 3:00", 0, 0, 180),
    ("add a 1:30 outro", 0, 90, None),
])

def test_find_extension(text, before, after, target):
    ext = times.find_extension(text)
    assert ext is not None
    assert (ext.before, ext.after, ext.target_total) == (before, after, target)


@pytest.mark.parametrize("text,seconds", [
    ("a 10-second sonic logo", 10), ("two minutes of lofi", 120), ("premium brand jingle, 5-15 s", 15),
    ("90 s bed", 90), ("a 2m30s song", 150), ("half a minute of jazz", 30), ("a minute and a half", 90),
])
def test_find_duration(text, seconds):
    assert times.find_duration(text)[0] == seconds


def test_duration_ignores_bpm():
    assert times.find_duration("lofi 80 BPM") is None


@pytest.mark.parametrize("text,count", [("50 tracks of background", 50), ("a dozen loops", 12),
                                        ("20 x 60 s", 20), ("ten short lofi tracks", 10)])
def test_find_count(text, count):
    assert times.find_count(text)[0] == count


def test_split_target_matches_routing_example():
    # routing.md: "I have a 30 s hook, I need 2 min" -> 30 s before + 60 s after
    assert times.split_target(30, 120) == (30, 60)


def test_twice_as_long(wav_file):
    from aimusic.plan import make_plan

    assert times.find_extension("make it twice as long").target_factor == 2.0
    plan = make_plan("make it twice as long", audio=str(wav_file(30.0, sample_rate=8000)), provider="runcomfy")
    assert plan.task == "outpaint"
    assert plan.input["extend_before_duration"] + plan.input["extend_after_duration"] == 30

"""`aimusic plan`: JSON shape, errors and exit codes, budget, chaining, no I/O beyond inputs."""

import json
import socket

import pytest

from aimusic.plan import make_plan

KEYS = {"task", "model", "provider", "input", "estimated_cost_usd", "reasons", "steps"}


def test_plan_json_keys(cli):
    result = cli("plan", "a 10-second sonic logo for our bank, must sound expensive", "--provider", "runcomfy",
                 "--json")
    assert result.code == 0, result.stderr
    data = result.json()
    assert KEYS <= set(data)
    assert data["model"] == "elevenlabs/elevenlabs/music-generation" and data["task"] == "generate"
    assert data["input"]["music_length_ms"] == 10000
    assert data["estimated_cost_usd"] == pytest.approx(0.083)
    assert isinstance(data["steps"], list) and len(data["steps"]) == 1
    assert data["command"].startswith("aimusic run elevenlabs/elevenlabs/music-generation --provider runcomfy")


def test_plan_text_output(cli):
    result = cli("plan", "cheap lofi loop, 80 BPM", "--provider", "runcomfy")
    assert result.code == 0
    for word in ("task:", "model:", "acestep-ai/ace-step/text-to-audio", "cost:", "aimusic run", "because:",
                 "'cheap'"):
        assert word in result.stdout


def test_command_line_round_trips(cli):
    """The printed `aimusic run` line holds exactly the planned input."""
    import shlex

    data = cli("plan", "cheap lofi loop", "--provider", "sketch", "--json").json()
    argv = shlex.split(data["command"])
    assert argv[:3] == ["aimusic", "run", data["model"]]
    assert json.loads(argv[argv.index("--input") + 1]) == data["input"]


@pytest.mark.parametrize("args,needle", [
    (["plan", ""], "empty"),
    (["plan", "   "], "empty"),
    (["plan", "fix the bridge from 1:05 to 1:25"], "--audio"),
    (["plan", "I have a 30 s hook, I need 2 min"], "--audio"),
])
def test_bad_requests_exit_65(cli, args, needle):
    result = cli(*args, "--json")
    assert result.code == 65
    assert needle in json.dumps(result.error())


def test_impossible_windows_exit_65(cli, wav_file):
    source = str(wav_file(20.0, sample_rate=8000))
    result = cli("plan", "fix it from 0:15 to 0:05", "--audio", source)
    assert result.code == 65 and "before it starts" in result.stderr and "earlier time first" in result.stderr
    result = cli("plan", "fix it from 0:10 to 0:40", "--audio", source)
    assert result.code == 65 and "outside" in result.stderr and "inside the track" in result.stderr
    result = cli("plan", "make this song better", "--audio", source)
    assert result.code == 65 and "time range" in result.stderr
    assert cli("plan", "fix 0:01 to 0:02", "--audio", "/no/such/file.wav").code == 66


def test_budget_refuses_and_names_the_figure(cli):
    result = cli("plan", "background music library, 50 tracks", "--provider", "runcomfy", "--budget", "0.5")
    assert result.code == 65 and "$0.6000" in result.stderr
    assert cli("plan", "background music library, 50 tracks", "--provider", "runcomfy", "--budget", "1").code == 0


def test_chained_extension_past_the_limit(wav_file):
    source = wav_file(180.0, sample_rate=4000)
    plan = make_plan("add two minutes at the end", audio=str(source), provider="runcomfy")
    assert plan.task == "outpaint" and len(plan.steps) == 2
    first, second = plan.steps
    assert first.input["extend_after_duration"] == 60 and first.input["audio"] == str(source)
    assert second.input["extend_after_duration"] == 60 and second.join == "append"
    assert second.context_seconds + 60 <= 240
    # every call stays within the 4-minute total and the whole adds 120 s
    assert sum(s.input["extend_after_duration"] for s in plan.steps) == 120
    assert plan.estimated_cost_usd == pytest.approx(sum(s.estimated_cost_usd for s in plan.steps))
    assert any("chained" in r for r in plan.reasons)


def test_long_generate_is_chained():
    plan = make_plan("a six minute ambient piece, cheap", provider="runcomfy")
    assert [s.task for s in plan.steps] == ["generate", "outpaint"]
    assert plan.steps[0].input["duration"] == 240
    assert plan.steps[1].input["extend_after_duration"] == 120 and plan.steps[1].context_seconds == 120
    plan = make_plan("a nine minute ambient piece, cheap", provider="runcomfy")
    assert [s.task for s in plan.steps] == ["generate", "outpaint", "outpaint"]
    assert sum(s.input["extend_after_duration"] for s in plan.steps[1:]) == 300
    assert all(s.context_seconds + s.input["extend_after_duration"] <= 240 for s in plan.steps[1:])


def test_far_window_measured_from_the_end(wav_file):
    source = wav_file(300.0, sample_rate=2000)
    plan = make_plan("redo 4:10 to 4:20", audio=str(source), provider="runcomfy")
    assert (plan.input["start_time"], plan.input["end_time"]) == (50, 40)
    assert plan.input["start_time_relative_to"] == "end"


def test_plan_opens_no_socket_and_writes_nothing(monkeypatch, tmp_path, wav_file):
    source = wav_file(30.0, sample_rate=8000)
    lyrics = tmp_path / "lyrics.txt"
    lyrics.write_text("[Verse]\n我走过那条路\n", encoding="utf-8")

    def refuse(*args, **kwargs):
        raise AssertionError("the planner opened a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    from conftest import run_cli

    for args in (["plan", "premium jingle"], ["plan", "I need 2 min", "--audio", str(source)],
                 ["plan", "a song", "--lyrics", f"@{lyrics}"], ["generate", "lofi", "--dry-run"],
                 ["edit", str(source), "fix 0:05 to 0:10", "--dry-run", "--json"]):
        assert run_cli(*args).code == 0
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_plan_lyrics_from_file_and_warnings(cli, tmp_path):
    path = tmp_path / "l.txt"
    path.write_text("no markers here\n" + "\n".join(["la"] * 3), encoding="utf-8")
    data = cli("plan", "pop song", "--lyrics", f"@{path}", "--provider", "runcomfy", "--json").json()
    assert any("no section markers" in w for w in data["warnings"])
    assert data["input"]["lyrics"].startswith("[verse]\n")
    assert cli("plan", "pop song", "--lyrics", "@/no/such.txt").code == 66


def test_overrides_win(cli):
    data = cli("plan", "cheap lofi, 2 minutes", "--provider", "runcomfy", "--tags", "jazz, sax",
               "--duration", "30", "--vocals", "--json").json()
    assert data["input"]["tags"] == "jazz, sax" and data["input"]["duration"] == 30
    data = cli("plan", "cheap lofi", "--model", "acestep-ai/ace-step-1.5/text-to-audio", "--provider", "runcomfy",
               "--json").json()
    assert data["model"] == "acestep-ai/ace-step-1.5/text-to-audio"
    assert cli("plan", "lofi", "--model", "no/such/model").code == 64


def test_runcomfy_always_hosted(cli, wav_file):
    hosted = {"acestep-ai/ace-step/text-to-audio", "acestep-ai/ace-step-1.5/text-to-audio",
              "elevenlabs/elevenlabs/music-generation", "acestep-ai/ace-step/audio-inpaint",
              "acestep-ai/ace-step/audio-outpaint"}
    source = str(wav_file(60.0, sample_rate=8000))
    for request, audio in [("lofi", None), ("a song in Korean", None), ("brand anthem", None),
                           ("fix 0:10 to 0:20", source), ("add a 10 second intro", source)]:
        args = ["plan", request, "--provider", "runcomfy", "--json"] + (["--audio", audio] if audio else [])
        data = cli(*args).json()
        assert {s["model"] for s in data["steps"]} <= hosted


# ---- robustness: any text gives a plan or a clean error ---------------------------------------------

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

WORDS = ["fix", "extend", "add", "intro", "outro", "at the end", "the last", "first", "from", "to", "between",
         "and", "1:05", "0:30", "2:00", "40s", "1 min", "two minutes", "a minute and a half", "seconds", "-",
         "cheap", "premium", "brand", "ad", "50 tracks", "Spanish", "Korean", "8 languages", "lofi", "jazz",
         "vocals", "instrumental", "chorus", "second", "remix", "remove the vocals", "I need", "I have a",
         "hook", "loop", "game", "then", "polish", "draft", "0", "999 minutes", "0:00", "9999 tracks", ":", "."]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(WORDS), min_size=0, max_size=10),
       noise=st.text(max_size=20), provider=st.sampled_from(["auto", "runcomfy", "sketch", "local", "elevenlabs"]),
       with_audio=st.booleans())
def test_any_request_plans_or_fails_cleanly(words, noise, provider, with_audio, tmp_path_factory):
    from aimusic.errors import AimusicError

    audio = None
    if with_audio:
        audio = str(tmp_path_factory.getbasetemp() / "fuzz.wav")
        import os

        if not os.path.exists(audio):
            import numpy as np
            import soundfile as sf

            sf.write(audio, np.zeros((8000 * 30, 1), np.float32), 8000)
    request = " ".join(words) + " " + noise
    try:
        plan = make_plan(request, audio=audio, provider=provider)
    except AimusicError as exc:
        assert exc.exit_code in (64, 65, 66, 77, 78) and exc.message
        return
    data = plan.to_dict()
    assert KEYS <= set(data) and data["steps"]
    assert data["estimated_cost_usd"] >= 0
    json.dumps(data)


def test_match_video_errors(cli, tmp_path):
    assert cli("plan", "theme song", "--match-video", tmp_path / "none.mp4").code == 66
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    assert cli("plan", "theme song", "--match-video", bad).code == 65


def test_m4a_source_length_via_pyav(tmp_path):
    import av
    import numpy as np

    path = tmp_path / "hook.m4a"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=44100)
        samples = (np.sin(np.arange(44100 * 3) / 20) * 0.3).astype(np.float32)[None, :]
        for start in range(0, samples.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + 1024]),
                                               format="fltp", layout="mono")
            frame.sample_rate = 44100
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    plan = make_plan("I need 1 minute", audio=str(path), provider="runcomfy")
    assert plan.source_seconds == pytest.approx(3.0, abs=0.1)
    assert plan.input["extend_before_duration"] + plan.input["extend_after_duration"] == pytest.approx(57, abs=0.2)


def test_explicit_overrides_are_checked(cli):
    assert cli("plan", "cheap lofi", "--provider", "runcomfy", "--duration", "0").code == 65
    result = cli("plan", "cheap lofi", "--provider", "runcomfy", "--duration", "3")
    assert result.code == 65 and "5 s at least" in result.stderr
    assert cli("plan", "cheap lofi", "--provider", "sketch", "--duration", "3").code == 0
    result = cli("plan", "cheap lofi", "--language", "xx")
    assert result.code == 65 and "ISO 639-1" in result.stderr
    data = cli("plan", "pop", "--provider", "local", "--language", "Spanish", "--json").json()
    assert data["input"]["vocal_language"] == "es"
    assert cli("plan", "cheap lofi", "--budget", "-1").code == 65
    assert cli("generate", "cheap lofi", "--seed", "99999999999", "--dry-run").code == 65


def test_auto_stretches_a_short_duration_with_a_warning(monkeypatch):
    monkeypatch.setenv("RUNCOMFY_TOKEN", "rc-test-token")
    plan = make_plan("cheap lofi", overrides={"duration": 3})
    assert plan.provider == "runcomfy" and plan.input["duration"] == 5
    assert any("minimum" in w for w in plan.warnings)

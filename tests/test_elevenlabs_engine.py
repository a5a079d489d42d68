"""The ElevenLabs engine against a real loopback HTTP server speaking the Music API protocol
(and the official SDK against the same server, proving the stand-in is faithful)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import soundfile as sf

from conftest import SRC
from fakes.elevenlabs_server import Failure, SUGGESTED_PROMPT, serving
from fakes.runcomfy_server import RunComfyServer

KEY = "el-SECRET-key-0b9d2e4c6a"
ELEVEN = "elevenlabs/elevenlabs/music-generation"
INPUT = {"prompt": "upbeat indie-pop jingle, 120 BPM", "music_length_ms": 10000}


@pytest.fixture
def el(monkeypatch):
    with serving(monkeypatch, KEY) as server:
        yield server


def run_el(cli, out: Path, *extra: str, data: dict | None = None):
    return cli("run", ELEVEN, "--provider", "elevenlabs", "--input", json.dumps(data or INPUT),
               "-o", str(out), "--json", *extra)


def everything_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_official_sdk_talks_to_the_stand_in(el):
    """The protocol check: the vendor's own client gets audio and sends what we send."""
    from elevenlabs import ElevenLabs

    client = ElevenLabs(api_key=KEY, base_url=el.base_url)
    audio = b"".join(client.music.compose(prompt="calm piano", music_length_ms=10000))
    assert audio[:2] == b"\xff\xfb" or audio[:3] == b"ID3"
    sdk_request = el.requests[-1]
    assert sdk_request["path"] == "/v1/music" and sdk_request["headers"]["xi-api-key"] == KEY
    assert sdk_request["body"] == {"prompt": "calm piano", "music_length_ms": 10000}
    plan = client.music.composition_plan.create(prompt="calm piano", music_length_ms=10000)
    assert plan.sections and el.plans == 1


def test_prompt_mode_writes_playable_mp3_with_song_id(cli, el, tmp_path):
    result = run_el(cli, tmp_path)
    assert result.code == 0, result.stderr
    body = result.json()
    audio, rate = sf.read(body["files"][0])
    assert body["files"][0].endswith(".mp3") and rate == 44100 and audio.shape[1] == 2
    sidecar = json.loads(Path(body["sidecars"][0]).read_text())
    assert sidecar["metadata"]["song_id"] == "song-0001"
    assert sidecar["cost_usd"] == pytest.approx(0.0083 * 10)
    assert sidecar["metadata"]["stored_for_inpainting"] is True
    sent = el.requests[-1]
    # the streaming endpoint (progress as audio arrives), stored for inpainting by default
    assert sent["path"] == "/v1/music/stream" and sent["query"] == {"output_format": "mp3_44100_128"}
    assert sent["body"] == {"prompt": INPUT["prompt"], "music_length_ms": 10000, "store_for_inpainting": True}
    assert sent["headers"]["xi-api-key"] == KEY


def test_force_instrumental_and_model_id_are_sent(el, tmp_path):
    from aimusic import api

    api.run(ELEVEN, dict(INPUT, force_instrumental=True, output_format="mp3_high_quality"), tmp_path,
            provider="elevenlabs", options={"model_id": "music_v2"})
    sent = el.requests[-1]
    assert sent["body"] == {"prompt": INPUT["prompt"], "music_length_ms": 10000, "force_instrumental": True,
                            "model_id": "music_v2", "store_for_inpainting": True}
    assert sent["query"] == {"output_format": "mp3_44100_192"}


def test_bad_model_id_option_is_65(el, tmp_path):
    from aimusic import api
    from aimusic.errors import InputError

    with pytest.raises(InputError):
        api.run(ELEVEN, INPUT, tmp_path, provider="elevenlabs", options={"model_id": "music_v9"})
    assert el.composes == 0


@pytest.mark.parametrize("fmt, query, rate", [("wav_cd_quality", "pcm_44100", 44100),
                                              ("wav_16khz", "pcm_16000", 16000)])
def test_wav_formats_request_pcm_and_write_a_real_wav(cli, el, tmp_path, fmt, query, rate):
    result = run_el(cli, tmp_path, data=dict(INPUT, output_format=fmt))
    assert result.code == 0, result.stderr
    path = result.json()["files"][0]
    assert path.endswith(".wav")
    audio, got_rate = sf.read(path)
    assert got_rate == rate and audio.shape == (rate, 2) and abs(audio).max() > 0.1
    assert el.requests[-1]["query"] == {"output_format": query}


def test_plain_endpoint_and_no_store(el, tmp_path):
    from aimusic import api

    result = api.run(ELEVEN, INPUT, tmp_path, provider="elevenlabs",
                     options={"plain_endpoint": True, "no_store": True})
    assert el.requests[-1]["path"] == "/v1/music"
    assert el.requests[-1]["body"] == {"prompt": INPUT["prompt"], "music_length_ms": 10000}
    sf.read(result.files[0])
    assert "stored_for_inpainting" not in result.metadata and el.stored == {}


def test_composition_plan_auto_asks_for_a_plan_then_renders_it(cli, el, tmp_path):
    result = run_el(cli, tmp_path, "--composition-plan", "auto")
    assert result.code == 0, result.stderr
    assert el.plans == 1 and el.composes == 1
    plan_request, compose_request = el.requests[-2], el.requests[-1]
    assert plan_request["path"] == "/v1/music/plan"
    assert plan_request["body"] == {"prompt": INPUT["prompt"], "music_length_ms": 10000}
    assert set(compose_request["body"]) == {"composition_plan", "store_for_inpainting"}
    sidecar = json.loads(Path(result.json()["sidecars"][0]).read_text())
    assert sidecar["metadata"]["composition_plan"]["sections"][0]["section_name"] == "Verse"


def test_composition_plan_from_file(cli, el, tmp_path):
    plan = {"positive_global_styles": ["lofi"], "negative_global_styles": [],
            "sections": [{"section_name": "Intro", "positive_local_styles": [], "negative_local_styles": [],
                          "duration_ms": 6000, "lines": []}]}
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan))
    result = run_el(cli, tmp_path / "out", "--composition-plan", f"@{plan_file}")
    assert result.code == 0, result.stderr
    assert el.requests[-1]["body"] == {"composition_plan": plan, "store_for_inpainting": True}
    assert result.json()["cost_usd"] == pytest.approx(0.0083 * 6)
    bad = run_el(cli, tmp_path / "bad", "--composition-plan", '{"sections": 3}')
    assert bad.code == 65
    missing = run_el(cli, tmp_path / "bad", "--composition-plan", "@/nonexistent/plan.json")
    assert missing.code == 66


def test_bad_prompt_shows_the_suggestion_and_exits_65(cli, el, tmp_path):
    result = run_el(cli, tmp_path / "out", data=dict(INPUT, prompt="a song like Taylor Swift"))
    assert result.code == 65
    error = result.error()
    assert "real artist" in error["message"]
    assert SUGGESTED_PROMPT in error["hint"] and "--accept-suggestion" in error["hint"]
    assert el.composes == 1
    assert everything_in(tmp_path / "out") == []


def test_accept_suggestion_retries_with_the_suggested_prompt(cli, el, tmp_path):
    result = run_el(cli, tmp_path, "--accept-suggestion", data=dict(INPUT, prompt="a song like Taylor Swift"))
    assert result.code == 0, result.stderr
    assert el.composes == 2
    assert el.requests[-1]["body"]["prompt"] == SUGGESTED_PROMPT
    sidecar = json.loads(Path(result.json()["sidecars"][0]).read_text())
    assert sidecar["metadata"]["prompt_suggestion_accepted"] == SUGGESTED_PROMPT
    assert sidecar["input"]["prompt"] == "a song like Taylor Swift"  # what the user asked for


def test_plan_mode_surfaces_and_accepts_a_prompt_suggestion(cli, el, tmp_path):
    data = dict(INPUT, prompt="a song like Taylor Swift")
    refused = run_el(cli, tmp_path / "a", "--composition-plan", "auto", data=data)
    assert refused.code == 65 and SUGGESTED_PROMPT in refused.error()["hint"]
    assert el.plans == 1 and el.composes == 0
    accepted = run_el(cli, tmp_path / "b", "--composition-plan", "auto", "--accept-suggestion", data=data)
    assert accepted.code == 0, accepted.stderr
    assert el.requests[-2]["body"]["prompt"] == SUGGESTED_PROMPT and el.composes == 1


def test_timeout_while_composing_exits_75_and_is_not_retried(cli, el, tmp_path):
    el.latency = 3.0
    started = time.monotonic()
    result = run_el(cli, tmp_path / "out", "--timeout", "1")
    assert result.code == 75 and "not retried" in result.error()["message"]
    assert time.monotonic() - started < 2.5
    assert el.composes == 1
    assert everything_in(tmp_path / "out") == []


def test_bad_composition_plan_suggestion(cli, el, tmp_path):
    plan = {"positive_global_styles": [], "negative_global_styles": [],
            "sections": [{"section_name": "BAD", "positive_local_styles": [], "negative_local_styles": [],
                          "duration_ms": 5000, "lines": []}]}
    refused = run_el(cli, tmp_path / "a", "--composition-plan", json.dumps(plan))
    assert refused.code == 65 and "composition plan" in refused.error()["message"]
    assert '"section_name": "Verse"' in refused.error()["hint"]
    accepted = run_el(cli, tmp_path / "b", "--composition-plan", json.dumps(plan), "--accept-suggestion")
    assert accepted.code == 0, accepted.stderr
    assert el.requests[-1]["body"]["composition_plan"]["sections"][0]["section_name"] == "Verse"


@pytest.mark.parametrize("failure, code, composes", [
    (Failure(401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}), 77, 1),
    (Failure(402, {"detail": {"status": "payment_required", "message": "quota exceeded"}}), 77, 1),
    (Failure(422, {"detail": [{"loc": ["body", "prompt"], "msg": "too long"}]}), 65, 1),
    (Failure(500, {"detail": "internal"}), 69, 1),
    (Failure(503, {"detail": "overloaded"}), 69, 1),
])
def test_compose_errors_map_to_exit_codes_without_retry(cli, el, tmp_path, failure, code, composes):
    el.compose_failures = [failure] * 3
    result = run_el(cli, tmp_path / "out")
    assert result.code == code, result.stderr
    assert el.composes == composes
    assert everything_in(tmp_path / "out") == []
    if code == 77 and failure.status == 402:
        assert "insufficient balance" in result.error()["message"]
    if code == 65:
        assert "prompt: too long" in result.error()["message"]


def test_429_is_retried_honouring_retry_after_then_gives_75(cli, el, tmp_path):
    busy = Failure(429, {"detail": {"status": "too_many_concurrent_requests", "message": "busy"}},
                   {"Retry-After": "0"})
    el.compose_failures = [busy]
    assert run_el(cli, tmp_path / "ok").code == 0
    assert el.composes == 2
    el.compose_failures = [busy] * 5
    el.composes = 0
    result = run_el(cli, tmp_path / "out")
    assert result.code == 75 and el.composes == 3
    assert everything_in(tmp_path / "out") == []


@pytest.mark.parametrize("options", [{"plain_endpoint": True}, {}, {"word_timestamps": True}])
def test_stream_that_breaks_midway_is_not_retried_and_leaves_nothing(el, tmp_path, options):
    from aimusic import api
    from aimusic.errors import RetryableError

    el.break_midway = 1
    with pytest.raises(RetryableError):
        api.run(ELEVEN, INPUT, tmp_path / "out", provider="elevenlabs",
                options=options)
    assert el.composes == 1  # a repeat could be charged twice
    assert everything_in(tmp_path / "out") == []


def test_cancel_while_composing_exits_interrupted_and_leaves_nothing(el, tmp_path):
    from aimusic import api
    from aimusic.errors import Interrupted

    el.latency = 3.0  # the server is still composing when the cancel comes
    cancel = threading.Event()
    notices: list[str] = []
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(Interrupted):
        api.run(ELEVEN, INPUT, tmp_path / "out", provider="elevenlabs", cancel_event=cancel,
                log=notices.append)
    assert time.monotonic() - started < 1.5  # did not wait for the server
    assert any("not_cancellable" in n for n in notices)
    assert everything_in(tmp_path / "out") == []
    time.sleep(3.2)  # the abandoned worker finishes its read and writes nothing visible
    assert everything_in(tmp_path / "out") == []


def test_sigint_while_composing_exits_130(el, tmp_path):
    el.latency = 30.0
    env = dict(os.environ, PYTHONPATH=str(SRC))
    proc = subprocess.Popen([sys.executable, "-m", "aimusic", "run", ELEVEN, "--provider", "elevenlabs",
                             "--input", json.dumps(INPUT), "-o", str(tmp_path / "out")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while el.composes < 1 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert el.composes == 1, proc.communicate()
    os.kill(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 130, stderr
    assert "not_cancellable" in stderr
    assert everything_in(tmp_path / "out") == []


def test_key_never_appears_even_when_the_server_echoes_it(el, tmp_path, cli_subprocess):
    env = {"PYTHONPATH": str(SRC)}
    ok = cli_subprocess("run", ELEVEN, "--provider", "elevenlabs", "--input", json.dumps(INPUT),
                        "-o", str(tmp_path / "ok"), "--json", env=env)
    assert ok.code == 0, ok.stderr
    el.echo_key_in_422 = True
    bad = cli_subprocess("run", ELEVEN, "--provider", "elevenlabs", "--input", json.dumps(INPUT),
                         "-o", str(tmp_path / "bad"), env=env)
    assert bad.code == 65 and "***" in bad.stderr
    texts = [ok.stdout, ok.stderr, bad.stdout, bad.stderr]
    assert all(KEY not in t for t in texts)
    assert all(KEY.encode() not in p.read_bytes() for p in (tmp_path / "ok").iterdir())


def test_same_input_runs_on_both_providers_and_auto_prefers_direct(cli, el, tmp_path, monkeypatch):
    with RunComfyServer(token="rc-other-token") as rc:
        for key, value in rc.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("AIMUSIC_POLL_INTERVAL", "0.02")
        direct = cli("run", ELEVEN, "--input", json.dumps(INPUT), "-o", str(tmp_path / "a"), "--json")
        assert direct.code == 0 and direct.json()["provider"] == "elevenlabs"
        assert el.composes == 1 and rc.total_submits == 0
        monkeypatch.delenv("ELEVENLABS_API_KEY")
        resold = cli("run", ELEVEN, "--input", json.dumps(INPUT), "-o", str(tmp_path / "b"), "--json")
        assert resold.code == 0, resold.stderr
        assert resold.json()["provider"] == "runcomfy" and rc.submits == {ELEVEN: 1}
        assert json.loads(Path(resold.json()["sidecars"][0]).read_text())["metadata"]["request_id"]


def test_unreachable_base_url_is_75(cli, monkeypatch, tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("ELEVENLABS_API_KEY", KEY)
    monkeypatch.setenv("ELEVENLABS_API_BASE", f"http://127.0.0.1:{port}")
    result = run_el(cli, tmp_path / "out")
    assert result.code == 75 and "cannot reach ElevenLabs" in result.error()["message"]
    assert everything_in(tmp_path / "out") == []


@pytest.mark.parametrize("provider", ["elevenlabs", "runcomfy"])
def test_acceptance_command_writes_a_playable_file_and_a_sidecar(el, tmp_path, cli_subprocess, provider):
    """The issue's acceptance command, as a user types it, against each loopback stand-in."""
    with RunComfyServer(token="rc-acceptance-token") as rc:
        env = {"PYTHONPATH": str(SRC), "AIMUSIC_POLL_INTERVAL": "0.05", **rc.env(), **el.env()}
        result = cli_subprocess("run", ELEVEN, "--provider", provider, "--input",
                                '{"prompt":"bright synth-pop sting","music_length_ms":10000}', "-o",
                                str(tmp_path / "out"), env=env)
    assert result.code == 0, result.stderr
    audio_files = [p for p in (tmp_path / "out").iterdir() if p.suffix == ".mp3"]
    assert len(audio_files) == 1
    audio, rate = sf.read(audio_files[0])
    assert rate == 44100 and audio.shape[1] == 2 and len(audio) >= 44100 * 0.9
    sidecar = json.loads(audio_files[0].with_suffix(".json").read_text())
    assert sidecar["provider"] == provider and sidecar["cost_usd"] > 0
    assert sidecar["metadata"]["song_id" if provider == "elevenlabs" else "request_id"]
    assert str(audio_files[0]) in result.stdout

"""The RunComfy engine against a real loopback HTTP server speaking the Model API protocol."""

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
from fakes.runcomfy_server import HOSTED_MODELS, Failure, RunComfyServer

TOKEN = "rc-SECRET-token-7f3a9c1e5b"
ACE = "acestep-ai/ace-step/text-to-audio"
ACE15 = "acestep-ai/ace-step-1.5/text-to-audio"
ELEVEN = "elevenlabs/elevenlabs/music-generation"
INPAINT = "acestep-ai/ace-step/audio-inpaint"
OUTPAINT = "acestep-ai/ace-step/audio-outpaint"
SOURCE_URL = "https://files.runcomfy.net/in/source.wav"

INPUTS = {
    ACE: {"tags": "lofi, 80 BPM", "duration": 10, "seed": 7},
    ACE15: {"tags": "j-pop, female vocal", "lyrics": "[Verse]\nla la", "duration": 12, "seed": 8},
    ELEVEN: {"prompt": "upbeat jingle, 120 BPM", "music_length_ms": 10000},
    INPAINT: {"audio": SOURCE_URL, "tags": "rock", "start_time": 5, "end_time": 10, "seed": 3},
    OUTPAINT: {"audio": SOURCE_URL, "tags": "rock", "extend_after_duration": 10, "seed": 4},
}


@pytest.fixture
def rc(monkeypatch):
    with RunComfyServer(token=TOKEN) as server:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("AIMUSIC_POLL_INTERVAL", "0.02")
        yield server


def run_model(cli, model: str, out: Path, *extra: str, data: dict | None = None):
    return cli("run", model, "--provider", "runcomfy", "--input", json.dumps(data or INPUTS[model]),
               "-o", str(out), "--json", *extra)


def everything_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


@pytest.mark.parametrize("model", HOSTED_MODELS)
def test_each_hosted_model_runs_and_records_cost_and_request_id(cli, rc, tmp_path, model):
    result = run_model(cli, model, tmp_path / "out")
    assert result.code == 0, result.stderr
    body = result.json()
    assert len(body["files"]) == 1
    audio, rate = sf.read(body["files"][0])
    assert rate == 44100 and audio.shape[0] == 44100 and abs(audio).max() > 0.1
    sidecar = json.loads(Path(body["sidecars"][0]).read_text())
    assert sidecar["cost_usd"] == pytest.approx(0.0123)
    assert sidecar["metadata"]["cost_source"] == "provider"
    assert sidecar["metadata"]["request_id"] == "req-0001"
    assert rc.submits == {model: 1}
    submitted = next(r for r in rc.requests if r["method"] == "POST")
    assert submitted["path"] == f"/v1/models/{model}"
    assert submitted["body"]["audio" if "audio" in INPUTS[model] else next(iter(INPUTS[model]))] \
        == INPUTS[model].get("audio", next(iter(INPUTS[model].values())))
    assert submitted["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert "req-0001" in result.stderr  # the request id is shown as soon as it exists


def test_request_body_is_the_model_input_without_wrapper(cli, rc, tmp_path):
    assert run_model(cli, ELEVEN, tmp_path).code == 0
    body = next(r for r in rc.requests if r["method"] == "POST")["body"]
    assert body == {"prompt": "upbeat jingle, 120 BPM", "music_length_ms": 10000,
                    "force_instrumental": False, "output_format": "mp3_standard"}


@pytest.mark.parametrize("shape", ["audios", "nested"])
def test_several_outputs_in_lists_are_all_downloaded(cli, rc, tmp_path, shape):
    rc.output_shape, rc.files_per_job = shape, 2
    result = run_model(cli, ACE, tmp_path)
    assert result.code == 0, result.stderr
    assert len(result.json()["files"]) == 2
    assert rc.downloads == {"take-0.wav": 1, "take-1.wav": 1}
    for sidecar in result.json()["sidecars"]:
        assert json.loads(Path(sidecar).read_text())["cost_usd"] == pytest.approx(0.0123 / 2)


def test_output_in_another_container_is_decoded_to_wav(cli, rc, tmp_path):
    rc.file_format = "m4a"
    result = run_model(cli, ACE, tmp_path)
    assert result.code == 0, result.stderr
    path = result.json()["files"][0]
    assert path.endswith(".wav")
    audio, rate = sf.read(path)
    assert rate == 44100 and audio.shape[0] >= 44100 and abs(audio).max() > 0.1


def test_output_that_is_not_audio_exits_69(cli, rc, tmp_path):
    rc.file_format = "html"
    rc.file_body = b"<html><body>Access denied</body></html>"
    result = run_model(cli, ACE, tmp_path / "out")
    assert result.code == 69 and "not audio" in result.error()["message"]
    assert everything_in(tmp_path / "out") == []


def test_catalog_price_is_used_and_cached(cli, rc, tmp_path):
    rc.catalog[ACE] = {"base_price_usd": 0.0005, "price_unit": "second"}
    rc.cost = None  # no cost in the result: the catalog price makes the estimate
    first = run_model(cli, ACE, tmp_path / "a")
    assert first.code == 0, first.stderr
    meta = json.loads(Path(first.json()["sidecars"][0]).read_text())
    assert meta["metadata"]["price_source"] == "runcomfy catalog"
    assert meta["cost_usd"] == pytest.approx(0.0005 * 10)
    assert run_model(cli, ACE, tmp_path / "b").code == 0
    assert rc.catalog_calls == 1  # the second run read the cache


def test_catalog_price_per_request_is_spread_over_the_length(cli, rc, tmp_path):
    rc.catalog[OUTPAINT] = {"base_price_usd": 0.05, "price_unit": "request"}
    rc.cost = None
    result = run_model(cli, OUTPAINT, tmp_path)
    assert result.code == 0, result.stderr
    assert result.json()["cost_usd"] == pytest.approx(0.05)
    assert result.json()["metadata"]["price_unit"] == "request"


def test_composition_plan_is_refused_on_runcomfy(cli, rc, tmp_path):
    result = run_model(cli, ELEVEN, tmp_path, "--composition-plan", "auto")
    assert result.code == 64 and "--provider elevenlabs" in result.error()["message"]
    assert rc.total_submits == 0


def test_unreachable_catalog_falls_back_to_builtin_table(cli, rc, tmp_path):
    rc.catalog_available = False
    rc.cost = None
    result = run_model(cli, ACE15, tmp_path)
    assert result.code == 0, result.stderr
    meta = json.loads(Path(result.json()["sidecars"][0]).read_text())
    assert meta["metadata"]["price_source"] == "built-in table"
    assert meta["cost_usd"] == pytest.approx(0.0003 * 12)


# --- failure semantics ----------------------------------------------------------------------

@pytest.mark.parametrize("status, body, code, words", [
    (401, {"error_code": 401001, "message": "invalid token"}, 77, "rejected"),
    (403, {"error_code": 403003, "message": "forbidden"}, 77, "rejected"),
    (402, {"error_code": 402001, "message": "no credits"}, 77, "insufficient balance"),
    (422, {"error_code": 422001, "detail": [{"loc": ["body", "duration"], "msg": "too long"}]}, 65,
     "duration: too long"),
    (404, {"error_code": 404001, "message": "model gone"}, 65, "model gone"),
    (500, {"error_code": 500001, "message": "boom"}, 69, "boom"),
])
def test_submit_errors_map_to_exit_codes_and_are_not_retried(cli, rc, tmp_path, status, body, code, words):
    rc.submit_failures = [Failure(status, body)] * 3
    result = run_model(cli, ACE, tmp_path / "out")
    assert result.code == code, result.stderr
    assert words in result.error()["message"]
    assert len([r for r in rc.requests if r["method"] == "POST"]) == 1
    assert everything_in(tmp_path / "out") == []


def test_wrong_token_exits_77(cli, rc, tmp_path, monkeypatch):
    monkeypatch.setenv("RUNCOMFY_TOKEN", "rc-wrong")
    result = run_model(cli, ACE, tmp_path)
    assert result.code == 77
    assert "RUNCOMFY_TOKEN" in result.error()["hint"]


def test_http_200_with_error_code_is_an_error(cli, rc, tmp_path):
    rc.result_body_error = {"error_code": 422001, "detail": "audio URL could not be fetched"}
    result = run_model(cli, ACE, tmp_path / "out")
    assert result.code == 65
    assert "audio URL could not be fetched" in result.error()["message"]
    assert everything_in(tmp_path / "out") == []


def test_submit_refused_with_429_is_retried_after_retry_after(cli, rc, tmp_path):
    rc.submit_failures = [Failure(429, {"error_code": 429001}, {"Retry-After": "1"})]
    started = time.monotonic()
    result = run_model(cli, ACE, tmp_path)
    assert result.code == 0, result.stderr
    assert time.monotonic() - started >= 1.0  # Retry-After honoured
    assert rc.total_submits == 1


def test_submit_429_that_persists_exits_75(cli, rc, tmp_path):
    rc.submit_failures = [Failure(429, {"error_code": 429001}, {"Retry-After": "0"})] * 5
    result = run_model(cli, ACE, tmp_path / "out")
    assert result.code == 75
    assert rc.total_submits == 0
    assert everything_in(tmp_path / "out") == []


def test_submit_that_times_out_is_never_retried(cli, rc, tmp_path, monkeypatch):
    import aimusic.engines.runcomfy as runcomfy

    original = runcomfy.RunComfyClient.__init__

    def short_timeout(self, token, **kwargs):
        original(self, token, api_timeout=0.3, **kwargs)

    monkeypatch.setattr(runcomfy.RunComfyClient, "__init__", short_timeout)
    rc.latency = 0.6  # the server takes the job, the answer comes too late
    result = run_model(cli, ACE, tmp_path / "out")
    assert result.code == 75
    assert "may have been accepted" in result.error()["message"]
    time.sleep(0.7)
    assert rc.total_submits == 1 and rc.duplicate_submits() == 0  # one charge at most
    assert everything_in(tmp_path / "out") == []


def test_status_poll_429_and_503_are_retried(cli, rc, tmp_path):
    rc.status_failures = [Failure(429, {"error_code": 429001}, {"Retry-After": "0"}),
                          Failure(503, {"error_code": 503001}, {"Retry-After": "0"})]
    result = run_model(cli, ACE, tmp_path)
    assert result.code == 0, result.stderr
    assert rc.total_submits == 1 and rc.status_calls >= 4


def test_connection_reset_after_submit_is_never_retried(cli, rc, tmp_path):
    rc.submit_failures = [Failure(0)]
    result = run_model(cli, ACE, tmp_path / "out")
    assert result.code == 75
    assert "may have been accepted" in result.error()["message"]
    assert rc.total_submits == 1 and len([r for r in rc.requests if r["method"] == "POST"]) == 1
    assert everything_in(tmp_path / "out") == []


def test_connection_resets_on_polls_and_result_are_retried(cli, rc, tmp_path):
    rc.status_failures = [Failure(0), Failure(408, {"error_code": 408001}, {"Retry-After": "0"})]
    rc.result_failures = [Failure(0)]
    result = run_model(cli, ACE, tmp_path)
    assert result.code == 0, result.stderr
    assert rc.total_submits == 1 and rc.result_calls == 2


def test_status_poll_that_keeps_failing_with_500_exits_69(cli, rc, tmp_path):
    rc.status_failures = [Failure(500, {"error_code": 500001, "message": "db down"})]
    result = run_model(cli, ACE, tmp_path / "out")
    assert result.code == 69
    assert "db down" in result.error()["message"]
    assert everything_in(tmp_path / "out") == []


def test_slow_polls_still_finish(cli, rc, tmp_path):
    rc.status_latency, rc.polls_before_done = 0.3, 3
    result = run_model(cli, ACE, tmp_path)
    assert result.code == 0, result.stderr
    assert rc.status_calls == 4


@pytest.mark.parametrize("outcome", ["failed", "cancelled"])
def test_remote_job_that_fails_or_is_cancelled_exits_69(cli, rc, tmp_path, outcome):
    rc.job_outcome = outcome
    result = run_model(cli, ACE, tmp_path / "out")
    assert result.code == 69
    if outcome == "failed":
        assert "the model crashed" in result.error()["message"]
    assert everything_in(tmp_path / "out") == []


def test_overall_timeout_exits_75_with_resume_hint(cli, rc, tmp_path):
    rc.polls_before_done = 10**6
    result = run_model(cli, ACE, tmp_path / "out", "--timeout", "0.5")
    assert result.code == 75
    assert "aimusic resume req-0001" in result.error()["hint"]
    assert everything_in(tmp_path / "out") == []


# --- downloads ------------------------------------------------------------------------------

def test_download_that_breaks_midway_is_retried(cli, rc, tmp_path):
    rc.download_breaks = 1
    result = run_model(cli, ACE, tmp_path)
    assert result.code == 0, result.stderr
    assert rc.downloads["take-0.wav"] == 2
    sf.read(result.json()["files"][0])  # whole and playable
    assert rc.total_submits == 1


def test_download_that_keeps_breaking_fails_and_leaves_nothing(cli, rc, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    rc.download_breaks = 100
    result = run_model(cli, ACE, tmp_path / "out")
    assert result.code == 75
    assert "broke off" in result.error()["message"]
    assert everything_in(tmp_path / "out") == ["keep.txt"]
    assert rc.total_submits == 1


def test_download_404_fails_with_69(cli, rc, tmp_path):
    rc.download_failures = [Failure(404, {"message": "expired"})]
    result = run_model(cli, ACE, tmp_path / "out")
    assert result.code == 69
    assert everything_in(tmp_path / "out") == []


@pytest.mark.parametrize("content_length", [True, False])
def test_download_larger_than_the_cap_is_refused(cli, rc, tmp_path, monkeypatch, content_length):
    monkeypatch.setenv("AIMUSIC_MAX_DOWNLOAD_BYTES", "100000")
    rc.file_bytes_override = 300_000
    rc.file_no_content_length = not content_length
    result = run_model(cli, ACE, tmp_path / "out")
    assert result.code == 69
    assert "100000-byte download cap" in result.error()["message"]
    assert everything_in(tmp_path / "out") == []


def test_redirect_to_a_host_off_the_allowlist_is_refused(cli, rc, tmp_path):
    port = rc.origin.rsplit(":", 1)[1]
    rc.redirect_files_to = f"http://localhost:{port}"  # same server, but a host nobody allowed
    result = run_model(cli, ACE, tmp_path / "out")
    assert result.code == 69
    assert "refusing to download from localhost" in result.error()["message"]
    assert rc.downloads["take-0.wav"] == 1  # only the first hop was fetched
    assert everything_in(tmp_path / "out") == []


def test_output_url_on_a_foreign_host_is_never_fetched(cli, rc, tmp_path):
    rc.output_url_base = "https://evil.example.com"
    result = run_model(cli, ACE, tmp_path / "out")
    assert result.code == 69
    assert "evil.example.com" in result.error()["message"]
    assert everything_in(tmp_path / "out") == []


def test_extra_download_hosts_are_configurable(cli, rc, tmp_path, monkeypatch):
    port = rc.origin.rsplit(":", 1)[1]
    rc.redirect_files_to = f"http://localhost:{port}"
    monkeypatch.setenv("AIMUSIC_DOWNLOAD_HOSTS", f"http://localhost:{port}")
    result = run_model(cli, ACE, tmp_path)
    assert result.code == 0, result.stderr
    assert rc.downloads["take-0.wav"] == 2  # the redirect, then the file


# --- edits with local files -------------------------------------------------------------------

@pytest.mark.parametrize("model", [INPAINT, OUTPAINT])
def test_edit_with_a_local_file_explains_how_to_pass_a_url(cli, rc, tmp_path, wav_file, model):
    data = dict(INPUTS[model], audio=str(wav_file(2.0)))
    result = run_model(cli, model, tmp_path / "out", data=data)
    assert result.code == 65
    error = result.error()
    assert error["field"] == "audio" and "https URL" in error["message"] and "https URL" in error["hint"]
    assert rc.total_submits == 0


# --- cancellation and resume ------------------------------------------------------------------

def test_cancel_event_cancels_the_remote_request(rc, tmp_path):
    from aimusic import api
    from aimusic.errors import Interrupted

    rc.polls_before_done = 10**6
    cancel = threading.Event()
    notices: list[str] = []
    threading.Timer(0.3, cancel.set).start()
    with pytest.raises(Interrupted):
        api.run(ACE, INPUTS[ACE], tmp_path / "out", provider="runcomfy", cancel_event=cancel,
                log=notices.append)
    assert rc.cancels == ["req-0001"]
    assert any("req-0001: cancelled" in n for n in notices)
    assert everything_in(tmp_path / "out") == []


def test_sigint_during_polling_cancels_remotely_and_exits_130(rc, tmp_path):
    rc.polls_before_done = 10**6
    env = dict(os.environ, PYTHONPATH=str(SRC))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "aimusic", "run", ACE, "--provider", "runcomfy",
                             "--input", json.dumps(INPUTS[ACE]), "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while rc.status_calls < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert rc.status_calls >= 2, proc.communicate()
    os.kill(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert rc.cancels == ["req-0001"]
    assert "req-0001: cancelled" in stderr
    assert everything_in(out) == []
    assert TOKEN not in stdout + stderr


def test_sigterm_cleans_up_as_ctrl_c_does_and_exits_143(rc, tmp_path):
    """An agent's timeout or a supervisor stops the CLI with SIGTERM: the remote job is cancelled,
    nothing is left in the output folder, one line, exit 143 (128 + SIGTERM)."""
    rc.polls_before_done = 10**6
    env = dict(os.environ, PYTHONPATH=str(SRC))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "aimusic", "run", ACE, "--provider", "runcomfy",
                             "--input", json.dumps(INPUTS[ACE]), "-o", str(out), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while rc.status_calls < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert rc.status_calls >= 2, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert rc.cancels == ["req-0001"]
    error = json.loads(stderr.strip().splitlines()[-1])["error"]
    assert error["code"] == 143 and error["type"] == "terminated" and "Traceback" not in stderr
    assert everything_in(out) == []


def test_sigint_after_the_job_started_reports_not_cancellable(rc, tmp_path):
    rc.polls_before_done = 10**6
    rc.cancellable = False
    env = dict(os.environ, PYTHONPATH=str(SRC))
    proc = subprocess.Popen([sys.executable, "-m", "aimusic", "run", ACE, "--provider", "runcomfy",
                             "--input", json.dumps(INPUTS[ACE]), "-o", str(tmp_path / "out")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while rc.status_calls < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "not_cancellable" in stderr and "aimusic resume req-0001" in stderr
    assert everything_in(tmp_path / "out") == []


def test_resume_downloads_an_existing_request_without_resubmitting(cli, rc, tmp_path):
    job = rc.new_job(ACE, INPUTS[ACE])
    rc.submits.clear()
    result = cli("resume", job.request_id, "--model", ACE, "-o", str(tmp_path / "out"), "--json")
    assert result.code == 0, result.stderr
    body = result.json()
    assert rc.total_submits == 0
    sf.read(body["files"][0])
    sidecar = json.loads(Path(body["sidecars"][0]).read_text())
    assert sidecar["model"] == ACE and sidecar["resumed"] is True
    assert sidecar["metadata"]["request_id"] == job.request_id
    assert sidecar["cost_usd"] == pytest.approx(0.0123)


def test_resume_without_model_and_of_unknown_request(cli, rc, tmp_path):
    job = rc.new_job(ELEVEN, INPUTS[ELEVEN])
    ok = cli("resume", job.request_id, "-o", str(tmp_path / "a"), "--json")
    assert ok.code == 0, ok.stderr
    assert ok.json()["files"][0].endswith(".mp3")
    missing = cli("resume", "req-9999", "-o", str(tmp_path / "b"), "--json")
    assert missing.code == 65 and "request not found" in missing.error()["message"]
    bad = cli("resume", "../../etc", "-o", str(tmp_path / "c"), "--json")
    assert bad.code == 65
    assert everything_in(tmp_path / "b") == [] and everything_in(tmp_path / "c") == []


def test_resume_needs_a_token(cli, tmp_path):
    result = cli("resume", "req-0001", "-o", str(tmp_path), "--json")
    assert result.code == 77


# --- secrets --------------------------------------------------------------------------------

def test_token_never_appears_in_output_sidecar_or_errors(rc, tmp_path, cli_subprocess):
    env = {"PYTHONPATH": str(SRC)}
    ok = cli_subprocess("run", ACE, "--provider", "runcomfy", "--input", json.dumps(INPUTS[ACE]),
                        "-o", str(tmp_path / "ok"), "--json", env=env)
    assert ok.code == 0, ok.stderr
    # a server that echoes the token in its error detail
    rc.submit_failures = [Failure(422, {"error_code": 422001, "detail": f"bad request from Bearer {TOKEN}"})]
    bad = cli_subprocess("run", ACE, "--provider", "runcomfy", "--input", json.dumps(INPUTS[ACE]),
                         "-o", str(tmp_path / "bad"), "--json", env=env)
    assert bad.code == 65
    plain = cli_subprocess("run", ACE, "--provider", "runcomfy", "--input", json.dumps(INPUTS[ACE]),
                           "-o", str(tmp_path / "ok"), "--debug", env=env)
    assert plain.code == 0
    texts = [ok.stdout, ok.stderr, bad.stdout, bad.stderr, plain.stdout, plain.stderr]
    texts += [p.read_text(errors="replace") for p in (tmp_path / "ok").iterdir() if p.suffix == ".json"]
    assert all(TOKEN not in text for text in texts)
    assert all(TOKEN.encode() not in p.read_bytes() for p in (tmp_path / "ok").iterdir())
    assert "***" in bad.stderr

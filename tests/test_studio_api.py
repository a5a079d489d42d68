"""The studio's HTTP API in-process (FastAPI's TestClient over the real app and guard), the CLI
that serves it, and its fuzzing against its own OpenAPI schema (schemathesis)."""

from __future__ import annotations

import json
import threading
import time

import soundfile as sf
from fastapi.testclient import TestClient

from aimusic.studio.app import StudioConfig, build_app
from conftest import music_like
from studio_server import studio_process

LOOPBACK = "http://127.0.0.1"


def _take(out, name="song.wav", seconds=6.0):
    out.mkdir(parents=True, exist_ok=True)
    rate = 44100
    sf.write(out / name, music_like(seconds, rate).T, rate)
    return out / name


class Gate:
    """An executor that waits until released, counting how often it really ran."""

    def __init__(self) -> None:
        self.runs = 0
        self.release = threading.Event()

    def __call__(self, kind, prepared, progress, cancel):
        self.runs += 1
        progress("work", 0, 2, "started")
        while not self.release.wait(0.02):
            if cancel.is_set():
                from aimusic.errors import Interrupted

                raise Interrupted("cancelled")
        progress("work", 2, 2, "done")
        return {"files": []}


def _client(tmp_path, execute=None, **config):
    return TestClient(build_app(StudioConfig(output_dir=tmp_path / "out", **config), execute=execute),
                      base_url=LOOPBACK)


def _wait(client, job_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError("job did not finish")


GENERATE = {"kind": "generate", "request": {"request": "lofi piano", "provider": "sketch", "duration": 5}}


def test_idempotency_key_makes_a_retry_return_the_same_job(tmp_path):
    gate = Gate()
    with _client(tmp_path, gate) as client:
        first = client.post("/api/jobs", json=GENERATE, headers={"Idempotency-Key": "abc"})
        again = client.post("/api/jobs", json=GENERATE, headers={"Idempotency-Key": "abc"})
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["id"] == again.json()["id"] and first.headers["location"] == f"/api/jobs/{first.json()['id']}"
        other = dict(GENERATE, request={**GENERATE["request"], "duration": 7})
        clash = client.post("/api/jobs", json=other, headers={"Idempotency-Key": "abc"})
        assert clash.status_code == 422 and "different request" in clash.json()["error"]["message"]
        gate.release.set()
        assert _wait(client, first.json()["id"])["status"] == "succeeded"
        assert gate.runs == 1  # paid once


def test_cancel_a_running_job_and_events_stream_to_the_end(tmp_path):
    gate = Gate()
    with _client(tmp_path, gate) as client:
        job = client.post("/api/jobs", json=GENERATE).json()
        while client.get(f"/api/jobs/{job['id']}").json()["status"] != "running":
            time.sleep(0.02)
        cancelled = client.post(f"/api/jobs/{job['id']}/cancel")
        assert cancelled.status_code == 202
        final = _wait(client, job["id"])
        assert final["status"] == "cancelled" and final["error"]["type"] == "interrupted"
        again = client.post(f"/api/jobs/{job['id']}/cancel")
        assert again.status_code == 409 and "already cancelled" in again.json()["error"]["message"]
        with client.stream("GET", f"/api/jobs/{job['id']}/events") as stream:
            text = "".join(stream.iter_text())
        assert "event: progress" in text and text.rstrip().split("\n\n")[-1].startswith("event: end")
        end = json.loads(text.rstrip().split("\n\n")[-1].split("data: ", 1)[1])
        assert end["status"] == "cancelled"
        with client.stream("GET", f"/api/jobs/{job['id']}/events", headers={"Last-Event-ID": "2"}) as stream:
            resumed = "".join(stream.iter_text())
        assert "id: 1\n" not in resumed and "id: 3\n" in resumed


def test_real_generate_and_inpaint_on_the_sketch_engine(tmp_path):
    with _client(tmp_path) as client:
        job = client.post("/api/jobs", json=GENERATE).json()
        done = _wait(client, job["id"], timeout=240)
        assert done["status"] == "succeeded", done
        take = done["result"]["takes"][0]
        assert take["provider"] == "sketch" and take["url"] == f"/api/files/{take['id']}"
        audio = client.get(take["url"])
        assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
        wave = client.get(f"{take['url']}/waveform?points=100").json()
        assert wave["points"] == 100 and abs(wave["duration_s"] - 5.0) < 0.01 and max(wave["max"]) > 0.05
        actions = {a["task"] for a in client.get(f"{take['url']}/actions").json()["actions"]}
        assert {"inpaint", "outpaint", "remix"} <= actions
        outside = client.post("/api/jobs", json={"kind": "edit", "request": {
            "audio": take["path"], "request": "replace 4 s to 9 s", "provider": "sketch"}})
        assert outside.status_code == 422 and "outside the 5.00 s track" in outside.json()["error"]["message"]
        edit = client.post("/api/jobs", json={"kind": "edit", "request": {
            "audio": take["path"], "request": "replace 1 s to 2.5 s", "provider": "sketch"}}).json()
        fixed = _wait(client, edit["id"], timeout=240)["result"]["takes"][0]
        assert fixed["parent_id"] == take["id"] and fixed["lineage"] == [take["id"]]
        library = client.get("/api/library", params={"q": "inpaint"}).json()["takes"]
        assert [t["id"] for t in library] == [fixed["id"]]
        assert client.get("/api/library", params={"since": "2999-01-01"}).json()["takes"] == []
        replay = client.post("/api/jobs", json={"kind": "replay", "request": {"sidecar": take["sidecar"]}}).json()
        again = _wait(client, replay["id"], timeout=240)["result"]["takes"][0]
        assert again["seed"] == take["seed"] and again["id"] != take["id"]
        assert sf.read(tmp_path / "out" / again["path"])[0].tolist() == sf.read(tmp_path / "out" / take["path"])[0].tolist()


def test_remix_strength_reaches_the_model_input(tmp_path):
    song = _take(tmp_path / "out")
    with _client(tmp_path) as client:
        plan = client.app.app.state.studio.prepare  # the same check the job runs before it starts
        from aimusic.studio.app import EditJob

        body = EditJob.model_validate({"kind": "edit", "request": {"audio": song.name, "request": "remix it, jazz",
                                                                   "provider": "sketch", "strength": 0.3}})
        _, audio, overrides = plan(body)
        from aimusic import api

        assert api.plan("remix it, jazz", audio=audio, provider="sketch", overrides=overrides)["input"]["strength"] == 0.3
        bad = client.post("/api/jobs", json={"kind": "edit", "request": {"audio": song.name, "request": "remix it",
                                                                          "strength": 2}})
        assert bad.status_code == 422 and "strength" in bad.json()["error"]["message"]


def test_bad_input_gets_the_right_status_and_a_clear_message(tmp_path):
    song = _take(tmp_path / "out")
    outside = tmp_path / "elsewhere.wav"
    outside.write_bytes(song.read_bytes())
    with _client(tmp_path, max_upload_bytes=2_000_000) as client:
        not_audio = client.put("/api/uploads/notes.wav", content=b"hello, not audio at all" * 10)
        assert not_audio.status_code == 415 and "not an audio file" in not_audio.json()["error"]["message"]
        assert client.put("/api/uploads/notes.txt", content=b"x").status_code == 415
        big = client.put("/api/uploads/big.wav", content=b"\0" * 2_000_001)
        assert big.status_code == 413 and "limit" in big.json()["error"]["message"]
        ok = client.put("/api/uploads/mine.wav", content=song.read_bytes())
        assert ok.status_code == 201 and ok.json()["path"] == "uploads/mine.wav"
        assert not list((tmp_path / "out" / "uploads").glob(".*"))  # no staged part left behind
        assert client.get("/api/jobs/nope").status_code == 404
        assert "no job with id 'nope'" in client.get("/api/jobs/nope").json()["error"]["message"]
        assert client.get("/api/files/0123456789abcdef").status_code == 404
        escape = client.post("/api/jobs", json={"kind": "finish", "request": {"audio": str(outside)}})
        assert escape.status_code == 422 and "outside the directories" in escape.json()["error"]["message"]
        missing = client.post("/api/jobs", json={"kind": "finish", "request": {"audio": "gone.wav"}})
        assert missing.status_code == 404
        invalid = client.post("/api/jobs", json={"kind": "generate", "request": {"request": "x", "duration": -1}})
        assert invalid.status_code == 422 and "duration" in invalid.json()["error"]["message"]
        assert client.post("/api/jobs", json={"kind": "dance"}).status_code == 422
        assert client.get("/api/nowhere").status_code == 404


def test_guard_token_host_and_origin(tmp_path):
    with _client(tmp_path, token="s3cret", loopback_only=False) as client:
        refused = client.get("/api/info")
        assert refused.status_code == 401 and "access token" in refused.json()["error"]["message"]
        assert client.get("/api/info", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/api/info", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert client.get("/api/info", headers={"X-Aimusic-Token": "s3cret"}).status_code == 200
        page = client.get("/?token=s3cret", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/"
        assert "HttpOnly" in page.headers["set-cookie"] and "SameSite=Strict" in page.headers["set-cookie"]
        assert client.get("/api/info").status_code == 200  # the cookie now rides along
        assert client.get("/").status_code == 200
        assert "s3cret" not in client.get("/api/info").text
    with _client(tmp_path) as client:
        assert client.get("/api/info").status_code == 200
        assert client.get("/api/info", headers={"Host": "evil.example"}).status_code == 403
        cross = client.post("/api/jobs", json=GENERATE, headers={"Origin": "https://evil.example"})
        assert cross.status_code == 403 and "another site" in cross.json()["error"]["message"]
        page = client.get("/")
        assert "default-src 'self'" in page.headers["content-security-policy"]


def test_cli_on_a_non_loopback_host_prints_a_token_and_requires_it(tmp_path):
    import httpx

    with studio_process(tmp_path / "out", "--host", "0.0.0.0") as url:
        assert "?token=" in url
        base, token = url.split("?token=")
        assert httpx.get(base + "api/info").status_code == 401
        assert httpx.get(base + "api/info", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        schema = httpx.get(base + "openapi.json", headers={"Authorization": f"Bearer {token}"}).json()
        assert "/api/jobs/{job_id}/events" in schema["paths"]


def test_fuzz_the_api_against_its_own_schema(tmp_path):
    """schemathesis generates requests from /openapi.json: no 5xx, no traceback, anywhere. Jobs are
    accepted and checked for real (sandbox, plan); their work is a no-op so fuzzing stays fast."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

    import socket

    import uvicorn

    _take(tmp_path / "out")
    app = build_app(StudioConfig(output_dir=tmp_path / "out"), execute=lambda *a: {"files": []})
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        while not server.started:
            time.sleep(0.02)
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        seen = set()

        for result in schema.get_all_operations():
            operation = result.ok()

            @given(case=operation.as_strategy())
            @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                      database=None)
            def check(case):
                response = case.call(base_url=base)
                case.validate_response(response, checks=[not_a_server_error])
                assert "Traceback" not in response.text

            check()
            seen.add(operation.label)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    assert {"POST /api/jobs", "POST /api/plan", "GET /api/library", "PUT /api/uploads/{filename}"} <= seen


def test_stems_and_layer_actions_run_through_the_planner(tmp_path):
    """The page's Stems / Add drums actions: each descriptor's words route to separate / layer
    on the sketch engine, and the new takes name the take they were made from."""
    from aimusic.studio.actions import ACTIONS

    by_id = {a.get("id", a["task"]): a for a in ACTIONS}
    with _client(tmp_path) as client:
        take = _wait(client, client.post("/api/jobs", json=GENERATE).json()["id"], timeout=240)["result"]["takes"][0]
        offered = {a.get("id", a["task"]) for a in client.get(f"{take['url']}/actions").json()["actions"]}
        assert {"stems", "instrumental", "add-drums", "add-strings"} <= offered
        for action, task in (("stems", "separate"), ("add-drums", "layer")):
            words = by_id[action]["words"].replace("{style}", "")
            job = client.post("/api/jobs", json={"kind": "edit", "request": {
                "audio": take["path"], "request": words, "provider": "sketch"}}).json()
            done = _wait(client, job["id"], timeout=240)
            assert done["status"] == "succeeded", (action, done["error"]["message"])
            made = done["result"]["takes"][0]
            assert made["task"] == task and made["parent_id"] == take["id"]
        stems = sorted(p.name for p in (tmp_path / "out").iterdir() if ".drums." in p.name or ".bass." in p.name)
        assert stems, "separate wrote no stem files"


def test_each_take_is_announced_as_it_is_written(tmp_path):
    """A plan of several takes: the event stream says `take` once per take, each before the job
    ends (the page lists a take as soon as it lands), and the file is there when it says so."""
    request = {"kind": "generate", "request": {"request": "3 short lofi piano loops", "provider": "sketch",
                                                "duration": 3}}
    with _client(tmp_path) as client:
        job = client.post("/api/jobs", json=request).json()
        with client.stream("GET", f"/api/jobs/{job['id']}/events") as stream:
            text = "".join(stream.iter_text())
        events = [json.loads(block.split("data: ", 1)[1]) for block in text.strip().split("\n\n") if "data: " in block]
        landed = [e for e in events if e.get("stage") == "take"]
        assert len(landed) == 3, [e.get("stage") for e in events]
        assert events.index(landed[-1]) < len(events) - 1   # before the end
        for event in landed:
            assert (tmp_path / "out" / event["message"]).is_file()

"""Batches against the loopback RunComfy and ElevenLabs stand-ins: 429s, failures, budgets,
and kill -9 at any moment followed by a resume that never submits twice."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fakes.elevenlabs_server import ElevenLabsServer
from fakes.elevenlabs_server import Failure as ElFailure
from fakes.runcomfy_server import Failure, RunComfyServer

ACE = "acestep-ai/ace-step/text-to-audio"
ELEVEN = "elevenlabs/elevenlabs/music-generation"
ROOT = Path(__file__).resolve().parent.parent


class FailingJobs(RunComfyServer):
    """Remote jobs whose request ids are listed in `fail_ids` end in `failed`."""

    fail_ids: set[str] = set()

    def advance(self, job):
        state = super().advance(job)
        if state == "completed" and job.request_id in self.fail_ids:
            job.state = "failed"
            return "failed"
        return state


@pytest.fixture
def runcomfy(monkeypatch):
    with FailingJobs(polls_before_done=1) as server:
        server.fail_ids = set()
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        yield server


@pytest.fixture
def eleven(monkeypatch):
    with ElevenLabsServer() as server:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        yield server


def index_rows(out: Path) -> list[dict]:
    with open(out / "index.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def audio_files(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.suffix in (".wav", ".mp3"))


def events_of(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_hosted_library_rides_out_429s_and_failures(runcomfy, eleven, tmp_path, cli):
    batch = tmp_path / "b.yaml"
    batch.write_text(f"""
items:
  - model: {ACE}
    provider: runcomfy
    tags: "corporate background, 100 BPM"
    duration: 5
    count: 10
    vary: [[piano, guitar, strings, synth, marimba], [bright, warm]]
  - model: {ELEVEN}
    provider: elevenlabs
    tags: "brand jingle, upbeat"
    duration: 5
    count: 4
""")
    # RunComfy: a burst of 429s (each submit attempt refused, with Retry-After), two 5xx submits,
    # flaky status polls and one remote job that fails; ElevenLabs: 429s and a 5xx.
    runcomfy.submit_failures = [Failure(429, headers={"Retry-After": "0.1"}) for _ in range(7)] + [Failure(500)] * 2
    runcomfy.status_failures = [Failure(503)] * 3
    runcomfy.fail_ids = {"req-0002"}
    eleven.compose_failures = [ElFailure(429, {"detail": {"status": "rate_limited", "message": "slow down"}},
                                         {"Retry-After": "0.1"}) for _ in range(3)] + \
        [ElFailure(500, {"detail": "boom"})]
    out = tmp_path / "lib"
    result = cli("batch", batch, "-o", out, "--yes", "--json", "--concurrency", "4", "--retries", "3",
                 "--option", "poll_interval=0.05")
    assert result.code == 0, result.stderr
    events = events_of(result.stdout)
    assert any(e["event"] == "throttle" and e["provider"] == "runcomfy" for e in events)  # slowed down
    assert any(e["event"] == "retry" for e in events)                                      # failures retried
    summary = events[-1]
    assert summary["event"] == "summary" and summary["done"] == 14 and not summary["failed"]
    rows = index_rows(out)
    assert len(rows) == 14 and len({r["key"] for r in rows}) == 14 and len(audio_files(out)) == 14
    assert {r["provider"] for r in rows} == {"runcomfy", "elevenlabs"}
    # one accepted submit per item, plus one for the item whose remote job failed
    assert runcomfy.total_submits == 10 + 1
    assert sum(float(r["cost_usd"]) for r in rows if r["provider"] == "runcomfy") == pytest.approx(10 * 0.0123)
    for row in rows:
        sidecar = json.loads((out / row["sidecar"]).read_text())
        assert sidecar["model"] == row["model"] and row["loudness_lufs"]


def test_budget_stops_hosted_spending_on_time(runcomfy, tmp_path, cli):
    runcomfy.cost = 0.0123                   # the table says 5 s x $0.0002 = $0.001 a track
    batch = tmp_path / "b.yaml"
    batch.write_text(f"items:\n  - {{model: {ACE}, provider: runcomfy, tags: x, duration: 5, count: 6}}\n")
    out = tmp_path / "out"
    result = cli("batch", batch, "-o", out, "--yes", "--budget", "0.03", "--concurrency", "1", "--json",
                 "--option", "poll_interval=0.02")
    assert result.code == 65 and "budget reached" in result.error()["message"]
    summary = events_of(result.stdout)[-1]
    assert summary["spent_usd"] <= 0.03 and summary["done"] == 2 and runcomfy.total_submits == 2
    assert any(e["event"] == "budget" for e in events_of(result.stdout))


def _spawn_batch(batch: Path, out: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    full = dict(os.environ)
    full.update(env)
    full["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + full.get("PYTHONPATH", "")
    handle = open(log, "w")
    return subprocess.Popen([sys.executable, "-m", "aimusic", "batch", str(batch), "-o", str(out), "--yes",
                             "--concurrency", "4", "--option", "poll_interval=0.1"],
                            stdout=handle, stderr=subprocess.STDOUT, env=full)


def _states(out: Path) -> dict[str, int]:
    path = out / ".aimusic" / "manifest.sqlite"
    if not path.exists():
        return {}
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            rows = db.execute("SELECT state, COUNT(*) FROM items GROUP BY state").fetchall()
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return {}
    return dict(rows)


class HoldableServer(RunComfyServer):
    """A stand-in that can hold new submits at the door (before accepting them), so a test can
    kill the client at a moment when no submit is half-answered: RunComfy submits are not
    idempotent, and an id the client never received cannot be resumed by anyone."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.holding = threading.Event()
        self.dropping = False

    def new_job(self, model_id, payload):
        while self.holding.is_set():
            time.sleep(0.005)
        if self.dropping:  # its client was killed while it waited: never accepted, never billed
            raise ConnectionAbortedError("client gone")
        return super().new_job(model_id, payload)


def _recorded_ids(out: Path) -> int:
    path = out / ".aimusic" / "manifest.sqlite"
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute("SELECT COUNT(*) FROM events WHERE what='submitted'").fetchone()[0]
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return -1


def _kill_when(proc: subprocess.Popen, out: Path, ready, server: HoldableServer,
               timeout: float = 60) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = _states(out)
        if ready(states):
            server.holding.set()   # no new submit gets in; answered ones reach the manifest
            settle = time.monotonic() + 5
            while _recorded_ids(out) != server.total_submits and time.monotonic() < settle:
                time.sleep(0.005)
            assert _recorded_ids(out) == server.total_submits
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            server.dropping = True
            server.holding.clear()
            time.sleep(0.1)
            server.dropping = False
            return _states(out)
        if proc.poll() is not None:
            raise AssertionError(f"the batch ended (rc {proc.returncode}) before the kill point")
        time.sleep(0.02)
    proc.kill()
    raise AssertionError("kill point never reached")


def test_kill_9_twice_then_resume_submits_each_item_exactly_once(tmp_path, cli, monkeypatch):
    with HoldableServer(polls_before_done=6) as server:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        batch = tmp_path / "b.yaml"
        batch.write_text(f"items:\n  - {{model: {ACE}, provider: runcomfy, tags: 'lofi, rain', duration: 5, "
                         "count: 10, vary: [[a, b, c, d, e], [x, y]]}\n")
        out = tmp_path / "out"
        # 1) killed while requests are in flight (ids recorded, nothing finished yet)
        first = _spawn_batch(batch, out, server.env(), tmp_path / "run1.log")
        seen = _kill_when(first, out, lambda s: s.get("submitted", 0) >= 2, server)
        assert seen.get("submitted", 0) >= 2
        # 2) killed again once some items are done and others are in flight
        second = _spawn_batch(batch, out, server.env(), tmp_path / "run2.log")
        _kill_when(second, out, lambda s: s.get("done", 0) >= 3 and s.get("submitted", 0) >= 1, server)
        # 3) the same command, to the end
        result = cli("batch", batch, "-o", out, "--yes", "--json", "--concurrency", "4",
                     "--option", "poll_interval=0.05")
        assert result.code == 0, result.stderr
        summary = events_of(result.stdout)[-1]
        assert summary["done"] == 10
        assert server.total_submits == 10, (tmp_path / "run2.log").read_text()  # never paid twice
        assert not server.cancels                                                # kill -9 cancels nothing
        rows = index_rows(out)
        assert len(rows) == 10 and len({r["key"] for r in rows}) == 10 and len({r["file"] for r in rows}) == 10
        assert sorted(p.name for p in audio_files(out)) == sorted(r["file"] for r in rows)
        sidecars = [json.loads((out / r["sidecar"]).read_text()) for r in rows]
        resumed = [s for s in sidecars if s.get("resumed")]
        assert len(resumed) >= seen["submitted"]                     # in-flight requests were followed by id
        for sidecar in sidecars:
            assert sidecar["input"]["tags"].startswith("lofi, rain") and sidecar["model"] == ACE
        requested = {job.payload["tags"] for job in server.jobs.values()}
        assert requested == {r["tags"] for r in rows}


def test_adaptive_limit_halves_on_429_and_grows_back():
    import threading

    from aimusic.batch.limits import AdaptiveLimit, SlotGate

    limit = AdaptiveLimit(16)
    assert limit.throttle(0.0) and limit.limit == 8
    assert not limit.throttle(0.0) and limit.limit == 8              # one burst is one signal
    limit.last_cut -= 2
    assert limit.throttle(0.0) and limit.limit == 4
    for _ in range(4):
        limit.acquire()
    assert not limit.can_start()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Exception, match="cancelled"):                 # a full provider makes jobs wait
        limit.acquire(cancel)
    for _ in range(40):
        limit.release()
        limit.succeeded()
    assert 8 <= limit.limit <= 16 and limit.in_flight == 0
    limit.pause_until = time.monotonic() + 60                          # Retry-After pauses new submits
    assert not limit.can_start()
    # a RunComfy job holds its slot from submit until its result is ready, not while it downloads
    limit = AdaptiveLimit(1)
    gate = SlotGate(limit, "runcomfy", resumed=False, cancel=threading.Event())
    gate.start()
    assert limit.in_flight == 0
    gate.progress("submit", 0, 1)
    assert limit.in_flight == 1
    gate.progress("remote", 3, None)
    assert limit.in_flight == 1
    gate.progress("download", 0, 1)
    assert limit.in_flight == 0
    gate.end()
    assert limit.in_flight == 0
    whole = SlotGate(limit, "comfyui", resumed=False, cancel=threading.Event())
    whole.start()
    assert limit.in_flight == 1
    whole.end()
    assert limit.in_flight == 0


def test_a_request_left_by_a_killed_run_is_followed_and_finished_like_the_rest(runcomfy, tmp_path):
    from aimusic.batch import BatchOptions, load_batch, run_batch
    from aimusic.batch.library import work_dir
    from aimusic.batch.manifest import Manifest

    batch = tmp_path / "b.yaml"
    batch.write_text(f"items:\n  - {{model: {ACE}, provider: runcomfy, tags: x, duration: 5, count: 2}}\n")
    items = load_batch(batch)
    out = tmp_path / "out"
    job = runcomfy.new_job(ACE, dict(items[0].input))       # submitted by a run that then died
    manifest = Manifest(out / ".aimusic" / "manifest.sqlite")
    manifest.add_items(items)
    manifest.set_remote_id(items[0].key, "runcomfy", job.request_id)
    manifest.close()
    work_dir(out, items[0].key).mkdir(parents=True)
    before = runcomfy.total_submits
    report = run_batch(items, BatchOptions(out_dir=out, finish="streaming", options={"poll_interval": 0.02}))
    assert report.done == 2 and report.resumed == 1 and runcomfy.total_submits - before == 1
    rows = index_rows(out)
    assert all(abs(float(r["loudness_lufs"]) + 14) < 1.0 for r in rows)
    sidecar = json.loads((out / f"{items[0].stem}.json").read_text())
    assert sidecar["resumed"] and sidecar["finish"] and sidecar["input"] == items[0].input


def test_ctrl_c_cancels_in_flight_requests_and_the_rerun_finishes(tmp_path, monkeypatch):
    with RunComfyServer(polls_before_done=40) as server:
        batch = tmp_path / "b.yaml"
        batch.write_text(f"items:\n  - {{model: {ACE}, provider: runcomfy, tags: x, duration: 5, count: 3}}\n")
        out = tmp_path / "out"
        env = dict(server.env(), AIMUSIC_CONFIG_DIR=str(tmp_path / "config"))
        proc = _spawn_batch(batch, out, env, tmp_path / "run1.log")
        deadline = time.monotonic() + 60
        while _states(out).get("submitted", 0) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 130 and time.monotonic() - stopped_at < 10
        assert sorted(server.cancels) == sorted(server.jobs)          # cancelled, as `aimusic run` does
        assert "run the same command again" in (tmp_path / "run1.log").read_text()
        assert not audio_files(out)
        server.polls_before_done = 1
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        from conftest import run_cli

        again = run_cli("batch", batch, "-o", out, "--yes", "--option", "poll_interval=0.05")
        assert again.code == 0, again.stderr
        assert len(audio_files(out)) == 3 and len(index_rows(out)) == 3


def test_a_request_with_several_takes_keeps_them_all_under_its_item(runcomfy, tmp_path, cli):
    runcomfy.files_per_job = 2
    batch = tmp_path / "b.yaml"
    batch.write_text(f"items:\n  - {{model: {ACE}, provider: runcomfy, tags: x, duration: 5, count: 2}}\n")
    out = tmp_path / "out"
    result = cli("batch", batch, "-o", out, "--yes", "--option", "poll_interval=0.02")
    assert result.code == 0, result.stderr
    rows = index_rows(out)
    assert len(rows) == 4 and len({r["key"] for r in rows}) == 2 and len(audio_files(out)) == 4
    assert sum(r["file"].endswith("-t2.wav") for r in rows) == 2
    assert all((out / r["sidecar"]).exists() for r in rows)


def test_a_recorded_request_the_provider_no_longer_knows_is_submitted_again(runcomfy, tmp_path):
    from aimusic.batch import BatchOptions, load_batch, run_batch
    from aimusic.batch.manifest import Manifest

    batch = tmp_path / "b.yaml"
    batch.write_text(f"items:\n  - {{model: {ACE}, provider: runcomfy, tags: x, duration: 5}}\n")
    items = load_batch(batch)
    out = tmp_path / "out"
    manifest = Manifest(out / ".aimusic" / "manifest.sqlite")
    manifest.add_items(items)
    manifest.set_remote_id(items[0].key, "runcomfy", "req-gone")     # expired: the server says 404
    manifest.close()
    report = run_batch(items, BatchOptions(out_dir=out, options={"poll_interval": 0.02}))
    assert report.done == 1 and runcomfy.total_submits == 1

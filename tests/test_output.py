"""Outputs: the plugin path end to end, sidecars, tags, formats, replay, atomicity."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

import aimusic
from aimusic.output import OutputSink, write_file_atomic
from conftest import ROOT, SRC


@pytest.fixture
def tone(monkeypatch):
    from fakes import tone_engine

    tone_engine.install(monkeypatch)
    return "test/tone/text-to-audio"


def test_python_api_writes_audio_and_sidecar(tone, tmp_path):
    result = aimusic.run(tone, {"tags": "sine, test", "duration": 1.5, "seed": 7}, tmp_path)
    assert len(result.files) == 1 and result.seeds == [7]
    audio, rate = sf.read(result.files[0], always_2d=True)
    assert rate == 44100 and audio.shape == (66150, 2)
    sidecar = json.loads(open(result.sidecars[0]).read())
    assert sidecar["model"] == tone and sidecar["provider"] == "tone" and sidecar["task"] == "generate"
    assert sidecar["input"] == {"tags": "sine, test", "lyrics": "", "duration": 1.5, "seed": 7,
                                "frequency": 440.0}
    assert sidecar["seed"] == 7 and sidecar["cost_usd"] == pytest.approx(0.0015)
    assert sidecar["engine"]["versions"] == {"tone": "1"} and "numpy" in sidecar["versions"]
    assert {"validate_s", "run_s"} <= set(sidecar["timings"])
    assert sidecar["metadata"]["request_id"] == "tone-1"
    assert os.path.basename(result.files[0]).startswith("sine-test-tone-s7")


def test_random_seed_is_resolved_and_recorded(tone, tmp_path):
    result = aimusic.run(tone, {"tags": "x", "duration": 0.2}, tmp_path)
    seed = result.seeds[0]
    assert isinstance(seed, int) and seed >= 0
    assert json.loads(open(result.sidecars[0]).read())["input"]["seed"] == seed


def test_same_seed_same_bytes_and_collision_free_names(tone, tmp_path):
    first = aimusic.run(tone, {"tags": "x", "duration": 0.5, "seed": 3}, tmp_path)
    second = aimusic.run(tone, {"tags": "x", "duration": 0.5, "seed": 3}, tmp_path)
    assert first.files[0] != second.files[0]
    assert second.files[0].endswith("-1.wav")
    a, _ = sf.read(first.files[0])
    b, _ = sf.read(second.files[0])
    assert np.array_equal(a, b)


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "ogg"])
def test_formats_and_embedded_tags(tone, tmp_path, fmt):
    from aimusic.output.tags import read_tags

    result = aimusic.run(tone, {"tags": "sine, test", "duration": 1.0, "seed": 1}, tmp_path, format=fmt)
    path = result.files[0]
    assert path.endswith("." + fmt)
    info = sf.info(path)
    assert info.channels == 2 and abs(info.duration - 1.0) < 0.1
    tags = read_tags(path)
    assert any("sine" in v for v in tags.values()), tags


def test_replay_reproduces_the_file(tone, tmp_path, cli):
    result = aimusic.run(tone, {"tags": "replay me", "duration": 0.5, "seed": 11}, tmp_path)
    again = cli("replay", result.sidecars[0], "--json")
    assert again.code == 0, again.stderr
    body = again.json()
    a, _ = sf.read(result.files[0])
    b, _ = sf.read(body["files"][0])
    assert np.array_equal(a, b) and body["seeds"] == [11]


def test_replay_bad_sidecar(cli, tmp_path):
    assert cli("replay", tmp_path / "nope.json").code == 66
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert cli("replay", bad).code == 65


def test_cli_run_json_result(tone, tmp_path, cli):
    result = cli("run", tone, "--input", '{"tags": "x", "duration": 0.3, "seed": 5}', "-o", tmp_path, "--json")
    assert result.code == 0, result.stderr
    body = result.json()
    assert body["files"] and body["sidecars"] and body["seeds"] == [5] and body["model"] == tone


def test_extra_files_share_the_stem(tone, tmp_path):
    result = aimusic.run(tone, {"tags": "x", "duration": 0.3, "seed": 2}, tmp_path, options={"extra": True})
    extra = result.extra_files[0]["txt"]
    assert extra == result.files[0][:-4] + ".txt" and open(extra).read() == "tone"


def test_failure_leaves_output_dir_as_found(tone, tmp_path, monkeypatch):
    from fakes.tone_engine import ToneEngine

    def broken(self, model, request, ctx, sink):
        staged = sink.stage(".wav")
        with staged.open("wb") as handle:
            handle.write(b"partial")
        raise aimusic.api.UsageError("boom")

    monkeypatch.setattr(ToneEngine, "run", broken)
    with pytest.raises(aimusic.api.UsageError):
        aimusic.run(tone, {"tags": "x", "duration": 0.3}, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_interrupt_leaves_nothing_and_maps_to_130(tone, tmp_path, monkeypatch):
    from aimusic.errors import Interrupted
    from fakes.tone_engine import ToneEngine

    def interrupted(self, model, request, ctx, sink):
        sink.stage_bytes(b"half", ".wav")
        raise KeyboardInterrupt

    monkeypatch.setattr(ToneEngine, "run", interrupted)
    with pytest.raises(Interrupted) as info:
        aimusic.run(tone, {"tags": "x", "duration": 0.3}, tmp_path)
    assert info.value.exit_code == 130 and list(tmp_path.iterdir()) == []


def test_kill_9_midway_leaves_no_file(tmp_path):
    script = (
        "import sys; sys.path.insert(0, %r)\n"
        "from fakes import tone_engine; tone_engine.install()\n"
        "import aimusic\n"
        "aimusic.run('test/tone/text-to-audio', {'tags': 'x', 'duration': 1}, %r, options={'slow_stage': True})\n"
    ) % (str(ROOT / "tests"), str(tmp_path))
    env = dict(os.environ, PYTHONPATH=str(SRC))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert list(tmp_path.iterdir()) == []


def test_output_dir_that_is_a_file_is_a_clear_error(tone, tmp_path, cli):
    target = tmp_path / "file"
    target.write_text("x")
    result = cli("run", tone, "--input", '{"tags": "x", "duration": 0.2}', "-o", target)
    assert result.code in (64, 65) and "Traceback" not in result.stderr


def test_write_file_atomic_replaces_whole(tmp_path):
    path = tmp_path / "index.json"
    write_file_atomic(path, b"one")
    write_file_atomic(path, b"two")
    assert path.read_bytes() == b"two" and sorted(p.name for p in tmp_path.iterdir()) == ["index.json"]


def test_sink_commit_links_all_or_nothing(tmp_path):
    from aimusic.output import PendingOutput

    sink = OutputSink(tmp_path)
    samples = np.zeros((2, 100), dtype=np.float32)
    pending = [PendingOutput(audio=sink.stage_audio(samples, 44100, "wav"), ext="wav", stem="a",
                             sidecar={"model": "m", "seed": 1})]
    committed = sink.commit(pending)
    assert committed[0].audio.name == "a.wav" and committed[0].sidecar.name == "a.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.wav"]

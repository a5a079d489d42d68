"""`aimusic generate` / `aimusic edit`: plan + run through aimusic.api.run (offline sketch engine)."""

import json

import soundfile as sf

from aimusic.plan import make_plan


def test_generate_without_keys_runs_on_sketch(cli, tmp_path):
    out = tmp_path / "out"
    result = cli("generate", "chill lofi, 80 BPM", "--duration", "5", "-o", out, "--seed", "7", "--json")
    assert result.code == 0, result.stderr
    data = result.json()
    assert data["plan"]["provider"] == "sketch" and data["plan"]["model"] == "local/sketch/text-to-audio"
    assert any("sketch" in r for r in data["plan"]["reasons"])
    [path] = data["files"]
    info = sf.info(path)
    assert abs(info.frames / info.samplerate - 5.0) < 0.05
    sidecar = json.loads((out / (path.rsplit("/", 1)[1].rsplit(".", 1)[0] + ".json")).read_text())
    assert sidecar["input"]["seed"] == 7 and "80 BPM" in sidecar["input"]["tags"]


def test_generate_text_output_and_overrides(cli, tmp_path):
    result = cli("generate", "a cheap rock demo", "--tags", "jazz, upright bass", "--duration", "3",
                 "--instrumental", "-o", tmp_path)
    assert result.code == 0, result.stderr
    assert "offline sketch engine" in result.stderr and result.stdout.strip().endswith(tuple("0123456789"))
    sidecar = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert sidecar["input"]["tags"] == "jazz, upright bass" and sidecar["input"]["lyrics"] == "[inst]"


def test_generate_batch_runs_every_take_with_varied_tags(cli, tmp_path):
    result = cli("generate", "3 cheap lofi loops, 5 seconds", "--provider", "sketch", "-o", tmp_path, "--json")
    assert result.code == 0, result.stderr
    data = result.json()
    assert len(data["files"]) == 3
    tags = {r["input"]["tags"] for r in data["results"]}
    assert len(tags) == 3


def test_dry_run_writes_nothing(cli, tmp_path):
    out = tmp_path / "out"
    result = cli("generate", "premium brand jingle, 10 s", "--provider", "runcomfy", "--dry-run", "--json",
                 "-o", out)
    assert result.code == 0
    assert result.json()["model"] == "elevenlabs/elevenlabs/music-generation"
    assert not out.exists()


def test_edit_dry_run_and_errors(cli, wav_file, tmp_path):
    source = wav_file(20.0, sample_rate=8000)
    result = cli("edit", source, "fix the bridge from 0:05 to 0:08", "--dry-run", "--provider", "runcomfy", "--json")
    assert result.code == 0
    data = result.json()
    assert data["task"] == "inpaint" and (data["input"]["start_time"], data["input"]["end_time"]) == (5, 8)
    assert cli("edit", source, "fix from 0:08 to 0:05", "--dry-run").code == 65
    assert cli("edit", source, "", "--dry-run").code == 65
    assert cli("edit", tmp_path / "missing.wav", "fix 0:01 to 0:02").code == 66


def test_generate_over_budget_runs_nothing(cli, tmp_path):
    out = tmp_path / "out"
    result = cli("generate", "50 background tracks", "--provider", "runcomfy", "--budget", "0.1", "-o", out)
    assert result.code == 65 and "$0.6000" in result.stderr
    assert not out.exists()


def test_generate_needs_key_for_hosted(cli, tmp_path):
    result = cli("generate", "cheap lofi", "--provider", "runcomfy", "-o", tmp_path)
    assert result.code == 77
    assert list(tmp_path.iterdir()) == []


def test_chained_outpaint_runs_and_keeps_the_source(tmp_path, wav_file, monkeypatch):
    """A chain past a model's limit: every call really runs (sketch engine), the joins keep the
    source bit-identical, and only the finished track appears in the output directory."""
    from aimusic.catalog import get_model
    from aimusic.pipeline import run_plan

    import aimusic.catalog as catalog

    model = get_model("local/sketch/audio-outpaint")
    small = type(model)(**{**model.__dict__, "max_seconds": 12.0})
    monkeypatch.setitem(catalog._MODELS, model.id, small)  # a 12 s limit forces a chain on short audio
    source = wav_file(6.0, sample_rate=44100)
    plan = make_plan("add 14 seconds at the end", audio=str(source), provider="sketch")
    assert len(plan.steps) >= 2 and plan.steps[1].join == "append"
    out = tmp_path / "out"
    [result] = run_plan(plan, out)
    audio, rate = sf.read(result.files[0], always_2d=True)
    original, _ = sf.read(source, always_2d=True)
    assert abs(len(audio) / rate - 20.0) < 0.1
    assert (abs(audio[: len(original)] - original) < 1e-4).all()
    assert sorted(p.suffix for p in out.iterdir()) == [".json", ".wav"]
    assert len(json.loads(next(out.glob("*.json")).read_text())["chain"]) == len(plan.steps)


def test_edit_runs_inpaint_on_sketch(cli, wav_file, tmp_path):
    source = wav_file(6.0, sample_rate=44100)
    result = cli("edit", source, "redo from 2s to 4s, jazzy piano", "-o", tmp_path / "out", "--json")
    assert result.code == 0, result.stderr
    data = result.json()
    assert data["plan"]["task"] == "inpaint" and data["plan"]["input"]["tags"].startswith("jazzy piano")
    [path] = data["files"]
    edited, rate = sf.read(path, always_2d=True)
    original, _ = sf.read(source, always_2d=True)
    assert edited.shape == original.shape
    # outside the window (and its crossfades) the track is untouched
    assert abs(edited[: int(1.5 * rate)] - original[: int(1.5 * rate)]).max() < 1e-3


def test_edit_remix_on_sketch_and_not_hosted(cli, wav_file, tmp_path):
    source = wav_file(4.0, sample_rate=44100)
    result = cli("edit", source, "remix it in the style of synthwave", "--provider", "sketch", "-o", tmp_path)
    assert result.code == 0, result.stderr
    assert cli("plan", "remix it in the style of synthwave", "--audio", source, "--provider", "runcomfy").code == 64


def test_unknown_finish_preset_fails_before_running(cli, tmp_path):
    result = cli("generate", "cheap lofi", "--duration", "3", "--finish", "bogus", "-o", tmp_path / "out")
    assert result.code == 64 and "streaming" in result.stderr
    assert "[render]" not in result.stderr and not (tmp_path / "out").exists()


def test_finish_preset_is_applied(cli, tmp_path):
    result = cli("generate", "cheap lofi", "--duration", "4", "--finish", "streaming", "-o", tmp_path, "--json")
    assert result.code == 0, result.stderr
    sidecar = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert sidecar["finish"]["preset"] == "streaming"


def test_api_generate_and_cancel(tmp_path):
    import threading

    import pytest

    from aimusic import api
    from aimusic.errors import Interrupted

    result = api.generate("cheap lofi", tmp_path / "a", overrides={"duration": 3}, provider="sketch")
    assert len(result.files) == 1
    cancelled = threading.Event()
    cancelled.set()
    with pytest.raises(Interrupted):
        api.generate("cheap lofi", tmp_path / "b", overrides={"duration": 3}, provider="sketch",
                     cancel_event=cancelled)
    assert not (tmp_path / "b").exists() or not any((tmp_path / "b").iterdir())


def test_missing_key_for_a_later_step_stops_before_the_first(cli, tmp_path):
    """Draft on sketch, polish on ElevenLabs without a key: 77 before the draft runs."""
    out = tmp_path / "out"
    result = cli("generate", "cheap draft, then premium polish: upbeat pop", "--duration", "5", "-o", out)
    assert result.code == 77
    assert not out.exists() or not any(out.iterdir())

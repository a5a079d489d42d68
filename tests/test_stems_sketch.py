"""Stems, layers and synced lyrics on the sketch engine, and the planner's routing of them (issue 19)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import music_like

LYRICS = "[Verse]\nhello world we sing\nanother line of song"


def _read(path) -> np.ndarray:
    return sf.read(str(path), dtype="float64", always_2d=True)[0].T


@pytest.fixture(scope="module")
def sung(tmp_path_factory) -> Path:
    from conftest import run_cli

    out = tmp_path_factory.mktemp("sung")
    res = run_cli("run", "local/sketch/text-to-audio", "--input", json.dumps(
        {"tags": "pop, 100 BPM, vinyl", "lyrics": LYRICS, "duration": 8, "seed": 3}), "-o", str(out), "--json",
        "--format", "flac", "--lrc")
    assert res.code == 0, res.stderr
    return Path(res.json()["files"][0])


def test_sketch_stems_sum_to_the_mix(cli, sung, tmp_path):
    res = cli("run", "local/sketch/audio-separate", "--input", json.dumps({"audio": str(sung)}), "-o", str(tmp_path),
              "--json", "--format", "wav")
    assert res.code == 0, res.stderr
    main = Path(res.json()["files"][0])
    stems = sorted(tmp_path.glob(main.name[:-4] + ".*.wav"))
    names = {p.name.split(".")[-2] for p in stems}
    assert {"drums", "bass", "chords", "vocals", "texture"} <= names
    total = sum(_read(p) for p in stems)
    assert np.abs(total - _read(main)).max() < 1e-5          # PCM_24 rounding of each stem
    assert np.abs(_read(main) - _read(sung)).max() < 1e-5    # and the main file is the original mix


def test_sketch_instrumental_version_leaves_the_vocals_out(cli, sung, tmp_path):
    res = cli("run", "local/sketch/audio-separate", "--input", json.dumps({"audio": str(sung), "remove": ["vocals"],
              "stems": ["vocals"]}), "-o", str(tmp_path), "--json")
    assert res.code == 0, res.stderr
    main = Path(res.json()["files"][0])
    vocals = _read(main.with_name(main.name[:-4] + ".vocals.wav"))
    assert np.abs(_read(main) + vocals - _read(sung)).max() < 1e-4


def test_other_files_are_refused_with_78_naming_providers(cli, wav_file, tmp_path):
    source = wav_file(3.0)
    res = cli("run", "local/sketch/audio-separate", "--input", json.dumps({"audio": str(source)}),
              "-o", str(tmp_path / "o"), "--json")
    assert res.code == 78
    hint = res.error()["hint"]
    assert "elevenlabs/elevenlabs/audio-separate" in hint and "local/ace-step-1.5-base/audio-separate" in hint
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())
    bad = cli("run", "local/sketch/audio-separate", "--input", json.dumps({"audio": str(source), "stems": ["kazoo"]}),
              "-o", str(tmp_path / "o"), "--json")
    assert bad.code == 65 and "kazoo" in bad.error()["message"]


def test_sketch_lrc_words_are_the_sung_notes(sung):
    from lrcparser import LrcParser

    sidecar = json.loads(sung.with_suffix(".json").read_text())
    timing = sidecar["lyrics_timing"]
    assert [w["word"] for w in timing] == "hello world we sing another line of song".split()
    assert all(a["end"] <= b["start"] + 1e-3 for a, b in zip(timing, timing[1:]))
    lrc = sung.with_suffix(".lrc")
    assert sidecar["extra_files"]["lrc"] == lrc.name
    lines = LrcParser.parse(lrc.read_text())["lrc_lines"]
    assert len(lines) == 2 and float(lines[1].start_time) == pytest.approx(timing[4]["start"], abs=0.01)
    words = [(round(float(seg.time), 2), seg.text.strip()) for seg in lines[0].text if seg.text.strip()]
    assert words == [(round(w["start"], 2), w["word"]) for w in timing[:4]]


def test_layer_mix_is_source_plus_part(cli, tmp_path):
    source = tmp_path / "quiet.wav"
    sf.write(source, (music_like(6.0, 44100, bpm=100) * 0.25).T, 44100, subtype="FLOAT")
    res = cli("run", "local/sketch/audio-layer", "--input", json.dumps({"audio": str(source), "track": "strings",
              "seed": 2}), "-o", str(tmp_path / "o"), "--json")
    assert res.code == 0, res.stderr
    mix = Path(res.json()["files"][0])
    part = _read(mix.with_name(mix.name[:-4] + ".strings.wav"))
    assert np.abs(part).max() > 0.01
    assert np.array_equal(_read(mix), _read(source) + part) or np.abs(_read(mix) - _read(source) - part).max() < 1e-6
    side = json.loads(mix.with_suffix(".json").read_text())
    assert side["metadata"]["layer"]["mix_is_source_plus_part"] is True


def test_add_vocals_sings_the_lyrics_with_timing(cli, tmp_path):
    source = tmp_path / "inst.wav"
    sf.write(source, (music_like(8.0, 44100, bpm=100) * 0.25).T, 44100)
    res = cli("edit", str(source), "put a vocal on my instrumental", "--lyrics", "la la la\nsing it loud",
              "--provider", "sketch", "-o", str(tmp_path / "o"), "--json", "--lrc")
    assert res.code == 0, res.stderr
    mix = Path(res.json()["files"][0])
    assert mix.with_name(mix.name[:-4] + ".vocals.wav").is_file() and mix.with_suffix(".lrc").is_file()
    timing = json.loads(mix.with_suffix(".json").read_text())["lyrics_timing"]
    words = [w["word"] for w in timing]
    assert len(words) >= 4 and words == ["la", "la", "la", "sing", "it", "loud"][:len(words)]
    assert all(0 <= w["start"] <= 8.0 for w in timing)   # only what is sung inside the source


def test_layer_bad_input(cli, tmp_path):
    short = tmp_path / "short.wav"
    sf.write(short, (music_like(1.0) * 0.3).T, 44100)
    res = cli("run", "local/sketch/audio-layer", "--input", json.dumps({"audio": str(short), "track": "drums"}),
              "-o", str(tmp_path / "o"), "--json")
    assert res.code == 65 and "too short" in res.error()["message"]
    res = cli("edit", str(short), "put a vocal on my instrumental", "--provider", "sketch", "-o", str(tmp_path / "o"))
    assert res.code == 65 and "lyrics" in res.stderr
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


@pytest.mark.parametrize("words, task, field, value", [
    ("separate the vocals", "separate", "stems", ["vocals"]),
    ("give me the stems", "separate", "stems", []),
    ("remove the vocals", "separate", "remove", ["vocals"]),
    ("an instrumental version of my song", "separate", "remove", ["vocals"]),
    ("add drums to this", "layer", "track", "drums"),
    ("add strings to this", "layer", "track", "strings"),
    ("add a sax line to this", "layer", "track", "sax"),
    ("make a backing track for my vocal", "layer", "track", "backing"),
])
def test_the_planner_routes_part_requests(words, task, field, value, sung):
    from aimusic.plan import make_plan

    plan = make_plan(words, audio=str(sung), provider="auto")
    assert plan.task == task and plan.input[field] == value and plan.provider == "sketch"
    assert plan.reasons[0].startswith("'") and f"-> {task}" in plan.reasons[0]


def test_planner_picks_elevenlabs_for_other_files_priced_and_78_without_any(wav_file, monkeypatch):
    from aimusic.errors import NotConfiguredError
    from aimusic.plan import make_plan

    source = wav_file(10.0)
    with pytest.raises(NotConfiguredError) as info:
        make_plan("remove the vocals", audio=str(source))
    assert "elevenlabs" in info.value.hint and "local" in info.value.hint
    monkeypatch.setenv("ELEVENLABS_API_KEY", "el-x")
    plan = make_plan("remove the vocals", audio=str(source))
    assert plan.model == "elevenlabs/elevenlabs/audio-separate"
    assert plan.input["stem_variation_id"] == "two_stems_v1" and plan.estimated_cost_usd == pytest.approx(0.083)
    assert any("provider elevenlabs" in r for r in plan.reasons) and any("priced" in r for r in plan.reasons)
    layer = make_plan("add a sax line to this", audio=str(source))
    assert layer.provider == "sketch" and any("local:" in r for r in layer.reasons)


def test_batch_runs_a_separation(cli, sung, tmp_path):
    batch = tmp_path / "b.jsonl"
    batch.write_text(json.dumps({"model": "local/sketch/audio-separate", "input": {"audio": str(sung),
                                                                                 "stems": ["drums"]}}) + "\n")
    res = cli("batch", str(batch), "-o", str(tmp_path / "lib"), "--yes", "--json")
    assert res.code == 0, res.stderr
    assert list((tmp_path / "lib").rglob("*.drums.wav"))

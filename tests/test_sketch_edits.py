"""Offline edits with the sketch engine on any audio: inpaint, outpaint, remix."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import aimusic

INPAINT = "local/sketch/audio-inpaint"
OUTPAINT = "local/sketch/audio-outpaint"
REMIX = "local/sketch/audio-to-audio"


def _read(path) -> tuple[np.ndarray, int]:
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return data, rate


@pytest.mark.parametrize("rate,subtype,channels", [(44100, "PCM_16", 2), (48000, "PCM_24", 2),
                                                   (32000, "FLOAT", 1)])
def test_inpaint_keeps_everything_outside_the_window_bit_identical(tmp_path, rate, subtype, channels):
    from conftest import music_like

    source = tmp_path / "source.wav"
    audio = music_like(16, rate, 100)[:channels]
    sf.write(source, audio.T, rate, subtype=subtype)
    result = aimusic.run(INPAINT, {"audio": str(source), "tags": "pop, piano", "start_time": 4.3,
                                   "end_time": 11.1, "seed": 3}, tmp_path / "out")
    out, out_rate = _read(result.files[0])
    src, _ = _read(source)
    assert out_rate == rate and out.shape == src.shape and sf.info(result.files[0]).subtype == subtype
    a, b = int(4.3 * rate), int(11.1 * rate)
    assert np.array_equal(out[:a], src[:a]) and np.array_equal(out[b:], src[b:])
    edit = json.loads(Path(result.sidecars[0]).read_text())["metadata"]["sketch_edit"]
    s, e = (int(round(t * rate)) for t in edit["spliced_s"])
    assert a <= s < e <= b
    fade = int(round(edit["crossfade_s"] * rate))
    assert np.abs(out[s + fade:e - fade] - src[s + fade:e - fade]).mean() > 1e-3   # new material inside
    assert edit["source"]["tempo_bpm"] == pytest.approx(100, rel=0.03)
    assert edit["snapped_to"] != "exact"                                          # on the source's grid


def test_inpaint_splices_on_the_bar_grid_of_a_sketch_track(tmp_path):
    made = aimusic.run("local/sketch/text-to-audio", {"tags": "rock, D minor, 120 BPM", "duration": 24, "seed": 1},
                       tmp_path / "src")
    result = aimusic.run(INPAINT, {"audio": made.files[0], "tags": "rock", "start_time": 6.0, "end_time": 14.0,
                                   "seed": 2}, tmp_path / "out")
    edit = json.loads(Path(result.sidecars[0]).read_text())["metadata"]["sketch_edit"]
    assert edit["source"]["tempo_bpm"] == pytest.approx(120, rel=0.03)
    assert edit["source"]["key"] in ("D minor", "F major")        # relative keys share a scale
    start, end = edit["spliced_s"]
    beat = 0.5                        # splices sit on the track's beat lines (bar lines where close)
    assert abs(start / beat - round(start / beat)) < 0.1 and abs(end / beat - round(end / beat)) < 0.1
    assert edit["snapped_to"].startswith("bar")          # 6.0 s is a bar line of the 120 BPM track
    out, rate = _read(result.files[0])
    src, _ = _read(made.files[0])
    assert np.array_equal(out[: int(6 * rate)], src[: int(6 * rate)])
    assert np.array_equal(out[int(14 * rate):], src[int(14 * rate):])


def test_outpaint_extends_both_ends_and_keeps_the_source(tmp_path, wav_file):
    source = wav_file(10.0, 44100, bpm=110)
    result = aimusic.run(OUTPAINT, {"audio": str(source), "tags": "funk", "extend_before_duration": 3,
                                    "extend_after_duration": 7.5, "seed": 5}, tmp_path)
    out, rate = _read(result.files[0])
    src, _ = _read(source)
    before = 3 * rate
    assert out.shape[0] == src.shape[0] + before + int(7.5 * rate)
    assert np.array_equal(out[before:before + src.shape[0]], src)
    assert np.abs(out[:before]).mean() > 1e-3 and np.abs(out[before + src.shape[0]:]).mean() > 1e-3


def test_remix_blends_by_strength_at_the_source_rate(tmp_path, wav_file):
    source = wav_file(8.0, 48000, bpm=96)
    src, _ = _read(source)
    kept = aimusic.run(REMIX, {"audio": str(source), "tags": "synthwave", "strength": 0.0, "seed": 1}, tmp_path / "a")
    out, rate = _read(kept.files[0])
    assert rate == 48000 and np.array_equal(out, src)
    changed = aimusic.run(REMIX, {"audio": str(source), "tags": "synthwave", "strength": 0.8, "seed": 1},
                          tmp_path / "b")
    out, _ = _read(changed.files[0])
    assert out.shape == src.shape and np.abs(out - src).mean() > 1e-3


def test_edits_are_deterministic(tmp_path, wav_file):
    source = wav_file(8.0, 44100)
    request = {"audio": str(source), "tags": "jazz", "start_time": 2, "end_time": 6, "seed": 11}
    a = aimusic.run(INPAINT, request, tmp_path / "a")
    b = aimusic.run(INPAINT, request, tmp_path / "b")
    digest = [hashlib.sha256(Path(r.files[0]).read_bytes()).hexdigest() for r in (a, b)]
    assert digest[0] == digest[1]


def test_edit_input_errors(cli, tmp_path, wav_file):
    source = wav_file(4.0)
    missing = cli("run", INPAINT, "--input", json.dumps({"audio": str(tmp_path / "nope.wav"), "tags": "pop"}),
                  "-o", tmp_path / "o", "--json")
    assert missing.code == 66
    url = cli("run", INPAINT, "--input", json.dumps({"audio": "https://example.com/a.wav", "tags": "pop",
                                                     "start_time": 0, "end_time": 2}), "-o", tmp_path / "o", "--json")
    assert url.code == 65 and url.error()["field"] == "audio"
    window = cli("run", INPAINT, "--input", json.dumps({"audio": str(source), "tags": "pop", "start_time": 3,
                                                        "end_time": 9}), "-o", tmp_path / "o", "--json")
    assert window.code == 65
    nothing = cli("run", OUTPAINT, "--input", json.dumps({"audio": str(source), "tags": "pop",
                                                          "extend_after_duration": 0}), "-o", tmp_path / "o", "--json")
    assert nothing.code == 65
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())

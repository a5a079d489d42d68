"""ACE-Step 1.5's extract / lego / complete (issue 19) on the tiny random-weight pipeline, through the
real CLI, with parity against direct diffusers calls."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import music_like

BASE = "local/ace-step-1.5-base"
FAST = {"steps": 2, "seed": 7}


@pytest.fixture
def source48(tmp_path) -> Path:
    """48 kHz stereo float WAV with headroom (so the layer's mix is exactly source + part)."""
    path = tmp_path / "source.wav"
    sf.write(path, (music_like(3.0, 48000) * 0.3).T, 48000, subtype="FLOAT")
    return path


def _read(path) -> np.ndarray:
    data, _ = sf.read(str(path), dtype="float32", always_2d=True)
    return data.T


def _direct(path: Path, src: np.ndarray, **kwargs):
    import torch
    from diffusers import AceStepPipeline

    pipe = AceStepPipeline.from_pretrained(str(path))
    pipe.set_progress_bar_config(disable=True)
    torch.manual_seed(7)   # the engine seeds the VAE posterior sample the same way
    return pipe(prompt=kwargs.pop("prompt", "music"), lyrics="[Instrumental]", vocal_language="unknown",
                audio_duration=src.shape[1] / 48000, num_inference_steps=2, guidance_scale=7.0, shift=1.0,
                generator=torch.Generator("cpu").manual_seed(7), src_audio=torch.from_numpy(src),
                **kwargs).audios[0].numpy()


def _padded(path: Path) -> np.ndarray:
    src = _read(path)
    extra = (-src.shape[1]) % 1920
    return np.pad(src, ((0, 0), (0, extra)))


def test_extract_stems_match_direct_pipeline_calls(cli, tiny_base_dir, source48, tmp_path):
    out = tmp_path / "out"
    res = cli("run", f"{BASE}/audio-separate", "--input", json.dumps({"audio": str(source48), "stems": ["vocals", "drums"],
              **FAST}), "-o", str(out), "--json", "--model-path", str(tiny_base_dir), "--format", "wav")
    assert res.code == 0, res.stderr
    main = Path(res.json()["files"][0])
    stem = main.name[:-4]
    for name in ("vocals", "drums"):
        ours = _read(out / f"{stem}.{name}.wav")
        direct = _direct(tiny_base_dir, _padded(source48), task_type="extract", track_name=name)
        assert np.allclose(ours, direct[:, :ours.shape[1]], atol=2e-4), name   # PCM_24 of the same call
    side = json.loads(main.with_suffix(".json").read_text())
    assert side["metadata"]["pipeline_calls"] == 2 and side["metadata"]["task"] == "extract"
    assert np.array_equal(_read(main), _read(source48))   # nothing removed: the source as it was


def test_remove_subtracts_the_extracted_stem(cli, tiny_base_dir, source48, tmp_path):
    res = cli("run", f"{BASE}/audio-separate", "--input", json.dumps({"audio": str(source48), "remove": ["vocals"],
              **FAST}), "-o", str(tmp_path), "--json", "--model-path", str(tiny_base_dir))
    assert res.code == 0, res.stderr
    main = Path(res.json()["files"][0])
    vocals = _read(main.with_name(main.name[:-4] + ".vocals.wav"))
    assert not np.array_equal(_read(main), _read(source48)[:, :vocals.shape[1]])


@pytest.mark.parametrize("track, kwargs", [("drums", {"task_type": "lego", "track_name": "drums"}),
                                           ("backing", {"task_type": "complete",
                                                        "complete_track_classes": ["drums", "bass", "keyboard"]})])
def test_lego_and_complete_part_matches_direct_call_and_mix_is_source_plus_part(cli, tiny_base_dir, source48,
                                                                                tmp_path, track, kwargs):
    from aimusic.audio.layering import add_part

    res = cli("run", f"{BASE}/audio-layer", "--input", json.dumps({"audio": str(source48), "track": track,
              "tags": "rock", **FAST}), "-o", str(tmp_path), "--json", "--model-path", str(tiny_base_dir),
              "--format", "flac")
    assert res.code == 0, res.stderr
    mix_path = Path(res.json()["files"][0])
    part = _read(mix_path.with_name(mix_path.name[:-5] + f".{track}.flac"))
    mix, source = _read(mix_path), _read(source48)
    side = json.loads(mix_path.with_suffix(".json").read_text())
    assert side["metadata"]["layer"]["mix_is_source_plus_part"] is True
    assert np.allclose(mix, source + part, atol=1e-4)           # FLAC 24-bit rounding of each
    direct = _direct(tiny_base_dir, _padded(source48), prompt="rock", **kwargs)[:, :source.shape[1]]
    _, expected_part, _ = add_part(source, direct, 0.0)
    assert np.allclose(part, expected_part, atol=1e-4)


def test_turbo_checkpoints_are_refused_naming_the_base_model(cli, tiny_dir, source48, tmp_path):
    res = cli("run", "local/ace-step-1.5-turbo/audio-separate", "--input", json.dumps({"audio": str(source48)}),
              "-o", str(tmp_path), "--json", "--model-path", str(tiny_dir))
    assert res.code == 78
    err = res.error()
    assert "local/ace-step-1.5-base/audio-separate" in err["hint"]
    assert "aimusic models pull local/ace-step-1.5-base/text-to-audio" in err["hint"]
    # a turbo checkpoint given to the base model id is refused once loaded
    res = cli("run", f"{BASE}/audio-layer", "--input", json.dumps({"audio": str(source48), "track": "bass"}),
              "-o", str(tmp_path), "--json", "--model-path", str(tiny_dir))
    assert res.code == 78 and "base" in res.error()["message"]
    assert list(tmp_path.glob("*.wav")) == [source48]


def test_bad_track_input(cli, tiny_base_dir, tmp_path):
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros((48000, 2), np.float32), 48000)
    res = cli("run", f"{BASE}/audio-layer", "--input", json.dumps({"audio": str(short), "track": "drums"}),
              "-o", str(tmp_path / "o"), "--json", "--model-path", str(tiny_base_dir))
    assert res.code == 65 and "too short" in res.error()["message"]
    res = cli("run", f"{BASE}/audio-layer", "--input", json.dumps({"audio": str(short), "track": "kazoo"}),
              "-o", str(tmp_path / "o"), "--json")
    assert res.code == 65 and "kazoo" in res.error()["message"] and "vocals" in res.error()["message"]
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())

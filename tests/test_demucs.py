"""The demucs engine (issue 19): a tiny random-weight HTDemucs built in-process, saved in demucs's
own Hugging Face export format (a bag yaml + a safetensors whose metadata holds the class and its
arguments), run through the real CLI and compared with a direct `apply_model` call."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

MODEL = "local/demucs/audio-separate"
SOURCES = ["drums", "bass", "other", "vocals"]
RATE = 16000  # the tiny model's samplerate: a source at this rate is fed to it unresampled


def tiny_htdemucs():
    import torch
    from demucs.htdemucs import HTDemucs

    torch.manual_seed(0)
    return HTDemucs(sources=SOURCES, channels=8, depth=2, dconv_comp=2, nfft=512, t_layers=1, t_heads=1,
                    t_hidden_scale=1.0, segment=2, samplerate=RATE).eval()


def save_export(net, folder: Path, sig: str = "0a1b2c3d", name: str = "htdemucs") -> Path:
    """What demucs's tools/export_hf.py publishes and `demucs.hf.load_safetensors_model` reads."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    args, kwargs = net._init_args_kwargs
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(folder / f"{sig}.safetensors"),
              metadata={"klass": "demucs.htdemucs.HTDemucs", "args": json.dumps(list(args)),
                        "kwargs": json.dumps(kwargs)})
    (folder / f"{name}.yaml").write_text(f"models: ['{sig}']\n")
    return folder


@pytest.fixture(scope="module")
def net():
    return tiny_htdemucs()


@pytest.fixture
def weights(net, tmp_path) -> Path:
    return save_export(net, tmp_path / "demucs-tiny")


def hub_cache_copy(net, home: Path) -> Path:
    """The tiny model where `models pull` leaves the real one: the hub cache's snapshot layout."""
    repo = home / "hf" / "hub" / "models--adefossez--HTDemucs"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("f" * 40)
    return save_export(net, repo / "snapshots" / ("f" * 40))


def song(tmp_path: Path, seconds: float = 3.0, rate: int = RATE, channels: int = 2) -> Path:
    import soundfile as sf

    from conftest import music_like

    path = tmp_path / "my song.wav"
    sf.write(path, music_like(seconds, rate)[:channels].T, rate, subtype="FLOAT")
    return path


def read(path: Path) -> np.ndarray:
    import soundfile as sf

    return sf.read(path, dtype="float32", always_2d=True)[0].T


def test_stems_sum_to_the_main_file_and_match_apply_model(cli, net, weights, tmp_path):
    import random

    import torch
    from demucs.apply import apply_model

    source_path = song(tmp_path)
    out = tmp_path / "out"
    res = cli("run", MODEL, "--input", json.dumps({"audio": str(source_path), "remove": ["vocals"], "seed": 3}),
              "--model-path", str(weights), "--device", "cpu", "-o", str(out), "--json")
    assert res.code == 0, res.stderr
    main_path = Path(res.json()["files"][0])
    stem = main_path.name.rsplit(".", 1)[0]
    stems = {s: read(out / f"{stem}.{s}.wav") for s in SOURCES}
    main = read(main_path)
    assert np.allclose(main, stems["drums"] + stems["bass"] + stems["other"], atol=1e-6)
    # parity: demucs's Separator steps on the same model, same seed for the shift
    wav = torch.from_numpy(read(source_path))
    ref = wav.mean(0)
    mean, std = ref.mean(), ref.std() + 1e-8
    random.seed(3)
    with torch.inference_mode():
        direct = apply_model(net, ((wav - mean) / std)[None], shifts=1, split=True, overlap=0.25,
                             device="cpu")[0] * std + mean
    for index, name in enumerate(SOURCES):
        assert np.allclose(stems[name], direct[index].numpy(), atol=1e-5), name
    sidecar = json.loads((out / f"{stem}.json").read_text())
    assert sidecar["provider"] == "demucs" and sidecar["metadata"]["separate"]["kept"] == ["drums", "bass", "other"]
    assert sidecar["metadata"]["sources"] == SOURCES


def test_mono_source_at_another_rate_comes_back_at_its_own(cli, weights, tmp_path):
    source_path = song(tmp_path, 2.5, rate=22050, channels=1)
    out = tmp_path / "out"
    res = cli("run", MODEL, "--input", json.dumps({"audio": str(source_path), "stems": ["vocals", "bass"]}),
              "--model-path", str(weights), "-o", str(out), "--json")
    assert res.code == 0, res.stderr
    import soundfile as sf

    main_path = Path(res.json()["files"][0])
    stem = main_path.name.rsplit(".", 1)[0]
    written = sorted(p.name for p in out.iterdir() if p.suffix == ".wav")
    assert written == sorted([main_path.name, f"{stem}.vocals.wav", f"{stem}.bass.wav"])
    info = sf.info(out / f"{stem}.vocals.wav")
    assert info.samplerate == 22050 and info.channels == 1 and info.frames == sf.info(source_path).frames


def test_missing_weights_is_78_with_the_pull_command(cli, tmp_path):
    res = cli("run", MODEL, "--input", json.dumps({"audio": str(song(tmp_path))}), "-o", str(tmp_path / "o"),
              "--json")
    assert res.code == 78
    assert f"aimusic models pull {MODEL}" in res.error()["hint"]
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    bad = cli("run", MODEL, "--input", json.dumps({"audio": str(song(tmp_path))}), "--model-path",
              str(tmp_path), "-o", str(tmp_path / "o"), "--json")
    assert bad.code == 78 and "not a Demucs model" in bad.error()["message"]


def test_a_stem_demucs_does_not_make_is_65(cli, weights, tmp_path):
    res = cli("run", MODEL, "--input", json.dumps({"audio": str(song(tmp_path)), "stems": ["guitar"]}),
              "--model-path", str(weights), "-o", str(tmp_path / "o"), "--json")
    assert res.code == 65
    assert "guitar" in res.error()["message"] and "vocals" in res.error()["message"]
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_a_corrupt_weights_file_is_one_line(cli, tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a safetensors file")
    res = cli("run", MODEL, "--input", json.dumps({"audio": str(song(tmp_path))}), "--model-path", str(broken),
              "-o", str(tmp_path / "o"), "--json")
    assert res.code == 78 and "could not be loaded as a Demucs model" in res.error()["message"]
    assert "Traceback" not in res.stderr


def test_pull_downloads_the_hub_repo_into_the_cache(cli, net, monkeypatch, isolated_user_dirs):
    """`models pull` asks huggingface_hub for demucs's own repo (stood in for here: no network)."""
    import huggingface_hub

    offline = cli("models", "pull", MODEL)
    assert offline.code == 78 and "adefossez/HTDemucs" in offline.stderr
    monkeypatch.delenv("HF_HUB_OFFLINE")
    asked = {}

    def fake_snapshot_download(repo, cache_dir=None, allow_patterns=None):
        asked.update(repo=repo, allow_patterns=allow_patterns)
        return str(hub_cache_copy(net, isolated_user_dirs))

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    res = cli("models", "pull", MODEL, "--json")
    assert res.code == 0, res.stderr
    assert asked == {"repo": "adefossez/HTDemucs", "allow_patterns": ["*.yaml", "*.safetensors"]}
    listed = cli("models", "--task", "separate", "--json").json()["models"]
    entry = next(m for m in listed if m["id"] == MODEL)
    assert entry["available"] and "hub cache" in entry["availability"][0]["reason"]


def test_planner_prefers_demucs_when_its_weights_are_here(net, tmp_path, isolated_user_dirs):
    from aimusic.errors import NotConfiguredError
    from aimusic.plan import make_plan

    source = song(tmp_path, 10.0)
    with pytest.raises(NotConfiguredError) as info:
        make_plan("remove the vocals", audio=str(source))
    assert f"demucs: weights not present: run `aimusic models pull {MODEL}`" in info.value.hint
    hub_cache_copy(net, isolated_user_dirs)
    plan = make_plan("remove the vocals", audio=str(source))
    assert plan.provider == "demucs" and plan.model == MODEL and plan.input["remove"] == ["vocals"]
    assert plan.estimated_cost_usd == 0
    assert any(r.startswith("provider demucs: a dedicated separator") and "sketch:" in r for r in plan.reasons)
    with pytest.raises(NotConfiguredError) as other:   # a stem demucs does not make: the others are named
        make_plan("isolate the guitar", audio=str(source))
    assert "demucs: makes drums, bass, other, vocals, not guitar" in other.value.hint

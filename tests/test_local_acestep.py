"""The local ACE-Step engine on a tiny random-weight pipeline, driven through the real CLI and API.

The pipeline is the real diffusers AceStepPipeline (toy widths, real 48 kHz / 1920x VAE rates),
built once per session and saved to a temp dir; nothing is downloaded (HF_HUB_OFFLINE=1).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import SRC, music_like

TURBO = "local/ace-step-1.5-turbo"
FAST = {"steps": 2}  # tests that are not about presets run 2 steps


def _read(path) -> tuple[np.ndarray, int]:
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return data.T, rate


def _run(cli, model: str, body: dict, out: Path, *extra: str):
    return cli("run", model, "--input", json.dumps(body), "-o", str(out), "--json", *extra)


def _sidecar(path: str) -> dict:
    return json.loads(Path(path).with_suffix(".json").read_text())


def _direct_pipe(path: Path):
    from diffusers import AceStepPipeline

    pipe = AceStepPipeline.from_pretrained(str(path))
    pipe.set_progress_bar_config(disable=True)
    return pipe


# -- text to audio ------------------------------------------------------------------------------------

def test_acceptance_cli_and_api_match_direct_diffusers(cli, tiny_dir, tmp_path):
    import torch

    from aimusic import api
    from aimusic.audio.io import write_audio

    res = _run(cli, f"{TURBO}/text-to-audio", {"tags": "pop", "duration": 10, "seed": 42}, tmp_path / "cli",
               "--model-path", str(tiny_dir))
    assert res.code == 0, res.stderr
    files = res.json()["files"]
    assert len(files) == 1 and Path(files[0]).is_file() and Path(files[0]).with_suffix(".json").is_file()
    side = _sidecar(files[0])
    assert side["seed"] == 42 and side["provider"] == "local"
    assert side["metadata"]["steps"] == 8 and side["metadata"]["shift"] == 3.0
    assert side["metadata"]["guidance"] == 1.0
    ours, rate = _read(files[0])
    assert rate == 48000 and ours.shape == (2, 480000)

    result = api.run(f"{TURBO}/text-to-audio", {"tags": "pop", "duration": 10, "seed": 42}, tmp_path / "api",
                     options={"model_path": str(tiny_dir)})
    assert np.array_equal(_read(result.files[0])[0], ours)

    # The same request made by hand: instrumental marker, turbo preset, one seeded CPU generator.
    direct = _direct_pipe(tiny_dir)(
        prompt="pop", lyrics="[Instrumental]", vocal_language="unknown", audio_duration=10.0,
        num_inference_steps=8, guidance_scale=1.0, shift=3.0,
        generator=torch.Generator("cpu").manual_seed(42)).audios[0].numpy()
    write_audio(tmp_path / "direct.wav", direct, 48000)  # same encoding (PCM_24) as our output
    assert np.array_equal(_read(tmp_path / "direct.wav")[0], ours)


def test_variations_are_one_batch_with_distinct_recorded_seeds(cli, tiny_dir, tmp_path):
    body = {"tags": "lofi", "duration": 10, "seed": 7, **FAST}
    res = _run(cli, f"{TURBO}/text-to-audio", body, tmp_path / "batch", "--model-path", str(tiny_dir),
               "--variations", "3")
    assert res.code == 0, res.stderr
    data = res.json()
    assert data["seeds"] == [7, 8, 9]
    assert [_sidecar(f)["seed"] for f in data["files"]] == [7, 8, 9]
    assert all(_sidecar(f)["metadata"]["pipeline_calls"] == 1 for f in data["files"])
    takes = [_read(f)[0] for f in data["files"]]
    assert not np.array_equal(takes[0], takes[1]) and not np.array_equal(takes[1], takes[2])
    # item i of the batch is the take a single run with seed+i gives
    single = _run(cli, f"{TURBO}/text-to-audio", {**body, "seed": 8}, tmp_path / "one",
                  "--model-path", str(tiny_dir))
    assert np.allclose(_read(single.json()["files"][0])[0], takes[1], atol=1e-4)
    # same seed twice: same audio
    again = _run(cli, f"{TURBO}/text-to-audio", {**body, "seed": 8}, tmp_path / "again",
                 "--model-path", str(tiny_dir))
    assert np.array_equal(_read(again.json()["files"][0])[0], _read(single.json()["files"][0])[0])


def test_variations_out_of_range_is_usage_error(cli, tiny_dir, tmp_path):
    res = _run(cli, f"{TURBO}/text-to-audio", {"tags": "x", "duration": 10}, tmp_path,
               "--model-path", str(tiny_dir), "--variations", "9")
    assert res.code == 64 and "variations" in res.error()["message"]
    assert not list(tmp_path.glob("*.wav"))


def test_presets_and_overrides(cli, tiny_dir, tiny_base_dir, tmp_path):
    from aimusic.catalog import get_model

    assert get_model(f"{TURBO}/text-to-audio").extra["steps"] == 8
    res = _run(cli, "local/ace-step-1.5-base/text-to-audio", {"tags": "jazz", "duration": 10, "seed": 1},
               tmp_path / "base", "--model-path", str(tiny_base_dir))
    assert res.code == 0, res.stderr
    meta = _sidecar(res.json()["files"][0])["metadata"]
    assert (meta["steps"], meta["shift"], meta["guidance"]) == (50, 1.0, 7.0)
    res = _run(cli, "local/ace-step-1.5-sft/text-to-audio",
               {"tags": "jazz", "duration": 10, "seed": 1, "steps": 3, "shift": 2.0, "guidance": 4.5,
                "bpm": 120, "keyscale": "A minor", "timesignature": "3", "vocal_language": "fr",
                "lyrics": "[Verse]\nla la"}, tmp_path / "sft", "--model-path", str(tiny_base_dir))
    assert res.code == 0, res.stderr
    meta = _sidecar(res.json()["files"][0])["metadata"]
    assert (meta["steps"], meta["shift"], meta["guidance"]) == (3, 2.0, 4.5)
    # turbo ignores guidance (distilled): we say so and use 1.0 rather than letting diffusers warn
    res = _run(cli, f"{TURBO}/text-to-audio", {"tags": "jazz", "duration": 10, "guidance": 5, **FAST},
               tmp_path / "turbo", "--model-path", str(tiny_dir))
    assert res.code == 0 and "guidance 5 is ignored" in res.stderr
    assert _sidecar(res.json()["files"][0])["metadata"]["guidance"] == 1.0
    bad = _run(cli, f"{TURBO}/text-to-audio", {"tags": "x", "duration": 5}, tmp_path, "--model-path", str(tiny_dir))
    assert bad.code == 65  # 10-600 s


# -- weights ------------------------------------------------------------------------------------------

def test_missing_weights_exit_78_with_the_fix(cli, tmp_path):
    res = _run(cli, f"{TURBO}/text-to-audio", {"tags": "pop", "duration": 10}, tmp_path)
    assert res.code == 78
    assert "aimusic models pull local/ace-step-1.5-turbo/text-to-audio" in res.stderr
    res = _run(cli, f"{TURBO}/text-to-audio", {"tags": "pop", "duration": 10}, tmp_path, "--model-path",
               str(tmp_path))
    assert res.code == 78 and "model_index.json" in res.stderr
    res = _run(cli, "local/ace-step-1.5-sft/text-to-audio", {"tags": "pop", "duration": 10}, tmp_path)
    assert res.code == 78 and "conversion" in res.stderr
    assert not list(tmp_path.glob("*.wav"))


def test_env_path_and_models_listing(cli, tiny_dir, tmp_path, monkeypatch):
    res = cli("models", "--json", "--provider", "local")
    turbo = next(m for m in res.json()["models"] if m["id"] == f"{TURBO}/text-to-audio")
    assert not turbo["available"] and "models pull" in turbo["availability"][0]["reason"]
    monkeypatch.setenv("AIMUSIC_ACESTEP_PATH", str(tiny_dir))
    res = cli("models", "--json", "--provider", "local")
    turbo = next(m for m in res.json()["models"] if m["id"] == f"{TURBO}/text-to-audio")
    assert turbo["available"] and str(tiny_dir) in turbo["availability"][0]["reason"]
    run = _run(cli, f"{TURBO}/text-to-audio", {"tags": "pop", "duration": 10, **FAST}, tmp_path)
    assert run.code == 0, run.stderr


def test_hub_cache_is_found_offline(cli, tiny_dir, tmp_path, isolated_user_dirs):
    import shutil

    repo_dir = isolated_user_dirs / "hf" / "hub" / "models--Runware--acestep-v15-turbo-diffusers"
    snapshot = repo_dir / "snapshots" / "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(tiny_dir, snapshot)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text("0123456789abcdef0123456789abcdef01234567")
    res = cli("models", "show", f"{TURBO}/text-to-audio", "--json")
    assert res.json()["available"] and "hub cache" in res.json()["availability"][0]["reason"]
    run = _run(cli, f"{TURBO}/text-to-audio", {"tags": "pop", "duration": 10, **FAST}, tmp_path)
    assert run.code == 0, run.stderr
    assert _sidecar(run.json()["files"][0])["metadata"]["weights"] == str(snapshot)


def test_pull_never_downloads_offline(cli):
    res = cli("models", "pull", f"{TURBO}/text-to-audio")
    assert res.code == 78 and "HF_HUB_OFFLINE" in res.stderr
    assert cli("models", "pull", "nonsense").code == 64
    assert cli("models", "pull", "local/ace-step-1.5-sft/text-to-audio").code == 78


def test_availability_and_listing_do_not_import_torch(tiny_dir):
    code = ("import sys\nfrom aimusic.catalog import get_model\n"
            "from aimusic.engines.local_acestep import LocalAceStepEngine as E\n"
            "print(E.availability(get_model('local/ace-step-1.5-turbo/text-to-audio')).usable)\n"
            "assert 'torch' not in sys.modules and 'diffusers' not in sys.modules")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(SRC), "AIMUSIC_ACESTEP_PATH": str(tiny_dir), "HF_HUB_OFFLINE": "1",
                               "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"


# -- runtime ------------------------------------------------------------------------------------------

def test_device_flags(cli, tiny_dir, tmp_path):
    body = {"tags": "pop", "duration": 10, **FAST}
    assert _run(cli, f"{TURBO}/text-to-audio", body, tmp_path, "--model-path", str(tiny_dir),
                "--device", "tpu").code == 64
    assert _run(cli, f"{TURBO}/text-to-audio", body, tmp_path, "--model-path", str(tiny_dir),
                "--device", "cuda").code == 78  # no GPU on this machine
    res = _run(cli, f"{TURBO}/text-to-audio", body, tmp_path, "--model-path", str(tiny_dir), "--device", "cpu",
               "--offload")
    assert res.code == 0 and _sidecar(res.json()["files"][0])["metadata"]["device"] == "cpu"


def test_pipeline_stays_loaded_and_progress_per_step(tiny_dir, tmp_path):
    from aimusic import api
    from aimusic.engines.local_acestep import runtime

    steps = []
    body = {"tags": "pop", "duration": 10, "steps": 3}
    api.run(f"{TURBO}/text-to-audio", body, tmp_path, options={"model_path": str(tiny_dir)},
            progress=lambda stage, done, total=None, message="": steps.append((stage, done, total)))
    first = list(runtime._PIPELINES.values())[0]
    api.run(f"{TURBO}/text-to-audio", body, tmp_path, options={"model_path": str(tiny_dir)})
    assert list(runtime._PIPELINES.values())[0] is first
    assert [s for s in steps if s[0] == "diffusion"] == [("diffusion", i, 3) for i in range(4)]


def test_cancel_stops_between_steps_and_writes_nothing(tiny_dir, tmp_path):
    from aimusic import api
    from aimusic.errors import Interrupted

    cancel = threading.Event()
    seen = []

    def progress(stage, done, total=None, message=""):
        seen.append(done)
        if done == 2:
            cancel.set()

    with pytest.raises(Interrupted):
        api.run(f"{TURBO}/text-to-audio", {"tags": "pop", "duration": 10, "steps": 8}, tmp_path,
                options={"model_path": str(tiny_dir)}, progress=progress, cancel_event=cancel)
    assert max(seen) == 2  # stopped right after the step that saw the cancel
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_in_cli_exits_130_without_files(tiny_dir, tmp_path):
    import os
    import signal
    import time

    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(SRC), AIMUSIC_ACESTEP_PATH=str(tiny_dir))
    proc = subprocess.Popen([sys.executable, "-m", "aimusic", "run", f"{TURBO}/text-to-audio", "--input",
                             json.dumps({"tags": "pop", "duration": 600, "steps": 200}), "-o", str(out)],
                            stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    line = ""
    while "[diffusion]" not in line and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=120)[1]
    assert proc.returncode == 130, line + rest
    assert not out.exists() or list(out.iterdir()) == []


# -- inpaint ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("anchors", [("start", "start"), ("end", "end")])
def test_inpaint_keeps_outside_bit_identical(cli, tiny_dir, tmp_path, anchors):
    source = tmp_path / "song.wav"
    rate = 44100
    sf.write(source, music_like(12, rate)[:1].T, rate, subtype="PCM_16")  # mono, 44.1 kHz, 16-bit
    if anchors == ("start", "start"):
        body_window, (a, b) = {"start_time": 3.0, "end_time": 5.5}, (3.0, 5.5)
    else:
        body_window = {"start_time": 4.0, "end_time": 1.0, "start_time_relative_to": "end",
                       "end_time_relative_to": "end"}
        a, b = 8.0, 11.0
    res = _run(cli, f"{TURBO}/audio-inpaint", {"tags": "pop", "audio": str(source), "seed": 3, **FAST,
                                               **body_window}, tmp_path / "out", "--model-path", str(tiny_dir))
    assert res.code == 0, res.stderr
    out_path = res.json()["files"][0]
    assert sf.info(out_path).subtype == "PCM_16" and sf.info(out_path).samplerate == rate
    out, out_rate = _read(out_path)
    src, _ = _read(source)
    assert out.shape == src.shape
    start, end = int(round(a * rate)), int(round(b * rate))
    assert np.array_equal(out[:, :start], src[:, :start])
    assert np.array_equal(out[:, end:], src[:, end:])
    assert not np.array_equal(out[:, start:end], src[:, start:end])
    assert _sidecar(out_path)["metadata"]["window_s"] == [a, b]
    if anchors == ("end", "end"):  # a recorded seed replays an edit exactly
        from aimusic import api

        again = api.replay(Path(out_path).with_suffix(".json"), tmp_path / "again",
                           options={"model_path": str(tiny_dir)})
        assert np.array_equal(_read(again.files[0])[0], out)


def test_inpaint_bad_window(cli, tiny_dir, wav_file, tmp_path):
    source = wav_file(seconds=6)
    res = _run(cli, f"{TURBO}/audio-inpaint", {"tags": "pop", "audio": str(source), "start_time": 4,
                                               "end_time": 9}, tmp_path, "--model-path", str(tiny_dir))
    assert res.code == 65 and "outside" in res.error()["message"]


# -- outpaint -----------------------------------------------------------------------------------------

def test_outpaint_both_sides_keeps_original_bit_identical(cli, tiny_dir, tmp_path):
    rate = 32000
    source = tmp_path / "song.flac"
    sf.write(source, music_like(5, rate).T, rate, subtype="PCM_24")
    res = _run(cli, f"{TURBO}/audio-outpaint", {"tags": "pop", "audio": str(source), "seed": 5, **FAST,
                                                "extend_before_duration": 3, "extend_after_duration": 5.5},
               tmp_path / "out", "--model-path", str(tiny_dir), "--variations", "2")
    assert res.code == 0, res.stderr
    src, _ = _read(source)
    offset = 3 * rate
    for path in res.json()["files"]:
        out, out_rate = _read(path)
        assert out_rate == rate and sf.info(path).subtype == "PCM_24"
        assert out.shape == (2, src.shape[1] + int(3 * rate) + int(5.5 * rate))
        assert np.array_equal(out[:, offset:offset + src.shape[1]], src)
        assert np.abs(out[:, -1]).max() < 1e-3  # the outro fades to silence instead of cutting off
        chain = _sidecar(path)["metadata"]["chain"]
        assert [c["side"] for c in chain] == ["after", "before"] and chain[0]["outro"]


def test_outpaint_chains_to_eleven_minutes(tiny_dir, tmp_path):
    """60 s + 600 s: past one call's limit, so the extension is chained with overlapping context."""
    from aimusic import api

    rate = 22050
    source = tmp_path / "song.wav"
    sf.write(source, music_like(60, rate).T, rate, subtype="PCM_16")
    result = api.run(f"{TURBO}/audio-outpaint", {"tags": "pop", "audio": str(source), "steps": 1,
                                                 "extend_after_duration": 600, "seed": 9},
                     tmp_path / "out", options={"model_path": str(tiny_dir)})
    out, out_rate = _read(result.files[0])
    src, _ = _read(source)
    assert out_rate == rate and out.shape[1] == 660 * rate
    assert np.array_equal(out[:, :src.shape[1]], src)
    chain = result.metadata["pipeline_calls"]
    assert chain >= 2
    steps = _sidecar(result.files[0])["metadata"]["chain"]
    assert sum(s["new_s"] for s in steps) == pytest.approx(600, abs=1e-3)
    assert all(s["context_s"] > 0 for s in steps) and steps[-1]["outro"] and not steps[0]["outro"]


# -- remix --------------------------------------------------------------------------------------------

def test_remix_strength_semantics(cli, tiny_dir, tmp_path):
    import torch

    rate = 22050
    source = tmp_path / "song.ogg"  # any common format and rate
    sf.write(source, music_like(10, rate).T, rate, format="OGG", subtype="VORBIS")
    src, _ = _read(source)

    def remix(strength, **more):
        res = _run(cli, f"{TURBO}/audio-to-audio", {"tags": "rock", "audio": str(source), "seed": 11,
                                                    "strength": strength, **more},
                   tmp_path / f"s{strength}-{len(more)}", "--model-path", str(tiny_dir))
        assert res.code == 0, res.stderr
        return res.json()["files"][0]

    zero = remix(0.0)  # ComfyUI denoise 0: the source itself
    assert np.array_equal(_read(zero)[0], src) and _read(zero)[1] == rate
    half = remix(0.5)
    assert _sidecar(half)["metadata"]["start_sigma"] == 0.75  # 16-step turbo schedule, last 8 steps
    half_audio, half_rate = _read(half)
    assert half_rate == 48000 and half_audio.shape == (2, 10 * 48000)
    # strength 1 ignores the source: the same as text-to-audio of the same length and seed
    full, _ = _read(remix(1.0))
    direct = _direct_pipe(tiny_dir)(prompt="rock", lyrics="[Instrumental]", vocal_language="unknown",
                                    audio_duration=10.0, num_inference_steps=8, guidance_scale=1.0, shift=3.0,
                                    generator=torch.Generator("cpu").manual_seed(11)).audios[0].numpy()
    assert np.allclose(full, direct, atol=1e-4)
    assert not np.allclose(half_audio, full, atol=1e-3)


def test_remix_cover_with_reference(cli, tiny_dir, tmp_path, wav_file):
    source = wav_file(seconds=6, sample_rate=48000, name="src.wav")
    reference = wav_file(seconds=3, sample_rate=16000, name="ref.wav")
    res = _run(cli, f"{TURBO}/audio-to-audio",
               {"tags": "jazz", "audio": str(source), "cover": True, "audio_cover_strength": 0.5,
                "strength": 1.0, "reference_audio": str(reference), **FAST},
               tmp_path / "out", "--model-path", str(tiny_dir))
    assert res.code == 0, res.stderr
    out, rate = _read(res.json()["files"][0])
    assert rate == 48000 and out.shape == (2, 6 * 48000)
    assert _sidecar(res.json()["files"][0])["metadata"]["task"] == "cover"


# -- bad audio ----------------------------------------------------------------------------------------

def test_bad_audio_exits_65_or_66(cli, tiny_dir, tmp_path):
    garbage = tmp_path / "noise.wav"
    garbage.write_bytes(b"RIFF not really a wave file" * 50)
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros((4000, 2), dtype=np.float32), 8000)  # 0.5 s
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.full((48000, 1), np.nan, dtype=np.float32), 48000, subtype="FLOAT")
    for path, code in ((garbage, 65), (short, 65), (nan, 65), (tmp_path / "missing.wav", 66)):
        res = _run(cli, f"{TURBO}/audio-to-audio", {"tags": "pop", "audio": str(path)}, tmp_path / "out",
                   "--model-path", str(tiny_dir))
        assert res.code == code, (path, res.stderr)
    res = _run(cli, f"{TURBO}/audio-outpaint", {"tags": "pop", "audio": "https://example.com/a.wav"},
               tmp_path / "out", "--model-path", str(tiny_dir))
    assert res.code == 65 and "local files" in res.error()["message"]
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_inpaint_to_another_format_uses_that_formats_encoding(cli, tiny_dir, wav_file, tmp_path):
    """The source's PCM_16 subtype cannot be forced on MP3; the format's own default is used."""
    source = wav_file(seconds=4)
    res = _run(cli, f"{TURBO}/audio-inpaint", {"tags": "pop", "audio": str(source), "start_time": 1,
                                               "end_time": 2, **FAST}, tmp_path / "out",
               "--model-path", str(tiny_dir), "--format", "mp3")
    assert res.code == 0, res.stderr
    assert res.json()["files"][0].endswith(".mp3")


def test_replay_uses_the_recorded_weights(cli, tiny_dir, tmp_path):
    res = _run(cli, f"{TURBO}/text-to-audio", {"tags": "pop", "duration": 10, "seed": 7}, tmp_path / "first",
               "--model-path", str(tiny_dir))
    assert res.code == 0, res.stderr
    first = res.json()["files"][0]
    again = cli("replay", str(Path(first).with_suffix(".json")), "-o", str(tmp_path / "again"), "--json")
    assert again.code == 0, again.stderr
    assert np.array_equal(_read(again.json()["files"][0])[0], _read(first)[0])

"""ACE-Step 1.5's 5 Hz LM ("thinking") and LoRAs on the local engine, with a tiny random-weight LM
(same tokenizer layout as upstream's: ChatML, <think>, one token per audio code) and random LoRAs.

Every run goes through the real CLI and the real diffusers pipeline; nothing is downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from local_acestep_fixtures import save_tiny_lm, save_tiny_lora, save_tiny_pipeline

T2A = "local/ace-step-1.5-turbo/text-to-audio"
# all of bpm/key/time signature given: upstream skips the metadata phase (fast with a random LM)
METAS = {"bpm": 100, "keyscale": "A minor", "timesignature": "4"}


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny-acestep"), is_turbo=True)


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory) -> Path:
    return save_tiny_lm(tmp_path_factory.mktemp("tiny-lm"))


@pytest.fixture(scope="module")
def loras(tmp_path_factory, tiny_dir) -> dict[str, Path]:
    from diffusers import AceStepPipeline

    transformer = AceStepPipeline.from_pretrained(str(tiny_dir)).transformer
    folder = tmp_path_factory.mktemp("loras")
    return {"ours": save_tiny_lora(folder / "style.safetensors", transformer),
            "upstream": save_tiny_lora(folder / "upstream.safetensors", transformer, upstream_keys=True),
            "other": save_tiny_lora(folder / "other.safetensors", transformer, seed=7)}


def _run(cli, body: dict, out: Path, *extra: str):
    return cli("run", T2A, "--input", json.dumps(body), "-o", str(out), "--json", *extra)


def _audio(path: str) -> np.ndarray:
    return sf.read(path, dtype="float32", always_2d=True)[0].T


def _sidecar(path: str) -> dict:
    return json.loads(Path(path).with_suffix(".json").read_text())


# -- the LM ------------------------------------------------------------------------------------------

def test_codes_reach_the_pipeline_parity_with_a_direct_call(cli, tiny_dir, tiny_lm, tmp_path):
    import torch
    from diffusers import AceStepPipeline

    from aimusic.audio.io import write_audio
    from aimusic.engines.local_acestep import lm

    body = {"tags": "synthwave", "duration": 10, "seed": 5, "steps": 2, **METAS}
    res = _run(cli, body, tmp_path / "ours", "--model-path", tiny_dir, "--lm-path", tiny_lm, "--think")
    assert res.code == 0, res.stderr
    file = res.json()["files"][0]
    meta = _sidecar(file)["metadata"]
    assert meta["think"] is True
    assert meta["lm"]["codes_per_take"] == [50]  # 5 codes per second, EOS held back until then
    assert meta["lm"]["tokens"] == 51 and meta["lm"]["tokens_per_s"] > 0
    assert (meta["lm"]["temperature"], meta["lm"]["cfg_scale"], meta["lm"]["top_p"]) == (0.85, 2.0, 0.9)

    # the same LM call by hand, then the pipeline given exactly those codes
    llm = lm.load(tiny_lm, "cpu", torch.float32)
    thought = llm.think("synthwave", "[Instrumental]", 10.0, [5],
                        given={**METAS, "duration": 10})
    assert thought.codes[0].count("<|audio_code_") == 50
    pipe = AceStepPipeline.from_pretrained(str(tiny_dir))
    pipe.set_progress_bar_config(disable=True)
    direct = pipe(prompt="synthwave", lyrics="[Instrumental]", vocal_language="unknown", audio_duration=10.0,
                  num_inference_steps=2, guidance_scale=1.0, shift=3.0, bpm=100, keyscale="A minor",
                  timesignature="4", audio_codes=thought.codes[0],
                  generator=torch.Generator("cpu").manual_seed(5)).audios[0].numpy()
    write_audio(tmp_path / "direct.wav", direct, 48000)
    assert np.array_equal(_audio(str(tmp_path / "direct.wav")), _audio(file))
    # and the codes matter: without them the take differs
    plain = _run(cli, body, tmp_path / "plain", "--model-path", tiny_dir, "--no-think")
    assert plain.code == 0, plain.stderr
    assert _sidecar(plain.json()["files"][0])["metadata"]["think"] is False
    assert not np.array_equal(_audio(plain.json()["files"][0]), _audio(file))


def test_metadata_phase_fills_what_the_caption_leaves_out_and_replays_exactly(cli, tiny_dir, tiny_lm, tmp_path,
                                                                            monkeypatch):
    from aimusic.engines.local_acestep import lm

    monkeypatch.setenv("AIMUSIC_ACESTEP_LM_PATH", str(tiny_lm))  # present: --think is the default
    body = {"tags": "lofi", "duration": 10, "seed": 3, "steps": 2, "lyrics": "[Verse]\nla la la"}
    res = _run(cli, body, tmp_path / "a", "--model-path", tiny_dir)
    assert res.code == 0, res.stderr
    file = res.json()["files"][0]
    thought = _sidecar(file)["metadata"]["lm"]
    assert lm.BPM_RANGE[0] <= thought["bpm"] <= lm.BPM_RANGE[1]
    assert thought["keyscale"] in lm.KEYSCALES and thought["timesignature"] in lm.TIME_SIGNATURES
    assert thought["language"] in lm.LANGUAGES and isinstance(thought["caption"], str)
    assert thought["duration"] == 10  # given: injected, not sampled
    assert "metadata" in thought["phases_s"]
    monkeypatch.delenv("AIMUSIC_ACESTEP_LM_PATH")  # replay finds the LM from the sidecar itself
    again = cli("replay", str(Path(file).with_suffix(".json")), "-o", str(tmp_path / "b"), "--json")
    assert again.code == 0, again.stderr
    assert np.array_equal(_audio(again.json()["files"][0]), _audio(file))
    assert _sidecar(again.json()["files"][0])["metadata"]["lm"]["bpm"] == thought["bpm"]


def test_think_without_lm_weights_is_78_with_the_pull_command(cli, tiny_dir, tmp_path):
    res = _run(cli, {"tags": "x", "duration": 10}, tmp_path, "--model-path", tiny_dir, "--think")
    assert res.code == 78
    assert "aimusic models pull lm-1.7B" in res.stderr
    assert not list(tmp_path.glob("*.wav"))
    bad = _run(cli, {"tags": "x", "duration": 10}, tmp_path, "--model-path", tiny_dir, "--lm-path", tmp_path)
    assert bad.code == 78 and "config.json" in bad.stderr


def test_without_the_flag_runs_without_the_lm_and_says_so_once(cli_subprocess, tiny_dir, tmp_path):
    body = {"tags": "x", "duration": 10, "steps": 1, **METAS}
    res = cli_subprocess("run", T2A, "--input", json.dumps(body), "-o", str(tmp_path), "--json",
                         "--model-path", str(tiny_dir), "--variations", "2")
    assert res.code == 0, res.stderr
    assert res.stderr.count("LM is not on this machine: running without it") == 1
    assert "aimusic models pull lm-1.7B" in res.stderr
    files = json.loads(res.stdout)["files"]
    assert len(files) == 2 and all(_sidecar(f)["metadata"]["think"] is False for f in files)


def test_variations_get_one_code_string_each(cli, tiny_dir, tiny_lm, tmp_path):
    res = _run(cli, {"tags": "x", "duration": 10, "steps": 1, "seed": 9, **METAS}, tmp_path,
               "--model-path", tiny_dir, "--lm-path", tiny_lm, "--variations", "2")
    assert res.code == 0, res.stderr
    meta = _sidecar(res.json()["files"][0])["metadata"]
    assert meta["lm"]["codes_per_take"] == [50, 50] and meta["think"]


def test_lyrics_write_with_sections(cli, tiny_lm, tmp_path):
    res = cli("lyrics", "write", "a song about the last train home", "--language", "ja",
              "--sections", "verse,chorus,verse", "--lm-path", tiny_lm, "--seed", "4", "--json")
    assert res.code == 0, res.stderr
    sample = res.json()
    lyrics = sample["lyrics"]
    headers = [line for line in lyrics.splitlines() if line.startswith("[")]
    assert headers == ["[Verse]", "[Chorus]", "[Verse]"]
    assert sample["language"] == "ja"  # given: injected into the chain of thought
    assert "<|audio_code_" not in lyrics and "<think>" not in lyrics
    out = tmp_path / "lyrics.txt"
    again = cli("lyrics", "write", "a song about the last train home", "--language", "ja",
                "--sections", "verse,chorus,verse", "--lm-path", tiny_lm, "--seed", "4", "-o", out)
    assert again.code == 0 and out.read_bytes().decode("utf-8").rstrip("\n") == lyrics.rstrip("\n")
    missing = cli("lyrics", "write", "an idea")
    assert missing.code == 78 and "aimusic models pull lm-1.7B" in missing.stderr
    assert cli("lyrics", "write", "idea", "--language", "xx", "--lm-path", tiny_lm).code == 64


def test_planner_has_the_lm_write_lyrics_for_a_vocal_song(cli, tiny_dir, tiny_lm, monkeypatch):
    request = "an upbeat pop song with a female singer about summer, 30 seconds"
    monkeypatch.setenv("AIMUSIC_ACESTEP_PATH", str(tiny_dir))
    without = cli("plan", request, "--provider", "local", "--json").json()
    assert "lyrics_idea" not in without["steps"][0]["input"]
    assert any("vague syllables" in w for w in without["warnings"])
    monkeypatch.setenv("AIMUSIC_ACESTEP_LM_PATH", str(tiny_lm))
    plan = cli("plan", request, "--provider", "local", "--json").json()
    step = plan["steps"][0]
    assert step["input"]["lyrics_idea"] == request
    assert any("LM writes them" in r for r in plan["reasons"])
    assert not any("vague syllables" in w for w in plan["warnings"])


def test_lyrics_idea_runs_sample_creation_first(cli, tiny_dir, tiny_lm, tmp_path):
    body = {"tags": "pop", "duration": 10, "steps": 1, "seed": 2, "lyrics_idea": "summer love", **METAS}
    res = _run(cli, body, tmp_path, "--model-path", tiny_dir, "--lm-path", tiny_lm)
    assert res.code == 0, res.stderr
    assert "lyrics written by the ACE-Step LM" in res.stderr
    written = _sidecar(res.json()["files"][0])["metadata"]["lm"]["lyrics_written"]
    assert written["tokens"] > 0 and isinstance(written["lyrics"], str)


# -- LoRAs -------------------------------------------------------------------------------------------

def test_lora_changes_the_output_and_scale_zero_equals_none(cli, tiny_dir, loras, tmp_path):
    body = {"tags": "house", "duration": 10, "seed": 1, "steps": 2}
    base = _run(cli, body, tmp_path / "base", "--model-path", tiny_dir)
    assert base.code == 0, base.stderr
    plain = _audio(base.json()["files"][0])
    styled = _run(cli, body, tmp_path / "lora", "--model-path", tiny_dir, "--lora", f"{loras['ours']}:0.8")
    assert styled.code == 0, styled.stderr
    assert not np.array_equal(_audio(styled.json()["files"][0]), plain)
    record = _sidecar(styled.json()["files"][0])["metadata"]["loras"]
    import hashlib

    assert record == [{"lora": str(loras["ours"]), "file": "style.safetensors", "scale": 0.8,
                       "sha256": hashlib.sha256(loras["ours"].read_bytes()).hexdigest()}]
    zero = _run(cli, body, tmp_path / "zero", "--model-path", tiny_dir, "--lora", f"{loras['ours']}:0")
    assert zero.code == 0, zero.stderr
    assert np.array_equal(_audio(zero.json()["files"][0]), plain)
    # the cached pipeline is not left fused: the next plain run is the plain take again
    again = _run(cli, body, tmp_path / "again", "--model-path", tiny_dir)
    assert np.array_equal(_audio(again.json()["files"][0]), plain)
    # two LoRAs stack, the repeatable flag keeps the order
    both = _run(cli, body, tmp_path / "both", "--model-path", tiny_dir, "--lora", f"{loras['ours']}:0.8",
                "--lora", str(loras["other"]))
    assert both.code == 0, both.stderr
    assert [r["scale"] for r in _sidecar(both.json()["files"][0])["metadata"]["loras"]] == [0.8, 1.0]
    assert not np.array_equal(_audio(both.json()["files"][0]), _audio(styled.json()["files"][0]))


def test_upstream_format_lora_is_converted(cli, tiny_dir, loras, tmp_path):
    body = {"tags": "house", "duration": 10, "seed": 1, "steps": 2}
    ours = _run(cli, body, tmp_path / "a", "--model-path", tiny_dir, "--lora", f"{loras['ours']}:0.5")
    theirs = _run(cli, body, tmp_path / "b", "--model-path", tiny_dir, "--lora", f"{loras['upstream']}:0.5")
    assert ours.code == 0 and theirs.code == 0, theirs.stderr
    assert np.array_equal(_audio(ours.json()["files"][0]), _audio(theirs.json()["files"][0]))


def test_bad_loras_are_clear_errors(cli, tiny_dir, tmp_path):
    body = {"tags": "x", "duration": 10, "steps": 1}
    missing = _run(cli, body, tmp_path, "--model-path", tiny_dir, "--lora", str(tmp_path / "nope.safetensors"))
    assert missing.code == 65 and "no such file" in missing.stderr
    junk = tmp_path / "junk.safetensors"
    from safetensors.numpy import save_file

    save_file({"unrelated.weight": np.zeros((2, 2), dtype=np.float32)}, str(junk))
    bad = _run(cli, body, tmp_path, "--model-path", tiny_dir, "--lora", str(junk))
    assert bad.code == 65 and "not a LoRA" in bad.stderr, bad.stderr
    repo = _run(cli, body, tmp_path, "--model-path", tiny_dir, "--lora", "someone/some-lora")
    assert repo.code == 78 and "someone/some-lora" in repo.stderr
    scale = _run(cli, body, tmp_path, "--model-path", tiny_dir, "--lora", f"{junk}:99")
    assert scale.code == 65
    assert not list(tmp_path.glob("*.wav"))


def test_flags_and_batch_options():
    from aimusic.engines.registry import build_options

    opts = build_options("local", {"lora": "a.safetensors:0.5", "think": False})
    assert opts.lora == ("a.safetensors:0.5",) and opts.think is False  # --option lora=X (one string)
    assert build_options("local", {}).think is None
    from aimusic.cli.common import engine_option_specs

    specs = {name: how for name, _flag, _kind, how, _help in engine_option_specs()}
    assert specs["lora"] == "multiple" and specs["think"] == "negatable"


def test_batch_accepts_loras(cli, tiny_dir, loras, tmp_path):
    manifest = tmp_path / "batch.jsonl"
    manifest.write_text(json.dumps({"model": T2A, "input": {"tags": "a", "duration": 10, "seed": 1, "steps": 1}})
                        + "\n")
    res = cli("batch", str(manifest), "-o", str(tmp_path / "out"), "--yes", "--json",
              "--option", f"model_path={json.dumps(str(tiny_dir))}",
              "--option", f"lora={json.dumps([str(loras['ours']) + ':0.5'])}")
    assert res.code == 0, res.stderr + res.stdout
    side = next((tmp_path / "out").rglob("*.json"))
    found = [json.loads(p.read_text()) for p in (tmp_path / "out").rglob("*.json")]
    assert any(d.get("metadata", {}).get("loras", [{}])[0].get("scale") == 0.5 for d in found), side

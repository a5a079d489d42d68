"""The comfyui provider against a loopback stand-in of the ComfyUI API (tests/fakes/comfyui_server.py)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import soundfile as sf

from fakes.comfyui_server import TEMPLATE_FILES, FakeComfyUI

from aimusic.catalog import get_model, models_for
from aimusic.engines.comfyui import engine as comfy_engine
from aimusic.pipeline import comfyui as comfy_runs
from aimusic.engines.comfyui.graphs import (Layout, choose_layout, combo_options, default_layout,
                                            files_from_object_info)
from aimusic.errors import InputError, NotConfiguredError

T2A15 = "comfyui/ace-step-1.5-turbo/text-to-audio"
A2A15 = "comfyui/ace-step-1.5-turbo/audio-to-audio"
T2AV1 = "comfyui/ace-step-v1/text-to-audio"
A2AV1 = "comfyui/ace-step-v1/audio-to-audio"
QUICK = {"tags": "neo soul", "duration": 4, "seed": 3, "generate_audio_codes": False}


@pytest.fixture(autouse=True)
def fresh_probe_cache():
    comfy_engine.clear_probe_cache()
    yield
    comfy_engine.clear_probe_cache()


@pytest.fixture
def fake(tmp_path, monkeypatch):
    server = FakeComfyUI(tmp_path / "comfy", step_delay=0.001)
    server.start()
    monkeypatch.setenv("COMFYUI_URL", server.url)
    yield server
    server.stop()


def nodes_of(graph, class_type):
    return [n for n in graph.values() if n["class_type"] == class_type]


def only(graph, class_type):
    found = nodes_of(graph, class_type)
    assert len(found) == 1, (class_type, found)
    return found[0]["inputs"]


def audio_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in (".flac", ".wav", ".mp3"))


# --- catalog ---------------------------------------------------------------------------------

def test_catalog_has_every_variant_and_task():
    ids = {m.id for m in models_for(provider="comfyui")}
    for variant in ("ace-step-v1", "ace-step-1.5-turbo", "ace-step-1.5-xl-turbo", "ace-step-1.5-xl-base",
                    "ace-step-1.5-xl-sft"):
        assert {f"comfyui/{variant}/text-to-audio", f"comfyui/{variant}/audio-to-audio"} <= ids
    for model in models_for(provider="comfyui"):
        assert model.providers == ("comfyui",) and model.price_per_second == 0


def test_inputs_follow_the_other_providers_and_reject_bad_values(cli):
    fields = {f["name"] for f in get_model(T2A15).input_fields()}
    assert {"tags", "lyrics", "duration", "seed", "bpm", "keyscale", "timesignature", "vocal_language",
            "generate_audio_codes", "steps", "guidance", "shift"} <= fields
    assert {"audio", "strength"} <= {f["name"] for f in get_model(A2A15).input_fields()}
    assert "bpm" not in {f["name"] for f in get_model(T2AV1).input_fields()}
    bad = cli("run", T2A15, "--input", json.dumps({**QUICK, "keyscale": "H major"}), "--json")
    assert bad.code == 65 and bad.error()["field"] == "keyscale"
    bad = cli("run", T2AV1, "--input", json.dumps({"tags": "x", "bpm": 90}), "--json")
    assert bad.code == 65


# --- graphs ----------------------------------------------------------------------------------

def workflow(cli, model_id, data, *extra):
    result = cli("comfyui", "workflow", model_id, "--input", json.dumps(data), *extra)
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def test_v1_text_to_audio_follows_the_template_and_romanises_lyrics(cli):
    graph = workflow(cli, T2AV1, {"tags": "pop", "lyrics": "[verse]\n你好世界\nhello world", "duration": 30,
                                  "seed": 7})
    assert only(graph, "CheckpointLoaderSimple")["ckpt_name"] == "ace_step_v1_3.5b.safetensors"
    assert only(graph, "ModelSamplingSD3")["shift"] == 5
    assert only(graph, "LatentOperationTonemapReinhard")["multiplier"] == 1.0
    cfg = only(graph, "LatentApplyOperationCFG")
    assert graph[cfg["model"][0]]["class_type"] == "ModelSamplingSD3"
    sampler = only(graph, "KSampler")
    assert (sampler["steps"], sampler["cfg"], sampler["sampler_name"], sampler["scheduler"], sampler["denoise"],
            sampler["seed"]) == (50, 5, "euler", "simple", 1.0, 7)
    assert graph[sampler["model"][0]]["class_type"] == "LatentApplyOperationCFG"
    assert graph[sampler["negative"][0]]["class_type"] == "ConditioningZeroOut"
    encoder = only(graph, "TextEncodeAceStepAudio")
    assert encoder["lyrics_strength"] == 0.99
    assert "[zh] ni3hao3shi4jie4" in encoder["lyrics"] and "你好" not in encoder["lyrics"]
    assert only(graph, "EmptyAceStepLatentAudio")["seconds"] == 30
    assert nodes_of(graph, "VAEDecodeAudio") and nodes_of(graph, "SaveAudio")


def test_15_text_to_audio_keeps_native_script_and_detects_language(cli):
    graph = workflow(cli, T2A15, {"tags": "ballad", "lyrics": "[verse]\n你好世界，我爱你", "duration": 12,
                                  "seed": 11, "bpm": 90, "keyscale": "A minor", "timesignature": "3"})
    encoder = only(graph, "TextEncodeAceStepAudio1.5")
    assert encoder["lyrics"] == "[verse]\n你好世界，我爱你"
    assert (encoder["language"], encoder["bpm"], encoder["keyscale"], encoder["timesignature"],
            encoder["duration"], encoder["seed"], encoder["generate_audio_codes"]) == \
        ("zh", 90, "A minor", "3", 12.0, 11, True)
    for name in ("cfg_scale", "temperature", "top_p", "top_k", "min_p"):
        assert name in encoder  # API format needs every input
    assert only(graph, "ModelSamplingAuraFlow")["shift"] == 3
    sampler = only(graph, "KSampler")
    assert (sampler["steps"], sampler["cfg"]) == (8, 1.0)
    assert only(graph, "EmptyAceStep1.5LatentAudio")["seconds"] == 12
    assert only(graph, "CheckpointLoaderSimple")["ckpt_name"] == "ace_step_1.5_turbo_aio.safetensors"
    forced = workflow(cli, T2A15, {"tags": "x", "lyrics": "你好", "vocal_language": "yue", "seed": 1})
    assert only(forced, "TextEncodeAceStepAudio1.5")["language"] == "yue"


def test_overrides_and_xl_template_defaults(cli):
    graph = workflow(cli, T2A15, {"tags": "x", "seed": 1, "steps": 20, "guidance": 2.5, "shift": 4})
    sampler = only(graph, "KSampler")
    assert (sampler["steps"], sampler["cfg"], only(graph, "ModelSamplingAuraFlow")["shift"]) == (20, 2.5, 4)
    for variant, steps, cfg in (("xl-turbo", 8, 1.0), ("xl-base", 50, 6.0), ("xl-sft", 50, 7.0)):
        graph = workflow(cli, f"comfyui/ace-step-1.5-{variant}/text-to-audio", {"tags": "x", "seed": 1})
        sampler = only(graph, "KSampler")
        assert (sampler["steps"], sampler["cfg"]) == (steps, cfg)
        assert only(graph, "UNETLoader")["unet_name"] == f"acestep_v1.5_{variant.replace('-', '_')}_bf16.safetensors"
        clips = only(graph, "DualCLIPLoader")
        assert (clips["clip_name1"], clips["clip_name2"], clips["type"]) == \
            ("qwen_0.6b_ace15.safetensors", "qwen_4b_ace15.safetensors", "ace")
        assert only(graph, "VAELoader")["vae_name"] == "ace_1.5_vae.safetensors"


def test_audio_to_audio_offline_graph_names_the_input_and_strength_is_denoise(cli, wav_file):
    source = wav_file(seconds=3.0)
    result = cli("comfyui", "workflow", A2AV1, "--input", json.dumps({"tags": "x", "audio": str(source), "seed": 2}))
    assert result.code == 0
    graph = json.loads(result.stdout)
    assert only(graph, "LoadAudio")["audio"] == f"aimusic/{source.name}"
    encode = only(graph, "VAEEncodeAudio")
    assert graph[encode["audio"][0]]["class_type"] == "LoadAudio"
    assert only(graph, "KSampler")["denoise"] == 0.3  # the v1 editing template's default
    assert "input/aimusic" in result.stderr
    graph = workflow(cli, A2A15, {"tags": "x", "audio": str(source), "strength": 0.7, "seed": 2})
    assert only(graph, "KSampler")["denoise"] == 0.7
    assert only(graph, "TextEncodeAceStepAudio1.5")["duration"] == pytest.approx(3.0)
    assert not nodes_of(graph, "EmptyAceStep1.5LatentAudio")


def test_workflow_writes_a_file_and_a_prompt_body(cli, tmp_path):
    target = tmp_path / "wf.json"
    result = cli("comfyui", "workflow", T2A15, "--input", json.dumps(QUICK), "--body", "-o", str(target))
    assert result.code == 0 and result.stdout == ""
    body = json.loads(target.read_text())
    assert set(body) == {"prompt"} and only(body["prompt"], "KSampler")["seed"] == 3
    assert cli("comfyui", "workflow", "acestep-ai/ace-step/text-to-audio", "--input", '{"tags": "x"}').code == 64
    assert cli("comfyui", "workflow", T2A15, "--input", '{"tags": ""}').code == 65


def test_layout_choice_from_object_info_in_both_combo_formats():
    assert combo_options([["a", "b"], {"advanced": True}]) == ["a", "b"]
    assert combo_options(["COMBO", {"options": ["c"]}]) == ["c"]
    assert combo_options(["INT", {"default": 1}]) is None
    info = {"UNETLoader": {"input": {"required": {"unet_name": ["COMBO", {"options": ["acestep_v1.5_turbo.safetensors"]}]}}},
            "DualCLIPLoader": {"input": {"required": {
                "clip_name1": [["qwen_0.6b_ace15.safetensors", "qwen_4b_ace15.safetensors"]],
                "clip_name2": [["qwen_0.6b_ace15.safetensors", "qwen_4b_ace15.safetensors"]]}}},
            "VAELoader": {"input": {"required": {"vae_name": [["ace_1.5_vae.safetensors", "pixel_space"]]}}},
            "CheckpointLoaderSimple": {"input": {"required": {"ckpt_name": [[]]}}}}
    files = files_from_object_info(info)
    preset = get_model(T2A15).extra
    layout = choose_layout(preset, files, "srv")
    assert layout == Layout("split", {"unet": "acestep_v1.5_turbo.safetensors", "clip1": "qwen_0.6b_ace15.safetensors",
                                      "clip2": "qwen_4b_ace15.safetensors", "vae": "ace_1.5_vae.safetensors"})
    files["checkpoints"] = ["ace_step_1.5_turbo_aio.safetensors"]
    assert choose_layout(preset, files, "srv").kind == "aio"
    with pytest.raises(NotConfiguredError) as caught:
        choose_layout(get_model(T2AV1).extra, files, "srv")
    assert "ace_step_v1_3.5b.safetensors" in caught.value.message and "models/checkpoints/" in caught.value.message
    assert default_layout(get_model("comfyui/ace-step-1.5-xl-sft/text-to-audio").extra).kind == "split"


# --- availability ------------------------------------------------------------------------------

def test_availability_without_a_server_says_how_to_set_one(cli):
    started = time.perf_counter()
    rows = cli("models", "--provider", "comfyui", "--json").json()["models"]
    assert time.perf_counter() - started < 5
    assert rows and all(not r["available"] and "COMFYUI_URL" in r["availability"][0]["reason"] for r in rows)


def test_availability_names_files_and_is_cached(cli, fake):
    fake.files = {k: v for k, v in TEMPLATE_FILES.items()}
    rows = {r["id"]: r for r in cli("models", "--provider", "comfyui", "--json").json()["models"]}
    ready = rows[T2A15]["availability"][0]
    assert ready["usable"] and "ace_step_1.5_turbo_aio.safetensors" in ready["reason"] and "0.27.0" in ready["reason"]
    lacking = rows["comfyui/ace-step-1.5-xl-turbo/text-to-audio"]["availability"][0]
    assert not lacking["usable"] and "acestep_v1.5_xl_turbo_bf16.safetensors" in lacking["reason"]
    object_info_calls = sum(1 for _, path in fake.requests if path.startswith("/object_info"))
    assert object_info_calls == 5  # one per loader node (4 model loaders + the LoRA loader), cached per process


def test_availability_when_the_server_is_down(cli, monkeypatch):
    monkeypatch.setenv("COMFYUI_URL", "http://127.0.0.1:9")
    started = time.perf_counter()
    row = cli("models", "--provider", "comfyui", "--json").json()["models"][0]
    assert time.perf_counter() - started < 5
    assert not row["available"] and "does not answer" in row["availability"][0]["reason"]


# --- running -----------------------------------------------------------------------------------

def test_text_to_audio_run_writes_audio_and_sidecar(cli, fake, tmp_path):
    out = tmp_path / "out"
    result = cli("run", T2A15, "--input", json.dumps(QUICK), "-o", str(out), "--json")
    assert result.code == 0, result.stderr
    files = audio_files(out)
    assert len(files) == 1 and files[0].suffix == ".flac"
    data, rate = sf.read(files[0])
    assert rate == 48000 and abs(len(data) / rate - 4.0) < 0.01
    sidecar = json.loads(files[0].with_suffix(".json").read_text())
    meta = sidecar["metadata"]["comfyui"]
    assert meta["server_version"] == "0.27.0" and meta["server"] == fake.url
    assert meta["prompt_id"] in fake.history
    assert only(meta["graph"], "KSampler")["seed"] == 3
    assert {"submit_s", "execute_s", "download_s"} <= set(meta["timings"])
    body = fake.submitted[-1]
    assert body["client_id"] and body["prompt_id"] == meta["prompt_id"]
    assert body["extra_data"]["aimusic"]["model"] == T2A15
    assert "[sampling] 8/8" in result.stderr
    assert sidecar["model"] == T2A15 and sidecar["input"]["seed"] == 3


def test_audio_to_audio_uploads_into_the_aimusic_subfolder(cli, fake, tmp_path, wav_file):
    source = wav_file(seconds=2.0, sample_rate=44100)
    out = tmp_path / "out"
    for _ in range(2):
        result = cli("run", A2A15, "--input", json.dumps({"tags": "lofi", "audio": str(source), "strength": 0.4,
                                                         "seed": 9, "generate_audio_codes": False}), "-o", str(out))
        assert result.code == 0, result.stderr
    uploaded = list((fake.input_dir / "aimusic").iterdir())
    assert len(uploaded) == 1 and uploaded[0].read_bytes() == source.read_bytes()  # same file, same name
    graph = fake.submitted[-1]["prompt"]
    assert only(graph, "LoadAudio")["audio"] == f"aimusic/{uploaded[0].name}"
    assert only(graph, "KSampler")["denoise"] == 0.4
    assert len(audio_files(out)) == 2


def test_split_layout_is_chosen_when_the_server_has_only_split_files(cli, fake, tmp_path):
    fake.files = {"diffusion_models": ["acestep_v1.5_turbo.safetensors"],
                  "text_encoders": ["qwen_0.6b_ace15.safetensors", "qwen_4b_ace15.safetensors"],
                  "vae": ["ace_1.5_vae.safetensors"]}
    assert cli("run", T2A15, "--input", json.dumps(QUICK), "-o", str(tmp_path / "o")).code == 0
    graph = fake.submitted[-1]["prompt"]
    assert only(graph, "DualCLIPLoader")["clip_name2"] == "qwen_4b_ace15.safetensors"
    assert not nodes_of(graph, "CheckpointLoaderSimple")
    # the workflow command picks the same files from the server
    assert only(workflow(cli, T2A15, QUICK), "UNETLoader")["unet_name"] == "acestep_v1.5_turbo.safetensors"


def test_missing_model_files_exit_78_naming_file_and_folder(cli, fake, tmp_path):
    result = cli("run", "comfyui/ace-step-1.5-xl-turbo/text-to-audio", "--input", json.dumps(QUICK),
                 "-o", str(tmp_path / "o"))
    assert result.code == 78
    assert "acestep_v1.5_xl_turbo_bf16.safetensors" in result.stderr and "diffusion_models" in result.stderr
    fake.files = {"checkpoints": []}
    result = cli("run", T2AV1, "--input", '{"tags": "x", "duration": 5}', "-o", str(tmp_path / "o"))
    assert result.code == 78 and "ace_step_v1_3.5b.safetensors" in result.stderr and "checkpoints" in result.stderr
    assert not fake.submitted and not list((tmp_path / "o").iterdir())


def test_check_model_files_reads_the_graph(fake):
    from aimusic.engines.comfyui.client import ComfyClient

    graph = {"1": {"class_type": "VAELoader", "inputs": {"vae_name": "nope.safetensors"}}}
    with ComfyClient(fake.url) as client, pytest.raises(NotConfiguredError) as caught:
        comfy_engine.check_model_files(client, graph)
    assert "nope.safetensors" in caught.value.message and "models/vae/" in caught.value.message


def test_server_down_exits_75_with_the_url(cli, monkeypatch, tmp_path):
    # a refused connection is the same fault on every service (engines/http.transport_error):
    # retryable, 75, here with the server's URL and COMFYUI_URL in the message
    monkeypatch.setenv("COMFYUI_URL", "http://127.0.0.1:9")
    result = cli("run", T2A15, "--input", json.dumps(QUICK), "-o", str(tmp_path / "o"), "--json")
    assert result.code == 75 and "http://127.0.0.1:9" in result.stderr and "COMFYUI_URL" in result.stderr
    assert result.error()["type"] == "unreachable" and result.error()["retryable"] is True


def test_no_server_configured_exits_78(cli, tmp_path):
    result = cli("run", T2A15, "--input", json.dumps(QUICK), "-o", str(tmp_path / "o"))
    assert result.code == 78 and "COMFYUI_URL" in result.stderr


def test_server_validation_errors_exit_65_naming_node_and_input(cli, fake, tmp_path):
    fake.samplers = ["heun"]  # a server whose KSampler lacks euler
    result = cli("run", T2A15, "--input", json.dumps(QUICK), "-o", str(tmp_path / "o"), "--json")
    assert result.code == 65
    error = result.error()
    assert "KSampler" in error["message"] and "sampler_name" in error["message"]
    assert error["field"] == "sampler_name" and not list((tmp_path / "o").iterdir())


def test_validation_answers_are_mapped(fake):
    from aimusic.engines.comfyui.client import ComfyClient

    good = workflow_graph()
    with ComfyClient(fake.url) as client:
        missing = json.loads(json.dumps(good))
        ks = next(k for k, n in missing.items() if n["class_type"] == "KSampler")
        del missing[ks]["inputs"]["steps"]
        with pytest.raises(InputError) as caught:
            client.submit(missing, "c", "p1")
        assert "KSampler" in caught.value.message and "'steps'" in caught.value.message
        assert caught.value.details[0]["type"] == "required_input_missing"
        low = json.loads(json.dumps(good))
        low[ks]["inputs"]["denoise"] = 2.0
        with pytest.raises(InputError) as caught:
            client.submit(low, "c", "p2")
        assert caught.value.details[0]["type"] == "value_bigger_than_max"
        unknown = json.loads(json.dumps(good))
        unknown[ks]["class_type"] = "KSamplerFromTheFuture"
        with pytest.raises(NotConfiguredError) as caught:
            client.submit(unknown, "c", "p3")
        assert "KSamplerFromTheFuture" in caught.value.message
        no_output = {k: n for k, n in good.items() if n["class_type"] != "SaveAudio"}
        with pytest.raises(InputError):
            client.submit(no_output, "c", "p4")
    assert not fake.submitted


def workflow_graph():
    from aimusic.schemas import validate

    model = get_model(T2A15)
    return comfy_engine.offline_graph(model, validate(model.input_model, QUICK))


def test_execution_error_exits_69_with_node_type_and_message(cli, fake, tmp_path):
    fake.fail_node_type = "VAEDecodeAudio"
    fake.fail_message = "CUDA out of memory (fake)"
    result = cli("run", T2A15, "--input", json.dumps(QUICK), "-o", str(tmp_path / "o"))
    assert result.code == 69
    assert "VAEDecodeAudio" in result.stderr and "CUDA out of memory (fake)" in result.stderr
    assert not list((tmp_path / "o").iterdir())


def test_polling_fallback_without_websocket(cli, fake, tmp_path):
    fake.websocket_enabled = False
    result = cli("run", T2A15, "--input", json.dumps(QUICK), "-o", str(tmp_path / "o"))
    assert result.code == 0, result.stderr
    assert len(audio_files(tmp_path / "o")) == 1
    assert any(path.startswith("/history/") for _, path in fake.requests)


def test_downloads_only_from_the_configured_host(cli, fake, tmp_path):
    with FakeComfyUI(tmp_path / "other") as other:
        fake.view_redirect = other.url
        result = cli("run", T2A15, "--input", json.dumps(QUICK), "-o", str(tmp_path / "o"))
        assert result.code == 69 and "redirected" in result.stderr
        assert not other.requests and not list((tmp_path / "o").iterdir())


def test_timeout_takes_the_prompt_off_the_server(cli, fake, tmp_path):
    fake.step_delay = 0.5
    result = cli("run", T2A15, "--input", json.dumps(QUICK), "-o", str(tmp_path / "o"), "--timeout", "1")
    assert result.code == 75
    assert fake.interrupted and fake.running is None and not fake.pending
    assert not list((tmp_path / "o").iterdir())


@pytest.mark.parametrize(("stop", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_interrupts_the_running_prompt_no_file(fake, tmp_path, stop, code):
    from conftest import SRC

    fake.step_delay = 0.3
    out = tmp_path / "out"
    env = {"COMFYUI_URL": fake.url, "PYTHONPATH": str(SRC)}
    import os

    proc = subprocess.Popen([sys.executable, "-m", "aimusic", "run", T2A15, "--input", json.dumps(QUICK),
                             "-o", str(out)], env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    prompt_id = fake.wait_running(timeout=30)
    time.sleep(0.4)
    proc.send_signal(stop)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code, stderr
    assert fake.interrupted == [prompt_id]
    assert fake.running is None and not fake.pending
    assert fake.history[prompt_id]["status"]["status_str"] == "error"
    assert not list(out.iterdir())


def test_cancelled_batch_deletes_pending_and_interrupts_running(fake, tmp_path):
    fake.step_delay = 0.2
    cancel = threading.Event()
    jobs = [(T2A15, {**QUICK, "seed": s}) for s in range(3)]
    results: list = []
    runner = threading.Thread(target=lambda: results.extend(
        comfy_runs.run_many(jobs, tmp_path / "out", ahead=3, cancel_event=cancel)))
    runner.start()
    fake.wait_running(timeout=30)
    deadline = time.monotonic() + 10
    while len(fake.submitted) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(fake.pending) == 2  # queued ahead while the first runs
    cancel.set()
    runner.join(timeout=30)
    assert len(results) == 3 and all(getattr(r, "exit_code", None) == 130 for r in results)
    # pending siblings are deleted before the running one is interrupted: the server never
    # starts the next prompt in between
    assert len(fake.interrupted) == 1 and len(fake.deleted) == 2
    assert sorted(fake.interrupted + fake.deleted) == sorted(b["prompt_id"] for b in fake.submitted)
    assert fake.running is None and not fake.pending
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_batch_spreads_over_several_servers(tmp_path, monkeypatch):
    with FakeComfyUI(tmp_path / "a", step_delay=0.02) as a, FakeComfyUI(tmp_path / "b", step_delay=0.02) as b:
        monkeypatch.setenv("COMFYUI_URL", f"{a.url}, {b.url}")
        jobs = [(T2A15, {**QUICK, "seed": s}) for s in range(6)]
        results = comfy_runs.run_many(jobs, tmp_path / "out", ahead=2)
        assert all(hasattr(r, "files") for r in results), results
        assert [r.seeds[0] for r in results] == list(range(6))
        assert len(a.submitted) >= 2 and len(b.submitted) >= 2
        assert len(a.submitted) + len(b.submitted) == 6
        assert len(audio_files(tmp_path / "out")) == 6


def test_resume_collects_a_finished_prompt(cli, fake, tmp_path):
    first = cli("run", T2A15, "--input", json.dumps(QUICK), "-o", str(tmp_path / "a"), "--json").json()
    prompt_id = first["metadata"]["comfyui"]["prompt_id"]
    submitted = len(fake.submitted)
    result = cli("comfyui", "resume", prompt_id, "-o", str(tmp_path / "b"), "--json")
    assert result.code == 0, result.stderr
    assert len(fake.submitted) == submitted  # nothing resubmitted
    files = audio_files(tmp_path / "b")
    assert len(files) == 1
    sidecar = json.loads(files[0].with_suffix(".json").read_text())
    assert sidecar["model"] == T2A15 and sidecar["metadata"]["comfyui"]["prompt_id"] == prompt_id
    assert files[0].read_bytes() == audio_files(tmp_path / "a")[0].read_bytes()
    assert cli("comfyui", "resume", "no-such-prompt", "-o", str(tmp_path / "c")).code == 65
    # the shared `aimusic resume` command reaches the same code with --provider comfyui
    shared = cli("resume", prompt_id, "--provider", "comfyui", "-o", str(tmp_path / "d"), "--json")
    assert shared.code == 0, shared.stderr
    assert len(audio_files(tmp_path / "d")) == 1


def test_resume_refuses_prompts_aimusic_did_not_submit(cli, fake, tmp_path):
    from aimusic.engines.comfyui.client import ComfyClient

    with ComfyClient(fake.url) as client:
        client.submit(workflow_graph(), "someone-else", "0f0f0f0f-0000-4000-8000-000000000000")
    deadline = time.monotonic() + 10
    while "0f0f0f0f-0000-4000-8000-000000000000" not in fake.history and time.monotonic() < deadline:
        time.sleep(0.02)
    result = cli("comfyui", "resume", "0f0f0f0f-0000-4000-8000-000000000000", "-o", str(tmp_path / "c"))
    assert result.code == 65 and "not submitted by aimusic" in result.stderr


def test_status_and_connect(cli, fake, monkeypatch):
    status = cli("comfyui", "status", "--json")
    assert status.code == 0
    row = status.json()["servers"][0]
    assert row["version"] == "0.27.0" and row["variants"]["ace-step-1.5-turbo"] == "aio"
    assert row["variants"]["ace-step-1.5-xl-base"].startswith("missing")
    monkeypatch.delenv("COMFYUI_URL")
    assert cli("comfyui", "status").code == 78
    assert cli("comfyui", "connect", fake.url).code == 0
    assert comfy_engine.configured_servers() == [fake.url]
    assert cli("comfyui", "connect", "ftp://x").code == 78


def test_bad_url_is_a_configuration_error(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("COMFYUI_URL", "ftp://example.com")
    result = cli("run", T2A15, "--input", json.dumps(QUICK), "-o", str(tmp_path / "o"))
    assert result.code == 78 and "COMFYUI_URL" in result.stderr


def test_workflow_falls_back_to_template_names_when_the_server_is_down(cli, monkeypatch):
    monkeypatch.setenv("COMFYUI_URL", "http://127.0.0.1:9")
    result = cli("comfyui", "workflow", T2A15, "--input", json.dumps(QUICK))
    assert result.code == 0 and "template" in result.stderr
    assert only(json.loads(result.stdout), "CheckpointLoaderSimple")["ckpt_name"] == "ace_step_1.5_turbo_aio.safetensors"


def test_a_language_the_server_lacks_is_sent_as_unknown():
    from aimusic.schemas import validate

    model = get_model(T2A15)
    request = validate(model.input_model, {**QUICK, "lyrics": "你好", "vocal_language": "zh"})
    notices: list[str] = []
    resolved = comfy_engine.graph_request(model, request, default_layout(model.extra), languages=["en", "unknown"],
                                          notice=notices.append)
    assert resolved.language == "unknown" and "'zh'" in notices[0]


def test_the_command_group_is_listed(cli):
    assert "comfyui" in cli("--help").stdout
    assert {"workflow", "connect", "status", "resume"} <= set(cli("comfyui", "--help").stdout.split())


def test_replay_of_a_comfyui_sidecar_runs_the_same_request(cli, fake, tmp_path):
    first = cli("run", T2A15, "--input", json.dumps(QUICK), "-o", str(tmp_path / "a"), "--json").json()
    again = cli("replay", first["sidecars"][0], "-o", str(tmp_path / "b"), "--json")
    assert again.code == 0, again.stderr
    assert len(fake.submitted) == 2 and fake.submitted[1]["prompt"] == fake.submitted[0]["prompt"]
    assert len(audio_files(tmp_path / "b")) == 1


def test_loras_are_loader_nodes_checked_against_the_servers_list(cli, fake, tmp_path):
    lora_file = tmp_path / "style.safetensors"
    lora_file.write_bytes(b"not read by the graph")
    fake.files["loras"] = ["style.safetensors", "other.safetensors"]
    out = tmp_path / "out"
    result = cli("run", T2A15, "--input", json.dumps(QUICK), "-o", str(out), "--json",
                 "--lora", f"{lora_file}:0.6", "--lora", "other.safetensors")
    assert result.code == 0, result.stderr
    graph = fake.submitted[-1]["prompt"]
    loaders = [n for n in graph.values() if n["class_type"] == "LoraLoaderModelOnly"]
    assert [(n["inputs"]["lora_name"], n["inputs"]["strength_model"]) for n in loaders] == \
        [("style.safetensors", 0.6), ("other.safetensors", 1.0)]
    # chained: model loader -> LoRA -> LoRA -> model sampling
    shift = only(graph, "ModelSamplingAuraFlow")
    second = graph[shift["model"][0]]
    assert second["inputs"]["lora_name"] == "other.safetensors"
    assert graph[second["inputs"]["model"][0]]["inputs"]["lora_name"] == "style.safetensors"
    sidecar = json.loads(audio_files(out)[0].with_suffix(".json").read_text())
    import hashlib

    assert sidecar["metadata"]["loras"] == [
        {"lora": "style.safetensors", "scale": 0.6, "sha256": hashlib.sha256(lora_file.read_bytes()).hexdigest()},
        {"lora": "other.safetensors", "scale": 1.0, "sha256": None}]
    count = len(fake.submitted)
    missing = cli("run", T2A15, "--input", json.dumps(QUICK), "-o", str(tmp_path / "o2"),
                  "--lora", "absent.safetensors")
    assert missing.code == 78 and "absent.safetensors" in missing.stderr and "loras" in missing.stderr
    assert len(fake.submitted) == count  # checked before anything is submitted
    graph = json.loads(cli("comfyui", "workflow", T2A15, "--input", json.dumps(QUICK),
                           "--lora", "style.safetensors:0.3").stdout)
    assert only(graph, "LoraLoaderModelOnly") == {"model": ["1", 0], "lora_name": "style.safetensors",
                                                  "strength_model": 0.3}

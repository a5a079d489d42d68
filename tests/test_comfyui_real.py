"""The comfyui provider against a real ComfyUI server (runs only when AIMUSIC_COMFYUI_REAL_URL is set).

Build one on a CPU machine with ../shared/tools/comfyui/setup.sh (tiny ACE-Step 1.5 files under
the template names) and add an empty `models/checkpoints/ace_step_v1_3.5b.safetensors` so the v1
graphs validate (v1 cannot be made tiny: it validates, then fails at load), and run
`python tests/tools/make_tiny_lora.py COMFYUI/models` for the LoRA tests. See the README's ComfyUI section.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

REAL_URL = os.environ.get("AIMUSIC_COMFYUI_REAL_URL", "")
pytestmark = pytest.mark.skipif(not REAL_URL, reason="set AIMUSIC_COMFYUI_REAL_URL to a real ComfyUI server")

T2A15 = "comfyui/ace-step-1.5-turbo/text-to-audio"
A2A15 = "comfyui/ace-step-1.5-turbo/audio-to-audio"
QUICK = {"tags": "neo soul", "duration": 4, "seed": 3, "generate_audio_codes": False}
TINY_LORA = "aimusic_tiny_ace15_lora.safetensors"  # tests/tools/make_tiny_lora.py


@pytest.fixture
def real(monkeypatch):
    from aimusic.engines.comfyui import engine

    engine.clear_probe_cache()
    monkeypatch.setenv("COMFYUI_URL", REAL_URL)
    wait_idle()
    yield REAL_URL.rstrip("/")
    wait_idle()


def queue_ids() -> list[str]:
    data = httpx.get(REAL_URL.rstrip("/") + "/queue", timeout=10).json()
    return [item[1] for key in ("queue_running", "queue_pending") for item in data[key]]


def wait_idle(timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while queue_ids():
        assert time.monotonic() < deadline, "the real server's queue did not empty"
        time.sleep(0.2)


def take_off(url: str, prompt_id: str) -> None:
    httpx.post(url + "/queue", json={"delete": [prompt_id]}, timeout=10)
    httpx.post(url + "/interrupt", json={"prompt_id": prompt_id}, timeout=10)
    wait_idle()


@pytest.mark.parametrize("model_id", ["comfyui/ace-step-v1/text-to-audio", "comfyui/ace-step-v1/audio-to-audio",
                                      T2A15, A2A15])
def test_workflow_graphs_pass_the_real_validation(cli, real, wav_file, model_id):
    data = {"tags": "pop", "lyrics": "[verse]\n你好世界\nhello", "seed": 1}
    data.update({"audio": str(wav_file(seconds=2.0))} if "audio-to-audio" in model_id else {"duration": 5})
    result = cli("comfyui", "workflow", model_id, "--input", json.dumps(data), "--body")
    assert result.code == 0, result.stderr
    answer = httpx.post(real + "/prompt", json=json.loads(result.stdout), timeout=30)
    body = answer.json()
    assert answer.status_code == 200, body
    assert body["node_errors"] == {}
    take_off(real, body["prompt_id"])


def test_text_to_audio_runs_end_to_end(cli, real, tmp_path):
    out = tmp_path / "out"
    result = cli("run", T2A15, "--input", json.dumps(QUICK), "-o", str(out), "--json")
    assert result.code == 0, result.stderr
    produced = result.json()
    assert len(produced["files"]) == 1 and os.path.getsize(produced["files"][0]) > 0
    sidecar = json.loads(open(produced["sidecars"][0]).read())
    assert sidecar["metadata"]["comfyui"]["server_version"]
    assert sidecar["duration_s"] == pytest.approx(4.0, abs=0.1)


def test_audio_to_audio_runs_end_to_end(cli, real, tmp_path, wav_file):
    source = wav_file(seconds=3.0)
    result = cli("run", A2A15, "--input", json.dumps({"tags": "lofi", "audio": str(source), "strength": 0.5,
                                                     "seed": 4, "generate_audio_codes": False}),
                 "-o", str(tmp_path / "out"), "--json")
    assert result.code == 0, result.stderr
    assert len(result.json()["files"]) == 1


def test_missing_model_file_exits_78(cli, real, tmp_path):
    result = cli("run", "comfyui/ace-step-1.5-xl-base/text-to-audio", "--input", json.dumps(QUICK),
                 "-o", str(tmp_path / "out"))
    assert result.code == 78 and "acestep_v1.5_xl_base_bf16.safetensors" in result.stderr


def test_ctrl_c_exits_130_and_empties_the_queue(real, tmp_path):
    from conftest import SRC

    out = tmp_path / "out"
    env = {**os.environ, "COMFYUI_URL": real, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen([sys.executable, "-m", "aimusic", "run", T2A15, "--input",
                             json.dumps({**QUICK, "duration": 30, "seed": 8}), "-o", str(out)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not queue_ids():
        assert time.monotonic() < deadline and proc.poll() is None, "the prompt never reached the server"
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert queue_ids() == []
    assert not out.exists() or not list(out.iterdir())


def test_graph_with_a_lora_passes_the_real_validation_and_runs(cli, real, tmp_path):
    result = cli("comfyui", "workflow", T2A15, "--input", json.dumps({**QUICK, "seed": 11}), "--body",
                 "--lora", f"{TINY_LORA}:0.7")
    assert result.code == 0, result.stderr
    body = json.loads(result.stdout)
    assert any(n["class_type"] == "LoraLoaderModelOnly" for n in body["prompt"].values())
    answer = httpx.post(real + "/prompt", json=body, timeout=30)
    assert answer.status_code == 200, answer.json()
    assert answer.json()["node_errors"] == {}
    take_off(real, answer.json()["prompt_id"])
    run = cli("run", T2A15, "--input", json.dumps(QUICK), "-o", str(tmp_path / "out"), "--json",
              "--lora", f"{TINY_LORA}:0.7")
    assert run.code == 0, run.stderr
    sidecar = json.loads(open(run.json()["sidecars"][0]).read())
    assert sidecar["metadata"]["loras"] == [{"lora": TINY_LORA, "scale": 0.7, "sha256": None}]


def test_a_lora_the_server_lacks_exits_78_naming_it(cli, real, tmp_path):
    result = cli("run", T2A15, "--input", json.dumps(QUICK), "-o", str(tmp_path / "out"),
                 "--lora", "not_on_the_server.safetensors")
    assert result.code == 78 and "not_on_the_server.safetensors" in result.stderr and "loras" in result.stderr

"""The plugin path for real: the README's example package, built and installed as a
distribution (found through importlib.metadata, no patched registry), shows up in `models`,
`doctor`, `run --provider`, `plan --provider`, a batch and the MCP `run` tool."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
import soundfile as sf

from conftest import ROOT, SRC

MODEL = "tone/sine/text-to-audio"


def _readme_plugin() -> tuple[str, str]:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Plugins", 1)[1].split("\n## ", 1)[0]
    pyproject = re.search(r"```toml\n(.*?)```", section, flags=re.S).group(1)
    module = re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)
    return pyproject, module


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    """The README's package, installed with pip (no network, no build isolation) into a folder."""
    pyproject, module = _readme_plugin()
    project = tmp_path_factory.mktemp("aimusic-tone")
    (project / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    (project / "aimusic_tone.py").write_text(module, encoding="utf-8")
    site = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                           "--no-index", "--quiet", "--target", str(site), str(project)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert list(site.glob("aimusic_tone-*.dist-info/entry_points.txt"))
    return site


def _env(site: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k.startswith(("AIMUSIC_", "HF_")) or k in ("PATH", "HOME")}
    return {**keep, "PYTHONPATH": os.pathsep.join([str(SRC), str(site)])}


def aimusic(site: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aimusic", *map(str, args)], capture_output=True, text=True,
                          env=_env(site), cwd=cwd, timeout=300)


def test_the_readme_plugin_is_found_everywhere(plugin_site, tmp_path):
    models = aimusic(plugin_site, "models", "--json")
    assert models.returncode == 0, models.stderr
    listed = {m["id"]: m for m in json.loads(models.stdout)["models"]} if models.stdout.lstrip().startswith("{") \
        else {m["id"]: m for m in json.loads(models.stdout)}
    assert listed[MODEL]["providers"] == ["tone"] and listed[MODEL]["available"]

    doctor = aimusic(plugin_site, "doctor", "--json")
    assert doctor.returncode == 0, doctor.stderr
    tone = json.loads(doctor.stdout)["providers"]["tone"]
    assert tone["usable"] == tone["models"] == 1 and tone["lane"] == "cpu"

    out = tmp_path / "run"
    run = aimusic(plugin_site, "run", MODEL, "--provider", "tone", "--input", '{"tags": "a", "duration": 2}',
                  "--amplitude", "0.25", "-o", out, "--json")
    assert run.returncode == 0, run.stderr
    body = json.loads(run.stdout)
    audio, rate = sf.read(body["files"][0])
    assert rate == 44100 and audio.shape == (2 * 44100, 2) and abs(abs(audio).max() - 0.25) < 1e-3
    assert json.loads(Path(body["sidecars"][0]).read_text())["provider"] == "tone"

    wrong = aimusic(plugin_site, "run", MODEL, "--input", '{"tags": "a", "duration": 2}', "--midi", "-o", out)
    assert wrong.returncode == 64 and "sketch" in wrong.stderr and "Traceback" not in wrong.stderr
    bad = aimusic(plugin_site, "run", MODEL, "--input", '{"tags": "a", "duration": 2}', "--amplitude", "3",
                  "-o", out, "--json")
    assert bad.returncode == 65 and json.loads(bad.stderr)["error"]["field"] == "amplitude"

    plan = aimusic(plugin_site, "plan", "a calm tone, 5 seconds", "--provider", "tone", "--json")
    assert plan.returncode == 0, plan.stderr
    planned = json.loads(plan.stdout)
    assert planned["provider"] == "tone" and planned["model"] == MODEL

    # without the plugin the name is refused, in one line
    bare = subprocess.run([sys.executable, "-m", "aimusic", "plan", "x", "--provider", "tone"], capture_output=True,
                          text=True, env={**_env(plugin_site), "PYTHONPATH": str(SRC)}, timeout=300)
    assert bare.returncode == 64 and "tone" in bare.stderr and "Traceback" not in bare.stderr


def test_a_batch_entry_runs_on_the_plugin_in_worker_processes(plugin_site, tmp_path):
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(json.dumps({"model": MODEL, "input": {"tags": "t", "duration": 1, "seed": s}})
                               for s in (1, 2)) + "\n", encoding="utf-8")
    result = aimusic(plugin_site, "batch", batch, "-o", tmp_path / "lib", "--yes", "--workers", "2", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    audio = sorted((tmp_path / "lib").glob("*.wav"))
    assert len(audio) == 2


def test_the_mcp_run_tool_runs_the_plugin(plugin_site, tmp_path):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    async def go():
        params = StdioServerParameters(command=sys.executable, args=["-m", "aimusic", "mcp", "-o", str(tmp_path)],
                                       env=_env(plugin_site))
        with open(os.devnull, "w") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    tools = {t.name: t for t in (await session.list_tools()).tools}
                    assert "tone" in tools["plan"].input_schema["properties"]["provider"]["enum"]
                    return await session.call_tool("run", {"model": MODEL,
                                                           "input": {"tags": "x", "duration": 1, "seed": 3}})

    result = anyio.run(go)
    assert not result.is_error, result.content
    body = json.loads(result.content[0].text)
    assert body["provider"] == "tone" and Path(body["files"][0]).exists()

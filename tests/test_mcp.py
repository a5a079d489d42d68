"""The MCP server, driven by the official SDK's client over stdio and over streamable HTTP."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
import soundfile as sf
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from conftest import SRC, music_like

TOOLS = {"plan", "generate", "edit", "run", "models", "analyze", "finish", "separate", "layer"}


def _env() -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k.startswith(("AIMUSIC_", "HF_"))}
    return {**keep, "PYTHONPATH": str(SRC)}


@contextlib.asynccontextmanager
async def stdio_session(output_dir: Path, *extra: str, env: dict[str, str] | None = None):
    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "aimusic", "mcp", "-o", str(output_dir), *extra],
                                   env={**_env(), **(env or {})})
    with open(os.devnull, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def http_session(output_dir: Path):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "aimusic", "mcp", "--http", f"127.0.0.1:{port}",
                             "-o", str(output_dir)], env={**os.environ, **_env()},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            await anyio.sleep(0.1)
        async with streamable_http_client(f"http://127.0.0.1:{port}/mcp") as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session
    finally:
        proc.terminate()
        proc.wait(timeout=30)


SESSIONS = {"stdio": stdio_session, "http": http_session}


@pytest.fixture(params=["stdio", "http"])
def session_factory(request):
    return SESSIONS[request.param]


def run_async(fn):
    return anyio.run(fn)


def test_list_tools_with_valid_schemas(tmp_path, session_factory):
    from jsonschema import Draft202012Validator

    async def main():
        async with session_factory(tmp_path) as session:
            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert TOOLS <= set(tools)
            for tool in tools.values():
                Draft202012Validator.check_schema(tool.input_schema)
            generate = tools["generate"].input_schema["properties"]
            assert {"request", "duration", "provider", "seed", "lyrics", "tags", "instrumental", "model"} <= set(generate)
            assert generate["duration"]["anyOf"][0]["maximum"] == 600
            assert tools["plan"].input_schema["required"] == ["request"]

    run_async(main)


def test_models_tool_returns_structured_catalog(tmp_path):
    async def main():
        async with stdio_session(tmp_path) as session:
            result = await session.call_tool("models", {})
            assert not result.is_error
            ids = {m["id"] for m in result.structured_content["models"]}
            assert "elevenlabs/elevenlabs/music-generation" in ids and "local/sketch/text-to-audio" in ids
            assert result.content[0].text.startswith("{")

    run_async(main)


def test_errors_are_tool_errors_with_cli_shape(tmp_path, session_factory):
    async def main():
        async with session_factory(tmp_path) as session:
            result = await session.call_tool("run", {"model": "acestep-ai/ace-step/text-to-audio",
                                                     "input": {"tags": "x", "duration": 999}})
            assert result.is_error
            error = result.structured_content["error"]
            assert (error["code"], error["type"], error["field"]) == (65, "bad_input", "duration")
            assert "240" in error["message"]
            assert error["permanent"] is True and error["retryable"] is False and "Fix the input" in error["advice"]
            bad_type = await session.call_tool("generate", {"request": 5})
            assert bad_type.is_error and bad_type.structured_content["error"]["field"] == "request"
            unknown = await session.call_tool("run", {"model": "nope/nope/nope", "input": {}})
            assert unknown.structured_content["error"]["code"] == 64
            no_key = await session.call_tool("run", {"model": "acestep-ai/ace-step/text-to-audio",
                                                     "input": {"tags": "lofi"}})
            assert no_key.structured_content["error"]["code"] == 77
            # the server is still alive after all that
            assert not (await session.call_tool("models", {})).is_error

    run_async(main)


def test_reading_outside_allowed_dirs_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "song.wav"
    sf.write(secret, music_like(1.0).T, 44100)
    out = tmp_path / "out"

    async def main():
        async with stdio_session(out) as session:
            for path in ("/etc/passwd", "../../x", str(secret), "../outside/song.wav"):
                result = await session.call_tool("analyze", {"audio": path})
                assert result.is_error, path
                assert result.structured_content["error"]["field"] == "audio"
                assert "outside" in result.structured_content["error"]["message"]
            refused = await session.call_tool("run", {"model": "local/sketch/audio-to-audio",
                                                      "input": {"audio": "/etc/passwd", "tags": "x"}})
            assert refused.is_error and "outside" in refused.structured_content["error"]["message"]
            plain_http = await session.call_tool("plan", {"request": "fix 0:01 to 0:02",
                                                          "audio": "http://example.com/a.wav"})
            assert plain_http.is_error and plain_http.structured_content["error"]["field"] == "audio"

    run_async(main)


def test_http_transport_refuses_non_loopback(cli):
    result = cli("mcp", "--http", "0.0.0.0:8765")
    assert result.code == 64 and "loopback" in result.stderr
    assert cli("mcp", "--http", "nonsense").code == 64


def test_plan_routes_a_premium_request_to_the_premium_model(tmp_path):
    async def main():
        async with stdio_session(tmp_path, env={"ELEVENLABS_API_KEY": "el-test-key-not-real"}) as session:
            result = await session.call_tool("plan", {"request": "a 10-second sonic logo for a bank, must sound premium"})
            assert not result.is_error, result.content
            plan = result.structured_content
            assert plan["model"] == "elevenlabs/elevenlabs/music-generation"
            assert plan["provider"] == "elevenlabs" and plan["task"] == "generate"
            assert {"input", "estimated_cost_usd", "reasons", "steps"} <= set(plan)
            assert "el-test-key-not-real" not in result.content[0].text

    run_async(main)


def test_generate_on_the_sketch_engine_with_progress(tmp_path, session_factory):
    out = tmp_path / "out"
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress, total, message):
        updates.append((progress, total, message))

    async def main():
        async with session_factory(out) as session:
            result = await session.call_tool("generate", {"request": "chill lofi, 80 BPM", "duration": 5,
                                                          "provider": "sketch"}, progress_callback=on_progress)
            assert not result.is_error, result.content
            body = result.structured_content
            assert body["provider"] == "sketch" and body["model"] == "local/sketch/text-to-audio"
            assert len(body["files"]) == 1 and len(body["seeds"]) == 1 and body["cost_usd"] == 0
            path = Path(body["files"][0])
            assert path.resolve().parent == out.resolve()
            assert abs(sf.info(path).duration - 5.0) < 0.01
            assert Path(body["sidecars"][0]).exists()

    run_async(main)
    assert updates, "no progress notifications arrived"


def test_out_of_range_duration_is_a_tool_error_naming_the_field(tmp_path):
    async def main():
        async with stdio_session(tmp_path) as session:
            result = await session.call_tool("generate", {"request": "lofi", "duration": 5000, "provider": "sketch"})
            assert result.is_error
            error = result.structured_content["error"]
            assert error["field"] == "duration" and error["code"] == 65

    run_async(main)


def test_cancelled_generation_leaves_no_file(tmp_path):
    out = tmp_path / "out"

    async def main():
        async with stdio_session(out) as session:
            with anyio.move_on_after(1.0):
                await session.call_tool("generate", {"request": "epic orchestral score", "duration": 600,
                                                     "provider": "sketch"})
                raise AssertionError("a 600 s render finished within 1 s: the cancellation was not exercised")
            # the server is still serving, and the cancelled job never writes anything
            assert not (await session.call_tool("models", {})).is_error
            for _ in range(60):
                assert not [p for p in out.iterdir() if not p.name.startswith(".")], list(out.iterdir())
                await anyio.sleep(0.25)

    run_async(main)
    assert list(out.iterdir()) == []


def test_edit_and_finish_and_analyze_tools(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    sf.write(out / "song.wav", music_like(8.0).T, 44100)

    async def main():
        async with stdio_session(out) as session:
            analysis = await session.call_tool("analyze", {"audio": "song.wav"})
            assert not analysis.is_error, analysis.content
            assert abs(analysis.structured_content["duration_s"] - 8.0) < 0.01
            finished = await session.call_tool("finish", {"audio": "song.wav", "preset": "streaming"})
            assert not finished.is_error, finished.content
            finished_path = Path(finished.structured_content["output"])
            assert finished_path.parent == out.resolve() and finished_path.exists()
            again = await session.call_tool("finish", {"audio": "song.wav"})
            assert Path(again.structured_content["output"]) != finished_path  # never clobbers
            edited = await session.call_tool("edit", {"audio": "song.wav", "request": "fix 0:02 to 0:04",
                                                      "provider": "sketch"})
            assert not edited.is_error, edited.content
            assert edited.structured_content["task"] == "inpaint"
            assert Path(edited.structured_content["files"][0]).exists()

    run_async(main)

"""Hostile input and hostile servers (issue 18): nothing escapes, nothing hangs, nothing crashes.

One named regression test per class the outside fuzzing pass found, then bounded hypothesis
fuzzing over `--input`, request text, batch files, MCP tool arguments and a hostile hosted
stand-in. Every case asserts: an exit code from the README's table (never 70 for a user or
upstream fault), no traceback, nothing written outside the output dir, nothing half-written,
and no secret in any output.
"""

from __future__ import annotations

import base64
import errno
import json
import os
import re
import time
from pathlib import Path
from urllib.parse import quote

import anyio
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import music_like, run_cli
from fakes.hostile_server import HostileRunComfy, echoes
from fakes.loopback import LoopbackServer, QuietHandler

from aimusic.errors import EXIT_CODES

TOKEN = "rc-Hostile/Secret+tok=en-9f8e7d6c"
SKETCH = "local/sketch/text-to-audio"
ACE = "acestep-ai/ace-step/text-to-audio"
USER_AND_UPSTREAM = set(EXIT_CODES) - {0, 70}
FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def assert_clean_failure(result, *codes: int) -> None:
    """A user or upstream fault: one of `codes` (or any non-70 code of the table), one line, no traceback."""
    assert result.code in (codes or USER_AND_UPSTREAM), (result.code, result.stderr[-500:])
    assert result.code != 70, result.stderr[-500:]
    assert "Traceback" not in result.stderr + result.stdout
    assert len([line for line in result.stderr.splitlines() if "error" in line]) == 1, result.stderr


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


def no_secret_in(*texts: str) -> None:
    for text in texts:
        for form in echoes(TOKEN):
            assert form not in text, form


# --- paths are confined ---------------------------------------------------------------------------

def test_batch_names_become_file_names_inside_the_library(tmp_path):
    from aimusic.batch.expand import load_batch

    batch = tmp_path / "lib" / "a" / "b.yaml"
    batch.parent.mkdir(parents=True)
    batch.write_text("items:\n"
                     "  - {tags: lofi, duration: 5, name: ../../x}\n"
                     f"  - {{tags: lofi, duration: 5, name: {tmp_path}/abs}}\n"
                     "  - {tags: lofi, duration: 5, name: .aimusic/manifest.sqlite}\n"
                     "  - {tags: lofi, duration: 5, name: '..'}\n", encoding="utf-8")
    with pytest.raises(Exception) as info:
        load_batch(batch)
    assert "gives no usable file name" in str(info.value)  # '..' is no name at all
    batch.write_text("\n".join(batch.read_text().splitlines()[:-1]) + "\n", encoding="utf-8")
    stems = [item.stem for item in load_batch(batch)]
    assert stems[0].startswith("x-") and stems[2].startswith("aimusic-manifest-sqlite-")
    for stem in stems:
        assert "/" not in stem and "\\" not in stem and not stem.startswith(".")


def test_a_batch_run_writes_nothing_outside_its_library(tmp_path):
    batch = tmp_path / "in" / "b.yaml"
    batch.parent.mkdir()
    batch.write_text("items:\n  - {tags: lofi, duration: 5, provider: sketch, name: ../../../escape}\n",
                     encoding="utf-8")
    out = tmp_path / "in" / "lib"
    result = run_cli("batch", batch, "-o", out, "--yes", "--workers", "1")
    assert result.code == 0, result.stderr
    outside = [p for p in files_under(tmp_path) if out not in p.parents and p != batch]
    assert outside == []
    index = json.loads((out / "index.json").read_text())
    assert all("/" not in row["file"] for row in index["items"])


def test_library_writes_refuse_anything_but_a_plain_name(tmp_path):
    from aimusic.batch.library import library_path
    from aimusic.errors import InputError

    for name in ("../x.wav", "/etc/x.wav", ".aimusic/manifest.sqlite", ".hidden.wav", "a/b.wav", ""):
        with pytest.raises(InputError):
            library_path(tmp_path, name)
    assert library_path(tmp_path, "ok.wav") == tmp_path / "ok.wav"


def test_a_list_where_a_name_is_expected_is_an_error(tmp_path):
    batch = tmp_path / "b.yaml"
    batch.write_text("items:\n  - {tags: lofi, duration: 5, name: [a, b]}\n", encoding="utf-8")
    result = run_cli("batch", batch, "-o", tmp_path / "out", "--dry-run")
    assert_clean_failure(result, 65)
    assert "name must be text" in result.stderr


# --- sizes are bounded before work starts ---------------------------------------------------------

@pytest.mark.parametrize("args, limit", [
    (("plan", "a 99999999 minute lofi song"), "3600 s"),
    (("generate", "lofi", "--duration", "1e9", "--provider", "sketch", "--dry-run"), "3600 s"),
    (("plan", "a " + "9" * 5000 + " second lofi song"), "4000-character"),
    (("plan", "a " + "9" * 40 + " second lofi song"), "18 digits"),
    (("plan", "99999 lofi tracks"), "1000"),
])
def test_huge_numbers_are_refused_at_once(args, limit):
    started = time.monotonic()
    result = run_cli(*args)
    assert time.monotonic() - started < 10
    assert_clean_failure(result, 65)
    assert limit in result.stderr


def test_an_extension_needing_thousands_of_calls_is_refused(tmp_path):
    source = tmp_path / "a.wav"
    sf.write(source, music_like(4.0).T, 44100)
    result = run_cli("edit", source, "extend it by 99999999 minutes", "--provider", "sketch", "--dry-run")
    assert_clean_failure(result, 65)
    assert "64 chained calls" in result.stderr


def test_json_input_numbers_and_nesting_are_bounded():
    huge = run_cli("run", SKETCH, "--input", '{"tags": "x", "duration": ' + "9" * 5000 + "}", "--dry-run")
    assert_clean_failure(huge, 65)
    assert "18 digits" in huge.stderr
    deep = run_cli("run", SKETCH, "--input", "[" * 100_000 + "]" * 100_000, "--dry-run")
    assert_clean_failure(deep, 65)
    assert "32 levels" in deep.stderr
    nan = run_cli("run", SKETCH, "--input", '{"tags": "x", "duration": NaN}', "--dry-run")
    assert_clean_failure(nan, 65)


def test_batch_documents_are_bounded(tmp_path):
    cases = {
        "digits.yaml": "items:\n  - {tags: lofi, duration: " + "9" * 5000 + "}\n",
        "deep.yaml": "items: " + "[" * 100_000 + "\n",
        "deep.json": "[" * 100_000 + "]" * 100_000,
        "deep.jsonl": '{"tags": "a"}\n' + '{"tags": ' + "[" * 100_000 + "]" * 100_000 + "}\n",
        "vary.yaml": "items:\n  - {tags: lofi, duration: 5, count: 3, vary: ["
                     + ",".join("[" + ",".join(f"w{i}x{j}" for j in range(50)) + "]" for i in range(40)) + "]}\n",
        "bomb.yaml": "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                     + "".join(f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                               for p, c in zip("abcdefg", "bcdefgh"))
                     + "items: [{tags: lofi, duration: 5, input: {x: *h}}]\n",
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        started = time.monotonic()
        result = run_cli("batch", path, "-o", tmp_path / "out", "--dry-run")
        assert time.monotonic() - started < 20, name
        assert_clean_failure(result, 65)


def _fifo(tmp_path: Path, name: str = "fifo") -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("where", ["input", "lyrics", "audio", "match_video", "edit", "batch", "languages"])
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_fifos_and_devices_are_refused_at_once(tmp_path, where, kind):
    special = str(_fifo(tmp_path) if kind == "fifo" else Path("/dev/zero"))
    out = tmp_path / "out"
    args = {
        "input": ("run", SKETCH, "--input", "@" + special, "--dry-run"),
        "lyrics": ("generate", "lofi", "--lyrics", "@" + special, "--provider", "sketch", "--dry-run"),
        "audio": ("plan", "extend it by 10 seconds", "--audio", special),
        "match_video": ("generate", "lofi", "--match-video", special, "--provider", "sketch", "--dry-run"),
        "edit": ("edit", special, "extend it by 10 seconds", "--provider", "sketch", "--dry-run"),
        "batch": ("batch", special, "-o", out, "--dry-run"),
    }.get(where)
    if where == "languages":
        batch = tmp_path / "b.yaml"
        batch.write_text(f"items:\n  - {{tags: lofi, duration: 5, languages: {{en: {special}}}}}\n")
        args = ("batch", batch, "-o", out, "--dry-run")
    started = time.monotonic()
    result = run_cli(*args)
    assert time.monotonic() - started < 10
    assert_clean_failure(result, 66)
    assert "not a regular file" in result.stderr


def test_a_big_at_file_is_refused_naming_the_cap(tmp_path):
    big = tmp_path / "big.json"
    with open(big, "wb") as handle:
        handle.truncate(5 * 1024**2)
    result = run_cli("run", SKETCH, "--input", f"@{big}", "--dry-run")
    assert_clean_failure(result, 65)
    assert "byte limit" in result.stderr


def test_lyrics_that_are_not_utf8_are_bad_input(tmp_path):
    lyrics = tmp_path / "l.txt"
    lyrics.write_bytes(b"\xff\xfe\x00la la")
    result = run_cli("generate", "lofi", "--lyrics", f"@{lyrics}", "--provider", "sketch", "--dry-run")
    assert_clean_failure(result, 65)


# --- no user or upstream fault is 70 --------------------------------------------------------------

def test_a_full_disk_is_74_and_leaves_nothing(tmp_path, monkeypatch):
    import aimusic.output as output

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output, "write_audio", full)
    out = tmp_path / "out"
    result = run_cli("run", SKETCH, "--input", '{"tags": "lofi", "duration": 5}', "-o", out)
    assert_clean_failure(result, 74)
    assert files_under(out) == []


def test_a_read_only_output_folder_is_73(tmp_path, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if mode == os.W_OK and
                        str(path).endswith("ro") else real_access(path, mode, **kw))
    result = run_cli("run", SKETCH, "--input", '{"tags": "lofi", "duration": 5}', "-o", tmp_path / "ro")
    assert_clean_failure(result, 73)

    from aimusic.errors import CannotWriteError, error_of

    assert isinstance(error_of(OSError(errno.EROFS, "Read-only file system")), CannotWriteError)


def test_a_corrupted_credentials_file_reads_as_no_key(cli, isolated_user_dirs):
    config = isolated_user_dirs / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "credentials.json").write_text('{"runcomfy": "abc", "elevenlabs": {"key": 5}}')
    for command in (("models",), ("doctor",)):
        result = cli(*command)
        assert result.code == 0, result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("key", ["abc\ndef1234", "abc\u00e9def1234", "abc def1234", "abc\x01def1234"])
def test_keys_an_http_header_cannot_carry_are_refused(cli, monkeypatch, key):
    stored = cli("login", "runcomfy", stdin=key + "\n")
    if "\n" not in key.strip():
        assert_clean_failure(stored, 65)
    monkeypatch.setenv("RUNCOMFY_TOKEN", key)
    used = cli("run", ACE, "--provider", "runcomfy", "--input", '{"tags": "x"}', "-o", "out")
    assert_clean_failure(used, 77, 65)


# --- secrets in every encoding, everywhere aimusic writes -----------------------------------------

def test_redaction_covers_every_encoding():
    from aimusic import config

    os.environ["RUNCOMFY_TOKEN"] = TOKEN
    try:
        for form in echoes(TOKEN) + [re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(TOKEN, safe="")), base64.b64encode(TOKEN.encode()).decode(),
                                     json.dumps(TOKEN, ensure_ascii=True)]:
            cleaned = config.redact(f"before {form} after")
            assert "***" in cleaned and form not in cleaned
    finally:
        del os.environ["RUNCOMFY_TOKEN"]


def test_a_key_in_lyrics_never_reaches_the_manifest_index_or_sidecar(tmp_path, monkeypatch):
    import sqlite3

    monkeypatch.setenv("RUNCOMFY_TOKEN", TOKEN)
    batch = tmp_path / "b.yaml"
    batch.write_text(f"items:\n  - {{tags: 'lofi {TOKEN}', lyrics: 'la {quote(TOKEN, safe='')} la', "
                     f"duration: 5, provider: sketch, title: 't {TOKEN}'}}\n", encoding="utf-8")
    out = tmp_path / "lib"
    result = run_cli("batch", batch, "-o", out, "--yes", "--workers", "1")
    assert result.code == 0, result.stderr
    no_secret_in(result.stdout, result.stderr)
    for path in files_under(out):
        if path.suffix in (".json", ".csv"):
            no_secret_in(path.read_text(encoding="utf-8"))
    db = sqlite3.connect(out / ".aimusic" / "manifest.sqlite")
    dump = "\n".join(db.iterdump())
    no_secret_in(dump)


# --- strict types at every front door -------------------------------------------------------------

def test_booleans_are_not_numbers():
    for field in ("duration", "seed"):
        data = {"tags": "x", "duration": 10, field: True}
        result = run_cli("run", SKETCH, "--input", json.dumps(data), "--dry-run")
        assert_clean_failure(result, 65)
        assert field in result.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_nan_and_inf_limits_are_refused(value, tmp_path):
    for args in (("plan", "lofi", "--json", "--budget", value),
                 ("generate", "lofi", "--duration", value, "--provider", "sketch", "--dry-run"),
                 ("run", ACE, "--input", '{"tags": "x"}', "--timeout", value, "--dry-run")):
        result = run_cli(*args)
        assert_clean_failure(result, 64)
        assert "NaN" not in result.stdout
    from aimusic import api
    from aimusic.errors import InputError

    with pytest.raises(InputError):
        api.plan("lofi", budget_usd=float(value))


def test_http_urls_are_refused_as_urls_not_read_as_paths():
    result = run_cli("plan", "extend it by 10 seconds", "--audio", "http://example.com/a.wav")
    assert_clean_failure(result, 65)
    assert "https://" in result.stderr and "not found" not in result.stderr


# --- sidecar with its audio; busy lock ------------------------------------------------------------

def test_the_sidecar_is_named_before_its_audio(tmp_path, monkeypatch):
    from aimusic.output import staging

    order: list[str] = []
    real_link = staging.StagedFile.link

    def link(self, target):
        order.append(Path(target).suffix)
        return real_link(self, target)

    monkeypatch.setattr(staging.StagedFile, "link", link)
    result = run_cli("run", SKETCH, "--input", '{"tags": "lofi", "duration": 5}', "-o", tmp_path / "out")
    assert result.code == 0, result.stderr
    assert order.index(".json") < order.index(".wav")


def test_a_busy_batch_library_is_75(tmp_path):
    import fcntl

    from aimusic.batch.library import state_dir

    batch = tmp_path / "b.yaml"
    batch.write_text("items:\n  - {tags: lofi, duration: 5, provider: sketch}\n")
    out = tmp_path / "lib"
    state_dir(out).mkdir(parents=True)
    with open(state_dir(out) / "lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = run_cli("batch", batch, "-o", out, "--yes")
    assert_clean_failure(result, 75)
    assert "another batch is running" in result.stderr


# --- MCP: unknown arguments, one slow call never blocks the others --------------------------------

def _mcp(tmp_path):
    from aimusic.mcp.server import ServerConfig, build_server

    return build_server(ServerConfig(output_dir=tmp_path / "mcp"))


def _tool_error(result) -> dict | None:
    return json.loads(result.content[0].text).get("error") if result.is_error else None


def test_mcp_unknown_arguments_are_errors(tmp_path):
    app = _mcp(tmp_path)

    async def main():
        for name, args in (("plan", {"request": "lofi", "bogus": 1}), ("models", {"x": 1}),
                           ("plan", {"request": "lofi", "budget_usd": True})):
            error = _tool_error(await app.call_tool(name, args))
            assert error is not None and error["code"] == 65, (name, error)

    anyio.run(main)


def test_mcp_one_slow_plan_does_not_block_other_calls(tmp_path, monkeypatch):
    from aimusic import api

    real_plan = api.plan

    def slow_plan(*args, **kwargs):
        time.sleep(3.0)
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(api, "plan", slow_plan)
    app = _mcp(tmp_path)
    finished: dict[str, float] = {}

    async def call(name, args):
        await app.call_tool(name, args)
        finished[name] = time.monotonic()

    async def main():
        async with anyio.create_task_group() as group:
            group.start_soon(call, "plan", {"request": "lofi"})
            await anyio.sleep(0.2)
            group.start_soon(call, "models", {})

    anyio.run(main)
    assert finished["models"] < finished["plan"]


# --- the hostile hosted stand-in ------------------------------------------------------------------

@pytest.fixture
def hostile(monkeypatch):
    servers = []

    def start(behaviour: str) -> HostileRunComfy:
        server = HostileRunComfy(TOKEN, behaviour).start()
        servers.append(server)
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("AIMUSIC_POLL_INTERVAL", "0.01")
        monkeypatch.setenv("AIMUSIC_STALL_SECONDS", "1")
        return server

    yield start
    for server in servers:
        server.stop()


EXPECTED = {"junk_status": 69, "unknown_status": 69, "deep_status": 69, "html_status": 69,
            "echo_status": 69, "echo_result": 69, "html_file": 69, "trickle_file": 75, "short_file": 75}


@pytest.mark.parametrize("behaviour", HostileRunComfy.BEHAVIOURS)
def test_hostile_hosted_service(tmp_path, hostile, behaviour):
    hostile(behaviour)
    out = tmp_path / "out"
    started = time.monotonic()
    result = run_cli("run", ACE, "--provider", "runcomfy", "--input", '{"tags": "lofi", "duration": 10}',
                     "-o", out, "--timeout", "20", "--json")
    assert time.monotonic() - started < 25
    assert_clean_failure(result, EXPECTED[behaviour])
    no_secret_in(result.stdout, result.stderr)
    assert files_under(out) == []  # nothing half-written, nothing at all


def test_timeout_covers_a_slow_download(tmp_path, hostile, monkeypatch):
    hostile("trickle_file").trickle_delay = 0.0005  # fast enough never to stall: only --timeout stops it
    monkeypatch.setenv("AIMUSIC_STALL_SECONDS", "30")
    started = time.monotonic()
    result = run_cli("run", ACE, "--provider", "runcomfy", "--input", '{"tags": "lofi", "duration": 10}',
                     "-o", tmp_path / "out", "--timeout", "2")
    assert time.monotonic() - started < 10
    assert_clean_failure(result, 75)
    assert "timed out" in result.stderr


# --- bounded fuzzing ------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12)
FIELDS = ["tags", "lyrics", "duration", "seed", "audio", "prompt", "strength", "x"]


def _check(result, out: Path, root: Path) -> None:
    assert result.code in EXIT_CODES and result.code != 70, (result.code, result.stderr[-400:])
    assert "Traceback" not in result.stderr + result.stdout
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout
    stray = [p for p in files_under(root) if out not in p.parents and p.parent != root]
    assert stray == []
    assert not [p for p in files_under(out) if p.name.endswith((".part", ".tmp", ".new"))]


@FUZZ
@given(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=5) | json_values)
def test_fuzz_input(tmp_path, data):
    text = json.dumps(data, allow_nan=True)
    result = run_cli("run", SKETCH, "--input", text, "--dry-run", "--json")
    _check(result, tmp_path / "out", tmp_path)


@FUZZ
@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
       | st.lists(st.sampled_from(["9" * 30, "1:05", "to", "minutes", "seconds", "extend", "x", "50 tracks",
                                   "-", "bpm", "half", "a minute and a half", "99999999", " "]),
                  max_size=40).map(" ".join))
def test_fuzz_request_text(tmp_path, text):
    started = time.monotonic()
    result = run_cli("plan", text, "--json", "--provider", "sketch")
    assert time.monotonic() - started < 10
    _check(result, tmp_path / "out", tmp_path)
    if result.code == 0:
        json.loads(result.stdout)  # plain JSON: NaN would not parse with a strict reader
        assert "NaN" not in result.stdout


entry = st.dictionaries(st.sampled_from(["tags", "duration", "name", "title", "count", "vary", "seed",
                                         "provider", "model", "request", "lyrics", "languages", "input", "zz"]),
                        json_values, max_size=5)


@FUZZ
@given(st.lists(entry, max_size=3) | json_values, st.sampled_from([".yaml", ".json", ".jsonl"]))
def test_fuzz_batch_files(tmp_path, doc, suffix):
    path = tmp_path / f"b{suffix}"
    if suffix == ".jsonl" and isinstance(doc, list):
        text = "\n".join(json.dumps(e) for e in doc)
    else:
        text = json.dumps(doc, allow_nan=True)
    path.write_text(text, encoding="utf-8")
    result = run_cli("batch", path, "-o", tmp_path / "out", "--dry-run")
    _check(result, tmp_path / "out", tmp_path)


MCP_TOOLS = ["plan", "models", "run", "analyze", "finish", "edit"]


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.sampled_from(MCP_TOOLS),
       st.dictionaries(st.sampled_from(["request", "audio", "model", "input", "budget_usd", "provider",
                                        "lyrics", "preset", "zz"]), json_values, max_size=4))
def test_fuzz_mcp_tool_arguments(tmp_path, name, arguments):
    app = _mcp(tmp_path)

    async def main():
        return await app.call_tool(name, arguments)

    result = anyio.run(main)
    text = result.content[0].text
    assert "Traceback" not in text
    if result.is_error:
        error = json.loads(text)["error"]
        assert error["code"] in EXIT_CODES and error["code"] != 70, error
    assert [p for p in files_under(tmp_path) if (tmp_path / "mcp") not in p.parents] == []


class _AnswerServer(LoopbackServer):
    """Answers GET `path` with `body(path)`: bytes, or a (chunk, count) pair sent `count` times
    under one Content-Length, so a client that stops reading early shows in `sent`."""

    def __init__(self, body) -> None:
        self.body, self.sent = body, 0

    class handler_class(QuietHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            body = self.fake.body(self.path)
            chunk, count = body if isinstance(body, tuple) else (body, 1)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if chunk.startswith(b"\x1f\x8b"):
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(chunk) * count))
            self.end_headers()
            for _ in range(count):
                self.wfile.write(chunk)
                self.fake.sent += 1


def test_an_api_answer_is_read_under_a_size_cap_and_gzip_still_decodes():
    """A hosted API's JSON answer is read with a cap (a 17 MiB 'status' is the provider's fault, 69,
    read no further than the cap) and a compressed answer is decoded once."""
    import gzip

    import httpx

    from aimusic.engines.http import MAX_ANSWER_BYTES, HttpCall, send
    from aimusic.errors import UpstreamError

    answers = _AnswerServer(lambda path: gzip.compress(b'{"ok": 1}') if path == "/gz"
                            else (b"x" * 2**20, MAX_ANSWER_BYTES // 2**20 + 1))
    with answers, httpx.Client() as client:
        call = HttpCall(provider="Stand-in", action="status", safe=True)
        assert send(client, "GET", answers.origin + "/gz", call).json() == {"ok": 1}
        with pytest.raises(UpstreamError, match="over 16 MiB"):
            send(client, "GET", answers.origin + "/huge", call)


def test_a_trickling_body_is_a_stall_once_it_has_started(monkeypatch):
    """StallWatch (downloads and the ElevenLabs audio stream): fewer than STALL_MIN_BYTES in the
    stall window is a retryable stall; a steady body is not; the clock starts at the first byte."""
    import aimusic.engines.http as http
    from aimusic.errors import RetryableError

    clock = [1000.0]
    monkeypatch.setattr(http.time, "monotonic", lambda: clock[0])
    monkeypatch.setenv("AIMUSIC_STALL_SECONDS", "10")
    steady = http.StallWatch("steady")
    for _ in range(30):
        clock[0] += 1.0
        steady.add(4096)
    clock[0] += 500.0            # a long think before the first byte is not a stall
    trickle = http.StallWatch("ElevenLabs' audio stream")
    trickle.add(1)
    with pytest.raises(RetryableError, match="stalled"):
        for _ in range(20):
            clock[0] += 1.0
            trickle.add(1)


def test_a_comfyui_answer_is_read_under_a_cap(monkeypatch):
    """A 'ComfyUI server' whose /object_info never ends is the server's fault (69), read no
    further than the cap; a normal answer still reads."""
    from aimusic.engines.comfyui import client as comfy_client
    from aimusic.errors import UpstreamError

    monkeypatch.setattr(comfy_client, "MAX_ANSWER_BYTES", 1024**2)
    answers = _AnswerServer(lambda path: (b"x" * 1024**2, 64) if path.startswith("/object_info")
                            else b'{"system": {"comfyui_version": "0.3.1"}}')
    with answers, comfy_client.ComfyClient(answers.origin) as comfy:
        assert comfy.version() == "0.3.1"
        with pytest.raises(UpstreamError, match="over 1 MiB") as caught:
            comfy.object_info()
    assert caught.value.exit_code == 69 and answers.sent < 32  # 64 MiB unless the client stops reading

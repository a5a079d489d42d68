"""The CLI contract: catalog, validation, exit codes, JSON errors."""

from __future__ import annotations

import json
import socket

import pytest

HOSTED_IDS = {
    "acestep-ai/ace-step/text-to-audio",
    "acestep-ai/ace-step-1.5/text-to-audio",
    "elevenlabs/elevenlabs/music-generation",
    "acestep-ai/ace-step/audio-inpaint",
    "acestep-ai/ace-step/audio-outpaint",
}


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_models_json_lists_hosted_local_and_sketch(cli):
    result = cli("models", "--json")
    assert result.code == 0, result.stderr
    ids = {m["id"] for m in result.json()["models"]}
    assert HOSTED_IDS <= ids
    for task in ("text-to-audio", "audio-inpaint", "audio-outpaint", "audio-to-audio"):
        assert f"local/ace-step-1.5-turbo/{task}" in ids
        assert f"local/ace-step-1.5-xl-base/{task}" in ids
        assert f"local/sketch/{task}" in ids
    for entry in result.json()["models"]:
        assert {"provider", "task", "input_fields", "price_per_second_usd", "duration_limits_s",
                "languages", "available", "availability"} <= set(entry)
        for check in entry["availability"]:
            assert check["usable"] or check["reason"]
        if entry["id"].startswith("local/"):
            assert entry["price_per_second_usd"] == 0


def test_models_reports_missing_token_as_reason(cli, monkeypatch):
    rows = {m["id"]: m for m in cli("models", "--json").json()["models"]}
    hosted = rows["acestep-ai/ace-step/text-to-audio"]
    assert hosted["available"] is False
    assert "RUNCOMFY_TOKEN" in hosted["availability"][0]["reason"]
    monkeypatch.setenv("RUNCOMFY_TOKEN", "tok-present")
    rows = {m["id"]: m for m in cli("models", "--json").json()["models"]}
    assert rows["acestep-ai/ace-step/text-to-audio"]["availability"][0]["reason"] != hosted["availability"][0]["reason"]


def test_models_show_lists_fields_with_ranges(cli):
    result = cli("models", "show", "acestep-ai/ace-step/text-to-audio", "--json")
    assert result.code == 0
    fields = {f["name"]: f for f in result.json()["input_fields"]}
    assert fields["tags"]["required"] is True
    assert (fields["duration"]["min"], fields["duration"]["max"], fields["duration"]["default"]) == (5, 240, 60)
    assert fields["seed"]["min"] == -1
    human = cli("models", "show", "elevenlabs/elevenlabs/music-generation")
    assert "music_length_ms" in human.stdout and "5000..300000" in human.stdout


def test_missing_tags_exits_65_naming_tags(cli, tmp_path):
    result = cli("run", "acestep-ai/ace-step/text-to-audio", "--input", '{"duration": 2}', "-o", tmp_path)
    assert result.code == 65
    assert "tags" in result.stderr and "Traceback" not in result.stderr


def test_broken_json_exits_65(cli, tmp_path):
    assert cli("run", "acestep-ai/ace-step/text-to-audio", "--input", "{", "-o", tmp_path).code == 65


def test_out_of_range_names_the_range(cli, tmp_path):
    result = cli("run", "acestep-ai/ace-step/text-to-audio", "--input", '{"tags": "x", "duration": 999}',
                 "-o", tmp_path, "--json")
    assert result.code == 65
    error = result.error()
    assert error["field"] == "duration" and "5" in error["message"] and "240" in error["message"]
    assert error["type"] == "bad_input" and error["code"] == 65


def test_every_violation_reported_at_once(cli):
    result = cli("run", "acestep-ai/ace-step/audio-inpaint", "--input",
                 '{"start_time": -1, "end_time": "x", "bogus": 1}', "--json")
    assert result.code == 65
    fields = {d["field"] for d in result.error()["details"]}
    assert {"audio", "tags", "start_time", "end_time", "bogus"} <= fields


def test_unknown_model_exits_64_with_suggestions(cli):
    result = cli("run", "acestep-ai/ace-step/text-to-audi", "--input", "{}")
    assert result.code == 64
    assert "acestep-ai/ace-step/text-to-audio" in result.stderr


def test_hosted_model_without_token_exits_77_before_network(cli, tmp_path, no_network):
    result = cli("run", "acestep-ai/ace-step/text-to-audio", "--input", '{"tags": "lofi"}', "-o", tmp_path)
    assert result.code == 77
    assert "aimusic login runcomfy" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_missing_input_file_exits_66(cli, tmp_path):
    assert cli("run", "acestep-ai/ace-step/text-to-audio", "--input", f"@{tmp_path}/nope.json").code == 66
    result = cli("run", "acestep-ai/ace-step/audio-inpaint", "--input",
                 json.dumps({"audio": str(tmp_path / "missing.wav"), "tags": "x"}))
    assert result.code == 66


def test_http_audio_url_is_refused(cli):
    result = cli("run", "acestep-ai/ace-step/audio-inpaint", "--input",
                 '{"audio": "http://example.com/a.wav", "tags": "x"}', "--json")
    assert result.code == 65 and result.error()["field"] == "audio"


def test_usage_errors_exit_64(cli):
    assert cli("no-such-command").code == 64
    assert cli("run").code == 64
    assert cli("models", "--bogus-flag").code == 64
    result = cli("run", "--json")
    assert result.code == 64 and result.error()["type"] == "usage"


def test_dry_run_validates_and_prices_without_keys(cli, no_network):
    result = cli("run", "acestep-ai/ace-step/text-to-audio", "--input", '{"tags": "lofi", "duration": 30}',
                 "--dry-run", "--json")
    assert result.code == 0
    body = result.json()
    assert body["input"] == {"tags": "lofi", "lyrics": "", "duration": 30, "seed": -1}
    assert body["estimated_cost_usd"] == pytest.approx(0.006)


def test_elevenlabs_provider_choice(cli, monkeypatch):
    from aimusic.api import choose_provider
    from aimusic.catalog import get_model

    model = get_model("elevenlabs/elevenlabs/music-generation")
    assert choose_provider(model, "auto") == "elevenlabs"
    monkeypatch.setenv("RUNCOMFY_TOKEN", "t")
    assert choose_provider(model, "auto") == "runcomfy"
    monkeypatch.setenv("ELEVENLABS_API_KEY", "k")
    assert choose_provider(model, "auto") == "elevenlabs"
    assert choose_provider(model, "runcomfy") == "runcomfy"
    result = cli("run", "acestep-ai/ace-step/text-to-audio", "--provider", "elevenlabs", "--input", '{"tags":"x"}')
    assert result.code == 64


def test_help_and_version(cli):
    result = cli("--help")
    assert result.code == 0 and "models" in result.stdout and "run" in result.stdout
    assert cli("--version").code == 0


def test_debug_shows_traceback_for_user_errors(cli_subprocess):
    plain = cli_subprocess("run", "acestep-ai/ace-step/text-to-audio", "--input", "{")
    assert plain.code == 65 and "Traceback" not in plain.stderr
    debug = cli_subprocess("--debug", "run", "acestep-ai/ace-step/text-to-audio", "--input", "{")
    assert debug.code == 65 and "Traceback" in debug.stderr


def test_fast_paths_do_not_import_heavy_libraries(cli_subprocess, tmp_path):
    script = (
        "import sys\n"
        "from aimusic.cli import main\n"
        "for argv in (['--help'], ['models', '--json'], ['run', 'acestep-ai/ace-step/text-to-audio', '--input',"
        " '{\"tags\": \"x\"}', '--dry-run']):\n"
        "    main(argv)\n"
        "heavy = [m for m in ('torch', 'diffusers', 'transformers', 'librosa') if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    import os
    import subprocess
    import sys

    from conftest import SRC

    env = dict(os.environ, PYTHONPATH=str(SRC))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert "HEAVY []" in proc.stderr, proc.stderr[-2000:]

"""Credentials: stored 0600 in a 0700 dir, environment wins, never printed anywhere."""

from __future__ import annotations

import json
import stat

from aimusic import config

FAKE_TOKEN = "rc-SECRET-7f3a9c1e55d2"


def test_login_from_stdin_writes_0600_file(cli):
    result = cli("login", "runcomfy", stdin=FAKE_TOKEN + "\n")
    assert result.code == 0
    path = config.credentials_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert config.get_key("runcomfy") == FAKE_TOKEN
    assert FAKE_TOKEN not in result.stdout + result.stderr
    assert not list(path.parent.glob(".credentials-*"))


def test_login_never_accepts_key_on_argv(cli):
    assert cli("login", "runcomfy", FAKE_TOKEN).code == 64


def test_login_rejects_empty_key(cli):
    assert cli("login", "elevenlabs", stdin="\n").code == 65
    assert config.get_key("elevenlabs") is None


def test_environment_wins_over_file(cli, monkeypatch):
    cli("login", "runcomfy", stdin="from-file-token\n")
    monkeypatch.setenv("RUNCOMFY_TOKEN", "from-env-token")
    assert config.get_key("runcomfy") == "from-env-token"
    assert config.key_source("runcomfy").where == "env RUNCOMFY_TOKEN"


def test_logout_removes_key(cli):
    cli("login", "elevenlabs", stdin="el-key-123456\n")
    assert cli("logout", "elevenlabs").code == 0
    assert config.get_key("elevenlabs") is None
    assert cli("logout", "elevenlabs").code == 0


def test_token_never_appears_in_any_output(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("RUNCOMFY_TOKEN", FAKE_TOKEN)
    cli("login", "elevenlabs", stdin=FAKE_TOKEN + "-el\n")
    outputs = [
        cli("doctor"), cli("doctor", "--json"), cli("models"), cli("models", "--json"),
        cli("models", "show", "acestep-ai/ace-step/text-to-audio", "--json"),
        cli("run", "acestep-ai/ace-step/text-to-audio", "--input", '{"tags": "x", "duration": 999}', "--json"),
        cli("run", "acestep-ai/ace-step/text-to-audio", "--input", json.dumps({"tags": FAKE_TOKEN, "duration": 999})),
    ]
    for result in outputs:
        assert FAKE_TOKEN not in result.stdout and FAKE_TOKEN not in result.stderr


def test_doctor_reports_key_sources_and_paths(cli, monkeypatch):
    monkeypatch.setenv("ELEVENLABS_API_KEY", FAKE_TOKEN)
    report = cli("doctor", "--json").json()
    assert report["providers"]["elevenlabs"]["key"] == "env ELEVENLABS_API_KEY"
    assert report["providers"]["runcomfy"]["key"] == "not set"
    assert report["paths"]["credentials"].endswith("credentials.json")
    assert report["providers"]["sketch"]["models"] == 6   # generate, inpaint, outpaint, remix, separate, layer


def test_redact_replaces_secrets(monkeypatch):
    monkeypatch.setenv("RUNCOMFY_TOKEN", FAKE_TOKEN)
    assert config.redact(f"Bearer {FAKE_TOKEN} failed") == "Bearer *** failed"

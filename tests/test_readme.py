"""The README's quick start runs as written (with a lyrics file and a song of the test's own)."""

from __future__ import annotations

import re
import shlex

import soundfile as sf

from conftest import ROOT, music_like, run_cli


def _quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.startswith("aimusic ")]


def test_quick_start_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lyrics.txt").write_text("[Verse]\nwalking down the road tonight\nsinging to the city light\n"
                                         "[Chorus]\nhold on, hold on\n", encoding="utf-8")
    sf.write(tmp_path / "song.wav", music_like(20.0).T, 44100)
    commands = _quick_start_commands()
    assert len(commands) >= 6
    for line in commands:
        result = run_cli(*shlex.split(line)[1:])
        assert result.code == 0, f"{line}\n{result.stderr[-1500:]}"
    produced = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert any(name.endswith(".vocals.wav") for name in produced)
    assert any(name.endswith(".mid") for name in produced)
    assert (tmp_path / "song.finished.wav").exists() and (tmp_path / "song.png").exists()


def test_readme_has_one_setup_and_one_test_command():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = text.split("## Set up (one command)", 1)[1].split("##", 1)[0]
    tests = text.split("## Run the tests (one command)", 1)[1].split("##", 1)[0]
    setup_lines = re.search(r"```bash\n(.*?)```", setup, flags=re.S).group(1).strip().splitlines()
    test_lines = re.search(r"```bash\n(.*?)```", tests, flags=re.S).group(1).strip().splitlines()
    assert len(setup_lines) == 1 and setup_lines[0].endswith('python -m pip install torch==2.13.0 -e ".[all,dev]"')
    assert "apt-get install" in setup_lines[0] and "ffmpeg" in setup_lines[0] and "chromium" in setup_lines[0]
    assert test_lines == ["python -m pytest -q"]
    ci = (ROOT / ".ci" / "run").read_text()
    ci_lines = [line.strip() for line in ci.splitlines()]
    assert setup_lines[0] in ci_lines and test_lines[0] in ci_lines

"""The generated agent skill: front matter, every model id, and every command line passes its dry run."""

from __future__ import annotations

import re
import shlex

import soundfile as sf
import yaml

from aimusic.catalog import all_models
from conftest import music_like, run_cli

DRY_RUNNABLE = {"generate", "edit", "run", "batch"}


def _command_lines(text: str) -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip().startswith("aimusic ")]


def test_skill_install_writes_valid_skill(tmp_path, cli):
    result = cli("skill", "install", "--dir", tmp_path)
    assert result.code == 0, result.stderr
    path = tmp_path / "aimusic" / "SKILL.md"
    assert result.stdout.strip() == str(path)
    text = path.read_text()
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["name"] == "aimusic"
    assert "music" in front["description"] and "jingle" in front["description"]
    for entry in all_models():
        assert f"`{entry.id}`" in text, entry.id
    for code in (64, 65, 66, 69, 75, 77, 78, 130):
        assert f"| {code} |" in text
    assert "aimusic login runcomfy" in text and "aimusic models pull" in text


def test_every_command_line_in_the_skill_passes_its_dry_run(tmp_path, monkeypatch):
    from aimusic.skill import render_skill

    monkeypatch.chdir(tmp_path)
    sf.write(tmp_path / "song.wav", music_like(70.0, 22050).T, 22050)
    sf.write(tmp_path / "hook.wav", music_like(30.0, 22050).T, 22050)
    lines = _command_lines(render_skill())
    assert len(lines) >= 15
    ran = 0
    for line in lines:
        argv = shlex.split(line)[1:]
        if argv[0] in DRY_RUNNABLE and "--dry-run" not in argv:
            argv.append("--dry-run")
        if argv[0] == "finish":
            argv = ["analyze", argv[1]]  # finish writes a file; its input must at least be readable
        result = run_cli(*argv)
        assert result.code == 0, f"{line}\n{result.stderr[-800:]}"
        ran += 1
    assert ran == len(lines)


def test_skill_show_matches_install(tmp_path, cli):
    shown = cli("skill", "show").stdout
    cli("skill", "install", "--dir", tmp_path)
    installed = (tmp_path / "aimusic" / "SKILL.md").read_text()
    assert shown.split("## Models")[0] == installed.split("## Models")[0]


def test_skill_install_into_a_file_is_a_clear_error(tmp_path, cli):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = cli("skill", "install", "--dir", blocker)
    assert result.code == 65 and "Traceback" not in result.stderr

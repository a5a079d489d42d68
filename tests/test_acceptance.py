"""Acceptance commands quoted in the issues, run exactly as a user types them."""

from __future__ import annotations

import json

import soundfile as sf


def test_offline_generate_acceptance_command(cli_subprocess, tmp_path):
    out = tmp_path / "out"
    result = cli_subprocess("generate", "lofi hip hop, 80 BPM, piano, vinyl, chill", "--duration", "30",
                            "--provider", "sketch", "-o", out)
    assert result.code == 0, result.stderr
    wavs = sorted(out.glob("*.wav"))
    assert len(wavs) == 1
    info = sf.info(wavs[0])
    assert info.channels == 2 and abs(info.duration - 30.0) <= 0.010
    sidecar = json.loads(wavs[0].with_suffix(".json").read_text())
    assert sidecar["model"] == "local/sketch/text-to-audio" and sidecar["input"]["duration"] == 30
    decisions = sidecar["metadata"]["sketch"]
    assert decisions["tempo_bpm"] == 80 and decisions["genre"] == "lofi" and "piano" in json.dumps(decisions)

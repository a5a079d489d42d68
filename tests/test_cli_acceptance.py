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


def test_stems_follow_the_output_format(cli, tmp_path):
    import numpy as np

    result = cli("run", "local/sketch/text-to-audio", "--input",
                 json.dumps({"tags": "pop", "lyrics": "[Verse]\nhello there my friend\n", "duration": 6, "seed": 3}),
                 "--stems", "--format", "flac", "-o", tmp_path, "--json")
    assert result.code == 0, result.stderr
    extras = result.json()["extra_files"][0]
    assert set(extras) == {"vocals.flac", "accompaniment.flac"}
    mix, rate = sf.read(result.json()["files"][0], dtype="float32")
    vocals, _ = sf.read(extras["vocals.flac"], dtype="float32")
    backing, _ = sf.read(extras["accompaniment.flac"], dtype="float32")
    assert rate == 44100 and np.abs(vocals).max() > 0.01
    assert np.abs(vocals + backing - mix).max() < 1e-4  # three 24-bit roundings apart at most

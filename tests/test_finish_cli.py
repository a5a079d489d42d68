"""`aimusic finish` end to end on real files: levels, length, loops, video length, bad input."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import soundfile as sf
from conftest import music_like
from test_finish_dsp import pad_with_kicks

from aimusic.audio import loudness
from aimusic.audio.loop import SEAM_THRESHOLD, seam_score
from aimusic.audio.peak import true_peak_db


def read(path):
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return data.T.copy(), rate


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("preset,target", [("streaming", -14.0), ("broadcast", -23.0), ("podcast", -16.0)])
def test_finish_presets_on_a_written_file(cli, wav_file, preset, target):
    source = wav_file(seconds=6, sample_rate=48000)
    result = cli("finish", source, "--preset", preset, "--json")
    assert result.code == 0, result.stderr
    body = result.json()
    out = source.with_name("source.finished.wav")
    assert body["output"] == str(out) and out.exists()
    samples, rate = read(out)
    assert rate == 48000 and samples.shape == (2, 6 * 48000)
    assert abs(loudness.integrated_loudness(samples, rate) - target) <= 0.5
    assert true_peak_db(samples, rate) <= -1.0 + 1e-4  # 24-bit rounding is far below this
    assert body["report"]["output"]["integrated_lufs"] == pytest.approx(target, abs=0.5)


def test_finish_defaults_to_streaming_and_prints_the_path(cli, wav_file):
    source = wav_file(seconds=4)
    result = cli("finish", source)
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == str(source.with_name("source.finished.wav"))
    assert "LUFS" in result.stderr
    samples, rate = read(source.with_name("source.finished.wav"))
    assert abs(loudness.integrated_loudness(samples, rate) + 14.0) <= 0.5


def test_finish_loudness_and_true_peak_flags_and_flac(cli, wav_file, tmp_path):
    source = wav_file(seconds=5)
    out = tmp_path / "mastered.flac"
    result = cli("finish", source, "--loudness", "-10", "--true-peak", "-2", "-o", out)
    assert result.code == 0, result.stderr
    assert sf.info(str(out)).format == "FLAC"
    samples, rate = read(out)
    assert abs(loudness.integrated_loudness(samples, rate) + 10.0) <= 0.5
    assert true_peak_db(samples, rate) <= -2.0 + 1e-4


def test_finish_mp3_true_peak_checked_after_encoding(cli, wav_file, tmp_path):
    source = wav_file(seconds=4, sample_rate=44100)
    out = tmp_path / "web.mp3"
    result = cli("finish", source, "-o", out, "--json")
    assert result.code == 0, result.stderr
    from aimusic.audio.io import read_audio

    samples, rate = read_audio(out)
    assert true_peak_db(samples, rate) <= -1.0
    assert result.json()["report"]["encode"]["decoded_true_peak_dbtp"] <= -1.0


@pytest.mark.parametrize("seconds", ["2.5", "7.3333", "11"])
def test_length_is_exact_to_one_sample(cli, wav_file, tmp_path, seconds):
    source = wav_file(seconds=6, sample_rate=44100)
    out = tmp_path / "cut.wav"
    result = cli("finish", source, "--length", seconds, "-o", out, "--preset", "none")
    assert result.code == 0, result.stderr
    samples, rate = read(out)
    assert samples.shape[1] == round(float(seconds) * 44100)
    assert np.abs(samples[:, -1]).max() == 0.0  # ends faded out, not cut mid-wave


def test_length_and_resample_together_are_exact_at_the_output_rate(cli, wav_file, tmp_path):
    source = wav_file(seconds=5, sample_rate=44100)
    out = tmp_path / "hd.wav"
    result = cli("finish", source, "--length", "3.21", "--sample-rate", "96000", "-o", out)
    assert result.code == 0, result.stderr
    samples, rate = read(out)
    assert rate == 96000 and samples.shape[1] == round(3.21 * 96000)


def test_fades_and_trim_silence(cli, tmp_path):
    rate = 44100
    body = music_like(3, rate)
    x = np.concatenate([np.zeros((2, rate)), body, np.zeros((2, rate))], axis=1).astype(np.float32)
    source = tmp_path / "padded.wav"
    sf.write(source, x.T, rate, subtype="FLOAT")
    out = tmp_path / "trimmed.wav"
    result = cli("finish", source, "--trim-silence", "--fade-in", "0.5", "--fade-out", "1", "-o", out,
                 "--preset", "none", "--json")
    assert result.code == 0, result.stderr
    samples, _ = read(out)
    assert abs(samples.shape[1] - (3 * rate + 2 * int(0.01 * rate))) <= 4
    envelope = np.abs(samples).max(axis=0)
    assert envelope[0] == 0 and envelope[-1] == 0
    steps = [s["step"] for s in result.json()["report"]["steps"]]
    assert steps == ["trim_silence", "fade_in", "fade_out"]


@pytest.mark.parametrize("make", [music_like, pad_with_kicks])
def test_loop_file_wraps_without_a_click(cli, tmp_path, make):
    source = tmp_path / "source.wav"
    sf.write(source, make(12, 44100, 120).T, 44100, subtype="PCM_16")
    out = tmp_path / "loop.wav"
    result = cli("finish", source, "--loop", "--length", "4", "-o", out, "--json")
    assert result.code == 0, result.stderr
    report = result.json()["report"]
    samples, rate = read(out)
    assert abs(samples.shape[1] / rate - 4.0) < 0.02  # two whole bars at 120 BPM
    # the same measure at the wrap and inside the track: the wrap is no worse than inside points
    seam = seam_score(samples, rate)
    assert seam["score"] <= SEAM_THRESHOLD and report["seam"]["seamless"]
    # and the raw sample step across the wrap is as small as steps inside the file
    wrap_step = np.abs(samples[:, 0] - samples[:, -1]).max()
    inside_steps = np.abs(np.diff(samples, axis=1)).max(axis=0)
    assert wrap_step <= np.percentile(inside_steps, 99.9)
    if make is pad_with_kicks:  # where a step is audible, a cut off the grid without a crossfade clicks
        naive, _ = read(source)
        assert seam_score(naive[:, int(0.3 * rate): int(3.6 * rate)], rate)["score"] > SEAM_THRESHOLD
    # loudness and true peak hold across the wrap too
    assert true_peak_db(np.tile(samples, (1, 2)), rate) <= -1.0 + 1e-4
    assert abs(loudness.integrated_loudness(samples, rate) + 14) <= 0.5


def test_loop_with_fades_is_a_usage_error(cli, wav_file):
    source = wav_file(seconds=4)
    result = cli("finish", source, "--loop", "--fade-in", "1", "--json")
    assert result.code == 64
    assert not source.with_name("source.finished.wav").exists()


def make_video(path, seconds: float = 2.0, fps: int = 25) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(int(seconds * fps)):
            image = np.full((48, 64, 3), index * 4 % 256, np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_video_duration_and_match_video(cli, wav_file, tmp_path):
    from aimusic.audio.video import video_duration

    video = tmp_path / "clip.mp4"
    make_video(video, 2.0)
    assert video_duration(video) == pytest.approx(2.0, abs=0.05)
    source = wav_file(seconds=5)
    out = tmp_path / "theme.wav"
    result = cli("finish", source, "--match-video", video, "-o", out, "--json")
    assert result.code == 0, result.stderr
    samples, rate = read(out)
    assert samples.shape[1] == round(video_duration(video) * rate)
    assert result.json()["report"]["match_video"]["duration_s"] == pytest.approx(2.0, abs=0.05)


def test_video_duration_bad_inputs(cli, wav_file, tmp_path):
    from aimusic.audio.video import video_duration
    from aimusic.errors import InputError, InputFileError

    with pytest.raises(InputFileError):
        video_duration(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 10)
    with pytest.raises(InputError):
        video_duration(junk)
    with pytest.raises(InputError):
        video_duration(wav_file(seconds=1))  # audio only: no video stream
    source = wav_file(seconds=2)
    assert cli("finish", source, "--match-video", junk).code == 65
    assert cli("finish", source, "--match-video", tmp_path / "missing.mp4").code == 66
    assert cli("finish", source, "--match-video", junk, "--length", "3").code == 64


def bad_inputs(tmp_path):
    """(name, path, expected exit code) for audio nobody should finish."""
    rate = 44100
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    zero = tmp_path / "zero.wav"
    sf.write(zero, np.zeros((0, 2), np.float32), rate)
    nan = tmp_path / "nan.wav"
    data = music_like(1, rate).T.copy()
    data[100:200] = np.nan
    sf.write(nan, data, rate, subtype="FLOAT")
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(os.urandom(4096))
    text = tmp_path / "notes.mp3"
    text.write_text("not audio at all\n" * 50)
    return [("missing", tmp_path / "missing.wav", 66), ("empty", empty, 65), ("zero", zero, 65),
            ("nan", nan, 65), ("garbage", garbage, 65), ("text", text, 65), ("directory", tmp_path / "sub", 66)]


@pytest.mark.parametrize("command", ["finish", "analyze"])
def test_bad_audio_exits_65_or_66_without_output(cli, tmp_path, command):
    (tmp_path / "sub").mkdir()
    for name, path, code in bad_inputs(tmp_path):
        before = listing(tmp_path)
        result = cli(command, path, "--json")
        assert result.code == code, (name, result.code, result.stderr)
        error = result.error()
        assert error["code"] == code and error["message"], name
        assert "Traceback" not in result.stderr
        assert listing(tmp_path) == before, name  # never a partial output


def test_absurdly_long_audio_is_refused(cli, wav_file, monkeypatch):
    from aimusic.audio import io

    # the real limit is 3 hours; lower it rather than write hours of audio in a test
    monkeypatch.setitem(io.read_audio.__kwdefaults__, "max_seconds", 2.0)
    source = wav_file(seconds=4)
    result = cli("finish", source, "--json")
    assert result.code == 65 and "limit" in result.error()["message"]
    assert not source.with_name("source.finished.wav").exists()


def test_output_rules(cli, wav_file, tmp_path):
    source = wav_file(seconds=2)
    assert cli("finish", source, "-o", source).code == 64  # never overwrite the input
    assert read(source)[0].shape[1] == 2 * 44100
    assert cli("finish", source, "-o", tmp_path / "x.wav", "--format", "flac").code == 64
    assert cli("finish", source, "-o", tmp_path / "x.aiff").code == 65
    assert cli("finish", source, "-o", tmp_path / "nowhere" / "x.wav").code == 65
    assert cli("finish", source, "--preset", "streaming", "--loudness", "-14").code == 64
    assert cli("finish", source, "--loudness", "+5").code == 65
    assert cli("finish", source, "--length", "0").code == 65
    # an existing output is replaced whole (atomic rename), and the format follows --format
    first = cli("finish", source, "--format", "flac")
    assert first.code == 0 and source.with_name("source.finished.flac").exists()
    assert cli("finish", source, "--format", "flac", "--preset", "broadcast").code == 0
    samples, rate = read(source.with_name("source.finished.flac"))
    assert abs(loudness.integrated_loudness(samples, rate) + 23) <= 0.5
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left behind


def test_run_finish_preset_applies_to_every_take(cli, tmp_path):
    """`run --finish` goes through api.run -> apply_preset (here on the offline sketch engine)."""
    result = cli("run", "local/sketch/text-to-audio", "-i", json.dumps({"tags": "lofi hip hop", "duration": 6,
                                                                         "seed": 7}),
                 "-o", tmp_path, "--finish", "broadcast", "--json")
    assert result.code == 0, result.stderr
    body = result.json()
    samples, rate = read(body["files"][0])
    assert abs(loudness.integrated_loudness(samples, rate) + 23) <= 0.5
    assert true_peak_db(samples, rate) <= -1.0 + 1e-4
    sidecar = json.loads(open(body["sidecars"][0]).read())
    assert sidecar["finish"]["preset"] == "broadcast"
    bad = cli("run", "local/sketch/text-to-audio", "-i", '{"tags": "x", "duration": 5}', "-o", tmp_path,
              "--finish", "loud")
    assert bad.code == 64

"""`aimusic analyze`: figures checked against synthetic inputs whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from conftest import music_like

RATE = 44100


def click_track(seconds: float = 12.0, bpm: float = 120.0, rate: int = RATE) -> np.ndarray:
    x = np.zeros(int(seconds * rate), np.float32)
    n = int(0.01 * rate)
    click = (np.exp(-np.arange(n) / (0.002 * rate)) * np.sin(2 * np.pi * 1000 * np.arange(n) / rate)).astype(np.float32)
    for k in range(int(seconds * bpm / 60)):
        start = int(round(k * 60 / bpm * rate))
        x[start:start + n] += 0.8 * click[: x.shape[0] - start]
    return np.stack([x, x])


def tone(hz: float, seconds: float = 6.0, amplitude: float = 0.5, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return np.stack([amplitude * np.sin(2 * np.pi * hz * t)] * 2).astype(np.float32)


def write(tmp_path, name, samples, rate=RATE, subtype="FLOAT"):
    path = tmp_path / name
    sf.write(path, samples.T, rate, subtype=subtype)
    return path


@pytest.fixture(scope="module")
def analyze():
    from aimusic.audio.analysis import analyze as run

    run(music_like(3, 22050), 22050)  # nothing to compile any more; kept as a smoke run
    return run


def test_click_track_tempo_and_beats(analyze):
    result = analyze(click_track(12, 120), RATE)
    assert result["loop_seam"]["seamless"]  # 24 whole beats: it wraps onto a click like every beat
    assert result["tempo_bpm"] == pytest.approx(120, abs=1)
    assert 21 <= result["beat_count"] <= 24  # 24 clicks; the tracker may skip the very first
    assert np.median(np.diff(result["beats_s"])) == pytest.approx(0.5, abs=0.01)
    assert result["key"] is not None  # a click is pitched at 1 kHz; any key is fine, it must not crash


def test_click_track_at_another_tempo(analyze):
    assert analyze(click_track(12, 90), RATE)["tempo_bpm"] == pytest.approx(90, abs=1)


def test_a4_tone_key_pitch_and_levels(analyze):
    result = analyze(tone(440.0), RATE)
    assert result["key"]["tonic"] == "A"
    assert result["dominant_pitch"]["note"] == "A4"
    assert result["dominant_pitch"]["hz"] == pytest.approx(440.0, abs=0.5)
    assert result["tempo_bpm"] is None  # a steady tone has no pulse
    assert result["silent_regions"] == [] and result["sections_s"] == []
    # libebur128 reads the sine's own -6.02; ffmpeg reads the abrupt start higher (its resampler
    # mirrors the first samples into its history): the true peak is the higher of the two
    from judges import ffmpeg_levels, libebur128_levels

    assert libebur128_levels(tone(440.0), RATE)["true_peak_dbtp"] == pytest.approx(-6.02, abs=0.01)
    # (at 44.1 kHz, ffmpeg's 640 phases are read on a 16-point grid plus its worst-case miss, 0.042 dB)
    assert result["true_peak_dbtp"] == pytest.approx(ffmpeg_levels(tone(440.0), RATE)["true_peak_dbtp"], abs=0.05)
    assert result["loop_seam"]["seamless"]  # 6 s of 440 Hz is a whole number of cycles


def test_bs1770_reference_level(analyze):
    # BS.1770: a 997 Hz sine at 0 dBFS in one channel reads -3.01 LKFS; in both at -6.02 dBFS, -6.02
    result = analyze(tone(997.0, 4.0, 0.5), RATE)
    assert result["integrated_lufs"] == pytest.approx(-6.02, abs=0.05)
    assert result["loudness_range_lu"] == pytest.approx(0.0, abs=0.1)


def test_a_perfectly_periodic_file_reads_as_loopable(analyze):
    # music_like repeats exactly every 4 s: 12 s of it wraps onto its first beat like any beat
    assert analyze(music_like(12, RATE), RATE)["loop_seam"]["seamless"]


def test_silence_gap_at_a_known_time(analyze):
    body = music_like(8, RATE)
    gapped = np.concatenate([body[:, :3 * RATE], np.zeros((2, RATE), np.float32), body[:, 3 * RATE:]], axis=1)
    result = analyze(gapped, RATE)
    assert len(result["silent_regions"]) == 1
    start, end = result["silent_regions"][0]
    assert start == pytest.approx(3.0, abs=0.02) and end == pytest.approx(4.0, abs=0.02)
    assert result["duration_s"] == pytest.approx(9.0)


def test_sections_found_where_the_music_changes(analyze):
    rng = np.random.default_rng(1)
    t = np.arange(15 * RATE) / RATE
    chord = 0.3 * (np.sin(2 * np.pi * 261.6 * t) + np.sin(2 * np.pi * 329.6 * t) + np.sin(2 * np.pi * 392 * t))
    drums = 0.3 * rng.standard_normal(t.size) * np.exp(-((t % 0.25) / 0.05))
    two_parts = np.concatenate([chord, drums]).astype(np.float32)
    result = analyze(np.stack([two_parts, two_parts]), RATE)
    assert len(result["sections_s"]) == 1 and result["sections_s"][0] == pytest.approx(15.0, abs=1.0)
    steady = analyze(music_like(30, RATE), RATE)
    assert steady["sections_s"] == []


def test_clipping_and_loopability(analyze):
    clipped = np.clip(tone(220.0, 3.0, 1.5), -1, 1)
    result = analyze(clipped, RATE)
    assert result["clipped_samples"] > 1000
    assert result["sample_peak_dbfs"] == pytest.approx(0.0, abs=0.01)
    from test_finish_dsp import pad_with_kicks

    from aimusic.audio.loop import make_loop

    naive = pad_with_kicks(12, RATE, 120)[:, int(0.3 * RATE): int(3.6 * RATE)]
    assert not analyze(naive, RATE)["loop_seam"]["seamless"]
    loop, _ = make_loop(pad_with_kicks(12, RATE, 120), RATE, 4.0)
    looped = analyze(loop, RATE)
    assert looped["loop_seam"]["seamless"] and looped["loopability"] > analyze(naive, RATE)["loopability"]


def test_silence_and_tiny_files_do_not_crash(analyze):
    silent = analyze(np.zeros((2, RATE), np.float32), RATE)
    assert silent["integrated_lufs"] is None and silent["true_peak_dbtp"] is None
    assert silent["silent_regions"] == [[0.0, 1.0]] and silent["tempo_bpm"] is None
    tiny = analyze(tone(440, 0.001), RATE)
    assert tiny["frames"] == 44 and tiny["loop_seam"] is None


def test_analyze_cli_table_json_and_plot(cli, tmp_path, analyze):
    path = write(tmp_path, "clicks.wav", click_track(8, 120))
    table = cli("analyze", path)
    assert table.code == 0, table.stderr
    rows = {line.split("  ")[0].strip() for line in table.stdout.splitlines()}
    assert {"duration", "loudness", "true peak", "tempo", "key", "silence", "sections", "loop"} <= rows
    tempo_row = next(line for line in table.stdout.splitlines() if line.startswith("tempo"))
    assert float(tempo_row.split()[1]) == pytest.approx(120, abs=1)
    body = cli("analyze", path, "--json").json()
    assert body["file"] == str(path) and body["sample_rate"] == RATE and body["channels"] == 2
    plot = tmp_path / "clicks.png"
    drawn = cli("analyze", path, "--plot", plot, "--json")
    assert drawn.code == 0, drawn.stderr
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and drawn.json()["plot"] == str(plot)
    import matplotlib.image

    assert matplotlib.image.imread(str(plot)).shape[:2] == (500, 1200)


def test_analyze_cli_bad_plot_paths(cli, tmp_path):
    path = write(tmp_path, "tone.wav", tone(440, 1))
    assert cli("analyze", path, "--plot", tmp_path / "x.jpg").code == 65
    assert cli("analyze", path, "--plot", tmp_path / "missing" / "x.png").code == 65
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tone.wav"]

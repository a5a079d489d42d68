"""The finishing functions on arrays: loudness, true peak, limiter, fades, trimming, length, loops."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import music_like

from aimusic.audio import fades, loudness, peak
from aimusic.audio.finish import PRESETS, apply_preset, finish, normalize, set_length
from aimusic.audio.loop import SEAM_THRESHOLD, crossfaded_loop, make_loop, seam_score
from aimusic.errors import InputError, UsageError
from judges import ffmpeg_levels, libebur128_levels


def reference_true_peak_db(samples: np.ndarray) -> float:
    """Independent check: the whole signal oversampled 4x with the BS.1770 Annex 2 filter."""
    from scipy.signal import upfirdn

    taps = peak.PHASES.T.ravel()
    up = upfirdn(taps, samples.astype(np.float64), up=4, axis=1)
    return 20 * np.log10(max(np.abs(up).max(), np.abs(samples).max()))


def soxr_true_peak_db(samples: np.ndarray, rate: int) -> float:
    import soxr

    return 20 * np.log10(np.abs(soxr.resample(samples.T, rate, rate * 4, quality="VHQ")).max())


def pad_with_kicks(seconds: float = 12.0, rate: int = 44100, bpm: float = 120.0) -> np.ndarray:
    """A sustained chord over kicks and hats: a cut off the waveform's cycle clicks audibly here
    (in music_like, broadband noise bursts mask such a step)."""
    t = np.arange(int(seconds * rate)) / rate
    chord = 0.15 * (np.sin(2 * np.pi * 220 * t) + np.sin(2 * np.pi * 277.18 * t) + np.sin(2 * np.pi * 329.63 * t))
    phase = t % (60 / bpm)
    kick = 0.5 * np.exp(-phase * 18) * np.sin(2 * np.pi * 55 * phase)
    hat = 0.05 * np.exp(-((t + 0.25) % (60 / bpm)) * 60) * np.sin(2 * np.pi * 3000 * t)
    x = chord + kick + hat
    return np.stack([x, np.roll(x, 5)]).astype(np.float32)


def mixes():
    """Music-like signals of different character: tempo, rate, crest factor, mono."""
    yield "music-44k", music_like(6, 44100, 120, seed=0), 44100
    yield "music-48k-90bpm", music_like(6, 48000, 90, seed=1), 48000
    quiet = music_like(6, 48000, 140, seed=2) * 0.05
    yield "quiet", quiet.astype(np.float32), 48000
    rng = np.random.default_rng(5)
    t = np.arange(6 * 44100) / 44100
    pad = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 277 * t) + 0.01 * rng.standard_normal(t.size))
    yield "mono-pad", pad[None, :].astype(np.float32), 44100


# -- loudness --------------------------------------------------------------------------------------
@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000, 88200, 96000, 192000])
def test_integrated_loudness_matches_libebur128_and_ffmpeg(rate):
    for seed in range(2):
        x = music_like(4.05, rate, 100 + 20 * seed, seed=seed) * (0.2 + 0.3 * seed)
        ours = loudness.integrated_loudness(x, rate)
        assert ours == pytest.approx(libebur128_levels(x, rate)["lufs"], abs=0.02)
        assert ours == pytest.approx(ffmpeg_levels(x, rate)["lufs"], abs=0.05)  # ffmpeg: 0.01 LU steps


def test_multichannel_weights_follow_the_layout():
    import pyebur128

    rng = np.random.default_rng(9)
    x = (rng.standard_normal((6, 4 * 48000)) * np.array([0.1, 0.1, 0.05, 0.3, 0.08, 0.02])[:, None]).astype(np.float32)
    # six channels with no layout are 5.1: FL FR FC LFE BL BR, LFE excluded, surrounds 1.41
    ours = loudness.integrated_loudness(x, 48000)
    assert ours == pytest.approx(libebur128_levels(x, 48000)["lufs"], abs=0.02)
    assert ours == pytest.approx(ffmpeg_levels(x, 48000)["lufs"], abs=0.05)
    # a stated layout wins: 6.0 (FL FR FC BC SL SR) has no LFE and its back centre weighs 1.0
    types = pyebur128.ChannelType
    layout = ["FL", "FR", "FC", "BC", "SL", "SR"]
    weights = loudness.channel_weights(6, layout)
    assert list(weights) == [1.0, 1.0, 1.0, 1.0, 1.41, 1.41]
    judge = libebur128_levels(x, 48000, [types.LEFT, types.RIGHT, types.CENTER, types.M_PLUS_180,
                                          types.LEFT_SURROUND, types.RIGHT_SURROUND])
    assert loudness.integrated_loudness(x, 48000, weights=weights) == pytest.approx(judge["lufs"], abs=0.02)


def test_channel_layout_is_read_from_a_wave_extensible_mask(tmp_path):
    import subprocess

    from aimusic.audio.io import channel_layout

    path = tmp_path / "six.wav"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "anoisesrc=d=0.5:a=0.1",
                    "-af", "pan=6.0|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0", str(path)], check=True)
    assert channel_layout(path) == ["FL", "FR", "FC", "BC", "SL", "SR"]
    assert channel_layout(tmp_path) is None


def test_loudness_of_silence_is_minus_infinity_and_short_audio_is_measured():
    assert loudness.integrated_loudness(np.zeros((2, 48000), np.float32), 48000) == float("-inf")
    t = np.arange(int(0.2 * 48000)) / 48000
    short = np.stack([0.5 * np.sin(2 * np.pi * 1000 * t)] * 2).astype(np.float32)
    assert -10 < loudness.integrated_loudness(short, 48000) < 0


def test_loudness_range_grows_with_dynamics():
    steady = music_like(20, 44100)
    dynamic = steady.copy()
    dynamic[:, : 10 * 44100] *= 0.1  # first half 20 dB quieter
    assert loudness.loudness_range(steady, 44100) < 2
    assert 15 < loudness.loudness_range(dynamic, 44100) < 25
    assert loudness.loudness_range(steady[:, :44100], 44100) is None


# -- true peak and the limiter ---------------------------------------------------------------------
def test_true_peak_finds_the_intersample_peak():
    # fs/4 sine at 45 degrees: every sample is at 0.707 of the waveform's real peak (+3 dB hidden)
    n = np.arange(48000)
    x = (0.5 * np.sin(np.pi / 2 * n + np.pi / 4))[None, :].astype(np.float32)
    sample_db = 20 * np.log10(np.abs(x).max())
    faded = fades.fade_out(fades.fade_in(x, 48000, 0.05), 48000, 0.05)
    assert peak.true_peak_db(faded, 48000) == pytest.approx(sample_db + 3.01, abs=0.01)
    # an abrupt loud start reads 0.6 dB higher still on ffmpeg (its resampler mirrors the first
    # samples into its history): what the meters users trust read is what we read
    ours = peak.true_peak_db(x, 48000)
    assert ours > sample_db + 3.5
    assert ours == pytest.approx(max(ffmpeg_levels(x, 48000)["true_peak_dbtp"],
                                     libebur128_levels(x, 48000)["true_peak_dbtp"]), abs=0.01)


def test_true_peak_block_skipping_is_exact():
    rng = np.random.default_rng(3)
    for trial in range(4):
        x = music_like(3, 44100, seed=trial) * rng.uniform(0.1, 2.0)
        x[:, rng.integers(0, x.shape[1], 20)] *= 1.8  # isolated spikes in otherwise skippable blocks
        every_block = float(peak.true_peak_envelope(x, 44100, floor=0.0).max())
        assert peak.true_peak(x, 44100) == every_block


@pytest.mark.parametrize("over_db", [0.5, 3.0, 9.0])
def test_limiter_guarantees_the_ceiling_and_leaves_the_rest_alone(over_db):
    from scipy.signal import butter, sosfiltfilt

    # Music-like, band-limited to 16 kHz as real masters are; the ceiling holds on both outside meters
    x = sosfiltfilt(butter(8, 16000, fs=48000, output="sos"), music_like(5, 48000, seed=4), axis=1)
    x = (x / np.abs(x).max() * 10 ** (over_db / 20) * 10 ** (-1 / 20)).astype(np.float32)
    out, report = peak.limit_true_peak(x, 48000, -1.0)
    assert ffmpeg_levels(out, 48000)["true_peak_dbtp"] <= -1.0
    assert libebur128_levels(out, 48000)["true_peak_dbtp"] <= -1.0
    assert report["true_peak_dbtp"] <= -1.0
    untouched = np.all(out == x, axis=0)
    assert untouched.any() or over_db > 5  # far from the peaks the signal is bit-identical
    assert np.all(np.abs(out) <= np.abs(x) + 1e-7)  # a limiter only ever turns down


def test_limiter_is_a_no_op_under_the_ceiling():
    x = music_like(2, 44100) * 0.3
    out, report = peak.limit_true_peak(x, 44100, -1.0)
    assert out is x and report["passes"] == 0


def test_clipping_count():
    x = np.zeros((2, 1000), np.float32)
    x[0, 10:15] = 1.0
    x[1, 500] = -1.0
    assert peak.clipping_count(x) == 6


# -- loudness normalisation presets --------------------------------------------------------------
@pytest.mark.parametrize("preset", ["streaming", "broadcast", "podcast"])
def test_presets_hit_loudness_within_half_an_lu_and_never_exceed_true_peak(preset):
    target, ceiling = PRESETS[preset]["loudness"], PRESETS[preset]["true_peak"]
    for name, x, rate in mixes():
        out, report = apply_preset(x, rate, preset)
        measured = loudness.integrated_loudness(out, rate)
        assert abs(measured - target) <= 0.5, (name, measured)
        assert ffmpeg_levels(out, rate)["true_peak_dbtp"] <= ceiling, name
        assert libebur128_levels(out, rate)["true_peak_dbtp"] <= ceiling, name
        assert report["preset"] == preset and out.dtype == np.float32 and out.shape == x.shape


def test_preset_none_and_unknown_preset():
    x = music_like(2, 44100)
    out, report = apply_preset(x, 44100, "none")
    assert out is x and report == {"preset": "none"}
    with pytest.raises(InputError):
        apply_preset(x, 44100, "loud")


def test_normalize_silence_is_skipped_not_crashed():
    silent = np.zeros((2, 44100), np.float32)
    out, report = normalize(silent, 44100, -14.0, -1.0)
    assert not out.any() and "skipped" in report


# -- fades, trimming, exact length ----------------------------------------------------------------
@pytest.mark.parametrize("shape", fades.FADE_SHAPES)
def test_fade_curves_are_monotonic_and_reach_both_ends(shape):
    rising = fades.fade_curve(4801, shape, rising=True)
    falling = fades.fade_curve(4801, shape, rising=False)
    assert np.all(np.diff(rising) >= 0) and np.all(np.diff(falling) <= 0)
    assert rising[0] == 0 and rising[-1] == pytest.approx(1) and falling[-1] == 0 and falling[0] == pytest.approx(1)


def test_fades_applied_to_a_constant_signal_are_monotonic():
    x = np.full((2, 44100), 0.5, np.float32)
    faded = fades.fade_out(fades.fade_in(x, 44100, 0.3), 44100, 0.4)
    head, tail = faded[0, : int(0.3 * 44100)], faded[0, -int(0.4 * 44100):]
    assert np.all(np.diff(head) >= 0) and np.all(np.diff(tail) <= 0)
    assert faded[0, 0] == 0 and faded[0, -1] == 0 and faded[0, 22050] == 0.5
    with pytest.raises(InputError):
        fades.fade_curve(10, "bounce")


def test_trim_silence_and_silent_regions():
    rate = 44100
    body = music_like(2, rate)
    x = np.concatenate([np.zeros((2, rate)), body, np.zeros((2, rate // 2))], axis=1).astype(np.float32)
    trimmed, (first, end) = fades.trim_silence(x, rate)
    assert abs(first - (rate - int(0.01 * rate))) <= 2
    assert abs(trimmed.shape[1] - (body.shape[1] + 2 * int(0.01 * rate))) <= 4
    assert fades.silent_regions(x, rate) == [(0.0, 1.0), (3.0, 3.5)]
    with pytest.raises(InputError):
        fades.trim_silence(np.zeros((2, rate), np.float32), rate)


@pytest.mark.parametrize("seconds", [1.0, 3.3333, 7.77, 13.0001])
def test_set_length_is_exact_to_the_sample(seconds):
    rate = 44100
    x = music_like(6, rate)
    out, report = set_length(x, rate, seconds)
    assert out.shape[1] == round(seconds * rate)
    assert out[:, -1].tolist() == [0.0, 0.0]  # ends in the fade, never mid-waveform
    assert report["action"] == ("trimmed" if seconds < 6 else "loop-extended")
    if seconds < 6:
        keep = out.shape[1] - int(round(report["fade_out_s"] * rate))
        assert np.array_equal(out[:, :keep], x[:, :keep])


def test_finish_chain_options_and_errors():
    rate = 48000
    x = music_like(8, rate)
    out, out_rate, report = finish(x, rate, loudness_lufs=-16, true_peak_dbtp=-2, fade_in_s=0.5,
                                   length_s=5.5, output_rate=44100)
    assert out_rate == 44100 and out.shape[1] == round(5.5 * 44100)
    assert [s["step"] for s in report["steps"]] == ["resample", "length", "fade_in", "loudness"]
    assert reference_true_peak_db(out) <= -2 + 1e-6
    with pytest.raises(UsageError):
        finish(x, rate, loop=True, fade_in_s=1)
    for bad in ({"length_s": -1}, {"length_s": float("nan")}, {"loudness_lufs": 5}, {"true_peak_dbtp": 3},
                {"fade_in_s": -2}, {"output_rate": 100}):
        with pytest.raises(InputError):
            finish(x, rate, **bad)
    nan = x.copy()
    nan[0, 5] = np.nan
    with pytest.raises(InputError):
        finish(nan, rate)


# -- loops -------------------------------------------------------------------------------------
def test_seam_score_flags_a_click_and_passes_a_crossfaded_loop():
    rate = 44100
    t = np.arange(3 * rate) / rate
    tone = np.stack([0.5 * np.sin(2 * np.pi * 440 * t)] * 2).astype(np.float32)
    clicky = tone[:, : int(1.2345 * rate)]  # stops mid-cycle: the wrap jumps
    assert seam_score(clicky, rate)["score"] > 10 * SEAM_THRESHOLD
    smooth = crossfaded_loop(tone, rate, rate // 2, rate // 2 + int(1.2 * rate))  # 528 whole cycles
    assert seam_score(smooth, rate)["seamless"]


@pytest.mark.parametrize("make", [music_like, pad_with_kicks])
def test_make_loop_on_bars_is_seamless(analysis_warm, make):
    rate = 44100
    x = make(12, rate, 120)
    loop, report = make_loop(x, rate, 4.0)
    assert report["on_bars"] and report["bars"] == 2
    assert abs(report["length_s"] - 4.0) < 0.02  # two bars at 120 BPM
    assert report["seam"]["seamless"] and report["seam"]["score"] <= SEAM_THRESHOLD
    longer, report = make_loop(x, rate, 7.5)
    assert report["seam"]["seamless"] and abs(report["length_s"] - 8.0) < 0.05  # 4 whole bars nearest 7.5 s


def test_naive_cuts_of_sustained_music_are_not_seamless():
    rate = 44100
    x = pad_with_kicks(12, rate, 120)
    for start, end in ((0.0, 3.3), (0.3, 3.6), (1.13, 5.71)):
        assert not seam_score(x[:, int(start * rate): int(end * rate)], rate)["seamless"], (start, end)


@pytest.fixture(scope="module")
def analysis_warm():
    """The beat grid's first call builds its filter banks; pay it once per module."""
    from aimusic.audio.loop import beat_grid

    beat_grid(music_like(4, 22050), 22050)

"""The fast paths of finishing give the same result as the plain ones: the limiter in place, the
encode started ahead of the last measurements, one loudness pass for integrated and range."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import music_like

RATE = 48000


def test_in_place_limiter_matches_the_copying_one():
    from aimusic.audio.peak import limit_true_peak

    loud = music_like(8, RATE) * np.float32(2.0)
    plain, report = limit_true_peak(loud, RATE, -1.0)
    offered = []
    owned, owned_report = limit_true_peak(loud.copy(), RATE, -1.0, owned=True, on_candidate=offered.append)
    assert report["passes"] >= 1 and np.array_equal(plain, owned) and report == owned_report
    assert offered and offered[-1].samples is owned and offered[-1].ready == owned.shape[1]


def test_normalize_offers_its_final_result_and_is_unchanged_by_it():
    from aimusic.audio.finish import normalize

    source = music_like(8, RATE)
    plain, report = normalize(source, RATE, -9.0, -1.0)
    offered = []
    final, offered_report = normalize(source, RATE, -9.0, -1.0, on_candidate=offered.append)
    assert np.array_equal(plain, final) and report == offered_report
    assert offered[-1].samples is final
    assert np.array_equal(source, music_like(8, RATE))  # the caller's samples are never touched


def _segments_of_the_whole_envelope(x, rate, ceiling_dbtp=-1.0):
    """The limiter's first-pass segments computed the plain way, from the finished envelope."""
    from aimusic.audio import peak
    from aimusic.audio.io import db_to_gain

    target = db_to_gain(ceiling_dbtp) * db_to_gain(-0.02)
    attack, release = round(1.5e-3 * rate), round(60e-3 * rate)
    envelope = peak.true_peak_envelope(x, rate, floor=0.0)
    return peak._segments(envelope > target, 2 * (attack + release) + 2, x.shape[1])


@pytest.mark.parametrize("gain", [1.2, 2.0, 6.0])
def test_limiter_frames_offered_as_final_never_change(monkeypatch, gain):
    """The first pass hands its output out front to back (an encode follows it): every frame it
    declared final is the frame it returns, the frontier only moves forward and reaches the end,
    and its segments are the ones the whole envelope gives."""
    from aimusic.audio.io import GrowingSamples
    from aimusic.audio.peak import limit_true_peak

    x = (music_like(30, RATE) * np.float32(gain)).astype(np.float32)
    snapshots: list[tuple[int, int, np.ndarray]] = []
    extend_to = GrowingSamples.extend_to

    def recording(self, frames):  # what the consumer may read at this moment, copied now
        before = self.ready
        extend_to(self, frames)
        snapshots.append((before, self.ready, self.samples[:, before:self.ready].copy()))

    monkeypatch.setattr(GrowingSamples, "extend_to", recording)
    offered, edits = [], []
    out, report = limit_true_peak(x.copy(), RATE, -1.0, owned=True, on_candidate=offered.append, edits=edits)
    assert report["passes"] == 1 and offered[0].samples is out
    assert len(snapshots) > 3 and snapshots[0][0] == 0 and snapshots[-1][1] == x.shape[1]
    assert all(a[1] <= b[0] for a, b in zip(snapshots, snapshots[1:]))  # contiguous, forward only
    assert snapshots[1][1] < x.shape[1] // 2  # frames were handed out while the pass still ran
    for first, last, frozen in snapshots:
        assert np.array_equal(frozen, out[:, first:last])
    assert edits == _segments_of_the_whole_envelope(x, RATE)


def test_encode_follows_the_limiter_and_stops_when_superseded(tmp_path):
    """A streamed FLAC of a candidate is the whole array's FLAC; a candidate superseded or given
    up stops its encode (no thread left waiting), and the final one is kept."""
    import soundfile as sf

    from aimusic.audio.finish import EncodeAhead
    from aimusic.audio.io import GrowingSamples, SamplesAbandoned, write_audio

    x = music_like(5, RATE)
    # libsndfile's own one-call write: the chunked writes must give its bytes
    from aimusic.audio.io import FLAC_COMPRESSION

    sf.write(tmp_path / "whole.flac", x.T, RATE, format="FLAC", subtype="PCM_24", compression_level=FLAC_COMPRESSION)
    write_audio(tmp_path / "chunked.flac", x, RATE, "flac")
    growing = GrowingSamples(x)
    for frames in range(0, x.shape[1] + 50_000, 50_000):
        growing.extend_to(frames)
    write_audio(tmp_path / "grown.flac", growing, RATE, "flac")
    whole = (tmp_path / "whole.flac").read_bytes()
    assert (tmp_path / "grown.flac").read_bytes() == whole and (tmp_path / "chunked.flac").read_bytes() == whole

    discarded = []
    ahead = EncodeAhead(lambda g: g.result().copy(), discard=discarded.append)
    first = GrowingSamples(x.copy())
    first.extend_to(1000)
    ahead.offer(first)  # never completed: superseded below, so its encode must stop
    second = GrowingSamples.complete(x * np.float32(0.5))
    ahead.offer(second)
    assert np.array_equal(ahead.result(second.samples), second.samples) and discarded == []
    with pytest.raises(SamplesAbandoned):
        first.result()
    failing = EncodeAhead(lambda g: g.result())
    failing.offer(GrowingSamples(x.copy()))
    jobs = [job for _, job in failing._jobs]
    failing.close()  # the finishing failed: the encode waiting on it ends too
    assert all(job.done() for job in jobs) and isinstance(jobs[0].exception(), SamplesAbandoned)


def test_encode_ahead_keeps_only_the_final_encode():
    from aimusic.audio.finish import EncodeAhead

    discarded = []
    ahead = EncodeAhead(lambda s: float(s.samples.sum()), discard=discarded.append)
    first, second = np.ones((1, 4)), np.full((1, 4), 2.0)
    ahead.offer(first)
    ahead.offer(second)
    assert ahead.result(second) == 8.0 and discarded == [4.0]
    other = EncodeAhead(lambda s: float(s.sum() if isinstance(s, np.ndarray) else s.samples.sum()))
    other.offer(first)
    assert other.result(second) == 8.0  # never offered: encoded on the spot


def test_one_pass_loudness_equals_the_separate_measures():
    from aimusic.audio import loudness

    x = music_like(12, RATE)
    together = loudness.integrated_and_range(x, RATE)
    assert together == (loudness.integrated_loudness(x, RATE), loudness.loudness_range(x, RATE))
    short = music_like(0.3, RATE)
    assert loudness.integrated_and_range(short, RATE) == (loudness.integrated_loudness(short, RATE), None)


def test_the_filter_kernel_is_scipys_sosfilt():
    from scipy.signal import sosfilt

    from aimusic.audio import loudness

    x = music_like(2, 44100)[0]
    sos = loudness._k_weighting_sos(44100).astype(np.float32)
    assert np.array_equal(loudness._filter_k(sos, x), sosfilt(sos, x))


def test_finish_cli_flac_is_the_finished_samples(tmp_path, wav_file):
    import soundfile as sf

    from aimusic import api
    from aimusic.audio.finish import finish
    from aimusic.audio.io import read_audio

    source = wav_file(6, RATE)
    result = api.finish(source, output=tmp_path / "out.flac", loudness=-9.0)
    written, rate = sf.read(result["output"], dtype="float32")
    samples, _, _ = finish(*read_audio(source), loudness_lufs=-9.0, true_peak_dbtp=-1.0)
    assert rate == RATE and np.abs(written.T - samples).max() < 2 ** -22  # 24-bit of the same samples
    assert result["report"]["output"]["true_peak_dbtp"] <= -1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.flac", "source.wav"]  # no stray staged files


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
def test_loudness_after_limiting_is_the_measured_one(rate):
    """Only the slices near the limiter's work are filtered again; the figure is the full measure's."""
    from aimusic.audio import loudness
    from aimusic.audio.peak import limit_true_peak

    source = music_like(20, rate)
    gain = 1.35  # peaks a little over the ceiling, as most finishing does
    gained = (source * np.float32(gain)).astype(np.float32)
    edits: list = []
    limited, report = limit_true_peak(gained.copy(), rate, -1.0, edits=edits)
    assert report["passes"] >= 1 and edits
    base = loudness.slice_power(source, rate)
    quick = loudness.edited_integrated_loudness(limited, rate, base, gain, edits)
    assert quick == pytest.approx(loudness.integrated_loudness(limited, rate), abs=1e-4)
    heavy: list = []
    squashed, _ = limit_true_peak((source * np.float32(4)).astype(np.float32), rate, -1.0, edits=heavy)
    assert loudness.edited_integrated_loudness(squashed, rate, base, 4.0, heavy) is None  # measure it whole
    # untouched files: no edits, scale only
    assert loudness.edited_integrated_loudness(gained, rate, base, gain, []) == pytest.approx(
        loudness.integrated_loudness(gained, rate), abs=1e-4)

"""ElevenLabs Music as it is now (issue 20): premium inpaint/outpaint over songs stored for
inpainting, video to music, model limits, streamed progress, word timestamps, finetunes; each
endpoint also driven by the official SDK against the same loopback stand-in."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import SRC
from fakes.elevenlabs_server import Failure, serving
from fakes.media import write_video

KEY = "el-SECRET-key-7f3a9c1e55"
INPAINT = "elevenlabs/elevenlabs/audio-inpaint"
OUTPAINT = "elevenlabs/elevenlabs/audio-outpaint"
VIDEO = "elevenlabs/elevenlabs/video-to-music"
ELEVEN = "elevenlabs/elevenlabs/music-generation"


@pytest.fixture
def el(monkeypatch):
    with serving(monkeypatch, KEY) as server:
        yield server


def audio_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in (".wav", ".mp3", ".flac")) if directory.exists() else []


# ---- the official SDK against every endpoint the engine uses ------------------------------------

def test_official_sdk_speaks_to_every_new_route(el, tmp_path, wav_file):
    from elevenlabs import ElevenLabs

    client = ElevenLabs(api_key=KEY, base_url=el.base_url)
    with client.music.with_raw_response.compose(prompt="calm piano", music_length_ms=10000,
                                                store_for_inpainting=True) as raw:
        song_id = raw.headers["song-id"]
        assert len(b"".join(raw.data)) > 1000
    assert song_id in el.stored and el.requests[-1]["body"]["store_for_inpainting"] is True
    assert b"".join(client.music.stream(prompt="calm piano", music_length_ms=10000))
    assert el.requests[-1]["path"] == "/v1/music/stream"
    detailed = client.music.compose_detailed(prompt="calm piano", music_length_ms=10000, with_timestamps=True,
                                             store_for_inpainting=True)
    assert detailed.song_id and detailed.json["words_timestamps"][0]["word"] == "la"
    assert detailed.json["composition_plan"]["sections"] and len(detailed.audio) > 1000
    uploaded = client.music.upload(file=open(wav_file(4.0), "rb"), extract_composition_plan="music_v1")
    assert uploaded.song_id in el.stored and uploaded.composition_plan is not None
    plan = {"positive_global_styles": [], "negative_global_styles": [], "sections": [
        {"section_name": "Source", "positive_local_styles": [], "negative_local_styles": [], "duration_ms": 4000,
         "lines": [], "source_from": {"song_id": uploaded.song_id, "range": {"start_ms": 0, "end_ms": 4000}}}]}
    assert b"".join(client.music.compose(composition_plan=plan))
    video = write_video(tmp_path / "clip.mp4", 3.0)
    music = b"".join(client.music.video_to_music(videos=[open(video, "rb")], description="calm",
                                                 tags=["calm", "piano"], add_sfx=True))
    assert len(music) > 1000 and el.requests[-1]["body"]["fields"]["tags"] == ["calm", "piano"]
    page = client.music.finetunes.list()
    assert page.finetunes[0].id == "ft-lofi-01"


# ---- premium inpaint and outpaint ---------------------------------------------------------------

def test_inpaint_uploads_once_after_confirmation_and_keeps_every_sample_outside_the_window(el, tmp_path, wav_file):
    from aimusic import api
    from aimusic.errors import InputError

    source = wav_file(12.0, sample_rate=44100)
    data = {"audio": str(source), "tags": "synth pop, bright", "lyrics": "[Chorus]\nnew ending here",
            "start_time": 4.0, "end_time": 8.0, "seed": 7}
    with pytest.raises(InputError) as refused:           # a paid upload is never made unasked
        api.run(INPAINT, data, tmp_path / "a", provider="elevenlabs")
    assert "upload" in refused.value.message and "$" in refused.value.message and el.requests == []
    result = api.run(INPAINT, data, tmp_path / "out", provider="elevenlabs", options={"yes": True})
    assert el.uploads == 1
    compose = el.requests[-1]
    assert compose["path"] == "/v1/music" and compose["body"]["respect_sections_durations"] is True
    sections = compose["body"]["composition_plan"]["sections"]
    kept = [s["source_from"]["range"] for s in sections if "source_from" in s]
    assert kept == [{"start_ms": 0, "end_ms": 4000}, {"start_ms": 8000, "end_ms": 12000}]
    new = [s for s in sections if "source_from" not in s]
    assert new[0]["duration_ms"] == 4000 and new[0]["lines"] == ["new ending here"]
    assert compose["body"]["seed"] == 7
    original, rate = sf.read(source, dtype="float32", always_2d=True)
    edited, edited_rate = sf.read(result.files[0], dtype="float32", always_2d=True)
    assert edited_rate == rate and edited.shape == original.shape
    a, b = 4 * rate, 8 * rate
    assert np.array_equal(edited[:a], original[:a]) and np.array_equal(edited[b:], original[b:])
    assert not np.allclose(edited[a + rate:b - rate], original[a + rate:b - rate], atol=1e-3)
    sidecar = json.loads(Path(result.sidecars[0]).read_text())
    assert sidecar["metadata"]["source_uploaded"] is True and sidecar["metadata"]["upload_cost_usd"] > 0
    assert result.cost_usd == pytest.approx(0.0083 * 12 * 2, rel=0.01)  # upload + the 12 s render
    # the same file again: its song id is cached by content hash, never paid twice
    api.run(INPAINT, data, tmp_path / "again", provider="elevenlabs")
    assert el.uploads == 1


def test_a_song_made_on_elevenlabs_is_edited_without_an_upload(el, tmp_path):
    from aimusic import api
    from aimusic.plan import make_plan

    el.audio_seconds = 10.0
    made = api.run(ELEVEN, {"prompt": "synthwave", "music_length_ms": 10000, "output_format": "wav_cd_quality"},
                   tmp_path / "made", provider="elevenlabs", options={"plain_endpoint": True})
    song = made.files[0]
    assert json.loads(Path(made.sidecars[0]).read_text())["metadata"]["stored_for_inpainting"] is True
    plan = make_plan("the chorus of our ad needs a new ending, premium quality, from 0:06 to 0:09", audio=song)
    assert plan.model == INPAINT and plan.provider == "elevenlabs"
    assert any("keeps the source's own sections" in r for r in plan.reasons)
    assert not any("upload" in r for r in plan.reasons)  # stored already: nothing to pay first
    result = api.run(INPAINT, plan.input, tmp_path / "out", provider="elevenlabs")
    assert el.uploads == 0 and result.files


def test_outpaint_adds_sections_and_leaves_the_source_bit_exact(el, tmp_path, wav_file):
    from aimusic import api

    source = wav_file(6.0, sample_rate=48000, subtype="PCM_24")
    data = {"audio": str(source), "tags": "cinematic strings", "extend_before_duration": 2.0,
            "extend_after_duration": 5.0}
    result = api.run(OUTPAINT, data, tmp_path / "out", provider="elevenlabs", options={"yes": True})
    plan = el.requests[-1]["body"]["composition_plan"]
    assert [s["duration_ms"] for s in plan["sections"]] == [3000, 6000, 5000]  # a 2 s intro is made at 3 s
    assert "source_from" in plan["sections"][1]
    original, rate = sf.read(source, dtype="float32", always_2d=True)
    edited, _ = sf.read(result.files[0], dtype="float32", always_2d=True)
    assert edited.shape[0] == original.shape[0] + 7 * rate
    assert np.array_equal(edited[2 * rate: 2 * rate + original.shape[0]], original)


def test_v2_model_edits_with_audio_reference_chunks(el, tmp_path, wav_file):
    from aimusic import api

    source = wav_file(10.0)
    api.run(INPAINT, {"audio": str(source), "tags": "lofi", "start_time": 3.0, "end_time": 7.0}, tmp_path / "o",
            provider="elevenlabs", options={"yes": True, "model_id": "music_v2"})
    body = el.requests[-1]["body"]
    chunks = body["composition_plan"]["chunks"]
    assert body["model_id"] == "music_v2" and "respect_sections_durations" not in body
    assert chunks[0]["range"] == {"start_ms": 0, "end_ms": 3000} and chunks[1]["text"].startswith("[Repaint]")
    assert el.requests[-2]["path"] == "/v1/music/upload"
    assert el.requests[-2]["body"]["fields"]["extract_composition_plan"] == ["music_v2"]


def test_edit_url_source_and_impossible_windows_fail_before_any_call(el, tmp_path, wav_file, cli):
    source = wav_file(5.0)
    tmp_path = tmp_path / "out"
    url = cli("run", INPAINT, "--input", json.dumps({"audio": "https://example.com/a.wav", "tags": "x"}),
              "-o", str(tmp_path), "--yes", "--json")
    outside = cli("run", INPAINT, "--input", json.dumps({"audio": str(source), "tags": "x", "start_time": 4,
                                                         "end_time": 9}), "-o", str(tmp_path), "--yes", "--json")
    too_long = cli("run", OUTPAINT, "--input", json.dumps({"audio": str(source), "tags": "x",
                                                           "extend_after_duration": 300, "extend_before_duration": 300}),
                   "-o", str(tmp_path), "--yes", "--json")
    assert (url.code, outside.code, too_long.code) == (65, 65, 65), (url.stderr, outside.stderr, too_long.stderr)
    assert "at most 600 s" in too_long.error()["message"]
    assert el.requests == [] and audio_files(tmp_path) == []


# ---- model choice and limits --------------------------------------------------------------------

def test_plan_format_and_limits_are_checked_per_model_before_any_call(el, tmp_path, cli):
    v1_plan = {"positive_global_styles": [], "negative_global_styles": [], "sections": [
        {"section_name": "A", "positive_local_styles": [], "negative_local_styles": [], "duration_ms": 5000,
         "lines": []}]}
    wrong_format = cli("run", ELEVEN, "--provider", "elevenlabs", "--input", '{"prompt": "x"}', "-o", str(tmp_path),
                       "--composition-plan", json.dumps(v1_plan), "--elevenlabs-model", "music_v2", "--json")
    assert wrong_format.code == 65 and "chunks" in wrong_format.error()["message"]
    long_section = json.loads(json.dumps(v1_plan))
    long_section["sections"][0]["duration_ms"] = 130000
    too_long = cli("run", ELEVEN, "--provider", "elevenlabs", "--input", '{"prompt": "x"}', "-o", str(tmp_path),
                   "--composition-plan", json.dumps(long_section), "--json")
    assert too_long.code == 65 and "3000-120000" in too_long.error()["message"]
    assert el.requests == []
    ok = cli("run", ELEVEN, "--provider", "elevenlabs", "--input", '{"prompt": "x"}', "-o", str(tmp_path),
             "--composition-plan", json.dumps({"chunks": [{"text": "[Intro]", "duration_ms": 4000,
                                                           "positive_styles": ["lofi"]}]}),
             "--elevenlabs-model", "music_v2_5", "--json")
    assert ok.code == 0, ok.stderr
    assert el.requests[-1]["body"]["model_id"] == "music_v2_5"


def test_long_premium_outpaint_is_chained_within_the_model_limit(tmp_path, wav_file, monkeypatch):
    from aimusic.plan import make_plan

    monkeypatch.setenv("ELEVENLABS_API_KEY", KEY)
    source = wav_file(400.0, sample_rate=8000)
    plan = make_plan("premium: add 5 minutes at the end", audio=str(source), provider="elevenlabs")
    assert plan.model == OUTPAINT and len(plan.steps) >= 2  # 400 s + 300 s is past 600 s: chained
    assert all(s.model == OUTPAINT for s in plan.steps)


# ---- progress, integrity, word timestamps -------------------------------------------------------

def test_a_long_compose_reports_progress_while_waiting_and_while_receiving(el, tmp_path):
    from aimusic import api

    el.latency = 2.5
    el.audio_seconds = 30.0
    seen: list[tuple] = []
    result = api.run(ELEVEN, {"prompt": "long piece", "music_length_ms": 30000}, tmp_path, provider="elevenlabs",
                     progress=lambda stage, done, total=None, message="": seen.append((stage, done, total, message)))
    composing = [s for s in seen if s[0] == "compose"]
    assert composing[0][1] == 0 and composing[-1][1] == 1
    beats = [s for s in composing if 0 < s[1] < 1]
    assert len(beats) >= 2 and any("composing" in s[3] for s in beats)
    assert result.files


def test_word_timestamps_land_in_the_sidecar_and_lrc_writes_the_lyric_lines(el, tmp_path, cli):
    result = cli("run", ELEVEN, "--provider", "elevenlabs", "--input", '{"prompt": "la la song", "music_length_ms": 10000}',
                 "-o", str(tmp_path), "--word-timestamps", "--json")
    assert result.code == 0, result.stderr
    assert el.requests[-1]["path"] == "/v1/music/detailed"
    assert el.requests[-1]["body"]["with_timestamps"] is True
    sidecar = json.loads(Path(result.json()["sidecars"][0]).read_text())
    timing = sidecar["lyrics_timing"]
    assert timing[0] == {"word": "la", "start": 0.05, "end": pytest.approx(timing[0]["end"])}
    assert all(w["start"] <= w["end"] for w in timing)
    assert sidecar["metadata"]["song_metadata"]["genres"] == ["pop"]
    assert not result.json()["extra_files"][0]          # word timestamps alone: the sidecar only
    sf.read(result.json()["files"][0])

    # --lrc asks ElevenLabs for the timestamps itself and writes <name>.lrc
    out = tmp_path / "lrc"
    result = cli("run", ELEVEN, "--provider", "elevenlabs", "--input", '{"prompt": "la la song", "music_length_ms": 10000}',
                 "-o", str(out), "--lrc", "--json")
    assert result.code == 0, result.stderr
    assert el.requests[-1]["path"] == "/v1/music/detailed"
    lrc = Path(result.json()["extra_files"][0]["lrc"]).read_text()
    assert "<00:00.05>la" in lrc


# ---- video to music -----------------------------------------------------------------------------

def test_generate_match_video_on_the_elevenlabs_route_uses_video_to_music(el, tmp_path, cli):
    video = write_video(tmp_path / "launch.mp4", 4.0)
    result = cli("generate", "premium music for our launch video, upbeat, with sound effects", "--match-video",
                 str(video), "--provider", "elevenlabs", "-o", str(tmp_path / "out"), "--json")
    assert result.code == 0, result.stderr
    sent = el.requests[-1]
    assert sent["path"] == "/v1/music/video-to-music" and sent["body"]["files"]["videos"][0][0] == "launch.mp4"
    assert sent["body"]["fields"]["add_sfx"] == ["true"] and len(sent["body"]["fields"]["tags"]) <= 10
    body = result.json()
    assert body["plan"]["model"] == VIDEO and body["plan"]["task"] == "video"
    audio, rate = sf.read(body["files"][0])
    assert abs(len(audio) / rate - 4.0) < 0.2


def test_run_with_a_video_separate_tracks_and_its_faults(el, tmp_path, cli, monkeypatch):
    video = write_video(tmp_path / "v.mp4", 3.0)
    data = {"video": str(video), "description": "tense chase", "tags": ["tense"], "add_sfx": True,
            "separate_tracks": True}
    ok = cli("run", VIDEO, "--input", json.dumps(data), "-o", str(tmp_path / "ok"), "--json")
    assert ok.code == 0, ok.stderr
    extras = ok.json()["extra_files"][0]
    assert set(extras) == {"sfx.mp3"} and Path(extras["sfx.mp3"]).stat().st_size > 0
    el.zip_members = ("sfx.mp3",)                     # the music track is missing
    missing = cli("run", VIDEO, "--input", json.dumps(data), "-o", str(tmp_path / "m"), "--json")
    assert missing.code == 69 and "music track" in missing.error()["message"]
    el.zip_members = ("music.mp3", "sfx.mp3")
    el.video_music_seconds = 1.0                      # not as long as the video
    short = cli("run", VIDEO, "--input", json.dumps(data), "-o", str(tmp_path / "s"), "--json")
    assert short.code == 69 and "3.00 s video" in short.error()["message"]
    monkeypatch.setenv("AIMUSIC_ELEVENLABS_MAX_VIDEO_BYTES", "100")
    videos = el.videos
    capped = cli("run", VIDEO, "--input", json.dumps(data), "-o", str(tmp_path / "c"), "--json")
    assert capped.code == 65 and el.videos == videos  # refused before the upload
    too_many = cli("run", VIDEO, "--input", json.dumps(dict(data, tags=[str(i) for i in range(11)])),
                   "-o", str(tmp_path / "t"), "--json")
    assert too_many.code == 65
    assert all(audio_files(tmp_path / d) == [] for d in ("m", "s", "c", "t"))


# ---- finetunes ----------------------------------------------------------------------------------

def test_models_lists_finetunes_cached_and_finetune_id_is_sent(el, tmp_path, cli):
    first = cli("models", "--provider", "elevenlabs")
    assert first.code == 0 and "ft-lofi-01" in first.stdout and "Lofi house style" in first.stdout
    again = cli("models", "--provider", "elevenlabs", "--json")
    assert again.json()["account"]["finetunes"][0]["id"] == "ft-lofi-01" and el.finetune_lists == 1
    run = cli("run", ELEVEN, "--provider", "elevenlabs", "--input", '{"prompt": "x", "music_length_ms": 10000}',
              "-o", str(tmp_path), "--finetune-id", "ft-lofi-01", "--finetune-strength", "0.6", "--json")
    assert run.code == 0, run.stderr
    assert el.requests[-1]["body"]["finetune_id"] == "ft-lofi-01"
    assert el.requests[-1]["body"]["finetune_strength"] == 0.6
    bad = cli("run", ELEVEN, "--provider", "elevenlabs", "--input", '{"prompt": "x"}', "-o", str(tmp_path),
              "--finetune-strength", "0.5", "--json")
    assert bad.code == 65


def test_models_without_a_key_lists_no_finetunes(cli, monkeypatch):
    monkeypatch.delenv("ELEVENLABS_API_KEY", raising=False)
    result = cli("models", "--provider", "elevenlabs", "--json")
    assert result.code == 0 and "account" not in result.json()


# ---- faults on the new endpoints keep the exit-code table ---------------------------------------

@pytest.mark.parametrize("failure, code, calls", [
    (Failure(401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}), 77, 1),
    (Failure(402, {"detail": {"status": "payment_required", "message": "quota exceeded"}}), 77, 1),
    (Failure(422, {"detail": [{"loc": ["body", "file"], "msg": "unsupported audio"}]}), 65, 1),
    (Failure(429, {"detail": {"status": "system_busy", "message": "busy"}}, {"Retry-After": "0"}), 75, 3),
    (Failure(500, {"detail": "internal"}), 69, 1),
])
def test_upload_faults(el, tmp_path, wav_file, cli, failure, code, calls):
    el.route_failures["/v1/music/upload"] = [failure] * 3
    result = cli("run", INPAINT, "--input", json.dumps({"audio": str(wav_file(6.0)), "tags": "x", "start_time": 1,
                                                        "end_time": 4}), "-o", str(tmp_path / "o"), "--yes", "--json")
    assert result.code == code, result.stderr
    assert el.uploads == calls and audio_files(tmp_path / "o") == []
    if code == 65:
        assert "unsupported audio" in result.error()["message"]


def test_a_detailed_answer_that_breaks_off_leaves_nothing(el, tmp_path):
    from aimusic import api
    from aimusic.errors import RetryableError

    el.break_midway = 1
    with pytest.raises(RetryableError):
        api.run(ELEVEN, {"prompt": "x", "music_length_ms": 10000}, tmp_path / "o", provider="elevenlabs",
                options={"word_timestamps": True})
    assert el.composes == 1 and audio_files(tmp_path / "o") == []


def test_no_key_or_song_id_is_printed(el, tmp_path, wav_file, cli_subprocess):
    env = {"PYTHONPATH": str(SRC)}
    source = wav_file(6.0)
    result = cli_subprocess("edit", str(source), "premium: redo 0:01 to 0:04", "--provider", "elevenlabs",
                            "--yes", "-o", str(tmp_path / "o"), env=env)
    assert result.code == 0, result.stderr
    stored = list(el.stored)
    assert stored and all(s not in result.stdout + result.stderr for s in stored)
    assert KEY not in result.stdout + result.stderr
    unconfirmed = cli_subprocess("edit", str(wav_file(6.0, name="other.wav", bpm=97.0)), "premium: redo 0:01 to 0:04",
                                 "--provider", "elevenlabs", "-o", str(tmp_path / "p"), env=env)
    assert unconfirmed.code == 65 and "--yes" in unconfirmed.stderr


def test_cancel_during_upload_is_interrupted(el, tmp_path, wav_file):
    from aimusic import api
    from aimusic.errors import Interrupted

    el.latency = 0
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Interrupted):
        api.run(INPAINT, {"audio": str(wav_file(6.0)), "tags": "x", "start_time": 1, "end_time": 4},
                tmp_path / "o", provider="elevenlabs", options={"yes": True}, cancel_event=cancel)
    assert audio_files(tmp_path / "o") == []

"""ElevenLabs stem separation and word timing (issue 19), against the loopback stand-in that the
official SDK also talks to."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from fakes.elevenlabs_server import Failure, serving
from fakes.runcomfy_server import encoded_audio

KEY = "el-SECRET-key-19stems"
SEPARATE = "elevenlabs/elevenlabs/audio-separate"


@pytest.fixture
def el(monkeypatch):
    with serving(monkeypatch, KEY) as server:
        yield server


@pytest.fixture
def song(tmp_path) -> Path:
    path = tmp_path / "my song.mp3"
    path.write_bytes(encoded_audio("mp3", 2.0, 44100))
    return path


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_official_sdk_separates_and_uploads_with_timestamps(el, song):
    """The protocol check: the vendor's own client sends multipart uploads our stand-in reads, and
    parses what it answers (a ZIP of stems; word timestamps)."""
    import io

    from elevenlabs import ElevenLabs

    client = ElevenLabs(api_key=KEY, base_url=el.base_url)
    with song.open("rb") as handle:
        archive = b"".join(client.music.separate_stems(file=handle, stem_variation_id="two_stems_v1"))
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert "my song - Vocals.mp3" in names and "my song - Instrumental.mp3" in names
    sent = el.requests[-1]
    assert sent["path"] == "/v1/music/stem-separation"
    assert sent["body"]["fields"] == {"stem_variation_id": "two_stems_v1"}
    assert sent["body"]["files"]["file"][0] == "my song.mp3"
    with song.open("rb") as handle:
        uploaded = client.music.upload(file=handle, with_timestamps=True)
    assert uploaded.song_id and [w.word for w in uploaded.words_timestamps] == ["hello", "world", "second", "line"]
    assert uploaded.words_timestamps[0].start_ms == 500
    assert el.requests[-1]["body"]["fields"]["with_timestamps"] == ["true"]


def test_six_stems_unpacked_as_name_stem_ext_and_instrumental_main_file(cli, el, song, tmp_path):
    out = tmp_path / "out"
    result = cli("run", SEPARATE, "--input", json.dumps({"audio": str(song), "remove": ["vocals"]}),
                 "-o", str(out), "--json")
    assert result.code == 0, result.stderr
    body = result.json()
    stem = Path(body["files"][0]).name.rsplit(".", 1)[0]
    assert stem.startswith("my-song")
    expected = {f"{stem}.{s}.mp3" for s in ("vocals", "drums", "bass", "guitar", "piano", "other")}
    assert expected <= set(files_in(out))
    assert f"{stem}.README" not in " ".join(files_in(out))     # a non-audio member is not a stem
    sidecar = json.loads((out / f"{stem}.json").read_text())
    assert sidecar["task"] == "separate" and sidecar["metadata"]["separate"]["kept"] == [
        "drums", "bass", "guitar", "piano", "other"]
    import soundfile as sf

    import numpy as np

    main, _ = sf.read(out / body["files"][0])
    kept = sum(sf.read(out / f"{stem}.{s}.mp3")[0] for s in ("drums", "bass", "guitar", "piano", "other"))
    assert np.abs(main - np.clip(kept, -1, 1)).max() < 1e-3   # the main file: the kept stems added up
    assert el.separations == 1 and KEY not in json.dumps(sidecar)


def test_unknown_stem_is_refused_before_anything_is_sent(cli, el, song, tmp_path):
    result = cli("run", SEPARATE, "--input", json.dumps({"audio": str(song), "stems": ["flute"]}),
                 "-o", str(tmp_path / "out"), "--json")
    assert result.code == 65
    assert "flute" in result.error()["message"] and "vocals, drums" in result.error()["message"]
    two = cli("run", SEPARATE, "--input", json.dumps({"audio": str(song), "stems": ["drums"],
                                                       "stem_variation_id": "two_stems_v1"}),
              "-o", str(tmp_path / "out"), "--json")
    assert two.code == 65 and "vocals, instrumental" in two.error()["message"]
    assert el.separations == 0 and files_in(tmp_path / "out") == []


@pytest.mark.parametrize("fault", ["corrupt", "empty", "not_audio"])
def test_a_bad_zip_from_the_vendor_is_one_line_69_and_nothing_written(cli, el, song, tmp_path, fault):
    el.zip_fault = fault
    out = tmp_path / "out"
    result = cli("run", SEPARATE, "--input", json.dumps({"audio": str(song)}), "-o", str(out))
    assert result.code == 69, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("aimusic: error:")]
    assert len(errors) == 1 and "stem archive" in errors[0] and "Traceback" not in result.stderr
    assert files_in(out) == []


def test_zip_member_paths_never_escape_the_output_dir(cli, el, song, tmp_path):
    el.zip_fault = "traversal"
    out = tmp_path / "deep" / "out"
    result = cli("run", SEPARATE, "--input", json.dumps({"audio": str(song)}), "-o", str(out), "--json")
    assert result.code == 0, result.stderr
    assert all(p.parent == out for p in out.iterdir()) and not list((tmp_path / "deep").glob("*.mp3"))


def test_vendor_faults_map_like_every_hosted_call(cli, el, song, tmp_path):
    el.compose_failures.append(Failure(401, {"detail": {"status": "invalid_api_key"}}))
    assert cli("run", SEPARATE, "--input", json.dumps({"audio": str(song)}), "-o", str(tmp_path)).code == 77
    el.compose_failures.append(Failure(500, {"detail": "boom"}))
    assert cli("run", SEPARATE, "--input", json.dumps({"audio": str(song)}), "-o", str(tmp_path)).code == 69
    assert not list(tmp_path.glob("*.json"))


def test_lyrics_align_asks_first_then_writes_an_lrc_an_lrc_parser_reads(cli, el, song, tmp_path):
    from lrcparser import LrcParser

    declined = cli("lyrics", "align", str(song), "--provider", "elevenlabs", stdin="n\n")
    assert declined.code == 64 and "--yes" in declined.stderr and el.uploads == 0
    assert "$0.0" in declined.stderr   # the price is shown before the question
    out = tmp_path / "timed"
    result = cli("lyrics", "align", str(song), "--yes", "-o", str(out), "--json",
                 "--lyrics", "[Verse]\nhello world\nsecond line")
    assert result.code == 0, result.stderr
    body = result.json()
    assert el.uploads == 1 and body["words"] == 4 and body["cost_usd"] > 0
    parsed = LrcParser.parse(Path(body["lrc"]).read_text())
    lines = parsed["lrc_lines"]
    assert [float(line.start_time) for line in lines] == [0.5, 2.6]
    words = [(float(seg.time), seg.text.strip()) for seg in lines[0].text if seg.text.strip()]
    assert words == [(0.5, "hello"), (0.95, "world")]
    timing = json.loads(Path(body["timing"]).read_text())
    assert timing["lyrics_timing"][1] == {"word": "world", "start": 0.95, "end": 1.6}
    again = cli("lyrics", "align", str(song), "--yes", "-o", str(out), "--json")
    assert again.code == 0 and again.json()["lrc"] != body["lrc"]   # collision-free


def test_lyrics_align_bad_input(cli, el, tmp_path):
    assert cli("lyrics", "align", str(tmp_path / "missing.mp3"), "--yes").code == 66
    bad = cli("lyrics", "align", str(tmp_path / "missing.mp3"), "--provider", "sketch", "--yes")
    assert bad.code == 64 and "--lrc" in bad.stderr

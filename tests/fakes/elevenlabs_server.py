"""A loopback stand-in for the ElevenLabs Music API over real HTTP, shaped by the official SDK
2.78's types, with injectable latency and failures. The official `elevenlabs` SDK talks to it
unchanged (tests/test_elevenlabs_engine.py and tests/test_elevenlabs_edits.py prove it).

Routes: `/v1/music`, `/v1/music/stream`, `/v1/music/plan` (compose and plans);
`/v1/music/detailed` (multipart/mixed: JSON metadata + audio); `/v1/music/upload` (multipart
`file` -> `{song_id, composition_plan?, words_timestamps?}`); `/v1/music/video-to-music`
(multipart `videos` -> audio as long as the video, or a ZIP of music + SFX tracks);
`GET /v1/music/finetunes`. Composes check plans as the API documents them: `sections[]` for
music_v1, `chunks[]` for v2 models, `source_from`/audio-reference song ids must be stored songs.

    with ElevenLabsServer(key="el-test") as server:
        env = {"ELEVENLABS_API_KEY": "el-test", "ELEVENLABS_API_BASE": server.base_url}
"""

from __future__ import annotations

import io
import itertools
import json
import tempfile
import threading
import time
import zipfile
from contextlib import contextmanager
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

from fakes.loopback import Failure, LoopbackServer, QuietHandler
from fakes.runcomfy_server import encoded_audio

REAL_ARTIST = "taylor swift"     # a prompt naming a real artist gets `bad_prompt`, as the real API does
SUGGESTED_PROMPT = "Upbeat country-pop anthem with a heartfelt female lead vocal, acoustic guitars"
BAD_SECTION = "BAD"              # a plan with a section of this name gets `bad_composition_plan`




class ElevenLabsServer(LoopbackServer):
    def __init__(self, key: str = "el-test-key", *, latency: float = 0.0) -> None:
        self.key = key
        self.latency = latency                  # before the first audio byte, seconds
        self.audio_seconds = 1.0
        self.compose_failures: list[Failure] = []  # consumed one per compose call
        self.break_midway = 0                   # next N composes stop halfway
        self.echo_key_in_422 = False            # a hostile/buggy server echoing the key back
        # -- premium edits, video, finetunes (issue 20) --
        self.route_failures: dict[str, list[Failure]] = {}  # path -> answers, consumed one per call
        self.stored: dict[str, float] = {}      # song id -> seconds, songs held for inpainting
        self.uploads = 0
        self.videos = 0
        self.video_music_seconds: float | None = None  # None: as long as the uploaded video
        self.zip_members = ("music.mp3", "sfx.mp3")    # what a separate_tracks answer holds
        self.finetunes = [{"id": "ft-lofi-01", "name": "Lofi house style", "tags": ["lofi"],
                           "primary_genre": "lofi", "model_id": "music_v1", "created_at": "2026-10-01T12:00:00Z",
                           "visibility": "private", "created_by": "self", "status": "completed",
                           "training_progress": 1.0, "failure_reason": None}]
        self.finetune_lists = 0
        # counters
        self.composes = 0
        self.plans = 0
        self.requests: list[dict[str, Any]] = []
        # issue 19: stem separation and upload with timestamps (see the block at the end)
        self.separations = 0
        self.zip_fault: str | None = None      # "corrupt" | "empty" | "not_audio" | "traversal"
        self.words = [("hello", 500, 900), ("world", 950, 1600), ("second", 2600, 3100), ("line", 3150, 3800)]
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return self.origin

    def env(self) -> dict[str, str]:
        return {"ELEVENLABS_API_KEY": self.key, "ELEVENLABS_API_BASE": self.base_url}


def _plan_for(prompt: str, length_ms: int) -> dict[str, Any]:
    half = max(length_ms // 2, 3000)
    return {"positive_global_styles": [prompt[:60]], "negative_global_styles": [],
            "sections": [{"section_name": "Verse", "positive_local_styles": [], "negative_local_styles": [],
                          "duration_ms": half, "lines": ["la la la"]},
                         {"section_name": "Chorus", "positive_local_styles": [], "negative_local_styles": [],
                          "duration_ms": max(length_ms - half, 3000), "lines": ["oh oh"]}]}


class _Handler(QuietHandler):
    fake: ElevenLabsServer

    def _validation(self, field_name: str, message: str) -> None:
        self._send(422, {"detail": [{"loc": ["body", field_name], "msg": message, "type": "value_error"}]})

    def do_POST(self) -> None:
        fake = self.fake
        parts = urlsplit(self.path)
        if parts.path in STEM_ROUTES:   # stem separation, handled in its own block (end of the file)
            return _multipart_route(self, parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()})
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if parts.path in MULTIPART_ROUTES:
            return self._multipart_route(parts.path, raw, {k: v[0] for k, v in parse_qs(parts.query).items()})
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with fake._lock:
            fake.requests.append({"path": parts.path, "query": query, "headers": dict(self.headers.items()),
                                  "body": body})
        if self.headers.get("xi-api-key") != fake.key:
            return self._send(401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
        if not isinstance(body, dict):
            return self._validation("body", "Input should be a valid dictionary")
        if parts.path == "/v1/music/plan":
            fake.plans += 1
            if not isinstance(body.get("prompt"), str):
                return self._validation("prompt", "Field required")
            if REAL_ARTIST in body["prompt"].lower():
                return self._send(400, {"detail": {"status": "bad_prompt",
                                                   "message": "The prompt references a real artist.",
                                                   "data": {"prompt_suggestion": SUGGESTED_PROMPT}}})
            return self._send(200, _plan_for(body["prompt"], int(body.get("music_length_ms") or 30000)))
        if parts.path not in ("/v1/music", "/v1/music/stream", "/v1/music/detailed"):
            return self._send(404, {"detail": "Not Found"})
        return self._compose(parts.path, body, query)

    def _compose(self, path: str, body: dict[str, Any], query: dict[str, str]) -> None:
        fake = self.fake
        with fake._lock:
            fake.composes += 1
            failure = fake.compose_failures.pop(0) if fake.compose_failures else None
            breaking = fake.break_midway > 0
            if breaking:
                fake.break_midway -= 1
        if failure is not None:
            return self._send(failure.status, failure.body, failure.headers)
        prompt, plan = body.get("prompt"), body.get("composition_plan")
        if (prompt is None) == (plan is None):
            return self._validation("prompt", "Exactly one of prompt or composition_plan must be given")
        length = body.get("music_length_ms")
        if plan is not None and (length is not None or body.get("force_instrumental") is not None):
            return self._validation("music_length_ms", "only valid with a prompt")
        if length is not None and not (isinstance(length, int) and 3000 <= length <= 600000):
            return self._validation("music_length_ms", "Input should be between 3000 and 600000")
        if fake.echo_key_in_422:
            return self._validation("prompt", f"rejected for key {self.headers.get('xi-api-key')}")
        if prompt is not None and REAL_ARTIST in prompt.lower():
            return self._send(400, {"detail": {"status": "bad_prompt",
                                               "message": "The prompt references a real artist.",
                                               "data": {"prompt_suggestion": SUGGESTED_PROMPT}}})
        if plan is not None and (not isinstance(plan, dict) or not isinstance(plan.get("sections", []), list)):
            return self._validation("composition_plan", "Input should be a valid plan")
        if plan is not None:
            problem = _plan_problem(plan, body.get("model_id") or "music_v1", fake.stored)
            if problem:
                return self._validation("composition_plan", problem)
        if plan is not None and any(isinstance(s, dict) and s.get("section_name") == BAD_SECTION
                                    for s in plan.get("sections", [])):
            fixed = dict(plan, sections=[dict(s, section_name="Verse") for s in plan["sections"]])
            return self._send(400, {"detail": {"status": "bad_composition_plan",
                                               "message": "The plan has a forbidden section.",
                                               "data": {"composition_plan_suggestion": fixed}}})
        output_format = query.get("output_format", "mp3_44100_128")
        seconds = _plan_ms(plan) / 1000.0 if plan is not None else fake.audio_seconds
        if output_format.startswith("pcm_"):
            data = encoded_audio("pcm", seconds, int(output_format.split("_")[1]))
            ctype = "audio/pcm"
        elif output_format.startswith("mp3_"):
            data = encoded_audio("mp3", seconds, 44100)
            ctype = "audio/mpeg"
        else:
            return self._validation("output_format", f"unsupported in this stand-in: {output_format}")
        if fake.latency:
            time.sleep(fake.latency)
        with fake._lock:
            song_id = f"song-{next(fake._ids):04d}"
            if body.get("store_for_inpainting"):
                fake.stored[song_id] = seconds
        if path.endswith("/detailed"):
            return self._detailed(data, ctype, song_id, body, plan, seconds, breaking)
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("song-id", song_id)
        chunked = path.endswith("/stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if breaking:
            self.wfile.write(data[: len(data) // 2] if not chunked else
                             b"%x\r\n" % (len(data) // 2) + data[: len(data) // 2] + b"\r\n")
            self.wfile.flush()
            self.close_connection = True
            return
        step = 8192
        for start in range(0, len(data), step):
            piece = data[start:start + step]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")


    # -- /v1/music/detailed: multipart/mixed, JSON metadata then the audio (issue 20) ------------
    def _detailed(self, data: bytes, ctype: str, song_id: str, body: dict[str, Any], plan: Any,
                  seconds: float, breaking: bool) -> None:
        metadata: dict[str, Any] = {
            "composition_plan": plan or _plan_for(body.get("prompt") or "", int(seconds * 1000)),
            "song_metadata": {"title": "Stand-in song", "description": "made by the stand-in",
                              "genres": ["pop"], "languages": ["en"], "is_explicit": False}}
        if body.get("with_timestamps"):
            metadata["words_timestamps"] = _words(seconds)
        boundary = f"stand-in-{song_id}"
        payload = (f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{json.dumps(metadata)}\r\n"
                   f"--{boundary}\r\nContent-Type: {ctype}\r\n"
                   f'Content-Disposition: attachment; filename="{song_id}.mp3"\r\n\r\n').encode()
        payload += data + f"\r\n--{boundary}--\r\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/mixed; boundary={boundary}")
        self.send_header("song-id", song_id)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if breaking:
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(payload)

    # -- multipart routes: upload and video to music (issue 20) ----------------------------------
    def _multipart_route(self, path: str, raw: bytes, query: dict[str, str]) -> None:
        fake = self.fake
        with fake._lock:
            fake.requests.append({"path": path, "query": query, "headers": dict(self.headers.items()),
                                  "body": None})
        if self.headers.get("xi-api-key") != fake.key:
            return self._send(401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
        with fake._lock:
            queue = fake.route_failures.get(path) or []
            failure = queue.pop(0) if queue else None
        fields, files = _multipart(self.headers.get("Content-Type", ""), raw)
        fake.requests[-1]["body"] = {"fields": fields, "files": {k: [(n, len(d)) for n, d in v]
                                                                 for k, v in files.items()}}
        if path == "/v1/music/upload":
            fake.uploads += 1
        else:
            fake.videos += 1
        if failure is not None:
            return self._send(failure.status, failure.body, failure.headers)
        if path == "/v1/music/upload":
            return self._upload(fields, files)
        return self._video(fields, files, query)

    def _upload(self, fields: dict[str, list[str]], files: dict[str, list[tuple[str, bytes]]]) -> None:
        fake = self.fake
        if not files.get("file"):
            return self._validation("file", "Field required")
        name, data = files["file"][0]
        seconds = _media_seconds(data, name)
        if seconds is None:
            return self._validation("file", "The file is not audio")
        with fake._lock:
            song_id = f"up-{next(fake._ids):04d}"
            fake.stored[song_id] = seconds
        answer: dict[str, Any] = {"song_id": song_id}
        extract = (fields.get("extract_composition_plan") or [None])[0]
        if extract:
            answer["composition_plan"] = _plan_for("uploaded song", int(seconds * 1000))
        if (fields.get("with_timestamps") or ["false"])[0] == "true":
            answer["words_timestamps"] = [{"word": w, "start_ms": a, "end_ms": b} for w, a, b in fake.words]
        self._send(200, answer)

    def _video(self, fields: dict[str, list[str]], files: dict[str, list[tuple[str, bytes]]],
               query: dict[str, str]) -> None:
        fake = self.fake
        videos = files.get("videos") or []
        if not videos:
            return self._validation("videos", "Field required")
        if len(fields.get("tags", [])) > 10:
            return self._validation("tags", "A maximum of 10 tags is allowed")
        if len((fields.get("description") or [""])[0]) > 4100:
            return self._validation("description", "A maximum of 4100 characters is allowed")
        lengths = [_media_seconds(data, name) for name, data in videos]
        if any(length is None for length in lengths):
            return self._validation("videos", "Could not read the video")
        seconds = fake.video_music_seconds if fake.video_music_seconds is not None else sum(lengths)
        music = encoded_audio("mp3", seconds, 44100)
        if (fields.get("separate_tracks") or ["false"])[0] == "true":
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                for member in fake.zip_members:
                    archive.writestr(member, music if "music" in member else encoded_audio("mp3", seconds, 44100, 1))
            payload, ctype = buffer.getvalue(), "application/zip"
        else:
            payload, ctype = music, "audio/mpeg"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    # -- GET /v1/music/finetunes (issue 20) ------------------------------------------------------
    def do_GET(self) -> None:
        fake = self.fake
        parts = urlsplit(self.path)
        with fake._lock:
            fake.requests.append({"path": parts.path, "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                                  "headers": dict(self.headers.items()), "body": None})
        if self.headers.get("xi-api-key") != fake.key:
            return self._send(401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
        if parts.path != "/v1/music/finetunes":
            return self._send(404, {"detail": "Not Found"})
        fake.finetune_lists += 1
        self._send(200, {"finetunes": fake.finetunes, "next_cursor": None, "has_more": False})


MULTIPART_ROUTES = ("/v1/music/upload", "/v1/music/video-to-music")


def _multipart(content_type: str, raw: bytes) -> tuple[dict[str, list[str]], dict[str, list[tuple[str, bytes]]]]:
    """A multipart/form-data body as (fields, files), read with the standard library's parser."""
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
    fields: dict[str, list[str]] = {}
    files: dict[str, list[tuple[str, bytes]]] = {}
    for part in message.iter_parts() if message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            files.setdefault(name, []).append((part.get_filename(), data))
        else:
            fields.setdefault(name, []).append(data.decode())
    return fields, files


def _media_seconds(data: bytes, name: str) -> float | None:
    import av

    with tempfile.NamedTemporaryFile(suffix="-" + name[-20:].replace("/", "_")) as handle:
        handle.write(data)
        handle.flush()
        try:
            with av.open(handle.name) as container:
                if container.duration:
                    return container.duration / 1_000_000
        except Exception:  # noqa: BLE001 - anything PyAV cannot open is "not media" here
            return None
    return None


def _words(seconds: float) -> list[dict[str, Any]]:
    words = ["la", "la", "la", "oh", "oh"]
    step = max(int(seconds * 1000) // (len(words) + 1), 100)
    return [{"word": w, "start_ms": i * step + 50, "end_ms": i * step + step - 50} for i, w in enumerate(words)]


def _plan_ms(plan: dict[str, Any]) -> int:
    total = 0
    for part in plan.get("sections") or plan.get("chunks") or []:
        if "duration_ms" in part:
            total += int(part["duration_ms"])
        else:
            total += int(part["range"]["end_ms"]) - int(part["range"]["start_ms"])
    return total


def _plan_problem(plan: dict[str, Any], model_id: str, stored: dict[str, float]) -> str | None:
    """What the API would refuse in a plan (the SDK's documented limits), or None."""
    key = "sections" if model_id == "music_v1" else "chunks"
    if key not in plan:
        return f"{model_id} takes a composition plan with {key}"
    for part in plan[key]:
        source = part.get("source_from") if key == "sections" else (part if "song_id" in part else None)
        if source is not None:
            song, span = source.get("song_id"), source.get("range") or {}
            if song not in stored:
                return f"song {song} is not stored for inpainting"
            if not 0 <= span.get("start_ms", -1) < span.get("end_ms", -1) <= stored[song] * 1000 + 1:
                return "source range outside the stored song"
        if "duration_ms" in part and not 3000 <= part["duration_ms"] <= 120000:
            return "duration_ms must be between 3000 and 120000"
    return None


ElevenLabsServer.handler_class = _Handler


# --- stem separation (a ZIP back); uploads (with word timestamps too) are `_Handler._upload` ------
STEM_ROUTES = ("/v1/music/stem-separation",)
STEM_FILES = {"two_stems_v1": ("Vocals", "Instrumental"),
              "six_stems_v1": ("Vocals", "Drums", "Bass", "Guitar", "Piano", "Other")}


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """(form fields, files {name: (filename, bytes)}) of a multipart/form-data body."""
    from email.parser import BytesParser
    from email.policy import default

    message = BytesParser(policy=default).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\nMIME-Version: 1.0\r\n\r\n" + body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if not message.is_multipart():
        return fields, files
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            files[name] = (part.get_filename(), payload)
        else:
            fields[name] = payload.decode("utf-8")
    return fields, files


def _stem_zip(filename: str, variant: str, fmt: str, fault: str | None, seconds: float) -> bytes:
    import io
    import zipfile

    if fault == "corrupt":
        return b"PK\x03\x04 this is not really a zip archive" + bytes(64)
    buf = io.BytesIO()
    base = filename.rsplit(".", 1)[0]
    ext, codec = ("wav", "wav") if fmt.startswith("pcm_") else ("mp3", "mp3")
    with zipfile.ZipFile(buf, "w") as archive:
        if fault == "empty":
            pass
        elif fault == "not_audio":
            archive.writestr(f"{base} - Vocals.{ext}", b"<html>not audio</html>")
        elif fault == "traversal":
            archive.writestr(f"../../{base} - Vocals.{ext}", encoded_audio(codec, seconds, 44100))
        else:
            for stem in STEM_FILES[variant]:
                archive.writestr(f"{base} - {stem}.{ext}", encoded_audio(codec, seconds, 44100))
            archive.writestr("README.txt", b"stems made by the stand-in")
    return buf.getvalue()


def _multipart_route(handler: _Handler, path: str, query: dict[str, str]) -> None:
    fake = handler.fake
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length) if length else b""
    with fake._lock:
        fake.requests.append({"path": path, "query": query, "headers": dict(handler.headers.items()),
                              "body": None})
    if handler.headers.get("xi-api-key") != fake.key:
        return handler._send(401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
    ctype = handler.headers.get("Content-Type", "")
    if not ctype.startswith("multipart/form-data"):
        return handler._validation("file", "Expected multipart/form-data")
    fields, files = parse_multipart(ctype, raw)
    with fake._lock:
        fake.requests[-1]["body"] = {"fields": fields, "files": {k: (v[0], len(v[1])) for k, v in files.items()}}
    if "file" not in files or not files["file"][1]:
        return handler._validation("file", "Field required")
    filename, data = files["file"]
    variant = fields.get("stem_variation_id", "six_stems_v1")
    if variant not in STEM_FILES:
        return handler._validation("stem_variation_id", "Input should be 'two_stems_v1' or 'six_stems_v1'")
    fmt = query.get("output_format", "mp3_44100_128")
    if not (fmt.startswith("mp3_") or fmt.startswith("pcm_")):
        return handler._validation("output_format", f"unsupported in this stand-in: {fmt}")
    with fake._lock:
        fake.separations += 1
        failure = fake.compose_failures.pop(0) if fake.compose_failures else None
    if failure is not None:
        return handler._send(failure.status, failure.body, failure.headers)
    archive = _stem_zip(filename, variant, fmt, fake.zip_fault, fake.audio_seconds)
    handler.send_response(200)
    handler.send_header("Content-Type", "application/zip")
    handler.send_header("Content-Length", str(len(archive)))
    handler.end_headers()
    handler.wfile.write(archive)


@contextmanager
def serving(monkeypatch: Any, key: str) -> Iterator[ElevenLabsServer]:
    """The stand-in on loopback with the engine pointed at it (key and API base in the env)."""
    with ElevenLabsServer(key=key) as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        yield server

"""A loopback stand-in for the ElevenLabs Music API (`/v1/music`, `/v1/music/stream`,
`/v1/music/plan`) over real HTTP, with injectable latency and failures. The official
`elevenlabs` SDK talks to it unchanged (tests/test_elevenlabs_engine.py proves it).

    with ElevenLabsServer(key="el-test") as server:
        env = {"ELEVENLABS_API_KEY": "el-test", "ELEVENLABS_API_BASE": server.base_url}
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any
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
        # counters
        self.composes = 0
        self.plans = 0
        self.requests: list[dict[str, Any]] = []
        # issue 19: stem separation and upload with timestamps (see the block at the end)
        self.separations = 0
        self.uploads = 0
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
        if parts.path in MULTIPART_ROUTES:   # issue 19: multipart uploads, handled in their own block
            return _multipart_route(self, parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()})
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
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
        if parts.path not in ("/v1/music", "/v1/music/stream"):
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
        if plan is not None and any(isinstance(s, dict) and s.get("section_name") == BAD_SECTION
                                    for s in plan.get("sections", [])):
            fixed = dict(plan, sections=[dict(s, section_name="Verse") for s in plan["sections"]])
            return self._send(400, {"detail": {"status": "bad_composition_plan",
                                               "message": "The plan has a forbidden section.",
                                               "data": {"composition_plan_suggestion": fixed}}})
        output_format = query.get("output_format", "mp3_44100_128")
        if output_format.startswith("pcm_"):
            data = encoded_audio("pcm", fake.audio_seconds, int(output_format.split("_")[1]))
            ctype = "audio/pcm"
        elif output_format.startswith("mp3_"):
            data = encoded_audio("mp3", fake.audio_seconds, 44100)
            ctype = "audio/mpeg"
        else:
            return self._validation("output_format", f"unsupported in this stand-in: {output_format}")
        if fake.latency:
            time.sleep(fake.latency)
        with fake._lock:
            song_id = f"song-{next(fake._ids):04d}"
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


ElevenLabsServer.handler_class = _Handler


# --- issue 19: stem separation (a ZIP back) and upload with word timestamps ----------------------
MULTIPART_ROUTES = ("/v1/music/stem-separation", "/v1/music/upload")
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
    if path == "/v1/music/upload":
        with fake._lock:
            fake.uploads += 1
            song_id = f"song-{next(fake._ids):04d}"
        body: dict[str, Any] = {"song_id": song_id}
        if fields.get("with_timestamps", "false").lower() == "true":
            body["words_timestamps"] = [{"word": w, "start_ms": a, "end_ms": b} for w, a, b in fake.words]
        return handler._send(200, body)
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

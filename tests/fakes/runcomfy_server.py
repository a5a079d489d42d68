"""A loopback stand-in for the RunComfy Model API, speaking the documented protocol
(../shared/facts/hosted-apis.md) over real HTTP, with injectable latency and failures.

    with RunComfyServer(token="rc-test") as server:
        env = {"RUNCOMFY_TOKEN": "rc-test", "RUNCOMFY_MODEL_API_BASE": server.base_url}

Every knob is a plain attribute that tests (and the batch helper) set before or during a run;
counters record what clients did (`submits` per model, `cancels`, `status_calls`, ...).
"""

from __future__ import annotations

import io
import itertools
import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from fakes.loopback import Failure, LoopbackServer, QuietHandler

HOSTED_MODELS = ("acestep-ai/ace-step/text-to-audio", "acestep-ai/ace-step-1.5/text-to-audio",
                 "elevenlabs/elevenlabs/music-generation", "acestep-ai/ace-step/audio-inpaint",
                 "acestep-ai/ace-step/audio-outpaint")


@lru_cache(maxsize=16)
def encoded_audio(fmt: str = "mp3", seconds: float = 1.0, sample_rate: int = 44100, channels: int = 2) -> bytes:
    """Real, playable audio bytes (a soft chord) in `fmt`: mp3, wav, flac, ogg, m4a, or pcm (raw s16le)."""
    import soundfile as sf

    t = np.arange(int(seconds * sample_rate)) / sample_rate
    tone = 0.2 * (np.sin(2 * np.pi * 220 * t) + np.sin(2 * np.pi * 277.2 * t) + np.sin(2 * np.pi * 329.6 * t))
    data = np.stack([tone] * channels, axis=1).astype(np.float32)
    if fmt == "pcm":
        return (data * 32767).astype("<i2").tobytes()
    if fmt == "m4a":  # AAC in MP4, which soundfile cannot write: PyAV
        import av

        buf = io.BytesIO()
        with av.open(buf, "w", format="ipod") as out:
            stream = out.add_stream("aac", rate=sample_rate)
            stream.layout = "stereo" if channels == 2 else "mono"
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data.T), format="fltp", layout=stream.layout)
            frame.sample_rate = sample_rate
            for packet in list(stream.encode(frame)) + list(stream.encode(None)):
                out.mux(packet)
        return buf.getvalue()
    buf = io.BytesIO()
    sf.write(buf, data, sample_rate, format=fmt.upper())
    return buf.getvalue()


@dataclass
class FakeJob:
    request_id: str
    model_id: str
    payload: dict[str, Any]
    polls_left: int
    state: str = "in_queue"
    cancelled: bool = False
    status_calls: int = 0




class RunComfyServer(LoopbackServer):
    def __init__(self, token: str = "rc-test-token", *, polls_before_done: int = 1, latency: float = 0.0,
                 status_latency: float = 0.0) -> None:
        self.token = token
        self.latency = latency                    # added to every answer, seconds
        self.status_latency = status_latency      # added to status answers (slow polls)
        self.polls_before_done = polls_before_done
        self.job_outcome = "completed"            # or "failed", "cancelled"
        self.output_shape = "audio"               # "audio" (string), "audios" (list), "nested"
        self.files_per_job = 1
        self.file_format: str | None = None       # None: mp3 for ElevenLabs, wav for ACE
        self.cost: Any = 0.0123
        self.cancellable = True
        self.submit_failures: list[Failure] = []  # consumed one per submit
        self.status_failures: list[Failure] = []  # consumed one per status call
        self.result_failures: list[Failure] = []
        self.result_body_error: dict[str, Any] | None = None   # HTTP 200 + error_code
        self.download_breaks = 0                  # next N downloads stop halfway
        self.download_failures: list[Failure] = []
        self.file_bytes_override: int | None = None   # serve this many junk bytes instead of audio
        self.file_body: bytes | None = None        # serve exactly these bytes
        self.file_no_content_length = False
        self.redirect_files_to: str | None = None  # base URL the file route redirects to
        self.output_url_base: str | None = None    # put a foreign host into output URLs
        self.catalog: dict[str, dict[str, Any]] = {}
        self.catalog_available = True
        # counters
        self.submits: Counter[str] = Counter()            # per model id
        self.submits_by_input: Counter[str] = Counter()   # per canonical input JSON: duplicates show up
        self.status_calls = 0
        self.result_calls = 0
        self.cancels: list[str] = []
        self.downloads: Counter[str] = Counter()
        self.catalog_calls = 0
        self.requests: list[dict[str, Any]] = []
        self.jobs: dict[str, FakeJob] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return self.origin + "/v1"

    def env(self) -> dict[str, str]:
        return {"RUNCOMFY_TOKEN": self.token, "RUNCOMFY_MODEL_API_BASE": self.base_url}

    @property
    def total_submits(self) -> int:
        return sum(self.submits.values())

    def duplicate_submits(self) -> int:
        """How many submits repeated an input already submitted (a second charge for one request)."""
        return sum(count - 1 for count in self.submits_by_input.values() if count > 1)

    # -- behaviour -------------------------------------------------------------------------
    def new_job(self, model_id: str, payload: dict[str, Any]) -> FakeJob:
        with self._lock:
            request_id = f"req-{next(self._ids):04d}"
            job = FakeJob(request_id, model_id, payload, self.polls_before_done)
            self.jobs[request_id] = job
            self.submits[model_id] += 1
            self.submits_by_input[json.dumps([model_id, payload], sort_keys=True)] += 1
        return job

    def advance(self, job: FakeJob) -> str:
        with self._lock:
            job.status_calls += 1
            if job.cancelled:
                job.state = "cancelled"
            elif job.polls_left > 0:
                job.polls_left -= 1
                job.state = "in_queue" if job.status_calls == 1 else "in_progress"
            else:
                job.state = self.job_outcome
            return job.state

    def audio_format(self, job: FakeJob) -> str:
        if self.file_format:
            return self.file_format
        return "mp3" if job.model_id.startswith("elevenlabs/") else "wav"

    def output_for(self, job: FakeJob) -> dict[str, Any]:
        base = self.output_url_base or self.origin
        ext = self.audio_format(job)
        urls = [f"{base}/files/{job.request_id}/take-{i}.{ext}?sig=abc" for i in range(self.files_per_job)]
        if self.output_shape == "audios":
            return {"audios": urls}
        if self.output_shape == "nested":
            return {"audios": [[{"url": u} for u in urls]], "meta": {"seed": 1}}
        return {"audio": urls[0] if len(urls) == 1 else urls}


class _Handler(QuietHandler):
    fake: RunComfyServer

    # -- helpers ---------------------------------------------------------------------------
    def _fail(self, failure: Failure) -> None:
        if failure.status == 0:  # hang up without an answer (a connection reset)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(failure.status, failure.body if failure.body is not None else {"error_code": failure.status * 1000 + 1},
                   failure.headers)

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {self.fake.token}":
            return True
        self._send(401, {"error_code": 401001, "message": "invalid or expired token"})
        return False

    def _record(self, body: Any = None) -> None:
        with self.fake._lock:
            self.fake.requests.append({"method": self.command, "path": self.path,
                                       "headers": dict(self.headers.items()), "body": body})

    # -- routes ----------------------------------------------------------------------------
    def do_POST(self) -> None:
        body = self._read_json()
        self._record(body)
        fake = self.fake
        if fake.latency:
            time.sleep(fake.latency)
        path = urlsplit(self.path).path
        if not path.startswith("/v1/"):
            return self._send(404, {"error_code": 404001, "message": "not found"})
        if not self._authorised():
            return
        if path.startswith("/v1/models/"):
            model_id = path[len("/v1/models/"):]
            if model_id not in HOSTED_MODELS:
                return self._send(404, {"error_code": 404001, "message": f"model {model_id} not found"})
            if fake.submit_failures:
                failure = fake.submit_failures.pop(0)
                if failure.status == 0:  # the worst case: the job is taken, then the line drops
                    fake.new_job(model_id, body if isinstance(body, dict) else {})
                return self._fail(failure)
            if not isinstance(body, dict):
                return self._send(422, {"error_code": 422001, "detail": [{"loc": ["body"], "msg": "not an object"}]})
            job = fake.new_job(model_id, body)
            rid = job.request_id
            return self._send(200, {"request_id": rid, "status_url": f"{fake.base_url}/requests/{rid}/status",
                                    "result_url": f"{fake.base_url}/requests/{rid}/result",
                                    "cancel_url": f"{fake.base_url}/requests/{rid}/cancel"})
        if path.startswith("/v1/requests/") and path.endswith("/cancel"):
            rid = path.split("/")[3]
            job = fake.jobs.get(rid)
            if job is None:
                return self._send(404, {"error_code": 404001, "message": "request not found"})
            with fake._lock:
                fake.cancels.append(rid)
                if fake.cancellable and job.state in ("in_queue", "in_progress"):
                    job.cancelled = True
                    outcome = "cancelled"
                else:
                    outcome = "not_cancellable"
            return self._send(200, {"request_id": rid, "outcome": outcome})
        self._send(404, {"error_code": 404001, "message": "not found"})

    def do_GET(self) -> None:
        self._record()
        fake = self.fake
        if fake.latency:
            time.sleep(fake.latency)
        parts = urlsplit(self.path)
        path = parts.path
        if path.startswith("/files/"):
            return self._file(path)
        if not self._authorised():
            return
        if path.startswith("/v1/models/"):
            fake.catalog_calls += 1
            model_id = path[len("/v1/models/"):]
            if not fake.catalog_available:
                return self._send(503, {"error_code": 503001, "message": "catalog unavailable"})
            entry = fake.catalog.get(model_id)
            if entry is None:
                return self._send(404, {"error_code": 404001, "message": "model not found"})
            return self._send(200, {"id": model_id, **entry})
        if path.startswith("/v1/requests/"):
            segments = path.split("/")
            rid, action = segments[3], segments[4] if len(segments) > 4 else ""
            job = fake.jobs.get(rid)
            if job is None:
                return self._send(404, {"error_code": 404001, "message": "request not found"})
            if action == "status":
                fake.status_calls += 1
                if fake.status_latency:
                    time.sleep(fake.status_latency)
                if fake.status_failures:
                    return self._fail(fake.status_failures.pop(0))
                state = fake.advance(job)
                answer = {"request_id": rid, "status": state}
                if state == "in_queue":
                    answer["queue_position"] = 1
                return self._send(200, answer)
            if action == "result":
                fake.result_calls += 1
                if fake.result_failures:
                    return self._fail(fake.result_failures.pop(0))
                if fake.result_body_error is not None:
                    return self._send(200, fake.result_body_error)
                answer: dict[str, Any] = {"request_id": rid, "status": job.state,
                                          "created_at": "2026-11-23T12:00:00Z",
                                          "finished_at": "2026-11-23T12:00:05Z"}
                if job.state == "completed":
                    answer["output"] = fake.output_for(job)
                    answer["error"] = None
                elif job.state == "failed":
                    answer["output"] = None
                    answer["error"] = {"message": "the model crashed (fake)"}
                if parse_qs(parts.query).get("include_cost") == ["true"] and fake.cost is not None:
                    answer["cost"] = fake.cost
                return self._send(200, answer)
        self._send(404, {"error_code": 404001, "message": "not found"})

    def _file(self, path: str) -> None:
        fake = self.fake
        segments = path.split("/")
        if len(segments) != 4 or segments[2] not in fake.jobs:
            return self._send(404, {"message": "no such file"})
        job = fake.jobs[segments[2]]
        with fake._lock:
            fake.downloads[segments[3]] += 1
            breaking = fake.download_breaks > 0
            if breaking:
                fake.download_breaks -= 1
            failure = fake.download_failures.pop(0) if fake.download_failures else None
        if failure is not None:
            return self._fail(failure)
        if fake.redirect_files_to and not fake.redirect_files_to.endswith("//" + str(self.headers.get("Host"))):
            self.send_response(302)
            self.send_header("Location", f"{fake.redirect_files_to}{path}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if fake.file_body is not None:
            data = fake.file_body
        elif fake.file_bytes_override is not None:
            data = b"\xff\xfb\x90\x64" + b"\0" * max(fake.file_bytes_override - 4, 0)
        else:
            data = encoded_audio(fake.audio_format(job))
        ctype = {"mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac"}.get(fake.audio_format(job),
                                                                                     "application/octet-stream")
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        if fake.file_no_content_length:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if breaking:  # half the body, then hang up
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        for start in range(0, len(data), 1 << 16):
            self.wfile.write(data[start:start + (1 << 16)])


RunComfyServer.handler_class = _Handler

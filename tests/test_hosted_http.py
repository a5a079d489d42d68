"""The shared HTTP rules (aimusic.engines.http) and the RunComfy protocol helpers, unit by unit."""

from __future__ import annotations

import io
import time
from email.utils import formatdate

import httpx
import pytest

from aimusic.engines import http as hosted_http
from aimusic.engines.http import (CallGuard, HostAllowlist, HttpCall, RetryPolicy, check_body_error,
                                  error_for_status, public_url, retry_after_seconds, sniff_audio_ext,
                                  url_file_name)
from aimusic.engines.runcomfy import base_url, output_urls, parse_cost
from aimusic.errors import AuthError, InputError, Interrupted, RetryableError, UpstreamError
from fakes.runcomfy_server import encoded_audio


def test_allowlist_takes_the_base_host_and_the_provider_domains():
    allow = HostAllowlist.for_provider(["http://127.0.0.1:8123/v1"], (".runcomfy.net", ".runcomfy.com"))
    assert allow.allows("http://127.0.0.1:8123/files/a.mp3")
    assert allow.allows("https://cdn.runcomfy.net/x/a.mp3")
    assert allow.allows("https://runcomfy.com/a.mp3")
    assert not allow.allows("http://cdn.runcomfy.net/a.mp3")          # files over https only
    assert not allow.allows("http://127.0.0.1:9999/files/a.mp3")      # another port is another host
    assert not allow.allows("http://localhost:8123/files/a.mp3")
    assert not allow.allows("https://evilruncomfy.net/a.mp3")
    assert not allow.allows("https://runcomfy.net.evil.com/a.mp3")
    assert not allow.allows("file:///etc/passwd")
    assert not allow.allows("https://user@[::1/")


def test_extra_download_hosts_from_the_environment(monkeypatch):
    monkeypatch.setenv("AIMUSIC_DOWNLOAD_HOSTS", "files.example.org, *.cdn.example.net, http://127.0.0.1:7000")
    allow = HostAllowlist.for_provider(["https://model-api.runcomfy.net/v1"])
    assert allow.allows("https://files.example.org/a.wav")
    assert allow.allows("https://a.cdn.example.net/a.wav")
    assert allow.allows("http://127.0.0.1:7000/a.wav")
    assert not allow.allows("http://files.example.org/a.wav")
    assert allow.allows("https://model-api.runcomfy.net/files/a.wav")


def test_runcomfy_base_url_joining(monkeypatch):
    assert base_url() == "https://model-api.runcomfy.net/v1"
    monkeypatch.setenv("RUNCOMFY_MODEL_API_BASE", "http://127.0.0.1:8000/")
    assert base_url() == "http://127.0.0.1:8000/v1"
    monkeypatch.setenv("RUNCOMFY_MODEL_API_BASE", "https://proxy.example/runcomfy/v1/")
    assert base_url() == "https://proxy.example/runcomfy/v1"


def test_retry_after_seconds_and_http_date():
    def response(value):
        return httpx.Response(429, headers={"Retry-After": value} if value else {})

    assert retry_after_seconds(response("3")) == 3.0
    assert retry_after_seconds(response(None)) is None
    assert retry_after_seconds(response("soon")) is None
    later = retry_after_seconds(response(formatdate(time.time() + 30, usegmt=True)))
    assert 27 <= later <= 31
    assert RetryPolicy().delay(0, response("7")) == 7.0
    assert RetryPolicy().delay(0, response("100000")) == hosted_http.MAX_RETRY_AFTER_S


def test_backoff_grows_with_jitter_and_a_cap():
    policy = RetryPolicy(base_delay=0.5, max_delay=4, jitter=0.25)
    delays = [policy.delay(n) for n in range(6)]
    assert 0.375 <= delays[0] <= 0.625 and 0.75 <= delays[1] <= 1.25
    assert all(d <= 5.0 for d in delays)


@pytest.mark.parametrize("status, cls", [(401, AuthError), (403, AuthError), (402, AuthError),
                                         (408, RetryableError), (429, RetryableError), (400, InputError),
                                         (404, InputError), (422, InputError), (500, UpstreamError),
                                         (503, UpstreamError)])
def test_error_for_status(status, cls):
    error = error_for_status(status, "said so", provider="X", action="submit")
    assert isinstance(error, cls) and "said so" in error.message


def test_body_error_code_is_an_error():
    check_body_error({"status": "ok"}, provider="X", action="result")
    with pytest.raises(InputError, match="422001"):
        check_body_error({"error_code": 422001, "detail": "bad"}, provider="X", action="result")
    with pytest.raises(AuthError):
        check_body_error({"error_code": 401001}, provider="X", action="result")
    with pytest.raises(UpstreamError):
        check_body_error({"error_code": 500001}, provider="X", action="result")
    with pytest.raises(InputError):
        check_body_error({"error_code": "weird"}, provider="X", action="result")


def test_send_never_repeats_an_unsafe_call_after_a_read_failure():
    calls = []

    def handler(request):
        calls.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    with pytest.raises(RetryableError, match="may have been accepted"):
        hosted_http.send(client, "POST", "http://x/submit", HttpCall("X", "submit", safe=False))
    assert len(calls) == 1
    calls.clear()
    fast = HttpCall("X", "poll", safe=True, policy=RetryPolicy(attempts=3, base_delay=0.01))
    with pytest.raises(RetryableError):
        hosted_http.send(client, "GET", "http://x/status", fast)
    assert len(calls) == 3


def test_send_stops_waiting_when_cancelled():
    client = httpx.Client(transport=httpx.MockTransport(
        lambda request: httpx.Response(503, headers={"Retry-After": "30"})))
    flag = {"cancel": False}
    guard = CallGuard(cancelled=lambda: flag["cancel"])
    import threading

    threading.Timer(0.2, lambda: flag.update(cancel=True)).start()
    started = time.monotonic()
    with pytest.raises(Interrupted):
        hosted_http.send(client, "GET", "http://x/status", HttpCall("X", "poll", safe=True), guard)
    assert time.monotonic() - started < 2


def test_send_gives_up_at_the_deadline():
    client = httpx.Client(transport=httpx.MockTransport(
        lambda request: httpx.Response(429, headers={"Retry-After": "30"})))
    guard = CallGuard(deadline=time.monotonic() + 1)
    started = time.monotonic()
    with pytest.raises(RetryableError):
        hosted_http.send(client, "GET", "http://x/status", HttpCall("X", "poll", safe=True), guard)
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("output, expected", [
    ({"audio": "https://a.runcomfy.net/1.mp3"}, ["https://a.runcomfy.net/1.mp3"]),
    ({"audios": ["https://a/1.wav", "https://a/2.wav"]}, ["https://a/1.wav", "https://a/2.wav"]),
    ({"audios": [[{"url": "https://a/1.wav"}], [{"url": "https://a/2.wav"}]]},
     ["https://a/1.wav", "https://a/2.wav"]),
    ({"audio": {"url": "https://a/1.flac", "content_type": "audio/flac"}}, ["https://a/1.flac"]),
    ({"result": {"files": ["https://a/x.mp3"]}}, ["https://a/x.mp3"]),   # unknown key: any URL
    ({"audio": "https://a/1.mp3", "preview": "https://a/p.png"}, ["https://a/1.mp3"]),
    ("https://a/plain.mp3", ["https://a/plain.mp3"]),
    ({"audio": None}, []),
    (None, []),
])
def test_output_urls_accepts_every_documented_shape(output, expected):
    assert output_urls(output) == expected


@pytest.mark.parametrize("result, cost", [({"cost": 0.5}, 0.5), ({"cost": {"amount": 0.25, "currency": "USD"}}, 0.25),
                                          ({"cost": "$0.10"}, 0.10), ({}, None), ({"cost": True}, None)])
def test_parse_cost(result, cost):
    assert parse_cost(result) == cost


def test_file_names_and_public_urls_are_sanitised():
    assert url_file_name("https://a/x/..%2F..%2Fetc%2Fpasswd?sig=1") == "passwd"
    assert url_file_name("https://a/x/.hidden.mp3") == "hidden.mp3"
    assert url_file_name("https://a/x/song%20one.mp3") == "song one.mp3"
    assert public_url("https://user:pw@a.runcomfy.net/x.mp3?X-Amz-Signature=s#f") == "https://a.runcomfy.net/x.mp3"


@pytest.mark.parametrize("fmt", ["mp3", "wav", "flac", "ogg"])
def test_sniff_audio_ext_from_bytes(tmp_path, fmt):
    path = tmp_path / "blob"
    path.write_bytes(encoded_audio(fmt))
    assert sniff_audio_ext(str(path)) == fmt


def test_sniff_unknown_bytes_falls_back_to_name_then_type(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(b"\0" * 32)
    assert sniff_audio_ext(str(path), "a.flac") == "flac"
    assert sniff_audio_ext(str(path), "a.bin", "audio/mpeg") == "mp3"
    assert sniff_audio_ext(str(path), "a.bin", "text/html") is None


def test_max_download_bytes_config(monkeypatch):
    assert hosted_http.max_download_bytes() == 2 * 1024**3
    monkeypatch.setenv("AIMUSIC_MAX_DOWNLOAD_BYTES", "1000")
    assert hosted_http.max_download_bytes() == 1000
    assert hosted_http.max_download_bytes({"max_download_bytes": 5}) == 5
    monkeypatch.setenv("AIMUSIC_MAX_DOWNLOAD_BYTES", "lots")
    with pytest.raises(InputError):
        hosted_http.max_download_bytes()


def test_engines_declare_their_keys_and_tasks():
    from aimusic.engines.registry import engine_class

    runcomfy, elevenlabs = engine_class("runcomfy"), engine_class("elevenlabs")
    assert runcomfy.needs_key and runcomfy.key_env_var == "RUNCOMFY_TOKEN"
    assert runcomfy.tasks == {"generate", "inpaint", "outpaint"}
    assert elevenlabs.needs_key and elevenlabs.key_env_var == "ELEVENLABS_API_KEY"
    assert elevenlabs.tasks == {"generate", "inpaint", "outpaint", "video", "separate"}  # separate: engines/elevenlabs_stems.py


def test_importing_the_engines_does_not_import_httpx():
    import subprocess
    import sys

    from conftest import SRC

    code = ("import sys, aimusic.engines.runcomfy, aimusic.engines.elevenlabs; "
            "print('httpx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "False", out.stderr


def test_pcm_wav_wrapper_keeps_frames_aligned(tmp_path):
    """Chunk boundaries that split a frame must not shift channels."""
    import soundfile as sf

    from aimusic.engines.elevenlabs import ElevenLabsClient, Received

    pcm = encoded_audio("pcm", 0.1, 16000)

    class FakeResponse:
        headers = {"content-length": str(len(pcm))}

        def iter_bytes(self, size):
            for start in range(0, len(pcm), 333):  # odd chunk size
                yield pcm[start:start + 333]

    client = ElevenLabsClient.__new__(ElevenLabsClient)
    client.guard = CallGuard()
    client.received = Received()
    handle = io.BytesIO()
    client._write(FakeResponse(), handle, (16000, 2))
    handle.seek(0)
    audio, rate = sf.read(handle, dtype="int16")
    assert rate == 16000 and audio.shape == (1600, 2)
    assert audio.tobytes() == pcm

"""ElevenLabs stem separation and word timing (kept apart from the compose engine in elevenlabs.py).

- `separate`: `POST /v1/music/stem-separation` (multipart `file`, form `stem_variation_id`
  `two_stems_v1` | `six_stems_v1`, query `output_format`): a ZIP of stems comes back. It is streamed
  into a staged file (bounded), checked, and every member is unpacked into a staged
  `<name>.<stem>.<ext>`; `<name>.<ext>` holds the stems not removed. A corrupt or hostile ZIP
  (not a ZIP, paths, too many or too large members, nothing audio) is an UpstreamError and no
  file appears.
- `align`: `POST /v1/music/upload` with `with_timestamps=true` (multipart `file`): ElevenLabs
  transcribes the song and returns `words_timestamps` ([{word, start_ms, end_ms}]), which become
  `lyrics_timing` ([{word, start, end}] in seconds). Priced like a generation (its docs say so).

Both are charged once sent, so neither is repeated after the request went out (only a 429
refusal or a connection that never opened is retried, as for compose).
"""

from __future__ import annotations

import re
import time
import zipfile
from pathlib import Path
from typing import Any

from aimusic.engines.base import EngineResult, RunContext, Take
from aimusic.engines.http import (CallGuard, HttpCall, RetryPolicy, error_from_response, is_connect_fault, send,
                                  sniff_audio_ext, transient_errors, transport_error)
from aimusic.errors import InputError, InputFileError, Interrupted, RetryableError, TransportError, UpstreamError

MAX_UPLOAD_BYTES = 1 << 30          # 1 GiB: far past any song; a bigger file is a mistake
MAX_ZIP_BYTES = 4 << 30             # what we accept back
MAX_MEMBERS = 16                    # six stems (and a few extras) at most
MAX_MEMBER_BYTES = 2 << 30
AUDIO_EXTS = ("mp3", "wav", "flac", "ogg", "opus", "m4a", "aac", "pcm")
SEPARATE_FORMATS = {"mp3_standard": "mp3_44100_128", "mp3_high_quality": "mp3_44100_192",
                    "wav_cd_quality": "pcm_44100"}


def _local_file(reference: str, field: str = "audio") -> Path:
    from aimusic.schemas import is_url

    if is_url(reference):
        raise InputError(f"{field}: ElevenLabs takes an uploaded file: download it and pass its path",
                         field=field)
    path = Path(reference).expanduser()
    try:
        size = path.stat().st_size
    except OSError:
        raise InputFileError(f"{field}: cannot read {path}", field=field) from None
    if size == 0:
        raise InputError(f"{field}: {path.name} is empty", field=field)
    if size > MAX_UPLOAD_BYTES:
        raise InputError(f"{field}: {path.name} is {size >> 20} MiB; at most {MAX_UPLOAD_BYTES >> 20} MiB "
                         "is uploaded", field=field)
    return path


def _guard(cancelled: Any, notice: Any, timeout: float | None) -> CallGuard:
    return CallGuard(cancelled=cancelled, on_retry=notice,
                     deadline=time.monotonic() + float(timeout) if timeout else None)


# ------------------------------------------------------------------------------------ separate

def separate(model: Any, request: Any, ctx: RunContext, sink: Any, client_for: Any, key_hint: str
             ) -> EngineResult:
    """`client_for(guard)`: an ElevenLabsClient (the engine in elevenlabs.py makes it, with the key)."""
    path = _local_file(request.audio)
    variant = request.stem_variation_id
    output_format = SEPARATE_FORMATS[request.output_format]
    client = client_for(_guard(ctx.cancel_event.is_set, ctx.notice, getattr(ctx.options, "timeout", None)))
    archive = sink.stage(".zip")
    ctx.progress("separate", 0, 1, f"ElevenLabs is separating {path.name} ({variant})")
    try:
        headers = _post_streamed(client, "/v1/music/stem-separation", path, {"stem_variation_id": variant},
                                 {"output_format": output_format}, archive, key_hint)
    finally:
        client.close()
    ctx.progress("separate", 1, 1, "done")
    ctx.check_cancelled()
    stems = unpack_stems(archive.path, sink)
    archive.close()
    wanted = list(request.stems) or list(stems)
    missing = [s for s in wanted if s not in stems]
    if missing:
        raise UpstreamError(f"ElevenLabs returned no {missing[0]} stem (it returned {', '.join(stems)})")
    gone = [s for s in request.remove if s not in stems]
    if gone:
        raise UpstreamError(f"ElevenLabs returned no {gone[0]} stem to remove (it returned {', '.join(stems)})")
    kept = [s for s in stems if s not in request.remove]
    take = Take(seed=None, metadata={"separate": {"source": path.name, "stem_variation_id": variant,
                                                  "stems": wanted, "removed": list(request.remove),
                                                  "kept": kept, "exact": False}})
    take.samples, take.sample_rate = _sum_stems([stems[s] for s in kept])
    for name in wanted:
        staged = stems[name]
        take.extra_files[f"{name}{staged.suffix}"] = staged
    seconds = _seconds(take)
    cost = round(model.price_per_second * seconds, 6) if seconds else None
    metadata = {"output_format": output_format, "cost_source": "estimate (ElevenLabs bills credits; price table)"}
    if headers.get("song-id"):
        metadata["song_id"] = headers["song-id"]
    return EngineResult(takes=[take], cost_usd=cost, metadata=metadata)


def _seconds(take: Take) -> float:
    if take.samples is None or not take.sample_rate:
        return 0.0
    return take.samples.shape[-1] / float(take.sample_rate)


def _sum_stems(staged: list[Any]) -> tuple[Any, int]:
    """The kept stems decoded and added up (at the first stem's rate and channel count)."""
    import numpy as np

    from aimusic.audio.io import read_audio, resample, to_channels

    total, rate = None, 44100
    for item in staged:
        try:
            samples, stem_rate = read_audio(item.path)
        except InputError:   # the vendor's file, not the user's
            raise UpstreamError("ElevenLabs returned a stem that cannot be decoded") from None
        if total is None:
            total, rate = samples.astype(np.float32), stem_rate
            continue
        samples = to_channels(resample(samples, stem_rate, rate), total.shape[0])
        frames = max(total.shape[1], samples.shape[1])
        out = np.zeros((total.shape[0], frames), dtype=np.float32)
        out[:, :total.shape[1]] += total
        out[:, :samples.shape[1]] += samples
        total = out
    if total is None:
        raise UpstreamError("ElevenLabs returned no stems to mix")
    return total, rate


def stem_name(member: str) -> str:
    """A ZIP member's file name -> a stem name: 'Song - Vocals.mp3' -> 'vocals'."""
    base = member.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
    base = re.split(r"\s+-\s+|_-_", base)[-1]
    slug = re.sub(r"[^a-z0-9]+", "_", base).strip("_")
    return slug or "stem"


def unpack_stems(zip_path: str, sink: Any) -> dict[str, Any]:
    """Every audio member of the ZIP staged as its own file: {stem name: StagedFile}.

    UpstreamError for anything but a small ZIP of audio files (a vendor fault; nothing appears)."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UpstreamError("ElevenLabs returned a corrupt stem archive (not a ZIP file)",
                            hint="retry later; nothing was written") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if not members:
            raise UpstreamError("ElevenLabs returned an empty stem archive")
        if len(members) > MAX_MEMBERS:
            raise UpstreamError(f"ElevenLabs' stem archive holds {len(members)} files; at most "
                                f"{MAX_MEMBERS} are unpacked")
        if sum(m.file_size for m in members) > MAX_ZIP_BYTES or any(m.file_size > MAX_MEMBER_BYTES
                                                                    for m in members):
            raise UpstreamError("ElevenLabs' stem archive unpacks to more than aimusic accepts")
        stems: dict[str, Any] = {}
        for member in members:
            ext = member.filename.rsplit(".", 1)[-1].lower() if "." in member.filename else ""
            if ext not in AUDIO_EXTS:
                continue   # a readme or metadata file: not a stem
            name = stem_name(member.filename)
            while name in stems:
                name += "_2"
            staged = sink.stage("." + ("wav" if ext == "pcm" else ext))
            try:
                with archive.open(member) as src, staged.open("wb") as dst:
                    copied = _copy_bounded(src, dst, MAX_MEMBER_BYTES)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
                raise UpstreamError(f"ElevenLabs' stem archive is corrupt ({member.filename!r} cannot be read)",
                                    hint="retry later; nothing was written") from None
            if copied == 0 or sniff_audio_ext(staged.path) is None:   # by content, not by name
                raise UpstreamError(f"ElevenLabs' stem archive holds {member.filename!r}, which is not audio")
            stems[name] = staged
        if not stems:
            raise UpstreamError("ElevenLabs' stem archive holds no audio files")
    return stems


def _copy_bounded(src: Any, dst: Any, limit: int) -> int:
    copied = 0
    while True:
        chunk = src.read(1 << 20)
        if not chunk:
            return copied
        copied += len(chunk)
        if copied > limit:
            raise UpstreamError("an ElevenLabs stem is larger than it declared")
        dst.write(chunk)


def _post_streamed(client: Any, path: str, upload: Path, form: dict[str, str], params: dict[str, str],
                   staged: Any, key_hint: str) -> dict[str, str]:
    """A multipart upload whose answer (a ZIP) is streamed to `staged`; retried only when the
    request certainly did not reach ElevenLabs (a refused connection, a 429)."""
    import httpx

    url = f"{client.base}{path}"
    policy = RetryPolicy(attempts=3)
    guard = client.guard
    for attempt in range(policy.attempts):
        if guard.cancelled():
            raise Interrupted("cancelled")
        try:
            with upload.open("rb") as handle, client.http.stream(
                    "POST", url, params=params, data=form,
                    files={"file": (upload.name, handle, "application/octet-stream")}) as response:
                if response.status_code >= 300:
                    response.read()
                    error = error_from_response(response, provider="ElevenLabs", action="stem separation",
                                                key_hint=key_hint)
                    if response.status_code == 429 and attempt + 1 < policy.attempts:
                        guard.sleep(policy.delay(attempt, response))
                        continue
                    raise error
                written = 0
                with staged.open("wb") as out:
                    for chunk in response.iter_bytes(1 << 16):
                        if guard.cancelled():
                            raise Interrupted("cancelled")
                        written += len(chunk)
                        if written > MAX_ZIP_BYTES:
                            raise UpstreamError("ElevenLabs' stem archive is larger than aimusic accepts")
                        out.write(chunk)
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) != written:
                    raise TransportError(f"ElevenLabs' stem archive ended early ({written} of {declared} bytes)")
                return dict(response.headers)
        except transient_errors() as exc:
            if is_connect_fault(exc) and attempt + 1 < policy.attempts:
                guard.sleep(policy.delay(attempt))
                continue
            fault = type(transport_error(exc, "ElevenLabs", action="stem separation", sent=True))
            raise fault(f"ElevenLabs stem separation broke off ({exc.__class__.__name__}); it may still have "
                        "been charged, so it is not retried automatically",
                        hint="check your ElevenLabs history before retrying") from None
        except httpx.HTTPError as exc:  # e.g. an unreadable upload mid-request
            raise transport_error(exc, "ElevenLabs", action="stem separation", sent=True) from None
    raise RetryableError("ElevenLabs kept refusing the request (HTTP 429)", hint="retry later")


# --------------------------------------------------------------------------------------- align

def align_price(seconds: float) -> float:
    """What `align` costs: an upload is priced like a generation of the song's length."""
    from aimusic.catalog import get_model

    return round(get_model("elevenlabs/elevenlabs/music-generation").price_per_second * seconds, 6)


def align(audio: str, client_for: Any, key_hint: str, *, timeout: float | None = None, cancel_event: Any = None,
          log: Any = None) -> dict[str, Any]:
    """Word timing of any song through ElevenLabs' upload with timestamps:
    {"song_id", "lyrics_timing": [{word, start, end}], "seconds", "cost_usd"}."""
    from aimusic.audio.io import audio_info

    path = _local_file(audio)
    seconds = float(audio_info(str(path)).get("duration") or 0.0)
    guard = _guard(cancel_event.is_set if cancel_event is not None else (lambda: False), log, timeout)
    client = client_for(guard)
    call = HttpCall("ElevenLabs", "upload", safe=False, key_hint=key_hint)
    try:
        with path.open("rb") as handle:
            response = send(client.http, "POST", f"{client.base}/v1/music/upload", call, guard,
                            data={"with_timestamps": "true"},
                            files={"file": (path.name, handle, "application/octet-stream")})
    finally:
        client.close()
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise UpstreamError("ElevenLabs returned an upload answer that is not a JSON object")
    words = body.get("words_timestamps")
    if not isinstance(words, list):
        raise UpstreamError("ElevenLabs returned no word timestamps for the upload")
    timing = []
    for item in words:
        try:
            word, start, end = str(item["word"]).strip(), float(item["start_ms"]) / 1000, float(item["end_ms"]) / 1000
        except (KeyError, TypeError, ValueError):
            raise UpstreamError("ElevenLabs returned a malformed word timestamp") from None
        if word and 0 <= start <= end:
            timing.append({"word": word, "start": round(start, 3), "end": round(end, 3)})
    return {"song_id": body.get("song_id"), "lyrics_timing": timing, "seconds": seconds,
            "cost_usd": align_price(seconds) if seconds else None}

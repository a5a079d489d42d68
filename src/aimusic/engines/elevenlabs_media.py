"""What ElevenLabs Music answers besides plain audio, read within bounds:

- `/v1/music/detailed`: a `multipart/mixed` body, a JSON part (composition plan, song metadata,
  `words_timestamps`) then the audio part. Parsed as it streams (python-multipart's push parser),
  so the audio goes to disk chunk by chunk and only the JSON part is held in memory (capped).
- word timestamps: `[{word, start_ms, end_ms}]` -> `[{word, start, end}]` in seconds (the sidecar's
  `lyrics_timing`).
- a ZIP (`video-to-music` with `separate_tracks`): members copied out with a cap on their number
  and on the bytes actually inflated, never extracted to paths named by the archive.
"""

from __future__ import annotations

import json
import math
import zipfile
from typing import Any, BinaryIO, Callable

from aimusic.errors import TransportError, UpstreamError

MAX_JSON_PART_BYTES = 8 * 1024 * 1024
MAX_WORDS = 50_000
MAX_ZIP_MEMBERS = 32


def parse_word_timestamps(items: Any) -> list[dict[str, Any]]:
    """ElevenLabs' `words_timestamps` as `[{word, start, end}]` (seconds, rounded to ms), in time
    order; malformed entries are dropped, never trusted."""
    timing: list[dict[str, Any]] = []
    if not isinstance(items, list):
        return timing
    for item in items[:MAX_WORDS]:
        if not isinstance(item, dict):
            continue
        word, start, end = item.get("word"), item.get("start_ms"), item.get("end_ms")
        if not isinstance(word, str) or not word.strip():
            continue
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
                   for v in (start, end)) or end < start:
            continue
        timing.append({"word": word.strip()[:200], "start": round(start / 1000.0, 3),
                       "end": round(end / 1000.0, 3)})
    timing.sort(key=lambda w: (w["start"], w["end"]))
    return timing


def boundary_of(content_type: str) -> str | None:
    """The `boundary` parameter of a multipart Content-Type, or None."""
    from email.message import Message

    message = Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "multipart":
        return None
    boundary = message.get_param("boundary")
    return boundary if isinstance(boundary, str) and 0 < len(boundary) <= 200 else None


class DetailedReader:
    """Feed a `multipart/mixed` body (`feed(chunk)`), get its JSON part (`metadata`) and the audio
    part written to `audio` as it arrives (`audio_bytes`, `audio_type`)."""

    def __init__(self, boundary: str, audio: BinaryIO | Callable[[bytes], None]) -> None:
        from python_multipart.multipart import MultipartParser

        self.metadata: dict[str, Any] | None = None
        self.audio_bytes = 0
        self.audio_type = ""
        self._write = audio if callable(audio) else audio.write
        self._headers: dict[str, str] = {}
        self._field = b""
        self._value = b""
        self._kind = ""
        self._json = bytearray()
        self._parts = 0
        self._ended = False
        callbacks = {
            "on_part_begin": self._begin, "on_part_data": self._data, "on_part_end": self._end_part,
            "on_header_field": self._header_field, "on_header_value": self._header_value,
            "on_header_end": self._header_end, "on_headers_finished": self._headers_done,
            "on_end": self._done,
        }
        self._parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]

    def feed(self, chunk: bytes) -> None:
        try:
            self._parser.write(chunk)
        except UpstreamError:
            raise
        except Exception as exc:  # the parser's own errors: a malformed body
            raise UpstreamError(f"ElevenLabs sent a malformed multipart answer ({exc.__class__.__name__})") from None

    def finish(self) -> None:
        """After the last chunk: the body must have closed, with both parts."""
        if not self._ended:
            raise TransportError("ElevenLabs' detailed answer ended early (no closing boundary)")
        if self.metadata is None:
            raise UpstreamError("ElevenLabs' detailed answer has no JSON metadata part")
        if not self.audio_bytes:
            raise UpstreamError("ElevenLabs' detailed answer has no audio")

    # -- parser callbacks ------------------------------------------------------------------------
    def _begin(self) -> None:
        self._headers = {}
        self._kind = ""
        self._parts += 1
        if self._parts > 4:
            raise UpstreamError("ElevenLabs' detailed answer has too many parts")

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.decode("latin-1").strip().lower()] = self._value.decode("latin-1").strip()
        self._field = self._value = b""

    def _headers_done(self) -> None:
        ctype = self._headers.get("content-type", "").lower()
        if "json" in ctype:
            self._kind = "json"
        elif ctype.startswith("audio/") or "octet-stream" in ctype or "filename" in self._headers.get(
                "content-disposition", ""):
            self._kind = "audio"
            self.audio_type = ctype
        else:
            self._kind = "skip"

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._kind == "json":
            self._json += data[start:end]
            if len(self._json) > MAX_JSON_PART_BYTES:
                raise UpstreamError("ElevenLabs' metadata part is implausibly large")
        elif self._kind == "audio":
            self.audio_bytes += end - start
            self._write(data[start:end])

    def _end_part(self) -> None:
        if self._kind == "json":
            try:
                value = json.loads(bytes(self._json))
            except ValueError:
                raise UpstreamError("ElevenLabs' metadata part is not JSON") from None
            if not isinstance(value, dict):
                raise UpstreamError("ElevenLabs' metadata part is not a JSON object")
            self.metadata = value

    def _done(self) -> None:
        self._ended = True


def zip_members(path: str, *, max_bytes: int) -> list[zipfile.ZipInfo]:
    """The file members of a ZIP answer, checked: a real archive, at most MAX_ZIP_MEMBERS files,
    declared sizes within `max_bytes` altogether."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise UpstreamError("ElevenLabs sent a damaged ZIP archive") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
    if not members:
        raise UpstreamError("ElevenLabs sent an empty ZIP archive")
    if len(members) > MAX_ZIP_MEMBERS:
        raise UpstreamError(f"ElevenLabs' ZIP archive has {len(members)} files; at most {MAX_ZIP_MEMBERS} expected")
    if sum(m.file_size for m in members) > max_bytes:
        raise UpstreamError("ElevenLabs' ZIP archive is larger than the download cap")
    return members


def copy_member(path: str, member: zipfile.ZipInfo, handle: BinaryIO, *, max_bytes: int) -> int:
    """Inflate one member into `handle`, stopping at `max_bytes` actually written (a ZIP's declared
    sizes can lie); returns the bytes written."""
    written = 0
    try:
        with zipfile.ZipFile(path) as archive, archive.open(member) as source:
            while True:
                chunk = source.read(1 << 16)
                if not chunk:
                    break
                written += len(chunk)
                if written > max_bytes:
                    raise UpstreamError(f"a member of ElevenLabs' ZIP inflates past the {max_bytes}-byte cap")
                handle.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise UpstreamError(f"ElevenLabs' ZIP member {member.filename[:80]!r} is damaged "
                            f"({exc.__class__.__name__})") from None
    return written

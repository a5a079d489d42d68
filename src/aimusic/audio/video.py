"""A video's duration, for `--match-video` (PyAV: its wheels bundle FFmpeg, no system ffmpeg)."""

from __future__ import annotations

import math
import os
from pathlib import Path

from aimusic.errors import InputError, InputFileError


def video_duration(path: str | Path) -> float:
    """Duration in seconds of the first video stream of `path`.

    Uses the stream's own duration, else the container's, else decodes to the last frame.
    Raises InputFileError (66) for a missing/unreadable file, InputError (65) for anything
    that is not a video with a positive duration.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise InputFileError(f"video file not found: {path}", field="match_video")
    if path.is_dir() or not os.access(path, os.R_OK):
        raise InputFileError(f"cannot read video file {path}", field="match_video")
    from aimusic.schemas.limits import check_regular_file

    check_regular_file(path, "match_video", "video file")
    import av  # lazy: PyAV loads FFmpeg's libraries

    try:
        container = av.open(str(path))
    except Exception as exc:  # PyAV raises several FFmpeg error types for non-media input
        raise InputError(f"{path} is not a readable video ({exc.__class__.__name__})",
                         field="match_video") from None
    try:
        with container:
            streams = list(container.streams.video)
            if not streams:
                raise InputError(f"{path} has no video stream", field="match_video")
            stream = streams[0]
            seconds = None
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                seconds = container.duration / av.time_base
            else:
                seconds = _decode_duration(container, stream)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{path} is not a readable video ({exc.__class__.__name__})",
                         field="match_video") from None
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        raise InputError(f"{path} has no usable duration", field="match_video")
    return seconds


def _decode_duration(container, stream) -> float | None:
    end = None
    for frame in container.decode(stream):
        if frame.pts is None or frame.time_base is None:
            continue
        step = frame.duration if getattr(frame, "duration", None) else 0
        end = float((frame.pts + step) * frame.time_base)
    return end

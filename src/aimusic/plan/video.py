"""Length of an audio-only media file (AAC/M4A, ...) that soundfile cannot open, with PyAV.

(`aimusic.audio.video.video_duration` needs a video stream; a source track has none.)
"""

from __future__ import annotations

from pathlib import Path

from aimusic.errors import InputError, InputFileError


def media_duration(path: str | Path) -> float:
    """Seconds of the file's longest stream; InputError (65) when it is not a media file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputFileError(f"file not found: {path}", field="audio")
    import av  # lazily: PyAV loads FFmpeg's libraries

    try:
        with av.open(str(path)) as container:
            if container.duration:
                return container.duration / 1_000_000  # av.time_base: microseconds
            best = 0.0
            for stream in container.streams:
                if stream.duration and stream.time_base:
                    best = max(best, float(stream.duration * stream.time_base))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise InputError(f"{path} is not a readable media file ({exc.__class__.__name__})",
                         field="audio") from None
    if best <= 0:
        raise InputError(f"{path} has no duration", field="audio")
    return best

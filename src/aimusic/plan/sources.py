"""What the planner reads from files: a source's length from its header, a video's length."""

from __future__ import annotations

from pathlib import Path

from aimusic.errors import InputError, InputFileError


def audio_seconds(audio: str) -> float | None:
    """Length of a local source file from its header (no decoding); None for URLs. 66/65 on errors."""
    from aimusic.schemas import audio_reference, is_url
    from aimusic.schemas.limits import check_regular_file

    try:
        audio_reference(audio)  # the one rule for every front door: a path, or an https URL
    except ValueError as exc:
        raise InputError(f"audio {audio!r}: {exc}", field="audio") from None
    if is_url(audio):
        return None
    path = Path(audio).expanduser()
    if not path.exists():
        raise InputFileError(f"audio file not found: {path}", field="audio")
    if path.is_dir():
        raise InputFileError(f"{path} is a directory, not an audio file", field="audio")
    check_regular_file(path, "audio", "audio file")
    if path.suffix.lower() == ".wav":
        # The stdlib reads a PCM WAV header without importing numpy/soundfile (~80 ms): plans stay fast.
        import wave

        try:
            with wave.open(str(path), "rb") as handle:
                frames, rate = handle.getnframes(), handle.getframerate()
            if frames > 0 and rate > 0:
                return frames / rate
        except (wave.Error, EOFError, OSError):
            pass  # float WAV, WAVE_FORMAT_EXTENSIBLE, damaged: soundfile decides below
    try:
        import soundfile

        info = soundfile.info(str(path))
        if info.frames <= 0 or info.samplerate <= 0:
            raise InputError(f"{path} holds no audio", field="audio")
        return info.frames / info.samplerate
    except InputError:
        raise
    except (RuntimeError, OSError, ValueError):
        pass
    try:  # formats soundfile cannot read (AAC/M4A, video containers)
        from aimusic.plan.video import media_duration

        return media_duration(path)
    except InputError:
        raise InputError(f"{path} is not a readable audio file", field="audio",
                         hint="use WAV, FLAC, MP3 or OGG") from None


def video_seconds(video: str) -> float:
    from aimusic.audio.video import video_duration  # PyAV, header first; 66/65 for bad files

    return float(video_duration(video))

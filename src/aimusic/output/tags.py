"""Title and comment tags embedded in the audio file (mutagen)."""

from __future__ import annotations


def embed_tags(path: str, fmt: str, title: str, comment: str) -> None:
    """Best effort: a format mutagen can't tag keeps its audio untouched."""
    try:
        if fmt == "mp3":
            from mutagen.id3 import COMM, ID3, TIT2, TSSE, ID3NoHeaderError

            try:
                tags = ID3(path)
            except ID3NoHeaderError:
                tags = ID3()
            tags.add(TIT2(encoding=3, text=title))
            tags.add(COMM(encoding=3, lang="eng", desc="", text=comment))
            tags.add(TSSE(encoding=3, text="aimusic"))
            tags.save(path)
        elif fmt == "wav":
            from mutagen.id3 import COMM, TIT2
            from mutagen.wave import WAVE

            audio = WAVE(path)
            if audio.tags is None:
                audio.add_tags()
            audio.tags.add(TIT2(encoding=3, text=title))
            audio.tags.add(COMM(encoding=3, lang="eng", desc="", text=comment))
            audio.save()
        elif fmt in ("flac", "ogg"):
            from mutagen.flac import FLAC
            from mutagen.oggvorbis import OggVorbis

            audio = FLAC(path) if fmt == "flac" else OggVorbis(path)
            audio["title"] = title
            audio["comment"] = comment
            audio["encoder"] = "aimusic"
            audio.save()
    except Exception:  # tags are a courtesy; never fail a finished render over them
        return


def read_tags(path: str) -> dict[str, str]:
    import mutagen

    audio = mutagen.File(path)
    if audio is None or audio.tags is None:
        return {}
    out: dict[str, str] = {}
    for key, value in audio.tags.items():
        text = getattr(value, "text", value)
        if isinstance(text, list):
            text = text[0] if text else ""
        out[str(key).lower()] = str(text)
    return out

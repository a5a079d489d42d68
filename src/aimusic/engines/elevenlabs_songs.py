"""Songs ElevenLabs holds for inpainting, and what the account offers, remembered locally.

- A song id per audio file, keyed by the file's SHA-256 and the API base, under the cache dir
  (`elevenlabs-songs/`): every song aimusic composes with `store_for_inpainting` and every file it
  uploads lands here, so the same file is never uploaded (paid) twice.
- Failing that, the sidecar aimusic wrote next to the file: a song it made on ElevenLabs carries
  its `song_id` (the file may have been re-encoded or finished since; the song is still that one).
- The account's finetunes (`GET /v1/music/finetunes`), cached for a day like RunComfy's prices.

Song ids are sent to ElevenLabs only; they are checked to be plain ids before use.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

SONG_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
FINETUNE_CACHE_TTL_S = 24 * 3600.0
MAX_SIDECAR_BYTES = 4 * 1024 * 1024


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _songs_dir() -> Path:
    from aimusic.config import cache_dir

    return cache_dir() / "elevenlabs-songs"


def _write_json(path: Path, value: Any) -> None:
    from aimusic.output import write_file_atomic

    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_file_atomic(path, json.dumps(value).encode())
    except OSError:
        pass  # a cache: losing an entry costs a lookup (or an upload the user is asked about again)


def cached_song_id(sha256: str, base: str) -> str | None:
    try:
        entry = json.loads((_songs_dir() / f"{sha256}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    song_id = entry.get(base) if isinstance(entry, dict) else None
    return song_id if isinstance(song_id, str) and SONG_ID.match(song_id) else None


def remember_song_id(sha256: str, base: str, song_id: str) -> None:
    if not SONG_ID.match(song_id):
        return
    path = _songs_dir() / f"{sha256}.json"
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        entry = {}
    if not isinstance(entry, dict):
        entry = {}
    entry[base] = song_id
    _write_json(path, entry)


def sidecar_song(audio: str | Path) -> dict[str, Any] | None:
    """`{song_id, composition_plan?}` from the sidecar aimusic wrote beside `audio`, when it made
    that file on ElevenLabs and stored it for inpainting; else None."""
    sidecar = Path(audio).with_suffix(".json")
    try:
        if not sidecar.is_file() or sidecar.stat().st_size > MAX_SIDECAR_BYTES:
            return None
        body = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict) or body.get("provider") != "elevenlabs":
        return None
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    song_id = metadata.get("song_id")
    if not metadata.get("stored_for_inpainting") or not isinstance(song_id, str) or not SONG_ID.match(song_id):
        return None
    found: dict[str, Any] = {"song_id": song_id}
    if isinstance(metadata.get("composition_plan"), dict):
        found["composition_plan"] = metadata["composition_plan"]
    return found


def finetunes_cache(base: str) -> Path:
    name = hashlib.sha256(base.encode()).hexdigest()[:16]
    from aimusic.config import cache_dir

    return cache_dir() / "elevenlabs-finetunes" / f"{name}.json"


def cached_finetunes(base: str) -> list[dict[str, Any]] | None:
    try:
        entry = json.loads(finetunes_cache(base).read_text(encoding="utf-8"))
        if time.time() - float(entry["fetched_at"]) < FINETUNE_CACHE_TTL_S and isinstance(entry["finetunes"], list):
            return entry["finetunes"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def remember_finetunes(base: str, finetunes: list[dict[str, Any]]) -> None:
    _write_json(finetunes_cache(base), {"fetched_at": time.time(), "finetunes": finetunes})


def finetune_rows(page: Any) -> list[dict[str, Any]]:
    """The fields `aimusic models` shows, from one `GET /v1/music/finetunes` page (shape checked)."""
    items = page.get("finetunes") if isinstance(page, dict) else None
    rows = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        progress = item.get("training_progress")
        rows.append({"id": item["id"][:128], "name": str(item.get("name", ""))[:200],
                     "model_id": str(item.get("model_id", ""))[:40], "status": str(item.get("status", ""))[:20],
                     "visibility": str(item.get("visibility", ""))[:20],
                     "training_progress": progress if isinstance(progress, (int, float)) else None})
    return rows

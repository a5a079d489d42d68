"""The takes in a set of directories: every audio file with what its sidecar (or a batch
library's `index.json`) says about it, and what it was made from (its parent), searchable.

Bounded: at most `MAX_TAKES` files, `MAX_DEPTH` folders deep; hidden folders (batch state,
staged `.part` files) are skipped, and a symlink that leads outside its root is not followed.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aimusic.audio.io import FORMATS

MAX_TAKES = 5000
MAX_DEPTH = 6
MAX_SIDECAR_BYTES = 2_000_000
FINISHED_MARK = ".finished"  # api.finish names its output <stem>.finished[-N].<ext>


def _read_json(path: Path) -> Any:
    try:
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None


def _audio_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        depth = len(Path(folder).relative_to(root).parts)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and depth < MAX_DEPTH)
        for name in sorted(files):
            if name.startswith(".") or name.rsplit(".", 1)[-1].lower() not in FORMATS:
                continue
            path = Path(folder, name)
            if not path.resolve().is_relative_to(root):
                continue
            found.append(path)
            if len(found) >= MAX_TAKES:
                return found
    return found


def _parent_of(path: Path, sidecar: dict[str, Any] | None) -> str | None:
    source = ((sidecar or {}).get("input") or {}).get("audio")
    if isinstance(source, str) and source and not source.startswith(("<", "https://")):
        candidate = Path(source).expanduser()
        for base in ([candidate] if candidate.is_absolute() else [path.parent / candidate, Path.cwd() / candidate]):
            if base.is_file():
                return str(base.resolve())
    if sidecar is None and FINISHED_MARK in path.stem:  # a finished copy: its parent sits beside it
        stem = path.stem.rsplit(FINISHED_MARK, 1)[0]
        for ext in FORMATS:
            candidate = path.with_name(f"{stem}.{ext}")
            if candidate.is_file():
                return str(candidate.resolve())
    return None


def take_record(path: Path, sidecar: dict[str, Any] | None) -> dict[str, Any]:
    """One take as JSON-ready data; absent facts are None."""
    data = sidecar or {}
    model_input = data.get("input") if isinstance(data.get("input"), dict) else {}
    stat = path.stat()
    created = data.get("created_at") if isinstance(data.get("created_at"), str) else \
        datetime.fromtimestamp(stat.st_mtime, timezone.utc).isoformat(timespec="seconds")
    tags = model_input.get("tags") or model_input.get("prompt")
    seconds = data.get("duration_s")
    if not isinstance(seconds, (int, float)):  # no sidecar (a finished copy, a file of the user's): the header
        import soundfile

        try:
            seconds = round(soundfile.info(str(path)).duration, 4)
        except Exception:  # not readable as audio: listed, with no length
            seconds = None
    return {
        "path": str(path.resolve()), "name": path.name,
        "title": data.get("title") if isinstance(data.get("title"), str) else path.stem,
        "model": data.get("model"), "provider": data.get("provider"),
        "task": data.get("task") or ("finish" if FINISHED_MARK in path.stem else None),
        "tags": tags if isinstance(tags, str) else None,
        "request": data.get("request") if isinstance(data.get("request"), str) else None,
        "created_at": created, "duration_s": seconds, "seed": data.get("seed"),
        "cost_usd": data.get("cost_usd"), "bytes": stat.st_size,
        "sidecar": str(path.with_suffix(".json").resolve()) if sidecar is not None else None,
        "parent": _parent_of(path, sidecar), "batch": None,
    }


def _batch_rows(root: Path) -> dict[str, dict[str, Any]]:
    """Rows of every batch library's index.json under `root`, by the audio file's resolved path."""
    rows: dict[str, dict[str, Any]] = {}
    for folder, dirs, files in os.walk(root):
        depth = len(Path(folder).relative_to(root).parts)
        dirs[:] = [d for d in dirs if not d.startswith(".") and depth < MAX_DEPTH]
        if "index.json" not in files:
            continue
        index = _read_json(Path(folder, "index.json"))
        items = index.get("items") if isinstance(index, dict) else None
        for row in items if isinstance(items, list) else []:
            if isinstance(row, dict) and isinstance(row.get("file"), str):
                rows[str(Path(folder, row["file"]).resolve())] = row | {"index": str(Path(folder, "index.json"))}
    return rows


def scan(roots: list[Path]) -> list[dict[str, Any]]:
    """Every take under `roots`, newest first."""
    takes: list[dict[str, Any]] = []
    for root in roots:
        root = Path(root).resolve()
        if not root.is_dir():
            continue
        batch = _batch_rows(root)
        for path in _audio_files(root):
            sidecar = _read_json(path.with_suffix(".json"))
            record = take_record(path, sidecar if isinstance(sidecar, dict) else None)
            row = batch.get(record["path"])
            if row is not None:
                record["batch"] = {k: row.get(k) for k in ("index", "key", "role", "language")}
                for key in ("title", "tags", "model", "provider"):
                    record[key] = record[key] or row.get(key)
            takes.append(record)
            if len(takes) >= MAX_TAKES:
                break
    takes.sort(key=lambda t: t["created_at"], reverse=True)
    return takes


def search(takes: list[dict[str, Any]], query: str | None = None, model: str | None = None,
           provider: str | None = None, since: str | None = None, until: str | None = None
           ) -> list[dict[str, Any]]:
    """Takes whose words (title, tags, model, provider, request, name) contain every word of
    `query`; `model` is a substring of the id, `provider` exact; `since`/`until` are ISO dates
    (inclusive) compared with the creation time."""
    words = (query or "").lower().split()
    out = []
    for take in takes:
        text = " ".join(str(take.get(k) or "") for k in ("title", "tags", "model", "provider", "request",
                                                           "name", "task")).lower()
        day = take["created_at"][:10]
        if words and not all(w in text for w in words):
            continue
        if model and model.lower() not in str(take.get("model") or "").lower():
            continue
        if provider and provider != take.get("provider"):
            continue
        if (since and day < since[:10]) or (until and day > until[:10]):
            continue
        out.append(take)
    return out

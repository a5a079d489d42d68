"""The finished library: moving a job's files to their final names, and the index.

Final names are fixed before anything runs (`Item.stem`), so moving is idempotent: a file
already at its final name counts as moved, and the sidecar (rewritten with the batch fields)
is moved last. A batch killed half-way through a move finishes the move on the next run.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

from aimusic.config import redact

INDEX_FIELDS = ("file", "title", "tags", "language", "duration", "seed", "model", "provider", "cost_usd",
                "loudness_lufs", "role", "key", "sidecar")


def state_dir(out_dir: Path) -> Path:
    return out_dir / ".aimusic"


def work_dir(out_dir: Path, key: str) -> Path:
    return state_dir(out_dir) / "work" / key


def library_path(out_dir: Path, name: str) -> Path:
    """`out_dir / name` for a file name that stays in the library: no directory part, not hidden
    (the state directory), not a link out. Anything else is refused, whatever wrote the name (a
    batch file, a hand-edited manifest)."""
    path = out_dir / name
    if (not name or name != Path(name).name or name.startswith(".") or "\\" in name or "\0" in name
            or path.parent.resolve() != out_dir.resolve() or path.is_symlink()):
        from aimusic.errors import InputError

        raise InputError(f"refusing to write {name!r}: it is not a file name inside {out_dir}",
                         field="name", hint="a name is a file name inside the library, never a path")
    return path


def _move(src: Path, dst: Path) -> None:
    if src.exists():
        os.replace(src, dst)
    elif not dst.exists():
        raise FileNotFoundError(f"{src.name} vanished before it reached the library")


def finalize(outcome: dict[str, Any], items: dict[str, Any], out_dir: Path) -> dict[str, dict[str, Any]]:
    """Move a finished job's files into the library; returns per item key what the manifest records."""
    from aimusic.output import write_file_atomic

    keys = outcome.get("keys") or [outcome["key"]]
    src_dir = work_dir(out_dir, outcome["key"]) / "out"
    takes = outcome["takes"]
    per_key: dict[str, list[dict[str, Any]]] = {k: [] for k in keys}
    if len(keys) > 1:  # a grouped (batched pipeline) call: take i belongs to item i
        for key, take in zip(keys, takes):
            per_key[key].append(take)
    else:
        per_key[keys[0]] = list(takes)
    cost = outcome.get("cost_usd")
    records = {}
    for key, key_takes in per_key.items():
        item = items[key]
        files = []
        for index, take in enumerate(key_takes):
            stem = item.stem if index == 0 else f"{item.stem}-t{index + 1}"
            audio_src = src_dir / take["audio"]
            src_stem = Path(take["audio"]).stem
            audio_dst = library_path(out_dir, stem + Path(take["audio"]).suffix)
            _move(audio_src, audio_dst)
            extras = {}
            for suffix, name in (take.get("extras") or {}).items():
                dst = library_path(out_dir, stem + name[len(src_stem):])
                _move(src_dir / name, dst)
                extras[suffix] = dst.name
            sidecar_dst = library_path(out_dir, f"{stem}.json")
            if take.get("sidecar"):
                sidecar_src = src_dir / take["sidecar"]
                if sidecar_src.exists():
                    data = json.loads(sidecar_src.read_text(encoding="utf-8"))
                    data["file"] = audio_dst.name
                    if extras:
                        data["extra_files"] = extras
                    if not data.get("input"):  # resumed by request id: the manifest knows the input
                        data["input"] = item.input
                        data["model"] = item.model
                    if data.get("seed") is None and item.seed is not None:
                        data["seed"] = item.seed
                    data["batch"] = {"key": item.key, "seq": item.seq, "title": item.title, "tags": item.tags,
                                     "language": item.language, "role": item.role,
                                     "items_in_call": len(keys)}  # >1: one batched pipeline call
                    write_file_atomic(sidecar_dst, redact(json.dumps(data, indent=2, ensure_ascii=False,
                                                                     default=str)).encode())
                    sidecar_src.unlink()
            files.append({"file": audio_dst.name, "sidecar": sidecar_dst.name if sidecar_dst.exists() else None,
                          "extras": extras, "seconds": take.get("seconds"),
                          "loudness_lufs": take.get("loudness_lufs"), "seed": take.get("seed") or item.seed})
        share = None
        if cost is not None:
            share = round(float(cost) / len(keys), 6)
        elif item.est_cost == 0:
            share = 0.0
        else:
            share = item.est_cost  # the provider did not say: the estimate stands in
        seconds = sum(f["seconds"] or 0.0 for f in files) or None
        loudness = files[0]["loudness_lufs"] if files else None
        records[key] = {"files": files, "cost_usd": share, "seconds": seconds, "loudness_lufs": loudness,
                        "remote_id": outcome.get("remote_id"), "resumed": outcome.get("resumed", False)}
    return records


def clear_work(out_dir: Path, key: str) -> None:
    shutil.rmtree(work_dir(out_dir, key), ignore_errors=True)


def index_rows(items: list[Any], rows: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per finished file, in batch order."""
    table = []
    for item in items:
        row = rows.get(item.key)
        if not row or row["state"] != "done" or not row.get("result"):
            continue
        result = json.loads(row["result"])
        for file in result.get("files", []):
            table.append({
                "file": file["file"], "title": item.title, "tags": item.tags, "language": item.language or "",
                "duration": file.get("seconds"), "seed": file.get("seed"), "model": item.model,
                "provider": item.provider, "cost_usd": row.get("cost_usd"),
                "loudness_lufs": file.get("loudness_lufs"), "role": item.role, "key": item.key,
                "sidecar": file.get("sidecar")})
    return table


def write_index(out_dir: Path, table: list[dict[str, Any]]) -> tuple[Path, Path]:
    """index.csv and index.json, each written whole or not at all."""
    from aimusic.output import write_file_atomic

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(INDEX_FIELDS), lineterminator="\n")
    writer.writeheader()
    for row in table:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in INDEX_FIELDS})
    csv_path = write_file_atomic(out_dir / "index.csv", redact(buffer.getvalue()).encode("utf-8"))
    json_path = write_file_atomic(out_dir / "index.json", redact(
        json.dumps({"items": table}, indent=2, ensure_ascii=False, default=str)).encode("utf-8"))
    return csv_path, json_path

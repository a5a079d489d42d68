"""Where results land: staged files, collision-free names, sidecars, embedded tags.

Engines stage every file through an `OutputSink`; the sink gives them names only
when the whole job has succeeded (`commit`), and a failed or interrupted job
leaves the output directory exactly as it found it (`abort`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aimusic.audio.io import format_for, write_audio
from aimusic.config import redact
from aimusic.errors import CannotWriteError, InputError
from aimusic.output.naming import safe_name
from aimusic.output.staging import StagedFile, sweep_stale_parts
from aimusic.output.tags import embed_tags

MAX_NAME_TRIES = 10_000


@dataclass
class PendingOutput:
    """One audio file (staged) plus its sidecar and extra files, waiting for names."""

    audio: StagedFile
    ext: str
    stem: str
    sidecar: dict[str, Any]
    extras: dict[str, StagedFile] = field(default_factory=dict)  # suffix like "mid", "vocals.wav"


@dataclass
class CommittedOutput:
    audio: Path
    sidecar: Path
    extras: dict[str, Path]


class OutputSink:
    def __init__(self, output_dir: str | Path) -> None:
        self.output_dir = Path(output_dir).expanduser()
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise InputError(f"output dir {self.output_dir} exists and is not a directory",
                             field="output_dir") from None
        except OSError as exc:
            from aimusic.errors import os_error

            raise (os_error(exc, f"output dir {self.output_dir}")
                   or CannotWriteError(f"cannot create output dir {self.output_dir}: {exc.strerror}",
                                       field="output_dir")) from None
        if not os.access(self.output_dir, os.W_OK):
            raise CannotWriteError(f"output dir {self.output_dir} is not writable", field="output_dir")
        sweep_stale_parts(self.output_dir)
        self._staged: list[StagedFile] = []
        self._created: list[Path] = []

    # -- staging -------------------------------------------------------------
    def stage(self, suffix: str = "") -> StagedFile:
        staged = StagedFile(self.output_dir, suffix)
        self._staged.append(staged)
        return staged

    def stage_audio(self, samples: np.ndarray, sample_rate: int, fmt: str,
                    *, subtype: str | None = None) -> StagedFile:
        fmt = format_for(fmt)
        staged = self.stage("." + fmt)
        write_audio(staged.path, samples, sample_rate, fmt, subtype=subtype)
        return staged

    def stage_bytes(self, data: bytes, suffix: str = "") -> StagedFile:
        staged = self.stage(suffix)
        with staged.open("wb") as handle:
            handle.write(data)
        return staged

    def stage_json(self, payload: dict[str, Any]) -> StagedFile:
        text = redact(json.dumps(payload, indent=2, ensure_ascii=False, default=_json_default))
        return self.stage_bytes((text + "\n").encode("utf-8"), ".json")

    # -- committing ----------------------------------------------------------
    def commit(self, outputs: list[PendingOutput]) -> list[CommittedOutput]:
        """Name every staged file; all of a pending output's files share one free stem."""
        done = []
        try:
            for pending in outputs:
                title = str(pending.sidecar.get("title", pending.stem))
                comment = f"aimusic {pending.sidecar.get('model', '')} seed {pending.sidecar.get('seed')}"
                embed_tags(pending.audio.path, pending.ext, title, comment)
                done.append(self._link_group(pending))
        except BaseException:
            self.abort()
            raise
        self.close()
        return done

    def _link_group(self, pending: PendingOutput) -> CommittedOutput:
        stem = safe_name(pending.stem)
        for attempt in range(MAX_NAME_TRIES):
            candidate = stem if attempt == 0 else f"{stem}-{attempt}"
            names = {"audio": self.output_dir / f"{candidate}.{pending.ext}",
                     "sidecar": self.output_dir / f"{candidate}.json"}
            for suffix in pending.extras:
                names[suffix] = self.output_dir / f"{candidate}.{suffix}"
            if any(p.exists() for p in names.values()):
                continue
            linked: list[Path] = []
            try:
                # the sidecar gets its name first and the audio last: the audio is never visible
                # without its sidecar (a kill in the microseconds between leaves only the sidecar)
                sidecar = dict(pending.sidecar)
                sidecar["file"] = names["audio"].name
                if pending.extras:
                    sidecar["extra_files"] = {s: names[s].name for s in pending.extras}
                self.stage_json(sidecar).link(names["sidecar"])
                linked.append(names["sidecar"])
                for suffix, staged in pending.extras.items():
                    staged.link(names[suffix])
                    linked.append(names[suffix])
                pending.audio.link(names["audio"])
                linked.append(names["audio"])
            except FileExistsError:
                for path in linked:  # lost a race for this stem: give it back and try the next
                    path.unlink(missing_ok=True)
                continue
            except BaseException:
                for path in linked:
                    path.unlink(missing_ok=True)
                raise
            self._created.extend(linked)
            return CommittedOutput(names["audio"], names["sidecar"],
                                   {s: names[s] for s in pending.extras})
        raise InputError(f"no free file name for {stem} in {self.output_dir}", field="output_dir")

    def abort(self) -> None:
        """Remove whatever this sink created and drop every staged file."""
        for path in self._created:
            path.unlink(missing_ok=True)
        self._created.clear()
        self.close()

    def close(self) -> None:
        for staged in self._staged:
            staged.close()
        self._staged.clear()

    def __enter__(self) -> OutputSink:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def write_file_atomic(path: str | Path, data: bytes) -> Path:
    """Write one file whole or not at all, replacing any existing file of that name."""
    path = Path(path)
    staged = StagedFile(path.parent or Path("."))
    try:
        with staged.open("wb") as handle:
            handle.write(data)
        tmp_name = path.parent / f".{path.name}.{os.getpid()}.new"
        staged.link(tmp_name)
        os.replace(tmp_name, path)
    finally:
        staged.close()
    return path

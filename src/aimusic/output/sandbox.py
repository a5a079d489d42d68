"""Which files a server front door (MCP, studio) may read: its output directory and the
directories the user allowed, nothing else. One rule, shared by every server."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aimusic.errors import InputError
from aimusic.schemas import is_url


@dataclass
class Sandbox:
    output_dir: Path
    allowed_dirs: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.output_dir = Path(self.output_dir).expanduser().resolve()
        self.allowed_dirs = [Path(d).expanduser().resolve() for d in self.allowed_dirs]

    @property
    def readable_roots(self) -> list[Path]:
        return [self.output_dir, *self.allowed_dirs]

    def contains(self, path: str | Path) -> bool:
        """Whether `path` (symlinks resolved) lies inside one of the readable roots."""
        resolved = Path(path).expanduser().resolve()
        return any(resolved.is_relative_to(root) for root in self.readable_roots)

    def audio_path(self, value: str, field_name: str = "audio") -> str:
        """An input audio reference a server may read: an https URL, or a file inside an allowed dir
        (a relative path is taken inside the output dir)."""
        if is_url(value):
            return value
        raw = Path(value).expanduser()
        candidate = (raw if raw.is_absolute() else self.output_dir / raw).resolve()
        if not self.contains(candidate):
            raise InputError(f"{field_name}: {value!r} is outside the directories this server may read",
                             field=field_name, hint="put the file in the output dir or start the server "
                             "with --allow-dir DIR")
        return str(candidate)

"""Files that appear whole or not at all.

A staged file is an anonymous file (O_TMPFILE) in the output directory: it has no
name until `link` gives it one with linkat(2), so a crash, a Ctrl-C or even
kill -9 leaves nothing behind. Where the filesystem has no O_TMPFILE, a hidden
`.aimusic-<pid>-*.part` file stands in and is removed on any failure (and swept
later if the process was killed).
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO

_AT_FDCWD = -100
_AT_SYMLINK_FOLLOW = 0x400
_PART_RE = re.compile(r"^\.aimusic-(\d+)-.*\.part$")
_libc = None


def _linkat(src: str, dst: str) -> None:
    # os.link() does not pass AT_SYMLINK_FOLLOW, which naming an O_TMPFILE through /proc needs.
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.linkat(_AT_FDCWD, src.encode(), _AT_FDCWD, os.fsencode(dst), _AT_SYMLINK_FOLLOW) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), dst)


class StagedFile:
    """A file being written in `directory` that has no visible name yet."""

    def __init__(self, directory: str | Path, suffix: str = "") -> None:
        self.directory = Path(directory)
        self.suffix = suffix
        self._named: str | None = None
        self.final_path: Path | None = None
        try:
            self._fd = os.open(self.directory, os.O_TMPFILE | os.O_RDWR, 0o644)
        except (OSError, AttributeError):
            fd, self._named = tempfile.mkstemp(dir=self.directory, prefix=f".aimusic-{os.getpid()}-",
                                               suffix=".part")
            self._fd = fd
            os.fchmod(fd, 0o644)

    @property
    def path(self) -> str:
        """A path other libraries can open to write or read this file (before it is linked)."""
        return self._named or f"/proc/self/fd/{self._fd}"

    def open(self, mode: str = "r+b") -> BinaryIO:
        return open(self.path, mode)  # noqa: SIM115 - the caller closes it

    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def link(self, final_path: str | Path) -> None:
        """Give the file its name; raises FileExistsError if that name is taken."""
        final_path = Path(final_path)
        os.fsync(self._fd)
        if self._named:
            os.link(self._named, final_path)  # fails on an existing name, like linkat
        else:
            try:
                _linkat(self.path, str(final_path))
            except OSError as exc:
                if exc.errno == errno.EEXIST:
                    raise FileExistsError(str(final_path)) from None
                raise
        self.final_path = final_path

    def close(self) -> None:
        """Drop the staging handle (and the hidden name, if one was needed)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._named:
            Path(self._named).unlink(missing_ok=True)
            self._named = None

    def __del__(self) -> None:  # last resort; normal paths call close()
        try:
            self.close()
        except Exception:
            pass


def sweep_stale_parts(directory: str | Path) -> None:
    """Remove hidden part files left by processes that were killed (fallback path only)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        match = _PART_RE.match(name)
        if not match:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        except PermissionError:
            alive = True
        if not alive:
            Path(directory, name).unlink(missing_ok=True)

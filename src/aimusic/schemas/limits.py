"""Every size aimusic accepts from outside, in one place, checked before any work starts.

Front doors (CLI, MCP, the Python API, batch files) read user files through `read_bounded`
(regular files only, a stated cap: a FIFO or a device is refused at once, never opened for a
blocking read), parse JSON through `load_json` (numbers of at most `MAX_DIGITS` digits, no
NaN/Infinity, nesting at most `MAX_DEPTH`), and check free text with `check_text`. Each error
names the limit it hit, so the fix is obvious.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

from aimusic.errors import InputError, InputFileError

MAX_DIGITS = 18                      # digits in one number: a seed has 10, a sample count 12
MAX_DEPTH = 32                       # nesting of a JSON or YAML document (inputs nest 3 deep)
MAX_REQUEST_CHARS = 4_000            # a request in plain words
MAX_INPUT_FILE_BYTES = 4 * 1024**2   # --input @file.json
MAX_TEXT_FILE_BYTES = 1024**2        # --lyrics @file, a batch's lyrics_file / languages files
MAX_BATCH_FILE_BYTES = 16 * 1024**2  # a batch file (YAML, JSON, JSONL)
MAX_PLAN_SECONDS = 3_600.0           # the longest piece one plan makes (one hour)
MAX_CHAIN_STEPS = 64                 # calls one plan may chain to reach its length
MAX_TAKES = 1_000                    # takes one plan asks for ("50 tracks")
MAX_VALUES = 1_000_000               # values in one parsed document (YAML aliases can multiply them)

_LONG_NUMBER = re.compile(r"\d{%d,}" % (MAX_DIGITS + 1))


def read_bounded(path: str | Path, field: str, what: str, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes. InputFileError (66) when it is
    missing, a directory, a FIFO/device/socket or unreadable; InputError (65) when too big.

    Opened with O_NONBLOCK so a FIFO never blocks the open, and checked with fstat on the open
    descriptor (no race between the check and the read); at most `limit + 1` bytes are read, so
    /dev/zero or a growing file cannot exhaust memory."""
    path = Path(path).expanduser()
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputFileError(f"{what} not found: {path}", field=field) from None
    except IsADirectoryError:
        raise InputFileError(f"{what} {path} is a directory", field=field) from None
    except OSError as exc:
        raise InputFileError(f"cannot read {what} {path}: {exc.strerror or exc.__class__.__name__}",
                             field=field) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputFileError(f"{what} {path} is a directory", field=field)
        if not stat.S_ISREG(info.st_mode):
            raise InputFileError(f"{what} {path} is not a regular file (FIFOs, devices and sockets are "
                                 "refused)", field=field)
        if info.st_size > limit:
            raise InputError(f"{what} {path} is {info.st_size} bytes, over the {limit}-byte limit",
                             field=field)
        os.set_blocking(fd, True)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InputFileError(f"cannot read {what} {path}: {exc.strerror or exc.__class__.__name__}",
                             field=field) from None
    finally:
        os.close(fd)
    if size > limit:
        raise InputError(f"{what} {path} is over the {limit}-byte limit", field=field)
    return b"".join(chunks)


def check_regular_file(path: str | Path, field: str, what: str = "file") -> None:
    """Refuse at once a path that exists but is a FIFO, device or socket (reading it would block
    or never end); a missing path is left to the reader's own message."""
    try:
        mode = os.stat(Path(path).expanduser()).st_mode
    except (OSError, ValueError):
        return
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise InputFileError(f"{what} {path} is not a regular file (FIFOs, devices and sockets are refused)",
                             field=field)


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _TooLong(text)
    return int(text)


def _bounded_float(text: str) -> float:
    digits = sum(ch.isdigit() for ch in text)
    if digits > MAX_DIGITS * 2:
        raise _TooLong(text)
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text)
    return value


def _no_constant(text: str) -> Any:
    raise _NotFinite(text)


class _TooLong(ValueError):
    pass


class _NotFinite(ValueError):
    pass


def load_json(text: str, field: str, what: str = "input") -> Any:
    """Parse JSON with every number bounded and no NaN/Infinity; InputError (65) naming the limit."""
    try:
        value = json.loads(text, parse_int=_bounded_int, parse_float=_bounded_float,
                           parse_constant=_no_constant)
    except _TooLong:
        raise InputError(f"{what} holds a number of more than {MAX_DIGITS} digits", field=field) from None
    except _NotFinite:
        raise InputError(f"{what} holds NaN or Infinity, which are not numbers here", field=field) from None
    except RecursionError:
        raise InputError(f"{what} is nested more than {MAX_DEPTH} levels deep", field=field) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{what} is not valid JSON at line {exc.lineno} column {exc.colno}", field=field,
                         hint="pass a JSON object, e.g. '{\"tags\": \"lofi\"}'") from None
    except ValueError:  # Python's own int-size guard, or a number JSON cannot hold
        raise InputError(f"{what} holds a number of more than {MAX_DIGITS} digits", field=field) from None
    check_depth(value, field, what)
    return value


def check_depth(value: Any, field: str, what: str = "input", limit: int = MAX_DEPTH) -> None:
    """InputError when `value` (parsed JSON/YAML) nests deeper than `limit`, or holds a number of
    more than MAX_DIGITS digits or one that is not finite. Iterative: no recursion to overflow."""
    stack = [(value, 1)]
    seen = 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise InputError(f"{what} holds more than {MAX_VALUES} values", field=field)
        if isinstance(item, (dict, list, tuple)):
            if depth > limit:
                raise InputError(f"{what} is nested more than {limit} levels deep", field=field)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
            if isinstance(item, dict):
                stack.extend((key, depth + 1) for key in item if not isinstance(key, str))
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if item.bit_length() > MAX_DIGITS * 3.33 + 1:
                raise InputError(f"{what} holds a number of more than {MAX_DIGITS} digits", field=field)
        elif isinstance(item, float) and not math.isfinite(item):
            raise InputError(f"{what} holds NaN or Infinity, which are not numbers here", field=field)


def check_text(text: str, field: str, what: str, max_chars: int = MAX_REQUEST_CHARS) -> str:
    """Free text from a user: at most `max_chars` characters and no number of more than
    MAX_DIGITS digits (which no request needs, and which makes number parsing slow)."""
    if len(text) > max_chars:
        raise InputError(f"{what} is {len(text)} characters, over the {max_chars}-character limit",
                         field=field)
    if _LONG_NUMBER.search(text):
        raise InputError(f"{what} holds a number of more than {MAX_DIGITS} digits", field=field)
    return text


def finite(value: float | None, field: str, what: str) -> float | None:
    """`value` unless it is NaN or infinite (InputError naming `what`)."""
    if value is not None and (isinstance(value, bool) or not math.isfinite(float(value))):
        raise InputError(f"{what} must be a finite number, not {value!r}", field=field)
    return value

"""The batch file's schema: what a file and an entry may hold, as pydantic models with
extra="forbid", and the readers for YAML, JSON and JSONL.

Validation here is about shape (which fields, which types); what the values mean (a model
that exists, a count the `vary` lists can give, a lyrics file that is there) is checked by
the expanders (`aimusic.batch.expand`). Every error is one `InputError` naming the entry
number (and the line, in JSONL) and the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Union

from pydantic import BaseModel, ConfigDict, ValidationError

from aimusic.errors import InputError
from aimusic.schemas import read_text_file
from aimusic.schemas.limits import MAX_BATCH_FILE_BYTES, check_depth, load_json

DEFAULT_BATCH_SEED = 0
MAX_SEED = 2**31 - 1

_STRICT = ConfigDict(extra="forbid", strict=True)


class DraftThenPolish(BaseModel):
    """`draft_then_polish: {drafts, draft_model, polish_model, choose}` (or just a number of drafts)."""

    model_config = _STRICT
    drafts: int = 4
    choose: int = 1
    draft_model: str | None = None
    polish_model: str | None = None
    draft_provider: str | None = None
    polish_provider: str | None = None


class Entry(BaseModel):
    """One entry of a batch file: plain words (`request`) or explicit fields, plus at most one
    generator (`count`/`vary`, `languages`, `draft_then_polish`)."""

    model_config = _STRICT
    request: str | None = None
    model: str | None = None
    provider: str | None = None
    tags: Union[str, list[str], None] = None
    lyrics: str | None = None
    lyrics_file: Any = None
    duration: float | None = None
    seed: int | None = None
    task: str | None = None
    audio: Any = None
    input: dict[str, Any] | None = None
    title: Any = None
    language: Any = None
    name: Any = None
    count: int | None = None
    vary: list[list[Union[str, int, float]]] | None = None
    languages: dict[Any, Any] | None = None
    draft_then_polish: Union[int, DraftThenPolish, None] = None


class FileSettings(BaseModel):
    """The top level of a batch file besides its entries."""

    model_config = _STRICT
    defaults: dict[str, Any] | None = None
    seed: int = DEFAULT_BATCH_SEED


ENTRY_FIELDS = frozenset(Entry.model_fields)
FILE_FIELDS = frozenset({"items", *FileSettings.model_fields})

# the sentence a wrong type of each field gets (the same words the expanders use for values)
TYPE_MESSAGES = {
    "request": "request must be plain words",
    "model": "model must be a model id",
    "provider": "provider must be text",
    "tags": "tags must be text or a list of words",
    "lyrics": "lyrics must be text",
    "duration": "duration must be a number of seconds",
    "seed": f"seed must be an integer between 0 and {MAX_SEED}",
    "task": "task must be a task name (generate, inpaint, outpaint, remix, ...)",
    "input": "input must be a mapping of model fields",
    "count": "count must be a positive whole number",
    "vary": "vary must be a list of non-empty lists of words, e.g. [[calm, upbeat], [piano, guitar]]",
    "languages": "languages must map a language code to a lyrics file, e.g. {en: lyrics/en.txt}",
    "draft_then_polish": "draft_then_polish takes a number of drafts or {drafts, draft_model, polish_model, choose}",
    "draft_then_polish.drafts": "draft_then_polish.drafts must be a whole number from 1 to 1000",
    "draft_then_polish.choose": "draft_then_polish.choose must pick one of the drafts",
}


def check_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """Check an entry's shape against `Entry`; returns it unchanged (the expanders read the
    values as written, so a re-read file gives the same keys). Raises InputError naming the field."""
    try:
        Entry.model_validate(entry)
    except ValidationError as exc:
        raise _entry_error(exc) from None
    return entry


def _entry_error(exc: ValidationError) -> InputError:
    problems = exc.errors()
    unknown = [p for p in problems if p["type"] == "extra_forbidden"]
    if unknown:
        loc = [str(part) for part in unknown[0]["loc"]]
        if loc[0] == "draft_then_polish":
            return InputError(f"draft_then_polish: unknown field {loc[-1]!r}", field="draft_then_polish")
        import difflib

        name = loc[0]
        close = difflib.get_close_matches(name, sorted(ENTRY_FIELDS), n=1)
        return InputError(f"unknown field {name!r}", field=name,
                          hint=f"did you mean {close[0]!r}?" if close else f"fields: {', '.join(sorted(ENTRY_FIELDS))}")
    loc = [str(part) for part in problems[0]["loc"]] or ["entry"]
    field = loc[0]
    if field == "draft_then_polish" and len(loc) > 1 and loc[-1] in ("drafts", "choose"):
        field = f"draft_then_polish.{loc[-1]}"
    message = TYPE_MESSAGES.get(field) or f"{field}: {problems[0]['msg']}"
    return InputError(message, field=field)


def check_settings(doc: dict[str, Any], name: str) -> FileSettings:
    """The file's `defaults` and `seed`, checked."""
    try:
        return FileSettings.model_validate({k: v for k, v in doc.items() if k != "items"})
    except ValidationError as exc:
        field = str((exc.errors()[0]["loc"] or ("file",))[0])
        if field == "defaults":
            return_error = InputError(f"{name}: defaults must be a mapping", field="defaults")
        elif field == "seed":
            return_error = InputError(f"{name}: seed must be an integer", field="seed")
        else:
            return_error = InputError(f"{name}: unknown top-level key {field!r}", field="file",
                                      hint="top level takes items, defaults, seed")
        raise return_error from None


# --- reading files --------------------------------------------------------------------------

def read_batch_file(path: str | Path) -> dict[str, Any]:
    """{"items": [...], "defaults": {...}, "seed": int} from a YAML, JSON or JSONL file."""
    path = Path(path).expanduser()
    text = read_text_file(path, "file", "batch file", limit=MAX_BATCH_FILE_BYTES)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson") or (suffix not in (".yaml", ".yml", ".json") and _looks_jsonl(text)):
        return _from_jsonl(text, path)
    return _from_yaml(text, path)


def _looks_jsonl(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    return len(lines) > 1 and all(line.lstrip().startswith("{") for line in lines)


def _from_jsonl(text: str, path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = {"items": []}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            value = json.loads(line, parse_constant=_refuse)
        except (json.JSONDecodeError, _Refused) as exc:
            raise InputError(f"{path.name} line {number}: not JSON ({getattr(exc, 'msg', exc)})",
                             field="file") from None
        except (RecursionError, ValueError):  # too deep, or a number past Python's digit limit
            value = load_json(line, "file", f"{path.name} line {number}")  # names the limit
        check_depth(value, "file", f"{path.name} line {number}")
        if not isinstance(value, dict):
            raise InputError(f"{path.name} line {number}: each line must be a JSON object", field="file")
        if value and set(value) <= FILE_FIELDS - {"items"}:  # a settings line: {"defaults": ..., "seed": ...}
            doc.update(value)
            continue
        value.setdefault("_line", number)
        doc["items"].append(value)
    return doc


class _Refused(ValueError):
    pass


def _refuse(name: str) -> Any:
    raise _Refused(f"{name} is not a number here")


def _from_yaml(text: str, path: Path) -> dict[str, Any]:
    import yaml

    try:
        value = yaml.safe_load(text)
    except RecursionError:
        from aimusic.schemas.limits import MAX_DEPTH

        raise InputError(f"{path.name} is nested more than {MAX_DEPTH} levels deep", field="file") from None
    except ValueError:  # an integer past Python's digit limit
        from aimusic.schemas.limits import MAX_DIGITS

        raise InputError(f"{path.name} holds a number of more than {MAX_DIGITS} digits", field="file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InputError(f"{path.name}{where}: {problem}", field="file") from None
    if value is None:
        raise InputError(f"{path.name} is empty", field="file", hint="list at least one entry")
    check_depth(value, "file", path.name)
    if isinstance(value, list):
        return {"items": value}
    if isinstance(value, dict):
        if "items" not in value:
            if set(value) & ENTRY_FIELDS:  # a file holding a single entry
                return {"items": [value]}
            raise InputError(f"{path.name}: expected a list of entries or a mapping with 'items'",
                             field="file")
        unknown = set(value) - FILE_FIELDS
        if unknown:
            raise InputError(f"{path.name}: unknown top-level key(s): {', '.join(sorted(map(str, unknown)))}",
                             field="file", hint="top level takes items, defaults, seed")
        return dict(value)
    raise InputError(f"{path.name}: expected a list of entries or a mapping with 'items'", field="file")

"""Expanding a batch file's entries into concrete, validated items.

An entry is either plain words (`request:`, planned by `aimusic.plan.make_plan`) or
explicit fields (model, provider, tags, lyrics, duration, seed, task, audio, input); its
shape is checked first (`aimusic.batch.schema`). Three generators turn one entry into many items:

- `count: N` with `vary: [[a, b], [c, d, e]]`: N items whose tags get one alternative
  from each inner list; combinations are sampled without repeats, seeded.
- `languages: {en: lyrics/en.txt, es: lyrics/es.txt}`: one item per language with the
  same tags and seed (a multilingual launch).
- `draft_then_polish: {drafts: N, draft_model: ..., polish_model: ..., choose: k}`:
  N cheap drafts, then draft k's settings (tags, lyrics, duration, seed) on the premium model.

Every item gets a fixed seed before anything runs (derived from the batch seed when the
entry gives none), so a re-run or a resume renders exactly the same request, and a
content-derived key, so the manifest recognises an item across runs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aimusic.batch.schema import (DEFAULT_BATCH_SEED, ENTRY_FIELDS, FILE_FIELDS, check_entry, check_settings,
                                  read_batch_file)
from aimusic.errors import AimusicError, InputError
from aimusic.output.naming import slugify
from aimusic.schemas import read_text_file

MAX_ITEMS = 100_000
MAX_VARY_GROUPS = 8     # 8 lists of 64 words: 2.8e14 combinations, within what sampling can index
MAX_VARY_WORDS = 64
DEFAULT_DRAFT_MODEL = "local/sketch/text-to-audio"
DEFAULT_POLISH_MODEL = "elevenlabs/elevenlabs/music-generation"

__all__ = ["DEFAULT_BATCH_SEED", "ENTRY_FIELDS", "FILE_FIELDS", "Item", "load_batch", "read_batch_file",
           "shape_input", "summarize", "combinations"]

@dataclass
class Item:
    """One concrete job of a batch: a validated model input plus library metadata."""

    key: str                  # stable across runs: content hash + occurrence
    seq: int                  # 1-based position in the expanded batch (index order)
    entry: int                # 1-based entry number in the batch file (for messages)
    model: str
    provider: str             # the concrete provider (never "auto")
    task: str
    input: dict[str, Any]
    title: str
    tags: str
    language: str | None
    seed: int | None
    stem: str                 # final file name without extension
    role: str = "item"        # item | draft | polish
    depends_on: str | None = None
    est_seconds: float = 0.0
    est_cost: float = 0.0
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Item:
        return cls(**data)


# --- expanding -----------------------------------------------------------------------------

def load_batch(path: str | Path, *, check_keys: bool = False) -> list[Item]:
    """Read a batch file and expand it into validated items (no network, no heavy imports)."""
    path = Path(path).expanduser()
    doc = read_batch_file(path)
    entries = doc.get("items")
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{path.name}: no entries", field="file", hint="list at least one entry under items")
    settings = check_settings(doc, path.name)
    defaults = settings.defaults or {}
    batch_seed = settings.seed
    items: list[Item] = []
    for number, raw in enumerate(entries, 1):
        if not isinstance(raw, dict):
            raise InputError(f"entry {number}: must be a mapping of fields, not {type(raw).__name__}",
                             field=f"items[{number}]")
        line = raw.get("_line")
        label = f"entry {number}" + (f" (line {line})" if line else "")
        entry = {**defaults, **{k: v for k, v in raw.items() if k != "_line"}}
        try:
            items.extend(_expand_entry(entry, number, batch_seed, path.parent, check_keys))
        except AimusicError as exc:
            exc.message = f"{label}: {exc.message}"
            raise
        if len(items) > MAX_ITEMS:
            raise InputError(f"the batch expands to more than {MAX_ITEMS} items", field="count")
    return _number(items)


def _number(items: list[Item]) -> list[Item]:
    seen: dict[str, int] = {}
    for seq, item in enumerate(items, 1):
        item.seq = seq
        base = item.key
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:  # an exact duplicate request: a distinct item all the same
            item.key = f"{base}.{seen[base]}"
            item.stem = f"{item.stem}-{seen[base]}"
    keys = {item.key: item for item in items}
    for item in items:
        if item.depends_on and item.depends_on not in keys:
            item.depends_on = None
    return items


def _expand_entry(entry: dict[str, Any], number: int, batch_seed: int, base_dir: Path,
                  check_keys: bool) -> list[Item]:
    check_entry(entry)
    generators = [g for g in ("count", "languages", "draft_then_polish") if g in entry]
    if "vary" in entry and "count" not in entry:
        entry = {**entry, "count": None}
        generators = ["count"] + [g for g in generators if g != "count"]
    if len(generators) > 1:
        raise InputError(f"use one generator per entry, not {' and '.join(generators)}", field=generators[1])
    lyrics = _lyrics_of(entry, base_dir)
    rng = random.Random(f"{batch_seed}:{number}")
    if "draft_then_polish" in entry:
        return _draft_then_polish(entry, number, lyrics, rng, base_dir, check_keys)
    if "languages" in entry:
        return _languages(entry, lyrics, number, rng, base_dir, check_keys)
    base = _base_request(entry, lyrics, check_keys)
    if base.count > 1 and "count" not in entry:  # "twenty lofi tracks ...": the planner counted
        entry = {**entry, "count": base.count}
    if "count" in entry:
        return _count_vary(entry, base, number, rng, check_keys)
    seed = _entry_seed(entry, rng)
    return [_make_item(base, number, seed=seed, check_keys=check_keys)]


def _lyrics_of(entry: dict[str, Any], base_dir: Path) -> str | None:
    if "lyrics_file" in entry:
        if "lyrics" in entry:
            raise InputError("give lyrics or lyrics_file, not both", field="lyrics_file")
        return _read_text(entry["lyrics_file"], base_dir, "lyrics_file")
    lyrics = entry.get("lyrics")
    if lyrics is not None and not isinstance(lyrics, str):
        raise InputError("lyrics must be text", field="lyrics")
    return lyrics


def _read_text(value: Any, base_dir: Path, field_name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{field_name} must be a file path", field=field_name)
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    return read_text_file(path, field_name, field_name)


def _entry_seed(entry: dict[str, Any], rng: random.Random) -> int:
    seed = entry.get("seed")
    if seed is None or seed == -1:
        return rng.randrange(0, 2**31 - 1)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= 2**31 - 1:
        raise InputError(f"seed must be an integer between 0 and {2**31 - 1}", field="seed")
    return seed


@dataclass
class _Request:
    """An entry resolved to a model, before seeds and generators are applied."""

    model: str
    provider: str
    tags: str
    lyrics: str | None
    duration: float | None
    language: str | None
    title: str | None
    input: dict[str, Any]          # shaped for the model (tags/prompt, duration fields, ...)
    reasons: list[str]
    name: str | None = None
    count: int = 1


def _base_request(entry: dict[str, Any], lyrics: str | None, check_keys: bool,
                  model_override: str | None = None) -> _Request:
    from aimusic.catalog import get_model

    provider = entry.get("provider") or "auto"
    if not isinstance(provider, str):
        raise InputError("provider must be text", field="provider")
    extra_input = entry.get("input") or {}
    if not isinstance(extra_input, dict):
        raise InputError("input must be a mapping of model fields", field="input")
    duration = entry.get("duration")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, (int, float))):
        raise InputError("duration must be a number of seconds", field="duration")
    tags = entry.get("tags")
    if tags is not None and not isinstance(tags, str):
        if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
            tags = ", ".join(tags)
        else:
            raise InputError("tags must be text or a list of words", field="tags")
    reasons: list[str] = []
    model_id = model_override or entry.get("model")
    planned: dict[str, Any] = {}
    planned_count = None
    request = entry.get("request")
    if request is not None and not isinstance(request, str):
        raise InputError("request must be plain words", field="request")
    if request and not model_override:
        plan = _make_plan(request, entry, lyrics, provider)
        planned = dict(plan.get("input") or {})
        reasons = [str(r) for r in plan.get("reasons") or []]
        planned_count = plan.get("count")
        if not model_id:
            model_id = plan.get("model")
            provider = plan.get("provider") or provider
        if tags is None:
            tags = planned.get("tags") or planned.get("prompt")
    if not model_id:
        if entry.get("task") not in (None, "generate"):
            raise InputError(f"task {entry['task']!r} needs a model", field="model",
                             hint="name the model (see `aimusic models`)")
        model_id = DEFAULT_DRAFT_MODEL
        reasons.append("no model or request given: the offline sketch engine")
    if not isinstance(model_id, str):
        raise InputError("model must be a model id", field="model")
    model = get_model(model_id)
    if entry.get("task") and entry["task"] != model.task:
        raise InputError(f"{model.id} does not do {entry['task']!r} (it does {model.task})", field="task")
    from aimusic.plan.providers import provider_for_model

    chosen = provider_for_model(model, provider)
    needs_style = "tags" in model.input_model.model_fields and model.input_model.model_fields["tags"].is_required() \
        or "prompt" in model.input_model.model_fields   # separate/layer take their style from the source
    if needs_style and not tags and not extra_input.get("tags") and not extra_input.get("prompt") \
            and not planned.get("tags") and not planned.get("prompt"):
        raise InputError("no tags: give tags, a request, or input", field="tags")
    language = entry.get("language")
    shaped = shape_input(model, tags or "", lyrics, duration, None, language, planned)
    shaped.update(extra_input)
    if entry.get("audio") is not None:
        shaped["audio"] = entry["audio"]
    title = entry.get("title")
    if title is not None and not isinstance(title, str):
        raise InputError("title must be text", field="title")
    name = entry.get("name")
    if name is not None and not isinstance(name, str):
        raise InputError("name must be text (a file name, not a path)", field="name")
    if name is not None and not slugify(name, max_length=60):
        raise InputError(f"name {name!r} gives no usable file name", field="name",
                         hint="use letters or digits; a name is a file name inside the library, never a path")
    return _Request(model=model.id, provider=chosen, tags=tags or shaped.get("tags") or "",
                    lyrics=lyrics, duration=duration, language=language,
                    title=title, input=shaped, reasons=reasons, name=name,
                    count=int(planned_count) if isinstance(planned_count, int) and planned_count > 1 else 1)


def _make_plan(request: str, entry: dict[str, Any], lyrics: str | None, provider: str) -> dict[str, Any]:
    try:
        from aimusic.plan import make_plan
    except ImportError:
        raise InputError("plain-words requests need the planner, which this installation lacks",
                         field="request", hint="give model and tags instead") from None
    audio = entry.get("audio")
    plan = make_plan(request, audio=audio, lyrics=lyrics, provider=provider)
    return plan.to_dict() if hasattr(plan, "to_dict") else dict(plan)


def shape_input(model: Any, tags: str, lyrics: str | None, duration: float | None, seed: int | None,
                language: str | None, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Explicit batch fields in the shape `model`'s input takes: tags/lyrics for ACE-style
    models, one prompt (brief then lyrics) and milliseconds for ElevenLabs-style ones."""
    fields = model.input_model.model_fields
    data = dict(base or {})
    if "tags" in fields:
        if tags:
            data["tags"] = tags
        if lyrics is not None:
            data["lyrics"] = lyrics
    elif "prompt" in fields:
        if tags or lyrics or "prompt" not in data:
            prompt = tags or data.get("prompt", "")
            if lyrics and lyrics.strip() and lyrics.strip().lower() != "[inst]":
                prompt = f"{prompt}\n\n{lyrics.strip()}"
            data["prompt"] = prompt
        if lyrics is not None and lyrics.strip().lower() == "[inst]" and "force_instrumental" in fields:
            data["force_instrumental"] = True
    if duration is not None:
        if "duration" in fields:
            annotation = fields["duration"].annotation
            data["duration"] = int(round(duration)) if annotation is int else float(duration)
        elif "music_length_ms" in fields:
            data["music_length_ms"] = int(round(duration * 1000))
    if seed is not None and "seed" in fields:
        data["seed"] = seed
    if language and "vocal_language" in fields:
        data["vocal_language"] = language
    return {k: v for k, v in data.items() if k in fields}


def _add_tags(req: _Request, extra: list[str]) -> tuple[str, dict[str, Any]]:
    words = ", ".join(extra)
    tags = f"{req.tags}, {words}" if req.tags else words
    shaped = dict(req.input)
    if "tags" in shaped:
        shaped["tags"] = f"{shaped['tags']}, {words}"
    elif "prompt" in shaped:  # the style brief leads the prompt; lyrics follow it
        head, sep, rest = shaped["prompt"].partition("\n")
        shaped["prompt"] = f"{head}, {words}{sep}{rest}"
    return tags, shaped


def _make_item(req: _Request, number: int, *, seed: int | None, check_keys: bool, tags: str | None = None,
               shaped: dict[str, Any] | None = None, language: str | None = None,
               role: str = "item", depends_on: str | None = None, variant: str = "") -> Item:
    from aimusic.catalog.pricing import estimate_cost
    from aimusic.plan.direct import prepare
    from aimusic.catalog import get_model
    from aimusic.output.naming import slugify, title_for

    model = get_model(req.model)
    data = dict(shaped if shaped is not None else req.input)
    fields = model.input_model.model_fields
    if seed is not None and "seed" in fields:
        data["seed"] = seed
    language = language or req.language
    if language and "vocal_language" in fields:
        data["vocal_language"] = language
    if language and model.languages and language not in model.languages:
        raise InputError(f"{model.id} does not sing in {language!r}", field="languages",
                         hint=f"it knows: {', '.join(model.languages)}")
    _, request, provider = prepare(model.id, data, req.provider, check_keys=check_keys)
    valid = request.to_json_dict()
    # a model without a seed field (ElevenLabs) has no seed to record
    effective_seed = valid.get("seed") if isinstance(valid.get("seed"), int) else None
    title = req.title or title_for(model.id, valid)
    item_tags = tags or req.tags or str(valid.get("tags") or "")
    digest = hashlib.sha256(json.dumps([model.id, provider, valid, role], sort_keys=True).encode()).hexdigest()
    # a name is only ever a file name inside the library: slugified like a title, never a path
    stem_parts = [slugify(req.name or "", max_length=60) or slugify(title, max_length=40) or "music"]
    if variant:
        stem_parts.append(slugify(variant, max_length=24))
    if language:
        stem_parts.append(slugify(language, max_length=8))
    if role != "item":
        stem_parts.append(role)
    if effective_seed is not None:
        stem_parts.append(f"s{effective_seed}")
    stem_parts.append(digest[:6])
    from aimusic.catalog.pricing import output_seconds

    seconds = output_seconds(model, valid)
    cost = estimate_cost(model, valid) if model.price_per_second else 0.0
    return Item(key=digest[:16], seq=0, entry=number, model=model.id, provider=provider, task=model.task,
                input=valid, title=title, tags=item_tags, language=language, seed=effective_seed,
                stem="-".join(p for p in stem_parts if p), role=role, depends_on=depends_on,
                est_seconds=float(seconds), est_cost=float(cost), reasons=list(req.reasons))


def _count_vary(entry: dict[str, Any], base: _Request, number: int, rng: random.Random,
                check_keys: bool) -> list[Item]:
    vary = entry.get("vary") or []
    if not isinstance(vary, list) or not all(isinstance(group, list) and group for group in vary) \
            or not all(isinstance(word, (str, int, float)) for group in vary for word in group):
        raise InputError("vary must be a list of non-empty lists of words, e.g. [[calm, upbeat], [piano, guitar]]",
                         field="vary")
    if len(vary) > MAX_VARY_GROUPS or any(len(group) > MAX_VARY_WORDS for group in vary):
        raise InputError(f"vary takes at most {MAX_VARY_GROUPS} lists of at most {MAX_VARY_WORDS} words each",
                         field="vary")
    groups = [[str(word) for word in group] for group in vary]
    combos = 1
    for group in groups:
        combos *= len(group)
    count = entry.get("count")
    if count is None:
        count = combos if groups else 1
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise InputError("count must be a positive whole number", field="count")
    if groups and count > combos:
        raise InputError(f"count {count} asks for more than the {combos} distinct combinations vary gives",
                         field="count", hint="add alternatives to vary, or lower count")
    if count > MAX_ITEMS:
        raise InputError(f"count {count} is more than {MAX_ITEMS}", field="count")
    # consecutive seeds from one base: the local engine renders such a run in one batched call
    first_seed = _entry_seed(entry, rng)
    picks = rng.sample(range(combos), count) if groups else [0] * count
    items = []
    for index, pick in enumerate(picks):
        choice = []
        for group in reversed(groups):  # mixed-radix digits of the combination number
            pick, digit = divmod(pick, len(group))
            choice.append(group[digit])
        choice.reverse()
        seed = (first_seed + index) % (2**31 - 1)
        if choice:
            tags, shaped = _add_tags(base, choice)
        else:
            tags, shaped = base.tags, dict(base.input)
        items.append(_make_item(base, number, seed=seed, check_keys=check_keys, tags=tags, shaped=shaped))
    return items


def _languages(entry: dict[str, Any], default_lyrics: str | None, number: int, rng: random.Random,
               base_dir: Path, check_keys: bool) -> list[Item]:
    languages = entry["languages"]
    if not isinstance(languages, dict) or not languages:
        raise InputError("languages must map a language code to a lyrics file, e.g. {en: lyrics/en.txt}",
                         field="languages")
    seed = _entry_seed(entry, rng)  # one seed for every language: the same song, sung differently
    items = []
    for language, source in languages.items():
        language = str(language).strip()
        if not language or len(language) > 8:
            raise InputError(f"{language!r} is not a language code", field="languages")
        if isinstance(source, dict) and isinstance(source.get("lyrics"), str):
            lyrics = source["lyrics"]
        else:
            lyrics = _read_text(source, base_dir, f"languages.{language}")
        if not lyrics.strip():
            lyrics = default_lyrics or ""
        request = _base_request({**entry, "language": language}, lyrics, check_keys)
        items.append(_make_item(request, number, seed=seed, check_keys=check_keys, language=language))
    return items


def _draft_then_polish(entry: dict[str, Any], number: int, lyrics: str | None, rng: random.Random,
                       base_dir: Path, check_keys: bool) -> list[Item]:
    spec = entry["draft_then_polish"]
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = {"drafts": spec}
    if not isinstance(spec, dict):
        raise InputError("draft_then_polish takes a number of drafts or "
                         "{drafts, draft_model, polish_model, choose}", field="draft_then_polish")
    unknown = set(spec) - {"drafts", "draft_model", "polish_model", "choose", "polish_provider", "draft_provider"}
    if unknown:
        raise InputError(f"draft_then_polish: unknown field {sorted(unknown)[0]!r}", field="draft_then_polish")
    drafts = spec.get("drafts", 4)
    if not isinstance(drafts, int) or isinstance(drafts, bool) or not 1 <= drafts <= 1000:
        raise InputError("draft_then_polish.drafts must be a whole number from 1 to 1000",
                         field="draft_then_polish.drafts")
    choose = spec.get("choose", 1)
    if not isinstance(choose, int) or isinstance(choose, bool) or not 1 <= choose <= drafts:
        raise InputError(f"draft_then_polish.choose must pick one of the {drafts} drafts (1..{drafts})",
                         field="draft_then_polish.choose")
    draft_model = spec.get("draft_model", DEFAULT_DRAFT_MODEL)
    polish_model = spec.get("polish_model") or entry.get("model") or DEFAULT_POLISH_MODEL
    draft_entry = {k: v for k, v in entry.items() if k not in ("draft_then_polish", "model", "provider", "input")}
    draft_entry["provider"] = spec.get("draft_provider", "auto")
    draft_req = _base_request(draft_entry, lyrics, check_keys, model_override=draft_model)
    first_seed = _entry_seed(entry, rng)
    seeds = [(first_seed + i) % (2**31 - 1) for i in range(drafts)]
    items = [_make_item(draft_req, number, seed=seed, check_keys=check_keys, role="draft",
                        variant=f"d{i + 1}") for i, seed in enumerate(seeds)]
    chosen = items[choose - 1]
    polish_entry = dict(draft_entry)
    polish_entry["provider"] = spec.get("polish_provider", entry.get("provider", "auto"))
    if entry.get("input"):
        polish_entry["input"] = entry["input"]
    # the chosen draft's settings, carried over as settings (not audio): tags, lyrics, duration, seed
    polish_entry["duration"] = chosen.est_seconds
    polish_req = _base_request(polish_entry, lyrics, check_keys, model_override=polish_model)
    polish = _make_item(polish_req, number, seed=chosen.seed, check_keys=check_keys, role="polish",
                        depends_on=chosen.key, variant=f"d{choose}")
    return items + [polish]


def summarize(items: list[Item]) -> dict[str, Any]:
    """Counts per model, seconds of audio and estimated cost: what `batch` shows before it runs."""
    per_model: dict[str, dict[str, Any]] = {}
    for item in items:
        row = per_model.setdefault(item.model, {"model": item.model, "provider": item.provider, "items": 0,
                                                "seconds": 0.0, "estimated_cost_usd": 0.0})
        row["items"] += 1
        row["seconds"] += item.est_seconds
        row["estimated_cost_usd"] += item.est_cost
    for row in per_model.values():
        row["seconds"] = round(row["seconds"], 3)
        row["estimated_cost_usd"] = round(row["estimated_cost_usd"], 6)
    return {"items": len(items), "seconds": round(sum(i.est_seconds for i in items), 3),
            "estimated_cost_usd": round(sum(i.est_cost for i in items), 6),
            "models": sorted(per_model.values(), key=lambda r: -r["items"])}


def combinations(groups: list[list[str]]) -> list[tuple[str, ...]]:
    """Every combination `vary` can give (for docs and tests)."""
    return list(itertools.product(*groups))

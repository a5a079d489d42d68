"""Readable, collision-free file names."""

from __future__ import annotations

import re
import unicodedata

MAX_STEM = 60


def slugify(text: str, *, max_length: int = MAX_STEM) -> str:
    """'Lo-fi hip hop, 80 BPM!' -> 'lo-fi-hip-hop-80-bpm'; non-Latin text is kept as letters."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"[^\w]+", "-", text, flags=re.UNICODE).strip("-_")
    text = re.sub(r"[-_]{2,}", "-", text)
    if len(text) > max_length:
        text = text[:max_length].rsplit("-", 1)[0] or text[:max_length]
    return text


def safe_name(name: str) -> str:
    """A file name from an untrusted source (URL segment, server): no directories, no dots up front."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^\w.\- ]+", "_", unicodedata.normalize("NFKC", name)).strip(" .")
    return name[:120] or "audio"


def title_for(model_id: str, request: dict) -> str:
    """A human title: the start of the tags or prompt, else the model's family."""
    for key in ("tags", "prompt"):
        value = request.get(key)
        if isinstance(value, str) and value.strip():
            words = re.split(r"[,.\n]", value.strip())[0:3]
            return ", ".join(w.strip() for w in words if w.strip())[:80]
    audio = request.get("audio")
    if isinstance(audio, str) and audio.strip() and not audio.startswith("<"):
        # separate/layer have no style words: the source's own name says what the files are
        name = audio.rstrip("/").rsplit("/", 1)[-1].split("?")[0].rsplit(".", 1)[0]
        if name:
            return name[:80]
    return model_id.split("/")[1]


def stem_for(model_id: str, request: dict, seed: int | None, index: int = 0) -> str:
    family = model_id.split("/")[1]
    task = model_id.split("/")[-1]
    parts = [slugify(title_for(model_id, request), max_length=40) or "music", slugify(family, max_length=24)]
    if task not in ("text-to-audio", "music-generation"):
        parts.append(task.replace("audio-", ""))
    if seed is not None and seed >= 0:
        parts.append(f"s{seed}")
    if index:
        parts.append(f"v{index + 1}")
    return "-".join(p for p in parts if p)

"""Where ACE-Step weights live: an explicit directory, AIMUSIC_ACESTEP_PATH, or the Hugging Face cache.

Nothing here imports torch or touches the network except `pull`, which the user asks for by name
(`aimusic models pull`). Finding weights is a few `stat` calls, so `aimusic models` stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from aimusic.errors import NotConfiguredError, UsageError

ENV_PATH = "AIMUSIC_ACESTEP_PATH"
MODEL_INDEX = "model_index.json"


def hf_cache_dir() -> Path:
    """The hub cache, read from the environment at call time (huggingface_hub reads it once at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def variant_of(model: Any) -> str:
    return model.extra["variant"]


def pull_command(variant: str) -> str:
    return f"aimusic models pull local/ace-step-1.5-{variant}/text-to-audio"


def cached_file(repo: str, filename: str) -> Path | None:
    """`filename` of the newest complete snapshot of `repo` in the hub cache, found without any
    network access.

    huggingface_hub's own layout: models--owner--name/refs/main names the snapshot; we ask it via
    try_to_load_from_cache so a future layout change stays its problem, not ours.
    """
    cache = hf_cache_dir()
    if not (cache / ("models--" + repo.replace("/", "--"))).is_dir():
        return None  # the common case costs one stat and no import
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, filename, cache_dir=str(cache))
    if isinstance(found, str) and Path(found).is_file():
        return Path(found)
    return None


def cached_snapshot(repo: str) -> Path | None:
    """The cached snapshot folder of a diffusers-format `repo` (the one holding model_index.json)."""
    found = cached_file(repo, MODEL_INDEX)
    return found.parent if found else None


def is_pipeline_dir(path: Path) -> bool:
    return (path / MODEL_INDEX).is_file()


def find_weights(model: Any, model_path: str | None = None) -> tuple[Path | None, str]:
    """(directory, where it came from) or (None, why not). Order: --model-path, env, hub cache."""
    if model_path:
        path = Path(model_path).expanduser()
        return (path, "--model-path") if is_pipeline_dir(path) else (None, f"--model-path {path}")
    env = os.environ.get(ENV_PATH)
    if env:
        path = Path(env).expanduser()
        return (path, ENV_PATH) if is_pipeline_dir(path) else (None, f"{ENV_PATH}={path}")
    repo = model.extra.get("repo")
    if repo:
        snapshot = cached_snapshot(repo)
        if snapshot is not None:
            return snapshot, f"hub cache ({repo})"
    return None, ""


def require_weights(model: Any, model_path: str | None = None) -> Path:
    """The weights directory for `model`, or NotConfiguredError (78) naming the exact fix."""
    path, source = find_weights(model, model_path)
    if path is not None:
        return path
    variant = variant_of(model)
    if source:  # a directory was named but is not a diffusers pipeline
        raise NotConfiguredError(
            f"{source} is not a diffusers-format ACE-Step directory (no {MODEL_INDEX})",
            field="model_path",
            hint="point it at the folder that holds model_index.json, or run "
                 + (f"`{pull_command(variant)}`" if model.extra.get("repo") else "diffusers' conversion script"))
    if model.extra.get("repo"):
        raise NotConfiguredError(
            f"ACE-Step 1.5 {variant} weights are not on this machine",
            field="model_path",
            hint=f"run `{pull_command(variant)}` (downloads {model.extra['repo']}), "
                 f"or pass --model-path DIR / set {ENV_PATH}")
    raise NotConfiguredError(
        f"no diffusers-format checkpoint of ACE-Step 1.5 {variant} is published",
        field="model_path",
        hint=f"convert the original weights with diffusers' ACE-Step conversion script, then pass "
             f"--model-path DIR or set {ENV_PATH}")


def resolve_pull_target(name: str) -> tuple[str, str]:
    """`local/ace-step-1.5-turbo/...`, `ace-step-1.5-turbo` or `turbo` -> (variant, hub repo)."""
    from aimusic.catalog.local_acestep import VARIANTS

    text = name.strip().strip("/")
    parts = text.split("/")
    family = parts[1] if len(parts) >= 2 and parts[0] == "local" else parts[0]
    variant = family.removeprefix("ace-step-1.5-")
    if variant not in VARIANTS:
        raise UsageError(f"unknown ACE-Step variant {name!r}", field="model",
                         hint="one of: " + ", ".join(f"local/ace-step-1.5-{v}" for v in VARIANTS))
    repo = VARIANTS[variant]["repo"]
    if not repo:
        raise NotConfiguredError(f"no diffusers-format checkpoint of ACE-Step 1.5 {variant} is published",
                                 hint="convert the original weights with diffusers' ACE-Step conversion "
                                      f"script and pass --model-path DIR or set {ENV_PATH}")
    return variant, repo


def pull(name: str) -> Path:
    """Download (or resume) a variant's diffusers checkpoint into the hub cache; returns its folder.

    huggingface_hub resumes interrupted files and shows a tqdm bar per file on stderr.
    """
    _variant, repo = resolve_pull_target(name)
    return download(repo)


def download(repo: str, allow_patterns: list[str] | None = None) -> Path:
    """snapshot_download into the hub cache with our error mapping (offline, missing, transport)."""
    from aimusic.errors import RetryableError, UpstreamError

    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        raise NotConfiguredError(f"cannot download {repo}: HF_HUB_OFFLINE is set",
                                 hint="unset HF_HUB_OFFLINE, or copy the weights and pass --model-path DIR")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    try:
        folder = snapshot_download(repo, cache_dir=str(hf_cache_dir()), allow_patterns=allow_patterns)
    except RepositoryNotFoundError:
        raise UpstreamError(f"{repo} was not found on the Hugging Face hub") from None
    except HfHubHTTPError as exc:
        raise UpstreamError(f"downloading {repo} failed: {exc.__class__.__name__}",
                            hint="run the same command again: finished files are kept") from None
    except (OSError, ConnectionError) as exc:
        raise RetryableError(f"downloading {repo} failed: {str(exc).splitlines()[0][:200]}",
                             hint="run the same command again: finished files are kept") from None
    return Path(folder)

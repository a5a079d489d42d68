"""LoRAs for ACE-Step 1.5: `--lora PATH_OR_REPO[:SCALE]` specs, their files, and applying them.

Parsing and hashing are torch-free (the ComfyUI engine parses the same specs). Applying goes
through diffusers' AceStepLoraLoaderMixin: `load_lora_weights` (which converts upstream ACE-Step's
PEFT-format keys itself), `set_adapters` for the scales, then `fuse_lora` + `unload_lora_weights`
so the DiT runs at full speed with the deltas folded in, as diffusers documents for inference.
A fused pipeline is cached under its LoRA set (runtime.load_pipeline), so no later run sees it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aimusic.errors import InputError, NotConfiguredError

WEIGHT_NAMES = ("pytorch_lora_weights.safetensors", "adapter_model.safetensors")
MAX_LORAS = 8
REPO_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class LoraSpec:
    source: str          # as the user wrote it (path, hub repo or a ComfyUI file name)
    scale: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"lora": self.source, "scale": self.scale}


def parse_spec(text: str) -> LoraSpec:
    """`PATH_OR_REPO[:SCALE]`: a trailing `:number` is the scale (1.0 when absent)."""
    raw = (text or "").strip()
    if not raw:
        raise InputError("--lora needs a file, folder or hub repo", field="lora")
    source, scale = raw, 1.0
    head, sep, tail = raw.rpartition(":")
    if sep and head:
        try:
            scale = float(tail)
            source = head
        except ValueError:
            pass  # a colon inside the name (C:\\..., a URL-ish name): no scale given
    if not -10.0 <= scale <= 10.0 or scale != scale:
        raise InputError(f"--lora {raw}: the scale must be between -10 and 10", field="lora")
    return LoraSpec(source, scale)


def parse_specs(values: Any) -> list[LoraSpec]:
    specs = [parse_spec(v) for v in (values or ())]
    if len(specs) > MAX_LORAS:
        raise InputError(f"at most {MAX_LORAS} LoRAs per run", field="lora")
    return specs


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_file(spec: LoraSpec) -> Path:
    """The .safetensors file a spec names: a file, a folder holding one (diffusers' or PEFT's
    file name, or the only one there), or a hub repo already in the cache."""
    path = Path(spec.source).expanduser()
    if not path.exists() and REPO_RE.match(spec.source) and not spec.source.endswith(".safetensors"):
        path = _cached_repo(spec.source)
    if path.is_file():
        if path.suffix != ".safetensors":
            raise InputError(f"--lora {spec.source}: only .safetensors LoRA files are read", field="lora")
        return path
    if path.is_dir():
        for name in WEIGHT_NAMES:
            if (path / name).is_file():
                return path / name
        found = sorted(path.glob("*.safetensors"))
        if len(found) == 1:
            return found[0]
        raise InputError(f"--lora {spec.source}: the folder holds {len(found)} .safetensors files",
                         field="lora", hint="name the file itself")
    raise InputError(f"--lora {spec.source}: no such file or folder", field="lora")


def _cached_repo(repo: str) -> Path:
    from aimusic.engines.local_acestep.weights import cached_file

    for name in WEIGHT_NAMES:
        found = cached_file(repo, name)
        if found is not None:
            return found
    raise NotConfiguredError(f"the LoRA repo {repo} is not on this machine", field="lora",
                             hint=f"download it first: `huggingface-cli download {repo}`, "
                                  "or pass the .safetensors file")


@dataclass(frozen=True)
class ResolvedLora:
    spec: LoraSpec
    file: Path
    sha256: str

    @property
    def adapter(self) -> str:
        return "lora_" + self.sha256[:12]

    def record(self) -> dict[str, Any]:
        return {"lora": self.spec.source, "file": self.file.name, "scale": self.spec.scale,
                "sha256": self.sha256}


def resolve(values: Any) -> list[ResolvedLora]:
    out = []
    for spec in parse_specs(values):
        file = resolve_file(spec)
        out.append(ResolvedLora(spec, file, file_sha256(file)))
    if len({r.sha256 for r in out}) != len(out):
        raise InputError("the same LoRA file is given twice: give it once with the summed scale", field="lora")
    return out


def cache_key(loras: list[ResolvedLora]) -> tuple:
    return tuple((r.sha256, r.spec.scale) for r in loras)


def apply(pipe: Any, loras: list[ResolvedLora]) -> None:
    """Load, weight and fuse `loras` into the pipeline's DiT (diffusers' own LoRA path)."""
    if not loras:
        return
    import warnings

    names = []
    for r in loras:
        try:
            with warnings.catch_warnings():  # peft's "multiple adapters" note: several is what was asked
                warnings.filterwarnings("ignore", message="Already found a `peft_config`")
                pipe.load_lora_weights(str(r.file.parent), weight_name=r.file.name, adapter_name=r.adapter)
        except (ValueError, KeyError, RuntimeError, OSError) as exc:
            raise InputError(f"--lora {r.spec.source}: not a LoRA for this ACE-Step DiT "
                             f"({exc.__class__.__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''})",
                             field="lora") from None
        names.append(r.adapter)
    pipe.set_adapters(names, adapter_weights=[r.spec.scale for r in loras])
    pipe.fuse_lora(components=["transformer"], lora_scale=1.0, adapter_names=names)
    pipe.unload_lora_weights()  # the deltas stay fused in; the adapter layers go

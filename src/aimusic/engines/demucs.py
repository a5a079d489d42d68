"""DemucsEngine: Meta's Demucs (htdemucs) separating any track into drums, bass, other and vocals.

The model runs as demucs's own command does (`demucs.api.Separator.separate_tensor`): the source
at the model's rate and channel count, normalised by its mono mean and deviation, through
`demucs.apply.apply_model` (overlapping segments, `shifts` random time shifts, seeded here), then
scaled back. Each stem returns to the source's rate and channels; `<name>.<ext>` is the sum of the
stems not in `remove`, so it equals them within float rounding.

Weights: demucs 4.1 fetches each model from the Hugging Face hub (`adefossez/HTDemucs`: a bag
`htdemucs.yaml` naming one `<sig>.safetensors`). `aimusic models pull local/demucs/audio-separate`
downloads that repo into the hub cache; `--model-path` takes such a folder, one `.safetensors`
of demucs's export format, or a legacy `.th` package. Nothing here imports torch or demucs, or
touches the network, except `run` and `pull`.
"""

from __future__ import annotations

import os
import time
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from aimusic.engines.base import Availability, Engine, EngineResult, Lane, RunContext, package_versions
from aimusic.engines.options import EngineOptions
from aimusic.errors import InputError, NotConfiguredError

if TYPE_CHECKING:
    import numpy as np

ENV_PATH = "AIMUSIC_DEMUCS_PATH"
MODEL_ID = "local/demucs/audio-separate"
PULL_COMMAND = f"aimusic models pull {MODEL_ID}"
WEIGHT_SUFFIXES = (".safetensors", ".th")


class DemucsOptions(EngineOptions):
    model_path: str | None = Field(None, description="Demucs: a model folder (<name>.yaml + safetensors), "
                                                     "one .safetensors or a .th file.")
    device: str | None = Field(None, description="Demucs: auto (default), cuda, cuda:N, mps or cpu.")
    shifts: int = Field(1, ge=0, le=10, description="Demucs: random time shifts averaged (upstream's "
                                                    "default 1; more is slower, slightly better).")


def _bag_file(folder: Path, name: str) -> Path | None:
    """The bag definition in a model folder: `<name>.yaml`, else its only yaml."""
    if (folder / f"{name}.yaml").is_file():
        return folder / f"{name}.yaml"
    found = sorted(folder.glob("*.yaml"))
    return found[0] if len(found) == 1 else None


def _usable(path: Path, name: str) -> bool:
    if path.is_dir():
        return _bag_file(path, name) is not None
    return path.is_file() and path.suffix in WEIGHT_SUFFIXES


def find_weights(model: Any, model_path: str | None = None) -> tuple[Path | None, str]:
    """(weights, where from) or (None, what was named but unusable / ""). Order: --model-path,
    AIMUSIC_DEMUCS_PATH, the hub cache. Stat calls only."""
    name = model.extra["name"]
    for given, source in ((model_path, "--model-path"), (os.environ.get(ENV_PATH), ENV_PATH)):
        if given:
            path = Path(given).expanduser()
            return (path, source) if _usable(path, name) else (None, f"{source} {path}")
    from aimusic.engines.local_acestep.weights import cached_file

    found = cached_file(model.extra["repo"], f"{name}.yaml")
    return (found.parent, f"hub cache ({model.extra['repo']})") if found else (None, "")


def require_weights(model: Any, model_path: str | None = None) -> Path:
    path, source = find_weights(model, model_path)
    if path is not None:
        return path
    if source:
        raise NotConfiguredError(f"{source} is not a Demucs model (a folder with {model.extra['name']}.yaml, "
                                 "a .safetensors or a .th file)", field="model_path",
                                 hint=f"point it at one, or run `{PULL_COMMAND}`")
    raise NotConfiguredError(f"Demucs {model.extra['name']} weights are not on this machine", field="model_path",
                             hint=f"run `{PULL_COMMAND}` (downloads {model.extra['repo']}), or pass "
                                  f"--model-path PATH / set {ENV_PATH}")


def download_weights(model: Any) -> Path:
    """Download (or resume) the model's hub repo into the hub cache; returns its folder."""
    from aimusic.engines.local_acestep.weights import download

    return download(model.extra["repo"], allow_patterns=["*.yaml", "*.safetensors"])


def load_model(path: Path, name: str) -> Any:
    """The demucs model (a BagOfModels for a folder) with demucs's own loaders, offline."""
    import yaml
    from demucs.apply import BagOfModels
    from demucs.hf import load_safetensors_model
    from demucs.states import load_model as load_package

    try:
        if path.is_file():
            model = load_safetensors_model(path) if path.suffix == ".safetensors" else load_package(path)
        else:
            bag = yaml.safe_load(_bag_file(path, name).read_text(encoding="utf-8"))
            missing = [sig for sig in bag["models"] if not (path / f"{sig}.safetensors").is_file()]
            if missing:
                raise NotConfiguredError(f"{path} lacks {missing[0]}.safetensors (an interrupted download?)",
                                         field="model_path", hint=f"run `{PULL_COMMAND}` again")
            model = BagOfModels([load_safetensors_model(path / f"{sig}.safetensors") for sig in bag["models"]],
                                bag.get("weights"), bag.get("segment"))
    except NotConfiguredError:
        raise
    except Exception as exc:  # a corrupt or foreign file: one line, not a traceback
        raise NotConfiguredError(f"{path} could not be loaded as a Demucs model: "
                                 f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}",
                                 field="model_path", hint=f"run `{PULL_COMMAND}`, or point --model-path at a "
                                                          "demucs export") from None
    return model.eval()


def separate_array(net: Any, source: np.ndarray, rate: int, *, device: str, shifts: int, seed: int) -> dict[str, np.ndarray]:
    """Stems of float32 [channels, frames] as demucs's Separator makes them, back at `rate` and
    the source's channel count."""
    import random

    import numpy as np
    import torch
    from demucs.apply import apply_model

    from aimusic.audio.io import resample, to_channels

    wav = torch.from_numpy(np.ascontiguousarray(resample(to_channels(source, net.audio_channels), rate,
                                                         net.samplerate), dtype=np.float32))
    ref = wav.mean(0)
    mean, std = ref.mean(), ref.std() + 1e-8
    state = random.getstate()   # apply_model draws its shifts from the module-level generator
    random.seed(seed)
    try:
        with torch.inference_mode():
            out = apply_model(net, ((wav - mean) / std)[None], shifts=shifts, split=True, overlap=0.25,
                              device=device)[0] * std + mean
    finally:
        random.setstate(state)
    frames = source.shape[1]
    stems = {}
    for name, stem in zip(net.sources, out.float().cpu().numpy()):
        back = to_channels(resample(stem, net.samplerate, rate), source.shape[0])[:, :frames]
        if back.shape[1] < frames:
            back = np.pad(back, ((0, 0), (0, frames - back.shape[1])))
        stems[name] = back.astype(np.float32)
    return stems


class DemucsEngine(Engine):
    name: ClassVar[str] = "demucs"
    title: ClassVar[str] = "Demucs (local)"
    tasks: ClassVar[frozenset[str]] = frozenset({"separate"})
    lane: ClassVar[Lane] = Lane.ACCELERATOR
    auto_rank: ClassVar[int] = 15  # after local ACE-Step, before a ComfyUI server

    @classmethod
    def options_model(cls) -> type[DemucsOptions]:
        return DemucsOptions

    @classmethod
    def availability(cls, model: Any) -> Availability:
        if find_spec("torch") is None or find_spec("demucs") is None:
            return Availability(False, "torch and demucs are not installed: pip install 'aimusic[local]'")
        path, source = find_weights(model)
        if path is None:
            return Availability(False, f"{source} is not a Demucs model" if source else
                                f"weights not present: run `{PULL_COMMAND}`")
        return Availability(True, f"weights at {path} ({source})")

    @classmethod
    def pull(cls, model: Any) -> Path:
        """`aimusic models pull`: the model's weights into the hub cache."""
        return download_weights(model)

    @classmethod
    def versions(cls) -> dict[str, str]:
        return package_versions(("torch", "demucs"))

    def run(self, model: Any, request: Any, ctx: RunContext, sink: Any) -> EngineResult:

        from aimusic.audio.io import read_audio
        from aimusic.engines.stems import separated_take
        from aimusic.engines.local_acestep.runtime import pick_device
        from aimusic.schemas import is_url

        options = self.options_of(ctx)
        if is_url(request.audio):
            raise InputError("audio: the demucs engine reads local files only (nothing is uploaded or "
                             "downloaded)", field="audio", hint="download the file and pass its path")
        source, rate = read_audio(request.audio, max_seconds=model.max_seconds)
        path = require_weights(model, options.model_path)
        device = pick_device(options.device)
        seed = int(request.seed) if request.seed is not None and request.seed >= 0 else 0
        started = time.perf_counter()
        ctx.progress("load", 0, 2, f"loading Demucs from {path}")
        net = load_model(path, model.extra["name"])
        loaded = time.perf_counter()
        ctx.check_cancelled()
        ctx.progress("separate", 1, 2, f"separating on {device}")
        stems = separate_array(net, source, rate, device=device, shifts=options.shifts, seed=seed)
        ctx.check_cancelled()
        wanted = list(request.stems) or list(stems)
        missing = [s for s in wanted + list(request.remove) if s not in stems]
        if missing:  # a --model-path model with other sources than htdemucs's
            raise InputError(f"stems: this model has no {missing[0]} stem (it has {', '.join(stems)})",
                             field="stems")
        take = separated_take(stems, rate, request, ctx, sink, seed=seed, wanted=wanted, exact=False,
                              main_is_sum_of_kept=True)
        ctx.progress("separate", 2, 2, "done")
        return EngineResult(takes=[take], cost_usd=0.0, metadata={
            "weights": str(path), "device": device, "samplerate": int(net.samplerate), "sources": list(stems),
            "shifts": options.shifts, "load_s": round(loaded - started, 3),
            "separate_s": round(time.perf_counter() - loaded, 3)})

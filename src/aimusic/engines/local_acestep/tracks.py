"""ACE-Step 1.5's track tasks on base checkpoints: `extract` (separate) and `lego` / `complete` (layer).

- separate: one `task_type="extract", track_name=NAME` call per stem (the pipeline's instruction is
  one string per call, so different stems cannot share a batched call; a batch is one stem for
  every `--variations` seed). `<name>.<ext>` is the source without the removed stems (each
  removed stem least-squares matched to the source, then subtracted).
- layer: `task_type="lego", track_name=TRACK` generates that track in the context of the audio;
  `track: "backing"` runs `task_type="complete"` with `complete_track_classes` (default drums,
  bass, keyboard) for a vocal or solo. The generated audio is the part; the mix is source + part
  (`aimusic.audio.layering.add_part`). UNVERIFIED: whether a real `complete` checkpoint returns
  the accompaniment alone or with the input; the random-weight pipeline cannot tell.

Turbo checkpoints support only text2music, repaint and cover: they are refused, naming the base
model and its `models pull` command.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from aimusic.engines.base import Take
from aimusic.errors import InputError, NotConfiguredError

# upstream ACE-Step 1.5's TRACK_NAMES (acestep/constants.py), the names its extract/lego instructions take
TRACK_NAMES = ("woodwinds", "brass", "fx", "synth", "strings", "percussion", "keyboard", "guitar", "bass",
               "drums", "backing_vocals", "vocals")
DEFAULT_COMPLETE_CLASSES = ("drums", "bass", "keyboard")
MIN_TRACK_SECONDS = 2.0


def refuse_turbo(model: Any, pipe: Any = None) -> None:
    """NotConfiguredError (78) for a turbo checkpoint (by the catalog's preset or the loaded pipeline)."""
    from aimusic.engines.local_acestep.weights import pull_command, variant_of

    if model.extra.get("turbo") or (pipe is not None and getattr(pipe, "is_turbo", False)):
        endpoint = model.id.rsplit("/", 1)[-1]
        base = variant_of(model).replace("turbo", "base") if "base" not in variant_of(model) else variant_of(model)
        raise NotConfiguredError(
            f"{model.task} needs an ACE-Step 1.5 base checkpoint (turbo ones only generate, repaint and cover)",
            field="model", hint=f"use local/ace-step-1.5-{base}/{endpoint} after `{pull_command(base)}`")


def settings_request(request: Any) -> Any:
    """The request as `call_settings` reads it: separate inputs have no tags or lyrics."""
    data = dict(request)
    data.setdefault("tags", "")
    data.setdefault("lyrics", "")
    if not str(data["tags"]).strip():
        data["tags"] = "music"
    return SimpleNamespace(**data)


def _model_input(job: Any, source: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray, float]:
    from aimusic.engines.local_acestep.tasks import MODEL_RATE, _pad_to, to_model_audio

    if source.shape[1] < MIN_TRACK_SECONDS * rate:
        raise InputError(f"audio: {source.shape[1] / rate:.2f} s is too short for a track task (at least "
                         f"{MIN_TRACK_SECONDS:g} s)", field="audio")
    source48 = to_model_audio(source, rate)
    if source48.shape[1] > job.max_call_s * MODEL_RATE:
        raise InputError(f"the source is {source48.shape[1] / MODEL_RATE:.0f} s; one call takes at most "
                         f"{job.max_call_s:.0f} s", field="audio")
    padded = _pad_to(source48, job._hop())
    return source48, padded, padded.shape[1] / MODEL_RATE


def _back(out: np.ndarray, source: np.ndarray, rate: int, frames48: int) -> np.ndarray:
    from aimusic.engines.local_acestep.tasks import from_model_audio

    return from_model_audio(out[:, :frames48], rate, source.shape[0], source.shape[1])


def separate(job: Any, source: np.ndarray, rate: int, subtype: str | None, sink: Any, fmt: str) -> list[Take]:
    from aimusic.engines.local_acestep.tasks import _exact_subtype, match_gain

    request = job.request
    names = list(request.stems) or list(request.remove) or list(TRACK_NAMES)
    for name in request.remove:
        if name not in names:
            names.append(name)
    source48, padded, seconds = _model_input(job, source, rate)
    stems: dict[str, list[np.ndarray]] = {}
    for name in names:
        job.ctx.check_cancelled()
        audios = job.call(f"extract {name}", seconds, src=padded, task_type="extract", track_name=name)
        stems[name] = [_back(out, source, rate, source48.shape[1]) for out in audios]
    takes = []
    for index, seed in enumerate(job.seeds):
        main = source.copy()
        for name in request.remove:
            stem = stems[name][index]
            main = main - stem * np.float32(match_gain(stem, source))
        metadata: dict[str, Any] = {"task": "extract", "separate": {
            "stems": list(request.stems) or names, "removed": list(request.remove), "exact": False}}
        if not request.remove:
            metadata.update(_exact_subtype(subtype))   # untouched: the source's own samples
        take = Take(seed=seed, samples=main.astype(np.float32), sample_rate=rate, metadata=metadata)
        for name in list(request.stems) or names:
            take.extra_files[f"{name}.{fmt}"] = sink.stage_audio(stems[name][index], rate, fmt)
        takes.append(take)
    return takes


def layer(job: Any, source: np.ndarray, rate: int, subtype: str | None, sink: Any, fmt: str) -> list[Take]:
    from aimusic.audio.layering import add_part

    request = job.request
    source48, padded, seconds = _model_input(job, source, rate)
    if request.track == "backing":
        classes = list(request.track_classes) or list(DEFAULT_COMPLETE_CLASSES)
        audios = job.call("complete", seconds, src=padded, task_type="complete", complete_track_classes=classes)
        details: dict[str, Any] = {"task": "complete", "track_classes": classes}
    else:
        audios = job.call(f"lego {request.track}", seconds, src=padded, task_type="lego", track_name=request.track)
        details = {"task": "lego", "track_name": request.track}
    takes = []
    for seed, out in zip(job.seeds, audios):
        part = _back(out, source, rate, source48.shape[1])
        mix, part, source_gain = add_part(source, part, float(request.gain_db))
        take = Take(seed=seed, samples=mix, sample_rate=rate,
                    metadata={"task": details["task"], "layer": {**details, "track": request.track,
                                                                 "source_gain": round(source_gain, 6),
                                                                 "mix_is_source_plus_part": source_gain == 1.0}})
        if subtype:
            take.metadata["subtype"] = subtype
        take.extra_files[f"{request.track}.{fmt}"] = sink.stage_audio(part, rate, fmt,
                                                                       subtype=take.metadata.get("subtype"))
        takes.append(take)
    return takes

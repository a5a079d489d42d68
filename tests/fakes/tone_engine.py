"""A tiny third-party engine plugin used to test the whole plugin path (catalog, api, output)
independently of the real engines, the way llm tests its plugin hooks."""

from __future__ import annotations

import time

import numpy as np
from pydantic import Field

from aimusic.catalog import ModelEntry
from aimusic.engines.base import Availability, Engine, EngineResult, Take
from aimusic.engines.options import EngineOptions
from aimusic.schemas import GenerateInput


class ToneOptions(EngineOptions):
    slow_stage: bool = Field(False, description="Tone: write a large staged file slowly (kill tests).")
    extra: bool = Field(False, description="Tone: also write a .txt extra file.")


class ToneInput(GenerateInput):
    duration: float = Field(2, ge=0.1, le=600)
    frequency: float = Field(440.0, gt=20, lt=20000)


class ToneEngine(Engine):
    name = "tone"
    tasks = frozenset({"generate"})

    @classmethod
    def options_model(cls) -> type[ToneOptions]:
        return ToneOptions

    @classmethod
    def models(cls) -> list[ModelEntry]:
        return [ModelEntry(id="test/tone/text-to-audio", task="generate", providers=("tone",),
                           title="Test tone", description="A sine tone for tests.", input_model=ToneInput,
                           price_per_second=0.001, min_seconds=0.1, max_seconds=600, sample_rate=44100)]

    @classmethod
    def availability(cls, model: ModelEntry) -> Availability:
        return Availability(True, "always")

    @classmethod
    def versions(cls) -> dict[str, str]:
        return {"tone": "1"}

    def run(self, model, request, ctx, sink) -> EngineResult:
        rate = 44100
        n = int(round(request.duration * rate))
        rng = np.random.default_rng(request.seed)
        phase = rng.uniform(0, 2 * np.pi)
        t = np.arange(n) / rate
        mono = 0.5 * np.sin(2 * np.pi * request.frequency * t + phase)
        options = self.options_of(ctx)
        if options.slow_stage:
            # write a large staged file slowly so a test can kill the process mid-write
            staged = sink.stage(".wav")
            with staged.open("wb") as handle:
                for _ in range(200):
                    handle.write(b"\0" * 65536)
                    handle.flush()
                    print("writing", flush=True)
                    time.sleep(0.05)
        for step in range(3):
            ctx.check_cancelled()
            ctx.progress("tone", step + 1, 3)
        samples = np.stack([mono, mono]).astype(np.float32)
        return EngineResult(takes=[Take(seed=request.seed, samples=samples, sample_rate=rate,
                                        extra_files={"txt": b"tone"} if options.extra else {})],
                            cost_usd=0.001 * request.duration, metadata={"request_id": "tone-1"})


def install(monkeypatch=None) -> None:
    """Register the plugin as if it came from an `aimusic.engines` entry point."""
    from aimusic import catalog, registry
    from aimusic.engines.registry import _clear_caches

    specs = dict(registry._specs())
    specs["tone"] = "fakes.tone_engine:ToneEngine"
    _clear_caches()
    if monkeypatch is not None:
        monkeypatch.setattr(registry, "_specs", lambda: specs)
        monkeypatch.setattr(catalog, "_MODELS", None)
    else:
        registry._specs = lambda: specs  # type: ignore[assignment]
        catalog._MODELS = None

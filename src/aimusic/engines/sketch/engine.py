"""SketchEngine: the offline, weights-free provider ("sketch")."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from aimusic.engines.base import Availability, Engine, EngineResult, Lane, RunContext, Take, package_versions
from aimusic.engines.options import EngineOptions
from aimusic.engines.sketch.metadata import arrangement_metadata


class SketchOptions(EngineOptions):
    midi: bool = Field(False, description="Sketch engine: also write the arrangement as a .mid file.")
    voice: str | None = Field(
        None, description="Sketch engine: singing voice (female, male, child, soprano, alto, tenor, bass).")
    stems: bool = Field(
        False, description="Sketch engine: also write <name>.vocals.<ext> and <name>.accompaniment.<ext> "
                           "(the output format).")
    language: str | None = Field(
        None, description="Sketch engine: language the lyrics are sung in (default: detected).")
    renderer: str | None = Field(
        None, description="Sketch engine: synth, soundfont or auto (default: the request's renderer).")
    soundfont: str | None = Field(
        None, description="Sketch engine: a .sf2 SoundFont for the soundfont renderer (or AIMUSIC_SOUNDFONT).")


class SketchEngine(Engine):
    name: ClassVar[str] = "sketch"
    title: ClassVar[str] = "offline sketch engine"
    tasks: ClassVar[frozenset[str]] = frozenset({"generate", "inpaint", "outpaint", "remix", "separate", "layer"})
    lane: ClassVar[Lane] = Lane.CPU       # numpy on this machine's cores: worker processes in batches
    auto_rank: ClassVar[int] = 90         # the always-there fallback: the last built-in under `auto`

    @classmethod
    def options_model(cls) -> type[SketchOptions]:
        return SketchOptions

    @classmethod
    def availability(cls, model: Any) -> Availability:
        return Availability(True, "always (built-in composer and synthesizer)")

    @classmethod
    def versions(cls) -> dict[str, str]:
        return package_versions(("numpy", "scipy", "pretty_midi", "midirenderer"))

    def run(self, model: Any, request: Any, ctx: RunContext, sink: Any) -> EngineResult:
        if model.task == "generate":
            return self._generate(request, ctx, sink)
        if model.task in ("separate", "layer"):
            from aimusic.engines.sketch import parts

            self.options_of(ctx)
            return parts.separate(request, ctx, sink) if model.task == "separate" else parts.layer(request, ctx, sink)
        from aimusic.engines.sketch.edit import run_edit

        self.options_of(ctx)  # ctx.options becomes SketchOptions: the edit code reads its fields
        return run_edit(model.task, request, ctx)

    def _generate(self, request: Any, ctx: RunContext, sink: Any = None) -> EngineResult:
        from aimusic.engines.sketch.compose import ComposeRequest, compose
        from aimusic.engines.sketch.render import choose_renderer, render
        from aimusic.engines.sketch.voice.integrate import attach_vocal, plan_vocal

        seed = int(request.seed)
        options = self.options_of(ctx)
        renderer = choose_renderer(options.renderer or request.renderer, options.soundfont)
        vocal = plan_vocal(request, options, seed, ctx.notice)   # None: nothing to sing
        ctx.progress("compose", 0, 3, "composing")
        arrangement = compose(ComposeRequest.of_text_to_audio(request, seed, vocal))
        ctx.check_cancelled()
        ctx.progress("render", 1, 3, f"rendering with the {renderer} renderer"
                     + (f" and a sung {vocal.voice} vocal" if vocal else ""))
        extra_buses = [vocal.bus_source] if vocal else []
        rendered = render(vocal.accompaniment(arrangement) if vocal else arrangement, renderer, seed,
                          soundfont_option=options.soundfont, extra_buses=extra_buses)
        ctx.check_cancelled()
        take = Take(seed=seed, samples=rendered.samples, sample_rate=rendered.sample_rate,
                    metadata={"sketch": arrangement_metadata(arrangement, rendered)})
        attach_vocal(take, vocal, rendered, options, sink, ctx.notice, ctx.output_format)
        if options.midi:
            from aimusic.engines.sketch.midi import arrangement_to_midi

            take.extra_files["mid"] = arrangement_to_midi(arrangement)
            if vocal is not None:
                take.extra_files["mid"] = vocal.midi(take.extra_files["mid"])
        ctx.progress("render", 3, 3, "done")
        unused = arrangement.decisions["unused_tags"]
        if unused:
            ctx.notice(f"sketch: these tags had no effect: {', '.join(unused)}")
        return EngineResult(takes=[take], cost_usd=0.0, metadata={"renderer": rendered.renderer})

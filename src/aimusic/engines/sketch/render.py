"""One interface over the two renderers: Arrangement -> stereo float32 [2, frames].

- "synth": the built-in numpy synthesizer (default: fastest, no files needed, mixes per part
  with reverb and texture, identical on every platform).
- "soundfont": General-MIDI soundfont playback through midirenderer (TimGM6mb.sf2 from
  pretty_midi unless a soundfont is configured).
- "auto": the soundfont renderer when the user configured a soundfont of their own
  (option `soundfont` or $AIMUSIC_SOUNDFONT), else the synth.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from aimusic.engines.sketch.compose import Arrangement
from aimusic.engines.sketch.mix import Bus, mix_buses

SYNTH_RATE = 44100
RENDERERS = ("auto", "synth", "soundfont")

# Extra buses rendered from the arrangement (e.g. a sung vocal, issue 12): each callable takes
# (arrangement, sample_rate, frames) and returns a list of Bus. Registered by the vocal module.
BusSource = Callable[[Arrangement, int, int], list[Bus]]


@dataclass
class Rendered:
    samples: np.ndarray
    sample_rate: int
    renderer: str
    details: dict = field(default_factory=dict)
    stems: dict[str, np.ndarray] | None = None   # {"vocals", "accompaniment"} (or per `stem_of`) adding up to samples


def choose_renderer(requested: str | None, soundfont_option: str | None = None) -> str:
    requested = (requested or "auto").lower()
    if requested not in RENDERERS:
        from aimusic.errors import InputError

        raise InputError(f"unknown renderer {requested!r}: choose one of {', '.join(RENDERERS)}", field="renderer")
    if requested != "auto":
        return requested
    from aimusic.engines.sketch import soundfont

    if (soundfont_option or os.environ.get(soundfont.SOUNDFONT_ENV)) and soundfont.available():
        return "soundfont"
    return "synth"


def render(arrangement: Arrangement, renderer: str, seed: int, *, soundfont_option: str | None = None,
           extra_buses: list[BusSource] | None = None, stem_of: Callable[[str], str] | None = None) -> Rendered:
    """Render with the chosen renderer; `extra_buses` add more buses (vocals) before mixing;
    `stem_of` (bus name -> stem name) returns linked stems that add up to the mix."""
    from aimusic.engines.sketch.synth import TAIL_SECONDS

    if renderer == "soundfont":
        from aimusic.engines.sketch import soundfont
        from aimusic.engines.sketch.midi import arrangement_to_midi

        path = soundfont.soundfont_path(soundfont_option)
        if path is None:
            from aimusic.errors import NotConfiguredError

            raise NotConfiguredError("no soundfont found (pretty_midi's TimGM6mb.sf2 is missing)",
                                     hint="set AIMUSIC_SOUNDFONT to a .sf2 file, or use renderer 'synth'")
        audio, rate = soundfont.render_midi(arrangement_to_midi(arrangement, end_padding=TAIL_SECONDS), path)
        frames = int(round(arrangement.duration * rate))
        total = frames + int(TAIL_SECONDS * rate)
        padded = np.zeros((2, total), dtype=np.float32)
        take = min(total, audio.shape[1])
        padded[:, :take] = audio[:2, :take]
        buses = [Bus("soundfont", padded, 1.0, 0.12)]
        details = {"soundfont": path.name}
    else:
        from aimusic.engines.sketch.synth import render_buses

        rate = SYNTH_RATE
        frames = int(round(arrangement.duration * rate))
        buses = render_buses(arrangement, rate, frames + int(TAIL_SECONDS * rate))
        details = {}
    for source in extra_buses or []:
        buses.extend(source(arrangement, rate, frames + int(TAIL_SECONDS * rate)))
    tail = max(arrangement.duration - arrangement.music_end, 0.0)
    mix_options = dict(loop=arrangement.loop, reverb=arrangement.reverb, vinyl=arrangement.vinyl, seed=seed,
                       fade_seconds=0.0 if arrangement.loop else min(0.6, max(tail * 0.5, 0.02)))
    stems = None
    if stem_of is not None:
        from aimusic.engines.sketch.voice.integrate import linked_stems

        samples, stems = linked_stems(buses, stem_of, rate, frames, vinyl_stem=stem_of("vinyl"), **mix_options)
    elif any(b.name == "vocal" for b in buses):   # a sung vocal (issue 12): mixed with linked stems
        from aimusic.engines.sketch.voice.integrate import split_mix

        samples, stems = split_mix(buses, rate, frames, **mix_options)
    else:
        samples = mix_buses(buses, rate, frames, **mix_options)
    details["buses"] = [b.name for b in buses]
    return Rendered(samples, rate, renderer, details, stems)

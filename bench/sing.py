"""Benchmark: offline singing speed (eSpeak NG + WORLD), per language, on one core.

Prints, per language, the seconds of vocal rendered per CPU second: cold (every word analysed by
WORLD for the first time in this process) and warm (word analyses cached, as in a chorus or a
second take), next to a baseline measured in the same run: eSpeak NG speaking the same lyrics
(the floor that no sung render can beat). Target: cold >= 10x real time.

    python bench/sing.py [--sample-rate 44100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from aimusic.engines.sketch.voice import espeak, sing, vocal_bus  # noqa: E402
from aimusic.engines.sketch.voice.melody import simple_melody  # noqa: E402
from aimusic.engines.sketch.voice.singer import _cache  # noqa: E402 - cleared between cold runs

LYRICS = {
    "en": ["walking through the city lights tonight", "every window tells a story of its own",
           "carry me across the river slowly", "until the morning finds us singing",
           "hold on hold on to the feeling", "we are young and the night is long"],
    "es": ["caminando por la ciudad de noche", "cada ventana cuenta su historia",
           "llévame despacio por el río", "hasta que la mañana nos encuentre cantando"],
    "de": ["ich gehe durch die Lichter dieser Stadt", "jedes Fenster erzählt seine Geschichte",
           "trag mich langsam über den Fluss", "bis der Morgen uns singend findet"],
    "zh": ["走在城市的灯光下", "每一扇窗都有自己的故事", "带我慢慢走过那条河", "直到清晨听见我们在歌唱"],
    "ja": ["街の明かりの中を歩いて", "窓はそれぞれの物語を語る", "川をゆっくり渡らせて", "朝が僕らの歌を見つけるまで"],
    "ko": ["도시의 불빛 속을 걸어요", "모든 창문은 이야기를 해요", "천천히 강을 건너게 해줘", "아침이 우리 노래를 찾을 때까지"],
}


def cpu(fn):  # noqa: ANN001, ANN201
    started = time.process_time()
    out = fn()
    return out, time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample-rate", type=int, default=44100)
    parser.add_argument("--repeat", type=int, default=2, help="verses per language (chorus-like repeats)")
    args = parser.parse_args()
    report(args.sample_rate, args.repeat)
    engine_cost()


def report(sr: int = 44100, repeat: int = 1) -> None:
    """Per-language vocal speed, cold and warm, against eSpeak NG speaking the same lines."""
    print(f"offline singing, one core, {sr} Hz; x = seconds of vocal per CPU second")
    print(f"{'lang':5} {'vocal s':>8} {'notes':>6} {'cold x':>8} {'warm x':>8} {'bus x':>8} {'speech-only x':>14}")
    worst = float("inf")
    for language, lines in LYRICS.items():
        lyrics = "\n".join(lines * repeat)
        notes = simple_melody(lyrics, language, bpm=100, tonic=62)
        sing(notes[:2], sr, language)  # load the voice and dictionaries outside the timing
        _cache.clear()
        render, cold = cpu(lambda: sing(notes, sr, language, "female", seed=1))
        _, warm = cpu(lambda: sing(notes, sr, language, "female", seed=1))
        _, bus = cpu(lambda: vocal_bus(render.samples, sr))
        seconds = render.samples.shape[1] / sr
        speech, speak_cpu = cpu(lambda: [espeak.speak(render.language, line) for line in lines * repeat])
        spoken = sum(len(s.samples) for s in speech) / espeak.engine().sample_rate
        worst = min(worst, seconds / cold)
        print(f"{language:5} {seconds:8.1f} {len(notes):6d} {seconds / cold:8.1f} {seconds / warm:8.1f} "
              f"{seconds / bus:8.1f} {spoken / max(speak_cpu, 1e-9):14.1f}")
    print(f"slowest cold render: {worst:.1f}x real time (target >= 10x): {'OK' if worst >= 10 else 'BELOW TARGET'}")


def engine_cost() -> None:
    """The whole sketch render of one song with and without its sung vocal (same arrangement):
    what singing adds to `aimusic run local/sketch/text-to-audio` with lyrics."""
    from aimusic.engines.sketch.compose import ComposeRequest, compose
    from aimusic.engines.sketch.render import render
    from aimusic.engines.sketch.voice.integrate import VocalPlan

    lyrics = "[verse]\n" + "\n".join(LYRICS["en"][:4]) + "\n[chorus]\n" + "\n".join(LYRICS["en"][4:]) * 2
    plan = VocalPlan("en", True, "female", 1)
    arrangement = compose(ComposeRequest(tags="synthpop, 104 bpm", duration=90, seed=1, lyrics=lyrics,
                                         syllabify=plan.syllabify))
    _cache.clear()
    _, instrumental = cpu(lambda: render(arrangement, "synth", 1))
    sung, with_vocal = cpu(lambda: render(plan.accompaniment(arrangement), "synth", 1, extra_buses=[plan.bus_source]))
    seconds = sung.samples.shape[1] / sung.sample_rate
    print(f"engine, 90 s song, {len(plan.notes)} sung notes: instrumental render {instrumental:.2f} s CPU "
          f"({seconds / instrumental:.0f}x), with the vocal and stems {with_vocal:.2f} s "
          f"({seconds / with_vocal:.0f}x); singing adds {with_vocal - instrumental:.2f} s")


if __name__ == "__main__":
    main()

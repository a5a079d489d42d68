"""The offline sketch engine: tags -> decisions, form, arrangement, renderers, loops, determinism."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import aimusic
from aimusic.engines.sketch.compose import ComposeRequest, compose
from aimusic.engines.sketch.render import render
from aimusic.engines.sketch.styles import GENRES
from aimusic.engines.sketch.tags import parse_tags
from aimusic.engines.sketch.theory import parse_key

GEN = "local/sketch/text-to-audio"
REQUIRED_GENRES = {"pop": "pop", "rock": "rock", "lo-fi": "lofi", "hip hop": "lofi", "edm": "edm",
                   "house": "edm", "synthwave": "synthwave", "jazz": "jazz", "ambient": "ambient",
                   "orchestral": "orchestral", "cinematic": "orchestral", "chiptune": "chiptune",
                   "8-bit": "chiptune", "funk": "funk", "folk": "folk", "acoustic": "folk", "metal": "metal",
                   "reggaeton": "reggaeton", "latin": "reggaeton", "corporate": "corporate",
                   "background": "corporate"}
LYRICS = """[Verse]
Walking down the empty street tonight
Counting every window light
[Chorus]
Hold on, hold on to me
We are what we want to be
[Bridge]
Slowly
[Outro]
"""


def synth_render(tags: str, duration: float = 16.0, seed: int = 3, **kwargs):
    arrangement = compose(ComposeRequest(tags=tags, duration=duration, seed=seed, **kwargs))
    return arrangement, render(arrangement, "synth", seed)


# ---------------------------------------------------------------- tags


def test_tags_become_decisions_and_unknown_words_are_reported():
    d = parse_tags("lofi hip hop, 80 BPM, piano, vinyl, chill, F# minor, seamless loop, saxophone, flibbertigibbet")
    assert d.genre == "lofi" and d.bpm == 80 and d.vinyl and d.loop
    assert d.key is not None and d.key.name == "F# minor"
    assert d.moods == ["chill"]
    assert d.instruments == {"chords": "piano", "lead": "sax"}
    assert d.unused == ["flibbertigibbet"]
    words = parse_tags("dark synthwave with blorp, female vocals, no drums, fast tempo")
    assert words.genre == "synthwave" and words.moods == ["dark"] and words.drums is False
    assert words.tempo_word == "fast" and words.vocals == ["female vocals"] and words.unused == ["blorp"]


@pytest.mark.parametrize("word,genre", sorted(REQUIRED_GENRES.items()))
def test_every_required_genre_is_understood(word, genre):
    assert parse_tags(f"{word}, happy").genre == genre


@pytest.mark.parametrize("text,name", [("C minor", "C minor"), ("F# major", "F# major"), ("Bb min", "Bb minor"),
                                       ("key of A", "A major"), ("Ebm", "Eb minor"), ("c sharp minor", "C# minor")])
def test_keys_parse(text, name):
    assert parse_key(text).name == name
    assert parse_tags(f"pop, {text}").key.name == name


def test_tempo_words_and_moods_move_the_tempo():
    def bpm(tags):
        return compose(ComposeRequest(tags=tags, duration=10, seed=1)).bpm
    assert bpm("rock, fast tempo") > bpm("rock") > bpm("rock, slow tempo")
    assert bpm("pop, sad") < bpm("pop") < bpm("pop, energetic")
    assert bpm("jazz, 93 BPM") == 93


# ---------------------------------------------------------------- form and arrangement


def test_form_follows_lyric_markers_with_one_note_per_syllable():
    arrangement = compose(ComposeRequest(tags="pop, 100 BPM", duration=60, seed=2, lyrics=LYRICS))
    kinds = [s.kind for s in arrangement.sections]
    lyric_kinds = [k for k in kinds if k in ("verse", "chorus", "bridge")]
    assert lyric_kinds == ["verse", "chorus", "bridge"]
    assert kinds.index("verse") < kinds.index("chorus") < kinds.index("bridge") < kinds.index("outro")
    bar = arrangement.bar_seconds
    for section in arrangement.sections:        # bar-aligned, contiguous
        assert section.start == pytest.approx(section.start_bar * bar)
    assert sum(s.bars for s in arrangement.sections) * bar <= 60
    sung = arrangement.vocal_notes()
    from aimusic.engines.sketch.lyrics_melody import parse_lyrics

    expected = [syl for sec in parse_lyrics(LYRICS) for line in sec.lines for syl in line]
    assert [n.syllable for n in sung] == expected
    assert sum(n.line_end for n in sung) == 5                      # five sung lines
    assert all(a.start + a.duration <= b.start + 1e-6 for a, b in zip(sung, sung[1:]))
    line_ends = [i for i, n in enumerate(sung) if n.line_end][:-1]
    assert all(sung[i + 1].start - (sung[i].start + sung[i].duration) > 0.05 for i in line_ends)  # breaths
    assert {n.section for n in sung} == {s.name for s in arrangement.sections if not s.instrumental}
    first = sung[0]
    assert (first.syllable, first.line, first.instrumental) == ("Walk", 0, False)
    assert 48 <= min(n.pitch for n in sung) and max(n.pitch for n in sung) <= 84   # a singable range


def test_genre_form_fills_the_duration_and_the_file_is_exactly_that_long(tmp_path):
    result = aimusic.run(GEN, {"tags": "pop, 118 BPM", "duration": 47.3, "seed": 5}, tmp_path)
    info = sf.info(result.files[0])
    assert info.channels == 2 and info.samplerate == 44100
    assert abs(info.frames / info.samplerate - 47.3) < 0.01
    sketch = json.loads(Path(result.sidecars[0]).read_text())["metadata"]["sketch"]
    kinds = [s["kind"] for s in sketch["sections"]]
    assert kinds[0] == "intro" and "verse" in kinds and "chorus" in kinds
    bar = 4 * 60 / 118
    assert all(s["start_s"] == pytest.approx(round(i, 4), abs=2e-3) for s, i in
               zip(sketch["sections"], np.cumsum([0] + [s["bars"] * bar for s in sketch["sections"]])))


def test_generate_acceptance_command_writes_30s_stereo_with_decisions(cli, tmp_path):
    import time

    started = time.perf_counter()
    res = cli("run", GEN, "--input", json.dumps({"tags": "lofi hip hop, 80 BPM, piano, vinyl, chill, zorblax",
                                                 "duration": 30}), "-o", tmp_path, "--json")
    elapsed = time.perf_counter() - started
    assert res.code == 0, res.stderr
    out = res.json()
    data, rate = sf.read(out["files"][0], dtype="float32", always_2d=True)
    assert data.shape == (30 * rate, 2)
    assert 20 * np.log10(np.abs(data).max()) <= -1.0
    assert np.abs(data[:, 0] - data[:, 1]).mean() > 1e-4          # really stereo, not doubled mono
    assert elapsed < 20                                           # "a few seconds" (loaded CI margin)
    sidecar = json.loads(Path(out["sidecars"][0]).read_text())
    sketch = sidecar["metadata"]["sketch"]
    assert sketch["tempo_bpm"] == 80 and sketch["genre"] == "lofi" and sketch["vinyl"] is True
    assert sketch["unused_tags"] == ["zorblax"] and "zorblax" in res.stderr
    assert sketch["instruments"]["chords"] == "piano"
    for decision in ("key", "form", "progressions", "instruments", "drums", "renderer"):
        assert sketch[decision]
    assert sidecar["seed"] >= 0                                   # -1 resolved and recorded


def _librosa_tempo(samples: np.ndarray, rate: int) -> float:
    import librosa

    mono = librosa.resample(samples.mean(axis=0), orig_sr=rate, target_sr=22050)
    tempo, _ = librosa.beat.beat_track(y=mono, sr=22050)
    return float(np.atleast_1d(tempo)[0])


@pytest.mark.parametrize("tags,bpm", [("lofi hip hop, chill", 80), ("pop", 120), ("house", 126), ("rock", 140),
                                      ("funk", 104), ("reggaeton", 94)])
def test_librosa_hears_the_requested_tempo(tags, bpm):
    _, rendered = synth_render(f"{tags}, {bpm} BPM", duration=24)
    heard = _librosa_tempo(rendered.samples, rendered.sample_rate)
    assert any(abs(heard - bpm * f) <= 0.03 * bpm * f for f in (0.5, 1, 2)), heard


@pytest.mark.parametrize("key", ["C major", "A minor", "F# major", "Eb minor", "G major", "D minor", "Bb major"])
def test_chroma_template_key_estimate_matches_the_requested_key(key):
    from aimusic.audio.analysis import _mono_for_analysis, estimate_key

    _, rendered = synth_render(f"pop, {key}, 110 BPM", duration=20)
    mono, rate = _mono_for_analysis(rendered.samples, rendered.sample_rate)
    found = estimate_key(mono, rate)
    assert parse_key(found["name"]) == parse_key(key), found


def _drum_signature(arrangement) -> frozenset:
    """(drum note, sixteenth step) pairs of the busiest bar: the groove."""
    drums = arrangement.part("drums")
    if drums is None:
        return frozenset()
    step = arrangement.bar_seconds / 16
    bars: dict[int, set] = {}
    for note in drums.notes:
        bar = int(note.start // arrangement.bar_seconds)
        bars.setdefault(bar, set()).add((note.pitch, int(round((note.start % arrangement.bar_seconds) / step)) % 16))
    return frozenset(max(bars.values(), key=len))


def test_every_genre_has_its_own_drums_and_progressions():
    grooves, progressions = {}, {}
    for name in GENRES:
        for mode in ("major", "minor"):
            arrangement = compose(ComposeRequest(tags=f"{name}, C {mode}, 110 BPM", duration=40, seed=7))
            progressions[(name, mode)] = tuple(tuple(s.chords) for s in arrangement.sections)
            if mode == "major":
                grooves[name] = _drum_signature(arrangement)
                assert arrangement.decisions["progressions"]
    assert len(set(grooves.values())) == len(GENRES), grooves
    for mode in ("major", "minor"):
        chosen = [progressions[(name, mode)] for name in GENRES]
        assert len(set(chosen)) == len(GENRES)
    # And the option lists themselves never repeat a progression across genres.
    from aimusic.engines.sketch.theory import Key, roman_chord

    for mode in ("major", "minor"):
        symbols = [tuple(roman_chord(c, Key(0, mode)).symbol for c in p) for g in GENRES.values()
                   for p in (g.major_progressions if mode == "major" else g.minor_progressions)]
        assert len(symbols) == len(set(symbols))


def test_sections_differ_and_choruses_lift():
    arrangement, rendered = synth_render("pop, 120 BPM", duration=64)
    rate = rendered.sample_rate
    mono = rendered.samples.mean(axis=0)

    def level(section):
        a, b = int(section.start * rate), int(section.end * rate)
        return float(np.sqrt(np.mean(mono[a:b] ** 2)))

    verse = next(s for s in arrangement.sections if s.kind == "verse")
    chorus = next(s for s in arrangement.sections if s.kind == "chorus")
    intro = arrangement.sections[0]
    assert level(chorus) > level(verse) > level(intro)

    def melody(section):
        return [n.pitch for n in arrangement.melody if section.start <= n.start < section.end]

    assert np.mean(melody(chorus)) > np.mean(melody(verse)) + 2          # the chorus sits higher

    def roles(section):
        return {p.role for p in arrangement.parts if any(section.start <= n.start < section.end for n in p.notes)}

    assert roles(chorus) - roles(verse)                                  # and adds instruments
    # Motifs repeat: the verse's first and third bars share their rhythm.
    bar = arrangement.bar_seconds
    onsets = [[round((n.start - verse.start - k * bar) / bar * 16) for n in arrangement.melody
               if verse.start + k * bar <= n.start < verse.start + (k + 1) * bar] for k in (0, 2)]
    assert onsets[0] == onsets[1] and onsets[0]


def test_ending_resolves_to_the_tonic_with_a_tail():
    arrangement, rendered = synth_render("corporate, D major, 110 BPM", duration=20)
    assert arrangement.sections[-1].chords[-1] == "I"
    assert arrangement.music_end < arrangement.duration                 # room for the tail
    chords = arrangement.part("chords")
    final = [n for n in chords.notes if n.start >= arrangement.music_end - arrangement.bar_seconds - 1e-6]
    assert {n.pitch % 12 for n in final} <= {2, 6, 9}                    # D major triad
    mono = np.abs(rendered.samples).mean(axis=0)
    rate = rendered.sample_rate
    assert mono[-int(0.05 * rate):].mean() < 0.2 * mono[: -int(2 * rate)].mean()


# ---------------------------------------------------------------- loops


def _band_db(window: np.ndarray) -> np.ndarray:
    spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window)))) ** 2
    edges = np.unique(np.geomspace(2, len(spectrum) - 1, 25).astype(int))
    return 10 * np.log10(np.add.reduceat(spectrum, edges)[:-1] + 1e-10)


def seam_ratios(samples: np.ndarray, n: int = 8192, points: int = 64) -> tuple[float, float]:
    """(spectral jump, sample discontinuity) across the wrap (last frame -> first), each divided
    by the same measure inside the track (90th percentile of the jumps at 64 inside points;
    99.5th percentile of every sample's second difference). About 1 or less: like any moment
    inside the track."""
    mono = samples.astype(np.float64).mean(axis=0)
    wrapped = np.concatenate([mono[-n:], mono[:n]])

    def jump(x: np.ndarray, p: int) -> float:
        return float(np.sqrt(np.mean((_band_db(x[p:p + n]) - _band_db(x[p - n:p])) ** 2)))

    second = np.abs(mono[2:] - 2 * mono[1:-1] + mono[:-2])
    inside = np.linspace(n, len(mono) - n, points + 2)[1:-1].astype(int)
    wrap_second = np.abs(wrapped[n:n + 2] - 2 * wrapped[n - 1:n + 1] + wrapped[n - 2:n]).max()
    return (jump(wrapped, n) / np.percentile([jump(mono, p) for p in inside], 90),
            float(wrap_second / np.percentile(second, 99.5)))


def test_seamless_loop_wraps_without_a_seam_and_the_measure_can_fail():
    from aimusic.audio.loop import seam_score

    for tags in ("lofi hip hop", "edm", "ambient"):
        arrangement, looped = synth_render(f"{tags}, seamless loop", duration=16)
        assert arrangement.loop and looped.samples.shape[1] == 16 * looped.sample_rate
        spectral, discontinuity = seam_ratios(looped.samples)
        assert spectral < 1.2 and discontinuity < 0.6, (tags, spectral, discontinuity)
        assert seam_score(looped.samples, looped.sample_rate)["seamless"]      # the shared measure agrees
        _, plain = synth_render(tags, duration=16)                          # an ending, not a loop
        assert seam_ratios(plain.samples)[0] > 2.0
    cut = looped.samples[:, :-1234]                                         # ambient, wrapped mid-note
    assert seam_ratios(cut)[1] > 2.0
    soundfont_loop = render(compose(ComposeRequest(tags="lofi, seamless loop", duration=12, seed=1)), "soundfont", 1)
    spectral, discontinuity = seam_ratios(soundfont_loop.samples)
    assert spectral < 1.2 and discontinuity < 0.6


def test_loop_field_and_whole_bar_length(tmp_path):
    result = aimusic.run(GEN, {"tags": "synthwave, 100 BPM", "duration": 19.2, "loop": True, "seed": 1}, tmp_path)
    sketch = json.loads(Path(result.sidecars[0]).read_text())["metadata"]["sketch"]
    assert sketch["loop"] is True and sketch["ending"].startswith("loop")
    assert sketch["tempo_bpm"] == 100                                    # 19.2 s is exactly 8 bars at 100
    assert sf.info(result.files[0]).frames == round(19.2 * 44100)


# ---------------------------------------------------------------- determinism, MIDI, renderers


def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_same_seed_same_bytes_other_seed_other_music(tmp_path):
    request = {"tags": "funk, brass, happy", "duration": 12, "seed": 42, "lyrics": LYRICS}
    a = aimusic.run(GEN, request, tmp_path / "a")
    b = aimusic.run(GEN, request, tmp_path / "b")
    c = aimusic.run(GEN, {**request, "seed": 43}, tmp_path / "c")
    assert _digest(a.files[0]) == _digest(b.files[0])
    assert _digest(a.files[0]) != _digest(c.files[0])


def test_midi_option_writes_the_arrangement(cli, tmp_path):
    import pretty_midi

    res = cli("run", GEN, "--input", json.dumps({"tags": "jazz, sax, 110 BPM", "duration": 20, "seed": 9,
                                                 "lyrics": LYRICS}), "--midi", "-o", tmp_path, "--json")
    assert res.code == 0, res.stderr
    mid = next(tmp_path.glob("*.mid"))
    pm = pretty_midi.PrettyMIDI(str(mid))
    assert any(i.is_drum for i in pm.instruments)
    assert any(i.program == 65 for i in pm.instruments)                  # the sax plays the lead
    assert abs(pm.get_tempo_changes()[1][0] - 110) < 0.01
    assert pm.lyrics and pm.lyrics[0].text.strip().rstrip("-") == "Walk"   # "-": the word goes on
    assert not list(tmp_path.glob("*.mid"))[1:]


def test_soundfont_renderer(tmp_path):
    from aimusic.engines.sketch import soundfont

    assert soundfont.available()
    assert soundfont.default_soundfont().parent.name == "pretty_midi"      # loaded from the package
    root = Path(__file__).resolve().parent.parent
    assert not list((root / "src").rglob("*.sf2"))                       # never copied into the repo
    request = {"tags": "folk, acoustic guitar, violin, 96 BPM", "duration": 10, "seed": 4, "renderer": "soundfont"}
    a = aimusic.run(GEN, request, tmp_path / "a")
    info = sf.info(a.files[0])
    assert (info.samplerate, info.channels) == (48000, 2)
    assert abs(info.frames / 48000 - 10) < 0.01
    data, _ = sf.read(a.files[0], dtype="float32")
    assert 20 * np.log10(np.abs(data).max()) <= -1.0 and np.abs(data).mean() > 1e-3
    b = aimusic.run(GEN, request, tmp_path / "b")
    assert _digest(a.files[0]) == _digest(b.files[0])
    sketch = json.loads(Path(a.sidecars[0]).read_text())["metadata"]["sketch"]
    assert sketch["renderer"] == "soundfont" and sketch["render"]["soundfont"] == "TimGM6mb.sf2"


def test_auto_renderer_picks_a_configured_soundfont(monkeypatch):
    from aimusic.engines.sketch import soundfont
    from aimusic.engines.sketch.render import choose_renderer

    assert choose_renderer("auto") == "synth"
    monkeypatch.setenv("AIMUSIC_SOUNDFONT", str(soundfont.default_soundfont()))
    assert choose_renderer("auto") == "soundfont"
    assert choose_renderer("synth") == "synth"


@pytest.mark.parametrize("payload,field", [
    ({"tags": "pop", "renderer": "fluid"}, "renderer"),
    ({"tags": "pop", "keyscale": "H major"}, "keyscale"),
    ({"tags": "pop", "duration": 0}, "duration"),
    ({"tags": "pop", "bpm": 1000}, "bpm"),
    ({"tags": "   "}, "tags"),
])
def test_bad_input_is_one_clear_error_and_no_file(cli, tmp_path, payload, field):
    res = cli("run", GEN, "--input", json.dumps(payload), "-o", tmp_path, "--json")
    assert res.code == 65
    assert res.error()["field"] == field
    assert not list(tmp_path.iterdir())


def test_a_vocal_bus_hook_is_mixed_in():
    from aimusic.engines.sketch.mix import Bus

    arrangement = compose(ComposeRequest(tags="pop, 100 BPM", duration=12, seed=1, lyrics=LYRICS))
    heard = []

    def vocal(arr, rate, frames):
        heard.append(len(arr.vocal_notes()))
        tone = np.zeros(frames, dtype=np.float32)
        for note in arr.vocal_notes():
            a = int(note.start * rate)
            n = int(note.duration * rate)
            tone[a:a + n] += 0.3 * np.sin(2 * np.pi * 440 * 2 ** ((note.pitch - 69) / 12) * np.arange(n) / rate)
        return [Bus("vocal", tone, 1.0, 0.2)]

    plain = render(arrangement, "synth", 1)
    sung = render(arrangement, "synth", 1, extra_buses=[vocal])
    assert heard and heard[0] > 0 and "vocal" in sung.details["buses"]
    assert not np.array_equal(plain.samples, sung.samples)
    assert 20 * np.log10(np.abs(sung.samples).max()) <= -1.0


def test_every_voice_renders_every_pitch_cleanly():
    from aimusic.engines.sketch.synth import VOICES, render_drum, render_note
    from aimusic.engines.sketch.styles import GENRES as ALL

    for name in VOICES:
        for pitch in range(24, 101, 1):
            note = render_note(name, pitch, 0.05, 44100)
            assert note.dtype == np.float32 and np.isfinite(note).all()
            assert abs(np.abs(note).max() - VOICES[name].gain) < 1e-3          # normalised to the voice level
    for genre in ALL:
        for drum in (36, 37, 38, 39, 42, 44, 46, 49, 51, 45, 47, 50, 70):
            hit = render_drum(drum, 48000, genre)
            assert np.isfinite(hit).all() and 0 < np.abs(hit).max() <= 1.0


def test_same_seed_same_bytes_across_processes(cli_subprocess, tmp_path):
    """Nothing may depend on hash order or process state (PYTHONHASHSEED differs per run)."""
    payload = json.dumps({"tags": "reggaeton, piano, dark, vinyl, mystery-word", "duration": 8, "seed": 21})
    digests = []
    for index, hash_seed in enumerate(("1", "2")):
        res = cli_subprocess("run", GEN, "--input", payload, "-o", tmp_path / str(index), "--midi",
                             env={"PYTHONHASHSEED": hash_seed})
        assert res.code == 0, res.stderr
        digests.append(sorted(_digest(str(p)) for p in (tmp_path / str(index)).glob("*.*") if p.suffix != ".json"))
    assert digests[0] == digests[1] and len(digests[0]) == 2


def test_house_pumps_its_pads_and_bass_on_the_kick():
    from aimusic.engines.sketch.synth import sidechain_envelope

    arrangement = compose(ComposeRequest(tags="house, 120 BPM", duration=12, seed=1))
    envelope = sidechain_envelope(arrangement, 44100, 12 * 44100)
    kicks = [int(round(n.start * 44100)) for n in arrangement.part("drums").notes if n.pitch == 36]
    assert envelope[kicks].max() < 0.5                         # ducked on each kick
    assert envelope[[k + int(0.45 * 44100) for k in kicks[:-1]]].min() > 0.9   # recovered before the next
    assert sidechain_envelope(compose(ComposeRequest(tags="ambient", duration=12, seed=1)), 44100, 44100) is None

"""The sung vocal inside the sketch engine: language, syllables for the composer, the vocal bus,
stems that add up to the mix, and the `vocals` MIDI track.

The engine asks `plan_vocal(request, ctx)` once; with sung lyrics it gets a `VocalPlan` whose
`syllabify` the composer uses for lyric lines (so there is one note per sung syllable), whose
`bus_source` adds the vocal to the mix, and whose `attach` writes the stems and metadata.

Language: the `language` engine option (CLI `--language`), else the request's `vocal_language`
field, else the planner's detection (`aimusic.lyrics.detect_song_language`); with a detected
language each line is also checked on its own (`aimusic.lyrics.detect_language`), so a line in
another language is split and sung with that language's voice.

The arrangement does not depend on the language except through the syllable counts: tempo, key,
form, chords and every accompaniment note come from tags + seed, and the guide melody's
humanisation draws from its own random stream, so one translation per language gives the same
backing under different tunes' rhythms.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from aimusic.engines.sketch.voice import versions
from aimusic.engines.sketch.voice.melody import with_melismas
from aimusic.engines.sketch.voice.singer import VOICE_TYPES, SungNote, VocalRender, fit_to_voice, sing
from aimusic.engines.sketch.voice.syllables import (
    CONTINUES,
    count_syllables,
    is_language_code,
    syllabify,
    voice_language,
)
from aimusic.errors import InputError

VOCAL_BUS = "vocal"
VOCAL_RMS = 0.16          # level of the processed vocal bus while it sings, before the mix sets it
VOCAL_OVER_BACKING_DB = 2.0   # the vocal sits this much above the accompaniment where it sings
VOCAL_REVERB_SEND = 0.12  # a little of the song's shared room on top of the vocal bus's own
MIDI_VOCAL_PROGRAM = 53   # General MIDI "Voice Oohs", so a plain player sounds the line


@dataclass
class VocalPlan:
    language: str                       # song language code (as given or detected)
    explicit: bool                      # given by the user: every line in it
    voice: str
    seed: int
    line_languages: dict[tuple[str, ...], str] = field(default_factory=dict)
    render: VocalRender | None = None
    notes: list[SungNote] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    # -- for the composer
    def syllabify(self, line: str) -> list[str]:
        """Lyric line -> sung syllables (the composer writes one guide note per syllable)."""
        language = self.language if self.explicit else _line_language(line, self.language)
        syllables = syllabify(line, language)
        if syllables:
            self.line_languages.setdefault(tuple(syllables), language)
        return syllables

    # -- for the renderer
    def accompaniment(self, arrangement: Any) -> Any:
        """The arrangement without the guide notes the vocal sings (instrumental melody stays)."""
        sung = {(round(n.start, 6), int(n.pitch)) for n in arrangement.vocal_notes()}
        parts = []
        for part in arrangement.parts:
            if part.role == arrangement.guide_role and sung:
                part = replace(part, notes=[n for n in part.notes if (round(n.start, 6), int(n.pitch)) not in sung])
            parts.append(part)
        return replace(arrangement, parts=parts)

    def sung_notes(self, arrangement: Any) -> list[SungNote]:
        melody = arrangement.vocal_notes()
        by_line: dict[int, list[Any]] = {}
        for note in melody:
            by_line.setdefault(note.line, []).append(note)
        language_of_line = {line: self.line_languages.get(tuple(n.syllable for n in notes), self.language)
                            for line, notes in by_line.items()}
        notes = [SungNote(n.start, n.duration, n.pitch, n.syllable, bool(n.phrase_end or n.line_end),
                          language_of_line.get(n.line)) for n in melody]
        shift = fit_to_voice(notes, self.voice)
        notes = [replace(n, pitch=n.pitch + shift) for n in notes]
        return with_melismas(notes)

    def bus_source(self, arrangement: Any, sample_rate: int, frames: int) -> list[Any]:
        """Render the vocal and return it as the mix's `vocal` bus (stereo, processed)."""
        from aimusic.engines.sketch.mix import Bus
        from aimusic.engines.sketch.voice.bus import vocal_bus

        self.notes = self.sung_notes(arrangement)
        self.render = sing(self.notes, sample_rate, self.language, self.voice, seed=self.seed)
        self.warnings.extend(self.render.warnings)
        wet = vocal_bus(self.render.samples, sample_rate)
        out = np.zeros((2, frames), np.float32)
        n = min(frames, wet.shape[1])
        out[:, :n] = wet[:, :n]
        sounding = np.abs(self.render.samples[0, :n]) > 1e-3
        level = float(np.sqrt(np.mean(out[:, :n][:, sounding] ** 2))) if sounding.any() else 0.0
        gain = VOCAL_RMS / level if level > 0 else 1.0
        return [Bus(VOCAL_BUS, out, gain, VOCAL_REVERB_SEND)]

    # -- for the take
    def metadata(self) -> dict[str, Any]:
        render = self.render
        languages = sorted({v for v in self.line_languages.values()})
        return {"language": self.language, "language_source": "explicit" if self.explicit else "detected",
                "line_languages": languages, "voice": self.voice,
                "notes": len(self.notes), "sung_syllables": render.sung_syllables if render else 0,
                "espeak_voices": sorted({n.voice for n in render.notes}) if render else [],
                "warnings": self.warnings, "versions": versions()}

    def midi(self, midi_bytes: bytes) -> bytes:
        """The arrangement's MIDI plus a `vocals` track: the sung notes, lyric events on that track."""
        return add_vocal_track(midi_bytes, self.notes)


def plan_vocal(request: Any, options: Any, seed: int, notice: Any = None) -> VocalPlan | None:
    """A VocalPlan when the request has lyrics with sung lines; None for an instrumental."""
    lyrics = str(getattr(request, "lyrics", "") or "")
    voice = str(options.voice or "female").lower()
    if voice not in VOICE_TYPES:
        raise InputError(f"unknown voice {voice!r}: choose one of {', '.join(VOICE_TYPES)}", field="voice")
    explicit = options.language or getattr(request, "vocal_language", None)
    if not lyrics.strip():
        return None
    if explicit and not is_language_code(str(explicit)):
        raise InputError(f"{str(explicit)[:40]!r} is not a language code", field="language",
                         hint="use an ISO code such as en, es, de, zh, ja, ko, pt-br")
    language = str(explicit).strip().lower().replace("_", "-") if explicit else _song_language(lyrics)
    if explicit and voice_language(language) == "en" and not language.startswith("en"):
        message = f"no eSpeak NG voice for language {language!r}: the vocal is sung with the English voice"
        if notice is not None:
            notice(message)
    if count_syllables(lyrics, language) == 0:
        if notice is not None:
            notice("the lyrics have no sung lines (only section markers): an instrumental is rendered")
        return None
    return VocalPlan(language=language, explicit=bool(explicit), voice=voice, seed=seed)


def _song_language(lyrics: str) -> str:
    try:
        from aimusic.lyrics import detect_song_language
    except ImportError:   # the lyrics package is part of aimusic; this guards partial installs
        return "en"
    return detect_song_language(lyrics)


def _line_language(line: str, song_language: str) -> str:
    """A line's own language when detection is confident it differs; else the song's."""
    try:
        from aimusic.lyrics import detect_language
    except ImportError:
        return song_language
    code = detect_language(line)
    if code == song_language or len(line.split()) < 3 and not _is_cjk_script(line):
        return song_language   # short Latin lines are too short to tell reliably
    return code if voice_language(code) != "en" or code.startswith("en") else song_language


def _is_cjk_script(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7a3" for ch in text)


def split_mix(buses: list[Any], sample_rate: int, frames: int, **mix_options: Any) -> tuple[np.ndarray, dict]:
    """Mix with the vocal as a stem: (mix, {"vocals": v, "accompaniment": a}) with v + a == mix
    (`linked_stems` with two groups; the vinyl texture belongs to the accompaniment)."""
    return linked_stems(buses, lambda name: "vocals" if name == VOCAL_BUS else "accompaniment",
                        sample_rate, frames, vinyl_stem="accompaniment", **mix_options)


def linked_stems(buses: list[Any], stem_of: Any, sample_rate: int, frames: int, *, vinyl_stem: str,
                 **mix_options: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Mix with stems: (mix, {stem: samples}) whose stems add up to the mix within float rounding.

    `stem_of(bus name)` names each bus's stem. Every stem goes through the same pre-master path
    (sum, reverb, loop fold, end fade; the vinyl texture only on `vinyl_stem`), the vocal stem is
    set against the rest (`_vocal_gain`), then the master's gain and soft knee are taken from the
    whole mix and applied sample by sample to each stem (linked, as a mastering limiter processes
    stems)."""
    from aimusic.engines.sketch.mix import master, mix_buses

    groups: dict[str, list[Any]] = {}
    for bus in buses:
        groups.setdefault(stem_of(bus.name), []).append(bus)
    pre = {name: mix_buses(members, sample_rate, frames, finish=False,
                           **{**mix_options, "vinyl": bool(mix_options.get("vinyl")) and name == vinyl_stem})
           for name, members in groups.items()}
    if mix_options.get("vinyl") and vinyl_stem not in pre:
        pre[vinyl_stem] = mix_buses([], sample_rate, frames, finish=False, **mix_options)
    vocal_stem = stem_of(VOCAL_BUS)
    if vocal_stem in pre and len(pre) > 1:
        rest = sum(v for k, v in pre.items() if k != vocal_stem)
        pre[vocal_stem] *= np.float32(_vocal_gain(pre[vocal_stem], rest, sample_rate))
    total = sum(pre.values())
    # the same master as a plain render: its true-peak stage depends on the rate and on looping
    mixed = master(total, sample_rate=sample_rate, periodic=bool(mix_options.get("loop")))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(total != 0, mixed.astype(np.float64) / total, 0.0)
    stems = {name: (part * ratio).astype(np.float32) for name, part in pre.items()}
    # the last stem takes the rounding, so the stems add up to the mix exactly in float64 order
    last = list(stems)[-1]
    stems[last] = (mixed - sum(v for k, v in stems.items() if k != last)).astype(np.float32)
    return mixed, stems


def _vocal_gain(vocal: np.ndarray, backing: np.ndarray, sample_rate: int) -> float:
    """Gain that puts the vocal VOCAL_OVER_BACKING_DB above the accompaniment where it sings
    (measured over 50 ms blocks), whatever the genre's density."""
    block = max(1, int(0.05 * sample_rate))
    n = vocal.shape[1] // block * block
    if n == 0:
        return 1.0
    vocal_power = (vocal[:, :n] ** 2).mean(axis=0).reshape(-1, block).mean(axis=1)
    backing_power = (backing[:, :n] ** 2).mean(axis=0).reshape(-1, block).mean(axis=1)
    sung = vocal_power > vocal_power.max() * 1e-2
    if not sung.any() or backing_power[sung].mean() <= 0:
        return 1.0
    ratio = np.sqrt(backing_power[sung].mean() / vocal_power[sung].mean())
    return float(ratio * 10 ** (VOCAL_OVER_BACKING_DB / 20))


def word_timing(notes: list[SungNote]) -> list[dict[str, Any]]:
    """The sung words with their exact times: [{word, start, end, line}] (seconds), from the notes
    the singer sang. A syllable ending in "-" continues its word; an empty one (a melisma) holds
    the previous syllable; a phrase end closes the line."""
    words: list[dict[str, Any]] = []
    line = 0
    open_word = False
    for note in notes:
        text = note.syllable.strip()
        end = round(note.start + note.duration, 3)
        if text in ("", "_", "~", "+", CONTINUES):
            if words:
                words[-1]["end"] = max(words[-1]["end"], end)
        elif open_word and words:
            words[-1]["word"] += text.rstrip(CONTINUES)
            words[-1]["end"] = end
        else:
            words.append({"word": text.rstrip(CONTINUES), "start": round(note.start, 3), "end": end, "line": line})
        if text and text not in ("_", "~", "+", CONTINUES):
            open_word = text.endswith(CONTINUES)
        if note.phrase_end:
            line += 1
            open_word = False
    return [w for w in words if w["word"]]


def add_vocal_track(midi_bytes: bytes, notes: list[SungNote]) -> bytes:
    """Append a track named `vocals` holding the sung notes, with each syllable as a lyric event
    on that track (where DAWs and vocal synths look for them)."""
    import mido

    song = mido.MidiFile(file=io.BytesIO(midi_bytes), charset="utf-8")   # lyric text is UTF-8 (CJK)
    ticks_per_second = _ticks_per_second(song)
    events: list[tuple[int, int, mido.Message | mido.MetaMessage]] = []
    for index, note in enumerate(notes):
        on = int(round(note.start * ticks_per_second))
        off = max(on + 1, int(round((note.start + note.duration) * ticks_per_second)))
        pitch = int(round(note.pitch))
        syllable = note.syllable.strip()
        if syllable and syllable not in ("_", "~", "+", CONTINUES):
            # karaoke (.kar) convention: a syllable that continues its word has no trailing space,
            # a word ends with a space, a line with a newline
            ending = "" if syllable.endswith(CONTINUES) else ("\n" if _ends_line(notes, index) else " ")
            events.append((on, 0, mido.MetaMessage("lyrics", text=syllable.rstrip(CONTINUES) + ending)))
        events.append((on, 2, mido.Message("note_on", channel=3, note=pitch, velocity=90)))
        events.append((off, 1, mido.Message("note_off", channel=3, note=pitch, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1]))
    track = mido.MidiTrack([mido.MetaMessage("track_name", name="vocals"),
                            mido.Message("program_change", channel=3, program=MIDI_VOCAL_PROGRAM)])
    now = 0
    for tick, _, message in events:
        track.append(message.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    # the arrangement's own lyric events (the guide melody's) would duplicate these: drop them
    for existing in song.tracks:
        _drop_lyrics(existing)
    song.tracks.append(track)
    out = io.BytesIO()
    song.save(file=out)
    return out.getvalue()


def _ends_line(notes: list[SungNote], index: int) -> bool:
    """Whether the syllable starting at notes[index] (with its melisma notes) ends a phrase."""
    last = index
    while last + 1 < len(notes) and not notes[last + 1].syllable.strip():
        last += 1
    return notes[last].phrase_end


def _drop_lyrics(track: Any) -> None:
    carry = 0
    kept = []
    for message in track:
        if message.is_meta and message.type == "lyrics":
            carry += message.time
            continue
        kept.append(message.copy(time=message.time + carry))
        carry = 0
    track[:] = kept


def _ticks_per_second(song: Any) -> float:
    """The file's tempo is constant (the sketch engine writes one tempo)."""
    tempo = 500000
    for message in song.tracks[0]:
        if message.is_meta and message.type == "set_tempo":
            tempo = message.tempo
            break
    return song.ticks_per_beat * 1_000_000 / tempo


def attach_vocal(take: Any, vocal: VocalPlan | None, rendered: Any, options: Any, sink: Any,
                 notice: Any = None, output_format: str | None = None) -> None:
    """Vocal metadata into the take; with the `stems` option, `vocals.<fmt>` + `accompaniment.<fmt>` in the
    run's output format (default wav)."""
    if vocal is not None:
        take.metadata["vocal"] = vocal.metadata()
        take.metadata["lyrics_timing"] = word_timing(vocal.notes)
        for warning in dict.fromkeys(vocal.warnings):
            if notice is not None:
                notice(f"vocal: {warning}")
    if not options.stems:
        return
    stems = getattr(rendered, "stems", None)
    if stems is None:   # no sung vocal: the accompaniment is the whole mix
        if notice is not None:
            notice("--stems: no sung vocal (no lyrics), so the vocals stem is silent")
        stems = {"vocals": np.zeros_like(rendered.samples), "accompaniment": rendered.samples}
    fmt = output_format or "wav"
    for name in ("vocals", "accompaniment"):
        take.extra_files[f"{name}.{fmt}"] = sink.stage_audio(stems[name], rendered.sample_rate, fmt)

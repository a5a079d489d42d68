"""Singing notes with eSpeak NG speech re-pitched and re-timed by the WORLD vocoder.

Each word is spoken once by eSpeak NG (cached), analysed with WORLD (dio +
stonemask, cheaptrick, d4c at 5 ms frames) and cut into syllables at its
vowel nuclei (eSpeak's phoneme events). Each syllable is then laid onto its
note(s): onset consonants kept short at the note start, the vowel stretched
to the note's length (across several notes for a melisma), coda consonants at
the end. The f0 is replaced by the melody (legato glide between the notes of a
phrase, gentle vibrato on long notes, a breath gap at phrase ends) and each
phrase is synthesised by WORLD in one call, then placed at its start sample.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from aimusic.engines.sketch.voice import espeak, world
from aimusic.engines.sketch.voice.romaji import to_hiragana as romaji_to_hiragana
from aimusic.engines.sketch.voice.syllables import CONTINUES, script_voice, to_hiragana_reading, voice_language
from aimusic.errors import InputError

FRAME_PERIOD_MS = 5.0
MAX_NOTES = 6000             # ~20 minutes of syllables; more is refused rather than rendered
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 192000
PHRASE_GAP_S = 0.25          # a rest longer than this starts a new phrase (and a new breath)
BREATH_GAP_S = 0.12          # silence taken off the end of a phrase's last note
GLIDE_S = 0.035              # legato portamento into a new pitch
VIBRATO_MIN_NOTE_S = 0.45
VIBRATO_DELAY_S = 0.18
VIBRATO_CENTS = 22.0
VIBRATO_HZ = 5.3
_MELISMA_MARKS = frozenset({"", "_", "-", "~", "+"})
_SILENT_SP = 1e-16           # envelope power of a silent frame (WORLD needs > 0)


@dataclass(frozen=True)
class VoiceType:
    """How a voice type sounds: eSpeak NG variant, formant warp factor, comfortable MIDI range."""

    variant: str
    formant_shift: float
    low: int
    high: int


VOICE_TYPES: dict[str, VoiceType] = {   # ranges: where a melody is moved (by octaves) to sit
    "female": VoiceType("f3", 1.0, 57, 76),
    "male": VoiceType("m3", 1.0, 45, 64),
    "child": VoiceType("f4", 1.15, 62, 81),
    "soprano": VoiceType("f2", 1.05, 62, 84),
    "alto": VoiceType("f1", 0.97, 55, 74),
    "tenor": VoiceType("m1", 1.02, 50, 69),
    "bass": VoiceType("m2", 0.9, 40, 60),
}


@dataclass(frozen=True)
class SungNote:
    """A note to sing. `syllable` "" (or "_", "-", "~", "+") continues the previous syllable (melisma);
    a syllable ending with "-" continues a word on the next syllable."""

    start: float
    duration: float
    pitch: float
    syllable: str
    phrase_end: bool = False
    language: str | None = None


@dataclass(frozen=True)
class NoteRender:
    onset_sample: int          # where the note starts in the returned samples
    end_sample: int            # where its sound ends (a breath gap shortens a phrase's last note)
    syllable: str
    pitch: float
    starts_syllable: bool      # False for the 2nd..nth notes of a melisma
    voice: str                 # eSpeak voice that pronounced it


@dataclass
class VocalRender:
    samples: np.ndarray        # float32 [1, frames]
    sample_rate: int
    notes: list[NoteRender]
    language: str
    voice: str
    warnings: list[str] = field(default_factory=list)

    @property
    def sung_syllables(self) -> int:
        return sum(1 for n in self.notes if n.starts_syllable)


@dataclass(frozen=True)
class _SyllableFrames:
    """WORLD frames of one spoken syllable: consonant onset [0, onset), vowel, coda [coda, n)."""

    f0: np.ndarray
    sp: np.ndarray
    ap: np.ndarray
    onset: int
    coda: int


def fit_to_voice(notes: Sequence[Any], voice: str) -> int:
    """Octave shift (in semitones, multiple of 12) that best puts the melody in the voice's range."""
    voice_type = VOICE_TYPES.get(voice, VOICE_TYPES["female"])
    pitches = [float(n.pitch) for n in notes]
    if not pitches:
        return 0
    middle = (voice_type.low + voice_type.high) / 2
    centre = (min(pitches) + max(pitches)) / 2
    return int(12 * round((middle - centre) / 12))


def voice_names() -> list[str]:
    return list(VOICE_TYPES)


def sing(notes: Iterable[Any], sample_rate: int, language: str | None, voice: str = "female",
         seed: int = 0) -> VocalRender:
    """Sing `notes` (objects with start, duration, pitch, syllable, phrase_end[, language]).

    Returns float32 [1, frames] at `sample_rate`, as long as the last note's end (plus a short
    release), with one NoteRender per note. Same input and seed give identical samples.
    """
    world.pyworld()  # fail early if the vocoder cannot load

    if voice not in VOICE_TYPES:
        raise InputError(f"unknown voice {voice!r}: choose one of {', '.join(VOICE_TYPES)}", field="voice")
    if not (MIN_SAMPLE_RATE <= int(sample_rate) <= MAX_SAMPLE_RATE):
        raise InputError(f"unsupported sample rate {sample_rate} for singing", field="sample_rate")
    note_list = _checked_notes(notes)
    song_voice = voice_language(language)
    voice_type = VOICE_TYPES[voice]
    warnings: list[str] = []
    if not note_list:
        return VocalRender(np.zeros((1, 0), np.float32), int(sample_rate), [], song_voice, voice, warnings)

    fs = espeak.engine().sample_rate
    frame_s = FRAME_PERIOD_MS / 1000.0
    syllables = _syllable_groups(note_list)
    frames_of = _analyse_syllables(note_list, syllables, song_voice, voice_type, warnings)

    total_s = max(n.start + n.duration for n in note_list) + 0.3
    out = np.zeros(int(math.ceil(total_s * fs)) + 1, np.float64)
    rng = np.random.default_rng(seed)
    renders: list[NoteRender | None] = [None] * len(note_list)
    voices = {i: v for group, (_, v) in zip(syllables, frames_of) for i in group}
    syllable_starts = {group[0] for group in syllables}

    for phrase in _phrases(note_list):
        first, last = phrase[0], phrase[-1]
        t0 = note_list[first].start
        n_frames = int(round((note_list[last].start + note_list[last].duration - t0) / frame_s)) + 2
        bins = frames_of[0][0].sp.shape[1]
        f0 = np.zeros(n_frames)
        sp = np.full((n_frames, bins), _SILENT_SP)
        ap = np.ones((n_frames, bins))
        pitch = np.full(n_frames, np.nan)      # MIDI pitch of the note sounding at each frame
        voiced = np.zeros(n_frames, bool)
        note_start_frame = {i: int(round((note_list[i].start - t0) / frame_s)) for i in phrase}
        note_end_frame = {}
        for i in phrase:
            end = note_list[i].start + note_list[i].duration
            if i < last:
                end = min(end, note_list[i + 1].start)
            if i == last:
                end -= min(BREATH_GAP_S, 0.2 * note_list[i].duration)
            note_end_frame[i] = max(note_start_frame[i] + 2, int(round((end - t0) / frame_s)))
            note_end_frame[i] = min(note_end_frame[i], n_frames)
            pitch[note_start_frame[i]:note_end_frame[i]] = note_list[i].pitch
        for group_index, group in enumerate(syllables):
            if group[0] not in note_start_frame:
                continue
            syllable_frames = frames_of[group_index][0]
            a, b = note_start_frame[group[0]], note_end_frame[group[-1]]
            _lay_syllable(syllable_frames, a, b, f0, sp, ap, voiced)
        f0 = _melody_f0(pitch, voiced, phrase, note_list, note_start_frame, note_end_frame, frame_s, rng)
        _fade_phrase_edges(sp, note_start_frame[first], note_end_frame[last])
        y = pyworld_synthesize(f0, sp, ap, fs)
        start = int(round(t0 * fs))
        y = y[: max(0, len(out) - start)]
        out[start:start + len(y)] += y
        for i in phrase:
            onset_s = t0 + note_start_frame[i] * frame_s
            end_s = t0 + note_end_frame[i] * frame_s
            renders[i] = NoteRender(
                onset_sample=int(round(onset_s * sample_rate)), end_sample=int(round(end_s * sample_rate)),
                syllable=note_list[i].syllable, pitch=float(note_list[i].pitch),
                starts_syllable=i in syllable_starts, voice=voices.get(i, song_voice),
            )

    samples = out.astype(np.float32)[np.newaxis, :]
    if int(sample_rate) != fs:
        from aimusic.audio.io import resample

        samples = resample(samples, fs, int(sample_rate), quality="HQ")
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak > 0:
        samples = (samples * (0.7 / peak)).astype(np.float32)
    return VocalRender(np.ascontiguousarray(samples, dtype=np.float32), int(sample_rate),
                       [r for r in renders if r is not None], song_voice, voice, warnings)


# ---------------------------------------------------------------- note bookkeeping

def _is_melisma(syllable: str) -> bool:
    return syllable.strip() in _MELISMA_MARKS


def _checked_notes(notes: Iterable[Any]) -> list[SungNote]:
    out: list[SungNote] = []
    for index, note in enumerate(notes):
        if len(out) >= MAX_NOTES:
            raise InputError(f"too many sung notes (more than {MAX_NOTES}): shorten the lyrics", field="lyrics")
        try:
            start, duration, pitch = float(note.start), float(note.duration), float(note.pitch)
            syllable = str(getattr(note, "syllable", "") or "")
        except (AttributeError, TypeError, ValueError) as exc:
            raise InputError(f"note {index} is not a note (start, duration, pitch, syllable)", field="notes") from exc
        if not all(math.isfinite(v) for v in (start, duration, pitch)) or start < 0 or duration <= 0:
            raise InputError(f"note {index} has a bad start/duration ({start}, {duration})", field="notes")
        if not 12 <= pitch <= 120:
            raise InputError(f"note {index} pitch {pitch} is outside MIDI 12..120", field="notes")
        out.append(SungNote(start, duration, pitch, syllable, bool(getattr(note, "phrase_end", False)),
                            getattr(note, "language", None)))
    out.sort(key=lambda n: n.start)  # stable: equal starts keep their order
    # overlapping notes are cut at the next start (one voice sings one note at a time)
    return out


def _syllable_groups(notes: list[SungNote]) -> list[list[int]]:
    """Note indexes per sung syllable: a melisma mark continues the previous syllable."""
    groups: list[list[int]] = []
    for i, note in enumerate(notes):
        if groups and _is_melisma(note.syllable) and not notes[i - 1].phrase_end:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _phrases(notes: list[SungNote]) -> list[list[int]]:
    phrases: list[list[int]] = []
    for i, note in enumerate(notes):
        new = (not phrases or notes[i - 1].phrase_end
               or note.start - (notes[i - 1].start + notes[i - 1].duration) > PHRASE_GAP_S)
        if new:
            phrases.append([i])
        else:
            phrases[-1].append(i)
    return phrases


def _analyse_syllables(notes: list[SungNote], groups: list[list[int]], song_voice: str, voice_type: VoiceType,
                       warnings: list[str]) -> list[tuple[_SyllableFrames, str]]:
    """WORLD frames and eSpeak voice for each syllable group, pronouncing whole words."""
    out: list[tuple[_SyllableFrames, str] | None] = [None] * len(groups)
    g = 0
    while g < len(groups):
        word_groups = [g]
        while (notes[groups[word_groups[-1]][0]].syllable.strip().endswith(CONTINUES)
               and not _is_melisma(notes[groups[word_groups[-1]][0]].syllable)
               and word_groups[-1] + 1 < len(groups)):
            word_groups.append(word_groups[-1] + 1)
        pieces = [notes[groups[k][0]].syllable.strip().rstrip(CONTINUES) for k in word_groups]
        first_note = notes[groups[g][0]]
        line_voice = voice_language(first_note.language) if first_note.language else song_voice
        word = "".join(pieces)
        speak_voice = script_voice(word, line_voice)
        if speak_voice == "ja":
            word = romaji_to_hiragana(word) or to_hiragana_reading(word)
        if not any(ch.isalnum() for ch in word):
            word = "a"   # a note without letters is sung on a plain vowel
        try:
            frames = _word_frames(speak_voice, voice_type, word, len(word_groups))
        except ValueError:
            warnings.append(f"eSpeak NG could not pronounce {word!r}; sung on a vowel")
            try:
                frames = _word_frames(speak_voice, voice_type, "a" * len(word_groups), len(word_groups))
            except ValueError:   # a voice that says nothing at all for a plain vowel
                speak_voice = "en"
                frames = _word_frames("en", voice_type, "a" * len(word_groups), len(word_groups))
        for k, syllable_frames in zip(word_groups, frames):
            out[k] = (syllable_frames, speak_voice)
        g = word_groups[-1] + 1
    return out  # type: ignore[return-value]


# ---------------------------------------------------------------- WORLD analysis (cached)

_cache: OrderedDict[tuple, tuple[_SyllableFrames, ...]] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_WORDS = 4096


def _word_frames(speak_voice: str, voice_type: VoiceType, word: str, count: int) -> tuple[_SyllableFrames, ...]:
    key = (speak_voice, voice_type, word, count)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    frames = _analyse_word(speak_voice, voice_type, word, count)
    with _cache_lock:
        _cache[key] = frames
        while len(_cache) > _CACHE_WORDS:
            _cache.popitem(last=False)
    return frames


def _analyse_word(speak_voice: str, voice_type: VoiceType, word: str, count: int) -> tuple[_SyllableFrames, ...]:
    from aimusic.engines.sketch.voice.syllables import has_ipa_vowel

    pyworld = world.pyworld()

    speech = espeak.speak(f"{speak_voice}+{voice_type.variant}", word)
    fs = speech.sample_rate
    x = speech.samples.astype(np.float64) / 32768.0
    hop = fs * FRAME_PERIOD_MS / 1000.0
    if len(x) < 4 * hop or not np.any(x):
        raise ValueError("no speech")
    f0, t = pyworld.dio(x, fs, f0_floor=60.0, f0_ceil=700.0, frame_period=FRAME_PERIOD_MS)
    f0 = pyworld.stonemask(x, f0, t, fs)
    sp = pyworld.cheaptrick(x, f0, t, fs)
    ap = pyworld.d4c(x, f0, t, fs)
    n = len(f0)
    # active region: frames within 45 dB of the loudest (eSpeak pads with silence)
    power = np.array([np.mean(x[int(i * hop): int(i * hop + hop)] ** 2) if int(i * hop) < len(x) else 0.0
                      for i in range(n)])
    active = np.flatnonzero(power > power.max() * 10 ** (-45 / 10))
    lo, hi = int(active[0]), int(active[-1]) + 1
    phones = [(name, min(n, int(round(pos / hop)))) for name, pos in speech.phonemes]
    phones = [(name, pos) for name, pos in phones if not name.startswith("(")]
    nuclei = [k for k, (name, _) in enumerate(phones) if has_ipa_vowel(name)]
    bounds: list[tuple[int, int, int, int]] = []  # (start, vowel start, vowel end, end) per syllable
    if len(nuclei) == count:
        def phone_start(k: int) -> int:
            return phones[k][1] if k < len(phones) else hi

        starts = [lo]
        for v, w in zip(nuclei, nuclei[1:]):
            consonants = w - v - 1
            starts.append(max(lo, min(hi, phone_start(w - (consonants - consonants // 2)))))
        starts.append(hi)
        for k, v in enumerate(nuclei):
            a, b = starts[k], starts[k + 1]
            va = min(max(phone_start(v), a), b - 1)
            vb = min(max(phone_start(v + 1), va + 1), b)
            bounds.append((a, va, vb, b))
    else:
        # eSpeak's nuclei disagree with the count: cut evenly; unvoiced edges become consonants
        edges = np.linspace(lo, hi, count + 1).round().astype(int)
        for a, b in zip(edges, edges[1:]):
            b = max(b, a + 1)
            voiced_idx = np.flatnonzero(f0[a:b] > 0)
            va, vb = (a + int(voiced_idx[0]), a + int(voiced_idx[-1]) + 1) if len(voiced_idx) else (a, b)
            bounds.append((a, va, vb, b))
    ap = _voiced_aperiodicity(f0, ap, bounds)
    if voice_type.formant_shift != 1.0:
        sp = _warp_envelope(sp, voice_type.formant_shift)
    out = []
    for a, va, vb, b in bounds:
        seg_sp = sp[a:b].copy()
        vowel_power = float(np.mean(np.sum(sp[va:vb], axis=1))) if vb > va else float(np.mean(np.sum(seg_sp, axis=1)))
        seg_sp *= 1.0 / max(vowel_power, 1e-12)  # every vowel at the same loudness
        out.append(_SyllableFrames(f0[a:b].copy(), seg_sp, ap[a:b].copy(), va - a, vb - a))
    return tuple(out)


def _voiced_aperiodicity(f0: np.ndarray, ap: np.ndarray, bounds: list[tuple[int, int, int, int]]) -> np.ndarray:
    """Vowels will be sung voiced: where dio found no voicing inside one (eSpeak often devoices a
    word's last vowel), use the word's typical voiced aperiodicity instead of d4c's noise estimate."""
    voiced = np.flatnonzero(f0 > 0)
    ap = ap.copy()
    if len(voiced) >= 5:
        typical = np.median(ap[voiced], axis=0)
    else:
        typical = np.linspace(0.001, 0.6, ap.shape[1]) ** 2   # mostly periodic, breathier up high
    for _, va, vb, _ in bounds:
        unvoiced = np.flatnonzero(f0[va:vb] <= 0) + va
        ap[unvoiced] = typical
    return ap


def _warp_envelope(sp: np.ndarray, factor: float) -> np.ndarray:
    """Formant shift: move the spectral envelope up (factor > 1) or down along frequency."""
    bins = sp.shape[1]
    source = np.arange(bins) / factor
    lo = np.clip(np.floor(source).astype(int), 0, bins - 1)
    hi = np.clip(lo + 1, 0, bins - 1)
    frac = np.clip(source - lo, 0.0, 1.0)
    return np.ascontiguousarray(sp[:, lo] * (1 - frac) + sp[:, hi] * frac)


# ---------------------------------------------------------------- laying syllables on notes

def _stretch_index(length: int, target: int) -> np.ndarray:
    if target <= 0:
        return np.zeros(0, int)
    if length <= 0:
        return np.zeros(target, int)
    return np.minimum((np.arange(target) * length / target).astype(int), length - 1)


def _lay_syllable(frames: _SyllableFrames, a: int, b: int, f0: np.ndarray, sp: np.ndarray, ap: np.ndarray,
                  voiced: np.ndarray) -> None:
    """Fill frames [a, b): consonant onset at natural speed (at most 35%), vowel stretched, coda."""
    length = max(1, min(b, len(f0)) - a)
    n = len(frames.f0)
    onset = min(frames.onset, int(round(0.35 * length)))
    coda = min(n - frames.coda, int(round(0.2 * length)))
    vowel = max(1, length - onset - coda)
    coda = length - onset - vowel
    index = np.concatenate([
        _stretch_index(frames.onset, onset),
        frames.onset + _stretch_index(frames.coda - frames.onset, vowel),
        frames.coda + _stretch_index(n - frames.coda, coda),
    ])[:length]
    sl = slice(a, a + len(index))
    sp[sl] = frames.sp[index]
    ap[sl] = frames.ap[index]
    is_voiced = frames.f0[index] > 0
    is_voiced[onset:onset + vowel] = True
    voiced[sl] = is_voiced


def _melody_f0(pitch: np.ndarray, voiced: np.ndarray, phrase: list[int], notes: list[SungNote],
               start_frame: dict[int, int], end_frame: dict[int, int], frame_s: float,
               rng: np.random.Generator) -> np.ndarray:
    """f0 in Hz per frame: note pitches, glides between adjacent notes, vibrato on long notes."""
    midi = pitch.copy()
    glide = max(1, int(round(GLIDE_S / frame_s)))
    for previous, current in zip(phrase, phrase[1:]):
        a = start_frame[current]
        if a - end_frame[previous] > 2:   # a rest: no portamento across it
            continue
        length = min(glide, max(1, (end_frame[current] - a) // 4))
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, length + 1)[1:])
        midi[a:a + length] = notes[previous].pitch + (notes[current].pitch - notes[previous].pitch) * ramp
    for i in phrase:
        duration = (end_frame[i] - start_frame[i]) * frame_s
        if duration < VIBRATO_MIN_NOTE_S:
            continue
        a = start_frame[i] + int(round(VIBRATO_DELAY_S / frame_s))
        b = end_frame[i]
        if b <= a:
            continue
        t = np.arange(b - a) * frame_s
        rate = VIBRATO_HZ * (1.0 + 0.05 * (rng.random() - 0.5))
        depth = np.minimum(1.0, t / 0.25) * VIBRATO_CENTS / 100.0
        midi[a:b] += depth * np.sin(2 * np.pi * rate * t + rng.random() * 2 * np.pi)
    hz = 440.0 * 2.0 ** ((np.nan_to_num(midi, nan=69.0) - 69.0) / 12.0)
    return np.where(voiced & ~np.isnan(pitch), hz, 0.0)


def _fade_phrase_edges(sp: np.ndarray, start: int, end: int) -> None:
    """Short power ramps at a phrase's first and last sounding frames (10 ms in, 20 ms out), so a
    vowel-initial phrase and the breath gap do not click."""
    fade_in = np.array([0.35, 0.8]) ** 2
    sp[start:start + len(fade_in)] *= fade_in[: max(0, min(len(fade_in), len(sp) - start)), np.newaxis]
    ramp = np.linspace(1.0, 0.05, 4) ** 2
    a = max(0, end - len(ramp))
    sp[a:end] *= ramp[: end - a, np.newaxis]


def pyworld_synthesize(f0: np.ndarray, sp: np.ndarray, ap: np.ndarray, fs: int) -> np.ndarray:
    return world.pyworld().synthesize(np.ascontiguousarray(f0, dtype=np.float64), np.ascontiguousarray(sp),
                              np.ascontiguousarray(ap), fs, FRAME_PERIOD_MS)

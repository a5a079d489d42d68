"""The built-in synthesizer: numpy only, no system packages, deterministic.

Every note is rendered once per (voice, pitch, length) and cached; a part is the sum of its
cached notes placed at their start frames and scaled by velocity, so a whole song costs
about as much as its distinct notes. Tones are additive (a handful of partials with their
own decays) because that is vectorisable: no per-sample Python loop anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from aimusic.engines.sketch.compose import Arrangement, Part

TAIL_SECONDS = 3.0          # how far past its end a note may ring (releases, decays)
LENGTH_QUANTUM = 0.01       # note lengths are cached at 10 ms resolution


@dataclass(frozen=True)
class Voice:
    """An additive voice: partial ratios/amplitudes/decay rates plus an envelope."""

    ratios: tuple[float, ...]
    amps: tuple[float, ...]
    decays: tuple[float, ...]        # per-partial exponential decay (1/s) while held
    attack: float = 0.005
    release: float = 0.12
    vibrato: float = 0.0             # depth in semitones
    vibrato_rate: float = 5.0
    detune: float = 0.0              # cents of a second, detuned copy (0: none)
    drive: float = 0.0               # tanh saturation amount (guitars)
    sustain_decay: float = 0.0       # overall decay while held (1/s)
    noise: float = 0.0               # breath/pick noise at the attack
    gain: float = 1.0
    max_ring: float = 3.0            # seconds a held note may last at most (plucked/struck)


def _saw(k: int, decay0: float = 0.0, decay_step: float = 0.0, tilt: float = 1.0) -> tuple:
    ratios = tuple(float(i) for i in range(1, k + 1))
    amps = tuple(1.0 / i ** tilt for i in range(1, k + 1))
    decays = tuple(decay0 + decay_step * (i - 1) for i in range(1, k + 1))
    return ratios, amps, decays


def _square(k: int, decay0: float = 0.0, duty_soft: float = 1.0) -> tuple:
    odd = [i for i in range(1, 2 * k, 2)]
    return tuple(float(i) for i in odd), tuple(1.0 / i ** duty_soft for i in odd), tuple(decay0 for _ in odd)


VOICES: dict[str, Voice] = {
    "piano": Voice((1, 2, 3, 4, 5, 6, 7), (1, 0.55, 0.3, 0.18, 0.1, 0.06, 0.04), (0.9, 1.4, 2.0, 2.8, 3.6, 4.5, 5.5),
                   attack=0.002, release=0.25, noise=0.02, gain=0.9, max_ring=4.0),
    "epiano": Voice((1, 2, 3, 4, 7), (1, 0.35, 0.12, 0.08, 0.05), (0.8, 1.6, 3.0, 4.5, 9.0),
                    attack=0.003, release=0.3, vibrato=0.03, vibrato_rate=4.5, gain=0.95, max_ring=4.0),
    "organ": Voice((0.5, 1, 2, 3, 4, 6, 8), (0.5, 1, 0.6, 0.3, 0.25, 0.1, 0.1), (0,) * 7, attack=0.01, release=0.06,
                   vibrato=0.04, vibrato_rate=6.5, gain=0.5),
    "clav": Voice(*_saw(12, 4.0, 1.5, 0.9), attack=0.001, release=0.04, gain=0.55, max_ring=1.0),
    "acoustic_guitar": Voice(*_saw(10, 1.2, 0.9, 1.2), attack=0.002, release=0.15, noise=0.04, gain=0.85),
    "clean_guitar": Voice(*_saw(8, 1.0, 0.8, 1.3), attack=0.002, release=0.12, gain=0.8),
    "overdrive_guitar": Voice(*_saw(10, 0.3, 0.2, 1.0), attack=0.004, release=0.08, detune=8, drive=3.0, gain=0.35),
    "distortion_guitar": Voice(*_saw(10, 0.2, 0.15, 0.9), attack=0.003, release=0.06, detune=12, drive=7.0,
                               gain=0.28),
    "synth_bass": Voice(*_saw(10, 0.5, 2.5, 1.0), attack=0.003, release=0.05, gain=0.8),
    "finger_bass": Voice((1, 2, 3, 4, 5), (1, 0.5, 0.25, 0.12, 0.06), (0.6, 1.5, 2.5, 3.5, 4.5),
                         attack=0.004, release=0.06, noise=0.02, gain=1.0),
    "sub_bass": Voice((1, 2, 3), (1, 0.25, 0.06), (0.3, 0.6, 1.0), attack=0.005, release=0.08, gain=0.7),
    "upright_bass": Voice((1, 2, 3, 4), (1, 0.45, 0.2, 0.1), (1.5, 2.5, 4.0, 5.5), attack=0.006, release=0.08,
                          noise=0.03, gain=1.1, max_ring=2.0),
    "slap_bass": Voice(*_saw(9, 1.2, 2.0, 1.0), attack=0.001, release=0.05, noise=0.05, gain=0.85),
    "triangle": Voice(*_square(6, 0.0, 2.0), attack=0.002, release=0.02, gain=0.9),
    "strings_low": Voice(*_saw(8, 0.0, 0.0, 1.2), attack=0.12, release=0.35, vibrato=0.08, detune=6, gain=0.75),
    "pad": Voice(*_saw(7, 0.0, 0.0, 1.4), attack=0.35, release=0.8, detune=12, gain=0.5, vibrato=0.03,
                 vibrato_rate=0.8),
    "strings": Voice(*_saw(9, 0.0, 0.0, 1.2), attack=0.18, release=0.5, vibrato=0.1, vibrato_rate=5.2, detune=7,
                     gain=0.5),
    "choir": Voice((1, 2, 3, 4, 5), (1, 0.7, 0.45, 0.15, 0.08), (0,) * 5, attack=0.25, release=0.5, vibrato=0.12,
                   vibrato_rate=5.0, detune=10, gain=0.55),
    "supersaw": Voice(*_saw(10, 0.0, 0.0, 1.0), attack=0.01, release=0.2, detune=18, gain=0.4),
    "lead": Voice(*_saw(9, 0.0, 0.0, 1.15), attack=0.01, release=0.1, vibrato=0.12, vibrato_rate=5.5, detune=5,
                  gain=0.45),
    "pulse": Voice(*_square(8, 0.0, 1.0), attack=0.002, release=0.03, gain=0.35),
    "square": Voice(*_square(7, 0.0, 1.0), attack=0.002, release=0.03, gain=0.3),
    "sax": Voice((1, 2, 3, 4, 5, 6), (0.7, 1.0, 0.7, 0.45, 0.25, 0.12), (0,) * 6, attack=0.04, release=0.1,
                 vibrato=0.15, vibrato_rate=5.0, noise=0.03, gain=0.45),
    "violin": Voice(*_saw(10, 0.0, 0.0, 1.1), attack=0.07, release=0.18, vibrato=0.18, vibrato_rate=5.8, gain=0.4),
    "brass": Voice(*_saw(9, 0.0, 0.0, 1.0), attack=0.04, release=0.1, vibrato=0.05, detune=5, gain=0.4),
    "horn": Voice((1, 2, 3, 4), (1, 0.5, 0.25, 0.1), (0,) * 4, attack=0.06, release=0.2, vibrato=0.06, gain=0.6),
    "flute": Voice((1, 2, 3), (1, 0.2, 0.08), (0,) * 3, attack=0.05, release=0.12, vibrato=0.15, vibrato_rate=5.0,
                   noise=0.04, gain=0.6),
    "bells": Voice((1, 2.76, 5.4, 8.93), (1, 0.5, 0.25, 0.12), (1.2, 2.0, 3.5, 5.0), attack=0.001, release=0.5,
                   gain=0.5, max_ring=3.0),
    "marimba": Voice((1, 3.9, 9.9), (1, 0.3, 0.08), (4.0, 9.0, 16.0), attack=0.001, release=0.2, gain=0.8,
                     max_ring=1.2),
    "harp": Voice((1, 2, 3, 4, 5), (1, 0.4, 0.2, 0.1, 0.05), (1.0, 1.8, 2.8, 4.0, 5.0), attack=0.002, release=0.4,
                  gain=0.7),
    "pluck": Voice(*_saw(8, 3.0, 2.5, 1.1), attack=0.002, release=0.1, gain=0.65, max_ring=1.5),
}
VOICES["guitar"] = VOICES["clean_guitar"]
VOICES["bass"] = VOICES["finger_bass"]

# Which voice plays through the soft low-pass "tone" of each role (relative mix levels).
ROLE_GAIN = {"drums": 1.0, "bass": 0.68, "chords": 0.4, "pad": 0.3, "arp": 0.25, "lead": 0.42}
ROLE_REVERB = {"drums": 0.08, "bass": 0.0, "chords": 0.25, "pad": 0.45, "arp": 0.4, "lead": 0.3}


def _midi_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


_TABLE_SIZE = 4096


@lru_cache(maxsize=512)
def _wavetable(voice_name: str, max_ratio: int) -> np.ndarray:
    """One cycle of a steady voice (partials up to `max_ratio`, below Nyquist), plus two wrap
    samples (a float32 phase just under 1.0 can round to exactly 1.0)."""
    voice = VOICES[voice_name]
    x = np.arange(_TABLE_SIZE + 2, dtype=np.float64) / _TABLE_SIZE
    table = np.zeros(_TABLE_SIZE + 2, dtype=np.float64)
    for ratio, amp in zip(voice.ratios, voice.amps):
        if ratio <= max_ratio:
            table += amp * np.sin(2 * np.pi * ratio * x + ratio)
    return table.astype(np.float32)


@lru_cache(maxsize=4096)
def render_note(voice_name: str, pitch: int, length: float, sample_rate: int) -> np.ndarray:
    """One note at full velocity, with its release: float32 mono. Cached (notes repeat)."""
    if voice_name not in VOICES:
        voice_name = "lead"
    voice = VOICES[voice_name]
    held = min(length, voice.max_ring)
    total = held + voice.release * 3.0
    n = max(1, int(total * sample_rate))
    t = np.arange(n, dtype=np.float64) / sample_rate
    t32 = t.astype(np.float32)
    freq = _midi_hz(pitch)
    nyquist = 0.45 * sample_rate
    phase_t = t
    if voice.vibrato:
        # Vibrato fades in after 150 ms, as players do.
        depth = voice.vibrato * np.clip((t - 0.15) / 0.3, 0, 1)
        phase_t = t + np.cumsum(2 ** (depth / 12 * np.sin(2 * np.pi * voice.vibrato_rate * t32)) - 1) / sample_rate
    out = np.zeros(n, dtype=np.float32)
    copies = ((1.0, 0.0),) if not voice.detune else ((0.5, -voice.detune), (0.5, voice.detune))
    two_pi = 2 * np.pi
    steady = not any(voice.decays) and all(float(r).is_integer() for r in voice.ratios)
    for weight, cents in copies:
        f = freq * 2 ** (cents / 1200.0)
        # The fundamental's phase in cycles, wrapped in float64 once; integer harmonics take
        # frac(k * frac(x)) == frac(k * x) in float32, and the sine runs in float32 (SIMD).
        base = np.mod(f * phase_t, 1.0).astype(np.float32)
        if steady:
            # Partials that never change their balance are one periodic waveform: look it up
            # in a one-cycle table instead of summing sines (same sound, a fraction of the work).
            table = _wavetable(voice_name, int(nyquist / f))
            index = base * np.float32(_TABLE_SIZE)
            whole = index.astype(np.int32)
            index -= whole
            low = table[whole]
            out += np.float32(weight) * (low + index * (table[whole + 1] - low))
            continue
        for ratio, amp, decay in zip(voice.ratios, voice.amps, voice.decays):
            if f * ratio >= nyquist:
                continue
            if float(ratio).is_integer():
                cycles = base * np.float32(ratio)
                cycles -= np.floor(cycles)
            else:
                cycles = np.mod(f * ratio * phase_t, 1.0).astype(np.float32)
            partial = np.sin(np.float32(two_pi) * cycles + np.float32(ratio))
            if decay:
                partial *= np.exp(np.float32(-decay) * t32)
            out += np.float32(weight * amp) * partial
    if voice.drive:
        out = np.tanh(voice.drive * out) / np.tanh(voice.drive)
    if voice.noise:
        # A pick/breath noise burst: only its first 100 ms matter.
        m = min(n, int(0.1 * sample_rate))
        burst = np.random.default_rng(pitch).standard_normal(m).astype(np.float32) * np.exp(-t32[:m] * 60)
        out[:m] += np.float32(voice.noise * 4) * np.diff(burst, prepend=np.float32(0))
    envelope = np.minimum(t32 / np.float32(voice.attack), np.float32(1.0))
    if voice.sustain_decay:
        envelope *= np.exp(-voice.sustain_decay * t)
    after = t > held
    envelope[after] *= np.exp(-(t32[after] - np.float32(held)) / np.float32(voice.release))
    out *= envelope
    out[-min(64, n):] *= np.linspace(1, 0, min(64, n), dtype=np.float32)   # no click at the buffer end
    peak = float(np.abs(out).max()) or 1.0
    return (out * (voice.gain / max(peak, 1e-9))).astype(np.float32)


def _noise(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


def _highpass(x: np.ndarray, times: int = 1) -> np.ndarray:
    for _ in range(times):
        x = np.diff(x, prepend=0.0)
    return x


# Relative level of each drum sound (GM note) in the kit.
DRUM_LEVELS = {36: 1.0, 38: 0.7, 39: 0.6, 42: 0.28, 44: 0.2, 46: 0.25, 49: 0.3, 51: 0.22, 37: 0.35, 70: 0.18}


@lru_cache(maxsize=64)
def render_drum(note: int, sample_rate: int, genre: str) -> np.ndarray:
    """One drum hit at full velocity (float32 mono), synthesized from sines and noise."""
    sr = sample_rate
    chip = genre == "chiptune"

    def time(seconds: float) -> np.ndarray:
        return np.arange(int(seconds * sr)) / sr

    if note == 36:   # kick: falling sine and a click
        t = time(0.5)
        f = 45 + 110 * np.exp(-t * 30)
        body = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t * (7 if genre != "lofi" else 5))
        click = _highpass(_noise(1, len(t))) * np.exp(-t * 400) * 0.3
        hit = body + click
        if chip:
            hit = np.sign(body) * np.exp(-t * 12)
    elif note in (38, 40):  # snare: tone plus noise
        t = time(0.3)
        hit = 0.5 * np.sin(2 * np.pi * 185 * t) * np.exp(-t * 25) + \
            0.6 * _highpass(_noise(2, len(t))) * np.exp(-t * 14)
    elif note == 39:  # clap: three quick noise bursts and a tail
        t = time(0.35)
        env = sum(np.exp(-np.clip(t - d, 0, None) * 120) * (t >= d) for d in (0.0, 0.011, 0.022)) + \
            0.5 * np.exp(-np.clip(t - 0.03, 0, None) * 18) * (t >= 0.03)
        hit = _highpass(_noise(3, len(t)), 2) * env
    elif note in (42, 44):  # closed / pedal hat
        t = time(0.09)
        hit = _highpass(_noise(4, len(t)), 3) * np.exp(-t * (70 if note == 42 else 90))
    elif note == 46:  # open hat
        t = time(0.45)
        hit = _highpass(_noise(5, len(t)), 3) * np.exp(-t * 9)
    elif note == 49:  # crash
        t = time(2.0)
        metal = sum(np.sign(np.sin(2 * np.pi * f * t)) for f in (411, 587, 843, 1077)) * 0.05
        hit = (_highpass(_noise(6, len(t)), 2) + metal) * np.exp(-t * 2.2)
    elif note == 51:  # ride
        t = time(1.0)
        metal = sum(np.sin(2 * np.pi * f * t) for f in (523, 1379, 2417, 3287)) * 0.25
        hit = (metal + 0.4 * _highpass(_noise(7, len(t)), 2)) * np.exp(-t * 5)
    elif note == 37:  # rim
        t = time(0.06)
        hit = np.sin(2 * np.pi * 1650 * t) * np.exp(-t * 90) + 0.3 * _highpass(_noise(8, len(t))) * np.exp(-t * 150)
    elif note in (45, 47, 50):  # toms
        base = {45: 95.0, 47: 135.0, 50: 180.0}[note]
        t = time(0.5)
        f = base * (1 + 0.5 * np.exp(-t * 20))
        hit = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t * 6)
    elif note == 70:  # shaker
        t = time(0.09)
        hit = _highpass(_noise(9, len(t)), 2) * np.minimum(t / 0.012, 1) * np.exp(-t * 45)
    else:
        t = time(0.1)
        hit = _highpass(_noise(10, len(t))) * np.exp(-t * 40)
    hit = np.asarray(hit, dtype=np.float64)
    hit[-min(32, len(hit)):] *= np.linspace(1, 0, min(32, len(hit)))
    gain = DRUM_LEVELS.get(note, 0.7)
    return (hit / (np.abs(hit).max() or 1.0) * gain).astype(np.float32)


def render_part(part: Part, sample_rate: int, frames: int, genre: str) -> np.ndarray:
    """A part as a mono float32 buffer of `frames` (which includes room for tails)."""
    out = np.zeros(frames, dtype=np.float32)
    for note in part.notes:
        start = int(round(note.start * sample_rate))
        if start >= frames or start < 0:
            continue
        if part.is_drum:
            sound = render_drum(note.pitch, sample_rate, genre)
        else:
            length = round(note.duration / LENGTH_QUANTUM) * LENGTH_QUANTUM
            sound = render_note(part.voice, note.pitch, max(length, LENGTH_QUANTUM), sample_rate)
        end = min(frames, start + len(sound))
        out[start:end] += note.velocity * sound[:end - start]
    return out


SIDECHAIN_GENRES = ("edm",)


def sidechain_envelope(arrangement: Arrangement, sample_rate: int, frames: int, depth: float = 0.55,
                       release: float = 0.14) -> np.ndarray | None:
    """The house "pump": a gain curve that dips at every kick and recovers over `release` s,
    computed from the kick times without a per-sample loop (time since the last kick via a
    running maximum of kick positions)."""
    drums = arrangement.part("drums")
    if drums is None:
        return None
    kicks = sorted({int(round(n.start * sample_rate)) for n in drums.notes if n.pitch == 36})
    kicks = [k for k in kicks if 0 <= k < frames]
    if not kicks:
        return None
    marks = np.full(frames, -1, dtype=np.int64)
    marks[kicks] = kicks
    last = np.maximum.accumulate(marks)
    since = (np.arange(frames) - last).astype(np.float32) / np.float32(sample_rate)
    envelope = 1 - np.float32(depth) * np.exp(-since / np.float32(release))
    envelope[last < 0] = 1.0
    return envelope.astype(np.float32)


def render_buses(arrangement: Arrangement, sample_rate: int, frames: int) -> list:
    """Every part as a mono bus with its pan, level and reverb send."""
    from aimusic.engines.sketch.mix import Bus

    buses = []
    duck = sidechain_envelope(arrangement, sample_rate, frames) if arrangement.genre in SIDECHAIN_GENRES else None
    for part in arrangement.parts:
        mono = render_part(part, sample_rate, frames, arrangement.genre)
        if duck is not None and part.role in ("bass", "chords", "pad"):
            mono *= duck
        # A few milliseconds between the sides widen the pad without phasey mono.
        buses.append(Bus(part.role, mono, ROLE_GAIN.get(part.role, 0.4), ROLE_REVERB.get(part.role, 0.2),
                         pan=part.pan, widen_ms=11.0 if part.role == "pad" else 0.0))
    return buses

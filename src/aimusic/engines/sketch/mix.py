"""Mixing: buses -> one stereo master (reverb, vinyl texture, loop wrap, ending, peak ceiling).

`mix_buses` is the single place where parts meet. A renderer returns a list of `Bus`; a vocal
renderer (issue 12) adds one more `Bus("vocal", ...)` to that list before mixing, and nothing
else has to change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PEAK_CEILING_DBFS = -1.05   # a hair under -1 dBFS so 24-bit rounding never crosses it
TRUE_PEAK_CEILING_DBTP = -1.0
REVERB_DOWNSAMPLE = 4       # the reverb runs at a quarter of the rate: it is dark anyway, and 16x cheaper


@dataclass
class Bus:
    name: str
    samples: np.ndarray        # float32 [2, frames] stereo, or [frames] mono placed by `pan`
    gain: float = 1.0
    reverb_send: float = 0.0
    pan: float = 0.0           # mono buses only: -1 left .. 1 right
    widen_ms: float = 0.0      # mono buses only: delay the right side this much (a wider pad)

    def gains(self) -> tuple[float, float]:
        """Equal-power left/right gains of a mono bus."""
        angle = (float(np.clip(self.pan, -1, 1)) + 1) * np.pi / 4
        return float(np.cos(angle) * np.sqrt(2)), float(np.sin(angle) * np.sqrt(2))


def reverb_ir(sample_rate: int, seconds: float, seed: int = 11) -> np.ndarray:
    """A stereo impulse response: decorrelated noise with an exponential (RT60) decay, darker
    as it decays (each side is integrated a little more along the tail)."""
    n = max(1, int(seconds * sample_rate))
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sample_rate
    decay = np.exp(-6.9 * t / seconds)
    ir = rng.standard_normal((2, n)) * decay
    ir[:, : int(0.012 * sample_rate)] = 0.0     # pre-delay
    return (ir / np.sqrt((ir ** 2).sum(axis=1, keepdims=True))).astype(np.float32)


def add_reverb(dry: np.ndarray, send: np.ndarray, sample_rate: int, amount: float) -> np.ndarray:
    """dry + reverb(send), the reverb computed at a reduced rate by FFT convolution."""
    if amount <= 0 or not send.any():
        return dry
    factor = REVERB_DOWNSAMPLE
    frames = send.shape[-1] - send.shape[-1] % factor
    low = send[:frames].reshape(-1, factor).mean(axis=1)
    ir = reverb_ir(sample_rate // factor, 1.6)
    # FFT convolution with numpy alone (one transform of the whole send; scipy.signal would
    # cost a second of import for the same result).
    size = 1 << int(np.ceil(np.log2(low.shape[0] + ir.shape[1])))
    wet_low = np.fft.irfft(np.fft.rfft(low, size)[None, :] * np.fft.rfft(ir, size), size)[:, : low.shape[0]]
    wet_low = wet_low.astype(np.float32) * np.float32(amount * 0.6)
    # Back to the full rate by linear interpolation, written phase by phase into `dry` (no
    # full-length temporaries: this runs on minutes of audio).
    following = np.concatenate([wet_low[:, 1:], wet_low[:, -1:]], axis=1)
    for phase in range(factor):
        frac = np.float32(phase / factor)
        for channel in range(2):
            dry[channel, phase:frames:factor] += wet_low[channel] * (1 - frac) + following[channel] * frac
    return dry


def vinyl_texture(frames: int, sample_rate: int, seed: int) -> np.ndarray:
    """Record crackle (sparse clicks) and a little hiss: float32 [2, frames]."""
    rng = np.random.default_rng(seed + 7919)
    out = (rng.standard_normal((2, frames), dtype=np.float32) * np.float32(0.002))
    count = rng.poisson(6.0 * frames / sample_rate)              # about six clicks a second
    positions = rng.integers(0, frames, count)
    amplitude = ((rng.random(count) ** 3) * 0.25).astype(np.float32)
    side = rng.integers(0, 2, count)
    out[side, positions] += amplitude
    out[1 - side, positions] += amplitude * np.float32(0.5)
    return out


def mix_buses(buses: list[Bus], sample_rate: int, frames: int, *, loop: bool, reverb: float, vinyl: bool,
              seed: int, fade_seconds: float = 0.0, finish: bool = True) -> np.ndarray:
    """Sum the buses, add reverb and texture, wrap (loop) or trim, and set the peak ceiling.

    Every bus is at least `frames` long; anything past `frames` is a tail. For a loop the
    tail is folded back onto the start, so the last sample flows into the first exactly as
    it would in the next repetition (no fade, no click); otherwise it is cut off, after a
    short fade of `fade_seconds` that the final chord has already decayed into."""
    length = max([b.samples.shape[-1] for b in buses] + [frames])
    dry = np.zeros((2, length), dtype=np.float32)
    send = np.zeros(length, dtype=np.float32)   # the reverb input is mono; the IR makes it stereo
    scratch = np.empty(length, dtype=np.float32)
    for bus in buses:
        n = bus.samples.shape[-1]
        if bus.samples.ndim == 2:
            sides = [(bus.samples[0], 1.0, 0), (bus.samples[1], 1.0, 0)]
        else:
            left, right = bus.gains()
            delay = int(bus.widen_ms * sample_rate / 1000)
            sides = [(bus.samples, left, 0), (bus.samples, right, delay)]
        for channel, (signal, side_gain, delay) in enumerate(sides):
            span = n - delay
            np.multiply(signal[:span], np.float32(bus.gain * side_gain), out=scratch[:span])
            dry[channel, delay:n] += scratch[:span]
            if bus.reverb_send:
                np.multiply(signal[:span], np.float32(0.5 * bus.gain * side_gain * bus.reverb_send),
                            out=scratch[:span])
                send[delay:n] += scratch[:span]
    mixed = add_reverb(dry, send, sample_rate, reverb)
    out = mixed[:, :frames]   # a view: the rest of `mixed` is tail, used (loop) or dropped
    if loop:
        for start in range(frames, length, frames):   # fold every tail cycle back onto the start
            chunk = mixed[:, start:start + frames]
            out[:, : chunk.shape[1]] += chunk
    else:
        fade = min(int(fade_seconds * sample_rate), frames)
        if fade > 0:
            out[:, frames - fade:] *= np.linspace(1, 0, fade, dtype=np.float32) ** 2
    if vinyl:
        out += vinyl_texture(frames, sample_rate, seed)
    # finish=False: the pre-master sum, for stems that share one master (sketch.voice.integrate)
    return master(out, sample_rate=sample_rate, periodic=loop) if finish else np.ascontiguousarray(out)


def master(samples: np.ndarray, chunk: int = 1 << 16, *, sample_rate: int, periodic: bool = False
           ) -> np.ndarray:
    """Soft-knee limiting of the few loudest peaks, the sample peak set to the ceiling, then the
    true peak held to -1 dBTP as ffmpeg and libebur128 read it (aimusic.audio.finish.limit;
    `periodic` for loops, so the gain wraps).

    Works through the track in chunks that stay in the CPU cache (three passes over minutes of
    audio would otherwise cost more than the synthesis)."""
    x = np.array(samples, dtype=np.float32, order="C")   # a contiguous copy, changed in place below
    frames = x.shape[1]
    if frames == 0:
        return x
    peak, energy = 0.0, 0.0
    for a in range(0, frames, chunk):
        part = x[:, a:a + chunk]
        peak = max(peak, float(np.abs(part).max()))
        energy += float(np.square(part, dtype=np.float64).sum())
    if peak <= 0:
        return x
    rms = np.sqrt(energy / x.size)
    # Bring the body up to a demo-like level (~-16 dBFS RMS) but let transients be squashed
    # by the knee rather than the whole mix turned down for one drum hit.
    gain = np.float32(min(0.158 / max(rms, 1e-9), 0.98 / peak * 4))
    knee = np.float32(0.6)
    limited_peak = 0.0
    for a in range(0, frames, chunk):
        part = x[:, a:a + chunk]
        part *= gain
        over = np.abs(part) > knee
        if over.any():
            values = part[over]
            part[over] = np.sign(values) * (knee + (1 - knee) * np.tanh((np.abs(values) - knee) / (1 - knee)))
        limited_peak = max(limited_peak, float(np.abs(part).max()))
    scale = np.float32(10 ** (PEAK_CEILING_DBFS / 20) / max(limited_peak, 1e-12))
    for a in range(0, frames, chunk):
        x[:, a:a + chunk] *= scale
    from aimusic.audio.finish import limit

    return limit(x, sample_rate, TRUE_PEAK_CEILING_DBTP, periodic)[0]

"""eSpeak NG through ctypes: phonemes and speech with phoneme positions.

The library and its data come from the `espeakng-loader` wheel (no system
package). eSpeak NG is GPL-3, so it is only loaded at run time, never linked
or vendored. The C library keeps global state and is not thread-safe: locks
serialise every call. Phonemes come from one instance initialised once per
process; speech from a freshly loaded copy per utterance (see `speak`).
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from aimusic.errors import NotConfiguredError

_AUDIO_OUTPUT_SYNCHRONOUS = 0x02
_INIT_PHONEME_EVENTS = 0x0001
_INIT_PHONEME_IPA = 0x0002
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_PHONEMES_IPA = 0x02
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7

# Phoneme separator for espeak_TextToPhonemes (bits 8-23 of phonememode).
_SEPARATOR = "_"


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Speech:
    """One utterance: int16 samples at `sample_rate` and its phonemes (IPA) with start samples."""

    samples: np.ndarray
    sample_rate: int
    phonemes: tuple[tuple[str, int], ...]


class _ESpeak:
    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:  # pragma: no cover - the wheel is a core dependency
            raise NotConfiguredError(
                "offline singing needs eSpeak NG", hint="pip install espeakng-loader"
            ) from exc
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib = self.lib
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.sample_rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(),
            _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA,
        )
        if self.sample_rate <= 0:
            raise NotConfiguredError("eSpeak NG failed to initialise", hint="reinstall espeakng-loader")
        self._voice: bytes | None = None
        self.lock = threading.Lock()

    def set_voice(self, name: str) -> None:
        raw = name.encode()
        if raw == self._voice:
            return
        if self.lib.espeak_SetVoiceByName(raw) != 0:
            raise ValueError(f"eSpeak NG has no voice {name!r}")
        self._voice = raw

    def phonemes(self, voice: str, text: str) -> list[str]:
        """IPA phonemes of `text` (language-switch markers such as "(en)" dropped)."""
        mode = _PHONEMES_IPA | (ord(_SEPARATOR) << 8)
        with self.lock:
            self.set_voice(voice)
            buffer = ctypes.create_string_buffer(text.encode("utf-8"))
            pointer = ctypes.c_void_p(ctypes.addressof(buffer))
            parts: list[str] = []
            while pointer.value:
                out = self.lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_UTF8, mode)
                if out is None:
                    break
                parts.append(out.decode("utf-8", "replace"))
        names: list[str] = []
        for part in parts:
            for chunk in part.split():
                names.extend(p for p in chunk.split(_SEPARATOR) if p and not p.startswith("("))
        return names


_instance: _ESpeak | None = None
_instance_lock = threading.Lock()


def engine() -> _ESpeak:
    """The process-wide eSpeak NG instance for phonemes and voice checks (loaded on first use)."""
    global _instance
    with _instance_lock:
        if _instance is None:
            _instance = _ESpeak()
        return _instance


@lru_cache(maxsize=256)
def voice_loads(name: str) -> bool:
    """Whether eSpeak NG can select voice `name` (e.g. "cmn", "en+f3")."""
    try:
        espeak = engine()
        with espeak.lock:
            espeak.set_voice(name)
        return True
    except ValueError:
        return False


@lru_cache(maxsize=8192)
def word_phonemes(voice: str, word: str) -> tuple[str, ...]:
    return tuple(engine().phonemes(voice, word))


# Speech comes from a fresh copy of the library for every utterance. eSpeak NG's wave generator
# keeps state in C statics between utterances (pitch flutter index, glottal phase, echo buffer,
# formant smoothing), and espeak_Terminate does not reset them, so the same word sounds slightly
# different depending on what was spoken before. Unloading and reloading the library (about
# 10 ms) makes each word a pure function of (voice, text): same input, same bytes, in any
# process. The copy lives at its own path so that the phonemiser instance above, which stays
# loaded, does not keep it resident.
_synth_lock = threading.Lock()
_synth_copy: str | None = None


def _synth_library_path() -> str:
    global _synth_copy
    if _synth_copy is None:
        import hashlib
        import os
        import shutil
        import tempfile

        import espeakng_loader

        original = espeakng_loader.get_library_path()
        with open(original, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()[:16]
        from aimusic.config import cache_dir

        _synth_copy = original   # last resort: speech then depends on what was spoken before
        for folder in (os.path.join(str(cache_dir()), "espeak-ng"), tempfile.gettempdir()):
            target = os.path.join(folder, f"libespeak-ng-synth-{digest}.so")
            try:
                os.makedirs(folder, exist_ok=True)
                if not os.path.exists(target):
                    partial = f"{target}.{os.getpid()}.tmp"
                    shutil.copyfile(original, partial)
                    os.replace(partial, target)
            except OSError:
                continue
            _synth_copy = target
            break
    return _synth_copy


def speak(voice: str, text: str) -> Speech:
    """Speak `text` with eSpeak NG voice `voice` in a freshly loaded library (deterministic)."""
    import _ctypes

    import espeakng_loader

    with _synth_lock:
        lib = ctypes.CDLL(_synth_library_path())
        try:
            lib.espeak_Initialize.restype = ctypes.c_int
            lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
            lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
            lib.espeak_Synth.argtypes = [
                ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
            ]
            rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(),
                                         _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA)
            if rate <= 0:
                raise NotConfiguredError("eSpeak NG failed to initialise", hint="reinstall espeakng-loader")
            if hasattr(lib, "espeak_ng_SetRandSeed"):
                lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
                lib.espeak_ng_SetRandSeed(1)
            collector = _Collector()
            callback = _Callback(collector)
            lib.espeak_SetSynthCallback(callback)
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ValueError(f"eSpeak NG has no voice {voice!r}")
            data = text.encode("utf-8")
            lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            lib.espeak_Synchronize()
            lib.espeak_Terminate()
        finally:
            _ctypes.dlclose(lib._handle)
    samples = np.concatenate(collector.chunks) if collector.chunks else np.zeros(0, np.int16)
    return Speech(samples=samples, sample_rate=rate, phonemes=tuple(collector.phonemes))


class _Collector:
    """Receives eSpeak NG's audio chunks and phoneme events for one utterance."""

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []
        self.phonemes: list[tuple[str, int]] = []

    def __call__(self, wav, count, events) -> int:  # noqa: ANN001 - ctypes callback
        if count > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, (count,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_PHONEME:
                name = event.id.decode("utf-8", "replace")
                if name:
                    self.phonemes.append((name, int(event.sample)))
            i += 1
        return 0

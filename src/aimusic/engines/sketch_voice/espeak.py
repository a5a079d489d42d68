"""eSpeak NG through ctypes: phonemes and speech with phoneme positions.

The library and its data come from the `espeakng-loader` wheel (no system
package). eSpeak NG is GPL-3, so it is only loaded at run time, never linked
or vendored. The C library keeps global state and is not thread-safe: one
process-wide lock serialises every call, and the library is initialised once.
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
_EVENT_WORD = 1
_EVENT_PHONEME = 7
_PARAM_RATE = 1

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
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[str, int]] = []
        self._callback = _Callback(self._on_audio)  # kept referenced: the C side holds the pointer
        lib.espeak_SetSynthCallback(self._callback)
        self._voice: bytes | None = None
        self.lock = threading.Lock()

    def _on_audio(self, wav, count, events) -> int:  # noqa: ANN001 - ctypes callback
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (count,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_PHONEME:
                name = event.id.decode("utf-8", "replace")
                if name:
                    self._events.append((name, int(event.sample)))
            i += 1
        return 0

    def set_voice(self, name: str) -> None:
        raw = name.encode()
        if raw == self._voice:
            return
        if self.lib.espeak_SetVoiceByName(raw) != 0:
            raise ValueError(f"eSpeak NG has no voice {name!r}")
        self._voice = raw

    def synth(self, voice: str, text: str) -> Speech:
        with self.lock:
            self.set_voice(voice)
            self._chunks, self._events = [], []
            data = text.encode("utf-8")
            self.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            self.lib.espeak_Synchronize()
            samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
            phonemes = tuple(self._events)
        return Speech(samples=samples, sample_rate=self.sample_rate, phonemes=phonemes)

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
    """The process-wide eSpeak NG instance (loaded on first use)."""
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


def speak(voice: str, text: str) -> Speech:
    return engine().synth(voice, text)


def version() -> str:
    try:
        from importlib.metadata import version as dist_version

        return dist_version("espeakng-loader")
    except Exception:  # noqa: BLE001 - version lookups never fail a run
        return "unknown"

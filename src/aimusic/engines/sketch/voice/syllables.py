"""Splitting lyric lines into sung syllables, per language.

Rules (deterministic, no network, fast enough to call per line):
- Alphabetic languages and Korean: a word has as many syllables as eSpeak NG
  gives it vowel nuclei (its own phonemiser, so what we count is what it
  pronounces); the written word is cut into that many pieces with pyphen's
  hyphenation where it agrees, else between vowel-letter groups, else evenly.
  Korean: one syllable per hangul block (each block holds exactly one vowel).
- Chinese: one syllable per hanzi.
- Japanese: one syllable per mora of the reading (kanji are read with
  fugashi + unidic-lite, the dictionary cutlet uses); small kana, the sokuon
  っ and the long-vowel mark ー join the mora before them; ん is its own mora.
  Syllables are hiragana, as Japanese vocal synths expect per note.
- A syllable that continues a word ends with "-" ("beau-", "ti-", "ful"), the
  usual MIDI lyric convention; `sing` uses it to pronounce whole words.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

from aimusic.engines.sketch.voice import espeak
from aimusic.engines.sketch.voice.romaji import romaji_morae

CONTINUES = "-"

# ISO 639-1 (what language detection returns) -> eSpeak NG voice name.
_VOICE_FOR_LANGUAGE = {
    "zh": "cmn", "zh-cn": "cmn", "zh-hans": "cmn", "zh-tw": "cmn", "zh-hant": "cmn", "cmn": "cmn",
    "yue": "yue", "pt-br": "pt-br", "pt": "pt", "en-us": "en-us", "en-gb": "en", "iw": "he",
    "nb": "nb", "no": "nb", "jv": "id", "tl": "tl", "fil": "tl",
}
# eSpeak cannot read romanised Chinese/Japanese/Korean with the native voice (it switches to
# English and spells letters); a voice that reads Latin letters phonetically comes close.
ROMANISED_VOICE = "it"
CJK_LANGUAGES = frozenset({"cmn", "yue", "ja", "ko"})

_MARKER_LINE = re.compile(r"^\s*\[[^\]]*\]\s*$")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# A word: letters/marks/digits, inner apostrophes kept ("don't", "l'amour").
_WORD = re.compile(r"[^\W_](?:[\w\u0300-\u036f\u0900-\u0dff]|['’](?=\w))*", re.UNICODE)
_SMALL_KANA = set("ぁぃぅぇぉゃゅょゎゕゖァィゥェォャュョヮヵヶっッーゝゞヽヾ")
_VOWEL_LETTERS = set("aeiouyæøåœɛɔəаеёиоуыэюяіїєαεηιουωאאआइउएओअ")
_IPA_VOWELS = set("aeiouyæøœɐɑɒɔəɘɚɛɜɝɞɤɨɪɯɵɶʉʊʌʏᵻᵿ") | {"\u0329"}  # U+0329: syllabic consonant
MAX_WORD_CHARS = 40  # longer "words" (no spaces) are cut so eSpeak gets a bounded input


def voice_language(language: str | None) -> str:
    """The eSpeak NG voice for a language code ("zh" -> "cmn"); "en" when unknown."""
    code = (language or "en").strip().lower().replace("_", "-")
    if not is_language_code(code):
        return "en"   # also keeps odd strings away from eSpeak's fixed-size voice-name buffers
    name = _VOICE_FOR_LANGUAGE.get(code, code)
    if espeak.voice_loads(name):
        return name
    base = name.split("-")[0]
    if espeak.voice_loads(base):
        return base
    return "en"


_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,8})?$")


def is_language_code(code: str) -> bool:
    """A plausible language code: "es", "cmn", "pt-br", "zh-hant"."""
    return bool(_LANGUAGE_CODE.match(code.strip().lower().replace("_", "-")))


def is_marker_line(line: str) -> bool:
    return bool(_MARKER_LINE.match(line))


def script_voice(text: str, language: str) -> str:
    """Which eSpeak voice pronounces `text` in a song whose voice language is `language`."""
    if _HANGUL.search(text):
        return "ko"
    if _KANA.search(text):
        return "ja"
    if _HAN.search(text):
        if language == "ja" and japanese_reader_available():
            return "ja"
        return language if language in ("cmn", "yue") else "cmn"
    if language == "ja":   # romaji is sung by the Japanese voice, other Latin words in English
        return "ja" if romaji_morae(text.rstrip(CONTINUES)) else "en"
    if language in CJK_LANGUAGES:
        return ROMANISED_VOICE
    return language


def has_ipa_vowel(phoneme: str) -> bool:
    return any(ch in _IPA_VOWELS for ch in unicodedata.normalize("NFD", phoneme))


def syllabify(line: str, language: str | None) -> list[str]:
    """Sung syllables of one lyric line; word-internal syllables end with "-"."""
    if not line or is_marker_line(line):
        return []
    voice = voice_language(language)
    text = unicodedata.normalize("NFC", line)
    out: list[str] = []
    if voice == "ja" or _KANA.search(text):
        for piece, is_japanese in _japanese_runs(text):
            if is_japanese:
                out.extend(japanese_morae(piece))
            else:
                out.extend(_syllabify_words(piece, voice))
        return out
    return _syllabify_words(text, voice)


def count_syllables(lyrics: str, language: str | None) -> int:
    """Syllables sung for whole lyrics (section-marker lines skipped)."""
    return sum(len(syllabify(line, language)) for line in (lyrics or "").splitlines())


def word_of(syllables: list[str], index: int) -> tuple[int, int]:
    """[first, last] indexes of the word that syllable `index` belongs to."""
    first = index
    while first > 0 and syllables[first - 1].endswith(CONTINUES):
        first -= 1
    last = index
    while last < len(syllables) - 1 and syllables[last].endswith(CONTINUES):
        last += 1
    return first, last


# ---------------------------------------------------------------- alphabetic, Korean, Chinese

def _syllabify_words(text: str, voice: str) -> list[str]:
    out: list[str] = []
    for match in _WORD.finditer(text):
        word = match.group(0)
        for start in range(0, len(word), MAX_WORD_CHARS):
            out.extend(_word_syllables(word[start:start + MAX_WORD_CHARS], voice))
    return out


@lru_cache(maxsize=16384)
def _word_syllables(word: str, voice: str) -> tuple[str, ...]:
    if _HAN.search(word) or _HANGUL.search(word):
        return tuple(_cjk_pieces(word, voice))
    if voice == "ja":
        morae = romaji_morae(word)
        if morae:   # one syllable per mora, like kana
            return tuple(written for written, _ in morae)
    speak_voice = script_voice(word, voice)
    nuclei = sum(1 for p in espeak.word_phonemes(speak_voice, word) if has_ipa_vowel(p))
    pieces = split_written(word, max(1, nuclei), speak_voice)
    return tuple([p + CONTINUES for p in pieces[:-1]] + [pieces[-1]])


def _cjk_pieces(word: str, voice: str) -> list[str]:
    """Hanzi: one syllable each; hangul: one per block, joined as a word; other runs: as words."""
    out: list[str] = []
    korean: list[str] = []

    def flush_korean() -> None:
        if korean:
            out.extend([b + CONTINUES for b in korean[:-1]] + [korean[-1]])
            korean.clear()

    latin = ""
    for ch in word:
        if _HANGUL.match(ch):
            if latin:
                out.extend(_word_syllables(latin, voice))
                latin = ""
            korean.append(ch)
        elif _HAN.match(ch):
            flush_korean()
            if latin:
                out.extend(_word_syllables(latin, voice))
                latin = ""
            out.append(ch)
        elif unicodedata.category(ch).startswith("L") or ch.isdigit():
            flush_korean()
            latin += ch
        # marks/punctuation inside a CJK run carry no syllable
    flush_korean()
    if latin:
        out.extend(_word_syllables(latin, voice))
    return out


@lru_cache(maxsize=64)
def _hyphenator(voice: str):  # noqa: ANN202 - pyphen.Pyphen or None
    import pyphen

    code = {"en": "en_US", "en-us": "en_US", "cmn": "", "pt-br": "pt_BR"}.get(voice, voice.replace("-", "_"))
    if not code:
        return None
    try:
        return pyphen.Pyphen(lang=code)   # default margins: no one-letter pieces ("c-ity")
    except KeyError:
        return None


def split_written(word: str, count: int, voice: str) -> list[str]:
    """Cut a written word into `count` non-empty pieces, as a reader would hyphenate it."""
    count = max(1, min(count, len(word)))
    if count == 1:
        return [word]
    hyphenator = _hyphenator(voice)
    if hyphenator is not None:
        positions = hyphenator.positions(word)
        if len(positions) == count - 1:
            return _cut(word, list(positions))
    groups = _vowel_groups(word)
    if len(groups) == count:
        cuts = []
        for (_, end), (start, _) in zip(groups, groups[1:]):
            consonants = start - end
            # one consonant starts the next syllable; a cluster is shared (mor-ning, Ster-nen)
            cuts.append(start - (consonants - consonants // 2) if consonants > 1 else start - consonants)
        if all(a < b for a, b in zip([0] + cuts, cuts + [len(word)])):
            return _cut(word, cuts)
    size = len(word) / count
    return _cut(word, [round(size * i) for i in range(1, count)])


def _cut(word: str, positions: list[int]) -> list[str]:
    bounds = [0] + positions + [len(word)]
    return [word[a:b] for a, b in zip(bounds, bounds[1:])]


def _vowel_groups(word: str) -> list[tuple[int, int]]:
    groups: list[tuple[int, int]] = []
    for i, ch in enumerate(word.lower()):
        base = unicodedata.normalize("NFD", ch)[0]
        if base in _VOWEL_LETTERS:
            if groups and groups[-1][1] == i:
                groups[-1] = (groups[-1][0], i + 1)
            else:
                groups.append((i, i + 1))
    return groups


# ---------------------------------------------------------------- Japanese

_tagger = None
_tagger_lock = threading.Lock()


def _japanese_tagger():  # noqa: ANN202 - fugashi.Tagger, or False without the `ja` extra
    global _tagger
    with _tagger_lock:
        if _tagger is None:
            try:
                import fugashi

                _tagger = fugashi.Tagger()
            except (ImportError, RuntimeError):   # fugashi/unidic-lite come with aimusic[ja]
                _tagger = False
        return _tagger


def japanese_reader_available() -> bool:
    """Whether kanji can be read (fugashi + unidic-lite, the `ja` extra)."""
    return bool(_japanese_tagger())


def _japanese_runs(text: str) -> list[tuple[str, bool]]:
    """Split a line into Japanese-script runs and other runs (Latin words in a J-pop line)."""
    runs: list[tuple[str, bool]] = []
    for ch in text:
        japanese = bool(_KANA.match(ch) or _HAN.match(ch) or ch == "ー")
        if runs and runs[-1][1] == japanese:
            runs[-1] = (runs[-1][0] + ch, japanese)
        else:
            runs.append((ch, japanese))
    return runs


_PARTICLE_SOUNDS = {"ハ": "ワ", "ヘ": "エ", "ヲ": "オ"}


@lru_cache(maxsize=4096)
def to_hiragana_reading(text: str) -> str:
    """Reading of Japanese text in hiragana, kanji read in context (fugashi + unidic-lite).

    The written-kana reading keeps one mora per kana as songs set them (きょう = きょ-う, not
    the spoken long vowel); only the particles は, へ, を take their spoken sound.
    """
    tagger = _japanese_tagger()
    if not tagger:
        # without a reader kana stay kana and each kanji stays one syllable (sung in its Chinese
        # reading: see script_voice)
        return _katakana_to_hiragana(text)
    with _tagger_lock:
        words = [(w.surface, getattr(w.feature, "kana", None), getattr(w.feature, "pos1", None))
                 for w in tagger(text)]
    parts = []
    for surface, kana, pos in words:
        reading = kana if kana and kana != "*" else surface
        if pos == "助詞" and reading in _PARTICLE_SOUNDS:
            reading = _PARTICLE_SOUNDS[reading]
        parts.append(reading)
    return _katakana_to_hiragana("".join(parts))


def _katakana_to_hiragana(text: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c for c in text)


@lru_cache(maxsize=4096)
def _japanese_morae_cached(text: str) -> tuple[str, ...]:
    reading = to_hiragana_reading(text)
    morae: list[str] = []
    for ch in reading:
        if not (_KANA.match(ch) or ch == "ー" or _HAN.match(ch)):
            continue
        if ch in _SMALL_KANA and morae:
            morae[-1] += ch
        else:
            morae.append(ch)
    return tuple(morae)


def japanese_morae(text: str) -> list[str]:
    return list(_japanese_morae_cached(text))

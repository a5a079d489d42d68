"""Romaji (Hepburn, with common Kunrei spellings) -> hiragana morae, so romanised Japanese lyrics
are sung by the Japanese voice. A word that is not romaji (an English word in a J-pop line) gives
None and is sung as written by another voice."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

_ROWS = {
    "": "あいうえお", "k": "かきくけこ", "g": "がぎぐげご", "s": "さしすせそ", "z": "ざじずぜぞ",
    "t": "たちつてと", "d": "だぢづでど", "n": "なにぬねの", "h": "はひふへほ", "b": "ばびぶべぼ",
    "p": "ぱぴぷぺぽ", "m": "まみむめも", "r": "らりるれろ",
}
_TABLE: dict[str, str] = {}
for consonant, kana in _ROWS.items():
    for vowel, char in zip("aiueo", kana):
        _TABLE[consonant + vowel] = char
_TABLE.update({
    "ya": "や", "yu": "ゆ", "yo": "よ", "wa": "わ", "wo": "を", "shi": "し", "chi": "ち", "tsu": "つ",
    "fu": "ふ", "ji": "じ", "si": "し", "ti": "ち", "tu": "つ", "hu": "ふ", "zi": "じ", "di": "ぢ", "du": "づ",
    "fa": "ふぁ", "fi": "ふぃ", "fe": "ふぇ", "fo": "ふぉ", "ja": "じゃ", "ju": "じゅ", "jo": "じょ", "je": "じぇ",
    "sha": "しゃ", "shu": "しゅ", "sho": "しょ", "she": "しぇ", "cha": "ちゃ", "chu": "ちゅ", "cho": "ちょ",
    "che": "ちぇ", "wi": "うぃ", "we": "うぇ", "va": "ゔぁ", "vi": "ゔぃ", "vu": "ゔ", "ve": "ゔぇ",
    "vo": "ゔぉ",
})
for consonant, i_kana in (("k", "き"), ("g", "ぎ"), ("n", "に"), ("h", "ひ"), ("b", "び"), ("p", "ぴ"), ("m", "み"),
                          ("r", "り")):
    for vowel, small in zip("auo", "ゃゅょ"):
        _TABLE[f"{consonant}y{vowel}"] = i_kana + small
_LONGEST = max(len(k) for k in _TABLE)
_MACRONS = {"ā": "aa", "ī": "ii", "ū": "uu", "ē": "ee", "ō": "ou", "â": "aa", "î": "ii", "û": "uu", "ê": "ee",
            "ô": "ou"}


@lru_cache(maxsize=8192)
def romaji_morae(word: str) -> tuple[tuple[str, str], ...] | None:
    """[(romaji as written, hiragana)] per mora, or None when `word` is not romaji."""
    text = "".join(_MACRONS.get(ch, ch) for ch in unicodedata.normalize("NFC", word.lower()))
    text = text.replace("’", "'")
    morae: list[tuple[str, str]] = []   # (romaji, kana)
    sokuon = ""                        # a doubled consonant waiting for its mora ("tte" -> って)
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "'" and morae and morae[-1][1] == "ん":   # ten'in: the apostrophe only splits
            i += 1
            continue
        if not ch.isascii() or not ch.isalpha():
            return None
        # sokuon: a doubled consonant (kk, tt, tch) starts the next mora with っ, so each mora
        # can also be read on its own (the singer converts syllables one by one)
        if ch not in "aiueon" and i + 1 < len(text) and (text[i + 1] == ch or text[i:i + 3] == "tch"):
            if sokuon:
                return None
            sokuon = word_slice(word, text, i, 1)
            i += 1
            continue
        # syllabic n: before a consonant other than y, before an apostrophe, or at the end
        if ch == "n" and not sokuon and (i + 1 == len(text) or text[i + 1] not in "aiueoy"):
            morae.append((word_slice(word, text, i, 1), "ん"))
            i += 1
            continue
        for size in range(min(_LONGEST, len(text) - i), 0, -1):
            kana = _TABLE.get(text[i:i + size])
            if kana is not None:
                morae.append((sokuon + word_slice(word, text, i, size), ("っ" if sokuon else "") + kana))
                sokuon = ""
                i += size
                break
        else:
            return None
    return tuple(morae) if morae and not sokuon else None


def word_slice(word: str, text: str, start: int, size: int) -> str:
    """The mora as the user wrote it (same letters when no macron was expanded)."""
    return word[start:start + size] if len(word) == len(text) else text[start:start + size]


def to_hiragana(syllable: str) -> str | None:
    morae = romaji_morae(syllable)
    return "".join(k for _, k in morae) if morae else None

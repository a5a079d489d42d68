"""Intent classification: generate vs edit, premium vs cost-sensitive, languages, vocals,
edit type, durations and counts. Every finding records the words that triggered it."""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass, field

from aimusic.plan import times

PREMIUM_WORDS = (
    "brand", "branding", "commercial", "advert", "advertisement", "ad", "ads", "tv spot",
    "client", "client deliverable", "deliverable", "radio-ready", "radio ready", "super bowl",
    "campaign", "premium", "polished", "polish", "high-end", "high end", "expensive", "luxury",
    "broadcast", "professional", "label-ready", "release-ready", "chart", "hit single", "best quality",
    "highest quality", "top quality", "studio quality", "final render", "theme song", "title theme",
    "trailer", "sonic logo", "flagship",
)
COST_WORDS = (
    "cheap", "cheaply", "draft", "drafts", "budget", "batch", "library", "libraries", "low cost",
    "low-cost", "inexpensive", "affordable", "quick", "rough", "demo", "sketch", "placeholder",
    "prototype", "mockup", "test", "bulk", "stock", "background", "game loop", "loop", "loops",
    "bed", "filler", "free", "variations", "iterate", "many",
)
# "then"/"before"/"later"/"once" between a cost word and a premium word: draft first, polish last.
SEQUENCE = re.compile(r"\b(?:then|afterwards|after that|later|once|finally|and then|before the final)\b")

LANGUAGE_NAMES = {
    "english": "en", "chinese": "zh", "mandarin": "zh", "cantonese": "yue", "japanese": "ja",
    "korean": "ko", "spanish": "es", "german": "de", "french": "fr", "portuguese": "pt",
    "brazilian": "pt", "italian": "it", "russian": "ru", "hindi": "hi", "arabic": "ar", "turkish": "tr",
    "polish": "pl", "dutch": "nl", "czech": "cs", "hungarian": "hu", "swedish": "sv", "norwegian": "no",
    "danish": "da", "finnish": "fi", "greek": "el", "hebrew": "he", "thai": "th", "vietnamese": "vi",
    "indonesian": "id", "malay": "ms", "tagalog": "tl", "filipino": "tl", "swahili": "sw",
    "ukrainian": "uk", "romanian": "ro", "bulgarian": "bg", "bengali": "bn", "tamil": "ta",
    "telugu": "te", "urdu": "ur", "persian": "fa", "farsi": "fa", "catalan": "ca", "croatian": "hr",
    "serbian": "sr",
}
MULTI_WORDS = ("multilingual", "multi-lingual", "bilingual", "several languages", "many languages",
               "every language", "each language", "other languages", "localized", "localised",
               "translated", "international launch")

VOCAL_WORDS = ("vocal", "vocals", "vocalist", "singer", "singing", "sung", "sing", "sings", "lyrics",
               "rap", "rapper", "rapping", "choir", "duet", "voice", "hook with lyrics", "chant")
INSTRUMENTAL_WORDS = ("instrumental", "no vocals", "no vocal", "without vocals", "no singing",
                      "no voice", "no lyrics", "beat", "beats", "bed", "loop", "loops", "background",
                      "underscore", "ambient", "sonic logo", "stinger", "soundtrack", "score")

EDIT_WORDS = ("fix", "fixed", "repair", "redo", "re-do", "replace", "repaint", "regenerate the",
              "came out wrong", "sounds wrong", "sounds off", "is off", "glitch", "inpaint", "outpaint",
              "extend", "extension", "lengthen", "longer", "continue", "i have a", "my track", "my song",
              "this track", "this song", "the track", "my hook", "my ", "add an intro", "add an outro",
              "add a", "add more", "change the", "append", "prepend", "twice as long", "double the length",
              "add another")
REMIX_WORDS = ("remix", "cover", "restyle", "re-style", "reimagine", "re-imagine", "in the style of",
               "turn it into", "make it sound like", "as a ", "convert it to", "rework", "rearrange",
               "re-arrange", "same song as", "style transfer")
MASK_WORDS = ("mask", "remove the vocals", "remove the vocal", "remove vocals", "isolate", "only the drums",
              "only the vocals", "just the drums", "just the bass", "just the vocals", "mute the",
              "take out the", "separate the", "stem", "without changing the timing", "swap the instrument",
              "change the instrument", "replace the drums", "replace the vocals", "replace the guitar")
SECTION_WORDS = ("intro", "verse", "pre-chorus", "chorus", "bridge", "hook", "break", "solo", "outro",
                 "drop", "breakdown", "ending", "middle", "part", "section")
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1, "final": -1, "1st": 1,
            "2nd": 2, "3rd": 3, "4th": 4}


@lru_cache(maxsize=None)
def _words_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    # One alternation per word list (longest first) instead of one pattern per word: start-up speed.
    parts = []
    for word in sorted(words, key=len, reverse=True):
        tail = "" if word.endswith(" ") else r"(?![\w-])"
        parts.append(re.escape(word.strip()) + tail)
    return re.compile(r"(?<![\w-])(?:" + "|".join(parts) + ")")


def find_words(text: str, words: tuple[str, ...]) -> list[str]:
    """Every listed word or phrase that occurs in `text` as whole words (in the list's order)."""
    pattern = _words_pattern(words)
    found: set[str] = set()
    position = 0
    while True:
        match = pattern.search(text, position)
        if match is None:
            break
        found.add(match.group(0))
        position = match.start() + 1  # overlapping matches: "ad campaign" also holds "ad"
    return [word.strip() for word in words if word.strip() in found]


@dataclass
class Intent:
    request: str
    text: str                                   # lower-cased, numbers as digits
    edit: bool = False
    edit_words: list[str] = field(default_factory=list)
    remix_words: list[str] = field(default_factory=list)
    mask_words: list[str] = field(default_factory=list)
    premium_words: list[str] = field(default_factory=list)
    cost_words: list[str] = field(default_factory=list)
    draft_then_polish: bool = False
    languages: list[str] = field(default_factory=list)     # codes named in the request, in order
    language_words: list[str] = field(default_factory=list)
    language_count: int | None = None                       # "in 8 languages"
    multi_words: list[str] = field(default_factory=list)
    vocal_words: list[str] = field(default_factory=list)
    instrumental_words: list[str] = field(default_factory=list)
    window: times.Window | None = None
    extension: times.Extension | None = None
    duration: tuple[float, str] | None = None
    count: tuple[int, str] | None = None
    section: str | None = None                  # "chorus" in "my second chorus came out wrong"
    section_ordinal: int | None = None
    video_words: list[str] = field(default_factory=list)
    game_loop: bool = False
    bpm: int | None = None

    @property
    def premium(self) -> bool:
        return bool(self.premium_words) and (not self.cost_words or self.draft_then_polish)

    @property
    def cost_sensitive(self) -> bool:
        return bool(self.cost_words) or (self.count is not None and self.count[0] > 1)

    @property
    def multilingual(self) -> bool:
        non_english = [code for code in self.languages if code != "en"]
        return bool(non_english) or bool(self.multi_words) or (self.language_count or 0) > 1


def classify(request: str, *, has_audio: bool = False) -> Intent:
    """Classify a request in plain words; `has_audio` tells whether a source track came with it."""
    text = times.words_to_numbers(request)
    intent = Intent(request=request, text=text)
    intent.premium_words = find_words(text, PREMIUM_WORDS)
    intent.cost_words = find_words(text, COST_WORDS)
    intent.count = times.find_count(request)
    if intent.premium_words and intent.cost_words:
        first_cost = min(text.find(w) for w in intent.cost_words)
        last_premium = max(text.rfind(w) for w in intent.premium_words)
        intent.draft_then_polish = first_cost < last_premium and \
            bool(SEQUENCE.search(text[first_cost:last_premium + 1]))
    for match in _words_pattern(tuple(LANGUAGE_NAMES)).finditer(text):  # in the order named
        name = match.group(0)
        if name not in intent.language_words:
            intent.language_words.append(name)
        if LANGUAGE_NAMES[name] not in intent.languages:
            intent.languages.append(LANGUAGE_NAMES[name])
    match = re.search(r"\b(\d{1,3})\s+(?:different\s+|other\s+)?languages\b", text)
    if match:
        intent.language_count = int(match.group(1))
    intent.multi_words = find_words(text, MULTI_WORDS)
    intent.vocal_words = find_words(text, VOCAL_WORDS)
    intent.instrumental_words = find_words(text, INSTRUMENTAL_WORDS)
    if intent.vocal_words and "beat" in intent.instrumental_words and \
            not {"instrumental", "no vocals", "without vocals"} & set(intent.instrumental_words):
        intent.instrumental_words.remove("beat")
    intent.remix_words = find_words(text, REMIX_WORDS)
    intent.mask_words = find_words(text, MASK_WORDS)
    intent.edit_words = find_words(text, EDIT_WORDS)
    intent.window = times.find_window(request)
    intent.extension = times.find_extension(request)
    intent.duration = times.find_duration(request)
    intent.bpm = times.find_bpm(request)
    intent.video_words = find_words(text, ("video", "film", "clip", "trailer", "reel", "vlog"))
    intent.game_loop = bool(re.search(r"\b(?:game|level|menu|gameplay)\b.*\bloop|\bloop\w*\b.*\bgame\b"
                                      r"|\bseamless(?:ly)?\s+loop", text))
    match = re.search(r"\b(?:(first|second|third|fourth|last|final|1st|2nd|3rd|4th)\s+)?"
                      r"(intro|verse|pre-chorus|chorus|bridge|hook|solo|outro|drop|breakdown)\b", text)
    if match:
        intent.section = match.group(2)
        intent.section_ordinal = ORDINALS.get(match.group(1) or "", None)
    # An edit: a source track came along, or the words say so. A window or an extension in a
    # request without a source is still an edit (the planner then asks for --audio).
    intent.edit = has_audio or bool(intent.window and (intent.edit_words or intent.section)) or bool(
        intent.extension and intent.edit_words) or bool(
        {"fix", "repair", "redo", "inpaint", "outpaint", "came out wrong", "extend", "lengthen", "append",
         "prepend", "twice as long", "double the length"} & set(intent.edit_words))
    # "I have a 30 s hook" names a source; "I have a dream" does not.
    if re.search(rf"\bi(?:'ve| have)(?: got)? an? {times.TIME}", text):
        intent.edit = True
    if intent.edit:
        # In an edit, "30 s" describes the edit, not a new piece's length; counts make no sense.
        intent.duration = None
        intent.count = None
    return intent

"""Intent classification: generate vs edit, premium vs cost-sensitive, languages, vocals,
edit type, durations and counts. Every finding records the words that triggered it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aimusic.plan import times
from aimusic.plan.words import Text, analyse

from aimusic.plan.lexicon import (COMPLAINTS, COST_WORDS, EDIT_VERBS, EDIT_WEAK, INSTRUMENTAL_WORDS,  # noqa: F401
                                  LANGUAGE_NAMES, MASK_WORDS, MULTI_WORDS, PREMIUM_WORDS, PRICE_COST,
                                  PRICE_PREMIUM, REMIX_WORDS, SECTION_WORDS, SEQUENCE_WORDS, VOCAL_WORDS)

EDIT_WORDS = EDIT_VERBS + EDIT_WEAK + COMPLAINTS   # kept for callers of the old name
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1, "final": -1, "1st": 1,
            "2nd": 2, "3rd": 3, "4th": 4}


def find_words(text: str, words: tuple[str, ...]) -> list[str]:
    """Every listed word or phrase in `text` (word forms via stems, not under a negation), in the list's order."""
    from aimusic.plan.words import analyse

    return analyse(text).words(words)


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
    source_length: tuple[float, str] | None = None   # "this 3-minute song": the source's length, from the words
    audio_refs: list[str] = field(default_factory=list)  # "this song", "my track", "it" after an edit verb
    negated: list[str] = field(default_factory=list)      # routing words a negation covers
    doc: Any = None                                       # the analysed request (words.Text)
    style: Any = None                                     # the style words and what was taken out (style.Style)

    @property
    def strong_cost_words(self) -> list[str]:
        from aimusic.plan.lexicon import WEAK_COST_WORDS

        return [w for w in self.cost_words if w not in WEAK_COST_WORDS and not w.startswith(("bed", "loop"))]

    @property
    def premium(self) -> bool:
        return bool(self.premium_words) and (not self.strong_cost_words or self.draft_then_polish)

    @property
    def cost_sensitive(self) -> bool:
        return bool(self.cost_words) or (self.count is not None and self.count[0] > 1)

    @property
    def multilingual(self) -> bool:
        non_english = [code for code in self.languages if code != "en"]
        return bool(non_english) or bool(self.multi_words) or (self.language_count or 0) > 1


def _negation_surface(doc: Text, match: Any) -> str:
    """The negator and the word it covers, as written ("nothing expensive", "不要太贵")."""
    from aimusic.plan.lexicon import NEGATORS

    negators = doc.find(NEGATORS, negated=None)
    start = match.start
    for neg in negators:
        if neg.end <= match.start and match.start - neg.end <= 4:
            start = neg.start
    return doc.surface(start, match.end).lower()


def _audio_refs(doc: Text) -> list[str]:
    """Plain references to existing audio: "this song", "my 30 s hook", "the track", "it" after a verb."""
    from aimusic.plan.lexicon import AUDIO_NOUNS, AUDIO_REF_DETERMINERS

    toks = doc.tokens
    refs = []
    for i, tok in enumerate(toks):
        if tok.text not in AUDIO_REF_DETERMINERS:
            continue
        for j in range(i + 1, min(len(toks), i + 5)):
            if toks[j].boundary:
                break
            if toks[j].text in AUDIO_NOUNS:
                refs.append(doc.surface(i, j + 1).lower())
                break
            if toks[j].text in ("for", "with", "of", "and", "in"):
                break
    verbs = doc.find(EDIT_VERBS + EDIT_WEAK + ("make",), negated=None)
    for m in verbs:
        if m.end < len(toks) and toks[m.end].text in ("it", "them", "this", "that") and not toks[m.end].boundary:
            refs.append(doc.surface(m.start, m.end + 1).lower())
    return list(dict.fromkeys(refs))


def _verb_on_a_ref(doc: Text, refs: list[str]) -> bool:
    """An edit verb with the track as its object: "extend my song", "fix it" (not "the song should
    continue the mood of ...": there the track is the subject of a description)."""
    verbs = [m.start for m in doc.find(EDIT_VERBS, negated=None)]
    if not verbs or not refs:
        return False
    starts = [i for i in range(len(doc.tokens)) for r in refs if doc.surface(i, i + 1).lower() == r.split()[0]
              and doc.request[doc.tokens[i].start:].startswith(r)]
    return any(v <= s for v in verbs for s in starts)


def classify(request: str, *, has_audio: bool = False) -> Intent:
    """Classify a request in plain words; `has_audio` tells whether a source track came with it."""
    from aimusic.plan import style as style_mod

    doc = analyse(request)
    text = times.words_to_numbers(doc.gloss)
    intent = Intent(request=request, text=text, doc=doc)
    intent.premium_words = doc.surfaces(PREMIUM_WORDS)
    intent.cost_words = doc.surfaces(COST_WORDS)
    # Negated price words flip: "nothing expensive" is cost-sensitive, "it must not sound cheap" premium
    # (not inside a phrase that says it whole: "spare no expense", "money is no object").
    whole = {k for m in doc.find(PREMIUM_WORDS + COST_WORDS) for k in range(m.start, m.end) if " " in m.word}
    for m in doc.find(PRICE_PREMIUM + ("expense",), negated=True):
        if m.start not in whole:
            intent.cost_words.append(_negation_surface(doc, m))
    for m in doc.find(PRICE_COST, negated=True):
        if m.start not in whole:
            intent.premium_words.append(_negation_surface(doc, m))
    # a price cap: "under $1", "less than 2 dollars", "max 50 cents"
    cap = re.search(r"\b(?:under|below|less than|at most|max(?:imum)?|no more than|within|cheaper than|up to)\s+"
                    r"(?:[$€£]\s?\d+(?:\.\d+)?|\d+(?:\.\d+)?\s*(?:dollars?|bucks|cents?|euros?|usd|eur)\b)", text)
    if cap:
        intent.cost_words.append(cap.group(0))
    for m in doc.find(("budget",), negated=True):
        if m.start not in whole and not doc.find(("budget limit", "budget cap", "budget constraint")):
            intent.cost_words.append(_negation_surface(doc, m))   # "no budget", "zero budget"
    intent.negated = [_negation_surface(doc, m) for m in doc.find(PREMIUM_WORDS + COST_WORDS, negated=True)]
    intent.premium_words = list(dict.fromkeys(intent.premium_words))
    intent.cost_words = list(dict.fromkeys(intent.cost_words))
    intent.count = times.find_count(doc.gloss)
    if intent.premium_words and intent.strong_cost_words:
        # "cheap draft first, then premium polish": a sequence word between the first cost word
        # and the last premium word means draft first, polish last
        cost_at = [m.start for m in doc.find(COST_WORDS)]
        premium_at = [m.start for m in doc.find(PREMIUM_WORDS)]
        if cost_at and premium_at:
            first_cost, last_premium = min(cost_at), max(premium_at)
            intent.draft_then_polish = first_cost < last_premium and any(
                first_cost <= m.start <= last_premium for m in doc.find(SEQUENCE_WORDS, negated=None))
    for m in doc.find(tuple(LANGUAGE_NAMES)):
        name = m.word
        if name not in intent.language_words:
            intent.language_words.append(name)
        if LANGUAGE_NAMES[name] not in intent.languages:
            intent.languages.append(LANGUAGE_NAMES[name])
    match = re.search(r"\b(\d{1,3})\s+(?:different\s+|other\s+)?languages\b", text)
    if match:
        intent.language_count = int(match.group(1))
    intent.multi_words = [w for w in doc.surfaces(MULTI_WORDS) if w != "languages" or intent.language_count is None]
    if intent.multi_words == ["languages"] and not re.search(r"\b(?:several|many|multiple|different|all|other)\s+"
                                                            r"languages\b", text):
        intent.multi_words = []
    intent.vocal_words = doc.surfaces(VOCAL_WORDS)
    intent.instrumental_words = doc.surfaces(INSTRUMENTAL_WORDS)
    # "no vocals", "without any singing", "ボーカルなし": a negated vocal word means instrumental;
    # "not instrumental" means vocals
    for m in doc.find(VOCAL_WORDS, negated=True):
        intent.instrumental_words.append(_negation_surface(doc, m))
    for m in doc.find(("instrumental",), negated=True):
        intent.vocal_words.append(_negation_surface(doc, m))
    intent.instrumental_words = list(dict.fromkeys(intent.instrumental_words))
    if intent.vocal_words and "beat" in intent.instrumental_words and \
            not {"instrumental", "no vocals", "without vocals"} & set(intent.instrumental_words):
        intent.instrumental_words.remove("beat")
    intent.remix_words = doc.surfaces(REMIX_WORDS)
    intent.mask_words = doc.surfaces(MASK_WORDS)
    verbs = doc.surfaces(EDIT_VERBS)
    weak = doc.surfaces(EDIT_WEAK)
    complaints = doc.surfaces(COMPLAINTS)
    intent.edit_words = verbs + [w for w in weak if w not in verbs] + complaints
    intent.source_length = times.find_source_length(doc.gloss)
    intent.window = times.find_window(doc.gloss)
    intent.extension = times.find_extension(doc.gloss)
    intent.duration = times.find_duration(doc.gloss)
    intent.bpm = times.find_bpm(doc.gloss)
    intent.video_words = doc.surfaces(("video", "film", "clip", "trailer", "reel", "vlog"))
    loops = doc.find(("loop", "=loopable", "=looping", "=looped", "seamless"))
    games = doc.find(("game", "level", "menu", "gameplay", "video game", "title screen"))
    intent.game_loop = bool(loops) and (bool(games) or bool(doc.find(("seamless",))))
    match = re.search(r"\b(?:(first|second|third|fourth|last|final|1st|2nd|3rd|4th)\s+)?"
                      r"(intro|verse|pre-chorus|chorus|bridge|hook|solo|outro|drop|breakdown)\b", text)
    if match:
        intent.section = match.group(2)
        intent.section_ordinal = ORDINALS.get(match.group(1) or "", None)
    intent.audio_refs = _audio_refs(doc)
    # An edit: a source track came along, or the words plainly refer to existing audio. "my ..."
    # alone is not enough ("a theme song for my channel intro" is new music).
    extension_said = intent.extension is not None and (
        bool(verbs or weak) or bool(re.search(r"\b(?:more|another|longer|extra|additional|further)\b",
                                              intent.extension.text + " " + text)))
    intent.edit = has_audio or bool(
        (verbs and (intent.window or intent.extension or intent.section))
        or _verb_on_a_ref(doc, intent.audio_refs)
        or (complaints and (intent.window or intent.section or intent.audio_refs))
        or (intent.source_length and intent.extension)
        or extension_said
        or (weak and intent.audio_refs and (intent.extension or intent.section)))
    # "I have a 30 s hook" names a source; "I have a dream" does not.
    if re.search(rf"\bi(?:'ve| have)(?: got)? an? {times.TIME}", text):
        intent.edit = True
    if intent.edit:
        # In an edit, "30 s" describes the edit, not a new piece's length; counts make no sense.
        intent.duration = None
        intent.count = None
    intent.style = style_mod.extract(doc, edit=intent.edit, sequence=intent.draft_then_polish)
    return intent


def _matches_any(match: Any, surfaces: list[str], doc: Text) -> bool:
    text = match.surface.lower()
    return any(text == s or text in s or s.endswith(text) for s in surfaces)

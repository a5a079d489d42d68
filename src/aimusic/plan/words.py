"""Reading a request: tokens, stems, negation scope, and a gloss into English for the rules.

`analyse(request)` returns a `Text`: the request's tokens, each with its place in the request
(so the style text keeps the user's own words), its English gloss (a Spanish "barata" reads
"cheap", a Chinese "便宜" reads "cheap") and the Snowball stem of that gloss. `Text.find(words)`
finds listed words and phrases on stems, skipping what a negation covers ("no vocals",
"nothing expensive", "not a loop"); `Text.negated(words)` returns those a negation covers.
Pure functions of the text; no model, no network.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from aimusic.plan import lexicon

CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\u1100-\u11ff\u3130-\u318f\uff66-\uff9f\u3005"
_CJK_RUN = re.compile(f"[{CJK_CHARS}]+")
_TOKEN = re.compile(
    rf"(?P<cjk>[{CJK_CHARS}]+)"
    r"|(?P<num>\d+(?:[:.,]\d+)*(?:['’]?[a-z]+(?:\d+[a-z]*)*)?)"
    rf"|(?P<word>(?:(?![{CJK_CHARS}])[^\W\d_])+(?:['’](?:(?![{CJK_CHARS}])[^\W\d_])+)*)"
    r"|(?P<sym>[$€£¥&+%\"'])")
_BOUNDARY = re.compile(r"[,.;:!?()\[\]{}/\n、。，；：！？・|]|\s-\s|\s–\s|\s—\s")
_CJK_NUMERAL = re.compile("[零〇一二两兩三四五六七八九十百半]+")


@lru_cache(maxsize=None)
def _stemmer(lang: str):
    # Import the one algorithm module (importing the package loads all 30-odd: start-up speed).
    import importlib

    name = {"en": "english", "es": "spanish", "de": "german", "fr": "french", "pt": "portuguese"}[lang]
    module = importlib.import_module(f"snowballstemmer.{name}_stemmer")
    return getattr(module, f"{name.title()}Stemmer")()


def fold(word: str) -> str:
    """Lower case without accents ("canción" -> "cancion"), apostrophes dropped ("don't" -> "dont")."""
    word = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in word if not unicodedata.combining(c)).replace("'", "").replace("’", "")


@lru_cache(maxsize=8192)
def stem(word: str, lang: str = "en") -> str:
    if not word or not word[0].isalpha():
        return word
    return _stemmer(lang).stemWord(fold(word))


@dataclass
class Tok:
    text: str            # the English the rules read (a gloss for foreign words)
    start: int           # where the user's own word(s) sit in the request
    end: int
    boundary: bool = False   # punctuation (a clause break) before this token
    kind: str = "word"       # word | num | sym | cjk
    glossed: bool = False

    @property
    def stem(self) -> str:
        return stem(self.text)


@dataclass
class Match:
    word: str            # the list entry
    start: int           # token indices [start, end)
    end: int
    surface: str         # the user's words, as written
    negated: bool = False
    intensified: bool = False


@dataclass
class Text:
    request: str                                 # lower case, NFKC
    tokens: list[Tok]
    gloss: str                                   # the English reading, for the time parsers
    languages: list[str] = field(default_factory=list)   # glossaries applied (es, de, fr, pt, cjk)
    _negated: list[bool] = field(default_factory=list)
    original: str = ""                           # the request as written (same offsets)

    def surface(self, start: int, end: int) -> str:
        if start >= end:
            return ""
        return self.request[self.tokens[start].start:self.tokens[end - 1].end]

    def find(self, words: tuple[str, ...] | list[str], *, negated: bool | None = False) -> list[Match]:
        """Matches of the listed words (in request order, longest first where they overlap);
        `negated` picks those a negation covers instead of those it does not (None: both)."""
        index = _index(tuple(words))
        stems = [t.stem for t in self.tokens]
        texts = [t.text for t in self.tokens]
        out: list[Match] = []
        for i in range(len(stems)):
            for entry, seq, exact in _candidates(index, stems[i]):
                n = len(seq)
                window = texts[i:i + n] if exact else stems[i:i + n]
                if window == list(seq):
                    neg = self.is_negated(i) and not entry.split()[0] in lexicon.NEGATORS
                    if negated is not None and neg != negated:
                        continue
                    start = i
                    intensified = i > 0 and self.tokens[i - 1].text in lexicon.INTENSIFIERS
                    out.append(Match(entry.lstrip("="), start, i + n, self.surface(start, i + n), neg, intensified))
        return out

    def words(self, words: tuple[str, ...] | list[str]) -> list[str]:
        """The list entries found (not negated), each once, in the list's order (reasons quote them)."""
        found = {m.word for m in self.find(words)}
        return [w.lstrip("=").strip() for w in words if w.lstrip("=").strip() in found]

    def surfaces(self, words: tuple[str, ...] | list[str], *, negated: bool = False) -> list[str]:
        """The user's words that matched, in request order, each once."""
        seen: list[str] = []
        covered: set[int] = set()
        for m in sorted(self.find(words, negated=negated), key=lambda m: (m.start, -(m.end - m.start))):
            if set(range(m.start, m.end)) <= covered:
                continue  # "budget" inside "budget-friendly": quote the longer words once
            covered.update(range(m.start, m.end))
            text = m.surface.lower()
            if m.word != text and self.tokens[m.start].glossed:
                text = f"{m.surface}"  # a foreign word: quote it as written
            if text not in seen:
                seen.append(text)
        return seen

    def is_negated(self, index: int) -> bool:
        if not self._negated:
            self._negated = _negation_marks(self.tokens)
        return self._negated[index]


@lru_cache(maxsize=None)
def _index(words: tuple[str, ...]) -> dict[str, list[str]]:
    """Entries by the first two letters of their first word. A Snowball stem keeps its word's first
    two letters, so only the entries a token could match are ever stemmed (start-up speed)."""
    table: dict[str, list[str]] = {}
    for entry in words:
        body = entry.lstrip("=").strip().lower()
        first = _TOKEN.match(body) or _TOKEN.search(body)
        if first is None:
            continue
        table.setdefault(fold(first.group(0))[:2], []).append(entry)
    return table


@lru_cache(maxsize=None)
def _entry(entry: str) -> tuple[str, tuple[str, ...], bool] | None:
    exact = entry.startswith("=")
    body = entry.lstrip("=").strip().lower()
    parts = [m.group(0) for m in _TOKEN.finditer(body)]
    if not parts:
        return None
    return entry.strip(), (tuple(parts) if exact else tuple(stem(p) for p in parts)), exact


def _candidates(index: dict[str, list[str]], token_stem: str) -> list[tuple[str, tuple[str, ...], bool]]:
    out = []
    for entry in index.get(fold(token_stem)[:2], ()):
        compiled = _entry(entry)
        if compiled is not None and (compiled[1][0] == token_stem or (compiled[2] and True)):
            out.append(compiled)
    out.sort(key=lambda item: -len(item[1]))
    return out


@lru_cache(maxsize=None)
def _compiled(words: tuple[str, ...]) -> dict[str, list[tuple[str, tuple[str, ...], bool]]]:
    """First stem -> [(entry, stems or surface words, exact)], longest entries first."""
    table: dict[str, list[tuple[str, tuple[str, ...], bool]]] = {}
    for entry in words:
        exact = entry.startswith("=")
        body = entry.lstrip("=").strip().lower()
        parts = [m.group(0) for m in _TOKEN.finditer(body)]
        if not parts:
            continue
        seq = tuple(parts) if exact else tuple(stem(p) for p in parts)
        table.setdefault(stem(parts[0]), []).append((entry.strip(), seq, exact))
    for key in table:
        table[key].sort(key=lambda item: -len(item[1]))
    return table


def _negation_marks(tokens: list[Tok]) -> list[bool]:
    """True for each token a negation covers: from the negator to the next clause break, a
    scope-ending word, or four content words (intensifiers do not count)."""
    marks = [False] * len(tokens)
    negators = _compiled(lexicon.NEGATORS)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        hit = None
        for _entry, seq, _exact in negators.get(tok.stem, ()):
            if [t.stem for t in tokens[i:i + len(seq)]] == list(seq):
                hit = len(seq)
                break
        if hit is None and (tok.text.endswith("n't") or tok.text.endswith("n’t")):
            hit = 1
        if hit is None:
            i += 1
            continue
        j = i + hit
        content = 0
        while j < len(tokens) and content < 4:
            nxt = tokens[j]
            if nxt.boundary or nxt.text in lexicon.SCOPE_BREAKS:
                break
            marks[j] = True
            if nxt.text not in lexicon.INTENSIFIERS and nxt.text not in ("a", "an", "the", "any", "be", "to",
                                                                      "sound", "sounds", "too", "it", "need"):
                content += 1
            j += 1
        i = j
    return marks


# ---- building a Text ---------------------------------------------------------------------------------

def _language_scores(words: list[str]) -> dict[str, int]:
    """Function words of each language, plus words its glossary knows (not English ones)."""
    scores = {}
    english = _marker_set("en")
    for lang in lexicon.MARKERS:
        marker_set = _marker_set(lang)
        scores[lang] = sum(1 for w in words if w in marker_set)
        if lang != "en" and scores[lang]:
            table = _gloss_table(lang)
            scores[lang] += sum(1 for w in words if w not in english and w not in marker_set
                                and stem(w, lang) in table and w not in _english_words())
    return scores


@lru_cache(maxsize=None)
def _english_words() -> frozenset[str]:
    """Words of the English lists: a German "Budget" or a Spanish "instrumental" is no evidence."""
    out = set()
    for name in ("PREMIUM_WORDS", "COST_WORDS", "VOCAL_WORDS", "INSTRUMENTAL_WORDS", "GENRES", "MOODS",
                 "INSTRUMENTS", "FILLER", "CONNECTORS", "SECTION_WORDS", "PURPOSE_NOUNS", "SCENE_WORDS",
                 "EDIT_VERBS", "EDIT_WEAK", "COMPLAINTS", "LENGTH_UNITS", "NUMBER_WORDS_EN", "WINDOW_WORDS",
                 "NEGATORS", "INTENSIFIERS"):
        for entry in getattr(lexicon, name):
            out.update(fold(w) for w in entry.lstrip("=").split())
    return frozenset(out)


@lru_cache(maxsize=None)
def _marker_set(lang: str) -> frozenset[str]:
    return frozenset(lexicon.MARKERS[lang])


@lru_cache(maxsize=None)
def _gloss_table(lang: str) -> dict[str, list[tuple[tuple[str, ...], str]]]:
    table: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for local, english in lexicon.GLOSS[lang].items():
        parts = [m.group(0) for m in _TOKEN.finditer(local.lower())]
        seq = tuple(stem(p, lang) for p in parts)
        table.setdefault(seq[0], []).append((seq, english))
    for key in table:
        table[key].sort(key=lambda item: -len(item[0]))
    return table


@lru_cache(maxsize=None)
def _foreign_numbers(lang: str) -> dict[str, float]:
    return {fold(k): v for k, v in lexicon.NUMBER_WORDS_FOREIGN[lang].items()}


def _cjk_number(text: str) -> float | None:
    """一 -> 1, 十五 -> 15, 三十 -> 30, 两 -> 2, 一百二十 -> 120, 半 -> 0.5."""
    if text == "半":
        return 0.5
    total, current = 0, 0
    for ch in text:
        value = lexicon.CJK_DIGITS.get(ch)
        if value is None:
            return None
        if value in (10, 100):
            total += (current or 1) * value
            current = 0
        elif value == 0.5:
            return None
        else:
            current = current * 10 + value if current else value
    return float(total + current)


@lru_cache(maxsize=None)
def _cjk_keys() -> tuple[int, dict[str, str]]:
    table = {unicodedata.normalize("NFKC", k).lower(): v for k, v in lexicon.CJK_GLOSS.items()}
    return max(len(k) for k in table), table


def _split_cjk(run: str, start: int, boundary: bool, after_num: bool = False) -> list[Tok]:
    """Longest-match segmentation of a run of CJK characters against the glossary; numerals and
    their units ("三十秒", "两分钟", "30초") become numbers and units; unknown characters stay
    one token each (they are the user's style words and pass through)."""
    longest, table = _cjk_keys()
    out: list[Tok] = []
    i = 0
    pending_boundary = boundary
    while i < len(run):
        num = _CJK_NUMERAL.match(run, i)
        if num and num.group(0) == "一" and run[num.end():num.end() + 1] in ("首", "个", "段", "本", "曲"):
            num = None
        if num and (num.end() < len(run) and run[num.end()] in lexicon.CJK_NUMERAL_UNITS
                    or run[num.end():num.end() + 2] in ("分钟", "秒钟", "种语", "首歌", "个版")
                    or num.group(0) == "半"):
            value = _cjk_number(num.group(0))
            if value is not None or num.group(0) == "半":
                text = "half a" if num.group(0) == "半" else f"{value:g}"
                out.append(Tok(text, start + i, start + num.end(), pending_boundary, "num", True))
                pending_boundary = False
                i = num.end()
                continue
        ko = None
        for word, value in lexicon.KO_NUMBERS.items():
            if run.startswith(word, i) and i + len(word) < len(run) and run[i + len(word)] in "초분곡개":
                ko = (word, value)
                break
        if ko is not None and (i == 0 or run[i - 1] not in lexicon.KO_NUMBERS):
            word, value = ko
            # Sino-Korean compounds: 삼십 = 30
            out.append(Tok(f"{value:g}", start + i, start + i + len(word), pending_boundary, "num", True))
            pending_boundary = False
            i += len(word)
            continue
        for size in range(min(longest, len(run) - i), 0, -1):
            piece = run[i:i + size]
            english = table.get(piece)
            if english is None:
                continue
            if piece in lexicon.CJK_NUMERAL_UNITS and not (out and out[-1].kind == "num") and \
                    not (after_num and i == 0):
                if piece in ("分", "初", "本", "개", "首", "곡"):
                    continue  # "分" outside a number is part of another word
            out.append(Tok(english, start + i, start + i + size, pending_boundary, "cjk", True))
            pending_boundary = False
            i += size
            break
        else:
            if ((out and out[-1].kind == "num") or (after_num and i == 0)) and run[i] in lexicon.CJK_NUMERAL_UNITS:
                out.append(Tok(lexicon.CJK_NUMERAL_UNITS[run[i]], start + i, start + i + 1, False, "cjk", True))
            else:
                out.append(Tok(run[i], start + i, start + i + 1, pending_boundary, "cjk"))
            pending_boundary = False
            i += 1
    return out


def _raw_tokens(text: str) -> list[Tok]:
    tokens: list[Tok] = []
    last = 0
    for match in _TOKEN.finditer(text):
        boundary = bool(_BOUNDARY.search(text[last:match.start()])) or not tokens
        kind = match.lastgroup or "word"
        if kind == "cjk":
            after_num = bool(tokens) and tokens[-1].kind == "num" and tokens[-1].end == match.start()
            tokens.extend(_split_cjk(match.group(0), match.start(), boundary, after_num))
        else:
            word = match.group(0).replace("’", "'")
            tokens.append(Tok(word, match.start(), match.end(), boundary, kind))
        last = match.end()
    return tokens


_ERA = re.compile(r"^(?:'|’)?(?:19|20)?([0-9])0['’]?s$")
ERA_NAMES = {"5": "fifties", "6": "sixties", "7": "seventies", "8": "eighties", "9": "nineties",
             "0": "noughties", "2": "twenties", "3": "thirties", "4": "forties", "1": "tens"}
_ERA_FOLLOWERS = frozenset(["style", "vibe", "vibes", "feel", "sound", "era", "music", "hits", "nostalgia",
                            "throwback", "kid", "kids", "aesthetic", "inspired", "revival", "song", "songs",
                            "track", "tracks", "classic", "classics", "like", "type", "retro"])


def _mark_eras(tokens: list[Tok]) -> None:
    """"80s synthpop", "the 90s", "1980s", "'70s funk": an era, not a length ("a 30s jingle" is)."""
    from aimusic.plan.lexicon import GENRES, INSTRUMENTS, MOODS

    style_first = {w.split()[0].split("-")[0] for w in GENRES + MOODS + INSTRUMENTS}
    for i, tok in enumerate(tokens):
        if re.fullmatch(r"(?:808|909|303|606|707)s?", tok.text):
            tok.kind = "era"   # drum machines, not lengths
            tok.text = "tr" + tok.text
            continue
        match = _ERA.match(tok.text)
        if not match or tok.kind != "num":
            continue
        decade = match.group(1)
        four = len(tok.text.strip("'’s")) == 4
        nxt = tokens[i + 1].text if i + 1 < len(tokens) and not tokens[i + 1].boundary else ""
        prev = tokens[i - 1].text if i > 0 else ""
        if four or "'" in tok.text or "’" in tok.text or prev in ("the", "early", "late", "mid") \
                or (decade in "56789" and (nxt in style_first or nxt in _ERA_FOLLOWERS)) \
                or (decade in "234" and nxt in style_first and nxt not in ("intro", "outro")):
            tok.text = ERA_NAMES[decade]
            tok.kind = "era"


def _apply_gloss(tokens: list[Tok], lang: str) -> list[Tok]:
    table = _gloss_table(lang)
    numbers = _foreign_numbers(lang)
    stems = [stem(t.text, lang) if t.kind == "word" else None for t in tokens]
    out: list[Tok] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.kind != "word" or tok.glossed:
            out.append(tok)
            i += 1
            continue
        hit = None
        for seq, english in table.get(stems[i] or "", ()):
            n = len(seq)
            if tuple(stems[i:i + n]) == seq and all(not t.glossed for t in tokens[i:i + n]) and \
                    not any(t.boundary for t in tokens[i + 1:i + n]):
                hit = (n, english)
                break
        if hit is not None:
            n, english = hit
            out.append(Tok(english, tok.start, tokens[i + n - 1].end, tok.boundary, "word", True))
            i += n
            continue
        value = numbers.get(fold(tok.text))
        if value is not None:
            out.append(Tok(f"{value:g}", tok.start, tok.end, tok.boundary, "num", True))
        else:
            out.append(tok)
        i += 1
    return out


def _split_glosses(tokens: list[Tok]) -> list[Tok]:
    """A gloss of several English words becomes one token per word, all pointing at the user's span."""
    out: list[Tok] = []
    for tok in tokens:
        if tok.glossed and " " in tok.text.strip():
            for k, part in enumerate(tok.text.split()):
                out.append(Tok(part, tok.start, tok.end, tok.boundary and k == 0, tok.kind, True))
        elif tok.glossed and not tok.text.strip():
            continue  # a particle the gloss drops (的, を, "hinzu")
        else:
            out.append(tok)
    return out


def _post_negations(tokens: list[Tok]) -> list[Tok]:
    """ボーカルなし / 보컬 없이: the negation follows its word; put a "no" before the word."""
    out: list[Tok] = []
    for tok in tokens:
        if tok.text == "NEG_POST":
            if out:
                prev = out.pop()
                out.append(Tok("no", tok.start, tok.end, prev.boundary, "word", True))
                prev.boundary = False
                out.append(prev)
            continue
        out.append(tok)
    return out


def _gloss_string(request: str, tokens: list[Tok]) -> str:
    parts: list[str] = []
    prev_end = None
    for tok in tokens:
        if prev_end is not None:
            between = request[prev_end:tok.start] if tok.start >= prev_end else " "
            if tok.start == prev_end == tok.end:
                between = " "
            sep = re.sub(r"[^,.;:!?、。，；：！？()\-–/~]", "", between) if tok.start >= prev_end else ""
            if between in ("-", "–", "/", "~"):
                parts.append(between)
            elif tok.boundary and sep:
                parts.append(", " if sep[0] in ",、，;；" else (". " if sep[0] in ".。!?！？" else f" {sep} "))
            else:
                parts.append(" ")
        parts.append(tok.text)
        prev_end = tok.end
    text = "".join(parts)
    # windows and targets written the local way: "de 1:05 a 1:25", "von 1:05 bis 1:25", "从1:05到1:25"
    text = re.sub(r"\b(?:of|from)\s+(\S+(?:\s+(?:seconds?|minutes?))?)\s+(?:to|bis|a|à|até|ate|hasta)\s+", r"from \1 to ",
                  text)
    text = re.sub(r"(\S+(?:\s+(?:seconds?|minutes?))?)\s+to_from\s+(\S+(?:\s+(?:seconds?|minutes?))?)\s+to_until",
                  r"from \1 to \2", text)
    text = text.replace(" to_from", "").replace(" to_until", " upto")
    return " ".join(text.split())


def analyse(request: str) -> Text:
    """Tokens, glossary, negation: everything the rules read, from one pass over the request."""
    return _analyse(request)


@lru_cache(maxsize=256)
def _analyse(request: str) -> Text:
    norm = unicodedata.normalize("NFKC", request).lower().replace("〜", "~")
    # NFKC keeps the length of the common cases (full-width digits, letters), so offsets stay
    # valid; when it does not, read the normalised text as the request.
    source = norm if len(norm) == len(request) else norm
    tokens = _raw_tokens(source)
    words = [fold(t.text) for t in tokens if t.kind == "word"]
    scores = _language_scores(words)
    english = scores.pop("en")
    applied = []
    best = max(scores.values())
    for lang, score in sorted(scores.items(), key=lambda kv: -kv[1]):
        if score >= 1 and score > english and score * 2 >= best:
            tokens = _apply_gloss(tokens, lang)
            applied.append(lang)
    if any(t.kind == "cjk" for t in tokens):
        applied.append("cjk")
    tokens = _split_glosses(tokens)
    tokens = _post_negations(tokens)
    for tok in tokens:
        if tok.kind == "num" and "," in tok.text and re.fullmatch(r"\d+,\d{1,2}", tok.text):
            tok.text = tok.text.replace(",", ".")   # "1,5 minutos"
    _mark_eras(tokens)
    text = Text(request=source, tokens=tokens, gloss=_gloss_string(source, tokens), languages=applied,
                original=unicodedata.normalize("NFKC", request) if len(norm) == len(request) else norm)
    return text

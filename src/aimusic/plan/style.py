"""The style text: every musical word of the request, in the user's order, less the logistics.

Each token of the request gets a role. Logistics (a price or budget, a count, a length, who the
music is for, the workflow, how many languages, and in an edit what to change and where) are
taken out and listed with why; function words ("make me a ... please") carry no style and are
dropped quietly; everything else is the user's style and stays, whether or not a word list
knows it. Word lists only *recognise* (a genre keeps "drum and bass" whole, a mood before a
genre makes two tags); they never filter.

ACE-Step v1 reads comma-separated tags: each run of style words is one tag. ACE-Step 1.5 reads
a caption: each clause keeps its phrases whole ("dreamy shoegaze with reverb-drenched guitars").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aimusic.plan import lexicon
from aimusic.plan.words import Text

WHY = {
    "price": "price or budget: it picks the model, not the sound",
    "count": "how many takes: sent as the count",
    "length": "a length: sent as the duration",
    "purpose": "who or what it is for, not a sound",
    "workflow": "how to work (draft, batch, polish), not a sound",
    "languages": "how many languages: one take per language",
    "edit": "what to change and where: sent as times",
}
KEEP = "keep"
FILLER = "filler"
CONNECT = "connect"
LOGISTIC = tuple(WHY)

_CLOCK = re.compile(r"\d+:\d{2}(?::\d{2})?(?:\.\d+)?$")
_COMPOUND_TIME = re.compile(r"\d+(?:\.\d+)?(?:s|sec|secs|m|min|mins|ms|h)$|\d+m\d+(?:s|sec)?$|\d+(?:\.\d+)?['\"]$")
_NUMBER = re.compile(r"\d+(?:\.\d+)?$")
_BPM = re.compile(r"\d{2,3}bpm$")
_CANON = [(re.compile(r"\blo[- ]?fi\b"), "lo-fi"), (re.compile(r"\bhip-hop\b"), "hip hop"),
          (re.compile(r"\brnb\b"), "r&b"), (re.compile(r"\b(\d{2,3})\s*bpm\b"), r"\1 BPM")]


@dataclass
class Style:
    tags: list[str] = field(default_factory=list)          # ACE-Step v1: one tag per run of style words
    caption: list[str] = field(default_factory=list)       # ACE-Step 1.5: clauses, phrases whole
    removed: list[tuple[str, str]] = field(default_factory=list)   # (the user's words, the role)
    genres: list[str] = field(default_factory=list)        # recognised genre words (defaults only)
    plain: str = ""                                        # the request less its logistics (a fallback)

    def removed_dicts(self) -> list[dict[str, str]]:
        return [{"words": words, "why": WHY[role]} for words, role in self.removed]


def _canon(text: str) -> str:
    text = text.lower()
    for pattern, repl in _CANON:
        text = pattern.sub(repl, text)
    return " ".join(text.split()).strip(" -'\"")


def _is_number(tok) -> bool:
    return (tok.kind == "num" and bool(_NUMBER.match(tok.text))) or tok.text in lexicon.NUMBER_WORDS_EN \
        or bool(_NUMBER.match(tok.text))


def _is_time(tok) -> bool:
    return tok.kind == "num" and bool(_CLOCK.match(tok.text) or _COMPOUND_TIME.match(tok.text))


def extract(text: Text, *, edit: bool = False, sequence: bool = False) -> Style:
    toks = text.tokens
    n = len(toks)
    role: list[str | None] = [None] * n
    protected = [False] * n
    style = Style()

    def mark(i: int, j: int, what: str, force: bool = False) -> None:
        for k in range(max(0, i), min(n, j)):
            if role[k] is None or (force and role[k] in (FILLER, CONNECT)):
                role[k] = what

    texts = [t.text for t in toks]
    vocab = lexicon.GENRES + lexicon.MOODS + lexicon.INSTRUMENTS + lexicon.VOCAL_TYPES
    for m in text.find(vocab, negated=None):
        for k in range(m.start, m.end):
            protected[k] = True
    for m in text.find(lexicon.GENRES, negated=None):
        if m.word not in style.genres:
            style.genres.append(m.word)
    for k, tok in enumerate(toks):
        if tok.kind == "era":
            protected[k] = True
            role[k] = KEEP
        if _BPM.match(tok.text) or (tok.text == "bpm" and k > 0 and _is_number(toks[k - 1])):
            role[k] = KEEP
            if tok.text == "bpm":
                role[k - 1] = KEEP

    # lengths and times: "30 seconds", "2:30", "2m30s", "a minute and a half", "5-15 s"
    time_role = "edit" if edit else "length"
    k = 0
    while k < n:
        tok = toks[k]
        end = None
        if protected[k] or tok.kind == "era":
            k += 1
            continue
        if role[k] is None and _is_time(tok):
            end = k + 1
        elif role[k] is None and (_is_number(tok) or tok.text in ("a", "an", "another")) and k + 1 < n:
            j = k + 1
            if j < n and texts[j] in ("more", "extra", "additional", "further") and not toks[j].boundary:
                j += 1
            if j < n and texts[j] in lexicon.LENGTH_UNITS and not toks[j].boundary:
                end = j + 1
        if end is None:
            k += 1
            continue
        start = k
        while start > 0 and not toks[start].boundary and role[start - 1] is None and (
                _is_number(toks[start - 1]) or texts[start - 1] in ("to", "-", "and", "or", "another", "a", "an")):
            if texts[start - 1] in ("a", "an", "and", "or", "to") and not (start - 2 >= 0 and _is_number(toks[start - 2])) \
                    and texts[start - 1] not in ("a", "an"):
                break
            start -= 1
        # "1 minute 30 seconds", "and a half", "more", "long", "each", "in total"
        while end < n and not toks[end].boundary:
            if texts[end] in ("and",) and end + 2 < n and texts[end + 1] == "a" and texts[end + 2] == "half":
                end += 3
            elif _is_number(toks[end]) and end + 1 < n and texts[end + 1] in lexicon.LENGTH_UNITS:
                end += 2
            elif texts[end] in ("more", "extra", "long", "each", "total", "max", "tops", "apiece", "ish", "or",
                                "so", "of", "in") and (texts[end] not in ("of", "in", "or", "so") or (
                    end + 1 < n and texts[end + 1] in ("length", "total", "so", "music", "audio"))):
                end += 1
            elif texts[end] in ("length", "duration") and texts[end - 1] in ("in",):
                end += 1
            else:
                break
        mark(start, end, time_role)
        k = end

    # money: "$5", "under $2", "5 dollars", "a budget of 3 euros"
    for k, tok in enumerate(toks):
        if tok.text in ("$", "€", "£", "¥") or (tok.text in ("dollars", "dollar", "bucks", "euros", "euro", "usd",
                                                              "cents", "eur") and k > 0 and _is_number(toks[k - 1])):
            lo, hi = k, k + 1
            if tok.text in ("$", "€", "£", "¥") and hi < n and _is_number(toks[hi]):
                hi += 1
            elif tok.text not in ("$", "€", "£", "¥"):
                lo = k - 1
            while lo > 0 and texts[lo - 1] in ("under", "below", "less", "than", "max", "most", "at", "up", "to",
                                               "within", "around", "about", "of", "for", "no", "more", "only",
                                               "just", "budget", "spend", "cap"):
                lo -= 1
            role[lo:hi] = ["price"] * (hi - lo)

    # counts: "50 tracks", "a dozen loops", "20 x 60 s", "lots of them"
    for k, tok in enumerate(toks):
        if role[k] is not None or not _is_number(tok) or tok.text in ("half",) or \
                text.original[max(0, tok.start - 1):tok.start] == "/" or text.original[tok.end:tok.end + 1] == "/":
            continue  # "7/8": a metre
        if k + 1 < n and texts[k + 1] == "x":
            mark(k, k + 2, "count")
            continue
        for j in range(k + 1, min(n, k + 5)):
            if toks[j].boundary:
                break
            if texts[j] in lexicon.COUNT_NOUNS:
                mark(k, k + 1, "count")
                if k > 0 and texts[k - 1] in ("a",) and tok.text in ("dozen", "couple", "few"):
                    mark(k - 1, k, "count")
                if k + 1 < n and texts[k + 1] == "of":
                    mark(k + 1, k + 2, "count")
                if texts[j] not in lexicon.MUSICAL_COUNT_NOUNS:
                    mark(j, j + 1, "count")
                break
            if role[j] is not None and role[j] != KEEP:
                break
    for m in text.find(("lots of them", "a lot of them", "lots of", "a lot of", "tons of", "loads of",
                        "plenty of", "a bunch of", "bunch of", "dozens of", "hundreds of", "many", "dozens",
                        "hundreds", "multiple", "several"), negated=None):
        if not (m.end < n and texts[m.end] in ("languages", "language", "layers", "layer")):
            mark(m.start, m.end, "count")

    # languages: "in 8 languages", "several languages", "localized"
    for m in text.find(("in 8 languages", "languages", "language", "localized", "localised", "localize",
                        "translated", "per language", "each language", "every language"), negated=None):
        lo = m.start
        while lo > 0 and (texts[lo - 1] in ("in", "different", "other", "several", "many", "multiple", "each",
                                            "every", "per", "all", "8", "the", "same", "of") or
                          _is_number(toks[lo - 1])) and not toks[lo].boundary:
            lo -= 1
        for k in range(lo, m.end):
            if role[k] in (None, "count", "length"):
                role[k] = "languages"

    # prices and budgets (a price word after "sound"/"feel" is a sound word: "must sound expensive")
    for m in text.find(lexicon.PRICE_WORDS, negated=None):
        if any(role[k] is not None for k in range(m.start, m.end)):
            continue
        prev = texts[max(0, m.start - 2):m.start]
        after = texts[m.end] if m.end < n else ""
        if set(prev) & set(lexicon.PRODUCTION_SOUND_VERBS) or after in ("sounding", "looking", "feeling"):
            continue
        if m.word == "free" and (after in ("jazz", "form", "flowing", "style") or m.start > 0 and
                                 texts[m.start - 1] in ("feel", "care")):
            continue
        if all(protected[k] for k in range(m.start, m.end)) and m.word not in ("expensive", "premium", "cheap"):
            continue
        mark(m.start, m.end, "price")
        if m.end < n and texts[m.end] in ("sounding",):
            mark(m.end, m.end + 1, "price")

    # workflow: draft, batch, library, polish (the stage, not "polished")
    workflow = ("draft", "rough draft", "rough demo", "rough sketch", "rough cut", "rough idea", "demo",
                "placeholder", "prototype", "mockup", "mock-up", "iterate", "iteration", "final render",
                "=polish", "=polishing", "lock the vibe", "lock in the vibe", "batch", "bulk", "library",
                "stock", "=scratch", "temp track", "throwaway", "quick", "test", "sketch", "=variations",
                "=variation", "options", "final version", "final take", "=takes", "collection", "catalog",
                "catalogue", "pack", "playlist", "for free", "royalty-free", "elevenlabs", "eleven labs",
                "on elevenlabs", "ace-step", "ace step", "runcomfy", "render")
    if sequence:
        workflow += ("first", "then", "later", "finally", "once", "afterwards", "after that", "before",
                     "next", "final", "step", "and then", "when", "approved", "happy", "locked", "lock", "it",
                     "the", "once the", "vibe")
    for m in text.find(workflow, negated=None):
        if m.word in ("sketch", "quick", "test") and any(protected[k] for k in range(m.start, m.end)):
            continue
        mark(m.start, m.end, "workflow")

    # purpose: "for our bank", "for a podcast", "brand", "Super Bowl ad" (not "for studying")
    scene = set()
    for m in text.find(lexicon.SCENE_WORDS, negated=None):
        scene.update(range(m.start, m.end))
    for k, tok in enumerate(toks):
        if tok.text != "for":
            continue
        j = k + 1
        while j < n and not toks[j].boundary and texts[j] not in ("with", "and", "that", "but", "featuring",
                                                                    "in", "using", "which", "where", "like"):
            j += 1
        phrase = range(k + 1, j)
        if not phrase or any(protected[p] or p in scene or toks[p].kind == "era" for p in phrase):
            continue
        if any(role[p] not in (None, "purpose") for p in phrase):
            for p in [k] + list(phrase):
                if role[p] is None:
                    role[p] = "purpose" if texts[p] not in lexicon.FILLER else FILLER
            continue
        mark(k, j, "purpose")
    for m in text.find(lexicon.PURPOSE_NOUNS + ("tv spot", "super bowl", "sync licensing", "flagship",
                                                "keynote", "showcase", "client deliverable"), negated=None):
        if any(protected[k] or k in scene for k in range(m.start, m.end)):
            continue
        mark(m.start, m.end, "purpose")
        # "our bank", "my channel": the possessive goes with it
        if m.start > 0 and texts[m.start - 1] in ("our", "my", "your", "their", "his", "her", "a", "the"):
            mark(m.start - 1, m.start, "purpose")

    if edit:
        _edit_roles(text, role, protected)

    for k, tok in enumerate(toks):
        if tok.text in ("sound", "sounds", "sounding") and role[k] is None and (
                (k > 0 and texts[k - 1] in ("must", "should", "to", "it", "that", "will", "can", "could", "would",
                                            "might", "may", "i", "we", "they", "which", "not", "doesnt", "shouldnt",
                                            "dont", "just", "really", "also", "needs", "should"))
                or (k + 1 < n and texts[k + 1] in ("like", "as", "more", "less"))):
            role[k] = FILLER
    # function words, connectors
    for k, tok in enumerate(toks):
        if role[k] is not None or protected[k]:
            continue
        if tok.text in lexicon.CONNECTORS:
            role[k] = CONNECT
        elif tok.text in lexicon.FILLER or tok.text in ("'s", "s") or (tok.kind == "sym" and tok.text != "&"):
            role[k] = FILLER
    # negators and intensifiers take the role of the word they govern ("no drums", "super cheap")
    negators = {i for m in text.find(lexicon.NEGATORS, negated=None) for i in range(m.start, m.end)}
    negators |= {k for k, t in enumerate(toks) if t.text.endswith("n't")}
    for k in sorted(negators | {k for k, t in enumerate(toks) if t.text in lexicon.INTENSIFIERS}, reverse=True):
        if role[k] not in (None, FILLER, CONNECT) or protected[k]:
            continue
        target = None
        for j in range(k + 1, min(n, k + 5)):
            if toks[j].boundary:
                break
            if j in negators or texts[j] in lexicon.INTENSIFIERS or role[j] == FILLER:
                continue
            target = j
            break
        if target is None or role[target] == CONNECT:
            role[k] = FILLER
            continue
        what = role[target] or KEEP
        for j in range(k, target):
            if role[j] in (None, FILLER) or j in negators:
                role[j] = what
    for k in range(n):
        if role[k] is None:
            role[k] = KEEP

    style.removed = _removed(text, role)
    style.plain = _join(text, [k for k in range(n) if role[k] not in LOGISTIC])
    style.tags, style.caption = _phrases(text, role, protected)
    return style


def _edit_roles(text: Text, role: list[str | None], protected: list[bool]) -> None:
    """In an edit, the verbs, complaints, section names, audio references and the words around
    the times say what to change and where; what is left describes the new material."""
    toks = text.tokens
    texts = [t.text for t in toks]
    n = len(toks)
    for words in (lexicon.EDIT_VERBS, lexicon.COMPLAINTS, ("longer", "shorter", "twice as long", "double",
                                                           "triple", "turn it into", "make it", "into",
                                                           "i have", "i've got", "ive got", "i got", "need",
                                                           "become", "reach")):
        for m in text.find(words, negated=None):
            for k in range(m.start, m.end):
                if role[k] is None or role[k] == "length":
                    role[k] = "edit"
    for k, tok in enumerate(toks):
        if role[k] is not None:
            continue
        after_with = False
        for j in range(k - 1, max(-1, k - 6), -1):
            if texts[j] in ("with", "into", "as", "like"):
                after_with = True
            if toks[j].boundary or role[j] == "edit":
                break
        if tok.text in lexicon.SECTION_WORDS and not after_with:
            role[k] = "edit"
            j = k - 1
            while j >= 0 and role[j] is None and (texts[j] in ("the", "my", "our", "this", "that", "its", "a", "an",
                                                              "second", "first", "third", "last", "final", "2nd",
                                                              "3rd", "1st", "whole", "entire", "new", "whole")
                                                  or _is_number(toks[j])):
                role[j] = "edit"
                j -= 1
        elif tok.text in lexicon.AUDIO_NOUNS and not protected[k] and not after_with:
            role[k] = "edit"
    # the glue around times and edit words: "at the end", "from ... to", "the last", "by", "more"
    glue = set(lexicon.WINDOW_WORDS) | {"by", "more", "another", "extra", "additional", "it", "them", "this",
                                        "that", "so", "the", "a", "an", "of", "one", "with", "total"}
    for _ in range(4):
        changed = False
        for k in range(n):
            if role[k] is not None or protected[k] or texts[k] not in glue:
                continue
            near = [j for j in (k - 1, k + 1) if 0 <= j < n and not (j == k + 1 and toks[j].boundary)
                    and not (j == k - 1 and toks[k].boundary)]
            if any(role[j] == "edit" for j in near):
                if texts[k] == "with" and k + 1 < n and role[k + 1] is None:
                    continue  # "redo 0:10-0:20 with more drums": what follows is the new style
                if texts[k] in ("more", "extra") and k + 1 < n and role[k + 1] is None and \
                        texts[k + 1] not in lexicon.FILLER:
                    continue  # "with more drums"
                role[k] = "edit"
                changed = True
        if not changed:
            break


def _removed(text: Text, role: list[str | None]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    k = 0
    toks = text.tokens
    while k < len(toks):
        if role[k] not in LOGISTIC:
            k += 1
            continue
        j = k
        while j + 1 < len(toks) and role[j + 1] in (role[k], FILLER) and not toks[j + 1].boundary:
            j += 1
        while j > k and role[j] == FILLER:
            j -= 1
        words = text.original[toks[k].start:toks[j].end].strip()
        if words and (words, role[k]) not in out:
            out.append((words, role[k]))
        k = j + 1
    return out


def _is_cjk(ch: str) -> bool:
    return "\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af"


def _join(text: Text, indices: list[int]) -> str:
    """The user's own text for these tokens, joined by what stood between them."""
    toks = text.tokens
    parts: list[str] = []
    prev = None
    for k in indices:
        tok = toks[k]
        if prev is not None and tok.start == toks[prev].start:
            continue  # one foreign word glossed as several
        if prev is not None:
            between = text.original[toks[prev].end:tok.start] if tok.start >= toks[prev].end else " "
            cjk_only = bool(between) and all(_is_cjk(c) for c in between)
            parts.append(between if (between.strip() in ("", "-", "&", "/", "'") or cjk_only) and (k == prev + 1)
                         else " ")
        parts.append(text.original[tok.start:tok.end])
        prev = k
    return _canon("".join(parts))


def _phrases(text: Text, role: list[str | None], protected: list[bool]) -> tuple[list[str], list[str]]:
    toks = text.tokens
    n = len(toks)
    segments: list[list[int]] = []
    for k in range(n):
        if toks[k].boundary or not segments:
            segments.append([])
        segments[-1].append(k)
    moods = {m.start: m.end for m in text.find(lexicon.MOODS, negated=None)}
    genre_starts = {m.start for m in text.find(lexicon.GENRES, negated=None)}
    tags: list[str] = []
    caption: list[str] = []
    for seg in segments:
        # v1 tags: runs of kept words; connectors and fillers end a run (not inside a negation's "or")
        run: list[int] = []
        runs: list[list[int]] = []
        for k in seg:
            keep = role[k] == KEEP or (protected[k] and role[k] in (None, FILLER, CONNECT))
            if not keep and role[k] == CONNECT and toks[k].text in ("or", "nor") and k + 1 < n and \
                    text.is_negated(k + 1) and run:
                keep = True
            if keep:
                run.append(k)
            elif run:
                runs.append(run)
                run = []
        if run:
            runs.append(run)
        for run in runs:
            # "upbeat lofi hip hop" -> "upbeat", "lo-fi hip hop": a mood before a genre is its own tag
            while run and run[0] in moods and moods[run[0]] in genre_starts and moods[run[0]] <= run[-1] \
                    and moods[run[0]] in run:
                cut = run.index(moods[run[0]])
                tags.append(_join(text, run[:cut]))
                run = run[cut:]
            if run:
                tags.append(_join(text, run))
        # 1.5 caption: the clause from its first to its last style word, logistics cut out
        kept = [k for k in seg if role[k] == KEEP or (protected[k] and role[k] in (None, FILLER, CONNECT))]
        if not kept:
            continue
        inner = [k for k in range(kept[0], kept[-1] + 1) if role[k] in (KEEP, FILLER, CONNECT) or protected[k]]
        pieces: list[list[int]] = [[]]
        for k in inner:
            if pieces[-1] and k != pieces[-1][-1] + 1:
                pieces.append([])
            pieces[-1].append(k)
        phrase = " ".join(_join(text, piece) for piece in pieces if piece)
        phrase = re.sub(r"\b(with|and|of|for|in|on|to|by|like)\s+(?=(with|and|of|for|to)\b)", "", phrase)
        if phrase:
            caption.append(phrase)
    tags = [t for t in dict.fromkeys(tags) if t]
    caption = [c for c in dict.fromkeys(caption) if c]
    return tags, caption

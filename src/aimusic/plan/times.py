"""Times, windows, extensions and counts in plain words, parsed to exact seconds.

Handles "1:05", "1:05.5", "90s", "90 seconds", "1 min", "1.5 minutes", "2m30s",
"1 minute 30 seconds", "two minutes", "a minute and a half", "half a minute",
ranges ("1:05 to 1:25", "from 40s to 1 min", "between 40 and 60 seconds",
"1:05-1:25"), "the last 15 seconds", "the first 10 seconds", intros and outros
("a 20 second intro", "one more minute at the end", "30 seconds longer"), and
counts ("50 tracks"). Everything is a pure function of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100, "a dozen": 12, "dozen": 12, "a couple of": 2, "a couple": 2, "couple of": 2,
    "a few": 3, "several": 3,
}
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_UNITS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# One pattern each for "twenty-five" and for the number words (compiled once: start-up speed).
_COMPOUND = re.compile(rf"\b({'|'.join(_TENS)})[- ]({'|'.join(_UNITS)})\b")
_WORDS = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in sorted(_NUMBER_WORDS, key=len, reverse=True))
                    + r")\b")

SEC = r"(?:s|sec|secs|second|seconds)"
MIN = r"(?:m|min|mins|minute|minutes)"
NUM = r"\d+(?:\.\d+)?"

# One time expression. Order matters: the longest forms first.
TIME = (
    rf"(?:\d+:\d{{2}}(?::\d{{2}})?(?:\.\d+)?"                      # 1:05 / 1:05.5 / 00:01:05
    rf"|{NUM}\s*-?\s*{MIN}\.?\s*(?:and\s+)?{NUM}\s*-?\s*{SEC}\b"     # 2m30s, 1 min 30 sec
    rf"|{NUM}\s*-?\s*{MIN}\s+and\s+a\s+half\b"                     # 1 minute and a half
    rf"|{NUM}\s*-?\s*{MIN}\b"                                       # 2 minutes, 1.5 min
    rf"|{NUM}\s*-?\s*{SEC}\b"                                       # 90 s, 20-second
    rf"|{NUM}\s*\"|{NUM}\s*'"                                       # 30" / 2'
    rf")"
)
_TIME_RE = re.compile(TIME, re.I)
_BARE = rf"{NUM}(?!\s*(?:%|bpm|tracks?|songs?|languages?|x\b))"


def words_to_numbers(text: str) -> str:
    """Lower-case `text` with number words written as digits ("two minutes" -> "2 minutes",
    "a minute and a half" -> "1.5 minute", "half a minute" -> "30 seconds")."""
    text = " " + text.lower().replace("\u2013", "-").replace("\u2014", "-") + " "
    text = re.sub(r"\bhalf(?:\s+an?\s+|-|\s+)minute\b", "30 seconds", text)
    text = re.sub(r"\ban? minute and a half\b", "1.5 minutes", text)
    text = re.sub(r"\b(\d+(?:\.\d+)?) and a half (minutes?|seconds?)\b",
                  lambda m: f"{float(m.group(1)) + 0.5:g} {m.group(2)}", text)
    text = _COMPOUND.sub(lambda m: str(_NUMBER_WORDS[m.group(1)] + _NUMBER_WORDS[m.group(2)]), text)
    text = _WORDS.sub(lambda m: str(_NUMBER_WORDS[m.group(0)]), text)
    # "a minute", "an extra minute", "one more minute" (after the number words became digits)
    text = re.sub(r"\ban?\s+((?:extra|more|additional|further)\s+)?(minute|second)\b", r"1 \1\2", text)
    text = re.sub(r"\banother\s+(minute|second)\b", r"1 more \1", text)
    text = re.sub(r"\banother\s+(\d)", r"\1", text)
    text = re.sub(r"\b(\d+(?:\.\d+)?)\s+(?:more|extra|additional|further)\s+(minutes?|seconds?|mins?|secs?|s|m)\b",
                  r"\1 \2 more", text)
    # "the last minute" -> "the last 1 minute"; "seconds 10 to 20" -> "10 to 20 seconds";
    # "the 1 minute mark" -> "1 minute"
    text = re.sub(r"\b(last|final|closing|first|opening)\s+(minute|second)\b", r"\1 1 \2", text)
    text = re.sub(r"\b(seconds|minutes)\s+(\d+(?:\.\d+)?)\s+(to|-|and|through|until)\s+(\d+(?:\.\d+)?)\b",
                  r"\2 \3 \4 \1", text)
    text = re.sub(r"\b(?:the\s+)?(\d+(?:\.\d+)?\s*(?:minutes?|mins?|seconds?|secs?|s|m)|\d+:\d{2})\s+mark\b",
                  r"\1", text)
    text = re.sub(r"\b(\d+)\s+(minutes?|mins?)\s+(\d{1,2})\b(?!\s*(?:seconds?|secs?|s\b|:|minutes?|mins?|tracks?|bpm))",
                  r"\1 \2 \3 seconds", text)
    text = re.sub(r"\b(?:the\s+)?(\d+(?:\.\d+)?)\s+(last|first|final)\s+(seconds?|minutes?)\b", r"the \2 \1 \3", text)
    return " ".join(text.split())


def time_to_seconds(expr: str) -> float:
    """Seconds in one time expression ("1:05" -> 65, "2m30s" -> 150, "1.5 min" -> 90)."""
    text = words_to_numbers(expr).strip()
    match = re.fullmatch(r"(\d+):(\d{2}):(\d{2}(?:\.\d+)?)", text)
    if match:
        return int(match.group(1)) * 3600 + int(match.group(2)) * 60 + float(match.group(3))
    match = re.fullmatch(r"(\d+):(\d{2}(?:\.\d+)?)", text)
    if match:
        return int(match.group(1)) * 60 + float(match.group(2))
    match = re.fullmatch(rf"({NUM})\s*-?\s*{MIN}\.?\s*(?:and\s+)?({NUM})\s*-?\s*{SEC}", text)
    if match:
        return float(match.group(1)) * 60 + float(match.group(2))
    match = re.fullmatch(rf"({NUM})\s*-?\s*{MIN}\s+and\s+a\s+half", text)
    if match:
        return (float(match.group(1)) + 0.5) * 60
    match = re.fullmatch(rf"({NUM})\s*(?:-?\s*{MIN}|')", text)
    if match:
        return float(match.group(1)) * 60
    match = re.fullmatch(rf"({NUM})\s*(?:-?\s*{SEC}|\")", text)
    if match:
        return float(match.group(1))
    match = re.fullmatch(NUM, text)
    if match:
        return float(text)
    raise ValueError(f"not a time: {expr!r}")


@dataclass(frozen=True)
class Window:
    """An edit window. Each bound is seconds measured from the track's start or its end."""

    start: float
    end: float
    start_anchor: str = "start"
    end_anchor: str = "start"
    text: str = ""

    def absolute(self, track_seconds: float) -> tuple[float, float]:
        start = self.start if self.start_anchor == "start" else track_seconds - self.start
        end = self.end if self.end_anchor == "start" else track_seconds - self.end
        return start, end


def _unit_of(expr: str) -> str | None:
    if ":" in expr:
        return "clock"
    if re.search(MIN + r"\b|'", expr):
        return "min"
    if re.search(SEC + r"\b|\"", expr):
        return "sec"
    return None


def _range_bound(expr: str, other: str) -> float:
    """A bare number in a range takes the unit of the other bound ("between 40 and 60 seconds")."""
    if _unit_of(expr) is None:
        unit = _unit_of(other)
        if unit == "min":
            return float(expr) * 60
        return float(expr)
    return time_to_seconds(expr)


_RANGE_RE = re.compile(
    rf"(?:\bfrom\s+|\bbetween\s+)?(?P<a>{TIME}|{_BARE})\s*(?:to|until|till|through|thru|and|-|~|\.\.)\s*"
    rf"(?P<b>{TIME}|{_BARE})", re.I)


def find_window(text: str) -> Window | None:
    """The time range an edit names, or None."""
    norm = words_to_numbers(text)
    match = re.search(rf"\b(?:the\s+)?(?:last|final|closing)\s+(?P<t>{TIME})", norm)
    if match:
        seconds = time_to_seconds(match.group("t"))
        return Window(seconds, 0.0, "end", "end", match.group(0))
    match = re.search(rf"\b(?:the\s+)?(?:first|opening)\s+(?P<t>{TIME})", norm)
    if match and not re.search(r"\b(?:intro|outro)\b", norm[match.end():match.end() + 12]):
        return Window(0.0, time_to_seconds(match.group("t")), "start", "start", match.group(0))
    for match in _RANGE_RE.finditer(norm):
        a, b = match.group("a"), match.group("b")
        if _unit_of(a) is None and _unit_of(b) is None:
            continue  # two bare numbers ("2 and 3") are not a time range
        # "between ... and ..." or "from ... to ..." or "a to b" / "a-b" with units somewhere
        joiner = norm[match.start("a"):match.start("b")]
        if " and " in f" {joiner} " and not norm[max(0, match.start() - 9):match.start("a")].strip().endswith(
                "between"):
            continue  # "30 seconds and 1 minute" without "between" is two separate amounts
        start, end = _range_bound(a, b), _range_bound(b, a)
        return Window(start, end, "start", "start", match.group(0).strip())
    # open-ended: "everything after 1:30", "from 2:10 to the end", "everything before 0:20"
    match = re.search(rf"\b(?:everything\s+|all\s+|the rest\s+)?(?:after|past|from)\s+(?P<t>{TIME})\s*"
                      rf"(?:(?:on|onwards?|to the end|till the end|until the end|to the finish)\b|$|[,.])", norm)
    if match and (norm[match.start():match.start("t")].strip() != "from" or
                  re.search(r"\b(?:on|onwards?|end|finish)\b", norm[match.end("t"):match.end()])):
        return Window(time_to_seconds(match.group("t")), 0.0, "start", "end", match.group(0).strip(" ,."))
    match = re.search(rf"\b(?:everything|all|the part|the bit|anything)\s+(?:before|up to|until)\s+(?P<t>{TIME})", norm)
    if match:
        return Window(0.0, time_to_seconds(match.group("t")), "start", "start", match.group(0))
    match = re.search(r"\b(?:at|around|near)\s+(?P<t>\d+:\d{2}(?:\.\d+)?)", norm)
    if match:
        center = time_to_seconds(match.group("t"))
        return Window(max(0.0, center - 5.0), center + 5.0, "start", "start", match.group(0))
    return None


@dataclass(frozen=True)
class Extension:
    before: float = 0.0
    after: float = 0.0
    target_total: float | None = None   # "I need 2 min": resolved against the source length
    text: str = ""
    target_factor: float | None = None  # "twice as long": a multiple of the source length


_BEFORE_WORDS = r"(?:intro|introduction|lead[- ]in|pickup|count[- ]in|before|beginning|start|front)"
_AFTER_WORDS = r"(?:outro|ending|end|after|tail|coda|fade[- ]out|close)"


_SOURCE_NOUNS = (r"(?:hook|track|song|loop|clip|piece|demo|intro|riff|jingle|idea|sketch|recording|beat|bed|cue|"
                 r"mix|take|tune|instrumental|sample|melody|file|audio|version|snippet|excerpt|teaser|bit|part)s?")
_SOURCE_RE = re.compile(
    rf"\b(?:this|my|our|the|that|existing|current|have an?|got an?|'ve got an?|have got an?|i have|i've got|"
    rf"its|it's|it is|currently)\s+(?:only\s+|just\s+|about\s+)?(?P<t>{TIME})(?:\s*-?\s*long)?"
    rf"\s+(?:(?!and\b|to\b|into\b|by\b)[a-z]+\s+)?{_SOURCE_NOUNS}\b"
    rf"|\b(?:(?:this|my|the|our|your|that)\s+(?:[a-z]+\s+)?(?:{_SOURCE_NOUNS}|chorus|verse)\s+(?:that is|that's|is|"
    rf"lasting|which is|is only|is just|runs|is about|runs for|lasts)"
    rf"|(?:have an?|got an?|have the)\s+(?:[a-z]+\s+)?(?:{_SOURCE_NOUNS}|chorus|verse)\s+(?:of|lasting|that is))\s+(?P<t2>{TIME})"
    rf"(?!\s*(?:more|longer|extra))"
    rf"|\b(?:it's|it is|it runs|currently|right now it's|now it's)\s+(?:only\s+|just\s+|about\s+)?(?P<t3>{TIME})"
    rf"(?:\s+long)?(?!\s*(?:more|longer|extra))"
    rf"|(?P<t4>{TIME})\s+(?:long\s+)?{_SOURCE_NOUNS}\s+(?:\S+\s+)?(?:have|has|i have)\b")


def find_source_length(text: str) -> tuple[float, str] | None:
    """The source's own length when the words give it: "this 3-minute song", "my 30 s hook",
    "I have a 30 s hook", "the hook is 30 seconds". Not an amount to add, not a target."""
    norm = words_to_numbers(text)
    match = _SOURCE_RE.search(norm)
    if match is None:
        return None
    expr = match.group("t") or match.group("t2") or match.group("t3") or match.group("t4")
    return time_to_seconds(expr), match.group(0)


def find_extension(text: str) -> Extension | None:
    """Seconds to add before/after, or a target total length, or None. The source's own length
    ("extend this 3-minute song by two more minutes") is not an amount: it is read apart."""
    norm = words_to_numbers(text)
    source = _SOURCE_RE.search(norm)
    if source is not None:
        norm = norm[:source.start()] + "it" + norm[source.end():]
    before = after = 0.0
    spans: list[str] = []
    # "a 20 second intro", "20 seconds of intro", "an intro of 20 seconds", "20 more seconds at the start"
    for match in re.finditer(rf"(?P<t>{TIME})(?:\s+more)?\s+(?:of\s+)?(?:(?!and\b)[a-z]+\s+){{0,2}}?{_BEFORE_WORDS}\b"
                             rf"|{_BEFORE_WORDS}\s+(?:of|lasting|that is|,)?\s*(?P<t2>{TIME})", norm):
        if re.match(r"\s*(?:the\s+)?(?:first|opening)", norm[max(0, match.start() - 10):match.start()]):
            continue
        before += time_to_seconds(match.group("t") or match.group("t2"))
        spans.append(match.group(0))
    for match in re.finditer(rf"(?P<t>{TIME})(?:\s+more)?\s+(?:of\s+)?(?:(?!and\b)[a-z]+\s+){{0,3}}?{_AFTER_WORDS}\b"
                             rf"|\b(?:outro|ending|tail|coda)\s+(?:of|lasting|that is,?)?\s*(?P<t2>{TIME})"
                             rf"|(?P<t3>{TIME})\s+longer\b", norm):
        if re.search(r"\b(?:last|final|closing)\s*$", norm[:match.start()]):
            continue  # "the last 15 seconds at the end" is a window, not an extension
        seconds = time_to_seconds(match.group("t") or match.group("t2") or match.group("t3"))
        after += seconds
        spans.append(match.group(0))
    match = re.search(rf"\b(?:both ends|each end|either end|both sides|either side|each side)\s+(?:by\s+)?(?P<t>{TIME})"
                      rf"|(?P<t2>{TIME})\s+(?:to|at|on)\s+(?:both ends|each end|either end|both sides|each side)", norm)
    if match:
        seconds = time_to_seconds(match.group("t") or match.group("t2"))
        return Extension(seconds, seconds, None, match.group(0))
    if before or after:
        return Extension(before, after, None, "; ".join(spans))
    match = re.search(rf"\bprepend\w*\s+(?:an?\s+)?(?P<t>{TIME})", norm)
    if match:
        return Extension(time_to_seconds(match.group("t")), 0.0, None, match.group(0))
    match = re.search(rf"\b(?:extend|lengthen|stretch|continue|add|pad|append)\w*\s+"
                      rf"(?:(?:it|this|the|a|an|my|our)\s+(?:(?!by\b|of\b|for\b)[a-z]+\s+)?)?"
                      rf"(?:(?:by|of|for|with)\s+)?(?:another\s+)?(?P<t>{TIME})", norm)
    if match:
        return Extension(0.0, time_to_seconds(match.group("t")), None, match.group(0))
    # "at the end 30 seconds add" (German, Japanese, Korean word order), "在结尾加30秒"
    match = re.search(rf"\b(?:at the (?P<w>end|start|beginning)|(?P<w2>ending|outro|intro|beginning))\s+(?:add\s+)?"
                      rf"(?P<t>{TIME})", norm)
    if match:
        seconds = time_to_seconds(match.group("t"))
        where = match.group("w") or match.group("w2")
        if where in ("start", "beginning", "intro"):
            return Extension(seconds, 0.0, None, match.group(0))
        return Extension(0.0, seconds, None, match.group(0))
    match = re.search(r"\b(?:(twice|double|2x|2 times)|(3 times|triple|3x))\s*(?:as long|the length|its length|it)\b"
                      r"|\b(double|triple) (?:the )?(?:length|duration)\b", norm)
    if match:
        word = match.group(0)
        factor = 3.0 if ("3" in word or "triple" in word) else 2.0
        return Extension(0.0, 0.0, None, word, target_factor=factor)
    match = re.search(rf"\b(?:need|needs|want|make it|make this|turn it into|into|to|up to|reach|reaches|be|become|"
                      rf"becomes|total of|totaling|totalling|get it to|bring it to|full|whole|complete)\s+"
                      rf"(?:it\s+)?(?:of\s+)?(?:to be\s+|be\s+)?(?:a\s+|an\s+)?(?:full\s+|whole\s+|complete\s+|total\s+)?"
                      rf"(?P<t>{TIME})(?:\s+(?:long|total|in total|track|song|version|piece))?", norm)
    if match and re.search(r"\b(?:extend|longer|lengthen|need|needs|make it|make this|turn it|turn|stretch|have|"
                           r"become|becomes|reach|into|full|grow|bring|get)\b", norm):
        return Extension(0.0, 0.0, time_to_seconds(match.group("t")), match.group(0))
    # "3分まで伸ばして", "3분까지 늘려": up to a target; "30秒延長して", "30초 늘려": an amount, verb last
    match = re.search(rf"(?P<t>{TIME})\s+upto\s+(?:extend|lengthen|stretch|make it|continue)\b", norm)
    if match:
        return Extension(0.0, 0.0, time_to_seconds(match.group("t")), match.group(0))
    match = re.search(rf"(?P<t>{TIME})\s+(?:extend|lengthen|add|more)\b", norm)
    if match:
        return Extension(0.0, time_to_seconds(match.group("t")), None, match.group(0))
    # "2分の曲にして", "2분이 필요해": the target before its verb
    match = re.search(rf"(?P<t>{TIME})\s+(?:\S+\s+){{0,2}}?(?:make it|need|want|turn it into)\b", norm)
    if match and re.search(r"\b(?:hook|have|track|song|it)\b", norm[:match.start()]):
        return Extension(0.0, 0.0, time_to_seconds(match.group("t")), match.group(0))
    return None


def split_target(source_seconds: float, target_seconds: float) -> tuple[float, float]:
    """Seconds before/after to reach `target_seconds`: a third before, the rest after, so a hook
    ends up inside the song rather than at its start ("30 s hook, need 2 min" -> 30 + 60)."""
    added = max(0.0, target_seconds - source_seconds)
    before = round(added / 3.0)
    return float(before), float(round(added - before, 3))


def find_duration(text: str) -> tuple[float, str] | None:
    """The length a request asks for ("a 10-second sonic logo", "two minutes", "5-15 s")."""
    norm = words_to_numbers(text)
    match = re.search(rf"(?P<a>{NUM})\s*(?:-|to)\s*(?P<b>{NUM})\s*-?\s*(?P<u>{SEC}|{MIN})\b", norm)
    if match:
        factor = 60.0 if re.fullmatch(MIN, match.group("u")) else 1.0
        return float(match.group("b")) * factor, match.group(0)  # the upper bound: never cut short
    candidates = []
    for match in _TIME_RE.finditer(norm):
        before = norm[max(0, match.start() - 14):match.start()]
        if re.search(r"(?:\d\s*(?:-|to)|:)\s*$", before):
            continue
        candidates.append(match)
    # "a song with a 10 second intro, 2 minutes long": the intro's length is not the song's
    whole = [m for m in candidates if not re.match(
        r"\s*(?:-?\s*long\s+)?(?:of\s+)?(?:\w+\s+){0,2}?(?:intro|outro|fade|fade-out|fade-in|break|build|buildup|drop|"
        r"solo|pause|silence|count-in|lead-in|ending|bridge|breakdown|tail)\b", norm[m.end():])
        and not re.search(r"\b(?:intro|outro|fade|solo|break|ending)\s+(?:of\s+)?$", norm[:m.start()])]
    if whole or candidates:
        match = (whole or candidates)[0]
        return time_to_seconds(match.group(0)), match.group(0)
    return None


_COUNT_NOUNS = (r"(?:tracks?|songs?|pieces?|cues?|variations?|versions?|loops?|jingles?|takes?|beds?|clips?|stems?|themes?|"
                r"stingers?|stings?|beats?|grooves?|tunes?|ideas?|options?|instrumentals?|logos?|idents?|bumpers?|"
                r"melodies|riffs?|hooks?|sounds?|drafts?|demos?)")


def find_count(text: str) -> tuple[int, str] | None:
    """How many pieces a request asks for ("50 tracks", "a dozen loops", "20 x 60 s")."""
    norm = words_to_numbers(text)
    # "90 second game loop" is one 90-second loop: a number followed by a unit is a length, not a count
    not_a_length = r"(?!\s*-?\s*(?:seconds?|secs?|s|minutes?|mins?|m|ms|hours?|hrs?|h|bpm|bars?|beats?|hz|khz|%)\b)"
    match = re.search(rf"(?<![/\d.:])\b(\d{{1,5}}){not_a_length}\+?\s+(?:\w+[- ]?){{0,3}}?{_COUNT_NOUNS}\b", norm)
    if match:
        return int(match.group(1)), match.group(0)
    match = re.search(r"\b(\d{1,5})\s*x\s*\d", norm)
    if match:
        return int(match.group(1)), match.group(0)
    match = re.search(r"(?<![\d.])\s[x×]\s*(\d{1,4})\b(?!\s*(?:s|sec|seconds?|min|minutes?)\b)", norm)
    if match:
        return int(match.group(1)), match.group(0).strip()
    return None


def find_bpm(text: str) -> int | None:
    match = re.search(r"\b(\d{2,3})\s*-?\s*bpm\b", text, re.I)
    return int(match.group(1)) if match else None


def format_seconds(seconds: float) -> str:
    if seconds >= 60:
        minutes, rest = divmod(seconds, 60)
        return f"{int(minutes)}:{rest:05.2f}".rstrip("0").rstrip(".")
    return f"{seconds:g} s"

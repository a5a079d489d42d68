"""ACE-Step 1.5's constrained decoding for its 5 Hz LM, token by token.

Upstream masks the LM's logits with a state machine (`MetadataConstrainedLogitsProcessor` in
`acestep/constrained_logits_processor.py`); this module reproduces what that machine allows at
every step, from the facts listed in docs/acestep15-lm.md (our own code, not a copy). In short:

- field names and tags are forced, each as the longest prefix of what is left that the tokenizer
  makes one token;
- bpm, duration, time signature, key and language values follow prefix trees of token IDs built
  from the tokenizer's own encoding of `"name: value"`; the newline token ends a value and is
  allowed only where the tokens so far spell a whole value (so a number ends where sampling picks
  the newline over a further digit); a finished key or language allows only the newline; the
  language's first token is the most likely of the allowed ones (not sampled);
- the caption is free text without audio codes or the backtick token; after a newline it goes on
  while the model's top token starts with a space or tab (a YAML continuation line), otherwise the
  model writes the next field name freely and the value of the field it names follows;
- genres (sample creation only) follow a vocabulary file when there is one;
- codes: audio codes and EOS only, EOS blocked until the target count, then forced.

The state moves with every token (`advance`); what may come next depends on the logits in three
places (the language's first token, the caption's end, genres without a vocabulary), so
`allowed` takes them.
"""

from __future__ import annotations

import bisect
import os
import re
from pathlib import Path
from typing import Any

# -- upstream's value sets (acestep/constants.py) --------------------------------------------------

BPM_RANGE = (30, 300)
DURATION_RANGE = (10, 600)
TIME_SIGNATURES = ("2", "3", "4", "6")
LANGUAGES = ("ar", "az", "bg", "bn", "ca", "cs", "da", "de", "el", "en", "es", "fa", "fi", "fr", "he", "hi",
             "hr", "ht", "hu", "id", "is", "it", "ja", "ko", "la", "lt", "ms", "ne", "nl", "no", "pa", "pl",
             "pt", "ro", "ru", "sa", "sk", "sr", "sv", "sw", "ta", "te", "th", "tl", "tr", "uk", "ur", "vi",
             "yue", "zh", "unknown")
KEYSCALES = tuple(f"{n}{a} {m}" for n in "ABCDEFG" for a in ("", "#", "b", "♯", "♭") for m in ("major", "minor"))
MAX_AUDIO_CODE = 63999
CAPTION_MAX_TOKENS = 512
CODE_RE = re.compile(r"^<\|audio_code_(\d+)\|>$")
# upstream's field order; genres is written only in sample creation (skip_genres in generation)
FIELD_ORDER = ("bpm", "caption", "duration", "genres", "keyscale", "language", "timesignature")
FIELDS = tuple(f for f in FIELD_ORDER if f != "genres")  # the chain of thought phase 2 is given
# the fields whose value may follow a caption directly when the model writes their name itself
CAPTION_HANDOVER = ("duration", "genres", "keyscale", "language", "timesignature")
VALUES = {"bpm": [str(b) for b in range(BPM_RANGE[0], BPM_RANGE[1] + 1)],
          "duration": [str(d) for d in range(DURATION_RANGE[0], DURATION_RANGE[1] + 1)],
          "timesignature": list(TIME_SIGNATURES), "keyscale": list(KEYSCALES), "language": list(LANGUAGES)}

# upstream ships its genre vocabulary beside its code; we read one if the user has it
GENRES_FILE = "genres_vocab.txt"
ENV_GENRES = "AIMUSIC_ACESTEP_GENRES"


def find_genres(checkpoint: Path | None) -> Path | None:
    """The genre vocabulary: $AIMUSIC_ACESTEP_GENRES, else genres_vocab.txt in the LM's folder.
    A named file that is not there is a mistake (66), not a reason to run without it."""
    named = os.environ.get(ENV_GENRES)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            from aimusic.errors import InputFileError

            raise InputFileError(f"{ENV_GENRES} {path}: no such file", field=ENV_GENRES,
                                 hint="a genre vocabulary, one genre per line; unset it to run without one")
        return path
    if checkpoint is not None and (Path(checkpoint) / GENRES_FILE).is_file():
        return Path(checkpoint) / GENRES_FILE
    return None


class Genres:
    """Upstream's genre trie as a sorted list (same answers, a fraction of the memory for a large
    file): one genre per line, lower-cased, `#` lines are comments."""

    def __init__(self, lines: list[str]) -> None:
        self.items = sorted({s.strip().lower() for s in lines if s.strip() and not s.strip().startswith("#")})
        self.whole = set(self.items)

    @classmethod
    def read(cls, path: Path) -> "Genres":
        from aimusic.errors import InputError, InputFileError

        try:
            return cls(Path(path).read_text(encoding="utf-8").splitlines())
        except UnicodeDecodeError:
            raise InputError(f"genre vocabulary {path}: not UTF-8 text", field=ENV_GENRES,
                             hint="one genre per line, UTF-8") from None
        except OSError as exc:
            raise InputFileError(f"genre vocabulary {path}: {exc.strerror or exc}", field=ENV_GENRES) from None

    def has_prefix(self, prefix: str) -> bool:
        i = bisect.bisect_left(self.items, prefix)
        return i < len(self.items) and self.items[i].startswith(prefix)

    def next_chars(self, prefix: str) -> set[str]:
        """The characters that follow `prefix` in some genre (one bisect per distinct character)."""
        chars: set[str] = set()
        i = bisect.bisect_left(self.items, prefix)
        n = len(prefix)
        while i < len(self.items) and self.items[i].startswith(prefix):
            if len(self.items[i]) == n:
                i += 1
                continue
            c = self.items[i][n]
            chars.add(c)
            i = bisect.bisect_left(self.items, prefix + c + "\U0010ffff", i)
        return chars


class Vocabulary:
    """Everything the grammar needs from one tokenizer, computed once per loaded LM: every token's
    text, the audio-code ids, the value prefix trees, the forced tokens of fixed strings."""

    def __init__(self, tokenizer: Any, checkpoint: Path | None = None) -> None:
        self.tokenizer = tokenizer
        self.size = len(tokenizer)
        self.eos = tokenizer.eos_token_id
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos
        # upstream reads each token's text with tokenizer.decode([id]) (specials included)
        self.texts: list[str] = tokenizer.batch_decode([[i] for i in range(self.size)])
        self.codes = sorted(i for text, i in tokenizer.get_vocab().items()
                            if (m := CODE_RE.match(text)) and int(m.group(1)) <= MAX_AUDIO_CODE and i < self.size)
        # added and special tokens (chat and think tags, codes): never inside a --sections section
        self.added = set(tokenizer.all_special_ids) | set(tokenizer.get_added_vocab().values())
        self.newline = self.encode("\n")[-1]
        self.backtick = self.encode("`")[-1]
        self.tries = {name: self._trie(name, values) for name, values in VALUES.items()}
        self.checkpoint = checkpoint  # where a genres_vocab.txt may lie beside the weights
        self._genres: Genres | None = None
        self._genres_key: tuple | None = None
        self._genre_index: tuple[dict[str, set[str]], dict[str, list[int]]] | None = None  # see _genre_tables
        self._genre_cache: dict[str, list[int]] = {}
        self._forced: dict[tuple[str, int], int] = {}
        self._tensors: dict[str, Any] = {}

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def _trie(self, name: str, values: list[str]) -> dict[tuple[int, ...], tuple[int, ...]]:
        """Upstream's token-ID prefix tree: encode `"name: value"`, drop the tokens of `"name:"`
        (what the grammar forced), and map every prefix of the rest to the tokens that may follow
        it; a whole value may be followed by the newline token."""
        context = self.encode(f"{name}:")
        tree: dict[tuple[int, ...], set[int]] = {}
        for value in values:
            ids = self.encode(f"{name}: {value}")
            if ids[:len(context)] != context or len(ids) == len(context):
                continue  # upstream skips a value whose tokens do not start with the name's
            ids = ids[len(context):]
            # upstream: a key's first token must hold its note; its test is a substring test, so a
            # whitespace-only first token (byte-level tokenizers) passes
            if name == "keyscale" and self.texts[ids[0]].lstrip()[:1].upper() not in "ABCDEFG":
                continue
            for i in range(len(ids) + 1):
                tree.setdefault(tuple(ids[:i]), set()).add(ids[i] if i < len(ids) else self.newline)
        return {prefix: tuple(sorted(nxt)) for prefix, nxt in tree.items()}

    def forced(self, text: str, pos: int) -> int:
        """The token a fixed string continues with: the longest prefix of what is left that the
        tokenizer encodes as one token (upstream's _get_allowed_tokens_for_fixed_string)."""
        key = (text, pos)
        if key not in self._forced:
            rest = text[pos:]
            token = None
            for end in range(len(rest), 0, -1):
                ids = self.encode(rest[:end])
                if len(ids) == 1:
                    token = ids[0]
                    break
            # no single-token prefix (not reachable for ASCII with a byte-level tokenizer): the
            # first token of the tokenizer's own encoding
            self._forced[key] = token if token is not None else self.encode(rest)[0]
        return self._forced[key]

    def tensor(self, name: str) -> Any:
        """Index tensors handed out every step (built once: tens of thousands of ids)."""
        cached = self._tensors.get(name)
        if cached is None:
            import torch

            ids = {"codes": self.codes, "codes+eos": self.codes + [self.eos],
                   "caption": self.codes + [self.backtick],  # upstream's caption ban
                   "caption+end": self.codes + [self.backtick] + sorted({self.eos, self.pad}),
                   "end": sorted({self.eos, self.pad}),
                   "section": sorted(set(self.codes) | self.added | {self.eos, self.pad})}[name]
            cached = self._tensors[name] = torch.tensor(ids, dtype=torch.long)
        return cached

    # -- genres --------------------------------------------------------------------------------
    @property
    def genres(self) -> Genres | None:
        """The genre vocabulary, re-read when the file named or its mtime changes (as upstream's
        hot reload), None without one."""
        path = find_genres(self.checkpoint)
        key = (str(path), path.stat().st_mtime_ns) if path is not None else None
        if key != self._genres_key:
            self._genres = Genres.read(path) if path is not None else None
            self._genres_key = key
            self._genre_cache.clear()
        return self._genres if self._genres is not None and self._genres.items else None

    def _genre_tables(self) -> tuple[dict[str, set[str]], dict[str, list[int]]]:
        """Upstream's char -> tokens map (a token's first character, and its first non-space one)
        with each token's text lower-cased and trailing whitespace cut, grouped so each distinct
        text is checked once: group -> token ids, char -> groups. A whitespace-only token keeps its
        own text as its group (upstream reaches it through its first character only)."""
        if self._genre_index is None:
            by_char: dict[str, set[str]] = {}
            by_group: dict[str, list[int]] = {}
            for i, text in enumerate(self.texts):
                if not text:
                    continue
                low = text.lower()
                group = low.rstrip() if low.strip() else low
                by_group.setdefault(group, []).append(i)
                by_char.setdefault(low[0], set()).add(group)
                stripped = text.lstrip()
                if stripped and stripped != text:
                    by_char.setdefault(stripped[0].lower(), set()).add(group)
            self._genre_index = (by_char, by_group)
        return self._genre_index

    def genre_tokens(self, written: str) -> list[int]:
        """What may follow the genre text written so far (upstream's _get_allowed_genres_tokens):
        tokens whose text keeps it a prefix of a genre, and the newline once it is a whole one."""
        prefix = written.lower().strip()
        genres = self.genres
        assert genres is not None
        if prefix in self._genre_cache:
            return self._genre_cache[prefix]
        if not genres.has_prefix(prefix):
            allowed = [self.newline]
        else:
            chars = genres.next_chars(prefix)
            whole = prefix in genres.whole
            allowed = []
            if chars:
                by_char, by_group = self._genre_tables()
                spacing = " " in chars or "," in chars  # upstream's rule for whitespace-only tokens
                for group in set().union(*(by_char.get(c, set()) for c in chars)):
                    if spacing if not group.strip() else genres.has_prefix(prefix + group):
                        allowed.extend(by_group[group])
            if whole:
                allowed.append(self.newline)
            allowed = sorted(set(allowed)) or [self.newline]
        self._genre_cache[prefix] = allowed
        return allowed


class Grammar:
    """Which tokens may come next, step by step. Call `allowed(logits)` once per step (some
    decisions read the logits), then `advance(token)` with the token sampled.

    Phase "cot" (generation's metadata): `<think>`, newline, then bpm, caption, duration, keyscale,
    language, timesignature, then EOS where upstream's stop_at_reasoning puts it (in place of
    `</think>`). A field in `given` keeps its forced name and gets `" value\\n"` injected.
    Phase "codes": audio codes and EOS; EOS blocked until `target_codes`, then forced.
    Phase "sample" (sample creation, upstream's "understand" phase): the same chain of thought with
    genres after duration, `</think>`, then lyrics with audio codes banned until EOS. `sections`
    (our addition) forces one `[Section]` header per section instead, each ended by a blank line
    or `section_tokens`, then EOS; a section holds no tags or codes, and so that the sections are
    reached, EOS and pad are also banned where upstream would let the chain of thought end early.
    The lyrics are then `lyrics_tokens` (what the grammar knows is lyrics), not a search for the
    first `</think>` in the text.
    """

    def __init__(self, vocab: Vocabulary, phase: str, *, given: dict[str, Any] | None = None,
                 target_codes: int | None = None, sections: list[str] | None = None,
                 section_tokens: int = 160) -> None:
        if phase not in ("cot", "codes", "sample"):
            raise ValueError(f"unknown phase {phase!r}")
        self.v, self.phase = vocab, phase
        self.given = {k: v for k, v in (given or {}).items() if v is not None}
        self.fields = FIELD_ORDER if phase == "sample" else FIELDS
        self.target_codes, self.codes_done = target_codes, 0
        self.sections, self.section_tokens = list(sections or []), section_tokens
        self.section = 0                   # the section being written
        self.lyrics_tokens: list[int] = []  # with sections: every token from the first header on
        self.in_lyrics = False
        self.done = False
        self.state = ""
        self.field = ""                    # the field being written
        self.ids: list[int] = []           # value tokens so far (prefix-tree fields)
        self.text = ""                     # value text so far (caption, genres, a section)
        self.count = 0                     # tokens in the current caption / section
        self.queue: list[int] = []         # forced tokens (an injected value, EOS)
        self.fixed, self.pos = "", 0       # a fixed string and how much of it is written
        self.then: Any = None              # what follows the fixed string / queue
        self.after_newline = False         # caption: the last token held a newline
        self.ending = False                # caption: the model is writing the next field's name
        self.pending = ""                  # ... which is this so far
        if phase == "codes":
            self.state = "codes"
        else:
            self._fix("<think>", lambda: self._fix("\n", lambda: self._name(self.fields[0])))

    # -- moves ---------------------------------------------------------------------------------
    def _fix(self, text: str, then: Any) -> None:
        self.state, self.fixed, self.pos, self.then = "fixed", text, 0, then

    def _force(self, ids: list[int], then: Any) -> None:
        self.state, self.queue, self.then = "queue", list(ids), then

    def _name(self, name: str) -> None:
        self._fix(f"{name}:", lambda: self._value(name))

    def _value(self, name: str) -> None:
        self.field, self.ids, self.text, self.count = name, [], "", 0
        self.after_newline = self.ending = False
        self.pending = ""
        if name in self.given:  # upstream injects the tokens of " value\n" after the forced name
            self._force(self.v.encode(f" {self.given[name]}\n"), lambda: self._after(name))
        else:
            self.state = name if name in ("caption", "genres") else "value"

    def _after(self, name: str) -> None:
        """The next field's name, or the end of the chain of thought."""
        order = FIELD_ORDER  # a genres value handed over from the caption goes on with keyscale
        later = [f for f in order[order.index(name) + 1:] if f in self.fields]
        if later:
            self._name(later[0])
        elif self.phase == "cot":
            self._force([self.v.eos], self._finish)  # stop_at_reasoning: EOS in place of </think>
        else:
            self._fix("</think>", self._lyrics)

    def _finish(self) -> None:
        self.state, self.done = "done", True

    def _lyrics(self) -> None:
        self.in_lyrics = True
        if not self.sections:
            self.state = "lyrics"
            return
        self._section(0)

    def _section(self, i: int) -> None:
        if i == len(self.sections):
            self._force([self.v.eos], self._finish)
            return
        header = self.v.encode(("\n" if i == 0 else "\n\n") + f"[{self.sections[i]}]\n")

        def start() -> None:
            self.state, self.text, self.count, self.section = "section", "", 0, i
        self._force(header, start)

    # -- the two calls per step ----------------------------------------------------------------
    def allowed(self, logits: Any = None) -> tuple[Any, Any]:
        """(only these tokens, or None for any) and tokens banned on top. `logits` is the step's
        [1, vocab] row after guidance; read for upstream's top-1 decisions."""
        only, banned = self._allowed(logits)
        if only is None and self.sections and self.state in ("caption", "genres"):
            # --sections: the chain of thought may not end before the sections are written
            if banned is self.v.tensor("caption"):
                return None, self.v.tensor("caption+end")
            return None, sorted(set(list(banned) + self.v.tensor("end").tolist()))
        return only, banned

    def _allowed(self, logits: Any) -> tuple[Any, Any]:
        v, state = self.v, self.state
        if state == "fixed":
            return [v.forced(self.fixed, self.pos)], []
        if state == "queue":
            return [self.queue[0]], []
        if state == "codes":
            if self.target_codes is None:
                return v.tensor("codes+eos"), []
            return ([v.eos], []) if self.codes_done >= self.target_codes else (v.tensor("codes"), [])
        if state == "value":
            tree = v.tries[self.field]
            nxt = tree.get(tuple(self.ids))
            if not nxt:
                return [v.newline], []  # off the tree (not reachable): end the field
            if self.field in ("keyscale", "language", "timesignature") and v.newline in nxt:
                return [v.newline], []  # upstream: a whole key/language/time signature only ends
            if self.field == "language" and not self.ids and logits is not None:
                import torch

                # upstream: the language's first token is the top-1 of the allowed ones
                index = torch.tensor(nxt, dtype=torch.long, device=logits.device)
                return [nxt[int(torch.argmax(logits[0, index]))]], []
            return list(nxt), []
        if state == "caption":
            if self.after_newline and logits is not None:
                self.after_newline = False
                top = v.texts[int(logits[0].argmax())]
                if top and top[0] not in " \t":
                    self.ending, self.pending = True, ""  # a new line that is not indented: a field name
            if self.ending:
                return None, []  # upstream leaves the field name unconstrained
            if self.count >= CAPTION_MAX_TOKENS:
                return [v.newline], []
            return None, v.tensor("caption")
        if state == "genres":
            if v.genres is not None:
                return v.genre_tokens(self.text), []
            # no vocabulary: upstream ends the field when the newline is the most likely token
            if self.text.strip() and logits is not None:
                row = logits[0]
                others = row.clone()
                others[v.newline] = float("-inf")
                if bool(row[v.newline] > others.max()):
                    return [v.newline], []
            return (None, [v.newline]) if not self.text.strip() else (None, [])
        if state == "lyrics":
            return None, v.tensor("codes")
        if state == "section":
            if self.count >= self.section_tokens:
                return [v.newline], []
            return None, v.tensor("section")
        return [v.eos], []  # done

    def advance(self, token: int) -> None:
        v, state = self.v, self.state
        if self.in_lyrics and token not in (v.eos, v.pad):
            self.lyrics_tokens.append(token)
        if state == "fixed":
            self.pos += max(1, len(v.texts[token]))  # upstream moves by the token's decoded length
            if self.pos >= len(self.fixed):
                self.then()
            return
        if state == "queue":
            self.queue.pop(0)
            if not self.queue:
                self.then()
            return
        if state == "codes":
            if token == v.eos:
                self._finish()
            else:
                self.codes_done += 1
            return
        if state == "value":
            if token == v.newline:
                self._after(self.field)
            else:
                self.ids.append(token)
            return
        text = v.texts[token]
        if state == "caption":
            self.count += 1
            self.text += text
            self.after_newline = "\n" in text
            if self.ending:
                self.pending += text
                if ":" in text:
                    name = self.pending.strip().rstrip(":").strip().lower()
                    if name in CAPTION_HANDOVER:
                        self._value(name)
                    else:  # upstream: an unknown name -> the field after the caption, name forced
                        self._after("caption")
            return
        if state == "genres":
            if token == v.newline:
                self._after("genres")
            else:
                self.text += text
            return
        if state == "lyrics":
            if token in (v.eos, v.pad):
                self._finish()
            return
        if state == "section":
            self.text += text
            self.count += 1
            if "\n\n" in self.text or self.count > self.section_tokens:
                self._section(self.section + 1)

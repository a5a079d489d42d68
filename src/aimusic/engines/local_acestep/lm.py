"""ACE-Step 1.5's 5 Hz language model ("thinking") through transformers.

Upstream runs a Qwen3-based causal LM before the DiT: phase 1 writes a chain of thought holding
the metadata the caption leaves out (bpm, a rewritten caption, duration, key, language, time
signature); phase 2 writes one audio-code token per 200 ms that the DiT is conditioned on. Its
"sample creation" writes a caption and lyrics from an idea. The prompt format and sampling
settings below, and the decoding grammar (grammar.py), follow ACE-Step 1.5's published source;
docs/acestep15-lm.md lists each fact and where it comes from, and says where we differ.

Why hand-written: transformers' `generate` cannot run upstream's decoding (classifier-free
guidance over a [conditional, unconditional] pair, a grammar whose state moves with every token,
top-p applied before temperature); the loop is the same few steps upstream writes by hand.

Finding weights is stat calls (no torch); torch/transformers load only when the LM runs.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

# the value sets and the grammar live in grammar.py; callers and tests read them from here too
from aimusic.engines.local_acestep.grammar import (BPM_RANGE, CAPTION_MAX_TOKENS, DURATION_RANGE, FIELDS,  # noqa: F401
                                                    KEYSCALES, LANGUAGES, MAX_AUDIO_CODE, TIME_SIGNATURES,
                                                    Grammar, Vocabulary)
from aimusic.errors import Interrupted, NotConfiguredError

# -- where the checkpoints are ---------------------------------------------------------------------

LM_SIZES = ("0.6B", "1.7B", "4B")
DEFAULT_LM = "1.7B"  # upstream's default, shipped inside its main repository
# size -> (hub repo, subfolder holding the checkpoint or "")
LM_REPOS = {"0.6B": ("ACE-Step/acestep-5Hz-lm-0.6B", ""),
            "1.7B": ("ACE-Step/Ace-Step1.5", "acestep-5Hz-lm-1.7B"),
            "4B": ("ACE-Step/acestep-5Hz-lm-4B", "")}
ENV_LM_PATH = "AIMUSIC_ACESTEP_LM_PATH"
LM_CONFIG = "config.json"


def pull_command(size: str = DEFAULT_LM) -> str:
    return f"aimusic models pull lm-{size}"


def find_lm(size: str = DEFAULT_LM, lm_path: str | None = None) -> tuple[Path | None, str]:
    """(checkpoint folder, where from) or (None, why not). Order: --lm-path, env, hub cache."""
    from aimusic.engines.local_acestep.weights import cached_file

    named = lm_path or os.environ.get(ENV_LM_PATH)
    if named:
        path = Path(named).expanduser()
        source = "--lm-path" if lm_path else ENV_LM_PATH
        return (path, source) if (path / LM_CONFIG).is_file() else (None, f"{source} {path}")
    repo, sub = LM_REPOS[size]
    found = cached_file(repo, f"{sub}/{LM_CONFIG}" if sub else LM_CONFIG)
    return (found.parent, f"hub cache ({repo})") if found else (None, "")


def require_lm(size: str = DEFAULT_LM, lm_path: str | None = None) -> Path:
    path, source = find_lm(size, lm_path)
    if path is not None:
        return path
    if source:
        raise NotConfiguredError(f"{source} is not an ACE-Step LM checkpoint (no {LM_CONFIG})", field="lm_path",
                                 hint=f"point it at the LM folder, or run `{pull_command(size)}`")
    raise NotConfiguredError(f"the ACE-Step 1.5 {size} language model is not on this machine (--think)",
                             field="think", hint=f"run `{pull_command(size)}`, pass --lm-path DIR, "
                                                 "or use --no-think")


def pull_lm(size: str) -> Path:
    """Download (or resume) one LM checkpoint into the hub cache (only its own files)."""
    from aimusic.engines.local_acestep.weights import download

    repo, sub = LM_REPOS[size]
    folder = download(repo, allow_patterns=[f"{sub}/*"] if sub else None)
    return folder / sub if sub else folder


# -- upstream's constants (acestep/constants.py) ---------------------------------------------------

LM_INSTRUCTION = "Generate audio semantic tokens based on the given conditions:"
INSPIRED_INSTRUCTION = "Expand the user's input into a more detailed and specific musical description:"
NO_INPUT = "NO USER INPUT"
CODES_PER_SECOND = 5
# upstream's PyTorch backend: max_model_len 4096, and a generation without a duration target
# (metadata, sample creation) may write up to max_model_len - 64 tokens; so may the codes phase
MAX_MODEL_LEN = 4096
MAX_NEW_TOKENS = MAX_MODEL_LEN - 64


@dataclass(frozen=True)
class Sampling:
    """Upstream's GenerationParams defaults (acestep/inference.py)."""

    temperature: float = 0.85
    cfg_scale: float = 2.0
    top_k: int = 0          # 0 = off
    top_p: float = 0.9      # 1.0 = off
    repetition_penalty: float = 1.0

    def as_dict(self) -> dict[str, float]:
        return {"temperature": self.temperature, "cfg_scale": self.cfg_scale, "top_k": self.top_k,
                "top_p": self.top_p}


@dataclass
class Thought:
    """What the LM decided for one song: its metadata, the codes per take, and how long it took."""

    metadata: dict[str, Any]
    codes: list[str]
    tokens: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {**self.metadata, "codes_per_take": [c.count("<|audio_code_") for c in self.codes],
                "tokens": self.tokens, "seconds": round(self.seconds, 3),
                "tokens_per_s": round(self.tokens / self.seconds, 1) if self.seconds > 0 else None,
                "phases_s": {k: round(v, 3) for k, v in self.phases.items()}}


# -- prompts (llm_inference.py: build_formatted_prompt*, _format_metadata_as_cot) ------------------

def _chat(tokenizer: Any, messages: list[dict[str, str]], generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)


def _system(instruction: str) -> dict[str, str]:
    return {"role": "system", "content": f"# Instruction\n{instruction}\n\n"}


def cot_prompt(tokenizer: Any, caption: str, lyrics: str, unconditional: bool = False) -> str:
    """Phase 1. The unconditional side (no negative prompt) drops the caption, keeps the lyrics."""
    user = f"# Lyric\n{lyrics}\n" if unconditional else f"# Caption\n{caption}\n\n# Lyric\n{lyrics}\n"
    return _chat(tokenizer, [_system(LM_INSTRUCTION), {"role": "user", "content": user}], True)


def codes_prompt(tokenizer: Any, caption: str, lyrics: str, cot: str, unconditional: bool = False) -> str:
    """Phase 2: the chain of thought as the assistant's turn (empty on the unconditional side)."""
    text = _chat(tokenizer, [_system(LM_INSTRUCTION),
                             {"role": "user", "content": f"# Caption\n{caption}\n\n# Lyric\n{lyrics}\n"},
                             {"role": "assistant", "content": "<think>\n</think>" if unconditional else cot}],
                 False)
    return text if text.endswith("\n") else text + "\n"


def sample_prompt(tokenizer: Any, idea: str, instrumental: bool = False) -> str:
    """Upstream's sample creation ("inspiration"): an idea -> caption, metadata and lyrics."""
    user = f"{idea.strip() or NO_INPUT}\n\ninstrumental: {'true' if instrumental else 'false'}"
    return _chat(tokenizer, [_system(INSPIRED_INSTRUCTION), {"role": "user", "content": user}], True)


def format_cot(metadata: dict[str, Any]) -> str:
    """The metadata as upstream writes it back for phase 2: sorted YAML inside <think> tags."""
    import yaml

    items = {}
    for key in FIELDS:
        value = metadata.get(key)
        if value is None:
            continue
        if key == "timesignature" and isinstance(value, str) and value.endswith("/4"):
            value = value.split("/")[0]
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        items[key] = value
    body = yaml.dump(items, allow_unicode=True, sort_keys=True).strip() if items else ""
    return f"<think>\n{body}\n</think>"


def parse_output(text: str) -> tuple[dict[str, Any], str]:
    """(metadata, audio codes) from LM text, as upstream's parse_lm_output: `key: value` lines
    inside <think> (or, without the closing tag, everything before the codes: phase 1 ends with EOS
    in its place), tag lines skipped, indented lines continue the value. The caption's lines are
    joined with single spaces (postprocess_caption); bpm and duration become ints when they parse."""
    codes = "".join(re.findall(r"<\|audio_code_\d+\|>", text))
    body = ""
    for pattern in (r"<think>(.*?)</think>", r"<reasoning>(.*?)</reasoning>"):
        match = re.search(pattern, text, re.DOTALL)
        if match:
            body = match.group(1).strip()
            break
    if not body:
        body = text.split("<|audio_code_")[0].strip()
    metadata: dict[str, Any] = {}
    key, lines = None, []

    def flush() -> None:
        if key not in FIELDS + ("genres",) or not lines:
            return
        value = "\n".join(lines)
        if key == "caption":
            metadata[key] = " ".join(s.strip() for s in value.split("\n") if s.strip())
        elif key in ("bpm", "duration"):
            try:
                metadata[key] = int(value.strip())
            except ValueError:
                metadata[key] = value.strip()
        else:
            metadata[key] = value.strip()

    for line in body.split("\n"):
        if line.strip().startswith("<"):
            continue
        if line and not line[0].isspace() and ":" in line:
            flush()
            name, first = line.split(":", 1)
            key, lines = name.strip().lower(), ([first] if first.strip() else [])
        elif line[:1] in (" ", "\t") and key:
            lines.append(line)
    flush()
    return metadata, codes


def lyrics_after_thought(text: str) -> str:
    """Sample creation's lyrics: what follows </think>, without a '# Lyric' header or <|im_end|>."""
    match = re.search(r"</think>", text)
    if not match:
        return ""
    after = re.sub(r"^#\s*Lyri[c|cs]?\s*\n", "", text[match.end():].strip(), flags=re.IGNORECASE)
    return re.sub(r"<\|im_end\|>\s*$", "", after).strip()


# -- the loaded LM and its decoding loop ----------------------------------------------------------

_LOADED: dict[tuple, Any] = {}
_LOCK = threading.Lock()


class LanguageModel:
    @classmethod
    def from_parts(cls, model: Any, tokenizer: Any, device: str, name: str = "lm") -> "LanguageModel":
        """An LM built in memory (bench/acestep.py times true-size random weights this way)."""
        import inspect

        self = cls.__new__(cls)
        self.path, self.name, self.tokenizer, self.device = Path(name), name, tokenizer, device
        self.model = model.to(device).eval()
        params = inspect.signature(self.model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self.vocab = Vocabulary(tokenizer)
        return self

    def __init__(self, path: Path, device: str, dtype: Any) -> None:
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer

        transformers.utils.logging.set_verbosity_error()  # our own bar shows the LM's tokens
        transformers.utils.logging.disable_progress_bar()
        self.path = Path(path)
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.model = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype, local_files_only=True)
        self.model.to(device).eval()
        import inspect

        # transformers 5.2x renamed the KV-cache argument (past_key_values -> cache)
        params = inspect.signature(self.model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self.device = device
        self.vocab = Vocabulary(self.tokenizer, self.path)
        self.name = self.path.name

    # one decoding loop: upstream's _generate_with_cfg_custom / _generate_with_constrained_decoding
    def decode(self, prompt: str, grammar: Grammar, *, sampling: Sampling, generator: Any, max_new_tokens: int,
               unconditional: str | None = None, progress: Callable[[int], None] | None = None,
               cancel: threading.Event | None = None) -> tuple[str, int]:
        import torch

        tok = self.tokenizer
        cfg = unconditional is not None and sampling.cfg_scale > 1.0
        if cfg:
            side = tok.padding_side
            tok.padding_side = "left"
            batch = tok([prompt, unconditional], return_tensors="pt", padding=True, add_special_tokens=False)
            tok.padding_side = side
        else:
            batch = tok([prompt], return_tensors="pt", add_special_tokens=False)
        ids = batch["input_ids"].to(self.device)
        mask = batch["attention_mask"].to(self.device)
        rows = ids.shape[0]
        # upstream's repetition penalty sees the conditional row whole: prompt (pads included) + output
        seen = ids[0].tolist() if sampling.repetition_penalty != 1.0 else []
        out: list[int] = []
        past = None
        step_ids = ids
        with torch.inference_mode():
            for _ in range(max_new_tokens):
                if grammar.done:
                    break
                if cancel is not None and cancel.is_set():
                    raise Interrupted("cancelled; no file was written")
                result = self.model(input_ids=step_ids, attention_mask=mask, use_cache=True,
                                    logits_to_keep=1, **{self._cache_arg: past})
                past = getattr(result, "cache", None) or result.past_key_values
                logits = result.logits[:, -1, :].float()
                if cfg:
                    logits = logits[1:2] + sampling.cfg_scale * (logits[0:1] - logits[1:2])
                logits = logits[0:1, :self.vocab.size].clone()
                token = self._pick(logits, grammar, sampling, generator, seen + out if seen else out)
                grammar.advance(token)
                out.append(token)
                if progress is not None:
                    progress(len(out))
                if token == self.vocab.eos or (token == self.vocab.pad and self.vocab.pad != self.vocab.eos):
                    break
                step_ids = torch.full((rows, 1), token, dtype=ids.dtype, device=self.device)
                mask = torch.cat([mask, torch.ones((rows, 1), dtype=mask.dtype, device=self.device)], dim=1)
        return tok.decode(out, skip_special_tokens=False), len(out)

    @staticmethod
    def _pick(logits: Any, grammar: Grammar, s: Sampling, generator: Any, previous: list[int]) -> int:
        """One token: the grammar's mask, repetition penalty, top-k, top-p (before temperature, as
        upstream's PyTorch path), temperature, multinomial. With a whitelist, the filters run on the
        allowed logits only: every other token is -inf, so the distribution is the same, and
        sorting 64 000 codes instead of the whole vocabulary is what keeps this step cheap. The
        grammar sees the guided logits first (upstream's top-1 decisions read them)."""
        import torch

        only, banned = grammar.allowed(logits)
        index = None
        if only is not None:
            if len(only) == 1:
                return int(only[0])
            index = only if torch.is_tensor(only) else torch.tensor(only, dtype=torch.long)
            index = index.to(logits.device)
            logits = logits[:, index]
        elif len(banned):
            logits[0, banned.to(logits.device) if torch.is_tensor(banned) else torch.tensor(banned)] = float("-inf")
        if s.repetition_penalty != 1.0 and previous:
            prev = torch.tensor(sorted(set(previous)), dtype=torch.long, device=logits.device)
            if index is not None:  # previous ids -> positions in the whitelist
                prev = torch.nonzero(torch.isin(index, prev)).flatten()
            vals = logits[0, prev]
            logits[0, prev] = torch.where(vals < 0, vals * s.repetition_penalty, vals / s.repetition_penalty)
        if s.top_k and s.top_k > 0:
            kth = torch.topk(logits, min(s.top_k, logits.shape[-1]))[0][..., -1, None]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        if s.top_p is not None and 0.0 < s.top_p < 1.0:
            ordered, order = torch.sort(logits, descending=True)
            cumulative = torch.cumsum(torch.softmax(ordered, dim=-1), dim=-1)
            drop = cumulative > s.top_p
            drop[..., 1:] = drop[..., :-1].clone()
            drop[..., 0] = False
            logits = logits.masked_fill(drop.scatter(1, order, drop), float("-inf"))
        if s.temperature <= 0:
            pick = int(torch.argmax(logits, dim=-1))
        else:
            probs = torch.softmax(logits / s.temperature, dim=-1).cpu()
            pick = int(torch.multinomial(probs, 1, generator=generator))
        return int(index[pick]) if index is not None else pick

    # -- upstream's two flows --------------------------------------------------------------------
    def think(self, caption: str, lyrics: str, duration: float, seeds: list[int], *,
              given: dict[str, Any] | None = None, sampling: Sampling = Sampling(),
              progress: Callable[[str, int, int], None] | None = None,
              cancel: threading.Event | None = None) -> Thought:
        """generate_with_stop_condition(infer_type="llm_dit"): metadata once, then codes per seed."""
        import torch

        given = {k: v for k, v in (given or {}).items() if v is not None}
        started = time.perf_counter()
        tokens = 0
        phases: dict[str, float] = {}
        tok = self.tokenizer
        if all(k in given for k in ("bpm", "keyscale", "timesignature", "duration")):
            metadata = dict(given)  # upstream skips phase 1 when every meta is given
        else:
            gen = torch.Generator("cpu").manual_seed(int(seeds[0]))
            grammar = Grammar(self.vocab, "cot", given=given)
            # the bar's total is a typical chain of thought; upstream's cap is MAX_NEW_TOKENS
            report = (lambda n: progress("lm metadata", n, CAPTION_MAX_TOKENS + 64)) if progress else None
            text, n = self.decode(cot_prompt(tok, caption, lyrics), grammar, sampling=sampling, generator=gen,
                                  max_new_tokens=MAX_NEW_TOKENS,
                                  unconditional=cot_prompt(tok, caption, lyrics, unconditional=True),
                                  progress=report, cancel=cancel)
            tokens += n
            metadata, _ = parse_output(text)
            phases["metadata"] = time.perf_counter() - started
        cot = format_cot(metadata)
        target = int(duration * CODES_PER_SECOND)
        budget = min(int(max(DURATION_RANGE[0], min(DURATION_RANGE[1], duration)) * CODES_PER_SECOND) + 500,
                     MAX_NEW_TOKENS)
        codes = []
        codes_started = time.perf_counter()
        for i, seed in enumerate(seeds):
            gen = torch.Generator("cpu").manual_seed(int(seed))
            label = "lm codes" if len(seeds) == 1 else f"lm codes {i + 1}/{len(seeds)}"
            report = (lambda n, label=label: progress(label, n, target + 1)) if progress else None
            text, n = self.decode(codes_prompt(tok, caption, lyrics, cot), Grammar(self.vocab, "codes",
                                  target_codes=target), sampling=sampling, generator=gen, max_new_tokens=budget,
                                  unconditional=codes_prompt(tok, caption, lyrics, cot, unconditional=True),
                                  progress=report, cancel=cancel)
            tokens += n
            codes.append(parse_output(text)[1])
        phases["codes"] = time.perf_counter() - codes_started
        return Thought(metadata=metadata, codes=codes, tokens=tokens, seconds=time.perf_counter() - started,
                       phases=phases)

    def write_sample(self, idea: str, *, language: str | None = None, instrumental: bool = False,
                     sections: list[str] | None = None, seed: int = 0, sampling: Sampling = Sampling(),
                     max_new_tokens: int = MAX_NEW_TOKENS, progress: Callable[[str, int, int], None] | None = None,
                     cancel: threading.Event | None = None) -> dict[str, Any]:
        """create_sample_from_query: caption, metadata and lyrics from an idea (no guidance there)."""
        import torch

        started = time.perf_counter()
        given = {"language": language} if language and language != "unknown" else {}
        grammar = Grammar(self.vocab, "sample", given=given, sections=sections)
        gen = torch.Generator("cpu").manual_seed(int(seed))
        report = (lambda n: progress("lm lyrics", n, max_new_tokens)) if progress else None
        text, n = self.decode(sample_prompt(self.tokenizer, idea, instrumental), grammar,
                              sampling=Sampling(sampling.temperature, 1.0, sampling.top_k, sampling.top_p,
                                                sampling.repetition_penalty),
                              generator=gen, max_new_tokens=max_new_tokens, progress=report, cancel=cancel)
        metadata, _ = parse_output(text)
        # with --sections the grammar knows where the lyrics are; otherwise upstream's extraction
        lyrics = (self.tokenizer.decode(grammar.lyrics_tokens, skip_special_tokens=False).strip() if sections
                  else lyrics_after_thought(text))
        metadata["lyrics"] = lyrics or ("[Instrumental]" if instrumental else "")
        if given:  # a given language is the song's even where the text lost it (a caption run wild)
            metadata.setdefault("language", given["language"])
        seconds = time.perf_counter() - started
        metadata.update(tokens=n, seconds=round(seconds, 3), lm=self.name)
        return metadata


def load(path: Path, device: str, dtype: Any) -> LanguageModel:
    """The LM at `path`, loaded once per process (a second checkpoint replaces the first)."""
    key = (str(Path(path).resolve()), device, str(dtype))
    with _LOCK:
        lm = _LOADED.get(key)
        if lm is None:
            _LOADED.clear()
            try:
                lm = LanguageModel(path, device, dtype)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise NotConfiguredError(f"cannot load the ACE-Step LM from {path}: {exc.__class__.__name__}: "
                                         f"{str(exc).splitlines()[0][:200] if str(exc) else ''}",
                                         field="lm_path", hint="the folder must hold a transformers "
                                                               "causal-LM checkpoint and its tokenizer") from None
            _LOADED[key] = lm
        return lm


def section_names(text: str | None) -> list[str]:
    """`verse,chorus,verse` -> ["Verse", "Chorus", "Verse"] (ACE-Step's [Section] markers)."""
    from aimusic.errors import UsageError

    names = [part.strip() for part in (text or "").split(",") if part.strip()]
    if len(names) > 24:
        raise UsageError("at most 24 sections", field="sections")
    for name in names:
        if not re.fullmatch(r"[\w][\w \-]{0,30}", name):
            raise UsageError(f"section {name!r}: use words such as verse, chorus, bridge", field="sections")
    return [name[:1].upper() + name[1:] for name in names]


def write_lyrics(idea: str, *, language: str | None = None, sections: list[str] | None = None, seed: int = 0,
                 size: str = DEFAULT_LM, lm_path: str | None = None, device: str | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """`aimusic lyrics write`: upstream's sample creation on the local LM (78 when it is absent)."""
    from aimusic.engines.local_acestep import runtime
    from aimusic.errors import UsageError

    if language and language not in LANGUAGES:
        raise UsageError(f"unknown language {language!r}", field="language",
                         hint="one of ACE-Step's codes: " + ", ".join(LANGUAGES))
    path = require_lm(size, lm_path)
    chosen = runtime.pick_device(device)
    llm = load(path, chosen, runtime.pick_dtype(chosen))
    return llm.write_sample(idea, language=language, sections=sections, seed=seed, progress=progress)

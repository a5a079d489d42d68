"""Routing: the task, the model family (the skill's decision flow) and the provider.

Model families are abstract rungs of the cost ladder; `model_for(family, task, provider)`
turns one into a catalog id for the provider that will run it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aimusic.catalog import ModelEntry, get_model, models_for
from aimusic.plan.intent import Intent

PREMIUM = "premium"          # ElevenLabs Music
MULTILINGUAL = "ace-1.5"     # ACE-Step 1.5: non-English vocals, best ACE quality
BASE = "ace-base"            # ACE-Step v1: cost-sensitive, batches, loops, drafts

HOSTED = {
    (PREMIUM, "generate"): "elevenlabs/elevenlabs/music-generation",
    (MULTILINGUAL, "generate"): "acestep-ai/ace-step-1.5/text-to-audio",
    (BASE, "generate"): "acestep-ai/ace-step/text-to-audio",
    ("*", "inpaint"): "acestep-ai/ace-step/audio-inpaint",
    ("*", "outpaint"): "acestep-ai/ace-step/audio-outpaint",
}
ENDPOINTS = {"generate": "text-to-audio", "inpaint": "audio-inpaint", "outpaint": "audio-outpaint",
             "remix": "audio-to-audio"}


@dataclass
class Route:
    task: str
    family: str
    model: ModelEntry
    provider: str
    reasons: list[str]


def _quote(words: list[str]) -> str:
    return ", ".join(f"'{w}'" for w in words[:4])


def choose_family(intent: Intent, *, song_language: str, languages: list[str],
                  budget_usd: float | None, seconds: float, reasons: list[str],
                  lyric_languages: list[str] | None = None) -> str:
    """Steps 2-4 of the decision flow, each recorded with the words that fired it."""
    if intent.premium:
        if intent.cost_words and not intent.strong_cost_words and not intent.draft_then_polish:
            reasons.append(f"premium words ({_quote(intent.premium_words)}) outweigh words of a kind of music "
                           f"({_quote(intent.cost_words)}): no price or draft word was said")
        if intent.draft_then_polish:
            reasons.append(f"draft first ({_quote(intent.cost_words)}), premium polish last "
                           f"({_quote(intent.premium_words)}): iterate on ACE base, final render on ElevenLabs")
            return BASE
        reasons.append(f"premium polish ({_quote(intent.premium_words)}) -> ElevenLabs Music (decision step 2)")
        return PREMIUM
    if intent.premium_words and intent.strong_cost_words:
        reasons.append(f"premium words ({_quote(intent.premium_words)}) but cost words "
                       f"({_quote(intent.strong_cost_words)}): the cost words win")
    if intent.multilingual or song_language != "en" or len(languages) > 1:
        why = []
        if intent.language_words:
            why.append(f"languages named ({_quote(intent.language_words)})")
        if intent.multi_words:
            why.append(_quote(intent.multi_words))
        if intent.language_count:
            why.append(f"'{intent.language_count} languages'")
        if lyric_languages and (song_language != "en" or len(lyric_languages) > 1):
            why.append(f"lyrics in {', '.join(lyric_languages)}")
        elif song_language != "en" and not intent.language_words:
            why.append(f"--language {song_language}")
        reasons.append(f"non-English or several languages ({'; '.join(why)}) -> ACE-Step 1.5 (decision step 3)")
        return MULTILINGUAL
    if intent.cost_sensitive:
        why = list(intent.cost_words)
        if intent.count and intent.count[0] > 1:
            why.append(intent.count[1])
        reasons.append(f"cost-sensitive or batch ({_quote(why)}) -> ACE-Step base (decision step 4)")
        return BASE
    premium_model = get_model(HOSTED[(PREMIUM, "generate")])
    if budget_usd is not None and premium_model.price_per_second * seconds <= budget_usd:
        reasons.append(f"a single quality track and ElevenLabs fits the ${budget_usd:g} budget "
                       "-> ElevenLabs Music (decision step 4)")
        return PREMIUM
    reasons.append("a single track with no premium or cost words -> ACE-Step 1.5, the best ACE quality "
                   "(decision step 4; add --budget or say 'premium' for ElevenLabs)")
    return MULTILINGUAL


def is_v1_style(model: ModelEntry) -> bool:
    """ACE-Step v1 tokenises lyrics per line: non-Latin scripts must be romanised with [xx] prefixes."""
    family = model.family.lower()
    return model.extra.get("lyrics_style") == "v1" or (
        "ace-step" in family and "1.5" not in family and "15" not in family.replace("ace-step", ""))


def model_for(family: str, task: str, provider: str) -> ModelEntry | None:
    """The catalog model of `family` for `task` on `provider`, or None when it has none.

    An engine that knows which of its models plays a family declares a `model_for(family, task)`
    classmethod (the local engine: its turbo variant); RunComfy's hosted models are the cost
    ladder's rungs (`HOSTED`); otherwise the provider's models for the task, v1-style (ACE-Step
    v1) ones first for the base family and the others first for the rest."""
    if provider == "runcomfy":
        key = (family, task) if task == "generate" else ("*", task)
        model_id = HOSTED.get(key)
        return get_model(model_id) if model_id else None
    from aimusic.engines.registry import engine_class
    from aimusic.errors import NotConfiguredError

    try:
        declared = getattr(engine_class(provider), "model_for", None)
    except NotConfiguredError:
        declared = None
    if callable(declared):
        return declared(family, task)
    candidates = models_for(task, provider)
    if not candidates:
        return None
    if family in (MULTILINGUAL, PREMIUM):
        preferred = [m for m in candidates if not is_v1_style(m)]
    else:
        preferred = [m for m in candidates if is_v1_style(m)]
    return (preferred or candidates)[0]

"""Provider choice: which provider runs a model. One set of rules for a model id given
explicitly (`aimusic run ID`, `--model ID`) and for a family the planner routed to.

- An explicit `--provider NAME` is taken if it can run the model (else UsageError, 64).
- `auto`: the planner's rule first (premium intent, for a generate or an edit, and an ElevenLabs
  key -> ElevenLabs), then
  every engine in `auto_rank` order (engines declare it; see `engines.base.Engine`) whose model
  for the family is usable now; the offline sketch engine, the last built-in, says why it ran.
- A model id under `auto`: the first of its providers that is usable now, else its first.

Pure apart from cheap availability checks (key presence, weights on disk, a probed server).
"""

from __future__ import annotations

from aimusic.catalog import ModelEntry
from aimusic.errors import InputError, UsageError


# tasks a premium request routes to ElevenLabs for (its edits keep the source's sections)
PREMIUM_TASKS = ("generate", "inpaint", "outpaint")


def provider_choices() -> list[str]:
    """What `--provider` accepts: auto and every registered engine (plugins too)."""
    from aimusic.engines.registry import provider_names

    return ["auto", *provider_names()]


def check_provider(provider: str) -> None:
    """InputError (65) for a provider no engine is registered under."""
    from aimusic.engines.registry import is_registered

    if provider != "auto" and not is_registered(provider):
        raise InputError(f"unknown provider {provider!r}", field="provider",
                         hint=f"use one of {', '.join(provider_choices())}")


def key_present(provider: str) -> bool:
    """True when the provider needs no key or its key is set (environment or credentials file)."""
    from aimusic.config import get_key
    from aimusic.engines.registry import credential_of

    return credential_of(provider) is None or get_key(provider) is not None


def _key_word(provider: str) -> str:
    from aimusic.engines.registry import credential_of

    credential = credential_of(provider)
    return "token" if credential is not None and credential.env_var.endswith("TOKEN") else "key"


def provider_for_model(model: ModelEntry, provider: str = "auto") -> str:
    """The provider that will run `model`: the one asked for, or for `auto` the first of the
    model's providers that is usable now (a direct provider before a reseller)."""
    if provider and provider != "auto":
        if provider not in model.providers:
            raise UsageError(f"{model.id} does not run on provider {provider!r}",
                             field="provider", hint=f"choose one of: {', '.join(model.providers)}")
        return provider
    if len(model.providers) > 1:
        from aimusic.engines.registry import availability

        for candidate in model.providers:
            if availability(model, candidate).usable:
                return candidate
    return model.providers[0]


def choose_provider(family: str, task: str, provider: str, reasons: list[str],
                    *, premium_intent: bool) -> tuple[ModelEntry, str]:
    """The model and provider for a routed family (DESIGN.md "Provider choice")."""
    from aimusic.engines.registry import auto_order, availability, credential_of, engine_class
    from aimusic.plan.route import PREMIUM, model_for

    if provider != "auto":
        model = model_for(family, task, provider)
        if model is None:
            cls = engine_class(provider)
            if task not in cls.tasks:
                title = cls.title or provider
                raise UsageError(f"{title} has no {task} endpoint (it only "
                                 f"{'generates' if set(cls.tasks) == {'generate'} else 'runs ' + ', '.join(sorted(cls.tasks))})",
                                 field="provider", hint="edit with --provider auto, runcomfy, local or sketch"
                                 if task != "generate" else "run `aimusic models` to see what each provider runs")
            raise UsageError(f"provider {provider!r} has no model for the {task} task", field="provider",
                             hint="run `aimusic models` to see what each provider runs")
        reasons.append(f"--provider {provider}: {model.id}")
        return model, provider

    skipped: list[str] = []
    if premium_intent and task in PREMIUM_TASKS:
        model = model_for(PREMIUM, task, "elevenlabs")
        if model is not None and key_present("elevenlabs"):
            if task == "generate":
                reasons.append("provider elevenlabs: premium intent and an ElevenLabs key is set")
            else:
                reasons.append(f"provider elevenlabs: a premium edit and an ElevenLabs key is set -> {model.id} "
                               "(a composition plan keeps the source's own sections and composes only the "
                               f"{'window' if task == 'inpaint' else 'added sections'}; aimusic splices just "
                               "that into your file)")
            return model, "elevenlabs"
        skipped.append("elevenlabs: no key (set ELEVENLABS_API_KEY or `aimusic login elevenlabs`)")
    for name in auto_order():
        model = model_for(family, task, name)
        if model is None:
            continue
        if name == "sketch":
            reasons.append("provider sketch: the offline sketch engine (a draft without weights or keys) "
                           "because " + "; ".join(skipped))
            return model, name
        credential = credential_of(name)
        state = availability(model, name)
        if state.usable:
            if credential is not None and state.reason == "always":
                reasons.append(f"provider {name}: a {credential.label} {_key_word(name)} is set")
            else:
                reasons.append(f"provider {name}: {state.reason}")
            return model, name
        if credential is not None and not key_present(name):
            skipped.append(f"{name}: no {_key_word(name)} (set {credential.env_var} or `aimusic login {name}`)")
        else:
            skipped.append(f"{name}: {state.reason}")
    raise InputError(f"no provider can run the {task} task here", field="provider", hint="; ".join(skipped))

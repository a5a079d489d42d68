"""Planning a direct model run (`aimusic run MODEL_ID --input ...`): resolve the id, validate the
input against the model's schema, check local sources, choose the provider and price it.

Pure like the rest of the planner: no network and no heavy import; the only I/O is checking
that local source files exist and are readable, and whether a provider's key is present.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aimusic.errors import InputError, InputFileError, UsageError

if TYPE_CHECKING:
    from aimusic.catalog import ModelEntry
    from aimusic.plan import Plan
    from aimusic.schemas import ModelInput

AUDIO_REFERENCE_FIELDS = ("audio", "reference_audio", "video")


def check_audio_references(request: ModelInput) -> None:
    """Local source files must exist and be readable before anything else happens (66)."""
    from aimusic.schemas import is_url

    for name in AUDIO_REFERENCE_FIELDS:
        value = getattr(request, name, None)
        if not value or is_url(value):
            continue
        path = Path(value).expanduser()
        if not path.exists():
            raise InputFileError(f"{name}: file not found: {path}", field=name)
        if path.is_dir() or not os.access(path, os.R_OK):
            raise InputFileError(f"{name}: cannot read {path}", field=name)


def prepare(model_id: str, input: dict[str, Any] | str, provider: str = "auto", *, check_keys: bool = True
            ) -> tuple[ModelEntry, ModelInput, str]:
    """Resolve, validate and authorise a request without running it."""
    from aimusic.catalog import get_model
    from aimusic.config import require_key
    from aimusic.engines.registry import credential_of
    from aimusic.plan.providers import provider_for_model
    from aimusic.schemas import parse_input_json, validate

    model = get_model(model_id)
    data = parse_input_json(input) if isinstance(input, str) else input
    if not isinstance(data, dict):
        raise InputError("input must be a JSON object", field="input")
    request = validate(model.input_model, data)
    check_audio_references(request)
    chosen = provider_for_model(model, provider)
    if check_keys and credential_of(chosen) is not None:
        require_key(chosen)
    return model, request, chosen


def plan_model_run(model_id: str, input: dict[str, Any] | str, provider: str = "auto", *,
                   check_keys: bool = True) -> Plan:
    """A one-step plan that runs `model_id` on `input` exactly as given."""
    from aimusic.catalog.pricing import estimate_cost
    from aimusic.plan import Plan, Step

    model, request, chosen = prepare(model_id, input, provider, check_keys=check_keys)
    body = request.to_json_dict()
    seconds = None
    if model.task == "video":  # music as long as the video
        from aimusic.plan.sources import video_seconds

        seconds = video_seconds(body["video"])
    cost = estimate_cost(model, body, seconds)
    reason = (f"--provider {chosen}" if provider not in (None, "", "auto")
              else f"{model.id} runs on {chosen} (the first of its providers usable here)")
    step = Step(1, model.task, model.id, chosen, body, cost)
    return Plan(request="", task=model.task, model=model.id, provider=chosen, input=body,
                estimated_cost_usd=cost, reasons=[reason], steps=[step])


def resume_target(provider: str = "runcomfy", model_id: str | None = None) -> ModelEntry:
    """The model a hosted request being resumed ran on (a placeholder entry when unknown); only
    providers that can follow a request by id, and only with their key."""
    from aimusic.catalog import ModelEntry, get_model
    from aimusic.config import require_key
    from aimusic.schemas import ModelInput

    if provider != "runcomfy":
        raise UsageError("only runcomfy requests can be resumed", field="provider")
    require_key(provider)
    if model_id:
        model = get_model(model_id)
        if provider not in model.providers:
            raise UsageError(f"{model.id} does not run on {provider}", field="model")
        return model
    return ModelEntry(id=f"{provider}/unknown-model/resumed", task="generate", providers=(provider,),
                      title="resumed request", description="a request resumed by id",
                      input_model=ModelInput, price_per_second=0.0)

"""`aimusic models`: the catalog, with what is usable right now."""

from __future__ import annotations

from typing import Any

import click

from aimusic.cli.common import json_option, print_json


@click.group(invoke_without_command=True)
@click.option("--task", type=click.Choice(["generate", "inpaint", "outpaint", "remix", "video", "separate", "layer"]),
              default=None,
              help="Only models for this task.")
@click.option("--provider", default=None, help="Only models this provider runs.")
@click.option("--available", "only_available", is_flag=True, help="Only models usable right now.")
@json_option
@click.pass_context
def models(ctx: click.Context, task: str | None, provider: str | None, only_available: bool,
           as_json: bool) -> None:
    """List every model: provider, task, price, limits and whether it is usable now."""
    if ctx.invoked_subcommand is not None:
        return
    from aimusic.api import describe_model
    from aimusic.catalog import models_for

    rows = [describe_model(m) for m in models_for(task, provider)]
    if only_available:
        rows = [r for r in rows if r["available"]]
    account = _account_listing(provider)
    if as_json:
        print_json({"models": rows, **({"account": account} if account is not None else {})})
        return
    width = max((len(r["id"]) for r in rows), default=10)
    click.echo(f"{'MODEL':<{width}}  {'TASK':<8}  {'PROVIDERS':<20}  {'USD/s':>7}  {'SECONDS':>9}  STATUS")
    for r in rows:
        lo, hi = r["duration_limits_s"]
        status = "ready" if r["available"] else "unavailable: " + r["availability"][0]["reason"]
        click.echo(f"{r['id']:<{width}}  {r['task']:<8}  {','.join(r['providers']):<20}  "
                   f"{r['price_per_second_usd']:>7.4f}  {lo:>4g}-{hi:<4g}  {status}")
    if account is not None:
        _print_account(provider or "", account)


def _account_listing(provider: str | None) -> dict | None:
    """What the provider's account adds (an engine declaring `account_listing`, e.g. ElevenLabs'
    finetunes), only when one provider is asked for."""
    if not provider:
        return None
    from aimusic.engines.registry import engine_class

    listing = getattr(engine_class(provider), "account_listing", None)
    return listing() if callable(listing) else None


def _print_account(provider: str, account: dict) -> None:
    from aimusic.cli.common import notice

    for name, items in account.items():
        if not isinstance(items, list):
            continue
        click.echo(f"\n{name} on your {provider} account ({len(items)}):")
        for item in items:
            click.echo("  " + "  ".join(str(item.get(k, "")) for k in ("id", "name", "model_id", "status")))
    if account.get("note"):
        notice(account["note"])


@models.command("show")
@click.argument("model_id")
@json_option
def show(model_id: str, as_json: bool) -> None:
    """Everything about one model: input fields with types, ranges and defaults."""
    from aimusic.api import describe_model
    from aimusic.catalog import get_model

    info = describe_model(get_model(model_id), full=as_json)
    if as_json:
        print_json(info)
        return
    click.echo(f"{info['id']}  ({info['title']})")
    click.echo(f"  {info['description']}")
    click.echo(f"  task: {info['task']}   providers: {', '.join(info['providers'])}   tier: {info['tier']}")
    price = f"${info['price_per_second_usd']:.4f}/s" + ("" if info["price_published"] else " (estimate)")
    lo, hi = info["duration_limits_s"]
    click.echo(f"  price: {price}   duration: {lo:g}-{hi:g} s   sample rate: {info['sample_rate']}")
    click.echo(f"  languages: {', '.join(info['languages'])}")
    for check in info["availability"]:
        click.echo(f"  {check['provider']}: {'usable' if check['usable'] else 'not usable'} ({check['reason']})")
    click.echo("  input fields:")
    for f in info["input_fields"]:
        bits = [f["type"], "required" if f["required"] else f"default {f.get('default')!r}"]
        if "min" in f or "max" in f:
            bits.append(f"range {f.get('min', '')}..{f.get('max', '')}")
        if "choices" in f:
            bits.append("one of " + "|".join(map(str, f["choices"])))
        click.echo(f"    {f['name']:<24} {', '.join(bits)}")
        if f.get("description"):
            click.echo(f"    {'':<24} {f['description']}")


@models.command("pull")
@click.argument("model_id")
@click.option("--lm", "lm_size", type=click.Choice(["0.6B", "1.7B", "4B", "none"]), default=None,
              help="The 5 Hz LM to fetch with a local variant (default: the variant's, 1.7B; none: skip).")
@json_option
def pull(model_id: str, lm_size: str | None, as_json: bool) -> None:
    """Download a local model's weights, and the 5 Hz LM that goes with it, into the Hugging Face
    cache (resumable; progress on stderr). `lm-0.6B|lm-1.7B|lm-4B` fetches one LM alone."""
    from aimusic.engines.local_acestep.lm import LM_SIZES, pull_lm
    from aimusic.engines.local_acestep.weights import pull as pull_weights, resolve_pull_target

    engine_pull = _engine_pull(model_id)
    if engine_pull is not None:  # an engine that declares `pull(model)` (demucs)
        from aimusic.catalog import get_model

        payload = {"model": model_id, "path": str(engine_pull(get_model(model_id)))}
    elif model_id.removeprefix("lm-") in LM_SIZES and model_id.startswith("lm-"):
        payload = {"model": model_id, "lm_path": str(pull_lm(model_id.removeprefix("lm-")))}
    else:
        from aimusic.catalog.local_acestep import VARIANTS

        variant, _repo = resolve_pull_target(model_id)
        payload = {"model": model_id, "path": str(pull_weights(model_id))}
        size = lm_size or VARIANTS[variant].get("lm", "1.7B")
        if size != "none":
            payload["lm_path"] = str(pull_lm(size))
    if as_json:
        print_json(payload)
    else:
        click.echo("\n".join(v for k, v in payload.items() if k != "model"))


def _engine_pull(model_id: str) -> Any:
    """The `pull(model)` the catalog model's engine declares, if it is a model id of such an engine."""
    from aimusic.catalog import get_model
    from aimusic.engines.registry import engine_class
    from aimusic.errors import AimusicError

    try:
        model = get_model(model_id)
        return getattr(engine_class(model.providers[0]), "pull", None)
    except AimusicError:
        return None

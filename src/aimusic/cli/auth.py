"""`aimusic login`, `logout` and `doctor`. Keys come from stdin or a hidden prompt, never argv."""

from __future__ import annotations

import os
import sys
from importlib.util import find_spec
from typing import Any

import click

from aimusic.cli.common import json_option, print_json

class KeyedProvider(click.ParamType):
    """A provider whose engine declares a credential (plugins too), checked when given."""

    name = "provider"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "PROVIDER"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from aimusic.engines.registry import credential_of, credentials

        value = str(value)
        if credential_of(value) is None:
            self.fail(f"{value!r} needs no key: choose one of {', '.join(credentials())}", param, ctx)
        return value


@click.command()
@click.argument("provider", type=KeyedProvider())
def login(provider: str) -> None:
    """Store PROVIDER's API key (read from stdin, or a hidden prompt on a terminal)."""
    from aimusic.config import save_key
    from aimusic.errors import InputError

    if sys.stdin is None:
        raise InputError("no key given: pipe it on stdin", field="key")
    if sys.stdin.isatty():
        key = click.prompt(f"{provider} API key", hide_input=True, err=True)
    else:
        key = sys.stdin.readline()
    path = save_key(provider, key)
    click.echo(f"saved the {provider} key to {path} (mode 0600)", err=True)


@click.command()
@click.argument("provider", type=KeyedProvider())
def logout(provider: str) -> None:
    """Forget PROVIDER's stored key (an environment variable, if set, still wins)."""
    from aimusic.config import KEYED_PROVIDERS, delete_key

    removed = delete_key(provider)
    click.echo(f"{'removed' if removed else 'no stored key for'} {provider}", err=True)
    env_var = KEYED_PROVIDERS[provider][0]
    if os.environ.get(env_var):
        click.echo(f"note: {env_var} is set in the environment and is still used", err=True)


def _devices() -> dict:
    info: dict = {"torch_installed": find_spec("torch") is not None}
    if info["torch_installed"]:
        import torch

        info["torch"] = torch.__version__
        info["cuda"] = bool(torch.cuda.is_available())
        if info["cuda"]:
            info["cuda_devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        info["mps"] = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    info["cpu_cores"] = os.cpu_count()
    return info


@click.command()
@json_option
def doctor(as_json: bool) -> None:
    """Report providers, devices, model weights and config paths (never a secret)."""
    from aimusic.catalog import all_models
    from aimusic.config import cache_dir, config_dir, credentials_path, key_source
    from aimusic.engines.registry import availability, credential_of, engine_classes

    providers = {}
    for name, cls in engine_classes().items():
        entries = [m for m in all_models() if name in m.providers]
        states = [availability(m, name) for m in entries]
        usable = sum(s.usable for s in states)
        entry: dict = {"models": len(entries), "usable": usable,
                       "reason": next((s.reason for s in states if not s.usable), "ready")}
        entry["title"] = cls.title or name
        entry["lane"] = cls.lane.value
        entry["tasks"] = sorted(cls.tasks)
        if credential_of(name) is not None:
            source = key_source(name)
            entry["key"] = source.where
        providers[name] = entry
    report = {
        "providers": providers,
        "devices": _devices(),
        "paths": {"config_dir": str(config_dir()), "credentials": str(credentials_path()),
                  "credentials_exists": credentials_path().exists(), "cache_dir": str(cache_dir())},
    }
    if as_json:
        print_json(report)
        return
    click.echo("providers:")
    for name, entry in providers.items():
        key = f", key: {entry['key']}" if "key" in entry else ""
        click.echo(f"  {name:<11} {entry['usable']}/{entry['models']} models usable{key}"
                   + ("" if entry["usable"] == entry["models"] else f"  ({entry['reason']})"))
    dev = report["devices"]
    click.echo("devices: " + (f"torch {dev.get('torch')}, cuda={dev.get('cuda')}, mps={dev.get('mps')}"
                              if dev["torch_installed"] else "torch not installed (local engine unavailable)")
               + f", {dev['cpu_cores']} CPU cores")
    click.echo("paths:")
    for key, value in report["paths"].items():
        click.echo(f"  {key:<19} {value}")

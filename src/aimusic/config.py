"""Paths, credentials and secret redaction. Secrets live here and nowhere else.

Environment wins over the credentials file. The file lives under the platform
config dir (or $AIMUSIC_CONFIG_DIR), is written atomically with mode 0600 in a
0700 directory, and no secret is ever echoed, logged or written to a sidecar.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from aimusic.errors import AuthError, InputError

class _KeyedProviders(Mapping[str, tuple[str, str]]):
    """provider -> (environment variable, human name), for every engine that declares a
    `credential` (plugins too). Read from the engine registry on first use, so importing this
    module stays cheap."""

    def _table(self) -> dict[str, tuple[str, str]]:
        from aimusic.registry import credentials

        return {name: (c.env_var, c.label) for name, c in credentials().items()}

    def __getitem__(self, provider: str) -> tuple[str, str]:
        from aimusic.registry import credential_of

        credential = credential_of(provider)
        if credential is None:
            raise KeyError(provider)
        return credential.env_var, credential.label

    def __contains__(self, provider: object) -> bool:
        return isinstance(provider, str) and self._lookup(provider)

    def _lookup(self, provider: str) -> bool:
        from aimusic.registry import credential_of

        return credential_of(provider) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


KEYED_PROVIDERS: Mapping[str, tuple[str, str]] = _KeyedProviders()


def config_dir() -> Path:
    override = os.environ.get("AIMUSIC_CONFIG_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("aimusic", appauthor=False))


def cache_dir() -> Path:
    override = os.environ.get("AIMUSIC_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("aimusic", appauthor=False))


def credentials_path() -> Path:
    return config_dir() / "credentials.json"


def _read_store() -> dict[str, dict[str, str]]:
    try:
        data = json.loads(credentials_path().read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, OSError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_store(store: dict[str, dict[str, str]]) -> None:
    directory = config_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".credentials-", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(store, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, credentials_path())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_provider(provider: str) -> None:
    if provider not in KEYED_PROVIDERS:
        raise InputError(f"unknown provider {provider!r}: choose one of {', '.join(KEYED_PROVIDERS)}",
                         field="provider")


def save_key(provider: str, key: str) -> Path:
    _check_provider(provider)
    key = key.strip()
    if not key or any(ch.isspace() for ch in key) or len(key) > 4096:
        raise InputError("that does not look like an API key (empty or contains spaces)", field="key")
    store = _read_store()
    store[provider] = {"key": key}
    _write_store(store)
    return credentials_path()


def delete_key(provider: str) -> bool:
    _check_provider(provider)
    store = _read_store()
    if provider not in store:
        return False
    del store[provider]
    _write_store(store)
    return True


@dataclass(frozen=True)
class KeySource:
    provider: str
    present: bool
    where: str  # "env RUNCOMFY_TOKEN", "credentials file", "not set"


def key_source(provider: str) -> KeySource:
    env_var, _ = KEYED_PROVIDERS[provider]
    if os.environ.get(env_var, "").strip():
        return KeySource(provider, True, f"env {env_var}")
    if _read_store().get(provider, {}).get("key"):
        return KeySource(provider, True, "credentials file")
    return KeySource(provider, False, "not set")


def get_key(provider: str) -> str | None:
    env_var, _ = KEYED_PROVIDERS[provider]
    value = os.environ.get(env_var, "").strip()
    if value:
        return value
    value = _read_store().get(provider, {}).get("key")
    return value or None


def require_key(provider: str) -> str:
    """The provider's key, or AuthError (77) telling how to sign in. Never touches the network."""
    key = get_key(provider)
    if key is None:
        env_var, name = KEYED_PROVIDERS[provider]
        raise AuthError(f"no {name} key: set {env_var} or run `aimusic login {provider}`",
                        field="provider")
    return key


def known_secrets() -> list[str]:
    secrets = []
    for provider in KEYED_PROVIDERS:
        key = get_key(provider)
        if key and len(key) >= 4:
            secrets.append(key)
    return secrets


def redact(text: str) -> str:
    """Replace every known secret in `text` with ***."""
    for secret in known_secrets():
        text = text.replace(secret, "***")
    return text

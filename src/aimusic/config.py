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
from typing import Any

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
    """The credentials file, keeping only well-formed entries ({provider: {"key": str}}): a
    corrupted or hand-edited file reads as "no key" for the bad entries, never a traceback."""
    try:
        data = json.loads(credentials_path().read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, OSError, UnicodeDecodeError, RecursionError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {name: {"key": entry["key"]} for name, entry in data.items()
            if isinstance(name, str) and isinstance(entry, dict) and isinstance(entry.get("key"), str)}


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


MAX_KEY_CHARS = 4096


def key_problem(key: str) -> str | None:
    """Why `key` cannot be sent in an HTTP header (empty, too long, spaces, control or non-ASCII
    characters), or None when it can."""
    if not key:
        return "it is empty"
    if len(key) > MAX_KEY_CHARS:
        return f"it is longer than {MAX_KEY_CHARS} characters"
    if any(not 0x21 <= ord(ch) <= 0x7E for ch in key):
        return "it holds spaces, control or non-ASCII characters, which an HTTP header cannot carry"
    return None


def save_key(provider: str, key: str) -> Path:
    _check_provider(provider)
    key = key.strip()
    problem = key_problem(key)
    if problem:
        raise InputError(f"that does not look like an API key: {problem}", field="key")
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
    env_var, name = KEYED_PROVIDERS[provider]
    if key is None:
        raise AuthError(f"no {name} key: set {env_var} or run `aimusic login {provider}`",
                        field="provider")
    problem = key_problem(key)
    if problem:
        raise AuthError(f"the {name} key is not usable: {problem}", field="provider",
                        hint=f"set {env_var} again or run `aimusic login {provider}`")
    return key


def known_secrets() -> list[str]:
    secrets = []
    for provider in KEYED_PROVIDERS:
        key = get_key(provider)
        if key and len(key) >= 4:
            secrets.append(key)
    return secrets


def _char_forms(ch: str) -> str:
    """A pattern for one character of a secret in any encoding it may be echoed in: itself,
    percent-encoded (either hex case; '+' for a space), JSON-escaped (\\uXXXX, \\/)."""
    import re

    forms = [re.escape(ch)]
    forms.extend("(?i:" + re.escape("".join(f"%{b:02x}" for b in ch.encode("utf-8"))) + ")" for _ in [0])
    if ord(ch) < 0x10000:
        forms.append("(?i:" + re.escape(f"\\u{ord(ch):04x}") + ")")
    if ch in "/\"\\":
        forms.append(re.escape("\\" + ch))
    if ch == " ":
        forms.append(r"\+")
    return "(?:" + "|".join(forms) + ")"


def _base64_cores(secret: str) -> list[str]:
    """The part of base64(prefix + secret + suffix) that depends on the secret alone, for each of
    the three alignments: so base64 of `user:token` (HTTP Basic auth) is caught whatever the user."""
    import base64

    raw = secret.encode("utf-8")
    cores = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        start = 4 if offset else 0           # the first group mixes in the prefix
        whole = (offset + len(raw)) // 3 * 4  # groups made of secret bytes (and the prefix) only
        core = encoded[start:whole]
        if len(core) >= 8:
            cores.append(core)
            cores.append(core.replace("+", "-").replace("/", "_"))  # the URL-safe alphabet
    return cores


_PATTERNS: dict[tuple[str, ...], Any] = {}


def _secret_pattern(secrets: tuple[str, ...]) -> Any:
    import re

    pattern = _PATTERNS.get(secrets)
    if pattern is None:
        alternatives = ["".join(_char_forms(ch) for ch in secret) for secret in secrets]
        alternatives.extend(re.escape(core) for secret in secrets for core in _base64_cores(secret))
        pattern = re.compile("|".join(sorted(set(alternatives), key=len, reverse=True)))
        if len(_PATTERNS) > 32:
            _PATTERNS.clear()
        _PATTERNS[secrets] = pattern
    return pattern


def redact(text: str) -> str:
    """Replace every known secret in `text` with ***, in every encoding it may be echoed in: raw,
    URL-encoded, JSON-escaped, and inside base64 (e.g. `user:token` in a Basic auth header)."""
    secrets = tuple(sorted(set(known_secrets())))
    if not secrets or not text:
        return text
    return _secret_pattern(secrets).sub("***", text)


def redact_data(value: Any) -> Any:
    """`redact` applied to every string in a JSON-like value (keys too): for what is stored
    (manifests, indexes) rather than printed."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_data(k) if isinstance(k, str) else k: redact_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(v) for v in value]
    return value

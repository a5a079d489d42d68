"""The engine protocol every provider implements.

An engine declares what it runs as plain class attributes (llm-style), checks
its availability cheaply (no heavy imports), and runs one validated job,
staging its files through the `OutputSink` it is given so that nothing
appears in the output directory until the whole job has succeeded.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Protocol

from aimusic.errors import Interrupted
from aimusic.registry import Credential, Lane  # noqa: F401 - the declaration types, re-exported

if TYPE_CHECKING:
    import numpy as np

    from aimusic.catalog import ModelEntry
    from aimusic.schemas import ModelInput


def package_versions(names: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Installed versions of the named distributions (missing ones left out), for sidecars."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


@dataclass(frozen=True)
class Availability:
    usable: bool
    reason: str  # why not, or what makes it usable ("always", "token from env", "weights at ...")


class ProgressFn(Protocol):
    def __call__(self, stage: str, done: float, total: float | None = None, message: str = "") -> None: ...


def _no_progress(stage: str, done: float, total: float | None = None, message: str = "") -> None:
    return None


@dataclass
class RunContext:
    """What a job needs beyond its input: options, progress reporting and cancellation."""

    # the engine's options: an instance of its `options_model()` (see `Engine.options_of`);
    # front doors pass a dict to the pipeline, which validates it (`registry.build_options`)
    options: Any = None
    progress: ProgressFn = _no_progress
    cancel_event: threading.Event = field(default_factory=threading.Event)
    log: Any = None  # callable(str) for one-line notices shown to the user (stderr), or None
    output_format: str | None = None  # the run's output format: extra audio (stems) matches the take
    wants_lyrics_timing: bool = False  # the run writes synced lyrics (`--lrc`): time the words if you can
    # called with a hosted request id as soon as the provider accepts a job (batches record it
    # before polling, so a crash never pays twice)
    on_remote_id: Callable[[str], None] | None = None

    def check_cancelled(self) -> None:
        if self.cancel_event.is_set():
            raise Interrupted("cancelled")

    def notice(self, message: str) -> None:
        if self.log is not None:
            self.log(message)


@dataclass
class Take:
    """One produced piece of audio: an array the core will encode, or a file the engine staged."""

    seed: int | None
    samples: np.ndarray | None = None  # noqa: F821 - numpy only for typing       # float32 [channels, frames]
    sample_rate: int | None = None
    staged: Any = None                      # aimusic.output.StagedFile, already encoded
    extra_files: dict[str, Any] = field(default_factory=dict)  # suffix ("mid", "vocals.wav") -> StagedFile or bytes
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class EngineResult:
    takes: list[Take]
    cost_usd: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)  # request ids, song ids, decisions: into the sidecar


class _CredentialView:
    """A class-level read-only attribute derived from `Engine.credential` (deprecated names)."""

    def __init__(self, derive: Callable[[Credential | None], Any]) -> None:
        self.derive = derive

    def __get__(self, instance: Any, owner: type) -> Any:
        return self.derive(getattr(owner, "credential", None))


class Engine(ABC):
    """Base class of engines. A subclass *declares* itself once, in class attributes, and every
    front door derives from them: CLI `--provider` choices and engine flags, the planner's
    provider order, batch lanes, `doctor`, the MCP/skill enums and the request schemas.

    - `name`: the provider name (`--provider NAME`, catalog `providers`).
    - `title`: human name for messages and `doctor`.
    - `tasks`: the catalog tasks it runs (generate, inpaint, outpaint, remix, ...).
    - `credential`: the key it needs, or None.
    - `lane`: where its work runs (Lane).
    - `remote_phases`: progress (stage, done) pairs that open and close its remote phase, so a
      batch holds the provider's slot only while the remote side works; () = the whole job.
    - `auto_rank`: order under `--provider auto` (lower is tried first; the planner's rules on
      premium intent come first); None: never tried on its own. Plugins default to after the
      built-ins (the sketch engine, the always-there fallback, is the last built-in).
    - `options_model()`: a pydantic model (extra="forbid", fields with descriptions) of its
      engine options; the CLI makes one flag per field.
    """

    name: ClassVar[str]
    title: ClassVar[str] = ""
    tasks: ClassVar[frozenset[str]]
    credential: ClassVar[Credential | None] = None
    lane: ClassVar[Lane] = Lane.CPU
    remote_phases: ClassVar[tuple[tuple[str, Any], ...]] = ()
    auto_rank: ClassVar[int | None] = 100

    @classmethod
    def options_model(cls) -> type:
        """The pydantic model of this engine's options (none by default)."""
        from aimusic.engines.options import NoOptions

        return NoOptions

    @classmethod
    def options_of(cls, ctx: RunContext) -> Any:
        """`ctx.options` as this engine's options model (validating a dict someone passed)."""
        if isinstance(ctx.options, cls.options_model()):
            return ctx.options
        from aimusic.engines.options import build_options_for

        ctx.options = build_options_for(cls, ctx.options)
        return ctx.options

    # read-only views of `credential`, kept for code written against the first engine protocol
    needs_key = _CredentialView(lambda c: c is not None)
    key_env_var = _CredentialView(lambda c: c.env_var if c is not None else None)

    @classmethod
    def availability(cls, model: ModelEntry) -> Availability:
        return Availability(True, "always")

    @classmethod
    def versions(cls) -> dict[str, str]:
        """Library versions that shaped the output, for the sidecar."""
        return {}

    @abstractmethod
    def run(self, model: ModelEntry, request: ModelInput, ctx: RunContext, sink: Any) -> EngineResult:
        """Run one validated job; stage files through `sink`; raise AimusicError subclasses on failure."""

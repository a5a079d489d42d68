"""The one exception hierarchy. Each class carries its policy: its exit code (sysexits.h),
its `type` (the JSON name), whether the same call may succeed later (`retryable`), whether
retrying can never help (`permanent`), whether the service asked us to slow down
(`slow_down`), and `advice`: the next step, one short sentence a front door can show (an
instance's `hint` stays the specific fix). Nothing else in aimusic decides exit codes, and
nothing compares exit numbers to decide what to do: read these attributes instead.

An error crosses a process boundary (batch workers, Ray) as `to_dict()`; `from_dict`
rebuilds the same class from its `type`, so the policy survives serialisation.
"""

from __future__ import annotations

from typing import Any


class AimusicError(Exception):
    """Base of every error a user can cause or meet. Never shown with a traceback."""

    exit_code: int = 1
    type: str = "error"
    retryable: bool = False     # the same call may succeed later (429, timeouts, busy, refused connections)
    permanent: bool = False     # retrying can never help (bad input, no key, not set up)
    slow_down: bool = False     # the service is overloaded: send less to it, then retry
    advice: str = "Read the message; run the same command again with --debug if it is unclear."

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None,
                 details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.hint = hint
        self.details = details or []

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.exit_code, "type": self.type,
                                "message": self.message, "field": self.field,
                                "retryable": self.retryable, "permanent": self.permanent}
        if self.hint:
            body["hint"] = self.hint
        if self.details:
            body["details"] = self.details
        return body

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class UsageError(AimusicError):
    """Bad command-line usage, unknown model id."""
    exit_code = 64
    type = "usage"
    permanent = True
    advice = "Fix the command line (the message names the problem and close model ids)."


class InputError(AimusicError):
    """Bad input: JSON, schema, range, unreadable audio."""
    exit_code = 65
    type = "bad_input"
    permanent = True
    advice = "Fix the input: the message names the field and the allowed range. Do not retry unchanged."


class InputFileError(AimusicError):
    """An input file that does not exist or cannot be read."""
    exit_code = 66
    type = "input_file"
    permanent = True
    advice = "The input file is missing or unreadable: ask the user for the right path."


class UpstreamError(AimusicError):
    """The upstream service failed (5xx, failed remote job, refused download). Neither
    retryable nor permanent: one more try may work, many will not."""
    exit_code = 69
    type = "upstream"
    advice = "The provider failed: retry once later, or switch provider (`--provider sketch` always works)."


class InternalError(AimusicError):
    """A bug in aimusic, not a user mistake: `--debug` shows the traceback."""
    exit_code = 70
    type = "internal"
    advice = "A bug in aimusic: run the same command with --debug and report the traceback."


class CannotWriteError(AimusicError):
    """The output cannot be created: a read-only file system or a folder without write permission."""
    exit_code = 73
    type = "cannot_write"
    permanent = True
    advice = "The output folder is read-only or not writable: pick another --output-dir or fix its permissions."


class DiskFullError(AimusicError):
    """The disk (or the user's quota) is full: nothing was left half-written."""
    exit_code = 74
    type = "disk_full"
    advice = "The disk is full: free some space (or pick another --output-dir), then retry."


class RetryableError(AimusicError):
    """Timeout, 429, busy: the same call may work later, sent more slowly."""
    exit_code = 75
    type = "retryable"
    retryable = True
    slow_down = True
    advice = "Temporary (timeout, rate limit): wait a minute and retry the same command."


class TransportError(RetryableError, UpstreamError):
    """The connection to a service failed: refused, unknown host, reset, broken off mid-stream.
    Retryable (the service may be back later), but not a request to slow down. It is also an
    UpstreamError, so code that falls back when a server fails falls back here too."""
    exit_code = 75
    type = "unreachable"
    retryable = True
    slow_down = False
    advice = "The service could not be reached: check that it runs and its URL and the network, then retry."


class AuthError(AimusicError):
    """Not signed in, token rejected, or no balance."""
    exit_code = 77
    type = "auth"
    permanent = True
    advice = "Ask the user to sign in: `aimusic login runcomfy` or `aimusic login elevenlabs` (they type the key)."


class NotConfiguredError(AimusicError):
    """Something the user must set up first (weights, a server URL); the message names the fix."""
    exit_code = 78
    type = "not_configured"
    permanent = True
    advice = "Run the fix the message prints (e.g. `aimusic models pull MODEL_ID`), or pick another provider."


class Interrupted(AimusicError):
    """Ctrl-C or a client's cancellation, after cancelling any remote job."""
    exit_code = 130
    type = "interrupted"
    advice = "The user interrupted: do not retry unless asked."


class Terminated(Interrupted):
    """SIGTERM (a supervisor or an agent's timeout stopping the CLI), after the same clean-up as
    Ctrl-C; 143 = 128 + SIGTERM, as a shell reports a process the signal ended."""
    exit_code = 143
    type = "terminated"
    advice = "The process was told to stop: do not retry unless asked."


def error_classes() -> dict[str, type[AimusicError]]:
    """Every error class by its `type` (subclasses defined elsewhere included)."""
    found: dict[str, type[AimusicError]] = {}
    pending: list[type[AimusicError]] = [AimusicError]
    while pending:
        cls = pending.pop(0)
        found.setdefault(cls.type, cls)
        pending.extend(cls.__subclasses__())
    return found


def error_class(type_name: str | None) -> type[AimusicError] | None:
    """The class whose `type` is `type_name`, or None."""
    return error_classes().get(str(type_name or "")) if type_name else None


def from_dict(data: dict[str, Any] | None) -> AimusicError:
    """The error a `to_dict()` (or a batch error dict) describes, as its own class again.
    An unknown or missing `type` is an internal error: something failed without saying how."""
    data = data if isinstance(data, dict) else {}
    cls = error_class(data.get("type")) or InternalError
    message = str(data.get("message") or "unknown failure")
    error = cls(message, field=data.get("field"), hint=data.get("hint") or None,
                details=data.get("details") if isinstance(data.get("details"), list) else None)
    if error.hint and message.endswith(f" ({error.hint})"):  # str(error) already carried the hint
        error.message = message[: -len(error.hint) - 3]
    return error


def error_of(exc: BaseException) -> AimusicError:
    """Any exception as one of ours: KeyboardInterrupt -> Interrupted, a bug -> InternalError."""
    if isinstance(exc, AimusicError):
        return exc
    if isinstance(exc, KeyboardInterrupt):
        return Interrupted("interrupted")
    if isinstance(exc, OSError):
        known = os_error(exc)
        if known is not None:
            return known
    return InternalError(f"internal error ({exc.__class__.__name__}); run with --debug and report it")


def os_error(exc: OSError, what: str = "") -> AimusicError | None:
    """A full disk (74) or a read-only / unwritable place (73) as one of ours; None for the rest."""
    import errno

    where = f" {what}" if what else (f" {exc.filename}" if getattr(exc, "filename", None) else "")
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return DiskFullError(f"no space left on the device writing{where}")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return CannotWriteError(f"cannot write{where}: {exc.strerror or 'permission denied'}")
    return None


# every class a front door may meet, in exit-code order (EXIT_CODES and the skill's table)
ERROR_CLASSES: tuple[type[AimusicError], ...] = (
    UsageError, InputError, InputFileError, UpstreamError, InternalError, CannotWriteError, DiskFullError,
    RetryableError, AuthError,
    NotConfiguredError, Interrupted, Terminated)

SUCCESS_ADVICE = "Hand the printed file paths to the user."

EXIT_CODES: dict[int, str] = {
    0: "success (every output file written completely)",
    64: "bad command-line usage or unknown model id",
    65: "bad input: JSON, schema, range, unreadable audio",
    66: "an input file does not exist or cannot be read",
    69: "upstream service failure",
    70: "internal error (a bug in aimusic): run with --debug and report it",
    73: "cannot write the output: a read-only or unwritable output folder",
    74: "the disk is full (nothing was left half-written)",
    75: "retryable: timeout, 429, busy, service unreachable",
    77: "not signed in, token rejected, or insufficient balance",
    78: "not configured: the message names the fix",
    130: "interrupted (Ctrl-C), after cancelling any remote job",
    143: "stopped by SIGTERM, after the same clean-up as Ctrl-C",
}

"""The one exception hierarchy. Each class carries its exit code (sysexits.h);
nothing else in aimusic decides exit codes."""

from __future__ import annotations

from typing import Any


class AimusicError(Exception):
    """Base of every error a user can cause or meet. Never shown with a traceback."""

    exit_code: int = 1
    type: str = "error"

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None,
                 details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.hint = hint
        self.details = details or []

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.exit_code, "type": self.type,
                                "message": self.message, "field": self.field}
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


class InputError(AimusicError):
    """Bad input: JSON, schema, range, unreadable audio."""
    exit_code = 65
    type = "bad_input"


class InputFileError(AimusicError):
    """An input file that does not exist or cannot be read."""
    exit_code = 66
    type = "input_file"


class UpstreamError(AimusicError):
    """The upstream service failed (5xx, failed remote job, broken download)."""
    exit_code = 69
    type = "upstream"


class RetryableError(AimusicError):
    """Timeout, 429, busy: the same call may work later."""
    exit_code = 75
    type = "retryable"


class AuthError(AimusicError):
    """Not signed in, token rejected, or no balance."""
    exit_code = 77
    type = "auth"


class NotConfiguredError(AimusicError):
    """Something the user must set up first (weights, a server URL); the message names the fix."""
    exit_code = 78
    type = "not_configured"


class Interrupted(AimusicError):
    """Ctrl-C or a client's cancellation, after cancelling any remote job."""
    exit_code = 130
    type = "interrupted"


EXIT_CODES: dict[int, str] = {
    0: "success (every output file written completely)",
    64: "bad command-line usage or unknown model id",
    65: "bad input: JSON, schema, range, unreadable audio",
    66: "an input file does not exist or cannot be read",
    69: "upstream service failure",
    75: "retryable: timeout, 429, busy",
    77: "not signed in, token rejected, or insufficient balance",
    78: "not configured: the message names the fix",
    130: "interrupted (Ctrl-C), after cancelling any remote job",
}

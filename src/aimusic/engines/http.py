"""HTTP rules every HTTP client shares (RunComfy, ElevenLabs, ComfyUI): the download
allowlist, retries that are safe, `Retry-After`, capped streaming downloads, and the one
mapping of faults to error classes:

| fault | class (exit) |
|---|---|
| connection refused, unknown host, connect timeout, reset, broken stream | TransportError (75, retryable) |
| read/write timeout, 408, 429 | RetryableError (75, retryable, slow down) |
| 401, 403, 402 | AuthError (77, permanent) |
| other 4xx | InputError (65, permanent) |
| 5xx | UpstreamError (69) |

`transport_error(exc, service)` and `status_error(status, body, service)` are those rules;
every client calls them rather than choosing classes itself.

Why hand-written rather than a retry library (tenacity, httpx transports): the rules are
about *which* calls may be repeated (a submit that may have been accepted never is, because
a duplicate is a second charge) and about cancellation between attempts, which is easier to
read as one loop than as decorator configuration.
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urljoin, urlsplit, urlunsplit

from aimusic.config import redact
from aimusic.errors import (AimusicError, AuthError, InputError, Interrupted, RetryableError,
                            TransportError, UpstreamError)

if TYPE_CHECKING:  # httpx loads on first request, so listing models stays fast
    import httpx

DEFAULT_MAX_DOWNLOAD_BYTES = 2 * 1024**3
MAX_REDIRECTS = 5
MAX_RETRY_AFTER_S = 120.0
CHUNK_BYTES = 1 << 16

RETRYABLE_STATUS = frozenset({408, 429, 502, 503, 504})
STALL_SECONDS = 30.0            # a download that brings fewer than STALL_MIN_BYTES in this long has stalled
STALL_MIN_BYTES = 1024
MAX_UNKNOWN_STATUS_POLLS = 20   # status answers in a row that name no known state: the service is broken
MAX_ANSWER_BYTES = 16 * 1024**2 # an API answer (JSON: a status, a plan, an id) is never near this; audio is a download
MAX_ANSWER_SECONDS = 120.0      # reading one answer's body: a trickle that takes longer is not an answer


def stall_seconds() -> float:
    """STALL_SECONDS, or AIMUSIC_STALL_SECONDS (a positive number) when set."""
    value = os.environ.get("AIMUSIC_STALL_SECONDS", "")
    try:
        seconds = float(value) if value else STALL_SECONDS
    except ValueError:
        return STALL_SECONDS
    return seconds if 0 < seconds < float("inf") else STALL_SECONDS


def json_of(response: httpx.Response, provider: str, action: str) -> Any:
    """A response's JSON, or UpstreamError (69) for a body that is not JSON or nests absurdly deep."""
    try:
        return response.json()
    except RecursionError:
        raise UpstreamError(f"{provider} {action}: the answer is nested too deeply to read") from None
    except (ValueError, UnicodeDecodeError):
        kind = response.headers.get("content-type", "").split(";")[0] or "unknown type"
        raise UpstreamError(f"{provider} {action}: the answer is not JSON ({kind})") from None


def transient_errors() -> tuple[type[Exception], ...]:
    """Transport failures that mean "try again later". httpx.ConnectError (one of them) happens
    before a byte of the request is sent, so even a submit may repeat it; the others may strike
    after the server has the request."""
    import httpx

    return (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


_ssl_lock = threading.Lock()
_ssl_context: Any = None


def ssl_context() -> Any:
    """One TLS context (certifi's CA bundle) for every client in this process: building it costs
    ~50 ms, which would otherwise be paid by every request of a batch."""
    global _ssl_context
    with _ssl_lock:
        if _ssl_context is None:
            import httpx

            _ssl_context = httpx.create_ssl_context()
        return _ssl_context


# --- allowlist -----------------------------------------------------------------------------

@dataclass(frozen=True)
class HostAllowlist:
    """Hosts a client may fetch from. `exact` entries are `host:port` pairs taken from configured
    base URLs (and may be plain http when the base URL is); `suffixes` are domains (".runcomfy.net")
    whose hosts are allowed over https only."""

    exact: frozenset[tuple[str, str, int]] = frozenset()   # (scheme, host, port)
    suffixes: tuple[str, ...] = ()

    @classmethod
    def for_provider(cls, base_urls: list[str], domains: tuple[str, ...] = ()) -> HostAllowlist:
        exact = set()
        for url in base_urls:
            parts = urlsplit(url)
            if parts.hostname:
                exact.add((parts.scheme, parts.hostname.lower(), _port(parts)))
        suffixes = list(domains)
        for entry in os.environ.get("AIMUSIC_DOWNLOAD_HOSTS", "").split(","):
            entry = entry.strip().lower()
            if not entry:
                continue
            if entry.startswith("*."):
                suffixes.append(entry[1:])
            elif entry.startswith("."):
                suffixes.append(entry)
            elif "://" in entry:
                parts = urlsplit(entry)
                if parts.hostname:
                    exact.add((parts.scheme, parts.hostname, _port(parts)))
            else:
                exact.add(("https", entry, 443))
        return cls(frozenset(exact), tuple(suffixes))

    def allows(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            port = _port(parts)
        except ValueError:
            return False
        if not host or parts.scheme not in ("http", "https"):
            return False
        if (parts.scheme, host, port) in self.exact:
            return True
        if parts.scheme != "https":
            return False
        return any(host.endswith(suffix) or host == suffix.lstrip(".") for suffix in self.suffixes)


def _port(parts: Any) -> int:
    try:
        port = parts.port
    except ValueError:
        port = None
    return port or (443 if parts.scheme == "https" else 80)


def public_url(url: str) -> str:
    """A URL safe to record: no query or fragment (signed file URLs carry credentials there)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))


# --- errors --------------------------------------------------------------------------------

def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError, RecursionError):
        return response.text[:500] if response.content else None


def detail_text(body: Any) -> str:
    """The provider's own words about a failure, in one short line."""
    if body is None:
        return ""
    if isinstance(body, str):
        return body.strip()[:500]
    if isinstance(body, dict):
        detail = body.get("detail", body.get("error", body.get("message")))
        if isinstance(detail, dict):
            message = detail.get("message") or detail.get("status") or json.dumps(detail)[:300]
            return str(message)[:500]
        if isinstance(detail, list):  # pydantic-style validation list
            parts = []
            for item in detail[:5]:
                if isinstance(item, dict):
                    loc = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                    parts.append(f"{loc}: {item.get('msg', item)}" if loc else str(item.get("msg", item)))
                else:
                    parts.append(str(item))
            return "; ".join(parts)[:500]
        if detail is not None:
            return str(detail)[:500]
        return json.dumps(body)[:300]
    return str(body)[:500]


def error_for_status(status: int, detail: str, *, provider: str, action: str,
                     key_hint: str = "", error_code: Any = None) -> AimusicError:
    """Our exception for an HTTP status (or an `error_code` whose first 3 digits are one)."""
    detail = redact(detail)
    said = f": {detail}" if detail else ""
    code = f" (error_code {error_code})" if error_code is not None else ""
    if status == 402:
        return AuthError(f"{provider} {action} failed: insufficient balance{said}{code}",
                         hint="top up the account, then retry")
    if status in (401, 403):
        return AuthError(f"{provider} rejected the credentials (HTTP {status}){said}{code}",
                         hint=key_hint or None)
    if status in (408, 429):
        return RetryableError(f"{provider} is busy or rate limited (HTTP {status}){said}{code}",
                              hint="wait a little and retry")
    if 400 <= status < 500:
        return InputError(f"{provider} refused the {action} (HTTP {status}){said}{code}")
    return UpstreamError(f"{provider} {action} failed (HTTP {status}){said}{code}")


def error_from_response(response: httpx.Response, *, provider: str, action: str,
                        key_hint: str = "") -> AimusicError:
    body = _body(response)
    error_code = body.get("error_code") if isinstance(body, dict) else None
    return error_for_status(response.status_code, detail_text(body), provider=provider, action=action,
                            key_hint=key_hint, error_code=error_code)


def check_body_error(body: Any, *, provider: str, action: str, key_hint: str = "") -> None:
    """Some endpoints answer HTTP 200 with a top-level `error_code`: that is a failure too."""
    if not isinstance(body, dict) or body.get("error_code") in (None, "", 0):
        return
    code = body["error_code"]
    try:
        status = int(str(code)[:3])
    except ValueError:
        status = 400
    if not 400 <= status < 600:
        status = 400
    raise error_for_status(status, detail_text(body), provider=provider, action=action,
                           key_hint=key_hint, error_code=code)


def status_error(status: int, body: Any, service: str, *, action: str = "request", key_hint: str = "",
                 error_code: Any = None) -> AimusicError:
    """Our error for an HTTP answer `status` with `body` (parsed JSON, text or None) from
    `service`: the one status mapping (see the module docstring)."""
    if error_code is None and isinstance(body, dict):
        error_code = body.get("error_code")
    return error_for_status(status, detail_text(body), provider=service, action=action, key_hint=key_hint,
                            error_code=error_code)


def is_connect_fault(exc: BaseException) -> bool:
    """A failure before a byte of the request was sent (refused, unknown host, connect
    timeout): even a submit may repeat it."""
    import socket

    import httpx

    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
        return True
    return isinstance(exc, (ConnectionRefusedError, socket.gaierror))


def transport_error(exc: BaseException, service: str, *, action: str = "", sent: bool = False,
                    hint: str | None = None) -> AimusicError:
    """Our error for a transport fault talking to `service` (e.g. "RunComfy", "the ComfyUI
    server at http://host:8188"): the one transport mapping (see the module docstring).

    `sent`: the request may have reached the server (an unsafe call such as a submit), so the
    message says it may have been accepted and is not repeated automatically."""
    import httpx

    name = exc.__class__.__name__
    what = f"{service} {action}".strip()
    if is_connect_fault(exc):
        return TransportError(f"cannot reach {service} ({name})",
                              hint=hint or "check that it runs, the network and its URL, then retry")
    timeout = isinstance(exc, (httpx.TimeoutException, TimeoutError))
    if sent:
        cls = RetryableError if timeout else TransportError
        return cls(f"{what}: the connection failed after the request was sent ({name}); it may have been "
                   "accepted, so it is not retried automatically",
                   hint="check your provider dashboard before retrying")
    if timeout:
        return RetryableError(f"{what}: no answer in time ({name})", hint=hint or "retry later")
    return TransportError(f"{what}: the connection broke off ({name})", hint=hint or "retry later")


def transport_faults() -> tuple[type[BaseException], ...]:
    """Every exception `transport_error` maps: httpx's transport errors and the OS's."""
    import httpx

    return (httpx.TransportError, OSError)


# --- retries -------------------------------------------------------------------------------

def retry_after_seconds(response: httpx.Response | None) -> float | None:
    """`Retry-After` as seconds (delta or HTTP date), or None."""
    if response is None:
        return None
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass
class RetryPolicy:
    attempts: int = 5            # total tries of a safe call
    base_delay: float = 0.5
    max_delay: float = 10.0
    jitter: float = 0.25         # +- fraction of each delay, so parallel clients spread out

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        told = retry_after_seconds(response)
        if told is not None:
            return min(told, MAX_RETRY_AFTER_S)
        delay = min(self.max_delay, self.base_delay * (2 ** attempt))
        return delay * (1 + random.uniform(-self.jitter, self.jitter))


@dataclass
class CallGuard:
    """What a waiting call must respect: a cancellation flag and an overall deadline."""

    cancelled: Callable[[], bool] = lambda: False
    deadline: float | None = None       # time.monotonic() value
    on_retry: Callable[[str], None] | None = None

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Sleep, waking early for cancellation; raise Interrupted if cancelled."""
        end = time.monotonic() + max(0.0, seconds)
        while True:
            if self.cancelled():
                raise Interrupted("cancelled")
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.05))


@dataclass
class HttpCall:
    """One logical call to a provider: how to send it, whether it may repeat, how to name failures."""

    provider: str
    action: str
    safe: bool                       # may be repeated after the server may have seen it
    key_hint: str = ""
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    # a provider-specific reading of an error answer (e.g. ElevenLabs' prompt suggestions);
    # None falls back to the status-code mapping
    refine: Callable[[httpx.Response], AimusicError | None] | None = None


def send(client: httpx.Client, method: str, url: str, call: HttpCall, guard: CallGuard | None = None,
         **kwargs: Any) -> httpx.Response:
    """Send a request, retrying only what is safe; return a 2xx response or raise our error.

    Safe calls (status polls, GETs) are retried on 408/429/502/503/504 and transport errors.
    An unsafe call (a submit) is retried only when the server certainly did not take it: a
    connection that never opened, or a 429 (a refusal). Everything else raises at once.
    """
    guard = guard or CallGuard()
    attempts = call.policy.attempts
    last_error: AimusicError | None = None
    for attempt in range(attempts):
        if guard.cancelled():
            raise Interrupted("cancelled")
        response = None
        try:
            response = bounded_request(client, method, url, f"{call.provider} {call.action}", **kwargs)
        except transient_errors() as exc:
            if not call.safe and not is_connect_fault(exc):
                raise transport_error(exc, call.provider, action=call.action, sent=True) from None
            last_error = transport_error(exc, call.provider, action=call.action)
        else:
            if response.status_code < 300:
                return response
            error = (call.refine(response) if call.refine else None) or error_from_response(
                response, provider=call.provider, action=call.action, key_hint=call.key_hint)
            retryable = response.status_code in RETRYABLE_STATUS if call.safe else response.status_code == 429
            if not retryable:
                raise error
            last_error = error
        if not _pause_before_retry(call.policy, attempt, response, guard,
                                   f"{call.provider} {call.action}: {last_error.message}"):
            break
    assert last_error is not None
    raise last_error


class StallWatch:
    """Counts the bytes of a body as they arrive and raises RetryableError when fewer than
    STALL_MIN_BYTES came in the last `stall_seconds()`: a trickle is a stall, however long the
    read timeout. The clock starts at the first byte (a service may think before it speaks)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.stall = stall_seconds()
        self.window_start: float | None = None
        self.window_bytes = 0

    def add(self, count: int) -> None:
        now = time.monotonic()
        if self.window_start is None:
            self.window_start = now
        self.window_bytes += count
        if now - self.window_start >= self.stall:
            if self.window_bytes < STALL_MIN_BYTES:
                raise RetryableError(f"{self.what} stalled: {self.window_bytes} bytes in "
                                     f"{now - self.window_start:.0f} s", hint="retry later")
            self.window_start, self.window_bytes = now, 0


def bounded_request(client: httpx.Client, method: str, url: str, what: str, *,
                    max_bytes: int = MAX_ANSWER_BYTES, **kwargs: Any) -> httpx.Response:
    """`client.request`, with the body read under a size cap (`max_bytes`) and a time cap
    (MAX_ANSWER_SECONDS): a hostile or broken server cannot fill memory or hold the call open by
    trickling. httpx's own timeouts bound each read, not the whole body, hence this loop.
    `what` names the call in the error ("ElevenLabs status")."""
    import httpx

    request = client.build_request(method, url, **kwargs)
    streamed = client.send(request, stream=True)
    started, body, size = time.monotonic(), [], 0
    try:
        for chunk in streamed.iter_bytes(CHUNK_BYTES):
            size += len(chunk)
            if size > max_bytes:
                raise UpstreamError(f"{what}: the answer is over {max_bytes // 1024**2} MiB (not an API answer)")
            if time.monotonic() - started > MAX_ANSWER_SECONDS:
                raise UpstreamError(f"{what}: the answer took over {MAX_ANSWER_SECONDS:g} s to arrive")
            body.append(chunk)
    finally:
        streamed.close()
    # the body is decoded already (iter_bytes undoes gzip/br, capped above): the copy must not decode again
    headers = [(k, v) for k, v in streamed.headers.multi_items() if k.lower() not in ("content-encoding", "content-length")]
    return httpx.Response(streamed.status_code, headers=headers, content=b"".join(body), request=request)


# --- downloads -----------------------------------------------------------------------------

def max_download_bytes(options: dict[str, Any] | None = None) -> int:
    value = (options or {}).get("max_download_bytes") or os.environ.get("AIMUSIC_MAX_DOWNLOAD_BYTES")
    if value in (None, ""):
        return DEFAULT_MAX_DOWNLOAD_BYTES
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise InputError(f"max download size must be a number of bytes, not {value!r}",
                         field="max_download_bytes") from None
    if limit <= 0:
        raise InputError("max download size must be positive", field="max_download_bytes")
    return limit


class _Incomplete(Exception):
    pass


@dataclass
class Downloaded:
    url: str            # public form (no query)
    name: str           # the URL's last path segment, sanitised
    size: int
    content_type: str


def url_file_name(url: str) -> str:
    from urllib.parse import unquote

    from aimusic.output.naming import safe_name

    segment = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    return safe_name(segment)


def _pause_before_retry(policy: RetryPolicy, attempt: int, response: Any, guard: CallGuard, what: str) -> bool:
    """Wait before attempt `attempt + 1`, telling the user; False when no retry is left (attempts
    spent, or the wait would outlast the deadline)."""
    if attempt + 1 >= policy.attempts:
        return False
    wait = policy.delay(attempt, response)
    remaining = guard.remaining()
    if remaining is not None and wait > remaining:
        return False
    if guard.on_retry:
        guard.on_retry(f"{what}; retrying in {wait:.1f} s")
    guard.sleep(wait)
    return True


def download(client: httpx.Client, url: str, staged: Any, allowlist: HostAllowlist, *,
             provider: str, max_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES, guard: CallGuard | None = None,
             policy: RetryPolicy | None = None, headers: dict[str, str] | None = None) -> Downloaded:
    """Stream `url` into `staged` (a StagedFile); every redirect hop is checked against the
    allowlist, the size is capped, and a body shorter than its Content-Length is an error.
    Transport failures and 5xx are retried from the start (a GET is safe to repeat)."""
    import httpx

    guard = guard or CallGuard()
    policy = policy or RetryPolicy(attempts=4)
    last_error: AimusicError | None = None
    for attempt in range(policy.attempts):
        response = None
        try:
            return _download_once(client, url, staged, allowlist, provider=provider, max_bytes=max_bytes,
                                  guard=guard, headers=headers)
        except _Retry as retry:
            last_error, response = retry.error, retry.response
        except (transient_errors() + (httpx.ConnectError, _Incomplete)) as exc:
            cls = type(transport_error(exc, provider)) if not isinstance(exc, _Incomplete) else TransportError
            last_error = cls(
                f"download of {url_file_name(url)} from {provider} broke off "
                f"({exc.__class__.__name__ if not isinstance(exc, _Incomplete) else exc})")
        if not _pause_before_retry(policy, attempt, response, guard, last_error.message):
            break
    assert last_error is not None
    raise last_error


def _timed_out(url: str, provider: str) -> RetryableError:
    return RetryableError(f"timed out downloading {url_file_name(url)} from {provider} (the job's time limit "
                          "covers its downloads)", hint="retry later, or raise --timeout")


class _Retry(Exception):
    def __init__(self, error: AimusicError, response: httpx.Response | None) -> None:
        self.error = error
        self.response = response


def _download_once(client: httpx.Client, url: str, staged: Any, allowlist: HostAllowlist, *,
                   provider: str, max_bytes: int, guard: CallGuard,
                   headers: dict[str, str] | None) -> Downloaded:
    import httpx

    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        if not allowlist.allows(current):
            host = urlsplit(current).hostname or current
            raise UpstreamError(f"refusing to download from {host}: not on the {provider} allowlist",
                                hint="add the host to AIMUSIC_DOWNLOAD_HOSTS if you trust it")
        # the read timeout is the stall limit (and never outlasts the job's deadline)
        read_limit = stall_seconds()
        remaining = guard.remaining()
        if remaining is not None:
            if remaining <= 0:
                raise _timed_out(url, provider)
            read_limit = min(read_limit, max(remaining, 0.1))
        timeout = httpx.Timeout(client.timeout.connect, read=read_limit, write=client.timeout.write,
                                pool=client.timeout.pool)
        with client.stream("GET", current, headers=headers, follow_redirects=False,
                           timeout=timeout) as response:
            if response.is_redirect:
                location = response.headers.get("location")
                if not location:
                    raise UpstreamError(f"{provider} file host redirected without a location")
                current = urljoin(current, location)
                continue
            if response.status_code >= 300:
                response.read()
                error = error_from_response(response, provider=provider, action="file download")
                if response.status_code in RETRYABLE_STATUS:
                    raise _Retry(error, response)
                # a missing or forbidden output file is the provider's failure, not the user's input
                raise UpstreamError(f"download of {url_file_name(url)} failed: {error.message}")
            declared = response.headers.get("content-length")
            expected = int(declared) if declared and declared.isdigit() else None
            if expected is not None and expected > max_bytes:
                raise UpstreamError(f"{url_file_name(url)} is {expected} bytes, over the {max_bytes}-byte "
                                    "download cap", hint="raise AIMUSIC_MAX_DOWNLOAD_BYTES if you expect it")
            written = 0
            watch = StallWatch(f"download of {url_file_name(url)} from {provider}")
            watch.window_start = time.monotonic()   # a download's clock starts with the answer
            with staged.open("wb") as handle:
                for chunk in response.iter_raw():  # as the bytes arrive: a trickle is seen, not buffered
                    if guard.cancelled():
                        raise Interrupted("cancelled")
                    remaining = guard.remaining()
                    if remaining is not None and remaining <= 0:
                        raise _timed_out(url, provider)
                    watch.add(len(chunk))
                    written += len(chunk)
                    if written > max_bytes:
                        raise UpstreamError(f"{url_file_name(url)} grew past the {max_bytes}-byte download "
                                            "cap; stopped", hint="raise AIMUSIC_MAX_DOWNLOAD_BYTES if you "
                                            "expect it")
                    handle.write(chunk)
            if expected is not None and written != expected:
                raise _Incomplete(f"{written} of {expected} bytes")
            if written == 0:
                raise UpstreamError(f"{provider} served an empty file for {url_file_name(url)}")
            return Downloaded(public_url(current), url_file_name(current), written,
                              response.headers.get("content-type", ""))
    raise UpstreamError(f"too many redirects downloading {url_file_name(url)}")


# --- audio type ----------------------------------------------------------------------------

_CONTENT_TYPES = {"audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/wav": "wav", "audio/x-wav": "wav",
                  "audio/wave": "wav", "audio/flac": "flac", "audio/x-flac": "flac", "audio/ogg": "ogg"}
AUDIO_EXTS = ("mp3", "wav", "flac", "ogg")


def sniff_audio_ext(path: str, name: str = "", content_type: str = "") -> str | None:
    """The audio container of a downloaded file, from its first bytes (then its name, its type)."""
    with open(path, "rb") as handle:
        head = handle.read(12)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0):
        return "mp3"
    if head.lstrip()[:1] in (b"<", b"{", b"["):  # an HTML page or a JSON error, whatever its name says
        return None
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext in AUDIO_EXTS:
        return ext
    return _CONTENT_TYPES.get(content_type.split(";")[0].strip().lower())

"""aimusic.errors: every class states its policy; the policy survives a process boundary; one
transport-fault mapping for every HTTP client."""

from __future__ import annotations

import json

import httpx
import pytest

from aimusic import errors
from aimusic.errors import (ERROR_CLASSES, EXIT_CODES, AuthError, InputError, InternalError, Interrupted,
                            RetryableError, TransportError, UpstreamError, error_class, from_dict)


def test_every_class_states_exit_code_type_policy_and_advice():
    for cls in ERROR_CLASSES + (TransportError,):
        assert cls.exit_code in EXIT_CODES, cls
        assert cls.type and cls.advice.endswith("."), cls
        assert not (cls.retryable and cls.permanent), cls
        assert error_class(cls.type) is cls
    assert InternalError.exit_code == 70 and InternalError.type == "internal"
    assert RetryableError.retryable and RetryableError.slow_down
    assert TransportError.retryable and not TransportError.slow_down and issubclass(TransportError, UpstreamError)
    assert InputError.permanent and AuthError.permanent and not UpstreamError.permanent


def test_policy_survives_serialisation():
    from aimusic.batch.execute import error_dict

    for exc in (TransportError("cannot reach x", hint="start it"), RetryableError("busy"), InputError("bad"),
                Interrupted("stop"), UpstreamError("boom")):
        data = json.loads(json.dumps(error_dict(exc)))
        again = from_dict(data)
        assert type(again) is type(exc) and again.message == exc.message and again.hint == exc.hint
        assert data["retryable"] == exc.retryable and data["permanent"] == exc.permanent
    bug = error_dict(ValueError("oops"))
    assert bug["type"] == "internal" and bug["code"] == 70 and "traceback" in bug
    assert isinstance(from_dict({"message": "?"}), InternalError)
    assert isinstance(from_dict(None), InternalError)


def test_a_bug_is_exit_70_internal_in_one_line(monkeypatch, capsys):
    import aimusic.cli as cli_module

    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(cli_module.cli, "main", broken)
    assert cli_module.main(["models", "--json"]) == 70
    error = json.loads(capsys.readouterr().err)["error"]
    assert error["type"] == "internal" and error["code"] == 70 and "--debug" in error["advice"]


def test_no_policy_by_number_in_the_package():
    """Retries, advice and summaries read the classes: no `== 75`-style comparisons remain."""
    import re
    from pathlib import Path

    root = Path(errors.__file__).parent
    pattern = re.compile(r"(exit_code|code)\s*(==|!=|in)\s*\(?\s*(64|65|66|69|70|75|77|78|130)\b")
    hits = [f"{path.relative_to(root)}: {line.strip()}" for path in root.rglob("*.py")
            for line in path.read_text(encoding="utf-8").splitlines() if pattern.search(line)]
    assert not hits, hits


# --- one transport mapping -------------------------------------------------------------------

REQUEST = httpx.Request("GET", "http://example.invalid/x")


@pytest.mark.parametrize("exc, cls", [
    (httpx.ConnectError("refused", request=REQUEST), TransportError),
    (httpx.ConnectTimeout("slow connect", request=REQUEST), TransportError),
    (ConnectionRefusedError(), TransportError),
    (httpx.ReadError("reset", request=REQUEST), TransportError),
    (httpx.RemoteProtocolError("broken", request=REQUEST), TransportError),
    (httpx.ReadTimeout("slow", request=REQUEST), RetryableError),
])
def test_transport_faults_map_to_one_class(exc, cls):
    from aimusic.engines.http import transport_error

    error = transport_error(exc, "Svc", action="poll")
    assert type(error) is cls and error.exit_code == 75 and error.retryable
    if not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, ConnectionRefusedError)):
        sent = transport_error(exc, "Svc", action="submit", sent=True)
        assert type(sent) is cls and "may have been accepted" in sent.message


@pytest.mark.parametrize("status, cls", [
    (401, AuthError), (402, AuthError), (403, AuthError), (408, RetryableError), (429, RetryableError),
    (404, InputError), (422, InputError), (500, UpstreamError), (503, UpstreamError),
])
def test_statuses_map_to_one_class(status, cls):
    from aimusic.engines.http import status_error

    error = status_error(status, {"detail": "why"}, "Svc", action="submit")
    assert type(error) is cls and "why" in error.message


def test_a_refused_connection_is_the_same_class_from_every_client():
    from aimusic.engines.comfyui.client import ComfyClient
    from aimusic.engines.http import HttpCall, RetryPolicy, send

    with ComfyClient("http://127.0.0.1:9", timeout=2) as client, pytest.raises(TransportError) as comfy:
        client.system_stats()
    assert "COMFYUI_URL" in str(comfy.value) and "127.0.0.1:9" in comfy.value.message
    with httpx.Client(timeout=2) as http, pytest.raises(TransportError):
        send(http, "GET", "http://127.0.0.1:9/x", HttpCall("Svc", "poll", safe=True, policy=RetryPolicy(attempts=1)))

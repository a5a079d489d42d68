"""A small client for one ComfyUI server: the HTTP routes and the progress websocket.

Every route maps its failures onto aimusic's errors here, so the engine reads as the
sequence of steps it is: upload, check files, submit, follow, collect. Transport faults and
HTTP statuses go through the rules every client shares (`engines.http.transport_error`,
`status_error`): a server that is not running is a retryable TransportError (75) whose
message names the URL and COMFYUI_URL, as for any hosted API.
"""

from __future__ import annotations

import json
import mimetypes
import os
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator
from urllib.parse import urlsplit, urlunsplit


from aimusic.engines.http import bounded_request, status_error, transport_error, transport_faults
from aimusic.errors import InputError, NotConfiguredError, UpstreamError

if TYPE_CHECKING:
    import httpx

UPLOAD_SUBFOLDER = "aimusic"
# statuses whose meaning is the same on every service (the rest are route-specific here)
SHARED_STATUSES = frozenset({401, 402, 403, 408, 429})
DOWNLOAD_CHUNK = 1 << 16
# the largest JSON answer read (audio is a download, capped on its own): a full /object_info of an
# install with many node packs runs to a few MiB, so this is well above any real answer
MAX_ANSWER_BYTES = 64 * 1024**2


def normalise_url(url: str) -> str:
    """`host:port` or a full http(s) URL -> `scheme://host:port` without a trailing slash."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotConfiguredError(f"COMFYUI_URL entry {display_url(url)!r} is not an http(s) URL",
                                 field="COMFYUI_URL", hint="e.g. COMFYUI_URL=http://127.0.0.1:8188")
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def display_url(url: str) -> str:
    """The URL without any user:password part, for messages and sidecars."""
    parts = urlsplit(url if "://" in url else "http://" + url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class ComfyClient:
    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = normalise_url(base_url)
        self.where = display_url(self.base_url)
        import httpx  # on first use: `aimusic plan` probes availability without needing it

        # No redirects: every byte comes from the configured server's host and nowhere else.
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ComfyClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------
    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = bounded_request(self.http, method, path, f"the ComfyUI server at {self.where} {path}",
                                       max_bytes=MAX_ANSWER_BYTES, **kwargs)
        except transport_faults() as exc:
            raise self.fault(exc, f"{method} {path}") from None
        if response.is_redirect:
            raise UpstreamError(f"the ComfyUI server at {self.where} redirected {path} elsewhere; "
                                "aimusic only talks to the configured host")
        if response.status_code >= 500 or response.status_code in SHARED_STATUSES:
            raise self.status(response, path)
        return response

    def fault(self, exc: BaseException, action: str) -> Exception:
        """A transport fault talking to this server, by the shared rules."""
        return transport_error(exc, f"the ComfyUI server at {self.where}", action=action,
                               hint="start ComfyUI or fix COMFYUI_URL")

    def status(self, response: httpx.Response, path: str) -> Exception:
        """An error answer, by the shared rules (403 is usually ComfyUI's origin check)."""
        try:
            body: Any = response.json()
        except (ValueError, UnicodeDecodeError):
            body = response.text[:500] if response.content else None
        hint = "check its --listen / origin settings, or the user:password in COMFYUI_URL" \
            if response.status_code in (401, 403) else ""
        return status_error(response.status_code, body, f"the ComfyUI server at {self.where}",
                            action=path, key_hint=hint)

    def get_json(self, path: str, **kwargs: Any) -> Any:
        response = self.request("GET", path, **kwargs)
        if response.status_code != 200:
            raise UpstreamError(f"the ComfyUI server at {self.where} answered {response.status_code} to {path}")
        try:
            return response.json()
        except ValueError:
            raise UpstreamError(f"{self.where}{path} did not return JSON: is this a ComfyUI server?") from None

    # -- routes ----------------------------------------------------------------------------
    def system_stats(self) -> dict[str, Any]:
        return self.get_json("/system_stats")

    def version(self) -> str | None:
        stats = self.system_stats()
        return (stats.get("system") or {}).get("comfyui_version") if isinstance(stats, dict) else None

    def object_info(self, node_type: str | None = None) -> dict[str, Any]:
        data = self.get_json(f"/object_info/{node_type}" if node_type else "/object_info")
        return data if isinstance(data, dict) else {}

    def node_specs(self, node_types: list[str]) -> dict[str, Any]:
        specs: dict[str, Any] = {}
        for node_type in node_types:
            specs.update(self.object_info(node_type))
        return specs

    def upload_audio(self, path: str | Path) -> str:
        """Upload a local file into input/aimusic/ under a content-hash name; returns the
        `subfolder/name` LoadAudio takes. The same file uploads to the same name every time."""
        import hashlib

        path = Path(path)
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        name = f"{digest.hexdigest()[:24]}{path.suffix.lower() or '.wav'}"
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        with open(path, "rb") as handle:
            response = self.request("POST", "/upload/image", files={"image": (name, handle, mime)},
                                    data={"type": "input", "subfolder": UPLOAD_SUBFOLDER, "overwrite": "true"})
        if response.status_code != 200:
            raise UpstreamError(f"the ComfyUI server at {self.where} refused the upload of {path.name} "
                                f"({response.status_code})")
        body = response.json()
        subfolder = body.get("subfolder") or ""
        return f"{subfolder}/{body['name']}" if subfolder else body["name"]

    def submit(self, graph: dict[str, Any], client_id: str, prompt_id: str,
               extra_data: dict[str, Any] | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"prompt": graph, "client_id": client_id, "prompt_id": prompt_id}
        if extra_data:
            payload["extra_data"] = extra_data
        response = self.request("POST", "/prompt", json=payload)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200:
            return body
        if response.status_code == 400:
            raise validation_error(body, graph, self.where)
        raise UpstreamError(f"the ComfyUI server at {self.where} answered {response.status_code} to /prompt")

    def history(self, prompt_id: str) -> dict[str, Any] | None:
        data = self.get_json(f"/history/{prompt_id}")
        entry = data.get(prompt_id) if isinstance(data, dict) else None
        return entry if isinstance(entry, dict) else None

    def queue(self) -> dict[str, list[str]]:
        data = self.get_json("/queue")
        ids = {}
        for key in ("queue_running", "queue_pending"):
            ids[key] = [item[1] for item in data.get(key, []) if isinstance(item, list) and len(item) > 1]
        return ids

    def interrupt(self, prompt_id: str) -> None:
        self.request("POST", "/interrupt", json={"prompt_id": prompt_id})

    def delete_pending(self, prompt_id: str) -> None:
        self.request("POST", "/queue", json={"delete": [prompt_id]})

    def cancel(self, prompt_id: str, *, settle_s: float = 10.0) -> None:
        """Take `prompt_id` off the server: delete it if pending, interrupt it if running, and
        wait (briefly) until the queue no longer holds it."""
        deadline = time.monotonic() + settle_s
        interrupted = False
        while True:
            queue = self.queue()
            if prompt_id in queue["queue_pending"]:
                self.delete_pending(prompt_id)
            elif prompt_id in queue["queue_running"]:
                if not interrupted:  # once: the server stops at its next step
                    self.interrupt(prompt_id)
                    interrupted = True
            else:
                return
            if time.monotonic() > deadline:
                return
            time.sleep(0.1)

    def download(self, item: dict[str, Any], handle: Any) -> int:
        params = {"filename": item.get("filename", ""), "subfolder": item.get("subfolder", ""),
                  "type": item.get("type", "output")}
        import httpx

        written = 0
        try:
            with self.http.stream("GET", "/view", params=params) as response:
                if response.is_redirect:
                    raise UpstreamError(f"the ComfyUI server at {self.where} redirected the download of "
                                        f"{params['filename']} to another place; refused")
                if response.status_code >= 500 or response.status_code in SHARED_STATUSES:
                    response.read()
                    raise self.status(response, "/view")
                if response.status_code != 200:
                    raise UpstreamError(f"the ComfyUI server at {self.where} answered {response.status_code} "
                                        f"to the download of {params['filename']}")
                from aimusic.engines.http import DEFAULT_MAX_DOWNLOAD_BYTES, StallWatch

                watch = StallWatch(f"download of {params['filename']} from the ComfyUI server at {self.where}")
                for chunk in response.iter_bytes(DOWNLOAD_CHUNK):
                    watch.add(len(chunk))
                    written += len(chunk)
                    if written > DEFAULT_MAX_DOWNLOAD_BYTES:
                        raise UpstreamError(f"{params['filename']} from the ComfyUI server at {self.where} grew "
                                            f"past the {DEFAULT_MAX_DOWNLOAD_BYTES}-byte download cap; stopped")
                    handle.write(chunk)
        except httpx.TransportError as exc:  # (an OSError here is the local disk's, not the server's)
            raise self.fault(exc, f"download of {params['filename']}") from None
        return written

    # -- websocket -------------------------------------------------------------------------
    def ws_url(self, client_id: str) -> str:
        parts = urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return urlunsplit((scheme, parts.netloc, parts.path + "/ws", f"clientId={client_id}", ""))

    @contextmanager
    def websocket(self, client_id: str) -> Iterator[Any | None]:
        """A connected websocket, or None (no `websockets` package, or the server refuses it):
        then the caller polls /history instead."""
        try:
            from websockets.sync.client import connect
        except ImportError:
            yield None
            return
        try:
            connection = connect(self.ws_url(client_id), open_timeout=10, max_size=2**26,
                                 additional_headers=_auth_headers(self.base_url))
            ws = connection.__enter__()
        except Exception:  # any handshake failure: fall back to polling, which reports real errors
            yield None
            return
        try:
            yield ws
        finally:
            connection.__exit__(None, None, None)


def _auth_headers(base_url: str) -> dict[str, str]:
    parts = urlsplit(base_url)
    if parts.username:
        import base64

        token = base64.b64encode(f"{parts.username}:{parts.password or ''}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    return {}


def new_ids() -> tuple[str, str]:
    """(client id, prompt id): chosen here, so a prompt can be cancelled even if the answer
    to its submission never arrives."""
    return uuid.uuid4().hex, str(uuid.uuid4())


def ws_messages(ws: Any, timeout: float) -> Iterator[dict[str, Any] | None]:
    """JSON messages from the websocket; None every `timeout` seconds of silence (a chance to
    check for cancellation); binary frames (previews) are skipped. Ends when the socket closes."""
    while True:
        try:
            frame = ws.recv(timeout=timeout)
        except TimeoutError:
            yield None
            continue
        except Exception:  # closed or broken: the caller falls back to /history
            return
        if isinstance(frame, bytes):
            continue
        try:
            message = json.loads(frame)
        except ValueError:
            continue
        if isinstance(message, dict):
            yield message


def validation_error(body: dict[str, Any], graph: dict[str, Any], where: str) -> Exception:
    """A 400 from /prompt as an aimusic error naming the node and input."""
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    node_errors = body.get("node_errors") if isinstance(body.get("node_errors"), dict) else {}
    kind = error.get("type", "")
    if kind == "missing_node_type":
        return NotConfiguredError(f"the ComfyUI server at {where} lacks a node this workflow needs: "
                                  f"{error.get('message', '')} {error.get('details', '')}".strip(),
                                  hint="update ComfyUI (ACE-Step 1.5 nodes need a 2026 or later version)")
    details = []
    for node_id, info in node_errors.items():
        class_type = (info or {}).get("class_type") or graph.get(node_id, {}).get("class_type", "?")
        for item in (info or {}).get("errors", []):
            input_name = (item.get("extra_info") or {}).get("input_name")
            details.append({"node": node_id, "class_type": class_type, "input": input_name,
                            "type": item.get("type"),
                            "message": f"{item.get('message', '')}: {item.get('details', '')}".strip(": ")})
    if not details:
        return InputError(f"the ComfyUI server at {where} rejected the workflow: "
                          f"{error.get('message', 'invalid prompt')} {error.get('details', '')}".strip())
    first = details[0]
    where_in = f"node {first['node']} ({first['class_type']})" + (f" input {first['input']!r}" if first["input"] else "")
    more = f" (+{len(details) - 1} more)" if len(details) > 1 else ""
    return InputError(f"the ComfyUI server rejected the workflow: {where_in}: {first['message']}{more}",
                      field=first["input"] or "input", details=details)


def env_servers() -> list[str]:
    raw = os.environ.get("COMFYUI_URL", "")
    return [normalise_url(u) for u in raw.split(",") if u.strip()]

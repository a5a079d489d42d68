"""`aimusic studio`: the web page and HTTP API (loopback by default; a token elsewhere)."""

from __future__ import annotations

import click


@click.command()
@click.option("-o", "--output-dir", default="aimusic-output", show_default=True, type=click.Path(file_okay=False),
              help="Where takes are written (and may be read).")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback requires the printed access token.")
@click.option("--allow-dir", "allow_dirs", multiple=True, type=click.Path(file_okay=False),
              help="Another directory the studio may read audio from and list (repeatable).")
@click.option("--token/--no-token", "force_token", default=None,
              help="Require an access token (always on for a non-loopback --host).")
@click.option("--max-upload-mb", type=click.FloatRange(0.001, 10_000), default=200, show_default=True,
              help="Largest upload accepted, in MB.")
def studio(output_dir: str, port: int, host: str, allow_dirs: tuple[str, ...], force_token: bool | None,
           max_upload_mb: float) -> None:
    """Serve the studio: hear, compare, select and fix takes in a browser.

    \b
    aimusic studio -o out                  # http://127.0.0.1:8765/
    aimusic studio --host 0.0.0.0          # on the network: open the printed URL (it holds the token)
    """
    import secrets
    import socket
    import sys

    import uvicorn

    from aimusic.errors import UsageError
    from aimusic.studio.app import StudioConfig, build_app
    from aimusic.studio.security import is_loopback

    loopback = is_loopback(host)
    if not loopback and force_token is False:
        raise UsageError("--no-token is refused with a non-loopback --host: anyone on the network could use it")
    token = secrets.token_urlsafe(32) if (not loopback or force_token) else None
    config = StudioConfig(output_dir=output_dir, allowed_dirs=list(allow_dirs), token=token,
                          loopback_only=loopback, max_upload_bytes=int(max_upload_mb * 1024 * 1024))
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    bound = sock.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else (f"[{host.strip('[]')}]" if family == socket.AF_INET6
                                                           else host)
    url = f"http://{shown}:{bound}/" + (f"?token={token}" if token else "")
    click.echo(f"aimusic studio: {url}")
    click.echo(f"  output dir {config.output_dir}" + (f", also reading {', '.join(map(str, config.allowed_dirs))}"
                                                      if config.allowed_dirs else "") + "; Ctrl-C stops it",
               err=True)
    sys.stdout.flush()
    # no access log: a request line could carry the token
    server = uvicorn.Server(uvicorn.Config(build_app(config), log_level="warning", access_log=False,
                                           timeout_graceful_shutdown=10))
    server.run(sockets=[sock])

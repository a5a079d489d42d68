"""`aimusic mcp`: serve the tools to any MCP client (stdio, or streamable HTTP on loopback)."""

from __future__ import annotations

import ipaddress

import click


def _parse_http(value: str) -> tuple[str, int]:
    from aimusic.errors import UsageError

    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not (0 < int(port) < 65536):
        raise UsageError(f"--http wants HOST:PORT, got {value!r}")
    host = host.strip("[]") or "127.0.0.1"
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        # the tools write files and read local audio: never expose them beyond this machine
        raise UsageError(f"--http serves on loopback only (127.0.0.1, ::1 or localhost), not {host!r}")
    return host, int(port)


@click.command()
@click.option("--http", "http", default=None, metavar="HOST:PORT",
              help="Serve streamable HTTP on a loopback address instead of stdio.")
@click.option("-o", "--output-dir", default="aimusic-output", show_default=True,
              type=click.Path(file_okay=False), help="Where tools write files (and may read them).")
@click.option("--allow-dir", "allow_dirs", multiple=True, type=click.Path(file_okay=False),
              help="Another directory tools may read input audio from (repeatable).")
def mcp(http: str | None, output_dir: str, allow_dirs: tuple[str, ...]) -> None:
    """Run the MCP server (tools: plan, generate, edit, run, models, analyze, finish)."""
    from aimusic.mcp.server import ServerConfig, serve

    address = _parse_http(http) if http else None
    serve(ServerConfig(output_dir=output_dir, allowed_dirs=list(allow_dirs)), http=address)

"""aimusic studio: a web page and HTTP API to hear, compare, select and fix takes.

A front door like the CLI and MCP: `app.build_app` serves a documented JSON API (FastAPI,
OpenAPI at /openapi.json) over `aimusic.api`, and a static page (`static/`) that uses only
that API. `jobs` runs long work (generate, edit, finish, replay) as resources with progress
events, cancellation and idempotency keys; `security` is the access token, host and origin
checks. Nothing here decides music: it parses, calls the Python API, and shows.
"""

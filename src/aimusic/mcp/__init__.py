"""The MCP server front door (`aimusic mcp`). Import `aimusic.mcp.server` to build it."""

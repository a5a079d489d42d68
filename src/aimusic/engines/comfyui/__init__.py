"""ComfyUI provider: ACE-Step v1/1.5 workflows on the user's own ComfyUI server(s)."""

from aimusic.engines.comfyui.engine import (ComfyUIEngine, collect_prompt, configured_servers, offline_graph,
                                            run_many)

__all__ = ["ComfyUIEngine", "collect_prompt", "configured_servers", "offline_graph", "run_many"]

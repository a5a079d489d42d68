"""ComfyUI provider: ACE-Step v1/1.5 workflows on the user's own ComfyUI server(s).
(`collect_prompt` and `run_many`, which span several calls, live in `aimusic.pipeline.comfyui`.)"""

from aimusic.engines.comfyui.engine import ComfyUIEngine, configured_servers, offline_graph

__all__ = ["ComfyUIEngine", "configured_servers", "offline_graph"]

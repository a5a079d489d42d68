"""A tiny random LoRA for the tiny ACE-Step 1.5 DiT that shared/tools/comfyui/tiny_ace15.py writes,
for tests/test_comfyui_real.py: `models/loras/aimusic_tiny_ace15_lora.safetensors`.

Keys are ComfyUI's generic LoRA format (`diffusion_model.<module>.lora_up/lora_down.weight`) on the
tiny DiT's self-attention query projections (hidden 128, 8 heads of 128), so ComfyUI's LoRA
loader patches real weights when the graph runs. Usage: python make_tiny_lora.py COMFYUI_MODELS_DIR
"""

import os
import sys

import torch
from safetensors.torch import save_file

NAME = "aimusic_tiny_ace15_lora.safetensors"
HIDDEN, HEADS, LAYERS, RANK = 128, 8, 2, 4  # the tiny DiT's sizes (tiny_ace15.py)


def main(models: str) -> str:
    gen = torch.Generator().manual_seed(0)
    tensors = {}
    for i in range(LAYERS):
        key = f"diffusion_model.decoder.layers.{i}.self_attn.q_proj"
        tensors[f"{key}.lora_down.weight"] = torch.randn(RANK, HIDDEN, generator=gen) * 0.01
        tensors[f"{key}.lora_up.weight"] = torch.randn(HEADS * 128, RANK, generator=gen) * 0.01
        tensors[f"{key}.alpha"] = torch.tensor(float(RANK))
    folder = os.path.join(models, "loras")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, NAME)
    save_file(tensors, path)
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python make_tiny_lora.py COMFYUI_MODELS_DIR")
    print("tiny ACE-Step 1.5 LoRA written:", main(sys.argv[1]))

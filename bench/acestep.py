"""ACE-Step 1.5 text-to-audio: our local engine against a direct diffusers call, same run, same pipeline.

The pipeline is built at TRUE size (2B DiT, Qwen3-0.6B text encoder, 168.7 M-param Oobleck VAE)
with random weights: compute cost does not depend on weight values, and nothing is downloaded.
On a machine without a GPU pass --small: same code path, fewer layers and narrower VAE, short songs.

    python bench/acestep.py                      # GPU: 30 s and 180 s songs, batch 1 and 8
    python bench/acestep.py --small              # CPU smoke figures
    python bench/acestep.py --compile --vae-tiling off

Prints seconds per song, real-time factor (audio seconds per wall second), our/direct ratio, peak
memory, model FLOPs per song (torch.utils.flop_counter on the real configs) and, on CUDA, the
achieved fraction of the GPU's peak bf16 rate. Then the 5 Hz LM ("thinking", upstream's 1.7B
config, random weights, the real 217 k-token vocabulary with its 64 000 audio codes): tokens per
second and its share of a song's time next to the DiT and the VAE decode (--no-lm skips it).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0, "RTX 4090": 165.0}

REAL = {
    "dit": dict(hidden_size=2048, intermediate_size=6144, num_hidden_layers=24, num_attention_heads=16,
                num_key_value_heads=8, head_dim=128, in_channels=192, audio_acoustic_hidden_dim=64, patch_size=2,
                rope_theta=1000000.0, sliding_window=128, is_turbo=True),
    "text": dict(hidden_size=1024, intermediate_size=3072, num_hidden_layers=28, num_attention_heads=16,
                 num_key_value_heads=8, head_dim=128, vocab_size=151669, max_position_embeddings=32768),
    "cond": dict(hidden_size=2048, intermediate_size=6144, text_hidden_dim=1024, timbre_hidden_dim=64,
                 num_lyric_encoder_hidden_layers=8, num_timbre_encoder_hidden_layers=4, num_attention_heads=16,
                 num_key_value_heads=8, head_dim=128, sliding_window=128),
    # acestep-5Hz-lm-1.7B: a Qwen3-1.7B with 64 000 audio-code tokens added to its vocabulary
    "lm": dict(hidden_size=2048, intermediate_size=6144, num_hidden_layers=28, num_attention_heads=16,
               num_key_value_heads=8, head_dim=128, max_position_embeddings=40960, tie_word_embeddings=True),
    "vae": dict(encoder_hidden_size=128, downsampling_ratios=[2, 4, 4, 6, 10], channel_multiples=[1, 2, 4, 8, 16],
                decoder_channels=128, decoder_input_channels=64, audio_channels=2, sampling_rate=48000),
}


def configs(small: bool) -> dict:
    if not small:
        return REAL
    cfg = json.loads(json.dumps(REAL))
    cfg["dit"]["num_hidden_layers"] = 2
    cfg["text"]["num_hidden_layers"] = 2
    cfg["cond"].update(num_lyric_encoder_hidden_layers=2, num_timbre_encoder_hidden_layers=1)
    cfg["vae"].update(encoder_hidden_size=16, decoder_channels=16, channel_multiples=[1, 1, 2, 2, 4])
    cfg["lm"].update(hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=4,
                     num_key_value_heads=2, head_dim=64)
    return cfg


def build_pipeline(cfg: dict, device: str, dtype):
    import torch
    from diffusers import AceStepPipeline, AutoencoderOobleck, FlowMatchEulerDiscreteScheduler
    from diffusers.models.transformers.ace_step_transformer import AceStepTransformer1DModel
    from diffusers.pipelines.ace_step import (AceStepAudioTokenDetokenizer, AceStepAudioTokenizer,
                                              AceStepConditionEncoder)
    from transformers import Qwen3Config, Qwen3Model

    from local_acestep_fixtures import build_tiny_pipeline

    tokenizer = build_tiny_pipeline().tokenizer  # byte-level, offline; token counts are close to real
    torch.manual_seed(0)
    with torch.device(device):
        text_cfg = dict(cfg["text"], vocab_size=max(cfg["text"]["vocab_size"], len(tokenizer)))
        pipe = AceStepPipeline(
            vae=AutoencoderOobleck(**cfg["vae"]), text_encoder=Qwen3Model(Qwen3Config(**text_cfg)),
            tokenizer=tokenizer, transformer=AceStepTransformer1DModel(**cfg["dit"]),
            condition_encoder=AceStepConditionEncoder(**cfg["cond"]),
            scheduler=FlowMatchEulerDiscreteScheduler(num_train_timesteps=1, shift=1.0),
            # the LM's codes go in through these (their defaults are the real sizes; 5 x 5 x 5 x 8 x 8 x 8
            # = 64 000 codes, one per 5 latent frames)
            audio_tokenizer=AceStepAudioTokenizer(fsq_input_levels=[8, 8, 8, 5, 5, 5],
                                                  num_attention_pooler_hidden_layers=1 if cfg is not REAL else 2),
            audio_token_detokenizer=AceStepAudioTokenDetokenizer(
                num_attention_pooler_hidden_layers=1 if cfg is not REAL else 2))
    pipe.to(device=device, dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def flops_per_song(cfg: dict, seconds: float, steps: int) -> dict:
    """Model FLOPs of one song, counted by torch's FLOP counter on meta tensors (no memory, no time)."""
    import torch
    from diffusers import AutoencoderOobleck
    from diffusers.models.transformers.ace_step_transformer import AceStepTransformer1DModel
    from torch.utils.flop_counter import FlopCounterMode

    frames = int(seconds * 25)
    with torch.device("meta"):
        dit = AceStepTransformer1DModel(**cfg["dit"])
        vae = AutoencoderOobleck(**cfg["vae"])
        with FlopCounterMode(display=False) as counter:
            dit(hidden_states=torch.randn(1, frames, 64), timestep=torch.ones(1), timestep_r=torch.ones(1),
                encoder_hidden_states=torch.randn(1, 320, cfg["dit"]["hidden_size"]),
                context_latents=torch.randn(1, frames, 128), return_dict=False)
        dit_step = counter.get_total_flops()
        with FlopCounterMode(display=False) as counter:
            vae.decode(torch.randn(1, 64, frames))
        decode = counter.get_total_flops()
    return {"dit_step_tflop": dit_step / 1e12, "vae_decode_tflop": decode / 1e12,
            "song_tflop": (dit_step * steps + decode) / 1e12}


def peak_memory_gb(device: str) -> float:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # process high-water mark (KiB -> GiB)


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="CPU smoke size: 2-layer DiT/text encoder, narrow VAE")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default=None, help="bf16 (CUDA default) or fp32 (CPU default)")
    parser.add_argument("--durations", default=None, help="seconds, comma-separated (default 30,180; small 10)")
    parser.add_argument("--batches", default=None, help="batch sizes (default 1,8; small 1,2)")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per setting (default 3; small 1)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the DiT (both sides)")
    parser.add_argument("--vae-tiling", default="auto", choices=["auto", "on", "off"])
    parser.add_argument("--no-lm", action="store_true", help="skip the 5 Hz LM figures")
    args = parser.parse_args()

    import torch

    from aimusic import api
    from aimusic.engines.local_acestep import runtime

    device = runtime.pick_device(args.device)
    dtype = runtime.pick_dtype(device, args.dtype)
    durations = [float(x) for x in (args.durations or ("10" if args.small else "30,180")).split(",")]
    batches = [int(x) for x in (args.batches or ("1,2" if args.small else "1,8")).split(",")]
    repeats = args.repeats or (1 if args.small else 3)
    cfg = configs(args.small)

    built = time.perf_counter()
    pipe = build_pipeline(cfg, device, dtype)
    params = {name: sum(p.numel() for p in getattr(pipe, name).parameters()) / 1e6
              for name in ("transformer", "condition_encoder", "text_encoder", "vae", "audio_tokenizer",
                           "audio_token_detokenizer")}
    print(f"device {device} ({torch.cuda.get_device_name() if device.startswith('cuda') else 'cpu'}), "
          f"dtype {str(dtype).removeprefix('torch.')}, {'SMALL' if args.small else 'TRUE'} size, "
          f"built in {time.perf_counter() - built:.1f} s; params (M): "
          + ", ".join(f"{k} {v:.1f}" for k, v in params.items()))
    if args.compile:
        pipe.transformer = torch.compile(pipe.transformer, mode="max-autotune-no-cudagraphs", dynamic=True)

    # Our engine finds this pipeline through its process cache, exactly as a second CLI call would.
    weights_dir = Path(tempfile.mkdtemp(prefix="acestep-bench-"))
    (weights_dir / "model_index.json").write_text("{}")
    runtime._PIPELINES[(str(weights_dir.resolve()), device, str(dtype), False, False, ())] = pipe
    out_dir = Path(tempfile.mkdtemp(prefix="acestep-bench-out-"))
    options = {"model_path": str(weights_dir), "device": device, "dtype": args.dtype, "vae_tiling": args.vae_tiling}
    options = {k: v for k, v in options.items() if v is not None}

    gpu_name = torch.cuda.get_device_name() if device.startswith("cuda") else ""
    peak = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in gpu_name), None)
    print(f"{'song s':>7} {'batch':>5} {'direct s/song':>13} {'ours s/song':>11} {'engine s/song':>13} "
          f"{'RTF ours':>9} {'ours/direct':>11} {'TFLOP/song':>10} {'peak frac':>9} {'peak mem GB':>11}")
    for seconds in durations:
        flops = flops_per_song(cfg, seconds, args.steps)
        for batch in batches:
            def direct() -> None:
                runtime.set_vae_tiling(pipe, seconds, args.vae_tiling)
                gens = [torch.Generator("cpu").manual_seed(42 + i) for i in range(batch)]
                pipe(prompt=["pop, upbeat"] * batch, lyrics=["[Instrumental]"] * batch, vocal_language="unknown",
                     audio_duration=seconds, num_inference_steps=args.steps, guidance_scale=1.0, shift=3.0,
                     generator=gens if batch > 1 else gens[0], output_type="pt")
                sync(device)

            engine_s = []

            def ours() -> None:
                result = api.run("local/ace-step-1.5-turbo/text-to-audio",
                                 {"tags": "pop, upbeat", "duration": seconds, "seed": 42, "steps": args.steps},
                                 out_dir, options={**options, "variations": batch})
                sync(device)
                engine_s.append(result.metadata["generate_s"])
                for path in result.files + result.sidecars:
                    Path(path).unlink()

            direct()  # warm-up (allocator, kernels, compile)
            ours()
            engine_s.clear()
            timed_direct, timed_ours = [], []
            for index in range(repeats):
                # interleaved, alternating which goes first, so drift on a shared machine and any
                # first-in-pair effect hit both sides alike
                pair = [(direct, timed_direct), (ours, timed_ours)]
                for fn, times in (pair if index % 2 == 0 else pair[::-1]):
                    start = time.perf_counter()
                    fn()
                    times.append(time.perf_counter() - start)
            d, o, e = min(timed_direct), min(timed_ours), min(engine_s)
            frac = (flops["song_tflop"] * batch / d / peak) if peak else None
            print(f"{seconds:>7g} {batch:>5} {d / batch:>13.3f} {o / batch:>11.3f} {e / batch:>13.3f} "
                  f"{seconds * batch / o:>9.1f} {o / d:>11.3f} {flops['song_tflop']:>10.2f} "
                  f"{'n/a' if frac is None else f'{frac:.1%}':>9} {peak_memory_gb(device):>11.2f}")
        print(f"  FLOPs ({'small' if args.small else 'real'} configs, {seconds:g} s, {args.steps} steps): "
              f"DiT {flops['dit_step_tflop']:.3f} TFLOP/step, VAE decode {flops['vae_decode_tflop']:.3f} TFLOP")
    if not args.no_lm:
        bench_lm(cfg, pipe, device, dtype, durations, args)
    if not args.small:
        return
    real = flops_per_song(REAL, 180.0, 8)
    print(f"real configs, 180 s song, 8 steps: DiT {real['dit_step_tflop']:.2f} TFLOP/step, "
          f"VAE decode {real['vae_decode_tflop']:.2f} TFLOP, {real['song_tflop']:.1f} TFLOP/song "
          f"(= {real['song_tflop'] / 989:.3f} s at H100 peak bf16)")


def bench_lm(cfg: dict, pipe, device: str, dtype, durations: list[float], args) -> None:
    """LM tokens/s and the LM's share of one song (LM codes + DiT + VAE), same run, same pipeline."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    from aimusic.engines.local_acestep import lm
    from local_acestep_fixtures import tiny_lm_tokenizer

    built = time.perf_counter()
    tokenizer = tiny_lm_tokenizer(codes=lm.MAX_AUDIO_CODE + 1)  # the real code-token count
    vocab = max(151669 + lm.MAX_AUDIO_CODE + 1, len(tokenizer))  # Qwen3's text vocabulary + the codes
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen3ForCausalLM(Qwen3Config(**cfg["lm"], vocab_size=vocab, eos_token_id=tokenizer.eos_token_id,
                                             pad_token_id=tokenizer.pad_token_id)).to(dtype)
    llm = lm.LanguageModel.from_parts(model, tokenizer, device, "acestep-5Hz-lm-1.7B (random)")
    params = sum(p.numel() for p in model.parameters()) / 1e6
    print(f"\n5 Hz LM: {params:.0f} M params ({'SMALL' if args.small else 'TRUE'} size), built in "
          f"{time.perf_counter() - built:.1f} s; upstream sampling: CFG {lm.Sampling().cfg_scale} "
          f"(two sequences per token), top-p {lm.Sampling().top_p}, temperature {lm.Sampling().temperature}")
    print(f"{'song s':>7} {'LM tok':>7} {'LM tok/s':>9} {'LM s':>8} {'DiT s':>8} {'VAE s':>8} {'LM share':>9}")
    given = {"bpm": 120, "keyscale": "C major", "timesignature": "4"}
    for seconds in durations:
        def timed(fn):
            sync(device)
            start = time.perf_counter()
            out = fn()
            sync(device)
            return time.perf_counter() - start, out

        call = dict(prompt="pop, upbeat", lyrics="[Instrumental]", vocal_language="unknown", audio_duration=seconds,
                    num_inference_steps=args.steps, guidance_scale=1.0, shift=3.0)
        llm.think("pop, upbeat", "[Instrumental]", min(seconds, 10.0), [0], given={**given, "duration": 10})  # warm-up
        lm_s, thought = timed(lambda: llm.think("pop, upbeat", "[Instrumental]", seconds, [1],
                                                given={**given, "duration": int(seconds)}))
        codes = thought.codes[0]
        latent_s, _ = timed(lambda: pipe(**call, audio_codes=codes, output_type="latent",
                                         generator=torch.Generator("cpu").manual_seed(1)))
        full_s, _ = timed(lambda: pipe(**call, audio_codes=codes, output_type="pt",
                                       generator=torch.Generator("cpu").manual_seed(1)))
        vae_s = max(0.0, full_s - latent_s)
        total = lm_s + full_s
        print(f"{seconds:>7g} {thought.tokens:>7} {thought.tokens / lm_s:>9.1f} {lm_s:>8.2f} {latent_s:>8.2f} "
              f"{vae_s:>8.2f} {lm_s / total:>9.1%}")
    print("  (DiT s = the pipeline to latents incl. text/condition encoders; VAE s = the decode on top)")


if __name__ == "__main__":
    main()

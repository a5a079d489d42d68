"""A tiny random-weight ACE-Step 1.5 pipeline built fully offline (no hub access).

Every component is the real diffusers/transformers class at toy widths; the VAE keeps the
real 48 kHz rate and 1920x downsampling so durations and lengths behave as in production.
"""

from __future__ import annotations

from pathlib import Path


def build_tiny_pipeline(is_turbo: bool = True, seed: int = 0):
    import torch
    from diffusers import AceStepPipeline, AutoencoderOobleck, FlowMatchEulerDiscreteScheduler
    from diffusers.models.transformers.ace_step_transformer import AceStepTransformer1DModel
    from diffusers.pipelines.ace_step import (AceStepAudioTokenDetokenizer, AceStepAudioTokenizer,
                                              AceStepConditionEncoder)
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3Model

    torch.manual_seed(seed)
    # Byte-level BPE without merges: every byte is a token, so any text encodes offline.
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    vocab = {tok: i for i, tok in enumerate(sorted(alphabet))}
    for tok in specials:
        vocab[tok] = len(vocab)
    raw = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    raw.add_special_tokens(specials)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="<|endoftext|>",
                                        pad_token="<|endoftext|>")
    widths = dict(hidden_size=32, intermediate_size=64, num_attention_heads=4, num_key_value_heads=2,
                  head_dim=8, rope_theta=10000, sliding_window=16)
    text_encoder = Qwen3Model(Qwen3Config(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                          num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                                          vocab_size=len(tokenizer)))
    transformer = AceStepTransformer1DModel(num_hidden_layers=2, audio_acoustic_hidden_dim=2, in_channels=6,
                                            patch_size=2, is_turbo=is_turbo, **widths)
    condition_encoder = AceStepConditionEncoder(text_hidden_dim=32, timbre_hidden_dim=2,
                                                num_lyric_encoder_hidden_layers=2,
                                                num_timbre_encoder_hidden_layers=2, **widths)
    audio_tokenizer = AceStepAudioTokenizer(audio_acoustic_hidden_dim=2, pool_window_size=2, fsq_dim=32,
                                            fsq_input_levels=[4, 4, 4], fsq_input_num_quantizers=1,
                                            num_attention_pooler_hidden_layers=1, **widths)
    detokenizer = AceStepAudioTokenDetokenizer(audio_acoustic_hidden_dim=2, pool_window_size=2,
                                               num_attention_pooler_hidden_layers=1, **widths)
    vae = AutoencoderOobleck(encoder_hidden_size=4, downsampling_ratios=[2, 4, 4, 6, 10],
                             channel_multiples=[1, 1, 1, 1, 1], decoder_channels=2, decoder_input_channels=2,
                             audio_channels=2, sampling_rate=48000)
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1, shift=1.0)
    return AceStepPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer,
                           condition_encoder=condition_encoder, scheduler=scheduler,
                           audio_tokenizer=audio_tokenizer, audio_token_detokenizer=detokenizer)


def save_tiny_pipeline(directory: str | Path, is_turbo: bool = True) -> Path:
    directory = Path(directory)
    build_tiny_pipeline(is_turbo=is_turbo).save_pretrained(str(directory))
    return directory


CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def build_tiny_lm(codes: int = 64, seed: int = 0):
    """A random-weight Qwen3 causal LM with the ACE-Step LM tokenizer layout: byte-level tokens,
    ChatML specials, <think>/</think> and one <|audio_code_N|> token per code (the tiny pipeline's
    FSQ codebook has 4*4*4 = 64), with a ChatML chat template. Fully offline."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(seed)
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {tok: i for i, tok in enumerate(sorted(alphabet))}
    raw = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
    specials += [f"<|audio_code_{i}|>" for i in range(codes)]
    raw.add_special_tokens(specials)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.chat_template = CHATML
    config = Qwen3Config(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, head_dim=8, vocab_size=len(tokenizer), max_position_embeddings=8192,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         tie_word_embeddings=True)
    return Qwen3ForCausalLM(config).eval(), tokenizer


def save_tiny_lm(directory: str | Path) -> Path:
    directory = Path(directory)
    model, tokenizer = build_tiny_lm()
    model.save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    return directory


def save_tiny_lora(path: str | Path, transformer, seed: int = 1, rank: int = 2, upstream_keys: bool = False) -> Path:
    """A random LoRA for the tiny DiT's attention projections, in diffusers' key format or in
    upstream ACE-Step's PEFT format (`base_model.model.layers.N.self_attn.q_proj.lora_A.weight`)."""
    import torch
    from safetensors.torch import save_file

    gen = torch.Generator().manual_seed(seed)
    tensors = {}
    for i, layer in enumerate(transformer.layers):
        for attn in ("self_attn", "cross_attn"):
            module = getattr(layer, attn, None)
            if module is None:
                continue
            for ours, theirs in (("to_q", "q_proj"), ("to_k", "k_proj"), ("to_v", "v_proj"), ("to_out.0", "o_proj")):
                linear = module.get_submodule(ours)
                a = torch.randn(rank, linear.in_features, generator=gen) * 0.5
                b = torch.randn(linear.out_features, rank, generator=gen) * 0.5
                prefix = (f"base_model.model.layers.{i}.{attn}.{theirs}" if upstream_keys
                          else f"transformer.layers.{i}.{attn}.{ours}")
                tensors[f"{prefix}.lora_A.weight"] = a.contiguous()
                tensors[f"{prefix}.lora_B.weight"] = b.contiguous()
    path = Path(path)
    save_file(tensors, str(path))
    return path

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


def tiny_lm_tokenizer(codes: int = 64, words: tuple[str, ...] = ()):
    """The ACE-Step LM tokenizer layout at toy size: byte-level tokens, ChatML specials,
    <think>/</think>, one <|audio_code_N|> token per code, a ChatML chat template. `words` adds
    BPE merges so each of them (and each of its prefixes) is one token, as Qwen's merges make
    " G" or " major" one token: then "keyscale: G major" ends in the tokens " G", " major"."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {tok: i for i, tok in enumerate(sorted(alphabet))}
    merges: list[tuple[str, str]] = []
    to_bytes = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    for word in words:
        (pieces, _), = to_bytes.pre_tokenize_str(word)
        for i in range(2, len(pieces) + 1):
            left, right = pieces[:i - 1], pieces[i - 1]
            if left + right not in vocab:
                vocab[left + right] = len(vocab)
                merges.append((left, right))
    raw = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
    specials += [f"<|audio_code_{i}|>" for i in range(codes)]
    raw.add_special_tokens(specials)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.chat_template = CHATML
    return tokenizer


# What the tiny LM's prior favours: a trained LM writes words, spaces, line breaks and "name:" in its
# chain of thought and almost never a chat tag or an end token there (upstream's grammar leaves
# those to the model). Everything else starts 6 logits lower, tags and end tokens 20 lower.
LIKELY = "abcdefghijklmnopqrstuvwxyz \n:"


def build_tiny_lm(codes: int = 64, seed: int = 0, prior: bool = True):
    """A random-weight Qwen3 causal LM (tiny widths) with the tokenizer above. With `prior`, a
    constant direction in the embeddings carries a per-token bias through to the logits (LIKELY
    tokens high, tags and end tokens very low), on top of the random, context-dependent part, so
    the free parts of upstream's grammar (caption, field names, genres) end as a trained model's
    would. The logits still depend on the context (random attention and MLP weights)."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(seed)
    tokenizer = tiny_lm_tokenizer(codes)
    config = Qwen3Config(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, head_dim=8, vocab_size=len(tokenizer), max_position_embeddings=8192,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         tie_word_embeddings=not prior)
    model = Qwen3ForCausalLM(config).eval()
    if prior:
        bias = torch.full((len(tokenizer),), -3.0)
        for ch in LIKELY:
            bias[tokenizer.encode(ch)[0]] = 3.0
        codes_ids = set(tokenizer.convert_tokens_to_ids([f"<|audio_code_{i}|>" for i in range(codes)]))
        for i in tokenizer.all_special_ids + list(tokenizer.get_added_vocab().values()):
            if i not in codes_ids:
                bias[i] = -17.0
        with torch.no_grad():
            # dimension 0 is 1.0 in every embedding: it dominates the residual stream, so after the
            # final RMSNorm it is about sqrt(hidden) for every position, and the lm_head's column 0
            # turns it into `bias`; the other columns read the random, context-dependent rest
            model.model.embed_tokens.weight[:, 0] = 1.0
            model.lm_head.weight.normal_(0.0, 1.0)
            model.lm_head.weight[:, 0] = bias / config.hidden_size ** 0.5
    return model, tokenizer


def save_tiny_lm(directory: str | Path) -> Path:
    directory = Path(directory)
    model, tokenizer = build_tiny_lm()
    model.save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    return directory


class ScriptedLM:
    """A stand-in causal LM whose next-token logits come from a script: `script(text)` gets the
    text generated so far and returns {token text or id: logit} (every other token 0). Both rows
    of a guidance pair get the same logits, so guidance leaves them as they are. Drives the real
    decoding loop (LanguageModel.decode) to show what upstream's grammar lets through."""

    def __init__(self, tokenizer, script) -> None:
        import torch

        self.tokenizer, self.script = tokenizer, script
        self.size = len(tokenizer)
        self.prompt_len = 0
        self.generated: list[int] = []
        self.calls = 0
        self.param = torch.nn.Parameter(torch.zeros(1))

    # the few nn.Module methods LanguageModel uses
    def to(self, device):
        return self

    def eval(self):
        return self

    def forward(self, input_ids=None, attention_mask=None, use_cache=True, logits_to_keep=1,
                past_key_values=None, **_):
        import torch
        from types import SimpleNamespace

        self.calls += 1
        if past_key_values is None:  # a new decode: the prompt
            self.prompt_len, self.generated = input_ids.shape[1], []
        else:
            self.generated.append(int(input_ids[0, -1]))
        text = self.tokenizer.decode(self.generated, skip_special_tokens=False)
        row = torch.zeros(self.size)
        for key, value in self.script(text).items():
            ids = [key] if isinstance(key, int) else self.tokenizer.encode(key, add_special_tokens=False)
            row[ids[0]] = value
        logits = row.expand(input_ids.shape[0], 1, self.size).clone()
        return SimpleNamespace(logits=logits, past_key_values=object())

    __call__ = forward


def teacher(tokenizer, target: str, fallback: str = "\n", strength: float = 30.0, override=None):
    """A script that writes `target`: while the text so far follows it, it pushes the longest token
    whose text continues it (so merged tokens such as " rock" are used); off the target it pushes
    `fallback`. `override(text)` may return pushes of its own (what the model "wants" instead)."""
    texts = tokenizer.batch_decode([[i] for i in range(len(tokenizer))])

    def script(text: str) -> dict:
        if override is not None and (wanted := override(text)):
            return wanted
        rest = target[len(text):] if target.startswith(text) else ""
        best = max((i for i, t in enumerate(texts) if t and rest.startswith(t)), key=lambda i: len(texts[i]),
                   default=None)
        return {best: strength} if best is not None else {fallback: strength}
    return script


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

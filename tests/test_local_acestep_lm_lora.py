"""ACE-Step 1.5's 5 Hz LM ("thinking") and LoRAs on the local engine, with a tiny random-weight LM
(same tokenizer layout as upstream's: ChatML, <think>, one token per audio code) and random LoRAs.

Every run goes through the real CLI and the real diffusers pipeline; nothing is downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from local_acestep_fixtures import (ScriptedLM, save_tiny_lm, save_tiny_lora, teacher,
                                    tiny_lm_tokenizer)

T2A = "local/ace-step-1.5-turbo/text-to-audio"
# all of bpm/key/time signature given: upstream skips the metadata phase (fast with a random LM)
METAS = {"bpm": 100, "keyscale": "A minor", "timesignature": "4"}


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory) -> Path:
    return save_tiny_lm(tmp_path_factory.mktemp("tiny-lm"))


@pytest.fixture(scope="module")
def loras(tmp_path_factory, tiny_dir) -> dict[str, Path]:
    from diffusers import AceStepPipeline

    transformer = AceStepPipeline.from_pretrained(str(tiny_dir)).transformer
    folder = tmp_path_factory.mktemp("loras")
    return {"ours": save_tiny_lora(folder / "style.safetensors", transformer),
            "upstream": save_tiny_lora(folder / "upstream.safetensors", transformer, upstream_keys=True),
            "other": save_tiny_lora(folder / "other.safetensors", transformer, seed=7)}


def _run(cli, body: dict, out: Path, *extra: str):
    return cli("run", T2A, "--input", json.dumps(body), "-o", str(out), "--json", *extra)


def _audio(path: str) -> np.ndarray:
    return sf.read(path, dtype="float32", always_2d=True)[0].T


def _sidecar(path: str) -> dict:
    return json.loads(Path(path).with_suffix(".json").read_text())


# -- the LM ------------------------------------------------------------------------------------------

def test_codes_reach_the_pipeline_parity_with_a_direct_call(cli, tiny_dir, tiny_lm, tmp_path):
    import torch
    from diffusers import AceStepPipeline

    from aimusic.audio.io import write_audio
    from aimusic.engines.local_acestep import lm

    body = {"tags": "synthwave", "duration": 10, "seed": 5, "steps": 2, **METAS}
    res = _run(cli, body, tmp_path / "ours", "--model-path", tiny_dir, "--lm-path", tiny_lm, "--think")
    assert res.code == 0, res.stderr
    file = res.json()["files"][0]
    meta = _sidecar(file)["metadata"]
    assert meta["think"] is True
    assert meta["lm"]["codes_per_take"] == [50]  # 5 codes per second, EOS held back until then
    assert meta["lm"]["tokens"] == 51 and meta["lm"]["tokens_per_s"] > 0
    assert (meta["lm"]["temperature"], meta["lm"]["cfg_scale"], meta["lm"]["top_p"]) == (0.85, 2.0, 0.9)

    # the same LM call by hand, then the pipeline given exactly those codes
    llm = lm.load(tiny_lm, "cpu", torch.float32)
    thought = llm.think("synthwave", "[Instrumental]", 10.0, [5],
                        given={**METAS, "duration": 10})
    assert thought.codes[0].count("<|audio_code_") == 50
    pipe = AceStepPipeline.from_pretrained(str(tiny_dir))
    pipe.set_progress_bar_config(disable=True)
    direct = pipe(prompt="synthwave", lyrics="[Instrumental]", vocal_language="unknown", audio_duration=10.0,
                  num_inference_steps=2, guidance_scale=1.0, shift=3.0, bpm=100, keyscale="A minor",
                  timesignature="4", audio_codes=thought.codes[0],
                  generator=torch.Generator("cpu").manual_seed(5)).audios[0].numpy()
    write_audio(tmp_path / "direct.wav", direct, 48000)
    assert np.array_equal(_audio(str(tmp_path / "direct.wav")), _audio(file))
    # and the codes matter: without them the take differs
    plain = _run(cli, body, tmp_path / "plain", "--model-path", tiny_dir, "--no-think")
    assert plain.code == 0, plain.stderr
    assert _sidecar(plain.json()["files"][0])["metadata"]["think"] is False
    assert not np.array_equal(_audio(plain.json()["files"][0]), _audio(file))


def test_metadata_phase_fills_what_the_caption_leaves_out_and_replays_exactly(cli, tiny_dir, tiny_lm, tmp_path,
                                                                            monkeypatch):
    from aimusic.engines.local_acestep import lm

    monkeypatch.setenv("AIMUSIC_ACESTEP_LM_PATH", str(tiny_lm))  # present: --think is the default
    body = {"tags": "lofi", "duration": 10, "seed": 3, "steps": 2, "lyrics": "[Verse]\nla la la"}
    res = _run(cli, body, tmp_path / "a", "--model-path", tiny_dir)
    assert res.code == 0, res.stderr
    file = res.json()["files"][0]
    thought = _sidecar(file)["metadata"]["lm"]
    assert lm.BPM_RANGE[0] <= thought["bpm"] <= lm.BPM_RANGE[1]
    assert thought["keyscale"] in lm.KEYSCALES and thought["timesignature"] in lm.TIME_SIGNATURES
    assert thought["language"] in lm.LANGUAGES and isinstance(thought["caption"], str) and thought["caption"]
    # duration was given (injected); the tiny LM writes a made-up field name after its caption, so
    # upstream's parser files the injected line under that name: absent, or the given value
    assert thought.get("duration", 10) == 10
    assert "metadata" in thought["phases_s"]
    monkeypatch.delenv("AIMUSIC_ACESTEP_LM_PATH")  # replay finds the LM from the sidecar itself
    again = cli("replay", str(Path(file).with_suffix(".json")), "-o", str(tmp_path / "b"), "--json")
    assert again.code == 0, again.stderr
    assert np.array_equal(_audio(again.json()["files"][0]), _audio(file))
    assert _sidecar(again.json()["files"][0])["metadata"]["lm"]["bpm"] == thought["bpm"]


def test_think_without_lm_weights_is_78_with_the_pull_command(cli, tiny_dir, tmp_path):
    res = _run(cli, {"tags": "x", "duration": 10}, tmp_path, "--model-path", tiny_dir, "--think")
    assert res.code == 78
    assert "aimusic models pull lm-1.7B" in res.stderr
    assert not list(tmp_path.glob("*.wav"))
    bad = _run(cli, {"tags": "x", "duration": 10}, tmp_path, "--model-path", tiny_dir, "--lm-path", tmp_path)
    assert bad.code == 78 and "config.json" in bad.stderr


def test_without_the_flag_runs_without_the_lm_and_says_so_once(cli_subprocess, tiny_dir, tmp_path):
    body = {"tags": "x", "duration": 10, "steps": 1, **METAS}
    res = cli_subprocess("run", T2A, "--input", json.dumps(body), "-o", str(tmp_path), "--json",
                         "--model-path", str(tiny_dir), "--variations", "2")
    assert res.code == 0, res.stderr
    assert res.stderr.count("LM is not on this machine: running without it") == 1
    assert "aimusic models pull lm-1.7B" in res.stderr
    files = json.loads(res.stdout)["files"]
    assert len(files) == 2 and all(_sidecar(f)["metadata"]["think"] is False for f in files)


def test_variations_get_one_code_string_each(cli, tiny_dir, tiny_lm, tmp_path):
    res = _run(cli, {"tags": "x", "duration": 10, "steps": 1, "seed": 9, **METAS}, tmp_path,
               "--model-path", tiny_dir, "--lm-path", tiny_lm, "--variations", "2")
    assert res.code == 0, res.stderr
    meta = _sidecar(res.json()["files"][0])["metadata"]
    assert meta["lm"]["codes_per_take"] == [50, 50] and meta["think"]


def test_lyrics_write_with_sections(cli, tiny_lm, tmp_path, monkeypatch):
    res = cli("lyrics", "write", "a song about the last train home", "--language", "ja",
              "--sections", "verse,chorus,verse", "--lm-path", tiny_lm, "--seed", "4", "--json")
    assert res.code == 0, res.stderr
    sample = res.json()
    lyrics = sample["lyrics"]
    headers = [line for line in lyrics.splitlines() if line.startswith("[")]
    assert headers == ["[Verse]", "[Chorus]", "[Verse]"]
    assert sample["language"] == "ja"  # given: injected into the chain of thought, and reported
    assert "<|audio_code_" not in lyrics and "<think>" not in lyrics
    out = tmp_path / "lyrics.txt"
    again = cli("lyrics", "write", "a song about the last train home", "--language", "ja",
                "--sections", "verse,chorus,verse", "--lm-path", tiny_lm, "--seed", "4", "-o", out)
    assert again.code == 0 and out.read_bytes().decode("utf-8").rstrip("\n") == lyrics.rstrip("\n")
    missing = cli("lyrics", "write", "an idea")
    assert missing.code == 78 and "aimusic models pull lm-1.7B" in missing.stderr
    assert cli("lyrics", "write", "idea", "--language", "xx", "--lm-path", tiny_lm).code == 64

    # a genre vocabulary named but absent, or not text: one clear line, no traceback
    monkeypatch.setenv("AIMUSIC_ACESTEP_GENRES", str(tmp_path / "nope.txt"))
    absent = cli("lyrics", "write", "idea", "--lm-path", tiny_lm)
    assert absent.code == 66 and "nope.txt" in absent.stderr and "Traceback" not in absent.stderr
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00pop")
    monkeypatch.setenv("AIMUSIC_ACESTEP_GENRES", str(tmp_path / "bad.txt"))
    bad = cli("lyrics", "write", "idea", "--lm-path", tiny_lm, "--seed", "1")
    assert bad.code == 65 and "UTF-8" in bad.stderr and "Traceback" not in bad.stderr


def test_planner_has_the_lm_write_lyrics_for_a_vocal_song(cli, tiny_dir, tiny_lm, monkeypatch):
    request = "an upbeat pop song with a female singer about summer, 30 seconds"
    monkeypatch.setenv("AIMUSIC_ACESTEP_PATH", str(tiny_dir))
    without = cli("plan", request, "--provider", "local", "--json").json()
    assert "lyrics_idea" not in without["steps"][0]["input"]
    assert any("vague syllables" in w for w in without["warnings"])
    monkeypatch.setenv("AIMUSIC_ACESTEP_LM_PATH", str(tiny_lm))
    plan = cli("plan", request, "--provider", "local", "--json").json()
    step = plan["steps"][0]
    assert step["input"]["lyrics_idea"] == request
    assert any("LM writes them" in r for r in plan["reasons"])
    assert not any("vague syllables" in w for w in plan["warnings"])


def test_lyrics_idea_runs_sample_creation_first(cli, tiny_dir, tiny_lm, tmp_path):
    body = {"tags": "pop", "duration": 10, "steps": 1, "seed": 2, "lyrics_idea": "summer love", **METAS}
    res = _run(cli, body, tmp_path, "--model-path", tiny_dir, "--lm-path", tiny_lm)
    assert res.code == 0, res.stderr
    assert "lyrics written by the ACE-Step LM" in res.stderr
    written = _sidecar(res.json()["files"][0])["metadata"]["lm"]["lyrics_written"]
    assert written["tokens"] > 0 and isinstance(written["lyrics"], str)


# -- the grammar: upstream's constrained decoding, step by step ------------------------------------------
# Scripted logits (ScriptedLM through the real decoding loop, or a logits function driving the
# grammar and the sampler directly) put the mass where a test wants it; the grammar decides what
# comes out. Upstream: acestep/constrained_logits_processor.py (docs/acestep15-lm.md).

QWENISH = (" A", " B", " C", " D", " E", " F", " G", " major", " minor", " en", " ja", " zh", " rock", "bpm")
COT = ("<think>\nbpm: 120\ncaption: calm piano\nduration: 30\nkeyscale: C major\nlanguage: en\n"
       "timesignature: 4\n")


def _scripted(script_for, words=()):
    """(LanguageModel over a ScriptedLM, tokenizer); script_for(tokenizer) -> script."""
    from aimusic.engines.local_acestep import lm

    tok = tiny_lm_tokenizer(words=words)
    return lm.LanguageModel.from_parts(ScriptedLM(tok, script_for(tok)), tok, "cpu", "scripted"), tok


def _cot(llm, given=None, seed=0, sampling=None):
    """Phase 1 through the real loop (guidance pair, grammar): (raw text, grammar)."""
    import torch

    from aimusic.engines.local_acestep import lm

    grammar = lm.Grammar(llm.vocab, "cot", given=given)
    tok = llm.tokenizer
    text, _ = llm.decode(lm.cot_prompt(tok, "calm piano", "[Instrumental]"), grammar,
                         sampling=sampling or lm.Sampling(), generator=torch.Generator().manual_seed(seed),
                         max_new_tokens=lm.MAX_NEW_TOKENS,
                         unconditional=lm.cot_prompt(tok, "calm piano", "[Instrumental]", unconditional=True))
    return text, grammar


def _drive(vocab, grammar, logits_for, seed=0, until=None, steps=3000):
    """The grammar and the sampler (upstream's settings) fed by logits_for(text, step) -> [1, V]
    logits, without a model; stops at done, an end token, `until(grammar)` or `steps`."""
    import torch

    from aimusic.engines.local_acestep import lm

    gen = torch.Generator().manual_seed(seed)
    ids: list[int] = []
    while not grammar.done and len(ids) < steps and not (until and until(grammar)):
        text = vocab.tokenizer.decode(ids, skip_special_tokens=False)
        token = lm.LanguageModel._pick(logits_for(text, len(ids)), grammar, lm.Sampling(), gen, ids)
        grammar.advance(token)
        ids.append(token)
        if token in (vocab.eos, vocab.pad):
            break
    return vocab.tokenizer.decode(ids, skip_special_tokens=False)


def _pushing(vocab, pushes):
    """logits_for: every token 0, `pushes(text)` -> {text or id: logit} on top."""
    import torch

    def logits_for(text, _step):
        row = torch.zeros(1, vocab.size)
        for key, value in pushes(text).items():
            row[0, key if isinstance(key, int) else vocab.encode(key)[0]] = value
        return row
    return logits_for


@pytest.mark.parametrize("wanted, expected", [
    ("30", {30}),            # a whole value, then the newline outweighs "0": the number ends
    ("300", {300}),          # "0" outweighs the newline: it goes on to 300
    ("3000", {300}),         # past 300 no digit is allowed: only the newline
    ("999", {99}),           # 999 would exceed 300: the newline is forced after 99
    ("12", set(range(120, 130))),  # 12 is below 30: the newline is not allowed yet, a digit follows
    ("5", set(range(50, 60))),
    ("0", set(range(30, 301))),    # no value starts with 0
])
def test_bpm_number_ends_where_the_newline_outweighs_a_digit(wanted, expected):
    from aimusic.engines.local_acestep import lm

    vocab = lm.Vocabulary(tiny_lm_tokenizer())

    def pushes(text):
        if not text.startswith("<think>\nbpm: "):
            return {}
        value = text[len("<think>\nbpm: "):]
        if wanted.startswith(value) and len(value) < len(wanted):
            return {wanted[len(value)]: 20.0, "\n": 10.0}  # the digit first, the newline second
        return {"\n": 20.0, "9": 10.0}
    for seed in range(4):
        grammar = lm.Grammar(vocab, "cot")
        text = _drive(vocab, grammar, _pushing(vocab, pushes), seed=seed, until=lambda g: g.fixed == "caption:")
        bpm = text.split("bpm: ")[1]
        assert bpm.endswith("\n") and int(bpm) in expected, (wanted, text)


@pytest.mark.parametrize("words", [(), QWENISH])
def test_every_value_written_parses_and_lies_in_its_set(words):
    """Random logits (end tokens held back so every field is reached): whatever is sampled, each
    value field holds a member of upstream's set, with a byte-level and a merging tokenizer."""
    import re

    import torch

    from aimusic.engines.local_acestep import lm

    vocab = lm.Vocabulary(tiny_lm_tokenizer(words=words))
    noise = torch.Generator().manual_seed(11)

    def logits_for(_text, _step):
        row = torch.randn(1, vocab.size, generator=noise) * 4
        row[0, [vocab.eos, vocab.pad]] = float("-inf")
        return row
    sets = {"bpm": {str(b) for b in range(30, 301)}, "duration": {str(d) for d in range(10, 601)},
            "keyscale": set(lm.KEYSCALES), "language": set(lm.LANGUAGES), "timesignature": set(lm.TIME_SIGNATURES)}
    for seed in range(12):
        text = _drive(vocab, lm.Grammar(vocab, "cot"), logits_for, seed=seed)
        assert text.endswith(vocab.tokenizer.eos_token) and "</think>" not in text[-20:]
        for name, allowed in sets.items():
            values = re.findall(rf"{name}: ?([^\n]*)\n", text)
            assert len(values) == 1 and values[0] in allowed, (name, values, text[-300:])
        assert lm.parse_output(text)[0]["bpm"] in range(30, 301)


def test_prefix_trees_and_forced_names_follow_the_tokenizers_own_tokens():
    from aimusic.engines.local_acestep import lm

    tok = tiny_lm_tokenizer(words=QWENISH)
    vocab = lm.Vocabulary(tok)
    tid = tok.convert_tokens_to_ids
    # "keyscale: G major" is [..., ":", " G", " major"]: the value's first tokens are the notes
    # with the space merged in, and " G" may be followed by an accidental or a mode
    assert set(vocab.tries["keyscale"][()]) == {tid(f"Ġ{n}") for n in "ABCDEFG"}
    after_g = set(vocab.tries["keyscale"][(tid("ĠG"),)])
    assert {tid("Ġmajor"), tid("Ġminor"), tid("#"), tid("b")} <= after_g and vocab.newline not in after_g
    assert vocab.tries["keyscale"][(tid("ĠG"), tid("Ġmajor"))] == (vocab.newline,)
    assert set(vocab.tries["language"][()]) >= {tid("Ġen"), tid("Ġja")}
    # a field name is forced as the longest prefix that is one token: "bpm" then ":"
    assert vocab.forced("bpm:", 0) == tid("bpm") and vocab.forced("bpm:", 3) == tid(":")
    assert lm.Vocabulary(tiny_lm_tokenizer()).forced("bpm:", 0) == tid("b")
    # a lone space token (what the byte-level encoding would start with) is not on the tree, however
    # hard the model pushes it: the key comes out along the tree, in the tokenizer's own tokens
    grammar = lm.Grammar(vocab, "cot", given={"bpm": 90, "caption": "x", "duration": 30})
    text = _drive(vocab, grammar, _pushing(vocab, lambda t: {"Ġ": 30.0}), until=lambda g: g.fixed == "language:")
    key = text.split("keyscale:")[1]
    assert key.endswith("\n") and key[0] == " " and key.strip() in lm.KEYSCALES


def test_language_first_token_is_the_top_one_not_sampled():
    import torch

    from aimusic.engines.local_acestep import lm

    tok = tiny_lm_tokenizer(words=QWENISH)
    vocab = lm.Vocabulary(tok)
    given = {"bpm": 90, "caption": "x", "duration": 30, "keyscale": "C major"}
    grammar = lm.Grammar(vocab, "cot", given=given)
    _drive(vocab, grammar, _pushing(vocab, lambda t: {}), until=lambda g: g.field == "language" and g.state == "value")
    ja, en, x = tok.convert_tokens_to_ids(["Ġja", "Ġen", "x"])
    logits = torch.zeros(1, vocab.size)
    logits[0, [ja, en, x]] = torch.tensor([1.0, 0.9, 50.0])  # "x" is not a language: not considered
    assert grammar.allowed(logits) == ([ja], [])
    logits[0, en] = 1.1
    assert grammar.allowed(logits) == ([en], [])
    # sampling would pick " en" or " ja" about evenly at these logits; the grammar always forces one
    picks = {lm.LanguageModel._pick(logits.clone(), grammar, lm.Sampling(), torch.Generator().manual_seed(s), [])
             for s in range(12)}
    assert picks == {en}


def test_caption_goes_on_over_a_yaml_continuation_line_and_is_parsed_back():
    from aimusic.engines.local_acestep import lm

    target = COT.replace("caption: calm piano\n", "caption: calm piano\n  with soft strings\n")
    llm, tok = _scripted(lambda t: teacher(t, target))
    text, grammar = _cot(llm)
    # a newline followed by an indented top token keeps the caption open; "duration" (not
    # indented) ends it, the model writes the name and its value follows; phase 1 ends with EOS
    # in place of </think> (upstream's stop_at_reasoning)
    assert text == target + tok.eos_token and grammar.done
    meta, _ = lm.parse_output(text)
    assert meta == {"bpm": 120, "caption": "calm piano with soft strings", "duration": 30, "keyscale": "C major",
                    "language": "en", "timesignature": "4"}
    # the caption may hand over to a later field: the model skips duration, keyscale follows
    skipping = COT.replace("duration: 30\n", "")
    llm, tok = _scripted(lambda t: teacher(t, skipping))
    text, _ = _cot(llm)
    assert text == skipping + tok.eos_token and "duration" not in lm.parse_output(text)[0]
    # an unknown name: the grammar forces the next field's name right after it (upstream)
    unknown = COT.replace("duration: 30\n", "mood: calm\nduration: 30\n")
    llm, _ = _scripted(lambda t: teacher(t, unknown))
    text, _ = _cot(llm)
    assert "\nmood:duration:" in text and "mood: calm" not in text


def test_caption_bans_codes_and_the_backtick_only_and_stops_at_512_tokens():
    import torch

    from aimusic.engines.local_acestep import lm

    tok = tiny_lm_tokenizer()
    vocab = lm.Vocabulary(tok)
    grammar = lm.Grammar(vocab, "cot", given={"bpm": 90})
    _drive(vocab, grammar, _pushing(vocab, lambda t: {}), until=lambda g: g.state == "caption")
    only, banned = grammar.allowed(torch.zeros(1, vocab.size))
    assert only is None and set(banned.tolist()) == set(vocab.codes) | {tok.convert_tokens_to_ids("`")}
    assert vocab.eos not in banned.tolist()  # upstream lets the model end inside the caption
    # after a newline the top token decides: indented -> the caption goes on (bans and all),
    # not indented -> the model writes a field name, unconstrained
    for token in vocab.encode("calm\n"):
        grammar.advance(token)
    indented = torch.zeros(1, vocab.size)
    indented[0, vocab.encode(" ")[0]] = 5.0
    only, banned = grammar.allowed(indented)
    assert only is None and set(banned.tolist()) == set(vocab.codes) | {vocab.backtick} and not grammar.ending
    grammar.advance(vocab.encode(" ")[0])
    grammar.advance(vocab.newline)
    name = torch.zeros(1, vocab.size)
    name[0, vocab.encode("d")[0]] = 5.0
    assert grammar.allowed(name) == (None, []) and grammar.ending
    # 512 caption tokens: only the newline (counted from the caption's start)
    grammar = lm.Grammar(vocab, "cot", given={"bpm": 90})
    _drive(vocab, grammar, _pushing(vocab, lambda t: {}), until=lambda g: g.state == "caption")
    a = vocab.encode("a")[0]
    for _ in range(lm.CAPTION_MAX_TOKENS - 1):
        grammar.advance(a)
    assert grammar.allowed(torch.zeros(1, vocab.size))[0] is None
    grammar.advance(a)
    assert grammar.allowed(torch.zeros(1, vocab.size)) == ([vocab.newline], [])


def test_given_fields_are_injected_whatever_the_model_wants():
    def wants_120(text):  # the model pushes "120" wherever a bpm digit could go
        return {"1": 40.0} if text.split("\n")[-1].startswith("bpm:") else None
    target = COT.replace("bpm: 120", "bpm: 77").replace("keyscale: C major", "keyscale: F# minor")
    llm, tok = _scripted(lambda t: teacher(t, target, override=wants_120))
    given = {"bpm": 77, "keyscale": "F# minor"}
    text, _ = _cot(llm, given=given)
    assert text == target + tok.eos_token
    # the tokens after the forced name are the tokenizer's own encoding of " 77\n" (upstream)
    ids = tok.encode(text, add_special_tokens=False)
    start = len(tok.encode("<think>\nbpm:", add_special_tokens=False))
    assert ids[start:start + len(tok.encode(" 77\n"))] == tok.encode(" 77\n")
    # all four of bpm/key/time signature/duration given: phase 1 is skipped (upstream has_all_metas)
    llm, _ = _scripted(lambda t: teacher(t, "", fallback="<|im_end|>"))
    thought = llm.think("x", "y", 10.0, [0], given={**METAS, "duration": 10})
    assert "metadata" not in thought.phases and thought.metadata == {**METAS, "duration": 10}


@pytest.mark.parametrize("push", ["<|im_end|>", "<|audio_code_7|>"])
def test_codes_phase_writes_exactly_five_codes_a_second(push):
    from aimusic.engines.local_acestep import lm

    llm, tok = _scripted(lambda t: (lambda text: {push: 40.0}))
    for seconds in (7.3, 12.0):
        thought = llm.think("x", "y", seconds, [0, 1], given={**METAS, "duration": int(seconds)})
        assert [c.count("<|audio_code_") for c in thought.codes] == [int(seconds * 5)] * 2
        assert thought.tokens == 2 * (int(seconds * 5) + 1)  # the codes, then EOS (blocked, then forced)
    assert lm.MAX_NEW_TOKENS == 4096 - 64


def test_repetition_penalty_sees_the_prompt_as_upstream():
    import torch

    from aimusic.engines.local_acestep import lm

    llm, tok = _scripted(lambda t: (lambda text: {"<|audio_code_3|>": 5.0, "<|audio_code_4|>": 4.0}))
    prompt = lm.codes_prompt(tok, "a caption holding <|audio_code_3|>", "y", "<think>\n</think>")
    picks = []
    for penalty in (1.0, 2.0):
        sampling = lm.Sampling(temperature=0.0, cfg_scale=1.0, repetition_penalty=penalty)
        text, _ = llm.decode(prompt, lm.Grammar(llm.vocab, "codes", target_codes=1), sampling=sampling,
                             generator=torch.Generator(), max_new_tokens=4)
        picks.append(text)
    assert picks == ["<|audio_code_3|><|im_end|>", "<|audio_code_4|><|im_end|>"]


def test_sample_creation_genres_follow_a_vocabulary_file(tmp_path, monkeypatch):
    import torch

    from aimusic.engines.local_acestep import grammar as g, lm

    vocab_file = tmp_path / "genres_vocab.txt"
    vocab_file.write_text("# comment\nPop Rock\npop\njazz fusion\nrock\n", encoding="utf-8")
    assert g.find_genres(tmp_path) == vocab_file  # beside the LM checkpoint
    monkeypatch.setenv(g.ENV_GENRES, str(vocab_file))
    assert g.find_genres(None) == vocab_file
    target = COT.replace("duration: 30\n", "duration: 30\ngenres:pop rock\n") + "</think>\nla la"
    llm, tok = _scripted(lambda t: teacher(t, target, fallback="<|im_end|>"), words=QWENISH)
    sample = llm.write_sample("an idea", seed=0)
    assert sample["genres"] == "pop rock" and sample["lyrics"] == "la la"
    assert sample["caption"] == "calm piano" and sample["keyscale"] == "C major"
    # the first token may not start with a space (no genre does); "pop" may go on with " rock" or
    # end; "pop rock" can only end; text that leaves the vocabulary gets the newline
    vocab, tid = llm.vocab, tok.convert_tokens_to_ids
    assert tid("Ġrock") not in vocab.genre_tokens("") and {tid("p"), tid("j"), tid("r")} <= set(vocab.genre_tokens(""))
    assert {tid("Ġrock"), vocab.newline} <= set(vocab.genre_tokens("pop")) and tid("y") not in vocab.genre_tokens("pop")
    assert vocab.genre_tokens("pop rock") == [vocab.newline] == vocab.genre_tokens("polka")
    # no vocabulary: free text, no newline before any text, then the newline once it is the top token
    monkeypatch.delenv(g.ENV_GENRES)
    vocab = lm.Vocabulary(tok)
    grammar = lm.Grammar(vocab, "sample", given={"bpm": 90, "caption": "x", "duration": 30})
    _drive(vocab, grammar, _pushing(vocab, lambda t: {}), until=lambda gr: gr.state == "genres")
    flat = torch.zeros(1, vocab.size)
    assert grammar.allowed(flat) == (None, [vocab.newline])
    grammar.advance(vocab.encode("p")[0])
    assert grammar.allowed(flat) == (None, [])
    flat[0, vocab.newline] = 1.0
    assert grammar.allowed(flat) == ([vocab.newline], [])
    # after </think>: lyrics, audio codes banned (upstream's "understand" phase)
    grammar.advance(vocab.newline)
    _drive(vocab, grammar, _pushing(vocab, lambda t: {}), until=lambda gr: gr.state == "lyrics")
    only, banned = grammar.allowed(flat)
    assert only is None and banned.tolist() == vocab.codes


def test_parse_output_as_upstream():
    from aimusic.engines.local_acestep import lm

    meta, codes = lm.parse_output("<think>\nbpm: 120\ncaption: a b\n  c\n\tdd\nmood: x\nkeyscale: C major\n"
                                  "timesignature: 4\n<|im_end|>")  # phase 1: EOS in place of </think>
    assert meta == {"bpm": 120, "caption": "a b c dd", "keyscale": "C major", "timesignature": "4"} and codes == ""
    meta, codes = lm.parse_output("<think>\nduration: ten\n</think>\n<|audio_code_1|><|audio_code_2|>")
    assert meta == {"duration": "ten"} and codes == "<|audio_code_1|><|audio_code_2|>"


# -- LoRAs -------------------------------------------------------------------------------------------

def test_lora_changes_the_output_and_scale_zero_equals_none(cli, tiny_dir, loras, tmp_path):
    body = {"tags": "house", "duration": 10, "seed": 1, "steps": 2}
    base = _run(cli, body, tmp_path / "base", "--model-path", tiny_dir)
    assert base.code == 0, base.stderr
    plain = _audio(base.json()["files"][0])
    styled = _run(cli, body, tmp_path / "lora", "--model-path", tiny_dir, "--lora", f"{loras['ours']}:0.8")
    assert styled.code == 0, styled.stderr
    assert not np.array_equal(_audio(styled.json()["files"][0]), plain)
    record = _sidecar(styled.json()["files"][0])["metadata"]["loras"]
    import hashlib

    assert record == [{"lora": str(loras["ours"]), "file": "style.safetensors", "scale": 0.8,
                       "sha256": hashlib.sha256(loras["ours"].read_bytes()).hexdigest()}]
    zero = _run(cli, body, tmp_path / "zero", "--model-path", tiny_dir, "--lora", f"{loras['ours']}:0")
    assert zero.code == 0, zero.stderr
    assert np.array_equal(_audio(zero.json()["files"][0]), plain)
    # the cached pipeline is not left fused: the next plain run is the plain take again
    again = _run(cli, body, tmp_path / "again", "--model-path", tiny_dir)
    assert np.array_equal(_audio(again.json()["files"][0]), plain)
    # two LoRAs stack, the repeatable flag keeps the order
    both = _run(cli, body, tmp_path / "both", "--model-path", tiny_dir, "--lora", f"{loras['ours']}:0.8",
                "--lora", str(loras["other"]))
    assert both.code == 0, both.stderr
    assert [r["scale"] for r in _sidecar(both.json()["files"][0])["metadata"]["loras"]] == [0.8, 1.0]
    assert not np.array_equal(_audio(both.json()["files"][0]), _audio(styled.json()["files"][0]))


def test_upstream_format_lora_is_converted(cli, tiny_dir, loras, tmp_path):
    body = {"tags": "house", "duration": 10, "seed": 1, "steps": 2}
    ours = _run(cli, body, tmp_path / "a", "--model-path", tiny_dir, "--lora", f"{loras['ours']}:0.5")
    theirs = _run(cli, body, tmp_path / "b", "--model-path", tiny_dir, "--lora", f"{loras['upstream']}:0.5")
    assert ours.code == 0 and theirs.code == 0, theirs.stderr
    assert np.array_equal(_audio(ours.json()["files"][0]), _audio(theirs.json()["files"][0]))


def test_bad_loras_are_clear_errors(cli, tiny_dir, tmp_path):
    body = {"tags": "x", "duration": 10, "steps": 1}
    missing = _run(cli, body, tmp_path, "--model-path", tiny_dir, "--lora", str(tmp_path / "nope.safetensors"))
    assert missing.code == 65 and "no such file" in missing.stderr
    junk = tmp_path / "junk.safetensors"
    from safetensors.numpy import save_file

    save_file({"unrelated.weight": np.zeros((2, 2), dtype=np.float32)}, str(junk))
    bad = _run(cli, body, tmp_path, "--model-path", tiny_dir, "--lora", str(junk))
    assert bad.code == 65 and "not a LoRA" in bad.stderr, bad.stderr
    repo = _run(cli, body, tmp_path, "--model-path", tiny_dir, "--lora", "someone/some-lora")
    assert repo.code == 78 and "someone/some-lora" in repo.stderr
    scale = _run(cli, body, tmp_path, "--model-path", tiny_dir, "--lora", f"{junk}:99")
    assert scale.code == 65
    assert not list(tmp_path.glob("*.wav"))


def test_flags_and_batch_options():
    from aimusic.engines.registry import build_options

    opts = build_options("local", {"lora": "a.safetensors:0.5", "think": False})
    assert opts.lora == ("a.safetensors:0.5",) and opts.think is False  # --option lora=X (one string)
    assert build_options("local", {}).think is None
    from aimusic.cli.common import engine_option_specs

    specs = {name: how for name, _flag, _kind, how, _help in engine_option_specs()}
    assert specs["lora"] == "multiple" and specs["think"] == "negatable"


def test_batch_accepts_loras(cli, tiny_dir, loras, tmp_path):
    manifest = tmp_path / "batch.jsonl"
    manifest.write_text(json.dumps({"model": T2A, "input": {"tags": "a", "duration": 10, "seed": 1, "steps": 1}})
                        + "\n")
    res = cli("batch", str(manifest), "-o", str(tmp_path / "out"), "--yes", "--json",
              "--option", f"model_path={json.dumps(str(tiny_dir))}",
              "--option", f"lora={json.dumps([str(loras['ours']) + ':0.5'])}")
    assert res.code == 0, res.stderr + res.stdout
    side = next((tmp_path / "out").rglob("*.json"))
    found = [json.loads(p.read_text()) for p in (tmp_path / "out").rglob("*.json")]
    assert any(d.get("metadata", {}).get("loras", [{}])[0].get("scale") == 0.5 for d in found), side

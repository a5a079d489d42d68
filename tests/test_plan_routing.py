"""Every common pattern of routing.md routes as its table says, plus paraphrases."""

import pytest

from aimusic.plan import make_plan
from fakes.media import write_video

ELEVEN = "elevenlabs/elevenlabs/music-generation"
ACE = "acestep-ai/ace-step/text-to-audio"
ACE15 = "acestep-ai/ace-step-1.5/text-to-audio"
INPAINT = "acestep-ai/ace-step/audio-inpaint"
OUTPAINT = "acestep-ai/ace-step/audio-outpaint"
HOSTED = {ELEVEN, ACE, ACE15, INPAINT, OUTPAINT}


def hosted(request, **kw):
    plan = make_plan(request, provider="runcomfy", **kw)
    assert all(step.model in HOSTED for step in plan.steps)
    return plan


# ---- the table of routing.md ----------------------------------------------------------------------

def test_premium_brand_jingle():
    plan = hosted("premium brand jingle, 5-15 s")
    assert plan.model == ELEVEN
    assert plan.input["music_length_ms"] == 15000
    assert 0.05 <= plan.estimated_cost_usd <= 0.125
    assert any("brand" in r and "ElevenLabs" in r for r in plan.reasons)


def test_background_library_50_tracks():
    plan = hosted("background music library, 50 tracks")
    assert plan.model == ACE and plan.count == 50
    assert plan.estimated_cost_usd == pytest.approx(0.60)  # 50 x 60 s x $0.0002
    variations = plan.steps[0].variations
    assert len(variations) == 50 and len(set(variations)) > 10  # varied tag combos


def test_multilingual_launch_8_languages():
    plan = hosted("multilingual launch, the same song in 8 languages")
    assert plan.model == ACE15
    assert len(plan.steps) == 8
    assert len({s.input["tags"] for s in plan.steps}) == 1  # identical tags
    assert all("lyrics swapped" in s.note for s in plan.steps)


def test_game_loop_bed():
    plan = hosted("game loop bed for a puzzle game")
    assert plan.model == ACE
    assert "seamless loop, consistent groove" in plan.input["tags"]
    assert 60 <= plan.input["duration"] <= 120


def test_theme_song_for_a_video(tmp_path):
    video = tmp_path / "clip.mp4"
    write_video(video, seconds=3.0)
    lyrics = "[Verse]\nWe ride the night\n[Chorus]\nShine on, shine on"
    plan = hosted("theme song for my travel video", lyrics=lyrics, video=str(video))
    assert plan.model == ELEVEN
    assert abs(plan.input["music_length_ms"] - 5000) <= 1  # 3 s video, ElevenLabs' minimum is 5 s
    assert "[Verse] We ride the night" in plan.input["prompt"] and "[Chorus]" in plan.input["prompt"]
    assert plan.input["force_instrumental"] is False


def test_theme_song_length_matches_video(tmp_path):
    video = tmp_path / "long.mp4"
    write_video(video, seconds=7.0)
    plan = hosted("theme song for a video", video=str(video))
    assert plan.input["music_length_ms"] == pytest.approx(7000, abs=60)


def test_hook_to_two_minutes(wav_file):
    source = wav_file(30.0, sample_rate=8000)
    plan = hosted("I have a 30 s hook, I need 2 min", audio=str(source))
    assert plan.task == "outpaint" and plan.model == OUTPAINT
    assert (plan.input["extend_before_duration"], plan.input["extend_after_duration"]) == (30, 60)
    assert len(plan.steps) == 1


def test_second_chorus_came_out_wrong(wav_file):
    source = wav_file(40.0, sample_rate=8000)
    lyrics = "[Verse]\na\nb\nc\nd\n[Chorus]\ne\nf\ng\nh\n[Verse]\ni\nj\nk\nl\n[Chorus]\nm\nn\no\np"
    plan = hosted("my second chorus came out wrong, lofi piano", audio=str(source), lyrics=lyrics)
    assert plan.task == "inpaint" and plan.model == INPAINT
    assert 25 <= plan.input["start_time"] < 32 and plan.input["end_time"] >= 38
    assert "lo-fi" in plan.input["tags"] and "piano" in plan.input["tags"]
    assert plan.input["lyrics"].startswith("[chorus]\nm")


def test_second_chorus_with_times(wav_file):
    source = wav_file(130.0, sample_rate=8000)
    plan = hosted("my second chorus came out wrong, it's from 1:40 to 2:00", audio=str(source))
    assert plan.model == INPAINT and (plan.input["start_time"], plan.input["end_time"]) == (100, 120)


def test_cheap_draft_then_premium_polish():
    plan = hosted("cheap draft first, then premium polish: upbeat indie pop")
    assert [s.model for s in plan.steps] == [ACE, ELEVEN]
    assert 0.01 <= plan.steps[0].estimated_cost_usd <= 0.02
    assert plan.steps[0].input["tags"] == plan.steps[1].input["prompt"].split(". ")[1].rstrip(".").lower() \
        or "indie pop" in plan.steps[1].input["prompt"]


def test_mask_based_edit_is_refused(wav_file):
    """Only what no provider can do is refused as a mask edit; 'remove the vocals' is a separation now,
    which RunComfy cannot run (the error names who can)."""
    from aimusic.errors import InputError, UsageError

    source = wav_file(10.0, sample_rate=8000)
    with pytest.raises(InputError) as info:
        hosted("swap the instrument in my track", audio=str(source))
    assert "time range" in str(info.value)
    with pytest.raises(UsageError) as refused:
        hosted("remove the vocals from my track", audio=str(source))
    assert "elevenlabs" in refused.value.hint and "sketch" in refused.value.hint


# ---- the decision flow: paraphrases --------------------------------------------------------------

GENERATE_CASES = [
    ("a 10-second sonic logo for our bank, must sound expensive", ELEVEN),
    ("radio-ready pop hook with female vocals", ELEVEN),
    ("music for our Super Bowl ad", ELEVEN),
    ("a commercial for a car brand, 30 seconds, cinematic", ELEVEN),
    ("client deliverable: uplifting corporate track", ELEVEN),
    ("jingle for a TV spot, polished and catchy", ELEVEN),
    ("ad campaign anthem, big drums", ELEVEN),
    ("a song in Spanish about summer", ACE15),
    ("K-pop track with Korean vocals", ACE15),
    ("the same song in Spanish and German", ACE15),
    ("a bilingual duet in French and English", ACE15),
    ("Japanese city pop with vocals", ACE15),
    ("mandarin ballad with piano", ACE15),
    ("cheap lofi beats for studying", ACE),
    ("a rough draft of a rock song", ACE),
    ("20 background tracks for a podcast", ACE),
    ("a batch of chill loops", ACE),
    ("stock music library, 100 tracks, corporate", ACE),
    ("a quick demo of a synthwave idea", ACE),
    ("budget-friendly ambient bed", ACE),
    ("menu music loop for my game", ACE),
    ("placeholder music for a prototype", ACE),
    ("twelve variations of a happy ukulele tune", ACE),
    ("chill lofi, 80 BPM", ACE15),
    ("an epic orchestral piece", ACE15),
    ("a cheap ad jingle", ACE),  # the cost words win
    ("I have a dream: write a cheap gospel anthem", ACE),  # "I have a" without a length is no source
    ("a song for my wife, cheap draft", ACE),
    ("an extended house mix, cheap", ACE),
]


@pytest.mark.parametrize("request_text,model", GENERATE_CASES)
def test_generate_paraphrases(request_text, model):
    plan = hosted(request_text)
    assert plan.task == "generate"
    assert plan.model == model, plan.reasons


EDIT_CASES = [
    ("fix the bridge from 1:05 to 1:25", "inpaint", INPAINT),
    ("redo between 40s and 1 min", "inpaint", INPAINT),
    ("the last 15 seconds sound wrong, redo them", "inpaint", INPAINT),
    ("repaint 0:10-0:20 with more drums", "inpaint", INPAINT),
    ("replace the first 10 seconds", "inpaint", INPAINT),
    ("add a 20 second intro", "outpaint", OUTPAINT),
    ("one more minute at the end", "outpaint", OUTPAINT),
    ("extend it by 30 seconds", "outpaint", OUTPAINT),
    ("make it 45 seconds longer", "outpaint", OUTPAINT),
    ("add an outro of 20 seconds", "outpaint", OUTPAINT),
]


@pytest.mark.parametrize("request_text,task,model", EDIT_CASES)
def test_edit_paraphrases(request_text, task, model, wav_file):
    source = wav_file(90.0, sample_rate=8000)
    plan = hosted(request_text, audio=str(source))
    assert (plan.task, plan.model) == (task, model), plan.reasons


def test_edit_windows_exact(wav_file):
    source = wav_file(90.0, sample_rate=8000)
    plan = hosted("the last 15 seconds sound wrong", audio=str(source))
    assert plan.input["start_time"] == 15 and plan.input["end_time"] == 0
    assert plan.input["start_time_relative_to"] == plan.input["end_time_relative_to"] == "end"
    plan = hosted("one more minute at the end", audio=str(source))
    assert (plan.input["extend_before_duration"], plan.input["extend_after_duration"]) == (0, 60)


def test_budget_picks_elevenlabs_for_a_single_track():
    assert hosted("an epic orchestral piece, 30 seconds", budget_usd=1.0).model == ELEVEN
    assert hosted("an epic orchestral piece, 30 seconds").model == ACE15


# ---- other providers ------------------------------------------------------------------------------

@pytest.mark.parametrize("provider,prefix", [("sketch", "local/sketch/"), ("local", "local/ace-step-1.5-turbo/")])
def test_local_providers(provider, prefix):
    plan = make_plan("a song in Spanish", provider=provider)
    assert plan.model.startswith(prefix) and plan.provider == provider


def test_local_sets_vocal_language():
    plan = make_plan("pop song", provider="local", lyrics="[Verse]\nYo camino por la calle sola\n"
                                                           "Bajo la luna de verano")
    assert plan.input["vocal_language"] == "es"


def test_elevenlabs_provider_edits_on_its_premium_model_but_cannot_remix(wav_file):
    from aimusic.errors import UsageError

    plan = make_plan("fix 0:01 to 0:02", audio=str(wav_file(4.0)), provider="elevenlabs")
    assert plan.model == "elevenlabs/elevenlabs/audio-inpaint" and plan.provider == "elevenlabs"
    with pytest.raises(UsageError):
        make_plan("remix this as jazz", audio=str(wav_file(4.0)), provider="elevenlabs")


def test_auto_provider_order(monkeypatch):
    plan = make_plan("premium brand jingle, 10 s")
    assert plan.provider == "sketch" and any("sketch" in r for r in plan.reasons)
    monkeypatch.setenv("RUNCOMFY_TOKEN", "rc-test-token")
    plan = make_plan("cheap lofi loop")
    assert (plan.model, plan.provider) == (ACE, "runcomfy")
    monkeypatch.setenv("ELEVENLABS_API_KEY", "el-test-key")
    plan = make_plan("premium brand jingle, 10 s")
    assert (plan.model, plan.provider) == (ELEVEN, "elevenlabs")
    assert make_plan("cheap lofi loop").provider == "runcomfy"


def test_v1_models_get_romanised_lyrics():
    lyrics = "[Verse]\n我走过那条路\n[Chorus]\n我走过"
    plan = make_plan("cheap draft", provider="runcomfy", lyrics=lyrics)
    # non-English vocals go to ACE-Step 1.5 (native script) ...
    assert plan.model == ACE15 and "我走过" in plan.input["lyrics"]
    # ... unless the v1 model is asked for: then the lyrics are romanised with prefixes
    plan = make_plan("cheap draft", provider="runcomfy", lyrics=lyrics, overrides={"model": ACE})
    assert "[zh] wo3zou3guo4" in plan.input["lyrics"]


# ---- languages from the lyrics, overrides, edits of unknown vocals ----------------------------------

@pytest.mark.parametrize("lyrics,code", [
    ("[Verse]\n我走过那条路\n[Chorus]\n我们一起唱", "zh"),
    ("[Verse]\n私は東京へ歩いた\n[Chorus]\n桜が咲いた", "ja"),
    ("[Verse]\n나는 걸었다\n[Chorus]\n사랑해 너를", "ko"),
    ("[Verse]\nCaminando por la ciudad de noche\n[Chorus]\nBailamos hasta el amanecer", "es"),
])
def test_non_english_lyrics_route_to_ace15(lyrics, code):
    plan = hosted("a pop song", lyrics=lyrics)
    assert plan.model == ACE15 and plan.language == code
    assert any(f"lyrics in {code}" in r for r in plan.reasons)


def test_english_lyrics_stay_on_the_cost_ladder():
    plan = hosted("cheap pop demo", lyrics="[Verse]\nI walk alone tonight\n[Chorus]\nShine on me")
    assert plan.model == ACE and plan.language == "en"
    assert plan.input["lyrics"].startswith("[Verse]\nI walk")


def test_language_override():
    plan = make_plan("pop song", provider="local", overrides={"language": "ko"})
    assert plan.input["vocal_language"] == "ko"
    assert hosted("pop song", overrides={"language": "ko"}).model == ACE15


def test_edit_with_unknown_vocals_keeps_lyrics_empty(wav_file):
    plan = hosted("fix 0:10 to 0:20", audio=str(wav_file(30.0, sample_rate=8000)))
    assert plan.input["lyrics"] == "" and "instrumental" not in plan.input["tags"]
    assert any("--tags" in w for w in plan.warnings)
    plan = hosted("fix 0:10 to 0:20, jazzy piano, instrumental", audio=str(wav_file(30.0, sample_rate=8000)))
    assert plan.input["lyrics"] == "[inst]" and "piano" in plan.input["tags"]


def test_url_source_needs_no_io():
    plan = hosted("add a 20 second intro", audio="https://example.com/song.mp3")
    assert plan.task == "outpaint" and plan.source_seconds is None
    assert any("URL" in w for w in plan.warnings)


def test_elevenlabs_prompt_shape():
    plan = hosted("radio-ready pop anthem, female lead vocal, 120 BPM",
                  lyrics="[Verse]\nWe ride tonight\nUnder neon light\n[Chorus]\nShine on")
    prompt = plan.input["prompt"]
    assert prompt.startswith("radio-ready pop anthem")
    assert "[Verse] We ride tonight / Under neon light [Chorus] Shine on" in prompt
    assert plan.input["force_instrumental"] is False
    plan = hosted("an instrumental ad, 30 s")
    assert plan.input["force_instrumental"] is True and plan.input["music_length_ms"] == 30000


def test_tags_from_style_words():
    plan = hosted("cheap upbeat lofi hip hop with piano and vinyl crackle, female vocals, 85 BPM")
    tags = [t.strip() for t in plan.input["tags"].split(",")]
    assert tags == ["upbeat", "lo-fi hip hop", "piano", "vinyl crackle", "female vocals", "85 BPM"]


def test_reasons_name_the_words():
    plan = hosted("music for our Super Bowl ad")
    assert any("'super bowl'" in r and "'ad'" in r for r in plan.reasons)
    plan = hosted("background music library, 50 tracks")
    assert any("'library'" in r and "'50 tracks'" in r for r in plan.reasons)


def test_comfyui_models_and_v1_romanisation():
    plan = make_plan("cheap lofi", provider="comfyui")
    assert plan.model == "comfyui/ace-step-v1/text-to-audio"  # cost ladder: the v1 graph
    lyrics = "[Verse]\n我走过那条路\n[Chorus]\n사랑해"
    plan = make_plan("a pop song", provider="comfyui", lyrics=lyrics)
    assert "1.5" in plan.model and plan.input["vocal_language"] == "zh" and "我走过" in plan.input["lyrics"]
    plan = make_plan("a pop song", provider="comfyui", lyrics=lyrics,
                     overrides={"model": "comfyui/ace-step-v1/text-to-audio"})
    assert plan.input["lyrics"].splitlines() == ["[Verse]", "[zh] wo3zou3guo4na4tiao2lu4", "[Chorus]",
                                                 "[ko] salanghae"]

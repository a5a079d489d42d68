"""Lyrics: sections, language detection, v1 romanisation in the documented style, checks, CLI."""

import pytest

from aimusic import lyrics as ly


def test_parse_sections_and_instrumental():
    sections = ly.parse_sections("intro words\n[Verse 1]\na\nb\n\n[CHORUS]\nc\n[inst]")
    assert [(s.name, s.lines, s.instrumental) for s in sections] == [
        ("", ["intro words"], False), ("verse 1", ["a", "b"], False), ("chorus", ["c"], False),
        ("inst", [], True)]
    assert ly.is_instrumental("[inst]") and ly.is_instrumental("[Instrumental]") and ly.is_instrumental("")
    assert not ly.is_instrumental("[Verse]\nla la la")


@pytest.mark.parametrize("text,code", [
    ("我走过那条路", "zh"), ("私は東京へ歩いた", "ja"), ("나는 걸었다", "ko"), ("Yo camino por la calle sola", "es"),
    ("I walk the line tonight", "en"), ("Ich gehe heute nach Hause", "de"), ("Je marche dans la rue", "fr"),
    ("Eu vou pra casa hoje", "pt"), ("Я иду домой", "ru"), ("", "en"), ("1, 2, 3!", "en"),
])
def test_detect_language(text, code):
    assert ly.detect_language(text) == code


def test_song_language_prefers_non_english():
    mixed = "[Verse]\nI walk the line tonight\nyeah yeah baby\n[Chorus]\n我走过那条路"
    assert ly.detect_song_language(mixed) == "zh"
    assert ly.detect_song_language("[Verse]\nI walk the line\nAnd you walk with me") == "en"
    assert ly.detect_song_language("[inst]") == "en"
    assert [code for _, code in ly.line_languages(mixed)] == ["en", "en", "zh"]


def test_romanize_chinese_tone3_neutral5_joined():
    assert ly.romanize_for_v1("我走过") == "[zh] wo3zou3guo4"
    assert ly.romanize_for_v1("我的爱") == "[zh] wo3de5ai4"          # neutral tone as 5
    assert ly.romanize_for_v1("我走过 那条路") == "[zh] wo3zou3guo4 na4tiao2lu4"  # joined per word


def test_romanize_japanese_romaji():
    assert ly.romanize_for_v1("東京へ歩いた") == "[ja] tokyo e aruita"
    assert ly.romanize_for_v1("さくら") == "[ja] sakura"


def test_romanize_korean():
    assert ly.romanize_for_v1("사랑해") == "[ko] salanghae"
    assert ly.romanize_for_v1("나는 걸었다") == "[ko] naneun geol-eossda"


def test_romanize_keeps_markers_english_and_latin_languages():
    text = "[Verse]\nI walk alone tonight\nYo camino por la calle sola\n\n[Chorus]\nЯ иду домой"
    assert ly.romanize_for_v1(text).splitlines() == [
        "[Verse]", "I walk alone tonight", "[es] Yo camino por la calle sola", "", "[Chorus]", "[ru] Я иду домой"]


def test_check_lyrics_warnings():
    assert any("no section markers" in w for w in ly.check_lyrics("a\nb\nc"))
    long_section = "[Verse]\n" + "\n".join(f"line {i}" for i in range(12))
    assert any("12 lines" in w for w in ly.check_lyrics(long_section))
    assert any("too long" in w for w in ly.check_lyrics("[Verse]\n" + "word " * 30))
    assert any("unknown marker" in w for w in ly.check_lyrics("[Verze]\nla la"))
    assert ly.check_lyrics("[Verse]\nOne\nTwo\n[Chorus]\nThree\nFour") == []


def test_lyrics_check_cli(cli, tmp_path):
    path = tmp_path / "song.txt"
    path.write_text("[Verse]\n我走过那条路\n[Chorus]\n" + "\n".join(["la"] * 10), encoding="utf-8")
    result = cli("lyrics", "check", str(path), "--json")
    assert result.code == 0
    data = result.json()
    assert data["language"] == "zh" and data["sections"][1]["lines"] == 10
    assert any("10 lines" in w for w in data["warnings"])
    assert cli("lyrics", "check", str(path)).code == 0


def test_lyrics_romanize_cli(cli, tmp_path):
    path = tmp_path / "song.txt"
    path.write_text("[Verse]\n我走过\n사랑해\n", encoding="utf-8")
    result = cli("lyrics", "romanize", str(path))
    assert result.code == 0
    assert result.stdout.splitlines() == ["[Verse]", "[zh] wo3zou3guo4", "[ko] salanghae", ""][:3] or \
        result.stdout.strip().splitlines() == ["[Verse]", "[zh] wo3zou3guo4", "[ko] salanghae"]
    assert cli("lyrics", "romanize", str(tmp_path / "missing.txt")).code == 66
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert cli("lyrics", "romanize", str(binary)).code == 65

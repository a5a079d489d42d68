"""The input schemas kept on disk between runs: the same schemas as generating them, regenerated
when the code (or the file) changes or the cache is unreadable, never a failure."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def fresh_cache(monkeypatch):
    """A process that has not read the disk cache yet (the file itself is per test)."""
    from aimusic import catalog
    from aimusic.catalog import schema_cache

    def reset():
        schema_cache._STATE.clear()
        catalog._schema_of.cache_clear()

    monkeypatch.setattr(schema_cache.atexit, "register", lambda fn: None)  # saved by hand below
    reset()
    yield reset
    reset()


def _schemas():
    from aimusic.catalog import all_models

    return {entry.id: entry.input_schema() for entry in all_models()}


def _forbid_generation(monkeypatch):
    import pydantic

    def refuse(cls, *args, **kwargs):
        raise AssertionError(f"{cls.__name__}'s schema was generated, not read from the cache")

    monkeypatch.setattr(pydantic.BaseModel, "model_json_schema", classmethod(refuse))


def test_a_second_run_reads_the_same_schemas_from_disk(fresh_cache, monkeypatch):
    from aimusic.catalog import schema_cache

    generated = _schemas()
    schema_cache._save()
    assert schema_cache._path().is_file()
    fresh_cache()
    _forbid_generation(monkeypatch)
    assert _schemas() == generated


def test_changed_code_or_an_unreadable_cache_regenerates(fresh_cache, monkeypatch):
    from aimusic.catalog import schema_cache

    generated = _schemas()
    schema_cache._save()
    fresh_cache()
    monkeypatch.setattr(schema_cache, "_package_stamp", lambda: "another version of the code")
    calls = []
    import pydantic

    real = pydantic.BaseModel.model_json_schema.__func__
    monkeypatch.setattr(pydantic.BaseModel, "model_json_schema",
                        classmethod(lambda cls, *a, **k: calls.append(cls) or real(cls, *a, **k)))
    assert _schemas() == generated and calls  # stale stamp: generated again
    for junk in ("{not json", json.dumps({"stamp": schema_cache._STATE["stamp"], "entries": {"x": 1}}), "[]"):
        fresh_cache()
        calls.clear()
        schema_cache._path().write_text(junk, encoding="utf-8")
        assert _schemas() == generated and calls


def test_a_plugin_class_is_regenerated_when_its_own_file_changes(fresh_cache, tmp_path, monkeypatch):
    import importlib
    import sys

    from aimusic.catalog import schema_cache

    (tmp_path / "plugin_inputs.py").write_text(
        "from aimusic.schemas import ModelInput\nclass Ins(ModelInput):\n    tags: str = 'a'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("plugin_inputs")
    assert schema_cache.schema_of(module.Ins)["properties"]["tags"]["default"] == "a"
    schema_cache._save()
    fresh_cache()
    (tmp_path / "plugin_inputs.py").write_text(
        "from aimusic.schemas import ModelInput\nclass Ins(ModelInput):\n    tags: str = 'bb'\n")
    del sys.modules["plugin_inputs"]
    module = importlib.import_module("plugin_inputs")
    assert schema_cache.schema_of(module.Ins)["properties"]["tags"]["default"] == "bb"


def test_models_json_is_the_same_cold_and_warm(cli_subprocess, isolated_user_dirs):
    cold = cli_subprocess("models", "--json")
    assert (isolated_user_dirs / "cache" / "input-schemas.json").is_file()  # kept by the first run
    warm = cli_subprocess("models", "--json")
    assert cold.code == 0 and cold.stdout == warm.stdout and json.loads(warm.stdout)


def test_a_cache_folder_that_cannot_be_written_or_junk_is_no_failure(fresh_cache, monkeypatch, tmp_path):
    from aimusic.catalog import schema_cache

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setenv("AIMUSIC_CACHE_DIR", str(blocked))
    generated = _schemas()
    schema_cache._save()  # cannot be kept: nothing raised, nothing written
    assert blocked.read_text().startswith("a file") and not list(tmp_path.glob(".input-schemas*"))
    fresh_cache()
    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.setenv("AIMUSIC_CACHE_DIR", str(folder))
    (folder / "input-schemas.json").write_text("[" * 100_000 + "]" * 100_000)  # nesting past any parser
    assert _schemas() == generated

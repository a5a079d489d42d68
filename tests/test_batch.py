"""Batches with the offline engines: files, generators, the index, confirmation, retries, resume."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest
import soundfile as sf

from aimusic.errors import InputError, InputFileError, Interrupted, UpstreamError
from aimusic.batch import BatchOptions, load_batch, run_batch, summarize

SKETCH = "local/sketch/text-to-audio"
TONE = "test/tone/text-to-audio"


@pytest.fixture
def tone(monkeypatch):
    from fakes import tone_engine

    tone_engine.install(monkeypatch)
    return TONE


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def index_of(out: Path) -> list[dict]:
    with open(out / "index.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    from_json = json.loads((out / "index.json").read_text())["items"]
    assert [r["file"] for r in from_json] == [r["file"] for r in rows]   # both indexes agree
    assert all(r["file"] and r["model"] and r["key"] for r in from_json)
    return rows


def audio_files(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.suffix in (".wav", ".mp3", ".flac", ".ogg"))


# --- batch files --------------------------------------------------------------------------

def test_count_and_vary_give_distinct_seeded_combinations(tone, tmp_path):
    batch = write(tmp_path / "b.yaml", f"""
seed: 3
items:
  - model: {TONE}
    tags: lofi
    duration: 0.2
    count: 5
    vary: [[piano, guitar, harp], [calm, dreamy]]
""")
    items = load_batch(batch)
    extras = [tuple(i.tags.split(", ")[1:]) for i in items]
    assert len(items) == 5 and len(set(extras)) == 5
    assert all(a in ("piano", "guitar", "harp") and b in ("calm", "dreamy") for a, b in extras)
    assert [i.key for i in load_batch(batch)] == [i.key for i in items]  # same file, same items
    seeds = [i.seed for i in items]
    assert seeds == list(range(seeds[0], seeds[0] + 5))  # consecutive: groupable into one local call
    write(batch, batch.read_text().replace("seed: 3", "seed: 4"))
    assert [i.key for i in load_batch(batch)] != [i.key for i in items]


def test_jsonl_entries_and_settings_line(tone, tmp_path):
    batch = write(tmp_path / "b.jsonl", "\n".join([
        json.dumps({"defaults": {"model": TONE, "duration": 0.3}, "seed": 9}),
        json.dumps({"tags": "one"}),
        "",
        json.dumps({"tags": "two", "seed": 42, "input": {"frequency": 220}}),
    ]))
    items = load_batch(batch)
    assert [i.tags for i in items] == ["one", "two"]
    assert items[1].seed == 42 and items[1].input["frequency"] == 220 and items[0].input["duration"] == 0.3


@pytest.mark.parametrize("text, error, words", [
    ("items:\n  - {model: %s, tags: x, count: 7, vary: [[a, b], [c, d, e]]}" % TONE, InputError, "6 distinct"),
    ("items:\n  - {model: %s, tagz: x}" % TONE, InputError, "did you mean 'tags'"),
    ("items:\n  - {model: %s, tags: x, count: 2, languages: {en: a.txt}}" % TONE, InputError, "one generator"),
    ("items: [1, 2]", InputError, "entry 1"),
    ("items:\n  - {model: nope/nope/x, tags: x}", Exception, "nope"),
    ("items:\n  - {model: %s, tags: x, languages: {en: missing.txt}}" % TONE, InputFileError, "missing.txt"),
    ("items: [\n", InputError, "b.yaml"),
    ("items:\n  - {model: %s, tags: x, duration: 9999}" % TONE, InputError, "duration"),
])
def test_bad_batch_files_are_one_clear_error(tone, tmp_path, text, error, words):
    with pytest.raises(error) as caught:
        load_batch(write(tmp_path / "b.yaml", text))
    assert words in str(caught.value)


def test_cli_bad_file_exit_codes(tmp_path, cli):
    assert cli("batch", tmp_path / "absent.yaml", "-o", tmp_path / "out", "--yes").code == 66
    bad = write(tmp_path / "b.jsonl", '{"tags": "x"}\nnot json\n')
    result = cli("batch", bad, "-o", tmp_path / "out", "--yes", "--json")
    assert result.code == 65 and "line 2" in result.error()["message"]
    assert not (tmp_path / "out").exists()


# --- the acceptance libraries ----------------------------------------------------------------

def test_twenty_item_offline_library(tmp_path, cli):
    batch = write(tmp_path / "library.yaml", f"""
seed: 11
defaults: {{model: {SKETCH}, duration: 4}}
items:
  - tags: "lofi hip hop, 80 BPM"
    count: 12
    vary: [[piano, guitar, rhodes], [rain, vinyl crackle], [calm, dreamy]]
  - tags: "ambient, 70 BPM, pads"
    count: 8
""")
    out = tmp_path / "lib"
    result = cli("batch", batch, "-o", out, "--yes", "--workers", "2")
    assert result.code == 0, result.stderr
    rows = index_of(out)
    files = audio_files(out)
    assert len(rows) == 20 and len(files) == 20
    assert sorted(r["file"] for r in rows) == sorted(p.name for p in files)
    assert len({r["tags"] for r in rows[:12]}) == 12                 # vary: no repeated combination
    assert len({r["seed"] for r in rows}) == 20
    for row in rows:
        info = sf.info(out / row["file"])
        assert abs(info.duration - 4.0) < 0.05 and abs(float(row["duration"]) - info.duration) < 0.01
        assert -40 < float(row["loudness_lufs"]) < 0 and row["model"] == SKETCH and float(row["cost_usd"]) == 0
        sidecar = json.loads((out / row["sidecar"]).read_text())
        assert sidecar["file"] == row["file"] and sidecar["batch"]["key"] == row["key"]
        assert str(sidecar["seed"]) == row["seed"]
    assert result.stderr.count(" done ") == 20                       # a line per finished item
    assert "20/20 item(s) done" in result.stderr and "[batch] 20/20 items" in result.stderr
    # the same command again: nothing re-rendered, nothing duplicated
    mtimes = {p.name: p.stat().st_mtime_ns for p in files}
    again = cli("batch", batch, "-o", out, "--yes", "--json")
    assert again.code == 0
    lines = [json.loads(line) for line in again.stdout.splitlines()]
    assert lines[0]["event"] == "plan" and lines[0]["already_done"] == 20 and lines[-1]["event"] == "summary"
    assert not [line for line in lines if line["event"] == "item"]
    assert {p.name: p.stat().st_mtime_ns for p in audio_files(out)} == mtimes


def test_four_language_launch(tmp_path, cli):
    lyrics = {"en": "[Verse]\nWe run into the light\n[Chorus]\nTonight, tonight",
              "es": "[Verse]\nCorremos hacia la luz\n[Chorus]\nEsta noche, esta noche",
              "de": "[Verse]\nWir laufen in das Licht\n[Chorus]\nHeute Nacht, heute Nacht",
              "fr": "[Verse]\nNous courons vers la lumiere\n[Chorus]\nCe soir, ce soir"}
    (tmp_path / "lyrics").mkdir()
    for lang, text in lyrics.items():
        write(tmp_path / "lyrics" / f"{lang}.txt", text)
    batch = write(tmp_path / "launch.yaml", f"""
items:
  - model: {SKETCH}
    tags: "pop anthem, female vocals, 120 BPM"
    duration: 4
    seed: 2024
    languages: {{en: lyrics/en.txt, es: lyrics/es.txt, de: lyrics/de.txt, fr: lyrics/fr.txt}}
""")
    out = tmp_path / "launch"
    result = cli("batch", batch, "-o", out, "--yes", "--json")
    assert result.code == 0, result.stderr
    rows = index_of(out)
    assert [r["language"] for r in rows] == ["en", "es", "de", "fr"]
    assert {r["seed"] for r in rows} == {"2024"} and len({r["tags"] for r in rows}) == 1
    for row in rows:
        sidecar = json.loads((out / row["sidecar"]).read_text())
        assert sidecar["input"]["lyrics"] == lyrics[row["language"]]
    assert len(audio_files(out)) == 4
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["event"] for e in events].count("item") == 4
    assert events[-1]["done"] == 4 and events[-1]["audio_seconds"] == pytest.approx(16, abs=0.2)


def test_unsupported_language_is_refused_before_running(tmp_path, cli):
    write(tmp_path / "sv.txt", "[Verse]\nHej")
    batch = write(tmp_path / "b.yaml", f"items:\n  - {{model: {SKETCH}, tags: pop, duration: 3, "
                                       "languages: {sv: sv.txt}}\n")
    result = cli("batch", batch, "-o", tmp_path / "out", "--yes")
    assert result.code == 65 and "sv" in result.stderr and not (tmp_path / "out").exists()


# --- price first ------------------------------------------------------------------------------

def test_price_first_confirmation_and_dry_run(tone, tmp_path, cli):
    batch = write(tmp_path / "b.yaml", f"items:\n  - {{model: {TONE}, tags: x, duration: 2, count: 3}}\n")
    out = tmp_path / "out"
    refused = cli("batch", batch, "-o", out)
    assert refused.code == 64 and "--yes" in refused.stderr
    assert "3 item(s), 6.0 s of audio, estimated $0.0060" in refused.stderr
    assert f"3  {TONE} (tone)  6.0 s  $0.0060" in refused.stderr
    assert not out.exists()
    dry = cli("batch", batch, "-o", out, "--dry-run", "--json")
    assert dry.code == 0 and not out.exists()
    plan = json.loads(dry.stdout)
    assert plan["items"] == 3 and plan["estimated_cost_usd"] == pytest.approx(0.006)
    assert plan["models"][0]["model"] == TONE and len(plan["entries"]) == 3


def test_budget_below_the_plan_is_exit_65_before_anything_runs(tone, tmp_path, cli):
    batch = write(tmp_path / "b.yaml", f"items:\n  - {{model: {TONE}, tags: x, duration: 2, count: 3}}\n")
    result = cli("batch", batch, "-o", tmp_path / "out", "--yes", "--budget", "0.005", "--json")
    assert result.code == 65
    assert "$0.0060" in result.error()["message"] and "$0.0050" in result.error()["message"]
    assert not (tmp_path / "out").exists()


def test_budget_stops_on_time_when_the_provider_bills_more(tone, tmp_path, cli, monkeypatch):
    from fakes.tone_engine import ToneEngine

    original = ToneEngine.run

    def pricier(self, model, request, ctx, sink):  # bills 3x the table price
        result = original(self, model, request, ctx, sink)
        result.cost_usd = 3 * result.cost_usd
        return result

    monkeypatch.setattr(ToneEngine, "run", pricier)
    batch = write(tmp_path / "b.yaml", f"items:\n  - {{model: {TONE}, tags: x, duration: 1, count: 10}}\n")
    out = tmp_path / "out"
    result = cli("batch", batch, "-o", out, "--yes", "--budget", "0.010", "--concurrency", "1", "--json")
    assert result.code == 65 and "budget reached" in result.error()["message"]
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["stopped_by_budget"] and summary["spent_usd"] <= 0.010 + 1e-9
    assert summary["done"] == 3 and len(summary["not_run"]) == 7       # 3 x $0.003 fits, a 4th would not
    assert len(audio_files(out)) == 3 and len(index_of(out)) == 3
    more = cli("batch", batch, "-o", out, "--yes", "--budget", "0.05")
    assert more.code == 0 and len(audio_files(out)) == 10


# --- retries and failures ---------------------------------------------------------------------

def test_failures_are_retried_then_reported_and_retried_on_rerun(tone, tmp_path, cli, monkeypatch):
    from fakes.tone_engine import ToneEngine

    original = ToneEngine.run
    calls: dict[int, int] = {}

    def flaky(self, model, request, ctx, sink):
        calls[request.seed] = calls.get(request.seed, 0) + 1
        if request.frequency == 330 or calls[request.seed] == 1:  # every item fails once; 330 Hz always
            raise UpstreamError("the fake upstream fell over")
        return original(self, model, request, ctx, sink)

    monkeypatch.setattr(ToneEngine, "run", flaky)
    batch = write(tmp_path / "b.yaml", f"""
defaults: {{model: {TONE}, duration: 0.3}}
items:
  - {{tags: good, count: 3}}
  - {{tags: bad, input: {{frequency: 330}}}}
""")
    out = tmp_path / "out"
    result = cli("batch", batch, "-o", out, "--yes", "--retries", "2")
    assert result.code == 69 and "1 of 4 item(s) failed" in result.stderr
    assert "retrying after the fake upstream fell over" in result.stderr and "FAILED" in result.stderr
    assert len(audio_files(out)) == 3 and len(index_of(out)) == 3
    bad_seed = load_batch(batch)[3].seed
    assert calls[bad_seed] == 3                                       # 1 try + 2 retries
    manifest = sqlite3.connect(out / ".aimusic" / "manifest.sqlite")
    assert manifest.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert manifest.execute("SELECT state, attempts FROM items WHERE state='failed'").fetchall() == [("failed", 3)]
    manifest.close()
    again = cli("batch", batch, "-o", out, "--yes", "--retries", "0")
    assert again.code == 69 and calls[bad_seed] == 4                  # a re-run retries the failed one only
    assert sum(calls.values()) == 3 * 2 + 4


def test_summarize_counts_models_seconds_and_cost(tone, tmp_path):
    batch = write(tmp_path / "b.yaml", f"""
items:
  - {{model: {TONE}, tags: a, duration: 2, count: 2}}
  - {{model: {SKETCH}, tags: b, duration: 3}}
""")
    summary = summarize(load_batch(batch))
    assert summary["items"] == 3 and summary["seconds"] == 7.0 and summary["estimated_cost_usd"] == 0.004
    assert {(m["model"], m["items"]) for m in summary["models"]} == {(TONE, 2), (SKETCH, 1)}


def test_draft_then_polish_renders_the_chosen_drafts_settings(tone, tmp_path):
    batch = write(tmp_path / "b.yaml", f"""
items:
  - tags: "cinematic trailer, 90 BPM"
    duration: 3
    draft_then_polish: {{drafts: 3, draft_model: {SKETCH}, polish_model: {TONE}, choose: 2}}
""")
    items = load_batch(batch)
    drafts, polish = items[:3], items[3]
    assert [i.role for i in items] == ["draft", "draft", "draft", "polish"]
    assert {i.model for i in drafts} == {SKETCH} and polish.model == TONE
    assert polish.depends_on == drafts[1].key and polish.seed == drafts[1].seed
    assert polish.input["tags"] == drafts[1].input["tags"] and polish.input["duration"] == 3
    out = tmp_path / "out"
    events = []
    report = run_batch(items, BatchOptions(out_dir=out, workers=1), on_event=events.append)
    assert report.done == 4
    finished = [e["key"] for e in events if e["event"] == "item"]
    assert finished.index(polish.key) > finished.index(drafts[1].key)
    rows = index_of(out)
    assert [r["role"] for r in rows] == ["draft", "draft", "draft", "polish"]


def test_kill_between_render_and_move_is_recovered_without_rendering_again(tone, tmp_path, monkeypatch):
    from aimusic.batch import library

    batch = write(tmp_path / "b.yaml", f"items:\n  - {{model: {TONE}, tags: x, duration: 0.3, count: 2}}\n")
    items = load_batch(batch)
    out = tmp_path / "out"

    real_finalize = library.finalize

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # stands in for kill -9 after the job wrote result.json
    monkeypatch.setattr(library, "finalize", killed)
    with pytest.raises(Interrupted):
        run_batch(items, BatchOptions(out_dir=out, concurrency=1))
    assert (library.work_dir(out, items[0].key) / "result.json").exists()
    assert not audio_files(out)
    monkeypatch.setattr(library, "finalize", real_finalize)
    from fakes.tone_engine import ToneEngine

    runs = []
    original = ToneEngine.run
    monkeypatch.setattr(ToneEngine, "run", lambda self, *a: runs.append(1) or original(self, *a))
    report = run_batch(items, BatchOptions(out_dir=out, concurrency=1))
    assert report.done == 2 and report.adopted >= 1 and len(runs) == 2 - report.adopted
    assert len(audio_files(out)) == 2 and not any((out / ".aimusic" / "work").iterdir())


def test_finish_preset_gives_the_library_one_loudness(tone, tmp_path, cli):
    batch = write(tmp_path / "b.yaml", f"""
defaults: {{model: {TONE}, duration: 2}}
items:
  - {{tags: low, input: {{frequency: 110}}}}
  - {{tags: mid, input: {{frequency: 440}}}}
  - {{tags: high, input: {{frequency: 3000}}}}
""")
    raw = cli("batch", batch, "-o", tmp_path / "raw", "--yes")
    finished = cli("batch", batch, "-o", tmp_path / "finished", "--yes", "--finish", "streaming")
    assert raw.code == 0 and finished.code == 0, finished.stderr
    raw_lufs = [float(r["loudness_lufs"]) for r in index_of(tmp_path / "raw")]
    lufs = [float(r["loudness_lufs"]) for r in index_of(tmp_path / "finished")]
    assert max(raw_lufs) - min(raw_lufs) > 2                          # the tones differ in loudness
    assert max(lufs) - min(lufs) < 0.5 and all(abs(v + 14) < 1.0 for v in lufs)
    sidecar = json.loads(next((tmp_path / "finished").glob("low*.json")).read_text())
    assert sidecar["finish"]


def test_output_dir_problems_and_one_driver_per_library(tone, tmp_path, cli):
    from aimusic.batch.scheduler import _lock_library

    batch = write(tmp_path / "b.yaml", f"items:\n  - {{model: {TONE}, tags: x, duration: 0.3}}\n")
    (tmp_path / "file").write_text("x")
    assert cli("batch", batch, "-o", tmp_path / "file", "--yes").code in (64, 65)
    out = tmp_path / "out"
    held = _lock_library(out)
    try:
        busy = cli("batch", batch, "-o", out, "--yes", "--json")
        assert busy.code == 75 and "another batch is running" in busy.error()["message"]
    finally:
        held.close()
    assert cli("batch", batch, "-o", out, "--yes").code == 0


def test_unreachable_ray_cluster_is_a_clear_error(tone, tmp_path, cli):
    batch = write(tmp_path / "b.yaml", f"items:\n  - {{model: {TONE}, tags: x, duration: 0.3}}\n")
    result = cli("batch", batch, "-o", tmp_path / "out", "--yes", "--runner", "ray",
                 "--ray-address", "127.0.0.1:1", "--json")
    assert result.code == 78 and "Ray" in result.error()["message"]


def test_plain_words_entries_are_planned(tmp_path):
    batch = write(tmp_path / "b.yaml", 'items:\n  - request: "three calm piano tracks of 4 seconds"\n'
                                       '  - {request: "an upbeat synthwave loop, 6 seconds", seed: 5}\n')
    items = load_batch(batch)
    assert len(items) == 4 and {i.model for i in items} == {SKETCH}      # no keys, no weights: offline
    assert [i.input["duration"] for i in items] == [4, 4, 4, 6] and items[3].seed == 5
    assert "piano" in items[0].tags and len({i.seed for i in items[:3]}) == 3
    assert items[0].reasons                                              # the planner says why


def test_missing_key_is_exit_77_before_anything_runs_but_dry_run_prices(tmp_path, cli):
    batch = write(tmp_path / "b.yaml", "items:\n  - {model: acestep-ai/ace-step/text-to-audio, provider: runcomfy, "
                                       "tags: x, duration: 10, count: 2}\n")
    result = cli("batch", batch, "-o", tmp_path / "out", "--yes")
    assert result.code == 77 and not (tmp_path / "out").exists()
    dry = cli("batch", batch, "-o", tmp_path / "out", "--dry-run")
    assert dry.code == 0 and "$0.0040" in dry.stderr


def test_kill_9_mid_offline_batch_then_resume_gives_each_item_once(tmp_path, cli):
    import os
    import signal
    import subprocess
    import sys
    import time

    # 16 items: under a loaded CI machine the poll below may see "done" late; far more items than
    # the 3 it waits for keeps the kill inside the batch
    batch = write(tmp_path / "b.yaml", f"items:\n  - {{model: {SKETCH}, tags: 'lofi, 80 BPM', duration: 4, "
                                       "count: 16}\n")
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent / "src"))
    proc = subprocess.Popen([sys.executable, "-m", "aimusic", "batch", str(batch), "-o", str(out), "--yes",
                             "--workers", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / ".aimusic" / "manifest.sqlite").exists():
            try:
                db = sqlite3.connect(f"file:{out / '.aimusic' / 'manifest.sqlite'}?mode=ro", uri=True)
                done = db.execute("SELECT COUNT(*) FROM items WHERE state='done'").fetchone()[0]
                db.close()
            except sqlite3.DatabaseError:
                pass
        if done >= 3:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL and 3 <= done < 16, (proc.returncode, done)
    result = cli("batch", batch, "-o", out, "--yes", "--json")
    assert result.code == 0, result.stderr
    rows = index_of(out)
    assert len(rows) == 16 and len({r["key"] for r in rows}) == 16
    assert sorted(p.name for p in audio_files(out)) == sorted(r["file"] for r in rows)
    assert sorted(p.name for p in out.glob("*.json") if p.name != "index.json") == sorted(r["sidecar"] for r in rows)
    assert not [p for p in out.iterdir() if p.name.startswith(".") and p.name != ".aimusic"]


# --- lanes and failure policy ---------------------------------------------------------------

def test_lanes_derive_from_the_engine_descriptor(monkeypatch):
    from aimusic.batch import lanes
    from aimusic.engines.base import Engine, Lane

    assert (lanes.lane_of("sketch"), lanes.lane_of("local"), lanes.lane_of("runcomfy")) == \
        ("offline", "local", "hosted:runcomfy")
    assert lanes.remote_phases("runcomfy") == (("submit", None), ("download", None))

    class Remote(Engine):
        name = "faraway"
        tasks = frozenset({"generate"})
        lane = Lane.REMOTE
        remote_phases = (("render", 0), ("render", 1))

        def run(self, *args):  # pragma: no cover - never run here
            raise NotImplementedError

    class Plain(Remote):
        name = "nearby"
        lane = Lane.CPU
        remote_phases = ()

    import aimusic.registry as registry

    fakes = {"faraway": Remote, "nearby": Plain}
    real_engine_class = registry.engine_class
    monkeypatch.setattr(registry, "engine_class", lambda provider: fakes.get(provider) or real_engine_class(provider))
    monkeypatch.setattr(registry, "is_installed", lambda provider: provider not in fakes)  # in-process only
    assert lanes.lane_of("faraway") == "hosted:faraway" and lanes.lane_of("nearby") == "thread"
    assert lanes.remote_phases("faraway") == (("render", 0), ("render", 1))
    assert lanes.remote_phases("nearby") is None


def test_failures_are_handled_by_their_class_not_their_number(tone, tmp_path, cli, monkeypatch):
    from fakes.tone_engine import ToneEngine

    from aimusic.errors import RetryableError, TransportError

    original = ToneEngine.run
    calls: dict[int, int] = {}

    def faulty(self, model, request, ctx, sink):
        calls[request.frequency] = calls.get(request.frequency, 0) + 1
        if request.frequency == 330:     # a service that is down: retried like any failure, then given up
            raise TransportError("cannot reach the fake service", hint="start it")
        if request.frequency == 440 and calls[440] <= 3:   # busy: slowed down, retries not spent
            raise RetryableError("the fake service is busy (HTTP 429)")
        return original(self, model, request, ctx, sink)

    monkeypatch.setattr(ToneEngine, "run", faulty)
    batch = write(tmp_path / "b.yaml", f"""
defaults: {{model: {TONE}, duration: 0.2}}
items:
  - {{tags: down, input: {{frequency: 330}}}}
  - {{tags: busy, input: {{frequency: 440}}}}
""")
    out = tmp_path / "out"
    result = cli("batch", batch, "-o", out, "--yes", "--retries", "1", "--json")
    assert calls[330] == 2 and calls[440] == 4            # 1 try + 1 retry; 3 throttles + 1 success
    assert result.code == 75 and result.error()["type"] == "unreachable"   # the failures' own class
    manifest = sqlite3.connect(out / ".aimusic" / "manifest.sqlite")
    rows = dict(manifest.execute("SELECT state, error_type FROM items").fetchall())
    manifest.close()
    assert rows == {"failed": "unreachable", "done": None}


def test_a_manifest_from_before_error_types_still_opens(tmp_path):
    from aimusic.batch.manifest import SCHEMA, Manifest

    path = tmp_path / "manifest.sqlite"
    old = sqlite3.connect(path)
    old.executescript(SCHEMA.replace("    error_type TEXT,\n", ""))
    old.close()
    manifest = Manifest(path)
    columns = {row[1] for row in manifest.db.execute("PRAGMA table_info(items)")}
    manifest.close()
    assert "error_type" in columns

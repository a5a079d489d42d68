"""Local ACE-Step jobs in a batch: requests that differ only by consecutive seeds are rendered
in one batched pipeline call (the engine's `variations`), on the real diffusers pipeline at toy size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local_acestep_fixtures import save_tiny_pipeline

TURBO = "local/ace-step-1.5-turbo/text-to-audio"


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny-acestep-batch"), is_turbo=True)


def test_matching_local_items_share_one_pipeline_call(tiny_dir, tmp_path, cli):
    batch = tmp_path / "b.yaml"
    batch.write_text(f"""
defaults: {{model: {TURBO}, provider: local, duration: 10, input: {{steps: 2}}}}
items:
  - {{tags: "lofi, piano", count: 5, seed: 100}}
  - {{tags: "lofi", count: 2, vary: [[rain, vinyl]], seed: 200}}
""")
    out = tmp_path / "out"
    result = cli("batch", batch, "-o", out, "--yes", "--json", "--option", f"model_path={tiny_dir}")
    assert result.code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    items = [e for e in events if e["event"] == "item"]
    assert len(items) == 7
    index = json.loads((out / "index.json").read_text())["items"]
    sidecars = {row["seed"]: json.loads((out / row["sidecar"]).read_text()) for row in index}
    assert sorted(sidecars) == [100, 101, 102, 103, 104, 200, 201]
    # the five "lofi, piano" items: one call of the pipeline with a batch of five
    assert {sidecars[s]["batch"]["items_in_call"] for s in range(100, 105)} == {5}
    assert {sidecars[s]["metadata"]["pipeline_calls"] for s in range(100, 105)} == {1}
    assert all(sidecars[s]["input"]["tags"] == "lofi, piano" and sidecars[s]["seed"] == s for s in range(100, 105))
    files = {row["file"] for row in index}
    assert len(files) == 7 and all((out / f).exists() for f in files)
    # distinct tags cannot share a call: two more single calls
    assert {sidecars[s]["input"]["tags"] for s in (200, 201)} == {"lofi, rain", "lofi, vinyl"}
    assert {sidecars[s]["batch"]["items_in_call"] for s in (200, 201)} == {1}

"""Local ACE-Step jobs in a batch: requests that differ only by consecutive seeds are rendered
in one batched pipeline call (the engine's `variations`), on the real diffusers pipeline at toy size."""

from __future__ import annotations

import json

TURBO = "local/ace-step-1.5-turbo/text-to-audio"


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


def test_ray_actor_holds_the_pipeline_between_jobs(tiny_dir, tmp_path):
    import numpy as np
    import ray
    import soundfile as sf

    from aimusic.batch import BatchOptions, load_batch, run_batch

    batch = tmp_path / "b.yaml"
    batch.write_text(f"""
defaults: {{model: {TURBO}, provider: local, duration: 10, input: {{steps: 2}}}}
items:
  - {{tags: "lofi, piano", count: 3, seed: 100}}
  - {{tags: "ambient", seed: 300}}
""")
    items = load_batch(batch)
    options = {"model_path": str(tiny_dir)}
    local = run_batch(items, BatchOptions(out_dir=tmp_path / "local", options=options))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = run_batch(items, BatchOptions(out_dir=tmp_path / "ray", runner="ray", options=options))
    finally:
        ray.shutdown()
    assert local.done == remote.done == 4
    index = json.loads((tmp_path / "ray" / "index.json").read_text())["items"]
    sidecars = [json.loads((tmp_path / "ray" / row["sidecar"]).read_text()) for row in index]
    assert [s["batch"]["items_in_call"] for s in sidecars] == [3, 3, 3, 1]
    # one actor, one process: the second call found the pipeline already loaded
    loads = [s["metadata"]["load_s"] for s in sidecars]
    assert loads[3] < 0.5 * max(loads[0], 0.05) or loads[3] < 0.05
    for row in index:
        ours, _ = sf.read(tmp_path / "ray" / row["file"], dtype="float32")
        theirs, _ = sf.read(tmp_path / "local" / row["file"], dtype="float32")
        assert np.allclose(ours, theirs, atol=1e-4)

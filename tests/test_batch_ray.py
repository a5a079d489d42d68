"""The Ray runner on a local Ray (2 CPUs, no dashboard): the same library as the local runner,
and the manifest guarantees (a hosted request id left by a killed run is followed, not resubmitted)."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
import ray
from fakes.runcomfy_server import RunComfyServer

SKETCH = "local/sketch/text-to-audio"
ACE = "acestep-ai/ace-step/text-to-audio"


@pytest.fixture
def local_ray(monkeypatch, tmp_path):
    with RunComfyServer(polls_before_done=1) as server:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)   # set before ray.init: the workers inherit it
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            yield server
        finally:
            ray.shutdown()


def rows_of(out: Path) -> list[dict]:
    with open(out / "index.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_ray_runner_builds_the_same_library_and_resumes_by_id(local_ray, tmp_path, cli):
    from aimusic.batch import BatchOptions, load_batch, run_batch
    from aimusic.batch.library import work_dir

    server = local_ray
    batch = tmp_path / "b.yaml"
    batch.write_text(f"""
seed: 5
items:
  - {{model: {SKETCH}, tags: "chiptune, 140 BPM", duration: 4, count: 3, vary: [[square, triangle], [happy, tense]]}}
  - {{model: {ACE}, provider: runcomfy, tags: "lounge jazz", duration: 5, count: 3}}
""")
    local_out, ray_out = tmp_path / "local", tmp_path / "ray"
    local = cli("batch", batch, "-o", local_out, "--yes", "--option", "poll_interval=0.02")
    assert local.code == 0, local.stderr
    submits_before = server.total_submits
    remote = cli("batch", batch, "-o", ray_out, "--yes", "--runner", "ray", "--json",
                 "--option", "poll_interval=0.02")
    assert remote.code == 0, remote.stderr
    assert server.total_submits - submits_before == 3
    keep = ("file", "title", "tags", "language", "seed", "model", "provider", "duration", "loudness_lufs", "key")
    local_rows, ray_rows = rows_of(local_out), rows_of(ray_out)
    assert [{k: r[k] for k in keep} for r in ray_rows] == [{k: r[k] for k in keep} for r in local_rows]
    for row in local_rows:  # identical audio, byte for byte
        assert digest(ray_out / row["file"]) == digest(local_out / row["file"])

    # A run killed after submitting left only its remote.json (shared storage): the Ray run
    # follows that id instead of submitting again.
    items = load_batch(batch)
    hosted = [i for i in items if i.provider == "runcomfy"]
    job = server.new_job(ACE, dict(hosted[0].input))
    resumed_out = tmp_path / "resumed"
    wd = work_dir(resumed_out, hosted[0].key)
    wd.mkdir(parents=True)
    (wd / "remote.json").write_text(json.dumps({"provider": "runcomfy", "remote_id": job.request_id}))
    before = server.total_submits
    report = run_batch(items, BatchOptions(out_dir=resumed_out, runner="ray",
                                           options={"poll_interval": 0.02}))
    assert report.done == 6 and report.resumed == 1
    assert server.total_submits - before == 2                       # the third was followed by id
    sidecar = json.loads((resumed_out / f"{hosted[0].stem}.json").read_text())
    assert sidecar["metadata"]["request_id"] == job.request_id and sidecar["resumed"]

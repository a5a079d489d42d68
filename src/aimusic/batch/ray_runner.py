"""The Ray backend: the same batch, scheduled by the same driver, run on a Ray cluster.

- hosted and offline jobs: one Ray task per job (offline ones take a CPU each; hosted ones
  wait on the network and take a quarter of one);
- local ACE-Step jobs: one long-lived actor per GPU, which keeps its pipeline loaded between
  jobs (the engine caches it per process) and takes grouped (batched) jobs like the local lane;
- files: a worker that sees the output directory (shared storage: NFS, a mounted bucket)
  writes there directly, including `remote.json` with a hosted request id before it polls;
  a worker that does not see it renders into a temporary directory and returns the bytes,
  which the driver writes. Either way only the driver touches the manifest.

`ray.init(address=...)` uses --ray-address or RAY_ADDRESS; with neither, a local Ray starts
(no dashboard) and is shut down at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aimusic.errors import NotConfiguredError

HOSTED_TASK_CPUS = 0.25


def _ray_execute(job: dict[str, Any]) -> dict[str, Any]:
    from aimusic.batch.execute import execute

    job = dict(job)
    job["gather"] = not Path(job.pop("shared_marker")).exists()
    return execute(job)


def _reachable(address: str, timeout: float = 3.0) -> bool:
    """A quick TCP check of host:port (ray.init itself waits minutes on a dead address)."""
    import socket

    if address == "auto":
        return True
    host_port = address.split("://", 1)[-1].rsplit("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        return True  # not host:port: let Ray judge it
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except OSError:
        return False


class LocalPipelineActor:
    """Holds one process (and so one loaded pipeline) per GPU for local ACE-Step jobs."""

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        return _ray_execute(job)


class RayBackend:
    remote_ids_by_file = True

    def __init__(self, opts: Any) -> None:
        try:
            import ray
        except ImportError:
            raise NotConfiguredError("--runner ray needs the ray package", hint="pip install 'aimusic[ray]'") from None
        self.ray = ray
        self.opts = opts
        self.owns_ray = False
        address = opts.ray_address or os.environ.get("RAY_ADDRESS") or None
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "ignore_reinit_error": True}
            kwargs.update(opts.ray_init or {})
            if address and not _reachable(address):
                raise NotConfiguredError(f"cannot reach the Ray cluster at {address}",
                                         hint="check --ray-address / RAY_ADDRESS (host:port of the head "
                                              "node), or use --runner local")
            try:
                if address:
                    ray.init(address=address, **{k: v for k, v in kwargs.items() if k != "num_cpus"})
                else:
                    ray.init(**kwargs)
            except (Exception, SystemExit) as exc:  # no cluster there, or Ray cannot start here
                raise NotConfiguredError(f"cannot start or reach Ray ({exc.__class__.__name__}: {exc})",
                                         hint="check --ray-address / RAY_ADDRESS, or use --runner local") from None
            self.owns_ray = True
        resources = ray.cluster_resources()
        self.cpus = max(1, int(resources.get("CPU", 1)))
        self.gpus = int(resources.get("GPU", 0))
        # a file only workers with shared storage can see: they write results in place
        marker_dir = Path(opts.out_dir) / ".aimusic"
        marker_dir.mkdir(parents=True, exist_ok=True)
        self.marker = marker_dir / f"shared-{secrets.token_hex(4)}"
        self.marker.write_text("this output directory is visible to this worker\n")
        self.task = ray.remote(_ray_execute)
        self.actors: list[Any] = []
        self.idle_actors: list[Any] = []
        self.lanes: dict[Any, tuple[str, Any]] = {}
        self.busy: dict[str, int] = {}

    def _actor_pool(self) -> None:
        if self.actors:
            return
        actor_cls = self.ray.remote(LocalPipelineActor)
        count = max(1, self.gpus)
        for _ in range(count):
            actor = actor_cls.options(num_gpus=1 if self.gpus else 0, num_cpus=1).remote()
            self.actors.append(actor)
            self.idle_actors.append(actor)

    def has_capacity(self, lane: str) -> bool:
        busy = self.busy.get(lane, 0)
        if lane == "local":
            self._actor_pool()
            return bool(self.idle_actors)
        if lane in ("offline", "thread"):
            return busy < self.cpus
        return busy < self.opts.concurrency * 4

    def submit(self, lane: str, job: dict[str, Any], *, on_remote_id: Callable[[str], None] | None,
               log: Callable[[str], None] | None, **_: Any) -> Any:
        job = dict(job)
        job["shared_marker"] = str(self.marker)
        actor = None
        if lane == "local":
            actor = self.idle_actors.pop(0)
            ref = actor.run.remote(job)
        elif lane.startswith("hosted:"):
            ref = self.task.options(num_cpus=HOSTED_TASK_CPUS, max_retries=0).remote(job)
        else:
            # max_retries=0: the driver decides retries (it knows what was paid for)
            ref = self.task.options(num_cpus=1, max_retries=0).remote(job)
        self.busy[lane] = self.busy.get(lane, 0) + 1
        self.lanes[ref] = (lane, actor)
        return ref

    def wait(self, handles: list[Any], timeout: float) -> list[tuple[Any, dict[str, Any]]]:
        ray = self.ray
        ready, rest = ray.wait(handles, num_returns=1, timeout=timeout)
        if ready and rest:
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
            ready += more
        results = []
        for ref in ready:
            lane, actor = self.lanes.pop(ref)
            self.busy[lane] -= 1
            if actor is not None:
                self.idle_actors.append(actor)
            try:
                outcome = ray.get(ref)
            except Exception as exc:  # a worker or node that died: the driver retries the job
                from aimusic.batch.execute import error_dict
                from aimusic.errors import UpstreamError

                outcome = {"ok": False, "error": error_dict(UpstreamError(
                    f"Ray worker failed ({exc.__class__.__name__})"))}
            results.append((ref, outcome))
        return results

    def close(self) -> None:
        for actor in self.actors:
            try:
                self.ray.kill(actor)
            except Exception:
                pass
        self.actors.clear()
        self.marker.unlink(missing_ok=True)
        if self.owns_ray:
            self.ray.shutdown()

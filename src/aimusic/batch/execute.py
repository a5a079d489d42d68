"""Running one batch job where a worker is: a thread, a process of the offline pool, a Ray
task or a Ray actor. Plain dicts in and out (they cross process and machine boundaries).

A job writes into its own work directory `<out>/.aimusic/work/<key>/`:
    out/          what the pipeline (a run, or a resumed request) committed: audio, sidecar, extras
    remote.json   the hosted request id, written before polling (Ray workers; threads
                  report it straight into the manifest as well)
    result.json   written last: the job is complete and its files are in out/
The driver then moves the files into the library (`library.finalize`). A job that finds its
result.json already there returns it without running anything: a batch killed between a job
finishing and its files being moved pays nothing again.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULT_FILE = "result.json"
REMOTE_FILE = "remote.json"


def _write_json(path: Path, payload: Any) -> None:
    from aimusic.output import write_file_atomic

    write_file_atomic(path, json.dumps(payload, default=str).encode())


def _write_quick(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    partial.write_text(json.dumps(payload), encoding="utf-8")
    os.replace(partial, path)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def error_dict(exc: BaseException) -> dict[str, Any]:
    """An exception as data that crosses threads, processes and Ray nodes: the error's `type`
    (from which `aimusic.errors.from_dict` rebuilds its class, and so its policy), `retryable`
    and `permanent` for readers without aimusic, the exit `code` for the manifest, the message
    (hint included) redacted."""
    from aimusic.config import redact
    from aimusic.errors import AimusicError, InternalError, error_of

    error = error_of(exc)
    body: dict[str, Any] = {"code": error.exit_code, "type": error.type, "retryable": error.retryable,
                            "permanent": error.permanent, "message": redact(str(error))}
    if error.hint:
        body["hint"] = redact(error.hint)
    if error.field:
        body["field"] = error.field
    if isinstance(error, InternalError) and not isinstance(exc, AimusicError):
        body["message"] = redact(f"internal error ({exc.__class__.__name__}: {exc})")
        body["traceback"] = redact("".join(traceback.format_exception(exc))[-2000:])
    return body


def warm_up() -> None:
    """Import what every job needs once, before a dozen threads would do it at the same moment
    (imports hold a lock: a cold first wave of hosted jobs would otherwise queue on it)."""
    import aimusic.pipeline  # noqa: F401
    import aimusic.audio.io  # noqa: F401
    import aimusic.audio.loudness  # noqa: F401
    import aimusic.output  # noqa: F401 - warmed here, used by the jobs

    try:
        import scipy.signal  # noqa: F401 - the loudness meter's filters
    except ImportError:
        pass


def measure(path: str) -> tuple[float | None, float | None]:
    """(duration seconds, integrated loudness LUFS) of a produced file; None where unreadable."""
    try:
        from aimusic.audio.io import read_audio
        from aimusic.audio.loudness import integrated_loudness

        samples, rate = read_audio(path)
    except Exception:
        return None, None
    seconds = samples.shape[-1] / float(rate)
    try:
        lufs = float(integrated_loudness(samples, rate))
    except Exception:
        lufs = None
    if lufs is not None and (lufs != lufs or lufs in (float("inf"), float("-inf"))):
        lufs = None  # silence: no loudness to speak of
    return round(seconds, 3), (round(lufs, 2) if lufs is not None else None)


def _figures(audio: str, sidecar: str | None) -> tuple[float | None, float | None]:
    """(duration seconds, integrated loudness LUFS) of a produced file, from what the run
    already recorded in its sidecar (`duration_s`, `loudness_lufs`); the file is decoded and
    measured only for a figure the sidecar lacks."""
    recorded: dict[str, Any] = {}
    if sidecar:
        data = read_json(Path(sidecar))
        recorded = data if isinstance(data, dict) else {}
    seconds, lufs = recorded.get("duration_s"), recorded.get("loudness_lufs")
    seconds = round(float(seconds), 3) if isinstance(seconds, (int, float)) and seconds > 0 else None
    lufs = round(float(lufs), 2) if isinstance(lufs, (int, float)) and lufs == lufs else None
    if seconds is None or (lufs is None and "loudness_lufs" not in recorded):
        measured_seconds, measured_lufs = measure(audio)
        seconds = seconds if seconds is not None else measured_seconds
        lufs = lufs if "loudness_lufs" in recorded else measured_lufs
    return seconds, lufs


def execute(job: dict[str, Any], on_remote_id: Callable[[str], None] | None = None,
            log: Callable[[str], None] | None = None, cancel_event: Any = None,
            progress: Callable[..., None] | None = None) -> dict[str, Any]:
    """Run (or resume, or adopt) one job; never raises: failures come back as {"ok": False, ...}."""
    work = Path(job["work_dir"])
    try:
        done = read_json(work / RESULT_FILE)
        if isinstance(done, dict) and done.get("ok"):
            done["adopted"] = True
            return done
        gather = bool(job.get("gather"))
        scratch = Path(tempfile.mkdtemp(prefix="aimusic-job-")) if gather else work / "out"
        if not gather:
            shutil.rmtree(scratch, ignore_errors=True)  # leftovers of an attempt that was killed
            scratch.mkdir(parents=True, exist_ok=True)

        def remote_id_seen(request_id: str) -> None:
            # Every moment between the submit returning and this record is a moment where a
            # kill would lose the id, so the record is as quick as it can be: the manifest
            # when the driver is in this process (threads), else a rename-into-place file in
            # the shared work dir (no fsync: a killed process loses nothing the kernel holds).
            if on_remote_id is not None:
                on_remote_id(request_id)
            elif not gather:
                _write_quick(work / REMOTE_FILE, {"provider": job["provider"], "remote_id": request_id})

        result = _run(job, scratch, remote_id_seen, log, cancel_event, progress)
        payload = _describe(result, scratch, job)
        if gather:  # no shared storage: carry the bytes back to the driver
            payload["payload"] = {name: (scratch / name).read_bytes() for name in payload["names"]}
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            _write_json(work / RESULT_FILE, payload)
            if job.get("items"):  # move the files into the library here, off the driver's loop
                from aimusic.batch.expand import Item
                from aimusic.batch.library import finalize

                items = {data["key"]: Item.from_dict(data) for data in job["items"]}
                payload["records"] = finalize(payload, items, Path(job["out_dir"]))
        return payload
    except BaseException as exc:  # every failure becomes data for the driver
        if isinstance(exc, (SystemExit,)):
            raise
        return {"ok": False, "key": job["key"], "error": error_dict(exc)}


def _run(job: dict[str, Any], out: Path, on_remote_id: Callable[[str], None],
         log: Callable[[str], None] | None, cancel_event: Any, progress: Callable[..., None] | None) -> Any:
    from aimusic.pipeline import RunSettings, resume_request, run_request
    from aimusic.plan.direct import prepare, resume_target

    options = dict(job.get("options") or {})
    if job.get("variations", 1) > 1:
        options["variations"] = job["variations"]
    remote_id = job.get("remote_id")
    if remote_id:
        # a hosted request submitted by an earlier run: follow it, never submit again
        result = resume_request(remote_id, resume_target(job["provider"], job["model"]), job["provider"], out,
                                RunSettings(options=options, shared_options=True, log=log,
                                            cancel_event=cancel_event, progress=progress))
        if job.get("finish") and job["finish"] != "none":
            _finish_in_place(result, job["finish"])
        return result
    model, request, provider = prepare(job["model"], job["input"], job["provider"])
    return run_request(model, request, provider, out,
                       # the batch's options are for every item: each engine takes the ones it declares
                       RunSettings(format=job.get("format"), finish=job.get("finish"), options=options,
                                   shared_options=True, log=log, cancel_event=cancel_event, progress=progress,
                                   on_remote_id=on_remote_id))


def _describe(result: Any, out: Path, job: dict[str, Any]) -> dict[str, Any]:
    """The job's outcome as data: file names relative to `out`, grouped per take."""
    takes = []
    names: list[str] = []
    for index, audio in enumerate(result.files):
        group = {"audio": os.path.basename(audio),
                 "sidecar": os.path.basename(result.sidecars[index]) if index < len(result.sidecars) else None,
                 "extras": {k: os.path.basename(v) for k, v in
                            (result.extra_files[index] if index < len(result.extra_files) else {}).items()},
                 "seed": result.seeds[index] if index < len(result.seeds) else None}
        group["seconds"], group["loudness_lufs"] = _figures(audio, result.sidecars[index]
                                                            if index < len(result.sidecars) else None)
        takes.append(group)
        names.extend([group["audio"]] + ([group["sidecar"]] if group["sidecar"] else []) + list(group["extras"].values()))
    return {"ok": True, "key": job["key"], "keys": job.get("keys") or [job["key"]], "takes": takes,
            "names": names, "cost_usd": result.cost_usd, "provider": result.provider, "model": result.model,
            "remote_id": (result.metadata or {}).get("request_id"),
            "resumed": bool(job.get("remote_id")), "timings": result.timings}


def _finish_in_place(result: Any, preset: str) -> None:
    """A resumed request writes what the provider made; a batch with --finish finishes it here, so a
    resumed item sounds like every other item of the library."""
    from aimusic.audio.finish import apply_preset
    from aimusic.audio.io import read_audio, write_audio
    from aimusic.output import write_file_atomic

    for index, audio in enumerate(result.files):
        samples, rate = read_audio(audio)
        samples, report = apply_preset(samples, rate, preset)
        staged = Path(audio).with_name(f".{Path(audio).name}.finishing{Path(audio).suffix}")
        write_audio(staged, samples, rate)
        os.replace(staged, audio)
        if index < len(result.sidecars):
            sidecar = Path(result.sidecars[index])
            data = json.loads(sidecar.read_text(encoding="utf-8"))
            data["finish"] = report
            write_file_atomic(sidecar, json.dumps(data, indent=2, ensure_ascii=False, default=str).encode())

"""Benchmark: the planner on its labelled corpus (tests/data/plan_corpus.yaml), next to a baseline.

Prints, per route of the decision flow, how many requests were routed right; the share of the
users' musical words that reached the model's style text (in order); and the share of plans whose
lengths, counts, windows and extensions are exactly what was asked. The baseline is the planner
as it was before Planner v2 (`--baseline REF`, a git commit), run on the same corpus in the same
run from `git archive` of that commit's src/ in a subprocess:

    python bench/plan_accuracy.py [--baseline 916dd5b] [--no-baseline] [--failures]

`evaluate()` is what tests/test_plan_corpus.py asserts on.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "plan_corpus.yaml"
BASELINE = "916dd5b"   # main before Planner v2
ROUTES = ("premium", "ace-1.5", "ace-base", "draft-polish", "inpaint", "outpaint", "remix", "separate", "layer",
          "error")
MODELS = {"elevenlabs/elevenlabs/music-generation": "premium", "acestep-ai/ace-step-1.5/text-to-audio": "ace-1.5",
          "acestep-ai/ace-step/text-to-audio": "ace-base"}


def load_corpus(path: Path = CORPUS) -> list[dict]:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(c for c in text if c.isalnum())


def _audio(value, folder: Path, cache: dict) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if value not in cache:
        import numpy as np
        import soundfile as sf

        path = folder / f"source_{value:g}.wav"
        sf.write(str(path), np.zeros((int(4000 * value), 1), np.float32), 4000)
        cache[value] = str(path)
    return cache[value]


def route_of(plan) -> str:
    if plan.task != "generate":
        return plan.task
    models = [MODELS.get(s.model, s.model) for s in plan.steps]
    if models[:2] == ["ace-base", "premium"]:
        return "draft-polish"
    return models[0]


def style_text(plan) -> str:
    data = plan.steps[0].input
    return str(data.get("prompt") or data.get("tags") or "")


def _details(case: dict, plan) -> list[str]:
    """What differs from the case's expected numbers (empty: all as asked)."""
    data = plan.input
    bad = []
    if "seconds" in case:
        got = float(data.get("duration", (data.get("music_length_ms") or 0) / 1000))
        got += sum(float(s.input.get("extend_after_duration", 0)) for s in plan.steps[1:] if s.task == "outpaint")
        if abs(float(got) - case["seconds"]) > 0.01:
            bad.append(f"seconds {got} != {case['seconds']}")
    if "count" in case and plan.count != case["count"]:
        bad.append(f"count {plan.count} != {case['count']}")
    if "steps" in case and len(plan.steps) != case["steps"]:
        bad.append(f"steps {len(plan.steps)} != {case['steps']}")
    if "window" in case:
        got = [data.get("start_time"), data.get("end_time")]
        if [float(g or 0) for g in got] != [float(w) for w in case["window"]]:
            bad.append(f"window {got} != {case['window']}")
        if "anchors" in case and [data.get("start_time_relative_to"), data.get("end_time_relative_to")] != case["anchors"]:
            bad.append(f"anchors != {case['anchors']}")
    if "extend" in case:
        got = [data.get("extend_before_duration"), data.get("extend_after_duration")]
        if [float(g or 0) for g in got] != [float(x) for x in case["extend"]]:
            bad.append(f"extend {got} != {case['extend']}")
    if "added" in case:
        added = sum(float(s.input.get("extend_before_duration", 0)) + float(s.input.get("extend_after_duration", 0))
                    for s in plan.steps)
        if abs(added - case["added"]) > 0.01:
            bad.append(f"added {added} != {case['added']}")
    if "total" in case:
        source = plan.source_seconds or 0.0
        added = sum(float(s.input.get("extend_before_duration", 0)) + float(s.input.get("extend_after_duration", 0))
                    for s in plan.steps)
        if abs(source + added - case["total"]) > 0.01:
            bad.append(f"total {source + added} != {case['total']}")
    if "instrumental" in case:
        inst = data.get("force_instrumental") if "prompt" in data else data.get("lyrics") == "[inst]"
        if bool(inst) != case["instrumental"]:
            bad.append(f"instrumental {inst} != {case['instrumental']}")
    if "language" in case and plan.language != case["language"]:
        bad.append(f"language {plan.language} != {case['language']}")
    for tag in case.get("tags") or []:
        if tag not in str(data.get("tags", "")):
            bad.append(f"tags lack {tag!r}")
    return bad


def evaluate(cases: list[dict] | None = None) -> dict:
    """Plan every case (provider runcomfy unless the case says otherwise); return per-case results."""
    from aimusic.errors import AimusicError
    from aimusic.plan import make_plan

    cases = load_corpus() if cases is None else cases
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        cache: dict = {}
        for case in cases:
            result = {"request": case["request"], "route": case["route"], "group": case.get("group", ""),
                      "got": None, "problems": [], "kept": 0, "words": len(case.get("keep") or []), "order": True}
            audio = _audio(case.get("audio"), Path(tmp), cache)
            started = time.perf_counter()
            try:
                plan = make_plan(case["request"], audio=audio, lyrics=case.get("lyrics"),
                                 provider=case.get("provider", "runcomfy"))
            except AimusicError as exc:
                result["got"] = "error"
                message = " ".join([exc.message, str(getattr(exc, "hint", "") or "")])
                if case["route"] == "error" and (exc.exit_code != 65 or case.get("error", "") not in message):
                    result["problems"].append(f"exit {exc.exit_code}: {message}")
                elif case["route"] != "error":
                    result["problems"].append(f"error: {message}")
            else:
                result["got"] = route_of(plan)
                if result["got"] == case["route"]:
                    result["problems"].extend(_details(case, plan))
                text = _norm(style_text(plan))
                at = -1
                for word in case.get("keep") or []:
                    where = text.find(_norm(word))
                    if where >= 0:
                        result["kept"] += 1
                        if where < at:
                            result["order"] = False
                        at = max(at, where)
                for word in case.get("drop") or []:
                    if _norm(word) and _norm(word) in _norm(str(plan.input.get("tags", ""))):
                        result["problems"].append(f"logistics {word!r} left in the tags")
                if result["kept"] < result["words"]:
                    result["problems"].append(f"style lacks words: {style_text(plan)!r}")
                if not result["order"]:
                    result["problems"].append(f"style out of the user's order: {style_text(plan)!r}")
            result["ms"] = (time.perf_counter() - started) * 1000
            result["routed"] = result["got"] == case["route"]
            results.append(result)
    return summarise(results)


def summarise(results: list[dict]) -> dict:
    per_route = {}
    for route in ROUTES:
        rows = [r for r in results if r["route"] == route]
        if rows:
            per_route[route] = {"n": len(rows), "right": sum(r["routed"] for r in rows)}
    words = sum(r["words"] for r in results)
    kept = sum(r["kept"] for r in results)
    routed = [r for r in results if r["routed"]]
    exact = [r for r in routed if not r["problems"]]
    return {"n": len(results), "routed": len(routed), "route_share": len(routed) / len(results),
            "words": words, "kept": kept, "kept_share": kept / words if words else 1.0,
            "exact": len(exact), "exact_share": len(exact) / len(results), "per_route": per_route,
            "mean_ms": sum(r["ms"] for r in results) / len(results), "results": results}


def baseline(ref: str) -> dict | None:
    """The same evaluation on the planner of commit `ref` (its src/ from git archive)."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src"], capture_output=True)
        if archive.returncode != 0:
            print(f"baseline {ref}: {archive.stderr.decode().strip()}", file=sys.stderr)
            return None
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        env = dict(os.environ, PYTHONPATH=str(Path(tmp) / "src"))
        for name in ("RUNCOMFY_TOKEN", "ELEVENLABS_API_KEY", "COMFYUI_URL"):
            env.pop(name, None)
        code = ("import json, runpy; mod = runpy.run_path(%r); out = mod['evaluate']();"
                "print(json.dumps(out))" % str(Path(__file__).resolve()))
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"baseline {ref} failed: {proc.stderr.strip()[-400:]}", file=sys.stderr)
            return None
        return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help="git commit of the planner to compare with")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--failures", action="store_true", help="list the cases planned wrong")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    for name in ("RUNCOMFY_TOKEN", "ELEVENLABS_API_KEY", "COMFYUI_URL"):
        os.environ.pop(name, None)
    now = evaluate()
    base = None if args.no_baseline else baseline(args.baseline)
    label = f"baseline {args.baseline}"
    print(f"corpus: {now['n']} requests, {now['words']} musical words ({CORPUS.relative_to(ROOT)})")
    print(f"{'route':14s} {'n':>4s} {'routed right':>13s} {label:>18s}")
    for route, row in now["per_route"].items():
        old = base["per_route"].get(route) if base else None
        old_text = f"{old['right'] / old['n']:.1%}" if old else "-"
        print(f"{route:14s} {row['n']:4d} {row['right'] / row['n']:12.1%} {old_text:>18s}")

    def line(name: str, key: str, extra: str = "") -> None:
        old = f"{base[key]:.1%}" if base else "-"
        print(f"{name:19s} {now[key]:12.1%} {old:>18s}{extra}")
    print("-" * 51)
    line("all routes", "route_share", f"   ({now['routed']}/{now['n']}; target 97%)")
    line("musical words kept", "kept_share", f"   ({now['kept']}/{now['words']}; target 97%)")
    line("exactly as asked", "exact_share", "   (route, lengths, counts, windows, words, errors)")
    print(f"mean plan time {now['mean_ms']:.1f} ms per request (in process)")
    if args.failures:
        for r in now["results"]:
            if r["problems"] or not r["routed"]:
                print(f"- [{r['route']} -> {r['got']}] {r['request']!r}: {'; '.join(r['problems'])}")


if __name__ == "__main__":
    main()

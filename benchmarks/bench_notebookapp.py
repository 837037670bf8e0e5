"""Issue 4: what running cells as a NotebookApp job on Local costs over running them in place, and a sweep.

In one run: the same cells executed in place (in this process), then as NotebookApp jobs on Local with Ganga's
default monitoring, then a 50-point NotebookSweep against the same 50 points run in place one after another: one
point per subjob, then ``points_per_job`` points per subjob, one subjob per core (issue 15).
Goals: overhead <= 2 s per job; the sweep of one subjob per core <= 2x the points in place.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

from common import ganga_env, report, run_worker, table  # noqa: E402

CELLS = ["import math", "total = sum(math.sqrt(i) for i in range(n))", "print(round(total, 2))"]
N = 20_000_000
REPEATS, QUICK_REPEATS = 5, 2
SWEEP, QUICK_SWEEP = 50, 10


def in_place(parameters: dict) -> float:
    namespace = dict(parameters)
    t0 = time.perf_counter()
    for source in CELLS:
        exec(compile(source, "<cell>", "exec"), namespace)
    return time.perf_counter() - t0


def wait(job, timeout: float = 600) -> float:
    deadline = time.time() + timeout
    while job.status not in ("completed", "failed", "killed"):
        if time.time() > deadline:
            raise RuntimeError(f"job {job.id} still {job.status} after {timeout} s")
        time.sleep(0.02)
    return time.time()


def measure(repeats: int, sweep: int) -> None:
    import ganga.ganga  # noqa: F401
    from ganga import Job, Local, NotebookApp, NotebookMerger, NotebookSweep, enableMonitoring

    enableMonitoring()
    rows = []
    for _ in range(repeats):
        place = in_place({"n": N})
        job = Job(application=NotebookApp(cells=CELLS, parameters={"n": N}), backend=Local())
        t0 = time.time()
        job.submit()
        seen = wait(job) - t0
        worker = json.load(open(os.path.join(job.outputdir, "gangajupyter_report.json")))
        cells = sum(c["seconds"] for c in worker["cells"])
        rows.append({"in_place": place, "seen": seen, "runner": worker["seconds"], "cells": cells, "status": job.status})

    points = [{"n": N // 10 + i} for i in range(sweep)]
    t0 = time.perf_counter()
    for p in points:
        in_place(p)
    sweep_in_place = time.perf_counter() - t0
    sweeps = []
    for per_job in (1, -(-sweep // os.cpu_count())):  # one point per subjob, then one subjob per core
        job = Job(
            application=NotebookApp(cells=CELLS, outputs=["total"]),
            splitter=NotebookSweep(parameters=points, points_per_job=per_job),
            postprocessors=[NotebookMerger()],
            backend=Local(),
        )
        t0 = time.time()
        job.submit()
        submitted = time.time() - t0
        done = wait(job, timeout=1800) - t0
        sweeps.append(
            {
                "points": sweep,
                "per_job": per_job,
                "subjobs": len(job.subjobs),
                "in_place": sweep_in_place,
                "submit": submitted,
                "done": done,
                "status": job.status,
                "results": len(job.application.results()) if job.status == "completed" else 0,
            }
        )
    report({"jobs": rows, "sweeps": sweeps})


def run(quick: bool = False) -> str:
    repeats, sweep = (QUICK_REPEATS, QUICK_SWEEP) if quick else (REPEATS, SWEEP)
    with tempfile.TemporaryDirectory(prefix="gj-bench-nbapp-") as tmp:
        r = run_worker(HERE, ganga_env(Path(tmp)), "measure", str(repeats), str(sweep))
    jobs, sweeps = r["jobs"], r["sweeps"]
    s = sweeps[0]
    med = lambda key: statistics.median(j[key] for j in jobs)  # noqa: E731
    rows = [
        ["cells in place (this process)", f"{med('in_place'):.2f}", "1.0x", ""],
        ["NotebookApp on the worker: cells only", f"{med('cells'):.2f}", f"{med('cells') / med('in_place'):.1f}x", ""],
        [
            "NotebookApp on the worker: whole runner",
            f"{med('runner'):.2f}",
            f"{med('runner') / med('in_place'):.1f}x",
            f"+{med('runner') - med('in_place'):.2f} s (kernel start, notebook I/O)",
        ],
        [
            "NotebookApp job: submit -> completed seen by Ganga",
            f"{med('seen'):.2f}",
            f"{med('seen') / med('in_place'):.1f}x",
            f"+{med('seen') - med('in_place'):.2f} s (submission, Local's wrapper, detection)",
        ],
        [f"{s['points']} points in place, one after another", f"{s['in_place']:.2f}", "1.0x", ""],
    ]
    rows += [
        [
            f"{w['points']}-point NotebookSweep(points_per_job={w['per_job']}): submit -> all completed",
            f"{w['done']:.2f}",
            f"{w['done'] / w['in_place']:.1f}x",
            f"{w['subjobs']} subjobs; submit {w['submit']:.1f} s; {w['status']}; {w['results']} results"
            + ("; goal <= 2x in place" if w["per_job"] > 1 else ""),
        ]
        for w in sweeps
    ]
    statuses = sorted({j["status"] for j in jobs})
    return table(
        "NotebookApp on Local: overhead over running the same cells in place (median of %d jobs; %s)" % (len(jobs), statuses),
        ["what", "seconds", "ratio", "note"],
        rows,
        [
            "Goal: <= 2 s overhead per job. 'Whole runner' is the worker's own cost; 'seen by Ganga' adds submission, "
            "Local's job wrapper and detection (GangaJupyter's inotify watch; Ganga's own Local poll is 10 s).",
        ],
    )


if __name__ == "__main__":
    if sys.argv[1] == "measure":
        measure(int(sys.argv[2]), int(sys.argv[3]))

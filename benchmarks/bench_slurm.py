"""Issue 6: status latency on a real Slurm cluster (``scripts/slurm-cluster.sh start``), from the state change on the
cluster to the notebook.

* GangaJupyter: a real kernel with ``%load_ext GangaJupyter``; the time is when the live view's update reaches
  the front end (the client of this benchmark, as a browser would).
* Ganga: a plain Ganga 8.7.12 session (no GangaJupyter) with its default configuration, the moment ``j.status``
  changes, read every 20 ms in the same process (which is earlier than any display of it could be).

The state changes are timed on the worker: the payload writes the time as its first and last act (``running``:
Ganga's wrapper starts it a few ms after Slurm starts the job; ``completed``: the wrapper ends a few ms after
it). A job cancelled with ``scancel`` outside Ganga is timed from the moment scancel returns. Goal: p95 <= 1 s.
"""
from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

from common import table  # noqa: E402

JOBS, QUICK_JOBS = 12, 4
GANGA_JOBS, QUICK_GANGA_JOBS = 6, 2
PAYLOAD = "date +%s.%N > {d}/start{i}; sleep 1; date +%s.%N > {d}/end{i}"

PLAIN_GANGA = """
import json, random, sys, time
import ganga.ganga
from ganga import Job, Executable, Slurm, enableMonitoring
enableMonitoring()
d, n, payload = sys.argv[1], int(sys.argv[2]), sys.argv[3]
jobs, seen = [], {}
for i in range(n):
    time.sleep(random.uniform(0, 2))
    j = Job(application=Executable(exe='/bin/sh', args=['-c', payload.format(d=d, i=i)]), backend=Slurm())
    j.submit()
    jobs.append(j)
deadline = time.time() + 600
while time.time() < deadline and len(seen) < 2 * n:
    for i, j in enumerate(jobs):
        status = j.status
        if status in ('running', 'completed') and (i, status) not in seen:
            seen[(i, status)] = time.time()
            if status == 'completed' and (i, 'running') not in seen:
                seen[(i, 'running')] = None
    time.sleep(0.02)
print("RESULT " + json.dumps([[i, s, t] for (i, s), t in seen.items()]), flush=True)
"""


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))]


def stamp(path: Path) -> float:
    return float(path.read_text().strip())


def gangajupyter(home: Path, n: int) -> dict[str, list[float]]:
    from GangaJupyter.testlib.kernel import KernelSession
    from GangaJupyter.testlib.notebooks import ganga_home

    marks = home / "marks"
    marks.mkdir(parents=True)
    session = KernelSession(ganga_home(home, runtime_path=False), str(home))
    out: dict[str, list[float]] = {"running": [], "completed": [], "cancelled": []}
    try:
        session.run("%load_ext GangaJupyter")
        for i in range(n):
            time.sleep(random.uniform(0, 1))  # random phase against the poll
            payload = PAYLOAD.format(d=marks, i=i)
            session.run(f"j{i} = Job(application=Executable(exe='/bin/sh', args=['-c', {payload!r}]), backend=Slurm())\nj{i}.submit()\nj{i}")
            view = session.views()[-1]
            if not session.wait_for(lambda: view.state["status"] in ("completed", "failed"), timeout=120):
                raise RuntimeError(f"job {i} did not complete: {session.statuses(view)}")
            shown = {delta["status"]: t for t, delta in view.history if delta.get("status")}
            out["running"].append(shown["running"] - stamp(marks / f"start{i}"))
            out["completed"].append(shown["completed"] - stamp(marks / f"end{i}"))
        for i in range(max(2, n // 3)):
            session.run(f"c{i} = Job(application=Executable(exe='/bin/sleep', args=['300']), backend=Slurm())\nc{i}.submit()\nc{i}")
            view = session.views()[-1]
            if not session.wait_for(lambda: view.state["status"] == "running", timeout=120):
                raise RuntimeError(f"sleeper {i} did not start: {session.statuses(view)}")
            time.sleep(random.uniform(0, 1))
            subprocess.run(["scancel", str(session.run_value(f"c{i}.backend.id"))], check=True)
            cancelled = time.time()
            if not session.wait_for(lambda: view.state["status"] == "failed", timeout=60):
                raise RuntimeError(f"cancelled job {i} not seen: {session.statuses(view)}")
            out["cancelled"].append(next(t for t, d in view.history if d.get("status") == "failed") - cancelled)
        return out
    finally:
        session.close()


def plain_ganga(home: Path, n: int) -> dict[str, list[float]]:
    from GangaJupyter.testlib.notebooks import ganga_home

    marks = home / "marks"
    marks.mkdir(parents=True)
    env = ganga_home(home, runtime_path=False)
    script = home / "plain_ganga.py"
    script.write_text(textwrap.dedent(PLAIN_GANGA))
    result = subprocess.run(
        [sys.executable, str(script), str(marks), str(n), PAYLOAD], env=env, capture_output=True, text=True, timeout=900
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    seen = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))[7:])
    out: dict[str, list[float]] = {"running": [], "completed": []}
    for i, status, when in seen:
        if when is not None:
            reference = marks / (f"start{i}" if status == "running" else f"end{i}")
            out[status].append(when - stamp(reference))
    return out


def run(quick: bool = False) -> str:
    with tempfile.TemporaryDirectory(prefix="gj-bench-slurm-") as tmp:
        ours = gangajupyter(Path(tmp) / "ours", QUICK_JOBS if quick else JOBS)
        ganga = plain_ganga(Path(tmp) / "ganga", QUICK_GANGA_JOBS if quick else GANGA_JOBS)
    rows = []
    for status in ("running", "completed"):
        g, o = ganga[status], ours[status]
        for name, q in (("p50", 0.5), ("p95", 0.95)):
            gv, ov = (statistics.median(g), statistics.median(o)) if q == 0.5 else (percentile(g, q), percentile(o, q))
            rows.append([f"Slurm -> notebook, {status}, {name} (s)", f"{gv:.2f}", f"{ov:.2f}",
                         f"{gv / ov:.0f}x" if ov > 0 else "", "goal <= 1 s" if name == "p95" else ""])
    c = ours["cancelled"]
    rows.append(["scancel outside Ganga -> notebook, p95 (s)", "600 ([Slurm] timeout; not run)",
                 f"{percentile(c, 0.95):.2f}", "", f"{len(c)} jobs"])
    return table(
        f"Slurm status latency ({len(ours['completed'])} jobs with GangaJupyter, {len(ganga['completed'])} with "
        "Ganga's defaults, same cluster, same run)",
        ["measure", "Ganga 8.7.12 defaults", "GangaJupyter", "ratio", "note"],
        rows,
    )

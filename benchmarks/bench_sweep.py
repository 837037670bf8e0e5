"""Issue 15: a 1,000-point NotebookSweep on the HTCondor pool against papermill running the same parameterised
notebook in a loop, in one run.

One notebook (a ``parameters`` cell, then a short computation), 1,000 parameter sets (``--quick``: 100):

* papermill: ``papermill.execute_notebook`` once per point, one after another (a kernel each), in this machine's
  one process, as a user would script it;
* GangaJupyter: one ``NotebookSweep(points_per_job=k)`` job on the pool's slots (k = points / slots, so one
  subjob per slot), from ``submit()`` until every subjob is final, and ``results()`` with every point.

Needs the pool (``scripts/htcondor-pool.sh start``; ``CONDOR_CONFIG`` set).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

from common import ganga_env, report, run_worker, table  # noqa: E402

POINTS, QUICK_POINTS = 1000, 100
CELLS = [
    "n = 1000",  # tagged 'parameters'
    "import math\ntotal = sum(math.sqrt(i) for i in range(n))",
    "print(round(total, 2))",
]


def notebook(folder: Path) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "sweep.ipynb"
    nbformat.write(nb, path)
    return path


def points(n: int) -> list[dict[str, int]]:
    return [{"n": 100_000 + i} for i in range(n)]


def slots() -> int:
    """The pool's execute slots: the CPUs its partitionable slots can hand out (the test pool: 8, on 2 cores)."""
    import htcondor2

    ads = htcondor2.Collector().query(htcondor2.AdTypes.Startd, projection=["Cpus", "TotalSlotCpus", "PartitionableSlot"])
    return sum(int(a.get("TotalSlotCpus", a.get("Cpus", 1))) if a.get("PartitionableSlot") else 1 for a in ads) or 1


# ----------------------------------------------------------------------------- worker side
def worker_sweep(path: str, n: int, per_job: int) -> None:
    import ganga.ganga  # noqa: F401
    from ganga import HTCondor, Job, NotebookApp, NotebookSweep, enableMonitoring

    enableMonitoring()
    job = Job(
        application=NotebookApp(notebook=path, outputs=["total"]),
        splitter=NotebookSweep(parameters=points(n), points_per_job=per_job),
        backend=HTCondor(),
    )
    started = time.time()
    job.submit()
    submitted = time.time() - started
    deadline = started + 3600
    while job.status not in ("completed", "failed", "killed") and time.time() < deadline:
        time.sleep(0.1)
    done = time.time() - started
    results = job.application.results()
    report({"submit": submitted, "done": done, "status": job.status, "subjobs": len(job.subjobs),
            "results": len(results), "missing": len(results.missing)})


def worker_papermill(path: str, n: int) -> None:
    import papermill

    out = Path(path).parent / "papermill"  # in the run's temporary folder
    out.mkdir()
    failed = 0
    started = time.time()
    for i, parameters in enumerate(points(n)):
        try:
            papermill.execute_notebook(path, str(out / f"{i}.ipynb"), parameters=parameters, kernel_name="python3",
                                       progress_bar=False, log_output=False)
        except Exception:
            failed += 1
    report({"done": time.time() - started, "failed": failed})


# ----------------------------------------------------------------------------- driver side
def run(quick: bool = False) -> str:
    if not os.environ.get("CONDOR_CONFIG"):
        return "sweep: skipped, CONDOR_CONFIG is not set (run scripts/htcondor-pool.sh start as root first)"
    n = QUICK_POINTS if quick else POINTS
    pool = slots()
    per_job = -(-n // pool)
    with tempfile.TemporaryDirectory(prefix="gj-bench-sweep-") as tmp:
        path = notebook(Path(tmp))
        env = ganga_env(Path(tmp) / "home")
        ours = run_worker(HERE, env, "sweep", str(path), str(n), str(per_job), timeout=3600)
        theirs = run_worker(HERE, env, "papermill", str(path), str(n), timeout=7200)
    rows = [
        [f"papermill, {n} points one after another (a kernel each)", f"{theirs['done']:.1f}", "1.0x",
         f"{theirs['done'] / n:.2f} s per point; {theirs['failed']} failed"],
        [f"NotebookSweep(points_per_job={per_job}) on the pool's {pool} slots",
         f"{ours['done']:.1f}", f"{theirs['done'] / ours['done']:.1f}x faster",
         f"{ours['subjobs']} subjobs, submit {ours['submit']:.1f} s; {ours['status']}; "
         f"results() has {ours['results']} points, {ours['missing']} missing"],
    ]
    return table(
        f"A {n}-point sweep of one notebook: HTCondor pool against papermill in a loop (seconds, wall clock)",
        ["what", "seconds", "vs papermill", "note"],
        rows,
        ["The sweep's time runs from submit() to every subjob final (GangaJupyter's HTCondor backend, its 0.5 s "
         "poll); papermill's is the loop's. Both run the same .ipynb with the same parameter sets, on this "
         f"machine's {os.cpu_count()} cores (the pool's slots share them)."],
    )


if __name__ == "__main__":
    if sys.argv[1] == "sweep":
        worker_sweep(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "papermill":
        worker_papermill(sys.argv[2], int(sys.argv[3]))

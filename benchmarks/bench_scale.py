"""Issue 15: what the user waits for on a big repository, in a real kernel, with plain Ganga in the same run.

For each size a repository is built: Ganga's own API makes up to 10,000 jobs, one of them with ``SUBJOBS``
subjobs; beyond that the jobs are copies of one job's files, as Ganga wrote them, renumbered. Then a fresh
kernel per contender, as a front end drives it (``execute_request`` to the message at the front end):

* GangaJupyter: ``%load_ext GangaJupyter`` until its reply (the namespace ready, monitoring on), then
  ``jobs``, ``jobs`` again, ``jobs(0).subjobs``, ``jobs.select(...)`` and ``box``, each until its display
  message (every mime type in it) reaches the front end;
* plain Ganga, no GangaJupyter: ``import ganga.ganga; from ganga import *``, then ``jobs`` (Ganga's text).

Goals: ``%load_ext`` <= 3 s at 10,000 jobs; every display <= 100 ms at 10,000 jobs and <= 300 ms at 100,000.
Plain Ganga is not started on 100,000 jobs: it reads the index quadratically (``registry_find_by_id``) and would
take most of an hour.
"""
from __future__ import annotations

import os
import pickle
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

from common import report, run_worker, table, timed_cell  # noqa: E402

SIZES, QUICK_SIZES = (10_000, 100_000), (2_000,)
API_JOBS = 10_000  # made with Ganga's API; the rest are copies
SUBJOBS, QUICK_SUBJOBS = 10_000, 1_000
PLAIN_GANGA_UP_TO = 10_000
LOAD_GOAL = 3.0
DISPLAY_GOALS = {10_000: 0.100, 100_000: 0.300}
#: The cells, in order: (code, the row's name, whether it is a display with a goal). Ganga's own query for
#: ``j.subjobs`` (which loads the job) and ``select`` runs in a cell of its own, so the display row is the display.
CELLS = (
    ("jobs", "`jobs`", True),
    ("jobs", "`jobs` again", True),
    ("_sj = jobs(0).subjobs", "`sj = jobs(0).subjobs` (Ganga loads the job; no display)", False),
    ("_sj", "`sj` (job 0's subjobs)", True),
    ("_sel = jobs.select(name='analysis-1*')", "`sel = jobs.select(name=...)` (Ganga's query; no display)", False),
    ("_sel", "`sel`", True),
    ("box", "`box`", True),
)


# ------------------------------------------------------------------------------------------------ building
def build(n: int, subjobs: int) -> None:
    """Worker: job 0 with ``subjobs`` subjobs (split, not submitted), then jobs up to ``min(n, API_JOBS)``."""
    import ganga.ganga  # noqa: F401
    from ganga import ArgSplitter, Executable, Job, Local
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    started = time.time()
    split = Job(name="big split", application=Executable(exe="/bin/true"), backend=Local(),
                splitter=ArgSplitter(args=[[str(i)] for i in range(subjobs)]))
    stripProxy(split)._doSplitting()
    for i in range(min(n, API_JOBS) - 1):
        Job(name=f"analysis-{i}", comment="benchmark job")
    report({"seconds": time.time() - started})


def copy_jobs(jobs_dir: Path, n: int) -> float:
    """Jobs ``API_JOBS``.. ``n - 1`` as copies of the last job Ganga made (its index entry and data file, with
    its id and name changed), and Ganga's id counter past them."""
    started = time.time()
    last = API_JOBS - 1
    folder = jobs_dir / f"{last // 1000}xxx"
    with open(folder / f"{last}.index", "rb") as stream:
        category, cls, cache = pickle.load(stream)
    data = (folder / str(last) / "data").read_text()
    old_name = cache["name"]
    for job_id in range(API_JOBS, n):
        name = f"analysis-{job_id - 1}"
        entry = dict(cache, id=job_id, name=name, **{"display:fqid": str(job_id), "display:name": name})
        target = jobs_dir / f"{job_id // 1000}xxx"
        (target / str(job_id)).mkdir(parents=True, exist_ok=True)
        text = re.sub(r'(<attribute name="id">\s*<value>)\d+(</value>)', rf"\g<1>{job_id}\g<2>", data, count=1)
        (target / str(job_id) / "data").write_text(text.replace(repr(old_name), repr(name), 1))
        with open(target / f"{job_id}.index", "wb") as stream:
            pickle.dump((category, cls, entry), stream, 1)
    (jobs_dir / "cnt").write_text(f"{n}\n")
    return time.time() - started


def repository(root: Path, n: int, subjobs: int) -> tuple[Path, float]:
    """A gangadir with ``n`` jobs under ``root`` (reused when a run made it before); seconds spent building."""
    gangadir = root / f"jobs-{n}" / "gangadir"
    done = gangadir.parent / "built"
    if done.exists():
        return gangadir, 0.0
    shutil.rmtree(gangadir.parent, ignore_errors=True)
    env = _env(gangadir.parent / "builder", gangadir, runtime_path=False)
    seconds = run_worker(HERE, env, "build", str(n), str(subjobs), timeout=3600)["seconds"]
    if n > API_JOBS:
        seconds += copy_jobs(next(gangadir.glob("repository/*/LocalXML/6.0/jobs")), n)
    done.touch()
    return gangadir, seconds


def _env(home: Path, gangadir: Path, runtime_path: bool) -> dict[str, str]:
    from GangaJupyter.testlib.notebooks import GANGARC_HEADER

    home.mkdir(parents=True, exist_ok=True)
    config = GANGARC_HEADER + f"[Configuration]\ngangadir = {gangadir}\n"
    config += "RUNTIME_PATH = GangaJupyter\n" if runtime_path else ""
    (home / ".gangarc").write_text(config)
    return {**os.environ, "HOME": str(home), "GANGA_CONFIG_FILE": str(home / ".gangarc")}


# ------------------------------------------------------------------------------------------------ a front end
def measure_gangajupyter(gangadir: Path, home: Path) -> dict[str, Any]:
    from GangaJupyter.testlib.kernel import KernelSession

    session = KernelSession(_env(home, gangadir, runtime_path=True), str(home))
    try:
        loaded = timed_cell(session, "%load_ext GangaJupyter")
        check = timed_cell(session, "from GangaCore.Core import monitoring_component as _m\n_m.enabled and len(jobs)")
        shown = {label: timed_cell(session, code) for code, label, _ in CELLS}
        return {"load": loaded["idle"], "ready": check, "displays": shown}
    finally:
        session.close()


def measure_plain_ganga(gangadir: Path, home: Path) -> dict[str, Any]:
    from GangaJupyter.testlib.kernel import KernelSession

    session = KernelSession(_env(home, gangadir, runtime_path=False), str(home))
    try:
        loaded = timed_cell(session, "import ganga.ganga\nfrom ganga import *")
        return {"load": loaded["idle"], "`jobs`": timed_cell(session, "jobs"), "`jobs` again": timed_cell(session, "jobs")}
    finally:
        session.close()


# ------------------------------------------------------------------------------------------------ the table
def add_arguments(parser: Any) -> None:
    parser.add_argument("--scale-dir", type=Path, default=Path("/tmp/gj-bench-scale"),
                        help="where the repositories are built, and kept for the next run (default %(default)s)")


def run(quick: bool = False, options: Any = None) -> tuple[str, list[str]]:
    root = getattr(options, "scale_dir", None) or Path("/tmp/gj-bench-scale")
    rows, missed, notes = [], [], []
    for n in QUICK_SIZES if quick else SIZES:
        gangadir, built = repository(root, n, QUICK_SUBJOBS if quick else SUBJOBS)
        plain = measure_plain_ganga(gangadir, root / f"jobs-{n}" / "plain") if n <= PLAIN_GANGA_UP_TO else None
        ours = measure_gangajupyter(gangadir, root / f"jobs-{n}" / "kernel")
        goal = DISPLAY_GOALS.get(n, DISPLAY_GOALS[min(DISPLAY_GOALS)])
        ratio = f"{plain['load'] / ours['load']:.0f}x" if plain else ""
        load_goal = f"<= {LOAD_GOAL:.0f} s" if n == 10_000 else ""
        rows.append([f"{n:,}", "start-up (`%load_ext` / `import ganga.ganga`)", _s(plain and plain["load"]),
                     _s(ours["load"]), ratio, load_goal, ""])
        if n == 10_000 and ours["load"] > LOAD_GOAL:
            missed.append(f"%load_ext at {n:,} jobs: {ours['load']:.2f} s > {LOAD_GOAL} s")
        for code, label, is_display in CELLS:
            shown = ours["displays"][label]
            seconds = shown.get("display", shown["idle"])
            theirs = plain[label]["display"] if plain and label in plain else None  # its `jobs`, twice
            rows.append([f"{n:,}", label, _ms(theirs), _ms(seconds), f"{theirs / seconds:.0f}x" if theirs else "",
                         f"<= {goal * 1000:.0f} ms" if is_display else "",
                         f"{', '.join(shown['mimes'])}; {shown['bytes'] / 1024:.0f} KiB" if "mimes" in shown else ""])
            if is_display and seconds > goal:
                missed.append(f"{label} at {n:,} jobs: {seconds * 1000:.0f} ms > {goal * 1000:.0f} ms")
        notes.append(f"{n:,} jobs: repository built in {built:.0f} s" if built else f"{n:,} jobs: repository from {root}")
        if plain:
            notes.append(f"  plain Ganga's `jobs` text: {plain['`jobs`']['bytes'] / 1024:.0f} KiB")
    notes += [
        "Times from execute_request to the display message at this front end (the kernel's reply for start-up), "
        "each in a fresh kernel on the same repository. Plain Ganga's `jobs` is its text table of every job; "
        "GangaJupyter's display is the widget, its HTML and a bounded text/plain (the page shown, '... N more').",
        f"Plain Ganga is started only up to {PLAIN_GANGA_UP_TO:,} jobs (see the module's docstring).",
    ]
    header = ["jobs", "what the user waits for", "Ganga (same run)", "GangaJupyter", "ratio", "goal", "display"]
    return table("Scale: a big repository in a real kernel", header, rows, notes), missed


def _s(seconds: float | None) -> str:
    return f"{seconds:.2f} s" if seconds else ""


def _ms(seconds: float | None) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds else ""


if __name__ == "__main__":
    if sys.argv[1] == "build":
        build(int(sys.argv[2]), int(sys.argv[3]))

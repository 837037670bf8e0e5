"""Issues 2 and 15: the display of ``jobs`` against Ganga's own, where the user waits for it.

For each size a repository is built. Then, in a fresh kernel driven as a front end drives it, the display of
``jobs`` (first and again) from ``execute_request`` to the display message at the front end: with GangaJupyter
(``%load_ext GangaJupyter``: its widget, HTML and bounded text in one message) and with plain Ganga
(``import ganga.ganga; from ganga import *``: its text table of every job). Second, in a fresh process with
nothing loaded, the two renderings alone (``jobs._repr_html_()`` and IPython's ``pretty(jobs)``).
Goals: the display at the front end <= 100 ms at 10,000 jobs (issue 15); the HTML alone <= 50 ms (issue 2).
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

from common import ganga_env, median_ms, report, run_worker, table, timed_cell  # noqa: E402

SIZES = (100, 1_000, 10_000)
QUICK_SIZES = (100, 1_000)
SPLIT_JOBS, SUBJOBS = 5, 20


def build(n: int) -> None:
    """Worker: a repository of ``n`` jobs, ``SPLIT_JOBS`` of them submitted with ``SUBJOBS`` subjobs each."""
    import ganga.ganga  # noqa: F401
    from ganga import ArgSplitter, Executable, Job, Local

    started = time.time()
    for i in range(SPLIT_JOBS):
        split = Job(
            name=f"split-{i}",
            application=Executable(exe="/bin/true"),
            splitter=ArgSplitter(args=[[str(k)] for k in range(SUBJOBS)]),
            backend=Local(),
        )
        split.submit()
    for i in range(n - SPLIT_JOBS):
        Job(name=f"analysis-{i}", comment="benchmark job")
    report({"seconds": time.time() - started})


def measure() -> None:
    """Worker: time Ganga's text table and GangaJupyter's HTML of ``jobs`` in a session that loaded nothing."""
    import ganga.ganga  # noqa: F401
    from ganga import jobs
    from GangaCore.Core.GangaRepository import getRegistry
    from IPython.lib.pretty import pretty

    def timed(fn, budget: float = 3.0, most: int = 9) -> tuple[float, list[float], object]:
        samples, spent = [], 0.0
        while len(samples) < 3 or (spent < budget and len(samples) < most):
            t0 = time.perf_counter()
            value = fn()
            samples.append(time.perf_counter() - t0)
            spent += samples[-1]
        return samples[0], samples, value

    html_first, html_samples, html = timed(jobs._repr_html_)
    loaded_after_html = len(getRegistry("jobs").repository._fully_loaded)
    text_first, text_samples, text = timed(lambda: pretty(jobs), budget=20.0, most=5)
    report(
        {
            "jobs": len(jobs),
            "html_first_ms": 1000 * html_first,
            "html_median_ms": median_ms(html_samples),
            "text_first_ms": 1000 * text_first,
            "text_median_ms": median_ms(text_samples),
            "loaded_after_html": loaded_after_html,
            "html_rows": html.count("<tr data-fqid="),
            "text_rows": text.count("\n") - 4,
        }
    )


FRONT_END_GOAL_MS, HTML_GOAL_MS = 100, 50  # at 10,000 jobs


def front_end(home: Path, runtime_path: bool) -> dict[str, Any]:
    """``jobs`` twice in a fresh kernel on ``home``'s repository, with GangaJupyter or plain Ganga."""
    from GangaJupyter.testlib.kernel import KernelSession
    from GangaJupyter.testlib.notebooks import ganga_home

    session = KernelSession(ganga_home(home, runtime_path=runtime_path), str(home))
    try:
        timed_cell(session, "%load_ext GangaJupyter" if runtime_path else "import ganga.ganga\nfrom ganga import *")
        return {"first": timed_cell(session, "jobs"), "again": timed_cell(session, "jobs")}
    finally:
        session.close()


def run(quick: bool = False) -> str | tuple[str, list[str]]:
    rows, missed, sizes = [], [], []
    ms = lambda seconds: f"{seconds * 1000:.0f}"  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="gj-bench-display-") as tmp:
        for n in QUICK_SIZES if quick else SIZES:
            home = Path(tmp) / f"jobs-{n}"
            built = run_worker(HERE, ganga_env(home), "build", str(n))
            theirs = front_end(home, runtime_path=False)
            ours = front_end(home, runtime_path=True)
            r = run_worker(HERE, ganga_env(home), "measure")
            for when in ("first", "again"):
                mine, plain = ours[when]["display"], theirs[when]["display"]
                rows.append([
                    f"{r['jobs']:,}", f"`jobs` {when}", ms(plain), ms(mine), f"{plain / mine:.1f}x",
                    f"{r['text_median_ms']:.1f}" if when == "first" else "",
                    f"{r['html_median_ms']:.1f}" if when == "first" else "",
                    f"{ours[when]['bytes'] / 1024:.0f} / {theirs[when]['bytes'] / 1024:.0f}",
                ])
                if n == 10_000 and mine * 1000 > FRONT_END_GOAL_MS:
                    missed.append(f"`jobs` {when} at {n:,} jobs: {mine * 1000:.0f} ms at the front end > {FRONT_END_GOAL_MS} ms")
            if n == 10_000 and r["html_median_ms"] > HTML_GOAL_MS:
                missed.append(f"the HTML of `jobs` at {n:,} jobs: {r['html_median_ms']:.0f} ms > {HTML_GOAL_MS} ms")
            sizes.append(f"{n:,} jobs: built in {built['seconds']:.0f} s; the HTML has {r['html_rows']} rows and loaded "
                         f"{r['loaded_after_html']} jobs")
    text = table(
        "Display of `jobs`: execute to the display message at the front end, GangaJupyter vs plain Ganga (ms)",
        ["jobs", "cell", "Ganga (same run)", "GangaJupyter", "ratio", "in-process: Ganga text", "in-process: HTML",
         "message KiB (ours / Ganga's)"],
        rows,
        [
            "A fresh kernel per contender and size, driven as a front end; the in-process columns are the renderings "
            "alone (median, fresh process, nothing loaded): IPython's pretty(jobs) and jobs._repr_html_(). Ganga's "
            "text lists every job; GangaJupyter's display is the widget, the HTML of the newest page ([Jupyter] "
            "page_size, statuses counted over all jobs from the index) and a bounded text/plain.",
            f"Goals at 10,000 jobs: <= {FRONT_END_GOAL_MS} ms at the front end; the HTML alone <= {HTML_GOAL_MS} ms.",
            *sizes,
        ],
    )
    return text, missed


if __name__ == "__main__":
    if sys.argv[1] == "build":
        build(int(sys.argv[2]))
    elif sys.argv[1] == "measure":
        measure()

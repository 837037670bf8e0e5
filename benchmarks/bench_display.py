"""Issue 2: the HTML of ``jobs`` (first page) against Ganga's own text table of the same slice.

For each size a repository is built, then opened in a fresh process (as a new session would, with nothing
loaded) where both renderings are timed. Goal: the 10,000-job first page in <= 50 ms.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

from common import ganga_env, median_ms, report, run_worker, table  # noqa: E402

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


def run(quick: bool = False) -> str:
    rows = []
    with tempfile.TemporaryDirectory(prefix="gj-bench-display-") as tmp:
        for n in QUICK_SIZES if quick else SIZES:
            env = ganga_env(Path(tmp) / f"jobs-{n}")
            built = run_worker(HERE, env, "build", str(n))
            r = run_worker(HERE, env, "measure")
            rows.append(
                [
                    f"{r['jobs']:,}",
                    f"{built['seconds']:.0f}",
                    f"{r['html_rows']}",
                    f"{r['html_first_ms']:.1f}",
                    f"{r['html_median_ms']:.1f}",
                    f"{r['text_first_ms']:.1f}",
                    f"{r['text_median_ms']:.1f}",
                    f"{r['text_median_ms'] / r['html_median_ms']:.0f}x",
                    f"{r['loaded_after_html']}",
                ]
            )
    return table(
        "Display: HTML of `jobs` (GangaJupyter, first page) vs Ganga's text table (IPython text/plain)",
        [
            "jobs",
            "build s",
            "HTML rows",
            "HTML first ms",
            "HTML median ms",
            "Ganga text first ms",
            "Ganga text median ms",
            "text/HTML",
            "jobs loaded by HTML",
        ],
        rows,
        [
            "Fresh session per size (nothing loaded). Ganga's text table lists every job; the HTML shows the newest "
            "page ([Jupyter] page_size) and counts statuses over all jobs from the index.",
            "Goal: 10,000-job first page <= 50 ms.",
        ],
    )


if __name__ == "__main__":
    if sys.argv[1] == "build":
        build(int(sys.argv[2]))
    elif sys.argv[1] == "measure":
        measure()

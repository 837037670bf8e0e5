"""Issue 16: the pictures of a split job (timeline, histograms, failures, statistics) against Ganga's own text.

1. ``pictures_html`` of 1,000 and 10,000 synthetic runs (no Ganga): goal <= 50 ms for 10,000.
2. A real 10,000-subjob Local job in a Ganga session (split, not submitted: every subjob is given statuses,
   Ganga timestamps and a scheduler record with CPU time and peak memory, as a finished job has): reading its runs
   (``Display.runs.runs_of``), the whole job card (``job._repr_html_``, pictures included), against Ganga's own
   text of ``job.subjobs`` in the same session; then the same job in a fresh session, where no subjob is
   loaded (statuses from Ganga's subjob index only).
3. What the user waits for (issue 15): in a fresh kernel driven as a front end drives it, from ``execute_request``
   to the display message, ``jobs(id)`` with GangaJupyter (its card, pictures included) against plain Ganga's
   ``jobs(id).subjobs`` (its text), first and again.
"""
from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

from common import ganga_env, median_ms, report, run_worker, table, timed_cell  # noqa: E402

SIZES, QUICK_SIZES = (1_000, 10_000), (1_000,)
SUBJOBS, QUICK_SUBJOBS = 10_000, 1_000
T0 = 1_700_000_000.0


def timed(fn, budget: float = 2.0, most: int = 15) -> tuple[list[float], object]:
    samples, spent, value = [], 0.0, None
    while len(samples) < 3 or (spent < budget and len(samples) < most):
        t0 = time.perf_counter()
        value = fn()
        samples.append(time.perf_counter() - t0)
        spent += samples[-1]
    return samples, value


def synthetic_runs(n: int) -> list:
    from GangaJupyter.Lib.Core.pictures import Run

    rng = random.Random(n)
    runs = []
    for i in range(n):
        submitted = T0 + rng.random() * 60
        started = submitted + rng.expovariate(1 / 30)
        status = rng.choice(["completed"] * 17 + ["failed", "running", "submitted"])
        wall = rng.lognormvariate(5, 0.6)
        finished = started + wall if status in ("completed", "failed") else None
        runs.append(
            Run(
                f"7.{i}",
                status,
                submitted,
                None if status == "submitted" else started,
                finished,
                node=f"wn{i % 64:02d}",
                wall=wall if finished else None,
                cpu=wall * rng.uniform(0.5, 1.0) if finished else None,
                memory=rng.gauss(900, 200) if finished else None,
                error="exit code 3" if status == "failed" else "",
            )
        )
    return runs


def synthetic(sizes: tuple[int, ...]) -> None:
    """Worker: ``pictures_html`` of synthetic runs, without Ganga."""
    from GangaJupyter.Lib.Core.pictures import pictures_html

    out = {}
    for n in sizes:
        runs = synthetic_runs(n)
        samples, html = timed(lambda: pictures_html(runs, now=T0 + 2000))
        out[str(n)] = {
            "median_ms": median_ms(samples),
            "max_ms": 1000 * max(samples),
            "kb": len(html) / 1024,
            "elements": html.count("<"),
        }
    report(out)


def build(n: int) -> None:
    """Worker: a split Local job of ``n`` subjobs given a finished job's statuses, stamps and records; measured
    in this session (all in memory)."""
    import ganga.ganga  # noqa: F401
    from datetime import datetime, timezone

    from ganga import ArgSplitter, Executable, Job, Local
    from GangaCore.GPIDev.Base.Proxy import stripProxy
    from GangaJupyter.Lib.Core import scheduler_record
    from GangaJupyter.Lib.Display import records
    from GangaJupyter.Lib.Display.runs import runs_of

    started = time.time()
    job = Job(
        name="pictures",
        application=Executable(exe="true"),
        backend=Local(),
        splitter=ArgSplitter(args=[[str(i)] for i in range(n)]),
    )
    impl = stripProxy(job)
    impl._doSplitting()
    stamp = lambda t: datetime.fromtimestamp(t, timezone.utc).replace(tzinfo=None)  # noqa: E731 (Ganga's: naive UTC)
    for run, sj in zip(synthetic_runs(n), impl.subjobs):
        sj._data["status"] = run.status
        stamps = {"submitted": stamp(run.submitted)}
        if run.started is not None:
            stamps["backend_running"] = stamp(run.started)
        if run.finished is not None:
            stamps["backend_final"] = stamp(run.finished)
            scheduler_record.update(sj, cpu_time=f"{run.cpu:.0f}", max_memory=f"{run.memory * 1024:.0f}K")
        sj._data["time"]._data["timestamps"] = stamps
    impl._data["status"] = "running"
    build_s = time.time() - started

    card_samples, card = timed(job._repr_html_)  # the first reads every subjob's record; the others, as a live
    runs_samples, runs = timed(lambda: runs_of(impl))  # view's refreshes do, only what changed (nothing here)
    text_samples, text = timed(lambda: str(job.subjobs), budget=10.0, most=3)
    report(
        {
            "build_s": build_s,
            "id": job.id,
            "runs_ms": median_ms(runs_samples),
            "card_ms": median_ms(card_samples),
            "card_first_ms": 1000 * card_samples[0],
            "card_kb": len(card) / 1024,
            "pictures": "gj-timeline" in card and "gj-statistics" in card,
            "timed_runs": sum(1 for r in runs if r.submitted is not None),
            "text_ms": median_ms(text_samples),
            "text_lines": text.count("\n"),
            "grouped_failures": records.MAX_GROUPED_FAILURES,
        }
    )


def fresh(job_id: int) -> None:
    """Worker: the job card in a session that loaded nothing (Ganga's subjob index gives the statuses)."""
    import ganga.ganga  # noqa: F401
    from ganga import jobs

    job = jobs(job_id)
    card_samples, card = timed(job._repr_html_)
    text_samples, text = timed(lambda: str(job.subjobs), budget=10.0, most=3)
    report(
        {
            "card_ms": median_ms(card_samples),
            "card_first_ms": 1000 * card_samples[0],
            "text_ms": median_ms(text_samples),
            "pictures": "gj-statistics" in card or "gj-pictures" in card,
        }
    )


def front_end(home: Path, job_id: int, runtime_path: bool) -> dict:
    """The job's display (GangaJupyter: ``jobs(id)``; plain Ganga: ``jobs(id).subjobs``) twice in a fresh kernel."""
    from GangaJupyter.testlib.kernel import KernelSession
    from GangaJupyter.testlib.notebooks import ganga_home

    session = KernelSession(ganga_home(home, runtime_path=runtime_path), str(home))
    try:
        timed_cell(session, "%load_ext GangaJupyter" if runtime_path else "import ganga.ganga\nfrom ganga import *")
        code = f"jobs({job_id})" if runtime_path else f"jobs({job_id}).subjobs"
        return {"first": timed_cell(session, code), "again": timed_cell(session, code)}
    finally:
        session.close()


def run(quick: bool = False) -> str:
    sizes = QUICK_SIZES if quick else SIZES
    n_sub = QUICK_SUBJOBS if quick else SUBJOBS
    rows = []
    with tempfile.TemporaryDirectory(prefix="gj-bench-pictures-") as tmp:
        env = ganga_env(Path(tmp) / "home")
        synth = run_worker(HERE, env, "synthetic", ",".join(map(str, sizes)))
        for n in sizes:
            s = synth[str(n)]
            rows.append(
                [
                    f"pictures_html, {n:,} synthetic runs",
                    f"{s['median_ms']:.1f}",
                    "",
                    "",
                    f"{s['kb']:.0f} kB, {s['elements']:,} tags",
                    "goal <= 50 ms" if n == 10_000 else "",
                ]
            )
        b = run_worker(HERE, env, "build", str(n_sub))
        rows.append(
            [
                f"{n_sub:,}-subjob job in memory: first job card (reads every record)",
                f"{b['card_first_ms']:.0f}",
                "",
                "",
                f"{b['timed_runs']:,} runs with times",
                "",
            ]
        )
        rows.append(
            [
                f"{n_sub:,}-subjob job in memory: job card again (a live refresh)",
                f"{b['card_ms']:.1f}",
                f"{b['text_ms']:.0f}",
                f"{b['text_ms'] / b['card_ms']:.1f}x",
                f"{b['card_kb']:.0f} kB, pictures {'shown' if b['pictures'] else 'MISSING'}",
                f"of which runs_of {b['runs_ms']:.1f} ms",
            ]
        )
        theirs = front_end(Path(tmp) / "home", b["id"], runtime_path=False)
        ours = front_end(Path(tmp) / "home", b["id"], runtime_path=True)
        for when in ("first", "again"):
            mine, plain = ours[when]["display"], theirs[when]["display"]
            rows.append(
                [
                    f"{n_sub:,}-subjob job, fresh kernel: `jobs(id)` {when}, execute to the front end",
                    f"{mine * 1000:.0f}",
                    f"{plain * 1000:.0f}",
                    f"{plain / mine:.1f}x",
                    f"{ours[when]['bytes'] / 1024:.0f} kB message ({', '.join(ours[when]['mimes'])})",
                    "Ganga: `jobs(id).subjobs`",
                ]
            )
        f = run_worker(HERE, env, "fresh", str(b["id"]))
        rows.append(
            [
                f"{n_sub:,}-subjob job, fresh session (nothing loaded): job card",
                f"{f['card_ms']:.1f}",
                f"{f['text_ms']:.0f}",
                f"{f['text_ms'] / f['card_ms']:.1f}x",
                "statuses only (index)",
                f"first {f['card_first_ms']:.0f} ms",
            ]
        )
    return table(
        "Pictures: timeline, histograms, failures and statistics of a split job vs Ganga's text of `job.subjobs`",
        ["what", "GangaJupyter ms", "Ganga text ms", "text/ours", "size", "note"],
        rows,
        [
            "Medians. Synthetic runs: 85 % completed, 5 % failed, running, waiting; lognormal run times, 64 nodes.",
            f"The job card includes everything the card shows (failure groups read for the first "
            f"{b['grouped_failures']} failed subjobs). Ganga's text lists the subjobs' rows, with no figures.",
            "Goal: 10,000 runs' pictures <= 50 ms. The front-end rows: a fresh kernel per contender, from "
            "execute_request to the display message (the widget, its HTML and text in one message).",
        ],
    )


if __name__ == "__main__":
    if sys.argv[1] == "synthetic":
        synthetic(tuple(int(n) for n in sys.argv[2].split(",")))
    elif sys.argv[1] == "build":
        build(int(sys.argv[2]))
    elif sys.argv[1] == "fresh":
        fresh(int(sys.argv[2]))

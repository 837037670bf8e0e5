"""HTCondor on a real pool (``scripts/htcondor-pool.sh start``; ``CONDOR_CONFIG`` set): GangaJupyter's ``HTCondor``
backend against Ganga's own ``Condor`` backend, in the same run and on the same pool.

* Submit time of a job split into 1,000 subjobs (``j.submit()``, wall clock, fresh process each).
* Status latency: from the moment the schedd shows a job's new state (an observer queries it every 50 ms) to the
  moment GangaJupyter's status stream delivers the change to the views, for 20 subjobs (running and final).

Ganga 8.7.12's ``Condor`` needs the version-1 ``htcondor`` module, which the htcondor 25 wheels no longer have:
its rows run with ``htcondor==24.0.*`` installed into a separate directory (pip, on first use) and a gangadir on
the pool's shared directory (it has no spool support). It polls at ``[PollThread] Condor = 30`` s (Ganga's
default).
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ganga_env, report, run_worker, table  # noqa: E402

SUBMIT_N = 1000
LATENCY_N = 20
OBSERVE_EVERY = 0.05
HTCONDOR24 = "htcondor==24.0.*"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# ----------------------------------------------------------------------------- worker side
def _job(backend: str, exe: str, args: list[list[str]]) -> object:
    # Arguments without spaces: Ganga's Condor wrapper joins them unquoted ("sh -c 'sleep 1'" runs "sleep").
    from ganga import ArgSplitter, Condor, Executable, HTCondor, Job

    return Job(
        application=Executable(exe=exe),
        backend=HTCondor() if backend == "HTCondor" else Condor(),
        splitter=ArgSplitter(args=args),
    )


def worker_submit(backend: str, n: int) -> None:
    os.umask(0)  # Ganga's Condor: the pool's user writes into this gangadir
    import ganga.ganga  # noqa: F401
    import htcondor2

    j = _job(backend, "/bin/true", [[] for _ in range(n)])
    started = time.perf_counter()
    j.submit()
    seconds = time.perf_counter() - started
    ok = j.status == "submitted" and len({sj.backend.id for sj in j.subjobs}) == n
    cluster = j.subjobs[0].backend.id.split(".")[0]
    htcondor2.Schedd().act(htcondor2.JobAction.Remove, f"ClusterId == {cluster}")
    report({"seconds": seconds, "ok": ok})


def worker_latency(backend: str, n: int) -> None:
    os.umask(0)
    import ganga.ganga  # noqa: F401
    import htcondor2
    from ganga import enableMonitoring

    from GangaJupyter.Lib.Monitor.events import status_events

    delivered: dict[tuple[str, str], float] = {}

    def on_batch(batch):
        now = time.time()
        for fqid, (status, _) in batch.items():
            delivered.setdefault((fqid, status), now)

    status_events.subscribe(on_batch)
    enableMonitoring()
    j = _job(backend, "/bin/sleep", [[str(1 + i % 3)] for i in range(n)])
    j.submit()
    cluster = j.subjobs[0].backend.id.split(".")[0]
    fqid = {sj.backend.id: sj.fqid for sj in j.subjobs}

    observed: dict[tuple[str, str], float] = {}
    stop = threading.Event()

    def observe():
        schedd = htcondor2.Schedd()
        seen: set[str] = set()
        while not stop.is_set():
            ads = schedd.query(f"ClusterId == {cluster}", ["ProcId", "JobStatus"])
            now = time.time()
            present = set()
            for ad in ads:
                job_id = f"{cluster}.{ad['ProcId']}"
                present.add(job_id)
                if ad["JobStatus"] == 2:
                    observed.setdefault((fqid[job_id], "running"), now)
                elif ad["JobStatus"] == 4:
                    observed.setdefault((fqid[job_id], "final"), now)
            for job_id in seen - present:  # without spool a finished job leaves the queue
                observed.setdefault((fqid[job_id], "final"), now)
            seen |= present
            time.sleep(OBSERVE_EVERY)

    thread = threading.Thread(target=observe, daemon=True)
    thread.start()
    deadline = time.time() + 300
    while j.status not in ("completed", "failed", "killed") and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    stop.set()
    latencies = {"running": [], "final": []}
    for (job_fqid, kind), when in observed.items():
        statuses = ("running",) if kind == "running" else ("completed", "failed")
        hook = min((delivered[(job_fqid, s)] for s in statuses if (job_fqid, s) in delivered), default=None)
        if hook is not None:
            latencies[kind].append(hook - when)
    report({"status": j.status, "latencies": latencies, "completed": sum(sj.status == "completed" for sj in j.subjobs)})


# ----------------------------------------------------------------------------- driver side
def condor24_path() -> Path:
    """``htcondor==24.0.*`` (with the version-1 module) in its own directory next to the pool, installed once."""
    root = Path(os.environ.get("GANGAJUPYTER_CONDOR_ROOT", "/var/tmp/gangajupyter-condor"))
    target = root / "htcondor24"
    if not (target / "htcondor" / "__init__.py").exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--target", str(target), HTCONDOR24],
            check=True,
        )
    return target


def shared_dir() -> Path:
    import htcondor2

    value = htcondor2.param.get("GANGAJUPYTER_SHARED_DIR")
    if not value:
        raise RuntimeError("the pool's configuration names no shared directory (scripts/htcondor-pool.sh start writes one)")
    return Path(value)


def environments(quick: bool) -> dict[str, dict[str, str]]:
    import tempfile

    shared = shared_dir()
    ours = ganga_env(Path(tempfile.mkdtemp(prefix="bench-htcondor-")))
    os.umask(0o022)
    ganga_home = Path(tempfile.mkdtemp(prefix="bench-condor-", dir=shared))
    ganga_home.chmod(0o777)
    theirs = ganga_env(ganga_home)
    theirs["PYTHONPATH"] = os.pathsep.join(filter(None, [str(condor24_path()), theirs.get("PYTHONPATH", "")]))
    return {"HTCondor": ours, "Condor": theirs}


def run(quick: bool = False) -> str:
    if not os.environ.get("CONDOR_CONFIG"):
        return "htcondor: skipped, CONDOR_CONFIG is not set (run scripts/htcondor-pool.sh start as root first)"
    n_submit = 100 if quick else SUBMIT_N
    n_latency = 6 if quick else LATENCY_N
    envs = environments(quick)
    me = Path(__file__)
    rows = {}
    for backend in ("HTCondor", "Condor"):
        try:
            submit = run_worker(me, envs[backend], "submit", backend, str(n_submit), timeout=900)
            latency = run_worker(me, envs[backend], "latency", backend, str(n_latency), timeout=900)
            rows[backend] = (submit, latency)
        except Exception as err:  # Ganga's Condor may not run at all: say how it failed
            rows[backend] = (None, str(err).strip().splitlines()[-1][:160])
    ours_submit = rows["HTCondor"][0]["seconds"] if rows["HTCondor"][0] else None
    ours_p95 = None
    body = []
    for backend, (submit, latency) in rows.items():
        name = "GangaJupyter HTCondor (spool, 0.5 s poll)" if backend == "HTCondor" else "Ganga Condor + htcondor 24 (shared fs, 30 s poll)"
        if submit is None:
            body.append([name, "failed: " + latency, "", "", "", ""])
            continue
        final, running = latency["latencies"]["final"], latency["latencies"]["running"]
        p95 = percentile(final + running, 0.95) if final + running else float("nan")
        if backend == "HTCondor":
            ours_p95 = p95
        body.append([
            name,
            f"{submit['seconds']:.2f}" + ("" if submit["ok"] else " (incomplete)"),
            f"{ours_submit / submit['seconds']:.2f}" if ours_submit else "",
            f"{percentile(final + running, 0.5):.2f}" if final + running else "-",
            f"{p95:.2f}",
            f"{len(running)}/{len(final)} of {n_latency} ({latency['status']})",
        ])
        if backend == "Condor" and ours_p95:
            body[-1].append(f"{p95 / ours_p95:.0f}x")
    if len(body[0]) < len(body[-1]):
        body[0].append("1x")
    header = ["backend", f"submit {n_submit} subjobs (s)", "our time / theirs", "latency p50 (s)", "latency p95 (s)",
              "transitions (running/final)", "p95 vs ours"]
    width = max(len(r) for r in body)
    return table(
        f"htcondor: submit time and status latency, schedd state change -> notebook status stream ({n_latency} subjobs)",
        header[:width],
        [r + [""] * (width - len(r)) for r in body],
        notes=[
            "latency: from the first 50 ms schedd query that shows the new JobStatus to the GangaJupyter status stream's delivery",
            "Ganga's Condor reports a job finished only after the 30 s poll; it never reports 'running' for jobs shorter than that",
        ],
    )


if __name__ == "__main__":
    mode, backend, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    {"submit": worker_submit, "latency": worker_latency}[mode](backend, n)

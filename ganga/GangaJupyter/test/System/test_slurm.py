"""Ganga's ``Slurm`` backend with GangaJupyter, against a real single-node Slurm cluster (``scripts/slurm-cluster.sh
start``, which CI runs). Without a cluster these tests are skipped, except under ``CI``, where they fail.

Statuses are waited for by reading ``j.status`` only (``testlib.waiting``).
"""
import os
import subprocess
import time
from pathlib import Path

import pytest
from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.testlib.decorators import add_config

from GangaJupyter.Lib.Display import render
from GangaJupyter.Lib.Display.records import job_record
from GangaJupyter.Lib.Core import scheduler_record
from GangaJupyter.testlib.needs import slurm_cluster_problem, unavailable
from GangaJupyter.testlib.waiting import wait_until

SCRIPT = Path(__file__).resolve().parents[4] / "scripts" / "slurm-cluster.sh"
RUNTIME = [("Configuration", "RUNTIME_PATH", "GangaJupyter")]


@pytest.fixture(autouse=True, scope="module")
def slurm_cluster():
    problem = slurm_cluster_problem()
    if problem:
        unavailable("a Slurm cluster", problem)


def card(job) -> str:
    return render.job_card_html(job_record(stripProxy(job), 20), {})


@add_config(RUNTIME)
def test_jobs_and_subjobs_complete_with_no_30_second_floor_and_accounting(gpi):
    gpi.enableMonitoring()
    j = gpi.Job(application=gpi.Executable(exe="/bin/echo", args=["hello <slurm>"]), backend=gpi.Slurm())
    split = gpi.Job(
        application=gpi.Executable(exe="/bin/sh"),
        splitter=gpi.ArgSplitter(args=[["-c", f"echo part {i}"] for i in range(3)]),
        backend=gpi.Slurm(),
    )
    started = time.time()
    j.submit()
    split.submit()
    # Ganga's wrapper sleeps [Slurm] heartbeat_frequency (30 s) between looks at its payload: with it, neither
    # job could be complete in 25 s
    assert wait_until(lambda: j.status == "completed" and split.status == "completed", 25), (j.status, split.status)
    assert time.time() - started < 25
    script = Path(j.inputdir, "__jobscript__").read_text()
    assert "child.wait(timeout=30)" in script and "time.sleep(30)" not in script
    assert "hello <slurm>" in Path(j.outputdir, "stdout").read_text()
    assert [Path(sj.outputdir, "stdout").read_text().count(f"part {sj.id}") for sj in split.subjobs] == [1, 1, 1]
    assert wait_until(lambda: scheduler_record.read(stripProxy(j)).wall_time, 30), "no accounting record"
    record = scheduler_record.read(stripProxy(j))
    assert record.state == "COMPLETED" and record.nodes == "localhost" and record.exit_code == "0"
    assert "Slurm</span>: COMPLETED" in card(j) and "wall time" in card(j)


@add_config(RUNTIME)
def test_cancelled_outside_ganga_failing_payload_and_failure_before_the_wrapper(gpi):
    gpi.enableMonitoring()
    sleeper = gpi.Job(application=gpi.Executable(exe="/bin/sleep", args=["300"]), backend=gpi.Slurm())
    false = gpi.Job(application=gpi.Executable(exe="/bin/sh", args=["-c", "echo broken >&2; exit 3"]), backend=gpi.Slurm())
    # the wrapper is a Python script: with no python3 on PATH it dies before it can write a status file
    no_python = gpi.Job(application=gpi.Executable(exe="/bin/true"), backend=gpi.Slurm(extraopts="--export=PATH=/nowhere"))
    for job in (sleeper, false, no_python):
        job.submit()
    assert wait_until(lambda: sleeper.status == "running", 30), sleeper.status
    subprocess.run(["scancel", str(sleeper.backend.id)], check=True)
    assert wait_until(lambda: sleeper.status == "failed", 10), sleeper.status  # Ganga alone: 600 s
    assert "cancelled outside Ganga" in scheduler_record.read(stripProxy(sleeper)).reason
    assert "cancelled outside Ganga" in card(sleeper)

    assert wait_until(lambda: false.status == "failed", 30), false.status
    assert false.backend.exitcode == 3
    assert "broken" in card(false)  # the stderr tail

    assert wait_until(lambda: no_python.status == "failed", 30), no_python.status  # Ganga alone: 'submitted' for ever
    reason = scheduler_record.read(stripProxy(no_python)).reason
    assert "failed before Ganga's wrapper could report" in reason
    assert "python3" in card(no_python)  # /usr/bin/env's complaint, from stderr


@add_config(RUNTIME)
def test_impossible_requests_are_explained_and_nothing_is_lost(gpi):
    from GangaCore.GPIDev.Lib.Job.Error import JobError

    gpi.enableMonitoring()
    refused = gpi.Job(application=gpi.Executable(exe="/bin/true"), backend=gpi.Slurm(extraopts="--mem=99999999"))
    with pytest.raises(JobError, match="was not submitted and stays 'new'"):
        refused.submit()
    assert refused.status == "new"  # still there, to be fixed and submitted again
    refused.backend.extraopts = ""
    refused.submit()

    never = gpi.Job(application=gpi.Executable(exe="/bin/true"), backend=gpi.Slurm(extraopts="--nodes=3"))
    never.submit()
    assert wait_until(lambda: "cannot start as requested" in scheduler_record.read(stripProxy(never)).reason, 20)
    assert never.status == "submitted"
    shown = card(never)
    assert "more nodes requested than the partition allows" in shown or "cannot satisfy this request" in shown
    assert "Kill the job, change backend.extraopts" in shown
    never.kill()
    assert never.status == "killed"
    assert wait_until(lambda: refused.status == "completed", 30), refused.status


@add_config(RUNTIME)
def test_monitoring_recovers_when_slurmctld_restarts(gpi):
    gpi.enableMonitoring()
    j = gpi.Job(application=gpi.Executable(exe="/bin/sh", args=["-c", "sleep 6; echo survived"]), backend=gpi.Slurm())
    j.submit()
    assert wait_until(lambda: j.status == "running", 30), j.status
    pidfile = Path(os.environ.get("SLURM_CLUSTER_DIR", "/var/tmp/slurm"), "slurmctld.pid")
    pid = int(pidfile.read_text())
    os.kill(pid, 15)
    assert wait_until(lambda: not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2], 30)
    time.sleep(2)  # a poll cycle or two without a controller: the job keeps its state
    assert j.status == "running"
    subprocess.run([str(SCRIPT), "start"], check=True, capture_output=True)
    assert wait_until(lambda: j.status == "completed", 60), j.status
    assert "survived" in Path(j.outputdir, "stdout").read_text()


def test_notebook_jobs_ganga_job_cells_and_kill_live_in_the_notebook(kernel):
    kernel.run(
        "nb = Job(application=NotebookApp(cells=['y = 6 * 7', 'print(y)'], outputs=['y']), backend=Slurm())\n"
        "nb.submit()\nnb"
    )
    kernel.run("%%ganga_job --backend Slurm() --outputs total --split \"{'x': [1, 2, 3]}\"\ntotal = x * 10")
    kernel.run("cell_job = _")
    kernel.run("sleeper = Job(application=Executable(exe='/bin/sleep', args=['300']), backend=Slurm())\nsleeper.submit()\nsleeper")
    notebook_view, cell_view, sleeper_view = kernel.views()
    assert kernel.wait_for(lambda: sleeper_view.state["status"] == "running", timeout=60), kernel.statuses(sleeper_view)
    kernel.click(sleeper_view, "kill")
    assert kernel.wait_for(lambda: sleeper_view.state["status"] == "killed", timeout=30), kernel.statuses(sleeper_view)
    assert kernel.wait_for(lambda: notebook_view.state["status"] == "completed", timeout=90), kernel.statuses(notebook_view)
    order = ["new", "submitting", "submitted", "running", "completed"]
    seen = kernel.statuses(notebook_view)
    assert seen == sorted(seen, key=order.index) and seen[-1] == "completed"  # forward only, never back
    assert kernel.run_value("nb.application.results()") == {"y": 42}
    assert kernel.wait_for(lambda: cell_view.state["status"] == "completed", timeout=90), kernel.statuses(cell_view)
    assert kernel.run_value("cell_job.application.results()") == [{"total": 10}, {"total": 20}, {"total": 30}]
    assert subprocess.run(["squeue", "-h", "-j", str(kernel.run_value("sleeper.backend.id"))], capture_output=True, text=True).stdout.strip() == ""  # really cancelled


def test_resubmit_failed_subjobs_and_watch_them_again(kernel, tmp_path):
    marker = tmp_path / "second-try"
    script = f"if [ $0 = 1 ] && [ ! -e {marker} ]; then touch {marker}; exit 1; fi; echo ok $0"
    kernel.run(
        "j = Job(application=Executable(exe='/bin/sh'), backend=Slurm(),\n"
        f"        splitter=ArgSplitter(args=[['-c', {script!r}, str(i)] for i in range(3)]))\n"
        "j.submit()\nj"
    )
    [view] = kernel.views()
    assert kernel.wait_for(lambda: view.state["status"] == "failed", timeout=90), kernel.statuses(view)
    kernel.run("j.resubmit()\nj")  # the settled view says how; the new one follows the resubmitted subjob
    again = kernel.views()[-1]
    assert again is not view
    assert kernel.wait_for(lambda: again.state["status"] == "completed", timeout=90), kernel.statuses(again)
    assert kernel.run_value("[sj.status for sj in j.subjobs]") == ["completed"] * 3
    assert "ok 1" in kernel.run_value("open(j.subjobs[1].outputdir + 'stdout').read()")


@add_config(RUNTIME)
def test_node_failure_fails_the_job_and_a_requeue_is_explained(gpi):
    gpi.enableMonitoring()
    lost = gpi.Job(application=gpi.Executable(exe="/bin/sleep", args=["300"]), backend=gpi.Slurm(extraopts="--no-requeue"))
    requeued = gpi.Job(application=gpi.Executable(exe="/bin/sh", args=["-c", "sleep 4; echo again"]), backend=gpi.Slurm())
    lost.submit()
    requeued.submit()
    assert wait_until(lambda: lost.status == "running" and requeued.status == "running", 30), (lost.status, requeued.status)
    # the node goes down (as when slurmd's host dies); with ReturnToService=2 it comes back by itself
    subprocess.run(["scontrol", "update", "nodename=localhost", "state=down", "reason=gangajupyter-test"], check=True)
    assert wait_until(lambda: lost.status == "failed", 10), lost.status
    assert "the node running it failed" in scheduler_record.read(stripProxy(lost)).reason
    # Slurm holds a requeued job back for a while (BeginTime) before it runs it again
    assert wait_until(lambda: "Requeued by Slurm" in scheduler_record.read(stripProxy(requeued)).reason, 20)
    assert requeued.status == "running" and "Requeued by Slurm" in card(requeued)
    requeued.kill()
    assert requeued.status == "killed"

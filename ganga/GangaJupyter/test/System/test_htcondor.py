"""The ``HTCondor`` backend against a real HTCondor pool (``scripts/htcondor-pool.sh start``).

Needs ``CONDOR_CONFIG`` naming a pool that answers. Without one the tests are skipped, except under ``CI``,
where they fail.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from GangaCore.testlib.decorators import add_config

from GangaJupyter.testlib import waiting
from GangaJupyter.testlib.needs import htcondor_pool_problem, unavailable

RUNTIME = ("Configuration", "RUNTIME_PATH", "GangaJupyter")
REPO = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module", autouse=True)
def pool():
    problem = htcondor_pool_problem()
    if problem:
        unavailable("an HTCondor pool", problem)


def schedd():
    import htcondor2

    return htcondor2.Schedd()


def wait_for(job, state, timeout=120):
    """Until Ganga's monitoring loop has set ``state`` (read from the job, never polled by the test itself)."""
    ends = {state, "completed", "failed", "killed", "removed"}  # another final state: no point waiting on
    assert waiting.wait_until(lambda: job.status in ends, timeout, 0.2) and job.status == state, (
        f"job {job.fqid} is {job.status} (HTCondor: {job.backend.status} {job.backend.reason})"
    )


def wait_until(predicate, timeout=60, what="condition"):
    assert waiting.wait_until(predicate, timeout, 0.2), f"timed out waiting for {what}"


@add_config([RUNTIME])
def test_a_100_subjob_split_job_completes_with_outputs_through_spool(gpi):
    gpi.enableMonitoring()
    j = gpi.Job(
        name="split on condor",
        application=gpi.Executable(exe="/bin/sh"),
        backend=gpi.HTCondor(),
        splitter=gpi.ArgSplitter(args=[["-c", f"echo item {i}; echo {i * i} > square.txt"] for i in range(100)]),
        outputfiles=[gpi.LocalFile("square.txt")],
    )
    j.submit()
    clusters = {sj.backend.id.split(".")[0] for sj in j.subjobs}
    assert clusters == {j.backend.id}, "one cluster for the job and all its subjobs"
    wait_for(j, "completed", timeout=240)
    for i in (0, 37, 99):
        sj = j.subjobs[i]
        assert open(os.path.join(sj.outputdir, "stdout")).read().strip() == f"item {i}"
        assert open(os.path.join(sj.outputdir, "square.txt")).read().strip() == str(i * i)
        assert sj.backend.exitcode == 0 and sj.backend.actualCE and sj.backend.walltime is not None
    assert "completed" in j._repr_html_()


@add_config([RUNTIME])
def test_a_notebook_sweep_runs_on_the_pool(gpi):
    gpi.enableMonitoring()
    j = gpi.Job(
        application=gpi.NotebookApp(cells=["import sys\nc = a * b\nprint(sys.version_info[:2])"], outputs=["c"]),
        splitter=gpi.NotebookSweep(grid={"a": [1, 2, 3], "b": [10, 20]}),
        postprocessors=[gpi.NotebookMerger()],
        backend=gpi.HTCondor(),
    )
    j.submit()
    wait_for(j, "completed", timeout=240)
    assert sorted(sj.application.results()["c"] for sj in j.subjobs) == [10, 20, 20, 30, 40, 60]
    assert "Executed notebook" in j.subjobs[0]._repr_html_()


@add_config([RUNTIME])
def test_a_nonzero_exit_fails_with_its_code_and_resubmit_runs_it_again(gpi):
    gpi.enableMonitoring()
    j = gpi.Job(application=gpi.Executable(exe="/bin/sh", args=["-c", "echo broken >&2; exit 3"]), backend=gpi.HTCondor())
    j.submit()
    wait_for(j, "failed")
    assert j.backend.exitcode == 3 and "exited with code 3" in j.backend.reason
    html = j._repr_html_()
    assert "broken" in html  # the payload's stderr, retrieved through spool
    first_id = j.backend.id
    j.resubmit()
    assert j.backend.id != first_id
    wait_for(j, "failed")
    assert j.backend.exitcode == 3 and j.info.submit_counter == 2


@add_config([RUNTIME])
def test_kill_removes_every_subjob_from_the_queue(gpi):
    gpi.enableMonitoring()
    j = gpi.Job(
        application=gpi.Executable(exe="/bin/sleep"),
        backend=gpi.HTCondor(),
        splitter=gpi.ArgSplitter(args=[["300"] for _ in range(3)]),
    )
    j.submit()
    wait_until(lambda: any(sj.status == "running" for sj in j.subjobs), what="a running subjob")
    j.kill()
    assert j.status == "killed" and all(sj.status == "killed" for sj in j.subjobs)
    wait_until(lambda: not schedd().query(f"ClusterId == {j.backend.id} && JobStatus != 3", ["ProcId"]), what="removal")


@add_config([RUNTIME])
def test_a_held_job_waits_and_runs_once_released(gpi):
    gpi.enableMonitoring()
    j = gpi.Job(application=gpi.Executable(exe="/bin/sh", args=["-c", "sleep 3; echo done"]), backend=gpi.HTCondor())
    j.submit()
    wait_for(j, "running")
    # Hold once the payload runs: HTCondor 23.9's schedd does not match a job again for 30 s or more (seen: over
    # 2 minutes) when it was held while its claim was being activated, a second before the payload starts.
    wait_until(
        lambda: schedd().query(f"ClusterId == {j.backend.id.split('.')[0]}", ["JobCurrentStartExecutingDate"])[0].get(
            "JobCurrentStartExecutingDate"
        ) is not None,
        what="the payload to start",
    )
    j.backend.hold()
    wait_until(lambda: j.backend.status == "Held", what="HTCondor's hold")
    assert j.status == "running" and "condor_release" in j.backend.reason
    j.backend.release()
    wait_for(j, "completed")
    assert open(os.path.join(j.outputdir, "stdout")).read().strip() == "done"


@add_config([RUNTIME])
def test_a_job_held_with_an_error_fails_with_the_hold_reason(gpi):
    gpi.enableMonitoring()
    # The output file never appears, so HTCondor holds the job when it transfers outputs.
    j = gpi.Job(
        application=gpi.Executable(exe="/bin/true"),
        backend=gpi.HTCondor(submit_options=["transfer_output_files = never_written.txt"]),
    )
    j.submit()
    wait_for(j, "failed")
    assert "never_written.txt" in j.backend.reason and "held" in j.backend.reason
    assert "never_written.txt" in j._repr_html_()  # the reason is the job's error in the view
    assert not schedd().query(f"ClusterId == {j.backend.id.split('.')[0]} && JobStatus == 5", ["ProcId"])


@add_config([RUNTIME])
def test_a_missing_input_file_fails_before_submit_naming_it(gpi, tmp_path):
    missing = tmp_path / "nowhere.dat"
    j = gpi.Job(application=gpi.Executable(exe="/bin/true"), backend=gpi.HTCondor(), inputfiles=[gpi.LocalFile(str(missing))])
    with pytest.raises(Exception, match="nowhere.dat"):
        j.submit()
    assert j.status == "new"
    j = gpi.Job(application=gpi.Executable(exe=gpi.File(str(missing))), backend=gpi.HTCondor())
    with pytest.raises(Exception, match="nowhere.dat"):
        j.submit()
    assert j.status == "new"


@add_config([RUNTIME])
def test_impossible_requirements_are_explained(gpi):
    gpi.enableMonitoring()
    j = gpi.Job(
        application=gpi.Executable(exe="/bin/true"),
        backend=gpi.HTCondor(idle_check=2, requirements=gpi.CondorRequirements(memory=10**9)),
    )
    j.submit()
    wait_until(lambda: "no slot in the pool matches" in j.backend.reason, timeout=60, what="the idle reason")
    assert j.status == "submitted" and "Memory >= 1000000000" in j.backend.reason
    j.kill()


WRONG_TOKEN_SESSION = """
import ganga.ganga
from ganga import Job, Executable, HTCondor
j = Job(application=Executable(exe="/bin/true"), backend=HTCondor())
try:
    j.submit()
except Exception as err:
    print("ERROR:", err)
print("STATUS:", j.status)
"""


def test_a_wrong_token_is_a_clear_error(tmp_path):
    # A fresh process: HTCondor caches authenticated sessions, so this one must never have had a good token.
    from GangaJupyter.testlib.notebooks import ganga_home

    good = os.environ["CONDOR_CONFIG"]
    bad = tmp_path / "condor_config"
    (tmp_path / "tokens.d").mkdir()
    bad.write_text(open(good).read() + f"\nSEC_TOKEN_DIRECTORY = {tmp_path / 'tokens.d'}\n")
    env = {**ganga_home(tmp_path / "home"), "CONDOR_CONFIG": str(bad)}
    out = subprocess.run([sys.executable, "-c", WRONG_TOKEN_SESSION], env=env, capture_output=True, text=True, timeout=120)
    error = [line for line in out.stdout.splitlines() if line.startswith("ERROR:")]
    assert error, out.stdout + out.stderr
    assert "credentials" in error[0] and f"CONDOR_CONFIG={bad}" in error[0] and "SEC_TOKEN_DIRECTORY" in error[0]
    assert "STATUS: new" in out.stdout


@add_config([RUNTIME])
def test_monitoring_survives_a_schedd_restart(gpi):
    if os.geteuid() != 0:
        pytest.skip("restarting the test pool's schedd needs root")
    gpi.enableMonitoring()
    j = gpi.Job(application=gpi.Executable(exe="/bin/sh", args=["-c", "sleep 12; echo survived"]), backend=gpi.HTCondor())
    j.submit()
    wait_for(j, "running")
    subprocess.run(["bash", str(REPO / "scripts/htcondor-pool.sh"), "restart-schedd"], check=True, timeout=60)
    time.sleep(3)
    assert j.status == "running"  # the schedd is away: nothing changes
    wait_for(j, "completed", timeout=120)
    assert open(os.path.join(j.outputdir, "stdout")).read().strip() == "survived"


def test_ganga_job_cell_runs_on_the_pool(tmp_path):
    from GangaJupyter.testlib.notebooks import execute, ganga_home, notebook, outputs

    nb = execute(
        notebook(
            "%load_ext GangaJupyter",
            "data = [1, 5, 10]",
            "%%ganga_job --backend HTCondor() --inputs data --outputs total\ntotal = sum(data)",
            "j = _\nimport time\nwhile j.status not in ('completed', 'failed'): time.sleep(0.2)\n"
            "print(j.status, j.application.results(), j.backend.exitcode)",
        ),
        ganga_home(tmp_path, False),
        tmp_path,
        timeout=180,
    )
    assert "completed {'total': 16} 0" in "".join(outputs(nb.cells[3], "text/plain"))


def shared_dir() -> Path:
    """The pool's directory that its workers see at the same path (scripts/htcondor-pool.sh bind-mounts it)."""
    import htcondor2

    value = htcondor2.param.get("GANGAJUPYTER_SHARED_DIR")
    if not value:
        unavailable(
            "an HTCondor pool with a shared directory",
            f"CONDOR_CONFIG={os.environ['CONDOR_CONFIG']} names no GANGAJUPYTER_SHARED_DIR (scripts/htcondor-pool.sh writes it)",
        )
    return Path(value)


def test_a_shared_filesystem_job_is_followed_through_its_event_log():
    import shutil
    import tempfile

    from GangaJupyter.testlib.kernel import KernelSession
    from GangaJupyter.testlib.notebooks import ganga_home

    home = Path(tempfile.mkdtemp(prefix="test-shared-fs-", dir=shared_dir()))
    home.chmod(0o777)  # the pool runs jobs as its own user, which writes into the workspace
    kernel = KernelSession(ganga_home(home, runtime_path=False), str(home))
    try:
        assert kernel.run("import os\nos.umask(0)\n%load_ext GangaJupyter")["status"] == "ok"
        # Ganga's own poll of HTCondor jobs once at the start, then not for 10 minutes: every later change
        # can only come from the event log's watch.
        assert kernel.run("config['PollThread']['HTCondor'] = 600")["status"] == "ok"
        reply = kernel.run(
            "j = Job(application=Executable(exe='/bin/sh', args=['-c', 'echo started; sleep 10; echo finished']),\n"
            "        backend=HTCondor(spool=False))\n"
            "j.submit()\n"
            "j"
        )
        assert reply["status"] == "ok", reply
        view = kernel.views()[-1]
        assert kernel.wait_for(lambda: view.state["status"] == "running", timeout=60), kernel.statuses(view)

        def peek_shows_started() -> bool:  # stdout is streamed into the shared workspace: readable while the job runs
            kernel.click(view, "stdout")
            return kernel.wait_for(lambda: "started" in view.state.get("peek", ""), timeout=1)

        assert kernel.wait_for(peek_shows_started, timeout=8), view.state.get("reply")
        assert kernel.run_value("j.status") == "running"
        kernel.run("j.backend.peek()")
        peeked = "".join(m["content"].get("text", "") for m in kernel.outputs if m["msg_type"] == "stream")
        assert "started" in peeked and "finished" not in peeked
        assert kernel.wait_for(lambda: view.state["status"] == "completed", timeout=60), kernel.statuses(view)
        assert kernel.run_value("open(os.path.join(j.outputdir, 'stdout')).read()") == "started\nfinished\n"
        assert kernel.run_value("(j.backend.exitcode, j.backend.status, bool(j.backend.actualCE))") == (0, "Completed", True)
        triggered = kernel.run_value(
            "__import__('GangaJupyter.Lib.Monitor.status_file_watch', fromlist=['_']).status_file_watch.triggered"
        )
        assert triggered >= 2, "running and completed came from the event log's watch"
    finally:
        kernel.close()
        shutil.rmtree(home, ignore_errors=True)

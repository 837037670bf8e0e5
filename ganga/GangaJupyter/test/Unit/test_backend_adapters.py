"""The backend adapters: found by the job's backend name (the default for any other backend), and what each says
about a job: the file to watch, the scheduler record, live figures, a failed action in words."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from GangaJupyter.Lib.Backends import BackendAdapter, adapter_for, backend_name, register
from GangaJupyter.Lib.Backends.registry import DEFAULT, registered
from GangaJupyter.Lib.Core import scheduler_record
from GangaJupyter.Lib.Core.scheduler_record import SchedulerRecord
from GangaJupyter.Lib.HTCondor.adapter import HTCondorAdapter, htcondor_adapter
from GangaJupyter.Lib.Slurm.adapter import slurm_adapter
from GangaJupyter.Lib.Slurm.scheduler import SchedulerUnavailable
from ganga_fakes import Workspace


class Backend:
    def __init__(self, name: str, **fields: Any):
        self._name = name
        self.__dict__.update(fields)


class Job:
    def __init__(self, backend: Backend, outputdir: Path | None = None):
        self.backend = backend
        self.outputdir = outputdir

    def getOutputWorkspace(self, create: bool = True) -> Workspace:
        assert self.outputdir is not None
        if create:
            self.outputdir.mkdir(parents=True, exist_ok=True)
        return Workspace(self.outputdir)


class Proxy:
    """What Ganga's GPI proxies look like from outside: the job itself is ``_impl``."""

    def __init__(self, impl: Any):
        self._impl = impl


def test_each_backend_room_registers_its_adapter() -> None:
    adapters = registered()
    assert {"Local", "Slurm", "HTCondor"} <= set(adapters)
    for name, adapter in adapters.items():
        assert adapter.name == name
        assert adapter_for(Job(Backend(name))) is adapter


def test_a_backend_without_an_adapter_gets_the_default() -> None:
    for job in (Job(Backend("Dirac")), Job(Backend("")), object()):
        assert adapter_for(job) is DEFAULT
    assert type(DEFAULT) is BackendAdapter


def test_a_proxy_finds_the_adapter_of_its_job() -> None:
    assert adapter_for(Proxy(Job(Backend("HTCondor")))) is htcondor_adapter


def test_the_class_names_of_gangas_index_become_backend_names() -> None:
    assert backend_name("Localhost") == "Local"  # Ganga's repository index holds the class name
    assert backend_name("Slurm") == "Slurm" and backend_name("Dirac") == "Dirac"


def test_register_makes_an_adapter_the_one_for_its_backend() -> None:
    class Special(BackendAdapter):
        name = "GangaJupyterUnitTestBackend"

        def watched_file(self, job: Any) -> str | None:
            return "special.log"

    special = register(Special())
    job = Job(Backend("GangaJupyterUnitTestBackend"))
    assert adapter_for(job) is special and special.watched_file(job) == "special.log"
    newer = register(Special())
    assert adapter_for(job) is newer
    with pytest.raises(ValueError):
        register(BackendAdapter())


def test_the_default_adapter_reads_gangas_own_fields() -> None:
    job = Job(Backend("Condor", id="12.0", status="Running", actualCE="slot1@worker", exitcode=None))
    assert DEFAULT.scheduler_record(job) == SchedulerRecord(system="Condor", state="Running", nodes="slot1@worker")
    assert DEFAULT.watched_file(job) is None and DEFAULT.live_figures(job) == {}
    bare = Job(Backend("Interactive"))  # no status, host nor exit code in its schema
    assert DEFAULT.scheduler_record(bare) == SchedulerRecord(system="Interactive")
    assert DEFAULT.explain(RuntimeError("it broke")) == "it broke"


def test_the_default_update_is_the_backend_class_own() -> None:
    calls = []

    class Polled(Backend):
        @staticmethod
        def updateMonitoringInformation(jobs: list[Any]) -> None:
            calls.append(jobs)

    jobs = [Job(Polled("Polled")), Job(Polled("Polled"))]
    DEFAULT.update(jobs)
    DEFAULT.update([])
    assert calls == [jobs]


def test_local_jobs_are_watched_through_gangas_status_file(tmp_path: Path) -> None:
    local = adapter_for(Job(Backend("Local")))
    assert local.watched_file(Job(Backend("Local"))) == "__jobstatus__"
    job = Job(Backend("Local", status=None, actualCE="host1", exitcode=3), tmp_path / "out")
    assert local.scheduler_record(job) == SchedulerRecord(system="Local", nodes="host1", exit_code="3")
    scheduler_record.update(job, cpu_time="1:05", max_memory="80 MB", nodes="kept earlier")  # kept while it ran
    assert local.scheduler_record(job) == SchedulerRecord(
        system="Local", nodes="host1", exit_code="3", cpu_time="1:05", max_memory="80 MB"
    )


def test_a_local_payload_that_ended_before_its_wrapper_wrote_how_is_ending(tmp_path: Path) -> None:
    """Before a kill: a payload whose process is gone while the status file has no EXITCODE yet is ending (its
    wrapper looks every 0.3 s); one that runs, one whose exit is recorded, and one that never started are not."""
    local = adapter_for(Job(Backend("Local")))
    job = Job(Backend("Local"), tmp_path / "out")
    assert local.ending(job) is False  # no workspace, no status file
    status = job.getOutputWorkspace().getPath() + "__jobstatus__"
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    try:
        Path(status).write_text(f"START: now\nWRAPPER: {os.getpid()}\nPID: {running.pid}\n")
        assert local.ending(job) is False
        Path(status).write_text(f"START: now\nWRAPPER: {os.getpid()}\nPID: {ended.pid}\n")
        assert local.ending(job) is True
        Path(status).write_text(f"START: now\nWRAPPER: {os.getpid()}\nPID: {ended.pid}\nEXITCODE: 0\n")
        assert local.ending(job) is False
    finally:
        running.kill()
        running.wait()
    assert BackendAdapter().ending(job) is False


def test_local_live_figures_count_the_process_and_its_children() -> None:
    local = adapter_for(Job(Backend("Local")))
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\ntime.sleep(60)"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', {burn!r}])\ntime.sleep(60)",
        ]
    )
    try:
        deadline = time.monotonic() + 20
        figures: dict[str, float] = {}
        while time.monotonic() < deadline:
            figures = local.live_figures(Job(Backend("Local", id=parent.pid)))
            if figures.get("cpu_seconds", 0) >= 0.3:
                break
            time.sleep(0.1)
        assert figures["cpu_seconds"] >= 0.3, figures  # the child's CPU time counts
        assert figures["rss_bytes"] > 2 * 2**20  # two Python interpreters
    finally:
        import psutil

        for child in psutil.Process(parent.pid).children(recursive=True):
            child.kill()
        parent.kill()
        parent.wait()
    assert local.live_figures(Job(Backend("Local", id=parent.pid))) == {}, "an ended process still had figures"


@pytest.mark.parametrize("pid", [-1, 0, None, "123", True])
def test_local_live_figures_need_a_process_id(pid: Any) -> None:
    assert adapter_for(Job(Backend("Local"))).live_figures(Job(Backend("Local", id=pid))) == {}


def test_slurm_jobs_record_is_what_slurm_said(tmp_path: Path) -> None:
    job = Job(Backend("Slurm", spool=False), tmp_path / "out")
    assert slurm_adapter.watched_file(job) == "__jobstatus__"
    assert slurm_adapter.scheduler_record(job) == SchedulerRecord()
    scheduler_record.update(job, system="Slurm", state="TIMEOUT", reason="killed by Slurm: it reached its time limit")
    assert slurm_adapter.scheduler_record(job).reason == "killed by Slurm: it reached its time limit"


def test_slurm_explains_an_unreachable_scheduler() -> None:
    from GangaCore.Core.exceptions import BackendError

    assert "slurmctld" in slurm_adapter.explain(SchedulerUnavailable("squeue is not on the PATH"))
    refusal = BackendError("Slurm", "sbatch refused job 3: invalid partition. Change backend.queue")
    assert slurm_adapter.explain(refusal) == "sbatch refused job 3: invalid partition. Change backend.queue"


def _htcondor_job(**fields: Any) -> Job:
    values = dict(
        spool=True, status="", reason="", actualCE="", walltime=None, cputime=None, memory=None, exitcode=None
    )
    values.update(fields)
    return Job(Backend("HTCondor", **values))


def test_htcondor_watches_the_event_log_only_on_a_shared_filesystem() -> None:
    assert htcondor_adapter.watched_file(_htcondor_job(spool=True)) is None
    assert htcondor_adapter.watched_file(_htcondor_job(spool=False)) == "condorLog"


def test_htcondor_record_comes_from_the_backend_fields() -> None:
    held = _htcondor_job(status="Held", reason="held: by user (HoldReasonCode 1); condor_release it", actualCE="")
    assert htcondor_adapter.scheduler_record(held) == SchedulerRecord(
        system="HTCondor", state="Held", reason="held: by user (HoldReasonCode 1); condor_release it"
    )
    done = _htcondor_job(status="Completed", actualCE="slot1@w1", walltime=75.0, cputime=3.4, memory=12.0, exitcode=0)
    assert htcondor_adapter.scheduler_record(done) == SchedulerRecord(
        system="HTCondor",
        state="Completed",
        nodes="slot1@w1",
        wall_time="1:15",
        cpu_time="0:03",
        max_memory="12 MB",
        exit_code="0",
    )


def test_htcondor_leaves_a_payload_exit_to_the_exit_code() -> None:
    failed = _htcondor_job(status="Completed", reason="the payload exited with code 3", exitcode=3)
    record = htcondor_adapter.scheduler_record(failed)
    assert record.reason == "" and record.exit_code == "3"  # the payload's stderr says why, not HTCondor
    killed = _htcondor_job(status="Completed", reason="the payload was killed by signal 9", exitcode=None)
    assert htcondor_adapter.scheduler_record(killed).reason == "the payload was killed by signal 9"


def test_htcondor_explains_binding_errors_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONDOR_CONFIG", os.devnull)
    binding_error = type("HTCondorException", (Exception,), {"__module__": "htcondor2._error"})
    text = HTCondorAdapter().explain(binding_error("Failed to connect to schedd"))
    assert "cannot be reached" in text and "CONDOR_CONFIG" in text and not text.startswith("BackendError")
    assert htcondor_adapter.explain(ValueError("plain")) == "plain"


def test_notebookapp_runs_wherever_ganga_runs_an_executable_from_a_standard_job_config() -> None:
    from GangaCore.GPIDev.Adapters.ApplicationRuntimeHandlers import allHandlers

    from GangaJupyter.Lib.HTCondor import handlers  # noqa: F401  (HTCondor's registrations)
    from GangaJupyter.Lib.NotebookApp.handlers import NotebookAppRTHandler

    backends = set(allHandlers.getAllBackends("NotebookApp"))
    assert {"Local", "Interactive", "Slurm", "Condor", "LSF", "PBS", "SGE", "Batch", "HTCondor"} <= backends
    assert all(allHandlers.get("NotebookApp", b) is NotebookAppRTHandler for b in backends)
    assert "gLite" not in backends  # its Executable handler is not the StandardJobConfig one


def test_only_backends_on_this_machine_run_with_this_python() -> None:
    runs_here = {name for name, adapter in registered().items() if adapter.runs_here}
    assert runs_here == {"Local", "Interactive"}
    assert not DEFAULT.runs_here


#: Ganga's Local wrapper, in short: the payload in the wrapper's process group, polled every 0.3 s, then EXITCODE.
WRAPPER = """
import os, subprocess, sys, time
status = sys.argv[1]
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"])
with open(status, "w") as f:
    f.write(f"START: now\\nWRAPPER: {os.getpid()}\\nPID: {child.pid}\\n")
while child.poll() is None:
    time.sleep(0.3)
with open(status, "a") as f:
    f.write(f"EXITCODE: {child.returncode}\\n")
"""


class LocalJob(Job):
    """A Local job with its workspace as Ganga lays it out: ``<root>/input`` and ``<root>/output``."""

    def __init__(self, root: Path, **backend: Any):
        super().__init__(Backend("Local", **backend), root / "output")
        self.master = None
        self.root = root

    def getInputWorkspace(self, create: bool = True) -> Workspace:
        (self.root / "input").mkdir(parents=True, exist_ok=True)
        return Workspace(self.root / "input")


def _start_wrapper(job: LocalJob) -> subprocess.Popen:
    script = Path(job.getInputWorkspace().getPath()) / "__jobscript__"
    script.write_text(WRAPPER)
    status = Path(job.getOutputWorkspace().getPath()) / "__jobstatus__"
    wrapper = subprocess.Popen([sys.executable, str(script), str(status)], start_new_session=True)
    deadline = time.monotonic() + 10
    while "PID:" not in (status.read_text() if status.exists() else "") and time.monotonic() < deadline:
        time.sleep(0.02)
    return wrapper


def _stopped(processes: list[Any], timeout: float = 5.0) -> bool:
    """Whether every process is stopped (a signal is delivered asynchronously: within ``timeout``)."""
    import psutil

    deadline = time.monotonic() + timeout
    while not all(p.status() == psutil.STATUS_STOPPED for p in processes):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_paused_local_job_neither_ends_nor_records_until_resumed(tmp_path: Path) -> None:
    """Before a kill the wrapper and its payload stop: a payload due to end meanwhile does not, so the kill that
    follows is the truth; resumed, it ends and its wrapper records how."""
    import psutil

    job = LocalJob(tmp_path / "LocalXML" / "0")
    wrapper = _start_wrapper(job)
    status = Path(job.getOutputWorkspace().getPath()) / "__jobstatus__"
    local = adapter_for(job)
    try:
        resume = local.pause(job, [job])
        processes = [psutil.Process(wrapper.pid)] + psutil.Process(wrapper.pid).children()
        assert len(processes) == 2 and _stopped(processes)
        time.sleep(1.0)  # past the payload's 0.5 s
        assert "EXITCODE" not in status.read_text() and local.ending(job) is False
        resume()
        assert wrapper.wait(10) == 0 and "EXITCODE: 0" in status.read_text()
    finally:
        wrapper.kill()
        wrapper.wait()


def test_a_job_paused_by_a_session_that_died_goes_on_when_taken_over(tmp_path: Path) -> None:
    """The session that paused the job for a kill is killed before it kills: the next one resumes the job."""
    import psutil

    job = LocalJob(tmp_path / "LocalXML" / "0")
    wrapper = _start_wrapper(job)
    try:
        adapter_for(job).pause(job, [job])  # and never resumed by that session
        assert _stopped([psutil.Process(wrapper.pid)])
        adapter_for(job).resume(job, [job])
        assert wrapper.wait(10) == 0
    finally:
        wrapper.kill()
        wrapper.wait()


def test_only_wrappers_running_the_jobs_own_scripts_are_paused(tmp_path: Path) -> None:
    """A status file naming a process that is not this job's wrapper (its pid reused, another job's) stops nothing."""
    import psutil

    job = LocalJob(tmp_path / "LocalXML" / "0")
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        Path(job.getOutputWorkspace().getPath(), "__jobstatus__").write_text(f"WRAPPER: {stranger.pid}\nPID: 1\n")
        job.backend.wrapper_pid = [os.getpid()]  # this process: never
        resume = adapter_for(job).pause(job, [job])
        assert not _stopped([psutil.Process(stranger.pid)], timeout=0.5)
        assert psutil.Process().status() != psutil.STATUS_STOPPED
        resume()
    finally:
        stranger.kill()
        stranger.wait()
    assert BackendAdapter().pause(job, [job])() is None


def test_a_kill_lets_ended_subjobs_record_how_with_their_runner_still_paused(tmp_path: Path) -> None:
    """While a kill waits for the subjobs that just ended to record how, the split job's batch runner stays
    paused: resumed with them, it started the next subjob, which then ran to its end and was marked killed (the
    reliability benchmark's 'killed, truth completed' subjobs)."""
    import psutil

    master = LocalJob(tmp_path / "LocalXML" / "0")
    subjob = LocalJob(tmp_path / "LocalXML" / "0" / "0")
    subjob.master = master
    runner_script = Path(master.getInputWorkspace().getPath()) / "__jobscript__runner"
    runner_script.write_text("import time; time.sleep(30)\n")
    runner = subprocess.Popen([sys.executable, str(runner_script), "subprocess"], start_new_session=True)
    wrapper = _start_wrapper(subjob)
    master.backend.wrapper_pid = [runner.pid]
    local = adapter_for(master)
    try:
        resume = local.pause(master, [subjob])
        assert _stopped([psutil.Process(runner.pid), psutil.Process(wrapper.pid)])
        local.resume(master, [subjob], parts_only=True)
        assert wrapper.wait(10) == 0  # the subjob's wrapper went on and recorded its exit
        assert _stopped([psutil.Process(runner.pid)], timeout=0.5)  # the runner did not
        resume()
        assert not _stopped([psutil.Process(runner.pid)], timeout=0.5)
    finally:
        for process in (runner, wrapper):
            process.kill()
            process.wait()

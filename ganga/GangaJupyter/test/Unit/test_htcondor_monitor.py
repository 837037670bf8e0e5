"""What HTCondor's job ads become in Ganga (``HTCondorMonitor``), against a small fake schedd: running, idle and
why, held with and without ``fail_on_hold``, completed with exit 0, 1 or a signal, removed, missing from the queue
until lost, an unreachable schedd, outputs that cannot be retrieved; and what the monitor remembers between polls
is forgotten when a job ends or is no longer asked about."""
from __future__ import annotations

import re
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from GangaJupyter.Lib.HTCondor.adapter import HTCondorAdapter
from GangaJupyter.Lib.HTCondor.monitoring import LOST_AFTER_POLLS, RETRIEVE_ATTEMPTS, HTCondorMonitor
from GangaJupyter.Lib.Monitor.events import EventBatch, StatusEvents
from ganga_fakes import Workspace


class Ad(dict):
    """A job or machine ad: a dict, with the two ClassAd methods the idle check uses."""

    def symmetricMatch(self, slot: Ad) -> bool:
        return self.get("RequestMemory", 0) <= slot.get("Memory", 0)

    def lookup(self, key: str) -> str:
        return str(self[key])


class Schedd:
    """A schedd's queue and history, answering the constraints the monitor sends (``ClusterId == N``, ``ProcId``)."""

    def __init__(self) -> None:
        self.queue: dict[str, Ad] = {}
        self.history_ads: dict[str, Ad] = {}
        self.down = False
        self.retrieve_fails = False
        self.removed: list[list[str]] = []
        self.retrieved: list[Any] = []
        self.queries = 0

    def put(self, job_id: str, **attributes: Any) -> None:
        cluster, proc = (int(p) for p in job_id.split("."))
        self.queue[job_id] = Ad(ClusterId=cluster, ProcId=proc, **attributes)

    def leave(self, job_id: str, to_history: bool = True) -> None:
        ad = self.queue.pop(job_id)
        if to_history:
            self.history_ads[job_id] = ad

    @staticmethod
    def _matching(constraint: str, ads: dict[str, Ad]) -> list[Ad]:
        clusters = {int(c) for c in re.findall(r"ClusterId == (\d+)", constraint)}
        procs = {int(p) for p in re.findall(r"ProcId == (\d+)", constraint)}
        return [ad for ad in ads.values() if ad["ClusterId"] in clusters and (not procs or ad["ProcId"] in procs)]

    def query(self, constraint: str, projection: list[str] | None = None) -> list[Ad]:
        if self.down:
            raise OSError("Failed to connect to schedd")
        self.queries += 1
        return self._matching(constraint, self.queue)

    def history(self, constraint: str, projection: list[str], match: int = -1) -> list[Ad]:
        return self._matching(constraint, self.history_ads)[:match]

    def act(self, action: str, ids: list[str], reason: str = "") -> dict[str, int]:
        assert action == "Remove"
        self.removed.append(list(ids))
        for job_id in ids:
            self.queue.pop(job_id, None)
        return {"TotalError": 0}

    def retrieve(self, ids: Any) -> None:
        if self.retrieve_fails:
            raise OSError("spool directory missing")
        self.retrieved.append(ids)


class Collector:
    def __init__(self, slots: list[Ad]):
        self.slots = slots
        self.queries = 0

    def query(self, ad_type: str) -> list[Ad]:
        self.queries += 1
        return self.slots


class Pool:
    """The ``htcondor2`` module as the monitor uses it, with one schedd and one collector."""

    def __init__(self, slots: list[Ad]):
        self.schedd = Schedd()
        self.collector = Collector(slots)
        self.JobAction = SimpleNamespace(Remove="Remove")
        self.AdType = SimpleNamespace(Startd="Startd")

    def Collector(self, pool: str = "") -> Collector:
        return self.collector


class Job:
    """A Ganga job on ``HTCondor`` as the monitor sees it: its status, its backend's fields, its output folder."""

    def __init__(self, fqid: str, job_id: str, outputdir: Path, **backend: Any):
        fields = dict(
            id=job_id,
            pool="",
            schedd="",
            spool=True,
            status="",
            reason="",
            actualCE="",
            walltime=None,
            cputime=None,
            memory=None,
            exitcode=None,
            idle_check=20,
            fail_on_hold=True,
        )
        fields.update(backend)
        self.backend = SimpleNamespace(_name="HTCondor", **fields)
        self.status = "submitted"
        self.master = None
        self.fqid = fqid
        self.outputdir = outputdir
        self.statuses: list[str] = []

    def updateStatus(self, status: str, update_master: bool = True) -> None:
        self.status = status
        self.statuses.append(status)

    def getFQID(self, sep: str) -> str:
        return self.fqid

    def getOutputWorkspace(self, create: bool = True) -> Workspace:
        if create:
            self.outputdir.mkdir(parents=True, exist_ok=True)
        return Workspace(self.outputdir)


class Records:
    """The fqids whose scheduler record the monitor said changed, from a real event stream."""

    def __init__(self) -> None:
        self.stream = StatusEvents(window=0.01)
        self._seen: set[str] = set()
        self._changed = threading.Condition()
        self.stream.subscribe(self._on_batch)

    def _on_batch(self, batch: EventBatch) -> None:
        with self._changed:
            self._seen |= batch.records
            self._changed.notify_all()

    def wait_for(self, fqid: str, timeout: float = 5.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: fqid in self._seen, timeout)

    def seen(self) -> set[str]:
        with self._changed:
            return set(self._seen)


@pytest.fixture
def pool() -> Pool:
    return Pool(slots=[Ad(Memory=2048)])


@pytest.fixture
def records() -> Records:
    return Records()


@pytest.fixture
def monitor(pool: Pool, records: Records) -> HTCondorMonitor:
    return HTCondorMonitor(module=lambda: pool, schedd=lambda pool_name, name: pool.schedd, events=records.stream)


@pytest.fixture
def job(tmp_path: Path) -> Job:
    return Job("3", "12.0", tmp_path / "3" / "output")


def test_a_running_job_is_running_on_its_slot(monitor: HTCondorMonitor, pool: Pool, job: Job) -> None:
    pool.schedd.put(
        "12.0", JobStatus=2, RemoteHost="slot1@worker1", RemoteUserCpu=3.0, RemoteSysCpu=1.0, RemoteWallClockTime=9
    )
    monitor.poll([job])
    assert job.status == "running" and job.backend.status == "Running"
    assert job.backend.actualCE == "slot1@worker1" and job.backend.cputime == 4.0 and job.backend.walltime == 9.0
    monitor.poll([job])
    assert job.statuses == ["running"], "a second poll changed the status again"


def test_an_idle_job_that_no_slot_matches_says_so_once(
    monitor: HTCondorMonitor, pool: Pool, job: Job, records: Records
) -> None:
    pool.schedd.put(
        "12.0",
        JobStatus=1,
        ServerTime=1000,
        EnteredCurrentStatus=990,
        RequestMemory=10**9,
        Requirements="Memory >= 1000000000",
    )
    monitor.poll([job])
    assert (
        job.backend.status == "Idle" and job.backend.reason == "" and pool.collector.queries == 0
    )  # 10 s < idle_check
    pool.schedd.queue["12.0"]["ServerTime"] = 1030
    monitor.poll([job])
    assert job.status == "submitted" and "no slot in the pool matches" in job.backend.reason
    assert "Memory >= 1000000000" in job.backend.reason and "1 slots checked" in job.backend.reason
    assert records.wait_for("3"), "the new reason was not published as a record change"
    monitor.poll([job])
    assert pool.collector.queries == 1, "the idle check ran twice"
    assert job.statuses == []


def test_an_idle_job_that_a_slot_matches_just_waits(monitor: HTCondorMonitor, pool: Pool, job: Job) -> None:
    pool.schedd.put("12.0", JobStatus=1, ServerTime=1000, EnteredCurrentStatus=900, RequestMemory=1024)
    monitor.poll([job])
    assert pool.collector.queries == 1 and job.backend.reason == "" and job.status == "submitted"


def test_a_job_held_with_an_error_is_removed_and_fails(monitor: HTCondorMonitor, pool: Pool, job: Job) -> None:
    job.status = "running"
    pool.schedd.put(
        "12.0", JobStatus=5, HoldReason="Transfer output files failure", HoldReasonCode=12, HoldReasonSubCode=2
    )
    monitor.poll([job])
    assert job.status == "failed" and pool.schedd.removed == [["12.0"]]
    assert job.backend.reason.startswith("HTCondor held the job: Transfer output files failure (HoldReasonCode 12")
    assert not (job.outputdir / "stderr").exists(), "the reason belongs in the record, not in the payload's stderr"


@pytest.mark.parametrize(
    "code, fail_on_hold", [(12, False), (1, True), (15, True)], ids=["error-kept", "condor_hold", "submitted-on-hold"]
)
def test_a_job_held_that_waits_for_release(
    monitor: HTCondorMonitor, pool: Pool, job: Job, records: Records, code: int, fail_on_hold: bool
) -> None:
    job.status, job.backend.fail_on_hold = "running", fail_on_hold
    pool.schedd.put("12.0", JobStatus=5, HoldReason="via condor_hold", HoldReasonCode=code)
    monitor.poll([job])
    assert job.status == "running" and pool.schedd.removed == []
    assert job.backend.status == "Held" and "condor_release it" in job.backend.reason
    assert records.wait_for("3"), "the hold was not published as a record change"
    pool.schedd.put("12.0", JobStatus=2)
    monitor.poll([job])
    assert job.backend.status == "Running" and job.backend.reason == ""


def test_spooling_input_is_a_normal_hold(monitor: HTCondorMonitor, pool: Pool, job: Job) -> None:
    pool.schedd.put("12.0", JobStatus=5, HoldReasonCode=16, HoldReason="Spooling input data files")
    monitor.poll([job])
    assert job.status == "submitted" and job.backend.status == "Spooling input" and job.backend.reason == ""


@pytest.mark.parametrize(
    "ad, status, exitcode, reason",
    [
        ({"ExitCode": 0}, "completed", 0, ""),
        ({"ExitCode": 1}, "failed", 1, "the payload exited with code 1"),
        ({"ExitBySignal": True, "ExitSignal": 9}, "failed", None, "the payload was killed by signal 9"),
    ],
    ids=["exit-0", "exit-1", "signal"],
)
def test_a_completed_job_gets_its_outputs_then_its_status(
    monitor: HTCondorMonitor, pool: Pool, job: Job, ad: dict[str, Any], status: str, exitcode: Any, reason: str
) -> None:
    job.status = "running"
    pool.schedd.put("12.0", JobStatus=4, MemoryUsage=3, **ad)
    monitor.poll([job])
    assert pool.schedd.retrieved == [["12.0"]], "the spooled outputs were not retrieved"
    assert job.outputdir.is_dir()
    assert (job.status, job.backend.exitcode, job.backend.reason) == (status, exitcode, reason)
    assert job.backend.status == "Completed" and job.backend.memory == 3.0


def test_a_shared_filesystem_job_needs_no_retrieve(monitor: HTCondorMonitor, pool: Pool, tmp_path: Path) -> None:
    job = Job("4", "13.0", tmp_path / "4" / "output", spool=False)
    pool.schedd.put("13.0", JobStatus=4, ExitCode=0)
    monitor.poll([job])
    assert job.status == "completed" and pool.schedd.retrieved == []


def test_a_job_removed_outside_ganga_is_killed(monitor: HTCondorMonitor, pool: Pool, job: Job) -> None:
    pool.schedd.put("12.0", JobStatus=3, RemoveReason="via condor_rm (by user admin)")
    monitor.poll([job])
    assert (
        job.status == "killed" and job.backend.reason == "removed from HTCondor's queue: via condor_rm (by user admin)"
    )


def test_a_job_that_left_the_queue_is_decided_from_the_history(monitor: HTCondorMonitor, pool: Pool, job: Job) -> None:
    job.status = "running"
    pool.schedd.put("12.0", JobStatus=4, ExitCode=0, StageOutFinish=1)
    pool.schedd.leave("12.0")
    monitor.poll([job])
    assert job.status == "completed" and pool.schedd.retrieved == [], "a job from the history has nothing to retrieve"


def test_a_job_missing_from_queue_and_history_is_lost_after_enough_polls(
    monitor: HTCondorMonitor, pool: Pool, job: Job
) -> None:
    job.status = "running"
    for _ in range(LOST_AFTER_POLLS - 1):
        monitor.poll([job])
    assert job.status == "running" and monitor.remembered() == {"12.0"}
    monitor.poll([job])
    assert job.status == "failed" and "its outcome is unknown" in job.backend.reason
    assert monitor.remembered() == set(), "a lost job was still remembered"


def test_a_job_missing_for_a_moment_starts_counting_again(monitor: HTCondorMonitor, pool: Pool, job: Job) -> None:
    job.status = "running"
    for _ in range(LOST_AFTER_POLLS - 1):
        monitor.poll([job])
    pool.schedd.put("12.0", JobStatus=2)
    monitor.poll([job])
    pool.schedd.leave("12.0", to_history=False)
    for _ in range(LOST_AFTER_POLLS - 1):
        monitor.poll([job])
    assert job.status == "running"


def test_an_unreachable_schedd_changes_nothing(monitor: HTCondorMonitor, pool: Pool, job: Job) -> None:
    pool.schedd.put("12.0", JobStatus=2)
    pool.schedd.down = True
    for _ in range(LOST_AFTER_POLLS + 1):
        monitor.poll([job])
    assert job.status == "submitted" and job.backend.status == "" and monitor.remembered() == set()
    pool.schedd.down = False
    monitor.poll([job])
    assert job.status == "running"


def test_outputs_that_cannot_be_retrieved_fail_the_job_after_a_few_tries(
    monitor: HTCondorMonitor, pool: Pool, job: Job
) -> None:
    job.status = "running"
    pool.schedd.put("12.0", JobStatus=4, ExitCode=0)
    pool.schedd.retrieve_fails = True
    for _ in range(RETRIEVE_ATTEMPTS - 1):
        monitor.poll([job])
    assert job.status == "running" and monitor.remembered() == {"12.0"}
    monitor.poll([job])
    assert (
        job.status == "failed"
        and "could not be retrieved from the schedd: spool directory missing" in job.backend.reason
    )
    assert monitor.remembered() == set()


def test_what_is_remembered_is_forgotten_when_ganga_no_longer_asks(
    monitor: HTCondorMonitor, pool: Pool, tmp_path: Path
) -> None:
    jobs = [Job(str(i), f"20.{i}", tmp_path / str(i)) for i in range(3)]
    for job in jobs:
        pool.schedd.put(job.backend.id, JobStatus=1, ServerTime=100, EnteredCurrentStatus=0)
    monitor.poll(jobs)
    assert monitor.remembered() == {"20.0", "20.1", "20.2"}  # each was idle-checked
    assert pool.collector.queries == 1, "one collector query answers every cluster"
    monitor.forget_all_but({"20.1"})  # the others were killed or removed: Ganga's poll asks only about 20.1
    assert monitor.remembered() == {"20.1"}
    pool.schedd.put("20.1", JobStatus=4, ExitCode=0)
    monitor.poll([jobs[1]])
    assert jobs[1].status == "completed" and monitor.remembered() == set()


def test_a_record_change_is_published_only_without_a_status_change(
    monitor: HTCondorMonitor, pool: Pool, tmp_path: Path, records: Records
) -> None:
    starts, holds = Job("5", "30.0", tmp_path / "5"), Job("6", "30.1", tmp_path / "6")
    holds.status = "running"
    pool.schedd.put("30.0", JobStatus=2, RemoteHost="slot2@w")
    pool.schedd.put("30.1", JobStatus=5, HoldReasonCode=1, HoldReason="by user")
    monitor.poll([starts, holds])
    assert records.wait_for("6")
    assert "5" not in records.seen(), "a status change was also published as a record change"


def test_the_adapter_record_shows_what_the_monitor_learnt(pool: Pool, records: Records, job: Job) -> None:
    monitor = HTCondorMonitor(module=lambda: pool, schedd=lambda pool_name, name: pool.schedd, events=records.stream)
    adapter = HTCondorAdapter(monitor)
    job.status = "running"
    pool.schedd.put(
        "12.0", JobStatus=4, ExitCode=0, RemoteHost="slot1@w", RemoteWallClockTime=61, RemoteUserCpu=2, MemoryUsage=5
    )
    adapter.update([job])
    record = adapter.scheduler_record(job)
    assert (record.state, record.nodes, record.wall_time, record.cpu_time, record.max_memory, record.exit_code) == (
        "Completed",
        "slot1@w",
        "1:01",
        "0:02",
        "5 MB",
        "0",
    )

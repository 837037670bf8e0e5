"""Slurm jobs' status from Slurm itself, on Ganga's monitoring loop.

Ganga 8.7.12's ``Slurm`` backend learns a job's state only from the ``__jobstatus__`` file its wrapper writes:
a job cancelled outside Ganga stays ``running`` until ``[Slurm] timeout`` (600 s), and one that dies before
its wrapper writes stays ``submitted`` for ever. Here Ganga's own file reading runs first, unchanged (it gives
the payload's exit code); then one ``squeue`` per poll cycle (``sacct`` for jobs that left the queue) decides
for the jobs still active: started, pending and why, or ended without the wrapper saying so (cancelled, node
failure, killed for time or memory, failed before the script ran). Accounting figures of finished jobs follow
a few seconds later, when ``sacct`` has them. What Slurm says is kept in the job's scheduler record
(:mod:`..Core.scheduler_record`); each change of it is published on the event stream, so the views show it.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from GangaCore.Utility.logging import getLogger

from ..Core.statuses import AT_BACKEND
from ..Core import scheduler_record
from ..Monitor.events import status_events
from ..Monitor.submits import held_by_submit
from .scheduler import SchedulerUnavailable, SlurmState, scheduler

logger = getLogger()


#: Pending reasons that mean the request can never be met as it stands, with what to do about it.
NEVER_RUNS = {
    "PartitionConfig": "the partition cannot satisfy this request (nodes, CPUs or memory)",
    "PartitionNodeLimit": "more nodes requested than the partition allows",
    "PartitionTimeLimit": "the time limit requested is longer than the partition allows",
    "BadConstraints": "the requested constraints cannot be satisfied by any node",
    "ReqNodeNotAvail": "a requested node is not available",
    "InvalidQOS": "the QOS requested does not exist or is not allowed",
    "InvalidAccount": "the account requested does not exist or is not allowed",
}
FIX = "Kill the job, change backend.extraopts or backend.queue, and submit it again"

ENDED_WITHOUT_WRAPPER = {
    "CANCELLED": "cancelled outside Ganga (scancel or an administrator)",
    "NODE_FAIL": "the node running it failed",
    "BOOT_FAIL": "the node could not be booted for it",
    "TIMEOUT": "killed by Slurm: it reached its time limit",
    "OUT_OF_MEMORY": "killed by Slurm: it ran out of memory",
    "PREEMPTED": "preempted by Slurm",
    "DEADLINE": "killed by Slurm: it reached its deadline",
    "FAILED": "the job script failed before Ganga's wrapper could report (see stderr)",
}
#: A job Slurm calls COMPLETED whose wrapper's status file is not there yet (a slow shared filesystem) gets this
#: long for the file to appear before it is completed from Slurm's word alone.
COMPLETED_GRACE = 10.0

FileReader = Callable[[list[Any]], None]


def _record(job: Any, **fields: Any) -> None:
    """Keep what Slurm said in the job's scheduler record, and tell the views when it changed."""
    if scheduler_record.update(job, system="Slurm", **fields):
        status_events.publish_record(job.getFQID("."))


def describe_pending(reason: str) -> str:
    if reason in NEVER_RUNS:
        return f"it cannot start as requested: {NEVER_RUNS[reason]} (Slurm reason {reason}). {FIX}."
    return f"waiting in the queue ({reason or 'queued'})"


class SlurmMonitor:
    """Decides status from Slurm for jobs Ganga's file reading left active, and gathers accounting figures."""

    def __init__(self, read_status_files: FileReader):
        self.read_status_files = read_status_files
        self._terminal_since: dict[str, float] = {}
        self._unavailable_logged = False
        self._accounting_due: dict[str, tuple[Any, float]] = {}
        self._accounting_lock = threading.Lock()
        self._accounting_thread: threading.Thread | None = None

    def update(self, jobs: list[Any]) -> None:
        """Ganga's ``updateMonitoringInformation`` for Slurm (runs in Ganga's monitoring thread pool)."""
        jobs = [j for j in jobs if not held_by_submit(j)]  # Ganga's submit() still owns them (submit_race)
        before = {id(j): j.status for j in jobs}
        self.read_status_files(jobs)
        active = [j for j in jobs if j.status in AT_BACKEND and j.backend.id]
        if active:
            try:
                states = scheduler.states([str(j.backend.id) for j in active])
            except SchedulerUnavailable as err:
                if not self._unavailable_logged:
                    logger.warning("Slurm does not answer (%s); Ganga keeps reading the jobs' status files", err)
                    self._unavailable_logged = True
                states = None
            if states is not None:
                self._unavailable_logged = False
                for job in active:
                    state = states.get(str(job.backend.id))
                    if state is not None:
                        self.apply(job, state)
        for job in jobs:
            if before[id(job)] in AT_BACKEND and job.status not in AT_BACKEND:
                self.accounting_later(job)

    def apply(self, job: Any, state: SlurmState) -> None:
        if job.backend.status != state.state:
            job.backend.status = state.state
        if state.state == "PENDING":
            reason = describe_pending(state.reason)
            if job.status == "running":  # Slurm requeued it (its node failed): it will start again from scratch
                reason = f"Requeued by Slurm after it had started; it will run again, {reason}"
            _record(job, state=state.state, reason=reason)
        elif state.started:
            if job.status == "submitted":
                if state.nodes:
                    job.backend.actualCE = state.nodes
                _record(job, forget=("reason",), state=state.state, nodes=state.nodes)
                job.updateStatus("running")
        elif state.terminal:
            self._ended(job, state)

    def _ended(self, job: Any, state: SlurmState) -> None:
        self.read_status_files([job])  # the wrapper may have finished writing since the first read
        if job.status not in AT_BACKEND:
            return
        fqid = job.getFQID(".")
        if state.state == "COMPLETED":
            first_seen = self._terminal_since.setdefault(fqid, time.monotonic())
            if time.monotonic() - first_seen < COMPLETED_GRACE:
                return
        self._terminal_since.pop(fqid, None)
        why = ENDED_WITHOUT_WRAPPER.get(state.state, f"ended in Slurm state {state.state}")
        if state.reason and state.reason not in why:
            why += f" (Slurm reason {state.reason})"
        if state.exit_code is not None:
            job.backend.exitcode = state.exit_code
        _record(job, state=state.state, reason=why, nodes=state.nodes)
        if state.state == "COMPLETED":
            job.updateStatus("completed")
        else:
            job.updateStatus("failed")

    # ------------------------------------------------------------- accounting figures, after the job ended
    def accounting_later(self, job: Any) -> None:
        if not job.backend.id or not scheduler.accounting_enabled():
            return
        with self._accounting_lock:
            self._accounting_due[str(job.backend.id)] = (job, time.monotonic() + 30)
            if self._accounting_thread is None or not self._accounting_thread.is_alive():
                self._accounting_thread = threading.Thread(
                    target=self._gather_accounting, name="GangaJupyter_SlurmAccounting", daemon=True
                )
                self._accounting_thread.start()

    def _gather_accounting(self) -> None:
        while True:
            time.sleep(1.0)  # slurmctld hands the final record to slurmdbd a second or two after the job ends
            with self._accounting_lock:
                due = dict(self._accounting_due)
                if not due:
                    self._accounting_thread = None
                    return
            found = scheduler.accounting(sorted(due))
            now = time.monotonic()
            with self._accounting_lock:
                for job_id, (job, give_up) in due.items():
                    state = found.get(job_id)
                    complete = state is not None and state.terminal and state.elapsed
                    if complete or now > give_up:
                        self._accounting_due.pop(job_id, None)
                    if complete:
                        self._record_accounting(job, state)

    @staticmethod
    def _record_accounting(job: Any, state: SlurmState) -> None:
        try:
            _record(
                job,
                state=state.state,
                nodes=state.nodes,
                exit_code=f"{state.exit_code}" + (f" (signal {state.signal})" if state.signal else ""),
                wall_time=state.elapsed,
                cpu_time=state.cpu,
                max_memory=state.max_rss,
            )
        except Exception as err:  # the job was removed meanwhile
            logger.debug("GangaJupyter: no accounting record for Slurm job %s: %s", state.job_id, err)

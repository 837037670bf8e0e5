"""What Slurm itself says about jobs: one ``squeue`` call for every job asked about in a poll cycle, ``sacct``
for jobs that have left the queue, and the accounting figures of finished jobs."""
from __future__ import annotations

import shutil
import subprocess
import threading
import time
from dataclasses import dataclass

from GangaCore.Utility.logging import getLogger

from ..Core.errors import GangaJupyterError

logger = getLogger()

#: Slurm states after which the job will not run again (``squeue --states=all`` and ``sacct`` spellings).
TERMINAL = frozenset(
    {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL", "DEADLINE"}
)
STARTED = frozenset({"RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING"})

#: A snapshot younger than this answers every monitoring task of the same poll cycle (Ganga runs one task per
#: split job, concurrently).
SNAPSHOT_TTL = 0.4
COMMAND_TIMEOUT = 20

SQUEUE_FORMAT = "%i|%T|%r|%N|%M"
SACCT_FIELDS = "JobIDRaw,State,ExitCode,Reason,NodeList,Elapsed,TotalCPU,MaxRSS"


@dataclass(frozen=True)
class SlurmState:
    """One job as Slurm reports it."""

    job_id: str
    state: str  # RUNNING, PENDING, CANCELLED, ... (``CANCELLED by 0`` is reduced to ``CANCELLED``)
    reason: str = ""  # why it pends, or why it ended ("None" is dropped)
    nodes: str = ""
    exit_code: int | None = None
    signal: int | None = None
    elapsed: str = ""
    cpu: str = ""
    max_rss: str = ""

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def started(self) -> bool:
        return self.state in STARTED


class SchedulerUnavailable(GangaJupyterError, RuntimeError):
    """squeue could not answer (slurmctld down or restarting): the caller keeps what it knew and asks again."""


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False)


def _clean_reason(reason: str) -> str:
    return "" if reason in ("None", "(null)") else reason


def _exit(text: str) -> tuple[int | None, int | None]:
    code, _, signal = text.partition(":")
    try:
        return int(code), int(signal or 0)
    except ValueError:
        return None, None


def _rows(text: str, fields: int) -> list[list[str]]:
    """The ``|``-separated lines of squeue/sacct output that have ``fields`` fields, a job id and a state (others
    are noise)."""
    rows = (line.split("|") for line in text.splitlines())
    return [parts for parts in rows if len(parts) == fields and parts[0].strip() and parts[1].split()]


def parse_squeue(text: str) -> dict[str, SlurmState]:
    states = {}
    for job_id, state, reason, nodes, elapsed in _rows(text, 5):
        states[job_id] = SlurmState(job_id, state.split()[0], _clean_reason(reason), nodes, elapsed=elapsed)
    return states


def parse_sacct(text: str) -> dict[str, SlurmState]:
    """``sacct -X -P`` lines: one per job allocation; the batch step's MaxRSS comes from a second query."""
    states = {}
    for job_id, state, exit_code, reason, nodes, elapsed, cpu, max_rss in _rows(text, 8):
        code, signal = _exit(exit_code)
        nodes = "" if nodes == "None assigned" else nodes
        states[job_id] = SlurmState(
            job_id, state.split()[0], _clean_reason(reason), nodes, code, signal, elapsed, cpu, max_rss
        )
    return states


class Scheduler:
    """Cached, batched answers from ``squeue`` and ``sacct``; safe to call from Ganga's monitoring threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot: dict[str, SlurmState] = {}
        self._taken = 0.0
        self.squeue_calls = 0
        self._accounting: bool | None = None

    def states(self, job_ids: list[str]) -> dict[str, SlurmState]:
        """Slurm's view of these jobs; jobs Slurm knows nothing of are missing. Raises SchedulerUnavailable.

        One ``squeue --me`` answers for every job of this user, so the monitoring tasks of one poll cycle (Ganga
        runs one per split job) share a single call; ``sacct`` is asked only about jobs that left the queue."""
        wanted = {str(i) for i in job_ids if str(i)}
        with self._lock:
            if time.monotonic() - self._taken >= SNAPSHOT_TTL:
                self._snapshot = self._squeue()
                self._taken = time.monotonic()
            gone = sorted(wanted - set(self._snapshot))
            if gone:  # purged from slurmctld's memory (MinJobAge): accounting still has them
                self._snapshot.update(self.accounting(gone))
            return {i: self._snapshot[i] for i in wanted if i in self._snapshot}

    def _squeue(self) -> dict[str, SlurmState]:
        if shutil.which("squeue") is None:
            raise SchedulerUnavailable("squeue is not on the PATH of this Python process")
        self.squeue_calls += 1
        result = _run(["squeue", "--me", "-h", "--states=all", "-o", SQUEUE_FORMAT])
        if result.returncode != 0:
            raise SchedulerUnavailable(result.stderr.strip() or f"squeue exited with {result.returncode}")
        return parse_squeue(result.stdout)

    # ------------------------------------------------------------- accounting
    def accounting_enabled(self) -> bool:
        if self._accounting is None:
            if shutil.which("sacct") is None:
                self._accounting = False
            else:
                probe = _run(["sacct", "-n", "-X", "-j", "1", "-o", "JobIDRaw"])
                self._accounting = probe.returncode == 0
                if not self._accounting:
                    logger.debug("GangaJupyter: no Slurm accounting (%s)", probe.stderr.strip())
        return self._accounting

    def accounting(self, job_ids: list[str]) -> dict[str, SlurmState]:
        """Finished jobs from ``sacct`` (empty when accounting is off): state, exit code and statistics."""
        if not job_ids or not self.accounting_enabled():
            return {}
        ids = ",".join(job_ids)
        jobs = _run(["sacct", "-n", "-X", "-P", "-j", ids, "-o", SACCT_FIELDS])
        if jobs.returncode != 0:
            return {}
        states = parse_sacct(jobs.stdout)
        steps = _run(["sacct", "-n", "-P", "-j", ids, "-o", "JobIDRaw,JobID,MaxRSS"])
        peak: dict[str, str] = {}
        for step, _, max_rss in _rows(steps.stdout, 3):  # MaxRSS lives on the batch step (``123.batch``)
            if step.endswith(".batch") and max_rss:
                peak[step.split(".")[0]] = max_rss
        return {
            i: (SlurmState(**{**s.__dict__, "max_rss": peak.get(i, s.max_rss)}) if i in peak else s)
            for i, s in states.items()
        }


scheduler = Scheduler()

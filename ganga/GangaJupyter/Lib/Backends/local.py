"""Ganga's ``Local`` (and ``Interactive``) backend: its wrapper writes ``__jobstatus__``, and the payload runs on this machine as process
``backend.id``, whose CPU time and memory psutil can read. What it reads while a job runs is kept in the job's
scheduler record, so the figures are still known after the job has ended."""
from __future__ import annotations

import dataclasses
import os
import re
import signal
import time
from typing import Any, Callable

import psutil

from ..Core import scheduler_record
from ..Core.figures import megabytes
from ..Core.job_files import read_without_links
from ..Core.scheduler_record import SchedulerRecord
from ..Core.protocol import pid_alive
from .adapter import STATUS_FILE, BackendAdapter, kill_was_asked
from .registry import register


#: What Ganga's Local wrapper writes when it starts: its own pid, and the payload's.
PID_LINE = re.compile(r"^(?:PID|WRAPPER): (\d{1,9})\s*$", re.M)


def _tenths(seconds: float) -> str:
    """``m:ss.s`` (``h:mm:ss.s`` from an hour on): short jobs' CPU times differ in tenths of a second."""
    hours, rest = divmod(round(seconds, 1), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours)}:{int(minutes):02d}:{secs:04.1f}" if hours else f"{int(minutes)}:{secs:04.1f}"


class LocalAdapter(BackendAdapter):
    name = "Local"
    class_name = "Localhost"
    runs_here = True

    def watched_file(self, job: Any) -> str | None:
        return STATUS_FILE

    async def update(self, jobs: list[Any]) -> None:
        """Ganga's own status-file reading (a coroutine function in Ganga 8.7), which :meth:`sample` precedes
        (the ``local_figures`` patch)."""
        if jobs:
            await type(jobs[0].backend).updateMonitoringInformation(jobs)

    def scheduler_record(self, job: Any) -> SchedulerRecord:
        """Ganga's fields, and the CPU time and peak memory :meth:`sample` kept."""
        kept = scheduler_record.read(job)
        return dataclasses.replace(super().scheduler_record(job), cpu_time=kept.cpu_time, max_memory=kept.max_memory)

    def sample(self, jobs: list[Any]) -> None:
        """Keep each running job's CPU time and peak memory so far in its scheduler record (written only when
        one of them changes: CPU time to a tenth of a second, memory to the MB)."""
        for job in jobs:
            if job.status != "running":
                continue
            figures = self.live_figures(job)
            if not figures:
                continue
            peak = max(figures["rss_bytes"] / 1024**2, megabytes(scheduler_record.read(job).max_memory) or 0.0)
            try:
                scheduler_record.update(job, cpu_time=_tenths(figures["cpu_seconds"]), max_memory=f"{peak:.0f} MB")
            except OSError:  # a full disk must not stop Ganga's poll; the next poll tries again
                continue

    def live_figures(self, job: Any) -> dict[str, float]:
        """CPU time (user + system) and resident memory of the job's process and all its children."""
        pid = getattr(job.backend, "id", None)
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
            return {}
        try:
            proc = psutil.Process(pid)
            procs = [proc] + proc.children(recursive=True)
        except psutil.Error:  # the process has ended, or is not ours to read
            return {}
        cpu, rss = 0.0, 0
        for p in procs:
            try:
                times = p.cpu_times()
                cpu, rss = cpu + times.user + times.system, rss + p.memory_info().rss
            except psutil.Error:  # a child that ended meanwhile
                if p is proc:
                    return {}
        return {"cpu_seconds": cpu, "rss_bytes": float(rss)}


    def went_out(self, job: Any) -> bool:
        """Ganga's Local backend marks each job or subjob submitted as it writes its script, then starts one
        process for them all (its ``wrapper_pid``, on the master of a split job; a session that died right then
        may not have written it): a job went out once that process started, or its own wrapper wrote its status
        file, or a process runs one of the master's scripts."""
        master = job.master if job.master is not None else job
        if getattr(master.backend, "wrapper_pid", -1) not in (None, -1, [], [-1]):
            return True
        try:
            if os.path.exists(os.path.join(job.getOutputWorkspace(create=False).getPath(), STATUS_FILE)):
                return True
            scripts = master.getInputWorkspace(create=False).getPath()
        except Exception:  # no workspace: it never got that far
            return False
        return _runs_a_script_in(scripts)

    def ending(self, job: Any) -> bool:
        """The payload's process (``PID`` in the status file) is gone, and the wrapper, which looks every 0.3 s
        and then makes the output sandbox, has not written ``EXITCODE`` yet."""
        try:
            text = _read_status(job.getOutputWorkspace(create=False).getPath())
        except Exception:  # no workspace: it never started
            return False
        payload = re.search(r"^PID: (\d{1,9})\s*$", text, re.M)
        return payload is not None and "EXITCODE:" not in text and not pid_alive(int(payload.group(1)))

    def pause(self, job: Any, parts: list[Any]) -> Callable[[], None]:
        """SIGSTOP the process groups of Local's wrappers: a split job's batch runner (which would start more
        subjobs) and each part's wrapper with its payload (each in a session of its own, as Ganga starts them). A
        payload that has just ended is then a zombie its stopped wrapper has not reaped, which :meth:`ending`
        sees. Only groups whose leader runs a script of this job are touched (a pid may have been reused)."""
        stopped = _signal_groups(job, parts, signal.SIGSTOP)
        return lambda: _signal_groups(job, parts, signal.SIGCONT, stopped)

    def resume(self, job: Any, parts: list[Any], parts_only: bool = False) -> None:
        """SIGCONT the process groups :meth:`pause` would stop (harmless when they run); ``parts_only``: not the
        batch runner of a split job (it would start the next subjob)."""
        _signal_groups(job, parts, signal.SIGCONT, with_job=not parts_only)

    def lost_status(self, job: Any) -> str | None:
        """Every process of the job is gone (the payload and the wrapper its status file names, and the wrapper
        that runs a split job's subjobs) and its status file has no ``EXITCODE``: killed (when its session was
        killing it) or failed."""
        folder = job.getOutputWorkspace(create=False).getPath()
        text = _read_status(folder)
        if "EXITCODE:" in text:
            return None  # Ganga's poll reads it
        master = job.master if job.master is not None else job
        wrapper = getattr(master.backend, "wrapper_pid", -1)
        pids = [int(pid) for pid in PID_LINE.findall(text)]
        pids += [p for p in (wrapper if isinstance(wrapper, list) else [wrapper]) if isinstance(p, int) and p > 0]
        if not pids or any(pid_alive(pid) for pid in pids):
            return None
        if "EXITCODE:" in _read_status(folder):
            return None  # the wrapper wrote it on its way out
        return "killed" if kill_was_asked(job) else "failed"


def _signal_groups(
    job: Any, parts: list[Any], signum: int, groups: list[int] | None = None, with_job: bool = True
) -> list[int]:
    """Send ``signum`` to the process groups of Local's wrappers of ``job`` (unless not ``with_job``) and
    ``parts`` (or to ``groups``, found before), only those whose leader runs a script of this job (a pid may have
    been reused); returns those signalled."""
    if groups is None:
        pids = _wrapper_pids(job, parts)
        if not with_job and not any(part is job for part in parts):  # a job that is its own part has no runner
            runner = _wrapper_pids(job, [])
            pids = [p for p in pids if p not in runner]
        groups = [g for g in dict.fromkeys(pids) if _runs_job_script(g, job)]
    signalled = []
    for group in groups:
        try:
            os.killpg(group, signum)
            signalled.append(group)
        except OSError:  # ended (or killed) meanwhile
            continue
    return signalled


def _wrapper_pids(job: Any, parts: list[Any]) -> list[int]:
    """The pids of Local's wrappers for ``job`` and ``parts``: Ganga's ``wrapper_pid`` fields, and the WRAPPER
    lines of the parts' status files (a subjob Ganga has not polled since it started has only that)."""
    pids = []
    for one in [job] + parts:
        wrapper = getattr(one.backend, "wrapper_pid", -1)
        pids += [p for p in (wrapper if isinstance(wrapper, list) else [wrapper]) if isinstance(p, int) and p > 0]
    for part in parts:
        try:
            text = _read_status(part.getOutputWorkspace(create=False).getPath())
        except Exception:  # no workspace: it never started
            continue
        found = re.search(r"^WRAPPER: (\d{1,9})\s*$", text, re.M)
        if found:
            pids.append(int(found.group(1)))
    return pids


def _runs_job_script(pid: int, job: Any) -> bool:
    """Whether ``pid`` leads its own process group (as Ganga starts Local's wrappers), not this process's, and runs
    a script of ``job``'s workspace (``<job>/input/...`` or ``<job>/<subjob>/input/...``)."""
    try:
        if os.getpgid(pid) != pid or pid == os.getpgrp():
            return False
        root = os.path.join(os.path.dirname(os.path.normpath(job.getInputWorkspace(create=False).getPath())), "")
        return any(arg.startswith(root) for arg in psutil.Process(pid).cmdline())
    except (OSError, psutil.Error):
        return False
    except Exception:  # no workspace
        return False


_scripts_seen: tuple[float, set[str]] = (0.0, set())


def _runs_a_script_in(folder: str) -> bool:
    """Whether a process of this user runs a script of ``folder`` (Local's wrapper: ``python <script> subprocess``);
    the processes are listed once a second at most (a split job asks for each of its subjobs)."""
    global _scripts_seen
    at, arguments = _scripts_seen
    if time.monotonic() - at > 1.0:
        arguments = _process_arguments()
        _scripts_seen = (time.monotonic(), arguments)
    folder = os.path.join(folder, "")
    return any(arg.startswith(folder) for arg in arguments)


def _process_arguments() -> set[str]:
    found: set[str] = set()
    for proc in psutil.process_iter(["cmdline", "uids"]):
        try:
            if proc.info["uids"] and proc.info["uids"].real != os.getuid():
                continue
            found.update(proc.info["cmdline"] or ())
        except (psutil.Error, TypeError):
            continue
    return found


def _read_status(folder: str) -> str:
    """The job's status file (a few lines), read as the other hardened readers of job files read."""
    data = read_without_links(folder, STATUS_FILE, 64 * 1024)
    return data.decode(errors="replace") if data else ""


class InteractiveAdapter(BackendAdapter):
    """Ganga's ``Interactive`` backend runs the job in the foreground, on this machine."""

    name = "Interactive"
    runs_here = True


local_adapter = register(LocalAdapter())
register(InteractiveAdapter())

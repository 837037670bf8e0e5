"""Narrow changes to Ganga 8.7.12's ``Slurm`` backend (``GangaCore/Lib/Batch/Batch.py``), made on the ``Slurm``
class only (LSF, PBS and SGE share the code and are left as they are):

* **Status from Slurm** (``updateMonitoringInformation``): Ganga's status-file reading, then Slurm's own word
  for the jobs still active (:mod:`.monitoring`).
* **No 30 s floor** (``preparejob``): the job wrapper polls its payload with ``time.sleep(heartbeat_frequency)``
  (30 s), so every job lasts at least 30 s and ends up to 30 s after its payload. The generated script waits on
  the payload with the same timeout instead, so it ends when the payload does and still writes its heartbeat.
  Switches off by itself when Ganga's template no longer has that sleep.
* **Why sbatch refused a job** (``submit``): Ganga logs sbatch's message and raises a bare "error during
  submit"; the error raised here carries sbatch's message and the fix.
* **Resubmit** forgets what Slurm said about the previous attempt.
* **A safe job name for sbatch** (``_getLegalJobName``): Ganga puts the name into a shell command as
  ``-J '<name>'``, so a name with ``'`` breaks the quoting (or runs what follows it). sbatch gets the name with
  the characters outside ``[A-Za-z0-9._-]`` replaced; the job keeps its name in Ganga.
"""
from __future__ import annotations

import functools
import re
import threading
from typing import Any

from GangaCore.Core.exceptions import BackendError
from GangaCore.Lib.Batch.Batch import Batch, Slurm
from GangaCore.Utility.logging import getLogger

from . import scheduler_record
from .monitoring import SlurmMonitor

logger = getLogger()

SLEEP_IN_PAYLOAD_LOOP = re.compile(r"^(?P<indent>[ \t]+)time\.sleep\((?P<timeout>[^()\n]+)\)$", re.M)
WAIT_ON_PAYLOAD = (
    "{indent}try:\n"
    "{indent}    child.wait(timeout={timeout})  # GangaJupyter: end when the payload ends, not at the next heartbeat\n"
    "{indent}except subprocess.TimeoutExpired:\n"
    "{indent}    pass"
)

_original_update = Batch.__dict__["updateMonitoringInformation"].__func__
_original_preparejob = Batch.preparejob
_original_submit = Batch.submit
_original_resubmit = Batch.resubmit
_original_command = Batch.__dict__["command"].__func__
_original_legal_name = Batch._getLegalJobName

UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]")
MAX_NAME = 128  # a multi-megabyte name would otherwise go on sbatch's command line

_last_refusal = threading.local()
monitor = SlurmMonitor(_original_update)


def wait_on_payload(script: str) -> str | None:
    """The wrapper script with its heartbeat sleep turned into a wait on the payload; None if it has no such
    sleep (a Ganga whose template changed: nothing to fix)."""
    loop_start = script.find("child = subprocess.Popen(")
    match = SLEEP_IN_PAYLOAD_LOOP.search(script, loop_start) if loop_start >= 0 else None
    if match is None or "child.poll()" not in script[loop_start : match.start()]:
        return None
    return script[: match.start()] + WAIT_ON_PAYLOAD.format(**match.groupdict()) + script[match.end() :]


def _preparejob(self: Any, jobconfig: Any, master_input_sandbox: Any) -> str:
    path = _original_preparejob(self, jobconfig, master_input_sandbox)
    with open(path) as handle:
        patched = wait_on_payload(handle.read())
    if patched is None:
        logger.debug("GangaJupyter: Ganga's Slurm wrapper has no heartbeat sleep to replace")
    else:
        with open(path, "w") as handle:
            handle.write(patched)
    return path


def slurm_job_name(name: str) -> str:
    """``name`` as sbatch may get it inside single quotes in a shell command: only ``[A-Za-z0-9._-]``."""
    return UNSAFE_IN_NAME.sub("_", name)[:MAX_NAME]


def _legal_name(self: Any, job: Any) -> str:
    return slurm_job_name(_original_legal_name(self, job))  # after Ganga's own jobnamesubstitution


def _command(klass: Any, cmd: str, soutfile: Any = None, allowed_exit: Any = None) -> tuple[int, str]:
    rc, outfile = _original_command(klass, cmd, soutfile, allowed_exit)
    _last_refusal.text = ""
    if rc != 0 and "sbatch" in cmd:  # Ganga's submit command is "cd <inputdir>; sbatch ..."
        try:
            with open(outfile) as handle:
                _last_refusal.text = handle.read().strip()
        except OSError:
            pass
    return rc, outfile


def _refused(job_id: str) -> BackendError:
    message = getattr(_last_refusal, "text", "")
    if not message:  # Ganga stopped before sbatch: it logged which option it forbids
        return BackendError(
            "Slurm",
            f"job {job_id} was not submitted: backend.extraopts may not set -o or -e, nor -p when backend.queue "
            "is set (see the warning above). Remove that option and submit again",
        )
    lines = [line.replace("sbatch: error: ", "") for line in message.splitlines() if line.strip()]
    return BackendError(
        "Slurm",
        f"sbatch refused job {job_id}: {'; '.join(lines)}. Change backend.queue or backend.extraopts "
        "(for example --mem, --time, --nodes) to a request the cluster can meet, and submit again",
    )


def _submit(self: Any, jobconfig: Any, master_input_sandbox: Any) -> bool:
    _last_refusal.text = ""
    if _original_submit(self, jobconfig, master_input_sandbox):
        return True
    raise _refused(self.getJobObject().getFQID("."))


def _resubmit(self: Any) -> bool:
    _last_refusal.text = ""
    scheduler_record.clear(self.getJobObject())
    if _original_resubmit(self):
        return True
    raise _refused(self.getJobObject().getFQID("."))


def _update(jobs: list[Any]) -> None:
    monitor.update(jobs)


def install() -> None:
    """Patch ``Slurm`` (idempotent). Each patch is the original call plus the narrow addition above."""
    Slurm.updateMonitoringInformation = staticmethod(functools.wraps(_original_update)(_update))
    Slurm.preparejob = functools.wraps(_original_preparejob)(_preparejob)
    Slurm.submit = functools.wraps(_original_submit)(_submit)
    Slurm.resubmit = functools.wraps(_original_resubmit)(_resubmit)
    Slurm.command = classmethod(functools.wraps(_original_command)(_command))
    Slurm._getLegalJobName = functools.wraps(_original_legal_name)(_legal_name)


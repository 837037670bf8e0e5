"""A job sbatch refused raises sbatch's own message and the fix, not a bare "error during submit"."""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable

from GangaCore.Core.exceptions import BackendError
from GangaCore.Lib.Batch.Batch import Slurm

from .patch import Wrap, WrapperPatch, ganga_source
from .slurm_status import RESUBMIT_REFUSAL_MESSAGE

_last_refusal = threading.local()


def _keep_refusal(command: Callable[..., tuple[int, str]]) -> Callable[..., tuple[int, str]]:
    @functools.wraps(command)
    def command_keeping_refusal(klass: Any, cmd: str, soutfile: Any = None, allowed_exit: Any = None):
        rc, outfile = command(klass, cmd, soutfile, allowed_exit)
        _last_refusal.text = ""
        if rc != 0 and "sbatch" in cmd:  # Ganga's submit command is "cd <inputdir>; sbatch ..."
            try:
                with open(outfile) as handle:
                    _last_refusal.text = handle.read().strip()
            except OSError:
                pass
        return rc, outfile

    return command_keeping_refusal


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


def _raise_refusal(submit: Callable[..., bool]) -> Callable[..., bool]:
    @functools.wraps(submit)
    def submit_or_say_why(self: Any, *args: Any) -> bool:
        _last_refusal.text = ""
        if submit(self, *args):
            return True
        raise _refused(self.getJobObject().getFQID("."))

    return submit_or_say_why


class RefusalMessages(WrapperPatch):
    def still_needed(self) -> bool:
        return "return rc == 0" in ganga_source(Slurm, "submit")  # a refusal is a bare False, sbatch's words logged


PATCH = RefusalMessages(
    name="slurm_refusal_messages",
    changes=(
        "GangaCore.Lib.Batch.Batch.Slurm.submit, GangaCore.Lib.Batch.Batch.Slurm.resubmit, "
        "GangaCore.Lib.Batch.Batch.Slurm.command"
    ),
    why=(
        "When sbatch refuses a job (a partition that cannot meet the request, a time or memory limit), Ganga "
        "8.7.12 logs sbatch's message and ``Batch.submit`` returns ``False``, which becomes a bare \"error during "
        "submit\". The output of the refused sbatch command is kept, and submit and resubmit raise a "
        "``BackendError`` with sbatch's message and what to change (``backend.queue``, ``backend.extraopts``)."
    ),
    wraps=(
        Wrap(Slurm, "command", _keep_refusal),
        Wrap(Slurm, "submit", _raise_refusal),
        Wrap(Slurm, "resubmit", _raise_refusal, depth=RESUBMIT_REFUSAL_MESSAGE),
    ),
)

"""Nothing updates a job while Ganga's ``submit()`` may still mark it ``submitted`` a second time."""
from __future__ import annotations

import functools
import re
from typing import Any, Callable

from GangaCore.GPIDev.Lib.Job.Job import Job

from ..Monitor import submits
from .after_submit import SUBMIT_RACE
from .patch import Wrap, WrapperPatch, ganga_source

SECOND_SUBMITTED_UPDATE = re.compile(r'if self\.master is None:\s*\n\s*self\.updateStatus\("submitted"\)')


def _hold(submit: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(submit)
    def holding_submit(self, *args, **kwargs):
        with submits.holding(self):
            return submit(self, *args, **kwargs)

    return holding_submit


class SubmitRace(WrapperPatch):
    def still_needed(self) -> bool:
        return bool(SECOND_SUBMITTED_UPDATE.search(ganga_source(Job, "submit")))


PATCH = SubmitRace(
    name="submit_race",
    changes="GangaCore.GPIDev.Lib.Job.Job.Job.submit",
    why=(
        "After the backend has submitted a job and marked it ``submitted``, Ganga 8.7.12's ``Job.submit`` marks it "
        "``submitted`` once more (``if self.master is None: self.updateStatus(\"submitted\")``), which the state "
        "graph allows from any final state (as for ``resubmit``). A fast job that fast detection or the Slurm poll "
        "has already seen end (a Slurm echo job ends within half a second) would go ``completed -> submitted`` and "
        "be completed twice. While ``Job.submit`` has that second update, it is wrapped to hold the job: fast "
        "detection and the Slurm poll leave a held job alone, and read it when ``submit()`` returns."
    ),
    wraps=(Wrap(Job, "submit", _hold, depth=SUBMIT_RACE),),
)

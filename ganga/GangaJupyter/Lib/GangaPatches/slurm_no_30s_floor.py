"""A Slurm job ends when its payload does, not at the wrapper's next 30 s heartbeat."""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Callable

import GangaCore.Lib.Batch as batch
from GangaCore.Lib.Batch.Batch import Slurm
from GangaCore.Utility.logging import getLogger

from .patch import Wrap, WrapperPatch

logger = getLogger()

TEMPLATE = Path(batch.__file__).parent / "BatchScriptTemplate.py.template"
SLEEP_IN_PAYLOAD_LOOP = re.compile(r"^(?P<indent>[ \t]+)time\.sleep\((?P<timeout>[^()\n]+)\)$", re.M)
WAIT_ON_PAYLOAD = (
    "{indent}try:\n"
    "{indent}    child.wait(timeout={timeout})  # GangaJupyter: end when the payload ends, not at the next heartbeat\n"
    "{indent}except subprocess.TimeoutExpired:\n"
    "{indent}    pass"
)


def wait_on_payload(script: str) -> str | None:
    """The wrapper script with its heartbeat sleep turned into a wait on the payload; None if it has no such
    sleep (a Ganga whose template changed: nothing to fix)."""
    loop_start = script.find("child = subprocess.Popen(")
    match = SLEEP_IN_PAYLOAD_LOOP.search(script, loop_start) if loop_start >= 0 else None
    if match is None or "child.poll()" not in script[loop_start : match.start()]:
        return None
    return script[: match.start()] + WAIT_ON_PAYLOAD.format(**match.groupdict()) + script[match.end() :]


def _wait_instead_of_sleeping(preparejob: Callable[..., str]) -> Callable[..., str]:
    @functools.wraps(preparejob)
    def preparejob_waiting(self: Any, jobconfig: Any, master_input_sandbox: Any) -> str:
        path = preparejob(self, jobconfig, master_input_sandbox)
        with open(path) as handle:
            patched = wait_on_payload(handle.read())
        if patched is None:
            logger.debug("GangaJupyter: Ganga's Slurm wrapper has no heartbeat sleep to replace")
        else:
            with open(path, "w") as handle:
                handle.write(patched)
        return path

    return preparejob_waiting


class NoWaitFloor(WrapperPatch):
    def still_needed(self) -> bool:
        try:
            return wait_on_payload(TEMPLATE.read_text()) is not None
        except OSError:  # the template moved: a Ganga this check does not know, so nothing to fix
            return False


PATCH = NoWaitFloor(
    name="slurm_no_30s_floor",
    changes="GangaCore.Lib.Batch.Batch.Slurm.preparejob",
    why=(
        "Ganga 8.7.12's batch job wrapper (``BatchScriptTemplate.py.template``) polls its payload with "
        "``time.sleep(heartbeat_frequency)`` (30 s), so every Slurm job lasts at least 30 s and ends up to 30 s "
        "after its payload. The generated script waits on the payload with the same timeout instead, so it ends "
        "when the payload does and still writes its heartbeat."
    ),
    wraps=(Wrap(Slurm, "preparejob", _wait_instead_of_sleeping),),
)

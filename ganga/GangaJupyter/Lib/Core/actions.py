"""The actions GangaJupyter offers on a job, and the one shape of their outcome. No Ganga import: the Jupyter
server routes and answers actions without running Ganga; ``Session.actions`` carries them out in a Ganga session.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

#: What the Jobs browser and the live views can ask a Ganga session to do with a job.
ACTIONS = ("kill", "resubmit", "remove")
#: The statuses a resubmit starts again (of the job, or of its subjobs).
RESUBMITTABLE = ("failed", "killed")
#: How an outcome is shown: done, nothing to do, not done.
LEVELS = ("success", "info", "error")


@dataclass(frozen=True)
class ActionResult:
    """The outcome of an action: ``ok`` unless it failed or was refused (then ``level`` is ``"error"``), and a
    message that says what happened or what to do. A refusal is a result, never an exception."""

    ok: bool
    message: str
    level: str

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"level {self.level!r} is none of {', '.join(LEVELS)}")
        if self.ok != (self.level != "error"):
            raise ValueError(f"an action result of level {self.level} cannot have ok={self.ok}")

    @classmethod
    def success(cls, message: str) -> ActionResult:
        return cls(True, message, "success")

    @classmethod
    def info(cls, message: str) -> ActionResult:
        """Nothing to do (e.g. killing a job that has ended): not a failure."""
        return cls(True, message, "info")

    @classmethod
    def error(cls, message: str) -> ActionResult:
        return cls(False, message, "error")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> ActionResult:
        """The result ``data`` describes; ValueError naming what is wrong when it is none."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        ok, message, level = data.get("ok"), data.get("message"), data.get("level")
        if not isinstance(ok, bool) or not isinstance(message, str) or not isinstance(level, str):
            raise ValueError("ok is not true or false, or message or level is not text")
        return cls(ok, message, level)

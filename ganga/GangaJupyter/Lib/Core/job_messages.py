"""Ganga's messages kept for the notebook: one bounded log per job, and one for the whole kernel.

Ganga-neutral: messages are plain text filed under a job's fqid (``"3"``, ``"3.7"``); the kernel side
(:mod:`.Kernel.ganga_log`) decides which job a message concerns, the job views read what was filed.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

MAX_PER_JOB = 200
MAX_PER_KERNEL = 2000


@dataclass(frozen=True)
class Message:
    time: float
    level: str  # Python logging's level name: INFO, WARNING, ERROR, ...
    text: str
    fqid: str = ""  # the job it concerns, "" for none
    source: str = ""  # the logger that sent it

    @property
    def clock(self) -> str:
        return time.strftime("%H:%M:%S", time.localtime(self.time))


class MessageLog:
    """Thread-safe: Ganga logs from its monitoring threads as well as from the kernel's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kernel: deque[Message] = deque(maxlen=MAX_PER_KERNEL)
        self._jobs: dict[str, deque[Message]] = {}

    def add(self, level: str, text: str, fqid: str = "", source: str = "") -> Message:
        message = Message(time.time(), level, text, fqid, source)
        with self._lock:
            self._kernel.append(message)
            if fqid:
                master = fqid.split(".", 1)[0]
                self._jobs.setdefault(master, deque(maxlen=MAX_PER_JOB)).append(message)
        return message

    def for_job(self, fqid: str) -> list[Message]:
        """The messages of a job and its subjobs (of a subjob: its own), oldest first."""
        with self._lock:
            messages = list(self._jobs.get(fqid.split(".", 1)[0], ()))
        if "." in fqid:
            messages = [m for m in messages if m.fqid == fqid or m.fqid.startswith(fqid + ".")]
        return messages

    def recent(self, limit: int = MAX_PER_KERNEL) -> list[Message]:
        with self._lock:
            return list(self._kernel)[-limit:]


#: The messages of this process.
job_messages = MessageLog()

"""What the user of a driven kernel (:class:`.kernel.KernelSession`) reads: its cell outputs as text, the lines
that show a problem, and the value of an expression as a cell printing it shows it."""
from __future__ import annotations

import ast
import uuid
from typing import Any, Callable, Iterable

from .kernel import KernelSession
from .waiting import wait_until


def text_of(msg: dict[str, Any]) -> str:
    """One output as the user reads it (an error as ``Traceback``: that is what the notebook shows)."""
    content = msg["content"]
    if msg["msg_type"] == "stream":
        return content["text"]
    if msg["msg_type"] == "error":
        return f"Traceback: {content['ename']}: {content['evalue']}"
    data = content.get("data", {})
    return data.get("text/plain") or data.get("text/html", "")


def shown(kernel: KernelSession, start: int = 0, end: int | None = None) -> str:
    return "\n".join(text_of(m) for m in kernel.outputs[start:end])


def problems(kernel: KernelSession, words: Iterable[str], start: int = 0, end: int | None = None) -> list[str]:
    """The lines of the outputs ``[start:end]`` that show one of ``words``."""
    words = tuple(words)
    return [line for line in shown(kernel, start, end).splitlines() if any(w in line for w in words)]


class CellError(RuntimeError):
    """A cell the test ran failed in the kernel (what the user would see is in the message)."""


def value(kernel: KernelSession, expression: str) -> Any:
    """The value of a Python literal expression in the kernel, as a cell printing it shows it."""
    mark = uuid.uuid4().hex[:12]
    start = len(kernel.outputs)
    reply = kernel.run(f"print({mark!r}, repr({expression}))")
    if reply["status"] != "ok":
        raise CellError(f"{expression}: {reply.get('ename')}: {reply.get('evalue')}")
    printed = "".join(m["content"]["text"] for m in kernel.outputs[start:] if m["msg_type"] == "stream")
    line = next((x for x in printed.splitlines() if x.startswith(mark + " ")), None)
    if line is None:
        raise CellError(f"{expression}: nothing printed ({shown(kernel, start)[-500:]})")
    return ast.literal_eval(line[len(mark) + 1 :])


def settles(kernel: KernelSession, expression: str, accept: Callable[[Any], bool], timeout: float) -> tuple[bool, Any]:
    """Whether ``expression`` in the kernel became acceptable within ``timeout``, and its last value (or error)."""
    last: Any = None

    def good() -> bool:
        nonlocal last
        try:
            last = value(kernel, expression)
        except CellError as err:
            last = err
            return False
        return accept(last)

    return wait_until(good, timeout, interval=0.3), last


def load(kernel: KernelSession, timeout: float = 180) -> None:
    """``%load_ext GangaJupyter``, which must succeed (Ganga's bootstrap: minutes on a busy two-core machine)."""
    reply = kernel.run("%load_ext GangaJupyter", timeout=timeout)
    assert reply["status"] == "ok", shown(kernel)[-2000:]

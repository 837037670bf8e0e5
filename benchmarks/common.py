"""Shared pieces of the benchmarks: throw-away Ganga homes, worker processes, a front end's timing of a cell,
statistics, tables."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

def ganga_env(home: Path) -> dict[str, str]:
    """A throw-away Ganga home with GangaJupyter in RUNTIME_PATH."""
    from GangaJupyter.testlib.notebooks import ganga_home

    return ganga_home(home, runtime_path=True)


def run_worker(script: Path, env: dict[str, str], *args: str, timeout: int = 1800) -> dict[str, Any]:
    """Run ``script`` in a fresh Python process; it prints one JSON line prefixed ``RESULT``."""
    done = subprocess.run(
        [sys.executable, str(script), *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"{script.name} {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def report(result: dict[str, Any]) -> None:
    print("RESULT " + json.dumps(result), flush=True)


def median_ms(samples: Sequence[float]) -> float:
    return 1000 * statistics.median(samples)


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]], notes: Sequence[str] = ()) -> str:
    cells = [list(map(str, header))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.rjust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    out = [title, line(cells[0]), rule, *(line(r) for r in cells[1:])]
    return "\n".join(out + [f"  {n}" for n in notes])


def timed_cell(session: Any, code: str, timeout: float = 1800) -> dict[str, Any]:
    """Execute ``code`` in a kernel (a ``testlib.kernel.KernelSession``) as a front end does: seconds until its
    first display message arrives (with that message's mime types and size) and until the kernel is idle again."""
    started = time.perf_counter()
    msg_id = session.client.execute(code)
    shown: dict[str, Any] = {}
    while True:
        msg = session.client.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind in ("display_data", "execute_result") and not shown:
            data = content["data"]
            shown = {"display": time.perf_counter() - started, "mimes": sorted(data), "bytes": len(json.dumps(data))}
        elif kind == "error":
            raise RuntimeError(f"{code}: {content['ename']}: {content['evalue']}")
        elif kind == "stream" and "Traceback" in content.get("text", ""):
            raise RuntimeError(f"{code}: {content['text'][-2000:]}")
        elif kind == "status" and content["execution_state"] == "idle":
            return {**shown, "idle": time.perf_counter() - started}

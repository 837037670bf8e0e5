"""Shared pieces of the benchmarks: throw-away Ganga homes, worker processes, statistics, tables."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
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

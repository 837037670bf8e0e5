"""Run GangaJupyter's benchmarks and print one table per entry: ``python benchmarks/run.py [entry ...]``.

Each entry measures GangaJupyter against Ganga's own behaviour in the same run and prints the ratio.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

ENTRIES = {
    "display": "bench_display",  # issue 2: HTML of `jobs` vs Ganga's text table
    "monitoring": "bench_monitoring",  # issue 3: status latency vs Ganga's poll; a 10,000-subjob job under watch
    "notebookapp": "bench_notebookapp",  # issue 4: NotebookApp overhead over running cells in place; a sweep
    "browser": "bench_jobs_browser",  # issue 7: Jobs browser first page from the Jupyter server vs Ganga's `jobs`
    "slurm": "bench_slurm",  # issue 6: status latency from a real Slurm cluster to the notebook vs Ganga's defaults
    "htcondor": "bench_htcondor",  # issue 5: 1,000-subjob submit and status latency on a real pool vs Ganga's Condor
    "pictures": "bench_pictures",  # issue 16: a split job's pictures, 10,000 runs; its card vs Ganga's `j.subjobs` text
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("entries", nargs="*", metavar="entry", help=f"one of {sorted(ENTRIES)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    unknown = sorted(set(args.entries) - set(ENTRIES))
    if unknown:
        parser.error(f"unknown entries {unknown}; choose from {sorted(ENTRIES)}")
    for name in args.entries or ENTRIES:
        started = time.time()
        module = importlib.import_module(ENTRIES[name])
        print(module.run(quick=args.quick))
        print(f"({name}: {time.time() - started:.0f} s)\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run GangaJupyter's benchmarks and print one table per entry: ``python benchmarks/run.py [entry ...]``.

Each entry measures GangaJupyter against Ganga's own behaviour in the same run and prints the ratio. An entry's
``run`` returns its table, or (table, goals missed): the exit status is 1 when any goal was missed. An entry with
``add_arguments(parser)`` has options of its own, passed to ``run`` as ``options``.
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
    "scale": "bench_scale",  # issue 15: start-up and displays on 10,000 and 100,000 jobs, execute to front end
    "reliability": "bench_reliability",  # issue 13: K kernels on one gangadir, SIGKILLed at random points; lost/wrong jobs
    "sweep": "bench_sweep",  # issue 15: a 1,000-point NotebookSweep on the HTCondor pool vs papermill in a loop
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], add_help=False)  # -h once all options are in
    parser.add_argument("entries", nargs="*", metavar="entry", help=f"one of {sorted(ENTRIES)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    chosen = [e for e in parser.parse_known_args()[0].entries if e in ENTRIES] or list(ENTRIES)
    modules = {name: importlib.import_module(ENTRIES[name]) for name in chosen}
    for name, module in modules.items():  # before the full parse, so --help and errors know the entries' options
        if hasattr(module, "add_arguments"):
            module.add_arguments(parser.add_argument_group(f"{name} options"))
    parser.add_argument("-h", "--help", action="help", help="show this help message and exit")
    args = parser.parse_args()
    unknown = sorted(set(args.entries) - set(ENTRIES))
    if unknown:
        parser.error(f"unknown entries {unknown}; choose from {sorted(ENTRIES)}")
    missed: list[str] = []
    for name in args.entries or ENTRIES:
        started = time.time()
        module = modules[name]
        extra = {"options": args} if hasattr(module, "add_arguments") else {}
        result = module.run(quick=args.quick, **extra)
        text, goals = result if isinstance(result, tuple) else (result, [])
        print(text)
        print(f"({name}: {time.time() - started:.0f} s)\n", flush=True)
        missed += [f"{name}: {goal}" for goal in goals]
    if missed:
        print("goals missed: " + "; ".join(missed), flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m GangaJupyter.Lib.Session.helper``: the Jobs browser's own Ganga session, for when no kernel owns the
gangadir.

The Jupyter server starts it on demand (an action with no GangaJupyter session on the gangadir, or the page open
while jobs are active and nobody monitors them). It is an ordinary Ganga session in library mode with
GangaJupyter loaded and monitoring on; it serves requests like a kernel does, and ends when a kernel asks for the
gangadir (``%load_ext GangaJupyter`` calls :func:`..Core.protocol.release_helpers` before Ganga starts) or after
``idle`` seconds without requests while no job is active. Ganga's own shutdown flushes the jobs and frees its locks.
"""
from __future__ import annotations

import argparse
import sys
import time

from ..Core.protocol import HELPER_SAYS
from ..Core.statuses import ACTIVE
from .service import start_service


def _active_jobs() -> int:
    from GangaCore.Core.GangaRepository import getRegistry

    repository = getRegistry("jobs").repository
    active = 0
    for job_id, job in list(repository.objects.items()):
        loaded = job_id in repository._fully_loaded  # a loaded job's index cache may be stale, its data is not
        status = job._data.get("status") if loaded else (job._index_cache or {}).get("status")
        active += status in ACTIVE
    return active


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=float, default=300.0, help="seconds without requests before ending (no job active)")
    args = parser.parse_args(argv)

    from GangaCore.Utility.Config import getConfig

    configured = [p for p in getConfig("Configuration")["RUNTIME_PATH"].split(":") if p]
    if "GangaJupyter" not in configured:
        getConfig("Configuration").setSessionValue("RUNTIME_PATH", ":".join(configured + ["GangaJupyter"]))
    import ganga.ganga  # noqa: F401  (Ganga's bootstrap, in library mode)
    from GangaCore.Core.InternalServices.Coordinator import enableMonitoringService

    service = start_service("helper")  # first: what the monitor changes from its first scan on is journaled
    if service is None:
        return 1
    enableMonitoringService()  # it monitors the jobs no live session holds, beside any other session
    print(f"{HELPER_SAYS} session {service.sid} serving the Jobs browser", flush=True)
    while not service.released.wait(1.0):
        if time.monotonic() - service.last_request > args.idle and not _active_jobs():
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())

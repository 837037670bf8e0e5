"""Two threads reading one split job's subjobs from disk at the same moment finish (Ganga 8.7.12 could deadlock
them: patch ``subjob_load_lock_order``)."""
import threading
import time

from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.testlib.decorators import add_config

from GangaJupyter.Lib.GangaPatches import subjob_load_lock_order

RUNTIME = ("Configuration", "RUNTIME_PATH", "GangaJupyter")


@add_config([RUNTIME])
def test_a_thread_holding_the_job_and_one_loading_a_subjob_both_finish(gpi):
    assert subjob_load_lock_order.PATCH.installed()
    j = gpi.Job(application=gpi.Executable(exe="true"), splitter=gpi.ArgSplitter(args=[[], [], []]), backend=gpi.Local())
    j.submit()
    job = stripProxy(j)
    registry = job._getRegistry()
    registry._flush([job])
    registry.repository.load([job.id])  # read again from disk: the subjobs are now a list loaded lazily
    subjobs = job.subjobs
    assert type(subjobs).__name__ == "SubJobXMLList" and not subjobs._cachedJobs
    done: list[str] = []

    def load_one() -> None:  # as a view or the monitor does, holding nothing
        subjobs[1].status
        done.append("loader")

    def hold_job_and_load_another() -> None:  # as a method of the job under its lock does
        with job._lock:
            loader = threading.Thread(target=load_one, daemon=True)
            loader.start()
            time.sleep(0.5)  # Ganga's order: the loader takes the list's lock, then waits for the job's
            subjobs[2].status
            done.append("holder")
        loader.join(20)

    holder = threading.Thread(target=hold_job_and_load_another, daemon=True)
    holder.start()
    holder.join(30)
    assert sorted(done) == ["holder", "loader"], f"deadlocked: only {done} finished"

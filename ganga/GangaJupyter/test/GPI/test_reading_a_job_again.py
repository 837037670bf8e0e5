"""Reading another session's job again from disk (``Session.job_from_disk``) while a cell reads it: the cell never sees
the job's subjobs missing, and a copy that is what is on disk is not read again."""
import os
import threading
import time

from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.testlib.decorators import add_config
from GangaCore.testlib.monitoring import run_until_state

from GangaJupyter.Lib.Session import job_from_disk

RUNTIME = ("Configuration", "RUNTIME_PATH", "GangaJupyter")


def split_job_read_from_disk(gpi, parts: int):
    j = gpi.Job(application=gpi.Executable(exe="true"), splitter=gpi.ArgSplitter(args=[[]] * parts), backend=gpi.Local())
    j.submit()
    gpi.enableMonitoring()
    assert run_until_state(j, "completed", timeout=60, sleep_period=0.2), j.status  # the monitor is done with it
    job = stripProxy(j)
    registry = job._getRegistry()
    registry._flush([job])
    registry.repository.load([job.id])  # as another session's job is: loaded from disk, subjobs read lazily
    return j, job, registry.repository


@add_config([RUNTIME])
def test_a_copy_that_is_on_disk_is_not_read_again_and_a_newer_subjob_is(gpi):
    j, job, repository = split_job_read_from_disk(gpi, 3)
    assert [s.id for s in j.subjobs] == [0, 1, 2]
    job_from_disk.read_again(repository, job.id)  # read by Ganga's load: read once here, to know which file it is
    subjobs = job.subjobs
    job_from_disk.read_again(repository, job.id)
    assert job.subjobs is subjobs, "read again though nothing on disk changed"
    subjob_data = os.path.join(os.path.dirname(repository.get_fn(job.id)), "1", repository.dataFileName)
    time.sleep(0.01)
    os.utime(subjob_data)  # a newer subjob file: a write of another session, cut short before the job's own
    job_from_disk.read_again(repository, job.id)
    assert job.subjobs is not subjobs
    assert stripProxy(j.subjobs).objects is job.subjobs, "j.subjobs still shows the subjobs read before"
    assert [s.id for s in j.subjobs] == [0, 1, 2]
    registry = job._getRegistry()
    job.comment = "written again"
    registry._flush([job])  # a new file in place of the one read (Ganga renames it in): read again
    job.comment = "only in memory"
    job_from_disk.read_again(repository, job.id)
    assert job.comment == "written again"
    data = repository.get_fn(job.id)
    os.rename(data, data + ".aside")  # between Ganga's two renames of a write, the data file is missing
    threading.Timer(0.03, os.rename, (data + ".aside", data)).start()
    job_from_disk._read_as.clear()
    job_from_disk.read_again(repository, job.id)  # waited for, not taken for a removal (KeyError)
    assert job.comment == "written again"


@add_config([RUNTIME])
def test_a_cell_iterating_the_subjobs_while_the_job_is_read_again_never_finds_them_missing(gpi):
    j, job, repository = split_job_read_from_disk(gpi, 20)
    seen: list[object] = []
    stop = threading.Event()

    def cell() -> None:  # what a cell does on the main thread
        while not stop.is_set():
            try:
                seen.append(len([s.status for s in j.subjobs]))
                if j.status != "completed":
                    seen.append(f"the job's status read as {j.status!r}")
            except Exception as err:  # the failure this guards against: TypeError, 'NoneType' object ...
                seen.append(err)

    reader = threading.Thread(target=cell, daemon=True)
    reader.start()
    try:
        for _ in range(60):
            job_from_disk._read_as.clear()  # as if another session had written it
            job_from_disk.read_again(repository, job.id)
    finally:
        stop.set()
        reader.join(30)
    errors = [s for s in seen if not isinstance(s, int)]
    assert not errors, f"{len(errors)} of {len(seen)} reads failed, first: {errors[0]!r}"
    assert set(seen) == {20}, f"reads saw {sorted(set(seen))} subjobs"
    assert j.status == "completed" and [s.status for s in j.subjobs] == ["completed"] * 20

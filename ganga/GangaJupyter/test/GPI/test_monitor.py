"""The monitoring hook, the event stream and the fix for Ganga's multi-backend bug, in a real Ganga session."""
import os
import threading
import time

import pytest
from GangaCore.testlib.decorators import add_config
from GangaCore.testlib.monitoring import run_until_state

from GangaJupyter.Lib.GangaPatches import multi_backend_scan
from GangaJupyter.Lib.Monitor.events import StatusEvents, status_events
from GangaJupyter.Lib.Monitor.status_file_watch import status_file_watch

RUNTIME = ("Configuration", "RUNTIME_PATH", "GangaJupyter")
FAST_POLLS = [RUNTIME, ("PollThread", "Local", 2), ("PollThread", "default_backend_poll_rate", 2)]


@add_config([RUNTIME])
def test_every_status_change_of_jobs_and_subjobs_reaches_the_stream(gpi):
    seen: list[tuple[str, str]] = []
    token = status_events.subscribe(lambda batch: seen.extend((f, s) for f, (s, _) in batch.items()))
    try:
        j = gpi.Job(application=gpi.Executable(exe="true"), splitter=gpi.ArgSplitter(args=[[], []]), backend=gpi.Local())
        j.submit()
        gpi.enableMonitoring()
        assert run_until_state(j, "completed", timeout=60, sleep_period=0.2)
        time.sleep(0.3)
    finally:
        status_events.unsubscribe(token)
    assert (f"{j.id}", "completed") in seen
    assert {(f"{j.id}.0", "completed"), (f"{j.id}.1", "completed")} <= set(seen)
    assert (f"{j.id}", "submitted") in seen or (f"{j.id}", "running") in seen


def test_the_stream_coalesces_per_job_and_survives_a_broken_subscriber():
    stream = StatusEvents(window=0.05)
    batches: list[dict] = []
    stream.subscribe(lambda batch: 1 / 0)
    stream.subscribe(batches.append)
    writers = [
        threading.Thread(target=lambda k=k: [stream.publish(f"7.{i % 100}", f"s{k}") for i in range(10_000)])
        for k in range(4)
    ]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    deadline = time.time() + 5
    while sum(len(b) for b in batches) < 100 and time.time() < deadline:
        time.sleep(0.05)
    assert stream.published == 40_000
    assert len(batches) < 100  # 40,000 changes arrive as a handful of batches
    assert set().union(*batches) == {f"7.{i}" for i in range(100)}


@pytest.mark.parametrize("first", ["Local", "TestSubmitter"])
@add_config(FAST_POLLS)
def test_jobs_on_two_backends_activated_together_all_complete(gpi, first):
    """Ganga 8.7.12 polls only one of two backends that become active in the same scan."""
    backends = {"Local": lambda: gpi.Local(), "TestSubmitter": lambda: gpi.TestSubmitter(time=1)}
    order = [first] + [b for b in backends if b != first]
    from GangaCore.Core import monitoring_component

    if monitoring_component.enabled:  # later bootstraps in a pytest process start it: both must wait for one scan
        gpi.disableMonitoring()
    jobs = []
    for name in order:
        j = gpi.Job(application=gpi.Executable(exe="true"), backend=backends[name]())
        j.submit()
        jobs.append(j)
    gpi.enableMonitoring()  # both backends become active in the first scan
    deadline = time.time() + 30
    while time.time() < deadline and any(j.status != "completed" for j in jobs):
        time.sleep(0.2)  # not run_until_state: it polls the backend itself and would hide the bug
    assert [j.status for j in jobs] == ["completed", "completed"], order


def test_the_fix_does_nothing_when_ganga_scheduled_every_backend():
    class Service:
        active_backends = {"Local": [object()], "Slurm": [object()]}
        scheduled_backend_checks = {"Local": ["handle"], "Slurm": ["handle"]}

    assert multi_backend_scan.newly_active_without_check(Service(), before=set()) == []
    Service.scheduled_backend_checks = {"Local": ["handle"]}
    assert multi_backend_scan.newly_active_without_check(Service(), before=set()) == ["Slurm"]
    assert multi_backend_scan.newly_active_without_check(Service(), before={"Slurm"}) == []


@add_config([RUNTIME, ("PollThread", "Local", 600), ("PollThread", "default_backend_poll_rate", 600)])
def test_a_kill_leaves_what_ended_before_it_completed(gpi, tmp_path):
    """Ganga's kill marks every subjob it finds active 'killed', even one whose payload ended since the last
    poll; GangaJupyter's kill reads the status files first (here neither a poll nor fast detection would)."""
    from GangaCore.Core import monitoring_component

    if not monitoring_component.enabled:
        gpi.enableMonitoring()
    flag = tmp_path / "go"
    first = f"while [ ! -e {flag} ]; do sleep 0.1; done"
    j = gpi.Job(application=gpi.Executable(exe="/bin/sh"), backend=gpi.Local(),
                splitter=gpi.ArgSplitter(args=[["-c", first], ["-c", "sleep 60"]]))
    j.submit()
    assert run_until_state(j.subjobs[0], "running", timeout=60, sleep_period=0.2)
    status_file_watch.unwatch(str(j.id))  # no fast detection either: nothing reads subjob 0's end before the kill
    status_file_watch._not_watched.add(str(j.id))
    flag.touch()  # subjob 0 ends now; Ganga's next poll is 600 s away
    status_file = os.path.join(j.subjobs[0].outputdir, "__jobstatus__")
    deadline = time.time() + 30
    while time.time() < deadline and not (os.path.exists(status_file) and "EXITCODE" in open(status_file).read()):
        time.sleep(0.1)
    assert j.subjobs[0].status == "running"
    j.kill()
    assert [sj.status for sj in j.subjobs] == ["completed", "killed"]
    assert j.status == "killed"

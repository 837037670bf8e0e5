"""Live views in a real kernel, seen through the messages a browser would receive; actions sent as a browser would."""
import os

import pytest

from GangaJupyter.testlib.kernel import KernelSession
from GangaJupyter.testlib.notebooks import ganga_home


@pytest.fixture
def kernel(tmp_path):
    session = KernelSession(ganga_home(tmp_path / "home", runtime_path=False), str(tmp_path))
    reply = session.run("%load_ext GangaJupyter")
    assert reply["status"] == "ok"
    yield session
    session.close()


def reply_text(view):
    return (view.state.get("reply") or {}).get("text", "")


def replies(view):
    return [delta["reply"].get("text", "") for _, delta in view.history if delta.get("reply")]


def test_a_submitted_job_goes_new_submitted_running_completed_in_its_view(kernel):
    kernel.run("j = Job(name='watch me', application=Executable(exe='/bin/sh', args=['-c', 'sleep 2; echo done']), backend=Local())\nj")
    [view] = kernel.views()
    assert view.state["status"] == "new"
    kernel.run("j.submit()")
    assert kernel.wait_for(lambda: view.state["status"] == "completed", timeout=60), kernel.statuses(view)
    seen = kernel.statuses(view)
    assert seen[0] == "new" and seen[-1] == "completed"
    assert [s for s in seen if s in ("submitted", "running", "completed")] == ["submitted", "running", "completed"]
    assert "gj-status-completed" in view.state["html"]
    assert kernel.wait_for(lambda: "completed at" in reply_text(view), timeout=10), replies(view)  # the notice
    finals = [m for m in kernel.outputs if m["msg_type"] == "update_display_data"]
    assert finals and "gj-status-completed" in finals[-1]["content"]["data"]["text/html"]  # the saved notebook


def test_kill_from_the_view_kills_the_job(kernel):
    kernel.run("j = Job(application=Executable(exe='/bin/sh', args=['-c', 'sleep 120']), backend=Local())\nj.submit()\nj")
    [view] = kernel.views()
    assert kernel.wait_for(lambda: view.state["status"] == "running", timeout=60), kernel.statuses(view)
    assert "kill" in view.state["actions"]
    kernel.click(view, "kill")
    assert kernel.wait_for(lambda: view.state["status"] == "killed", timeout=30), kernel.statuses(view)
    assert kernel.wait_for(lambda: "Killed job 0." in replies(view), timeout=10), replies(view)
    kernel.click(view, "kill")  # again: a clear message, not a traceback
    assert kernel.wait_for(lambda: "nothing to kill" in reply_text(view), timeout=10)


def test_resubmit_from_the_view_resubmits_only_the_failed_subjobs(kernel, tmp_path):
    marker = tmp_path / "second-try"
    script = f"if [ $0 = 2 ] && [ ! -e {marker} ]; then touch {marker}; exit 1; fi; echo ok $0"
    kernel.run(
        "j = Job(application=Executable(exe='/bin/sh'), backend=Local(),\n"
        f"        splitter=ArgSplitter(args=[['-c', {script!r}, str(i)] for i in range(4)]))\n"
        "j.submit()\nj"
    )
    [view] = kernel.views()
    assert kernel.wait_for(lambda: view.state["status"] == "failed", timeout=90), kernel.statuses(view)
    assert "resubmit" in view.state["actions"]
    kernel.run("before = {sj.id: sj.time.timestamps['submitted'] for sj in j.subjobs}")
    kernel.click(view, "resubmit")
    assert kernel.wait_for(lambda: any("Resubmitted 1 failed subjob" in r for r in replies(view)), timeout=30), replies(view)
    assert kernel.wait_for(lambda: view.state["status"] == "completed", timeout=90), kernel.statuses(view)
    kernel.run("print('same', sorted(i for i, t in before.items() if j.subjobs[i].time.timestamps['submitted'] == t))")
    printed = "".join(m["content"].get("text", "") for m in kernel.outputs if m["msg_type"] == "stream")
    assert "same [0, 1, 3]" in printed  # the completed subjobs were not submitted again
    kernel.click(view, "resubmit")
    assert kernel.wait_for(lambda: "nothing to resubmit" in reply_text(view), timeout=10)


def test_peek_remove_and_the_slice_view(kernel):
    kernel.run("j = Job(application=Executable(exe='/bin/sh', args=['-c', 'echo line-1; sleep 3; echo line-2']), backend=Local())\nj")
    [view] = kernel.views()
    kernel.click(view, "stdout")
    assert kernel.wait_for(lambda: "does not exist yet (the job is new)" in reply_text(view), timeout=10)
    kernel.run("jobs")
    slice_view = kernel.views()[-1]
    kernel.run("j.submit()")
    assert kernel.wait_for(lambda: view.state["status"] == "running", timeout=60)
    assert kernel.wait_for(lambda: "1 running" in slice_view.state["status"], timeout=10), slice_view.state["status"]
    kernel.click(view, "stdout")
    assert kernel.wait_for(lambda: "line-1" in view.state.get("peek", ""), timeout=10), reply_text(view)
    assert kernel.wait_for(lambda: view.state["status"] == "completed", timeout=60)
    assert kernel.wait_for(lambda: "1 completed" in slice_view.state["status"], timeout=10)
    kernel.click(view, "remove")
    assert kernel.wait_for(lambda: "Removed job 0." in replies(view), timeout=20), (replies(view), kernel.outputs[-3:])
    assert view.state["actions"] == [] and "no longer exists" in view.state["html"]
    assert kernel.wait_for(lambda: slice_view.state["status"] == "", timeout=10)


def test_after_a_kernel_restart_a_running_job_is_live_again(tmp_path):
    env = ganga_home(tmp_path / "home", runtime_path=False)
    first = KernelSession(env, str(tmp_path))
    try:
        first.run("%load_ext GangaJupyter")
        first.run("j = Job(application=Executable(exe='/bin/sh', args=['-c', 'sleep 6']), backend=Local())\nj.submit()\nj")
        [view] = first.views()
        assert first.wait_for(lambda: view.state["status"] == "running", timeout=60), first.statuses(view)
    finally:
        first.close(graceful=True)  # what a restart from the front end does
    second = KernelSession(env, str(tmp_path))
    try:
        second.run("%load_ext GangaJupyter")
        second.run("jobs(0)")
        [view] = second.views()
        assert view.state["status"] == "running"
        assert second.wait_for(lambda: view.state["status"] == "completed", timeout=30), second.statuses(view)
        assert "another Ganga session is using" not in "".join(str(m["content"]) for m in second.outputs)
    finally:
        second.close()


def test_an_action_clicked_while_the_kernel_is_busy_runs_when_the_cell_ends(kernel):
    import time

    kernel.run("j = Job(application=Executable(exe='/bin/sh', args=['-c', 'sleep 120']), backend=Local())\nj.submit()\nj")
    [view] = kernel.views()
    assert kernel.wait_for(lambda: view.state["status"] == "running", timeout=60)
    kernel.client.execute("import time; time.sleep(4)")  # the kernel is busy
    kernel.pump(0.5)
    clicked = time.time()
    kernel.click(view, "kill")
    kernel.pump(2.0)
    assert "Killed job 0." not in replies(view)  # queued behind the running cell, not lost
    assert kernel.wait_for(lambda: "Killed job 0." in replies(view), timeout=30), replies(view)
    answered = next(t for t, d in view.history if d.get("reply", {}).get("text") == "Killed job 0.")
    assert answered - clicked > 3
    assert kernel.wait_for(lambda: view.state["status"] == "killed", timeout=30)

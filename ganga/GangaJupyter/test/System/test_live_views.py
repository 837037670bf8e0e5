"""Live views in a real kernel, seen through the messages a browser would receive; actions sent as a browser would."""


from GangaJupyter.testlib.kernel import KernelSession
from GangaJupyter.testlib.notebooks import ganga_home


def reply_text(view):
    return (view.state.get("reply") or {}).get("text", "")


def replies(view):
    return [delta["reply"].get("text", "") for _, delta in view.history if delta.get("reply")]


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def final_display(kernel):
    """The last display update: what the saved notebook keeps once a view has settled (it follows the view's
    last widget messages, so wait for it)."""

    def updates():
        return [m["content"]["data"] for m in kernel.outputs if m["msg_type"] == "update_display_data"]

    assert kernel.wait_for(updates, timeout=10), "the view never settled"
    return updates()[-1]


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
    final = final_display(kernel)  # the saved notebook: the static card alone, no widget to render
    assert "gj-status-completed" in final["text/html"] and WIDGET_VIEW not in final
    assert "submitting job 0" in final["text/html"]  # Ganga's messages about the job are in its card


def test_kill_from_the_view_kills_the_job(kernel):
    kernel.run("j = Job(application=Executable(exe='/bin/sh', args=['-c', 'sleep 120']), backend=Local())\nj.submit()\nj")
    [view] = kernel.views()
    assert kernel.wait_for(lambda: view.state["status"] == "running", timeout=60), kernel.statuses(view)
    assert "kill" in view.state["actions"]
    kernel.click(view, "kill")
    assert kernel.wait_for(lambda: view.state["status"] == "killed", timeout=30), kernel.statuses(view)
    assert kernel.wait_for(lambda: "Killed job 0." in replies(view), timeout=10), replies(view)
    assert kernel.wait_for(lambda: WIDGET_VIEW not in final_display(kernel), timeout=10)
    assert "gj-status-killed" in final_display(kernel)["text/html"]


def test_a_failed_split_job_settles_static_with_how_to_resubmit_it(kernel, tmp_path):
    marker = tmp_path / "second-try"
    script = f"if [ $0 = 2 ] && [ ! -e {marker} ]; then touch {marker}; exit 1; fi; echo ok $0"
    kernel.run(
        "j = Job(application=Executable(exe='/bin/sh'), backend=Local(),\n"
        f"        splitter=ArgSplitter(args=[['-c', {script!r}, str(i)] for i in range(4)]))\n"
        "j.submit()\nj"
    )
    [view] = kernel.views()
    assert kernel.wait_for(lambda: view.state["status"] == "failed", timeout=90), kernel.statuses(view)
    assert kernel.wait_for(lambda: WIDGET_VIEW not in final_display(kernel), timeout=10)
    final = final_display(kernel)["text/html"]
    assert "0.2" in final and "jobs(0).resubmit()" in final  # the failed subjob, and how to run it again
    kernel.run("before = {sj.id: sj.time.timestamps['submitted'] for sj in j.subjobs}\nj.resubmit()\nj")
    again = kernel.views()[-1]
    assert again is not view
    assert kernel.wait_for(lambda: again.state["status"] == "completed", timeout=90), kernel.statuses(again)
    kernel.run("print('same', sorted(i for i, t in before.items() if j.subjobs[i].time.timestamps['submitted'] == t))")
    printed = "".join(m["content"].get("text", "") for m in kernel.outputs if m["msg_type"] == "stream")
    assert "same [0, 1, 3]" in printed  # the completed subjobs were not submitted again


def test_peek_remove_and_the_slice_view(kernel):
    kernel.run("j = Job(application=Executable(exe='/bin/sh', args=['-c', 'echo line-1; sleep 3; echo line-2']), backend=Local())\nj")
    [view] = kernel.views()
    kernel.click(view, "stdout")
    assert kernel.wait_for(lambda: "does not exist yet (the job is new)" in reply_text(view), timeout=10)
    kernel.run("j.submit()\njobs")
    slice_view = kernel.views()[-1]
    assert kernel.wait_for(lambda: view.state["status"] == "running", timeout=60)
    assert kernel.wait_for(lambda: "1 running" in slice_view.state["status"], timeout=10), slice_view.state["status"]
    kernel.click(view, "stdout")
    assert kernel.wait_for(lambda: "line-1" in view.state.get("peek", ""), timeout=10), reply_text(view)
    assert kernel.wait_for(lambda: view.state["status"] == "completed", timeout=60)
    assert kernel.wait_for(lambda: "1 completed" in slice_view.state["status"], timeout=10)
    assert kernel.wait_for(lambda: len([m for m in kernel.outputs if m["msg_type"] == "update_display_data"]) >= 2, timeout=10)
    settled = [m["content"]["data"] for m in kernel.outputs if m["msg_type"] == "update_display_data"]
    assert all(WIDGET_VIEW not in data for data in settled)
    assert any("line-2" in data["text/html"] for data in settled)  # the finished job's stdout, folded in its card
    kernel.run("spare = Job(name='spare')\nspare")
    spare = kernel.views()[-1]
    kernel.click(spare, "remove")
    assert kernel.wait_for(lambda: "Removed job 1." in replies(spare), timeout=20), (replies(spare), kernel.outputs[-3:])
    assert spare.state["actions"] == [] and "no longer exists" in spare.state["html"]


def test_after_a_kernel_restart_a_running_job_is_live_again(tmp_path):
    env = ganga_home(tmp_path / "home", runtime_path=False)
    first = KernelSession(env, str(tmp_path))
    try:
        first.run("%load_ext GangaJupyter")
        first.run("j = Job(application=Executable(exe='/bin/sh', args=['-c', 'sleep 15']), backend=Local())\nj.submit()\nj")
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
        assert "gj-status-running" in view.state["html"]  # read from the repository, not from an unloaded job
        assert second.wait_for(lambda: view.state["status"] == "completed", timeout=45), second.statuses(view)
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


def test_views_shown_again_and_again_do_not_pile_up(kernel):
    kernel.run("from GangaJupyter.Lib.Monitor.events import status_events\nbase = status_events.subscriber_count()")
    kernel.run(
        "j = Job(application=Executable(exe='/bin/sh', args=['-c', 'sleep 20']), backend=Local())\nj.submit()\n"
        "from IPython.display import display\nfor _ in range(1000):\n    display(j)",
        timeout=600,
    )
    assert kernel.run_value("status_events.subscriber_count() - base") == 1  # only the newest view follows the job
    frozen = [m for m in kernel.outputs if m["msg_type"] == "update_display_data"]
    assert len(frozen) >= 999 and all(WIDGET_VIEW not in m["content"]["data"] for m in frozen)
    kernel.run("j.kill()")
    assert kernel.wait_for(lambda: kernel.run_value("status_events.subscriber_count() - base") == 0, timeout=30)

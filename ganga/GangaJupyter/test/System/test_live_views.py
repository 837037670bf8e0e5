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


LEAK_PROBES = (
    "from GangaJupyter.Lib.Monitor.events import status_events\n"
    "from GangaJupyter.Lib.Widgets.live import live_views\n"
    "from comm import get_comm_manager\n"
    "from ipywidgets.widgets.widget import _instances\n"
    "def held():\n"
    "    return (status_events.subscriber_count(), len(live_views()), len(get_comm_manager().comms), len(_instances))\n"
    "base = held()"
)


def held_since_base(kernel) -> list[int]:
    """Subscribers of the event stream, live views, open comms and ipywidgets instances, less what the kernel held
    before any view. (``run_value`` drops the messages of other requests meanwhile: wait for those first.)"""
    return kernel.run_value("[n - b for n, b in zip(held(), base)]")


def close_from_the_front_end(kernel, view) -> None:
    """What a front end sends when it closes a widget's model."""
    kernel.client.session.send(
        kernel.client.shell_channel.socket, "comm_close", {"comm_id": kernel.comm_id(view), "data": {}}
    )


def test_a_thousand_views_displayed_and_closed_leave_nothing_behind(kernel):
    """A notebook displaying an active job in a loop: each display takes over from the one before, every other
    view is closed by the kernel at once, and the last by the front end; the stream holds no view after that."""
    kernel.run(LEAK_PROBES)
    kernel.run("j = Job(application=Executable(exe='/bin/sh', args=['-c', 'sleep 120']), backend=Local())\nj.submit()")
    kernel.run(
        "from IPython.display import display\nmost = 0\n"
        "for i in range(1000):\n"
        "    display(j)\n"
        "    most = max(most, held()[0] - base[0])\n"
        "    if i % 2 == 0:\n"
        "        live_views()[0].widget.close()",
        timeout=600,
    )
    assert kernel.run_value("most") == 1  # one view at most ever followed the job
    assert held_since_base(kernel) == [1, 1, 2, 2]  # the last view; its widget and its layout, each with a comm
    assert kernel.run_value("j.status") in ("submitted", "running")  # 1,000 views of an active job
    frozen = [m for m in kernel.outputs if m["msg_type"] == "update_display_data"]
    assert len(frozen) >= 999 and all(WIDGET_VIEW not in m["content"]["data"] for m in frozen)
    close_from_the_front_end(kernel, kernel.views()[-1])
    assert kernel.wait_for(lambda: held_since_base(kernel) == [0, 0, 0, 0], timeout=30), held_since_base(kernel)
    kernel.run("j.kill()")


def test_a_view_closed_by_the_front_end_settles_into_its_card_and_stops_following(kernel):
    kernel.run(LEAK_PROBES)
    kernel.run("j = Job(application=Executable(exe='/bin/sh', args=['-c', 'sleep 60']), backend=Local())\nj.submit()\nj")
    [view] = kernel.views()
    assert kernel.wait_for(lambda: view.state["status"] == "running", timeout=60), kernel.statuses(view)
    close_from_the_front_end(kernel, view)
    final = final_display(kernel)  # the saved notebook keeps the card as it was (before run_value: see held_since_base)
    assert WIDGET_VIEW not in final and "gj-status-running" in final["text/html"]
    assert kernel.wait_for(lambda: held_since_base(kernel) == [0, 0, 0, 0], timeout=30), held_since_base(kernel)
    updates = len(view.history)
    kernel.run("j.kill()")
    kernel.pump(3.0)
    assert len(view.history) == updates, "a closed view still sent updates"


def test_a_slice_view_follows_only_the_jobs_it_shows(kernel):
    kernel.run("shown = Job(application=Executable(exe='/bin/sh', args=['-c', 'sleep 60']), backend=Local())\nshown.submit()")
    assert kernel.wait_for(lambda: kernel.run_value("shown.status") == "running", timeout=60)
    kernel.run(
        "other = Job(application=Executable(exe='/bin/sh', args=['-c', 'sleep 1']), backend=Local())\n"
        "jobs.select(shown.id, shown.id)"
    )
    [slice_view] = kernel.views()
    assert slice_view.state["status"] == "1 running", slice_view.state["status"]
    updates = len(slice_view.history)
    kernel.run("other.submit()")
    assert kernel.wait_for(lambda: kernel.run_value("other.status") == "completed", timeout=60)
    kernel.pump(1.0)
    assert len(slice_view.history) == updates, "the view of job 0 followed job 1"
    kernel.run("shown.kill()")
    assert kernel.wait_for(lambda: "1 killed" in slice_view.state["status"], timeout=30), slice_view.state["status"]

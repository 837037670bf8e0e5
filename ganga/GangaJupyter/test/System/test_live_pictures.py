"""The pictures in a live view, in a real kernel, seen through the messages a browser would receive: the view of a
running split job is redrawn with the clock when no subjob changes, and the slowest subjobs' links show that
subjob's card in the view's detail area (the link's subjob checked: it comes from the front end)."""
from __future__ import annotations

import re
import uuid
from typing import Any

from GangaJupyter.testlib.kernel import KernelSession, WidgetState


def ask(kernel: KernelSession, view: WidgetState, request: dict[str, Any]) -> str:
    """What the browser sends when a link of the view's card is clicked (as ``KernelSession.click`` for a button)."""
    request = {**request, "id": uuid.uuid4().hex}
    kernel.client.session.send(
        kernel.client.shell_channel.socket,
        "comm_msg",
        {
            "comm_id": kernel.comm_id(view),
            "data": {"method": "update", "state": {"request": request}, "buffer_paths": []},
        },
    )
    return request["id"]


def reply_to(kernel: KernelSession, view: WidgetState, request_id: str) -> str:
    def replied() -> bool:
        return (view.state.get("reply") or {}).get("id") == request_id

    assert kernel.wait_for(replied, timeout=30), view.state.get("reply")
    return view.state["reply"]["text"]


def test_a_slowest_subjobs_link_shows_its_card_in_the_view(kernel: KernelSession) -> None:
    kernel.run(
        "j = Job(name='links', application=Executable(exe='/bin/sh'), backend=Local(batchsize=4),\n"
        "        splitter=ArgSplitter(args=[['-c', f'sleep {s}; echo slice $0'] for s in (0, 1, 2, 120)]))\n"
        "j.submit()\nj"
    )
    [view] = kernel.views()
    links = re.compile(r'href="#gangajupyter-subjob=(0\.\d+)"')
    assert kernel.wait_for(lambda: len(links.findall(view.state["html"])) == 3, timeout=60), view.state["html"][-2000:]

    asked = ask(kernel, view, {"action": "subjob", "fqid": "0.2"})
    assert reply_to(kernel, view, asked).startswith("Subjob 0.2 as it was at")
    assert "data-fqid=\"0.2\"" in view.state["detail"] and "gj-status-completed" in view.state["detail"]

    hostile_fqids = ("0.2<img src=x onerror=alert(1)>", "0.9", "1.0", "0.-1", "0.\u0663", "0." + "9" * 5000, ["0.2"], None)
    for hostile in hostile_fqids:
        asked = ask(kernel, view, {"action": "subjob", "fqid": hostile})
        assert "has no subjob" in reply_to(kernel, view, asked), hostile
    assert "data-fqid=\"0.2\"" in view.state["detail"]  # refused requests leave the detail as it was
    kernel.click(view, "kill")
    assert kernel.wait_for(lambda: view.state["status"] == "killed", timeout=60), kernel.statuses(view)


def test_a_running_split_jobs_view_keeps_up_with_the_clock(kernel: KernelSession) -> None:
    """With no subjob change for 25 s, the view is still redrawn (its timeline reaches the present)."""
    kernel.run(
        "from GangaJupyter.Lib.Widgets import live\n"
        "j = Job(name='clock', application=Executable(exe='/bin/sh', args=['-c', 'sleep 120']), backend=Local(),\n"
        "        splitter=ArgSplitter(args=[['-c', 'sleep 120']] * 2))\nj.submit()\nj"
    )
    [view] = kernel.views()
    running = lambda: "gj-status-running" in view.state["html"] and view.state["status"] == "running"  # noqa: E731
    assert kernel.wait_for(running, timeout=60), kernel.statuses(view)
    kernel.pump(1)  # the last changes of the start
    since = len(view.history)
    kernel.pump(25)
    redrawn = [delta for _, delta in view.history[since:] if "html" in delta]
    assert view.state["status"] == "running"
    assert len(redrawn) >= 2, f"{len(redrawn)} redraws in 25 s (a tick every {kernel.run_value('live.TICK_SECONDS')} s)"
    assert all("gj-timeline" in delta["html"] for delta in redrawn)
    kernel.click(view, "kill")
    assert kernel.wait_for(lambda: view.state["status"] == "killed", timeout=60), kernel.statuses(view)

"""A Jupyter kernel driven as a front end would: run cells, follow widget state messages, click widget actions.

Used by the live-view tests and benchmarks: what the browser would receive is what they check.
"""
from __future__ import annotations

import os
import queue
import shutil
import signal
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from jupyter_client.manager import KernelManager


@dataclass
class WidgetState:
    model: str = ""
    state: dict[str, Any] = field(default_factory=dict)
    history: list[tuple[float, dict[str, Any]]] = field(default_factory=list)  # (time received, changed keys)


class KernelSession:
    def __init__(self, env: dict[str, str], cwd: str, kernel_name: str = "python3", kernel_dirs: list[str] | None = None):
        """A kernel started as a front end starts it; ``kernel_dirs`` are searched for ``kernel_name`` first."""
        from jupyter_client.kernelspec import KernelSpecManager

        specs = KernelSpecManager(kernel_dirs=kernel_dirs) if kernel_dirs else None
        # Unix sockets in a folder of its own, as the worker runner's kernels: no TCP port race between the many
        # kernels a test starts at once, and no "running over TCP without encryption" warning in its output
        self.sockets = tempfile.mkdtemp(prefix="gj-kernel-", dir="/tmp")
        self.manager = KernelManager(
            kernel_name=kernel_name,
            transport="ipc",
            ip=os.path.join(self.sockets, "kernel"),
            connection_file=os.path.join(self.sockets, "kernel.json"),
            **({"kernel_spec_manager": specs} if specs else {}),
        )
        self.manager.start_kernel(env=env, cwd=cwd)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        self.widgets: dict[str, WidgetState] = {}
        self.outputs: list[dict[str, Any]] = []
        self.killed = False

    def close(self, graceful: bool = False) -> None:
        """Stop the kernel; ``graceful`` lets Ganga shut down as on a kernel restart from the front end."""
        if self.killed:
            return
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=not graceful)
        shutil.rmtree(self.sockets, ignore_errors=True)

    def kill(self) -> None:
        """SIGKILL the kernel process alone, as the out-of-memory killer would: no atexit hook, no flush. Its
        process group is left alone (``shutdown_kernel`` would signal the whole group)."""
        process = self.manager.provisioner.process
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        self.killed = True
        self.client.stop_channels()
        self.manager.cleanup_resources()
        shutil.rmtree(self.sockets, ignore_errors=True)

    # ------------------------------------------------------------- messages
    def _handle(self, msg: dict[str, Any]) -> None:
        kind, content = msg["msg_type"], msg["content"]
        now = time.time()
        if kind == "comm_open":
            state = content.get("data", {}).get("state", {})
            self.widgets[content["comm_id"]] = WidgetState(state.get("_model_name", ""), dict(state), [(now, dict(state))])
        elif kind == "comm_msg" and content.get("data", {}).get("method") == "update":
            widget = self.widgets.setdefault(content["comm_id"], WidgetState())
            delta = content["data"].get("state", {})
            widget.state.update(delta)
            widget.history.append((now, delta))
        elif kind in ("display_data", "execute_result", "update_display_data", "stream", "error"):
            self.outputs.append(msg)

    def pump(self, seconds: float) -> None:
        """Receive messages for ``seconds``."""
        deadline = time.time() + seconds
        while (left := deadline - time.time()) > 0:
            try:
                self._handle(self.client.get_iopub_msg(timeout=min(left, 0.2)))
            except queue.Empty:
                pass

    def drain(self) -> int:
        """Handle the messages received so far, without waiting; returns how many there were."""
        count = 0
        while True:
            try:
                self._handle(self.client.get_iopub_msg(timeout=0))
            except queue.Empty:
                return count
            count += 1

    def run(self, code: str, timeout: float = 120) -> dict[str, Any]:
        """Execute a cell and wait until the kernel is idle again; returns the execute reply's content."""
        msg_id = self.client.execute(code)
        deadline = time.time() + timeout
        idle = False
        while not idle:
            msg = self.client.get_iopub_msg(timeout=max(0.1, deadline - time.time()))
            self._handle(msg)
            idle = (
                msg["parent_header"].get("msg_id") == msg_id
                and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"
            )
        return self.reply(msg_id, timeout)

    def reply(self, msg_id: str, timeout: float = 120) -> dict[str, Any]:
        """The content of the shell reply to ``msg_id``. Older replies are skipped: ``wait_for_ready`` asks again
        each second, so on a loaded machine a second kernel_info reply arrives late, and would be taken for the
        reply of the next cell."""
        deadline = time.time() + timeout
        while True:
            msg = self.client.get_shell_msg(timeout=max(0.1, deadline - time.time()))
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]

    def run_value(self, expression: str) -> Any:
        """The value of a Python literal expression evaluated in the kernel (through ``repr``)."""
        import ast

        reply = self.client.execute_interactive(f"print(repr({expression}))", timeout=60, output_hook=self._capture)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"{expression}: {reply['content'].get('evalue')}")
        return ast.literal_eval(self._captured.pop().strip())

    def _capture(self, msg: dict[str, Any]) -> None:
        self._handle(msg)
        if msg["msg_type"] == "stream":
            self._captured = getattr(self, "_captured", []) + [msg["content"]["text"]]

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return True
            self.pump(0.1)
        return predicate()

    # ------------------------------------------------------------- widgets
    def views(self) -> list[WidgetState]:
        """GangaJupyter's live views (anywidget models with a ``status`` trait), in creation order."""
        return [w for w in self.widgets.values() if "status" in w.state and "html" in w.state]

    def comm_id(self, view: WidgetState) -> str:
        return next(cid for cid, w in self.widgets.items() if w is view)

    def click(self, view: WidgetState, action: str) -> str:
        """What the browser sends when a view's action button is clicked."""
        request_id = uuid.uuid4().hex
        self.client.session.send(
            self.client.shell_channel.socket,
            "comm_msg",
            {
                "comm_id": self.comm_id(view),
                "data": {"method": "update", "state": {"request": {"action": action, "id": request_id}}, "buffer_paths": []},
            },
        )
        return request_id

    @staticmethod
    def statuses(view: WidgetState) -> list[str]:
        """The view's status as the browser saw it change, repeats removed."""
        seen: list[str] = []
        for _, delta in view.history:
            status = delta.get("status")
            if status and (not seen or seen[-1] != status):
                seen.append(status)
        return seen


def pump_all(sessions: list[KernelSession], seconds: float) -> None:
    """Receive the messages of several kernels for ``seconds``, each within a few ms of its arrival (pumping one
    kernel at a time would date the others' messages late)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if not sum(session.drain() for session in sessions):
            time.sleep(0.005)


def wait_for_all(sessions: list[KernelSession], predicate: Callable[[], bool], timeout: float) -> bool:
    """``predicate()`` became true within ``timeout`` while every kernel's messages were received."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        pump_all(sessions, 0.05)
    return predicate()

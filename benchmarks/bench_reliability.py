"""Issue 13: many kernels on one gangadir, killed at random points; what the user sees, checked against the truth.

K kernels (``%load_ext GangaJupyter``, one throw-away HOME) each create and submit Local jobs (single jobs of
1-5 s and, each round, one split job of 20-100 subjobs of 0-2 s) and display every job (its live view), as a user with
several notebooks would. Each round one kernel is killed with SIGKILL at a random point (while its jobs run,
while it carries out a kill or resubmit it was asked for, during the submit of the split job) and a new kernel
on the same HOME takes its place; another kernel kills or resubmits a job it does not own.

The truth is what the payloads did: each run appends ``S <time>`` to a marker file of its own when it starts and
``D <time> <exit code>`` when it ends. At the end every job (and subjob) must be on disk in its true final state
(read by a fresh plain Ganga, no GangaJupyter), and every live kernel's ``jobs`` and views must agree with it.
Ganga's own behaviour in the same run: the time after which it treats a dead session as gone (its session lock
expiry, ``[Configuration] DiskIOTimeout``, read by the same plain Ganga).

``python benchmarks/run.py reliability [--quick] [--kernels K --jobs N --rounds R --seed S --log FILE]``; exit
status 1 when a goal is missed (the table is printed first).
"""
from __future__ import annotations

import os
import queue
import random
import re
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

from common import report, run_worker, table  # noqa: E402

#: Where a kernel is killed, one per round in this order: the submit round comes last, when an earlier round
#: has timed a split job's submit (so the kill falls inside one).
KINDS = ("while jobs run", "during a kill/resubmit", "during submit")
FULL = {"kernels": 4, "jobs": 2, "rounds": 3, "subjobs": (20, 100)}
QUICK = {"kernels": 3, "jobs": 1, "rounds": 3, "subjobs": (20, 30)}
SINGLE_SECONDS = (1, 5)
SUBJOB_SECONDS = (0, 2)
#: Subjobs of a split Local job run this many at a time (Ganga's default is one per core: on two cores 100
#: subjobs would outlast the run).
SPLIT_BATCH = 10
#: A kill asked this long before a run started may be what ended it: the holder reads the split job's status
#: files, then kills its subjobs one by one, while Local's wrapper goes on starting the next ones.
KILL_SPAN = 10.0
#: A run that ended this soon after a kill was asked raced it: the kill may have reached its wrapper before the
#: wrapper wrote how the payload ended (Ganga's Local wrapper looks every 0.3 s), so ``killed`` is true too.
KILL_RACE = 0.5
FAILING_SHARE = 1 / 6  # single jobs whose payload exits 1: their truth is 'failed'
FINAL = ("completed", "failed", "killed")
#: Goals (issue 13).
TAKEOVER_GOAL = 2.0
LATENCY_GOAL = 0.5  # Local p95 (1 s on any backend)
#: Bounds: the benchmark reports, it never hangs.
CELL_TIMEOUT = 60.0
SUBMIT_TIMEOUT = 240.0
START_TIMEOUT = 120.0
SETTLE_TIMEOUT = 20.0
PAYLOADS_TIMEOUT = 120.0
ROUNDS_BUDGET = 360.0  # seconds of rounds before the rest is cut short (reported)
LATENCY_WINDOW = (-2.0, 30.0)  # another kernel's change this long before/after the owner's counts as the same
LATENCY_GRACE = 2.0  # a kernel killed this soon after the owner's change is not counted when it missed it
#: The payload: ``sh -c PAYLOAD marker seconds exit_code``. Local jobs run with no PATH: sh's default finds both.
PAYLOAD = 'echo "S $(date +%s.%N)" >> "$0"; sleep "$1"; echo "D $(date +%s.%N) $2" >> "$0"; echo done; exit "$2"'

#: Run once in every kernel after ``%load_ext GangaJupyter``: what a user types to look at a job, and the
#: listing of ``jobs`` compared with the disk at the end.
SETUP = '''
from IPython.display import display as _bench_display

def _bench_show(i):
    try:
        job = jobs(i)
        _bench_display(job)
        print(f"BENCH-SHOWN {i} {job.status}")
    except Exception as err:
        print(f"BENCH-MISSING {i} {type(err).__name__}: {err}")

def _bench_jobs():
    out = {}
    for job in jobs:
        try:
            out[str(job.id)] = [job.name, job.status, [sj.status for sj in job.subjobs]]
        except Exception as err:
            out[str(job.id)] = ["?", f"unreadable ({type(err).__name__})", []]
    return out
'''


# ------------------------------------------------------------------------------------------------- kernels
@dataclass
class Shown:
    """One display of a job in one kernel: its live view (widget state, with receive times) or, for a job that
    had settled, the static card (its status then)."""

    at: float
    widget: Any = None  # testlib.kernel.WidgetState
    static: str = ""
    missing: str = ""  # why the kernel could not show the job

    def timeline(self) -> list[tuple[float, str]]:
        if self.widget is not None:
            return [(t, d["status"]) for t, d in list(self.widget.history) if d.get("status")]
        return [(self.at, self.static)] if self.static else []

    def opened(self) -> float:
        line = self.timeline()
        return line[0][0] if line else self.at

    def settled_at(self) -> float:
        """When it showed a final status (from then on it is a static card that follows nothing, by design)."""
        return next((t for t, s in self.timeline() if s in FINAL), float("inf"))

    def last(self) -> str:
        line = self.timeline()
        return line[-1][1] if line else ("not found" if self.missing else "nothing")


class Kernel:
    """A real kernel driven as a front end, from a thread of its own: between commands the thread receives the
    kernel's messages, so every widget update is stamped when it arrives, whichever kernel the benchmark is
    busy with."""

    def __init__(self, name: str, env: dict[str, str], cwd: str):
        self.name = name
        self.killed_at: float | None = None
        self.shown: dict[int, list[Shown]] = {}
        self.errors: list[str] = []
        self.log: list[str] = []  # each failed cell: its code and traceback (--log)
        self.session: Any = None
        self._commands: queue.Queue[tuple[Callable[[Any], Any], Future]] = queue.Queue()
        self._stop = threading.Event()
        ready: Future = Future()
        self._thread = threading.Thread(target=self._loop, args=(env, cwd, ready), name=f"bench-{name}", daemon=True)
        self._thread.start()
        ready.result(START_TIMEOUT)
        self.pid: int = self.session.manager.provisioner.process.pid

    @property
    def alive(self) -> bool:
        return self.killed_at is None

    def _loop(self, env: dict[str, str], cwd: str, ready: Future) -> None:
        from GangaJupyter.testlib.kernel import KernelSession

        try:
            self.session = KernelSession(env, cwd)  # made and used on this thread only
        except BaseException as err:
            ready.set_exception(err)
            return
        ready.set_result(None)
        while not self._stop.is_set():
            try:
                fn, future = self._commands.get(timeout=0.02)
            except queue.Empty:
                try:
                    self.session.pump(0.1)
                except Exception:  # a dead kernel's channels
                    time.sleep(0.1)
                continue
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(self.session))
                except BaseException as err:
                    future.set_exception(err)
        if self.killed_at is None:
            try:
                self.session.close()
            except Exception:
                pass

    def ask(self, fn: Callable[[Any], Any]) -> Future:
        future: Future = Future()
        self._commands.put((fn, future))
        return future

    def call(self, fn: Callable[[Any], Any], timeout: float) -> Any:
        return self.ask(fn).result(timeout)

    def cell(self, code: str, what: str, timeout: float = CELL_TIMEOUT) -> tuple[bool, str]:
        """Run a cell; an error or a missing reply is recorded, never raised. Returns (ok, the cell's stream text)."""

        def run(session: Any) -> tuple[dict[str, Any], str]:
            first = len(session.outputs)
            reply = execute(session, code, timeout)
            return reply, "".join(m["content"].get("text", "") for m in session.outputs[first:] if m["msg_type"] == "stream")

        try:
            reply, text = self.call(run, timeout + 15)
        except Exception as err:
            self.errors.append(f"{what}: no reply in {timeout:.0f} s ({type(err).__name__})")
            return False, ""
        if reply.get("status") != "ok":
            self._failed(what, code, reply)
            return False, text
        return True, text

    def _failed(self, what: str, code: str, reply: dict[str, Any]) -> None:
        self.errors.append(f"{what}: {reply.get('ename')}: {_short(reply.get('evalue', ''))}")
        trace = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(reply.get("traceback", [])))
        self.log.append(f"--- {self.name}: {what}\n{_short(code, 300)}\n{trace}\n")

    def send(self, code: str) -> None:
        """Start a cell and do not wait for it (the kernel is killed while it runs)."""
        self.ask(lambda session: session.client.execute(code)).result(10)

    def show(self, code: str, what: str, timeout: float = CELL_TIMEOUT) -> int | None:
        """Run a cell that ends in ``_bench_show(id)``; record the display; return the id it showed."""

        def run(session: Any) -> tuple[dict[str, Any], list[Any], str]:
            before, first = set(session.widgets), len(session.outputs)
            reply = execute(session, code, timeout)
            views = [w for c, w in session.widgets.items() if c not in before and "status" in w.state and "html" in w.state]
            text = "".join(m["content"].get("text", "") for m in session.outputs[first:] if m["msg_type"] == "stream")
            return reply, views, text

        try:
            reply, views, text = self.call(run, timeout + 15)
        except Exception as err:
            self.errors.append(f"{what}: no reply in {timeout:.0f} s ({type(err).__name__})")
            return None
        if reply.get("status") != "ok":
            self._failed(what, code, reply)
        at = time.time()
        if found := re.search(r"BENCH-SHOWN (\d+) (\S+)", text):
            job_id = int(found.group(1))
            shown = Shown(at, views[-1]) if views else Shown(at, static=found.group(2))
        elif found := re.search(r"BENCH-MISSING (\d+) (.*)", text):
            job_id = int(found.group(1))
            shown = Shown(at, missing=found.group(2))
        else:
            return None
        self.shown.setdefault(job_id, []).append(shown)
        return job_id

    def latest(self, job: BenchJob) -> Shown | None:
        """The kernel's last display of the job, unless it settled before the job was last resubmitted."""
        shows = self.shown.get(job.id)
        if not shows:
            return Shown(0.0, missing="never displayed")
        return None if shows[-1].settled_at() < job.revived() else shows[-1]

    def timeline(self, job_id: int) -> list[tuple[float, str]]:
        return sorted(p for s in self.shown.get(job_id, []) for p in s.timeline())

    def kill(self) -> float:
        """SIGKILL the kernel process alone (as the out-of-memory killer does: its process group, where Ganga's
        Local jobs are not, is left alone), then keep the messages it had sent."""
        killed = time.time()
        os.kill(self.pid, signal.SIGKILL)
        self.killed_at = killed

        def forget(session: Any) -> None:
            session.manager.provisioner.process.wait(timeout=30)
            session.pump(0.5)  # its last messages, already on their way
            session.client.stop_channels()
            session.manager.cleanup_resources()  # never shutdown_kernel: it would signal the whole group

        try:
            self.call(forget, 45)
        except Exception as err:
            self.errors.append(f"after SIGKILL: {type(err).__name__}: {_short(str(err))}")
        self.stop()
        return killed

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def texts(self) -> str:
        """Everything the kernel printed or displayed as text (for Ganga's and GangaJupyter's notices)."""
        if self.session is None:
            return ""
        parts = []
        for m in list(self.session.outputs):
            content = m["content"]
            parts.append(content.get("text", "") or content.get("evalue", ""))
            parts.extend(v for k, v in content.get("data", {}).items() if k == "text/plain" and isinstance(v, str))
        return "\n".join(parts)


def execute(session: Any, code: str, timeout: float) -> dict[str, Any]:
    """Run a cell and return *its* execute reply. (``KernelSession.run`` takes the next shell message, which on a
    loaded machine can be a late reply to ``wait_for_ready``'s repeated kernel-info requests: every later cell
    would then get the reply of the cell before it.)"""
    msg_id = session.client.execute(code)
    deadline = time.time() + timeout
    idle = False
    while not idle:
        left = deadline - time.time()
        if left <= 0:
            raise TimeoutError(f"no idle in {timeout:.0f} s")
        try:
            msg = session.client.get_iopub_msg(timeout=min(left, 1.0))
        except queue.Empty:
            continue
        session._handle(msg)
        idle = (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle")
    while (left := deadline - time.time() + 10) > 0:
        reply = session.client.get_shell_msg(timeout=left)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"]
    raise TimeoutError(f"no reply in {timeout:.0f} s")


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ------------------------------------------------------------------------------------------------- jobs
@dataclass
class BenchJob:
    id: int
    name: str
    owner: str  # the kernel that created and first submitted it
    markers: list[Path]  # the job's own, or one per subjob
    split: bool
    asks: list[tuple[float, str, str]] = field(default_factory=list)  # (time, submit|kill|resubmit, kernel)

    def runs(self, marker: Path) -> list[tuple[str, float, int]]:
        """What the payload of ``marker`` did: (S|D, time, exit code) per line."""
        try:
            lines = marker.read_text().splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            parts = line.split()
            if len(parts) >= 2 and parts[0] in ("S", "D"):
                try:
                    out.append((parts[0], float(parts[1]), int(parts[2]) if len(parts) > 2 else 0))
                except ValueError:
                    pass
        return out

    def truth(self, marker: Path) -> set[str]:
        """The statuses a job (or subjob) may truthfully end in, from what its payload did and what was asked."""
        runs = self.runs(marker)
        submits = [t for t, action, _ in self.asks if action in ("submit", "resubmit")]
        if not runs:  # never ran: never submitted, a failed submit, or killed before its payload started
            state = {"new"} if not submits else {"new", "failed"}
            if submits and any(action == "kill" and t > max(submits) for t, action, _ in self.asks):
                state.add("killed")
            return state
        kind, started, code = runs[-1]
        last_start = max(t for k, t, _ in runs if k == "S")
        if kind == "D":
            state = {"completed"} if code == 0 else {"failed"}
            if any(action == "kill" and 0 <= started - t <= KILL_RACE for t, action, _ in self.asks):
                state.add("killed")
        else:  # the run never ended: it was killed (asked for), or it died
            asked = any(action == "kill" and t >= last_start - KILL_SPAN for t, action, _ in self.asks)
            state = {"killed"} if asked else {"failed"}
        if submits and max(submits) > last_start:
            state.add("failed")  # a resubmit that never started a run
        return state

    def revived(self) -> float:
        """When it was last asked to run again (a card that settled before then shows an earlier run)."""
        return max((t for t, action, _ in self.asks if action == "resubmit"), default=0.0)

    def event_time(self) -> float:
        """When the job's true final state came about: its last run's last line, or the last kill asked for."""
        times = [r[-1][1] for r in (self.runs(m) for m in self.markers) if r]
        kills = [t for t, action, _ in self.asks if action == "kill"]
        return max(times + kills, default=0.0)

    def master_truth(self) -> set[str]:
        """Ganga's rule for a split job's status (the first of its order present among the subjobs), over every
        truthful choice of subjob states; a subjob that never ran ('new') does not count."""
        if not self.split:
            return self.truth(self.markers[0])
        choices = [self.truth(m) for m in self.markers]
        if all(not self.runs(m) for m in self.markers):
            return {"new", "failed"} if any(a == "submit" for _, a, _ in self.asks) else {"new"}
        order = ["submitting", "submitted", "running", "completing", "failed", "killed", "completed"]
        possible = set()
        for i, s in enumerate(order):
            lower = set(order[i:]) | {"new"}
            if any(s in c for c in choices) and all(c & lower for c in choices):
                possible.add(s)
        return possible or {"new"}


# ------------------------------------------------------------------------------------------------- the run
@dataclass
class Kill:
    at: float
    kernel: Kernel
    kind: str
    detail: str
    targets: list[int] = field(default_factory=list)  # jobs it was acting on


class Run:
    def __init__(self, root: Path, sizes: dict[str, Any], rng: random.Random):
        from GangaJupyter.testlib.notebooks import ganga_home

        self.root, self.sizes, self.rng = root, sizes, rng
        self.env = ganga_home(root / "home", runtime_path=False)
        self.markers = root / "markers"
        self.markers.mkdir()
        self.kernels: list[Kernel] = []
        self.jobs: dict[int, BenchJob] = {}
        self.kills: list[Kill] = []
        self.notes: list[str] = []
        self.split_submit_seconds: list[float] = []
        self._serial = 0
        self.started = time.time()

    # --------------------------------------------------------------- kernels
    def start_kernels(self, n: int) -> list[Kernel]:
        names = [f"k{len(self.kernels) + i + 1}" for i in range(n)]
        kernels = _parallel([lambda name=name: self._start(name) for name in names])
        started = [k for k in kernels if isinstance(k, Kernel)]
        for k in kernels:
            if not isinstance(k, Kernel):
                self.notes.append(f"a kernel did not start: {_short(str(k))}")
        self.kernels.extend(started)
        return started

    def _start(self, name: str) -> Kernel:
        kernel = Kernel(name, self.env, str(self.root))
        kernel.cell("%load_ext GangaJupyter", "%load_ext GangaJupyter", timeout=START_TIMEOUT)
        kernel.cell(SETUP, "setup")
        return kernel

    def alive(self) -> list[Kernel]:
        return [k for k in self.kernels if k.alive]

    def replace(self, dead: Kernel) -> None:
        """A new kernel on the same HOME, where the user displays their jobs again."""
        for kernel in self.start_kernels(1):
            for job_id in sorted(self.jobs):
                kernel.show(f"_bench_show({job_id})", f"show job {job_id}")

    # --------------------------------------------------------------- jobs
    def _tag(self, kernel: Kernel) -> str:
        self._serial += 1
        return f"bench-{kernel.name}-{self._serial}"

    def create_single(self, kernel: Kernel) -> BenchJob | None:
        name = self._tag(kernel)
        marker = self.markers / f"{name}.m"
        seconds = self.rng.randint(*SINGLE_SECONDS)
        code = 1 if self.rng.random() < FAILING_SHARE else 0
        args = ["-c", PAYLOAD, str(marker), str(seconds), str(code)]
        return self._create(kernel, name, f"application=Executable(exe='/bin/sh', args={args!r}), backend=Local()", [marker], False)

    def create_split(self, kernel: Kernel) -> BenchJob | None:
        name = self._tag(kernel)
        n = self.rng.randint(*self.sizes["subjobs"])
        markers = [self.markers / f"{name}.{i}.m" for i in range(n)]
        args = [["-c", PAYLOAD, str(m), str(self.rng.randint(*SUBJOB_SECONDS)), "0"] for m in markers]
        spec = (f"application=Executable(exe='/bin/sh'), backend=Local(batchsize={SPLIT_BATCH}), "
                f"splitter=ArgSplitter(args={args!r})")
        return self._create(kernel, name, spec, markers, True)

    def _create(self, kernel: Kernel, name: str, spec: str, markers: list[Path], split: bool) -> BenchJob | None:
        code = f"_bench_job = Job(name={name!r}, {spec})\n_bench_show(_bench_job.id)"
        job_id = kernel.show(code, f"create {name}")
        if job_id is None:
            return None
        job = BenchJob(job_id, name, kernel.name, markers, split)
        self.jobs[job_id] = job
        return job

    def act(self, kernel: Kernel, job: BenchJob, action: str, timeout: float = CELL_TIMEOUT) -> float:
        """``jobs(id).<action>()`` in ``kernel``, waiting for it; returns how long it took."""
        job.asks.append((time.time(), action, kernel.name))
        started = time.time()
        kernel.cell(f"jobs({job.id}).{action}()", f"{action} job {job.id} ({job.owner}'s)", timeout=timeout)
        return time.time() - started

    def show_everywhere(self, job: BenchJob, kernels: list[Kernel] | None = None) -> None:
        """Every other live kernel displays the job, as a user following it from another notebook would."""
        targets = kernels if kernels is not None else [k for k in self.alive() if k.name != job.owner]
        _parallel([lambda k=k: k.show(f"_bench_show({job.id})", f"show job {job.id}") for k in targets])

    def running_jobs(self) -> list[BenchJob]:
        """Jobs whose payload is running now (its marker's last line is a start) and that no kill was asked of since."""
        def running(job: BenchJob, marker: Path) -> bool:
            runs = job.runs(marker)
            return bool(runs) and runs[-1][0] == "S" and not any(
                action == "kill" and t >= runs[-1][1] - 1 for t, action, _ in job.asks)

        return [j for j in self.jobs.values() if any(running(j, m) for m in j.markers)]

    def ended_jobs(self, kernel: Kernel, statuses: tuple[str, ...] = ("killed", "failed")) -> list[BenchJob]:
        """Jobs ``kernel``'s views last showed in one of ``statuses``."""
        out = []
        for job in self.jobs.values():
            line = kernel.timeline(job.id)
            if line and line[-1][1] in statuses:
                out.append(job)
        return out

    # --------------------------------------------------------------- rounds
    def round(self, number: int) -> None:
        kind = KINDS[number % len(KINDS)]
        kernels = self.alive()
        if not kernels:
            self.notes.append(f"round {number + 1}: no kernel alive")
            return
        victim = self.rng.choice(kernels)

        # every kernel submits its single jobs, all at once (several notebooks submitting at the same time)
        def singles(kernel: Kernel) -> list[BenchJob]:
            made = [j for j in (self.create_single(kernel) for _ in range(self.sizes["jobs"])) if j]
            for job in made:
                self.act(kernel, job, "submit")
                self.show_everywhere(job)
            return made

        _parallel([lambda k=k: singles(k) for k in kernels])
        if kind == "while jobs run":
            def mine() -> list[int]:
                return [j.id for j in self.running_jobs() if j.owner == victim.name]

            _wait(lambda: bool(mine()), 15)
            time.sleep(self.rng.uniform(0.2, 1.0))  # the random point of the kill, by design
            self.kill(victim, kind, f"{len(mine())} of its jobs running")

        # the split job: killed during its submit, or submitted whole by another kernel
        creator = victim if kind == "during submit" else self.rng.choice([k for k in self.alive() if k is not victim] or self.alive())
        split = self.create_split(creator)
        if split is not None and kind == "during submit":
            estimate = _median(self.split_submit_seconds) or 2.0
            split.asks.append((time.time(), "submit", victim.name))
            sent = time.time()
            victim.send(f"jobs({split.id}).submit()")
            if not _wait(lambda: "submitting" in [s for _, s in victim.timeline(split.id)], 30):
                self.notes.append(f"round {number + 1}: the view of job {split.id} never showed 'submitting'")
            time.sleep(self.rng.uniform(0.1, 0.7) * estimate)  # the random point of the kill, by design
            seen = [s for _, s in victim.timeline(split.id)]
            self.kill(victim, kind, f"{time.time() - sent:.1f} s after asking to submit job {split.id} "
                      f"({len(split.markers)} subjobs; its view showed {seen[-1] if seen else 'nothing'!r})", [split.id])
        elif split is not None:
            took = self.act(creator, split, "submit", timeout=SUBMIT_TIMEOUT)
            self.split_submit_seconds.append(_submit_seconds(creator.timeline(split.id)) or took)
            self.show_everywhere(split)

        # a kernel acts on a job it does not own: kill a running one, or resubmit an ended one
        actors = [k for k in self.alive() if k is not victim]
        if actors:
            actor = self.rng.choice(actors)
            if number % 2 == 0:
                target = next((j for j in self.running_jobs() if j.owner != actor.name and not j.split), None)
                if target:
                    self.act(actor, target, "kill")
            else:
                target = next((j for j in self.ended_jobs(actor) if j.owner != actor.name), None)
                if target:
                    self.act(actor, target, "resubmit")
                    self.show_everywhere(target, self.alive())  # its views settled when it ended

        if kind == "during a kill/resubmit" and victim.alive:
            running = self.running_jobs()
            target = next((j for j in running if j.owner == victim.name), running[0] if running else None)
            action = "kill"
            if target is None or self.rng.random() < 0.5:
                ended = self.ended_jobs(victim)
                if ended:
                    target, action = self.rng.choice(ended), "resubmit"
            if target is None:
                self.notes.append(f"round {number + 1}: nothing to kill or resubmit; {victim.name} killed idle")
                self.kill(victim, kind, "idle (nothing to kill or resubmit)")
            else:
                target.asks.append((time.time(), action, victim.name))
                sent = time.time()
                victim.send(f"jobs({target.id}).{action}()")
                time.sleep(self.rng.uniform(0.0, 0.3))  # the random point of the kill, by design
                self.kill(victim, kind, f"{time.time() - sent:.2f} s into {action}() of job {target.id}", [target.id])

    def kill(self, victim: Kernel, kind: str, detail: str, targets: list[int] | None = None) -> None:
        at = victim.kill()
        self.kills.append(Kill(at, victim, kind, detail, targets or []))
        # the user looks at the dead kernel's jobs from the other notebooks
        theirs = [j for j in self.jobs.values() if j.owner == victim.name or j.id in (targets or [])]
        for kernel in self.alive():
            for job in theirs:
                if not kernel.shown.get(job.id) or job.id in (targets or []):
                    kernel.show(f"_bench_show({job.id})", f"show job {job.id}")
        self.replace(victim)

    # --------------------------------------------------------------- the end
    def wait_for_payloads(self) -> bool:
        import psutil

        places = (str(self.markers), str(self.root / "home" / "gangadir"))

        def ours() -> list[Any]:
            found = []
            for p in psutil.process_iter(["cmdline"]):
                cmd = " ".join(p.info.get("cmdline") or [])
                if any(place in cmd for place in places) and "ipykernel" not in cmd:
                    found.append(p)
            return found

        return _wait(lambda: not ours(), PAYLOADS_TIMEOUT)

    def settled(self) -> bool:
        """Every live kernel's views show every job in a true final state."""
        for kernel in self.alive():
            for job in self.jobs.values():
                latest = kernel.latest(job)
                if latest is not None and latest.last() not in job.master_truth():
                    return False
        return True


def _submit_seconds(timeline: list[tuple[float, str]]) -> float:
    """How long a submit took as its view showed it: 'submitting' to the next status (0 if not seen)."""
    began = next((t for t, s in timeline if s == "submitting"), None)
    ended = next((t for t, s in timeline if began is not None and t > began and s != "submitting"), None)
    return ended - began if began is not None and ended is not None else 0.0


def _parallel(fns: list[Callable[[], Any]]) -> list[Any]:
    """Run ``fns`` on threads of their own; each result, or the exception it raised."""
    results: list[Any] = [None] * len(fns)

    def run(i: int) -> None:
        try:
            results[i] = fns[i]()
        except BaseException as err:
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(SUBMIT_TIMEOUT + START_TIMEOUT)
    return results


def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    from GangaJupyter.testlib.waiting import wait_until

    return wait_until(predicate, timeout, interval=0.2)


def _median(values: list[float]) -> float:
    import statistics

    return statistics.median(values) if values else 0.0


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))] if values else float("nan")


# ------------------------------------------------------------------------------------------------- measures
def read_repository() -> None:
    """Worker: a fresh plain Ganga (no GangaJupyter) reads every job and subjob from the repository."""
    import ganga.ganga  # noqa: F401
    from ganga import jobs
    from GangaCore.Utility.Config import getConfig

    found: dict[str, Any] = {}
    for job in jobs:
        try:
            found[str(job.id)] = [job.name, job.status, [sj.status for sj in job.subjobs]]
        except Exception as err:
            found[str(job.id)] = ["?", f"unreadable ({type(err).__name__})", []]
    report({"jobs": found, "disk_io_timeout": getConfig("Configuration")["DiskIOTimeout"]})


def wrong_on_disk(job: BenchJob, disk: list[Any]) -> str:
    """Why the job's state on disk is not its true one ('' when it is)."""
    name, status, subjobs = disk
    problems = []
    if name != job.name:
        problems.append(f"name {name!r}")
    if status not in job.master_truth():
        problems.append(f"{status} (truth {'/'.join(sorted(job.master_truth()))})")
    if job.split:
        ran = [m for m in job.markers if job.runs(m)]
        if len(subjobs) != len(job.markers) and (ran or status not in ("new", "failed")):
            problems.append(f"{len(subjobs)} of {len(job.markers)} subjobs")
        else:
            bad = [i for i, (s, m) in enumerate(zip(subjobs, job.markers)) if s not in job.truth(m)]
            if bad:
                problems.append(f"{len(bad)} subjobs wrong (e.g. {job.id}.{bad[0]} {subjobs[bad[0]]}, "
                                f"truth {'/'.join(sorted(job.truth(job.markers[bad[0]])))}{_runs_told(job, bad[0])})")
    return ", ".join(problems)


def _runs_told(job: BenchJob, index: int) -> str:
    """What the payload of subjob ``index`` did, in seconds from the last kill asked of the job."""
    kills = [t for t, action, _ in job.asks if action == "kill"]
    if not kills:
        return ""
    lines = ", ".join(f"{kind} {t - max(kills):+.2f} s" for kind, t, _ in job.runs(job.markers[index]))
    return f"; its payload from the kill asked: {lines or 'never ran'}"


def takeover_samples(run: Run) -> list[tuple[Kill, int, float | None]]:
    """Per kill, per job of the dead kernel whose true final state came after the kill (or was not yet shown by
    any kernel): the delay from max(kill, the change) until another kernel's view showed it (None: never)."""
    samples = []
    for kill in run.kills:
        dead = kill.kernel
        for job in run.jobs.values():
            if job.owner != dead.name and job.id not in kill.targets:
                continue
            final = job.master_truth()
            if any(t < kill.at and s in final for k in run.kernels for t, s in k.timeline(job.id)):
                continue  # already shown before the kill: nothing left to monitor
            change = max(kill.at, job.event_time())
            shows = [t for k in run.kernels if k is not dead for t, s in k.timeline(job.id) if s in final and t >= kill.at]
            samples.append((kill, job.id, max(0.0, min(shows) - change) if shows else None))
    return samples


def latency_samples(run: Run) -> list[float | None]:
    """Per status change shown by the owner's view (running and final ones), per other kernel whose view of the
    job was open before it: how long after the owner's view that kernel's view showed it (None: never)."""
    samples: list[float | None] = []
    by_name = {k.name: k for k in run.kernels}
    for job in run.jobs.values():
        owner = by_name.get(job.owner)
        if owner is None:
            continue
        changes, last = [], None
        for t, s in owner.timeline(job.id):
            if s != last and s in ("running", *FINAL):
                changes.append((t, s))
            last = s
        for t_owner, status in changes:
            for kernel in run.kernels:
                if kernel is owner:
                    continue
                opened = [s for s in kernel.shown.get(job.id, []) if s.opened() <= t_owner]
                if not opened or opened[-1].settled_at() < t_owner + LATENCY_WINDOW[0]:
                    continue  # not displayed yet, or a card of an earlier run
                if opened[-1].missing:
                    samples.append(None)  # the job does not exist in that kernel
                    continue
                hits = [t for t, s in kernel.timeline(job.id)
                        if s == status and t_owner + LATENCY_WINDOW[0] <= t <= t_owner + LATENCY_WINDOW[1]]
                if hits:
                    samples.append(min(hits) - t_owner)
                elif kernel.killed_at is None or kernel.killed_at > t_owner + LATENCY_GRACE:
                    samples.append(None)  # alive, and never shown (a kernel killed just after is not counted)
    return samples


# ------------------------------------------------------------------------------------------------- entry
def add_arguments(parser: Any) -> None:
    parser.add_argument("--kernels", type=int, help=f"kernels at once (default {FULL['kernels']}; --quick {QUICK['kernels']})")
    parser.add_argument("--jobs", type=int, help=f"single jobs per kernel per round (default {FULL['jobs']})")
    parser.add_argument("--rounds", type=int, help=f"rounds, one kill each (default {FULL['rounds']})")
    parser.add_argument("--seed", type=int, help="random seed (default: new each run, printed)")
    parser.add_argument("--log", type=Path, help="write every failed cell (code, traceback) and each kernel's output here")


def run(quick: bool = False, options: Any = None) -> tuple[str, list[str]]:
    sizes = dict(QUICK if quick else FULL)
    for key in ("kernels", "jobs", "rounds"):
        if options is not None and getattr(options, key, None):
            sizes[key] = getattr(options, key)
    seed = getattr(options, "seed", None)
    seed = seed if seed is not None else random.SystemRandom().randrange(10**6)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="gj-bench-rel-", ignore_cleanup_errors=True) as tmp:
        run_ = Run(Path(tmp), sizes, random.Random(seed))
        try:
            run_.start_kernels(sizes["kernels"])
            for number in range(sizes["rounds"]):
                if time.time() - started > ROUNDS_BUDGET:
                    run_.notes.append(f"rounds cut short after {number} of {sizes['rounds']} ({ROUNDS_BUDGET:.0f} s budget)")
                    break
                run_.round(number)
            if not run_.wait_for_payloads():
                run_.notes.append(f"payloads still running after {PAYLOADS_TIMEOUT:.0f} s")
            if not _wait(run_.settled, SETTLE_TIMEOUT):
                run_.notes.append(f"views had not settled into the truth {SETTLE_TIMEOUT:.0f} s after the last payload ended")
            snapshots: dict[str, dict[str, Any]] = {}
            for kernel in run_.alive():
                try:
                    snapshots[kernel.name] = kernel.call(lambda s: s.run_value("_bench_jobs()"), 120)
                except Exception as err:
                    kernel.errors.append(f"listing jobs: {type(err).__name__}: {_short(str(err))}")
                    snapshots[kernel.name] = {}
            try:
                disk = run_worker(HERE, run_.env, "read", timeout=300)
            except Exception as err:
                run_.notes.append(f"plain Ganga could not read the repository: {_short(str(err), 400)}")
                disk = {"jobs": {}, "disk_io_timeout": float("nan")}
            if getattr(options, "log", None):
                write_log(options.log, run_)
            return summarise(run_, snapshots, disk, seed, time.time() - started)
        finally:
            for kernel in run_.alive():
                kernel.stop()


def write_log(path: Path, run: Run) -> None:
    """For the developer: every failed cell with its traceback, then each kernel's text output."""
    parts = [entry for k in run.kernels for entry in k.log]
    parts += [f"=== {k.name} (pid {k.pid}{', killed' if k.killed_at else ''}) output\n{k.texts()}\n" for k in run.kernels]
    parts.append("=== each job: what was asked, and what each kernel's views showed when (seconds into the run)")
    parts += [f"kill of {k.kernel.name} at {k.at - run.started:.2f}: {k.kind}, {k.detail}" for k in run.kills]
    for job in run.jobs.values():
        parts.append(f"job {job.id} {job.name!r} of {job.owner}: "
                     + ", ".join(f"{action} by {who} at {t - run.started:.2f}" for t, action, who in job.asks))
        for kernel in run.kernels:
            line = kernel.timeline(job.id)
            if line:
                parts.append(f"  {kernel.name}: " + ", ".join(f"{s} {t - run.started:.2f}" for t, s in line))
    path.write_text("\n".join(parts))


def summarise(run: Run, snapshots: dict[str, dict[str, Any]], disk: dict[str, Any], seed: int, wall: float) -> tuple[str, list[str]]:
    on_disk: dict[str, list[Any]] = disk["jobs"]
    jobs = run.jobs
    live = run.alive()
    n_sub = sum(len(j.markers) for j in jobs.values() if j.split)
    n_split = sum(j.split for j in jobs.values())

    lost = [j for j in jobs.values() if str(j.id) not in on_disk or not any(str(j.id) in snapshots.get(k.name, {}) for k in live)]
    wrong = {j.id: why for j in jobs.values() if str(j.id) in on_disk and (why := wrong_on_disk(j, on_disk[str(j.id)]))}
    listing_mismatch = [(k.name, i) for k in live for i, d in on_disk.items() if snapshots.get(k.name, {}).get(i) != d]
    view_mismatch = []  # each live kernel's last display of each job (unless it settled before a resubmit)
    for kernel in live:
        for i, d in on_disk.items():
            latest = kernel.latest(jobs[int(i)]) if int(i) in jobs else None
            if latest is not None and latest.last() != d[1]:
                view_mismatch.append((kernel.name, i, latest.last()))

    takeovers = takeover_samples(run)
    measured = [s for _, _, s in takeovers if s is not None]
    never = sum(s is None for _, _, s in takeovers)
    worst = max(measured) if measured and not never else (float("inf") if never else None)
    latencies = latency_samples(run)
    lat_values = [float("inf") if s is None else s for s in latencies]
    lat_p95 = percentile(lat_values, 0.95) if lat_values else None
    lat_never = sum(s is None for s in latencies)
    lat_shown = [s for s in latencies if s is not None]

    errors = [(k.name, e) for k in run.kernels for e in k.errors]
    texts = {k.name: k.texts() for k in run.kernels}
    monitoring_off = [name for name, text in texts.items() if "monitoring is off" in text]
    lock_errors = sum(text.count("RegistryLockError") for text in texts.values()) + sum("RegistryLockError" in e for _, e in errors)
    ganga_expiry = disk.get("disk_io_timeout", float("nan"))

    def seconds(value: float | None) -> str:
        return "n/a" if value is None else ("never" if value == float("inf") else f"{value:.2f}")

    kinds = {kind: sum(k.kind == kind for k in run.kills) for kind in KINDS}
    rows = [
        ["kernels", "", f"{run.sizes['kernels']} at once, {len(run.kernels)} in all", "", "each killed one replaced on the same HOME"],
        ["jobs", "", f"{len(jobs)} ({len(jobs) - n_split} single, {n_split} split: {n_sub} subjobs)", "", "Local, one gangadir"],
        ["kills (SIGKILL)", "", f"{len(run.kills)}", "", ", ".join(f"{n} {kind}" for kind, n in kinds.items())],
        ["jobs lost", "", f"{len(lost)}", "", "goal 0: not on disk, or in no live kernel's `jobs`"],
        ["jobs wrong on disk", "", f"{len(wrong)}", "", "goal 0: name, status or a subjob's status is not what the payload did"],
        ["takeover after a kill, worst (s)", f"{ganga_expiry}", seconds(worst),
         f"{ganga_expiry / worst:.0f}x" if worst and worst not in (float("inf"),) and worst > 0 else "",
         f"goal <= {TAKEOVER_GOAL:.0f} s; {len(takeovers)} job(s) changed after a kill, {never} never shown by another kernel"
         + (f"; median {_median(measured):.2f} s" if measured else "")],
        ["status latency owner -> other kernels, p95 (s)", "never", seconds(lat_p95), "",
         f"goal <= {LATENCY_GOAL} s; {len(latencies)} changes x kernels, {lat_never} never shown"
         + (f" (p95 of the others {percentile(lat_shown, 0.95):.2f} s)" if lat_never and lat_shown else "")],
        ["plain Ganga vs kernels' `jobs`: mismatches", "", f"{len(listing_mismatch)}", "", f"goal 0; {len(live)} live kernels x {len(on_disk)} jobs on disk"],
        ["plain Ganga vs kernels' views: mismatches", "", f"{len(view_mismatch)}", "", "goal 0: each view's last status"],
        ["cells that failed", "", f"{len(errors)}", "", f"goal 0; RegistryLockError seen {lock_errors} times"],
        ["kernels told 'monitoring is off'", "", f"{len(monitoring_off)}", "", "goal 0"],
    ]
    notes = [
        f"seed {seed} (--seed {seed} repeats the random points); {wall:.0f} s in all.",
        "Ganga column: plain Ganga treats a dead session's locks as stale only after [Configuration] DiskIOTimeout "
        "(read by the fresh plain Ganga of this run); a second plain Ganga session never shows another's status "
        "changes (its monitoring is off).",
        "Takeover: from max(SIGKILL, the job's true change: its payload's last line, or the kill asked for) to the "
        "first view in another kernel showing the true final status. Latency: the owner's view receiving a "
        "running/final status -> another kernel's view receiving it (receive times at this front end).",
    ]
    notes += [f"kill {i + 1}: {k.kernel.name} {k.kind}: {k.detail}" for i, k in enumerate(run.kills)]
    notes += [f"takeover of job {job_id} after kill {run.kills.index(kill) + 1}: "
              + ("never shown" if delay is None else f"{delay:.2f} s")
              for kill, job_id, delay in takeovers if delay is None or delay > TAKEOVER_GOAL]
    notes += [f"lost: job {j.id} {j.name!r} (" + ("not on disk" if str(j.id) not in on_disk else "in no kernel's jobs") + ")" for j in lost[:5]]
    notes += [f"wrong: job {i} ({jobs[i].name}, {jobs[i].owner}'s): {why}" for i, why in list(wrong.items())[:8]]
    notes += [f"`jobs` in {name}, job {i}: {_brief(snapshots.get(name, {}).get(i))} (disk {_brief(on_disk[i])})"
              for name, i in listing_mismatch[:4]]
    notes += [f"view in {name} of job {i}: {shown} (disk {on_disk[i][1]})" for name, i, shown in view_mismatch[:4]]
    notes += [f"failed cell in {name}: {e}" for name, e in _distinct(errors)[:6]]
    notes += run.notes

    missed = []
    if lost:
        missed.append(f"{len(lost)} jobs lost")
    if wrong:
        missed.append(f"{len(wrong)} jobs wrong on disk")
    if never or (worst is not None and worst > TAKEOVER_GOAL):
        missed.append(f"takeover {seconds(worst)} s")
    if lat_p95 is not None and not lat_p95 <= LATENCY_GOAL:
        missed.append(f"latency p95 {seconds(lat_p95)} s")
    if listing_mismatch or view_mismatch:
        missed.append(f"{len(listing_mismatch) + len(view_mismatch)} mismatches with plain Ganga")
    if errors or monitoring_off:
        missed.append(f"{len(errors)} failed cells, {len(monitoring_off)} kernels with monitoring off")
    if not run.kills:
        missed.append("no kill happened")
    text = table(
        f"Reliability: {run.sizes['kernels']} kernels on one gangadir, {run.sizes['rounds']} rounds, a SIGKILL each",
        ["measure", "Ganga (same run)", "GangaJupyter", "ratio", "note"],
        rows,
        notes,
    )
    return text, missed


def _brief(entry: list[Any] | None) -> str:
    """A listed job in a few words: name, status, subjob statuses counted."""
    if not entry:
        return "absent"
    name, status, subjobs = entry
    counts = ", ".join(f"{n} {s}" for s, n in sorted(Counter(subjobs).items()))
    return f"{name!r} {status}" + (f" [{counts}]" if subjobs else "")


def _distinct(errors: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """One of each kind of failure (the message without job numbers)."""
    seen, out = set(), []
    for name, e in errors:
        key = re.sub(r"\d+", "#", e)
        if key not in seen:
            seen.add(key)
            out.append((name, e))
    return out


if __name__ == "__main__":
    if sys.argv[1:] == ["read"]:
        read_repository()

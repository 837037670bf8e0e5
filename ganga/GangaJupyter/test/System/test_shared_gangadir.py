"""Many kernels on one gangadir (issue 13, items 1 and 2, and its bad input), as the user sees it: cell outputs,
``jobs``, the widget messages a browser would receive, and what a plain Ganga reads from disk afterwards.

Every kernel runs in its own process on one Ganga home; a crash is a SIGKILL of the kernel process alone (its
Local jobs run in sessions of their own and live on, as they would after the out-of-memory killer).
"""
from __future__ import annotations

import json
import os
import pickle
import queue
import random
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from GangaJupyter.testlib.cells import CellError, load, settles, shown, text_of, value
from GangaJupyter.testlib.cells import problems as problem_lines
from GangaJupyter.testlib.kernel import KernelSession, WidgetState, pump_all, wait_for_all
from GangaJupyter.testlib.notebooks import ganga_home

#: What no kernel on a shared gangadir may show (the issue's scenario 1 and 2 messages, and any traceback).
PROBLEMS = ("monitoring is off", "another Ganga session", "RegistryLockError", "Traceback")
SUBMITTED = ("submitted", "running", "completed")  # a submit that returned: never back to "new"
ACTIVE = {"submitting", "submitted", "running", "completing"}
JOBS = "[(j.id, j.name, j.status) for j in jobs]"
SLEEP2 = "Job(application=Executable(exe='/bin/sleep', args=['2']), backend=Local())"
SURVIVOR = "Job(name='survivor', application=Executable(exe='/bin/sh', args=['-c', 'sleep 8; echo done']), backend=Local())"
LOAD_TIMEOUT = 180  # seconds for a %load_ext of its own (Ganga's bootstrap) on a busy two-core CI machine


# ------------------------------------------------------------------------------------------------ what the user sees
def problems(kernel: KernelSession, start: int = 0, end: int | None = None) -> list[str]:
    return problem_lines(kernel, PROBLEMS, start, end)


def plain_ganga_jobs(env: dict[str, str], cwd: Path) -> list[list[Any]]:
    """``[id, name, status]`` of every job as a fresh Ganga without GangaJupyter reads the repository from disk."""
    code = (
        "import json, sys\n"
        "import ganga.ganga\n"
        "from ganga import jobs\n"
        "table = [[j.id, j.name, j.status] for j in jobs]\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'GangaJupyter')\n"
        "print('PLAIN ' + json.dumps({'jobs': table, 'GangaJupyter': loaded}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    line = next((x for x in done.stdout.splitlines() if x.startswith("PLAIN ")), None)
    assert line, f"a plain Ganga could not read the repository:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    read = json.loads(line[len("PLAIN ") :])
    assert read["GangaJupyter"] == [], f"the plain Ganga loaded GangaJupyter: {read['GangaJupyter']}"
    assert "Incomplete" not in done.stdout + done.stderr, done.stdout[-2000:] + done.stderr[-2000:]
    return read["jobs"]


def as_lists(table: list[tuple[Any, ...]]) -> list[list[Any]]:
    return [list(row) for row in table]


# ------------------------------------------------------------------------------------------------ four kernels
@dataclass
class Shared:
    env: dict[str, str]
    root: Path
    kernels: list[KernelSession]


@pytest.fixture(scope="module")
def four(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    """Four kernels with the same HOME (one Ganga home), each after ``%load_ext GangaJupyter``, one after the
    other as a user opens notebooks."""
    root = tmp_path_factory.mktemp("four")
    env = ganga_home(root / "home", runtime_path=False)
    kernels: list[KernelSession] = []
    try:
        for _ in range(4):
            kernels.append(KernelSession(env, str(root)))
            load(kernels[-1])
        yield Shared(env, root, kernels)
    finally:
        for kernel in kernels:
            kernel.close()


@dataclass
class Submit:
    end: int  # index of the kernel's outputs after its load and submit cells
    reply: str
    job: tuple[int, str] | None  # (id, status) right after submit() returned


@pytest.fixture(scope="module")
def scenario_1(four: Shared) -> list[Submit]:
    """Each of the four kernels submits the issue's job, in turn."""
    done = []
    for kernel in four.kernels:
        reply = kernel.run(f"mine = {SLEEP2}\nmine.submit()")
        end = len(kernel.outputs)
        try:
            job = value(kernel, "(mine.id, mine.status)")
        except CellError:
            job = None
        done.append(Submit(end, reply["status"], job))
    return done


def test_four_kernels_on_one_gangadir_each_submit_and_each_lists_every_job(four: Shared, scenario_1: list[Submit]):
    """Issue 13, scenario 1 as written, with four kernels: none is told "monitoring is off", no submit raises a
    RegistryLockError or goes back to "new", every kernel's ``jobs`` lists all four jobs, and every job reaches
    "completed" in every kernel's ``jobs``."""
    told = {n: problems(k, 0, s.end) for n, (k, s) in enumerate(zip(four.kernels, scenario_1))}
    assert not any(told.values()), f"kernels were told (kernel: lines): {told}"
    assert [s.reply for s in scenario_1] == ["ok"] * 4, [s.reply for s in scenario_1]
    submitted = [s.job for s in scenario_1]
    assert all(job and job[1] in SUBMITTED for job in submitted), f"(id, status) after submit(): {submitted}"
    ids = {job[0] for job in submitted if job}
    assert len(ids) == 4, f"four submits gave the ids {submitted}"
    listed = {}
    for n, kernel in enumerate(four.kernels):
        ok, listed[n] = settles(kernel, "sorted(j.id for j in jobs)", lambda v: ids <= set(v), timeout=10)
        assert ok, f"kernel {n}'s jobs lists {listed[n]}, not all of {sorted(ids)}, 10 s after the last submit"
    assert len({tuple(v) for v in listed.values()}) == 1, f"the kernels' jobs differ: {listed}"
    went_new: set[tuple[int, int]] = set()

    def all_completed(n: int) -> Callable[[Any], bool]:
        def check(statuses: dict[int, str]) -> bool:
            went_new.update((n, i) for i in ids if statuses.get(i) == "new")
            return all(statuses.get(i) == "completed" for i in ids)

        return check

    for n, kernel in enumerate(four.kernels):
        ok, last = settles(kernel, "{j.id: j.status for j in jobs}", all_completed(n), timeout=60)
        assert ok, f"kernel {n}'s jobs, 60 s on: {last} (every one of {sorted(ids)} should be completed)"
    assert not went_new, f"(kernel, job) listed as 'new' after its submit returned: {sorted(went_new)}"


def test_a_plain_ganga_agrees_with_every_kernel_after_scenario_1(four: Shared, scenario_1: list[Submit]):
    """Issue 13, "A fault suite": at the end of scenario 1 a fresh plain Ganga (no GangaJupyter) reads the
    repository while the kernels run, and agrees with every kernel's ``jobs`` on each job's id, name and status."""
    ids = {s.job[0] for s in scenario_1 if s.job}
    ok, last = settles(four.kernels[0], "{j.id: j.status for j in jobs}", lambda v: all(v.get(i) == "completed" for i in ids) and ids, 60)
    assert ok, f"the jobs of scenario 1 did not complete in kernel 0: {last}"
    on_disk = plain_ganga_jobs(four.env, four.root)
    for n, kernel in enumerate(four.kernels):
        assert as_lists(value(kernel, JOBS)) == on_disk, f"kernel {n} and the repository on disk differ"


LIFECYCLE = ("new", "submitting", "submitted", "running", "completing", "completed")


def first_at_or_after(view: WidgetState, status: str) -> float | None:
    """When ``view`` first showed ``status`` or a status after it in a job's life (a change that lasted less than a
    batch of the event stream, e.g. submitted for 50 ms, may be passed over: the view shows the job as it is)."""
    later = LIFECYCLE[LIFECYCLE.index(status):]
    return next((t for t, delta in view.history if delta.get("status") in later), None)


def test_a_job_of_one_kernel_is_live_in_the_views_of_every_kernel(four: Shared):
    """Issue 13, item 1: "Every status change of every job reaches every live view showing it, in any kernel,
    within 1 s". Kernel A shows its job; kernels B, C and D show ``jobs(<id>)``; each of their views shows the job
    "submitted" (or already further), "running" (or further) and "completed" within 1 s of A's view."""
    a, *others = four.kernels
    start = len(a.outputs)
    a.run("watched = Job(application=Executable(exe='/bin/sh', args=['-c', 'sleep 4']), backend=Local())\nwatched")
    owner = a.views()[-1] if a.views() else None
    assert owner is not None and owner.state["status"] == "new", f"no live view of the new job: {shown(a, start)[-1500:]}"
    jid = value(a, "watched.id")
    views = []
    for name, kernel in zip("BCD", others):
        ok, last = settles(kernel, "[j.id for j in jobs]", lambda v: jid in v, timeout=5)
        assert ok, f"kernel {name}'s jobs does not list job {jid} of kernel A (5 s after it was created): {last}"
        before, start = len(kernel.views()), len(kernel.outputs)
        kernel.run(f"jobs({jid})")
        assert len(kernel.views()) > before, f"kernel {name} shows no live view of jobs({jid}): {shown(kernel, start)[-1500:]}"
        views.append(kernel.views()[-1])
    submit = a.client.execute("watched.submit()")
    everyone = [a, *others]
    done = wait_for_all(everyone, lambda: all(v.state["status"] == "completed" for v in [owner, *views]), timeout=60)
    assert a.reply(submit)["status"] == "ok", shown(a, start)[-1500:]
    pump_all(everyone, 0.5)  # late messages
    seen = {name: KernelSession.statuses(v) for name, v in zip("ABCD", [owner, *views])}
    assert done, f"not every view reached completed in 60 s: {seen}"
    lags: dict[str, dict[str, float | None]] = {}
    for status in ("submitted", "running", "completed"):
        shown_at = first_at_or_after(owner, status)
        assert shown_at is not None, f"kernel A's own view never showed {status!r} or later: {seen['A']}"
        lags[status] = {
            name: (None if (t := first_at_or_after(v, status)) is None else round(t - shown_at, 3))
            for name, v in zip("BCD", views)
        }
    late = {s: {n: lag for n, lag in by.items() if lag is None or lag > 1.0} for s, by in lags.items()}
    assert not any(late.values()), f"views later than 1 s after kernel A's (s; None: never): {lags}; statuses seen: {seen}"


def test_a_kernel_that_did_not_submit_kills_resubmits_and_removes(four: Shared):
    """Issue 13, item 1: "Every kernel can create, submit, kill, resubmit and remove jobs" (not only its own).
    Kernel B kills and resubmits a running job of kernel A and removes a finished one; B shows no error, and the
    ``jobs`` of A and C agree."""
    a, b, c = four.kernels[:3]
    a.run("long = Job(application=Executable(exe='/bin/sh', args=['-c', 'sleep 60']), backend=Local())\nlong.submit()")
    a.run("short = Job(application=Executable(exe='/bin/true'), backend=Local())\nshort.submit()")
    long_id, short_id = value(a, "long.id"), value(a, "short.id")
    try:
        ok, last = settles(a, f"(jobs({long_id}).status, jobs({short_id}).status)", lambda v: v == ("running", "completed"), 60)
        assert ok, f"kernel A's jobs {long_id} and {short_id} should be running and completed: {last}"
        ok, last = settles(b, f"jobs({long_id}).status", lambda v: v == "running", 10)
        assert ok, f"kernel B does not see kernel A's job {long_id} running: {last}"

        def act(code: str) -> None:
            start = len(b.outputs)
            reply = b.run(code)
            told = problems(b, start) + [text_of(m) for m in b.outputs[start:] if m["msg_type"] == "error"]
            assert reply["status"] == "ok" and not told, f"kernel B, {code}: {reply['status']}; {shown(b, start)[-2000:]}"

        def everywhere(expression: str, accept: Callable[[Any], bool], what: str) -> None:
            for name, kernel in (("A", a), ("C", c)):
                ok, last = settles(kernel, expression, accept, 15)
                assert ok, f"kernel {name}: {what}; {expression} is {last}"

        act(f"jobs({long_id}).kill()")
        everywhere(f"jobs({long_id}).status", lambda v: v == "killed", f"job {long_id} killed from B is not killed")
        act(f"jobs({long_id}).resubmit()")
        everywhere(f"jobs({long_id}).status", lambda v: v in ("submitted", "running"), f"job {long_id} resubmitted from B is not active")
        act(f"jobs({short_id}).remove()")
        everywhere("[j.id for j in jobs]", lambda v: short_id not in v, f"job {short_id} removed from B is still listed")
        ok, last = settles(a, JOBS, lambda v: v == value(c, JOBS), 10)
        assert ok, f"the jobs of kernels A and C differ: A {last}, C {value(c, JOBS)}"
    finally:
        a.run(f"jobs({long_id}).kill() if jobs({long_id}).status in ('submitted', 'running') else None")


# ------------------------------------------------------------------------------------------------ crashes
@dataclass
class Takeover:
    env: dict[str, str]
    root: Path
    kernel: KernelSession  # the next kernel, after the first was killed
    submitted: float  # when the submit cell was sent
    loaded: float  # when the next kernel's %load_ext returned


@pytest.fixture(scope="module")
def scenario_2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Takeover]:
    """A kernel submits the issue's "survivor" job and is killed with SIGKILL 2 s later; then the next kernel on
    the same gangadir loads GangaJupyter."""
    root = tmp_path_factory.mktemp("survivor")
    env = ganga_home(root / "home", runtime_path=False)
    first = KernelSession(env, str(root))
    try:
        load(first)
        submitted = time.time()
        assert first.run(f"j = {SURVIVOR}\nj.submit()")["status"] == "ok", shown(first)[-2000:]
        time.sleep(2)  # the crash's moment, as the issue gives it: 2 s after the submit
    finally:
        first.kill()
    second = KernelSession(env, str(root))
    try:
        load(second)
        yield Takeover(env, root, second, submitted, time.time())
    finally:
        second.close()


def test_a_kernel_killed_after_submit_loses_nothing_and_the_next_one_takes_over(scenario_2: Takeover):
    """Issue 13, scenario 2 as written: the next kernel is not told of another Ganga session or that monitoring is
    off, ``jobs(0)`` is still named "survivor", and it reaches "completed" about 12 s after the submit (its payload
    ends at 8 s; the next session monitors within 2 s of starting), with "done" in its stdout."""
    kernel = scenario_2.kernel
    assert not problems(kernel), f"the next kernel was told: {problems(kernel)}"
    assert value(kernel, "jobs(0).name") == "survivor", value(kernel, JOBS)
    deadline = max(scenario_2.submitted + 12, scenario_2.loaded + 2)
    ok, last = settles(kernel, "jobs(0).status", lambda v: v == "completed", max(1.0, deadline - time.time()))
    took = time.time() - scenario_2.submitted
    assert ok, f"jobs(0) is {last!r} {took:.1f} s after the submit (the next kernel loaded at {scenario_2.loaded - scenario_2.submitted:.1f} s)"
    assert "done" in value(kernel, "open(jobs(0).outputdir + '/stdout').read()")


def test_a_plain_ganga_agrees_with_the_next_kernel_after_scenario_2(scenario_2: Takeover):
    """Issue 13, "A fault suite": after scenario 2 a fresh plain Ganga reads the survivor job from disk as the next
    kernel shows it: (0, 'survivor', 'completed')."""
    ok, last = settles(scenario_2.kernel, JOBS, lambda v: v == [(0, "survivor", "completed")], 30)
    assert ok, f"the next kernel's jobs: {last}"
    assert plain_ganga_jobs(scenario_2.env, scenario_2.root) == [[0, "survivor", "completed"]]


def test_a_kernel_killed_a_second_after_making_a_job_loses_its_name_and_comment(tmp_path: Path):
    """Issue 13, item 2: "loses nothing". A job made in a cell with a name, its comment set in the next, never
    submitted: Ganga writes a job when it is made, before ``Job(name=...)`` sets the name, and then every 30 s.
    The kernel is killed 1 s after the last cell; the next kernel and a plain Ganga read the name and comment."""
    env = ganga_home(tmp_path / "home", runtime_path=False)
    first = KernelSession(env, str(tmp_path))
    try:
        load(first)
        assert first.run("j = Job(name='kept', application=Executable(exe='/bin/true'), backend=Local())")["status"] == "ok"
        assert first.run("j.comment = 'set in a later cell'")["status"] == "ok"
        time.sleep(1.0)
    finally:
        first.kill()
    second = KernelSession(env, str(tmp_path))
    try:
        load(second)
        assert value(second, "[(j.id, j.name, j.comment, j.status) for j in jobs]") == [
            (0, "kept", "set in a later cell", "new")
        ]
    finally:
        second.close()
    assert plain_ganga_jobs(env, tmp_path) == [[0, "kept", "new"]]


PLAIN_HOLDER = """
import time
import ganga.ganga
from ganga import Job, Executable, Local, runMonitoring
runMonitoring()
j = Job(name='unjournaled', application=Executable(exe='/bin/sh', args=['-c', 'sleep 3']), backend=Local())
j.submit()
print('SUBMITTED', flush=True)
input()  # the test shows the job in a kernel, then says go on
started = time.time()
while j.status != 'completed' and time.time() - started < 60:
    time.sleep(0.3)
print('ENDED', j.status, flush=True)
"""


def next_line(process: subprocess.Popen, marker: str) -> list[str]:
    """The words of the next line of ``process``'s output that starts with ``marker`` (Ganga logs there too)."""
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(marker):
            return line.split()
    return []


def test_a_view_of_a_job_that_ended_in_a_session_with_no_journal_shows_how_it_ended(tmp_path: Path):
    """Issue 13, item 2: "Each job then reaches its true final state", in every view. A plain Ganga session (no
    GangaJupyter: no journal, as a session killed between writing a job and journaling it) holds a job a
    kernel's view shows active; the job completes there and that session exits. The kernel takes the job over
    from disk, where it is already ``completed``: no status changes, yet its view shows ``completed``."""
    env = ganga_home(tmp_path / "home", runtime_path=False)
    kernel = KernelSession(env, str(tmp_path))
    plain = None
    try:
        load(kernel)
        plain = subprocess.Popen(
            [sys.executable, "-c", PLAIN_HOLDER], env=env, cwd=tmp_path, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        assert plain.stdout is not None and plain.stdin is not None
        assert next_line(plain, "SUBMITTED") == ["SUBMITTED"]
        ok, listed = settles(kernel, "[j.id for j in jobs]", lambda v: 0 in v, 10)
        assert ok, f"the kernel does not list the plain session's job: {listed}"
        before = len(kernel.views())
        kernel.run("jobs(0)")
        assert len(kernel.views()) > before, "no live view of jobs(0)"
        view = kernel.views()[-1]
        assert view.state["status"] != "completed"  # Ganga rewrites a job's index entry only at its shutdown
        plain.stdin.write("\n")
        plain.stdin.flush()
        assert next_line(plain, "ENDED") == ["ENDED", "completed"]
        assert plain.wait(timeout=60) == 0
        shown_ = wait_for_all([kernel], lambda: view.state["status"] == "completed", timeout=15)
        assert shown_, f"the view shows {view.state['status']!r} 15 s after the job completed and its session exited"
    finally:
        if plain is not None and plain.poll() is None:
            plain.kill()
        kernel.close()


PLAIN_RESUBMITTER = """
import time
import ganga.ganga
from ganga import Job, Executable, Local, runMonitoring
from GangaCore.GPIDev.Base.Proxy import stripProxy
runMonitoring()
j = Job(name='resubmitted', application=Executable(exe='/bin/sh', args=['-c', 'sleep 1']), backend=Local())
j.submit()
started = time.time()
while j.status != 'completed' and time.time() - started < 60:
    time.sleep(0.3)
stripProxy(j)._getRegistry()._flush([stripProxy(j)])  # plain Ganga writes every 30 s
print('ENDED', j.status, flush=True)
input()
j.resubmit()
stripProxy(j)._getRegistry()._flush([stripProxy(j)])  # submitted, on disk for 30 s (the run ends in 1 s)
print('RESUBMITTED', j.status, flush=True)
input()
"""


def test_a_job_resubmitted_elsewhere_is_shown_live_not_as_it_ended(tmp_path: Path):
    """Issue 13, item 1: "every status change of every job reaches every live view". A kernel shows a job that
    ended in another session; that session resubmits it; a view displayed then follows the run, however late
    the news of the resubmit reaches the kernel (here never: a plain Ganga session journals nothing). The
    reliability benchmark's stale views: the copy in memory said ``killed``, so the view settled at once."""
    env = ganga_home(tmp_path / "home", runtime_path=False)
    kernel = KernelSession(env, str(tmp_path))
    plain = None
    try:
        load(kernel)
        plain = subprocess.Popen(
            [sys.executable, "-c", PLAIN_RESUBMITTER], env=env, cwd=tmp_path, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        assert plain.stdout is not None and plain.stdin is not None
        assert next_line(plain, "ENDED") == ["ENDED", "completed"]
        before, start = len(kernel.views()), len(kernel.outputs)
        kernel.run("jobs(0)")  # the kernel last read it new (a plain session journals nothing): read again
        assert len(kernel.views()) == before, f"an ended job got a live view: {shown(kernel, start)[-800:]}"
        assert "completed" in shown(kernel, start), shown(kernel, start)[-800:]
        plain.stdin.write("\n")
        plain.stdin.flush()
        assert next_line(plain, "RESUBMITTED")[:1] == ["RESUBMITTED"]
        start = len(kernel.outputs)
        kernel.run("jobs(0)")
        assert len(kernel.views()) > before, f"the resubmitted job is shown as it ended: {shown(kernel, start)[-800:]}"
        assert kernel.views()[-1].state["status"] in ("submitted", "running"), kernel.views()[-1].state["status"]
        assert not problems(kernel), problems(kernel)
    finally:
        if plain is not None and plain.poll() is None:
            plain.kill()
        kernel.close()


def written_status(folder: Path) -> str | None:
    """The status a job's data file in ``folder`` holds (what a Ganga starting now reads), None while unreadable."""
    try:
        value_ = ET.parse(folder / "data").getroot().find("./class/attribute[@name='status']/value")
    except (OSError, ET.ParseError):
        return None
    return None if value_ is None or value_.text is None else value_.text.strip().strip("'\"")


def expected_master(statuses: list[str]) -> set[str]:
    """The master statuses that tell the truth about these final subjob statuses: Ganga's own rule (the first of
    failed, killed, completed present), or "failed" when some subjobs never went out."""
    rule = next((s for s in ("failed", "killed", "completed") if s in statuses), None)
    if "new" in statuses:
        return {"failed", "new"} if rule is None else {rule, "failed"}
    return {rule} if rule else {"new", "failed"}


def test_a_kernel_killed_during_the_submit_of_100_subjobs_corrupts_nothing(tmp_path: Path):
    """Issue 13, item 2: "A kernel killed with SIGKILL at any moment (during submit() of a 100-subjob job ...)
    loses nothing and corrupts nothing ... never stuck in new or submitted". Killed at a random moment of the
    submit, or as it returns (GANGAJUPYTER_KILL_AFTER=<s> repeats one); the next kernel reads the job whole, every subjob whose
    payload ran is completed, the others new or failed, none active after 30 s, and the master agrees."""
    # a 100-subjob Local submit takes 1-6 s here (load): its scripts are written from about 1 s, subjobs go out
    # from about 2 s; a submit that returns first is killed as it returns
    delay = float(os.environ.get("GANGAJUPYTER_KILL_AFTER") or round(random.uniform(0.2, 4.0), 2))
    env = ganga_home(tmp_path / "home", runtime_path=False)
    gangadir = tmp_path / "home" / "gangadir"
    first = KernelSession(env, str(tmp_path))
    try:
        load(first)
        first.run(
            "split = Job(name='split-100', application=Executable(exe='/bin/true'), backend=Local(),\n"
            "            splitter=ArgSplitter(args=[[str(i)] for i in range(100)]))"
        )
        started = time.time()
        submit = first.client.execute("split.submit()")
        try:
            returned: dict[str, Any] | None = first.reply(submit, timeout=delay)  # it ended before the crash
        except queue.Empty:
            returned = None
        first.drain()
    finally:
        first.kill()
    at = f"{time.time() - started:.2f} s into split.submit()" + ("" if returned is None else ", as it returned")
    when = f"killed {at} (GANGAJUPYTER_KILL_AFTER={delay} repeats it)"
    assert returned is None or returned["status"] == "ok", f"split.submit() failed before the kill: {shown(first)[-1500:]}"
    second = KernelSession(env, str(tmp_path))
    try:
        load(second)
        start = len(second.outputs)
        reply = second.run("split = jobs(0)\nprint(split.id, split.status, len(split.subjobs))")
        read = shown(second, start)
        assert reply["status"] == "ok" and "Incomplete" not in read and "corrupt" not in read.lower(), f"{when}: {read[-2000:]}"
        ok, statuses = settles(second, "[s.status for s in jobs(0).subjobs]", lambda v: not ACTIVE & set(v), 30)
        ran = {int(p.parts[-3]) for p in gangadir.glob("workspace/*/LocalXML/0/*/output/__jobstatus__")}  # went out
        count = dict(Counter(statuses)) if isinstance(statuses, list) else statuses
        assert ok, f"{when}: subjob statuses 30 s after the next kernel started: {count} ({len(ran)} went out)"
        lost = sorted(i for i in ran if i >= len(statuses))
        assert not lost, f"{when}: subjobs ran but are not in the repository: {lost} ({len(statuses)} subjobs there)"
        wrong = {i: s for i, s in enumerate(statuses) if (s != "completed" if i in ran else s not in ("new", "failed"))}
        assert not wrong, f"{when}: subjob statuses untrue to what ran ({len(ran)} of {len(statuses)} ran): {wrong}"
        # taken over within the 2 s of the start (the kernel reads and adopts in the background)
        _, master = settles(second, "jobs(0).status", lambda v: v in expected_master(statuses), 5)
        assert master in expected_master(statuses), f"{when}: master {master!r} with subjobs {count}"
        assert not problems(second), f"{when}: the next kernel was told {problems(second)}"
        # a takeover that made the job new again writes it, removing the folders of the subjobs cut short (Ganga
        # removes them one by one): closed before it has, the kernel would leave a job no Ganga can read
        folder = next(gangadir.glob("repository/*/LocalXML/6.0/jobs/0xxx/0"))
        deadline = time.time() + 30
        while len([p for p in folder.iterdir() if p.name.isdigit()]) != len(statuses) and time.time() < deadline:
            time.sleep(0.1)
        # the holder writes each change within a second or two (its session service): on disk before the kill
        # below, which the CI of 1a7a239 made as the master's status was still in memory only
        seen = time.time()
        while written_status(folder) != master and time.time() - seen < 10:
            time.sleep(0.1)
        assert written_status(folder) == master, f"{when}: the master is {master!r} in the kernel, {written_status(folder)!r} on disk 10 s later"
    finally:
        second.close()
    assert plain_ganga_jobs(env, tmp_path) == [[0, "split-100", master]], when


# ------------------------------------------------------------------------------------------------ bad input
def submits_and_completes(kernel: KernelSession, name: str) -> None:
    """A job submits from this kernel and its status reaches completed (it is monitored here): a new one bound to
    ``name``, or, for ``jobs(<id>)``, that one."""
    start = len(kernel.outputs)
    make = "" if name.startswith("jobs(") else f"{name} = Job(application=Executable(exe='/bin/true'), backend=Local())\n"
    reply = kernel.run(f"{make}{name}.submit()")
    assert reply["status"] == "ok", shown(kernel, start)[-2000:]
    ok, last = settles(kernel, f"{name}.status", lambda v: v == "completed", 30)
    assert ok, f"the kernel's own job is {last!r} 30 s after its submit: {shown(kernel, start)[-1500:]}"


def test_a_garbage_session_registration_is_named_with_its_fix(tmp_path: Path):
    """Issue 13, bad input: "a session registration file that is garbage" in <gangadir>/jupyter/sessions when a
    kernel loads GangaJupyter. The kernel names the file and how to fix it (remove it), with no traceback, and
    works: its jobs submit and are monitored."""
    env = ganga_home(tmp_path / "home", runtime_path=False)
    sessions = tmp_path / "home" / "gangadir" / "jupyter" / "sessions"
    sessions.mkdir(parents=True, mode=0o700)
    (sessions.parent).chmod(0o700)
    junk = sessions / "4f2b9c0d1e.json"
    junk.write_bytes(b'{"sid": \x00\xff not json at all')
    kernel = KernelSession(env, str(tmp_path))
    try:
        load(kernel)
        told = shown(kernel)
        assert not problems(kernel), problems(kernel)
        assert junk.name in told, f"the garbage registration {junk.name} is not named: {told[-1500:]}"
        assert any(w in told.lower() for w in ("remove", "delete")), f"no fix is given: {told[-1500:]}"
        submits_and_completes(kernel, "mine")
    finally:
        kernel.close()


STALE_SESSION = "otherhost.12.00_Monday_01_January_2026.PID.4242.session"


@pytest.mark.parametrize("age", [10, 3600], ids=["10 s old", "an hour old"])
def test_a_stale_ganga_lock_of_another_host_does_not_block_this_kernel(tmp_path: Path, age: int):
    """Issue 13, bad input: "a stale lock left by a session on another host". Ganga's session files of
    ``otherhost`` (pid 4242) lock job 0; their last update was 10 s ago (Ganga cannot tell yet that the session is
    gone: DiskIOTimeout is 45 s) or an hour ago (expired by Ganga's own rule). A kernel here loads GangaJupyter:
    it is not told that monitoring is off, shows no traceback, reads job 0, and its own submits work and are
    monitored. A lock Ganga still honours is named to the user (otherhost), with what to do; an expired one
    holds nothing: this kernel submits job 0."""
    env = ganga_home(tmp_path / "home", runtime_path=False)
    made = subprocess.run(
        [sys.executable, "-c", "import ganga.ganga\nfrom ganga import Job\nJob(name='theirs')\n"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr[-2000:]
    [sessions] = (tmp_path / "home" / "gangadir" / "repository").glob("*/LocalXML/6.0/sessions")
    touched = time.time() - age
    for name, data in ((STALE_SESSION, b""), (STALE_SESSION + ".jobs.locks", pickle.dumps({0}))):
        (sessions / name).write_bytes(data)
        os.utime(sessions / name, (touched, touched))
    kernel = KernelSession(env, str(tmp_path))
    try:
        load(kernel)
        assert not problems(kernel), f"the kernel was told: {problems(kernel)}"
        assert value(kernel, "jobs(0).name") == "theirs"
        submits_and_completes(kernel, "mine")
        if age < 45:
            told = shown(kernel)
            assert "otherhost" in told, f"the user is not told of otherhost's session holding job 0: {told[-1500:]}"
            assert any(w in told.lower() for w in ("close", "expire", "remove")), f"no fix is given: {told[-1500:]}"
        else:
            submits_and_completes(kernel, "jobs(0)")
        assert not problems(kernel), f"the kernel was told: {problems(kernel)}"
    finally:
        kernel.close()


def read_only(path: Path) -> Callable[[], None]:
    """Make ``path`` read-only for this process (a read-only bind mount as root, where modes do not stop writes;
    else ``chmod -R a-w``); returns what undoes it. Skips when neither is possible here."""
    if os.geteuid() != 0:
        subprocess.run(["chmod", "-R", "a-w", str(path)], check=True)
        return lambda: subprocess.run(["chmod", "-R", "u+w", str(path)], check=True)
    bind = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True, text=True)
    if bind.returncode != 0:
        pytest.skip(f"root, but cannot bind-mount {path} read-only here (no CAP_SYS_ADMIN?): {bind.stderr.strip()}")
    ro = subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], capture_output=True, text=True)
    if ro.returncode != 0:
        subprocess.run(["umount", str(path)], check=True)
        pytest.skip(f"root, but cannot remount {path} read-only here: {ro.stderr.strip()}")
    return lambda: subprocess.run(["umount", str(path)], check=True)


def test_a_read_only_gangadir_is_named_with_its_fix(tmp_path: Path):
    """Issue 13, bad input: "a gangadir on a read-only filesystem". A first kernel made the gangadir and ran a job;
    the gangadir is then read-only. The next kernel's %load_ext names the gangadir and that it is read-only or
    not writable, says what to do (not Ganga's advice to change its lockingStrategy, which names the wrong cause),
    and shows no traceback."""
    env = ganga_home(tmp_path / "home", runtime_path=False)
    gangadir = tmp_path / "home" / "gangadir"
    first = KernelSession(env, str(tmp_path))
    try:
        load(first)
        submits_and_completes(first, "mine")
    finally:
        first.close(graceful=True)
    undo = read_only(gangadir)
    try:
        try:
            (gangadir / "probe").touch()
        except OSError:
            pass
        else:
            pytest.skip(f"{gangadir} is still writable here after making it read-only")
        kernel = KernelSession(env, str(tmp_path))
        try:
            kernel.run("%load_ext GangaJupyter", timeout=LOAD_TIMEOUT)
            told = shown(kernel)
        finally:
            kernel.close()
    finally:
        undo()
    assert "Traceback" not in told, told[-2000:]
    named = [x for x in told.splitlines() if str(gangadir) in x and ("read-only" in x.lower() or "not writable" in x.lower())]
    assert named, f"no line names the gangadir {gangadir} as read-only: {told[-1500:]}"
    assert any(w in told for w in (".gangarc", "writable")), f"no fix is given: {told[-1500:]}"
    wrong = [x for x in told.splitlines() if "lockingStrategy" in x or "unix locks" in x]
    assert not wrong, f"the user is sent after a wrong cause (locking, not a read-only gangadir): {wrong}"


OLDER = "b3c7d45"  # the last GangaJupyter before sessions took calls from each other (registration protocol 1)


def test_a_notebook_with_an_older_gangajupyter_is_named_with_what_to_do(tmp_path: Path):
    """Issue 13, bad input: "a kernel started with an older GangaJupyter than the owner (say what to do)". A
    notebook runs the GangaJupyter of commit ``OLDER`` and holds a running job; a notebook with this GangaJupyter
    loads on the same gangadir: it is told which notebook holds the job and to restart that notebook's kernel,
    and its ``kill()`` of the job says the same instead of failing on Ganga's lock; the job runs on."""
    root = Path(__file__).resolve().parents[4]
    try:
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", OLDER, "ganga/GangaJupyter"], capture_output=True, check=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError) as err:
        pytest.skip(f"needs the git history of this checkout for GangaJupyter {OLDER}: {err}")
    old = tmp_path / "older"
    old.mkdir()
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True, timeout=60)
    env = ganga_home(tmp_path / "home", runtime_path=False)
    older = KernelSession({**env, "PYTHONPATH": str(old / "ganga")}, str(tmp_path))
    newer = None
    try:
        load(older)
        assert value(older, "__import__('GangaJupyter').__file__").startswith(str(old)), "the older notebook runs this GangaJupyter"
        assert value(older, "(held := " + SLEEP2.replace("'2'", "'120'") + ").submit() and held.id") == 0
        newer = KernelSession(env, str(tmp_path))
        load(newer)
        told = shown(newer)
        assert "Jobs 0 are held by a Ganga session that this notebook cannot reach" in told, told[-2000:]
        assert "older GangaJupyter" in told and "restart that notebook's kernel" in told, told[-2000:]
        start = len(newer.outputs)
        newer.run("jobs(0).kill()")
        kill_told = shown(newer, start)
        assert "older GangaJupyter" in kill_told and "restart that notebook's kernel" in kill_told, kill_told[-2000:]
        assert "RegistryLockError" not in kill_told, kill_told[-2000:]
        assert value(older, "held.status") in ("submitted", "running"), "the job did not run on in the older notebook"
    finally:
        if newer is not None:
            newer.close()
        older.run("held.kill()")
        older.close()

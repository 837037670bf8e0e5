"""GangaJupyter adds no warning to Ganga's: the same jobs, run by plain Ganga and by Ganga with GangaJupyter
loaded (each in its own process, library mode, monitoring on), print the same Ganga warnings and errors, and
every finished job is finalised once (its postprocessor runs once)."""
import asyncio
import collections
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from GangaCore.testlib.decorators import add_config

from GangaJupyter.Lib.Monitor.update_guard import one_update_per_job
from GangaJupyter.testlib.notebooks import ganga_home
from GangaJupyter.testlib.waiting import wait_until

#: Every job carries Ganga's CustomChecker, whose module logs each run of the postprocessor of a job.
CHECK = 'def check(job):\n    open({log!r}, "a").write(job.fqid + "\\n")\n    return True\n'

SCRIPT = """
import sys, time
import ganga.ganga
from ganga import *

checker = CustomChecker(module={check!r}, checkSubjobs=True, checkMaster=True)
enableMonitoring()
jobs = [Job(application=Executable(exe="echo", args=["hi", str(i)]), backend=Local(), postprocessors=[checker])
        for i in range({singles})]
jobs.append(Job(application=Executable(exe="echo"), backend=Local(), postprocessors=[checker],
                splitter=ArgSplitter(args=[[str(k)] for k in range({subjobs})])))
for j in jobs:
    j.submit()
deadline = time.time() + 40
while time.time() < deadline and any(j.status != "completed" for j in jobs):
    time.sleep(0.1)
time.sleep(4.5)  # Ganga's next Local poll (every 4 s) would finalise a job a second time
print("STATUSES", [j.status for j in jobs], flush=True)
"""

LEVEL = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b|Warning:")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def normalised(line: str) -> str:
    """A log line without paths and numbers (job ids, PIDs, temporary names differ between runs)."""
    line = re.sub(r"'?/[^\s'\"]*'?", "<path>", line)
    line = re.sub(r"0x[0-9a-f]+|\d+", "<n>", line)
    return line.strip()


def start(root: Path, gangajupyter: bool, singles: int, subjobs: int) -> tuple[subprocess.Popen, Path]:
    root.mkdir(parents=True)
    log = root / "postprocessed.txt"
    check = root / "check.py"
    check.write_text(CHECK.format(log=str(log)))
    # Local polled every 4 s, not 10 s, to keep the test short; with a poll shorter than Ganga's 2 s scan plain
    # Ganga would finalise jobs twice itself (it polls the jobs the last scan found active)
    env = ganga_home(root, runtime_path=gangajupyter, extra="[PollThread]\nLocal = 4\n")
    code = textwrap.dedent(SCRIPT.format(check=str(check), singles=singles, subjobs=subjobs))
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    return proc, log


def finish(proc: subprocess.Popen, log: Path) -> tuple[str, list[str], collections.Counter]:
    output, _ = proc.communicate(timeout=90)
    assert proc.returncode == 0, output
    assert "STATUSES" in output and "'completed'" in output and "failed" not in output.split("STATUSES")[1], output
    problems = [normalised(line) for line in ANSI.sub("", output).splitlines() if LEVEL.search(line)]
    runs = collections.Counter(log.read_text().split()) if log.exists() else collections.Counter()
    return output, problems, runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three processes at once: plain Ganga and GangaJupyter with 3 jobs and a 4-subjob job, and GangaJupyter
    with a 20-subjob job (fast detection then watches a workspace whose subjob folders are still being made)."""
    root = tmp_path_factory.mktemp("warnings")
    started = {
        "plain": start(root / "plain", False, singles=3, subjobs=4),
        "gangajupyter": start(root / "gangajupyter", True, singles=3, subjobs=4),
        "split20": start(root / "split20", True, singles=0, subjobs=20),
    }
    return {name: finish(*run) for name, run in started.items()}


def test_gangajupyter_prints_no_ganga_warning_that_plain_ganga_does_not(runs):
    _, plain, _ = runs["plain"]
    output, ours, _ = runs["gangajupyter"]
    only_ours = collections.Counter(ours) - collections.Counter(plain)
    assert not only_ours, f"printed only with GangaJupyter: {dict(only_ours)}\n\n{output}"


def test_each_finished_job_is_finalised_once(runs):
    _, _, plain = runs["plain"]
    output, _, ours = runs["gangajupyter"]
    assert len(plain) == 3 + 4 + 1 and set(plain.values()) == {1}, plain  # Ganga's own behaviour, for reference
    assert ours == plain, output


def test_a_20_subjob_job_prints_no_warning(runs):
    output, problems, postprocessed = runs["split20"]
    assert problems == [], output  # watchdog's "Callback with id ... already exists for watch ..." among others
    assert len(postprocessed) == 21 and set(postprocessed.values()) == {1}, postprocessed


@add_config([("Configuration", "RUNTIME_PATH", "GangaJupyter")])
def test_two_updates_of_an_ended_local_job_at_once_finalise_it_once(gpi, tmp_path):
    """Fast detection and Ganga's poll reading one status file together (Ganga's Local update, run twice)."""
    from GangaCore.Core import monitoring_component
    from GangaCore.GPIDev.Base.Proxy import stripProxy
    from GangaCore.Lib.Localhost.Localhost import Localhost

    if monitoring_component.enabled:  # the job must still be 'submitted' when both updates read its file
        gpi.disableMonitoring()
    log, check = tmp_path / "postprocessed.txt", tmp_path / "check.py"
    check.write_text(CHECK.format(log=str(log)))
    j = gpi.Job(
        application=gpi.Executable(exe="true"), backend=gpi.Local(), postprocessors=[gpi.CustomChecker(module=str(check))]
    )
    j.submit()
    status_file = Path(j.outputdir) / "__jobstatus__"
    assert wait_until(lambda: status_file.exists() and "EXITCODE" in status_file.read_text(), timeout=30)
    update = one_update_per_job(Localhost.updateMonitoringInformation)
    job = stripProxy(j)

    async def at_once():
        await asyncio.gather(update([job]), update([job]))

    asyncio.run(at_once())
    assert j.status == "completed"
    assert log.read_text().split() == [str(j.id)]

"""A session with GangaJupyter reads exactly the jobs plain Ganga reads (issue 15: the start-up patches
``index_placeholders_light`` and ``registry_find_by_id`` change how fast, not what).

One repository, made with Ganga's own API (jobs new, completed, failed, killed, split, with names and comments),
is read by a plain Ganga session and by one with GangaJupyter in RUNTIME_PATH, each in a fresh process; every
job's id, status, name, comment, application, backend and subjobs (count and statuses) must agree.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from GangaJupyter.testlib.notebooks import GANGARC_HEADER

MAKE = r"""
import ganga.ganga
from ganga import ArgSplitter, Executable, Job, Local, enableMonitoring

enableMonitoring()  # a script session of Ganga starts with it off
from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.testlib.monitoring import run_until_state

done = Job(name="done", application=Executable(exe="/bin/echo", args=["hi"]), backend=Local())
done.submit()
broken = Job(name="broken", comment="exits 3", application=Executable(exe="/bin/sh", args=["-c", "exit 3"]), backend=Local())
broken.submit()
stopped = Job(name="stopped", application=Executable(exe="/bin/sleep", args=["60"]), backend=Local())
stopped.submit()
stopped.kill()
ran = Job(name="ran split", application=Executable(exe="/bin/true"), backend=Local(), splitter=ArgSplitter(args=[[]] * 4))
ran.submit()
unsent = Job(name="split, not sent", application=Executable(exe="/bin/true"), splitter=ArgSplitter(args=[[str(i)] for i in range(30)]))
stripProxy(unsent)._doSplitting()
for i in range(300):
    Job(name=f"analysis-{i}" if i % 7 else f"<b>odd & {i}</b>", comment="" if i % 3 else f"comment {i}")
for j, final in ((done, "completed"), (broken, "failed"), (ran, "completed")):
    assert run_until_state(j, final, timeout=60), j.status
"""

READ = r"""
import json, sys
import ganga.ganga
from ganga import jobs
from GangaCore.GPIDev.Base.Proxy import stripProxy

def entry(j):
    return [j.id, j.status, j.name, j.comment, type(stripProxy(j.application)).__name__,
            type(stripProxy(j.backend)).__name__, len(j.subjobs), [s.status for s in j.subjobs]]

rows = [entry(j) for j in jobs]  # index entries first: what start-up read
patches = {}
try:
    from GangaJupyter.Lib.GangaPatches import index_placeholders_light, registry_find_by_id
    patches = {p.name: p.installed() for p in (index_placeholders_light.PATCH, registry_find_by_id.PATCH)}
except ImportError:
    pass
print("RESULT " + json.dumps({"jobs": rows, "patches": patches}))
"""


def _session(home: Path, gangadir: Path, code: str, runtime_path: bool) -> dict:
    home.mkdir(parents=True, exist_ok=True)
    config = GANGARC_HEADER + f"[Configuration]\ngangadir = {gangadir}\n"
    config += "RUNTIME_PATH = GangaJupyter\n" if runtime_path else ""
    (home / ".gangarc").write_text(config)
    env = {**os.environ, "HOME": str(home), "GANGA_CONFIG_FILE": str(home / ".gangarc")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(lines[0][len("RESULT ") :]) if lines else {}


def test_a_session_with_gangajupyter_reads_every_job_as_plain_ganga_does(tmp_path: Path):
    gangadir = tmp_path / "gangadir"
    _session(tmp_path / "maker", gangadir, MAKE, runtime_path=False)
    plain = _session(tmp_path / "plain", gangadir, READ, runtime_path=False)
    ours = _session(tmp_path / "ours", gangadir, READ, runtime_path=True)
    assert ours["patches"] == {"index_placeholders_light": True, "registry_find_by_id": True}
    assert len(plain["jobs"]) == 305
    statuses = {row[1] for row in plain["jobs"]}
    assert {"new", "completed", "failed", "killed"} <= statuses, statuses
    assert [row[6] for row in plain["jobs"] if row[6]] == [4, 30]
    assert ours["jobs"] == plain["jobs"]

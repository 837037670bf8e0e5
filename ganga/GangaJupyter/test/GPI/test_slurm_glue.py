"""The Slurm glue's pure parts, without a cluster: Slurm's output parsed, Ganga's wrapper template patched."""
import re
from pathlib import Path

import GangaCore.Lib.Batch as batch

from GangaJupyter.Lib.GangaPatches.slurm_no_30s_floor import wait_on_payload
from GangaJupyter.Lib.Slurm.monitoring import describe_pending
from GangaJupyter.Lib.Slurm.scheduler import parse_sacct, parse_squeue


def test_ganga_s_own_wrapper_template_waits_on_its_payload_instead_of_sleeping():
    template = (Path(batch.__file__).parent / "BatchScriptTemplate.py.template").read_text()
    patched = wait_on_payload(template.replace("###HEARTBEATFREQUENCE###", "30"))
    assert patched is not None
    assert "time.sleep(30)" not in patched and "child.wait(timeout=30)" in patched
    compile(re.sub(r"###\w+###", "None", patched), "__jobscript__", "exec")  # still Python
    assert wait_on_payload(patched) is None  # nothing left to patch: a fixed Ganga is left alone


def test_squeue_and_sacct_lines():
    states = parse_squeue("7|RUNNING|None|localhost|0:03\n8|PENDING|PartitionConfig||0:00\nnoise\n")
    assert states["7"].started and states["7"].nodes == "localhost" and states["7"].reason == ""
    assert states["8"].state == "PENDING" and not states["8"].terminal
    done = parse_sacct("9|CANCELLED by 0|0:15|None|localhost|00:00:07|00:00.01|\n10|FAILED|127:0|None|None assigned|00:00:00|00:00:00|\n")
    assert done["9"].state == "CANCELLED" and done["9"].signal == 15 and done["9"].terminal
    assert done["10"].exit_code == 127 and done["10"].nodes == ""


def test_pending_reasons_that_never_clear_name_the_fix():
    assert "cannot start as requested" in describe_pending("PartitionConfig")
    assert "Kill the job, change backend.extraopts" in describe_pending("PartitionTimeLimit")
    assert describe_pending("Resources") == "waiting in the queue (Resources)"


def test_gangarc_sets_the_slurm_poll_period_ganga_never_declared(tmp_path):
    import subprocess
    import sys

    from GangaJupyter.testlib.notebooks import ganga_home

    env = ganga_home(tmp_path, extra="[PollThread]\nSlurm = 3\n")
    code = "import ganga.ganga\nfrom ganga import config\nprint('poll', config['PollThread']['Slurm'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert "poll 3" in out.stdout, out.stderr[-2000:]


def test_sbatch_gets_a_name_safe_in_its_quotes_and_the_job_keeps_its_own(gpi):
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    j = gpi.Job(name="it's'; touch /tmp/gj-pwned; '", backend=gpi.Slurm())
    job = stripProxy(j)
    assert job.backend._getLegalJobName(job) == "it_s___touch__tmp_gj-pwned___"
    assert j.name == "it's'; touch /tmp/gj-pwned; '"

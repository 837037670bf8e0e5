"""The runtime package under Ganga's own test machinery, and display straight from Ganga's index."""
import subprocess
import sys
import textwrap

from GangaCore.testlib.GangaUnitTest import GangaUnitTest

from GangaJupyter.testlib.notebooks import ganga_home


class TestRuntimePackage(GangaUnitTest):
    def setUp(self):
        super().setUp(extra_opts=[("Configuration", "RUNTIME_PATH", "GangaJupyter"), ("Jupyter", "page_size", 7)])

    def test_loaded_by_ganga_with_its_config_section(self):
        from GangaCore.Utility.Config import getConfig
        from GangaCore.Utility.Runtime import allRuntimes

        assert "GangaJupyter" in [r.name for r in allRuntimes.values()]
        assert getConfig("Jupyter")["page_size"] == 7
        assert getConfig("Jupyter")["autostart_monitoring"] is True

    def test_every_proxy_and_slice_has_repr_html(self):
        from GangaCore.GPI import Job, jobs

        for _ in range(9):
            Job()
        assert jobs._repr_html_().count("<tr data-fqid=") == 7  # [Jupyter] page_size from extra_opts
        assert Job()._repr_html_().startswith('<div class="gangajupyter gj-job"')


MAKE = """
import ganga.ganga
from ganga import ArgSplitter, Executable, Job, Local
from GangaCore.testlib.monitoring import run_until_completed
from ganga import enableMonitoring
enableMonitoring()
for i in range(60):
    Job(name=f"plain-{i}")
split = Job(name="split", application=Executable(exe="/bin/true"), backend=Local(),
            splitter=ArgSplitter(args=[[str(k)] for k in range(6)]))
split.submit()
assert run_until_completed(split, timeout=90, sleep_period=0.2), split.status
print("made", split.id)
"""

SHOW = """
import re
import ganga.ganga
from ganga import jobs
from GangaCore.Core.GangaRepository import getRegistry
repository = getRegistry("jobs").repository
html = jobs._repr_html_()
print("loaded", len(repository._fully_loaded))
print("rows", len(re.findall('<tr data-fqid=', html)))
print("split", re.search('data-fqid="60".*?class="gj-progress"[^>]*title="([^"]*)"', html, re.S).group(1))
print("counts", re.search(r'jobs</strong>: ([^<]*)', html).group(1).strip())
"""


def run(code, env):
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_a_new_session_shows_jobs_and_subjob_counts_without_loading_any_job(tmp_path):
    env = ganga_home(tmp_path, runtime_path=True)
    assert "made 60" in run(MAKE, env)
    shown = run(SHOW, env)
    assert "loaded 0" in shown  # rows and counts came from the index
    assert "rows 50" in shown
    assert "split 6 completed" in shown  # subjob counts from the index, no subjob loaded
    assert "counts 61 jobs" in shown

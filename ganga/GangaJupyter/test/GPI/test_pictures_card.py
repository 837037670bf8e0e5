"""The pictures in a real split job's card: the subjobs' runs read from Ganga (times from its stamps), Local's
CPU time and peak memory kept by Ganga's poll while the subjobs ran, and hostile names escaped."""
import re
import sys
import xml.etree.ElementTree as ET

from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.testlib.decorators import add_config
from GangaCore.testlib.monitoring import run_until_state

from GangaJupyter.Lib.Display.runs import runs_of

RUNTIME = ("Configuration", "RUNTIME_PATH", "GangaJupyter")
HOSTILE = '<script>alert("x")</script>&<b>'
BURN = "import time\nx = bytearray(50 * 2**20)\nt = time.process_time()\nwhile time.process_time() - t < 3: pass"


@add_config([RUNTIME, ("PollThread", "Local", 1)])
def test_a_split_local_jobs_card_draws_its_subjobs_with_the_figures_seen_while_they_ran(gpi):
    args = [["-c", BURN]] * 2 + [["-c", "raise SystemExit(3)"]]
    j = gpi.Job(
        name=HOSTILE, application=gpi.Executable(exe=sys.executable), splitter=gpi.ArgSplitter(args=args),
        backend=gpi.Local(),
    )  # fmt: skip
    j.submit()
    gpi.enableMonitoring()  # off in the first bootstrap of a pytest process (Ganga pitfall)
    assert run_until_state(j, "failed", timeout=120, break_states=["killed", "removed"], sleep_period=0.2), j.status

    runs = runs_of(stripProxy(j))
    assert [r.status for r in runs] == ["completed", "completed", "failed"]
    assert all(r.submitted and r.started and r.finished and r.started <= r.finished for r in runs), runs
    for busy in runs[:2]:  # sampled by Ganga's poll (the local_figures patch), kept after the end
        assert busy.cpu is not None and busy.cpu >= 1, busy
        assert busy.memory is not None and busy.memory >= 50, busy

    html = j._repr_html_()
    assert 'class="gj-pictures"' in html and 'class="gj-statistics"' in html
    svgs = [ET.fromstring(svg) for svg in re.findall(r"<svg .*?</svg>", html, re.S)]  # well formed
    assert len(svgs) >= 5  # timeline, wall time, CPU time, peak memory, failures by error
    assert "Timeline of 3 runs" in "".join(svgs[0].itertext())
    assert "<script" not in html

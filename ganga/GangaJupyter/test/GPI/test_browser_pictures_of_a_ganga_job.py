"""The Jobs browser reads a split job's runs from the files Ganga itself wrote (its LocalXML repository and
workspace), without Ganga, and draws them with every text escaped."""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path

from GangaCore.Core.GangaRepository import getRegistry
from GangaCore.testlib.decorators import add_config
from GangaCore.testlib.monitoring import run_until_state
from GangaCore.Utility.Config import getConfig

from GangaJupyter.Lib.Core.location import GangaLocation
from GangaJupyter.Lib.Server.handlers import pictures_answer
from GangaJupyter.Lib.Server.repository import RepositoryIndex
from GangaJupyter.Lib.Server.runs import RunReader

RUNTIME = ("Configuration", "RUNTIME_PATH", "GangaJupyter")
HOSTILE = '<img src=x onerror="window.gjInjected=1">'


@add_config([RUNTIME, ("PollThread", "Local", 1)])
def test_the_browser_reads_the_runs_ganga_wrote(gpi) -> None:
    args = [["-c", "sleep 1"], ["-c", "sleep 2"], ["-c", f"echo '{HOSTILE}' >&2; exit 3"]]
    j = gpi.Job(name=HOSTILE, application=gpi.Executable(exe="/bin/sh"), splitter=gpi.ArgSplitter(args=args),
                backend=gpi.Local())  # fmt: skip
    j.submit()
    gpi.enableMonitoring()
    assert run_until_state(j, "failed", timeout=90, sleep_period=0.2)
    getRegistry("jobs").flush_all()  # what Ganga does every 30 s and at its end

    config = getConfig("Configuration")
    loc = GangaLocation(gangadir=Path(config["gangadir"]), user=config["user"])
    assert (loc.jobs / f"{j.id // 1000}xxx" / str(j.id) / "2" / "data").is_file()
    index = RepositoryIndex(loc)
    index.load_all()
    read = RunReader(loc, index.journal).runs(index.get(j.id))

    assert (read.subjobs, read.pending) == (3, 0)
    assert [r.fqid for r in read.runs] == [f"{j.id}.{k}" for k in range(3)]
    assert [r.status for r in read.runs] == ["completed", "completed", "failed"]
    for run, subjob in zip(read.runs, j.subjobs):
        stamps = subjob.time.timestamps
        assert run.submitted == stamps["submitted"].timestamp()
        assert run.started == stamps["backend_running"].timestamp()  # the backend's, not Ganga's poll time
        assert run.finished == stamps["backend_final"].timestamp()
        assert run.node == subjob.backend.actualCE != ""
    assert read.runs[2].error == HOSTILE  # the last line of its stderr

    answer = pictures_answer(index.get(j.id), read, time.time())
    document = answer["document"]
    body = document[document.index("<body>") : document.index("</body>") + len("</body>")]
    tree = ET.fromstring(body)  # well-formed: every text from the files is escaped
    assert tree.find(".//{http://www.w3.org/2000/svg}svg") is not None
    assert not [e for e in tree.iter() if e.tag.rsplit("}", 1)[-1] in ("img", "script")]
    assert HOSTILE not in document and "&lt;img src=x onerror=&quot;window.gjInjected=1&quot;&gt;" in document

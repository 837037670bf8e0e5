"""The Jobs browser's pictures of a selected job: the reader of its subjobs' files (as Ganga's LocalXML writes
them; test/GPI/test_browser_pictures_of_a_ganga_job.py reads files Ganga itself wrote) and the route that answers the page.

Real files under ``tmp_path``; the route in a real Jupyter server in this process (no Ganga)."""
from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.parse
from datetime import datetime
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from bad_input.readers import location, write_index
from GangaJupyter.Lib.Core.location import GangaLocation
from GangaJupyter.Lib.Core.scheduler_record import FILENAME as RECORD
from GangaJupyter.Lib.Server.repository import RepositoryIndex
from GangaJupyter.Lib.Server.runs import RunReader
from test_server_extension import TOKEN, jupyter_home, run_server  # noqa: F401  (jupyter_home: a fixture)

T0 = datetime(2026, 12, 1, 10, 0, 0)
HOSTILE = '<img src=x onerror="window.gjInjected=1">'


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0.timestamp() + seconds)


def ganga_data(status: str, stamps: dict[str, datetime], backend: str = "Local", **fields: Any) -> str:
    """A job's ``data`` as Ganga's VStreamer writes it (values are escaped Python reprs), with the attributes the
    reader looks at (the real files, with many more, are read in the GPI test)."""

    def attribute(name: str, value: Any, indent: str = "    ") -> str:
        return f'{indent}<attribute name="{name}"> \n{indent}    <value>{escape(repr(value), quote=False)}</value>\n{indent}</attribute>\n'

    backend_fields = "".join(attribute(k, v, "             ") for k, v in fields.items())
    return (
        '<root>\n <class name="Job" version="1.6" category="jobs">\n'
        + attribute("status", status)
        + attribute("name", "a job")
        + '    <attribute name="time">\n          <class name="JobTime" version="0.0" category="jobtime">\n'
        + attribute("timestamps", stamps, "             ")
        + "          </class>\n    </attribute>\n"
        + f'    <attribute name="backend">\n          <class name="{backend}" version="1.2" category="backends">\n'
        + backend_fields
        + "          </class>\n    </attribute>\n </class>\n</root>\n"
    )


def finished_stamps(start: float, end: float) -> dict[str, datetime]:
    return {"new": at(0), "submitted": at(0.5), "backend_running": at(start), "running": at(start + 9),
            "backend_final": at(end), "final": at(end + 9)}  # fmt: skip


class Job:
    """A split job in a repository under ``tmp_path``, written file by file as Ganga writes them."""

    def __init__(self, loc: GangaLocation, job_id: int, statuses: list[str]):
        self.loc, self.id = loc, job_id
        write_index(loc, job_id, {"status": "failed", "name": "split", "subjobs:status": statuses})
        self.folder = loc.jobs / f"{job_id // 1000}xxx" / str(job_id)
        self.folder.mkdir(parents=True, exist_ok=True)

    def data(self, k: int, text: str) -> Path:
        path = self.folder / str(k) / "data"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def output(self, k: int, name: str, text: str) -> Path:
        path = self.loc.workspace / str(self.id) / str(k) / "output" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path


def index_of(loc: GangaLocation) -> RepositoryIndex:
    index = RepositoryIndex(loc)
    index.load_all()
    return index


def test_runs_take_ganga_times_the_backend_fields_and_the_scheduler_record(tmp_path: Path) -> None:
    loc = location(tmp_path)
    job = Job(loc, 4, ["completed", "completed", "running", "submitted"])
    job.data(0, ganga_data("completed", finished_stamps(1, 61), actualCE="localhost", exitcode=0))
    job.data(1, ganga_data("completed", finished_stamps(2, 30), backend="Batch", actualCE="slot1@wn2",
                           walltime=28.0, cputime=20.5, memory=250))  # a backend that keeps figures in its fields
    job.output(0, RECORD, json.dumps({"nodes": "wn1", "wall_time": "00:01:05", "cpu_time": "50.5", "max_memory": "1.5G"}))
    # running: Ganga's end time of an earlier run is no end; submitted: nor is its start
    job.data(2, ganga_data("running", finished_stamps(3, 4)))
    job.data(3, ganga_data("submitted", finished_stamps(3, 4)))
    read = RunReader(loc).runs(index_of(loc).get(4))

    assert (read.subjobs, read.pending, read.capped) == (4, 0, False)
    first, second, running, waiting = read.runs
    assert (first.fqid, first.status, first.node) == ("4.0", "completed", "wn1")
    assert (first.submitted, first.started, first.finished) == (at(0.5).timestamp(), at(1).timestamp(), at(61).timestamp())
    assert (first.wall, first.cpu, first.memory) == (65.0, 50.5, 1536.0)  # the record's, not Ganga's times
    assert (second.node, second.wall, second.cpu, second.memory) == ("slot1@wn2", 28.0, 20.5, 250.0)
    assert (running.started, running.finished) == (at(3).timestamp(), None)
    assert (waiting.started, waiting.finished) == (None, None)


def test_a_failed_run_is_grouped_by_the_reason_its_stderr_or_its_exit_code(tmp_path: Path) -> None:
    loc = location(tmp_path)
    job = Job(loc, 5, ["failed"] * 4 + ["killed"])
    stamps = finished_stamps(1, 2)
    for k in range(5):
        job.data(k, ganga_data("failed" if k < 4 else "killed", stamps, exitcode=3, reason="Held: out of memory" if k == 1 else ""))
    job.output(0, RECORD, json.dumps({"reason": "TIMEOUT: raise the time limit"}))
    job.output(2, "stderr", "Traceback (most recent call last):\n  ...\nValueError: bad input\n\n")
    job.output(4, "stderr", "not a failure")
    runs = RunReader(loc).runs(index_of(loc).get(5)).runs
    assert [r.error for r in runs] == ["TIMEOUT: raise the time limit", "Held: out of memory", "ValueError: bad input",
                                       "exit code 3", ""]  # fmt: skip


def test_a_job_without_subjobs_is_its_one_run(tmp_path: Path) -> None:
    loc = location(tmp_path)
    write_index(loc, 7, {"status": "completed", "name": "plain"})
    data = loc.jobs / "0xxx" / "7" / "data"
    data.parent.mkdir(parents=True)
    data.write_text(ganga_data("completed", finished_stamps(1, 11), actualCE="localhost"))
    read = RunReader(loc).runs(index_of(loc).get(7))
    assert read.subjobs == 0 and [(r.fqid, r.node, r.started) for r in read.runs] == [("7", "localhost", at(1).timestamp())]


def test_the_journal_times_a_change_the_files_do_not_have_yet(tmp_path: Path) -> None:
    loc = location(tmp_path)
    job = Job(loc, 8, ["submitted"])
    job.data(0, ganga_data("submitted", {"new": at(0), "submitted": at(1)}))
    when = time.time() + 1  # after the files were written: the journal's status wins
    journal = loc.jupyter / "sessions" / "host.1.abcd.events"
    journal.write_text(json.dumps({"changes": {"8.0": ["running", when]}}) + "\n")
    index = index_of(loc)
    (run,) = RunReader(loc, index.journal).runs(index.get(8)).runs
    assert (run.status, run.started) == ("running", when)


def test_files_are_parsed_once_per_version_and_a_request_parses_a_bounded_number(tmp_path: Path) -> None:
    loc = location(tmp_path)
    job = Job(loc, 9, ["completed"] * 5)
    paths = [job.data(k, ganga_data("completed", finished_stamps(k, k + 1))) for k in range(5)]
    summary = index_of(loc).get(9)
    reader = RunReader(loc)
    reader.read_seconds = 0.0  # one file a request
    passes = [reader.runs(summary) for _ in range(6)]
    assert [(p.parsed, p.pending) for p in passes] == [(1, 4), (1, 3), (1, 2), (1, 1), (1, 0), (0, 0)]
    assert sum(r.started is not None for r in passes[0].runs) == 1  # the others wait for their turn
    assert passes[4].runs == passes[5].runs and all(r.started is not None for r in passes[5].runs)
    paths[3].write_text(ganga_data("completed", finished_stamps(30, 40)))
    again = reader.runs(summary)
    assert (again.parsed, again.runs[3].started) == (1, at(30).timestamp())


def test_links_fifos_and_oversized_files_are_not_read(tmp_path: Path) -> None:
    loc = location(tmp_path)
    job = Job(loc, 3, ["completed"] * 5)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "data").write_text(ganga_data("completed", finished_stamps(1, 2), actualCE="secret-host"))
    (elsewhere / RECORD).write_text(json.dumps({"nodes": "secret-host"}))
    (job.folder / "0").mkdir()
    (job.folder / "0" / "data").symlink_to(elsewhere / "data")  # the data file is a link
    (job.folder / "1").symlink_to(elsewhere)  # the subjob's folder is a link
    (job.folder / "2").mkdir()
    os.mkfifo(job.folder / "2" / "data")  # would block a reader that opened it
    job.data(3, ganga_data("completed", finished_stamps(1, 2)) + " " * (16 * 1024 * 1024))  # over the size cap
    job.data(4, ganga_data("completed", finished_stamps(1, 2)))
    (loc.workspace / "3" / "4").mkdir(parents=True)
    (loc.workspace / "3" / "4" / "output").symlink_to(elsewhere)  # the output folder is a link
    runs = RunReader(loc).runs(index_of(loc).get(3)).runs
    assert [r.node for r in runs] == [""] * 5
    assert [r.started is not None for r in runs] == [False, False, False, False, True]


class Markup(HTMLParser):
    """Every element and attribute of an HTML text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)


def test_the_route_answers_with_the_pictures_and_hostile_text_stays_text(jupyter_home: Path) -> None:  # noqa: F811
    loc = GangaLocation(gangadir=jupyter_home / "gangadir", user="tester")
    loc.jobs.mkdir(parents=True)
    job = Job(loc, 12, ["completed", "failed", "failed"])
    job.data(0, ganga_data("completed", finished_stamps(1, 20), actualCE=HOSTILE))
    job.data(1, ganga_data("failed", finished_stamps(2, 5), actualCE=HOSTILE, exitcode=1))
    job.data(2, ganga_data("failed", finished_stamps(2, 5), actualCE="</svg><script>window.gjInjected=1</script>"))
    job.output(1, "stderr", f"{HOSTILE}\n")
    job.output(2, RECORD, json.dumps({"reason": '"><svg onload=alert(1)>'}))

    async def check(app: Any, _fetch: Any) -> dict[str, Any]:
        browser = app.web_app.settings["gangajupyter_browser"]
        assert await asyncio.to_thread(browser.index.loaded.wait, 30)
        client = AsyncHTTPClient()

        async def get(path: str, **query: str) -> tuple[int, Any]:
            url = f"http://127.0.0.1:{app.port}/gangajupyter/api/{path}?{urllib.parse.urlencode(query)}"
            try:
                response = await client.fetch(url)
            except HTTPClientError as err:
                return err.code, err.response.body.decode() if err.response else ""
            return response.code, json.loads(response.body)

        assert (await get("jobs/12/pictures"))[0] == 403  # Jupyter's authentication, like every route
        assert (await get("jobs/13/pictures", token=TOKEN))[0] == 404
        code, answer = await get("jobs/12/pictures", token=TOKEN)
        assert code == 200, answer
        code, unchanged = await get("jobs/12/pictures", token=TOKEN, known=str(answer["changed"]))
        assert code == 200 and unchanged == {"id": 12, "changed": answer["changed"], "unchanged": True}
        return answer

    answer = run_server(jupyter_home, check)
    assert {k: answer[k] for k in ("id", "subjobs", "runs", "pending", "capped")} == {
        "id": 12, "subjobs": 3, "runs": 3, "pending": 0, "capped": False
    }  # fmt: skip
    document = answer["document"]
    parsed = Markup()
    parsed.feed(document)
    assert "svg" in parsed.tags and "rect" in parsed.tags  # the timeline, the histograms and the failure bars
    assert not parsed.tags & {"script", "img", "iframe", "object", "embed", "a"}
    assert not {a for a in parsed.attributes if a.startswith("on")}
    assert "&lt;img src=x onerror=&quot;window.gjInjected=1&quot;&gt;" in document  # the node, shown as text
    assert "default-src 'none'" in document  # the frame's own policy: it loads nothing

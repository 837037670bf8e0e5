"""The pictures of a split job (Core/pictures.py) and the figures they are drawn from (Core/figures.py): hostile
text stays text, the timeline turns into a density view beyond LANES_MAX runs, failures are marked, the numbers
are right, and 10,000 runs draw a bounded number of elements. Then the gathering: a job's runs read from Ganga's
objects (small fakes of them) without loading subjobs, and Local's CPU time and peak memory kept from a real
process."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pytest

from GangaJupyter.Lib.Backends.local import LocalAdapter, local_adapter
from GangaJupyter.Lib.Core import pictures, scheduler_record
from GangaJupyter.Lib.Core.figures import megabytes, seconds
from GangaJupyter.Lib.Core.pictures import (
    LANES_MAX,
    Run,
    bar_chart_svg,
    histogram_svg,
    pictures_html,
    statistics,
    timeline_svg,
)
from GangaJupyter.Lib.Core.statuses import status_colour
from GangaJupyter.Lib.Display.runs import runs_of
from ganga_fakes import Workspace

T0 = 1_700_000_000.0
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>&amp;\x00\x1b[31m\ud800'
SVG = "{http://www.w3.org/2000/svg}"
#: Everything the pictures may contain; anything else came from the input.
TAGS = {f"{SVG}{t}" for t in ("svg", "g", "rect", "line", "text", "path", "title")} | {
    "root",
    "div",
    "span",
    "table",
    "tr",
    "th",
    "td",
    "a",
    "code",
}
ATTRIBUTES = {
    "viewBox",
    "width",
    "height",
    "role",
    "aria-label",
    "font-size",
    "fill",
    "style",
    "x",
    "y",
    "x1",
    "y1",
    "x2",
    "y2",
    "fill-opacity",
    "stroke",
    "stroke-opacity",
    "stroke-dasharray",
    "text-anchor",
    "transform",
    "d",
    "class",
    "href",
}


def parse(markup: str) -> ET.Element:
    """The markup as XML: it must be well formed, whatever the input held."""
    return ET.fromstring(f"<root>{markup}</root>")


def assert_only_ours(markup: str) -> ET.Element:
    root = parse(markup)
    for element in root.iter():
        assert element.tag in TAGS, element.tag
        assert set(element.attrib) <= ATTRIBUTES, element.attrib
    return root


def runs(n: int, status: str = "completed", **fields) -> list[Run]:
    return [Run(f"3.{i}", status, T0 + i, T0 + i + 5, T0 + i + 5 + 10 * (i % 7 + 1), **fields) for i in range(n)]


def elements(markup: str, tag: str) -> list[ET.Element]:
    return list(parse(markup).iter(f"{SVG}{tag}"))


@pytest.mark.parametrize("n", [5, LANES_MAX + 1])  # the lanes and the density view
def test_hostile_text_is_escaped_in_every_picture(n: int) -> None:
    hostile = [
        Run(
            f"3.{i}{HOSTILE}",
            "failed",
            T0,
            T0 + 1,
            T0 + 2 + i,
            node=HOSTILE,
            wall=2 + i,
            cpu=1,
            memory=5,
            error=HOSTILE,
        )
        for i in range(n)
    ] + [Run("3.x", HOSTILE, T0, T0 + 1, None)]
    markups = [
        timeline_svg(hostile, now=T0 + 100),
        histogram_svg([(1.0, True), (2.0, False)], HOSTILE, HOSTILE),
        bar_chart_svg([(HOSTILE, 3), ("other", 1)], HOSTILE),
        pictures_html(hostile, now=T0 + 100, subjob_link=lambda fqid: f"#{fqid}"),
    ]
    for markup in markups:
        assert markup
        root = assert_only_ours(markup)
        assert "<script" not in markup and "<img" not in markup
        words = "".join(root.itertext()) + "".join(v for e in root.iter() for v in e.attrib.values())
        assert "\x00" not in words and "\x1b" not in words  # XML refuses them; they are replaced
    assert "alert(2)" in "".join(parse(markups[2]).itertext())  # shown as text, not dropped


def test_the_timeline_has_one_lane_a_run_up_to_lanes_max_then_a_bounded_density_view() -> None:
    lanes = timeline_svg(runs(LANES_MAX), now=T0 + 1000)
    assert f"Timeline of {LANES_MAX} runs" in lanes
    assert len(elements(lanes, "title")) == LANES_MAX  # one tooltip a lane
    density = timeline_svg(runs(LANES_MAX + 1), now=T0 + 1000)
    assert f"{LANES_MAX + 1} runs over time" in density
    assert len(elements(density, "path")) <= len(pictures.STATUS_ORDER) + 2
    assert len(elements(density, "rect")) == 0


def test_waiting_and_running_bars_and_the_now_line_while_runs_are_active() -> None:
    done = [Run("1.0", "completed", T0, T0 + 10, T0 + 30), Run("1.1", "failed", T0, T0 + 20, T0 + 25)]
    finished = timeline_svg(done, now=T0 + 100)
    fills = [r.get("fill") for r in elements(finished, "rect")]
    assert fills.count(status_colour("completed")) == 1 and fills.count(status_colour("failed")) == 1
    assert fills.count(status_colour("submitted")) == 2  # each waited before it started
    assert "now" not in "".join(parse(finished).itertext())
    running = timeline_svg(done + [Run("1.2", "running", T0, T0 + 5)], now=T0 + 60)
    assert "now" in "".join(parse(running).itertext())
    assert any(e.get("stroke-dasharray") for e in elements(running, "line"))


def test_runs_without_times_are_counted_and_no_times_at_all_draw_no_timeline() -> None:
    assert timeline_svg([Run("2.0", "completed"), Run("2.1", "submitted")], now=T0) == ""
    mixed = timeline_svg([Run("2.0", "completed"), Run("2.1", "completed", T0, T0 + 1, T0 + 2)], now=T0)
    assert "1 not loaded or not started" in mixed


def test_histograms_stack_failures_in_the_failed_colour() -> None:
    markup = histogram_svg([(10.0, False), (10.0, False), (10.0, True), (70.0, False)], "wall time", "s")
    fills = [r.get("fill") for r in elements(markup, "rect")]
    assert fills.count(status_colour("failed")) == 1
    tips = [t.text for t in elements(markup, "title")]
    assert "10 s – 12 s: 3 (1 failed)" in tips and "1:08 – 1:10: 1" in tips
    assert status_colour("failed") not in histogram_svg([(1.0, False), (2.0, False)], "CPU time", "s")
    assert histogram_svg([], "CPU time", "s") == ""
    assert len(elements(histogram_svg([(5.0, False)] * 3, "peak memory", "MB"), "rect")) == 1  # one value: one bin


def test_statistics_of_a_known_set() -> None:
    known = [
        Run(f"1.{i}", "completed", wall=float(i + 1), cpu=0.5 * (i + 1), memory=float(1000 - i)) for i in range(100)
    ]
    stats = statistics(known)
    assert (stats.wall.minimum, stats.wall.median, stats.wall.maximum) == (1.0, 50.5, 100.0)
    assert stats.wall.p95 == pytest.approx(95.05)
    assert stats.memory.median == 950.5 and stats.memory.count == 100
    assert stats.cpu_hours == pytest.approx(2525 / 3600)
    assert [fqid for fqid, _ in stats.slowest] == ["1.99", "1.98", "1.97", "1.96", "1.95"]


def test_wall_time_falls_back_to_ganga_timestamps_and_ties_keep_the_runs_order() -> None:
    stamped = [Run("4.0", "completed", T0, T0 + 1, T0 + 61), Run("4.1", "completed", T0, T0 + 1, T0 + 61)]
    stats = statistics(stamped + [Run("4.2", "completed", wall=5.0), Run("4.3", "submitted")])
    assert stats.slowest == (("4.0", 60.0), ("4.1", 60.0), ("4.2", 5.0))
    assert stats.cpu is None and stats.cpu_hours is None and stats.wall.count == 3


def test_the_section_links_the_slowest_or_names_them_as_ganga_does() -> None:
    some = runs(8)
    linked = pictures_html(some, now=T0, subjob_link=lambda fqid: f"/lab?job={fqid}&x=1")
    links = [a.get("href") for a in parse(linked).iter("a")]
    assert links[0] == "/lab?job=3.6&x=1" and len(links) == 5
    plain = pictures_html(some, now=T0)
    assert not list(parse(plain).iter("a"))
    assert "jobs(3).subjobs[6]" in [c.text for c in parse(plain).iter("code")]
    assert pictures_html([], now=T0) == ""


def test_failures_by_node_and_by_error() -> None:
    failed = [Run(f"5.{i}", "failed", wall=1.0, node=f"wn{i % 2}", error="segfault" if i < 3 else "") for i in range(5)]
    markup = pictures_html(failed + runs(3), now=T0)
    tips = [t.text for t in parse(markup).iter(f"{SVG}title")]
    assert {"wn0: 3", "wn1: 2", "segfault: 3", "unknown error: 2"} <= set(tips)
    many = bar_chart_svg([(f"node{i}", i + 1) for i in range(20)], "failures by node")
    assert len(elements(many, "rect")) == pictures.BARS_MAX and "13 others: 91" in [
        t.text for t in elements(many, "title")
    ]


def test_ten_thousand_runs_draw_a_bounded_number_of_elements() -> None:
    rng = random.Random(7)
    big = [
        Run(
            f"9.{i}",
            rng.choice(["completed", "completed", "failed", "running"]),
            T0 + i % 100,
            T0 + 100 + i % 300,
            None if i % 4 == 3 else T0 + 400 + rng.random() * 3000,
            node=f"wn{i % 40}",
            cpu=rng.random() * 100,
            memory=rng.random() * 4000,
            error="x" if i % 4 == 2 else "",
        )
        for i in range(10_000)
    ]
    counts = [sum(1 for _ in parse(pictures_html(sample, now=T0 + 5000)).iter()) for sample in (big[:1000], big)]
    assert counts[1] < 700 and abs(counts[1] - counts[0]) < 50


@pytest.mark.parametrize(
    "text, value",
    [
        ("1-02:03:04", 93784.0),
        ("02:03:04", 7384.0),
        ("3:04", 184.0),
        ("01:02.345", 62.345),
        ("12.5", 12.5),
        ("1-02:03", 93780.0),
        ("2-05", 2 * 86400 + 5 * 3600.0),
        (" 00:00:00 ", 0.0),
        ("", None),
        ("Unknown", None),
        ("INVALID", None),
        ("-1", None),
        ("1:2:3:4", None),
    ],
)
def test_durations(text: str, value: float | None) -> None:
    assert seconds(text) == (pytest.approx(value) if value is not None else None)


@pytest.mark.parametrize(
    "text, value",
    [
        ("1234K", 1234 / 1024),
        ("12M", 12.0),
        ("1.5G", 1536.0),
        ("12 MB", 12.0),
        ("2GiB", 2048.0),
        ("12", 12.0),
        ("0", 0.0),
        ("1048576 B", 1.0),
        ("", None),
        ("12 parsecs", None),
        ("K", None),
    ],
)
def test_sizes(text: str, value: float | None) -> None:
    assert megabytes(text) == (pytest.approx(value) if value is not None else None)


# ------------------------------------------------------------------ gathering (Display/runs.py, Backends/local.py)


class Time:
    def __init__(self, stamps: dict):
        self._data = {"timestamps": stamps}


class Backend:
    """A Local backend's fields the adapter reads."""

    _name = LocalAdapter.name

    def __init__(self, pid: int | None = None, node: str = ""):
        self.id, self.actualCE, self.status, self.exitcode = pid, node, "", None


class FakeJob:
    """What the gathering reads of a Ganga job or subjob: ``_data``, its backend, its output workspace."""

    def __init__(self, folder: Path, fqid: str, status: str, stamps: dict | None = None, backend=None, subjobs=()):
        self.backend = backend or Backend()
        self._data = {"status": status, "time": Time(stamps or {}), "backend": self.backend, "subjobs": subjobs}
        self.status, self.fqid, self.folder = status, fqid, folder / fqid

    def getFQID(self, sep: str) -> str:
        return self.fqid

    def getOutputWorkspace(self, create: bool = True) -> Workspace:
        if create:
            self.folder.mkdir(parents=True, exist_ok=True)
        return Workspace(self.folder)


class LazySubjobs:
    """Ganga's SubJobXMLList: loaded subjobs, and the index entries of the others; reading one of those fails."""

    def __init__(self, loaded: dict[int, FakeJob], index: dict[int, dict]):
        self._loaded, self._subjobIndexData = loaded, index

    def isLoaded(self, i: int) -> bool:
        return i in self._loaded

    def __len__(self) -> int:
        return len(self._subjobIndexData)

    def __getitem__(self, i: int) -> FakeJob:
        if i not in self._loaded:
            raise AssertionError(f"subjob {i} was loaded from disk")
        return self._loaded[i]


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, timezone.utc).replace(tzinfo=None)  # Ganga's: naive, in UTC


def test_runs_of_a_lazy_split_job_read_loaded_subjobs_only(tmp_path: Path) -> None:
    done = FakeJob(
        tmp_path, "8.0", "completed", {"submitted": utc(0), "backend_running": utc(5), "backend_final": utc(65)}
    )
    scheduler_record.update(done, cpu_time="0:50", max_memory="512 MB")
    # Ganga stamps submitted to the microsecond, Local's wrapper stamps the start to the second: it may come first
    failed = FakeJob(
        tmp_path, "8.1", "failed", {"submitted": utc(0.4), "running": utc(0), "final": utc(3)}, Backend(node="wn07")
    )
    # resubmitted: waiting again, with the stamps of its first run still there
    again = FakeJob(tmp_path, "8.2", "submitted", {"submitted": utc(100), "backend_running": utc(5), "final": utc(9)})
    index = {i: {"status": s} for i, s in enumerate(["completed", "failed", "submitted", "running"])}
    master = FakeJob(tmp_path, "8", "running", subjobs=LazySubjobs({0: done, 1: failed, 2: again}, index))
    runs = runs_of(master, {"8.1": "cannot open input.root"})
    assert runs[0] == Run("8.0", "completed", T0, T0 + 5, T0 + 65, cpu=50.0, memory=512.0)
    assert runs[1] == Run("8.1", "failed", T0 + 0.4, T0, T0 + 3, node="wn07", error="cannot open input.root")
    assert runs[2] == Run("8.2", "submitted", T0 + 100)
    assert runs[3] == Run("8.3", "running")  # not loaded: its status from the index, nothing else
    assert statistics(runs).wall.maximum == 60.0  # from Ganga's stamps
    assert runs_of(master, {"8.1": "cannot open input.root"})[0] is runs[0]  # kept: nothing changed
    scheduler_record.update(done, cpu_time="0:55")  # Slurm's accounting, arriving after the end
    assert runs_of(master)[0].cpu == 55.0
    failed._data["status"] = "completed"  # resubmitted, and done
    assert runs_of(master)[1].status == "completed"


def test_a_plain_job_is_one_run(tmp_path: Path) -> None:
    job = FakeJob(tmp_path, "9", "new")
    assert runs_of(job) == [Run("9", "new")]


def test_local_keeps_cpu_time_and_peak_memory_seen_while_a_job_runs(tmp_path: Path) -> None:
    busy = "x = bytearray(60 * 2**20)\nimport time\nt = time.process_time()\nwhile time.process_time() - t < 1.2: pass\ntime.sleep(60)"
    process = subprocess.Popen([sys.executable, "-c", busy])
    try:
        job = FakeJob(tmp_path, "10", "running", backend=Backend(pid=process.pid))
        deadline = time.monotonic() + 30
        while (local_adapter.live_figures(job).get("cpu_seconds") or 0) < 1.2:
            assert time.monotonic() < deadline, "the busy process did not use a second of CPU"
            time.sleep(0.1)
        local_adapter.sample([job, FakeJob(tmp_path, "11", "completed", backend=Backend(pid=process.pid))])
        record = local_adapter.scheduler_record(job)
        assert seconds(record.cpu_time) >= 1 and megabytes(record.max_memory) >= 60
        assert record.system == LocalAdapter.name  # Ganga's own fields are still there
        assert not (tmp_path / "11").exists()  # only running jobs are sampled
        kept = os.stat(tmp_path / "10" / scheduler_record.FILENAME).st_ino
        local_adapter.sample([job])  # nothing changed: nothing written
        assert os.stat(tmp_path / "10" / scheduler_record.FILENAME).st_ino == kept
        scheduler_record.update(job, max_memory="9000 MB")
        local_adapter.sample([job])
        assert local_adapter.scheduler_record(job).max_memory == "9000 MB"  # a peak stays the peak
    finally:
        process.kill()
        process.wait()
    local_adapter.sample([job])  # the process has gone: the figures stay
    assert megabytes(local_adapter.scheduler_record(job).max_memory) == 9000

"""Rich display of Ganga objects, with Ganga's ``gpi`` fixture (a real bootstrap and repository per test)."""
import os
import re
import shutil

from GangaCore.testlib.decorators import add_config
from GangaCore.testlib.monitoring import run_until_state

RUNTIME = ("Configuration", "RUNTIME_PATH", "GangaJupyter")
HOSTILE = '<script>alert("x")</script>&<b>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;&lt;b&gt;"


def html_of(obj):
    """What a notebook front end gets: IPython's formatter output for text/html."""
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(obj)
    return data.get("text/html"), data.get("text/plain")


def assert_no_raw(html, text=HOSTILE):
    assert text not in html
    assert "<script" not in html


def finish(gpi, job, state="completed"):
    gpi.enableMonitoring()  # off in the first bootstrap of a pytest process (Ganga pitfall)
    assert run_until_state(job, state, timeout=60, break_states=["killed", "removed"], sleep_period=0.2), job.status


@add_config([RUNTIME])
def test_job_html_shows_status_name_and_escapes_everything(gpi):
    j = gpi.Job(name=HOSTILE, comment=HOSTILE, application=gpi.Executable(exe="echo", args=[HOSTILE]))
    html, text = html_of(j)
    assert html is not None and 'class="gangajupyter gj-job"' in html
    assert "gj-status-new" in html
    assert ESCAPED in html
    assert_no_raw(html)
    assert text.startswith(" Job (") or "Job" in text  # text/plain stays Ganga's own


@add_config([RUNTIME])
def test_failed_job_shows_stderr_tail_and_exit_code(gpi):
    script = "for i in $(seq 1 50); do echo line$i >&2; done; echo '<img src=x onerror=alert(1)>' >&2; exit 3"
    j = gpi.Job(application=gpi.Executable(exe="/bin/sh", args=["-c", script]), backend=gpi.Local())
    j.submit()
    finish(gpi, j, "failed")
    html, _ = html_of(j)
    assert "gj-status-failed" in html
    assert 'class="gj-stderr"' in html
    stderr = re.search(r'<pre class="gj-stderr"[^>]*>(.*?)</pre>', html, re.S).group(1)
    lines = stderr.strip().splitlines()
    assert len(lines) == 20 and lines[0] == "line32" and lines[-1] == "&lt;img src=x onerror=alert(1)&gt;"
    assert re.search(r"exit code</th>.*?<td[^>]*>3</td>", html, re.S)


@add_config([RUNTIME])
def test_split_job_progress_bar_counts_subjobs_by_state(gpi):
    args = [["-c", "exit 0"]] * 3 + [["-c", "exit 1"]]
    j = gpi.Job(
        application=gpi.Executable(exe="/bin/sh"),
        splitter=gpi.ArgSplitter(args=args),
        backend=gpi.Local(),
    )
    j.submit()
    finish(gpi, j, "failed")
    html, _ = html_of(j)
    bar = re.search(r'class="gj-progress"[^>]*title="([^"]*)"', html).group(1)
    assert bar == "3 completed, 1 failed"
    assert "Failed subjobs (1)" in html and f"{j.id}.3" in html
    sub_html, _ = html_of(j.subjobs)
    assert "jobs(%d).subjobs" % j.id in sub_html
    assert sub_html.count("<tr data-fqid=") == 4


@add_config([RUNTIME])
def test_jobs_slice_table_select_and_paging(gpi):
    from GangaCore.Utility.Config import getConfig

    getConfig("Jupyter").setSessionValue("page_size", 5)
    for i in range(12):
        gpi.Job(name=f"job-{i}" if i != 7 else HOSTILE)
    html, text = html_of(gpi.jobs)
    assert "Registry Slice" in text  # Ganga's own table stays the text form
    assert html.count("<tr data-fqid=") == 5
    assert re.findall(r'<tr data-fqid="(\d+)"', html) == [str(i) for i in range(7, 12)]  # the newest page
    assert "Showing the newest 5 of 12" in html and "jobs[-10:-5]" in html
    assert ESCAPED in html and "12 new" in html
    assert_no_raw(html)
    selected, _ = html_of(gpi.jobs.select(name="job-1*"))
    assert re.findall(r'<tr data-fqid="(\d+)"', selected) == ["1", "10", "11"]


@add_config([RUNTIME])
def test_the_text_of_a_big_slice_is_the_page_shown_in_gangas_own_table(gpi):
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    from GangaJupyter.Lib.Core.text import strip_ansi
    from GangaJupyter.Lib.Display.slice_text import slice_text

    for i in range(12):
        gpi.Job(name=f"job-{i}")
    def lines(table: str) -> list[str]:
        return strip_ansi(table).split("\n")  # each row is wrapped in Ganga's colours

    full = lines(gpi.jobs._display(True))  # Ganga's whole table: head, rule, columns, rule, 12 rows, ""
    text = lines(slice_text(stripProxy(gpi.jobs), 5))
    assert text[:4] == full[:4] and "(12 objects)" in text[0]
    assert text[4] == "... 7 more before these: print(jobs) shows them all"
    assert text[5:] == full[4 + 7 :], "the newest 5 rows, as Ganga writes them"
    assert slice_text(stripProxy(gpi.jobs), 50) == gpi.jobs._display(True), "a slice that fits is Ganga's own"
    j = gpi.Job(application=gpi.Executable(exe="true"), splitter=gpi.ArgSplitter(args=[[]] * 8), backend=gpi.Local())
    j.submit()
    finish(gpi, j)
    registry = stripProxy(j)._getRegistry()
    registry._flush([stripProxy(j)])
    registry.repository.load([j.id])  # subjobs as Ganga lists them once read from disk: from their index
    full = lines(j.subjobs._display(True))
    text = lines(slice_text(stripProxy(j.subjobs), 3))
    assert text[:4] == full[:4] and "(8 objects)" in text[0]
    assert text[4:7] == full[4:7], "the first 3 subjobs, as Ganga writes them"
    assert text[7:] == [f"... 5 more after these: print(jobs({j.id}).subjobs) shows them all", ""]
    from IPython.lib.pretty import pretty

    gpi.config["Jupyter"]["page_size"] = 3
    try:
        shown = strip_ansi(pretty(j))  # the job's own text, as a notebook's display writes it
    finally:
        gpi.config["Jupyter"]["page_size"] = 50
    assert f"... 5 more after these: print(jobs({j.id}).subjobs) shows them all" in shown
    row = f"    {j.id}."  # the start of a subjob's row
    assert strip_ansi(j.subjobs._display(True)).count(row) == 8 == str(j).count(row), "print(j): every subjob"
    assert shown.count(row) == 3
    from GangaJupyter.Lib.Display.records import LoadedSet, entry_status

    gpi.jobs(3).name  # one loaded from its index only, another (j) loaded whole
    for objects, ids in ((stripProxy(gpi.jobs).objects, stripProxy(gpi.jobs).ids()), (stripProxy(j).subjobs, list(range(8)))):
        loaded = LoadedSet(objects)
        assert loaded.statuses(list(ids)) == [entry_status(*loaded.entry(k)) for k in ids]


@add_config([RUNTIME])
def test_files_applications_backends_render_as_tables(gpi):
    f = gpi.LocalFile(namePattern="<img src=x onerror=alert(1)>.root", localDir="/data/<dir>")
    html, _ = html_of(f)
    assert "LocalFile" in html and "&lt;img src=x onerror=alert(1)&gt;.root" in html and "/data/&lt;dir&gt;" in html
    assert "<img" not in html
    j = gpi.Job(outputfiles=[gpi.LocalFile("a.txt"), gpi.MassStorageFile("b.root")])
    html, _ = html_of(j.outputfiles)
    assert "a.txt" in html and "MassStorageFile" in html
    html, _ = html_of(gpi.Executable(exe="/bin/echo", args=[HOSTILE]))
    assert "gj-object" in html and ">exe</th>" in html and "/bin/echo" in html
    assert_no_raw(html)
    html, _ = html_of(gpi.Local())
    assert "gj-object" in html and "backends" in html


@add_config([RUNTIME])
def test_completed_job_lists_its_output_files_with_sizes(gpi):
    j = gpi.Job(
        application=gpi.Executable(exe="/bin/sh", args=["-c", "printf 12345 > out.txt"]),
        outputfiles=[gpi.LocalFile("out.txt")],
        backend=gpi.Local(),
    )
    j.submit()
    finish(gpi, j)
    html, _ = html_of(j)
    assert "out.txt (5 B)" in html


@add_config([RUNTIME])
def test_job_with_deleted_workspace_still_renders_with_a_note(gpi):
    j = gpi.Job(application=gpi.Executable(exe="echo", args=["hi"]), backend=gpi.Local())
    j.submit()
    finish(gpi, j)
    shutil.rmtree(os.path.dirname(j.outputdir.rstrip("/")))
    html, _ = html_of(j)
    assert "gj-status-completed" in html and "no longer exists" in html


@add_config([RUNTIME])
def test_box_and_unknown_objects_fall_back_to_text(gpi):
    html, _ = html_of(gpi.box)
    assert "gj-registry" in html
    html, text = html_of(gpi.GangaList() if hasattr(gpi, "GangaList") else gpi.Job().inputfiles)
    assert html is None and text is not None  # an empty list has no rich form: Ganga's text


@add_config([RUNTIME])
def test_a_failing_renderer_gives_text_not_a_traceback(gpi, monkeypatch):
    from GangaJupyter.Lib.Display import records

    def broken(*args, **kwargs):
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(records, "job_record", broken)
    html, text = html_of(gpi.Job())
    assert html is None and "Job" in text

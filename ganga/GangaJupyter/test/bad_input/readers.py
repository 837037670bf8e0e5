"""The Jobs browser's readers: Ganga's repository files, the sessions' journals, the watcher and its logs.

Every input here once raised out of a reader, killed the watcher thread (the page then stopped updating without
a word), took seconds of CPU, or grew without limit.
"""
from __future__ import annotations

import asyncio
import json
import os
import pickle
import threading
import time
from pathlib import Path

from GangaJupyter.Lib.Core import protocol
from GangaJupyter.Lib.Core.location import GangaLocation
from GangaJupyter.Lib.Server.browser import rotate_helper_log
from GangaJupyter.Lib.Server.repository import Journal, Query, RepositoryIndex, list_job_ids, read_job
from GangaJupyter.Lib.Server.watch import RepositoryWatch
from GangaJupyter.Lib.Session.service import SessionService
from GangaJupyter.Lib.Core.text import DISPLAY_LENGTH

from . import Case

USER = "tester"


# ---------------------------------------------------------------------------------------------- building inputs
def location(tmp_path: Path) -> GangaLocation:
    loc = GangaLocation(gangadir=tmp_path / "gangadir", user=USER)
    loc.jobs.mkdir(parents=True, exist_ok=True)
    (loc.jupyter / "sessions").mkdir(parents=True, exist_ok=True)
    return loc


def write_index(loc: GangaLocation, job_id: int, cache: object, category: str = "jobs") -> Path:
    path = loc.jobs / f"{job_id // 1000}xxx" / f"{job_id}.index"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps((category, "Job", cache)))
    return path


def data_xml(status: str = "'running'", name: str = "'a job'", backend: str = "Local", extra: str = "") -> str:
    """A job's ``data`` file as Ganga's VStreamer writes it (values are escaped Python reprs)."""
    return (
        '<?xml version="1.0" ?>\n<root>\n <class name="Job" version="1.6" category="jobs">\n'
        f'    <attribute name="status"> \n       <value>{status}</value>\n    </attribute>\n'
        f'    <attribute name="name"> \n       <value>{name}</value>\n    </attribute>\n'
        '    <attribute name="backend">\n'
        f'    <class name="{backend}" version="1.0" category="backends">\n'
        '       <attribute name="actualCE"> \n        <value>\'node1\'</value>\n       </attribute>\n'
        '    </class>\n    </attribute>\n'
        '    <attribute name="time">\n    <class name="JobTime" version="0.0" category="jobtime">\n'
        '       <attribute name="timestamps"> \n        <value>{\'new\': datetime.datetime(2024, 5, 6, 7, 8, 9, 10)}'
        '</value>\n       </attribute>\n    </class>\n    </attribute>\n'
        f"{extra} </class>\n</root>\n"
    )


def write_data(loc: GangaLocation, job_id: int, text: str | bytes) -> Path:
    path = loc.jobs / f"{job_id // 1000}xxx" / str(job_id) / "data"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    return path


def journal_path(loc: GangaLocation, sid: str = "host.1.abcd") -> Path:
    return loc.jupyter / "sessions" / f"{sid}.events"


def well_typed(job) -> None:  # noqa: ANN001
    """The reader's row has the types the page and the sort keys rely on."""
    assert isinstance(job.id, int)
    for text in (job.status, job.name, job.comment, job.application, job.backend, job.host):
        assert isinstance(text, str)
    assert all(isinstance(s, str) for s in job.subjobs)
    assert job.created is None or isinstance(job.created, float)
    row = job.to_json()
    assert len(row["name"]) <= DISPLAY_LENGTH and len(row["comment"]) <= DISPLAY_LENGTH
    json.dumps(row)


def wait_for(predicate, timeout: float = 10.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def watcher_survives(tmp_path: Path, bad) -> None:  # noqa: ANN001
    """Start the real watcher, feed it ``bad(location, index)``, then a good job: the thread must live and see it."""
    loc = location(tmp_path)
    write_index(loc, 1, {"status": "new", "name": "before"})
    index = RepositoryIndex(loc)
    watch = RepositoryWatch(index, interval=0.02)
    watch.start()
    try:
        assert wait_for(lambda: index.get(1) is not None)
        bad(loc, index)
        time.sleep(0.3)
        write_index(loc, 2, {"status": "running", "name": "after"})
        assert wait_for(lambda: index.get(2) is not None), "the watcher stopped: a job written later was not seen"
        json.dumps(index.query(Query()))  # what /api/jobs sends
        assert watch.thread.is_alive()
        assert watch._observer.is_alive(), "watchdog's thread died in our event handler"
    finally:
        watch.stop()


# ---------------------------------------------------------------------------------------------- the cases
def _journal_changes_list(tmp_path: Path) -> None:
    def bad(loc: GangaLocation, _index: RepositoryIndex) -> None:
        journal_path(loc).write_text('{"changes":[1]}\n')

    watcher_survives(tmp_path, bad)


def _journal_non_numeric_time(tmp_path: Path) -> None:
    def bad(loc: GangaLocation, _index: RepositoryIndex) -> None:
        journal_path(loc).write_text('{"changes":{"1":["running","soon"]}}\n{"changes":{"1":["failed",NaN]}}\n')

    watcher_survives(tmp_path, bad)


def _superscript_entry(tmp_path: Path) -> None:
    def bad(loc: GangaLocation, _index: RepositoryIndex) -> None:
        (loc.jobs / "0xxx" / "\u00b2").mkdir()
        (loc.jobs / "0xxx" / "\u00b2.index").write_bytes(b"x")
        (loc.jobs / "\u00b2xxx").mkdir()

    watcher_survives(tmp_path, bad)
    assert list_job_ids(location(tmp_path)) == [1, 2]


def _value_unhashable(tmp_path: Path) -> None:
    def bad(loc: GangaLocation, _index: RepositoryIndex) -> None:
        write_data(loc, 3, data_xml(status="{{}}", name="{{}}"))

    watcher_survives(tmp_path, bad)
    job = read_job(location(tmp_path), 3)
    assert job is None  # no status string: not a job the browser can show


def _integer_backend(tmp_path: Path) -> None:
    def bad(loc: GangaLocation, _index: RepositoryIndex) -> None:
        write_index(loc, 4, {"status": "new", "display:backend": 5, "name": 7})
        write_index(loc, 5, {"status": "new", "display:backend": "Localhost"})
        write_index(loc, 6, {"status": "new", "display:application": ["x"]})

    watcher_survives(tmp_path, bad)
    job = read_job(location(tmp_path), 4)
    well_typed(job)
    assert job.backend == "5" and job.name == "7"
    index = RepositoryIndex(location(tmp_path))
    index.load_all()
    assert index.query(Query(sort="name"))["backends"] == ["5", "Local"]


def _listener_of_closed_page(tmp_path: Path) -> None:
    def bad(loc: GangaLocation, index: RepositoryIndex) -> None:
        loop = asyncio.new_event_loop()
        loop.close()  # a page's event stream whose loop ended before it removed its listener
        index.add_listener(lambda _version: loop.call_soon_threadsafe(print))
        write_index(loc, 3, {"status": "new"})

    watcher_survives(tmp_path, bad)


def _index_not_a_pickle(tmp_path: Path) -> None:
    loc = location(tmp_path)
    (loc.jobs / "0xxx").mkdir()
    for n, content in enumerate([b"", b"\x80\x04garbage", b"\x00" * 100, pickle.dumps("just a string")]):
        (loc.jobs / "0xxx" / f"{n}.index").write_bytes(content)
        assert read_job(loc, n) is None


def _index_with_objects(tmp_path: Path) -> None:
    loc = location(tmp_path)
    path = write_index(loc, 1, {})
    path.write_bytes(pickle.dumps(("jobs", "Job", {"status": threading.Lock})))  # a class: refused, never imported
    assert read_job(loc, 1) is None


def _index_wrong_shapes(tmp_path: Path) -> None:
    loc = location(tmp_path)
    write_index(loc, 1, ["not", "a", "dict"])
    write_index(loc, 2, {"status": "new"}, category="boxes")
    write_index(loc, 3, {"status": ["running"], "subjobs:status": 12, "comment": {"a": 1}})
    (loc.jobs / "0xxx" / "4.index").write_bytes(pickle.dumps(("jobs", "Job")))
    assert read_job(loc, 1) is None and read_job(loc, 2) is None and read_job(loc, 4) is None
    well_typed(read_job(loc, 3))


def _data_truncated(tmp_path: Path) -> None:
    loc = location(tmp_path)
    full = data_xml()
    write_data(loc, 1, full[: len(full) // 2])
    assert read_job(loc, 1) is None
    write_index(loc, 1, {"status": "new", "name": "from the index"})
    assert read_job(loc, 1).name == "from the index"


def _data_not_utf8(tmp_path: Path) -> None:
    loc = location(tmp_path)
    write_data(loc, 1, data_xml(name="'caf\u00e9'").encode().replace("caf\u00e9".encode(), b"caf\xe9\x00\xff"))
    job = read_job(loc, 1)
    assert job is None or (well_typed(job) is None and job.status == "running")
    write_data(loc, 2, b"\x00" * 4096)
    assert read_job(loc, 2) is None


def _data_quadratic_regex(tmp_path: Path) -> None:
    loc = location(tmp_path)
    head = '    <attribute name="status">\n<value>\n'
    write_data(loc, 1, head * 4000)  # 152 KB of openings that never close: 4 s for the old lazy regex
    write_data(loc, 2, data_xml(extra=head * 4000))
    started = time.monotonic()
    assert read_job(loc, 1) is None
    read_job(loc, 2)
    assert time.monotonic() - started < 1.0


def _data_huge(tmp_path: Path) -> None:
    loc = location(tmp_path)
    write_index(loc, 1, {"status": "completed", "name": "indexed"})
    write_data(loc, 1, data_xml(extra=" " * (16 * 1024 * 1024 + 1)))  # the newer file, but too big to read
    job = read_job(loc, 1)
    assert job.status == "completed" and job.name == "indexed"


def _data_entities(tmp_path: Path) -> None:
    loc = location(tmp_path)
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE root [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {chr(98 + i)} "' + f"&{chr(97 + i)};" * 10 + '">' for i in range(8))
        + ']>\n<root><class name="Job" version="1.6" category="jobs"><attribute name="status"><value>&i;</value>'
        "</attribute></class></root>\n"
    )
    write_data(loc, 1, bomb)
    started = time.monotonic()
    assert read_job(loc, 1) is None
    assert time.monotonic() - started < 1.0


def _huge_name(tmp_path: Path) -> None:
    loc = location(tmp_path)
    name = "n" * 3_000_000
    write_index(loc, 1, {"status": "new", "name": name, "comment": "c" * 1_000_000})
    write_data(loc, 2, data_xml(name=repr(name)))
    index = RepositoryIndex(loc)
    index.load_all()
    page = index.query(Query())
    assert len(json.dumps(page)) < 10_000
    for row in page["jobs"]:
        assert len(row["name"]) == DISPLAY_LENGTH and row["name"].endswith("\u2026")
    assert index.query(Query(name="nnnn"))["matching"] == 2  # still found by what its name holds


def _huge_name_in_notebook_rows(tmp_path: Path) -> None:
    from GangaJupyter.Lib.Display.records import job_row

    row = job_row(None, {"id": 1, "status": "new", "name": "n" * 3_000_000, "comment": "c" * 1_000_000})
    assert len(row.name) == len(row.comment) == DISPLAY_LENGTH and row.name.endswith("\u2026")


def _subjobs_index_malformed(tmp_path: Path) -> None:
    loc = location(tmp_path)
    write_index(loc, 1, {"status": "running", "subjobs:status": ["running", "new"]})
    idx = loc.jobs / "0xxx" / "1" / "subjobs.idx"
    idx.parent.mkdir(parents=True)
    for content in [b"junk", pickle.dumps([1, 2]), pickle.dumps({0: "running", 1: None}), pickle.dumps({"a": {}, 0: {}})]:
        idx.write_bytes(content)
        os.utime(idx, (time.time() + 10, time.time() + 10))
        job = read_job(loc, 1)
        well_typed(job)


def _journal_garbage_lines(tmp_path: Path) -> None:
    loc = location(tmp_path)
    journal = Journal(loc.jupyter / "sessions")
    journal_path(loc).write_bytes(
        b"\xff\xfe\x00not json\n[]\n{}\nnull\n"
        b'{"changes":{"1":"running"}}\n{"changes":{"1":["running"]}}\n{"changes":{"1":[3,1.0]}}\n'
        b'{"changes":{"\xc2\xb2":["running",1.0]}}\n{"changes":{"1.x":["running",1.0]}}\n'
        b'{"changes":{"1":["running",true]}}\n{"changes":{"1":["running",1e400]}}\n'
        b'{"changes":{"5.2":["failed",1.0]}}\n{"changes":{"6":["completed"'
    )
    assert journal.read() == {5}
    assert journal.latest == {"5.2": ("failed", 1.0)}


def _journal_huge_line(tmp_path: Path) -> None:
    loc = location(tmp_path)
    journal = Journal(loc.jupyter / "sessions")
    with journal_path(loc).open("wb") as out:
        out.write(b'{"changes":{"1":["' + b"r" * (24 * 1024 * 1024) + b'",1.0]}}\n')
        out.write(b'{"changes":{"2":["running",2.0]}}\n')
    assert journal.read() == {2}
    assert journal.latest == {"2": ("running", 2.0)}


def _journal_compaction(tmp_path: Path) -> None:
    loc = location(tmp_path)
    service = SessionService(loc, "kernel")
    service.journal_path.touch()  # as start() does
    old = time.time() - 3600
    for n in range(0, 10**6, 2000):
        if service.journal_path.stat().st_size > protocol.JOURNAL_LIMIT:
            break
        service.journal({f"{n + k}": ("completed", old) for k in range(2000)})
    service.journal({"1": ("running", time.time())})
    assert service.journal_path.stat().st_size < 1000
    assert len(service._latest) == 1
    journal = Journal(protocol.sessions_folder(loc))
    assert journal.read() == {1}


def _dead_session_journal(tmp_path: Path) -> None:
    loc = location(tmp_path)
    dead, alive, young = journal_path(loc, "h.1.dead"), journal_path(loc, "h.2.live"), journal_path(loc, "h.3.new")
    for path in (dead, alive, young):
        path.write_text('{"changes":{"1":["running",1.0]}}\n')
    long_ago = time.time() - 7200
    os.utime(dead, (long_ago, long_ago))
    os.utime(alive, (long_ago, long_ago))
    protocol.register(loc, protocol.SessionInfo("h.2.live", os.getpid(), protocol.HOST, "kernel", time.time()))
    index = RepositoryIndex(loc)
    watch = RepositoryWatch(index, interval=0.02)
    watch.start()
    try:
        assert wait_for(lambda: not dead.exists()), "a dead session's journal was kept"
        assert alive.exists() and young.exists()
    finally:
        watch.stop()


def _removed_job_evicted(tmp_path: Path) -> None:
    loc = location(tmp_path)
    index_file = write_index(loc, 7, {"status": "running", "subjobs:status": ["running"]})
    journal_path(loc).write_text('{"changes":{"7":["completed",%f],"7.0":["completed",%f]}}\n' % (time.time() + 5, time.time() + 5))
    index = RepositoryIndex(loc)
    index.load_all()
    assert index.get(7).status == "completed"
    index_file.unlink()
    index.refresh({7})
    assert index.get(7) is None
    assert index.journal.latest == {}, "the journal's statuses of a removed job stayed in memory"


def _helper_log_rotated(tmp_path: Path) -> None:
    log = tmp_path / "helper.log"
    log.write_bytes(b"x" * (1024 * 1024 + 1))
    rotate_helper_log(log)
    assert not log.exists()
    assert (tmp_path / "helper.log.1").stat().st_size == 1024 * 1024 + 1
    log.write_bytes(b"small\n")
    rotate_helper_log(log)
    assert log.read_bytes() == b"small\n"


CASES = [
    Case("watch-journal-changes-list", "watcher", 'a journal line {"changes":[1]}',
         "line skipped; the watcher thread lives on", _journal_changes_list),
    Case("watch-journal-non-numeric-time", "watcher", "journal changes with a time of \"soon\" or NaN",
         "changes skipped; the watcher thread lives on", _journal_non_numeric_time),
    Case("watch-superscript-entry", "watcher", "repository entries named ², ².index and ²xxx (isdigit() is true)",
         "entries ignored (ids must be ASCII decimal); watchdog's and the watcher's threads live on",
         _superscript_entry),
    Case("watch-value-unhashable", "watcher", "a data file with <value>{{}}</value>",
         "value read as missing; the watcher thread lives on", _value_unhashable),
    Case("watch-integer-backend", "watcher", "an index with an integer display:backend and name, another with a "
         "list display:application",
         "shown as text; /api/jobs still answers; the watcher thread lives on", _integer_backend),
    Case("watch-listener-closed-loop", "watcher", "a change listener whose event loop is closed (a page gone)",
         "listener's error logged; the other listeners and the watcher thread live on", _listener_of_closed_page),
    Case("repository-index-not-a-pickle", "repository", "empty, garbage, NUL-filled or non-tuple .index files",
         "job not listed", _index_not_a_pickle),
    Case("repository-index-objects", "repository", "an .index pickle naming a class",
         "refused without importing anything; job not listed", _index_with_objects),
    Case("repository-index-wrong-shapes", "repository", "an .index whose cache is a list, of another category, "
         "or with lists and numbers where text belongs", "not listed, or listed with text fields", _index_wrong_shapes),
    Case("repository-data-truncated", "repository", "a data file cut in half",
         "ignored; the index file's values are shown", _data_truncated),
    Case("repository-data-not-utf8", "repository", "a data file with Latin-1 and NUL bytes, or only NULs",
         "read with replacement characters, or ignored", _data_not_utf8),
    Case("repository-data-quadratic", "repository", "a 152 KB data file of unclosed <value> openings",
         "read in linear time (< 1 s; the old regex took 4 s)", _data_quadratic_regex),
    Case("repository-data-huge", "repository", "a data file larger than the size cap (16 MB)",
         "not read (bounded memory); the older index file's values are shown", _data_huge),
    Case("repository-data-entities", "repository", "a data file with a DOCTYPE of nested entities (billion laughs)",
         "refused at once", _data_entities),
    Case("repository-huge-name", "repository", "a 3 MB job name and a 1 MB comment",
         "rows carry 200 characters with an ellipsis; the filter still matches the name (its first 4,096)", _huge_name),
    Case("display-huge-name", "notebook rows", "a 3 MB job name and a 1 MB comment in a job table of the notebook",
         "200 characters with an ellipsis", _huge_name_in_notebook_rows),
    Case("repository-subjobs-index", "repository", "a subjobs.idx that is garbage, a list, or has non-dict entries",
         "subjob statuses from the index file (or 'unknown'), all text", _subjobs_index_malformed),
    Case("journal-garbage-lines", "journal", "non-UTF-8, NUL, non-JSON, wrong-shaped, non-decimal ids, boolean and "
         "infinite times, a last line without newline", "bad lines and changes skipped, good ones kept",
         _journal_garbage_lines),
    Case("journal-huge-line", "journal", "a journal line three times the read chunk (24 MB)",
         "skipped in bounded memory; the next line is read", _journal_huge_line),
    Case("journal-compaction", "journal", "a session's journal past its size limit, with old statuses",
         "compacted to the recent statuses; the session's memory too", _journal_compaction),
    Case("journal-dead-session", "journal", "the journal of a session that ended without cleaning up",
         "removed after an hour; live and new sessions' journals kept", _dead_session_journal),
    Case("tables-removed-job", "tables", "a job removed from the repository with statuses in a journal",
         "evicted from the server's tables", _removed_job_evicted),
    Case("helper-log-rotated", "helper log", "a helper.log past its size limit (1 MB)",
         "moved to helper.log.1 when the next helper starts", _helper_log_rotated),
]

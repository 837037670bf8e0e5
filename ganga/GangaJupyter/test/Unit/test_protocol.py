"""The protocol between the Jupyter server and the Ganga sessions (``Core.protocol``), both of its sides, and the
one shape of an action's outcome (``Core.actions.ActionResult``). Real files under ``tmp_path``; the session's
side is the real ``Session.service`` request worker, which answers without Ganga what needs no Ganga."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from GangaJupyter.Lib.Core import protocol
from GangaJupyter.Lib.Core.actions import ACTIONS, LEVELS, ActionResult
from GangaJupyter.Lib.Core.errors import GangaJupyterError
from GangaJupyter.Lib.Core.location import GangaLocation, LocationError
from GangaJupyter.Lib.Server.repository import Journal
from GangaJupyter.Lib.Session import actions as session_actions
from GangaJupyter.Lib.Session.service import SessionService
from GangaJupyter.testlib.waiting import wait_until

BOUNDED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def location(root: Path) -> GangaLocation:
    loc = GangaLocation(gangadir=root / "gangadir", user="tester")
    loc.gangadir.mkdir(parents=True, exist_ok=True)
    return loc


def session(sid: str = "h.1.aa", **changes: object) -> protocol.SessionInfo:
    fields = {"sid": sid, "pid": os.getpid(), "host": protocol.HOST, "role": "kernel", "started": time.time()}
    return protocol.SessionInfo(**{**fields, **changes})  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- requests and replies
def test_a_release_request_is_answered_by_the_session_and_taken_once(tmp_path: Path) -> None:
    loc = location(tmp_path)
    worker = SessionService(loc, "helper")
    worker.beat()
    [info] = protocol.registered_sessions(loc)
    assert info == worker.info
    rid = protocol.send_request(loc, info, protocol.RELEASE, None)
    assert protocol.take_reply(loc, rid) is None, "a reply before the session answered"
    assert worker.serve_pending() is True and worker.released.is_set()
    assert protocol.take_reply(loc, rid) == ActionResult.success("released")
    assert protocol.take_reply(loc, rid) is None, "a reply was taken twice"
    assert protocol.request_files(loc, worker.sid) == [], "the request stayed to be served again"


def test_the_session_refuses_an_action_it_does_not_know(tmp_path: Path) -> None:
    loc = location(tmp_path)
    worker = SessionService(loc, "kernel")
    first = protocol.send_request(loc, worker.info, "explode", 3)
    second = protocol.send_request(loc, worker.info, "explode", 4)
    assert worker.serve_pending() is False
    for rid in (first, second):
        reply = protocol.take_reply(loc, rid)
        assert reply is not None and reply.level == "error" and not reply.ok
        assert reply.message == "Unknown action 'explode': the Jobs browser knows kill, resubmit, remove."


def test_a_request_is_what_the_server_sent(tmp_path: Path) -> None:
    loc = location(tmp_path)
    before = time.time()
    rid = protocol.send_request(loc, session(), "kill", 12)
    [path] = protocol.request_files(loc, "h.1.aa")
    request = protocol.read_request(path)
    assert (request.rid, request.action, request.job) == (rid, "kill", 12)
    assert request.sent is not None and before <= request.sent <= time.time()
    assert protocol.Request.parse(request.to_json(), rid) == request
    with pytest.raises(ValueError, match="is not its file name"):
        protocol.Request.parse(request.to_json(), uuid.uuid4().hex)


def test_the_reply_writer_and_reader_agree(tmp_path: Path) -> None:
    loc = location(tmp_path)
    for result in (ActionResult.success("Killed job 3."), ActionResult.info("Job 3 is completed."), ActionResult.error("no")):
        rid = uuid.uuid4().hex
        protocol.write_reply(loc, rid, result)
        assert protocol.take_reply(loc, rid) == result
        assert not protocol.reply_path(loc, rid).exists()


reply_content = (
    st.binary(max_size=60)
    | st.builds(
        lambda ok, message, level: json.dumps({"ok": ok, "message": message, "level": level}).encode(),
        st.booleans() | st.none() | st.integers(),
        st.text(max_size=20) | st.none() | st.integers(),
        st.sampled_from(LEVELS + ("fatal", "")) | st.none(),
    )
)


@BOUNDED
@given(content=reply_content)
def test_whatever_a_reply_holds_the_server_gets_a_result(content: bytes) -> None:
    loc = location(Path(tempfile.mkdtemp(prefix="gj-reply-")))
    rid = uuid.uuid4().hex
    (protocol.jupyter_folder(loc, "replies") / f"{rid}.json").write_bytes(content)
    reply = protocol.take_reply(loc, rid)
    assert isinstance(reply, ActionResult)
    assert reply.ok == (reply.level != "error")
    assert not protocol.reply_path(loc, rid).exists(), "a broken reply stayed, to be read again"


# ---------------------------------------------------------------------------------------------- registrations
def test_a_registration_counts_while_it_beats(tmp_path: Path) -> None:
    loc = location(tmp_path)
    assert protocol.registered_sessions(loc) == [] and not loc.jupyter.exists(), "a reader made the gangadir's folder"
    helper, kernel = session("h.1.aa", role="helper", started=1.0), session("h.2.bb", started=2.0)
    protocol.register(loc, helper)
    protocol.register(loc, kernel)
    assert protocol.registered_sessions(loc) == [kernel, helper], "kernels come first"
    assert protocol.current_session(loc, "h.2.bb") == kernel
    stale = time.time() - protocol.STALE - 1
    os.utime(protocol.registration_path(loc, "h.2.bb"), (stale, stale))
    assert protocol.registered_sessions(loc) == [helper]
    assert protocol.current_session(loc, "h.2.bb") is None
    protocol.register(loc, kernel)  # the next heartbeat
    assert protocol.registered_sessions(loc) == [kernel, helper]


def test_a_registration_of_an_ended_process_does_not_count(tmp_path: Path) -> None:
    loc = location(tmp_path)
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    protocol.register(loc, session(pid=int(ended.stdout)))
    protocol.register(loc, session("far.7.aa", host="elsewhere.example.org", pid=int(ended.stdout)))
    assert [s.sid for s in protocol.registered_sessions(loc)] == ["far.7.aa"], "only the heartbeat decides elsewhere"


def test_a_registration_round_trips_and_refuses_what_it_is_not() -> None:
    info = session()
    assert protocol.SessionInfo.parse(info.to_json(), info.sid) == info
    for changes, problem in [
        ({"sid": "h.2.bb"}, "is not its file name"),
        ({"pid": 1}, "is not a process id"),
        ({"role": "boss"}, "is none of kernel, helper"),
        ({"started": 10**400}, "is not a time"),
    ]:
        with pytest.raises(ValueError, match=problem):
            protocol.SessionInfo.parse({**info.to_json(), **changes}, info.sid)


def test_new_session_ids_are_safe_path_components() -> None:
    ids = {protocol.new_session_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(protocol.check_sid(sid) == sid and "/" not in sid for sid in ids)


# ---------------------------------------------------------------------------------------------- journals
fqids = st.builds(lambda parts: ".".join(map(str, parts)), st.lists(st.integers(0, 10**12 - 1), min_size=1, max_size=3))
changes = st.dictionaries(
    fqids,
    st.tuples(st.text(max_size=protocol.MAX_STATUS), st.floats(allow_nan=False, allow_infinity=False)),
    max_size=6,
)


@BOUNDED
@given(batch=changes)
def test_a_journal_line_reads_back_as_written(batch: dict[str, tuple[str, float]]) -> None:
    line = protocol.journal_line(batch)
    assert line.endswith("\n") and line.count("\n") == 1
    assert protocol.parse_journal_line(line.encode()) == batch


def test_a_journal_line_keeps_only_the_changes_that_are_changes() -> None:
    line = (
        b'{"changes": {"1": ["running", 5], "2": ["running", 1' + b"0" * 400 + b'], "3": ["running", true], '
        b'"4.x": ["failed", 1.0], "5": ["' + b"x" * 100 + b'", 2.5], "6": "running"}}'
    )
    assert protocol.parse_journal_line(line) == {"1": ("running", 5.0), "5": ("x" * protocol.MAX_STATUS, 2.5)}
    assert protocol.parse_journal_line(b"[]") == protocol.parse_journal_line(b"\xff") == {}


def test_the_session_writes_its_changes_to_disk_before_it_journals_them(tmp_path: Path) -> None:
    """Its own changes only (another session journals its own), each on disk before its journal line, so a reader
    of the journal finds the job on disk as the line says; and the server reads what it wrote."""
    from GangaJupyter.Lib.Monitor.events import EventBatch

    loc = location(tmp_path)
    flushed: list[tuple[list[str], int]] = []

    def flush(fqids) -> None:
        flushed.append((sorted(fqids), worker.journal_path.read_text().count("\n")))

    worker = SessionService(loc, "kernel", flush=flush)
    protocol.jupyter_folder(loc, "sessions")
    worker.journal_path.touch()  # as start() does
    persisting = threading.Thread(target=worker._persist, daemon=True)
    persisting.start()
    now = time.time()
    worker._on_batch(EventBatch({"7": ("running", now), "8": ("running", now)}, foreign={"8"}))
    assert wait_until(lambda: worker.journal_path.read_text().count("\n") == 1, timeout=5)
    worker._on_batch(EventBatch({}, records={"7"}))  # scheduler-record changes only: nothing to write
    worker._on_batch(EventBatch({"8": ("completed", now + 1)}, foreign={"8"}))  # another session's news only
    worker._on_batch(EventBatch({"7.0": ("completed", now + 1)}))
    assert wait_until(lambda: worker.journal_path.read_text().count("\n") == 2, timeout=5)
    worker.released.set()
    persisting.join(timeout=5)
    assert flushed == [(["7"], 0), (["7.0"], 1)]
    journal = Journal(protocol.sessions_folder(loc))
    assert journal.read() == {7}
    assert journal.latest == {"7": ("running", now), "7.0": ("completed", now + 1)}


def test_a_job_busy_in_ganga_is_written_and_journaled_later_and_holds_back_no_other(tmp_path: Path) -> None:
    """Ganga's monitor holds a job while it completes it: the write of that job is left for a later round, the
    other jobs' changes are written and journaled meanwhile, and the busy job's line follows its write."""
    from GangaJupyter.Lib.Monitor.events import EventBatch

    loc = location(tmp_path)
    busy = threading.Event()
    busy.set()
    writes: list[list[str]] = []

    def flush(fqids) -> bool:
        fqids = sorted(fqids)
        if fqids == ["7"] and busy.is_set():
            return False
        writes.append(fqids)
        return True

    worker = SessionService(loc, "kernel", flush=flush)
    protocol.jupyter_folder(loc, "sessions")
    worker.journal_path.touch()
    persisting = threading.Thread(target=worker._persist, daemon=True)
    persisting.start()
    now = time.time()
    worker._on_batch(EventBatch({"7": ("completed", now)}))
    worker._on_batch(EventBatch({"8": ("running", now)}))
    assert wait_until(lambda: worker.journal_path.read_text().count("\n") == 1, timeout=5)
    assert writes == [["8"]] and '"8"' in worker.journal_path.read_text()
    busy.clear()  # Ganga is done with job 7
    assert wait_until(lambda: worker.journal_path.read_text().count("\n") == 2, timeout=5)
    worker.released.set()
    persisting.join(timeout=5)
    assert writes == [["8"], ["7"]]
    journal = Journal(protocol.sessions_folder(loc))
    assert journal.read() == {7, 8}
    assert journal.latest == {"7": ("completed", now), "8": ("running", now)}


def test_the_session_writes_jobs_that_changed_without_a_status_change_twice_a_second(tmp_path: Path) -> None:
    """A name set in a cell changes no status: the persisting thread writes such jobs every ``CHANGED_EVERY``
    seconds, whether or not status changes keep it busy, and a failed write is told, not fatal."""
    from GangaJupyter.Lib.Monitor.events import EventBatch
    from GangaJupyter.Lib.Session.service import CHANGED_EVERY

    calls: list[float] = []

    def flush_changed() -> None:
        calls.append(time.monotonic())
        if len(calls) == 2:
            raise OSError("a full disk")

    worker = SessionService(location(tmp_path), "kernel", flush=lambda fqids: None, flush_changed=flush_changed)
    protocol.jupyter_folder(worker.location, "sessions")
    worker.journal_path.touch()
    persisting = threading.Thread(target=worker._persist, daemon=True)
    started = time.monotonic()
    persisting.start()
    while time.monotonic() - started < 6 * CHANGED_EVERY:  # busy with status changes meanwhile
        worker._on_batch(EventBatch({"7": ("running", time.time())}))
        time.sleep(0.05)
    worker.released.set()
    persisting.join(timeout=5)
    assert len(calls) >= 4, f"{len(calls)} writes in {6 * CHANGED_EVERY} s"
    assert max(b - a for a, b in zip([started] + calls, calls)) < 2 * CHANGED_EVERY + 0.5
    assert "could not write changed jobs to disk: a full disk" in worker._problem


# ---------------------------------------------------------------------------------------------- results, errors
def test_an_action_result_has_one_shape() -> None:
    assert ActionResult.success("done") == ActionResult(True, "done", "success")
    assert ActionResult.info("nothing to do") == ActionResult(True, "nothing to do", "info")
    assert ActionResult.error("refused") == ActionResult(False, "refused", "error")
    for result in (ActionResult.success("a"), ActionResult.info("b"), ActionResult.error("c")):
        assert ActionResult.from_json(json.loads(json.dumps(result.to_json()))) == result
    with pytest.raises(ValueError, match="level 'fatal' is none of"):
        ActionResult(False, "x", "fatal")
    with pytest.raises(ValueError, match="cannot have ok=True"):
        ActionResult(True, "x", "error")
    with pytest.raises(ValueError, match="not a JSON object"):
        ActionResult.from_json(["ok"])


def test_the_session_carries_out_exactly_the_core_actions() -> None:
    assert tuple(session_actions.PERFORM) == ACTIONS
    assert session_actions.PERFORM["resubmit"] is session_actions.resubmit_failed


def test_the_protocol_errors_are_gangajupyter_errors(tmp_path: Path) -> None:
    assert issubclass(protocol.UnsafeFolderError, GangaJupyterError)
    assert issubclass(protocol.UnsafeFolderError, OSError), "the server's handlers report it as a folder problem"
    assert issubclass(LocationError, GangaJupyterError)
    loc = location(tmp_path)
    loc.jupyter.symlink_to(tmp_path)
    with pytest.raises(GangaJupyterError, match="symbolic link"):
        protocol.registered_sessions(loc)


def test_changes_go_job_by_job_those_of_a_job_itself_first():
    from GangaJupyter.Lib.Core.journals import by_job

    changes = {"7.1": ("running", 1.0), "7.2": ("running", 1.0), "3": ("completed", 2.0), "9.0": ("failed", 3.0),
               "7": ("running", 1.5)}
    assert by_job(changes) == [
        {"3": ("completed", 2.0)},
        {"7.1": ("running", 1.0), "7.2": ("running", 1.0), "7": ("running", 1.5)},
        {"9.0": ("failed", 3.0)},
    ]
    assert by_job({}) == []

"""The protocol between the Jupyter server and the Ganga sessions: files in ``<gangadir>/jupyter``.

Whoever can write there (another user of a shared or badly protected gangadir, a broken disk, an old version) can
put anything in a registration, a request or a reply. Each input here once wrote outside the folder, followed a
planted symbolic link, raised out of ``registered_sessions`` (so every ``%load_ext`` failed), or made every action
or ``%load_ext`` wait a minute or more.
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from GangaJupyter.Lib.Core import protocol
from GangaJupyter.Lib.Core.actions import ActionResult
from GangaJupyter.Lib.Core.journals import JournalFollower
from GangaJupyter.Lib.Core.location import GangaLocation
from GangaJupyter.Lib.Session.service import SessionService

from . import Case


def location(tmp_path: Path) -> GangaLocation:
    loc = GangaLocation(gangadir=tmp_path / "gangadir", user="tester")
    loc.gangadir.mkdir(parents=True, exist_ok=True)
    return loc


def register(loc: GangaLocation, name: str, content: object | bytes) -> Path:
    path = protocol.jupyter_folder(loc, "sessions") / f"{name}.json"
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    return path


def registration(sid: str = "h.1.aa", **changes: object) -> dict[str, object]:
    return {"sid": sid, "pid": os.getpid(), "host": protocol.HOST, "role": "kernel", "started": time.time(), **changes}


def service(loc: GangaLocation) -> tuple[SessionService, Path]:
    """A session's request worker (its Ganga parts are not needed for these inputs), with its request folder."""
    worker = SessionService(loc, "kernel")
    return worker, protocol.jupyter_folder(loc, "requests", worker.sid)


def release_request(folder: Path) -> str:
    rid = uuid.uuid4().hex
    (folder / f"{rid}.json").write_text(json.dumps({"id": rid, "action": "release", "job": None}))
    return rid


def served_after(loc: GangaLocation, worker: SessionService, folder: Path) -> None:
    """The worker still serves: a good request after the bad one is answered."""
    rid = release_request(folder)
    assert worker.serve_pending() is True
    assert protocol.take_reply(loc, rid) == ActionResult.success("released")


# ---------------------------------------------------------------------------------------------- registrations
def _registration_ignored(content: object | bytes, name: str = "h.1.aa"):
    def check(tmp_path: Path) -> None:
        loc = location(tmp_path)
        register(loc, name, content)
        good = register(loc, "h.2.bb", registration("h.2.bb"))
        assert [s.sid for s in protocol.registered_sessions(loc)] == [good.name[:-5]]

    return check


def _other_host_stale(tmp_path: Path) -> None:
    loc = location(tmp_path)
    path = register(loc, "far.7.aa", registration("far.7.aa", host="elsewhere.example.org", pid=7))
    assert [s.sid for s in protocol.registered_sessions(loc)] == ["far.7.aa"], "a beating remote session counts"
    long_ago = time.time() - 4 * protocol.BEAT
    os.utime(path, (long_ago, long_ago))
    assert protocol.registered_sessions(loc) == [], "a remote session that stopped beating counted forever"


def _pid_1_helper(tmp_path: Path) -> None:
    loc = location(tmp_path)
    register(loc, "h.1.aa", registration(pid=1, role="helper"))
    started = time.monotonic()
    assert protocol.release_helpers(loc, timeout=3) == []
    assert time.monotonic() - started < 1, "%load_ext waited for a forged helper"


def _dead_pid(tmp_path: Path) -> None:
    loc = location(tmp_path)
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    register(loc, "h.9.aa", registration("h.9.aa", pid=int(ended.stdout), role="helper"))
    assert protocol.registered_sessions(loc) == []


def _registration_symlink(tmp_path: Path) -> None:
    loc = location(tmp_path)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps(registration()))
    (protocol.jupyter_folder(loc, "sessions") / "h.1.aa.json").symlink_to(elsewhere)
    assert protocol.registered_sessions(loc) == []


def _sid_escapes(tmp_path: Path) -> None:
    loc = location(tmp_path)
    register(loc, "h.1.aa", registration(sid="../../../escaped"))
    assert protocol.registered_sessions(loc) == []
    forged = protocol.SessionInfo(sid="../../../escaped", pid=os.getpid(), host=protocol.HOST, role="kernel", started=0)
    with pytest.raises(ValueError, match="not a GangaJupyter session id"):
        protocol.send_request(loc, forged, "kill", 1)
    assert not (tmp_path / "escaped").exists()


# ---------------------------------------------------------------------------------------------- requests
def _request_ignored(content: bytes, name: str | None = None):
    def check(tmp_path: Path) -> None:
        loc = location(tmp_path)
        worker, folder = service(loc)
        path = folder / f"{name or uuid.uuid4().hex}.json"
        path.write_bytes(content)
        assert worker.serve_pending() is False
        assert not path.exists(), "a malformed request stayed to be read again every 2 s"
        assert [p.name for p in protocol.jupyter_folder(loc, "replies").iterdir()] == []
        served_after(loc, worker, folder)

    return check


def _request_id_escapes(tmp_path: Path) -> None:
    loc = location(tmp_path)
    worker, folder = service(loc)
    (folder / f"{uuid.uuid4().hex}.json").write_text(json.dumps({"id": "../../../escaped", "action": "release"}))
    assert worker.serve_pending() is False, "a request with a forged id was carried out"
    assert not list(tmp_path.rglob("escaped*")), "the reply was written outside the replies folder"
    served_after(loc, worker, folder)


def _request_symlink(tmp_path: Path) -> None:
    loc = location(tmp_path)
    worker, folder = service(loc)
    rid = uuid.uuid4().hex
    target = tmp_path / "someone-elses.json"
    target.write_text(json.dumps({"id": rid, "action": "release"}))
    (folder / f"{rid}.json").symlink_to(target)
    assert worker.serve_pending() is False, "a request read through a symbolic link was carried out"
    assert target.exists() and not (folder / f"{rid}.json").is_symlink()
    served_after(loc, worker, folder)


def _request_fifo(tmp_path: Path) -> None:
    loc = location(tmp_path)
    worker, folder = service(loc)
    fifo = folder / f"{uuid.uuid4().hex}.json"
    os.mkfifo(fifo)
    done = threading.Event()
    thread = threading.Thread(target=lambda: (worker.serve_pending(), done.set()), daemon=True)
    thread.start()
    if not done.wait(5):
        with open(fifo, "w"):  # unblock the worker, or the test run would hang
            pass
        pytest.fail("the worker blocked on a FIFO named like a request")
    served_after(loc, worker, folder)


def _request_folder_symlink(tmp_path: Path) -> None:
    loc = location(tmp_path)
    worker = SessionService(loc, "kernel")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.json").write_text("{}")
    protocol.jupyter_folder(loc, "requests")
    (loc.jupyter / "requests" / worker.sid).symlink_to(victim)
    with pytest.raises(protocol.UnsafeFolderError, match="symbolic link"):
        worker.serve_pending()
    worker.stop()  # its clean-up does not empty the linked folder either
    assert (victim / "precious.json").exists(), "files behind a symbolic link were deleted"


# ---------------------------------------------------------------------------------------------- replies
def _reply(content: bytes, message: str):
    def check(tmp_path: Path) -> None:
        loc = location(tmp_path)
        rid = uuid.uuid4().hex
        (protocol.jupyter_folder(loc, "replies") / f"{rid}.json").write_bytes(content)
        reply = protocol.take_reply(loc, rid)
        assert reply is not None, "a broken reply left the server waiting for the action timeout"
        assert reply.ok is False and message in reply.message, reply

    return check


def _reply_symlink(tmp_path: Path) -> None:
    loc = location(tmp_path)
    rid = uuid.uuid4().hex
    target = tmp_path / "secret.json"
    target.write_text(json.dumps(ActionResult.success("a secret").to_json()))
    (protocol.jupyter_folder(loc, "replies") / f"{rid}.json").symlink_to(target)
    reply = protocol.take_reply(loc, rid)
    assert reply is not None and reply.ok is False and "a secret" not in reply.message, reply
    assert target.exists()


def _reply_rid_escapes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a GangaJupyter request id"):
        protocol.take_reply(location(tmp_path), "../../gangadir/escaped")


# ---------------------------------------------------------------------------------------------- folders
def _jupyter_symlink(tmp_path: Path) -> None:
    loc = location(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    loc.jupyter.symlink_to(elsewhere)
    with pytest.raises(protocol.UnsafeFolderError, match=r"symbolic link .* Remove it"):
        protocol.registered_sessions(loc)
    with pytest.raises(protocol.UnsafeFolderError):
        SessionService(loc, "kernel").beat()
    assert list(elsewhere.iterdir()) == []


def _jupyter_world_readable(tmp_path: Path) -> None:
    loc = location(tmp_path)
    (loc.jupyter / "sessions").mkdir(parents=True)
    os.chmod(loc.jupyter, 0o755)  # as older versions made it
    register(loc, "h.1.aa", registration())
    assert stat.S_IMODE(loc.jupyter.stat().st_mode) == 0o700
    assert stat.S_IMODE((loc.jupyter / "sessions").stat().st_mode) == 0o700
    rid = uuid.uuid4().hex
    protocol.write_reply(loc, rid, ActionResult.success("m"))
    assert stat.S_IMODE(protocol.reply_path(loc, rid).stat().st_mode) == 0o600
    assert stat.S_IMODE((loc.jupyter / "replies").stat().st_mode) == 0o700


def _jupyter_other_owner(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("making a folder of another user needs root")
    loc = location(tmp_path)
    loc.jupyter.mkdir()
    os.chown(loc.jupyter, 65534, 65534)
    with pytest.raises(protocol.UnsafeFolderError, match="belongs to user id 65534, not to you"):
        protocol.registered_sessions(loc)


def _planted_temporary_name(tmp_path: Path) -> None:
    loc = location(tmp_path)
    folder = protocol.jupyter_folder(loc, "sessions")
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (folder / f".h.1.aa.json.{os.getpid()}.tmp").symlink_to(victim)  # the name older versions wrote to
    protocol.register(loc, protocol.SessionInfo.parse(registration(), "h.1.aa"))
    assert victim.read_text() == "precious"
    assert json.loads((folder / "h.1.aa.json").read_text())["sid"] == "h.1.aa"


def _registration_named_in_the_loading_cell(tmp_path: Path) -> None:
    loc = location(tmp_path)
    register(loc, "h.1.aa", b"{not json")
    register(loc, "h.3.cc", registration("h.3.cc", protocol="two"))
    register(loc, "h.2.bb", registration("h.2.bb"))
    found = {path.name: why for path, why in protocol.unreadable_registrations(loc)}
    assert sorted(found) == ["h.1.aa.json", "h.3.cc.json"], found
    assert "protocol 'two' is not a protocol version" in found["h.3.cc.json"]
    assert [s.sid for s in protocol.registered_sessions(loc)] == ["h.2.bb"]


def _registration_of_an_older_gangajupyter(tmp_path: Path) -> None:
    loc = location(tmp_path)
    old = registration("h.4.dd")  # written before registrations had a protocol
    register(loc, "h.4.dd", old)
    [session] = protocol.registered_sessions(loc)
    assert session.protocol == 1 < protocol.PROTOCOL, "an older session would be sent calls it cannot take"


def _journal_symlink_of_another_session(tmp_path: Path) -> None:
    loc = location(tmp_path)
    folder = protocol.jupyter_folder(loc, "sessions")
    secret = tmp_path / "elsewhere.events"
    secret.write_text(protocol.journal_line({"1": ("completed", 1.0)}))
    (folder / "h.5.ee.events").symlink_to(secret)
    own = folder / "h.6.ff.events"
    own.write_text(protocol.journal_line({"2": ("running", 1.0)}))
    follower = JournalFollower(folder, skip=own)
    assert follower.read() == {}, "a journal that is a symbolic link was followed, or this session's own was read"


def _journal_followed_from_where_it_was(tmp_path: Path) -> None:
    loc = location(tmp_path)
    folder = protocol.jupyter_folder(loc, "sessions")
    journal = folder / "h.7.gg.events"
    journal.write_text(protocol.journal_line({"1": ("running", 1.0)}))
    follower = JournalFollower(folder, since=1.5)  # what was there before is on disk already
    with journal.open("a") as appending:
        appending.write(protocol.journal_line({"1": ("completed", 2.0)}) + '{"changes": {"2": ["run')
    assert follower.read() == {"1": ("completed", 2.0)}, "a half-written line was read, or old lines again"
    journal.write_text(protocol.journal_line({"2": ("failed", 3.0)}))  # compacted: shorter, so read again
    assert follower.read() == {"2": ("failed", 3.0)}


HUGE = b'{"sid": "h.1.aa", "pad": "' + b"x" * (2 * protocol.MAX_FILE) + b'"}'

CASES = [
    Case("registration-garbage-json", "sessions", "a registration that is not JSON", "ignored; the valid one is used",
         _registration_ignored(b"{not json")),
    Case("registration-string-pid", "sessions", 'a registration with "pid": "12"',
         "ignored (it raised out of registered_sessions, so every %load_ext failed)",
         _registration_ignored(registration(pid=str(os.getpid())))),
    Case("registration-wrong-types", "sessions", "role 7, started 'yesterday', pid true",
         "ignored", _registration_ignored(registration(role=7, started="yesterday", pid=True))),
    Case("registration-not-object", "sessions", "a registration that is a JSON list", "ignored",
         _registration_ignored([1, 2, 3])),
    Case("registration-huge", "sessions", "a registration of 128 KiB", "ignored without being read whole",
         _registration_ignored(HUGE)),
    Case("registration-sid-not-file-name", "sessions", "sessions/h.1.aa.json claims sid h.2.bb",
         "ignored (it would impersonate another session)", _registration_ignored(registration("h.2.bb"))),
    Case("registration-sid-escapes", "sessions", 'a registration with sid "../../../escaped"',
         "ignored; no request is written outside requests/", _sid_escapes),
    Case("registration-other-host-stale", "sessions", "a session of another host that stopped beating",
         "counted while it beats, ignored 3 beats after (it counted forever: every action waited 120 s)",
         _other_host_stale),
    Case("registration-pid-1-helper", "sessions", "a helper registration with pid 1",
         "ignored: %load_ext does not wait for it (it waited 60 s)", _pid_1_helper),
    Case("registration-dead-pid", "sessions", "a beating registration whose process of this host has ended",
         "ignored at once", _dead_pid),
    Case("registration-symlink", "sessions", "sessions/<sid>.json is a symbolic link to a registration",
         "ignored (not followed)", _registration_symlink),
    Case("request-garbage-json", "requests", "a request file that is not JSON",
         "removed unanswered; the next request is served", _request_ignored(b"\x00\xff garbage")),
    Case("request-not-object", "requests", "a request that is a JSON list", "removed unanswered",
         _request_ignored(b"[1, 2]")),
    Case("request-huge", "requests", "a request of 128 KiB", "removed without being read whole",
         _request_ignored(HUGE)),
    Case("request-id-not-file-name", "requests", "a request whose id is not its file name",
         "removed unanswered", _request_ignored(json.dumps({"id": uuid.uuid4().hex, "action": "release"}).encode())),
    Case("request-id-escapes", "requests", 'a request with "id": "../../../escaped"',
         "removed unanswered; nothing written outside replies/ (the reply went to ../../../escaped.json)",
         _request_id_escapes),
    Case("request-symlink", "requests", "requests/<sid>/<rid>.json is a symbolic link to a valid request",
         "not followed: the link is removed, the target kept, nothing carried out", _request_symlink),
    Case("request-fifo", "requests", "a FIFO named like a request", "skipped without blocking the worker",
         _request_fifo),
    Case("request-folder-symlink", "requests", "requests/<sid> is a symbolic link to a folder of *.json",
         "refused with the fix; the files behind it are not deleted", _request_folder_symlink),
    Case("reply-garbage-json", "replies", "a reply that is not JSON",
         "a failed action at once, not a wait of 120 s", _reply(b"{oops", "unreadable")),
    Case("reply-wrong-types", "replies", 'a reply {"ok": "yes", "message": 5}', "a failed action, saying why",
         _reply(b'{"ok": "yes", "message": 5}', "is not a reply")),
    Case("reply-level-contradicts-ok", "replies", 'a reply {"ok": true, "message": "m", "level": "error"}',
         "a failed action, saying why (the page would show a refusal as done)",
         _reply(b'{"ok": true, "message": "m", "level": "error"}', "is not a reply")),
    Case("reply-symlink", "replies", "replies/<rid>.json is a symbolic link to a file", "not followed; target kept",
         _reply_symlink),
    Case("reply-id-escapes", "replies", 'a reply id "../../gangadir/escaped"', "refused: not a request id",
         _reply_rid_escapes),
    Case("jupyter-folder-symlink", "folders", "<gangadir>/jupyter is a symbolic link",
         "refused with a message naming it and the fix; nothing written behind it", _jupyter_symlink),
    Case("jupyter-folder-world-readable", "folders", "<gangadir>/jupyter of 0755, as older versions made it",
         "made 0700 (its folders 0700, its files 0600)", _jupyter_world_readable),
    Case("jupyter-folder-other-owner", "folders", "<gangadir>/jupyter owned by another user",
         "refused with a message naming the owner and the fix", _jupyter_other_owner),
    Case("registration-named-when-loading", "sessions", "registrations that are not JSON, or have protocol 'two'",
         "ignored, and listed with the reason for the cell that loads GangaJupyter",
         _registration_named_in_the_loading_cell),
    Case("registration-older-gangajupyter", "sessions", "a registration without a protocol version",
         "counted as protocol 1: no call it cannot take is sent to it (the caller is told to restart it)",
         _registration_of_an_older_gangajupyter),
    Case("journal-symlink-of-a-peer", "journal", "another session's journal is a symbolic link",
         "not followed (a session would publish what the link points to)", _journal_symlink_of_another_session),
    Case("journal-half-written-line", "journal", "a peer's journal ends in a line being written, then is compacted",
         "the whole lines only, once each; a compacted journal is read again", _journal_followed_from_where_it_was),
    Case("temporary-name-planted-symlink", "folders", "a symbolic link at the temporary name older versions used",
         "not written through: the link's target is untouched", _planted_temporary_name),
]

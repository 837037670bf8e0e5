"""The Jobs browser's trust boundaries (docs/security.rst) with a real Jupyter server and real helper processes:
each action asks Jupyter's authorizer for what it does, only a POST starts a process, and the helper session
imports nothing from its working folder. No browser and no kernel."""
from __future__ import annotations

import json
import pickle
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from GangaJupyter.Lib.Core import protocol
from GangaJupyter.Lib.Core.location import find_location
from GangaJupyter.Lib.Server.browser import GangaJobsBrowser
from GangaJupyter.testlib.notebooks import ganga_home
from test_browser import TOKEN, free_port, kill_leftovers, wait_for_server

# A Jupyter authorizer that refuses the permissions listed in $GJ_DENIED ("action:resource,...").
AUTHORIZER = """
import os
from jupyter_server.auth import Authorizer

class Denying(Authorizer):
    def is_authorized(self, handler, user, action, resource):
        return f"{action}:{resource}" not in os.environ["GJ_DENIED"].split(",")

c.ServerApp.authorizer_class = Denying
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A Jupyter server that refuses ``execute`` on gangajupyter and ``write`` on contents; job 0 is running
    and no Ganga session monitors it."""
    root = tmp_path / "root"
    env = ganga_home(root / "home", runtime_path=False)
    config = Path(env["HOME"]) / "config"
    config.mkdir()
    (config / "jupyter_server_config.py").write_text(AUTHORIZER)
    env.update(JUPYTER_CONFIG_DIR=str(config), GJ_DENIED="execute:gangajupyter,write:contents")
    location = find_location(config_file=env["GANGA_CONFIG_FILE"])
    index = location.jobs / "0xxx" / "0.index"  # what Ganga writes first for a job: its index cache
    index.parent.mkdir(parents=True)
    index.write_bytes(pickle.dumps(("jobs", "Job", {"status": "running", "name": "running-nobody-monitors"})))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "jupyter", "server", f"--port={port}", f"--IdentityProvider.token={TOKEN}",
               f"--ServerApp.root_dir={root}", "--allow-root", "--ServerApp.open_browser=False"]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_server(url, proc, log)
        yield {"url": url, "location": location, "root": root}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        kill_leftovers(root)  # the helper, whose working folder is in the gangadir


def call(url: str, path: str, method: str = "GET") -> tuple[int, Any]:
    request = urllib.request.Request(f"{url}/gangajupyter/api/{path}?token={TOKEN}", method=method,
                                     data=b"" if method == "POST" else None)  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def test_each_action_needs_what_it_does(server: dict[str, Any]) -> None:
    code, reply = call(server["url"], "jobs/0/resubmit", "POST")
    assert code == 403 and "resubmit needs the execute permission on gangajupyter" in reply["message"], reply
    code, reply = call(server["url"], "jobs/0/notebook", "POST")
    assert code == 403 and "notebook needs the write permission on contents" in reply["message"], reply
    assert not list(server["root"].rglob("ganga-job-*.ipynb"))
    code, reply = call(server["url"], "jobs/5/kill", "POST")  # write on gangajupyter is enough for kill
    assert code == 404 and "Job 5 is not in the repository" in reply["message"], reply


def test_only_a_post_starts_the_helper(server: dict[str, Any]) -> None:
    url, location = server["url"], server["location"]
    helper_log = location.jupyter / "helper.log"
    with urllib.request.urlopen(f"{url}/gangajupyter/api/events?token={TOKEN}", timeout=60) as events:
        lines = [events.readline() for _ in range(6)]  # change, then monitor: the page is asked to POST
        assert lines[0].startswith(b"event: change") and b"event: monitor\n" in lines, lines
        time.sleep(2)
        assert not helper_log.exists(), "a GET of the event stream started the helper Ganga session"
    code, reply = call(url, "monitor", "POST")
    assert code == 200 and reply == {"ok": True, "message": "started a Ganga session to monitor", "level": "success"}, reply
    assert helper_log.exists()
    assert call(url, "monitor", "POST")[1]["message"] == "nothing to start"  # it is starting already
    assert oct(location.jupyter.stat().st_mode & 0o777) == "0o700"


def test_the_helper_imports_nothing_from_its_working_folder(tmp_path: Path) -> None:
    """``python -m`` runs with the working folder first on the import path: a package planted in
    ``<gangadir>/jupyter`` must not be what the helper imports."""
    env = ganga_home(tmp_path / "home", runtime_path=False)
    location = find_location(config_file=env["GANGA_CONFIG_FILE"])
    planted = protocol.jupyter_folder(location) / "GangaJupyter"
    planted.mkdir()
    marker = tmp_path / "planted-code-ran"
    (planted / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    browser = GangaJobsBrowser(root_dir=str(tmp_path), ganga_config_file=env["GANGA_CONFIG_FILE"])
    try:
        browser.start_helper()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and browser._helper.poll() is None:
            if protocol.registered_sessions(location):
                break
            time.sleep(0.2)  # the helper imports GangaJupyter first thing, then starts Ganga and registers
        assert not marker.exists(), "the helper imported a package planted in its working folder"
        helpers = protocol.registered_sessions(location)
        assert [s.pid for s in helpers] == [browser._helper.pid], (location.jupyter / "helper.log").read_text()[-3000:]
        protocol.send_request(location, helpers[0], protocol.RELEASE, None)
        browser._helper.wait(timeout=60)
    finally:
        if browser._helper is not None and browser._helper.poll() is None:
            browser._helper.kill()
        browser.shutdown()

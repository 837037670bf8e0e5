"""The Jobs browser as a jupyter-server extension app, in a real Jupyter server in this process (no Ganga, no
kernel): ``c.GangaJobsBrowser.*`` reaches the browser, the routes answer behind Jupyter's token, the page gets
its statuses, colours and actions from Python, and the stop hook stops the repository watch."""
from __future__ import annotations

import asyncio
import html
import json
import re
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.serverapp import ServerApp
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from traitlets.config import Config

from bad_input.readers import location, write_index
from GangaJupyter.Lib import Server
from GangaJupyter.Lib.Core.actions import ACTIONS, RESUBMITTABLE
from GangaJupyter.Lib.Core.statuses import ACTIVE, LIFECYCLE, STATUS_COLOURS, UNKNOWN_COLOUR
from GangaJupyter.Lib.Server.app import JobsBrowserApp
from GangaJupyter.Lib.Server.browser import GangaJobsBrowser
from GangaJupyter.Lib.Server.repository import Query, RepositoryIndex
from GangaJupyter.Lib.Server.watch import RepositoryWatch

TOKEN = "unit-test-token"


@pytest.fixture
def jupyter_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No configuration of the user's or of this environment: only what the test gives."""
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.setenv("JUPYTER_NO_CONFIG", "1")
    gangarc = tmp_path / "gangarc"
    gangarc.write_text(f"[Configuration]\ngangadir = {tmp_path / 'gangadir'}\nuser = tester\n")
    return tmp_path


def run_server(root: Path, check: Any, **browser_options: Any) -> Any:
    """Start a Jupyter server with the extension, run ``await check(app, fetch)``, stop the server."""
    config = Config()
    config.ServerApp.jpserver_extensions = {"GangaJupyter.Lib.Server": True}
    config.ServerApp.root_dir = str(root)
    config.ServerApp.port = 0
    config.ServerApp.open_browser = False
    config.IdentityProvider.token = TOKEN
    config.GangaJobsBrowser.ganga_config_file = str(root / "gangarc")
    for name, value in browser_options.items():
        setattr(config.GangaJobsBrowser, name, value)

    async def main() -> Any:
        app = ServerApp.instance(config=config)
        try:
            app.initialize(argv=[], find_extensions=False)
            client = AsyncHTTPClient()

            async def fetch(path: str, method: str = "GET") -> tuple[int, str]:
                url = f"http://127.0.0.1:{app.port}/{path}?{urllib.parse.urlencode({'token': TOKEN})}"
                try:
                    response = await client.fetch(url, method=method, body=b"" if method == "POST" else None)
                except HTTPClientError as err:
                    assert err.response is not None
                    return err.code, err.response.body.decode()
                return response.code, response.body.decode()

            return await check(app, fetch)
        finally:
            await app._cleanup()
            ServerApp.clear_instance()

    return asyncio.run(main())


def test_the_extension_point_is_the_app() -> None:
    assert Server._jupyter_server_extension_points() == [{"module": "GangaJupyter.Lib.Server", "app": JobsBrowserApp}]


def test_the_options_reach_the_browser_and_the_routes_answer(jupyter_home: Path) -> None:
    async def check(app: ServerApp, fetch: Any) -> GangaJobsBrowser:
        browser = app.web_app.settings["gangajupyter_browser"]
        assert isinstance(browser, GangaJobsBrowser)
        assert (browser.notebook_folder, browser.helper_idle) == ("made-here", 42.0)
        assert browser.location is not None and browser.location.gangadir == jupyter_home / "gangadir"
        code, body = await fetch("gangajupyter/api/status")
        assert code == 200 and json.loads(body)["gangadir"] == str(jupyter_home / "gangadir")
        code, body = await fetch("gangajupyter/api/jobs/5/kill", "POST")
        assert code == 404 and json.loads(body) == {
            "ok": False, "message": "Job 5 is not in the repository (it may have been removed).", "level": "error"
        }
        code, _ = await fetch("gangajupyter/api/jobs/5/explode", "POST")
        assert code == 404, "a route for an action that does not exist"
        code, body = await fetch("gangajupyter/static/jobs.js")
        assert code == 200 and "config.statuses" in body
        code, page = await fetch("gangajupyter/jobs")
        assert code == 200
        config = json.loads(html.unescape(re.search(r'data-config="([^"]*)"', page).group(1)))
        assert config == {
            "statuses": list(LIFECYCLE), "active": list(ACTIVE), "colours": STATUS_COLOURS,
            "unknown_colour": UNKNOWN_COLOUR, "actions": list(ACTIONS) + ["notebook"], "resubmittable": list(RESUBMITTABLE),
        }  # fmt: skip
        assert browser.watch is not None and not browser.watch._stop.is_set()
        return browser

    browser = run_server(jupyter_home, check, notebook_folder="made-here", helper_idle=42.0)
    assert browser.watch._stop.is_set(), "the server stopped but the browser's repository watch did not"


def test_a_repository_the_browser_cannot_read_is_said_on_the_page(jupyter_home: Path) -> None:
    (jupyter_home / "gangarc").write_text("[Configuration]\nrepositorytype = SQLite\n")

    async def check(app: ServerApp, fetch: Any) -> None:
        code, page = await fetch("gangajupyter/jobs")
        assert code == 200 and "reads Ganga&#39;s LocalXML repository only" in page
        code, body = await fetch("gangajupyter/api/jobs")
        assert code == 503

    run_server(jupyter_home, check)


def test_the_server_names_backends_as_users_know_them(tmp_path: Path) -> None:
    """Ganga's index holds a backend's class name; the adapter registry knows the name users type."""
    loc = location(tmp_path)
    write_index(loc, 1, {"status": "new", "display:backend": "Localhost"})
    write_index(loc, 2, {"status": "new", "display:backend": "Dirac"})
    write_index(loc, 3, {"status": "new"})  # no backend column: it stays without one
    index = RepositoryIndex(loc)
    index.load_all()
    assert [index.get(i).backend for i in (1, 2, 3)] == ["Local", "Dirac", ""]
    assert index.query(Query())["backends"] == ["Dirac", "Local"]


def test_the_watcher_reads_the_repository_once_when_it_starts(tmp_path: Path) -> None:
    """Once ``loaded`` is set, nothing unchanged reads again: a page that asked with ``known=`` is told unchanged
    (CI saw a second full read, started with the job folder's watch, land between two requests)."""
    loc = location(tmp_path)
    write_index(loc, 1, {"status": "completed", "name": "settled"})
    index = RepositoryIndex(loc)
    watch = RepositoryWatch(index, interval=0.02)
    watch.start()
    try:
        assert index.loaded.wait(10)
        time.sleep(0.5)  # several rounds of the watcher
        assert watch.watching_jobs
        assert index.version == 1 and index.get(1).changed == 1
    finally:
        watch.stop()

"""The Jobs browser's tornado handlers: Jupyter's authentication on every route, its XSRF check on every POST
(jupyter_server enforces it for cookie-authenticated requests), and jinja2 autoescape on the page. Each handler
finds the :class:`.browser.GangaJobsBrowser` in the web application's settings (the extension app puts it there).

Routes, under the server's base URL:

* ``gangajupyter/jobs``: the page (also what the JupyterLab / Notebook 7 extension shows in an iframe);
* ``gangajupyter/api/status``: whether the extension runs and where the repository is;
* ``gangajupyter/api/jobs?page=&page_size=&sort=&order=&status=&backend=&application=&name=&since=``: one page;
* ``gangajupyter/api/events``: server-sent events, one per repository change, and ``monitor`` while jobs are
  active and nobody monitors them;
* ``gangajupyter/api/monitor`` (POST): start the helper session for those jobs (the page asks on ``monitor``);
* ``gangajupyter/api/jobs/<id>/pictures?known=``: the pictures of a job's runs (:mod:`.runs`), as a document for
  the page's sandboxed frame;
* ``gangajupyter/api/jobs/<id>/<kill|resubmit|remove|notebook>`` (POST): an action.

Jupyter's authorizer decides each request: GET (the pictures too) needs ``read`` on ``gangajupyter``, POST
``write``; resubmit runs the job's code again, so it needs ``execute``, and ``notebook`` writes a file, so it also
needs ``write`` on ``contents`` (docs/security.rst lists every route). Only a POST starts a process (the helper
Ganga session)."""
from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import nbformat
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler, AuthenticatedFileHandler, JupyterHandler
from jupyter_server.utils import ensure_async, url_path_join
from tornado import web
from tornado.iostream import StreamClosedError

from ..Core.actions import ACTIONS, RESUBMITTABLE, ActionResult
from ..Core.pictures import pictures_html
from ..Core.protocol import registered_sessions
from ..Core.statuses import ACTIVE, LIFECYCLE, STATUS_COLOURS, UNKNOWN_COLOUR
from .browser import GangaJobsBrowser
from .repository import SORT_KEYS, JobSummary, Query
from .runs import JobRuns

HERE = Path(__file__).resolve().parent
PREFIX = "/gangajupyter"  # every route's, under the server's base URL
SETTINGS_KEY = "gangajupyter_browser"  # where the web application's settings hold the GangaJobsBrowser
ENABLE_COMMAND = "jupyter server extension enable GangaJupyter.Lib.Server"
AUTH_RESOURCE = "gangajupyter"
MAX_PAGE_SIZE = 500
#: The actions of the page: the Ganga session's, and the server's own ``notebook``.
PAGE_ACTIONS = ACTIONS + ("notebook",)
#: What an action needs beyond ``write`` on ``gangajupyter`` (every POST needs that), as (action, resource).
EXTRA_PERMISSIONS = {"resubmit": ("execute", AUTH_RESOURCE), "notebook": ("write", "contents")}


@lru_cache(maxsize=1)
def templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,  # job names, comments and paths come from the repository: never trusted
        undefined=jinja2.StrictUndefined,
    )


def page_config() -> dict[str, Any]:
    """What jobs.js needs to know of statuses and actions: the Python definitions, so the page has no copies (and
    a job's badge has the colour of GangaJupyter's notebook display)."""
    return {
        "statuses": LIFECYCLE,
        "active": ACTIVE,
        "colours": STATUS_COLOURS,
        "unknown_colour": UNKNOWN_COLOUR,
        "actions": PAGE_ACTIONS,
        "resubmittable": RESUBMITTABLE,
    }


class BrowserMixin:
    auth_resource = AUTH_RESOURCE

    @property
    def browser(self) -> GangaJobsBrowser:
        return self.settings[SETTINGS_KEY]  # type: ignore[attr-defined]


class JobsPageHandler(BrowserMixin, JupyterHandler):
    @web.authenticated
    @authorized
    def get(self) -> None:
        self.xsrf_token  # noqa: B018  (sets the _xsrf cookie the page sends back as X-XSRFToken)
        browser = self.browser
        html = templates().get_template("jobs.html.j2").render(
            base_url=self.base_url,
            static=url_path_join(self.base_url, PREFIX, "static"),
            gangadir=str(browser.location.gangadir) if browser.location else "",
            error=browser.error,
            config=json.dumps(page_config()),
            files_url=self._front_end_urls()[0],
            notebook_url=self._front_end_urls()[1],
        )
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(html)

    def _front_end_urls(self) -> tuple[str, str]:
        """Where this server shows a folder and a notebook: Notebook 7's pages when it runs, else JupyterLab's."""
        serverapp = self.settings.get("serverapp")
        apps = serverapp.extension_manager.extension_apps if serverapp is not None else {}
        return ("tree/", "notebooks/") if "notebook" in apps else ("lab/tree/", "lab/tree/")


class StatusHandler(BrowserMixin, APIHandler):
    @web.authenticated
    @authorized
    def get(self) -> None:
        browser = self.browser
        location = browser.location
        error, sessions = browser.error, []
        try:
            sessions = [s.to_json() for s in registered_sessions(location)] if location else []
        except OSError as err:  # <gangadir>/jupyter is not the user's own folder: the message says what to do
            error = error or str(err)
        self.finish(
            {
                "enabled": True,
                "error": error,
                "gangadir": str(location.gangadir) if location else "",
                "loaded": bool(browser.index and browser.index.loaded.is_set()),
                "watching": bool(browser.watch and browser.watch.watching_jobs),
                "sessions": sessions,
                "enable_command": ENABLE_COMMAND,
            }
        )


def _query(handler: APIHandler) -> Query:
    def number(name: str, default: int, low: int, high: int) -> int:
        raw = handler.get_argument(name, str(default))
        try:
            return min(max(int(raw), low), high)
        except ValueError:
            raise web.HTTPError(400, f"{name}={raw!r} is not a whole number") from None

    sort = handler.get_argument("sort", "id")
    if sort not in SORT_KEYS:
        raise web.HTTPError(400, f"sort={sort!r}: sort by one of {', '.join(SORT_KEYS)}")
    order = handler.get_argument("order", "desc")
    if order not in ("asc", "desc"):
        raise web.HTTPError(400, f"order={order!r}: use asc or desc")
    since_text = handler.get_argument("since", "").strip()
    since = None
    if since_text:
        try:
            since = datetime.fromisoformat(since_text).timestamp()
        except ValueError:
            raise web.HTTPError(400, f"since={since_text!r} is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None
    statuses = frozenset(s for s in handler.get_argument("status", "").split(",") if s)
    return Query(
        page=number("page", 1, 1, 10**9),
        page_size=number("page_size", 50, 1, MAX_PAGE_SIZE),
        sort=sort,
        descending=order == "desc",
        status=statuses,
        backend=handler.get_argument("backend", ""),
        application=handler.get_argument("application", ""),
        name=handler.get_argument("name", "").strip(),
        since=since,
    )


class JobsHandler(BrowserMixin, APIHandler):
    @web.authenticated
    @authorized
    def get(self) -> None:
        browser = self.browser
        if browser.index is None:
            raise web.HTTPError(503, browser.error)
        result = browser.index.query(_query(self))
        for row in result["jobs"]:
            outputdir = browser.location.outputdir(row["id"])
            row["outputdir"] = str(outputdir)
            row["outputdir_served"] = browser.served_path(outputdir)
        result["loaded"] = browser.index.loaded.is_set()
        self.finish(result)


def pictures_answer(job: JobSummary, read: JobRuns, now: float) -> dict[str, Any]:
    """What the page shows of a job's runs: the pictures as a whole document for its sandboxed frame (every text
    in them escaped by :func:`..Core.pictures.pictures_html`), and how much of the job was read."""
    timed = any(r.submitted is not None or r.started is not None or r.finished is not None for r in read.runs)
    document = templates().get_template("pictures.html.j2").render(pictures=pictures_html(read.runs, now), timed=timed)
    return {
        "id": job.id,
        "changed": job.changed,
        "status": job.status,
        "subjobs": read.subjobs,
        "runs": len(read.runs),
        "pending": read.pending,
        "capped": read.capped,
        "document": document,
    }


class PicturesHandler(BrowserMixin, APIHandler):
    """GET: the pictures of a job (:func:`pictures_answer`); ``known=<changed>`` (the ``changed`` of the last
    answer) answers ``unchanged`` without reading when the repository has not changed the job since."""

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        browser = self.browser
        if browser.index is None or browser.runs is None:
            raise web.HTTPError(503, browser.error)
        job = browser.index.get(int(job_id))
        if job is None:
            raise web.HTTPError(404, f"Job {job_id} is not in the repository (it may have been removed).")
        if self.get_argument("known", "") == str(job.changed):
            self.finish({"id": job.id, "changed": job.changed, "unchanged": True})
            return
        # thousands of files on a first read: off the server's event loop
        read = await asyncio.get_running_loop().run_in_executor(None, browser.runs.runs, job)
        self.finish(pictures_answer(job, read, time.time()))


class ActionHandler(BrowserMixin, APIHandler):
    @web.authenticated
    @authorized
    async def post(self, job_id: str, action: str) -> None:
        if action in EXTRA_PERMISSIONS:
            needed, resource = EXTRA_PERMISSIONS[action]
            if not await ensure_async(self.authorizer.is_authorized(self, self.current_user, needed, resource)):
                self.set_status(403)
                self.finish(ActionResult.error(f"{action} needs the {needed} permission on {resource}, which this "
                            "Jupyter server does not give you: ask its administrator.").to_json())
                return
        browser = self.browser
        if browser.index is None:
            raise web.HTTPError(503, browser.error)
        if browser.index.get(int(job_id)) is None:
            self.set_status(404)
            self.finish(ActionResult.error(f"Job {job_id} is not in the repository (it may have been removed).").to_json())
            return
        if action == "notebook":
            self.finish(await self._notebook(int(job_id)))
            return
        try:
            result = await browser.act(action, int(job_id))
        except (RuntimeError, TimeoutError, OSError) as err:
            result = ActionResult.error(f"{action} of job {job_id} not done: {err}")
        self.finish(result.to_json())

    async def _notebook(self, job_id: int) -> dict[str, Any]:
        """A small notebook that shows the job's live view (kept if it already exists), for the page to open."""
        folder = self.browser.notebook_folder.strip("/")
        path = f"{folder}/ganga-job-{job_id}.ipynb" if folder else f"ganga-job-{job_id}.ipynb"
        manager = self.contents_manager
        if not await ensure_async(manager.file_exists(path)):
            nb = nbformat.v4.new_notebook()
            nb.cells = [nbformat.v4.new_code_cell("%load_ext GangaJupyter"), nbformat.v4.new_code_cell(f"jobs({job_id})")]
            nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
            await ensure_async(manager.save({"type": "notebook", "content": nb}, path))
        return {**ActionResult.success(f"Notebook {path} shows job {job_id}.").to_json(), "path": path}


class EventsHandler(BrowserMixin, APIHandler):
    """Server-sent events: ``change`` with the repository's version whenever it changes (at most 4 a second)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        browser = self.browser
        if browser.index is None:
            raise web.HTTPError(503, browser.error)
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()
        token = browser.index.add_listener(lambda _version: loop.call_soon_threadsafe(changed.set))
        sent = -1
        try:
            while True:
                version = browser.index.version
                if version != sent:
                    self.write(f"event: change\ndata: {json.dumps({'version': version})}\n\n")
                    sent = version
                else:
                    self.write(": keep-alive\n\n")
                if browser.monitoring_wanted():
                    self.write("event: monitor\ndata: {}\n\n")  # the page answers with POST api/monitor
                await self.flush()
                try:
                    await asyncio.wait_for(changed.wait(), timeout=15)
                except asyncio.TimeoutError:
                    pass
                changed.clear()
                await asyncio.sleep(0.25)
        except StreamClosedError:
            pass
        finally:
            browser.index.remove_listener(token)


class MonitorHandler(BrowserMixin, APIHandler):
    """POST: start the helper Ganga session when jobs are active and nobody monitors them (the page asks when
    the event stream says ``monitor``). A POST, so Jupyter's XSRF check guards the start of a process."""

    @web.authenticated
    @authorized
    def post(self) -> None:
        browser = self.browser
        if browser.location is None:
            raise web.HTTPError(503, browser.error)
        try:
            started = browser.ensure_monitoring()
        except OSError as err:
            self.finish(ActionResult.error(f"cannot start the Jobs browser's Ganga session: {err}").to_json())
            return
        result = ActionResult.success("started a Ganga session to monitor") if started else ActionResult.info("nothing to start")
        self.finish(result.to_json())


def routes() -> list[tuple[str, Any] | tuple[str, Any, dict[str, Any]]]:
    """The handlers of the extension app (jupyter_server puts its base URL in front of each pattern)."""
    return [
        (url_path_join(PREFIX, "jobs"), JobsPageHandler),
        (url_path_join(PREFIX, "api", "status"), StatusHandler),
        (url_path_join(PREFIX, "api", "jobs"), JobsHandler),
        (url_path_join(PREFIX, "api", "events"), EventsHandler),
        (url_path_join(PREFIX, "api", "monitor"), MonitorHandler),
        (url_path_join(PREFIX, "api", "jobs", r"(\d{1,12})", "pictures"), PicturesHandler),
        (url_path_join(PREFIX, "api", "jobs", r"(\d+)", f"({'|'.join(PAGE_ACTIONS)})"), ActionHandler),
        (url_path_join(PREFIX, "static", "(.*)"), AuthenticatedFileHandler, {"path": str(HERE / "static")}),
    ]

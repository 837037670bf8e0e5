"""The Ganga Jobs browser: a real Jupyter server with GangaJupyter's server extension, real kernels, real Ganga,
and (for the page) JupyterLab 4 and Notebook 7 in Debian's Chromium driven by Playwright.

Skipped when Chromium, Playwright or the front ends are missing, except under ``CI``, where that fails.
"""
from __future__ import annotations

import getpass
import json
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

from GangaJupyter.testlib.browser import chromium_page
from GangaJupyter.testlib.kernel import KernelSession
from GangaJupyter.testlib.notebooks import ganga_home
from test_browser import LAB, NOTEBOOK7, TOKEN, FrontEnd, free_port, kill_leftovers, require, require_browser, wait_for_server

if TYPE_CHECKING:
    from playwright.sync_api import FrameLocator, Page

SCREENSHOTS = Path(__file__).resolve().parents[4] / "docs" / "_static" / "screenshots"
TIMEOUT_MS = 90_000
HOSTILE = '<img src=x onerror="window.gjInjected=1">'


class Server:
    """A Jupyter server whose kernels and Jobs browser share a throw-away Ganga home inside the server's root."""

    def __init__(self, tmp_path: Path, command: str = "lab", extension: bool = True):
        self.root = tmp_path / "root"
        self.env = ganga_home(self.root / "home", runtime_path=False)
        settings = Path(self.env["HOME"]) / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
        if not extension:  # the user's config disables what pip install enabled
            config = Path(self.env["HOME"]) / ".jupyter"
            (config / "jupyter_server_config.json").write_text(
                json.dumps({"ServerApp": {"jpserver_extensions": {"GangaJupyter.Lib.Server": False}}})
            )
            self.env["JUPYTER_CONFIG_DIR"] = str(config)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = tmp_path / "server.log"
        command_line = [
            sys.executable, "-m", "jupyter", command, "--no-browser", "--ServerApp.open_browser=False",
            f"--port={port}", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={self.root}", "--allow-root",
        ]  # fmt: skip
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(command_line, env=self.env, cwd=self.root, stdout=out, stderr=subprocess.STDOUT)
        wait_for_server(self.url, self.proc, self.log)

    def api(self, path: str, method: str = "GET", token: bool = True) -> tuple[int, Any]:
        url = f"{self.url}/gangajupyter/api/{path}"
        if token:
            url += ("&" if "?" in url else "?") + f"token={TOKEN}"
        request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(request, timeout=180) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace")

    def row(self, job_id: int) -> dict[str, Any] | None:
        _, page = self.api("jobs?page_size=500")
        return next((r for r in page["jobs"] if r["id"] == job_id), None)

    def wait_status(self, job_id: int, status: str, timeout: float = 60) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            row = self.row(job_id)
            if row and row["status"] == status:
                return time.monotonic() - started
            time.sleep(0.1)  # polling the API as the page's reader would
        pytest.fail(f"job {job_id} did not show as {status} within {timeout} s: {self.row(job_id)}")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        kill_leftovers(self.root)


@pytest.fixture
def kernel_factory() -> Iterator[Any]:
    kernels: list[KernelSession] = []

    def start(server: Server) -> KernelSession:
        kernel = KernelSession(server.env, str(server.root))
        kernels.append(kernel)
        reply = kernel.run("%load_ext GangaJupyter", timeout=180)
        assert reply["status"] == "ok", reply
        return kernel

    yield start
    for kernel in kernels:
        try:
            kernel.close()
        except Exception:
            pass


SUBMIT = """
quick = Job(name='bj-quick', application=Executable(exe='/bin/echo', args=['hi']), backend=Local())
quick.submit()
split = Job(name='bj-split', application=Executable(exe='/bin/sh'), backend=Local(),
            splitter=ArgSplitter(args=[['-c', 'sleep ' + s] for s in '132']))
split.submit()
long = Job(name='bj-long', application=Executable(exe='/bin/sh', args=['-c', 'sleep 300']), backend=Local())
long.submit()
hostile = Job(name={hostile!r}, application=Executable(exe='/bin/true'), backend=Local())
hostile.submit()
"""


def fresh_ganga_statuses(server: Server) -> dict[int, tuple[str, list[str]]]:
    """Every job's status (and its subjobs') as a new Ganga session reads the repository from disk."""
    code = (
        "import json, ganga.ganga\n"
        "from ganga import jobs\n"
        "print('STATUSES ' + json.dumps({j.id: [j.status, [s.status for s in j.subjobs]] for j in jobs}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=server.env, cwd=server.root, capture_output=True, text=True, timeout=300)
    line = next((x for x in done.stdout.splitlines() if x.startswith("STATUSES ")), None)
    assert line, f"a fresh Ganga could not read the repository:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return {int(k): (v[0], v[1]) for k, v in json.loads(line[len("STATUSES ") :]).items()}


# ------------------------------------------------------------------------------------------------ in the browser
@pytest.fixture(params=[LAB, NOTEBOOK7], ids=lambda f: f.name)
def front_end(request: pytest.FixtureRequest) -> FrontEnd:
    require(request.param)
    return request.param


@pytest.fixture
def page() -> Iterator[Page]:
    require_browser()  # a skip, not an error, where Chromium is missing
    with chromium_page(width=1400, timeout_ms=TIMEOUT_MS) as page:
        yield page


def open_jobs_browser(page: Page, server: Server, front_end: FrontEnd) -> FrameLocator:
    """Open the Jobs browser as a user would: JupyterLab's launcher card, or Notebook 7's tree tab."""
    if front_end is LAB:
        page.goto(f"{server.url}/lab?token={TOKEN}")
        page.locator(".jp-LauncherCard", has_text="Ganga Jobs").click()
    else:
        page.goto(f"{server.url}/tree?token={TOKEN}")
        page.get_by_role("tab", name="Ganga Jobs").click()
    return page.frame_locator("iframe[title='Ganga Jobs']")


def test_jobs_browser_lists_updates_kills_and_filters(front_end: FrontEnd, tmp_path: Path, page: Page, kernel_factory) -> None:
    """Jobs submitted from a kernel appear; statuses change live; Kill works; filters work; names are text."""
    from playwright.sync_api import expect

    server = Server(tmp_path, front_end.command)
    try:
        kernel = kernel_factory(server)
        kernel.run(SUBMIT.format(hostile=HOSTILE), timeout=180)
        ids = {name: kernel.run_value(f"{name}.id") for name in ("quick", "split", "long", "hostile")}
        frame = open_jobs_browser(page, server, front_end)

        def row(name: str):
            return frame.locator(f"tr.gj-row[data-id='{ids[name]}']")

        expect(row("long").locator(".gj-status-running")).to_be_visible(timeout=TIMEOUT_MS)  # live: submitted -> running
        expect(row("split").locator(".gj-status-completed")).to_be_visible(timeout=TIMEOUT_MS)
        expect(row("split").locator(".gj-progress")).to_have_attribute("title", "3 completed")
        expect(row("quick").locator(".gj-status-completed")).to_be_visible()

        hostile_name = row("hostile").locator("td.gj-name")
        expect(hostile_name).to_have_text(HOSTILE)  # shown as text...
        assert frame.locator("#gj-jobs img").count() == 0  # ...never as markup
        jobs_frame = page.frame(url=re.compile(r"/gangajupyter/jobs"))  # the page's own frame, not whichever is last
        assert jobs_frame is not None and jobs_frame.evaluate("window.gjInjected") is None

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"jobs-browser-{front_end.name}.png", animations="disabled")

        # A click on the split job's row shows its pictures under the table; its subjobs' times are read from
        # Ganga's files, which its next flush (within 30 s) brings up to date, and the panel follows.
        row("split").locator("td.gj-name").click()
        pictures = frame.frame_locator("#gj-detail-frame")
        expect(frame.locator("#gj-detail-note")).to_contain_text("3 subjobs", timeout=TIMEOUT_MS)
        expect(pictures.locator("svg").first).to_be_visible(timeout=TIMEOUT_MS)
        expect(pictures.locator(".gj-statistics")).to_contain_text("wall time", timeout=TIMEOUT_MS)
        assert pictures.locator("script, img").count() == 0
        if front_end is LAB:
            page.screenshot(path=SCREENSHOTS / "browser-pictures.png", animations="disabled")
        frame.locator("#gj-detail-close").click()
        expect(frame.locator("#gj-detail")).to_be_hidden()
        row("split").locator("button.gj-pick").focus()  # the keyboard's way: the row's id, then Escape
        page.keyboard.press("Enter")
        expect(row("split").locator("button.gj-pick")).to_have_attribute("aria-expanded", "true")
        expect(pictures.locator("svg").first).to_be_visible()
        page.keyboard.press("Escape")
        expect(frame.locator("#gj-detail")).to_be_hidden()

        row("long").locator("button.gj-action-kill").click()
        expect(row("long").locator(".gj-status-killed")).to_be_visible(timeout=TIMEOUT_MS)
        expect(frame.locator("#gj-message")).to_contain_text(f"Killed job {ids['long']}")
        assert kernel.run_value("long.status") == "killed"  # the kernel's own Ganga did it

        frame.locator("input[name='name']").fill("bj-quick")
        expect(frame.locator("tr.gj-row")).to_have_count(1)
        expect(row("quick")).to_be_visible()
        frame.locator("input[name='name']").fill("")
        expect(frame.locator("tr.gj-row")).to_have_count(4)
        frame.locator(".gj-chip-killed").click()
        expect(frame.locator("tr.gj-row")).to_have_count(1)
        expect(row("long")).to_be_visible()
        frame.locator(".gj-chip-killed").click()
        frame.locator("th[data-sort='name']").click()  # sorted by name, descending
        expect(frame.locator("tr.gj-row td.gj-name").first).to_have_text("bj-split")

        # "Output": the gangadir is inside the server's root, so the output directory opens in Jupyter's files.
        output = f"home/gangadir/workspace/{getpass.getuser()}/LocalXML/{ids['quick']}/output"
        expect(row("quick").locator("a.gj-outputdir")).to_have_attribute("title", str(server.root / output))
        if front_end is LAB:
            row("quick").locator("a.gj-outputdir").click()
            expect(page.locator(".jp-FileBrowser .jp-DirListing-item", has_text="stdout")).to_be_visible()
        else:
            with page.context.expect_page() as opened:
                row("quick").locator("a.gj-outputdir").click()
            expect(opened.value).to_have_url(re.compile(re.escape(f"/tree/{output}")), timeout=TIMEOUT_MS)

        # "Notebook": a notebook that shows the job live is made next to the others and opened by Jupyter.
        notebook = f"ganga-job-{ids['quick']}.ipynb"
        if front_end is LAB:
            row("quick").locator("button.gj-action-notebook").click()
            expect(page.locator(".lm-TabBar-tab", has_text=notebook)).to_be_visible(timeout=TIMEOUT_MS)
        else:
            with page.context.expect_page() as opened:
                row("quick").locator("button.gj-action-notebook").click()
            expect(opened.value).to_have_url(re.compile(re.escape(f"/notebooks/{notebook}")), timeout=TIMEOUT_MS)
        cells = json.loads((server.root / notebook).read_text())["cells"]
        assert ["".join(c["source"]) for c in cells] == ["%load_ext GangaJupyter", f"jobs({ids['quick']})"]
    finally:
        server.close()


def test_without_the_server_extension_the_user_is_told_how_to_enable_it(tmp_path: Path, page: Page) -> None:
    require(LAB)
    from playwright.sync_api import expect

    server = Server(tmp_path, "lab", extension=False)
    try:
        assert server.api("status")[0] == 404
        page.goto(f"{server.url}/lab?token={TOKEN}")
        page.locator(".jp-LauncherCard", has_text="Ganga Jobs").click()
        message = page.locator(".gj-jobs-missing")
        expect(message).to_contain_text("not enabled")
        expect(message.locator("code")).to_have_text("jupyter server extension enable GangaJupyter.Lib.Server")
    finally:
        server.close()


def test_requests_need_jupyter_auth_and_posts_need_xsrf(tmp_path: Path, page: Page) -> None:
    require(LAB)
    server = Server(tmp_path, "lab")
    try:
        assert server.api("jobs", token=False)[0] == 403
        assert server.api("events", token=False)[0] in (302, 403)
        request = urllib.request.Request(f"{server.url}/gangajupyter/jobs")
        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as refused:
            opener.open(request, timeout=30)
        assert refused.value.code == 302 and "/login" in refused.value.headers["Location"]
        assert server.api("jobs/0/kill", "POST", token=False)[0] == 403

        # A logged-in browser (cookie), and a POST from elsewhere that cannot read the _xsrf cookie: refused.
        page.goto(f"{server.url}/gangajupyter/jobs?token={TOKEN}")
        api = page.context.request
        refused_post = api.post(f"{server.url}/gangajupyter/api/jobs/7/notebook")
        assert refused_post.status == 403
        xsrf = next(c["value"] for c in page.context.cookies() if c["name"] == "_xsrf")
        allowed = api.post(f"{server.url}/gangajupyter/api/jobs/7/notebook", headers={"X-XSRFToken": xsrf})
        assert allowed.status == 404, allowed.text()  # past the XSRF check: the handler says there is no job 7
        assert "Job 7 is not in the repository" in allowed.json()["message"]
    finally:
        server.close()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# ------------------------------------------------------------------------------------------------ sessions
def test_kernel_and_browser_act_at_once_then_hand_over(tmp_path: Path, kernel_factory) -> None:
    """One Ganga session owns the gangadir. The kernel submits and kills jobs while the browser kills others
    (through the kernel); with no kernel the browser's helper session acts, and a new kernel takes the gangadir
    back with monitoring on. A fresh Ganga then reads every job in the state both sides saw."""
    server = Server(tmp_path, "server")
    try:
        kernel = kernel_factory(server)
        kernel.run(
            "jobs_ = [Job(name=f'pair-{i}', application=Executable(exe='/bin/sh', args=['-c', 'sleep 300']), "
            "backend=Local()) for i in range(8)]\nfor j in jobs_: j.submit()",
            timeout=300,
        )
        ids = kernel.run_value("[j.id for j in jobs_]")
        browser_kills, kernel_kills = ids[0::2], ids[1::2]
        for job_id in ids:
            server.wait_status(job_id, "running")

        replies: list[Any] = []
        clicks = threading.Thread(target=lambda: replies.extend(server.api(f"jobs/{i}/kill", "POST") for i in browser_kills))
        clicks.start()  # the browser's kills and the kernel's own run at the same time
        kernel.run(
            f"for i in {kernel_kills}: jobs(i).kill()\n"
            "more = Job(name='pair-more', application=Executable(exe='/bin/echo'), backend=Local()); more.submit()",
            timeout=300,
        )
        clicks.join(timeout=300)
        assert [r[0] for r in replies] == [200] * len(browser_kills)
        assert all(r[1]["ok"] for r in replies), replies
        for job_id in ids:
            server.wait_status(job_id, "killed")
        more = kernel.run_value("more.id")
        server.wait_status(more, "completed")

        # Resubmit and remove from the browser, carried out by the kernel's Ganga.
        code, reply = server.api(f"jobs/{kernel_kills[0]}/resubmit", "POST")
        assert code == 200 and reply == {"ok": True, "message": f"Resubmitted job {kernel_kills[0]}.", "level": "success"}
        server.wait_status(kernel_kills[0], "running")
        assert server.api(f"jobs/{kernel_kills[0]}/kill", "POST")[1]["ok"]
        code, reply = server.api(f"jobs/{browser_kills[0]}/remove", "POST")
        assert code == 200 and reply["ok"], reply
        deadline = time.monotonic() + 30
        while server.row(browser_kills[0]) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.row(browser_kills[0]) is None
        assert kernel.run_value(f"{browser_kills[0]} in jobs.ids()") is False
        ids.remove(browser_kills[0])
        server.wait_status(kernel_kills[0], "killed")
        _, status = server.api("status")
        assert [s["role"] for s in status["sessions"]] == ["kernel"]

        # No kernel: a job submitted by one that has gone is killed by the browser's own Ganga session.
        kernel.run("orphan = Job(name='orphan', application=Executable(exe='/bin/sh', args=['-c', 'sleep 300']), backend=Local()); orphan.submit()")
        orphan = kernel.run_value("orphan.id")
        server.wait_status(orphan, "running")
        kernel.close(graceful=True)
        # The page open (its event stream) while a job runs and nobody monitors it: the stream asks the page to
        # POST api/monitor (a GET starts no process), and the helper starts.
        with urllib.request.urlopen(f"{server.url}/gangajupyter/api/events?token={TOKEN}", timeout=60) as events:
            assert b"event: monitor\n" in [events.readline() for _ in range(4)]
            assert server.api("monitor", "POST")[1]["ok"]
            deadline = time.monotonic() + 60
            while not server.api("status")[1]["sessions"] and time.monotonic() < deadline:
                time.sleep(0.2)
        assert [s["role"] for s in server.api("status")[1]["sessions"]] == ["helper"]
        code, reply = server.api(f"jobs/{orphan}/kill", "POST")
        assert code == 200 and reply["ok"], reply
        server.wait_status(orphan, "killed", timeout=30)
        assert [s["role"] for s in server.api("status")[1]["sessions"]] == ["helper"]

        # A new kernel takes the gangadir over: the helper ends, the kernel monitors.
        started = time.monotonic()
        second = kernel_factory(server)
        assert time.monotonic() - started < 60
        assert second.run_value("__import__('GangaCore.Core', fromlist=['x']).monitoring_component.enabled") is True
        assert [s["role"] for s in server.api("status")[1]["sessions"]] == ["kernel"]
        second.close(graceful=True)
        time.sleep(0.5)  # its Ganga flushed on the way out; nothing else is running

        seen = {row["id"]: row["status"] for row in server.api("jobs?page_size=500")[1]["jobs"]}
        on_disk = fresh_ganga_statuses(server)
        assert {i: s for i, (s, _) in on_disk.items()} == seen
        assert all(on_disk[i][0] == "killed" for i in ids + [orphan])
        assert on_disk[more][0] == "completed"
    finally:
        server.close()


def test_a_job_held_by_ganga_without_gangajupyter_is_explained(tmp_path: Path) -> None:
    """The ``ganga`` command (no GangaJupyter) holds a job: the browser reads it, and an action on it says where
    to act instead of stealing the session's job; the helper session that carries the request stays, once."""
    server = Server(tmp_path, "server")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import ganga.ganga, sys; from ganga import *\n"
         "j = Job(name='held', application=Executable(exe='/bin/sh', args=['-c', 'sleep 300']), backend=Local())\n"
         "j.submit(); print('HELD', j.id, flush=True); sys.stdin.read(); j.kill()"],
        env=server.env, cwd=server.root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        job_id = next(int(line.split()[1]) for line in holder.stdout if line.startswith("HELD "))
        deadline = time.monotonic() + 30
        while server.row(job_id) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.row(job_id) is not None
        code, reply = server.api(f"jobs/{job_id}/kill", "POST")
        assert code == 200 and not reply["ok"]
        assert "belongs to a Ganga session that GangaJupyter cannot reach" in reply["message"], reply
        assert f"pid {holder.pid}" in reply["message"], reply
        assert [s["role"] for s in server.api("status")[1]["sessions"]] == ["helper"]
        # The page open on the active job keeps that one helper: none is started again and again.
        with urllib.request.urlopen(f"{server.url}/gangajupyter/api/events?token={TOKEN}", timeout=60) as events:
            assert events.readline().startswith(b"event: change")
            for _ in range(3):  # what the page would POST if the stream asked it to
                assert server.api("monitor", "POST")[1]["message"] == "nothing to start"
            time.sleep(20)  # longer than the page's 15 s keep-alive, when it looks again
        log = (Path(server.env["HOME"]) / "gangadir" / "jupyter" / "helper.log").read_text()
        assert log.count("serving the Jobs browser") == 1, log[-3000:]
        assert server.row(job_id)["status"] in ("new", "submitted", "running")  # not killed: as plain Ganga flushed it
    finally:
        holder.communicate("", timeout=60)
        server.close()

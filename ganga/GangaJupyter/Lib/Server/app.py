"""The Jobs browser as a jupyter-server extension app: it makes the :class:`.browser.GangaJobsBrowser` (whose
options are ``c.GangaJobsBrowser.<name>``), puts it in the web application's settings for the handlers, adds the
routes of :mod:`.handlers`, and stops the browser when the server stops."""
from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from traitlets import Instance

from . import handlers
from .browser import GangaJobsBrowser


class JobsBrowserApp(ExtensionApp):
    """Loaded by ``jpserver_extensions`` (``jupyter-config/``); never run as an application of its own."""

    name = "gangajupyter"
    description = "The Ganga Jobs browser"
    browser = Instance(GangaJobsBrowser, allow_none=True)

    def initialize_settings(self) -> None:
        # A child of the app, whose config is the server's: c.GangaJobsBrowser.* reaches it.
        self.browser = GangaJobsBrowser(root_dir=self.serverapp.root_dir, parent=self)
        self.settings[handlers.SETTINGS_KEY] = self.browser
        if self.browser.location is None:
            self.log.warning("GangaJupyter Jobs browser: %s", self.browser.error)
        else:
            page = url_path_join(self.serverapp.base_url, handlers.PREFIX, "jobs")
            self.log.info("GangaJupyter Jobs browser at %s, reading %s", page, self.browser.location.jobs)

    def initialize_handlers(self) -> None:
        self.handlers.extend(handlers.routes())

    async def stop_extension(self) -> None:
        if self.browser is not None:
            self.browser.shutdown()

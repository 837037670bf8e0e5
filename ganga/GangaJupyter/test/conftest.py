"""pytest set-up for GangaJupyter, with Ganga's own test machinery (GangaCore.testlib).

Ganga's defaults write the test gangadir inside site-packages and can load plugin classes only in the first
bootstrap of a process; both are fixed here (see docs/testing.rst).
"""
import os
import tempfile

import ganga  # noqa: F401  (puts site-packages/ganga on sys.path)
import pytest

import GangaCore.testlib.GangaUnitTest as _unit
import GangaCore.testlib.fixtures as _fixtures

_TESTDIR = os.environ.get("GANGA_TEST_GANGADIR") or tempfile.mkdtemp(prefix="gangajupyter-tests-")
_unit.ganga_test_dir_name = _TESTDIR
_fixtures.ganga_test_dir_name = _TESTDIR

import GangaJupyter  # noqa: E402

GangaJupyter.loadPlugins()  # register before the first bootstrap of this process

pytest_plugins = ["GangaCore.testlib.fixtures"]


def pytest_configure(config):
    config.addinivalue_line("markers", "externals: needs services outside this machine")


def pytest_unconfigure(config):
    """Ganga logs from its atexit hook, after pytest has closed the streams it captured: point its handlers at
    the real stderr first, or every test run ends in "Logging error" noise."""
    import logging
    import sys

    loggers = [logging.getLogger()] + [
        lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for lg in loggers:
        for handler in lg.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                handler.setStream(sys.__stderr__)

"""pytest set-up for GangaJupyter, with Ganga's own test machinery (GangaCore.testlib).

Ganga's defaults write the test gangadir inside site-packages and can load plugin classes only in the first
bootstrap of a process; both are fixed here (see docs/testing.rst).
"""
import collections
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
from GangaJupyter.testlib.needs import PREFIX as NEEDS  # noqa: E402

GangaJupyter.loadPlugins()  # register before the first bootstrap of this process

RUN_EVERYTHING = "sudo bash .ci/run"  # installs Chromium, starts the Slurm cluster and HTCondor pool, runs all tests

pytest_plugins = ["GangaCore.testlib.fixtures"]


@pytest.fixture
def kernel(tmp_path):
    """A real Jupyter kernel with GangaJupyter loaded, on a throw-away Ganga home."""
    from GangaJupyter.testlib.kernel import KernelSession
    from GangaJupyter.testlib.notebooks import ganga_home

    session = KernelSession(ganga_home(tmp_path / "home", runtime_path=False), str(tmp_path))
    assert session.run("%load_ext GangaJupyter")["status"] == "ok"
    yield session
    session.close()


def pytest_configure(config):
    config.addinivalue_line("markers", "externals: needs services outside this machine")


def pytest_terminal_summary(terminalreporter):
    """Say which tests were skipped for lack of a tool or service (``testlib.needs``), and how to run them all.
    Printed before pytest's own last line, which stays last (CI reads it)."""
    missing = collections.Counter()
    for report in terminalreporter.stats.get("skipped", []):
        if isinstance(report.longrepr, tuple):  # (path, line, "Skipped: <reason>")
            reason = report.longrepr[2].removeprefix("Skipped: ")
            if reason.startswith(NEEDS):
                missing[reason] += 1
    if not missing:
        return
    terminalreporter.section("skipped: missing on this machine")
    for reason, count in missing.most_common():
        verb = "need" if count > 1 else "needs"
        terminalreporter.write_line(f"{count:3} test{'s' if count > 1 else ''} {verb} {reason[len(NEEDS):]}")
    terminalreporter.write_line(f"To install and start all of it and run every test, as CI does: {RUN_EVERYTHING}")


def pytest_unconfigure(config):
    """Ganga logs from its atexit hook, after pytest has closed the streams it captured: point its handlers at
    the real stderr first, or every test run ends in "Logging error" noise; and only for warnings, so its
    routine shutdown notes do not follow pytest's last line (CI reads that line)."""
    import logging
    import sys

    loggers = [logging.getLogger()] + [
        lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for lg in loggers:
        for handler in lg.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                handler.setStream(sys.__stderr__)
                handler.setLevel(max(handler.level, logging.WARNING))

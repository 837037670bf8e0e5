"""pytest set-up shared by GangaJupyter's three test tiers (``Unit/``, ``GPI/``, ``System/``, named as Ganga names
them; see docs/testing.rst): markers, and the summary of what was skipped for lack of a tool or service. Ganga's
fixtures live in the GPI and System tiers' conftests, so the Unit tier starts no Ganga machinery."""
import collections

import ganga  # noqa: F401  (puts site-packages/ganga on sys.path)

from GangaJupyter.testlib.needs import PREFIX as NEEDS

RUN_EVERYTHING = "sudo bash .ci/run"  # installs Chromium, starts the Slurm cluster and HTCondor pool, runs all tests


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

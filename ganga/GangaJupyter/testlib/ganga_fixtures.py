"""Ganga's own test fixtures (``gpi``) and GangaJupyter's ``kernel``, for the GPI and System tiers.

Ganga's defaults write the test gangadir inside site-packages and can load plugin classes only in the first
bootstrap of a process; both are fixed here, on import, before any test runs (see docs/testing.rst). The Unit
tier never imports this module: it runs without Ganga's machinery.
"""
import os
import tempfile

import pytest

import GangaCore.testlib.GangaUnitTest as _unit
import GangaCore.testlib.fixtures as _fixtures

_TESTDIR = os.environ.get("GANGA_TEST_GANGADIR") or tempfile.mkdtemp(prefix="gangajupyter-tests-")
_unit.ganga_test_dir_name = _TESTDIR
_fixtures.ganga_test_dir_name = _TESTDIR

import GangaJupyter  # noqa: E402

GangaJupyter.loadPlugins()  # register before the first bootstrap of this process

from GangaCore.testlib.fixtures import gpi, wipe_gangadir  # noqa: E402,F401  (Ganga's fixtures, re-exported)


@pytest.fixture
def kernel(tmp_path):
    """A real Jupyter kernel with GangaJupyter loaded, on a throw-away Ganga home."""
    from GangaJupyter.testlib.kernel import KernelSession
    from GangaJupyter.testlib.notebooks import ganga_home

    session = KernelSession(ganga_home(tmp_path / "home", runtime_path=False), str(tmp_path))
    assert session.run("%load_ext GangaJupyter")["status"] == "ok"
    yield session
    session.close()

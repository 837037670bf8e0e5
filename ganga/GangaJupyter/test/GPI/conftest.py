"""The GPI tier: tests on a Ganga session in this process, on Ganga's ``gpi`` fixture (testlib/ganga_fixtures.py)."""
from GangaJupyter.testlib.ganga_fixtures import gpi, kernel, wipe_gangadir  # noqa: F401  (fixtures)

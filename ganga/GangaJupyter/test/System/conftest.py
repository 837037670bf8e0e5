"""The System tier: real kernels, Jupyter servers, Chromium, Slurm and HTCondor, each behind a ``testlib.needs``
skip that names what is missing (fixtures: testlib/ganga_fixtures.py)."""
from GangaJupyter.testlib.ganga_fixtures import gpi, kernel, wipe_gangadir  # noqa: F401  (fixtures)

"""What tests and the docs build need from outside Python: is the test Slurm cluster or HTCondor pool here, and
skipping a test that needs what this machine lacks, in one wording, so that the end of a test run can group the
skips and say how to get everything (``test/conftest.py``)."""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import NoReturn

import pytest

#: Every such skip's reason starts with this.
PREFIX = "needs "


def unavailable(what: str, fix: str) -> NoReturn:
    """Skip the test: ``what`` (e.g. ``"Chromium"``) is missing here, ``fix`` says why and how to get it. Under
    ``CI``, which provides everything, fail instead."""
    message = f"{PREFIX}{what}: {fix}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set: not skipping)")
    pytest.skip(message)


def slurm_cluster_problem() -> str:
    """Why no Slurm cluster answers here, with the fix; ``""`` when one does."""
    start = "start one with `sudo scripts/slurm-cluster.sh start`"
    if shutil.which("sinfo") is None:
        return f"Slurm is not installed: {start}"
    up = subprocess.run(["sinfo", "-h", "-o", "%a %T"], capture_output=True, text=True)
    if up.returncode != 0 or not up.stdout.startswith("up"):
        return f"no Slurm cluster answers ({(up.stderr or up.stdout).strip()}): {start}"
    return ""


def htcondor_pool_problem() -> str:
    """Why no HTCondor pool answers at ``$CONDOR_CONFIG``, with the fix; ``""`` when one does."""
    start = 'start the test pool with `eval "$(sudo scripts/htcondor-pool.sh start)"`'  # it prints the export
    if not os.environ.get("CONDOR_CONFIG"):
        return f"CONDOR_CONFIG is not set: {start}"
    try:
        import htcondor2
    except ImportError:
        return "the htcondor wheel is not installed: pip install htcondor"
    try:
        htcondor2.reload_config()
        htcondor2.Schedd().query("false", ["ClusterId"])
    except Exception as err:
        return f"the HTCondor pool named by CONDOR_CONFIG={os.environ['CONDOR_CONFIG']} does not answer ({err}): {start}"
    return ""

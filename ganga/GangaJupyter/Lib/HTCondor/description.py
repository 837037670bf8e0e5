"""What GangaJupyter hands HTCondor for a job: one submit description for a whole cluster, one row of item data
per (sub)job, and two small shell files that run the payload on the worker.

HTCondor's own quoting of ``arguments`` and ``environment`` is easy to get wrong, so neither is used: each (sub)job
gets a command file (``export`` lines and one ``exec``, quoted by :func:`shlex.quote`) that travels with its
input sandbox, and the item data holds only paths.
"""
from __future__ import annotations

import glob
import os
import re
import shlex
from typing import Any, Iterable

from GangaCore.Core.exceptions import BackendError

from .bindings import BACKEND

WRAPPER = "gangajupyter_condor_wrapper.sh"
COMMAND = "gangajupyter_command.sh"
INPUT_LIST = "gangajupyter_condor_inputs.txt"
STDOUT, STDERR, EVENT_LOG = "stdout", "stderr", "condorLog"

WRAPPER_TEXT = f"""#!/bin/sh
# GangaJupyter's HTCondor job wrapper: unpack Ganga's input sandboxes, then run this job's command file.
# HTCondor gives jobs no PATH unless getenv is set.
: "${{PATH:=/usr/local/bin:/usr/bin:/bin}}"
export PATH
for sandbox in _input_sandbox_*.tgz; do
    if [ -f "$sandbox" ]; then
        tar -xzf "$sandbox" || {{ echo "GangaJupyter: cannot unpack $sandbox" >&2; exit 121; }}
        rm -f "$sandbox"
    fi
done
exec /bin/sh ./{COMMAND}
"""

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def command_text(exe: str, args: Iterable[str], env: dict[str, Any]) -> str:
    """The command file of one (sub)job: its environment, then the payload (``exec``, so its exit code is the job's)."""
    lines = ["# Written by GangaJupyter's HTCondor backend"]
    for name, value in env.items():
        if not _ENV_NAME.match(str(name)):
            raise BackendError(BACKEND, f"environment variable name {name!r} is not valid in a shell: fix backend.env or the application's env")
        lines.append(f"export {name}={shlex.quote(os.path.expandvars(str(value)))}")
    lines.append(f"exe={shlex.quote(exe)}")
    # A bare name that came in the sandbox runs from the job's directory (HTCondor's PATH does not hold ".").
    lines.append('case "$exe" in */*) ;; *) if [ -f "$exe" ]; then chmod +x "$exe"; exe="./$exe"; fi ;; esac')
    lines.append("exec \"$exe\"" + "".join(" " + shlex.quote(str(a)) for a in args))
    return "\n".join(lines) + "\n"


def check_inputs(fqid: str, paths: Iterable[str]) -> None:
    """Fail before anything reaches HTCondor when an input file is missing, naming it."""
    for path in paths:
        if not os.path.exists(path):
            raise BackendError(BACKEND, f"input file {path} of job {fqid} does not exist: create it or remove it from the job's inputs")
        if "," in os.path.basename(path):
            raise BackendError(BACKEND, f"input file {path} of job {fqid}: HTCondor cannot transfer a file whose name contains ','")


def check_input_files(job: Any) -> None:
    """Ganga drops a ``LocalFile`` input that matches nothing without a word; refuse it instead."""
    for input_file in job.inputfiles:
        if type(input_file).__name__ != "LocalFile":
            continue
        pattern = os.path.join(os.path.expanduser(input_file.localDir or os.getcwd()), input_file.namePattern)
        if not glob.glob(pattern):
            raise BackendError(BACKEND, f"input file {pattern} of job {job.getFQID('.')} does not exist: create it or remove it from job.inputfiles")


def cluster_description(backend: Any, job: Any, wrapper: str) -> dict[str, str]:
    """Submit commands shared by every job of the cluster (item data fills in the per-job ``gj_*`` macros)."""
    description = {
        "universe": backend.universe,
        "executable": wrapper,
        "transfer_executable": "True",
        "should_transfer_files": "YES",
        "when_to_transfer_output": "ON_EXIT",  # an evicted or held job starts afresh
        "initialdir": "$(gj_initialdir)",
        "transfer_input_files": "$(gj_inputs)",
        "output": STDOUT,
        "error": STDERR,
        "notification": "Never",
        "getenv": str(backend.getenv),
        "rank": backend.rank,
        "JobBatchName": f"ganga-{job.id}" + (f"-{_safe(job.name)}" if job.name else ""),
        "MY.GangaJupyterJob": '"$(gj_fqid)"',
    }
    if not backend.spool:
        # Shared filesystem: HTCondor writes stdout, stderr and the event log straight into the output directory
        # while the job runs (so they can be read before it ends).
        description.update({"stream_output": "True", "stream_error": "True", "log": EVENT_LOG})
    requirements = backend.requirements.convert()
    if requirements:
        description["requirements"] = requirements
    if backend.accounting_group:
        description["accounting_group"] = backend.accounting_group
    for option in backend.submit_options:
        key, sep, value = option.partition("=")
        if not sep or not key.strip():
            raise BackendError(BACKEND, f"submit option {option!r} is not 'command = value' (e.g. 'request_memory = 2GB')")
        description[key.strip()] = value.strip()
    description.update({str(k): str(v) for k, v in backend.cdf_options.items()})
    return description


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:40]


def item(fqid: str, initialdir: str, inputs: list[str]) -> dict[str, str]:
    return {"gj_fqid": fqid, "gj_initialdir": initialdir.rstrip("/"), "gj_inputs": ",".join(inputs)}


def write_input_list(workspace: str, inputs: list[str]) -> None:
    """Remember what a (sub)job sends, for a resubmit."""
    with open(os.path.join(workspace, INPUT_LIST), "w") as handle:
        handle.write("\n".join(inputs) + "\n")


def read_input_list(workspace: str) -> list[str]:
    path = os.path.join(workspace, INPUT_LIST)
    try:
        with open(path) as handle:
            return [line for line in handle.read().splitlines() if line]
    except OSError:
        raise BackendError(BACKEND, f"cannot resubmit: {path} is missing (the job was not submitted by this backend's current version)") from None

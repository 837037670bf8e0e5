"""Where a Ganga repository lives on disk, found from the user's Ganga configuration without starting Ganga.

The Jupyter server reads the repository but never runs Ganga itself, so it resolves the same options Ganga would
(``[Configuration] gangadir``, ``user``, ``repositorytype`` from ``$GANGA_CONFIG_FILE`` or ``~/.gangarc``).
"""
from __future__ import annotations

import configparser
import errno
import getpass
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigurationError


class LocationError(ConfigurationError):
    """The repository cannot be read by the Jobs browser; the message names the problem and the fix."""


def _expand(value: str) -> str:
    return os.path.expandvars(os.path.expanduser(value.strip()))


def ganga_config_file() -> Path:
    return Path(_expand(os.environ.get("GANGA_CONFIG_FILE") or "~/.gangarc"))


def _configuration_options(config_file: Path) -> dict[str, str]:
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str  # Ganga's option names are case-sensitive
    try:
        parser.read(config_file, encoding="utf-8")
    except configparser.Error as err:
        raise LocationError(f"cannot read {config_file}: {err}. Fix the file (Ganga would not start with it either).")
    return dict(parser.items("Configuration")) if parser.has_section("Configuration") else {}


@dataclass(frozen=True)
class GangaLocation:
    """The paths of one Ganga repository (``LocalXML``) and of GangaJupyter's own folder in its gangadir."""

    gangadir: Path
    user: str

    @property
    def repository(self) -> Path:
        return self.gangadir / "repository" / self.user / "LocalXML" / "6.0"

    @property
    def jobs(self) -> Path:
        return self.repository / "jobs"

    @property
    def workspace(self) -> Path:
        return self.gangadir / "workspace" / self.user / "LocalXML"

    @property
    def jupyter(self) -> Path:
        """GangaJupyter's folder: session registrations, status journals, requests and replies."""
        return self.gangadir / "jupyter"

    def outputdir(self, job_id: int) -> Path:
        return self.workspace / str(job_id) / "output"


def find_location(gangadir: str = "", user: str = "", config_file: str = "") -> GangaLocation:
    """The repository Ganga would use; explicit arguments win over the configuration file."""
    path = Path(_expand(config_file)) if config_file else ganga_config_file()
    options = _configuration_options(path) if path.is_file() else {}
    kind = options.get("repositorytype", "LocalXML").strip()
    if kind != "LocalXML":
        raise LocationError(
            f"[Configuration] repositorytype = {kind} in {path}: the Jobs browser reads Ganga's LocalXML repository "
            "only. Use LocalXML (Ganga's default) for this gangadir."
        )
    return GangaLocation(
        gangadir=Path(_expand(gangadir or options.get("gangadir") or "~/gangadir")).resolve(),
        user=(user or options.get("user") or "").strip() or getpass.getuser(),
    )


def unwritable(folder: Path) -> str:
    """Why this user cannot write in ``folder`` (or, when it does not exist yet, in the nearest folder above it
    that does), in words; "" when they can. Tried with a real file: root ignores permission bits, and a read-only
    mount refuses everybody."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        fd, name = tempfile.mkstemp(prefix=".gangajupyter-probe-", dir=probe)
    except OSError as err:
        kind = "read-only" if err.errno == errno.EROFS else "not writable"
        return f"{probe} is {kind} ({err.strerror})"
    os.close(fd)
    os.unlink(name)
    return ""


#: The folders Ganga 8.7.12 makes under ``<gangadir>/logs`` when its profiling module is first imported, with a
#: check and a ``makedirs`` that two sessions starting at the same moment race on (``[Errno 17] File exists``).
GANGA_LOG_FOLDERS = ("cpu_profile", "memory_profiles", "call_counters")


def make_ganga_log_folders() -> None:
    """Make Ganga's log folders before anything imports Ganga's object model, so kernels started together do not
    race on making them (docs/ganga-notes.rst); with them there, Ganga's own check skips its ``makedirs``."""
    try:
        logs = find_location().gangadir / "logs"
        for name in GANGA_LOG_FOLDERS:
            (logs / name).mkdir(parents=True, exist_ok=True)
    except (LocationError, OSError):
        pass  # Ganga's own start reports an unusable configuration or gangadir

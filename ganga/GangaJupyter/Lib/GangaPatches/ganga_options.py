"""Options of Ganga's own sections that Ganga reads but never declares, declared so that ``.gangarc`` can set them."""
from __future__ import annotations

from typing import Any

from GangaCore.Utility.Config import getConfig

from .patch import Patch

#: (section, name) -> (default, documentation)
GANGA_OPTIONS: dict[tuple[str, str], tuple[Any, str]] = {
    ("PollThread", "Slurm"): (
        0.5,
        "Seconds between two checks of the active Slurm jobs (one squeue call for all of them); Ganga's own default "
        "for backends without an option is default_backend_poll_rate (30 s)",
    ),
    ("PollThread", "HTCondor"): (
        0.5,
        "Seconds between two checks of the active HTCondor jobs (one schedd query with a projection for all of "
        "them)",
    ),
}


def _option(section: str, name: str) -> Any | None:
    option = getConfig(section).options.get(name)
    return option if option is not None and option.check_defined() else None


def _declared_here(section: str, name: str) -> bool:
    option = _option(section, name)
    return option is not None and option.docstring == GANGA_OPTIONS[(section, name)][1]


def _missing_in_ganga() -> list[tuple[str, str]]:
    return [key for key in GANGA_OPTIONS if _option(*key) is None or _declared_here(*key)]


class GangaOptions(Patch):
    def still_needed(self) -> bool:
        return bool(_missing_in_ganga())

    def installed(self) -> bool:
        missing = _missing_in_ganga()
        return bool(missing) and all(_declared_here(*key) for key in missing)

    def apply(self) -> None:
        for section, name in _missing_in_ganga():
            if _option(section, name) is None:
                default, doc = GANGA_OPTIONS[(section, name)]
                numbers = [int, float] if isinstance(default, float) else None  # ".gangarc: Slurm = 3" is an int
                getConfig(section).addOption(name, default, doc, typelist=numbers)


PATCH = GangaOptions(
    name="ganga_options",
    changes=", ".join(f"[{section}] {name}" for section, name in GANGA_OPTIONS),
    why=(
        "Ganga 8.7.12's monitoring loop polls each backend every ``[PollThread] <backend name>`` seconds when that "
        "option exists, and every ``default_backend_poll_rate`` (30 s) otherwise; but it declares the option only "
        "for its own backends, and an undeclared option cannot be set in ``.gangarc``. GangaJupyter declares it "
        "for ``Slurm`` and for its ``HTCondor`` backend (see :doc:`configuration`). Ganga allows this only before "
        "it bootstraps, which ``loadPlugins`` is."
    ),
)

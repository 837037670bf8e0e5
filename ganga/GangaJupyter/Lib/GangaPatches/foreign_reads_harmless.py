"""Reading a job another session holds, while it writes it, never changes that job's files."""
from __future__ import annotations

import functools
import time
from typing import Any, Callable

from GangaCore.Core.GangaRepository.GangaRepositoryXML import GangaRepositoryLocal

from ..Session import sharing
from .patch import Wrap, WrapperPatch, ganga_source

RENAME_WINDOW = 1.0  # seconds to wait for the holder's new data file (its rename takes microseconds)


def _harmless_for_others(open_xml: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(open_xml)
    def open_xml_read_only(self, fn, this_id, _copy_backup=False):
        if self.registry.name != "jobs" or this_id in self.sessionlock.locked:
            return open_xml(self, fn, this_id, _copy_backup)
        deadline = time.monotonic() + RENAME_WINDOW
        while True:
            try:
                return open(fn), False
            except FileNotFoundError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.005)
        if this_id not in sharing.held.get(fresh=True):
            return open_xml(self, fn, this_id, _copy_backup)  # nobody writes it: Ganga's own repair may run
        raise KeyError(this_id)  # removed by the session that holds it

    return open_xml_read_only


class ForeignReadsHarmless(WrapperPatch):
    def still_needed(self) -> bool:
        source = ganga_source(GangaRepositoryLocal, "_open_xml_file")
        return "copyfile(fn + '~', fn)" in source or "os.rmdir" in source


PATCH = ForeignReadsHarmless(
    name="foreign_reads_harmless",
    changes="GangaCore.Core.GangaRepository.GangaRepositoryXML.GangaRepositoryLocal._open_xml_file",
    why=(
        "Ganga 8.7.12 writes a job's ``data`` by renaming the old file to ``data~`` and then ``data.new`` to "
        "``data``. A session that reads the job in between finds no ``data``, and Ganga's reader then *repairs* "
        "the job: it copies ``data~`` over ``data``, or removes the job's index file and, if the job's folder "
        "looks empty, the folder (so the writer's next ``data.new`` fails with ``FileNotFoundError``), and marks "
        "the job corrupt for the rest of the session. With one session per gangadir nobody reads while another "
        "writes; with several, every notebook does (also while a job moves to a new holder after a crash, when no "
        "session holds it for a moment). For a job this session does not hold, the reader now waits for the new "
        "``data`` (up to a second) and changes nothing; only a job still missing its ``data`` then, and that no "
        "session holds, is repaired as Ganga does."
    ),
    wraps=(Wrap(GangaRepositoryLocal, "_open_xml_file", _harmless_for_others),),
)

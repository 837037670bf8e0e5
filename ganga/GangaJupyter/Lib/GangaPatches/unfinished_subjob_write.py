"""A split job whose first write of its subjobs was cut short loads as the job it was before it was split."""
from __future__ import annotations

import functools
import os
from typing import Any, Callable

import GangaCore.Core.GangaRepository.GangaRepositoryXML as repository_xml
from GangaCore.Core.GangaRepository.GangaRepositoryXML import GangaRepositoryLocal
from GangaCore.Core.GangaRepository.SubJobXMLList import SubJobXMLList

from .patch import Wrap, WrapperPatch, ganga_source


def cut_short(job_directory: str, data_file: str) -> bool:
    """Whether the subjob folders of ``job_directory`` are Ganga's first write of a split job's subjobs, stopped
    part way: no subjob index yet (Ganga writes it after every subjob), and the one folder without a data file is
    the highest-numbered, holding nothing or only the file being written."""
    if os.path.exists(os.path.join(job_directory, "subjobs.idx")):
        return False
    numbered = sorted(int(name) for name in os.listdir(job_directory) if name.isdigit())
    folders = [os.path.join(job_directory, str(number)) for number in numbered]
    without_data = [
        folder for folder in folders
        if not os.path.isfile(os.path.join(folder, data_file)) and not os.path.isfile(os.path.join(folder, data_file + "~"))
    ]
    return (
        len(without_data) == 1
        and without_data[0] == folders[-1]
        and set(os.listdir(without_data[0])) <= {data_file + ".new"}  # what Ganga's safe_save writes first
    )


def _unfinished_write_is_no_split(check: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(check)
    def check_job_has_children(job_directory, datafile_name):
        try:
            return check(job_directory, datafile_name)
        except Exception:
            if cut_short(job_directory, datafile_name):
                return False  # the job as last written; its next write removes the subjob folders
            raise

    return check_job_has_children


def _first_subjob_write(data_file: str) -> bool:
    """Whether no subjob folder is on disk yet beside ``data_file`` (scanning stops at the first of a big job)."""
    with os.scandir(os.path.dirname(data_file)) as entries:
        return not any(entry.name.isdigit() for entry in entries)


def _job_before_its_first_subjobs(write: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(write)
    def safe_flush_xml(self, this_id):
        obj = self.objects.get(this_id)
        subjobs = getattr(obj, self.sub_split, None)
        fn = self.get_fn(this_id)
        # subjobs made in this session and never written: the job itself first, as it is now (submitting), so a
        # write cut short leaves a job every session sees needs taking over, and whose next write removes the folders
        if subjobs and not hasattr(subjobs, "flush") and os.path.isdir(os.path.dirname(fn)) and _first_subjob_write(fn):
            repository_xml.safe_save(fn, obj, self.to_file, self.sub_split)
            self.index_write(this_id, shutdown=True)  # what a session that has not read the job goes by
        return write(self, this_id)

    return safe_flush_xml


class UnfinishedSubjobWrite(WrapperPatch):
    def still_needed(self) -> bool:
        return "Missing subjobs data file" in ganga_source(SubJobXMLList, "countSubJobDirs")


PATCH = UnfinishedSubjobWrite(
    name="unfinished_subjob_write",
    changes=(
        "GangaCore.Core.GangaRepository.SubJobXMLList.SubJobXMLList.checkJobHasChildren, "
        "GangaCore.Core.GangaRepository.GangaRepositoryXML.GangaRepositoryLocal._safe_flush_xml"
    ),
    why=(
        "Ganga 8.7.12 writes a newly split job's subjobs one folder at a time, then their index, then the job. "
        "A session killed part way leaves the last folder without a data file, and every later session marks the "
        "job corrupt (\"Missing subjobs data file\") and never loads it again. GangaJupyter writes the whole "
        "split job before its backend sees any subjob (patch ``flush_on_submit``), so a write cut short means no "
        "subjob went out: such a job (no subjob index yet, only the highest-numbered folder incomplete) now loads "
        "as it was last written, before the split, and taking it over makes it ``new`` again, ready to submit. "
        "Any other missing data file is still an error. Ganga writes the job's own file after its subjobs, so a "
        "write cut short left the job on disk as before its submit (``new``): no session took it over, its "
        "leftover folders stayed, and a Ganga without GangaJupyter could not read the job at all. Before that "
        "first write of subjobs, the job's own file and index entry are now written as the job is "
        "(``submitting``): the next session takes it over at once, and its write removes the leftover folders."
    ),
    wraps=(
        Wrap(SubJobXMLList, "checkJobHasChildren", _unfinished_write_is_no_split),
        Wrap(GangaRepositoryLocal, "_safe_flush_xml", _job_before_its_first_subjobs),
    ),
)

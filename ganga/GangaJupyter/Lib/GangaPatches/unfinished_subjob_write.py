"""A split job whose first write of its subjobs was cut short loads as the job it was before it was split."""
from __future__ import annotations

import functools
import os
from typing import Any, Callable

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


class UnfinishedSubjobWrite(WrapperPatch):
    def still_needed(self) -> bool:
        return "Missing subjobs data file" in ganga_source(SubJobXMLList, "countSubJobDirs")


PATCH = UnfinishedSubjobWrite(
    name="unfinished_subjob_write",
    changes="GangaCore.Core.GangaRepository.SubJobXMLList.SubJobXMLList.checkJobHasChildren",
    why=(
        "Ganga 8.7.12 writes a newly split job's subjobs one folder at a time, then their index, then the job. "
        "A session killed part way leaves the last folder without a data file, and every later session marks the "
        "job corrupt (\"Missing subjobs data file\") and never loads it again. GangaJupyter writes the whole "
        "split job before its backend sees any subjob (patch ``flush_on_submit``), so a write cut short means no "
        "subjob went out: such a job (no subjob index yet, only the highest-numbered folder incomplete) now loads "
        "as it was last written, before the split, and taking it over makes it ``new`` again, ready to submit. "
        "Any other missing data file is still an error."
    ),
    wraps=(Wrap(SubJobXMLList, "checkJobHasChildren", _unfinished_write_is_no_split),),
)

"""A job's text in a notebook (or Ganga's shell) shows the page of its subjobs the HTML shows, not all of them."""
from __future__ import annotations

import functools
from typing import Any, Callable

from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.GPIDev.Lib.Job.Job import Job

from .. import settings
from ..Display.slice_text import slice_text
from .patch import Wrap, WrapperPatch, ganga_source

GANGA_FULL_TABLE = "rslice._display(1)"


def _bounded(summary_print: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(summary_print)
    def bounded_subjobs_summary(self, value, verbosity_level, interactive=False):
        if not interactive:  # print(j), str(j): Ganga's whole table
            return summary_print(self, value, verbosity_level, interactive)
        return slice_text(stripProxy(self._subjobs_proxy()), settings.option("page_size"))

    return bounded_subjobs_summary


class BoundedSubjobsText(WrapperPatch):
    def still_needed(self) -> bool:
        return GANGA_FULL_TABLE in ganga_source(Job, "_subjobs_summary_print")


PATCH = BoundedSubjobsText(
    name="bounded_subjobs_text",
    changes="GangaCore.GPIDev.Lib.Job.Job.Job._subjobs_summary_print",
    why=(
        "Ganga 8.7.12 writes a job's whole subjob table into the job's interactive text (``subjobs = Registry "
        "Slice ...`` and a row per subjob): the text/plain of a 1,000-subjob job's display was 188 kB and took "
        "70 ms, 10 times that at 10,000 subjobs, in every display of the job, for a card whose HTML shows one "
        "page. The interactive text now lists the same page of subjobs as ``j.subjobs`` shows, and says how many "
        "more there are and that ``print(j.subjobs)`` shows them all; ``print(j)`` is still Ganga's whole text."
    ),
    wraps=(Wrap(Job, "_subjobs_summary_print", _bounded),),
)

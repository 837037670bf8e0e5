"""Which job changes a live slice view looks at: the jobs it holds and their subjobs, any job for the whole ``jobs``
registry, the subjobs of ``j`` for ``j.subjobs``. Slices are small fakes of Ganga's (a name and ``objects``); the
registry is Ganga's own class, unloaded."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from GangaCore.Core.GangaRepository.Registry import Registry

from GangaJupyter.Lib.Widgets.live import _concerns


@dataclass
class FakeSlice:
    name: str
    objects: Any


def test_the_jobs_registry_concerns_every_job_even_one_made_later() -> None:
    concerns = _concerns(FakeSlice("jobs", Registry("jobs", "the job registry")))
    assert all(concerns(fqid) for fqid in ("0", "12", "12.3", "999"))


def test_a_selection_concerns_its_jobs_and_their_subjobs_only() -> None:
    concerns = _concerns(FakeSlice("jobs.select(minid=3, maxid=4)", {3: object(), 4: object()}))
    assert concerns("3") and concerns("4") and concerns("4.17")
    assert not concerns("5") and not concerns("30") and not concerns("34.1") and not concerns("5.3")


def test_subjobs_concern_every_subjob_of_their_master() -> None:
    concerns = _concerns(FakeSlice("jobs(7).subjobs", {}))  # empty until Ganga splits the job
    assert concerns("7.0") and concerns("7.9999")
    assert not concerns("7") and not concerns("70.1") and not concerns("17.0")


def test_a_selection_of_subjobs_concerns_those_subjobs() -> None:
    concerns = _concerns(FakeSlice("jobs(7).subjobs.select(minid=2, maxid=3)", {2: object(), 3: object()}))
    assert concerns("7.2") and concerns("7.3")
    assert not concerns("7.4") and not concerns("2") and not concerns("7")


def test_a_manual_slice_is_keyed_by_fqid() -> None:
    concerns = _concerns(FakeSlice("manual slice", {"2": object(), "5.1": object()}))
    assert concerns("2") and concerns("2.0") and concerns("5.1")
    assert not concerns("5") and not concerns("5.2")

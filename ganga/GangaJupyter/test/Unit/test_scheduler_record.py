"""The scheduler record (``__scheduler__.json`` next to a job's outputs): one model for every backend, merged
field by field, readable whatever is in the file."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from GangaJupyter.Lib.Core import scheduler_record
from GangaJupyter.Lib.Core.scheduler_record import FILENAME, MAX_FILE, SchedulerRecord
from ganga_fakes import Workspace


class Job:
    """What the record functions use of a Ganga job: its output workspace."""

    def __init__(self, outputdir: Path):
        self.outputdir = outputdir

    def getOutputWorkspace(self, create: bool = True) -> Workspace:
        if create:
            self.outputdir.mkdir(parents=True, exist_ok=True)
        return Workspace(self.outputdir)


def test_an_empty_record_is_false_and_any_field_makes_it_true() -> None:
    assert not SchedulerRecord()
    assert SchedulerRecord(reason="waiting")
    assert SchedulerRecord(exit_code="0").as_dict() == {"exit_code": "0"}


def test_a_job_without_a_record_reads_as_empty(tmp_path: Path) -> None:
    assert scheduler_record.read(Job(tmp_path / "never-made")) == SchedulerRecord()


def test_update_merges_fields_and_says_when_the_record_changed(tmp_path: Path) -> None:
    job = Job(tmp_path / "out")
    assert scheduler_record.update(job, system="Slurm", state="PENDING", reason="waiting in the queue (Priority)")
    assert not scheduler_record.update(job, system="Slurm", state="PENDING"), "the same fields again changed it"
    assert scheduler_record.update(job, state="RUNNING", nodes="node1", reason="")  # "" is unknown: the reason stays
    record = scheduler_record.read(job)
    assert record == SchedulerRecord(
        system="Slurm", state="RUNNING", reason="waiting in the queue (Priority)", nodes="node1"
    )
    assert json.loads((tmp_path / "out" / FILENAME).read_text()) == record.as_dict()


def test_forget_drops_a_reason_that_no_longer_holds(tmp_path: Path) -> None:
    job = Job(tmp_path / "out")
    scheduler_record.update(job, system="Slurm", state="PENDING", reason="waiting in the queue (Resources)")
    assert scheduler_record.update(job, forget=("reason",), state="RUNNING")
    assert scheduler_record.read(job) == SchedulerRecord(system="Slurm", state="RUNNING")
    assert not scheduler_record.update(job, forget=("reason",), state="RUNNING")


def test_numbers_are_kept_as_text(tmp_path: Path) -> None:
    job = Job(tmp_path / "out")
    scheduler_record.update(job, exit_code=0, max_memory=None)
    assert scheduler_record.read(job) == SchedulerRecord(exit_code="0")


def test_update_refuses_names_that_are_not_fields(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="colour"):
        scheduler_record.update(Job(tmp_path / "out"), colour="red")
    with pytest.raises(TypeError, match="mood"):
        scheduler_record.update(Job(tmp_path / "out"), forget=("mood",))
    assert not (tmp_path / "out" / FILENAME).exists()


def test_clear_forgets_the_record(tmp_path: Path) -> None:
    job = Job(tmp_path / "out")
    scheduler_record.update(job, reason="the node running it failed")
    scheduler_record.clear(job)
    assert scheduler_record.read(job) == SchedulerRecord()
    scheduler_record.clear(job)  # nothing to clear: no error


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"\xff\xfe\x00",
        b"[1, 2, 3]",
        b'"a string"',
        b"null",
        b"{" + b'"reason": "x", ' * (MAX_FILE // 10) + b'"state": "y"}',
    ],
    ids=["text", "binary", "list", "string", "null", "oversized"],
)
def test_a_file_that_is_not_a_record_reads_as_empty(tmp_path: Path, content: bytes) -> None:
    (tmp_path / FILENAME).write_bytes(content)
    assert scheduler_record.read(Job(tmp_path)) == SchedulerRecord()


def test_unknown_keys_and_odd_values_are_dropped(tmp_path: Path) -> None:
    (tmp_path / FILENAME).write_text(
        json.dumps(
            {"state": "COMPLETED", "exit_code": 0, "nodes": ["a", "b"], "reason": None, "wall_time": True, "x": "y"}
        )
    )
    assert scheduler_record.read(Job(tmp_path)) == SchedulerRecord(state="COMPLETED", exit_code="0")


def test_an_update_over_a_broken_file_starts_afresh(tmp_path: Path) -> None:
    (tmp_path / FILENAME).write_text("{broken")
    assert scheduler_record.update(Job(tmp_path), state="RUNNING")
    assert scheduler_record.read(Job(tmp_path)) == SchedulerRecord(state="RUNNING")

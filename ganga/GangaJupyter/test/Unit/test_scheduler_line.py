"""The job card's scheduler line: what any backend's scheduler record says, in one place, without repeating the
host and exit code the card already shows above it."""
from __future__ import annotations

import re

from GangaJupyter.Lib.Core.scheduler_record import SchedulerRecord
from GangaJupyter.Lib.Display import render
from GangaJupyter.Lib.Display.records import JobRecord, JobRow


def card(status: str, record: SchedulerRecord, host: str = "", exit_code: int | None = None) -> str:
    row = JobRow(
        fqid="7",
        status=status,
        name="",
        comment="",
        application="Executable",
        backend=record.system or "Local",
        host=host,
        subjob_counts=[],
        n_subjobs=0,
    )
    job = JobRecord(
        row=row,
        times=[],
        runtime="",
        exit_code=exit_code,
        outputdir="/nowhere/7/output",
        workspace_missing=False,
        files=[],
        stderr_tail="",
        stderr_source="",
        failed_subjobs=[],
        failure_groups=[],
        application=[],
        backend=[],
        scheduler=record,
    )
    return render.job_card_html(job)


def scheduler_line(html: str) -> str | None:
    match = re.search(r'<div class="gj-scheduler"[^>]*>(.*?)</div>', html, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else None


def test_a_held_htcondor_job_says_why_prominently() -> None:
    html = card("running", SchedulerRecord(system="HTCondor", state="Held", reason="held: by user; condor_release it"))
    assert scheduler_line(html) == "HTCondor: Held: held: by user; condor_release it"
    assert "var(--jp-warn-color1" in re.search(r'<div class="gj-scheduler"[^>]*>', html).group(0)


def test_a_failure_reason_is_shown_as_an_error() -> None:
    html = card(
        "failed", SchedulerRecord(system="Slurm", state="TIMEOUT", reason="killed by Slurm: it reached its time limit")
    )
    assert "var(--jp-error-color1" in re.search(r'<div class="gj-scheduler"[^>]*>', html).group(0)


def test_figures_follow_the_state_and_the_host_and_exit_code_are_not_repeated() -> None:
    record = SchedulerRecord(
        system="Slurm",
        state="COMPLETED",
        nodes="node1",
        wall_time="00:00:05",
        cpu_time="00:00:01",
        max_memory="1200K",
        exit_code="0",
    )
    assert scheduler_line(card("completed", record, host="node1", exit_code=0)) == (
        "Slurm: COMPLETED · wall time 00:00:05 · CPU time 00:00:01 · max memory 1200K"
    )
    assert scheduler_line(card("completed", record, host="", exit_code=None)) == (
        "Slurm: COMPLETED · node node1 · wall time 00:00:05 · CPU time 00:00:01 · max memory 1200K · exit code 0"
    )


def test_a_record_that_only_repeats_the_card_shows_no_line() -> None:
    local = SchedulerRecord(system="Local", nodes="laptop", exit_code="0")
    assert scheduler_line(card("completed", local, host="laptop", exit_code=0)) is None
    assert scheduler_line(card("new", SchedulerRecord())) is None


def test_any_backend_state_is_shown() -> None:
    assert scheduler_line(card("running", SchedulerRecord(system="Condor", state="Running"))) == "Condor: Running"


def test_the_record_is_escaped() -> None:
    html = card("failed", SchedulerRecord(system="HTCondor", state="Held", reason="<script>alert(1)</script>"))
    assert "<script>" not in html and "&lt;script&gt;" in html

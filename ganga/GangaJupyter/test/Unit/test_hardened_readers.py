"""Readers of job files and of notebook output, fed hostile or broken input (issue 14, findings 4, 5, 8, 10, 11).

Pure functions on real files written here: no Ganga bootstrap, no kernel.
"""
import gzip
import os
import pickle
import time
import tracemalloc

import nbformat

from GangaJupyter.Lib.Core import job_files
from GangaJupyter.Lib.Core.errors import WorkerFileError
from GangaJupyter.Lib.Core.worker_report import WorkerReport
from GangaJupyter.Lib.Display import notebook_outputs
from GangaJupyter.Lib.GangaPatches.slurm_job_name import slurm_job_name
from GangaJupyter.Lib.NotebookApp import worker_files
from GangaJupyter.Lib.NotebookApp.NotebookMerger import NotebookMerger


def gzip_bomb(path, megabytes):
    """A small .gz that expands to ``megabytes`` MB of zeros."""
    block = b"\0" * (1 << 20)
    with gzip.open(path, "wb", compresslevel=9) as handle:
        for _ in range(megabytes):
            handle.write(block)
        handle.write(b"\nthe last line\n")
    return str(path)


# ---------------------------------------------------------------- finding 4: stderr.gz
def test_a_gzip_bomb_is_read_up_to_a_cap_in_bounded_memory_and_time(tmp_path):
    path = gzip_bomb(tmp_path / "stderr.gz", 200)  # 200 MB of zeros in about 200 KB
    assert os.path.getsize(path) < 1 << 20
    tracemalloc.start()
    began = time.monotonic()
    text = job_files.tail_any(path, 20)
    elapsed = time.monotonic() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "(stderr.gz larger than 64 MB: showing what was read)" in text
    assert "the last line" not in text  # stopped at the cap, never read to the end
    assert peak < 8 << 20 and elapsed < 10


def test_a_gzipped_stderr_is_read_once_per_version_of_the_file(tmp_path):
    path = str(tmp_path / "stderr.gz")
    with gzip.open(path, "wt") as handle:
        handle.write("first\n")
    assert job_files.tail_any(path, 5) == "first"
    calls_before = job_files._cached_tail.cache_info().hits
    assert job_files.tail_any(path, 5) == "first"
    assert job_files._cached_tail.cache_info().hits == calls_before + 1
    time.sleep(0.01)
    with gzip.open(path, "wt") as handle:
        handle.write("second, longer\n")
    assert job_files.tail_any(path, 5) == "second, longer"  # a new mtime and size: read again


def test_a_stderr_linked_outside_the_job_is_not_read(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("private key\n")
    job = tmp_path / "job"
    job.mkdir()
    (job / "stderr").symlink_to(secret)
    text = job_files.tail_any(str(job / "stderr"), 5)
    assert "private key" not in text
    assert "stderr is a link to a file outside the job's folder: not shown" in text


# ---------------------------------------------------------------- finding 5: executed.ipynb
def _notebook(path, n_cells=2):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"x = {i}") for i in range(n_cells)])
    nbformat.write(nb, str(path))
    return str(path)


def test_executed_notebook_is_parsed_once_per_version(tmp_path):
    path = _notebook(tmp_path / "executed.ipynb")
    first = worker_files.read_executed(path)
    hits = worker_files._parse_executed.cache_info().hits
    assert worker_files.read_executed(path) is first
    assert worker_files._parse_executed.cache_info().hits == hits + 1
    assert [c["source"] for c in first] == ["x = 0", "x = 1"]


def test_a_broken_executed_notebook_becomes_a_message(tmp_path):
    path = tmp_path / "executed.ipynb"
    path.write_bytes(b'{"cells": [\x00\xff')
    try:
        worker_files.read_executed(str(path))
    except WorkerFileError as err:
        assert "executed.ipynb could not be read" in str(err) and str(path) in str(err)
    else:
        raise AssertionError("no WorkerFileError")


def test_a_huge_executed_notebook_is_not_parsed(tmp_path):
    path = tmp_path / "executed.ipynb"
    with open(path, "wb") as handle:
        handle.truncate(worker_files.MAX_EXECUTED_BYTES + 1)  # sparse: big on paper only
    try:
        worker_files.read_executed(str(path))
    except WorkerFileError as err:
        assert "too big to show here" in str(err)
    else:
        raise AssertionError("no WorkerFileError")


def test_a_garbage_worker_report_reads_as_no_report(tmp_path):
    for content in ("[1, 2]", '{"error": "boom"}', "\x00" * 100, '{"error": {"kind": "cell", "cell": 3}}'):
        path = tmp_path / "report.json"
        path.write_text(content)
        report = WorkerReport.read(str(path))
        if report:
            assert "cell 3 of ?" in report.describe()  # no KeyError for the missing "of"


# ---------------------------------------------------------------- finding 8: no unpickling in the merger
class _Trap:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))  # unpickling this creates the marker file


def test_the_merger_keeps_the_bytes_and_runs_no_pickle(tmp_path):
    marker = str(tmp_path / "unpickled")
    evil, good = tmp_path / "0.pkl", tmp_path / "1.pkl"
    evil.write_bytes(pickle.dumps(_Trap(marker)))
    good.write_bytes(pickle.dumps({"c": 3}))
    merged = tmp_path / "merged.pkl"
    NotebookMerger().mergefiles([str(evil), str(good)], str(merged))
    assert not os.path.exists(marker)
    with open(merged, "rb") as handle:
        kept = pickle.load(handle)
    assert kept == [evil.read_bytes(), good.read_bytes()]
    assert not os.path.exists(marker)


# ---------------------------------------------------------------- finding 10: the sanitizer
def test_notebook_html_cannot_reuse_jupyterlab_classes_or_run_code():
    hostile = (
        '<div class="jp-Dialog lm-Widget" style="position:fixed" onclick="x()">Log in again</div>'
        '<a href="javascript:alert(1)">x</a><img src=x onerror=alert(1)><script>alert(1)</script>'
        '<table class="dataframe"><tr><td colspan="2">1</td></tr></table>'
    )
    cleaned = notebook_outputs.clean_html(hostile)
    assert "class=" not in cleaned and "style=" not in cleaned and "onclick" not in cleaned
    assert "javascript:" not in cleaned and "<script" not in cleaned and "onerror" not in cleaned
    assert "Log in again" in cleaned and '<td colspan="2">1</td>' in cleaned


def test_svg_output_is_only_ever_an_image():
    svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><foreignObject><div>x</div></foreignObject></svg>'
    out = notebook_outputs.convert_output({"output_type": "display_data", "data": {"image/svg+xml": svg}})
    assert out.kind == "image" and out.content.startswith("data:image/svg+xml;base64,") and "<" not in out.content


# ---------------------------------------------------------------- finding 11: the name sbatch gets
def test_the_name_sbatch_gets_is_safe_in_single_quotes():
    assert slurm_job_name("it's $(rm -rf ~); `id`") == "it_s___rm_-rf______id_"
    assert slurm_job_name("sweep-3.a_b") == "sweep-3.a_b"
    assert len(slurm_job_name("x" * 10_000)) == 128

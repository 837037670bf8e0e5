"""Corpus: job files a worker leaves (stdout, stderr, executed.ipynb, the report) and notebook output HTML."""
from __future__ import annotations

import gzip
import json
import os
import pickle
import time

from . import Case


def _gz(path, data: bytes) -> str:
    with gzip.open(path, "wb") as handle:
        handle.write(data)
    return str(path)


def _bomb(tmp_path):
    from GangaJupyter.Lib.Core import job_files

    path = tmp_path / "stderr.gz"
    with gzip.open(path, "wb", compresslevel=9) as handle:
        for _ in range(100):
            handle.write(b"\0" * (1 << 20))
    assert os.path.getsize(path) < 1 << 20
    began = time.monotonic()
    text = job_files.tail_any(str(path), 20)
    assert time.monotonic() - began < 10
    assert text.endswith("(stderr.gz larger than 64 MB: showing what was read)")


def _truncated_gz(tmp_path):
    from GangaJupyter.Lib.Core import job_files

    path = tmp_path / "stderr.gz"
    _gz(path, b"line one\n" * 50_000 + b"Traceback (most recent call last):\n")
    path.write_bytes(path.read_bytes()[:-200])
    text = job_files.tail_any(str(path), 5)
    assert "line one" in text and text.endswith("(stderr.gz is damaged: showing what could be read)")


def _not_gzip(tmp_path):
    from GangaJupyter.Lib.Core import job_files

    path = tmp_path / "stderr.gz"
    path.write_bytes(b"plain text, not gzip\n")
    assert job_files.tail_any(str(path), 5) == "(stderr.gz is damaged: showing what could be read)"


def _non_utf8(tmp_path):
    from GangaJupyter.Lib.Core import job_files

    path = tmp_path / "stdout"
    path.write_bytes(b"caf\xe9 \xff\xfe ok\n")
    assert job_files.tail_any(str(path), 5) == "caf\ufffd \ufffd\ufffd ok"


def _nul_bytes(tmp_path):
    from GangaJupyter.Lib.Core import job_files

    path = tmp_path / "stderr"
    path.write_bytes(b"before\0\0after\n")
    assert job_files.tail_any(str(path), 5) == "before\ufffd\ufffdafter"


def _huge_stdout(tmp_path):
    from GangaJupyter.Lib.Core import job_files

    path = tmp_path / "stdout"
    with open(path, "wb") as handle:
        handle.seek(4 << 30)  # 4 GB of hole: sparse
        handle.write(b"the end\n")
    began = time.monotonic()
    assert job_files.tail_any(str(path), 3).endswith("the end")
    assert time.monotonic() - began < 2


def _symlink_outside(tmp_path):
    from GangaJupyter.Lib.Core import job_files

    (tmp_path / "private").write_text("ssh key\n")
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "stderr").symlink_to(tmp_path / "private")
    text = job_files.tail_any(str(tmp_path / "job" / "stderr"), 5)
    assert text == "(stderr is a link to a file outside the job's folder: not shown)"


def _fifo(tmp_path):
    from GangaJupyter.Lib.Core import job_files

    os.mkfifo(tmp_path / "stdout")
    assert job_files.tail_any(str(tmp_path / "stdout"), 5) == "(stdout is not a regular file: not shown)"


def _vanished(tmp_path):
    from GangaJupyter.Lib.Core import job_files

    assert job_files.tail_any(str(tmp_path / "stderr"), 5).startswith("(stderr could not be read: ")


def _executed_garbage(tmp_path):
    from GangaJupyter.Lib.Core.errors import WorkerFileError
    from GangaJupyter.Lib.NotebookApp import worker_files

    path = tmp_path / "executed.ipynb"
    path.write_bytes(b"\x89PNG not a notebook \x00")
    try:
        worker_files.read_executed(str(path))
    except WorkerFileError as err:
        assert str(err).startswith("executed.ipynb could not be read (") and "resubmit the job" in str(err)
    else:
        raise AssertionError("a garbage notebook was accepted")


def _executed_huge(tmp_path):
    from GangaJupyter.Lib.Core.errors import WorkerFileError
    from GangaJupyter.Lib.NotebookApp import worker_files

    path = tmp_path / "executed.ipynb"
    with open(path, "wb") as handle:
        handle.truncate(worker_files.MAX_EXECUTED_BYTES + 1)
    try:
        worker_files.read_executed(str(path))
    except WorkerFileError as err:
        assert "too big to show here" in str(err) and str(path) in str(err)
    else:
        raise AssertionError("a huge notebook was parsed")


def _executed_bad_outputs(tmp_path):
    from GangaJupyter.Lib.Core.errors import WorkerFileError
    from GangaJupyter.Lib.Display.notebook_outputs import convert_cells
    from GangaJupyter.Lib.NotebookApp import worker_files

    outputs = [{"output_type": "error", "traceback": [1, None]}, {"output_type": "display_data", "data": "x"}]
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "source": "x", "metadata": {}, "outputs": [1, *outputs], "execution_count": 1}]}
    path = tmp_path / "executed.ipynb"
    path.write_text(json.dumps(nb))
    try:
        worker_files.read_executed(str(path))  # nbformat refuses it as a whole
    except WorkerFileError as err:
        assert "executed.ipynb could not be read (ValidationError" in str(err)
    else:
        raise AssertionError("an invalid notebook was accepted")
    cells, _ = convert_cells([{"number": 1, "source": "x", "outputs": outputs}])  # what nbformat lets through
    assert [(o.kind, o.content) for o in cells[0].outputs] == [("error", "1\nNone")]


def _report_garbage(tmp_path):
    from GangaJupyter.Lib.Core.worker_report import WorkerReport

    path = tmp_path / "report.json"
    for content in ("[1, 2]", '{"error": "boom"}', "\x00\xff", "9" * 100_000, "[" * 100_000):
        path.write_text(content, errors="surrogateescape")
        assert WorkerReport.read(str(path)) is None


def _report_huge(tmp_path):
    from GangaJupyter.Lib.Core import worker_report

    path = tmp_path / "report.json"
    path.write_text('{"error": {"message": "' + "x" * (worker_report.MAX_REPORT_BYTES + 1) + '"}}')
    assert worker_report.WorkerReport.read(str(path)) is None


def _html(markup: str) -> str:
    from GangaJupyter.Lib.Display.notebook_outputs import convert_output

    out = convert_output({"output_type": "display_data", "data": {"text/html": markup}})
    assert out.kind == "html"
    return out.content


def _jp_dialog(tmp_path):
    cleaned = _html('<div class="jp-Dialog jp-mod-styled" id="x" style="position:fixed;inset:0">Session expired</div>')
    assert cleaned == "<div>Session expired</div>"


def _script_onerror(tmp_path):
    cleaned = _html('<img src=x onerror="alert(1)"><script>alert(2)</script><b onmouseover="x()">b</b>')
    assert cleaned == "<b>b</b>"


def _javascript_url(tmp_path):
    cleaned = _html('<a href="javascript:alert(1)">one</a><a href=" JAVASCRIPT:alert(1)">two</a><a href="https://x.org">three</a>')
    assert "javascript" not in cleaned.lower() and 'href="https://x.org"' in cleaned


def _svg_inline_html(tmp_path):
    cleaned = _html('<svg><script>alert(1)</script><foreignObject><iframe src="javascript:x"></iframe></foreignObject></svg>ok')
    assert cleaned == "ok"


def _svg_image(tmp_path):
    from GangaJupyter.Lib.Display.notebook_outputs import convert_output

    svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script><foreignObject/></svg>'
    out = convert_output({"output_type": "display_data", "data": {"image/svg+xml": svg}})
    assert out.kind == "image" and out.content.startswith("data:image/svg+xml;base64,") and "<" not in out.content


def _png_not_base64(tmp_path):
    from GangaJupyter.Lib.Display.notebook_outputs import convert_output

    out = convert_output({"output_type": "display_data", "data": {"image/png": '"><script>alert(1)</script>', "text/plain": "fig"}})
    assert (out.kind, out.content) == ("text", "fig")


def _merger_hostile_pickle(tmp_path):
    from GangaJupyter.Lib.NotebookApp.NotebookMerger import NotebookMerger

    marker = tmp_path / "ran"
    # a pickle that calls open(marker, "w") when loaded
    hostile = b"cbuiltins\nopen\n(" + pickle.dumps(str(marker), protocol=0)[:-1] + b"S'w'\ntR."
    (tmp_path / "0.pkl").write_bytes(hostile)
    NotebookMerger().mergefiles([str(tmp_path / "0.pkl")], str(tmp_path / "merged.pkl"))
    assert not marker.exists()
    assert pickle.loads((tmp_path / "merged.pkl").read_bytes()) == [hostile]


CASES = [
    Case("stderr-gzip-bomb", "files", "stderr.gz of 100 MB of zeros (100 KB on disk)", "read up to 64 MB, in bounded memory; ends with \"(stderr.gz larger than 64 MB: showing what was read)\"", _bomb),
    Case("stderr-gzip-truncated", "files", "stderr.gz cut short (worker stopped mid-write)", "what could be read, then \"(stderr.gz is damaged: showing what could be read)\"", _truncated_gz),
    Case("stderr-gz-not-gzip", "files", "a plain text file named stderr.gz", "\"(stderr.gz is damaged: ...)\", no exception", _not_gzip),
    Case("stdout-non-utf8", "files", "stdout with Latin-1 and invalid UTF-8 bytes", "shown with U+FFFD for the bad bytes", _non_utf8),
    Case("stderr-nul-bytes", "files", "stderr with NUL bytes", "NULs shown as U+FFFD, the rest as written", _nul_bytes),
    Case("stdout-huge", "files", "a 4 GB stdout", "only its last 64 KB read; the last lines shown at once", _huge_stdout),
    Case("stderr-symlink-outside-job", "files", "stderr a symlink to a private file outside the job's folder", "not read: \"(stderr is a link to a file outside the job's folder: not shown)\"", _symlink_outside),
    Case("stdout-fifo", "files", "stdout is a FIFO nobody writes to", "not opened for reading (no hang): \"(stdout is not a regular file: not shown)\"", _fifo),
    Case("stderr-vanished", "files", "stderr removed between listing and reading", "\"(stderr could not be read: ...)\"", _vanished),
    Case("executed-notebook-garbage", "files", "executed.ipynb of binary garbage", "a message in the job card: \"executed.ipynb could not be read (...) ... resubmit the job\"", _executed_garbage),
    Case("executed-notebook-huge", "files", "executed.ipynb over 64 MB", "not parsed: \"executed.ipynb is too big to show here (...): open <path> in JupyterLab\"", _executed_huge),
    Case("executed-notebook-bad-outputs", "files", "an output that is a number, a traceback of non-strings, data that is not a dict", "the notebook refused with a message; bad outputs skipped, the traceback shown as text", _executed_bad_outputs),
    Case("worker-report-garbage", "files", "report.json that is a list, has a string error, is binary, is one huge number, is nested 100,000 deep", "read as no report (the card falls back to stderr and status)", _report_garbage),
    Case("worker-report-huge", "files", "report.json over 4 MB", "not parsed; read as no report", _report_huge),
    Case("html-jupyterlab-class", "notebook HTML", "<div class=\"jp-Dialog\" style=\"position:fixed\">", "class, id and style removed: a plain <div>", _jp_dialog),
    Case("html-script-onerror", "notebook HTML", "<script>, <img onerror>, onmouseover", "script and its content, img and handlers removed", _script_onerror),
    Case("html-javascript-url", "notebook HTML", "<a href=\"javascript:...\"> (also upper case, leading space)", "href removed; https links kept", _javascript_url),
    Case("html-inline-svg", "notebook HTML", "text/html with <svg><script><foreignObject><iframe>", "all of it removed, the text kept", _svg_inline_html),
    Case("svg-image-script", "notebook HTML", "image/svg+xml with onload, <script> and <foreignObject>", "shown only as <img src=data:...;base64>, where SVG runs no script", _svg_image),
    Case("png-not-base64", "notebook HTML", "image/png whose payload is markup", "not an image: the text/plain shown instead", _png_not_base64),
    Case("merger-hostile-pickle", "files", "a subjob's outputs file that runs code when unpickled", "NotebookMerger keeps its bytes and runs nothing", _merger_hostile_pickle),
]

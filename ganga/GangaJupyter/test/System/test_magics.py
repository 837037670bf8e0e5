"""``%%ganga_job`` and ``%%ganga`` in a real kernel: cells shipped as jobs, results back, bad input refused."""
from GangaJupyter.testlib.notebooks import execute, ganga_home, notebook, outputs

WAIT = "import time\nwhile {0}.status not in ('completed', 'failed'): time.sleep(0.2)\n"


def text(cell):
    return "".join(outputs(cell, "text/plain"))


def html(cell):
    return "".join(outputs(cell, "text/html"))


def errors(cell):
    return [o for o in cell.outputs if o.output_type == "error"]


def test_ganga_job_cells_with_inputs_outputs_and_a_sweep(tmp_path):
    nb = execute(
        notebook(
            "%load_ext GangaJupyter\nconfig.PollThread.Local = 1",
            "data = [1, 5, 10]",
            '%%ganga_job --inputs data --outputs total --split "{\'cut\': [0, 4, 8]}"\ntotal = sum(x for x in data if x > cut)',
            "sweep = _\n" + WAIT.format("sweep") + "print(sweep.status, sweep.application.results())",
            "%%ganga_job --outputs y\nraise ValueError('bad <input>')",
            "failed = _\n" + WAIT.format("failed") + "failed",
            "failed.application.results()",
            "%%ganga\nfor i in range(2):\n    Job(name=f'made-{i}', application=Executable(exe='true')).submit()",
            "NotebookApp(cells=['x = 1', 2])",
        ),
        ganga_home(tmp_path, False),
        tmp_path,
        allow_errors=True,
    )
    cells = nb.cells
    assert 'class="gangajupyter gj-job"' in html(cells[2])
    assert "completed [{'total': 16}, {'total': 15}, {'total': 10}]" in text(cells[3])
    assert "Cell 1 of 1 failed" in html(cells[5]) and "ValueError: bad &lt;input&gt;" in html(cells[5])
    [error] = errors(cells[6])
    assert "failed in cell 1 of 1: ValueError: bad <input>" in error.traceback[0]
    assert len(error.traceback) == 1  # Ganga's message, no Python stack
    shown = html(cells[7])
    assert shown.count('class="gangajupyter gj-job"') == 2 and "made-0" in shown and "made-1" in shown
    [error] = errors(cells[8])
    assert "Error constructing object of type: 'NotebookApp'" in error.traceback[0]
    assert any("List entry 2 for cells is invalid" in line for line in error.traceback)


def test_ganga_job_refuses_bad_input_before_creating_a_job(tmp_path):
    nb = execute(
        notebook(
            "%load_ext GangaJupyter\nimport threading\nlock = threading.Lock()",
            "%%ganga_job --inputs lock\nprint(lock)",
            "%%ganga_job --inputs undefined_thing\npass",
            "%%ganga_job\nx = (",
            "%%ganga_job --backend 42\npass",
            "%%ganga_job --parameters \"{'a': object()}\"\npass",
            "print('jobs', len(jobs))",
        ),
        ganga_home(tmp_path, False),
        tmp_path,
        allow_errors=True,
    )
    messages = [text(c) for c in nb.cells[1:6]]
    assert "'lock' cannot be sent to the job because it cannot be pickled" in messages[0]
    assert "undefined_thing not defined in this notebook" in messages[1]
    assert "cell 1, line 1: '(' was never closed" in messages[2]
    assert "--backend must be a Ganga backend" in messages[3]
    assert "JSON-serialisable" in messages[4]
    assert all("Nothing was submitted" in m for m in messages)
    assert not any(errors(c) for c in nb.cells[1:6])
    assert "jobs 0" in text(nb.cells[6])

"""Corpus: bad values in what users set: [Jupyter] options, %%ganga_job arguments, NotebookApp and HTCondor
attributes, and the job name that reaches sbatch."""
from __future__ import annotations

from . import Case


def _option(name, value, expected):
    def check(tmp_path):
        from GangaJupyter.Lib import settings

        assert settings.checked(name, value) == expected

    return check


def _split(value, fragment):
    def check(tmp_path):
        from GangaJupyter.Lib.Kernel.magics import MagicInputError, check_split

        try:
            check_split(value)
        except MagicInputError as err:
            assert fragment in str(err) and "give a list of parameter dicts" in str(err)
        else:
            raise AssertionError(f"--split {value!r} was accepted")

    return check


def _app(attribute, value, fragment):
    def check(tmp_path):
        from GangaJupyter.Lib.NotebookApp.NotebookApp import NotebookApp
        from GangaJupyter.Lib.NotebookApp.errors import NotebookAppError

        app = NotebookApp()
        app.cells = ["x = 1"]
        setattr(app, attribute, value)
        try:
            app.source_notebook()  # what configure() runs before any job is submitted
        except NotebookAppError as err:
            assert fragment in str(err)
        else:
            raise AssertionError(f"NotebookApp({attribute}={value!r}) was accepted")

    return check


def _sbatch_name(tmp_path):
    from GangaJupyter.Lib.GangaPatches.slurm_job_name import slurm_job_name

    assert slurm_job_name("fit 'all'; rm -rf ~") == "fit__all___rm_-rf__"
    assert len(slurm_job_name("n" * 5_000_000)) == 128


def _htcondor_refuses(build, fragment):
    def check(tmp_path):
        from GangaCore.Core.exceptions import BackendError

        try:
            build(tmp_path)
        except BackendError as err:
            assert fragment in str(err), str(err)
        else:
            raise AssertionError("HTCondor accepted it")

    return check


def _env_name(tmp_path):
    from GangaJupyter.Lib.HTCondor.description import command_text

    command_text("/bin/echo", ["hi"], {"1; rm -rf ~": "x"})


def _missing_input(tmp_path):
    from GangaJupyter.Lib.HTCondor.description import check_inputs

    check_inputs("4", [str(tmp_path / "absent.root")])


def _comma_input(tmp_path):
    from GangaJupyter.Lib.HTCondor.description import check_inputs

    (tmp_path / "a,b.root").write_text("")
    check_inputs("4", [str(tmp_path / "a,b.root")])


CASES = [
    Case("option-page-size-string", "options", "[Jupyter] page_size = fifty", "one warning naming the fix; the default 50 used", _option("page_size", "fifty", 50)),
    Case("option-page-size-negative", "options", "[Jupyter] page_size = -3", "the default 50 used, with a warning", _option("page_size", -3, 50)),
    Case("option-cell-timeout-bool", "options", "[Jupyter] cell_timeout = True", "the default 3600 used (a bool is not a number of seconds)", _option("cell_timeout", True, 3600)),
    Case("option-live-views-string", "options", "[Jupyter] live_views = 'no'", "the default True used, with a warning", _option("live_views", "no", True)),
    Case("option-default-kernel-number", "options", "[Jupyter] default_kernel = 3", "the default python3 used, with a warning", _option("default_kernel", 3, "python3")),
    Case("magic-split-list-of-numbers", "magics", "%%ganga_job --split \"[1, 2]\"", "refused before any job is made: \"--split [1, 2] is not a sweep: give ...\"", _split([1, 2], "[1, 2]")),
    Case("magic-split-empty-grid", "magics", "%%ganga_job --split \"{'x': []}\"", "refused: a grid needs values", _split({"x": []}, "{'x': []}")),
    Case("magic-split-grid-of-scalar", "magics", "%%ganga_job --split \"{'x': 5}\"", "refused: grid values must be lists", _split({"x": 5}, "{'x': 5}")),
    Case("notebookapp-timeout-negative", "NotebookApp", "NotebookApp(timeout=-5)", "refused before submission: \"timeout=-5 is not a time; give the seconds ...\"", _app("timeout", -5, "timeout=-5 is not a time")),
    Case("notebookapp-output-not-a-name", "NotebookApp", "NotebookApp(outputs=['a b'])", "refused before submission: \"output 'a b' is not a Python variable name\"", _app("outputs", ["a b"], "is not a Python variable name")),
    Case("notebookapp-missing-inputs-file", "NotebookApp", "NotebookApp(inputs_file='/nonexistent.pkl')", "refused before submission: the inputs file does not exist", _app("inputs_file", "/nonexistent.pkl", "does not exist")),
    Case("slurm-name-with-quote", "Slurm", "a job name with ', ; and spaces, and one of 5 MB", "sbatch gets [A-Za-z0-9._-] only, at most 128 characters; the job keeps its name", _sbatch_name),
    Case("htcondor-env-name-not-shell", "HTCondor attributes", "HTCondor(env={'1; rm -rf ~': 'x'})", "refused before submit, naming backend.env", _htcondor_refuses(_env_name, "backend.env")),
    Case("htcondor-missing-input", "HTCondor attributes", "an input file that does not exist", "refused before submit, naming the file", _htcondor_refuses(_missing_input, "absent.root of job 4 does not exist")),
    Case("htcondor-comma-in-input", "HTCondor attributes", "an input file named a,b.root", "refused before submit: HTCondor cannot transfer it", _htcondor_refuses(_comma_input, "contains ','")),
]

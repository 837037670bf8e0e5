"""Cell magics: ``%%ganga_job`` ships a cell as a NotebookApp job; ``%%ganga`` shows the jobs a cell created."""
from __future__ import annotations

import os
import pickle
from typing import Any

from GangaCore.Core.exceptions import GangaException
from GangaCore.GPIDev.Base.Proxy import stripProxy
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from ..Core.errors import ConfigurationError
from .notices import notify


class MagicInputError(ConfigurationError):
    """Bad input to a magic; the message names the problem and the fix."""


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if not name.isidentifier():
            raise MagicInputError(f"{name!r} is not a variable name (give names separated by commas: --inputs a,b)")
    return names


def check_split(split: Any) -> Any:
    """``--split`` as NotebookSweep takes it: a non-empty list of dicts, or a dict of non-empty value lists."""
    if isinstance(split, list) and split and all(isinstance(point, dict) for point in split):
        return split
    if isinstance(split, dict) and split and all(
        isinstance(values, (list, tuple, range)) and len(values) for values in split.values()
    ):
        return split
    raise MagicInputError(
        f"--split {split!r:.80} is not a sweep: give a list of parameter dicts (\"[{{'x': 1}}, {{'x': 2}}]\") or a "
        "dict of value lists (\"{'x': [1, 2]}\")"
    )


def pickle_inputs(namespace: dict[str, Any], names: list[str]) -> bytes:
    """The named variables, pickled; refuses missing or unpicklable ones with the reason."""
    missing = [n for n in names if n not in namespace]
    if missing:
        raise MagicInputError(f"--inputs: {', '.join(missing)} not defined in this notebook. Define it first, or drop it.")
    values = {}
    for name in names:
        try:
            pickle.dumps(namespace[name])
        except Exception as err:
            raise MagicInputError(
                f"--inputs: {name!r} cannot be sent to the job because it cannot be pickled ({type(err).__name__}: "
                f"{err}). Send the data it is made from, or save it to a file and add that to the job's inputfiles."
            ) from None
        values[name] = namespace[name]
    return pickle.dumps(values)


@magics_class
class GangaMagics(Magics):
    def _evaluate(self, option: str, expression: str, kind: type | tuple[type, ...] | str, what: str) -> Any:
        expression = expression.strip()
        if len(expression) > 1 and expression[0] == expression[-1] and expression[0] in "'\"":
            expression = expression[1:-1]  # IPython's argument parser keeps the quotes around a quoted value
        try:
            value = eval(expression, self.shell.user_ns)  # the user's own expression, on the calling thread
        except Exception as err:
            raise MagicInputError(f"{option} {expression!r} could not be evaluated: {type(err).__name__}: {err}") from None
        ok = getattr(stripProxy(value), "_category", None) == kind if isinstance(kind, str) else isinstance(value, kind)
        if not ok:
            raise MagicInputError(f"{option} must be {what}, got {type(value).__name__}")
        return value

    def _notice(self, message: str, fix: str = "") -> None:
        notify(message, fix, level="error")

    @magic_arguments()
    @argument("--backend", default="Local()", help="the backend, as Python (default: Local())")
    @argument("--inputs", default="", help="variables to send to the job, comma-separated (pickled)")
    @argument("--outputs", default="", help="variables to bring back, comma-separated: j.application.results()")
    @argument("--parameters", default="", help="a dict of parameters, as Python")
    @argument("--split", default="", help="a sweep: a list of parameter dicts, or a dict of value lists (a grid)")
    @argument("--name", default="", help="the job's name")
    @argument("--kernel", default=None, help="the Jupyter kernel on the worker")
    @cell_magic
    def ganga_job(self, line: str, cell: str) -> Any:
        """Run this cell as a Ganga job (a NotebookApp) and show the job.

        Example::

            %%ganga_job --backend Local() --inputs data --outputs total --split "{'cut': [1, 2, 3]}"
            total = sum(x for x in data if x > cut)
        """
        import ganga  # the GPI, as the user has it

        args = parse_argstring(self.ganga_job, line)
        try:
            backend = self._evaluate("--backend", args.backend, "backends", "a Ganga backend such as Local()")
            parameters = self._evaluate("--parameters", args.parameters, dict, "a dict") if args.parameters else {}
            split = check_split(self._evaluate("--split", args.split, (list, dict), "a list of dicts or a dict of lists")) if args.split else None
            inputs = _names(args.inputs)
            app = ganga.NotebookApp(cells=[cell], outputs=_names(args.outputs), parameters=parameters)
            if args.kernel:
                app.kernel = args.kernel
            stripProxy(app).source_notebook()  # syntax, parameters, outputs: checked before anything is created
            payload = pickle_inputs(self.shell.user_ns, inputs) if inputs else None
        except (MagicInputError, GangaException) as err:
            self._notice(str(err), "Nothing was submitted.")
            return None

        job = ganga.Job(name=args.name or "ganga_job cell", application=app, backend=backend)
        if split is not None:
            job.splitter = ganga.NotebookSweep(**({"grid": split} if isinstance(split, dict) else {"parameters": split}))
        if payload is not None:
            path = os.path.join(stripProxy(job).getInputWorkspace(create=True).getPath(), "gangajupyter_inputs.pkl")
            with open(path, "wb") as handle:
                handle.write(payload)
            job.application.inputs_file = path
        try:
            job.submit()
        except GangaException as err:
            self._notice(f"job {job.id} was created but not submitted: {err}", f"Fix it and run jobs({job.id}).submit().")
        return job

    @cell_magic
    def ganga(self, line: str, cell: str) -> None:
        """Run ordinary Ganga code and show every job the cell created."""
        from IPython.display import display

        import ganga

        before = set(ganga.jobs.ids())
        self.shell.run_cell(cell, store_history=False)
        for job_id in sorted(set(ganga.jobs.ids()) - before):  # the registry says which jobs are new
            display(ganga.jobs(job_id))


    @magic_arguments()
    @argument("job", nargs="?", default="", help="only the messages about this job (an id such as 3 or 3.7)")
    @argument("-n", "--last", type=int, default=200, help="how many of the newest messages (default: 200)")
    @line_magic
    def ganga_log(self, line: str) -> None:
        """Show what Ganga said in this kernel (its routine lines are not printed into cells), newest last.

        Example: ``%ganga_log`` (everything), ``%ganga_log 3`` (job 3 and its subjobs), ``%ganga_log -n 20``.
        """
        from IPython.display import display

        from ..Display.render import messages_html
        from ..Core.job_messages import job_messages

        try:
            args = parse_argstring(self.ganga_log, line)
        except UsageError as err:
            self._notice(f"%ganga_log: {err}", "Usage: %ganga_log [JOB] [-n N], e.g. %ganga_log 3 -n 50")
            return
        job = args.job.strip()
        if job and not all(part.isdigit() for part in job.split(".")):
            self._notice(f"%ganga_log: {job!r} is not a job id.", "Give a job id such as 3 or 3.7, or nothing for every message.")
            return
        messages = (job_messages.for_job(job) if job else job_messages.recent())[-max(args.last, 1):]
        title = f"Ganga's messages about job {job}" if job else "Ganga's messages in this kernel"
        title += f" (the newest {len(messages)})" if messages else ": none yet"
        display(
            {
                "text/html": messages_html(title, [(m, 1) for m in messages], level="info", with_context=True),
                "text/plain": "\n".join(f"{m.clock} {m.fqid or '-':>6} {m.level:<8} {m.text}" for m in messages) or title,
            },
            raw=True,
        )


def register(ipython: Any) -> None:
    ipython.register_magics(GangaMagics)

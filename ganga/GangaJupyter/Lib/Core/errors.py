"""The errors GangaJupyter raises on purpose. No Ganga import: the Jupyter server's side raises them too.

Where one is raised through Ganga's interface (a GPI method), the raiser uses a subclass that is also Ganga's
``GangaException`` (``NotebookApp/errors.py``), so ``except`` on either family catches it.
"""
from __future__ import annotations


class GangaJupyterError(Exception):
    """The root of every error GangaJupyter raises on purpose (catch this for all of them)."""


class ConfigurationError(GangaJupyterError):
    """Bad input from the user (an argument, an option, a file): the message says what to fix."""


class NotFinishedError(GangaJupyterError):
    """Asked too early: the job has not completed (it is still on its way, or it ended otherwise, killed or
    failed outside its cells: the message says why), so what was asked for does not exist."""


class NotebookCellError(GangaJupyterError):
    """A notebook cell failed on the worker: which cell (``cell`` of ``of``; None for one of GangaJupyter's own
    steps, named by ``role``), the exception's name and value, and the traceback the kernel printed."""

    def __init__(
        self, cell: int | None, of: int | None, ename: str, evalue: str, traceback: str, role: str = "", job: str = ""
    ) -> None:
        self.cell, self.of, self.ename, self.evalue, self.traceback = cell, of, ename, evalue, traceback
        self.role, self.job = role, job
        super().__init__(f"{f'Job {job}' if job else 'The notebook'} failed in {self.where}: {ename}: {evalue}")

    def __reduce__(self) -> tuple[type, tuple]:
        # the default rebuilds from args (the message), which __init__ does not take
        return type(self), (self.cell, self.of, self.ename, self.evalue, self.traceback, self.role, self.job)

    @property
    def where(self) -> str:
        """``cell 2 of 3``, or ``GangaJupyter's outputs step`` for a cell GangaJupyter injected."""
        return cell_place(self.cell, self.of, self.role)


class WorkerFileError(GangaJupyterError):
    """A file the worker should have left is missing, too big or unreadable; the message names it and what to do."""


def cell_place(cell: int | None, of: int | None, role: str) -> str:
    """Where in a notebook something happened, as the messages say it."""
    if cell:
        return f"cell {cell} of {of if of else '?'}"
    return f"GangaJupyter's {role or 'own'} step"


class JobElsewhereError(GangaJupyterError):
    """A call on a job that another Ganga session on the gangadir holds could not be carried out there (that session
    cannot be reached, refused, or did not answer): the message names the session and what to do."""

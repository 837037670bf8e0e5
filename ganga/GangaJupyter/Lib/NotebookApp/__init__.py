"""NotebookApp: notebook cells as Ganga jobs, with parameter sweeps and results brought back."""
from .NotebookApp import NotebookApp
from .NotebookMerger import NotebookMerger
from .NotebookSweep import NotebookSweep
from . import handlers  # noqa: F401  (registers the runtime handlers)

__all__ = ["NotebookApp", "NotebookMerger", "NotebookSweep"]

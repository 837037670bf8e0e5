"""The import-structure check (``testlib/import_graph.py``, ``tox -e imports``): on GangaJupyter's own tree, and on
small packages written under ``tmp_path`` to show that each rule finds what it is for, so it cannot pass by
reading nothing."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from GangaJupyter.testlib import import_graph
from GangaJupyter.testlib.import_graph import ImportGraph, problems

PACKAGE = Path(import_graph.__file__).resolve().parents[1]


def package(tmp_path: Path, files: dict[str, str]) -> Path:
    """A GangaJupyter package folder holding ``files`` (path under the package -> source), and an empty
    ``__init__.py`` in every folder on the way."""
    root = tmp_path / "GangaJupyter"
    for name, source in {"__init__.py": "", "Lib/__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in path.relative_to(root).parents:
            if not (root / folder / "__init__.py").exists() and folder != Path("."):
                (root / folder / "__init__.py").write_text("")
        path.write_text(textwrap.dedent(source))
    return root


def report(root: Path) -> str:
    return "\n".join(problems(ImportGraph(root)))


def test_gangajupyter_keeps_its_import_structure():
    found = problems(ImportGraph(PACKAGE))
    assert not found, "\n".join(found)


def test_the_real_tree_is_read_whole():
    graph = ImportGraph(PACKAGE)
    assert {"Core", "Display", "Server", "Worker"} <= {graph.room(name) for name in graph.modules}
    assert len(graph.modules) > 40
    assert sum(len(m.imports) for m in graph.modules.values()) > 200


def test_a_cycle_through_a_lazy_import_is_found(tmp_path):
    root = package(tmp_path, {
        "Lib/Kernel/activation.py": """
            def load():
                from .magics import register
                register()
        """,
        "Lib/Kernel/magics.py": """
            from .activation import load

            def register():
                pass
        """,
    })
    text = report(root)
    assert "import cycle: Kernel.activation -> Kernel.magics -> Kernel.activation" in text
    assert "GangaJupyter/Lib/Kernel/activation.py:3 imports Kernel.magics (inside a function)" in text


def test_a_cycle_through_a_packages_init_is_found(tmp_path):
    # Importing Display.records runs Display/__init__.py first, which imports Kernel.view: a cycle although no
    # module names the other's module.
    root = package(tmp_path, {
        "Lib/Display/__init__.py": "from ..Kernel.view import show\n",
        "Lib/Display/records.py": "RECORD = 1\n",
        "Lib/Kernel/view.py": "from ..Display.records import RECORD\n\ndef show():\n    return RECORD\n",
    })
    text = report(root)
    assert "import cycle: Display -> Kernel.view -> Display" in text
    assert "imports Display (its __init__, run by importing Display.records)" in text


def test_from_package_import_name_means_the_submodule_when_there_is_one(tmp_path):
    # Display/__init__ imports its submodule render, and render imports its sibling helpers: no cycle. Once
    # render imports a name that Display/__init__ defines, the package and render import each other.
    files = {
        "Lib/Display/__init__.py": "from . import render\n\nPAGE_SIZE = 10\n",
        "Lib/Display/helpers.py": "",
        "Lib/Display/render.py": "from . import helpers\n",
    }
    assert report(package(tmp_path / "clean", files)) == ""
    files["Lib/Display/render.py"] = "from . import helpers, PAGE_SIZE\n"
    assert "import cycle: Display -> Display.render -> Display" in report(package(tmp_path / "cycle", files))


def test_an_import_only_for_type_checking_counts(tmp_path):
    root = package(tmp_path, {
        "Lib/Monitor/events.py": """
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                from ..Widgets.live import View
        """,
        "Lib/Widgets/live.py": "from ..Monitor.events import TYPE_CHECKING\n\nclass View:\n    pass\n",
    })
    assert "GangaJupyter/Lib/Monitor/events.py:4 imports Widgets.live (under TYPE_CHECKING)" in report(root)


def test_core_importing_ganga_or_another_room_is_found(tmp_path):
    root = package(tmp_path, {
        "Lib/Core/statuses.py": """
            import json
            from dataclasses import dataclass
            from . import text

            def colours():
                from GangaCore.Utility.Config import getConfig
                return getConfig("Jupyter")
        """,
        "Lib/Core/text.py": "import ipywidgets\nfrom .. import settings\nfrom GangaJupyter.Lib.Display import render\n",
        "Lib/Display/render.py": "",
        "Lib/settings.py": "",
    })
    text = report(root)
    assert "Core/statuses.py:7 imports GangaCore.Utility.Config (inside a function): Core may import only" in text
    assert "Core/text.py:1 imports ipywidgets: Core may import only" in text
    assert "Core/text.py:2 imports settings: Core may import only" in text
    assert "Core/text.py:3 imports Display.render: Core may import only" in text
    assert "json" not in text and "dataclasses" not in text and "imports Core.text" not in text
    assert len(text.splitlines()) == 4


def test_the_server_loading_ganga_or_a_kernel_room_is_found(tmp_path):
    root = package(tmp_path, {
        "Lib/Backends/__init__.py": "from .registry import adapter_for\n",
        "Lib/Backends/registry.py": "from GangaCore.Utility.logging import getLogger\n\ndef adapter_for(job): ...\n",
        "Lib/Server/handlers.py": """
            import tornado
            from ..Core import statuses
            from ..Backends import adapter_for

            def kill(job_id):
                from ..Session.actions import perform
                import ganga.ganga
        """,
        "Lib/Core/statuses.py": "",
        "Lib/Session/actions.py": "def perform(action, job_id):\n    pass\n",
    })
    text = report(root)
    assert ("Server/handlers.py:4 imports Backends, which loads Ganga when imported "
            "(Backends -> Backends.registry -> GangaCore.Utility.logging)") in text
    assert "Server/handlers.py:7 imports Session.actions (inside a function): the Jupyter server does not" in text
    assert "Server/handlers.py:8 imports ganga.ganga (inside a function): the Jupyter server never runs Ganga" in text
    assert "tornado" not in text and "Core.statuses" not in text


def test_the_worker_importing_gangajupyter_is_found(tmp_path):
    root = package(tmp_path, {
        "Lib/Worker/notebook_runner.py": "import json\nimport nbformat\nfrom ..Core.text import shorten\n",
        "Lib/Core/text.py": "def shorten(text):\n    return text\n",
    })
    assert report(root) == ("GangaJupyter/Lib/Worker/notebook_runner.py:3 imports Core.text: Worker/ imports nothing "
                            "of GangaJupyter (its files are copied to the worker alone)")


def test_backend_names_outside_the_backend_rooms_are_found(tmp_path):
    root = package(tmp_path, {
        "Lib/Display/records.py": '''
            """How a Slurm job's record is shown."""
            # Local jobs have no record
            WATCHED = {"Local": "__jobstatus__"}

            def record(job):
                """Slurm and HTCondor fill it."""
                "HTCondor"
                return f"{job.backend} Slurm" if job.backend._name == "Slurm" else "local"
        ''',
        "Lib/Slurm/adapter.py": 'NAME = "Slurm"\n',
        "Lib/Backends/local.py": 'NAME = "Local"\n',
    })
    assert report(root).splitlines() == [
        f"GangaJupyter/Lib/Display/records.py:{line} names the backend {name!r}: only Backends, Slurm, HTCondor, "
        "GangaPatches name backends; the other rooms ask the adapter registry (Backends.adapter_for)"
        for line, name in ((4, "Local"), (9, "Slurm"))
    ]


def test_imports_that_would_fail_are_found(tmp_path):
    root = package(tmp_path, {
        "Lib/Display/records.py": """
            from ..Slurm import scheduler_record
            from ..Core.protocol import JOURNAL
            from ..Core.text import shorten, tail
            import GangaJupyter.Lib.Gone
            from .... import beyond
        """,
        "Lib/Core/text.py": "def shorten(text):\n    return text\n",
        "Lib/Slurm/__init__.py": "def install():\n    pass\n",
    })
    assert report(root).splitlines() == [
        "GangaJupyter/Lib/Display/records.py:2 imports scheduler_record from Slurm, which neither defines it nor has "
        "such a submodule",
        "GangaJupyter/Lib/Display/records.py:3 imports Core.protocol, which is not a module of the package",
        "GangaJupyter/Lib/Display/records.py:4 imports tail from Core.text, which neither defines it nor has such a "
        "submodule",
        "GangaJupyter/Lib/Display/records.py:5 imports Gone, which is not a module of the package",
        "GangaJupyter/Lib/Display/records.py:6 imports ....beyond, above the top package",
    ]


def test_a_module_that_does_not_parse_is_a_problem(tmp_path):
    root = package(tmp_path, {"Lib/Core/text.py": "def shorten(text:\n"})
    assert "GangaJupyter/Lib/Core/text.py cannot be read" in report(root)


def test_the_room_table_marks_lazy_imports(tmp_path):
    root = package(tmp_path, {
        "Lib/Core/text.py": "",
        "Lib/Display/render.py": """
            import jinja2
            from ..Core import text

            def page():
                from ..Kernel import magics
        """,
        "Lib/Kernel/magics.py": "def magic():\n    import IPython\n",
        "Lib/settings.py": "",
    })
    table = {room.name: room for room in import_graph.rooms(ImportGraph(root))}
    assert list(table) == ["Core", "Display", "Kernel", "GangaJupyter", "Lib", "settings"]
    display = table["Display"]
    assert (display.modules, display.imports, display.outside) == (2, {"Core": True, "Kernel": False}, {"jinja2": True})
    assert table["Kernel"].imported_by == {"Display": False} and table["Kernel"].outside == {"IPython": False}
    rst = "\n".join(import_graph.rst_table(ImportGraph(root)))
    assert "   * - ``Display``\n     - 2\n     - Core, Kernel (lazy)\n     - —\n     - ``jinja2``" in rst


@pytest.mark.parametrize("flag", [None, "--graph", "--rst"])
def test_runs_as_a_plain_file_with_the_standard_library_alone(tmp_path, flag):
    """As ``tox -e imports`` runs it: a file, not a module of the package, with no site-packages (``-S``)."""
    clean = package(tmp_path / "clean", {"Lib/Core/text.py": "import json\n",
                                         "Lib/Display/render.py": "from ..Core import text\n"})
    broken = package(tmp_path / "broken", {"Lib/Core/text.py": "import GangaCore\n"})
    command = [sys.executable, "-I", "-S", str(Path(import_graph.__file__))] + ([flag] if flag else [])
    ok = subprocess.run(command + ["--package", str(clean)], capture_output=True, text=True)
    bad = subprocess.run(command + ["--package", str(broken)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    if flag is None:
        assert bad.returncode == 1 and "Core/text.py:1 imports GangaCore: Core may import only" in bad.stdout
        assert ok.stdout.startswith("import structure: 6 modules in 4 rooms; no import cycle")
    else:
        assert bad.returncode == 0 and "Display" in ok.stdout and "Core" in bad.stdout

"""Sphinx directives that document GangaJupyter from its code, so the reference cannot drift from it.

``.. gpi-classes::`` lists every Ganga plugin class defined by GangaJupyter (docstring, schema, methods);
``.. jupyter-config::`` lists the ``[Jupyter]`` options with their defaults and documentation;
``.. gangajupyter-bad-input::`` tables the bad-input corpus (``ganga/GangaJupyter/test/bad_input``);
``.. gangajupyter-import-graph::`` tables which room of ``Lib/`` imports which (``testlib/import_graph.py``);
``.. gangajupyter-ganga-patches::`` lists GangaJupyter's patches of Ganga (``Lib/GangaPatches``): what each changes,
why, and whether the installed Ganga still needs it.
"""
from __future__ import annotations

import inspect
import pkgutil
import sys
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles


def _import_all_gangajupyter_modules() -> None:
    import GangaJupyter.Lib as lib

    for module in pkgutil.walk_packages(lib.__path__, "GangaJupyter.Lib."):
        __import__(module.name)


def _gpi_classes() -> list[type]:
    from GangaCore.Utility.Plugin import allPlugins

    _import_all_gangajupyter_modules()
    found = []
    for category in sorted(allPlugins.all_dict):
        for cls in allPlugins.all_dict[category].values():
            if cls.__module__.startswith("GangaJupyter") and cls not in found:
                found.append(cls)
    return sorted(found, key=lambda c: (c._category, c._name))


def _cell(text: str) -> str:
    return " ".join(str(text).split()) or " "


class _RstDirective(SphinxDirective):
    def render(self, lines: list[str]) -> list[nodes.Node]:
        section = nodes.section()
        section.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, source="gangajupyter_reference"), section)
        return section.children


class GpiClasses(_RstDirective):
    """Document GangaJupyter's GPI classes from their docstrings and ``_schema``."""

    def run(self):
        classes = _gpi_classes()
        lines: list[str] = []
        if not classes:
            lines += ["GangaJupyter defines no GPI classes in this version.", ""]
        for cls in classes:
            title = f"{cls._name} ({cls._category})"
            lines += [title, "~" * len(title), ""]
            lines += inspect.cleandoc(cls.__doc__ or "").splitlines() + [""]
            lines += [".. list-table::", "   :header-rows: 1", "   :widths: 20 25 55", ""]
            lines += ["   * - attribute", "     - default", "     - meaning"]
            for name, item in cls._schema.allItems():
                if item["hidden"]:
                    continue
                lines += [f"   * - ``{name}``", f"     - ``{_cell(repr(item['defvalue']))}``", f"     - {_cell(item['doc'])}"]
            lines.append("")
            methods = [m for m in getattr(cls, "_exportmethods", []) if not m.startswith("_")]
            for method in methods:
                doc = inspect.getdoc(getattr(cls, method, None)) or ""
                lines += [f"``{method}()``", "    " + (_cell(doc.split("\n\n")[0]) if doc else "(no description)"), ""]
        return self.render(lines)


class JupyterConfig(_RstDirective):
    """Document the ``[Jupyter]`` configuration options."""

    def run(self):
        from GangaJupyter.Lib.settings import OPTIONS

        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 25 15 60", ""]
        lines += ["   * - option", "     - default", "     - meaning"]
        for name, (default, doc) in OPTIONS.items():
            lines += [f"   * - ``{name}``", f"     - ``{default!r}``", f"     - {_cell(doc)}"]
        return self.render(lines + [""])


class GangaOptions(_RstDirective):
    """Document the options GangaJupyter declares in Ganga's own sections."""

    def run(self):
        from GangaJupyter.Lib.GangaPatches.ganga_options import GANGA_OPTIONS

        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 25 15 60", ""]
        lines += ["   * - option", "     - default", "     - meaning"]
        for (section, name), (default, doc) in GANGA_OPTIONS.items():
            lines += [f"   * - ``[{section}] {name}``", f"     - ``{default!r}``", f"     - {_cell(doc)}"]
        return self.render(lines + [""])


class BadInput(SphinxDirective):
    """The bad-input corpus as a table: area, case, input, outcome. Built as nodes, not reStructuredText, since
    the inputs are full of markup characters (``<value>``, ``*``, ``|``)."""

    def run(self):
        tests = Path(__file__).resolve().parents[2] / "ganga" / "GangaJupyter" / "test"
        if str(tests) not in sys.path:
            sys.path.insert(0, str(tests))
        from bad_input import all_cases

        cases = sorted(all_cases(), key=lambda c: (c.area, c.id))
        columns = [("area", 12), ("case", 22), ("input", 33), ("outcome", 33)]
        table = nodes.table(classes=["gangajupyter-bad-input"])
        group = nodes.tgroup(cols=len(columns))
        table += group
        group += [nodes.colspec(colwidth=width) for _name, width in columns]

        def row(cells: list[nodes.Node]) -> nodes.row:
            line = nodes.row()
            for cell in cells:
                entry = nodes.entry()
                entry += nodes.paragraph("", "", cell)
                line += entry
            return line

        group += nodes.thead("", row([nodes.Text(name) for name, _width in columns]))
        body = nodes.tbody()
        for case in cases:
            body += row([nodes.Text(case.area), nodes.literal(text=case.id), nodes.Text(case.input),
                         nodes.Text(case.outcome)])
        group += body
        count = nodes.paragraph(text=f"{len(cases)} cases, each run by test_bad_input_corpus.py.")
        return [count, table]


class ImportGraphTable(_RstDirective):
    """The room-to-room dependency table, read from this checkout's source by the import-structure check."""

    def run(self):
        from GangaJupyter.testlib.import_graph import ImportGraph, rooms, rst_table

        graph = ImportGraph(Path(__file__).resolve().parents[2] / "ganga" / "GangaJupyter")
        for module in graph.modules.values():
            self.env.note_dependency(str(module.path))  # the page is rebuilt when a module changes
        lines = [f"{len(graph.modules)} modules in {len(rooms(graph))} rooms, read from the source when these pages "
                 "were built. *(lazy)*: imported only inside functions or for type checking.", ""]
        return self.render(lines + rst_table(graph))


class GangaPatchList(_RstDirective):
    """Every patch of Ganga, from its ``Patch`` object, checked against the Ganga these pages are built with."""

    def run(self):
        import GangaCore

        from GangaJupyter.Lib.GangaPatches import KERNEL_PATCHES, PATCHES

        version = GangaCore._gangaVersion
        lines = [f"Checked against the installed Ganga ({version}) when these pages were built.", ""]
        for patch in PATCHES + KERNEL_PATCHES:
            changes = ", ".join(f"``{part.strip()}``" for part in patch.changes.split(","))
            needed = "yes" if patch.still_needed() else "no (not installed)"
            lines += [f"``{patch.name}``", f"    Changes {changes}; installed {patch.when}.", ""]
            lines += [f"    {line}" for line in inspect.cleandoc(patch.why).splitlines()]
            lines += ["", f"    Still needed by Ganga {version}: **{needed}**.", ""]
        return self.render(lines)


def setup(app):
    app.add_directive("gpi-classes", GpiClasses)
    app.add_directive("jupyter-config", JupyterConfig)
    app.add_directive("ganga-options", GangaOptions)
    app.add_directive("gangajupyter-bad-input", BadInput)
    app.add_directive("gangajupyter-import-graph", ImportGraphTable)
    app.add_directive("gangajupyter-ganga-patches", GangaPatchList)
    return {"parallel_read_safe": True, "version": "1"}

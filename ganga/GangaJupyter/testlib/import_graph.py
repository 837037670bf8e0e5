"""GangaJupyter's import structure, checked from the source (``ast``, nothing is imported): no import cycle, a
Ganga-neutral ``Core``, and the rules of the rooms (the folders of ``Lib/``), as docs/architecture.rst lists them.

    python ganga/GangaJupyter/testlib/import_graph.py            # the check (tox -e imports); exit 1 on a problem
    python -m GangaJupyter.testlib.import_graph --graph          # the room-to-room dependency table
    python -m GangaJupyter.testlib.import_graph --rst            # the same table in reStructuredText (the docs)

Standard library only, so it runs as a plain file without GangaJupyter's dependencies installed. Every import
counts: at module level, inside functions and under ``if TYPE_CHECKING:``, relative or absolute
(``GangaJupyter.Lib...``). Importing ``P.m`` from outside package ``P`` also runs ``P/__init__.py``, so that is
an import of ``P`` too (a package's ``__init__`` is a module of its own).
"""
from __future__ import annotations

import argparse
import ast
import sys
import sysconfig
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

CORE = "Core"
SERVER = "Server"
WORKER = "Worker"
# Rooms the Jupyter server process must not import: they run in a kernel or a Ganga session, or they load Ganga.
NOT_IN_SERVER = ("Session", "Kernel", "Widgets", "Display", "Monitor", "GangaPatches", "NotebookApp")
GANGA = ("GangaCore", "ganga")  # importing either loads Ganga
BACKEND_NAMES = frozenset({"Local", "Slurm", "HTCondor"})
# Only these rooms know backends by name; every other room asks the adapter registry (Lib/Backends).
BACKEND_ROOMS = ("Backends", "Slurm", "HTCondor", "GangaPatches")
# When an import runs
AT_IMPORT = "at import"
IN_FUNCTION = "inside a function"
TYPE_ONLY = "under TYPE_CHECKING"


def _standard_library() -> frozenset[str]:
    names = getattr(sys, "stdlib_module_names", None)  # Python 3.10+
    if names is not None:
        return frozenset(names)
    stdlib = Path(sysconfig.get_paths()["stdlib"])  # Python 3.9: what the standard library folder holds
    found = {p.stem if p.suffix == ".py" else p.name for p in stdlib.iterdir() if p.suffix == ".py" or p.is_dir()}
    dynload = stdlib / "lib-dynload"
    if dynload.is_dir():
        found |= {p.name.split(".")[0] for p in dynload.iterdir()}
    return frozenset(found | set(sys.builtin_module_names)) - {"site-packages"}


STANDARD_LIBRARY = _standard_library()


@dataclass(frozen=True)
class Import:
    """One import of one name, as its module wrote it."""

    importer: str  # our module that imports
    target: str  # the module imported: ours (dotted, in full) or an outside one
    line: int
    when: str  # AT_IMPORT, IN_FUNCTION or TYPE_ONLY
    ours: bool  # target is a module of the package
    via: str = ""  # for the implicit import of a package's __init__: the submodule whose import runs it

    @property
    def at_import(self) -> bool:
        """Runs when the importer is imported."""
        return self.when == AT_IMPORT

    @property
    def top(self) -> str:
        """The outside package's name (``GangaCore`` for ``GangaCore.Utility.logging``)."""
        return self.target.split(".")[0]


@dataclass
class Module:
    name: str  # dotted, in full: GangaJupyter.Lib.Core.text
    path: Path
    is_package: bool
    imports: list[Import] = field(default_factory=list)
    dangling: list[tuple[int, str]] = field(default_factory=list)  # (line, what): imports of ours that would fail
    backend_names: list[tuple[int, str]] = field(default_factory=list)  # (line, literal)


class ImportGraph:
    """The modules of one GangaJupyter package folder (``__init__.py`` and everything under ``Lib/``) and their
    imports."""

    def __init__(self, package_dir: Path) -> None:
        self.package_dir = Path(package_dir).resolve()
        self.package = self.package_dir.name
        self.lib = f"{self.package}.Lib"
        self.modules: dict[str, Module] = {}
        paths = [self.package_dir / "__init__.py"] + sorted((self.package_dir / "Lib").rglob("*.py"))
        for path in paths:
            if path.is_file() and "__pycache__" not in path.parts:
                module = self._module_at(path)
                self.modules[module.name] = module
        self.unreadable: list[str] = []  # modules that do not parse, with the error
        trees = {name: self._parse(m) for name, m in self.modules.items()}
        self._defined = {name: _defined_names(tree) for name, tree in trees.items()}
        for name, tree in trees.items():
            self._read(self.modules[name], tree)

    def _parse(self, module: Module) -> ast.Module:
        try:
            return ast.parse(module.path.read_text(encoding="utf-8"), str(module.path))
        except (SyntaxError, UnicodeDecodeError) as err:
            self.unreadable.append(f"{self.shown_path(module)} cannot be read: {err}")
            return ast.Module(body=[], type_ignores=[])

    # -- names -------------------------------------------------------------------------------------------------

    def _module_at(self, path: Path) -> Module:
        parts = list(path.relative_to(self.package_dir).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        return Module(".".join([self.package, *parts]), path, is_package)

    def short(self, name: str) -> str:
        """``Core.text`` for ``GangaJupyter.Lib.Core.text``; ``Lib`` and ``GangaJupyter`` for the two top
        packages."""
        if name.startswith(self.lib + "."):
            return name[len(self.lib) + 1:]
        return "Lib" if name == self.lib else name

    def room(self, name: str) -> str:
        """The folder of ``Lib/`` a module is in; a top-level module is a room of its own."""
        return self.short(name).split(".")[0]

    def shown_path(self, module: Module) -> str:
        return module.path.relative_to(self.package_dir.parent).as_posix()

    # -- reading -----------------------------------------------------------------------------------------------

    def _read(self, module: Module, tree: ast.Module) -> None:
        for node, when in _imports(tree):
            for target, missing in self._targets(module, node):
                if missing:
                    module.dangling.append((node.lineno, missing))
                elif target.split(".")[0] != self.package:
                    module.imports.append(Import(module.name, target, node.lineno, when, ours=False))
                else:
                    module.imports.append(Import(module.name, target, node.lineno, when, ours=True))
                    module.imports += [
                        Import(module.name, package, node.lineno, when, ours=True, via=target)
                        for package in self._packages_run_by(module, target)
                    ]
        module.backend_names = [
            (node.lineno, node.value) for node in _string_constants(tree) if node.value in BACKEND_NAMES
        ]

    def _targets(self, module: Module, node: ast.Import | ast.ImportFrom) -> list[tuple[str, str]]:
        """(module imported, "") for each name the statement imports; ("", what is missing) for an import of ours
        that would fail."""
        if isinstance(node, ast.Import):
            return [self._ours_or_outside(alias.name) for alias in node.names]
        if node.level:
            package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
            if node.level > len(package):
                written = node.module or ", ".join(alias.name for alias in node.names)
                return [("", f"{'.' * node.level}{written}, above the top package")]
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        if base.split(".")[0] != self.package:
            return [(base, "")]
        if base not in self.modules:
            return [("", f"{self.short(base)}, which is not a module of the package")]
        found = []
        for alias in node.names:  # from P import x: the submodule P.x when there is one, else a name defined in P
            submodule = f"{base}.{alias.name}"
            if submodule in self.modules:
                found.append((submodule, ""))
            elif self._defined[base] is None or alias.name in self._defined[base] or alias.name == "*":
                found.append((base, ""))
            else:
                found.append(("", f"{alias.name} from {self.short(base)}, which neither defines it nor has such a "
                                  "submodule"))
        return found

    def _ours_or_outside(self, name: str) -> tuple[str, str]:
        if name.split(".")[0] == self.package and name not in self.modules:
            return "", f"{self.short(name)}, which is not a module of the package"
        return name, ""

    def _packages_run_by(self, module: Module, target: str) -> list[str]:
        """The packages whose ``__init__`` importing ``target`` runs, other than those the importer is inside
        (their ``__init__`` runs before the importer itself)."""
        parts = target.split(".")
        inside = module.name if module.is_package else module.name.rsplit(".", 1)[0]
        packages = [".".join(parts[:n]) for n in range(1, len(parts))]
        return [p for p in packages if p in self.modules and not (inside == p or inside.startswith(p + "."))]

    # -- questions ---------------------------------------------------------------------------------------------

    def edges(self) -> dict[str, list[Import]]:
        """Our module -> its imports of our other modules."""
        return {name: [i for i in m.imports if i.ours and i.target != name] for name, m in self.modules.items()}

    def ganga_loading(self) -> dict[str, list[Import]]:
        """The modules whose import loads Ganga, each with the chain of imports run at import that does it."""
        chains: dict[str, list[Import]] = {}
        for name, module in self.modules.items():
            direct = [i for i in module.imports if not i.ours and i.at_import and i.top in GANGA]
            if direct:
                chains[name] = direct[:1]
        importers: dict[str, list[Import]] = {}
        for imports in self.edges().values():
            for i in imports:
                if i.at_import:
                    importers.setdefault(i.target, []).append(i)
        queue = deque(chains)
        while queue:
            loaded = queue.popleft()
            for i in importers.get(loaded, []):
                if i.importer not in chains:
                    chains[i.importer] = [i] + chains[loaded]
                    queue.append(i.importer)
        return chains


def _imports(tree: ast.Module) -> list[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement, with when it runs (AT_IMPORT, IN_FUNCTION, TYPE_ONLY)."""
    found: list[tuple[ast.Import | ast.ImportFrom, str]] = []

    def visit(nodes: list[ast.AST], when: str) -> None:
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.append((node, when))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(list(ast.iter_child_nodes(node)), IN_FUNCTION if when == AT_IMPORT else when)
            elif isinstance(node, ast.If) and _is_type_checking(node.test):
                visit([node.test], when)
                visit(node.body, TYPE_ONLY if when == AT_IMPORT else when)
                visit(node.orelse, when)
            else:
                visit(list(ast.iter_child_nodes(node)), when)

    visit(tree.body, AT_IMPORT)
    return found


def _defined_names(tree: ast.Module) -> set[str] | None:
    """The names a module defines at its top level (None when it may define any: ``__getattr__``, ``import *``).
    Generous: a name stored anywhere outside a function counts, and so does a function's ``global``."""
    names = {name for node in ast.walk(tree) if isinstance(node, ast.Global) for name in node.names}

    def visit(nodes: list[ast.stmt]) -> bool:
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                if any(alias.name == "*" for alias in node.names):
                    return False
                names.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
            else:
                names.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
                blocks = [getattr(node, b, []) for b in ("body", "orelse", "finalbody")]
                blocks += [handler.body for handler in getattr(node, "handlers", [])]
                blocks += [case.body for case in getattr(node, "cases", [])]
                if not all(visit([n for n in block if isinstance(n, ast.stmt)]) for block in blocks):
                    return False
        return True

    if not visit(tree.body) or "__getattr__" in names:
        return None
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _string_constants(tree: ast.Module) -> list[ast.Constant]:
    """The string constants of a module, less docstrings and other bare string statements (they only document)."""
    bare = {
        id(node.value) for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    }
    return [
        node for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in bare
    ]


# -- the check ---------------------------------------------------------------------------------------------------


def cycles(graph: ImportGraph) -> list[list[Import]]:
    """Import cycles between modules, each as its chain of imports. Every import that is part of a cycle is in
    at least one chain (the shortest cycle through it), so a tangle of modules is shown whole but each cycle once."""
    edges = graph.edges()
    found: list[list[Import]] = []
    covered: set[tuple[str, str]] = set()
    for component in _strongly_connected(edges):
        inner = [i for name in sorted(component) for i in edges[name] if i.target in component]
        for first in inner:
            if (first.importer, first.target) in covered:
                continue
            back = _shortest_path(edges, first.target, first.importer, component)
            chain = [first] + back
            covered |= {(i.importer, i.target) for i in chain}
            found.append(chain)
    return found


def _strongly_connected(edges: dict[str, list[Import]]) -> list[set[str]]:
    """Tarjan's components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(name: str) -> None:  # recursive: the graph is a few hundred modules at most
        index[name] = low[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for i in edges[name]:
            if i.target not in index:
                connect(i.target)
                low[name] = min(low[name], low[i.target])
            elif i.target in on_stack:
                low[name] = min(low[name], index[i.target])
        if low[name] == index[name]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == name:
                    break
            if len(component) > 1:
                components.append(component)

    for name in sorted(edges):
        if name not in index:
            connect(name)
    return components


def _shortest_path(edges: dict[str, list[Import]], start: str, end: str, within: set[str]) -> list[Import]:
    if start == end:
        return []
    previous: dict[str, Import] = {}
    queue = deque([start])
    while queue:
        name = queue.popleft()
        for i in edges[name]:
            if i.target in within and i.target not in previous and i.target != start:
                previous[i.target] = i
                if i.target == end:
                    path = [i]
                    while path[0].importer != start:
                        path.insert(0, previous[path[0].importer])
                    return path
                queue.append(i.target)
    raise AssertionError(f"{end} is not reachable from {start} in its own component")


def _described(graph: ImportGraph, i: Import) -> str:
    module = graph.modules[i.importer]
    how = "" if i.at_import else f" ({i.when})"
    what = f"{graph.short(i.target)} (its __init__, run by importing {graph.short(i.via)})" if i.via else (
        graph.short(i.target) if i.ours else i.target)
    return f"{graph.shown_path(module)}:{i.line} imports {what}{how}"


def problems(graph: ImportGraph) -> list[str]:
    """Everything the import structure breaks, in words: one entry per problem, its details indented."""
    found: list[str] = list(graph.unreadable)
    for chain in cycles(graph):
        names = [graph.short(i.importer) for i in chain] + [graph.short(chain[0].importer)]
        found.append("import cycle: " + " -> ".join(names) + "".join(f"\n    {_described(graph, i)}" for i in chain))
    for module in graph.modules.values():
        for line, name in module.dangling:
            found.append(f"{graph.shown_path(module)}:{line} imports {name}")
    found += _core_problems(graph) + _server_problems(graph) + _worker_problems(graph) + _backend_name_problems(graph)
    return found


def _core_problems(graph: ImportGraph) -> list[str]:
    found = []
    for module in graph.modules.values():
        if graph.room(module.name) != CORE:
            continue
        for i in module.imports:
            if i.via:
                continue  # the import of its submodule, beside it, is in the same room
            outside_core = i.ours and graph.room(i.target) != CORE
            if outside_core or (not i.ours and i.top not in STANDARD_LIBRARY):
                found.append(f"{_described(graph, i)}: Core may import only the standard library and Core "
                             "(it is Ganga-neutral: every process uses it, the Jupyter server and the worker too)")
    return found


def _server_problems(graph: ImportGraph) -> list[str]:
    found = []
    loading = graph.ganga_loading()
    for module in graph.modules.values():
        if graph.room(module.name) != SERVER:
            continue
        for i in module.imports:
            if not i.ours:
                if i.top in GANGA:
                    found.append(f"{_described(graph, i)}: the Jupyter server never runs Ganga")
            elif graph.room(i.target) in NOT_IN_SERVER:
                if not i.via:  # else the import of its submodule, beside it, says it
                    found.append(f"{_described(graph, i)}: the Jupyter server does not import "
                                 f"{graph.room(i.target)}/ (it runs in a kernel or a Ganga session)")
            elif i.target in loading:
                chain = " -> ".join([graph.short(i.target)] + [
                    graph.short(step.target) if step.ours else step.target for step in loading[i.target]])
                found.append(f"{_described(graph, i)}, which loads Ganga when imported ({chain}): "
                             "the Jupyter server never runs Ganga")
    return found


def _worker_problems(graph: ImportGraph) -> list[str]:
    return [
        f"{_described(graph, i)}: Worker/ imports nothing of GangaJupyter (its files are copied to the worker alone)"
        for module in graph.modules.values() if graph.room(module.name) == WORKER
        for i in module.imports if i.ours and not i.via
    ]


def _backend_name_problems(graph: ImportGraph) -> list[str]:
    return [
        f"{graph.shown_path(module)}:{line} names the backend {name!r}: only {', '.join(BACKEND_ROOMS)} name "
        "backends; the other rooms ask the adapter registry (Backends.adapter_for)"
        for module in graph.modules.values() if graph.room(module.name) not in BACKEND_ROOMS
        for line, name in module.backend_names
    ]


# -- the room table ----------------------------------------------------------------------------------------------


@dataclass
class Room:
    name: str
    folder: bool  # a folder of Lib/, else a top-level module
    modules: int = 0
    imports: dict[str, bool] = field(default_factory=dict)  # our room -> imported at import time (else lazily)
    imported_by: dict[str, bool] = field(default_factory=dict)
    outside: dict[str, bool] = field(default_factory=dict)  # outside package (not the standard library) -> likewise


def rooms(graph: ImportGraph) -> list[Room]:
    """Each room with the rooms it imports, the rooms that import it and the outside packages it uses."""
    table: dict[str, Room] = {}
    for name in graph.modules:
        room = graph.room(name)
        in_folder = len(graph.modules[name].path.relative_to(graph.package_dir).parts) > 2  # Lib/<room>/...
        table.setdefault(room, Room(room, folder=in_folder)).modules += 1
    for module in graph.modules.values():
        here = table[graph.room(module.name)]
        for i in module.imports:
            if i.ours:
                there = graph.room(i.target)
                if there != here.name:
                    here.imports[there] = here.imports.get(there, False) or i.at_import
                    table[there].imported_by[here.name] = table[there].imported_by.get(here.name, False) or i.at_import
            elif i.top not in STANDARD_LIBRARY:
                here.outside[i.top] = here.outside.get(i.top, False) or i.at_import
    return sorted(table.values(), key=lambda r: (not r.folder, r.name.lower()))


def _listed(names: dict[str, bool], code: str = "") -> str:
    """``Core, Display (lazy)``: lazy when every such import is inside a function."""
    return ", ".join(f"{code}{n}{code}" + ("" if at_import else " (lazy)") for n, at_import in sorted(names.items()))


def text_table(graph: ImportGraph) -> str:
    header = ("room", "modules", "imports", "imported by", "outside packages")
    rows = [header] + [(r.name, str(r.modules), _listed(r.imports), _listed(r.imported_by), _listed(r.outside))
                       for r in rooms(graph)]
    widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def rst_table(graph: ImportGraph) -> list[str]:
    """The room table as a reStructuredText list-table, one line an item (what the docs directive renders)."""
    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 14 8 30 24 24", "",
             "   * - room", "     - modules", "     - imports", "     - imported by", "     - outside packages"]
    for r in rooms(graph):
        lines += [f"   * - ``{r.name}``", f"     - {r.modules}", f"     - {_listed(r.imports) or '—'}",
                  f"     - {_listed(r.imported_by) or '—'}", f"     - {_listed(r.outside, '``') or '—'}"]
    return lines + [""]


# -- the command -------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prog="import_graph")
    parser.add_argument("--package", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the GangaJupyter package folder to read (default: the one holding this file)")
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--graph", action="store_true", help="print the room-to-room dependency table")
    shown.add_argument("--rst", action="store_true", help="print that table in reStructuredText")
    args = parser.parse_args(argv)
    graph = ImportGraph(args.package)
    if args.graph:
        print(text_table(graph))
        return 0
    if args.rst:
        print("\n".join(rst_table(graph)))
        return 0
    found = problems(graph)
    for problem in found:
        print(problem)
    if found:
        print(f"import structure: {len(found)} problem{'s' * (len(found) != 1)} in {len(graph.modules)} modules "
              f"of {graph.package_dir}")
        return 1
    print(f"import structure: {len(graph.modules)} modules in {len(rooms(graph))} rooms; no import cycle, a "
          "Ganga-neutral Core, every room's rules kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())

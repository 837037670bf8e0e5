"""Previews of a job's output files for its card: image thumbnails, a PDF's first page, the first lines of a text
file, the objects of a ROOT file; for a split job, a grid of its subjobs' images.

Files are read as ``Core/job_files.py`` reads them, since a worker node that writes into the gangadir is not
trusted: never through a link out of the job's folder, never a FIFO, at most so many bytes. Images reach the HTML
only as ``<img src="data:...">`` (an SVG in an ``<img>`` runs no script), and every name goes through the
templates' autoescaping. What is left out is said. Answers are cached per version (mtime, size) of each file and
each folder, so a live view's refreshes read nothing again.
"""
from __future__ import annotations

import base64
import importlib.util
import os
import re
import shutil
import stat
import subprocess
import threading
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import BinaryIO, Sequence

from ..Core.job_files import UnreadableFile, open_job_file
from ..Core.statuses import FINISHED
from ..Core.text import shorten, strip_ansi

MAX_IMAGE_BYTES = 1 << 20  # one thumbnail: a plot is far smaller; a bigger file is a photo or a mistake
MAX_CARD_BYTES = 4 << 20  # all thumbnails of one card: the HTML travels to the front end and into the notebook
MAX_PDF_BYTES = 32 << 20  # pdftoppm reads a PDF from a pipe into memory
MAX_STDOUT_LIKE_BYTES = 1 << 20  # a file without an extension is previewed as text below this size only
MAX_FILES = 24  # previews of one job's own files
MAX_GRID = 48  # subjob images in a split job's grid
MAX_SCANNED_SUBJOBS = 1000  # finished subjobs whose folders the grid looks in (each listed once per mtime)
MAX_ROOT_OBJECTS = 40
TEXT_LINES = 10
TEXT_READ = 16 << 10  # enough bytes for the first lines
PDF_TIMEOUT = 10.0  # seconds; a damaged or hostile PDF must not hold up the card
THUMBNAIL_PIXELS = 320  # a PDF's first page is drawn this large (its long side)

_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".svg")
_KINDS = {
    **{ext: "image" for ext in _IMAGE_EXTENSIONS},
    ".pdf": "pdf",
    ".root": "root",
    **{ext: "text" for ext in (".txt", ".log", ".csv", ".json", ".yaml", ".yml", ".out", ".err")},
}
_ORDER = {"image": 0, "pdf": 0, "root": 1, "text": 2}  # thumbnails first: they are what people look for
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_SVG = re.compile(rb"<svg[\s>]", re.IGNORECASE)


@dataclass(frozen=True)
class RootObject:
    """One object of a ROOT file: its path in the file, its class, and its size (entries, bins) when known."""

    name: str
    classname: str
    detail: str = ""


@dataclass(frozen=True)
class Preview:
    """One file's preview. ``kind`` says what is shown: ``image`` (``image`` is a data URI), ``text`` (``lines``),
    ``root`` (``objects``), or ``note`` (nothing but ``note``, which says why)."""

    name: str
    path: str
    href: str  # a link relative to the kernel's working directory; "" when the file is outside it
    size: int
    kind: str
    image: str = ""
    lines: str = ""
    objects: tuple[RootObject, ...] = ()
    note: str = ""  # said under the preview: "first page", what was left out, what to install
    label: str = ""  # the subjob it comes from, in a split job's grid
    refused: bool = False  # not opened (a link out of the job's folder, not a regular file): it gets no link either


@dataclass(frozen=True)
class PreviewSection:
    """What the card's "Output previews" show: the job's own files, and its subjobs' images when it is split."""

    files: list[Preview]
    grid: list[Preview] = field(default_factory=list)
    grid_more: int = 0  # subjobs with an image that the grid leaves out
    notes: list[str] = field(default_factory=list)  # what was left out of the whole section, and why


class _Cache:
    """The most recently used answers, up to ``max_bytes`` in all (thumbnails are big, most answers are not)."""

    def __init__(self, max_bytes: int) -> None:
        self._max = max_bytes
        self._used = 0
        self._items: OrderedDict[tuple, tuple[Preview | None, int]] = OrderedDict()
        self._lock = threading.Lock()  # live views render on timer threads

    def get(self, key: tuple) -> tuple[bool, Preview | None]:
        with self._lock:
            if key not in self._items:
                return False, None
            self._items.move_to_end(key)
            return True, self._items[key][0]

    def put(self, key: tuple, value: Preview | None) -> None:
        weight = 256 + (len(value.image) + len(value.lines) if value else 0)
        with self._lock:
            if key in self._items:
                self._used -= self._items.pop(key)[1]
            self._items[key] = (value, weight)
            self._used += weight
            while self._used > self._max and len(self._items) > 1:
                self._used -= self._items.popitem(last=False)[1][1]


_previews = _Cache(32 << 20)
_first_images: dict[str, tuple[int, str]] = {}  # subjob folder -> (its mtime, its first image or "")
_MAX_FOLDERS_KEPT = 50_000


def job_previews(
    fqid: str, outputdir: str, matches: Sequence[str] = (), subjob_statuses: Sequence[str] = ()
) -> PreviewSection | None:
    """The previews of a job whose output directory is ``outputdir``; ``matches`` are the files its
    ``outputfiles`` matched there, ``subjob_statuses`` the statuses of its subjobs when it is split. None when
    there is nothing to preview."""
    budget = [MAX_CARD_BYTES]
    notes: list[str] = []
    candidates = _candidates(outputdir, matches)
    if len(candidates) > MAX_FILES:
        notes.append(
            f"{len(candidates) - MAX_FILES} more files not previewed (a card previews {MAX_FILES}): "
            "see the output directory"
        )
    files = [_fit(p, budget) for p in (_preview(path, outputdir) for path in candidates[:MAX_FILES]) if p]
    grid, grid_more = [], 0
    if subjob_statuses:
        grid, grid_more, grid_notes = _subjob_grid(fqid, outputdir, subjob_statuses, budget)
        notes += grid_notes
    if not (files or grid or notes):
        return None
    return PreviewSection(files=files, grid=grid, grid_more=grid_more, notes=notes)


def _candidates(folder: str, matches: Sequence[str]) -> list[str]:
    """The files to preview: the folder's own (not Ganga's ``__...__`` bookkeeping), then the
    ``outputfiles`` matches in its subfolders, thumbnails first. Only regular files and links are taken: a FIFO is
    never opened, and a link is followed only if it stays inside the folder (:func:`_preview`)."""
    found: set[str] = set()
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if _kind_by_name(entry.name) and (entry.is_symlink() or entry.is_file(follow_symlinks=False)):
                    found.add(os.path.normpath(entry.path))
    except OSError:
        return []
    for path in map(os.path.normpath, matches):
        if path not in found and _kind_by_name(os.path.basename(path)):
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue
            if stat.S_ISREG(mode) or stat.S_ISLNK(mode):
                found.add(path)
    return sorted(found, key=lambda path: (_ORDER.get(_kind_by_name(os.path.basename(path)), 2), path))


def _kind_by_name(name: str) -> str:
    """What a file's name says it is; ``text?`` for a file without an extension: text if it reads as text; ""
    for the job's ``stdout`` and ``stderr`` (the card shows their last lines), Ganga's and GangaJupyter's
    bookkeeping, hidden files and the rest."""
    if name in ("stdout", "stderr") or name.startswith(("__", ".", "gangajupyter_")):
        return ""
    ext = os.path.splitext(name)[1]
    return _KINDS.get(ext.lower(), "") if ext else "text?"


def _preview(path: str, folder: str) -> Preview | None:
    """One file's preview (None when it has none: a file without an extension that is not text, a dangling
    link), cached per version of the file (a link's target: a stat opens nothing)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    key = (path, folder, info.st_mtime_ns, info.st_size)
    hit, value = _previews.get(key)
    if not hit:
        try:
            own_size = os.lstat(path).st_size  # a link's own: its target's size is not the card's to tell
        except OSError:
            return None
        value = _read_preview(path, folder, own_size)
        _previews.put(key, value)
    if value is None or value.refused:
        return value
    return replace(value, href=_href(path))  # not cached: the kernel may have changed its folder since


def _read_preview(path: str, folder: str, size: int) -> Preview | None:
    name = os.path.basename(path)
    kind = _kind_by_name(name)
    base = Preview(name=name, path=path, href="", size=size, kind="note")
    try:
        fd = open_job_file(path, folder)
    except UnreadableFile as why:
        return replace(base, note=f"{why.reason}: not shown", refused=True)
    except OSError as err:
        return replace(base, note=f"could not be read: {err.strerror or err}", refused=True)
    with os.fdopen(fd, "rb") as handle:
        base = replace(base, size=os.fstat(handle.fileno()).st_size)  # what was opened, whatever it was at the stat
        if kind == "image":
            return _image(handle, base)
        if kind == "pdf":
            return _pdf(handle, base)
        if kind == "root":
            return _root(handle, base)
        return _text(handle, base, sniff=kind == "text?")


def _image(handle: BinaryIO, base: Preview) -> Preview:
    if base.size > MAX_IMAGE_BYTES:
        return replace(base, note=f"larger than the {MAX_IMAGE_BYTES >> 20} MB a thumbnail may be: not shown")
    data = handle.read(MAX_IMAGE_BYTES)
    mime = _image_type(data)
    if not mime:
        return replace(base, note="not an image (its first bytes are not PNG, JPEG, GIF or SVG): not shown")
    return replace(base, kind="image", image=_data_uri(mime, data))


def _image_type(data: bytes) -> str:
    """The image type that ``data`` starts as (by its bytes, whatever the file's name says), or ""."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    head = data[:65536].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<") and _SVG.search(head):
        return "image/svg+xml"  # shown only through <img>, where its scripts do not run
    return ""


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _pdf(handle: BinaryIO, base: Preview) -> Preview:
    if handle.read(5) != b"%PDF-":
        return replace(base, note="not a PDF (it does not start as one): not shown")
    converter = shutil.which("pdftoppm")
    if converter is None:
        return replace(base, note="install poppler-utils (pdftoppm) to see its first page here")
    if base.size > MAX_PDF_BYTES:
        return replace(base, note=f"larger than {MAX_PDF_BYTES >> 20} MB: its first page is not drawn")
    os.lseek(handle.fileno(), 0, os.SEEK_SET)  # the descriptor's own offset: the buffered handle's may differ
    try:
        # The checked descriptor is pdftoppm's stdin: no path for a worker to swap, no copy, no shell.
        done = subprocess.run(
            [converter, "-png", "-singlefile", "-f", "1", "-l", "1", "-scale-to", str(THUMBNAIL_PIXELS), "-"],
            stdin=handle, capture_output=True, timeout=PDF_TIMEOUT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return replace(base, note=f"pdftoppm took more than {PDF_TIMEOUT:.0f} s: its first page is not shown")
    except OSError as err:
        return replace(base, note=f"pdftoppm could not run: {err.strerror or err}")
    png = done.stdout
    if done.returncode != 0 or _image_type(png) != "image/png" or len(png) > MAX_IMAGE_BYTES:
        why = done.stderr.decode("utf-8", errors="replace").strip().splitlines()[-1:] or ["no page drawn"]
        return replace(base, note=f"its first page could not be drawn: {shorten(why[0])}")
    return replace(base, kind="image", image=_data_uri("image/png", png), note="first page")


def _text(handle: BinaryIO, base: Preview, sniff: bool) -> Preview | None:
    if sniff and base.size > MAX_STDOUT_LIKE_BYTES:
        return None
    data = handle.read(TEXT_READ)
    if sniff and b"\0" in data:
        return None  # a binary file without an extension: nothing to preview
    text = strip_ansi(data.decode("utf-8", errors="replace").replace("\0", "\ufffd"))  # NULs stop some parsers
    return replace(base, kind="text", lines="\n".join(shorten(line) for line in text.splitlines()[:TEXT_LINES]))


def _root(handle: BinaryIO, base: Preview) -> Preview:
    if importlib.util.find_spec("uproot") is None:
        return replace(base, note="pip install uproot to list its contents")
    if handle.read(4) != b"root":
        return replace(base, note="not a ROOT file (it does not start as one): not listed")
    handle.seek(0)
    import uproot  # only here: importing it (and numpy, awkward) takes a second

    objects: list[RootObject] = []
    more = 0
    try:
        with uproot.open(handle) as root_file:
            for key, classname in root_file.iterclassnames(recursive=True, cycle=False):
                if classname == "TDirectory":
                    continue  # its objects are listed with their paths
                if len(objects) == MAX_ROOT_OBJECTS:
                    more += 1
                    continue
                objects.append(RootObject(key, classname, _root_detail(root_file, key, classname)))
    except Exception as err:  # a damaged or hostile file: uproot raises anything from its parsers
        why = (str(err).splitlines() or [type(err).__name__])[0]  # its later lines repeat the file's path
        return replace(base, note=f"could not be read by uproot: {shorten(why)}")
    note = f"and {more} more objects" if more else ("no objects" if not objects else "")
    return replace(base, kind="root", objects=tuple(objects), note=note)


def _root_detail(root_file: object, key: str, classname: str) -> str:
    """How big one object is: a tree's entries, a histogram's bins (per axis)."""
    if classname not in ("TTree", "ROOT::RNTuple") and not classname.startswith(("TH1", "TH2", "TH3", "TProfile")):
        return ""
    try:
        obj = root_file[key]  # type: ignore[index]
        if hasattr(obj, "num_entries"):
            return f"{obj.num_entries:,} entries"
        return " \u00d7 ".join(str(len(axis)) for axis in obj.axes) + " bins"
    except Exception:  # the listing still shows its name and class
        return ""


def _fit(preview: Preview, budget: list[int]) -> Preview:
    """The preview, or a note in its place when the card's thumbnails would pass :data:`MAX_CARD_BYTES`."""
    if preview.kind != "image":
        return preview
    if len(preview.image) > budget[0]:
        note = f"not shown: the card's {MAX_CARD_BYTES >> 20} MB for thumbnails is used up"
        return replace(preview, kind="note", image="", note=note)
    budget[0] -= len(preview.image)
    return preview


def _href(path: str) -> str:
    """A link to ``path`` relative to the kernel's working directory, which JupyterLab and Notebook 7 open in
    their file browser; "" when the file is outside that directory's tree (no link can reach it)."""
    try:
        rel = os.path.relpath(os.path.abspath(path), os.getcwd())
    except (OSError, ValueError):  # the working directory was removed
        return ""
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return ""
    return urllib.parse.quote(rel.replace(os.sep, "/"))  # a name with "#", "?" or ":" stays one path


def _subjob_grid(
    fqid: str, outputdir: str, statuses: Sequence[str], budget: list[int]
) -> tuple[list[Preview], int, list[str]]:
    """The first image of each finished subjob, in subjob order: at most :data:`MAX_GRID` of them, looked for in
    the first :data:`MAX_SCANNED_SUBJOBS` finished subjobs. A folder is listed once per mtime; once the grid is
    full, the count of the others comes from their last listing without a stat, so a refresh of a 10,000-subjob
    view stats about :data:`MAX_GRID` folders."""
    if len(_first_images) > _MAX_FOLDERS_KEPT:
        _first_images.clear()  # folders of jobs long gone: rebuilding the cache costs one listing each
    # Ganga keeps a job's files in <top>/<fqid as folders>/output: a subjob's folder is next to its master's
    parent = os.path.dirname(os.path.normpath(outputdir))
    found: list[tuple[int, str]] = []
    scanned = not_scanned = 0
    for index, status in enumerate(statuses):
        if status not in FINISHED:
            continue  # its files are not in its output directory yet
        if scanned == MAX_SCANNED_SUBJOBS:
            not_scanned += 1
            continue
        scanned += 1
        image = _first_image(f"{parent}{os.sep}{index}{os.sep}output", fresh=len(found) < MAX_GRID)
        if image:
            found.append((index, image))
    grid = []
    for index, path in found[:MAX_GRID]:
        preview = _preview(path, os.path.dirname(path))
        if preview is not None:
            grid.append(replace(_fit(preview, budget), label=f"{fqid}.{index}"))
    notes = []
    if not_scanned:
        notes.append(
            f"The grid looks for images in the first {MAX_SCANNED_SUBJOBS:,} finished subjobs: the other "
            f"{not_scanned:,} show theirs in their own views (jobs({fqid}).subjobs(i))"
        )
    return grid, max(0, len(found) - MAX_GRID), notes


def _first_image(folder: str, fresh: bool) -> str:
    """The path of the first image (by name) in a subjob's folder, or "". Listed once per mtime of the folder;
    without ``fresh``, a folder listed before is not even looked at again."""
    cached = _first_images.get(folder)
    if cached and not fresh:
        return cached[1]
    try:
        mtime = os.stat(folder).st_mtime_ns
    except OSError:
        return ""
    if cached and cached[0] == mtime:
        return cached[1]
    names = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if _kind_by_name(entry.name) == "image" and (entry.is_symlink() or entry.is_file(follow_symlinks=False)):
                    names.append(entry.name)
    except OSError:
        return ""
    first = os.path.join(folder, min(names)) if names else ""
    _first_images[folder] = (mtime, first)
    return first

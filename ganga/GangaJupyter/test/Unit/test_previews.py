"""Output previews in the job card: thumbnails from real image bytes, a PDF's first page, first lines of text, a ROOT
file's objects, a split job's grid; and the hostile cases: names that are HTML, links out of the job's folder,
FIFOs, huge files."""
from __future__ import annotations

import os
import shutil
import struct
import threading
import time
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from GangaJupyter.Lib.Display import previews, render
from GangaJupyter.Lib.Display.records import JobRecord, JobRow
from GangaJupyter.testlib.needs import unavailable


def png(width: int = 4, height: int = 3) -> bytes:
    """A real PNG: red pixels, written with zlib and struct."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\0" + b"\xff\0\0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def pdf() -> bytes:
    """A one-page PDF with a filled rectangle, offsets and all."""
    content = b"0 0.5 1 rg 20 20 160 100 re f"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 140] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


class Elements(HTMLParser):
    """Every element and attribute of an HTML text, as a browser's parser sees them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def card(section: previews.PreviewSection | None, fqid: str = "7") -> str:
    row = JobRow(fqid, "completed", "", "", "Executable", "Local", "", [], 0)
    record = JobRecord(
        row=row, times=[], runtime="", exit_code=0, outputdir="/nowhere", workspace_missing=False, files=[],
        stderr_tail="", stderr_source="", failed_subjobs=[], failure_groups=[], application=[], backend=[],
        previews=section,
    )  # fmt: skip
    return render.job_card_html(record)


@pytest.fixture
def outputdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A job's output directory under the kernel's working directory (so previews link to their files)."""
    folder = tmp_path / "gangadir" / "workspace" / "7" / "output"
    folder.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return folder


def section(folder: Path, matches: list[Path] = ()) -> previews.PreviewSection:
    found = previews.job_previews("7", str(folder), [str(m) for m in matches])
    assert found is not None
    return found


def by_name(found: previews.PreviewSection) -> dict[str, previews.Preview]:
    return {p.name: p for p in found.files}


def test_a_png_becomes_a_thumbnail_linked_to_its_file(outputdir: Path) -> None:
    (outputdir / "plot.png").write_bytes(png())
    html = card(section(outputdir))
    images = [a for tag, a in Elements(html).tags if tag == "img"]
    assert len(images) == 1 and images[0]["src"].startswith("data:image/png;base64,")
    links = [a["href"] for tag, a in Elements(html).tags if tag == "a"]
    assert "gangadir/workspace/7/output/plot.png" in links  # relative: JupyterLab opens it in its file browser


def test_the_type_comes_from_the_bytes_not_the_name(outputdir: Path) -> None:
    (outputdir / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0\0\x10JFIF\0" + b"\0" * 64)
    (outputdir / "fake.png").write_bytes(b"#!/bin/sh\necho not an image\n")
    (outputdir / "really_a_png.gif").write_bytes(png())
    found = by_name(section(outputdir))
    assert found["photo.jpg"].image.startswith("data:image/jpeg;base64,")
    assert found["really_a_png.gif"].image.startswith("data:image/png;base64,")
    assert found["fake.png"].kind == "note" and "not an image" in found["fake.png"].note


def test_an_svg_with_a_script_is_shown_only_through_img(outputdir: Path) -> None:
    (outputdir / "evil.svg").write_text(
        '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
        "<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
    )
    html = card(section(outputdir))
    assert "<script" not in html and "<svg" not in html and "onload" not in html
    (src,) = [a["src"] for tag, a in Elements(html).tags if tag == "img"]
    assert src.startswith("data:image/svg+xml;base64,")


def test_hostile_file_names_are_escaped_everywhere(outputdir: Path) -> None:
    image_name = "<img src=x onerror=alert(1)>.png"
    text_name = '"onmouseover=".txt'
    (outputdir / image_name).write_bytes(png())
    (outputdir / text_name).write_text("<b>bold</b> & </pre><script>alert(2)</script>\n")
    (outputdir / "<i onclick=x>big.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * (previews.MAX_IMAGE_BYTES + 1))
    html = card(section(outputdir))
    tags = Elements(html).tags
    assert all(a["src"].startswith("data:image/png;base64,") for tag, a in tags if tag == "img")
    assert len([t for t, _ in tags if t == "img"]) == 1  # the thumbnail; the name made no element
    assert not [t for t, _ in tags if t in ("script", "b", "i")]
    assert not [name for _, a in tags for name in a if name.startswith("on") or name in ("x", '"')]
    assert "&lt;img src=x onerror=alert(1)&gt;.png" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    hrefs = [a["href"] for t, a in tags if t == "a"]
    assert "gangadir/workspace/7/output/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.png" in hrefs


def test_a_link_out_of_the_job_folder_is_not_read(outputdir: Path) -> None:
    (outputdir / "out.txt").symlink_to("/etc/passwd")
    found = by_name(section(outputdir))["out.txt"]
    assert found.kind == "note" and "link to a file outside" in found.note
    assert found.href == "" and found.size == len("/etc/passwd")  # no link to it, nor its target's size
    html = card(section(outputdir))
    assert "root:" not in html and not [a for t, a in Elements(html).tags if t == "a"]


def test_a_fifo_is_never_opened(outputdir: Path) -> None:
    os.mkfifo(outputdir / "pipe.txt")
    os.mkfifo(outputdir / "summary")
    (outputdir / "notes.txt").write_text("ok\n")
    result: list[previews.PreviewSection] = []
    reader = threading.Thread(target=lambda: result.append(section(outputdir, [outputdir / "pipe.txt"])), daemon=True)
    reader.start()
    reader.join(5)
    assert result, "previewing blocked on a FIFO"
    assert set(by_name(result[0])) == {"notes.txt"}


def test_a_huge_image_is_left_out_and_said(outputdir: Path) -> None:
    (outputdir / "huge.png").write_bytes(png() + b"\0" * (previews.MAX_IMAGE_BYTES + 1))
    found = by_name(section(outputdir))
    assert found["huge.png"].image == "" and "larger than the 1 MB" in found["huge.png"].note
    assert "huge.png" in card(section(outputdir))


def test_a_card_stops_at_its_thumbnail_budget(outputdir: Path) -> None:
    almost_one_mb = png() + b"\0" * (previews.MAX_IMAGE_BYTES - 100_000)
    for i in range(5):
        (outputdir / f"plot{i}.png").write_bytes(almost_one_mb)
    found = section(outputdir).files
    shown = [p for p in found if p.kind == "image"]
    assert len(shown) == 3  # 4 of them in base64 would pass the 4 MB
    assert all("used up" in p.note for p in found if p.kind == "note")


def test_text_shows_its_first_lines_and_a_binary_or_the_jobs_own_logs_nothing(outputdir: Path) -> None:
    (outputdir / "results.csv").write_text("".join(f"{i},{i * i}\n" for i in range(100)))
    (outputdir / "summary").write_text("\x1b[32mhello\x1b[0m\n")
    (outputdir / "core").write_bytes(b"\x7fELF\0\0\0")
    for shown_elsewhere in ("stdout", "stderr", "__jobstatus__", "gangajupyter_report.json"):
        (outputdir / shown_elsewhere).write_text("{}\n")
    found = by_name(section(outputdir))
    assert found["results.csv"].lines.splitlines() == [f"{i},{i * i}" for i in range(previews.TEXT_LINES)]
    assert found["summary"].lines == "hello"
    assert set(found) == {"results.csv", "summary"}


def test_outside_the_working_directory_a_file_gets_no_link(outputdir: Path, tmp_path: Path, monkeypatch) -> None:
    (outputdir / "plot.png").write_bytes(png())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    html = card(section(outputdir))
    assert not [a for t, a in Elements(html).tags if t == "a"]
    assert str(outputdir / "plot.png") in html


def test_matches_in_subfolders_are_previewed_but_not_through_a_linked_folder(outputdir: Path, tmp_path: Path) -> None:
    (outputdir / "plots").mkdir()
    (outputdir / "plots" / "a.png").write_bytes(png())
    private = tmp_path / "private"
    private.mkdir()
    (private / "secret.txt").write_text("secret\n")
    (outputdir / "linked").symlink_to(private)
    found = by_name(section(outputdir, [outputdir / "plots" / "a.png", outputdir / "linked" / "secret.txt"]))
    assert found["a.png"].kind == "image"
    assert found["secret.txt"].kind == "note" and found["secret.txt"].lines == ""


def test_a_pdf_shows_its_first_page(outputdir: Path) -> None:
    if shutil.which("pdftoppm") is None:
        unavailable("pdftoppm", "apt-get install poppler-utils")
    (outputdir / "page.pdf").write_bytes(pdf())
    (outputdir / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really\n")
    found = by_name(section(outputdir))
    assert found["page.pdf"].image.startswith("data:image/png;base64,") and found["page.pdf"].note == "first page"
    assert found["broken.pdf"].kind == "note" and "could not be drawn" in found["broken.pdf"].note


def test_without_pdftoppm_a_pdf_says_what_to_install(outputdir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    (outputdir / "no-converter.pdf").write_bytes(pdf())
    found = by_name(section(outputdir))["no-converter.pdf"]
    assert found.kind == "note" and "install poppler-utils" in found.note


def test_a_root_file_lists_its_trees_and_histograms(outputdir: Path) -> None:
    try:
        import numpy as np
        import uproot
    except ImportError:
        unavailable("uproot", "pip install uproot (the root extra)")
    with uproot.recreate(outputdir / "hists.root") as root_file:
        root_file.mktree("events", {"pt": "f8"})
        root_file["events"].extend({"pt": np.arange(1234, dtype="f8")})
        root_file["h_pt"] = np.histogram(np.arange(100.0), bins=25)
        root_file["dir/h2"] = np.histogram2d(np.arange(10.0), np.arange(10.0), bins=(4, 5))
    (outputdir / "fake.root").write_bytes(b"root" + b"\xff" * 100)
    found = by_name(section(outputdir))
    objects = {o.name: (o.classname, o.detail) for o in found["hists.root"].objects}
    assert objects == {
        "events": ("TTree", "1,234 entries"),
        "h_pt": ("TH1D", "25 bins"),
        "dir/h2": ("TH2D", "4 \u00d7 5 bins"),
    }
    assert found["fake.root"].kind == "note" and "could not be read by uproot" in found["fake.root"].note
    html = card(section(outputdir))
    assert "1,234 entries" in html and "TH2D" in html


def split_job(top: Path, n: int, with_images: range) -> Path:
    master = top / "5" / "output"
    master.mkdir(parents=True)
    for i in range(n):
        folder = top / "5" / str(i) / "output"
        folder.mkdir(parents=True)
        (folder / "stdout").write_text("done\n")
        if i in with_images:
            (folder / "plot.png").write_bytes(png(i + 1, 2))
    return master


def test_a_split_job_shows_a_capped_grid_of_its_subjobs_images(tmp_path: Path) -> None:
    master = split_job(tmp_path, 60, range(60))
    statuses = ["completed"] * 58 + ["running", "failed"]
    found = previews.job_previews("5", str(master), [], statuses)
    assert [p.label for p in found.grid] == [f"5.{i}" for i in range(previews.MAX_GRID)]
    assert found.grid_more == 59 - previews.MAX_GRID  # the running subjob's folder is not looked at
    assert not found.files  # subjobs' text is in their own cards
    html = card(found, "5")
    assert "… 11 more" in html and html.count("data:image/png;base64,") == previews.MAX_GRID


def test_the_grid_lists_a_subjob_folder_again_only_when_it_changes(tmp_path: Path) -> None:
    master = split_job(tmp_path, 3, range(1, 2))
    statuses = ["completed"] * 3
    assert [p.label for p in previews.job_previews("5", str(master), [], statuses).grid] == ["5.1"]
    folder = tmp_path / "5" / "0" / "output"
    (folder / "late.png").write_bytes(png())
    os.utime(folder, ns=(time.time_ns(), time.time_ns() + 10**9))  # a new mtime, even on a coarse clock
    assert [p.label for p in previews.job_previews("5", str(master), [], statuses).grid] == ["5.0", "5.1"]


def test_a_big_split_job_looks_in_a_bounded_number_of_folders(tmp_path: Path) -> None:
    master = split_job(tmp_path, 2, range(2))
    statuses = ["completed"] * (previews.MAX_SCANNED_SUBJOBS + 500)
    found = previews.job_previews("5", str(master), [], statuses)
    assert len(found.grid) == 2
    assert any("the other 500 show theirs in their own views" in note for note in found.notes)

"""HTML for Ganga objects, from the jinja2 templates next to this module. Every value is autoescaped."""
from __future__ import annotations

import re
import time
from functools import lru_cache
from typing import Any, Callable

import jinja2

from ..Core.pictures import pictures_html
from ..Core.statuses import status_colour
from . import records

_PLAIN_NAME = re.compile(r"^[A-Za-z_][\w().]*$")


def _filesize(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("GangaJupyter.Lib.Display", "templates"),
        autoescape=True,  # every template renders user- or attacker-controlled text
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
    )
    env.globals["status_colour"] = status_colour
    env.filters["filesize"] = _filesize
    return env


def precompile() -> None:
    """Compile the templates now, so the first display in a notebook does not pay for it."""
    for name in environment().list_templates(extensions=["j2"]):  # the partials too: included at render time
        environment().get_template(name)


def _render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def job_html(job: Any, stderr_lines: int) -> str:
    return job_card_html(records.job_record(job, stderr_lines))


def job_card_html(
    record: records.JobRecord,
    live: dict[str, Any] | None = None,
    subjob_link: Callable[[str], str | None] | None = None,
) -> str:
    """A job's card; ``live`` adds what only a live view knows (rate, ETA, CPU and memory seen). A split job's
    card has the pictures of its subjobs, drawn now; ``subjob_link(fqid)`` makes its slowest subjobs links."""
    pictures = pictures_html(record.runs, time.time(), subjob_link) if record.runs else ""
    return _render("job.html.j2", r=record, live=live or {}, pictures=pictures)


def job_slice_html(slice_impl: Any, page_size: int, page: records.SlicePage | None = None) -> str:
    page = page or records.slice_page(slice_impl, page_size)
    hint_name = page.title if _PLAIN_NAME.match(page.title) else "<slice>"
    n = len(page.rows) or page_size
    hint_range = f"{n}:{2 * n}" if page.is_subjobs else f"-{2 * n}:-{n}"
    return _render("job_slice.html.j2", p=page, hint_name=hint_name, hint_range=hint_range, page_size=page_size)


def table_html(slice_impl: Any, page_size: int) -> str:
    return _render("table.html.j2", t=records.table_record(slice_impl, page_size))


def files_html(files: list[Any]) -> str:
    return _render("files.html.j2", files=[records.file_record(f) for f in files])


def object_html(obj: Any) -> str:
    return _render("object.html.j2", name=obj._name, category=obj._category, rows=records.schema_rows(obj))


def notice_html(message: str, fix: str = "", level: str = "warning") -> str:
    """A short message for the notebook (``level``: info, warning or error)."""
    return _render("notice.html.j2", message=message, fix=fix, level=level)


def messages_html(
    title: str, rows: list[tuple[Any, int]], level: str = "warning", with_context: bool = False, hint: str = ""
) -> str:
    """Ganga's messages, ``(message, count)`` each: grouped warnings of a cell, or a log with times and jobs."""
    return _render("messages.html.j2", title=title, rows=rows, level=level, with_context=with_context, hint=hint)

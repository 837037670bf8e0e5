"""Cell outputs of an executed notebook, made safe for the job view.

Text is escaped by the templates; HTML outputs are cleaned with nh3 against an allow-list (tables and text markup
survive; scripts, styles, event handlers, ``javascript:`` URLs and ``class`` do not: a notebook's output must not
dress itself in JupyterLab's own classes such as ``jp-Dialog``); images, SVG included, become data URIs after
checking they are base64, so an SVG is only ever shown through ``<img>``, where it runs no script.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import nh3

from ..Core.text import strip_ansi

_BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]+$")
ALLOWED_TAGS = {
    "a", "abbr", "b", "br", "caption", "code", "col", "colgroup", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "li", "ol", "p", "pre", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {"*": {"title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}, "a": {"href"}}
URL_SCHEMES = {"http", "https", "mailto"}
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")


@dataclass(frozen=True)
class Output:
    kind: str  # "text", "error", "html" (already cleaned), "image" (a data URI)
    content: str


@dataclass(frozen=True)
class Cell:
    number: int
    source: str
    outputs: list[Output]


def clean_html(html: str) -> str:
    """Notebook output HTML reduced to :data:`ALLOWED_TAGS` and :data:`ALLOWED_ATTRIBUTES`."""
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES)


def _text(value: Any) -> str:
    return "".join(map(str, value)) if isinstance(value, list) else str(value)


def convert_output(out: dict[str, Any]) -> Output | None:
    kind = out.get("output_type")
    if kind == "stream":
        return Output("text", _text(out.get("text", "")))
    if kind == "error":
        traceback = out.get("traceback")
        text = "\n".join(map(str, traceback)) if isinstance(traceback, list) else ""
        return Output("error", strip_ansi(text) or f"{out.get('ename')}: {out.get('evalue')}")
    data = out.get("data")
    if not isinstance(data, dict):  # a worker's file is not trusted to be well-formed
        return None
    for mime in IMAGE_TYPES:
        if mime in data:
            payload = _text(data[mime])
            if mime == "image/svg+xml":
                import base64

                payload = base64.b64encode(payload.encode()).decode()
            if _BASE64.match(payload):
                return Output("image", f"data:{mime};base64,{''.join(payload.split())}")
    if "text/html" in data:
        return Output("html", clean_html(_text(data["text/html"])))
    if "text/plain" in data:
        return Output("text", _text(data["text/plain"]))
    return None


def convert_cells(cells: list[dict[str, Any]], max_chars: int = 200_000) -> tuple[list[Cell], bool]:
    """Safe cells for the template, and whether the outputs were cut at ``max_chars``."""
    result, used = [], 0
    for cell in cells:
        outputs = []
        for out in cell["outputs"]:
            converted = convert_output(out)
            if converted is None:
                continue
            used += len(converted.content)
            if used > max_chars:
                result.append(Cell(cell["number"], cell["source"], outputs))
                return result, True
            outputs.append(converted)
        result.append(Cell(cell["number"], cell["source"], outputs))
    return result, False

"""Pictures of a split job's runs as inline SVG: a timeline, histograms, failure bar charts, and a statistics table.

Static HTML with no script and no network, so saved notebooks, offline exports and the docs show them. Every
text from the input (fqids, node names, error texts) is escaped here and stripped of what XML does not allow, so
the callers may insert the result as it is. Colours: status colours from :mod:`.statuses`, text and rules in
``currentColor`` (the front end's text colour: readable on light and dark themes alike). Sizes are bounded: a
timeline has at most :data:`LANES_MAX` lanes, beyond that a density view of a fixed number of time bins, and
histograms have :data:`BINS` bins, so 10,000 runs draw as many elements as 1,000.
"""
from __future__ import annotations

import html
import math
import re
import time
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from .statuses import ACTIVE, STATUS_ORDER, status_colour
from .text import format_duration, shorten

#: Runs drawn one lane each; beyond this the timeline is a density view.
LANES_MAX = 200
#: Bins of a histogram.
BINS = 30
#: Time bins of the density view.
DENSITY_BINS = 120
#: Bars of a bar chart; the rest are summed into one.
BARS_MAX = 8
#: Runs named in the slowest list.
SLOWEST = 5

_WIDTH = 720  # the timeline's viewBox width: about a card's width in pixels, so its text is about _FONT px
_GUTTER = 64  # left margin, for lane labels and counts
_FONT = 11
_WAITING, _WAITING_OPACITY = status_colour("submitted"), 0.35  # waiting is drawn light, in one colour everywhere
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Run:
    """One subjob (or job) run, as the pictures need it."""

    fqid: str
    status: str
    submitted: float | None = None  # epoch seconds
    started: float | None = None
    finished: float | None = None
    node: str = ""  # host / node / slot where it ran, "" when unknown
    wall: float | None = None  # seconds
    cpu: float | None = None  # seconds
    memory: float | None = None  # peak, MB
    error: str = ""  # its error group ("" unless failed)


@dataclass(frozen=True)
class Summary:
    """Order statistics of one figure over the runs that know it."""

    count: int
    minimum: float
    median: float
    p95: float
    maximum: float


@dataclass(frozen=True)
class RunStatistics:
    wall: Summary | None  # seconds
    cpu: Summary | None  # seconds
    memory: Summary | None  # MB
    cpu_hours: float | None  # the CPU time of all runs that know it
    slowest: tuple[tuple[str, float], ...]  # (fqid, wall seconds), slowest first


def text(value: object, limit: int = 200) -> str:
    """``value`` as escaped text for SVG or HTML: shortened, characters XML refuses replaced, quotes escaped."""
    return html.escape(_XML_INVALID.sub("\ufffd", shorten(str(value), limit)), quote=True)


def wall_time(run: Run) -> float | None:
    """The run's wall time: the backend's figure, else from Ganga's start and end times."""
    if run.wall is not None:
        return run.wall
    if run.started is not None and run.finished is not None and run.finished >= run.started:
        return run.finished - run.started
    return None


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default), on sorted values."""
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _summary(ordered: list[float]) -> Summary | None:
    if not ordered:
        return None
    return Summary(len(ordered), ordered[0], _quantile(ordered, 0.5), _quantile(ordered, 0.95), ordered[-1])


@dataclass(frozen=True)
class _Column:
    """One figure over the runs that know it, sorted once for the statistics and the histogram."""

    ordered: list[float]
    failures: list[float]  # the failed runs' values


@dataclass(frozen=True)
class _Columns:
    wall: _Column
    cpu: _Column
    memory: _Column
    walls: list[tuple[float, str]]  # (wall, fqid), in the runs' order


def _columns(runs: Sequence[Run]) -> _Columns:
    failed = [r for r in runs if r.status == "failed"]
    walls = [(w, r.fqid) for r in runs if (w := wall_time(r)) is not None]
    return _Columns(
        wall=_Column(sorted(w for w, _ in walls), sorted(w for r in failed if (w := wall_time(r)) is not None)),
        cpu=_Column(
            sorted(r.cpu for r in runs if r.cpu is not None), sorted(r.cpu for r in failed if r.cpu is not None)
        ),
        memory=_Column(
            sorted(r.memory for r in runs if r.memory is not None),
            sorted(r.memory for r in failed if r.memory is not None),
        ),
        walls=walls,
    )


def _statistics(columns: _Columns) -> RunStatistics:
    cpus = columns.cpu.ordered
    slowest: list[tuple[float, str]] = []
    if columns.walls:
        threshold = columns.wall.ordered[max(0, len(columns.wall.ordered) - SLOWEST)]
        slowest = sorted((w for w in columns.walls if w[0] >= threshold), key=lambda w: -w[0])[:SLOWEST]
    return RunStatistics(
        wall=_summary(columns.wall.ordered),
        cpu=_summary(cpus),
        memory=_summary(columns.memory.ordered),
        cpu_hours=math.fsum(cpus) / 3600 if cpus else None,
        slowest=tuple((fqid, wall) for wall, fqid in slowest),
    )


def statistics(runs: Sequence[Run]) -> RunStatistics:
    """Min, median, p95 and max of wall time, CPU time and peak memory; total CPU hours; the slowest runs (ties
    in the runs' order)."""
    return _statistics(_columns(runs))


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _figure(value: float, unit: str) -> str:
    """A value in its unit as the pictures label it: durations under a minute in seconds (``0.35 s``: short
    subjobs differ in tenths), longer ones as ``h:mm:ss``."""
    if unit == "s":
        return f"{value:.2g} s" if value < 59.5 else format_duration(value)
    return f"{value:.3g} {unit}" if value < 1000 else f"{value:,.0f} {unit}"


def _svg(width: float, height: float, label: str, body: list[str]) -> str:
    """An SVG as wide as the card up to 1.5 times its own size (text stays readable, a wide cell is not filled
    with one histogram), its text in the front end's text colour."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_number(width)} {_number(height)}" width="100%" '
        f'role="img" aria-label="{text(label)}" font-size="{_FONT}" fill="currentColor" '
        f'style="display:block;max-width:{_number(width * 1.5)}px;overflow:visible">{"".join(body)}</svg>'
    )


def _rect(x: float, y: float, w: float, h: float, colour: str, opacity: float = 1.0) -> str:
    faded = f' fill-opacity="{opacity}"' if opacity < 1 else ""
    return (
        f'<rect x="{_number(x)}" y="{_number(y)}" width="{_number(max(w, 0.5))}" height="{_number(h)}" '
        f'fill="{colour}"{faded}/>'
    )


def _label(x: float, y: float, words: str, anchor: str = "start") -> str:
    return f'<text x="{_number(x)}" y="{_number(y)}" text-anchor="{anchor}">{words}</text>'


def _rule(x1: float, y1: float, x2: float, y2: float, opacity: float = 0.3, dashed: bool = False) -> str:
    dash = ' stroke-dasharray="3 3"' if dashed else ""
    return (
        f'<line x1="{_number(x1)}" y1="{_number(y1)}" x2="{_number(x2)}" y2="{_number(y2)}" stroke="currentColor" '
        f'stroke-opacity="{opacity}"{dash}/>'
    )


_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def _ticks(span: float, target: int = 6) -> list[float]:
    """Round tick positions from 0 to ``span`` seconds, about ``target`` of them."""
    step = next((s for s in _STEPS if span / s <= target), None)
    if step is None:
        step = 86400 * math.ceil(span / target / 86400)
    return [i * step for i in range(int(span // step) + 1)]


def _time_axis(y: float, span: float, x_of: Callable[[float], float]) -> list[str]:
    out = [_rule(_GUTTER, y, _WIDTH, y, 0.5)]
    for tick in _ticks(span):
        x = x_of(tick)
        out.append(_rule(x, y, x, y + 4, 0.5))
        out.append(_label(x, y + 15, "+" + format_duration(tick), "middle" if tick else "start"))
    return out


def _span(run: Run, now: float) -> tuple[float, float, float | None] | None:
    """A run's times on the timeline, ordered: queued from, running from, done at (None: still going); None when
    it has no time at all. A run that never started waited until it ended (or until now)."""
    submitted, started, finished = run.submitted, run.started, run.finished
    queued = submitted if submitted is not None else started if started is not None else finished
    if queued is None:
        return None
    if finished is None and run.status not in ACTIVE:
        finished = started if started is not None else queued  # ended, but its end was not recorded
    start = started if started is not None else now if finished is None else finished
    start = queued if start < queued else start
    return queued, start, None if finished is None else start if finished < start else finished


def _tooltip(run: Run) -> str:
    parts = [f"{run.fqid}: {run.status}"]
    if run.node:
        parts.append(f"on {run.node}")
    wall = wall_time(run)
    if wall is not None:
        parts.append(f"ran {_figure(wall, 's')}")
    if run.submitted is not None and run.started is not None and run.started >= run.submitted:
        parts.append(f"waited {_figure(run.started - run.submitted, 's')}")
    if run.error:
        parts.append(run.error)
    return text(" · ".join(parts), 300)


_Timed = tuple[Run, float, float, "float | None"]  # a run and its _span


def timeline_svg(runs: Sequence[Run], now: float | None = None) -> str:
    """The runs over time from the first submit: one lane each (waiting light, running in its final status's
    colour) up to :data:`LANES_MAX` runs, else the density view; a now-line while any run is active. ``""`` when
    no run has a time."""
    now = time.time() if now is None else now
    timed: list[_Timed] = [(r, *s) for r in runs if (s := _span(r, now)) is not None]
    if not timed:
        return ""
    t0 = min(t[1] for t in timed)
    active = any(t[3] is None for t in timed)
    t1 = max([t[3] for t in timed if t[3] is not None] + ([now] if active else []))  # a clock ahead of ours: later
    span = max(t1 - t0, 1.0)
    scale = (_WIDTH - _GUTTER) / span

    def x_of(seconds: float) -> float:
        return _GUTTER + seconds * scale

    untimed = len(runs) - len(timed)
    note = f" ({untimed:,} not loaded or not started: no times)" if untimed else ""
    if len(timed) > LANES_MAX:
        body, height = _density(timed, t0, span, x_of)
        title = f"{len(timed):,} runs over time{note}"
    else:
        body, height = _lanes(timed, t0, now, scale, x_of)
        title = f"Timeline of {len(timed):,} runs{note}"
    top = 16
    out = [_label(0, 11, text(title)), f'<g transform="translate(0 {top})">', *body]
    if active:
        x = x_of(now - t0)
        out.append(_rule(x, 0, x, height, 0.9, dashed=True))
        out.append(_label(x - 2, -4, "now", "end"))
    out += _time_axis(height, span, x_of)
    out.append("</g>")
    return _svg(_WIDTH, top + height + 20, title, out)


def _lanes(
    timed: list[_Timed], t0: float, now: float, scale: float, x_of: Callable[[float], float]
) -> tuple[list[str], float]:
    timed = sorted(timed, key=lambda t: (t[2], t[1]))
    lane = max(1.2, min(14.0, 240.0 / len(timed)))
    bar = lane * 0.8 if lane >= 4 else lane
    out = []
    for i, (run, queued, start, end) in enumerate(timed):
        y = i * lane
        end = now if end is None else end
        parts = [f"<g><title>{_tooltip(run)}</title>"]
        if start > queued:
            parts.append(_rect(x_of(queued - t0), y, (start - queued) * scale, bar, _WAITING, _WAITING_OPACITY))
        if end > start or run.started is not None:
            parts.append(_rect(x_of(start - t0), y, (end - start) * scale, bar, status_colour(run.status)))
        parts.append("</g>")
        out.append("".join(parts))
        if lane >= 10:
            out.append(_label(_GUTTER - 4, y + bar - 2, text(run.fqid, 12), "end"))
    return out, len(timed) * lane


def _density(timed: list[_Timed], t0: float, span: float, x_of: Callable[[float], float]) -> tuple[list[str], float]:
    """Stacked areas of runs finished (by status), running and waiting, at :data:`DENSITY_BINS` + 1 times:
    counts by bisecting sorted event times, so O(n log n) in the runs and fixed in size."""
    height = 160.0
    queued = sorted(t[1] for t in timed)
    started = sorted(t[2] for t in timed)
    ended: dict[str, list[float]] = {}
    for run, _, _, end in timed:
        if end is not None:
            ended.setdefault(run.status, []).append(end)
    samples = [t0 + span * i / DENSITY_BINS for i in range(DENSITY_BINS + 1)]
    n_started = [bisect_right(started, t) for t in samples]
    n_ended = {
        status: [bisect_right(ends, t) for t in samples] for status, ends in ((k, sorted(v)) for k, v in ended.items())
    }
    total_ended = [sum(column) for column in zip(*n_ended.values())] or [0] * len(samples)
    layers = [(status, n_ended[status], status_colour(status)) for status in _ordered(n_ended)]
    layers.append(("running", [n - e for n, e in zip(n_started, total_ended)], status_colour("running")))
    layers.append(("waiting", [bisect_right(queued, t) - n for t, n in zip(samples, n_started)], _WAITING))
    scale = height / len(timed)
    xs = [x_of(t - t0) for t in samples]
    below = [0] * len(samples)
    out = [
        _rule(_GUTTER, 0, _WIDTH, 0, 0.2),
        _label(_GUTTER - 4, 9, f"{len(timed):,}", "end"),
        _label(_GUTTER - 4, height, "0", "end"),
    ]
    for name, counts, colour in layers:
        top = [b + c for b, c in zip(below, counts)]
        if any(counts):
            upper = " ".join(f"{_number(x)},{_number(height - t * scale)}" for x, t in zip(xs, top))
            lower = " ".join(
                f"{_number(x)},{_number(height - b * scale)}" for x, b in zip(reversed(xs), reversed(below))
            )
            faded = f' fill-opacity="{_WAITING_OPACITY}"' if name == "waiting" else ""
            how_many = f"up to {max(counts):,} at once" if name in ("running", "waiting") else f"{counts[-1]:,}"
            out.append(
                f'<path d="M{upper} L{lower} Z" fill="{colour}"{faded}><title>{text(name)}: {how_many}</title></path>'
            )
        below = top
    return out, height


def _ordered(statuses: Iterable[str]) -> list[str]:
    statuses = set(statuses)
    return [s for s in STATUS_ORDER if s in statuses] + sorted(statuses - set(STATUS_ORDER))


def histogram_svg(values: list[tuple[float, bool]], title: str, unit: str) -> str:
    """A histogram of ``(value, failed)`` in :data:`BINS` bins, failures stacked on top in the failed colour.
    ``unit`` ``"s"`` labels values as durations. ``""`` when there are no values."""
    return _histogram(_Column(sorted(v for v, _ in values), sorted(v for v, failed in values if failed)), title, unit)


def _histogram(column: _Column, title: str, unit: str) -> str:
    ordered, failures = column.ordered, column.failures
    if not ordered:
        return ""
    width, height, top = 240.0, 90.0, 16.0
    low, high = ordered[0], ordered[-1]
    step = (high - low) / BINS or 1.0
    edges = [low + step * i for i in range(1, BINS)] + [math.inf]  # the last bin holds the maximum

    def per_bin(sorted_values: list[float]) -> list[int]:
        ends = [bisect_right(sorted_values, e) for e in edges]
        return [b - a for a, b in zip([0] + ends, ends)]

    failed = per_bin(failures)
    ok = [n - f for n, f in zip(per_bin(ordered), failed)]
    tallest = max(a + b for a, b in zip(ok, failed))
    bar_w, scale = width / BINS, height / tallest
    heading = f"{title} ({len(ordered):,})"
    out = [_label(0, 11, text(heading)), _label(width, 11, f"max {tallest:,} a bin", "end")]
    out.append(f'<g transform="translate(0 {top})">')
    for i in range(BINS):
        if not ok[i] + failed[i]:
            continue
        x = i * bar_w
        lo, hi = low + i * step, low + (i + 1) * step
        tip = f"{_figure(lo, unit)} – {_figure(hi, unit)}: {ok[i] + failed[i]:,}" + (
            f" ({failed[i]:,} failed)" if failed[i] else ""
        )
        bars = [f"<g><title>{text(tip)}</title>"]
        if ok[i]:
            bars.append(_rect(x, height - ok[i] * scale, bar_w - 1, ok[i] * scale, status_colour("completed")))
        if failed[i]:
            y = height - (ok[i] + failed[i]) * scale
            bars.append(_rect(x, y, bar_w - 1, failed[i] * scale, status_colour("failed")))
        bars.append("</g>")
        out.append("".join(bars))
    out.append(_rule(0, height, width, height, 0.5))
    out.append(_label(0, height + 13, text(_figure(low, unit))))
    out.append(_label(width, height + 13, text(_figure(high, unit)), "end"))
    out.append("</g>")
    return _svg(width, top + height + 18, heading, out)


def bar_chart_svg(counts: list[tuple[str, int]], title: str) -> str:
    """Horizontal bars of counts, largest first, at most :data:`BARS_MAX` (the rest summed as "others").
    ``""`` when there are no counts."""
    counts = sorted((c for c in counts if c[1] > 0), key=lambda c: -c[1])
    if not counts:
        return ""
    if len(counts) > BARS_MAX:
        rest = counts[BARS_MAX - 1 :]
        counts = counts[: BARS_MAX - 1] + [(f"{len(rest):,} others", sum(n for _, n in rest))]
    width, label_w, row, top = 340.0, 150.0, 16.0, 16.0
    most = counts[0][1]
    out = [_label(0, 11, text(title))]
    for i, (name, n) in enumerate(counts):
        y = top + i * row
        w = (width - label_w - 40) * n / most
        out.append(
            f"<g><title>{text(name, 300)}: {n:,}</title>"
            f"{_label(label_w - 4, y + 11, text(name, 24), 'end')}"
            f"{_rect(label_w, y + 2, w, row - 4, status_colour('failed'))}"
            f"{_label(label_w + w + 4, y + 11, f'{n:,}')}</g>"
        )
    return _svg(width, top + len(counts) * row, title, out)


def subjob_expression(fqid: str) -> str:
    """How to reach a job in Ganga: ``3.17`` -> ``jobs(3).subjobs[17]``."""
    master, *subs = fqid.split(".")
    return f"jobs({master})" + "".join(f".subjobs[{s}]" for s in subs)


_CELL = 'style="text-align:left;padding:0 1em 0 0'


def _statistics_table(stats: RunStatistics) -> str:
    rows = [("wall time", stats.wall, "s"), ("CPU time", stats.cpu, "s"), ("peak memory", stats.memory, "MB")]
    rows = [r for r in rows if r[1] is not None]
    if not rows:
        return ""
    head = "".join(f'<th {_CELL};font-weight:600">{h}</th>' for h in ("", "runs", "min", "median", "p95", "max"))
    body = []
    for name, s, unit in rows:
        cells = [f"{s.count:,}"] + [_figure(v, unit) for v in (s.minimum, s.median, s.p95, s.maximum)]
        body.append(
            f'<tr><th {_CELL};font-weight:600">{name}</th>' + "".join(f'<td {_CELL}">{c}</td>' for c in cells) + "</tr>"
        )
    total = ""
    if stats.cpu_hours is not None:
        total = f'<div style="font-size:90%">total CPU: {stats.cpu_hours:,.2f} hours</div>'
    return (
        f'<table class="gj-statistics" style="border-collapse:collapse;margin:.3em 0;font-size:90%">'
        f"<tr>{head}</tr>{''.join(body)}</table>{total}"
    )


def _slowest(stats: RunStatistics, subjob_link: Callable[[str], str | None] | None) -> str:
    if not stats.slowest:
        return ""
    items = []
    for fqid, wall in stats.slowest:
        name = text(subjob_expression(fqid))
        href = subjob_link(fqid) if subjob_link else None
        shown = f'<a href="{text(href, 2000)}"><code>{name}</code></a>' if href else f"<code>{name}</code>"
        items.append(f"{shown} ({_figure(wall, 's')})")
    return f'<div class="gj-slowest" style="font-size:90%;margin:.3em 0">Slowest: {", ".join(items)}</div>'


def _legend(statuses: Iterable[str]) -> str:
    swatch = '<span style="display:inline-block;width:.7em;height:.7em;border-radius:2px;background:{}{}"></span>'
    items = [(_WAITING, f";opacity:{_WAITING_OPACITY}", "waiting")]
    items += [(status_colour(s), "", s) for s in _ordered(statuses)]
    return (
        '<div style="font-size:90%">'
        + "".join(
            f'<span style="white-space:nowrap;margin-right:.8em">{swatch.format(c, o)} {text(name)}</span>'
            for c, o, name in items
        )
        + "</div>"
    )


def pictures_html(
    runs: Sequence[Run], now: float | None = None, subjob_link: Callable[[str], str | None] | None = None
) -> str:
    """The pictures section of a split job's card: timeline, histograms of wall time, CPU time and peak memory,
    failures by node and by error group, the statistics table and the slowest runs (``subjob_link(fqid)`` gives
    a link for each, or None: plain text). ``""`` when there is nothing to draw (no times, no figures)."""
    if not runs:
        return ""
    columns = _columns(runs)
    stats = _statistics(columns)
    parts = []
    timeline = timeline_svg(runs, now)
    if timeline:
        parts.append(f'<div class="gj-timeline">{timeline}{_legend(r.status for r in runs)}</div>')
    figures = [
        _histogram(columns.wall, "wall time", "s"),
        _histogram(columns.cpu, "CPU time", "s"),
        _histogram(columns.memory, "peak memory", "MB"),
    ]
    failed = [r for r in runs if r.status == "failed"]
    for attribute, unknown, title in (
        ("node", "unknown node", "failures by node"),
        ("error", "unknown error", "failures by error"),
    ):
        known = [getattr(r, attribute) for r in failed]
        if any(known):  # all unknown (subjobs not loaded) would be one bar that says nothing
            figures.append(bar_chart_svg(list(Counter(k or unknown for k in known).items()), title))
    cells = "".join(f'<div style="flex:1 1 220px;min-width:0">{f}</div>' for f in figures if f)
    if cells:
        parts.append(
            f'<div class="gj-histograms" style="display:flex;flex-wrap:wrap;gap:1em;margin:.5em 0">{cells}</div>'
        )
    parts.append(_statistics_table(stats))
    parts.append(_slowest(stats, subjob_link))
    body = "".join(parts)
    return f'<div class="gj-pictures" style="margin:.5em 0">{body}</div>' if body else ""

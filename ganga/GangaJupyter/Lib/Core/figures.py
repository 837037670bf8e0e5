"""The figures batch systems write as text (``sacct``'s ``Elapsed`` and ``MaxRSS``, a scheduler record's
``wall_time`` and ``max_memory``) read back into numbers, for the pictures of a split job. No Ganga import."""
from __future__ import annotations

import re

_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_DURATION = re.compile(rf"(?:(\d+)-)?(?:(\d+):)?(?:(\d+):)?{_NUMBER}")
_SIZE = re.compile(rf"{_NUMBER}\s*(?:([kmgtp])(?:i?b)?|(b))?", re.IGNORECASE)
#: Megabytes in one unit. Units are binary (Slurm's ``K`` is KiB); a bare number is already MB (HTCondor's).
_MB_PER_UNIT = {"k": 1 / 1024, "m": 1.0, "g": 1024.0, "t": 1024.0**2, "p": 1024.0**3}


def seconds(text: str) -> float | None:
    """Seconds in a duration: ``1-02:03:04`` (days-h:mm:ss; also ``1-02:03`` and ``1-02``), ``02:03:04``,
    ``3:04`` (m:ss), ``01:02.345`` (Slurm's ``TotalCPU``), ``12.5``; None when ``text`` is none of these (``""``,
    ``Unknown``)."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        return None
    days, first, second, last = match.groups()
    parts = [float(p) for p in (first, second) if p is not None] + [float(last)]
    if days is not None:
        parts += [0.0] * (3 - len(parts))  # after a day count come hours first: "1-02:03" is 1 day, 2 h, 3 min
    total = 0.0
    for part in parts:
        total = total * 60 + part
    return total + int(days or 0) * 86400.0


def megabytes(text: str) -> float | None:
    """Megabytes in a size: ``1234K``, ``12M``, ``1.5G``, ``12 MB``, ``12`` (MB); None when it is not one."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        return None
    number, unit, byte = match.groups()
    if unit:
        return float(number) * _MB_PER_UNIT[unit.lower()]
    return float(number) / 1024**2 if byte else float(number)

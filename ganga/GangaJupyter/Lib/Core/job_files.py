"""Reading the files a job leaves (stdout, stderr, possibly gzipped) safely: bounded in size and time, never
through a link out of the job's folder or into a FIFO. Ganga-neutral: a worker node that writes into the gangadir
is not trusted."""
from __future__ import annotations

import functools
import os
import stat
import zlib

from .errors import GangaJupyterError

MAX_GZ_READ = 64 << 20  # a gzip bomb of 10 GB of zeros takes minutes to stream: stop after this much


class UnreadableFile(GangaJupyterError):
    """A job file that is not shown; ``reason`` says why ("a link to a file outside the job's folder")."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(name, reason)  # the arguments, so that it pickles
        self.name, self.reason = name, reason

    def __str__(self) -> str:
        return f"({self.name} is {self.reason}: not shown)"


def open_job_file(path: str, folder: str | None = None) -> int:
    """A descriptor for a regular file inside ``folder`` (by default the folder it is listed in): a worker node
    that writes into the gangadir could otherwise point ``stderr`` at the user's own private files, or at a FIFO
    that blocks."""
    name = os.path.basename(path)
    folder = os.path.realpath(folder if folder is not None else os.path.dirname(path))
    real = os.path.realpath(path)
    if os.path.commonpath([real, folder]) != folder:
        raise UnreadableFile(name, "a link to a file outside the job's folder")
    fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnreadableFile(name, "not a regular file")
    return fd


def last_lines(data: bytes, lines: int) -> str:
    """The last ``lines`` lines of ``data`` as text (bad UTF-8 and NULs shown as U+FFFD)."""
    text = data.decode("utf-8", errors="replace").replace("\0", "\ufffd")  # NULs stop some terminals and parsers
    return "\n".join(text.splitlines()[-lines:])


def tail(path: str, lines: int, max_bytes: int = 65536) -> str:
    """The last ``lines`` lines of a text file, reading at most ``max_bytes`` from its end."""
    try:
        fd = open_job_file(path)
    except UnreadableFile as why:
        return str(why)
    with os.fdopen(fd, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - max_bytes))
        data = handle.read(max_bytes)
    return last_lines(data, lines)


def tail_any(path: str, lines: int, max_bytes: int = 65536) -> str:
    """:func:`tail` of a plain or gzipped file, or a line saying why it is not shown. A gzipped one is streamed,
    at most :data:`MAX_GZ_READ` decompressed bytes of it; the answer is kept per version (mtime, size) of the
    file, so the failed subjobs of a view are not decompressed again on every render."""
    try:
        info = os.stat(path)
    except OSError as err:
        return f"({os.path.basename(path)} could not be read: {err.strerror})"
    try:
        return _cached_tail(path, info.st_mtime_ns, info.st_size, lines, max_bytes)
    except OSError as err:
        return f"({os.path.basename(path)} could not be read: {err.strerror or err})"


@functools.lru_cache(maxsize=256)  # 256 tails of at most 64 KB each
def _cached_tail(path: str, mtime_ns: int, size: int, lines: int, max_bytes: int) -> str:
    if not path.endswith(".gz"):
        return tail(path, lines, max_bytes)
    import gzip

    try:
        fd = open_job_file(path)
    except UnreadableFile as why:
        return str(why)
    name = os.path.basename(path)
    kept, read, note = b"", 0, ""
    with os.fdopen(fd, "rb") as raw, gzip.open(raw, "rb") as handle:
        try:
            while chunk := handle.read(max_bytes):
                kept = (kept + chunk)[-max_bytes:]
                read += len(chunk)
                if read >= MAX_GZ_READ:
                    note = f"({name} larger than {MAX_GZ_READ >> 20} MB: showing what was read)"
                    break
        except (EOFError, OSError, zlib.error):  # cut short or not gzip at all (a worker stopped mid-write)
            note = f"({name} is damaged: showing what could be read)"
    return "\n".join(filter(None, [last_lines(kept, lines), note]))


def read_without_links(root: str, relative: str, limit: int, tail: bool = False) -> bytes | None:
    """The content of regular file ``root/relative``, no part of ``relative`` being a symbolic link; None when it
    cannot be read so, or has more than ``limit`` bytes (with ``tail``: its last ``limit`` bytes instead)."""
    *folders, name = relative.split("/")
    try:
        folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        for part in folders:
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
            os.close(folder)
            folder = inner
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
    except OSError:
        return None
    finally:
        os.close(folder)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        if info.st_size > limit:
            if not tail:
                return None
            handle.seek(info.st_size - limit)
        data = handle.read(limit + 1)
    return data[-limit:] if tail else data if len(data) <= limit else None

"""Streams a layout into a sink as tar entries, storing each distinct content once.

A file whose bytes equal an earlier file's becomes a hard link to it. Contents are only
hashed when two files have the same size, so unique files cost one read or one copy.
Small files are read whole and passed on as bytes; large ones are handed to the sink as
`Content`, which the uncompressed sink copies on another thread.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
from typing import Protocol

from runfiles_layer import tarfmt
from runfiles_layer.inputs import Content, read_chunks, read_whole
from runfiles_layer.layout import Kind, Member

INLINE_MAX = 1 << 16  # files up to this size are read whole (97 % of torch's files)


class Sink(Protocol):
    """Where the tar's bytes go: `plain.PlainSink` or a `compress` sink."""

    def write(self, data: bytes) -> None: ...

    def write_content(self, content: Content) -> None:
        """Appends the file's bytes; a file that changed size since the layout is an error."""

    def close(self) -> None: ...

    def abort(self) -> None:
        """Stops background work after a failure; the output will be discarded."""


@dataclasses.dataclass(slots=True)
class WrittenEntry:
    """One entry as written, for the report and the cross-layer index."""

    path: str
    kind: str  # "dir", "file", "symlink", "hardlink"
    size: int = 0  # content bytes the entry represents
    link: str = ""  # symlink text or hard link target
    fallback: bool = False


def _digest(content: Content, data: bytes | None) -> bytes:
    if data is not None:
        return hashlib.sha256(data).digest()
    h = hashlib.sha256()
    for chunk in read_chunks(content):
        h.update(chunk)
    return h.digest()


class _Deduper:
    """Remembers contents by (size, mode, sha256); only sizes that occur twice are hashed.

    The mode is part of the key because hard links share it.
    """

    def __init__(self, members: list[Member]) -> None:
        counts = collections.Counter(m.size for m in members if m.kind is Kind.FILE and m.size)
        self._shared_sizes = {size for size, n in counts.items() if n > 1}
        self._first: dict[tuple[int, int, bytes], str] = {}

    def earlier_copy(self, member: Member, content: Content, data: bytes | None) -> str | None:
        """The path of an earlier entry with the same bytes, else None (and remembers this one).

        `data` is the content if the caller has read it already.
        """
        if member.size not in self._shared_sizes:
            return None
        key = (member.size, member.mode, _digest(content, data))
        earlier = self._first.get(key)
        if earlier is None:
            self._first[key] = member.path
        return earlier


class TarWriter:
    def __init__(self, sink: Sink, mtime: int, members: list[Member]) -> None:
        self._sink = sink
        self._mtime = mtime
        self._written = 0
        self._dedup = _Deduper(members)

    def _emit(self, data: bytes) -> None:
        self._sink.write(data)
        self._written += len(data)

    def _header(
        self, path: str, typeflag: bytes, mode: int, size: int = 0, link: str = ""
    ) -> bytes:
        return tarfmt.entry_header(path, typeflag, mode, size, self._mtime, link)

    def _write_file(self, m: Member) -> WrittenEntry:
        content = Content(m.src, m.size, m.origin)
        data = read_whole(content) if m.size <= INLINE_MAX else None
        earlier = self._dedup.earlier_copy(m, content, data)
        if earlier is not None:
            self._emit(self._header(m.path, tarfmt.LNKTYPE, m.mode, link=earlier))
            return WrittenEntry(m.path, "hardlink", m.size, earlier, m.fallback)
        header = self._header(m.path, tarfmt.REGTYPE, m.mode, m.size)
        if data is not None:
            self._emit(header + data + tarfmt.padding(m.size))
        else:
            self._emit(header)
            self._sink.write_content(content)
            self._written += m.size
            self._emit(tarfmt.padding(m.size))
        return WrittenEntry(m.path, "file", m.size, fallback=m.fallback)

    def write(self, m: Member) -> WrittenEntry:
        kind = m.kind
        if kind is Kind.FILE:
            return self._write_file(m)
        if kind is Kind.DIR:
            self._emit(self._header(m.path + "/", tarfmt.DIRTYPE, 0o755))
            return WrittenEntry(m.path, "dir")
        if kind is Kind.SYMLINK:
            self._emit(self._header(m.path, tarfmt.SYMTYPE, 0o777, link=m.link))
            return WrittenEntry(m.path, "symlink", link=m.link)
        if kind is Kind.EMPTY:
            self._emit(self._header(m.path, tarfmt.REGTYPE, 0o644))
            return WrittenEntry(m.path, "file")
        size = len(m.data)  # Kind.DATA
        self._emit(self._header(m.path, tarfmt.REGTYPE, 0o755, size))
        self._emit(m.data + tarfmt.padding(size))
        return WrittenEntry(m.path, "file", size)

    def finish(self) -> None:
        self._emit(tarfmt.end_of_archive(self._written))
        self._sink.close()


def write_layer(members: list[Member], sink: Sink, mtime: int) -> list[WrittenEntry]:
    """Writes the members in order, then the end of the archive; closes the sink."""
    writer = TarWriter(sink, mtime, members)
    try:
        written = [writer.write(m) for m in members]
        writer.finish()
    except BaseException:
        sink.abort()
        raise
    return written

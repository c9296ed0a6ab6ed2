"""Streams a layout into a sink as tar entries, storing each distinct content once.

A file whose bytes equal an earlier file's becomes a hard link to it. Contents are only
hashed when two files have the same size, so unique files cost one open and one copy.
Small files are read into the sink's buffer (one pread instead of a write and a sendfile);
the size and mode come from the layout's stat, and a file that changed since is an error.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import os

from runfiles_layer import tarfmt
from runfiles_layer.compress import Sink
from runfiles_layer.errors import LayerError
from runfiles_layer.layout import Kind, Member

_HASH_CHUNK = 1 << 20
_INLINE_MAX = 1 << 16  # 97 % of torch's files; larger ones move by sendfile


@dataclasses.dataclass(slots=True)
class WrittenEntry:
    """One entry as written, for the report and the cross-layer index."""

    path: str
    kind: str  # "dir", "file", "symlink", "hardlink"
    size: int = 0  # content bytes the entry represents
    link: str = ""  # symlink text or hard link target
    fallback: bool = False


def _digest(fd: int, size: int) -> bytes:
    """sha256 of the first `size` bytes of `fd`, leaving its offset at 0."""
    h = hashlib.sha256()
    buf = bytearray(min(size, _HASH_CHUNK))
    view = memoryview(buf)
    offset = 0
    while offset < size:
        n = os.preadv(fd, [view], offset)
        if not n:
            break
        h.update(view[:n])
        offset += n
    return h.digest()


class _Deduper:
    """Remembers contents by (size, mode, sha256); only sizes that occur twice are hashed.

    The mode is part of the key because hard links share it.
    """

    def __init__(self, members: list[Member]) -> None:
        counts = collections.Counter(m.size for m in members if m.kind is Kind.FILE and m.size)
        self._shared_sizes = {size for size, n in counts.items() if n > 1}
        self._first: dict[tuple[int, int, bytes], str] = {}

    def earlier_copy(
        self, path: str, fd: int, size: int, mode: int, data: bytes | None
    ) -> str | None:
        """The path of an earlier entry with the same bytes, else None (and remembers this one).

        `data` is the content when the caller has already read it, else it is read from `fd`.
        """
        if size not in self._shared_sizes:
            return None
        digest = hashlib.sha256(data).digest() if data is not None else _digest(fd, size)
        key = (size, mode, digest)
        earlier = self._first.get(key)
        if earlier is None:
            self._first[key] = path
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

    def _header(self, path: str, typeflag: bytes, mode: int, size: int = 0, link: str = "") -> None:
        self._emit(tarfmt.entry_header(path, typeflag, mode, size, self._mtime, link))

    def _write_file(self, member: Member) -> WrittenEntry:
        try:
            fd = os.open(member.src, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            raise LayerError(f"{member.origin}: cannot read {member.src!r}: {e.strerror}") from e
        try:
            size, mode = member.size, member.mode
            data: bytes | None = None
            if size <= _INLINE_MAX:
                data = os.pread(fd, size + 1, 0)  # one byte more tells a file that grew
                actual = len(data)
            else:
                actual = os.fstat(fd).st_size
            if actual != size:
                raise LayerError(
                    f"{member.origin}: {member.src!r} changed while the layer was written; "
                    "inputs must not change during the build"
                )
            earlier = self._dedup.earlier_copy(member.path, fd, size, mode, data)
            if earlier is not None:
                self._header(member.path, tarfmt.LNKTYPE, mode, link=earlier)
                return WrittenEntry(member.path, "hardlink", size, earlier, member.fallback)
            self._header(member.path, tarfmt.REGTYPE, mode, size)
            if data is not None:
                self._emit(data)
            else:
                self._sink.write_file(fd, size)
                self._written += size
            self._emit(tarfmt.padding(size))
            return WrittenEntry(member.path, "file", size, fallback=member.fallback)
        finally:
            os.close(fd)

    def write(self, member: Member) -> WrittenEntry:
        if member.kind is Kind.DIR:
            self._header(member.path + "/", tarfmt.DIRTYPE, 0o755)
            return WrittenEntry(member.path, "dir")
        if member.kind is Kind.SYMLINK:
            self._header(member.path, tarfmt.SYMTYPE, 0o777, link=member.link)
            return WrittenEntry(member.path, "symlink", link=member.link)
        if member.kind is Kind.EMPTY:
            self._header(member.path, tarfmt.REGTYPE, 0o644)
            return WrittenEntry(member.path, "file")
        if member.kind is Kind.DATA:
            self._header(member.path, tarfmt.REGTYPE, 0o755, len(member.data))
            self._emit(member.data + tarfmt.padding(len(member.data)))
            return WrittenEntry(member.path, "file", len(member.data))
        return self._write_file(member)

    def finish(self) -> None:
        self._emit(tarfmt.end_of_archive(self._written))
        self._sink.close()


def write_layer(members: list[Member], sink: Sink, mtime: int) -> list[WrittenEntry]:
    writer = TarWriter(sink, mtime, members)
    written = [writer.write(m) for m in members]
    writer.finish()
    return written

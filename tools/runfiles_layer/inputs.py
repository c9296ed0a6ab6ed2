"""Looks at action inputs on disk without trusting how they were staged.

In a sandbox (and, for external repositories, in the execroot) an input is an absolute
symlink to `<some root>/<the input's exec path>`. Those indirections are peeled off; the
first link that is not one of them is the input's own link, whose text we keep.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Iterator

from runfiles_layer.errors import LayerError

_MAX_HOPS = 40


@dataclasses.dataclass(slots=True)
class PeeledInput:
    path: str  # the input with sandbox/execroot indirections removed
    link_text: str | None  # the text of its own link, None if it is not a link
    lstat: os.stat_result | None = None  # set when it is not a link


def peel(src: str) -> PeeledInput:
    """Follows only the staging indirections that point at `<root>/<src>`."""
    path = src
    suffix = "/" + src.lstrip("/")
    for _ in range(_MAX_HOPS):
        try:
            st = os.lstat(path)
        except FileNotFoundError as e:
            raise LayerError(
                f"input {src!r} does not exist; is it listed as an input of the action?"
            ) from e
        if not stat.S_ISLNK(st.st_mode):
            return PeeledInput(path, None, st)
        text = os.readlink(path)
        if text.startswith("/") and text.endswith(suffix):
            path = text
            continue
        return PeeledInput(path, text)
    raise LayerError(f"input {src!r}: too many levels of symbolic links")


def stat_content(path: str, what: str, known: os.stat_result | None = None) -> os.stat_result:
    """stat() that follows links and accepts only regular files and directories."""
    try:
        st = known or os.stat(path)
    except FileNotFoundError as e:
        raise LayerError(f"{what}: {path!r} is missing or a dangling symlink") from e
    except OSError as e:
        raise LayerError(f"{what}: cannot stat {path!r}: {e.strerror}") from e
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise LayerError(
            f"{what}: {path!r} is a socket, FIFO or device; only regular files, "
            "directories and symlinks can go into a layer"
        )
    return st


@dataclasses.dataclass(frozen=True)
class TreeItem:
    rel: str  # path below the tree root, '/'-separated
    path: str  # on disk
    is_dir: bool
    size: int
    st_mode: int


def walk_tree(root: str, what: str) -> Iterator[TreeItem]:
    """Every directory and file below `root`, following links to their content."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as e:
        raise LayerError(f"{what}: cannot list directory {root!r}: {e.strerror}") from e
    for entry in entries:
        st = stat_content(entry.path, what)
        is_dir = stat.S_ISDIR(st.st_mode)
        yield TreeItem(entry.name, entry.path, is_dir, st.st_size, st.st_mode)
        if is_dir:
            for item in walk_tree(entry.path, what):
                yield dataclasses.replace(item, rel=f"{entry.name}/{item.rel}")


@dataclasses.dataclass(slots=True)
class Content:
    """The `size` bytes of the file at `src`, as the layout saw them."""

    src: str
    size: int
    origin: str  # what asked for it, for error messages


def _open(content: Content) -> int:
    try:
        return os.open(content.src, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise LayerError(f"{content.origin}: cannot read {content.src!r}: {e.strerror}") from e


def open_content(content: Content) -> int:
    """An fd of the file, checked to still have the size the layout saw."""
    fd = _open(content)
    if os.fstat(fd).st_size != content.size:
        os.close(fd)
        raise changed_error(content)
    return fd


def changed_error(content: Content) -> LayerError:
    return LayerError(
        f"{content.origin}: {content.src!r} changed while the layer was written; "
        "inputs must not change during the build"
    )


def read_whole(content: Content) -> bytes:
    """The content in one read: for small files, where one pread beats a copy loop."""
    fd = _open(content)
    try:
        data = os.pread(fd, content.size + 1, 0)  # one byte more tells a file that grew
    finally:
        os.close(fd)
    if len(data) != content.size:
        raise changed_error(content)
    return data


def read_chunks(content: Content, chunk: int = 1 << 20) -> Iterator[bytes]:
    """The content in pieces of at most `chunk` bytes."""
    fd = open_content(content)
    try:
        offset = 0
        while offset < content.size:
            data = os.pread(fd, min(chunk, content.size - offset), offset)
            if not data:
                raise changed_error(content)
            yield data
            offset += len(data)
    finally:
        os.close(fd)

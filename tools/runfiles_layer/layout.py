"""Turns a manifest into the sorted list of tar members of one layer.

All decisions live here: which entry becomes a link and which stores content, which
paths conflict, and which parent directories the layer needs to extract on an empty root.
"""

from __future__ import annotations

import dataclasses
import enum
import filecmp
import operator
import os
import posixpath
import stat

from runfiles_layer import tarfmt
from runfiles_layer.errors import LayerError
from runfiles_layer.inputs import peel, stat_content, walk_tree
from runfiles_layer.manifest import FileEntry, Manifest, SymlinkEntry, join_rf


class Kind(enum.Enum):
    DIR = "dir"
    FILE = "file"  # content read from `src`
    SYMLINK = "symlink"
    EMPTY = "empty"
    DATA = "data"  # content given inline (the launcher)


@dataclasses.dataclass(slots=True)
class Member:
    path: str  # inside the image, relative, no trailing slash
    kind: Kind
    origin: str  # what asked for it, for error messages
    src: str = ""
    link: str = ""
    data: bytes = b""
    size: int = 0  # FILE: the size and tar mode seen at layout time
    mode: int = 0o644
    fallback: bool = False  # content stored where the manifest asked for a link


def _same(a: Member, b: Member) -> bool:
    if a.kind != b.kind:
        return False
    if a.kind is Kind.FILE:
        return a.src == b.src or filecmp.cmp(a.src, b.src, shallow=False)
    return (a.link, a.data) == (b.link, b.data)


@dataclasses.dataclass(frozen=True)
class _FsLink:
    rf_path: str
    text: str
    content_path: str  # used when the link's target is not in this layer
    origin: str


class _Builder:
    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.prefix = manifest.runfiles_dir + "/"
        self.members: dict[str, Member] = {}  # by runfiles path; Member.path is the image path
        self.fs_links: list[_FsLink] = []

    def member(self, rf_path: str, kind: Kind, origin: str, **fields: object) -> Member:
        return Member(self.prefix + rf_path, kind, origin, **fields)  # type: ignore[arg-type]

    def add(self, rf_path: str, member: Member) -> None:
        existing = self.members.get(rf_path)
        if existing is None:
            self.members[rf_path] = member
        elif not _same(existing, member):
            raise LayerError(
                f"two different entries claim runfiles path {rf_path!r}: "
                f"{existing.origin} and {member.origin}; drop one of them or rename one path"
            )

    def add_content(
        self,
        rf_path: str,
        path: str,
        origin: str,
        fallback: bool = False,
        known: os.stat_result | None = None,
    ) -> None:
        st = stat_content(path, origin, known)
        if not stat.S_ISDIR(st.st_mode):
            mode = tarfmt.file_mode(st.st_mode)
            file = Member(
                self.prefix + rf_path,
                Kind.FILE,
                origin,
                src=path,
                size=st.st_size,
                mode=mode,
                fallback=fallback,
            )
            self.add(rf_path, file)
            return
        self.add(rf_path, self.member(rf_path, Kind.DIR, origin))
        for item in walk_tree(path, origin):
            child = f"{rf_path}/{item.rel}"
            if item.is_dir:
                self.add(child, self.member(child, Kind.DIR, origin))
            else:
                mode = tarfmt.file_mode(item.st_mode)
                file = self.member(
                    child,
                    Kind.FILE,
                    origin,
                    src=item.path,
                    size=item.size,
                    mode=mode,
                    fallback=fallback,
                )
                self.add(child, file)

    def check_declared_link(self, rf_path: str, text: str, origin: str) -> None:
        if self.manifest.allow_symlinks_outside_runfiles:
            return
        if text.startswith("/"):
            raise LayerError(
                f"{origin} at {rf_path!r} has the absolute target {text!r}, which will not "
                "exist in the image; make it relative, or set "
                "allow_symlinks_outside_runfiles = True if the base image provides it"
            )
        target = join_rf(posixpath.dirname(rf_path), text)
        if target == ".." or target.startswith("../"):
            raise LayerError(
                f"{origin} at {rf_path!r} -> {text!r} escapes the runfiles root; point it "
                "at a runfile, or set allow_symlinks_outside_runfiles = True"
            )

    def add_file(self, entry: FileEntry) -> None:
        origin = f"runfiles file {entry.src!r}"
        if entry.is_directory:
            self.add_content(entry.rf_path, peel(entry.src).path, origin)
            return
        peeled = peel(entry.src)
        text = peeled.link_text
        if entry.declared_symlink:
            if text is None:
                raise LayerError(
                    f"{origin} is a declared symlink (File.is_symlink) but is not a "
                    "symlink on disk; was it produced by ctx.actions.symlink?"
                )
            self.check_declared_link(entry.rf_path, text, "declared symlink " + repr(entry.src))
            self.add(entry.rf_path, self.member(entry.rf_path, Kind.SYMLINK, origin, link=text))
            return
        if text is None or text.startswith("/"):
            self.add_content(entry.rf_path, peeled.path, origin, known=peeled.lstat)
            return
        if entry.declared_symlink is None and not entry.is_source:
            # Bazel without File.is_symlink: a relative link among the outputs can only
            # be a declared symlink (ctx.actions.symlink(target_file=) writes absolute ones).
            self.check_declared_link(entry.rf_path, text, "declared symlink " + repr(entry.src))
            self.add(entry.rf_path, self.member(entry.rf_path, Kind.SYMLINK, origin, link=text))
            return
        # A file that is a relative link on disk (the toolchain's bin/python3 -> python3.X).
        self.fs_links.append(_FsLink(entry.rf_path, text, peeled.path, origin))

    def add_symlink(self, entry: SymlinkEntry) -> None:
        origin = f"runfiles symlink to {entry.src!r}"
        if entry.target_in_image:
            text = posixpath.relpath(entry.target_rf_path, posixpath.dirname(entry.rf_path) or ".")
            self.add(entry.rf_path, self.member(entry.rf_path, Kind.SYMLINK, origin, link=text))
        else:
            self.add_content(entry.rf_path, peel(entry.src).path, origin, fallback=True)

    def resolve_fs_links(self) -> None:
        present = set(self.members) | {link.rf_path for link in self.fs_links}
        for link in self.fs_links:
            if join_rf(posixpath.dirname(link.rf_path), link.text) in present:
                member = self.member(link.rf_path, Kind.SYMLINK, link.origin, link=link.text)
                self.add(link.rf_path, member)
            else:
                self.add_content(link.rf_path, link.content_path, link.origin)


def _with_parents(members: list[Member]) -> list[Member]:
    by_path = {m.path: m for m in members}
    for m in members:
        parent = m.path.rpartition("/")[0]
        while parent:
            found = by_path.get(parent)
            if found is None:
                by_path[parent] = Member(parent, Kind.DIR, "parent directory")
            elif found.kind is not Kind.DIR:
                raise LayerError(
                    f"{m.origin} puts {m.path!r} inside {parent!r}, which is a "
                    f"{found.kind.value} ({found.origin}), not a directory"
                )
            else:
                break
            parent = parent.rpartition("/")[0]
    # Sorting str sorts by code point, which is the UTF-8 byte order tar readers see.
    return sorted(by_path.values(), key=operator.attrgetter("path"))


def build_layout(manifest: Manifest) -> list[Member]:
    """The layer's members, parents included, sorted by path."""
    builder = _Builder(manifest)
    for file_entry in manifest.files:
        builder.add_file(file_entry)
    for symlink_entry in manifest.symlinks:
        builder.add_symlink(symlink_entry)
    builder.resolve_fs_links()
    for rf_path in manifest.empty_files:
        # Bazel only creates an empty file where no runfile already is.
        if rf_path not in builder.members:
            builder.members[rf_path] = builder.member(rf_path, Kind.EMPTY, "empty file")

    members = list(builder.members.values())
    if manifest.launcher_path is not None:
        members.append(
            Member(
                manifest.launcher_path,
                Kind.DATA,
                "launcher",
                data=manifest.launcher_content.encode("utf-8"),
            )
        )
    return _with_parents(members)

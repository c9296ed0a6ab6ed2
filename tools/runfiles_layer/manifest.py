"""Reads and checks the JSON manifest that the `tar_runfiles` rule writes for one layer.

The manifest keeps Bazel's own path forms (File.short_path, SymlinkEntry.path, the
empty-file names); this module turns each of them into a runfiles-root-relative path.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
from typing import Any

from runfiles_layer.errors import LayerError

MANIFEST_VERSION = 1


@dataclasses.dataclass(slots=True)
class FileEntry:
    """A File in runfiles.files (or the repo mapping manifest)."""

    src: str  # path to read, relative to the action's working directory
    rf_path: str  # runfiles-root-relative path
    declared_symlink: bool | None  # File.is_symlink; None where Bazel lacks it
    is_directory: bool  # a TreeArtifact
    is_source: bool


@dataclasses.dataclass(slots=True)
class SymlinkEntry:
    """A runfiles.symlinks or runfiles.root_symlinks entry."""

    rf_path: str  # where the link lives
    target_rf_path: str  # the target File's runfiles path
    src: str  # the target File's path, read only when the content must be stored
    target_in_image: bool  # the target is a runfile of some layer of the same image


@dataclasses.dataclass(frozen=True)
class Manifest:
    layer: str
    workspace: str
    runfiles_dir: str  # the runfiles root inside the image, e.g. "entrypoint.runfiles"
    mtime: int
    allow_symlinks_outside_runfiles: bool
    files: list[FileEntry]
    symlinks: list[SymlinkEntry]
    empty_files: list[str]  # runfiles-root-relative
    launcher_path: str | None  # image-relative; None when this layer has no launcher
    launcher_content: str


def check_relative(path: str, what: str) -> str:
    """Returns `path` if it is a clean relative path, else raises naming it."""
    if not path or path.startswith("/"):
        raise LayerError(f"{what} {path!r} must be a non-empty relative path")
    parts = path.split("/")
    if "" in parts or "." in parts or ".." in parts:
        raise LayerError(
            f"{what} {path!r} contains an empty, '.' or '..' component; "
            "runfiles paths must be normalized and stay inside the runfiles root"
        )
    return path


def runfiles_path_of_short_path(short_path: str, workspace: str) -> str:
    """File.short_path -> runfiles path: '../repo/x' -> 'repo/x', 'pkg/x' -> '<ws>/pkg/x'."""
    if short_path.startswith("../"):
        return short_path[3:]
    return f"{workspace}/{short_path}"


def runfiles_path_of_empty_file(name: str, workspace: str) -> str:
    """runfiles.empty_filenames come in three forms: 'pkg/x', '../repo/x', 'external/repo/x'."""
    if name.startswith("../"):
        return name[3:]
    if name.startswith("external/"):
        return name[len("external/") :]
    return f"{workspace}/{name}"


def _require(obj: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in obj:
        raise LayerError(f"manifest {where}: missing key {key!r}")
    value = obj[key]
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise LayerError(f"manifest {where}: {key!r} must be {kind.__name__}, got {value!r}")
    return value


def _file_entry(raw: Any, workspace: str, index: int) -> FileEntry:
    if not isinstance(raw, dict):
        raise LayerError(f"manifest files[{index}]: expected an object, got {raw!r}")
    # _require only where the fast check fails, so that a good entry builds no message.
    short, src, symlink = raw.get("short"), raw.get("src"), raw.get("symlink")
    if not isinstance(short, str):
        short = _require(raw, "short", str, f"files[{index}]")
    if not isinstance(src, str):
        src = _require(raw, "src", str, f"files[{index}]")
    if symlink is not None and type(symlink) is not bool:
        raise LayerError(f"manifest files[{index}]: 'symlink' must be true, false or null")
    rf_path = runfiles_path_of_short_path(short, workspace)
    return FileEntry(
        src=src,
        rf_path=check_relative(rf_path, "runfiles path of " + repr(short)),
        declared_symlink=symlink,
        is_directory=bool(raw.get("dir", False)),
        is_source=bool(raw.get("source", False)),
    )


def _symlink_entry(raw: Any, workspace: str, root_relative: bool, where: str) -> SymlinkEntry:
    if not isinstance(raw, dict):
        raise LayerError(f"manifest {where}: expected an object, got {raw!r}")
    path = _require(raw, "path", str, where)
    if not root_relative:
        # runfiles.symlinks are relative to the main repo's directory; '../x' reaches the root.
        path = path[3:] if path.startswith("../") else f"{workspace}/{path}"
    target = runfiles_path_of_short_path(_require(raw, "short", str, where), workspace)
    return SymlinkEntry(
        rf_path=check_relative(path, "runfiles symlink path"),
        target_rf_path=check_relative(target, f"target of runfiles symlink {path!r}"),
        src=_require(raw, "src", str, where),
        target_in_image=_require(raw, "in_image", bool, where),
    )


def parse_manifest(data: dict[str, Any]) -> Manifest:
    """Checks the manifest's version and shape and resolves every path form."""
    if not isinstance(data, dict):
        raise LayerError("manifest: the top level must be a JSON object")
    version = data.get("version")
    if version != MANIFEST_VERSION:
        raise LayerError(
            f"manifest version {version!r} is not supported (this tool reads version "
            f"{MANIFEST_VERSION}); rebuild with matching rules_pkg_pyvenv rule and tool"
        )
    workspace = check_relative(_require(data, "workspace", str, "header"), "workspace name")
    runfiles_dir = check_relative(_require(data, "runfiles_dir", str, "header"), "runfiles_dir")
    mtime = _require(data, "mtime", int, "header")
    if not 0 <= mtime < 8**11:
        raise LayerError(f"manifest: mtime {mtime} is out of range for a tar header")

    files = [
        _file_entry(raw, workspace, i)
        for i, raw in enumerate(_require(data, "files", list, "header"))
    ]
    repo_mapping = data.get("repo_mapping")
    if repo_mapping is not None:
        files.append(
            FileEntry(
                src=repo_mapping,
                rf_path="_repo_mapping",
                declared_symlink=False,
                is_directory=False,
                is_source=False,
            )
        )
    symlinks = [
        _symlink_entry(raw, workspace, False, f"symlinks[{i}]")
        for i, raw in enumerate(_require(data, "symlinks", list, "header"))
    ] + [
        _symlink_entry(raw, workspace, True, f"root_symlinks[{i}]")
        for i, raw in enumerate(_require(data, "root_symlinks", list, "header"))
    ]
    empty_files = [
        check_relative(runfiles_path_of_empty_file(name, workspace), "empty file")
        for name in _require(data, "empty_files", list, "header")
    ]
    launcher = data.get("launcher")
    launcher_path = None
    launcher_content = ""
    if launcher is not None:
        launcher_path = check_relative(_require(launcher, "path", str, "launcher"), "launcher path")
        launcher_content = _require(launcher, "content", str, "launcher")
    return Manifest(
        layer=_require(data, "layer", str, "header"),
        workspace=workspace,
        runfiles_dir=runfiles_dir,
        mtime=mtime,
        allow_symlinks_outside_runfiles=bool(data.get("allow_symlinks_outside_runfiles", False)),
        files=files,
        symlinks=symlinks,
        empty_files=empty_files,
        launcher_path=launcher_path,
        launcher_content=launcher_content,
    )


def load_manifest(path: str) -> Manifest:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise LayerError(f"cannot read manifest {path!r}: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise LayerError(f"manifest {path!r} is not valid JSON: {e}") from e
    return parse_manifest(data)


def join_rf(dirname: str, link_text: str) -> str:
    """Where a relative link at runfiles dir `dirname` points, normalized ('..' may remain)."""
    return posixpath.normpath(posixpath.join(dirname, link_text))

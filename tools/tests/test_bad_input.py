"""Every kind of bad input fails with a message that names the path, and writes no tar."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest

from conftest import manifest, run_tool
from runfiles_layer.compress import open_sink
from runfiles_layer.errors import LayerError
from runfiles_layer.layout import build_layout
from runfiles_layer.manifest import parse_manifest
from runfiles_layer.plain import PlainSink
from runfiles_layer.writer import write_layer


def _fails(work: Path, data: dict[str, Any], *needles: str, extra: tuple[str, ...] = ()) -> None:
    proc = run_tool(work, data, extra=extra, check=False)
    assert proc.returncode == 1, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr
    assert not (work / "out.tar").exists()
    assert not [p for p in os.listdir(work) if p.startswith(".out.tar")]


def test_missing_input(work: Path) -> None:
    _fails(
        work,
        manifest(files=[{"src": "nope/a.txt", "short": "a.txt"}]),
        "'nope/a.txt'",
        "does not exist",
    )


def test_unreadable_input(work: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads everything")
    (work / "a.txt").write_text("x")
    (work / "a.txt").chmod(0)
    _fails(work, manifest(files=[{"src": "a.txt", "short": "a.txt"}]), "'a.txt'")


def test_two_contents_at_one_path(work: Path) -> None:
    (work / "a").write_text("one")
    (work / "b").write_text("two")
    data = manifest(
        files=[{"src": "a", "short": "x/f"}],
        root_symlinks=[{"path": "_main/x/f", "short": "b", "src": "b", "in_image": False}],
    )
    _fails(work, data, "'_main/x/f'", "two different entries")


def test_a_file_and_a_link_at_one_path(work: Path) -> None:
    (work / "a").write_text("one")
    data = manifest(
        files=[{"src": "a", "short": "x/f"}],
        symlinks=[{"path": "x/f", "short": "a", "src": "a", "in_image": True}],
    )
    _fails(work, data, "'_main/x/f'")


def test_an_entry_inside_a_link(work: Path) -> None:
    (work / "a").write_text("one")
    os.symlink("../elsewhere", work / "lnk")
    data = manifest(
        files=[
            {"src": "lnk", "short": "x/lnk", "symlink": True},
            {"src": "a", "short": "x/lnk/f"},
        ]
    )
    _fails(work, data, "'entrypoint.runfiles/_main/x/lnk/f'", "not a directory")


@pytest.mark.parametrize("short", ["/abs/path", "a/../../escape", "a//b", "./a", "../repo/../../x"])
def test_bad_runfiles_paths(work: Path, short: str) -> None:
    (work / "a").write_text("x")
    _fails(work, manifest(files=[{"src": "a", "short": short}]), repr(short)[1:-1].split("/")[0])


def test_empty_file_escaping_the_root(work: Path) -> None:
    _fails(work, manifest(empty_files=["../x/../../up"]), "'x/../../up'")


def test_declared_symlink_with_absolute_target(work: Path) -> None:
    os.symlink("/usr/bin/python3", work / "py")
    data = manifest(files=[{"src": "py", "short": "venv/bin/python3", "symlink": True}])
    _fails(
        work,
        data,
        "'/usr/bin/python3'",
        "'_main/venv/bin/python3'",
        "allow_symlinks_outside_runfiles",
    )
    data["allow_symlinks_outside_runfiles"] = True
    assert run_tool(work, data).returncode == 0


def test_declared_symlink_escaping_the_runfiles_root(work: Path) -> None:
    os.symlink("../../../etc/passwd", work / "lnk")
    data = manifest(files=[{"src": "lnk", "short": "a/lnk", "symlink": True}])
    _fails(work, data, "'_main/a/lnk'", "escapes the runfiles root")


def test_declared_symlink_that_is_not_a_link(work: Path) -> None:
    (work / "f").write_text("x")
    _fails(
        work, manifest(files=[{"src": "f", "short": "f", "symlink": True}]), "'f'", "not a symlink"
    )


def test_dangling_filesystem_link(work: Path) -> None:
    os.symlink("/nonexistent/target", work / "dangling")
    _fails(work, manifest(files=[{"src": "dangling", "short": "d", "source": True}]), "'dangling'")


def test_fifo(work: Path) -> None:
    os.mkfifo(work / "fifo")
    _fails(work, manifest(files=[{"src": "fifo", "short": "fifo"}]), "'fifo'", "FIFO")


def test_socket(work: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(work / "sock"))
    try:
        _fails(work, manifest(files=[{"src": "sock", "short": "sock"}]), "'sock'", "socket")
    finally:
        sock.close()


def test_fifo_inside_a_tree_artifact(work: Path) -> None:
    (work / "tree").mkdir()
    os.mkfifo(work / "tree" / "fifo")
    _fails(work, manifest(files=[{"src": "tree", "short": "tree", "dir": True}]), "tree/fifo")


@pytest.mark.parametrize(
    "data,needle",
    [
        ({"version": 2}, "version 2"),
        ([1, 2], "JSON object"),
        (manifest(files="nope"), "'files' must be list"),
        (manifest(files=[{"src": "a"}]), "missing key 'short'"),
        (manifest(mtime="now"), "'mtime' must be int"),
        (manifest(mtime=-1), "out of range"),
        (
            manifest(root_symlinks=[{"path": "a", "short": "b", "src": "b", "in_image": 1}]),
            "'in_image'",
        ),
    ],
)
def test_malformed_manifest(work: Path, data: Any, needle: str) -> None:
    _fails(work, data, needle)


def test_manifest_that_is_not_json(work: Path) -> None:
    proc = run_tool(work, "{not json", check=False)
    assert proc.returncode == 1
    assert "'manifest.json' is not valid JSON" in proc.stderr


@pytest.mark.parametrize("size", [10, 100_000], ids=["small", "large"])
@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_input_that_changes_while_written(work: Path, size: int, compression: str) -> None:
    """The header's size comes from the layout's stat; a file that grew since is an error."""
    (work / "a.bin").write_bytes(b"x" * size)
    (work / "b.bin").write_bytes(b"x" * size)  # the same size: hashed while planning
    files = [{"src": "a.bin", "short": "a.bin"}, {"src": "b.bin", "short": "b.bin"}]
    members = build_layout(parse_manifest(manifest(files=files)))
    (work / "b.bin").write_bytes(b"x" * (size + 1))
    with open(work / "out.tar", "wb") as out, pytest.raises(LayerError, match="'b.bin' changed"):
        fd = out.fileno()
        sink = PlainSink(fd) if compression == "none" else open_sink(fd, compression, None, 1)
        write_layer(members, sink, 0)

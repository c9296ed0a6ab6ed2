"""Same manifest and input bytes -> same output bytes; compressed layers decompress with the stock tools."""

from __future__ import annotations

import errno
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import extract, manifest, run_tool, snapshot
from runfiles_layer.layout import build_layout
from runfiles_layer.manifest import parse_manifest
from runfiles_layer.plain import PlainSink
from runfiles_layer.writer import write_layer

FORMATS = [("none", "out.tar"), ("gzip", "out.tar.gz"), ("zstd", "out.tar.zst")]


def _tree(root: Path) -> list[dict[str, object]]:
    rng = random.Random(7)
    files = []
    for i in range(40):
        path = root / f"pkg{i % 4}" / f"f{i}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        # Enough incompressible bytes to span several gzip blocks and zstd jobs.
        size = rng.choice([0, 10, 4096, 300_000])
        path.write_bytes(rng.randbytes(size) if i % 5 else b"dup" * 1000)
        if i % 3 == 0:
            path.chmod(0o755)
        files.append({"src": str(path.relative_to(root.parent)), "short": f"pkg{i % 4}/f{i}.bin"})
    return files


@pytest.mark.parametrize("compression,output", FORMATS)
def test_identical_bytes_across_umask_tz_threads_and_hardlinked_inputs(
    tmp_path: Path, compression: str, output: str
) -> None:
    first = tmp_path / "first"
    first.mkdir()
    files = _tree(first / "in")
    run_tool(first, manifest(files=files), output, ("--compression", compression, "--threads", "1"))

    # Second run: another directory whose inputs are hard links of the first's, other
    # umask, time zone, locale and thread count.
    second = tmp_path / "second"
    second.mkdir()
    for entry in files:
        src = first / str(entry["src"])
        dst = second / str(entry["src"])
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.link(src, dst)
    old = os.umask(0o077)
    try:
        run_tool(
            second,
            manifest(files=files),
            output,
            ("--compression", compression, "--threads", "4"),
            env={"TZ": "Asia/Kolkata", "LC_ALL": "C.UTF-8"},
        )
    finally:
        os.umask(old)
    assert (first / output).read_bytes() == (second / output).read_bytes()


@pytest.mark.parametrize("compression,output", FORMATS)
def test_layers_extract_with_system_tar(tmp_path: Path, compression: str, output: str) -> None:
    files = _tree(tmp_path / "in")
    run_tool(tmp_path, manifest(files=files), output, ("--compression", compression))
    tree = snapshot(extract(tmp_path / output, tmp_path / "x"))
    for entry in files:
        data, mode = tree[f"entrypoint.runfiles/_main/{entry['short']}"][1]
        src = tmp_path / str(entry["src"])
        assert data == src.read_bytes()
        assert mode == (0o755 if os.access(src, os.X_OK) else 0o644)


def test_gzip_is_plain_gzip_and_close_to_gzip_6_in_size(tmp_path: Path) -> None:
    text = tmp_path / "in" / "words.txt"
    text.parent.mkdir()
    rng = random.Random(3)
    words = ["torch", "nvidia", "layer", "runfiles", "symlink", "venv", "python", "bazel"]
    text.write_text(" ".join(rng.choice(words) for _ in range(400_000)))
    run_tool(
        tmp_path,
        manifest(files=[{"src": "in/words.txt", "short": "w.txt"}]),
        "o.tar.gz",
        ("--compression", "gzip"),
    )
    plain = subprocess.run(
        ["gzip", "-dc", str(tmp_path / "o.tar.gz")], capture_output=True, check=True
    ).stdout
    subprocess.run(["gzip", "-t", str(tmp_path / "o.tar.gz")], check=True)
    reference = subprocess.run(
        ["gzip", "-6nc"], input=plain, capture_output=True, check=True
    ).stdout
    assert abs(os.path.getsize(tmp_path / "o.tar.gz") / len(reference) - 1) < 0.01
    header = (tmp_path / "o.tar.gz").read_bytes()[:10]
    assert header[4:8] == b"\0\0\0\0"  # no timestamp
    assert header[3] == 0  # no file name


@pytest.mark.skipif(shutil.which("zstd") is None, reason="zstd CLI not installed")
def test_zstd_decompresses_with_the_zstd_cli(tmp_path: Path) -> None:
    files = _tree(tmp_path / "in")
    run_tool(
        tmp_path, manifest(files=files), "o.tar.zst", ("--compression", "zstd", "--level", "5")
    )
    subprocess.run(["zstd", "-tq", str(tmp_path / "o.tar.zst")], check=True)


def _plain_tar(root: Path, files: list[dict[str, object]]) -> bytes:
    """The uncompressed layer, written in-process so the test can steer the copier."""
    members = build_layout(parse_manifest(manifest(files=files)))
    with open(root / "out.tar", "wb") as out:
        write_layer(members, PlainSink(out.fileno()), 946684800)
    return (root / "out.tar").read_bytes()


def test_parallel_copies_give_the_sequential_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The uncompressed tar, whose large files land from another thread, equals the
    decompressed gzip layer, written strictly in order; also where fallocate is missing."""
    files = _tree(tmp_path / "in")
    run_tool(tmp_path, manifest(files=files), "out.tar.gz", ("--compression", "gzip"))
    sequential = subprocess.run(
        ["gzip", "-dc", str(tmp_path / "out.tar.gz")], capture_output=True, check=True
    ).stdout
    monkeypatch.chdir(tmp_path)
    assert _plain_tar(tmp_path, files) == sequential

    def no_fallocate(*args: object) -> None:
        raise OSError(errno.EOPNOTSUPP, "not supported")

    monkeypatch.setattr(os, "posix_fallocate", no_fallocate)
    assert _plain_tar(tmp_path, files) == sequential

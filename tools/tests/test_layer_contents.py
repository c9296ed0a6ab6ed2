"""A layer extracted with the system tar reproduces the runfiles tree the manifest describes."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

from conftest import extract, manifest, run_tool, snapshot

RF = "entrypoint.runfiles"


def _write(path: Path, data: bytes, mode: int = 0o644) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)
    return str(path.relative_to(Path.cwd()))


def test_files_links_empty_files_trees_and_launcher(work: Path) -> None:
    app = _write(work / "src/app/main.py", b"print('hi')\n")
    tool = _write(work / "src/app/tool.sh", b"#!/bin/sh\n", 0o755)
    lib = _write(work / "ext/pip_torch/site-packages/torch/lib/libtorch_cpu.so", b"\x7fELF lib")
    ext = _write(work / "ext/pip_torch/site-packages/torch/_C.so", b"\x7fELF ext")
    # A declared symlink: relative text valid only inside the runfiles tree.
    os.makedirs(work / "bazel-out/bin/app/_app.venv/lib/site-packages/torch")
    os.symlink(
        "../../../../../../pip_torch/site-packages/torch/nn",
        work / "bazel-out/bin/app/_app.venv/lib/site-packages/torch/nn",
    )
    _write(work / "ext/pip_torch/site-packages/torch/nn/__init__.py", b"# nn\n")
    nn_init = "ext/pip_torch/site-packages/torch/nn/__init__.py"
    # A TreeArtifact.
    _write(work / "bazel-out/bin/app/tree/a.txt", b"a")
    _write(work / "bazel-out/bin/app/tree/sub/b.txt", b"b", 0o755)
    # The toolchain's filesystem link: bin/python3 -> python3.11 (both runfiles).
    _write(work / "ext/python/bin/python3.11", b"\x7fELF python", 0o755)
    os.symlink("python3.11", work / "ext/python/bin/python3")
    long_dir = "d" * 60 + "/" + "e" * 60 + "/" + "f" * 60
    long_file = _write(work / "src" / long_dir / ("g" * 90 + ".txt"), b"long")
    data = manifest(
        files=[
            {"src": app, "short": "app/main.py"},
            {"src": tool, "short": "app/tool.sh"},
            {"src": lib, "short": "../pip_torch/site-packages/torch/lib/libtorch_cpu.so"},
            {"src": ext, "short": "../pip_torch/site-packages/torch/_C.so"},
            {"src": nn_init, "short": "../pip_torch/site-packages/torch/nn/__init__.py"},
            {
                "src": "bazel-out/bin/app/_app.venv/lib/site-packages/torch/nn",
                "short": "app/_app.venv/lib/site-packages/torch/nn",
                "symlink": True,
            },
            {"src": "bazel-out/bin/app/tree", "short": "app/tree", "dir": True},
            {
                "src": "ext/python/bin/python3.11",
                "short": "../python/bin/python3.11",
                "source": True,
            },
            {"src": "ext/python/bin/python3", "short": "../python/bin/python3", "source": True},
            {"src": long_file, "short": "app/" + long_dir + "/" + "g" * 90 + ".txt"},
        ],
        root_symlinks=[
            {
                "path": "_main/app/_app.venv/lib/site-packages/torch/lib/libtorch_cpu.so",
                "short": "../pip_torch/site-packages/torch/lib/libtorch_cpu.so",
                "src": lib,
                "in_image": True,
            }
        ],
        symlinks=[
            {
                "path": "app/_app.venv/lib/site-packages/torch/_C.so",
                "short": "../pip_torch/site-packages/torch/_C.so",
                "src": ext,
                "in_image": True,
            }
        ],
        empty_files=["app/__init__.py", "../pip_torch/__init__.py", "external/python/__init__.py"],
        launcher={"path": "entrypoint", "content": "#!/bin/sh\nexit 0\n"},
    )
    run_tool(work, data)
    tree = snapshot(extract(work / "out.tar", work / "x"))

    venv = f"{RF}/_main/app/_app.venv/lib/site-packages/torch"
    expected_files = {
        "entrypoint": (b"#!/bin/sh\nexit 0\n", 0o755),
        f"{RF}/_main/app/main.py": (b"print('hi')\n", 0o644),
        f"{RF}/_main/app/tool.sh": (b"#!/bin/sh\n", 0o755),
        f"{RF}/pip_torch/site-packages/torch/lib/libtorch_cpu.so": (b"\x7fELF lib", 0o644),
        f"{RF}/pip_torch/site-packages/torch/_C.so": (b"\x7fELF ext", 0o644),
        f"{RF}/pip_torch/site-packages/torch/nn/__init__.py": (b"# nn\n", 0o644),
        f"{RF}/_main/app/tree/a.txt": (b"a", 0o644),
        f"{RF}/_main/app/tree/sub/b.txt": (b"b", 0o755),
        f"{RF}/python/bin/python3.11": (b"\x7fELF python", 0o755),
        f"{RF}/_main/app/{long_dir}/{'g' * 90}.txt": (b"long", 0o644),
        f"{RF}/_main/app/__init__.py": (b"", 0o644),
        f"{RF}/pip_torch/__init__.py": (b"", 0o644),
        f"{RF}/python/__init__.py": (b"", 0o644),
    }
    expected_links = {
        f"{venv}/nn": "../../../../../../pip_torch/site-packages/torch/nn",
        f"{venv}/lib/libtorch_cpu.so": "../../../../../../../pip_torch/site-packages/torch/lib/libtorch_cpu.so",
        f"{venv}/_C.so": "../../../../../../pip_torch/site-packages/torch/_C.so",
        f"{RF}/python/bin/python3": "python3.11",
    }
    files = {p: v[1] for p, v in tree.items() if v[0] == "file"}
    links = {p: v[1] for p, v in tree.items() if v[0] == "link"}
    dirs = {p: v[1] for p, v in tree.items() if v[0] == "dir"}
    assert files == expected_files
    assert links == expected_links
    assert set(dirs.values()) == {0o755}
    expected_dirs = {
        os.path.dirname(p) for p in list(expected_files) + list(expected_links) if "/" in p
    }
    for d in list(expected_dirs):
        while "/" in d:
            d = os.path.dirname(d)
            expected_dirs.add(d)
    assert set(dirs) == expected_dirs
    # Every link resolves inside the extracted tree, as it will in the image.
    for path in links:
        assert os.path.exists(work / "x" / path), path


def test_members_have_fixed_owner_time_and_no_names(work: Path) -> None:
    f = _write(work / "a.txt", b"x")
    run_tool(work, manifest(files=[{"src": f, "short": "a.txt"}], mtime=1234567))
    with tarfile.open(work / "out.tar") as t:
        for m in t.getmembers():
            assert (m.uid, m.gid, m.uname, m.gname, m.mtime) == (0, 0, "", "", 1234567)
            assert m.pax_headers == {}


def test_duplicate_contents_become_hard_links(work: Path) -> None:
    a = _write(work / "a.bin", b"same bytes" * 100)
    b = _write(work / "b.bin", b"same bytes" * 100)
    c = _write(work / "c.bin", b"other byte" * 100)  # same size, other bytes
    files = [{"src": s, "short": s} for s in (a, b, c)]
    run_tool(work, manifest(files=files))
    with tarfile.open(work / "out.tar") as t:
        kinds = {m.name: (m.type, m.linkname) for m in t.getmembers() if m.isfile() or m.islnk()}
    assert kinds[f"{RF}/_main/a.bin"] == (tarfile.REGTYPE, "")
    assert kinds[f"{RF}/_main/b.bin"] == (tarfile.LNKTYPE, f"{RF}/_main/a.bin")
    assert kinds[f"{RF}/_main/c.bin"] == (tarfile.REGTYPE, "")
    tree = snapshot(extract(work / "out.tar", work / "x"))
    assert tree[f"{RF}/_main/b.bin"][1][0] == b"same bytes" * 100
    report = json.loads((work / "out.tar.report.json").read_text())
    assert report["bytes_saved_by_dedup"] == 1000
    assert report["entries"]["hardlink"] == 1


def test_symlink_whose_target_is_not_in_the_image_stores_content(work: Path) -> None:
    target = _write(work / "gen/data.bin", b"payload")
    data = manifest(
        root_symlinks=[
            {
                "path": "_main/venv/data.bin",
                "short": "gen/data.bin",
                "src": target,
                "in_image": False,
            }
        ]
    )
    run_tool(work, data)
    tree = snapshot(extract(work / "out.tar", work / "x"))
    assert tree[f"{RF}/_main/venv/data.bin"] == ("file", (b"payload", 0o644))
    report = json.loads((work / "out.tar.report.json").read_text())
    assert report["symlink_fallback_copies"]["count"] == 1
    assert report["symlink_fallback_copies"]["bytes"] == 7


def test_filesystem_link_to_a_file_outside_the_layer_stores_content(work: Path) -> None:
    _write(work / "ext/python/bin/python3.11", b"interp", 0o755)
    os.symlink("python3.11", work / "ext/python/bin/python3")
    data = manifest(
        files=[{"src": "ext/python/bin/python3", "short": "../python/bin/python3", "source": True}]
    )
    run_tool(work, data)
    tree = snapshot(extract(work / "out.tar", work / "x"))
    assert tree[f"{RF}/python/bin/python3"] == ("file", (b"interp", 0o755))


def test_sandbox_indirections_are_peeled(work: Path, tmp_path_factory: object) -> None:
    """Inputs staged as absolute links to <execroot>/<exec path> behave like the real files."""
    real_root = work / "real_execroot"
    _write(real_root / "ext/python/bin/python3.11", b"interp", 0o755)
    os.symlink("python3.11", real_root / "ext/python/bin/python3")
    os.makedirs(real_root / "bazel-out/bin")
    os.symlink("../x", real_root / "bazel-out/bin/decl")
    for rel in ("ext/python/bin/python3.11", "ext/python/bin/python3", "bazel-out/bin/decl"):
        os.makedirs(work / os.path.dirname(rel), exist_ok=True)
        os.symlink(str(real_root / rel), work / rel)
    _write(real_root / "ext/x", b"x")
    os.symlink(str(real_root / "ext/x"), work / "ext/x")
    data = manifest(
        files=[
            {
                "src": "ext/python/bin/python3.11",
                "short": "../python/bin/python3.11",
                "source": True,
            },
            {"src": "ext/python/bin/python3", "short": "../python/bin/python3", "source": True},
            {"src": "bazel-out/bin/decl", "short": "decl", "symlink": None},
            {"src": "ext/x", "short": "../x", "source": True},
        ]
    )
    run_tool(work, data)
    tree = snapshot(extract(work / "out.tar", work / "x"))
    assert tree[f"{RF}/python/bin/python3"] == ("link", "python3.11")
    assert tree[f"{RF}/python/bin/python3.11"] == ("file", (b"interp", 0o755))
    assert tree[f"{RF}/_main/decl"] == ("link", "../x")


def test_summary_line_and_report(work: Path) -> None:
    f = _write(work / "a.txt", b"abc")
    proc = run_tool(work, manifest(files=[{"src": f, "short": "a.txt"}]))
    assert proc.stdout.startswith("layer app: 1 files, 0 symlinks,")
    report = json.loads((work / "out.tar.report.json").read_text())
    assert report["content_bytes_stored"] == 3
    assert report["output_bytes"] == os.path.getsize(work / "out.tar")
    assert report["largest_packages"] == [{"package": "_main", "bytes": 3}]


def test_runs_twice_in_the_same_directory_and_leaves_no_temp_files(work: Path) -> None:
    f = _write(work / "a.txt", b"abc")
    data = manifest(files=[{"src": f, "short": "a.txt"}])
    run_tool(work, data)
    first = (work / "out.tar").read_bytes()
    run_tool(work, data)
    assert (work / "out.tar").read_bytes() == first
    assert not [p for p in os.listdir(work) if p.startswith(".")]

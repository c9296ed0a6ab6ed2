"""Cross-layer validation, and a property test: random trees with links survive a round trip."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import MAIN, TOOLS, extract, manifest, run_tool, snapshot


def _validate(work: Path, *layers: str, allow: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(MAIN), "validate", "--output", "ok.txt"]
    cmd += [f"--layer={name}={name}.tar.index" for name in layers]
    if allow:
        cmd.append("--allow-symlinks-outside-runfiles")
    return subprocess.run(
        cmd, cwd=work, env=dict(os.environ, PYTHONPATH=str(TOOLS)), capture_output=True, text=True
    )


def _layer(work: Path, name: str, **parts: object) -> None:
    run_tool(work, manifest(layer=name, **parts), f"{name}.tar")


def test_links_that_resolve_through_other_layers_pass(work: Path) -> None:
    (work / "lib.so").write_bytes(b"so")
    os.symlink("../../pip/site-packages/pkg", work / "dirlink")
    _layer(work, "deps", files=[{"src": "lib.so", "short": "../pip/site-packages/pkg/lib.so"}])
    _layer(
        work,
        "app",
        files=[{"src": "dirlink", "short": "venv/pkg", "symlink": True}],
        root_symlinks=[
            {
                "path": "_main/venv/lib.so",
                "short": "../pip/site-packages/pkg/lib.so",
                "src": "x",
                "in_image": True,
            }
        ],
    )
    proc = _validate(work, "deps", "app")
    assert proc.returncode == 0, proc.stderr
    assert (work / "ok.txt").read_text() == "ok: 2 layers, 2 symlinks resolve\n"


def test_dangling_link_fails_naming_it(work: Path) -> None:
    os.symlink("../missing/file", work / "lnk")
    _layer(work, "app", files=[{"src": "lnk", "short": "venv/x", "symlink": True}])
    proc = _validate(work, "app")
    assert proc.returncode == 1
    assert "'entrypoint.runfiles/_main/venv/x'" in proc.stderr
    assert "does not resolve" in proc.stderr
    assert not (work / "ok.txt").exists()


# An absolute target, and one climbing past the image root ('..' at the root stays there,
# as in the kernel): either way only the base image can provide it.
@pytest.mark.parametrize("text", ["/usr/bin/python3", "../../../../../etc/passwd"])
def test_link_leaving_the_image_needs_the_option(work: Path, text: str) -> None:
    os.symlink(text, work / "lnk")
    _layer(
        work,
        "app",
        files=[{"src": "lnk", "short": "bin/lnk", "symlink": True}],
        allow_symlinks_outside_runfiles=True,
    )
    assert _validate(work, "app").returncode == 1
    assert _validate(work, "app", allow=True).returncode == 0


def test_path_claimed_by_two_layers_fails(work: Path) -> None:
    (work / "a").write_text("a")
    _layer(work, "one", files=[{"src": "a", "short": "same"}])
    _layer(work, "two", files=[{"src": "a", "short": "same"}])
    proc = _validate(work, "one", "two")
    assert proc.returncode == 1
    assert "'entrypoint.runfiles/_main/same' is claimed by layer 'one'" in proc.stderr


_NAMES = st.sampled_from(["a", "b", "c", "pkg", "lib", "x.so", "__init__.py"])
_PATHS = st.lists(_NAMES, min_size=1, max_size=4).map("/".join)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    files=st.dictionaries(_PATHS, st.binary(max_size=64), min_size=1, max_size=12),
    links=st.lists(st.tuples(_PATHS, st.integers(min_value=0, max_value=50)), max_size=6),
)
def test_random_trees_round_trip(files: dict[str, bytes], links: list[tuple[str, int]]) -> None:
    # Keep a consistent tree: no path may be both a file and a directory.
    paths = sorted(files)
    kept = [p for p in paths if not any(q.startswith(p + "/") for q in paths)]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        entries = []
        for i, path in enumerate(kept):
            src = work / "in" / f"{i}"
            src.parent.mkdir(exist_ok=True)
            src.write_bytes(files[path])
            entries.append({"src": f"in/{i}", "short": path})
        symlinks = []
        taken = set(kept)
        for link_path, target_index in links:
            link_path = "links/" + link_path
            if any(
                link_path == t or t.startswith(link_path + "/") or link_path.startswith(t + "/")
                for t in taken
            ):
                continue
            taken.add(link_path)
            target = kept[target_index % len(kept)]
            symlinks.append(
                {
                    "path": link_path,
                    "short": target,
                    "src": f"in/{kept.index(target)}",
                    "in_image": True,
                }
            )
        _layer(work, "app", files=entries, symlinks=symlinks)
        tree = snapshot(extract(work / "app.tar", work / "x"))
        root = work / "x" / "entrypoint.runfiles" / "_main"
        for path in kept:
            assert (root / path).read_bytes() == files[path]
        for link in symlinks:
            kind, text = tree[f"entrypoint.runfiles/_main/{link['path']}"]
            assert kind == "link" and not text.startswith("/")
            assert (root / str(link["path"])).read_bytes() == files[str(link["short"])]
        proc = _validate(work, "app")
        assert proc.returncode == 0, proc.stderr

"""Helpers shared by the layer writer tests: build manifests, run the tool, extract tars."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

TOOLS = Path(__file__).resolve().parent.parent
MAIN = TOOLS / "tar_runfiles_main.py"


def manifest(
    files: list[dict[str, Any]] | None = None,
    symlinks: list[dict[str, Any]] | None = None,
    root_symlinks: list[dict[str, Any]] | None = None,
    empty_files: list[str] | None = None,
    **header: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": 1,
        "layer": "app",
        "workspace": "_main",
        "runfiles_dir": "entrypoint.runfiles",
        "mtime": 946684800,
        "files": files or [],
        "symlinks": symlinks or [],
        "root_symlinks": root_symlinks or [],
        "empty_files": empty_files or [],
    }
    data.update(header)
    return data


def run_tool(
    cwd: Path,
    data: Any,
    output: str = "out.tar",
    extra: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Runs `tar_runfiles write` in `cwd` on `data` (a manifest, or raw text)."""
    (cwd / "manifest.json").write_text(data if isinstance(data, str) else json.dumps(data))
    full_env = dict(os.environ, PYTHONPATH=str(TOOLS))
    full_env.update(env or {})
    cmd = [sys.executable, str(MAIN), "write", "--manifest", "manifest.json", "--output", output]
    cmd += ["--report", output + ".report.json", "--index", output + ".index", *extra]
    proc = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"tool failed:\n{proc.stderr}")
    return proc


def extract(tar: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-xf", str(tar), "-C", str(dest)], check=True)
    return dest


def snapshot(root: Path) -> dict[str, tuple[str, Any]]:
    """path -> ('dir', mode) | ('file', (bytes, mode)) | ('link', text), without following links."""
    result: dict[str, tuple[str, Any]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            if os.path.islink(full):
                result[rel] = ("link", os.readlink(full))
            elif os.path.isdir(full):
                result[rel] = ("dir", st.st_mode & 0o777)
            else:
                result[rel] = ("file", (Path(full).read_bytes(), st.st_mode & 0o777))
    return result


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory that plays the action's execroot."""
    monkeypatch.chdir(tmp_path)
    return tmp_path

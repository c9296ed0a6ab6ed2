"""Checks on a container image made of tar_runfiles layers, shared by the e2e tests and
example/app_tar_test.py: extract the layers in order, then look at what a runtime would see.
"""

from __future__ import annotations

import collections
import hashlib
import os
import subprocess
from collections.abc import Iterable


def extract_layers(tars: Iterable[str], dest: str) -> str:
    """Applies the layers in image order onto an empty directory, as a container runtime does."""
    os.makedirs(dest, exist_ok=True)
    for tar in tars:
        subprocess.run(["tar", "-xf", tar, "-C", dest], check=True)
    return dest


def bad_links(root: str) -> list[str]:
    """Links that are absolute or do not resolve inside `root`."""
    real_root = os.path.realpath(root)
    problems = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                continue
            text = os.readlink(path)
            resolved = os.path.realpath(path)
            if os.path.isabs(text):
                problems.append(f"{path} -> {text} is absolute")
            elif not os.path.exists(path) or not resolved.startswith(real_root + os.sep):
                problems.append(f"{path} -> {text} dangles or leaves the image")
    return problems


def duplicated_contents(root: str) -> dict[str, list[str]]:
    """Non-empty contents stored more than once (hard links to one inode count once)."""
    paths_by_digest: dict[str, dict[int, str]] = collections.defaultdict(dict)
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if os.path.islink(path) or not st.st_size:
                continue
            with open(path, "rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
            paths_by_digest[digest].setdefault(st.st_ino, path)
    return {d: sorted(p.values()) for d, p in paths_by_digest.items() if len(p) > 1}


def run_launcher(root: str, entrypoint: str = "entrypoint") -> subprocess.CompletedProcess[str]:
    """Runs the image's launcher from another working directory, without Bazel's runfiles env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNFILES")}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [os.path.join(root, entrypoint)], cwd="/", env=env, capture_output=True, text=True
    )

"""Benchmark: the layer writer against GNU tar (+ gzip / zstd) on one tree, side by side.

    python3 tools/bench/bench.py [--tree DIR] [--runs 3] [--compression none ...]

Without --tree it downloads the torch 2.13.0 CPU wheel with pip (no deps) and unpacks it.
Each command runs --runs times, interleaved, on a warm page cache; the median wall time
is reported, with each child's peak RSS from wait4(). Prints the ratios the README quotes.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

TOOLS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOOLS_DIR)

from runfiles_layer.compress import EXTENSIONS  # noqa: E402 - after the path is set

TARGETS = {"none": 1.0, "zstd": 1.1, "gzip": 0.6}


def fetch_torch(workdir: str) -> str:
    tree = os.path.join(workdir, "torch_tree")
    if os.path.isdir(tree):
        return tree
    wheels = os.path.join(workdir, "wheels")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", wheels, "torch==2.13.0"],
        check=True,
    )
    with zipfile.ZipFile(glob.glob(os.path.join(wheels, "torch-*.whl"))[0]) as whl:
        whl.extractall(tree)
    return tree


def make_venv(workdir: str) -> str:
    """A venv with only the tool's locked requirements, like the action's interpreter.

    Its startup runs none of the machine's site-packages hooks, which would otherwise be
    charged to the tool.
    """
    venv = os.path.join(workdir, "venv")
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        lock = os.path.join(TOOLS_DIR, "requirements_lock.txt")
        pip = [python, "-m", "pip", "install", "-q", "--require-hashes", "-r", lock]
        subprocess.run(pip, check=True)
    return python


def write_manifest(tree: str, path: str) -> int:
    """All files of `tree` as runfiles of a pip repository, as the rule would list them."""
    files = []
    for root, dirs, names in os.walk(tree):
        dirs.sort()
        for name in sorted(names):
            full = os.path.join(root, name)
            rel = os.path.relpath(full, tree)
            files.append({"src": full, "short": f"../pypi_torch/site-packages/{rel}"})
    manifest = {
        "version": 1,
        "layer": "torch",
        "workspace": "_main",
        "runfiles_dir": "entrypoint.runfiles",
        "mtime": 946684800,
        "files": files,
        "symlinks": [],
        "root_symlinks": [],
        "empty_files": [],
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(manifest, f)
    return len(files)


def run(cmd: str, output: str) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of a shell command's slowest child.

    The output is removed first and flushed to disk, so no run pays for another's file;
    the pause lets the file system finish freeing it (discards run after the commit).
    """
    if os.path.exists(output):
        os.unlink(output)
    os.sync()
    time.sleep(1)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, shell=True)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed: {cmd}")
    return elapsed, usage.ru_maxrss // 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tree", help="directory to pack (default: the torch wheel)")
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "rpp_bench"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--compression", action="append", choices=TARGETS, help="measure only these (repeatable)"
    )
    args = parser.parse_args()

    os.makedirs(args.workdir, exist_ok=True)
    tree = os.path.abspath(args.tree or fetch_torch(args.workdir))
    manifest = os.path.join(args.workdir, "manifest.json")
    count = write_manifest(tree, manifest)
    out = os.path.join(args.workdir, "out")
    subprocess.run(f"tar -cf - -C {tree} . > /dev/null", shell=True, check=True)  # warm cache

    python = make_venv(args.workdir)
    # Bytecode ahead of time, as the tool's precompile = "enabled" gives it under Bazel.
    package = os.path.join(TOOLS_DIR, "runfiles_layer")
    subprocess.run([python, "-m", "compileall", "-q", package], check=True)
    main = os.path.join(TOOLS_DIR, "tar_runfiles_main.py")
    tool = f"{python} {main} write --quiet --manifest {manifest}"
    pairs = {
        "none": (f"tar -cf {out}.tar -C {tree} .", f"{tool} --output {out}.l.tar"),
        "zstd": (
            f"tar -cf - -C {tree} . | zstd -q -T0 -3 -o {out}.tar.zst -f",
            f"{tool} --compression zstd --output {out}.l.tar.zst",
        ),
        "gzip": (
            f"tar -czf {out}.tar.gz -C {tree} .",
            f"{tool} --compression gzip --output {out}.l.tar.gz",
        ),
    }
    print(f"tree: {tree} ({count} files), {os.cpu_count()} cores, median of {args.runs} runs")
    columns = ("GNU tar s", "ours s", "ratio", "target", "peak RSS", "size ratio")
    print(f"{'compression':<12}" + "".join(f"{c:>11}" for c in columns))
    ok = True
    for name, (baseline, ours) in pairs.items():
        if args.compression and name not in args.compression:
            continue
        base_times, our_times, rss = [], [], 0
        for _ in range(args.runs):
            suffix = EXTENSIONS[name]
            base_times.append(run(baseline, f"{out}{suffix}")[0])
            seconds, peak = run(ours, f"{out}.l{suffix}")
            our_times.append(seconds)
            rss = max(rss, peak)
        ratio = statistics.median(our_times) / statistics.median(base_times)
        size_ratio = os.path.getsize(f"{out}.l{suffix}") / os.path.getsize(f"{out}{suffix}")
        met = ratio <= TARGETS[name] and rss <= 150
        ok = ok and met
        cells = (
            f"{statistics.median(base_times):.2f}",
            f"{statistics.median(our_times):.2f}",
            f"{ratio:.2f}",
            f"<= {TARGETS[name]}",
            f"{rss} MiB",
            f"{size_ratio:.3f}",
        )
        print(f"{name:<12}" + "".join(f"{c:>11}" for c in cells) + ("" if met else "  MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

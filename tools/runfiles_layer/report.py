"""The per-layer report (JSON), its one-line summary, and the index the validator reads."""

from __future__ import annotations

import collections
import json
from typing import Any

from runfiles_layer.writer import WrittenEntry

_TOP_PACKAGES = 10


def _package_of(path: str, runfiles_dir: str) -> str:
    """'<rf>/repo/site-packages/torch/x.so' -> 'repo/torch'; other runfiles -> their repo."""
    prefix = runfiles_dir + "/"
    if not path.startswith(prefix):
        return "(image root)"
    rf_path = path[len(prefix) :]
    repo, _, rest = rf_path.partition("/")
    marker = "site-packages/"
    at = rest.find(marker)
    if at != -1:
        package = rest[at + len(marker) :].split("/", 1)[0]
        return f"{repo}/{package}"
    return repo


def build_report(
    layer: str, output: str, runfiles_dir: str, entries: list[WrittenEntry], output_size: int
) -> dict[str, Any]:
    kinds = collections.Counter(e.kind for e in entries)
    stored = sum(e.size for e in entries if e.kind == "file")
    by_package: collections.Counter[str] = collections.Counter()
    for e in entries:
        if e.kind == "file":
            by_package[_package_of(e.path, runfiles_dir)] += e.size
    top = sorted(by_package.items(), key=lambda kv: (-kv[1], kv[0]))[:_TOP_PACKAGES]
    fallbacks = [e for e in entries if e.fallback and e.kind in ("file", "hardlink")]
    return {
        "layer": layer,
        "output": output,
        "output_bytes": output_size,
        "entries": {k: kinds.get(k, 0) for k in ("dir", "file", "symlink", "hardlink")},
        "content_bytes_stored": stored,
        "bytes_saved_by_dedup": sum(e.size for e in entries if e.kind == "hardlink"),
        "symlink_fallback_copies": {
            "count": len(fallbacks),
            "bytes": sum(e.size for e in fallbacks),
            "paths": sorted(e.path for e in fallbacks)[:20],
        },
        "largest_packages": [{"package": k, "bytes": v} for k, v in top],
    }


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{n} B"
        size /= 1024
    raise AssertionError("unreachable")


def summary_line(report: dict[str, Any]) -> str:
    e = report["entries"]
    line = (
        f"layer {report['layer']}: {e['file']} files, {e['symlink']} symlinks, "
        f"{e['dir']} dirs; {_human(report['content_bytes_stored'])} stored, "
        f"{_human(report['output_bytes'])} written"
    )
    if e["hardlink"]:
        line += (
            f"; dedup saved {_human(report['bytes_saved_by_dedup'])} ({e['hardlink']} hard links)"
        )
    fallback = report["symlink_fallback_copies"]
    if fallback["count"]:
        line += f"; {fallback['count']} runfiles symlinks copied ({_human(fallback['bytes'])})"
    return line


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def index_json(entries: list[WrittenEntry]) -> str:
    """`[[kind, path, link text], ...]`: what the validator checks, in one fast dump."""
    return json.dumps([[e.kind, e.path, e.link] for e in entries]) + "\n"

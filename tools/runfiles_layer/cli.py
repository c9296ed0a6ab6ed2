"""Command line: `write` one layer from its manifest, or `validate` all layers of an image."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence

from runfiles_layer import compress, report
from runfiles_layer.errors import LayerError
from runfiles_layer.layout import build_layout
from runfiles_layer.manifest import load_manifest
from runfiles_layer.plain import PlainSink
from runfiles_layer.validate import validate
from runfiles_layer.writer import Sink, write_layer


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[int]:
    """A file descriptor whose content replaces `path` only if the block succeeds."""
    # Beside the output, so that the rename is atomic; the pid keeps parallel runs apart.
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        yield fd
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except BaseException:
        if fd != -1:
            os.close(fd)
        os.unlink(tmp)
        raise


def _write_text(path: str, text: str) -> None:
    with atomic_output(path) as fd:
        with os.fdopen(os.dup(fd), "w", encoding="utf-8") as f:
            f.write(text)


def _cmd_write(args: argparse.Namespace) -> int:
    manifest = load_manifest(args.manifest)
    members = build_layout(manifest)
    with atomic_output(args.output) as fd:
        if args.compression == "none":
            if args.level is not None:
                raise ValueError("--level needs --compression gzip or zstd")
            sink: Sink = PlainSink(fd)
        else:
            sink = compress.open_sink(fd, args.compression, args.level, args.threads)
        entries = write_layer(members, sink, manifest.mtime)
        size = os.fstat(fd).st_size
    layer_report = report.build_report(
        manifest.layer, os.path.basename(args.output), manifest.runfiles_dir, entries, size
    )
    if args.report:
        _write_text(args.report, report.to_json(layer_report))
    if args.index:
        _write_text(args.index, report.index_json(entries))
    if not args.quiet:
        print(report.summary_line(layer_report))
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    layers = []
    for spec in args.layer:
        name, sep, index = spec.partition("=")
        if not sep:
            raise LayerError(f"--layer takes NAME=INDEX_FILE, got {spec!r}")
        layers.append((name, index))
    checked = validate(layers, args.allow_symlinks_outside_runfiles)
    _write_text(args.output, f"ok: {len(layers)} layers, {checked} symlinks resolve\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tar_runfiles", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    write = sub.add_parser("write", help="write one layer tarball from its manifest")
    write.add_argument("--manifest", required=True, help="JSON manifest from the tar_runfiles rule")
    write.add_argument("--output", required=True, help="the layer tarball to write")
    write.add_argument("--report", help="where to write the JSON report")
    write.add_argument("--index", help="where to write the entry index for `validate`")
    write.add_argument("--compression", choices=compress.COMPRESSIONS, default="none")
    write.add_argument("--level", type=int, help="compression level (gzip 6, zstd 3 by default)")
    write.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="compression threads"
    )
    write.add_argument("--quiet", action="store_true", help="do not print the summary line")
    write.set_defaults(func=_cmd_write)

    check = sub.add_parser("validate", help="check all layers of one image together")
    check.add_argument("--layer", action="append", default=[], help="NAME=INDEX_FILE, in order")
    check.add_argument("--output", required=True, help="stamp file written on success")
    check.add_argument("--allow-symlinks-outside-runfiles", action="store_true")
    check.set_defaults(func=_cmd_validate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (LayerError, ValueError) as e:
        print(f"tar_runfiles: error: {e}", file=sys.stderr)
        return 1

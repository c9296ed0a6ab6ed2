"""Checks that span layers: no path is claimed by two layers, every symlink resolves.

Reads the index each layer action writes beside its tar, in image order, and resolves
links through the union of the layers, as the container's file system will.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath

from runfiles_layer.errors import LayerError

_MAX_HOPS = 40


@dataclasses.dataclass(frozen=True)
class Node:
    layer: str
    kind: str
    link: str


def read_index(layer: str, path: str) -> list[tuple[str, Node]]:
    with open(path, encoding="utf-8") as f:
        entries = json.load(f)
    return [(entry_path, Node(layer, kind, link)) for kind, entry_path, link in entries]


def merge_layers(layers: list[tuple[str, str]]) -> dict[str, Node]:
    """Union of the layers' entries; a non-directory path in two layers is an error."""
    union: dict[str, Node] = {}
    for layer, index in layers:
        for path, node in read_index(layer, index):
            other = union.get(path)
            if other is not None and (other.kind != "dir" or node.kind != "dir"):
                raise LayerError(
                    f"{path!r} is claimed by layer {other.layer!r} ({other.kind}) and by layer "
                    f"{layer!r} ({node.kind}); change the layer patterns so one layer owns it"
                )
            union.setdefault(path, node)
    return union


def resolve(union: dict[str, Node], path: str) -> str | None:
    """Follows `path` through the union like the kernel would; None if it dangles.

    Returns "/" where the chain leaves the layers' tree: an absolute target, or a name at
    the image root that no layer has (`..` at the root stays there). Only the base image
    can provide those.
    """
    pending = path.split("/")
    current = ""
    hops = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            current = posixpath.dirname(current)
            continue
        candidate = f"{current}/{part}" if current else part
        node = union.get(candidate)
        if node is None:
            return None if current else "/"
        if node.kind == "symlink":
            hops += 1
            if hops > _MAX_HOPS:
                return None
            if node.link.startswith("/"):
                return "/"
            pending = node.link.split("/") + pending
            continue
        current = candidate
    return current


def validate(layers: list[tuple[str, str]], allow_outside: bool) -> int:
    """Raises LayerError on the first problem; returns the number of links checked."""
    union = merge_layers(layers)
    checked = 0
    for path, node in sorted(union.items()):
        if node.kind != "symlink":
            continue
        checked += 1
        resolved = resolve(union, path)
        if resolved == "/" and allow_outside:
            continue
        if resolved is None or resolved == "/":
            raise LayerError(
                f"symlink {path!r} (layer {node.layer!r}) -> {node.link!r} does not resolve "
                "inside the image's layers; add its target to the binary's runfiles"
            )
    return checked

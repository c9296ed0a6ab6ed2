"""A native py_binary: empty __init__.py files, a C extension, a TreeArtifact, runfiles lib."""

import os

from native.fastpkg import _fast  # native/__init__.py exists only as an empty runfile
from runfiles import runfiles

r = runfiles.Create()
with open(r.Rlocation("e2e/native/data.txt")) as f:
    print("data:", f.read().strip())
tree = r.Rlocation("e2e/native/tree")
print(
    "tree:",
    sorted(os.path.relpath(os.path.join(d, n), tree) for d, _, ns in os.walk(tree) for n in ns),
)
print("fast:", _fast.value())

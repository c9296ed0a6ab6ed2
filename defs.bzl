"""Public API of rules_pkg_pyvenv.

```starlark
load("@rules_pkg_pyvenv//:defs.bzl", "tar_runfiles")

tar_runfiles(name = "app_tar", py_binary = ":app")
```
"""

load("//private:layers.bzl", _DEFAULT_LAYERS = "DEFAULT_LAYERS")
load("//private:tar_runfiles.bzl", _tar_runfiles = "tar_runfiles")

tar_runfiles = _tar_runfiles

# The default `layers` of tar_runfiles, to extend rather than restate.
DEFAULT_LAYERS = _DEFAULT_LAYERS

"""Which layer a runfiles repository directory goes to.

Patterns are matched against the first component of a runfiles path: the repository's
directory in the runfiles tree, e.g. `rules_python++pip+pypi_313_torch`. `*` matches any
run of characters; nothing else is special.
"""

APP_LAYER = "app"

# Image order, foundation first. Every external repository lands in the first layer with a
# matching pattern; the main repository always lands in APP_LAYER, which comes last.
DEFAULT_LAYERS = {
    "interpreter": [
        # rules_python toolchain repositories: Bazel 8+, Bazel 7, Bazel 6, WORKSPACE.
        "rules_python++python+*",
        "rules_python~~python~*",
        "rules_python~*~python~*",
        "python_*",
    ],
    "nvidia": ["*_nvidia_*"],
    "torch": ["*_torch", "*_torchaudio", "*_torchvision", "*_triton"],
    "external": ["*"],
}

# Output group names the rule uses itself; a layer may not take them.
RESERVED_LAYER_NAMES = ["manifests", "reports", "tarballs", "_validation"]

def glob_match(pattern, text):
    """Whether `text` matches `pattern`, in which `*` matches any run of characters.

    Args:
      pattern: the pattern.
      text: the string to test.

    Returns:
      True on a match.
    """
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern == text
    if not text.startswith(parts[0]):
        return False
    pos = len(parts[0])
    for part in parts[1:-1]:
        found = text.find(part, pos)
        if found < 0:
            return False
        pos = found + len(part)
    return len(text) - pos >= len(parts[-1]) and text.endswith(parts[-1])

def check_layers(layers):
    """Fails with a clear message on a layer mapping the rule cannot use.

    Args:
      layers: dict of layer name to list of patterns, in image order.
    """
    for name, patterns in layers.items():
        if name == APP_LAYER:
            fail("layers: '{}' is the main repository's layer and always comes last; ".format(APP_LAYER) +
                 "remove it from `layers`")
        if name in RESERVED_LAYER_NAMES:
            fail("layers: '{}' is the name of an output group; pick another layer name".format(name))
        if not name or "/" in name or name.startswith("."):
            fail("layers: '{}' is not usable as a file name part".format(name))
        if not patterns:
            fail("layers: layer '{}' has no patterns, so nothing can land in it".format(name))

def layer_of_repo(repo_dir, workspace_name, layers, cache):
    """The layer of a runfiles repository directory, memoized in `cache`.

    Args:
      repo_dir: first component of a runfiles path.
      workspace_name: the main repository's runfiles directory.
      layers: dict of layer name to patterns, in image order.
      cache: dict shared by all calls of one analysis.

    Returns:
      The layer name.
    """
    layer = cache.get(repo_dir)
    if layer != None:
        return layer
    layer = APP_LAYER
    if repo_dir != workspace_name:
        for name, patterns in layers.items():
            if [p for p in patterns if glob_match(p, repo_dir)]:
                layer = name
                break
        if layer == APP_LAYER:
            fail(("no layer pattern matches the runfiles repository '{}'; add a catch-all " +
                  "pattern such as \"*\" to the last entry of `layers`").format(repo_dir))
    cache[repo_dir] = layer
    return layer

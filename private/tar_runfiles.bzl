"""Implementation of `tar_runfiles`: a binary's runfiles as ordered OCI layer tarballs.

One manifest and one action per layer. Each action gets only its own layer's files as
inputs, so editing the app re-runs only the app layer. A separate validation action checks
what spans layers: every symlink resolves in the union of the layers, and no path is
claimed by two layers.
"""

load(":layers.bzl", "APP_LAYER", "DEFAULT_LAYERS", "RESERVED_LAYER_NAMES", "check_layers", "layer_of_repo")

_MANIFEST_VERSION = 1

_EXTENSIONS = {"gzip": ".tar.gz", "none": ".tar", "zstd": ".tar.zst"}

_LEVELS = {"gzip": (0, 9), "none": (-1, -1), "zstd": (1, 22)}

def _repo_of_short_path(short_path, workspace_name):
    if short_path.startswith("../"):
        return short_path[3:].partition("/")[0]
    return workspace_name

def _repo_of_empty_file(name, workspace_name):
    if name.startswith("../"):
        return name[3:].partition("/")[0]
    if name.startswith("external/"):
        return name[len("external/"):].partition("/")[0]
    return workspace_name

def _file_json(file):
    # Runs at execution time (Args.map_each), so analysis never formats per-file strings.
    return json.encode({
        "dir": file.is_directory,
        "short": file.short_path,
        "source": file.is_source,
        "src": file.path,
        # File.is_symlink only exists on newer Bazel; None lets the tool decide from disk.
        "symlink": getattr(file, "is_symlink", None),
    })

def _symlink_entry(entry, in_image):
    return {
        "in_image": in_image,
        "path": entry.path,
        "short": entry.target_file.short_path,
        "src": entry.target_file.path,
    }

def _sh_quote(text):
    return "'" + text.replace("'", "'\\''") + "'"

def _launcher(entrypoint, executable_rf_path, label):
    runfiles_name = entrypoint.rpartition("/")[2] + ".runfiles"
    return "\n".join([
        "#!/bin/sh",
        "# Runs {} from the runfiles beside this script. Written by tar_runfiles.".format(label),
        'case "$0" in',
        '  */*) here="${0%/*}" ;;',
        "  *) here=. ;;",
        "esac",
        'RUNFILES_DIR="$(cd "$here" && pwd)"/' + _sh_quote(runfiles_name),
        "export RUNFILES_DIR",
        "# A manifest would name build-machine paths; the image has the directory tree.",
        "unset RUNFILES_MANIFEST_FILE RUNFILES_MANIFEST_ONLY",
        'exec "$RUNFILES_DIR"/' + _sh_quote(executable_rf_path) + ' "$@"',
        "",
    ])

def _check_attrs(ctx):
    entrypoint = ctx.attr.entrypoint
    parts = entrypoint.split("/")
    if entrypoint.startswith("/") or [p for p in parts if p in ("", ".", "..")]:
        fail("entrypoint '{}' must be a relative path without '.', '..' or empty parts".format(entrypoint))
    low, high = _LEVELS[ctx.attr.compression]
    level = ctx.attr.compression_level
    if level != -1 and not (low <= level and level <= high):
        if ctx.attr.compression == "none":
            fail("compression_level is set but compression is 'none'; drop one of them")
        fail("compression_level {} is out of range for {} ({}..{})".format(level, ctx.attr.compression, low, high))
    check_layers(ctx.attr.layers)

def _tar_runfiles_impl(ctx):
    _check_attrs(ctx)
    binary = ctx.attr.py_binary
    files_to_run = binary[DefaultInfo].files_to_run
    executable = files_to_run.executable if files_to_run else None
    if executable == None:
        fail("py_binary: {} is not executable; pass a *_binary or *_test target".format(binary.label))
    runfiles = binary[DefaultInfo].default_runfiles
    workspace = ctx.workspace_name
    layer_names = list(ctx.attr.layers.keys()) + [APP_LAYER]
    layers = ctx.attr.layers
    cache = {}  # repository directory -> layer: classify each repository once

    files = {name: [] for name in layer_names}
    all_files = runfiles.files.to_list()
    for file in all_files:
        repo = _repo_of_short_path(file.short_path, workspace)
        files[layer_of_repo(repo, workspace, layers, cache)].append(file)

    # SymlinkEntries become relative links when their target is a runfile of the image;
    # otherwise the target's content is stored, so it must be an input of that layer.
    links = {name: {"root_symlinks": [], "symlinks": []} for name in layer_names}
    fallback_inputs = {name: [] for name in layer_names}
    symlinks = runfiles.symlinks.to_list()
    root_symlinks = runfiles.root_symlinks.to_list()
    in_image = {f.path: True for f in all_files} if symlinks or root_symlinks else {}
    for kind, entries in (("symlinks", symlinks), ("root_symlinks", root_symlinks)):
        for entry in entries:
            if kind == "symlinks":
                repo = _repo_of_short_path(entry.path, workspace)
            else:
                repo = entry.path.partition("/")[0]
            layer = layer_of_repo(repo, workspace, layers, cache)
            present = entry.target_file.path in in_image
            links[layer][kind].append(_symlink_entry(entry, present))
            if not present:
                fallback_inputs[layer].append(entry.target_file)

    empty_files = {name: [] for name in layer_names}
    for name in runfiles.empty_filenames.to_list():
        repo = _repo_of_empty_file(name, workspace)
        empty_files[layer_of_repo(repo, workspace, layers, cache)].append(name)

    repo_mapping = getattr(files_to_run, "repo_mapping_manifest", None)
    executable_rf_path = workspace + "/" + executable.short_path
    if executable.short_path.startswith("../"):
        executable_rf_path = executable.short_path[3:]

    tars = []
    groups = {}
    manifests = []
    reports = []
    indexes = []
    for layer in layer_names:
        is_app = layer == APP_LAYER
        if not (is_app or files[layer] or links[layer]["symlinks"] or
                links[layer]["root_symlinks"] or empty_files[layer]):
            continue  # an empty OCI layer is noise
        prefix = "{}.{}".format(ctx.label.name, layer)
        header = {
            "allow_symlinks_outside_runfiles": ctx.attr.allow_symlinks_outside_runfiles,
            "empty_files": empty_files[layer],
            "layer": layer,
            "mtime": ctx.attr.mtime,
            "root_symlinks": links[layer]["root_symlinks"],
            "runfiles_dir": ctx.attr.entrypoint + ".runfiles",
            "symlinks": links[layer]["symlinks"],
            "version": _MANIFEST_VERSION,
            "workspace": workspace,
        }
        inputs = list(fallback_inputs[layer])
        if is_app:
            header["launcher"] = {
                "content": _launcher(ctx.attr.entrypoint, executable_rf_path, str(binary.label)),
                "path": ctx.attr.entrypoint,
            }
            if repo_mapping:
                header["repo_mapping"] = repo_mapping.path
                inputs.append(repo_mapping)

        # The header is encoded at analysis; the file list is formatted lazily at execution.
        manifest = ctx.actions.declare_file(prefix + ".manifest.json")
        content = ctx.actions.args()
        content.set_param_file_format("multiline")  # verbatim lines, no shell quoting
        content.add(json.encode(header)[:-1] + ',"files":')
        content.add_joined(
            files[layer],
            map_each = _file_json,
            join_with = ",",
            format_joined = "[%s]}",
            omit_if_empty = False,
            expand_directories = False,
        )
        ctx.actions.write(manifest, content)

        tar = ctx.actions.declare_file(prefix + _EXTENSIONS[ctx.attr.compression])
        report = ctx.actions.declare_file(prefix + ".report.json")
        index = ctx.actions.declare_file(prefix + ".index.json")
        args = ctx.actions.args()
        args.add("write")
        if ctx.attr.quiet:
            args.add("--quiet")
        args.add("--manifest", manifest)
        args.add("--output", tar)
        args.add("--report", report)
        args.add("--index", index)
        args.add("--compression", ctx.attr.compression)
        if ctx.attr.compression_level != -1:
            args.add("--level", str(ctx.attr.compression_level))
        ctx.actions.run(
            executable = ctx.executable._tool,
            arguments = [args],
            inputs = depset([manifest] + inputs, transitive = [depset(files[layer])]),
            outputs = [tar, report, index],
            mnemonic = "TarRunfiles",
            progress_message = "Writing layer '{}' of {}".format(layer, ctx.label),
        )
        tars.append(tar)
        groups[layer] = depset([tar])
        manifests.append(manifest)
        reports.append(report)
        indexes.append((layer, index))

    stamp = ctx.actions.declare_file(ctx.label.name + ".validation")
    check = ctx.actions.args()
    check.add("validate")
    check.add("--output", stamp)
    for layer, index in indexes:
        check.add("--layer", "{}={}".format(layer, index.path))
    if ctx.attr.allow_symlinks_outside_runfiles:
        check.add("--allow-symlinks-outside-runfiles")
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [check],
        inputs = [index for _, index in indexes],
        outputs = [stamp],
        mnemonic = "TarRunfilesValidate",
        progress_message = "Checking the links across the layers of {}".format(ctx.label),
    )

    return [
        DefaultInfo(files = depset(tars)),
        OutputGroupInfo(
            manifests = depset(manifests),
            reports = depset(reports),
            tarballs = depset(tars),
            _validation = depset([stamp]),
            **groups
        ),
    ]

tar_runfiles = rule(
    implementation = _tar_runfiles_impl,
    doc = """Writes the runfiles of an executable as ordered OCI layer tarballs.

Every link stays a relative link: declared symlinks (rules_python's venv) keep their text,
`runfiles.symlinks` / `runfiles.root_symlinks` become relative links to their target's
runfiles path, and every byte is stored once. The launcher `/<entrypoint>` runs the binary
from `/<entrypoint>.runfiles/`.

`DefaultInfo.files` holds the layer tarballs in image order (foundation first, the app
layer last), ready for `oci_image(tars = [...])`. Output groups: one per layer name,
`tarballs`, `manifests` (the JSON each layer action reads), `reports` (per-layer JSON
statistics) and `_validation` (the cross-layer link check).
""",
    attrs = {
        "allow_symlinks_outside_runfiles": attr.bool(
            default = False,
            doc = "Accept declared symlinks whose target is absolute or leaves the runfiles " +
                  "tree (the base image must provide the target). Off: such links fail the build.",
        ),
        "compression": attr.string(
            default = "gzip",
            values = ["gzip", "none", "zstd"],
            doc = "Layer compression: `gzip` (`.tar.gz`), `zstd` (`.tar.zst`) or `none` (`.tar`). " +
                  "Both compressors use every core and give the same bytes for any thread count.",
        ),
        "compression_level": attr.int(
            default = -1,
            doc = "gzip 0-9 (default 6) or zstd 1-22 (default 3); -1 takes the default.",
        ),
        "entrypoint": attr.string(
            default = "entrypoint",
            doc = "Image path (no leading `/`) of the launcher script. The runfiles go to " +
                  "`<entrypoint>.runfiles/`, e.g. `app/server` -> `/app/server.runfiles/`.",
        ),
        "layers": attr.string_list_dict(
            default = DEFAULT_LAYERS,
            doc = "Layer name -> patterns over runfiles repository directory names (`*` is the " +
                  "only wildcard), in image order, foundation first. An external repository " +
                  "goes to the first layer with a matching pattern; the main repository always " +
                  "goes to the last layer, `app`. Layers that end up empty are not written. " +
                  "Reserved names: `app`, " + ", ".join(RESERVED_LAYER_NAMES) + ".",
        ),
        "mtime": attr.int(
            default = 946684800,
            doc = "Modification time of every entry, in seconds since the epoch " +
                  "(default 2000-01-01T00:00:00Z).",
        ),
        "py_binary": attr.label(
            mandatory = True,
            executable = True,
            cfg = "target",
            doc = "The executable whose runfiles to package: a py_binary, py_test, sh_binary, ...",
        ),
        "quiet": attr.bool(
            default = False,
            doc = "Do not print each layer's one-line summary when its action runs.",
        ),
        "_tool": attr.label(
            default = Label("//tools:tar_runfiles"),
            executable = True,
            cfg = "exec",
        ),
    },
)

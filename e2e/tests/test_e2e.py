"""End to end on the real Bazel (Debian's 4.2.3): build, extract, compare, run.

The oracle is the runfiles tree Bazel itself materializes next to each binary. Bazel 4.2.3
links every entry of that tree to its artifact by absolute path; for a declared symlink the
artifact's own link text is what Bazel 7+ writes into the tree, so that text is expected.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

E2E = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(E2E.parent / "tools" / "testing"))

import layer_checks  # noqa: E402 - the same checks example/app_tar_test.py runs

# (tar_runfiles target, binary, what its launcher must print)
APP_OUTPUT = [
    "prefix-is-venv: True",
    "torch: 42 torch.nn",
    "cublas: 12",
    "puretool: hello from puretool",
    "pth: loaded",
    "data: data read through the runfiles library",
    "app: first-party module",
]
FIXTURES = {
    "//app:app_1_8_2_tar": ("//app:app_1_8_2", APP_OUTPUT),
    "//app:app_1_8_0_tar": ("//app:app_1_8_0", APP_OUTPUT),
    "//app:app_rc_tar": ("//app:app_rc", APP_OUTPUT),
    "//native:app_tar": (
        "//native:app",
        ["data: native data", "tree: ['a.txt', 'sub/b.txt']", "fast: 7"],
    ),
}
LAYER_ORDER = ["interpreter", "nvidia", "torch", "external", "app"]


def bazel(
    *args: str, workspace: Path = E2E, output_base: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if output_base is not None:
        env["E2E_OUTPUT_BASE"] = str(output_base)
    proc = subprocess.run(
        [str(workspace / "bazel.sh"), *args], env=env, capture_output=True, text=True
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"bazel {' '.join(args)} failed:\n{_interesting(proc.stderr)}")
    return proc


def _interesting(stderr: str) -> str:
    # Debian's linux-sandbox logs every mount; keep Bazel's own lines.
    return "\n".join(line for line in stderr.splitlines() if "linux-sandbox" not in line)


def _label_path(label: str) -> tuple[str, str]:
    package, _, name = label[2:].partition(":")
    return package, name


@pytest.fixture(scope="session")
def built() -> Path:
    """Builds every fixture once; returns bazel-bin."""
    targets = []
    for tar, (binary, _) in FIXTURES.items():
        targets += [tar, binary, tar + "_files"]
    bazel("build", "--output_groups=+_validation,+reports", *targets)
    return Path(bazel("info", "bazel-bin").stdout.strip())


def _tars(bin_dir: Path, tar_label: str) -> list[Path]:
    package, name = _label_path(tar_label)
    listed = json.loads((bin_dir / package / f"{name}_files.json").read_text())
    return [bin_dir / short for short in listed]


def _extract(tars: list[Path], dest: Path) -> Path:
    return Path(layer_checks.extract_layers([str(t) for t in tars], str(dest)))


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _walk(root: Path, link_text: Callable[[str, str], str | None]) -> dict[str, tuple[str, object]]:
    """Every runfile below `root`: ("link", text) where `link_text(path, key)` names one,
    else ("content", bytes), descending into directories (and links to them)."""
    out: dict[str, tuple[str, object]] = {}

    def visit(disk: str, rel: str) -> None:
        for name in sorted(os.listdir(disk)):
            path = os.path.join(disk, name)
            key = f"{rel}/{name}" if rel else name
            text = link_text(path, key) if os.path.islink(path) else None
            if text is not None:
                out[key] = ("link", text)
            elif os.path.isdir(path):
                visit(path, key)
            else:
                out[key] = ("content", _read(path))

    visit(str(root), "")
    return out


def bazel_tree(root: Path) -> dict[str, tuple[str, object]]:
    """What Bazel's runfiles tree says each runfile is."""

    def declared_text(path: str, key: str) -> str | None:
        # Each entry links to its artifact; a declared symlink artifact holds relative text.
        artifact = os.readlink(path)
        if "/bazel-out/" in artifact and os.path.islink(artifact):
            text = os.readlink(artifact)
            return None if os.path.isabs(text) else text
        return None

    out = _walk(root, declared_text)
    out.pop("MANIFEST", None)  # Bazel's own manifest: build paths, never shipped
    return out


def image_tree(root: Path, declared: set[str]) -> dict[str, tuple[str, object]]:
    """The extracted runfiles, with links kept only where Bazel has a declared symlink."""
    real_root = os.path.realpath(root)

    def kept_text(path: str, key: str) -> str | None:
        text = os.readlink(path)
        assert not os.path.isabs(text), f"absolute link {key}"
        if key in declared:
            return text
        assert os.path.realpath(path).startswith(real_root + "/"), f"{key} leaves the image"
        return None

    return _walk(root, kept_text)


@pytest.mark.parametrize("tar_label", sorted(FIXTURES))
def test_layers_reproduce_the_runfiles_tree_and_run(
    built: Path, tar_label: str, tmp_path: Path
) -> None:
    binary, expected_output = FIXTURES[tar_label]
    package, name = _label_path(binary)
    tars = _tars(built, tar_label)

    # Image order, foundation first; the names say the layer.
    layers = [t.name.split(".")[1] for t in tars]
    assert layers == [layer for layer in LAYER_ORDER if layer in layers]
    assert layers[-1] == "app"

    image = _extract(tars, tmp_path / "image")
    expected = bazel_tree(built / package / f"{name}.runfiles")
    declared = {k for k, v in expected.items() if v[0] == "link"}
    actual = image_tree(image / "entrypoint.runfiles", declared)
    assert sorted(actual) == sorted(expected)  # nothing missing, nothing extra
    for path in expected:
        assert actual[path] == expected[path], path
    assert sorted(os.listdir(image)) == ["entrypoint", "entrypoint.runfiles"]

    assert layer_checks.bad_links(str(image)) == []

    # The launcher runs the app from the extracted tree, from any working directory.
    proc = layer_checks.run_launcher(str(image))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == expected_output


@pytest.mark.parametrize("tar_label", sorted(FIXTURES))
def test_every_byte_is_stored_once(built: Path, tar_label: str, tmp_path: Path) -> None:
    image = _extract(_tars(built, tar_label), tmp_path / "image")
    assert layer_checks.duplicated_contents(str(image)) == {}
    package, name = _label_path(tar_label)
    for report in (built / package).glob(f"{name}.*.report.json"):
        assert json.loads(report.read_text())["symlink_fallback_copies"]["count"] == 0


@pytest.mark.parametrize("tar_label", sorted(FIXTURES))
def test_validation_action_checked_the_links(built: Path, tar_label: str) -> None:
    package, name = _label_path(tar_label)
    stamp = (built / package / f"{name}.validation").read_text()
    assert stamp.startswith("ok: ") and "symlinks resolve" in stamp


def test_entrypoint_and_mtime_attributes(tmp_path: Path) -> None:
    bazel("build", "//app:app_custom_tar", "//app:app_custom_tar_files")
    bin_dir = Path(bazel("info", "bazel-bin").stdout.strip())
    tars = _tars(bin_dir, "//app:app_custom_tar")
    for tar in tars:
        with tarfile.open(tar) as layer:
            assert {m.mtime for m in layer.getmembers()} == {1234567890}, tar.name
    image = _extract(tars, tmp_path / "image")
    assert sorted(os.listdir(image / "srv" / "bin")) == ["server", "server.runfiles"]
    proc = layer_checks.run_launcher(str(image), "srv/bin/server")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == APP_OUTPUT


def test_output_groups_compression_level_and_quiet() -> None:
    """A layer's group and the manifests group build just those files, and the level and
    quiet attributes reach every layer action."""
    label = "//app:app_level_tar"
    proc = bazel("build", "--show_result=1", "--output_groups=torch,manifests", label)
    shown = re.findall(r"^  (bazel-bin/\S+)$", proc.stderr, re.MULTILINE)
    names = sorted(os.path.basename(path) for path in shown)
    manifests = [f"app_level_tar.{layer}.manifest.json" for layer in LAYER_ORDER]
    assert names == sorted([*manifests, "app_level_tar.torch.tar.zst"])
    bin_dir = Path(bazel("info", "bazel-bin").stdout.strip())
    header = json.loads((bin_dir / "app" / "app_level_tar.torch.manifest.json").read_text())
    assert header["layer"] == "torch" and header["version"] == 1

    query = bazel("aquery", f'mnemonic("TarRunfiles", {label})').stdout
    commands = query.split("Command Line:")[1:]
    assert len(commands) == len(LAYER_ORDER)
    for command in commands:
        # aquery shows "(exec TOOL", then one argument a line ending in a backslash, then ")".
        text = command.split("\n\n")[0].strip().removesuffix(")")
        args = [arg for arg in text.split() if arg != "\\"]
        assert "--quiet" in args
        assert args[args.index("--level") + 1] == "19"


def test_allow_symlinks_outside_runfiles_keeps_the_link() -> None:
    """The link //bad:escaping_tar rejects is stored verbatim, and validation passes."""
    label = "//bad:escaping_allowed_tar"
    bazel("build", "--output_groups=+_validation", label, label.replace("_tar", "_tar_files"))
    bin_dir = Path(bazel("info", "bazel-bin").stdout.strip())
    (app_layer,) = [t for t in _tars(bin_dir, label) if t.name.endswith(".app.tar.gz")]
    with tarfile.open(app_layer) as layer:
        link = layer.getmember("entrypoint.runfiles/e2e/bad/escaping")
    assert link.issym() and link.linkname == "../../../../etc/passwd"
    assert (bin_dir / "bad" / "escaping_allowed_tar.validation").read_text().startswith("ok: ")


def _copy_workspace(dest: Path) -> Path:
    """The e2e workspace elsewhere on disk, with the ruleset still taken from this checkout."""
    shutil.copytree(
        E2E, dest, ignore=shutil.ignore_patterns("bazel-*", "__pycache__"), symlinks=True
    )
    workspace = dest / "WORKSPACE"
    text = workspace.read_text().replace('path = "..",', f'path = "{E2E.parent}",')
    workspace.write_text(text)
    return dest


def _spawn_mnemonics(log: Path) -> list[tuple[str, list[str]]]:
    decoder = json.JSONDecoder()
    text = log.read_text()
    spawns = []
    pos = 0
    while pos < len(text):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            break
        spawn, pos = decoder.raw_decode(text, pos)
        outputs = [o["path"] for o in spawn.get("actualOutputs", [])]
        spawns.append((spawn.get("mnemonic", ""), outputs))
    return spawns


def test_identical_bytes_elsewhere_and_only_the_app_layer_reruns(
    built: Path, tmp_path: Path
) -> None:
    copy = _copy_workspace(tmp_path / "e2e")
    output_base = tmp_path / "output_base"
    targets = ["//app:app_1_8_2_tar", "//native:app_tar"]
    try:
        listings = [t + "_files" for t in targets]
        local = "--spawn_strategy=local"
        bazel("build", local, *targets, *listings, workspace=copy, output_base=output_base)
        copy_bin = Path(
            bazel("info", "bazel-bin", workspace=copy, output_base=output_base).stdout.strip()
        )
        for tar_label in targets:
            for ours, theirs in zip(
                _tars(built, tar_label), _tars(copy_bin, tar_label), strict=True
            ):
                assert ours.read_bytes() == theirs.read_bytes(), ours.name

        greeting = copy / "app" / "greeting.py"
        greeting.write_text(greeting.read_text().replace("first-party", "edited first-party"))
        log = tmp_path / "exec.json"
        bazel(
            "build",
            "//app:app_1_8_2_tar",
            f"--execution_log_json_file={log}",
            workspace=copy,
            output_base=output_base,
        )
        tar_spawns = [outs for mnemonic, outs in _spawn_mnemonics(log) if mnemonic == "TarRunfiles"]
        assert len(tar_spawns) == 1, tar_spawns
        assert any(o.endswith("app_1_8_2_tar.app.tar.gz") for o in tar_spawns[0])
    finally:
        bazel("shutdown", workspace=copy, output_base=output_base, check=False)


@pytest.mark.parametrize(
    "target,needles",
    [
        ("//bad:escaping_tar", ["'e2e/bad/escaping'", "escapes the runfiles root"]),
        ("//bad:conflict_tar", ["'e2e/bad/a.txt'", "two different entries claim"]),
        ("//bad:app_layer_in_layers", ["layers: 'app' is the main repository's layer"]),
        (
            "//bad:no_catch_all",
            ["no layer pattern matches the runfiles repository 'pypi_puretool'"],
        ),
        ("//bad:level_out_of_range", ["compression_level 30 is out of range for zstd (1..22)"]),
    ],
)
def test_bad_input_fails_naming_the_path(target: str, needles: list[str]) -> None:
    proc = bazel("build", target, check=False)
    assert proc.returncode != 0
    for needle in needles:
        assert needle in proc.stderr, _interesting(proc.stderr)

"""Extracts :app_tar's layers in image order, runs the launcher, checks the image.

The e2e tests in e2e/ run these same checks (tools/testing/layer_checks.py) on Bazel 4.2.3.
"""

import sys
import tempfile

from python.runfiles import runfiles

import layer_checks


def main(rlocation_paths: list[str]) -> int:
    r = runfiles.Create()
    tars = [r.Rlocation(p) for p in rlocation_paths]
    assert tars and tars[-1].endswith(".app.tar.gz"), tars  # the app layer comes last
    with tempfile.TemporaryDirectory() as image:
        layer_checks.extract_layers(tars, image)
        problems = layer_checks.bad_links(image)
        assert not problems, "\n".join(problems)
        duplicated = layer_checks.duplicated_contents(image)
        assert not duplicated, duplicated
        proc = layer_checks.run_launcher(image)
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert lines[:3] == [
            "venv: True",
            "speedups: True",
            "escaped: &lt;rules_pkg_pyvenv&gt;",
        ], proc.stdout
        assert "layers keep their links" in proc.stdout
    print(f"ok: {len(tars)} layers")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

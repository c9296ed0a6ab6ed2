"""The example app: a pure PyPI package and one with a compiled extension, from the venv."""

import sys

import cowsay
import markupsafe
from markupsafe import _speedups  # the compiled extension (a .so under the venv)


def main() -> None:
    print("venv:", sys.prefix.endswith(".venv"))
    print("speedups:", _speedups.__file__.endswith(".so"))
    print("escaped:", markupsafe.escape("<rules_pkg_pyvenv>"))
    cowsay.cow("layers keep their links")


if __name__ == "__main__":
    main()

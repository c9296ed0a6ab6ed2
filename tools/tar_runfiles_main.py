"""Entry point of //tools:tar_runfiles, the action tool of the tar_runfiles rule."""

import sys

from runfiles_layer.cli import main

if __name__ == "__main__":
    sys.exit(main())

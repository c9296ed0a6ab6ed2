"""Entry point of //tools:tar_runfiles, the action tool of the tar_runfiles rule."""

import gc
import os
import sys

from runfiles_layer.cli import main

if __name__ == "__main__":
    # One run builds ~100k objects and no garbage cycles; the collector would spend
    # ~50 ms walking them, and tearing them down one by one at exit ~30 ms more.
    gc.disable()
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

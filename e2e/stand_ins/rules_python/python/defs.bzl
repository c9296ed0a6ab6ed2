"""Stand-in for rules_python on Bazel 4.2.3: the native rules, run by the system python3.

Attributes that only rules_python has are accepted and dropped: `python_version` (native
py_binary knows only PY2/PY3, and PY3 is the default) and `precompile` (build-time .pyc).
"""

def py_binary(python_version = None, precompile = None, **kwargs):
    _ignore = (python_version, precompile)  # @unused
    native.py_binary(**kwargs)  # buildifier: disable=native-py

def py_library(precompile = None, **kwargs):
    _ignore = precompile  # @unused
    native.py_library(**kwargs)  # buildifier: disable=native-py

py_test = native.py_test  # buildifier: disable=native-py

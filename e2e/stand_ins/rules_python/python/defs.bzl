"""Stand-in for rules_python on Bazel 4.2.3: the native rules, run by the system python3."""

def py_binary(python_version = None, **kwargs):
    # rules_python takes "3.12"; native py_binary only knows PY2/PY3, and PY3 is the default.
    _ignore = python_version  # @unused
    native.py_binary(**kwargs)  # buildifier: disable=native-py

py_library = native.py_library  # buildifier: disable=native-py
py_test = native.py_test  # buildifier: disable=native-py

"""Stand-in for rules_shell on Bazel 4.2.3, where sh_binary is native."""

sh_binary = native.sh_binary  # buildifier: disable=native-sh-binary

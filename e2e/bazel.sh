#!/bin/sh
# Runs Debian's Bazel 4.2.3 on the e2e workspace with the repository overrides it needs.
#   e2e/bazel.sh build //...            (E2E_OUTPUT_BASE picks another output base)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
rules_java=$(dirname "$(dpkg -L bazel-rules-java | grep '/rules/java/WORKSPACE$')")
platforms=$(dirname "$(dpkg -L bazel-bootstrap-data | grep '/platforms/WORKSPACE$')")
command=$1
shift
cd "$here"
exec bazel ${E2E_OUTPUT_BASE:+"--output_base=$E2E_OUTPUT_BASE"} "$command" \
    "--override_repository=rules_cc=$here/stand_ins/rules_cc" \
    "--override_repository=rules_java=$rules_java" \
    "--override_repository=platforms=$platforms" \
    "$@"

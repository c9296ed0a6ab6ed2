"""Writes one deterministic OCI layer tarball from a `tar_runfiles` manifest."""

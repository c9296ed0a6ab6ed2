"""The one error type the layer tool raises for bad input."""


class LayerError(Exception):
    """Bad input: the message names the offending path and how to fix it."""

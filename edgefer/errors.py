"""The one exception type for bad user input, so the CLI can print it without a traceback."""


class DataError(ValueError):
    """Input that does not match what edgefer expects; the message names the file/row and the expectation."""


class ModelError(ValueError):
    """A model, weights file or artifact that cannot be used; the message says why and what to do."""

"""The exception types for bad user input, so the CLI can print them without a traceback, and the one
helper that shortens a third-party error to the line a user needs."""


class EdgeferError(ValueError):
    """Every error edgefer raises for bad input: one line that names the file, row, field or option and what was
    expected. The CLI prints it and exits 2. (The standalone device predictor has its own PredictorError, which
    behaves the same, because it imports nothing of edgefer.)"""


class DataError(EdgeferError):
    """Input that does not match what edgefer expects; the message names the file/row and the expectation."""


class ModelError(EdgeferError):
    """A model, weights file or artifact that cannot be used; the message says why and what to do."""


class ConfigError(EdgeferError):
    """Options that do not go together or out of range (TrainConfig.validate); the message names the option."""


def first_line(error: BaseException, limit: int = 200) -> str:
    """An exception's message cut to its first line and `limit` characters (its type's name when it has no
    message): third-party errors run to pages, and edgefer's errors stay one line."""
    text = str(error).strip()
    return text.splitlines()[0][:limit] if text else type(error).__name__

"""The exception types for bad user input, so the CLI can print them without a traceback, and the one
helper that shortens a third-party error to the line a user needs.

One base for the whole package, `EdgeferError` (a ValueError): every error below derives from it, and so does the
device predictor's `PredictorError`. The base is defined in `edgefer.predictor` (the one-file predictor imports nothing
of edgefer, so it must carry the base itself) and re-exported here; the CLI prints any of them as one line and exits 2.
"""

from edgefer.predictor import EdgeferError, PredictorError

__all__ = ["EdgeferError", "PredictorError", "DataError", "ModelError", "ConfigError", "first_line"]


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

"""The exception types for bad user input, so the CLI can print them without a traceback, and the one
helper that shortens a third-party error to the line a user needs."""


class DataError(ValueError):
    """Input that does not match what edgefer expects; the message names the file/row and the expectation."""


class ModelError(ValueError):
    """A model, weights file or artifact that cannot be used; the message says why and what to do."""


def first_line(error: BaseException, limit: int = 200) -> str:
    """An exception's message cut to its first line and `limit` characters (its type's name when it has no
    message): third-party errors run to pages, and edgefer's errors stay one line."""
    text = str(error).strip()
    return text.splitlines()[0][:limit] if text else type(error).__name__

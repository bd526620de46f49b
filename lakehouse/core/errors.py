"""The one base type of the errors a user can act on, and the first-line-of-error helper.

Every error that reaches the user (bad settings, a service down, a failed job) is a
`LakehouseError` whose message says, in French, what is wrong and what to do. The command
line catches `LakehouseError` alone and prints its message without a stack trace.
"""

from __future__ import annotations

# Lines of a Java/Py4J error text that never explain anything to a user.
_NOISE_PREFIXES = ("at ", "JVM stacktrace", "An error occurred while calling")


class LakehouseError(Exception):
    """An error the user can act on; its message is complete and readable as is."""


def first_line(error: BaseException | str, limit: int = 400) -> str:
    """The first telling line of an error (Java stack frames and Py4J wrappers skipped), at most
    `limit` characters; the exception's type name when its text is empty."""
    text = str(error).strip()
    for line in text.splitlines():
        line = line.strip().removeprefix(": ")
        if line and not line.startswith(_NOISE_PREFIXES):
            return line[:limit] + (" ..." if len(line) > limit else "")
    return type(error).__name__ if isinstance(error, BaseException) else "erreur inconnue"

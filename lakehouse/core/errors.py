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
    """The first telling line of an error (Java stack frames and Py4J wrappers skipped), followed by the
    root cause of a Java error (its last `Caused by:`) when there is one, at most `limit` characters;
    the exception's type name when its text is empty."""
    lines = [line.strip().removeprefix(": ") for line in str(error).strip().splitlines()]
    telling = [line for line in lines if line and not line.startswith(_NOISE_PREFIXES)]
    if not telling:
        return type(error).__name__ if isinstance(error, BaseException) else "erreur inconnue"
    text = telling[0]
    causes = [line.removeprefix("Caused by: ") for line in telling if line.startswith("Caused by: ")]
    if causes and causes[-1] not in text:
        text += f" (cause : {causes[-1]})"
    return text[:limit] + (" ..." if len(text) > limit else "")


def exit_description(code: int) -> str:
    """How a process ended, for the user: `signal 9, SIGKILL` or `code de sortie 1`."""
    import signal

    number = -code if code < 0 else code - 128 if code > 128 else 0
    if number:
        try:
            return f"signal {number}, {signal.Signals(number).name}"
        except ValueError:
            pass
    return f"code de sortie {code}"
